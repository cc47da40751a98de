"""ID3 tags in MP3, WAV and AIFF: v2.4 and v2.3 conventions, every other frame kept, ID3v1 and
APE tags at the end of an MP3 kept byte for byte, the audio payload unchanged.

Builders here (`tagged_mp3`, `tagged_wave`) are reused by the other tag tests.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from mutagen.apev2 import APEv2
from mutagen.aiff import AIFF
from mutagen.id3 import (APIC, COMM, ID3, POPM, RVA2, TALB, TCON, TDRC, TIT2, TMOO, TPE1,
                         TRCK, TSOP, TSST, TXXX, USLT)
from mutagen.wave import WAVE

import audio_factory
from app.tagformats import WriteOptions
from app.tagwriter import apply_change, plan_write, read_field, restore

PICTURE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


def id3_frames(version: int) -> list:
    """A realistic, busy tag: picture, lyrics, rating, multi-valued artist, two comments."""
    frames = [
        TIT2(encoding=3, text=["Tone"]), TPE1(encoding=3, text=["Ann", "Bob"]),
        TALB(encoding=3, text=["Album"]), TRCK(encoding=3, text=["3/12"]),
        TDRC(encoding=3, text=["2001-05-03"]), TCON(encoding=3, text=["Jazz"]),
        TSOP(encoding=3, text=["Ann, The"]),
        COMM(encoding=3, lang="eng", desc="", text=["old comment"]),
        COMM(encoding=3, lang="eng", desc="iTunNORM", text=[" 000001"]),
        TXXX(encoding=3, desc="Other", text=["kept"]),
        APIC(encoding=3, mime="image/png", type=3, desc="cover", data=PICTURE),
        USLT(encoding=3, lang="eng", desc="", text="la la la"),
        POPM(email="me@example.org", rating=196, count=3),
    ]
    if version == 4:
        frames += [TMOO(encoding=3, text=["mellow"]), TSST(encoding=3, text=["Side A"]),
                   RVA2(desc="track", channel=1, gain=-3.5, peak=0.9)]
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
    if path.suffix == ".wav":
        return WAVE(path).tags
    if path.suffix in (".aiff", ".aif"):
        return AIFF(path).tags
    return ID3(path)


def after_id3v2(path: Path) -> bytes:
    """Everything after the ID3v2 tag: audio frames, APE tag, ID3v1 tag."""
    data = path.read_bytes()
    return data[ID3(path).size:]


def write(path: Path, field: str, values: list[str], options: WriteOptions | None = None,
          mode: str = "replace"):
    result = apply_change(plan_write(path, field, values, mode, options), options)
    assert result.ok and result.written, result.message
    return result


FIELD_FRAMES = {"genre": {"TCON"}, "mood": {"TMOO", "TXXX:MOOD"}, "grouping": {"TIT1"},
                "comment": {"COMM::eng"}, "custom:Energy": {"TXXX:Energy"}}


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
    assert not result.ok and "reads back" in result.error
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
def test_wave_and_aiff_id3_chunk(tmp_path: Path, name: str, version: int) -> None:
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
