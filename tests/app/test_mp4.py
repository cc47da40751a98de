"""MP4 tags in AAC and ALAC .m4a files: ©gen/©grp/©cmt and iTunes freeform atoms, every other
atom and the cover kept, the demuxed audio packets and decoded samples unchanged.

`tagged_m4a` is reused by the other tag tests.
"""

from __future__ import annotations

import struct
from pathlib import Path

import audio_factory
import av
import numpy as np
import pytest
from mutagen.mp4 import MP4, AtomDataType, MP4Cover, MP4FreeForm, MP4Tags

from app.tagformats import open_tags
from app.tagwriter import apply_change, plan_write, read_field, restore

COVER = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8
MOOD = "----:com.apple.iTunes:MOOD"


def atoms(audio: MP4) -> MP4Tags:
    """An MP4's tag atoms (mutagen types `tags` optional; these files have them)."""
    tags = audio.tags
    assert tags is not None, "no MP4 tags"
    return tags


def tagged_m4a(path: Path, fmt: str = "m4a") -> Path:
    """An AAC ("m4a") or ALAC ("alac") file with many atoms and a JPEG cover."""
    audio_factory.write_tone(path, 1.5, fmt=fmt, freqs=(330.0, 550.0))
    audio = MP4(path)
    if audio.tags is None:
        audio.add_tags()
    atoms(audio).update(
        {
            "\xa9nam": ["Tone"],
            "\xa9ART": ["Ann", "Bob"],
            "\xa9alb": ["Album"],
            "\xa9day": ["2001"],
            "trkn": [(3, 12)],
            "\xa9cmt": ["old comment"],
            "covr": [MP4Cover(COVER, imageformat=MP4Cover.FORMAT_JPEG)],
            "----:com.apple.iTunes:Other": [MP4FreeForm(b"kept", dataformat=AtomDataType.UTF8)],
            MOOD: [MP4FreeForm(b"mellow", dataformat=AtomDataType.UTF8)],
            "\xa9gen": ["Jazz"],
        }
    )
    audio.save()
    return path


def atoms_except(path: Path, keys: set[str]) -> dict[str, str]:
    tags = atoms(MP4(path))
    return {
        k: repr(
            [
                (bytes(v) if isinstance(v, bytes) else v, getattr(v, "imageformat", None))
                for v in values
            ]
        )
        for k, values in tags.items()
        if k not in keys
    }


def packets(path: Path) -> list[tuple[bytes, int | None]]:
    with av.open(str(path), metadata_errors="replace") as container:
        return [(bytes(p), p.pts) for p in container.demux(audio=0) if p.size]


def decoded(path: Path) -> np.ndarray:
    with av.open(str(path), metadata_errors="replace") as container:
        return np.concatenate([f.to_ndarray().ravel() for f in container.decode(audio=0)])


FIELD_ATOMS = {
    "genre": {"\xa9gen"},
    "mood": {MOOD},
    "grouping": {"\xa9grp"},
    "comment": {"\xa9cmt"},
    "custom:Energy": {"----:com.apple.iTunes:Energy"},
}


@pytest.mark.parametrize("fmt", ["m4a", "alac"])
@pytest.mark.parametrize("field", list(FIELD_ATOMS))
def test_write_field_keeps_everything_else(tmp_path: Path, fmt: str, field: str) -> None:
    path = tagged_m4a(tmp_path / "a.m4a", fmt)
    others = atoms_except(path, FIELD_ATOMS[field])
    packets_before, samples_before = packets(path), decoded(path)
    result = apply_change(plan_write(path, field, ["Sad Piano", "Rock"], "replace"))
    assert result.ok and result.written, result.message
    assert read_field(path, field) == ["Sad Piano", "Rock"]
    assert atoms_except(path, FIELD_ATOMS[field]) == others
    assert packets(path) == packets_before
    assert np.array_equal(decoded(path), samples_before)


def test_atoms_follow_itunes_conventions(tmp_path: Path) -> None:
    path = tagged_m4a(tmp_path / "a.m4a")
    for field in FIELD_ATOMS:
        assert apply_change(plan_write(path, field, ["one", "two"], "replace")).written
    tags = atoms(MP4(path))
    assert tags["\xa9gen"] == ["one", "two"] and tags["\xa9grp"] == ["one", "two"]
    assert tags["\xa9cmt"] == ["one", "two"]
    assert [bytes(v) for v in tags[MOOD]] == [b"one", b"two"]
    assert all(v.dataformat == AtomDataType.UTF8 for v in tags[MOOD])
    assert [bytes(v) for v in tags["----:com.apple.iTunes:Energy"]] == [b"one", b"two"]


def test_round_trip_restores_every_atom(tmp_path: Path) -> None:
    path = tagged_m4a(tmp_path / "a.m4a", "alac")
    original = atoms_except(path, set())
    results = [apply_change(plan_write(path, f, ["x", "y"])) for f in FIELD_ATOMS]
    assert all(r.written for r in results)
    for result in reversed(results):
        assert restore(path, result.field, result.old, result.new).ok
    restored = atoms_except(path, set())
    # mood restored as freeform UTF-8 atoms: same bytes and type as the original
    assert restored == original


