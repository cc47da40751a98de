"""app.metadata: real tagged files in every container the app reads; bad tags never raise."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import audio_factory
from app.metadata import SEPARATOR, cover_art, file_digest, read_metadata, read_with_tags
from libfixtures import corrupt_files, png_bytes, write_track

TAGGED_FORMATS = ["mp3", "wav", "aiff", "flac", "ogg", "opus", "m4a"]


@pytest.mark.parametrize("fmt", TAGGED_FORMATS)
def test_reads_tags_and_cover_in_every_tagged_format(tmp_path: Path, fmt: str) -> None:
    cover = png_bytes()
    path = write_track(tmp_path / f"song{audio_factory.suffix_for(fmt)}", seconds=3.0, fmt=fmt,
                       title="Blue Hour", artist="Ana Ñ", album="Nights", genre=["Jazz", "Drum/Bass"],
                       mood=["calm", "sad"], cover=cover)
    meta = read_metadata(path)
    assert meta.error is None
    assert (meta.title, meta.artist, meta.album) == ("Blue Hour", "Ana Ñ", "Nights")
    assert meta.genres == ["Jazz", "Drum/Bass"]
    assert meta.genre == "Jazz" + SEPARATOR + "Drum/Bass"
    assert meta.moods == ["calm", "sad"] and meta.mood == "calm; sad"
    assert meta.duration == pytest.approx(3.0, abs=0.15)
    assert meta.has_cover
    assert cover_art(path) == cover


@pytest.mark.parametrize("fmt", ["wav", "flac", "mp3", "m4a", "aac", "wma"])
def test_untagged_files_have_duration_and_no_fields(tmp_path: Path, fmt: str) -> None:
    path = audio_factory.write_tone(tmp_path / f"plain{audio_factory.suffix_for(fmt)}", 2.0, fmt=fmt)
    meta = read_metadata(path)
    assert meta.error is None
    assert meta.title is None and meta.genre is None and meta.mood is None
    assert meta.genres == [] and not meta.has_cover
    assert meta.duration == pytest.approx(2.0, abs=0.2)
    assert cover_art(path) is None


def test_front_cover_preferred_and_mp4_legacy_genre(tmp_path: Path) -> None:
    from mutagen.id3 import APIC, ID3

    path = write_track(tmp_path / "two.mp3", seconds=2.0, title="x")
    tags = ID3(path)
    tags.add(APIC(encoding=3, mime="image/png", type=0, desc="other", data=png_bytes((1, 2, 3))))
    tags.add(APIC(encoding=3, mime="image/png", type=3, desc="front", data=png_bytes((9, 9, 9))))
    tags.save(path)
    assert cover_art(path) == png_bytes((9, 9, 9))


def test_id3_numeric_genre_and_txxx_mood(tmp_path: Path) -> None:
    from mutagen.id3 import ID3, TCON, TXXX

    path = write_track(tmp_path / "old.mp3", seconds=2.0, title="t")
    tags = ID3(path)
    tags.add(TCON(encoding=3, text=["(17)"]))
    tags.add(TXXX(encoding=3, desc="MOOD", text=["dreamy"]))
    tags.save(path, v2_version=3)
    meta = read_metadata(path)
    assert meta.genres == ["Rock"] and meta.moods == ["dreamy"]


def test_bad_files_never_raise_and_say_why(tmp_path: Path) -> None:
    corrupt_files(tmp_path)
    for name in ("empty.mp3", "random.flac", "text.wav"):
        meta = read_metadata(tmp_path / name)
        assert meta.error, name
        assert "\n" not in meta.error
        assert meta.title is None and not meta.has_cover
        assert cover_art(tmp_path / name) is None
    missing = read_metadata(tmp_path / "nope.ogg")
    assert missing.error and missing.duration is None


def test_bytes_path_with_non_utf8_name(tmp_path: Path) -> None:
    raw = os.fsencode(tmp_path) + b"/caf\xe9.flac"
    write_track(raw, seconds=2.0, fmt="flac", title="Café", cover=png_bytes())
    meta, tags = read_with_tags(raw)
    assert meta.title == "Café" and meta.has_cover and meta.error is None
    assert tags is not None and tags.audio_digest()
    assert cover_art(raw) == png_bytes()
    assert file_digest(raw).startswith("file:")


def test_file_digest_differs_from_payload_digest_and_tracks_content(tmp_path: Path) -> None:
    a = write_track(tmp_path / "a.wav", seconds=2.0)
    meta, tags = read_with_tags(a)
    assert tags is not None
    before = file_digest(a)
    assert before != tags.audio_digest()
    write_track(tmp_path / "a.wav", seconds=2.0, kind="chirp")
    assert file_digest(a) != before
