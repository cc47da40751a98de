"""ID3 tags in MP3, WAV and AIFF: v2.4 and v2.3 conventions, every other frame kept, ID3v1 and
APE tags at the end of an MP3 kept byte for byte, the audio payload unchanged.

Builders here (`tagged_mp3`, `tagged_wave`) are reused by the other tag tests.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import audio_factory
import numpy as np
import pytest
import soundfile as sf
from mutagen.aiff import AIFF
from mutagen.apev2 import APEv2
from mutagen.id3 import (
    APIC,
    COMM,
    ID3,
    POPM,
    RVA2,
    TALB,
    TCON,
    TDRC,
    TIT2,
    TMOO,
    TPE1,
    TRCK,
    TSOP,
    TSST,
    TXXX,
    USLT,
)
from mutagen.wave import WAVE

from app.options import Id3Version, WriteMode
from app.tagformats import WriteOptions, id3_version_choice
from app.tagwriter import apply_change, plan_write, read_field, restore

PICTURE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


def id3_frames(version: int) -> list:
    """A realistic, busy tag: picture, lyrics, rating, multi-valued artist, two comments."""
    frames = [
        TIT2(encoding=3, text=["Tone"]),
        TPE1(encoding=3, text=["Ann", "Bob"]),
        TALB(encoding=3, text=["Album"]),
        TRCK(encoding=3, text=["3/12"]),
        TDRC(encoding=3, text=["2001-05-03"]),
        TCON(encoding=3, text=["Jazz"]),
        TSOP(encoding=3, text=["Ann, The"]),
        COMM(encoding=3, lang="eng", desc="", text=["old comment"]),
        COMM(encoding=3, lang="eng", desc="iTunNORM", text=[" 000001"]),
        TXXX(encoding=3, desc="Other", text=["kept"]),
        APIC(encoding=3, mime="image/png", type=3, desc="cover", data=PICTURE),
        USLT(encoding=3, lang="eng", desc="", text="la la la"),
        POPM(email="me@example.org", rating=196, count=3),
    ]
    if version == 4:
        frames += [
            TMOO(encoding=3, text=["mellow"]),
            TSST(encoding=3, text=["Side A"]),
            RVA2(desc="track", channel=1, gain=-3.5, peak=0.9),
        ]
    return frames


def tagged_mp3(path: Path, version: int = 4, id3v1: bool = True, ape: bool = True) -> Path:
    """An MP3 with a busy ID3v2 tag, optionally an APEv2 and an ID3v1 tag at the end."""
    audio_factory.write_tone(path, 1.5, fmt="mp3", freqs=(330.0, 550.0))
    tags = ID3()
    for frame in id3_frames(version):
        tags.add(frame)
    if version == 3:
        tags.update_to_v23()
    tags.save(path, v1=2 if id3v1 else 0, v2_version=version)
    if ape:
        ape_tag = APEv2()
        ape_tag["Title"] = "APE title"
        ape_tag["Genre"] = "APE genre"
        ape_tag.save(path)
    return path


def tagged_wave(path: Path, version: int = 4) -> Path:
    """A WAV or AIFF (by suffix) with an ID3 chunk."""
    audio_factory.write_tone(path, 1.0)
    audio = WAVE(path) if path.suffix == ".wav" else AIFF(path)
    audio.add_tags()
    assert audio.tags is not None  # add_tags made one
    for frame in id3_frames(version):
        audio.tags.add(frame)
    if version == 3:
        audio.tags.update_to_v23()
    audio.save(v2_version=version)
    return path


def frames_except(path: Path, keys: set[str]) -> dict[str, str]:
    """Every frame as mutagen sees it, except `keys`."""
    return {k: repr(f) for k, f in id3_of(path).items() if k not in keys}


def id3_of(path: Path) -> ID3:
    """The ID3 tag of an MP3, or of the ID3 chunk of a WAV/AIFF."""
    chunked: WAVE | AIFF | None = WAVE(path) if path.suffix == ".wav" else None
    if path.suffix in (".aiff", ".aif"):
        chunked = AIFF(path)
    if chunked is None:
        return ID3(path)
    assert chunked.tags is not None, f"{path} has no ID3 chunk"
    return chunked.tags


def after_id3v2(path: Path) -> bytes:
    """Everything after the ID3v2 tag: audio frames, APE tag, ID3v1 tag."""
    data = path.read_bytes()
    return data[ID3(path).size :]


def write(
    path: Path,
    field: str,
    values: list[str],
    options: WriteOptions | None = None,
    mode: WriteMode = "replace",
):
    result = apply_change(plan_write(path, field, values, mode, options), options)
    assert result.ok and result.written, result.message
    return result


FIELD_FRAMES = {
    "genre": {"TCON"},
    "mood": {"TMOO", "TXXX:MOOD"},
    "grouping": {"TIT1"},
    "comment": {"COMM::eng"},
    "custom:Energy": {"TXXX:Energy"},
}


@pytest.mark.parametrize("field", list(FIELD_FRAMES))
def test_v24_writes_field_and_keeps_everything_else(tmp_path: Path, field: str) -> None:
    path = tagged_mp3(tmp_path / "a.mp3")
    frames_before = frames_except(path, FIELD_FRAMES[field])
    tail_before = after_id3v2(path)
    write(path, field, ["Sad Piano", "Rock"])
    assert read_field(path, field) == ["Sad Piano", "Rock"]
    tags = ID3(path)
    assert tags.version == (2, 4, 0)
    assert frames_except(path, FIELD_FRAMES[field]) == frames_before
    assert after_id3v2(path) == tail_before  # audio, APE and ID3v1 byte-identical
    ape = APEv2(path)
    assert (str(ape["Title"]), str(ape["Genre"])) == ("APE title", "APE genre")


def test_v24_frames_hold_real_multi_values(tmp_path: Path) -> None:
    path = tagged_mp3(tmp_path / "a.mp3")
    for field in ("genre", "mood", "grouping", "comment", "custom:Energy"):
        write(path, field, ["one", "two"])
    tags = ID3(path)
    assert tags["TCON"].text == ["one", "two"]
    assert tags["TMOO"].text == ["one", "two"] and "TXXX:MOOD" not in tags
    assert tags["TIT1"].text == ["one", "two"]
    assert tags["COMM::eng"].text == ["one", "two"]
    assert tags["COMM:iTunNORM:eng"].text == [" 000001"]  # a different comment: untouched
    assert tags["TXXX:Energy"].text == ["one", "two"]


def test_merge_keeps_existing_genre(tmp_path: Path) -> None:
    path = tagged_mp3(tmp_path / "a.mp3")
    write(path, "genre", ["jazz", "Blues"], mode="merge")
    assert read_field(path, "genre") == ["Jazz", "Blues"]


def test_v23_on_request_uses_txxx_mood_and_separator(tmp_path: Path) -> None:
    path = tagged_mp3(tmp_path / "a.mp3")
    v23 = WriteOptions(id3_version=3)
    write(path, "genre", ["Rock", "Sad Piano"], v23)
    raw = ID3(path, translate=False)
    assert raw.version == (2, 3, 0)
    assert raw["TCON"].text == ["Rock; Sad Piano"]
    assert read_field(path, "genre", v23) == ["Rock", "Sad Piano"]
    # v2.4-only frames are preserved the way Picard/Mp3tag do it, not dropped
    assert "TMOO" not in raw and raw["TXXX:MOOD"].text == ["mellow"]
    assert read_field(path, "mood", v23) == ["mellow"]
    assert raw["TSOP"].text == ["Ann, The"]
    assert raw["TXXX:SETSUBTITLE"].text == ["Side A"]
    assert raw["TYER"].text == ["2001"] and raw["TDAT"].text == ["0305"]
    assert "RVA2:track" in raw
    assert raw["APIC:cover"].data == PICTURE
    write(path, "mood", ["calm", "dark"], v23)
    assert ID3(path, translate=False)["TXXX:MOOD"].text == ["calm; dark"]
    assert read_field(path, "mood", v23) == ["calm", "dark"]


def test_v23_file_stays_v23_with_other_frames_identical(tmp_path: Path) -> None:
    path = tagged_mp3(tmp_path / "a.mp3", version=3)
    v23 = WriteOptions(id3_version=3)
    before = frames_except(path, {"TXXX:MOOD"})
    tail = after_id3v2(path)
    write(path, "mood", ["calm"], v23)
    assert ID3(path).version == (2, 3, 0)
    assert frames_except(path, {"TXXX:MOOD"}) == before
    assert after_id3v2(path) == tail


def test_custom_separator(tmp_path: Path) -> None:
    path = tagged_mp3(tmp_path / "a.mp3", version=3, ape=False)
    options = WriteOptions(id3_version=3, id3_separator=" / ")
    write(path, "genre", ["Rock", "Pop"], options)
    assert ID3(path, translate=False)["TCON"].text == ["Rock / Pop"]
    assert read_field(path, "genre", options) == ["Rock", "Pop"]


def test_value_containing_v23_separator_is_refused(tmp_path: Path) -> None:
    path = tagged_mp3(tmp_path / "a.mp3")
    before = path.read_bytes()
    result = restore(path, "genre", ["Rock; Pop"], None, WriteOptions(id3_version=3))
    assert not result.ok and "reads back" in (result.error or "")
    assert path.read_bytes() == before


def test_comment_in_another_language_is_reused(tmp_path: Path) -> None:
    path = tmp_path / "a.mp3"
    audio_factory.write_tone(path, 1.0, fmt="mp3")
    tags = ID3()
    tags.add(COMM(encoding=3, lang="deu", desc="", text=["Kommentar"]))
    tags.save(path)
    assert read_field(path, "comment") == ["Kommentar"]
    write(path, "comment", ["new"], mode="merge")
    comments = ID3(path).getall("COMM")
    assert len(comments) == 1 and comments[0].lang == "deu"
    assert comments[0].text == ["Kommentar", "new"]


def test_mp3_without_any_tag(tmp_path: Path) -> None:
    path = audio_factory.write_tone(tmp_path / "bare.mp3", 1.0, fmt="mp3")
    audio = path.read_bytes()
    write(path, "genre", ["Ambient"])
    assert read_field(path, "genre") == ["Ambient"]
    assert path.read_bytes().endswith(audio)


@pytest.mark.parametrize("name", ["a.wav", "a.aiff"])
@pytest.mark.parametrize("version", [3, 4])
def test_wave_and_aiff_id3_chunk(tmp_path: Path, name: str, version: Id3Version) -> None:
    path = tagged_wave(tmp_path / name, version)
    options = WriteOptions(id3_version=version)
    samples_before, rate = sf.read(path, dtype="int16")
    before = frames_except(path, {"TCON"})
    write(path, "genre", ["Field Recording", "Drone"], options)
    assert read_field(path, "genre", options) == ["Field Recording", "Drone"]
    assert frames_except(path, {"TCON"}) == before
    samples_after, rate_after = sf.read(path, dtype="int16")
    assert rate_after == rate and np.array_equal(samples_after, samples_before)


def test_round_trip_restores_every_frame(tmp_path: Path) -> None:
    path = tagged_mp3(tmp_path / "a.mp3")
    original = frames_except(path, set())
    tail = after_id3v2(path)
    results = [write(path, f, ["x", "y"], mode="merge") for f in FIELD_FRAMES]
    for result in reversed(results):
        undo = restore(path, result.field, result.old, result.new)
        assert undo.ok, undo.message
    assert frames_except(path, set()) == original
    assert after_id3v2(path) == tail


# -- keeping the file's own version and every frame's bytes (issue 13) ---------------------


def raw_frames(path: Path) -> list[bytes]:
    """The ID3v2 frames of an MP3 (or of a WAV's id3 chunk) as raw bytes, header included:
    an independent walker, not the one the writer uses."""
    data = path.read_bytes()
    if path.suffix == ".wav":
        at = data.find(b"ID3", 12)
        data = data[at:]
    assert data[:3] == b"ID3"
    version = data[3]
    size = sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(data[6:10]))
    tag, frames, pos = data[10 : 10 + size], [], 0
    while pos + 10 <= len(tag) and tag[pos] != 0:
        raw = tag[pos + 4 : pos + 8]
        length = (
            sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(raw))
            if version == 4
            else int.from_bytes(raw, "big")
        )
        frames.append(tag[pos : pos + 10 + length])
        pos += 10 + length
    return frames


def version_of(path: Path) -> tuple[int, int, int]:
    return ID3(path, translate=False).version if path.suffix == ".mp3" else id3_of(path).version


def v23_mp3(path: Path, encoding: int, frames: list | None = None) -> Path:
    """A v2.3 MP3 as older taggers write it: TYER, latin-1 (0) or UTF-16 (1) text."""
    from mutagen.id3 import TYER

    audio_factory.write_tone(path, 1.0, fmt="mp3")
    tags = ID3()
    for frame in frames or [
        TIT2(encoding=encoding, text=["Tone"]),
        TPE1(encoding=encoding, text=["Ann"]),
        TYER(encoding=encoding, text=["1999"]),
        TCON(encoding=encoding, text=["Jazz"]),
        COMM(encoding=encoding, lang="eng", desc="", text=["Recorded live; remastered 2009"]),
        TXXX(encoding=encoding, desc="MOOD", text=["mellow"]),
        APIC(encoding=encoding, mime="image/png", type=3, desc="cover", data=PICTURE),
    ]:
        tags.add(frame)
    tags.save(path, v2_version=3, v23_sep="; ")
    return path


@pytest.mark.parametrize("encoding", [0, 1])
@pytest.mark.parametrize("field", list(FIELD_FRAMES))
def test_v23_file_stays_v23_by_default_other_frames_byte_identical(
    tmp_path: Path, encoding: int, field: str
) -> None:
    path = v23_mp3(tmp_path / "a.mp3", encoding)
    keys = FIELD_FRAMES[field]
    ids = {k.split(":")[0].encode() for k in keys}
    before = [f for f in raw_frames(path) if f[:4] not in ids]
    size_before, tail = ID3(path).size, after_id3v2(path)
    write(path, field, ["Sad Piano", "Rock"], WriteOptions())  # default: keep the version
    assert version_of(path) == (2, 3, 0)
    after = [f for f in raw_frames(path) if f[:4] not in ids]
    assert after == before  # every frame not written: same bytes, same order
    assert ID3(path).size == size_before  # fits in the padding: the audio did not move
    assert after_id3v2(path) == tail
    if field == "comment":  # free text holds one value in v2.3
        assert read_field(path, field) == ["Sad Piano; Rock"]
    else:
        assert read_field(path, field) == ["Sad Piano", "Rock"]


@pytest.mark.parametrize("kind", ["v23-latin1", "v23-utf16", "v24", "wav-v23", "wav-v24"])
def test_write_then_restore_is_byte_identical_when_keeping_the_version(
    tmp_path: Path, kind: str
) -> None:
    if kind.startswith("wav"):
        path = tagged_wave(tmp_path / "a.wav", int(kind[-1]))
    elif kind == "v24":
        path = tagged_mp3(tmp_path / "a.mp3")
    else:
        path = v23_mp3(tmp_path / "a.mp3", 0 if kind.endswith("latin1") else 1)
    original = path.read_bytes()
    for field in ("genre", "mood", "comment"):
        result = write(path, field, ["x", "y"], mode="merge")
        undo = restore(path, field, result.old, result.new)
        assert undo.ok and undo.written, undo.message
    assert path.read_bytes() == original


def test_v24_file_stays_v24_and_explicit_choices_convert(tmp_path: Path) -> None:
    v24 = tagged_mp3(tmp_path / "a.mp3", ape=False)
    write(v24, "genre", ["Rock"])
    assert version_of(v24) == (2, 4, 0)
    write(v24, "genre", ["Pop"], WriteOptions(id3_version=id3_version_choice("v2.3")))
    assert version_of(v24) == (2, 3, 0)
    v23 = v23_mp3(tmp_path / "b.mp3", 1)
    write(v23, "genre", ["Rock"], WriteOptions(id3_version=id3_version_choice("keep")))
    assert version_of(v23) == (2, 3, 0)
    write(v23, "genre", ["Pop"], WriteOptions(id3_version=4))
    assert version_of(v23) == (2, 4, 0)


def test_converting_v23_to_v24_does_not_split_free_text(tmp_path: Path) -> None:
    path = v23_mp3(tmp_path / "a.mp3", 1)
    assert read_field(path, "comment") == ["Recorded live; remastered 2009"]
    v24 = WriteOptions(id3_version=4)
    result = write(path, "comment", ["jazz"], v24, mode="merge")
    assert result.old == ["Recorded live; remastered 2009"]
    assert ID3(path)["COMM::eng"].text == ["Recorded live; remastered 2009", "jazz"]
    undo = restore(path, "comment", result.old, result.new, v24)
    assert undo.ok, undo.message
    assert ID3(path)["COMM::eng"].text == ["Recorded live; remastered 2009"]


@pytest.mark.parametrize("new_version", [None, 3, 4])
def test_files_without_id3v2_get_the_configured_version(tmp_path: Path, new_version) -> None:
    from mutagen.mp3 import MP3

    options = WriteOptions() if new_version is None else WriteOptions(id3_new_version=new_version)
    bare = audio_factory.write_tone(tmp_path / "bare.mp3", 1.0, fmt="mp3")
    v1_only = audio_factory.write_tone(tmp_path / "v1.mp3", 1.0, fmt="mp3")
    tags = ID3()
    tags.add(TIT2(encoding=0, text=["Old title"]))
    tags.save(v1_only, v1=2)
    ID3(v1_only).delete(v1_only, delete_v1=False, delete_v2=True)
    v1_tags = MP3(v1_only).tags
    assert v1_tags is not None and v1_tags.version == (1, 1)
    for path in (bare, v1_only):
        write(path, "mood", ["calm"], options)
        assert version_of(path) == (2, new_version or 4, 0)
        assert read_field(path, "mood") == ["calm"]
    assert path.read_bytes()[-128:-125] == b"TAG"  # the ID3v1 tag is still there
    raw = ID3(v1_only, translate=False)
    assert ("TMOO" if (new_version or 4) == 4 else "TXXX:MOOD") in raw


def test_mood_goes_to_the_frames_the_file_uses(tmp_path: Path) -> None:
    both = tmp_path / "both.mp3"
    audio_factory.write_tone(both, 1.0, fmt="mp3")
    tags = ID3()
    tags.add(TMOO(encoding=3, text=["Happy"]))
    tags.add(TXXX(encoding=3, desc="MOOD", text=["Energetic"]))
    tags.save(both)
    assert read_field(both, "mood") == ["Happy", "Energetic"]  # no value hidden
    result = write(both, "mood", ["calm"], mode="merge")
    assert result.old == ["Happy", "Energetic"]
    tags = ID3(both)
    assert tags["TMOO"].text == ["Happy", "Energetic", "calm"]
    assert tags["TXXX:MOOD"].text == ["Happy", "Energetic", "calm"]
    undo = restore(both, "mood", result.old, result.new)
    assert undo.ok, undo.message
    tags = ID3(both)  # both frames still there, no value lost
    assert "TXXX:MOOD" in tags and "TMOO" in tags
    assert read_field(both, "mood") == ["Happy", "Energetic"]

    txxx_only = tmp_path / "txxx.mp3"  # a v2.4 file using TXXX:MOOD (as foobar2000 does)
    audio_factory.write_tone(txxx_only, 1.0, fmt="mp3")
    tags = ID3()
    tags.add(TXXX(encoding=3, desc="MOOD", text=["Dark"]))
    tags.save(txxx_only)
    write(txxx_only, "mood", ["calm"], mode="merge")
    tags = ID3(txxx_only)
    assert tags["TXXX:MOOD"].text == ["Dark", "calm"] and "TMOO" not in tags


def test_v23_tag_flagged_unsynchronised_is_spliced_as_mutagen_reads_it(tmp_path: Path) -> None:
    """A v2.3 tag with the unsynchronisation flag but bytes that are not unsynchronised (a
    UTF-16 BOM is 0xFF 0xFE): mutagen reads its frames as they are, and so do we; the spliced
    tag keeps those bytes and drops the flag (mutagen never writes it either)."""
    path = v23_mp3(tmp_path / "a.mp3", 1)
    data = bytearray(path.read_bytes())
    data[5] |= 0x80
    path.write_bytes(bytes(data))
    before = frames_except(path, {"TCON"})
    raw_before = [f for f in raw_frames(path) if f[:4] != b"TCON"]
    write(path, "genre", ["Rock"])
    assert read_field(path, "genre") == ["Rock"]
    assert frames_except(path, {"TCON"}) == before
    assert [f for f in raw_frames(path) if f[:4] != b"TCON"] == raw_before
    assert version_of(path) == (2, 3, 0)
    assert path.read_bytes()[5] & 0x80 == 0


def test_tag_grows_when_the_new_frames_do_not_fit(tmp_path: Path) -> None:
    path = v23_mp3(tmp_path / "a.mp3", 0)
    before = [f for f in raw_frames(path) if f[:4] != b"TCON"]
    tail = after_id3v2(path)
    many = [f"genre {i:04d} with a long name" for i in range(200)]
    write(path, "genre", many)
    assert read_field(path, "genre") == many
    assert [f for f in raw_frames(path) if f[:4] != b"TCON"] == before
    assert after_id3v2(path) == tail


def test_write_options_id3_version_values() -> None:
    assert WriteOptions().id3_version is None
    assert id3_version_choice("keep") is None
    assert id3_version_choice("v2.3") == 3
    assert id3_version_choice("v2.4") == 4
    assert WriteOptions(id3_version=3).id3_version == 3
    assert WriteOptions(id3_new_version=3).id3_new_version == 3
    for bad in (2, "v2.2", True, "auto"):
        with pytest.raises(ValueError):
            id3_version_choice(bad)
        with pytest.raises(ValueError):
            WriteOptions(id3_version=bad)  # type: ignore[arg-type]  # refused at run time too
    with pytest.raises(ValueError):
        WriteOptions(id3_new_version=None)  # type: ignore[arg-type]  # refused at run time too


# -- frames as other taggers write them: kept byte for byte, never re-encoded by mutagen ----


def _syncsafe(n: int) -> bytes:
    return bytes([(n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F])


def _frame(version: int, frame_id: bytes, data: bytes, flags: int = 0) -> bytes:
    size = _syncsafe(len(data)) if version == 4 else len(data).to_bytes(4, "big")
    return frame_id + size + flags.to_bytes(2, "big") + data


def odd_frames(version: int) -> list[bytes]:
    """Frames mutagen reads fine but would not write back the same: no terminating NUL, a
    big-endian UTF-16 BOM, a Latin-1 APIC description, an unknown frame, a compressed frame,
    invalid UTF-8 (mutagen drops that frame), a per-frame unsynchronised one (v2.4)."""
    lyricist = b"\x00compressed lyricist"
    if version == 4:
        compressed = _frame(4, b"TEXT", _syncsafe(len(lyricist)) + zlib.compress(lyricist), 0x0009)
    else:
        compressed = _frame(
            3, b"TEXT", len(lyricist).to_bytes(4, "big") + zlib.compress(lyricist), 0x0080
        )
    frames = [
        _frame(version, b"TIT2", b"\x00Caf\xe9 latin-1"),
        _frame(version, b"TPE1", b"\x01\xff\xfeA\x00n\x00n\x00\x00\x00"),
        _frame(version, b"TCOM", b"\x01\xfe\xff\x00B\x00o\x00b"),
        _frame(version, b"TXXX", b"\x00Desc\x00val\xe9"),
        _frame(version, b"COMM", b"\x00deuKurz\x00Kommentar"),
        _frame(version, b"APIC", b"\x00image/png\x00\x03Cov\xe9r\x00" + PICTURE[:300]),
        _frame(version, b"PRIV", b"owner\x00\x01\x02\x03"),
        _frame(version, b"XYZW", b"a frame id nobody knows"),
        _frame(version, b"TCON", b"\x00Jazz"),
        compressed,
    ]
    if version == 4:
        frames += [
            _frame(4, b"TMOO", b"\x00mellow"),
            _frame(4, b"TALB", b"\x03not utf-8 \xff\xfe"),
            _frame(4, b"TOPE", b"\x00per\xff\x00frame unsynchronised", 0x0002),
        ]
    else:
        frames.append(_frame(3, b"TXXX", b"\x00MOOD\x00mellow"))
    return frames


ID3V1_ALBUM_YEAR = (
    b"TAG" + b"v1 title".ljust(30, b"\0") + b"v1 artist".ljust(30, b"\0")
    + b"v1 album".ljust(30, b"\0") + b"1999" + b"v1 comment".ljust(30, b"\0") + b"\x08"
)  # fmt: skip


def raw_tagged_mp3(path: Path, version: int = 4, tag_flags: int = 0) -> Path:
    """An MP3 with a hand-built ID3v2 tag of `odd_frames` (tag flag 0x80: unsynchronised as a
    whole, v2.3) and an ID3v1 tag holding fields the v2 tag lacks (album, year, comment)."""
    body = b"".join(odd_frames(version))
    if tag_flags & 0x80:
        body = body.replace(b"\xff", b"\xff\x00")  # unsynchronised (and decodes back)
    body += b"\0" * 256
    tag = b"ID3" + bytes([version, 0, tag_flags]) + _syncsafe(len(body)) + body
    audio_factory.write_tone(path, 1.0, fmt="mp3")
    audio = path.read_bytes()
    audio = audio[ID3(path).size :] if audio[:3] == b"ID3" else audio
    path.write_bytes(tag + audio + ID3V1_ALBUM_YEAR)
    return path


def decoded_frames(path: Path) -> list[bytes]:
    """`raw_frames`, after undoing a v2.3 tag's tag-wide unsynchronisation."""
    data = path.read_bytes()
    if data[3] == 3 and data[5] & 0x80:
        size = sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(data[6:10]))
        body = data[10 : 10 + size].replace(b"\xff\x00", b"\xff")
        head = data[:5] + bytes([data[5] & ~0x80]) + _syncsafe(len(body))
        plain = path.with_name("plain-" + path.name)
        plain.write_bytes(head + body)
        return raw_frames(plain)
    return raw_frames(path)


