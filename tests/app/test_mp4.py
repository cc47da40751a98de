"""MP4 tags in AAC and ALAC .m4a files: ©gen/©grp/©cmt and iTunes freeform atoms, every other
atom and the cover kept, the demuxed audio packets and decoded samples unchanged.

`tagged_m4a` is reused by the other tag tests.
"""

from __future__ import annotations

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
    with av.open(str(path)) as container:
        return [(bytes(p), p.pts) for p in container.demux(audio=0) if p.size]


def decoded(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
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
