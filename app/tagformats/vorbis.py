"""Vorbis comments: FLAC, Ogg Vorbis and Ogg Opus.

Each field is a repeated comment, one value per entry (how foobar2000, Picard and Mp3tag write
multi-values): GENRE=Rock, GENRE=Sad; MOOD, GROUPING, COMMENT alike; custom:NAME -> NAME
(upper-cased: Vorbis comment names are case-insensitive, upper case is the convention).

The audio payload we fingerprint:
- FLAC: every byte after the metadata blocks (the frames).
- Ogg: the codec headers that describe the sound (Vorbis identification and setup headers,
  OpusHead) and every audio page's packets, granule position and flags. Page *sequence
  numbers and CRCs* are left out on purpose: when the comment header grows by a page, every
  later page is renumbered, which changes those bytes but not the sound.
"""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path
from typing import Any, BinaryIO

from mutagen import MutagenError
from mutagen.flac import FLAC, Padding, VCFLACDict
from mutagen.ogg import OggPage
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis

from app.tagformats import (TagError, TagFormat, check_end_decodes, custom_name, hash_range,
                            id3v2_size, one_line)

_KEYS = {"genre": "GENRE", "mood": "MOOD", "grouping": "GROUPING", "comment": "COMMENT"}
# Ogg header packets before the first audio packet, per codec.
_HEADER_PACKETS = {OggVorbis: 3, OggOpus: 2}


class VorbisFormat(TagFormat):
    """Our fields as Vorbis comments (FLAC, Ogg Vorbis, Ogg Opus)."""

    kind = "Vorbis comments"

    def __init__(self, path: Path, audio: Any, options: Any) -> None:
        super().__init__(path, audio, options)
        if audio.tags is None:
            audio.add_tags()
        self.tags = audio.tags

    def read(self, field: str) -> list[str]:
        key = _key(field)
        return [v for v in self.tags.get(key, []) if v != ""]

    def set(self, field: str, values: list[str]) -> None:
        key = _key(field)
        if key in self.tags:
            del self.tags[key]
        if values:
            self.tags[key] = list(values)

    def others(self, field: str) -> Any:
        key = _key(field)
        pairs = [(k, v) for k, v in self.tags if k.upper() != key]
        blocks: list[tuple[int, str]] = []
        if isinstance(self.audio, FLAC):
            blocks = [(block.code, hashlib.sha256(block.write()).hexdigest())
                      for block in self.audio.metadata_blocks
                      if not isinstance(block, (VCFLACDict, Padding))]
        return self.tags.vendor, pairs, blocks

    def save(self) -> None:
        self.audio.save()

    def check_complete(self) -> None:
        if isinstance(self.audio, FLAC):
            check_end_decodes(self.path)

    def audio_digest(self) -> str:
        if isinstance(self.audio, FLAC):
            return _flac_payload_digest(self.path)
        return _ogg_payload_digest(self.path, _HEADER_PACKETS[type(self.audio)])


def _key(field: str) -> str:
    return _KEYS[field] if field in _KEYS else custom_name(field).upper()


HANDLED = {FLAC: VorbisFormat, OggVorbis: VorbisFormat, OggOpus: VorbisFormat}


def _flac_payload_digest(path: Path) -> str:
    with open(path, "rb") as f:
        size = f.seek(0, 2)
        f.seek(0)
        start = id3v2_size(f.read(10))  # some taggers put an ID3 tag before "fLaC"
        f.seek(start)
        if f.read(4) != b"fLaC":
            raise TagError(path, "no FLAC stream marker")
        start = _skip_flac_blocks(f, path, size)
        if start >= size:
            raise TagError(path, "no audio frames after the FLAC metadata")
        return hash_range(f, start, size)


def _skip_flac_blocks(f: BinaryIO, path: Path, size: int) -> int:
    while True:
        header = f.read(4)
        if len(header) < 4:
            raise TagError(path, "FLAC metadata runs past the end of the file")
        length = int.from_bytes(header[1:4], "big")
        position = f.seek(length, 1)
        if position > size:
            raise TagError(path, "FLAC metadata block runs past the end of the file")
        if header[0] & 0x80:  # last-metadata-block flag
            return position


def _ogg_payload_digest(path: Path, n_headers: int) -> str:
    digest = hashlib.sha256()
    header_pages: list[OggPage] = []
    ended = 0  # packets of the first stream completed so far
    try:
        with open(path, "rb") as f:
            serial = OggPage(f).serial
            f.seek(0)
            for page in _pages(f):
                if page.serial != serial:  # another logical stream: untouched, hash it whole
                    digest.update(page.write())
                elif ended < n_headers:
                    header_pages.append(page)
                    ended += len(page.packets) - (0 if page.complete else 1)
                    if ended > n_headers:
                        raise TagError(path, "audio data shares a page with the Ogg headers")
                else:
                    _hash_page(digest, page)
            headers = OggPage.to_packets(header_pages, strict=False)
    except (EOFError, struct.error, ValueError, MutagenError) as exc:
        raise TagError(path, f"malformed Ogg stream: {one_line(exc)}") from None
    if ended < n_headers:
        raise TagError(path, "Ogg stream ends inside its headers")
    digest.update(headers[0])  # identification header (rate, channels, pre-skip...)
    if n_headers == 3:
        digest.update(headers[2])  # Vorbis setup header (the codebooks)
    return digest.hexdigest()


def _pages(f: BinaryIO):
    while True:
        try:
            yield OggPage(f)
        except EOFError:
            return


def _hash_page(digest: Any, page: OggPage) -> None:
    flags = (page.continued, page.complete, page.first, page.last)
    digest.update(struct.pack("<q4?I", page.position, *flags, len(page.packets)))
    for packet in page.packets:
        digest.update(struct.pack("<I", len(packet)))
        digest.update(packet)
