"""zsl_core.tag_fields is the one map from our fields to each container's keys: what the tag
writer writes is where the writer's reader, the library display (app.metadata) and
`zsl-core import folder` (zsl_core.datasets.read_file_tags) all find it."""

from __future__ import annotations

from pathlib import Path

import audio_factory
import mutagen
import pytest
from mutagen.asf import ASF
from mutagen.id3 import GRP1, ID3, TIT1

from app.metadata import read_metadata
from app.tagformats import STANDARD_FIELDS, WriteOptions
from app.tagwriter import apply_change, plan_write, read_field
from zsl_core.datasets import clean_tag, read_file_tags
from zsl_core.tag_fields import CONTAINERS, FIELD_KEYS, META_FIELDS, MP4_FREEFORM

VALUES = {
    "genre": ["Rock", "Jazz"],
    "mood": ["calm"],
    "grouping": ["Strings", "Late night"],
    "comment": ["hello"],
}
# (audio_factory format, container, ID3 version of a new tag)
FORMATS = [
    ("mp3", "id3", 4),
    ("mp3", "id3", 3),
    ("wav", "id3", 4),
    ("flac", "vorbis", None),
    ("ogg", "vorbis", None),
    ("opus", "vorbis", None),
    ("m4a", "mp4", None),
]


def stored_keys(path: Path) -> list[str]:
    audio = mutagen.File(path)
    return [str(k) for k in audio.tags.keys()]


def has_key(keys: list[str], key: str, container: str) -> bool:
    if container == "vorbis":
        return key.upper() in {k.upper() for k in keys}
    if key == "COMM":
        return any(k.startswith("COMM:") for k in keys)
    return key in keys


@pytest.mark.parametrize("fmt, container, version", FORMATS, ids=lambda v: str(v))
def test_what_the_writer_writes_every_reader_reads(tmp_path, fmt, container, version):
    path = audio_factory.write_tone(
        tmp_path / f"t{audio_factory.suffix_for(fmt)}", 1.0, fmt=fmt, sample_rate=48000
    )
    options = WriteOptions(id3_new_version=version or 4)
    for field, values in VALUES.items():
        apply_change(plan_write(path, field, values, options=options), options)
    keys = stored_keys(path)
    meta = read_metadata(path)
    for field, values in VALUES.items():
        declared = FIELD_KEYS[field].keys(container)
        # the first key (ID3v2.3 mood: TXXX:MOOD, as v2.3 has no TMOO)
        assert any(has_key(keys, k, container) for k in declared), (field, declared, keys)
        assert read_field(path, field, options) == values, field  # the writer's own reader
        imported, _ = read_file_tags(path, fields=(field,))
        assert imported == [clean_tag(v) for v in values], field  # zsl-core import folder
    assert meta.genres == VALUES["genre"] and meta.moods == VALUES["mood"]  # the library


NAMES = {"title": "A title", "artist": "An artist", "album": "An album"}


@pytest.mark.parametrize("fmt, container", [("mp3", "id3"), ("flac", "vorbis"), ("m4a", "mp4")])
def test_names_are_read_from_the_declared_keys(tmp_path, fmt, container):
    path = audio_factory.write_tone(tmp_path / f"t{audio_factory.suffix_for(fmt)}", 1.0, fmt=fmt)
    audio = mutagen.File(path)
    if audio.tags is None:
        audio.add_tags()
    for name, text in NAMES.items():
        key = FIELD_KEYS[name].keys(container)[0]
        if container == "id3":
            audio.tags.add(mutagen.id3.Frames[key](encoding=3, text=[text]))
        else:
            audio.tags[key] = [text]
    audio.save()
    meta = read_metadata(path)
    _, imported = read_file_tags(path)
    for name in META_FIELDS:
        assert getattr(meta, name) == NAMES[name]
        assert imported[name] == NAMES[name]


def test_asf_is_read_from_the_declared_attributes(tmp_path):
    path = audio_factory.write_tone(tmp_path / "t.wma", 1.0, fmt="wma")
    audio = ASF(path)
    assert audio.tags is not None
    for field in ("genre", "mood", "grouping", "title", "artist", "album"):
        audio.tags[FIELD_KEYS[field].asf[0]] = [f"{field} value"]
    audio.save()
    meta = read_metadata(path)
    assert (meta.title, meta.artist, meta.album) == ("title value", "artist value", "album value")
    assert meta.genres == ["genre value"] and meta.moods == ["mood value"]
    tags, _ = read_file_tags(path, fields=("genre", "mood", "grouping"))
    assert tags == ["genre value", "mood value", "grouping value"]


def test_grouping_stays_in_tit1_and_itunes_grp1_is_only_imported(tmp_path):
    """The decision in zsl_core.tag_fields: the writer keeps TIT1 (Picard, Mp3tag and every
    file tagged so far); iTunes' GRP1 is read by a folder import, never rewritten."""
    path = audio_factory.write_tone(tmp_path / "t.mp3", 1.0, fmt="mp3")
    tags = ID3()
    tags.add(GRP1(encoding=3, text=["itunes group"]))
    tags.save(path)
    assert read_file_tags(path, fields=("grouping",))[0] == ["itunes group"]
    assert read_field(path, "grouping") == []
    apply_change(plan_write(path, "grouping", ["ours"]))
    after = ID3(path)
    assert [str(t) for t in after.getall("TIT1")[0].text] == ["ours"]
    assert [str(t) for t in after.getall("GRP1")[0].text] == ["itunes group"]  # untouched
    assert read_file_tags(path, fields=("grouping",))[0] == ["ours", "itunes group"]
    assert FIELD_KEYS["grouping"].id3 == (TIT1.__name__,)


def test_every_field_is_declared_for_every_container():
    for name in (*STANDARD_FIELDS, *META_FIELDS):
        keys = FIELD_KEYS[name]
        for container in CONTAINERS:
            assert keys.keys(container), (name, container)
            assert keys.read_keys(container)[: len(keys.keys(container))] == keys.keys(container)
        assert all(k == k.upper() and k.isascii() for k in keys.vorbis)
    assert FIELD_KEYS["mood"].mp4 == (MP4_FREEFORM + "MOOD",)
    assert FIELD_KEYS["mood"].id3 == ("TMOO", "TXXX:MOOD")
