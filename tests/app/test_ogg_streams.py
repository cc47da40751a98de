"""Ogg files with more than one logical stream: chained streams (`cat a.ogg b.ogg`, radio
rips) are written in the first stream's comment only, every page of the later streams kept
byte for byte; multiplexed streams, and chained streams reusing a serial number, are refused
in one line. Undo restores the original bytes; the scan does not call such files damaged."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import audio_factory
import pytest
from mutagen.ogg import OggPage
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis

from app.scanner import probe_file
from app.tagformats import open_tags
from app.tagwriter import apply_change, check_write, plan_write, read_field, restore_exact

KINDS = {"ogg": OggVorbis, "opus": OggOpus}


def stream(path: Path, fmt: str, artist: str, seconds: float = 1.0) -> bytes:
    audio_factory.write_tone(path, seconds, fmt=fmt, freqs=(330.0, 550.0))
    audio = KINDS[fmt](path)
    if audio.tags is None:
        audio.add_tags()
    tags: Any = audio.tags
    tags["ARTIST"] = [artist]
    tags["GENRE"] = [f"{artist} genre"]
    audio.save()
    return path.read_bytes()


def raw_pages(data: bytes) -> list[tuple[int, bytes]]:
    """(serial, raw bytes) of every page."""
    import io

    f, pages = io.BytesIO(data), list[tuple[int, bytes]]()
    while True:
        start = f.tell()
        try:
            page = OggPage(f)
        except EOFError:
            return pages
        pages.append((page.serial, data[start : f.tell()]))


def chained(tmp_path: Path, first: str, second: str) -> Path:
    one = stream(tmp_path / f"one.{first}", first, "One", 1.5)
    two = stream(tmp_path / f"two.{second}", second, "Two")
    path = tmp_path / "chain.ogg"
    path.write_bytes(one + two)
    return path


def first_stream_packets(data: bytes) -> list[bytes]:
    pages, serial = [], raw_pages(data)[0][0]
    import io

    f = io.BytesIO(data)
    while True:
        try:
            page = OggPage(f)
        except EOFError:
            break
        if page.serial == serial:
            pages.append(page)
    return OggPage.to_packets(pages)


@pytest.mark.parametrize("first,second", [("ogg", "ogg"), ("ogg", "opus"), ("opus", "opus")])
def test_chained_write_touches_only_the_first_comment(tmp_path: Path, first, second) -> None:
    path = chained(tmp_path, first, second)
    before = path.read_bytes()
    serial = raw_pages(before)[0][0]
    n = 3 if first == "ogg" else 2
    assert read_field(path, "genre") == ["One genre"]  # what the app shows: the first stream
    assert probe_file(os.fsencode(path)).damage is None  # chained is not damaged
    assert check_write(path, "genre") is None

    result = apply_change(plan_write(path, "genre", ["Drone"], "replace"), keep_undo=True)
    assert result.ok and result.written, result.message
    after = path.read_bytes()
    assert read_field(path, "genre") == ["Drone"]
    assert (open_tags(path).comments() or {})["artist"] == ["One"]
    later = [p for s, p in raw_pages(before) if s != serial]
    assert later and [p for s, p in raw_pages(after) if s != serial] == later  # byte for byte
    assert after.endswith(b"".join(later))  # the later streams are the file's tail, unchanged
    assert first_stream_packets(after)[n:] == first_stream_packets(before)[n:]  # audio packets
    assert probe_file(os.fsencode(path)).damage is None

    assert result.undo is not None
    undo = restore_exact(path, result.undo)
    assert undo.ok, undo.message
    assert path.read_bytes() == before


def test_the_check_sees_a_changed_page_of_a_later_stream(tmp_path: Path, monkeypatch) -> None:
    """The safety net: a save that alters a later chained stream is refused, file untouched."""
    path = chained(tmp_path, "ogg", "ogg")
    before = path.read_bytes()
    real_save = OggVorbis.save

    def damaging_save(self, *args, **kwargs):
        real_save(self, *args, **kwargs)
        name = self.filename
        data = bytearray(Path(name).read_bytes())
        data[-1] ^= 0x01  # a byte in the last page of the second stream
        Path(name).write_bytes(bytes(data))

    monkeypatch.setattr(OggVorbis, "save", damaging_save)
    result = apply_change(plan_write(path, "genre", ["Drone"], "replace"))
    assert not result.written
    assert path.read_bytes() == before


def multiplexed(tmp_path: Path) -> Path:
    """Two Vorbis streams grouped: both BOS pages first, then their pages interleaved."""
    a = raw_pages(stream(tmp_path / "a.ogg", "ogg", "One", 1.5))
    b = raw_pages(stream(tmp_path / "b.ogg", "ogg", "Two"))
    assert a[0][0] != b[0][0]
    pages = [a[0][1], b[0][1]]
    rest_a, rest_b = a[1:], b[1:]
    while rest_a or rest_b:
        pages += [rest.pop(0)[1] for rest in (rest_a, rest_b) if rest]
    path = tmp_path / "mux.ogg"
    path.write_bytes(b"".join(pages))
    return path


def test_multiplexed_streams_are_refused_in_one_line(tmp_path: Path) -> None:
    path = multiplexed(tmp_path)
    before = path.read_bytes()
    assert read_field(path, "genre") == ["One genre"]
    assert probe_file(os.fsencode(path)).damage is None
    problem = check_write(path, "genre")
    assert problem is not None and "2 multiplexed Ogg streams" in problem and "\n" not in problem
    result = apply_change(plan_write(path, "genre", ["Drone"], "replace"))
    assert not result.written and "not written" in result.message
    assert path.read_bytes() == before


def test_chained_streams_with_one_serial_are_refused(tmp_path: Path) -> None:
    one = stream(tmp_path / "one.ogg", "ogg", "One")
    path = tmp_path / "twice.ogg"
    path.write_bytes(one + one)
    assert probe_file(os.fsencode(path)).damage is None
    problem = check_write(path, "genre")
    assert problem is not None and "same serial number: not written" in problem
    result = apply_change(plan_write(path, "genre", ["Drone"], "replace"))
    assert not result.written
    assert path.read_bytes() == one + one