def _is_field_frame(field: str, frame: bytes) -> bool:
    if field == "genre":
        return frame[:4] == b"TCON"
    return frame[:4] == b"TMOO" or frame[:4] == b"TXXX" and frame[11:16] == b"MOOD\0"


@pytest.mark.parametrize("kind", ["v2.3", "v2.4", "v2.3 unsynchronised"])
@pytest.mark.parametrize("field", ["genre", "mood"])
def test_frames_mutagen_would_rewrite_keep_their_bytes(
    tmp_path: Path, kind: str, field: str
) -> None:
    """Before: a tag that could not be spliced was rewritten by mutagen, which re-encoded
    every frame, dropped the invalid UTF-8 one and filled in TALB/TDRC/COMM from ID3v1; the
    check compared decoded frames and let it through. Now every other frame keeps its bytes
    and place, and the check compares bytes."""
    version = 3 if kind.startswith("v2.3") else 4
    path = raw_tagged_mp3(tmp_path / "a.mp3", version, 0x80 if "unsync" in kind else 0)
    before = [f for f in decoded_frames(path) if not _is_field_frame(field, f)]
    v2_keys = set(ID3(path, load_v1=False).keys())
    write(path, field, ["Rock"])
    assert read_field(path, field) == ["Rock"]
    assert [f for f in decoded_frames(path) if not _is_field_frame(field, f)] == before
    assert path.read_bytes()[-128:] == ID3V1_ALBUM_YEAR
    assert version_of(path)[:2] == (2, version)
    new_keys = set(ID3(path, load_v1=False).keys()) - v2_keys
    assert new_keys <= {"TMOO", "TXXX:MOOD", "TCON"}  # nothing copied in from ID3v1


