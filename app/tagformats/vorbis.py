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

Ogg files with more than one logical stream:
- Chained streams (one after another, `cat a.ogg b.ogg`; radio rips) are written in the first
  stream's comment header only. That is the stream mutagen and every tagger reads, and what the
  app shows for the file; the later streams' comments are their own songs' tags, which we never
  showed, so we leave them alone. mutagen rewrites only the first stream's pages (it finds the
  first comment packet, renumbers pages of that serial only). `others` carries a hash of the raw
  bytes of every page after the first stream, so the write's check refuses any change to them.
- Chained streams where a later stream reuses a serial number (`cat a.ogg a.ogg`; the Ogg
  specification forbids it) are refused: mutagen's renumbering would run on into the later
  stream and change its pages.
- Multiplexed (grouped) streams, several open at once (Vorbis with Theora, a skeleton, a second
  audio stream), are refused in one line, also by the preview: mutagen's Vorbis writer takes the
  first comment packet of any serial, the header pages of the streams interleave, and which
  stream's tags are "the file's" is not clear, so a write could land on the wrong stream.
The scan's fingerprint walks the first stream's packets and hashes other streams' pages whole,
so none of these files is called damaged.

The comment itself is kept byte for byte except for the field being written. mutagen decodes
every entry (invalid UTF-8 becomes U+FFFD, an entry without '=' becomes "unknown0=...", an
entry whose name is not a valid key is dropped) and re-encodes them all on save, which would
damage such entries. So we read the raw comment ourselves (vendor string and entries as bytes:
the FLAC VORBIS_COMMENT block, the Ogg comment packet), replace only the entries of the written
field (the new values take the place of its first old entry, or go last), and give mutagen a
`write` of ours on the tags object that returns these bytes; mutagen still does the framing,
padding and page layout. FLAC's other metadata blocks (pictures, cue sheets, a second comment
block) are likewise written back as the bytes they were read as. `others` compares the raw
entries, so the write's check sees any byte that changes. A comment we cannot map onto
mutagen's reading of it (a FLAC block whose size field disagrees with its content, bytes after
the last entry) is refused with one line rather than written.

Values that are not valid UTF-8 are read as Latin-1 (every byte is a character, so "Apn\xe9e"
shows as "Apnée", not "Apn\ufffde"); valid UTF-8 is read as UTF-8.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

