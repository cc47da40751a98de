"""Vorbis comments: FLAC, Ogg Vorbis and Ogg Opus.

Each field is a repeated comment, one value per entry (how foobar2000, Picard and Mp3tag write
multi-values): GENRE=Rock, GENRE=Sad; MOOD, GROUPING, COMMENT alike; custom:NAME -> NAME
(upper-cased: Vorbis comment names are case-insensitive, upper case is the convention).

The audio payload we fingerprint:
- FLAC: every byte after the metadata blocks (the frames). An ID3v2 tag some taggers put in
  front of "fLaC" is kept as it is (mutagen writes the metadata after it), or dropped when
  `WriteOptions.flac_id3` says "drop".
- Ogg: the codec headers that describe the sound (Vorbis identification and setup headers,
  OpusHead) and the audio *packets* in order, each with the granule position of the page it
  ends on and the end-of-stream mark. Pages themselves (sequence numbers, CRCs, where packets
  are cut into pages) are left out on purpose: when the comment header grows by a page every
  later page is renumbered, and a file whose first audio packets share a page with the
  headers gets that page split in two; neither changes the sound.

Ogg files whose first audio packets share the last header page (common from older FFmpeg
builds; the Vorbis and Opus specifications want the audio to start on a fresh page) are
written too: before mutagen rewrites the comment header, that page is split into a page that
ends the headers (granule 0) and a page with the same audio packet data, flags and granule
position; later pages are renumbered. The fingerprint above proves the packets unchanged.
"""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path
from typing import Any, BinaryIO, cast

from mutagen import MutagenError
from mutagen._util import resize_bytes
from mutagen.flac import FLAC, Padding, VCFLACDict
from mutagen.ogg import OggPage
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis

from app.tagformats import (
    TagError,
    TagFormat,
    WriteOptions,
    check_end_decodes,
    custom_name,
    hash_range,
    id3v2_size,
    one_line,
)
from zsl_core.tag_fields import FIELD_KEYS, STANDARD_FIELDS

_KEYS = {name: FIELD_KEYS[name].vorbis[0] for name in STANDARD_FIELDS}  # zsl_core.tag_fields
# Ogg header packets before the first audio packet, per codec.
_HEADER_PACKETS: dict[type, int] = {OggVorbis: 3, OggOpus: 2}


class VorbisFormat(TagFormat):
    """Our fields as Vorbis comments (FLAC, Ogg Vorbis, Ogg Opus)."""

    kind = "Vorbis comments"

    def __init__(self, path: Path, audio: Any, options: WriteOptions) -> None:
        super().__init__(path, audio, options)
        if audio.tags is None:
            audio.add_tags()
        self.tags = audio.tags

    def field_error(self, field: str) -> str | None:
        key = _key(field)
        if any(c < " " or c > "}" or c == "=" for c in key):
            return (
                f"{self.kind} names must be plain ASCII (no '=', no accents): cannot hold "
                f"field {field!r}; not written"
            )
        return None

    def read(self, field: str) -> list[str]:
        if self.field_error(field):
            return []  # a name no comment can have: no file holds it
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
            blocks = [
                (block.code, hashlib.sha256(block.write()).hexdigest())
                for block in self.audio.metadata_blocks
                if not isinstance(block, (VCFLACDict, Padding))
            ]
        return self.tags.vendor, pairs, blocks

    def save(self) -> None:
        if isinstance(self.audio, FLAC):
            self.audio.save(deleteid3=self.options.flac_id3 == "drop")
            return
        split_header_page(self.path, _HEADER_PACKETS[type(self.audio)])
        self.audio.save()

    def check_complete(self) -> None:
        if isinstance(self.audio, FLAC):
            check_end_decodes(self.path)
        else:  # a file cut inside a page parses (mutagen reads the headers) but cannot be saved
            _ogg_payload_digest(self.path, _HEADER_PACKETS[type(self.audio)])

    def audio_digest(self) -> str:
        if isinstance(self.audio, FLAC):
            return _flac_payload_digest(self.path)
        return _ogg_payload_digest(self.path, _HEADER_PACKETS[type(self.audio)])


