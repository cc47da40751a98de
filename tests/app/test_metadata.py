"""app.metadata: real tagged files in every container the app reads; bad tags never raise."""

from __future__ import annotations

import os
from pathlib import Path

import audio_factory
import pytest
from libfixtures import corrupt_files, cut_ogg, png_bytes, write_track

from app.metadata import SEPARATOR, cover_art, file_digest, read_metadata, read_with_tags

TAGGED_FORMATS = ["mp3", "wav", "aiff", "flac", "ogg", "opus", "m4a"]


@pytest.mark.parametrize("fmt", TAGGED_FORMATS)
def test_reads_tags_and_cover_in_every_tagged_format(tmp_path: Path, fmt: str) -> None:
    cover = png_bytes()
    path = write_track(
        tmp_path / f"song{audio_factory.suffix_for(fmt)}",
        seconds=3.0,
        fmt=fmt,
        title="Blue Hour",
        artist="Ana Ñ",
        album="Nights",
        genre=["Jazz", "Drum/Bass"],
        mood=["calm", "sad"],
        cover=cover,
    )
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
    path = audio_factory.write_tone(
        tmp_path / f"plain{audio_factory.suffix_for(fmt)}", 2.0, fmt=fmt
    )
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


def test_parse_failed_is_mutagen_failing_on_the_file_not_a_missing_tag(tmp_path: Path) -> None:
    """`parse_failed` (what the scanner calls damaged) is mutagen failing on the content:
    random bytes and text named as audio. A plain WAV without any tag, a file that is not
    there, and a cut Ogg file whose headers and tags still parse (the scanner finds that one
    damaged by its audio stream, app.scanner.probe_file) are not."""
    corrupt_files(tmp_path)
    for name in ("random.flac", "text.wav"):
        meta = read_metadata(tmp_path / name)
        assert meta.parse_failed and meta.error and meta.error.startswith("cannot read tags"), name
    plain = audio_factory.write_tone(tmp_path / "plain.wav", 1.0)  # soundfile writes no tags
    meta = read_metadata(plain)
    assert (meta.error, meta.parse_failed, meta.title) == (None, False, None)
    assert meta.duration == pytest.approx(1.0, abs=0.05)
    missing = read_metadata(tmp_path / "nope.ogg")
    assert missing.error and not missing.parse_failed
    cut, _ = cut_ogg(tmp_path / "cut.ogg", title="Cut Short")
    meta, tags = read_with_tags(cut)
    assert (meta.title, meta.error, meta.parse_failed) == ("Cut Short", None, False)
    assert tags is not None


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


def _date_tag(path: Path, value: str, key: str | None = None) -> None:
    """Set the file's date tag in its native format (ID3 TDRC, Vorbis DATE, MP4 \xa9day) or `key`."""
    import mutagen
    from mutagen import id3

    audio = mutagen.File(str(path))
    name = type(audio).__name__
    if name in ("MP3", "WAVE", "AIFF"):
        frame = getattr(id3, key or "TDRC")
        audio.tags.add(frame(encoding=3, text=[value]))
    elif name == "MP4":
        audio.tags[key or "\xa9day"] = [value]
    else:
        audio[key or "DATE"] = [value]
    audio.save()


@pytest.mark.parametrize("fmt", TAGGED_FORMATS)
def test_year_is_read_from_the_date_tag_in_every_tagged_format(tmp_path: Path, fmt: str) -> None:
    path = write_track(
        tmp_path / f"song{audio_factory.suffix_for(fmt)}", seconds=2.0, fmt=fmt, title="t"
    )
    assert read_metadata(path).year is None
    _date_tag(path, "1999-05-01T12:00:00Z" if fmt == "m4a" else "1999-05-01")
    assert read_metadata(path).year == 1999


@pytest.mark.parametrize("fmt", TAGGED_FORMATS)
def test_album_artist_track_and_disc_numbers_in_every_tagged_format(
    tmp_path: Path, fmt: str
) -> None:
    path = write_track(
        tmp_path / f"song{audio_factory.suffix_for(fmt)}", seconds=2.0, fmt=fmt, title="t"
    )
    meta = read_metadata(path)
    assert (meta.album_artist, meta.track_no, meta.disc_no) == (None, None, None)
    write_track(
        path, seconds=2.0, fmt=fmt, title="t", album_artist="Various", track="3/12", disc="2/2"
    )
    meta = read_metadata(path)
    assert (meta.album_artist, meta.track_no, meta.disc_no) == ("Various", 3, 2)


@pytest.mark.parametrize(("value", "number"), [("7", 7), ("07/10", 7), ("0", None), ("A1", 1)])
def test_track_number_is_its_first_number(tmp_path: Path, value: str, number: int | None) -> None:
    path = write_track(tmp_path / "song.flac", seconds=2.0, title="t", track=value)
    assert read_metadata(path).track_no == number


@pytest.mark.parametrize(
    ("value", "year"),
    [
        ("2003", 2003),
        ("circa 1987, remastered 2011", 1987),
        ("May 12 1971", 1971),
        ("0000", None),
        ("12/05/99", None),
        ("unknown", None),
    ],
)
def test_year_is_the_first_four_digit_year(tmp_path: Path, value: str, year: int | None) -> None:
    path = write_track(tmp_path / "song.flac", seconds=2.0, title="t")
    _date_tag(path, value)
    assert read_metadata(path).year == year


def test_year_falls_back_to_tyer_and_vorbis_year(tmp_path: Path) -> None:
    from mutagen.id3 import ID3, TYER

    mp3 = write_track(tmp_path / "old.mp3", seconds=2.0, title="t")
    tags = ID3(mp3)
    tags.add(TYER(encoding=1, text=["1994"]))  # an ID3v2.3 tag: the year frame is TYER
    tags.save(mp3, v2_version=3)
    assert b"TYER" in Path(mp3).read_bytes()[:200]
    assert read_metadata(mp3).year == 1994
    flac = write_track(tmp_path / "old.flac", seconds=2.0, title="t")
    _date_tag(flac, "1968", key="YEAR")
    assert read_metadata(flac).year == 1968
    _date_tag(flac, "1970-01-01")  # DATE wins over YEAR
    assert read_metadata(flac).year == 1970


def test_every_shown_or_cached_list_of_values_is_joined_by_the_one_rule(tmp_path):
    """The index's genre/mood text, the CLI's and the write preview's values and the tag
    writer's messages all join with `zsl_core.tags.join_values`, so `split_values` reads
    each of them back as the values they show."""
    from app.cli import _values as cli_values
    from app.metadata import Metadata
    from app.tagwriter import WriteResult
    from zsl_core.tags import VALUE_SEPARATOR, join_values, split_values

    values = ["Rock", "Sad Piano", "Hip-Hop"]
    joined = join_values(values)
    assert SEPARATOR == VALUE_SEPARATOR and joined == "Rock; Sad Piano; Hip-Hop"
    meta = Metadata(genres=values, moods=values[:1])
    assert meta.genre == joined and meta.mood == "Rock"
    assert cli_values(values) == f"[{joined}]"
    written = WriteResult(tmp_path / "a.mp3", "genre", [], values, written=True)
    assert written.message.endswith(f"genre = {joined}")
    for text in (meta.genre, cli_values(values).strip("[]"), written.message.split(" = ")[1]):
        assert split_values(text) == values