def _with_extended_header(path: Path) -> None:
    data = path.read_bytes()
    size = sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(data[6:10]))
    extended = b"\x00\x00\x00\x06\x00\x00\x00\x00\x00\x00"  # v2.3: 6 bytes, no CRC
    head = data[:5] + bytes([data[5] | 0x40]) + _syncsafe(size + len(extended))
    path.write_bytes(head + extended + data[10:])


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("v2.3 extended header", "extended header"),
    ],
)
def test_tag_whose_frames_mutagen_would_rewrite_is_refused(
    tmp_path: Path, kind: str, reason: str
) -> None:
    path = raw_tagged_mp3(tmp_path / "a.mp3", 3)
    _with_extended_header(path)
    original = path.read_bytes()
    result = apply_change(plan_write(path, "genre", ["Rock"], "replace"))
    assert not result.ok and not result.written
    assert reason in result.message and "not written" in result.message
    assert "\n" not in result.message
    assert path.read_bytes() == original


def test_new_tag_holds_only_our_frames_not_the_id3v1_fields(tmp_path: Path) -> None:
    path = audio_factory.write_tone(tmp_path / "a.mp3", 1.0, fmt="mp3")
    path.write_bytes(path.read_bytes() + ID3V1_ALBUM_YEAR)
    write(path, "genre", ["Rock"])
    assert set(ID3(path, load_v1=False).keys()) == {"TCON"}
    assert path.read_bytes()[-128:] == ID3V1_ALBUM_YEAR


