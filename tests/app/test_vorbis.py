"""Vorbis comments in FLAC, Ogg Vorbis and Ogg Opus: repeated fields, every other comment and
picture kept in order, the audio decodes to exactly the same samples.

`tagged_vorbis` is reused by the other tag tests.
"""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from mutagen.flac import FLAC, Picture
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis

import audio_factory
from app.tagformats import open_tags
from app.tagwriter import apply_change, plan_write, read_field, restore

PICTURE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
KINDS = {"flac": FLAC, "ogg": OggVorbis, "opus": OggOpus}
# Many comments, a long one (so the Ogg comment header spans pages), mixed-case keys.
COMMENTS = [("TITLE", "Tone"), ("ARTIST", "Ann"), ("ARTIST", "Bob"), ("ALBUM", "Album"),
            ("Genre", "Jazz"), ("DATE", "2001"), ("TRACKNUMBER", "3"), ("MOOD", "mellow"),
            ("COMMENT", "old comment"), ("ENERGY", "low"), ("LYRICS", "la " * 30000)]


def picture() -> Picture:
    pic = Picture()
    pic.type, pic.mime, pic.desc, pic.data = 3, "image/png", "cover", PICTURE
    pic.width, pic.height, pic.depth = 16, 16, 24
    return pic


def tagged_vorbis(path: Path, fmt: str) -> Path:
    """A FLAC / Ogg Vorbis / Opus file with many comments and a cover picture."""
    audio_factory.write_tone(path, 1.5, fmt=fmt, freqs=(330.0, 550.0))
    audio = KINDS[fmt](path)
    if audio.tags is None:
        audio.add_tags()
    for key, value in COMMENTS:
        audio.tags.append((key, value))
    if fmt == "flac":
        audio.add_picture(picture())
    else:  # Ogg carries pictures as a base64 FLAC picture block in a comment
        block = base64.b64encode(picture().write()).decode("ascii")
        audio.tags.append(("METADATA_BLOCK_PICTURE", block))
    audio.save()
    return path


def comments_except(path: Path, key: str) -> list[tuple[str, str]]:
    audio = open_tags(path).audio
    return [(k, v) for k, v in audio.tags if k.upper() != key]


def pictures(path: Path) -> list[bytes]:
    audio = open_tags(path).audio
    if isinstance(audio, FLAC):
        return [p.write() for p in audio.pictures]
    return audio.tags.get("METADATA_BLOCK_PICTURE", [])


FIELD_KEYS = {"genre": "GENRE", "mood": "MOOD", "grouping": "GROUPING", "comment": "COMMENT",
              "custom:energy": "ENERGY"}


@pytest.mark.parametrize("fmt", list(KINDS))
@pytest.mark.parametrize("field", list(FIELD_KEYS))
def test_write_field_keeps_everything_else(tmp_path: Path, fmt: str, field: str) -> None:
    path = tagged_vorbis(tmp_path / f"a{audio_factory.suffix_for(fmt)}", fmt)
    key = FIELD_KEYS[field]
    others = comments_except(path, key)
    pics = pictures(path)
    samples, rate = sf.read(path, dtype="float32")
    vendor = open_tags(path).audio.tags.vendor
    result = apply_change(plan_write(path, field, ["Sad Piano", "Rock"], "replace"))
    assert result.ok and result.written, result.message
    audio = open_tags(path).audio
    assert [v for k, v in audio.tags if k == key] == ["Sad Piano", "Rock"]  # repeated field
    assert read_field(path, field) == ["Sad Piano", "Rock"]
    assert comments_except(path, key) == others  # same comments, same order
    assert pictures(path) == pics and audio.tags.vendor == vendor
    samples_after, rate_after = sf.read(path, dtype="float32")
    assert rate_after == rate and np.array_equal(samples_after, samples)


def test_flac_frames_are_byte_identical(tmp_path: Path) -> None:
    path = tagged_vorbis(tmp_path / "a.flac", "flac")
    size_before = path.stat().st_size
    frames = path.read_bytes()[-(size_before - _metadata_end(path)):]
    restore(path, "genre", ["x" * 20000], None)  # outgrows the padding: frames move
    assert path.stat().st_size != size_before
    assert path.read_bytes().endswith(frames)


def _metadata_end(path: Path) -> int:
    data = path.read_bytes()
    pos = 4
    while True:
        last, length = data[pos] & 0x80, int.from_bytes(data[pos + 1:pos + 4], "big")
        pos += 4 + length
        if last:
            return pos


def test_merge_is_case_insensitive(tmp_path: Path) -> None:
    path = tagged_vorbis(tmp_path / "a.ogg", "ogg")
    change = plan_write(path, "genre", ["JAZZ", "Blues", "blues"])
    assert change.old == ["Jazz"] and change.new == ["Jazz", "Blues"]
    assert apply_change(change).written


@pytest.mark.parametrize("fmt", list(KINDS))
def test_round_trip_restores_every_comment(tmp_path: Path, fmt: str) -> None:
    path = tagged_vorbis(tmp_path / f"a{audio_factory.suffix_for(fmt)}", fmt)
    upper = sorted((k.upper(), v) for k, v in open_tags(path).audio.tags)
    results = [apply_change(plan_write(path, field, ["new", "tags"])) for field in FIELD_KEYS]
    assert all(result.written for result in results)
    for result in reversed(results):
        assert restore(path, result.field, result.old, result.new).ok
    # Values and their order per key are back; a restored key sits at the end of the list.
    assert sorted((k.upper(), v) for k, v in open_tags(path).audio.tags) == upper
    for key in ("ARTIST", "GENRE", "MOOD", "LYRICS"):
        assert open_tags(path).audio.tags.get(key) == [v for k, v in COMMENTS if k.upper() == key]


def test_fingerprint_sees_a_changed_audio_packet(tmp_path: Path) -> None:
    """The safety net itself: one flipped byte in the audio changes the fingerprint."""
    for fmt in KINDS:
        path = tagged_vorbis(tmp_path / f"a{audio_factory.suffix_for(fmt)}", fmt)
        before = open_tags(path).audio_digest()
        data = bytearray(path.read_bytes())
        data[-40] ^= 0x01
        path.write_bytes(bytes(data))
        if fmt != "flac":  # fix the Ogg page CRC so the change is a valid, different stream
            _fix_last_ogg_page_crc(path)
        assert open_tags(path).audio_digest() != before


def _fix_last_ogg_page_crc(path: Path) -> None:
    from mutagen.ogg import OggPage

    with open(path, "rb") as f:
        pages = []
        while True:
            offset = f.tell()
            try:
                pages.append((offset, OggPage(f)))
            except EOFError:
                break
    offset, page = pages[-1]
    data = bytearray(path.read_bytes())
    data[offset:] = page.write()
    path.write_bytes(bytes(data))
