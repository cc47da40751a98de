"""Write + undo across every container and tag layout the app writes (issue 13's matrix).

Each variant is written through the app's real journal (`journal.plan_routed` +
`journal.write_batch`: a genre row and a mood row for the file, two consecutive safe writes in
one batch), in merge and in replace mode; half of the files are then renamed or moved (the track
keeps its id and its path follows, as the scan does for moved files) and the batch is undone.
After undo every file must be byte-identical to before (so its ID3 version, frame order,
padding, comment order, atoms and pages are too), keep its extended attributes, and no temporary
copy may be left. The write itself must really have changed the file and kept the ID3 version.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Iterator
from pathlib import Path

import audio_factory
import numpy as np
import pytest
from mutagen.apev2 import APEv2
from mutagen.id3 import ID3, ID3NoHeaderError
from test_id3 import raw_tagged_mp3, tagged_mp3, tagged_wave, v23_mp3
from test_journal import IndexOnly
from test_mp4 import raw_atoms_m4a, tagged_m4a
from test_vorbis import audio_on_header_page, flac_behind_id3, raw_tagged, tagged_vorbis

from app import db, journal
from app.options import WriteMode
from app.tagformats import open_tags
from app.tagwriter import TEMP_SUFFIX, read_field

XATTR = "user.zsl-matrix"


def _id3v1_block() -> bytes:
    def field(text: str, size: int) -> bytes:
        return text.encode("latin-1").ljust(size, b"\0")

    return (
        b"TAG"
        + field("Tone", 30)
        + field("Ann", 30)
        + field("Album", 30)
        + b"1999"
        + field("v1 comment", 28)
        + b"\0\x03"
        + bytes([8])
    )  # track 3, genre Jazz


def mp3_id3v1_only(path: Path) -> Path:
    audio_factory.write_tone(path, 1.0, fmt="mp3")
    with open(path, "ab") as f:
        f.write(_id3v1_block())
    return path


def mp3_ape_only(path: Path) -> Path:
    audio_factory.write_tone(path, 1.0, fmt="mp3")
    ape = APEv2()
    ape["Title"], ape["Genre"] = "APE title", "APE genre"
    ape.save(path)
    return path


def _riff_chunk(kind: bytes, data: bytes) -> bytes:
    return kind + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")


def wav_list_info_only(path: Path) -> Path:
    audio_factory.write_tone(path, 1.0)
    info = (
        b"INFO"
        + _riff_chunk(b"INAM", b"Tone\0")
        + _riff_chunk(b"IART", b"Ann\0")
        + _riff_chunk(b"IGNR", b"Jazz\0")
    )
    data = path.read_bytes() + _riff_chunk(b"LIST", info)
    path.write_bytes(data[:4] + struct.pack("<I", len(data) - 8) + data[8:])
    return path


def fragmented_m4a(path: Path) -> Path:
    import av

    rate = 22050
    signal = audio_factory.tone(1.5, rate, (330.0, 550.0))
    with av.open(
        str(path),
        "w",
        format="mp4",
        options={"movflags": "frag_keyframe+empty_moov+default_base_moof"},
    ) as out:
        stream = out.add_stream("aac", rate=rate, layout="mono")
        for start in range(0, len(signal), 4096):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(signal[None, start : start + 4096]),
                format="fltp",
                layout="mono",
            )
            frame.sample_rate, frame.pts = rate, start
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


VARIANTS: dict[str, tuple[str, Callable[[Path], Path]]] = {
    "mp3 v2.3 latin-1": ("a.mp3", lambda p: v23_mp3(p, 0)),
    "mp3 v2.3 utf-16": ("a.mp3", lambda p: v23_mp3(p, 1)),
    "mp3 v2.4": ("a.mp3", lambda p: tagged_mp3(p, 4, id3v1=False, ape=False)),
    "mp3 v2.3+id3v1": ("a.mp3", lambda p: tagged_mp3(p, 3, id3v1=True, ape=False)),
    "mp3 id3v1 only": ("a.mp3", mp3_id3v1_only),
    "mp3 v2.4+apev2": ("a.mp3", lambda p: tagged_mp3(p, 4, id3v1=False, ape=True)),
    "mp3 v2.4+apev2+id3v1": ("a.mp3", lambda p: tagged_mp3(p, 4, id3v1=True, ape=True)),
    "mp3 apev2 only": ("a.mp3", mp3_ape_only),
    "mp3 untagged": ("a.mp3", lambda p: audio_factory.write_tone(p, 1.0, fmt="mp3")),
    # frames mutagen would re-encode or drop, and an ID3v1 tag with fields the v2 tag lacks
    "mp3 raw frames v2.3": ("a.mp3", lambda p: raw_tagged_mp3(p, 3)),
    "mp3 raw frames v2.4": ("a.mp3", lambda p: raw_tagged_mp3(p, 4)),
    "mp3 raw frames v2.3 unsynchronised": ("a.mp3", lambda p: raw_tagged_mp3(p, 3, 0x80)),
    "flac pictures": ("a.flac", lambda p: tagged_vorbis(p, "flac")),
    "flac untagged": ("a.flac", lambda p: audio_factory.write_tone(p, 1.0, fmt="flac")),
    "flac leading id3v2": ("a.flac", lambda p: flac_behind_id3(p)[0]),
    "ogg vorbis": ("a.ogg", lambda p: tagged_vorbis(p, "ogg")),
    "ogg vorbis audio on header page": (
        "a.ogg",
        lambda p: audio_on_header_page(tagged_vorbis(p, "ogg"), "ogg"),
    ),
    "opus": ("a.opus", lambda p: tagged_vorbis(p, "opus")),
    "opus audio on header page": (
        "a.opus",
        lambda p: audio_on_header_page(tagged_vorbis(p, "opus"), "opus"),
    ),
    # comments mutagen would not re-encode unchanged: Latin-1 values, an entry without '='
    "flac raw comments": ("a.flac", lambda p: raw_tagged(p, "flac")),
    "ogg vorbis raw comments": ("a.ogg", lambda p: raw_tagged(p, "ogg")),
    "opus raw comments": ("a.opus", lambda p: raw_tagged(p, "opus")),
    "m4a tagged": ("a.m4a", tagged_m4a),
    # atoms mutagen would re-render (locale bytes, a one-byte tmpo, gnre) and a Latin-1 value
    "m4a raw atoms": ("a.m4a", raw_atoms_m4a),
    "m4a untagged aac": ("a.m4a", lambda p: audio_factory.write_tone(p, 1.0, fmt="m4a")),
    "m4a fragmented": ("a.m4a", fragmented_m4a),
    "m4a alac": ("a.m4a", lambda p: tagged_m4a(p, "alac")),
    "m4a alac untagged": ("a.m4a", lambda p: audio_factory.write_tone(p, 1.0, fmt="alac")),
    "wav id3 v2.4": ("a.wav", lambda p: tagged_wave(p, 4)),
    "wav id3 v2.3": ("a.wav", lambda p: tagged_wave(p, 3)),
    "aiff id3 v2.3": ("a.aiff", lambda p: tagged_wave(p, 3)),
    "aiff id3 v2.4": ("a.aiff", lambda p: tagged_wave(p, 4)),
    "wav list/info only": ("a.wav", wav_list_info_only),
    "wav untagged": ("a.wav", lambda p: audio_factory.write_tone(p, 1.0)),
}
MODES: tuple[WriteMode, ...] = ("merge", "replace")
PROPOSAL = {"genre": ["Shoegaze", "Dream Pop"], "mood": ["Dreamy"]}


def _id3_version(path: Path) -> tuple[int, int, int] | None:
    """The ID3v2 version a file holds (MP3 at its start, WAV/AIFF in their chunk), or None."""
    tags = getattr(open_tags(path).audio, "tags", None)
    if isinstance(tags, ID3):  # an empty one is the in-memory tag of an untagged file
        return tags.version if len(tags) and tags.version >= (2, 2, 0) else None
    if path.suffix == ".mp3":
        try:
            return ID3(path).version
        except ID3NoHeaderError:
            return None
    return None


def _xattrs_supported(folder: Path) -> bool:
    probe = folder / ".xattr-probe"
    probe.write_bytes(b"x")
    try:
        os.setxattr(probe, XATTR, b"1")
        return True
    except (OSError, AttributeError):
        return False
    finally:
        probe.unlink()


def _temp_files(folder: Path) -> list[str]:
    return [str(p) for p in folder.rglob("*") if p.name.endswith(TEMP_SUFFIX)]


def _move(lib: IndexOnly, track_id: int, path: Path, to: Path) -> Path:
    """What the scan does for a renamed or moved file: same track id, the new path."""
    to.parent.mkdir(parents=True, exist_ok=True)
    os.rename(path, to)
    lib.conn.execute(
        "UPDATE tracks SET path = ?, display_path = ? WHERE id = ?",
        (db.path_key(to), db.display(to), track_id),
    )
    return to


@pytest.fixture
def lib(tmp_path: Path) -> Iterator[IndexOnly]:
    library = IndexOnly(tmp_path / "index.sqlite3")
    yield library
    library.conn.close()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_write_then_undo_leaves_every_file_byte_identical(
    lib: IndexOnly, tmp_path: Path, variant: str, mode: WriteMode
) -> None:
    name, build = VARIANTS[variant]
    music = tmp_path / "music"
    music.mkdir()
    try:
        path = build(music / name)
    except Exception as exc:  # an encoder this machine's PyAV / libsndfile lacks
        pytest.skip(f"cannot build {variant} here: {exc}")
    if variant == "m4a fragmented":
        try:
            open_tags(path).audio_digest()
        except Exception as exc:
            pytest.skip(f"fragmented MP4 not readable here: {exc}")
    xattrs = _xattrs_supported(music)
    if xattrs:
        os.setxattr(path, XATTR, variant.encode())
    original = path.read_bytes()
    version = _id3_version(path)
    tid = lib.add(path)

    planned = journal.plan_routed(lib, {tid: dict(PROPOSAL)}, mode=mode)
    assert [p.error for p in planned] == [None, None], planned
    result = journal.write_batch(lib, planned, f"{variant} {mode}")
    assert (result.written, result.failed) == (2, []), result
    assert path.read_bytes() != original
    assert read_field(path, "mood")[-1] == "Dreamy" and "Dream Pop" in read_field(path, "genre")
    if version is not None:
        assert _id3_version(path) == version  # kept by default
    if xattrs:
        assert os.getxattr(path, XATTR) == variant.encode()
    assert _temp_files(tmp_path) == []

    # half of the files are renamed or moved before the undo (by variant and mode)
    index = list(VARIANTS).index(variant) + MODES.index(mode)
    if index % 2:
        target = (music / "moved" / f"renamed {name}") if index % 4 == 1 else music / f"01 - {name}"
        path = _move(lib, tid, path, target)

    done = journal.undo(lib)
    assert (done.restored, done.exact, done.inexact, done.refused) == (2, 2, [], []), done
    assert path.read_bytes() == original, variant
    if xattrs:
        assert os.getxattr(path, XATTR) == variant.encode()
    assert _temp_files(tmp_path) == []
    assert journal.history(lib)[0].undone


def test_the_matrix_covers_the_issue_13_variants() -> None:
    wanted = {
        "mp3 v2.3 latin-1",
        "mp3 v2.3 utf-16",
        "mp3 v2.4",
        "mp3 v2.3+id3v1",
        "mp3 id3v1 only",
        "mp3 v2.4+apev2",
        "mp3 apev2 only",
        "mp3 untagged",
        "flac pictures",
        "flac leading id3v2",
        "ogg vorbis",
        "ogg vorbis audio on header page",
        "opus",
        "m4a tagged",
        "m4a untagged aac",
        "m4a fragmented",
        "m4a alac",
        "wav id3 v2.4",
        "aiff id3 v2.3",
        "wav list/info only",
    }
    assert wanted <= set(VARIANTS)


def test_one_batch_over_every_variant_with_half_moved_undoes_byte_exact(
    lib: IndexOnly, tmp_path: Path
) -> None:
    """The same in one batch (several files, two rows each), as a user's write would be."""
    music = tmp_path / "music"
    music.mkdir()
    paths, originals, ids = {}, {}, {}
    for i, (variant, (name, build)) in enumerate(VARIANTS.items()):
        folder = music / f"v{i:02d}"
        folder.mkdir()
        try:
            path = build(folder / name)
            if variant == "m4a fragmented":
                open_tags(path).audio_digest()
        except Exception:
            continue  # reported by the parametrized test
        paths[variant], originals[variant], ids[variant] = path, path.read_bytes(), lib.add(path)
    planned = journal.plan_routed(lib, {ids[v]: dict(PROPOSAL) for v in ids}, mode="replace")
    result = journal.write_batch(lib, planned, "all")
    assert (result.written, result.failed) == (2 * len(ids), [])
    for i, variant in enumerate(ids):
        if i % 2:
            paths[variant] = _move(
                lib,
                ids[variant],
                paths[variant],
                paths[variant].parent.parent / "moved" / f"{i:02d} {paths[variant].name}",
            )
    done = journal.undo(lib)
    assert (done.restored, done.exact, done.refused) == (2 * len(ids), 2 * len(ids), [])
    differ = [v for v in ids if paths[v].read_bytes() != originals[v]]
    assert differ == []
    assert _temp_files(tmp_path) == []