def test_conversion_does_not_copy_id3v1_fields_into_the_new_tag(tmp_path: Path) -> None:
    path = v23_mp3(tmp_path / "a.mp3", 0, [TIT2(encoding=0, text=["Tone"])])
    path.write_bytes(path.read_bytes() + ID3V1_ALBUM_YEAR)
    write(path, "genre", ["Rock"], WriteOptions(id3_version=4))
    assert version_of(path) == (2, 4, 0)
    assert set(ID3(path, load_v1=False).keys()) == {"TIT2", "TCON"}


def test_the_check_compares_other_frames_as_bytes(tmp_path: Path) -> None:
    """Two tags mutagen decodes alike (a NUL-terminated title or not) are different to the
    write's check: a re-encoded frame is a change."""
    from app.tagformats import open_tags

    plain, terminated = tmp_path / "a.mp3", tmp_path / "b.mp3"
    for path, title in ((plain, b"\x00Tone"), (terminated, b"\x00Tone\x00")):
        audio_factory.write_tone(path, 1.0, fmt="mp3")
        body = _frame(3, b"TIT2", title) + b"\0" * 64
        path.write_bytes(b"ID3\x03\x00\x00" + _syncsafe(len(body)) + body + path.read_bytes())
    assert frames_except(plain, set()) == frames_except(terminated, set())
    assert open_tags(plain).others("genre") != open_tags(terminated).others("genre")