def _key(field: str) -> str:
    return _KEYS[field] if field in _KEYS else custom_name(field).upper()


HANDLED: dict[type, type[TagFormat]] = {
    FLAC: VorbisFormat,
    OggVorbis: VorbisFormat,
    OggOpus: VorbisFormat,
}


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


def _first_stream_header_pages(
    f: BinaryIO, path: Path, n_headers: int
) -> tuple[list[OggPage], int]:
    """The pages of the first logical stream up to the one where its `n_headers` header
    packets end, and how many packets end before that last page."""
    serial = OggPage(f).serial
    f.seek(0)
    pages: list[OggPage] = []
    ended = 0
    for page in _pages(f):
        if page.serial != serial:
            raise TagError(path, "another Ogg stream is interleaved with the headers")
        before = ended
        ended += len(page.packets) - (0 if page.complete else 1)
        pages.append(page)
        if ended >= n_headers:
            return pages, before
    raise TagError(path, "Ogg stream ends inside its headers")


def split_header_page(path: Path, n_headers: int) -> bool:
    """If the first audio packet data shares a page with the last header packet, split that
    page in two (headers end their page with granule 0, the audio part keeps the page's
    granule position and flags) and renumber the later pages. Returns whether it did."""
    try:
        with open(path, "r+b") as f:
            pages, ended_before = _first_stream_header_pages(f, path, n_headers)
            last = pages[-1]
            need = n_headers - ended_before  # header packets that end on the last page
            audio = last.packets[need:]
            if not audio:
                return False
            head = OggPage()
            head.serial, head.sequence = last.serial, last.sequence
            head.first, head.continued, head.last = last.first, last.continued, False
            head.complete, head.position = True, 0
            head.packets = last.packets[:need]
            rest = OggPage()
            rest.serial, rest.sequence = last.serial, last.sequence + 1
            rest.first, rest.continued, rest.last = False, False, last.last
            rest.complete, rest.position = last.complete, last.position
            rest.packets = audio
            data = head.write() + rest.write()
            offset = cast(int, last.offset)  # mutagen types it None: set when a page is read
            resize_bytes(f, last.size, len(data), offset)
            f.seek(offset)
            f.write(data)
            f.seek(offset + len(data))
            OggPage.renumber(f, last.serial, rest.sequence + 1)
            return True
    except (EOFError, struct.error, ValueError, MutagenError) as exc:
        raise TagError(path, f"malformed Ogg stream: {one_line(exc)}") from None


def _ogg_payload_digest(path: Path, n_headers: int) -> str:
    """Fingerprint of the sound: header packets that describe it, then every audio packet
    with the granule position (and end mark) of the page it ends on; see the module doc."""
    digest = hashlib.sha256()
    headers: list[bytes] = []
    done = 0  # packets of the first stream completed so far
    pending = b""
    try:
        with open(path, "rb") as f:
            serial = OggPage(f).serial
            f.seek(0)
            for page in _pages(f):
                if page.serial != serial:  # another logical stream: untouched, hash it whole
                    digest.update(b"S" + page.write())
                    continue
                count = len(page.packets)
                for i, part in enumerate(page.packets):
                    pending = pending + part if (i == 0 and page.continued) else part
                    if i == count - 1 and not page.complete:
                        break  # continues on the next page
                    done += 1
                    if done <= n_headers:
                        headers.append(pending)
                    else:
                        digest.update(struct.pack("<cI", b"P", len(pending)))
                        digest.update(pending)
                    pending = b""
                if done > n_headers and page.position != -1:
                    digest.update(struct.pack("<cqQ", b"G", page.position, done))
                if page.last:
                    digest.update(struct.pack("<cQ", b"E", done))
    except (EOFError, struct.error, ValueError, MutagenError) as exc:
        raise TagError(path, f"malformed Ogg stream: {one_line(exc)}") from None
    if done < n_headers:
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