from mutagen import MutagenError
from mutagen._util import resize_bytes
from mutagen._vorbis import VComment
from mutagen.flac import FLAC, Padding, Picture, VCFLACDict
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
        created = audio.tags is None
        if created:
            audio.add_tags()
        self.tags = audio.tags
        self._raw: _RawComment | None = None
        self._blocks: list[tuple[Any, bytes]] = []  # FLAC: other blocks and their bytes
        self._problem: str | None = None
        try:
            self._raw, self._blocks = self._read_raw(created)
        except (OSError, ValueError, EOFError, IndexError, struct.error, MutagenError) as exc:
            self._problem = (
                f"the {self.kind} cannot be read byte for byte ({one_line(exc)}), so a write "
                "could alter other tags; not written"
            )

    def _read_raw(self, created: bool) -> tuple[_RawComment, list[tuple[Any, bytes]]]:
        """The comment as bytes, checked to be exactly what mutagen parsed, and (FLAC) every
        other metadata block paired with its bytes."""
        if isinstance(self.audio, FLAC):
            return self._read_flac(created)
        audio: Any = self.audio  # OggVorbis or OggOpus (mutagen types `info` optional)
        opus = isinstance(audio, OggOpus)
        packet = _ogg_comment_packet(self.path, audio.info.serial)
        prefix = b"OpusTags" if opus else b"\x03vorbis"
        if not packet.startswith(prefix):
            raise ValueError("the second Ogg packet is not a comment header")
        raw, used = _parse_comment(packet[len(prefix) :], framing=not opus)
        tail = packet[len(prefix) + used :]
        if opus and tail[:1] and tail[0] & 1:
            raw.kept = tail  # binary data after the comments: mutagen keeps it (_pad_data)
        self._check_same(raw, framing=not opus)
        return raw, []

    def _read_flac(self, created: bool) -> tuple[_RawComment, list[tuple[Any, bytes]]]:
        found = _flac_raw_blocks(self.path)
        audio = cast(FLAC, self.audio)
        blocks = [b for b in audio.metadata_blocks if not (created and b is self.tags)]
        if [code for code, _ in found] != [b.code for b in blocks]:
            raise ValueError("the FLAC metadata blocks do not match their size fields")
        pairs: list[tuple[Any, bytes]] = []
        raw = None
        for block, (code, data) in zip(blocks, found, strict=True):
            if block is self.tags:
                raw, used = _parse_comment(data, framing=False)
                if used != len(data):
                    raise ValueError("the FLAC comment block has bytes after its last entry")
                continue
            if code == VCFLACDict.code and getattr(block, "_size", -1) != len(data):
                raise ValueError("a FLAC comment block does not match its size field")
            if code == Picture.code and _picture_size(data) != len(data):
                raise ValueError("a FLAC picture block does not match its size field")
            if not isinstance(block, Padding):
                pairs.append((block, data))
        if raw is None:  # no comment block yet: we add one (mutagen's vendor string)
            raw = _RawComment(self.tags.vendor.encode("utf-8"), [])
        else:
            self._check_same(raw, framing=False)
        return raw, pairs

    def _check_same(self, raw: _RawComment, framing: bool) -> None:
        """Our byte-level reading must be the comment mutagen parsed, entry for entry."""
        parsed = VComment(raw.render(), framing=framing)
        if parsed.vendor != self.tags.vendor or list(parsed) != list(self.tags):
            raise ValueError("the comment's bytes do not match mutagen's reading of them")

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
        if self._raw is None:
            return [v for v in self.tags.get(key, []) if v != ""]
        name = key.encode("ascii")
        values = (_decode(v) for k, v in map(_split, self._raw.entries) if k == name)
        return [v for v in values if v != ""]

    def comments(self) -> dict[str, list[str]] | None:
        """Every comment by lower-case name, values decoded as `read` decodes them (Latin-1
        when not UTF-8), for display; None when the raw comment could not be read."""
        if self._raw is None:
            return None
        found: dict[str, list[str]] = {}
        for name, value in map(_split, self._raw.entries):
            if name is not None:
                found.setdefault(name.decode("latin-1").lower(), []).append(_decode(value))
        return found

    def set(self, field: str, values: list[str]) -> None:
        key = _key(field)
        if key in self.tags:
            del self.tags[key]
        if values:
            self.tags[key] = list(values)
        if self._raw is not None:
            self._raw.replace(key, values)

    def others(self, field: str) -> Any:
        if self._raw is None:
            raise TagError(self.path, self._problem or "the comment could not be read")
        name = _key(field).encode("ascii")
        entries = [e for e in self._raw.entries if _split(e)[0] != name]
        blocks = [(code, hashlib.sha256(data).hexdigest()) for code, data in self._block_bytes()]
        # Ogg: every page of the chained streams after ours, as raw bytes (see the module doc)
        later = None if isinstance(self.audio, FLAC) else _ogg_layout(self.path).later_pages
        return self._raw.vendor, entries, self._raw.kept, blocks, later

    def _block_bytes(self) -> list[tuple[int, bytes]]:
        return [(block.code, data) for block, data in self._blocks]

    def save(self) -> None:
        if self._raw is None:
            raise TagError(self.path, self._problem or "the comment could not be read")
        raw = self._raw
        # mutagen calls the tags' write() for the comment bytes (FLAC: every block's write());
        # ours return the kept bytes, see the module doc. Ogg Vorbis calls it without an
        # argument and wants the framing bit (VComment's default); FLAC and Opus do not.
        framed = isinstance(self.audio, OggVorbis)
        setattr(self.tags, "write", lambda framing=framed: raw.render(framing))  # noqa: B010
        for block, data in self._blocks:
            setattr(block, "write", lambda data=data: data)  # noqa: B010
        if isinstance(self.audio, FLAC):
            self.audio.save(deleteid3=self.options.flac_id3 == "drop")
            return
        _ogg_layout(self.path).refuse(self.path)
        split_header_page(self.path, _HEADER_PACKETS[type(self.audio)])
        self.audio.save()

    def check_complete(self) -> None:
        if self._problem:
            raise TagError(self.path, self._problem)
        if isinstance(self.audio, FLAC):
            check_end_decodes(self.path)
        else:  # a file cut inside a page parses (mutagen reads the headers) but cannot be saved
            _ogg_layout(self.path).refuse(self.path)
            _ogg_payload_digest(self.path, _HEADER_PACKETS[type(self.audio)])

    def audio_digest(self) -> str:
        if isinstance(self.audio, FLAC):
            return _flac_payload_digest(self.path)
        return _ogg_payload_digest(self.path, _HEADER_PACKETS[type(self.audio)])


@dataclass
class _RawComment:
    """A Vorbis comment as bytes: the vendor string and each entry ("KEY=value") as found."""

    vendor: bytes
    entries: list[bytes]
    framing: bytes = b"\x01"  # Ogg Vorbis: the framing byte as found
    kept: bytes = b""  # Opus: binary data after the comments, which mutagen keeps itself

    def render(self, framing: bool = True) -> bytes:
        """The comment as mutagen's VComment.write(framing) would give it, from our bytes."""
        parts = [struct.pack("<I", len(self.vendor)), self.vendor]
        parts.append(struct.pack("<I", len(self.entries)))
        for entry in self.entries:
            parts += [struct.pack("<I", len(entry)), entry]
        if framing:
            parts.append(self.framing)
        return b"".join(parts)

    def replace(self, key: str, values: list[str]) -> None:
        """The field's entries become one entry per value, where its first entry was (or
        last); every other entry keeps its bytes and its place."""
        name = key.encode("ascii")
        new = [name + b"=" + value.encode("utf-8") for value in values]
        kept: list[bytes] = []
        place = None
        for entry in self.entries:
            if _split(entry)[0] == name:
                place = len(kept) if place is None else place
            else:
                kept.append(entry)
        place = len(kept) if place is None else place
        self.entries = kept[:place] + new + kept[place:]