def test_fingerprint_sees_a_changed_packet(tmp_path: Path) -> None:
    path = tagged_m4a(tmp_path / "a.m4a", "alac")
    before = open_tags(path).audio_digest()
    first_packet = packets(path)[5][0]
    data = path.read_bytes()
    at = data.index(first_packet)
    path.write_bytes(data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :])
    assert open_tags(path).audio_digest() != before


# -- atoms as other taggers write them: kept byte for byte, never re-rendered by mutagen -----


def _atom(name: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + name + payload


def _data(kind: int, payload: bytes, locale: int = 0) -> bytes:
    return _atom(b"data", struct.pack(">II", kind, locale) + payload)


# atoms mutagen parses but would render differently (or drop into ©gen): raw ilst children
ODD_ATOMS = {
    "gnre": _data(0, b"\x00\x09"),  # ID3v1 genre 8 ("Jazz") as a number
    "\xa9wrt": _data(1, b"Composer", locale=0x00010002),  # a country/language set
    "tmpo": _data(21, b"\x78"),  # a one-byte tempo
    "cpil": _data(21, b"\x00\x00\x01"),
    "\xa9too": _data(1, b"not utf-8 \xff\xfe"),
    "desc": _data(2, "utf-16".encode("utf-16-be")),
    "XYZW": _data(0, b"\x00\x01binary\xff"),  # an atom nobody knows
}


def raw_atoms_m4a(path: Path) -> Path:
    """`tagged_m4a` plus atoms mutagen would change on a rewrite and a Latin-1 freeform value."""
    tagged_m4a(path)
    audio = MP4(path)
    tags = atoms(audio)
    tags["----:com.apple.iTunes:LATIN"] = [MP4FreeForm(b"Apn\xe9e", AtomDataType.UTF8)]
    # mutagen writes the atoms it could not parse back as they are: a way to place raw bytes
    tags._failed_atoms.update({key: [data] for key, data in ODD_ATOMS.items()})
    audio.save()
    return path


def ilst_children(path: Path) -> list[bytes]:
    """The raw children of moov/udta/meta/ilst (an independent walker, 32-bit sizes)."""
    data = path.read_bytes()
    start, end = 0, len(data)
    for name in (b"moov", b"udta", b"meta", b"ilst"):
        pos = start
        while pos + 8 <= end:
            size, kind = struct.unpack(">I4s", data[pos : pos + 8])
            if kind == name:
                start, end = pos + 8 + (4 if name == b"meta" else 0), pos + size
                break
            pos += size
        else:
            raise AssertionError(f"no {name!r} atom")
    children, pos = [], start
    while pos < end:
        size = struct.unpack(">I", data[pos : pos + 4])[0]
        children.append(data[pos : pos + size])
        pos += size
    return children


def _of_field(field: str, child: bytes) -> bool:
    if field == "genre":
        return child[4:8] in (b"\xa9gen", b"gnre")
    if field == "mood":
        return child[4:8] == b"----" and b"\x00MOOD\x00" in child[:60] or b"nameMOOD" in child
    return child[4:8] == b"\xa9grp"


@pytest.mark.parametrize("field", ["genre", "mood", "grouping"])
def test_atoms_mutagen_would_rewrite_keep_their_bytes_and_order(tmp_path: Path, field: str) -> None:
    """Before: mutagen re-rendered every atom (©wrt's locale bytes zeroed, tmpo widened to two
    bytes, gnre folded into a second ©gen value, the atoms re-sorted) and the check compared
    decoded values; a Latin-1 freeform value made the whole write fail in the demuxer."""
    path = raw_atoms_m4a(tmp_path / "a.m4a")
    before = ilst_children(path)
    assert any(c[4:8] == b"gnre" for c in before) and any(c[4:8] == b"XYZW" for c in before)
    packets_before = packets(path)
    apply = apply_change(plan_write(path, field, ["Rock"], "replace"))
    assert apply.ok and apply.written, apply.message
    after = ilst_children(path)
    assert [c for c in after if not _of_field(field, c)] == [
        c for c in before if not _of_field(field, c)
    ]
    assert read_field(path, field) == ["Rock"]
    assert packets(path) == packets_before
    if field == "genre":  # gnre and ©gen gave way to one ©gen, where the first of them was
        first = next(i for i, c in enumerate(before) if _of_field("genre", c))
        assert [i for i, c in enumerate(after) if _of_field("genre", c)] == [first]


def test_the_check_compares_other_atoms_as_bytes(tmp_path: Path) -> None:
    """Two files mutagen decodes alike (a text atom's locale bytes differ) are different to
    the write's check."""
    plain = tagged_m4a(tmp_path / "a.m4a")
    other = tmp_path / "b.m4a"
    other.write_bytes(plain.read_bytes())
    audio = MP4(other)
    del atoms(audio)["\xa9alb"]
    atoms(audio)._failed_atoms["\xa9alb"] = [_data(1, b"Album", locale=7)]
    audio.save()
    assert atoms_except(plain, set()) == atoms_except(other, set())
    assert open_tags(plain).others("genre") != open_tags(other).others("genre")