def test_v24_tag_unsynchronised_as_a_whole_is_spliced(tmp_path: Path) -> None:
    """Refused before (mutagen would rewrite every frame). The tag keeps its flag and every
    other frame its stored bytes; our frame is unsynchronised with its own flag set; undo
    restores the file byte for byte."""
    path = raw_tagged_mp3(tmp_path / "a.mp3", 4)
    frames = (
        [  # v2.4: each frame's data is unsynchronised, its header never is
            f[:4] + _syncsafe(len(d)) + f[8:10] + d
            for f in raw_frames(path)
            if f[:4] != b"TCON"  # NUL-terminated below, as mutagen writes it: undo gives it back
            for d in [f[10:].replace(b"\xff", b"\xff\x00")]
        ]
        + [_frame(4, b"TCON", b"\x00Jazz\x00")]
    )
    data = path.read_bytes()
    body = b"".join(frames) + b"\0" * 256
    tag = b"ID3\x04\x00\x80" + _syncsafe(len(body)) + body
    path.write_bytes(tag + data[ID3(path).size :])
    assert ID3(path, load_v1=False)["TIT2"].text == ["Caf\u00e9 latin-1"]
    original, tail = path.read_bytes(), after_id3v2(path)
    before = [f for f in raw_frames(path) if f[:4] != b"TCON"]
    values = ["Rock\u00ff", "Jazz"]  # Latin-1 0xFF then the NUL separator: unsynchronised
    result = write(path, "genre", values)
    assert read_field(path, "genre") == values
    assert ID3(path, load_v1=False)["TCON"].text == values
    assert [f for f in raw_frames(path) if f[:4] != b"TCON"] == before
    (tcon,) = [f for f in raw_frames(path) if f[:4] == b"TCON"]
    assert tcon[9] & 0x02 and b"\xff\x00\x00" in tcon[10:]
    assert path.read_bytes()[5] & 0x80 and version_of(path)[:2] == (2, 4)
    assert after_id3v2(path) == tail
    undo = restore(path, "genre", result.old, result.new)
    assert undo.ok and undo.written, undo.message
    assert path.read_bytes() == original