def _split(entry: bytes) -> tuple[bytes | None, bytes]:
    """An entry's name (ASCII upper case, as keys compare) and value; None: no '='."""
    name, sep, value = entry.partition(b"=")
    return (name.upper(), value) if sep else (None, entry)


def _decode(value: bytes) -> str:
    """UTF-8, as the specification says; Latin-1 for a value that is not valid UTF-8."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def _parse_comment(data: bytes, framing: bool) -> tuple[_RawComment, int]:
    """A Vorbis comment's vendor and entries as bytes, and how many bytes it used."""
    pos = 0

    def take(n: int) -> bytes:
        nonlocal pos
        if n > len(data) - pos:
            raise ValueError("the comment runs past its block or packet")
        pos += n
        return data[pos - n : pos]

    (size,) = struct.unpack("<I", take(4))
    vendor = take(size)
    (count,) = struct.unpack("<I", take(4))
    entries = []
    for _ in range(count):
        (size,) = struct.unpack("<I", take(4))
        entries.append(take(size))
    raw = _RawComment(vendor, entries)
    if framing:
        raw.framing = take(1)
    return raw, pos


def _flac_raw_blocks(path: Path) -> list[tuple[int, bytes]]:
    """Every FLAC metadata block as (type code, bytes), read by its size field."""
    blocks = []
    with open(path, "rb") as f:
        f.seek(id3v2_size(f.read(10)))
        if f.read(4) != b"fLaC":
            raise ValueError("no FLAC stream marker")
        last = False
        while not last:
            header = f.read(4)
            if len(header) < 4:
                raise ValueError("FLAC metadata runs past the end of the file")
            last = bool(header[0] & 0x80)
            length = int.from_bytes(header[1:4], "big")
            data = f.read(length)
            if len(data) < length:
                raise ValueError("FLAC metadata block runs past the end of the file")
            blocks.append((header[0] & 0x7F, data))
    return blocks


def _picture_size(data: bytes) -> int:
    """How many bytes a FLAC PICTURE block's fields take (mutagen reads them, not the size)."""
    pos = 4  # picture type
    for _ in range(2):  # MIME type, description
        pos += 4 + int.from_bytes(data[pos : pos + 4], "big")
    pos += 16  # width, height, depth, colours
    return pos + 4 + int.from_bytes(data[pos : pos + 4], "big")


def _ogg_comment_packet(path: Path, serial: int) -> bytes:
    """The second packet (the comment header) of the Ogg stream `serial`."""
    with open(path, "rb") as f:
        pages: list[OggPage] = []
        ended = 0
        for page in _pages(f):
            if page.serial != serial:
                continue
            pages.append(page)
            ended += len(page.packets) - (0 if page.complete else 1)
            if ended >= 2:
                return OggPage.to_packets(pages)[1]
    raise ValueError("the Ogg stream ends inside its comment header")


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


@dataclass
class _OggLayout:
    """How the logical streams of an Ogg file are laid out (one walk over its pages)."""

    streams: int = 0  # beginning-of-stream pages: logical streams, chained or multiplexed
    multiplexed: int = 0  # the most streams open at once (2 or more: grouped/interleaved)
    reused: bool = False  # a chained stream that begins with a serial number used before it
    later_pages: str = ""  # sha256 of the raw bytes of every page not of the first stream

    def refuse(self, path: Path) -> None:
        """TagError (one line) for the layouts we do not write: see the module doc."""
        if self.multiplexed > 1:
            raise TagError(
                path,
                f"has {self.multiplexed} multiplexed Ogg streams (another stream is "
                "interleaved with the audio): not written",
            )
        if self.reused:
            raise TagError(
                path,
                f"has {self.streams} chained Ogg streams, two with the same serial number: "
                "not written",
            )


def _ogg_layout(path: Path) -> _OggLayout:
    layout = _OggLayout()
    digest = hashlib.sha256()
    open_now: set[int] = set()
    seen: set[int] = set()
    first: int | None = None
    try:
        with open(path, "rb") as f:
            while True:
                start = f.tell()
                try:
                    page = OggPage(f)
                except EOFError:
                    break
                if first is None:
                    first = page.serial
                if page.first:
                    layout.streams += 1
                    layout.reused = layout.reused or page.serial in seen
                    seen.add(page.serial)
                    open_now.add(page.serial)
                    layout.multiplexed = max(layout.multiplexed, len(open_now))
                if page.serial != first or layout.streams > 1:
                    end = f.tell()
                    f.seek(start)
                    digest.update(f.read(end - start))
                if page.last:
                    open_now.discard(page.serial)
    except (struct.error, ValueError, MutagenError) as exc:
        raise TagError(path, f"malformed Ogg stream: {one_line(exc)}") from None
    layout.later_pages = digest.hexdigest()
    return layout


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
