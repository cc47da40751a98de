"""ID3v2 tags: MP3 files, and the ID3 chunk of WAV and AIFF files.

Where our fields live (the conventions of Mp3tag, foobar2000 and MusicBrainz Picard):

    field        ID3v2.4 (default)         ID3v2.3 (on request)
    genre        TCON, one value per ""    TCON, values joined by the separator
    mood         TMOO                      TXXX:MOOD (v2.3 has no TMOO)
    grouping     TIT1                      TIT1
    comment      COMM (lang, description)  COMM
    custom:NAME  TXXX:NAME                 TXXX:NAME

Saving as v2.3 goes through mutagen's `update_to_v23()`, which converts TDRC -> TYER/TDAT/TIME,
TDOR -> TORY, TIPL/TMCL -> IPLS but *drops* the other v2.4-only frames. We keep them instead,
as Picard and Mp3tag do: TSOP/TSOA/TSOT stay as they are (iTunes and every modern player read
them in v2.3 too), RVA2/EQU2/SIGN stay as they are (v2.3 readers skip frames they do not
know, so the data survives), TMOO becomes TXXX:MOOD and the remaining text frames become TXXX
frames named after what they hold (TSST -> TXXX:SETSUBTITLE ...). Only ASPI and SEEK are
dropped: they point at byte offsets that a rewrite invalidates anyway.

An ID3v1 tag at the end of an MP3 is kept byte for byte (mutagen would regenerate it from the
v2 frames, changing fields we were not asked to touch). An APEv2 tag there is never touched.
"""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path
from typing import Any, BinaryIO

from mutagen.aiff import AIFF
from mutagen.id3 import COMM, ID3, TCON, TIT1, TMOO, TXXX, Frame
from mutagen.mp3 import MP3
from mutagen.wave import WAVE

from app.tagformats import (TagError, TagFormat, check_end_decodes, custom_name, hash_range,
                            id3v2_size)

UTF8 = 3  # mutagen's Encoding.UTF8; mutagen re-encodes as UTF-16 itself when saving v2.3

# v2.4-only text frames that update_to_v23 would drop, and the TXXX name that keeps them.
V24_TEXT_TO_TXXX = {
    "TMOO": "MOOD",
    "TSST": "SETSUBTITLE",
    "TDRL": "RELEASETIME",
    "TDEN": "ENCODINGTIME",
    "TDTG": "TAGGINGTIME",
    "TPRO": "PRODUCEDNOTICE",
}
# v2.4-only frames that v2.3 readers accept (TSO*) or skip harmlessly: kept unchanged.
V24_FRAMES_KEPT_IN_V23 = ("TSOP", "TSOA", "TSOT", "RVA2", "EQU2", "SIGN")

_SIMPLE_TEXT_FRAMES = {"genre": "TCON", "grouping": "TIT1"}


class Id3Format(TagFormat):
    """Our fields in an ID3v2 tag (MP3, WAV, AIFF)."""

    kind = "ID3"

    def __init__(self, path: Path, audio: Any, options: Any) -> None:
        super().__init__(path, audio, options)
        if audio.tags is None:
            audio.add_tags()
        self.tags: ID3 = audio.tags
        # What the file held on disk: values written as v2.3 are joined with the separator.
        self.loaded_version = self.tags.version[1] if self.tags.version else 4

    # -- reading and setting fields ------------------------------------------------------

    def read(self, field: str) -> list[str]:
        if field == "genre":
            values = [g for frame in self.tags.getall("TCON") for g in frame.genres]
        elif field == "mood":
            values = self._texts("TMOO") or self._texts("TXXX:MOOD")
        elif field == "comment":
            key = self._comment_key()
            values = self._texts(key) if key else []
        else:
            values = self._texts(self._frame_key(field))
        return self._split_v23(values)

    def set(self, field: str, values: list[str]) -> None:
        comment_target = self._comment_target() if field == "comment" else None
        for key in self._field_keys(field):
            self.tags.delall(key)
        if not values:
            return
        if field == "genre":
            self.tags.add(TCON(encoding=UTF8, text=values))
        elif field == "grouping":
            self.tags.add(TIT1(encoding=UTF8, text=values))
        elif field == "mood" and self.options.id3_version == 4:
            self.tags.add(TMOO(encoding=UTF8, text=values))
        elif field == "mood":
            self.tags.add(TXXX(encoding=UTF8, desc="MOOD", text=values))
        elif field == "comment":
            lang, desc = comment_target
            self.tags.add(COMM(encoding=UTF8, lang=lang, desc=desc, text=values))
        else:
            self.tags.add(TXXX(encoding=UTF8, desc=custom_name(field), text=values))

    def others(self, field: str) -> Any:
        """Every frame except the field's, plus the bytes of ID3v1/APE tags at the end."""
        skip = set(self._field_keys(field))
        frames = sorted((key, _frame_fingerprint(frame)) for key, frame in self.tags.items()
                        if key not in skip)
        tail = _tail_tag_bytes(self.path) if isinstance(self.audio, MP3) else b""
        return frames, hashlib.sha256(tail).hexdigest()

    def converts_on_save(self) -> bool:
        return self.loaded_version != self.options.id3_version

    # -- saving --------------------------------------------------------------------------

    def save(self) -> None:
        version = self.options.id3_version
        if version == 3:
            _prepare_v23(self.tags)
        kwargs: dict[str, Any] = {"v2_version": version, "v23_sep": self.options.id3_separator}
        if not isinstance(self.audio, MP3):
            self.audio.save(**kwargs)
            return
        id3v1 = _id3v1_bytes(self.path)
        self.audio.save(v1=1, **kwargs)  # 1 = update an existing ID3v1, never add one
        if id3v1:
            _put_back_id3v1(self.path, id3v1)

    # -- the audio payload ---------------------------------------------------------------

    def audio_digest(self) -> str:
        """MP3: the bytes between the ID3v2 tag and any ID3v1/APE tag at the end.
        WAV/AIFF: every chunk except the ID3 chunk, in order."""
        if isinstance(self.audio, MP3):
            return _mp3_payload_digest(self.path)
        return _iff_payload_digest(self.path)

    def check_complete(self) -> None:
        if isinstance(self.audio, MP3):
            check_end_decodes(self.path)

    # -- helpers -------------------------------------------------------------------------

    def _texts(self, key: str) -> list[str]:
        return [str(t) for frame in self.tags.getall(key) for t in frame.text]

    def _split_v23(self, values: list[str]) -> list[str]:
        if self.loaded_version == 3:
            sep = self.options.id3_separator
            values = [part for v in values for part in v.split(sep)]
        return [v for v in values if v != ""]

    def _frame_key(self, field: str) -> str:
        if field in _SIMPLE_TEXT_FRAMES:
            return _SIMPLE_TEXT_FRAMES[field]
        return f"TXXX:{custom_name(field)}"

    def _field_keys(self, field: str) -> list[str]:
        """Every frame key that holds `field`, in any ID3 version."""
        if field == "mood":
            return ["TMOO", "TXXX:MOOD"]
        if field == "comment":
            key = self._comment_key()
            return [key] if key else []
        return [self._frame_key(field)]

    def _comment_key(self) -> str | None:
        """The COMM frame that is "the comment": our description in our language, else our
        description in any language (so a comment tagged 'XXX' or 'deu' is not duplicated)."""
        wanted = self.options.comment_desc
        frames = [f for f in self.tags.getall("COMM") if f.desc == wanted]
        for frame in frames:
            if frame.lang == self.options.comment_lang:
                return frame.HashKey
        return frames[0].HashKey if frames else None

    def _comment_target(self) -> tuple[str, str]:
        key = self._comment_key()
        lang = key.split(":")[-1] if key else self.options.comment_lang
        return lang, self.options.comment_desc


HANDLED = {MP3: Id3Format, WAVE: Id3Format, AIFF: Id3Format}


# -- ID3v2.3 conversion ------------------------------------------------------------------


def _prepare_v23(tags: ID3) -> None:
    """update_to_v23(), but keeping what it would drop (see the module docstring)."""
    kept = [frame for key in V24_FRAMES_KEPT_IN_V23 for frame in tags.getall(key)]
    for frame_id, name in V24_TEXT_TO_TXXX.items():
        frames = tags.getall(frame_id)
        texts = [str(t) for frame in frames for t in frame.text]
        if texts and not tags.getall(f"TXXX:{name}"):
            tags.add(TXXX(encoding=UTF8, desc=name, text=texts))
    tags.update_to_v23()
    for frame in kept:
        tags.add(frame)
    tags.delall("ASPI")
    tags.delall("SEEK")


def _frame_fingerprint(frame: Frame) -> str:
    """repr() lists every attribute of a frame (text, encoding, picture bytes...)."""
    return hashlib.sha256(repr(frame).encode("utf-8", "surrogatepass")).hexdigest()


# -- MP3 layout: [ID3v2] audio frames [APEv2] [ID3v1] -------------------------------------


def _tail_tags(f: BinaryIO, file_size: int) -> tuple[int, int]:
    """(length of the APEv2 tag, length of the ID3v1 tag) at the end of the file."""
    id3v1 = 0
    if file_size >= 128:
        f.seek(file_size - 128)
        if f.read(3) == b"TAG":
            id3v1 = 128
    ape = 0
    footer_at = file_size - id3v1 - 32
    if footer_at >= 0:
        f.seek(footer_at)
        footer = f.read(32)
        if footer[:8] == b"APETAGEX":
            size, _, flags = struct.unpack("<III", footer[12:24])
            ape = size + (32 if flags & 0x80000000 else 0)
    return ape, id3v1


def _id3v1_bytes(path: Path) -> bytes:
    with open(path, "rb") as f:
        size = f.seek(0, 2)
        _, id3v1 = _tail_tags(f, size)
        if not id3v1:
            return b""
        f.seek(size - 128)
        return f.read(128)


def _put_back_id3v1(path: Path, original: bytes) -> None:
    """Overwrite the ID3v1 tag mutagen regenerated with the file's original one."""
    with open(path, "r+b") as f:
        f.seek(-128, 2)
        if f.read(3) != b"TAG":
            raise TagError(path, "ID3v1 tag vanished while saving")
        f.seek(-128, 2)
        f.write(original)


def _tail_tag_bytes(path: Path) -> bytes:
    with open(path, "rb") as f:
        size = f.seek(0, 2)
        ape, id3v1 = _tail_tags(f, size)
        f.seek(size - ape - id3v1)
        return f.read()


def _mp3_payload_digest(path: Path) -> str:
    with open(path, "rb") as f:
        size = f.seek(0, 2)
        f.seek(0)
        start = id3v2_size(f.read(10))
        ape, id3v1 = _tail_tags(f, size)
        end = size - ape - id3v1
        if end <= start:
            raise TagError(path, "no audio after the ID3 tag")
        return hash_range(f, start, end)


# -- WAV (RIFF) and AIFF (IFF) layout: a header, then chunks -------------------------------


def _iff_payload_digest(path: Path) -> str:
    """Hash every chunk but the ID3 one: the sound (data/SSND) and its format (fmt/COMM)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        size = f.seek(0, 2)
        f.seek(0)
        header = f.read(12)
        if header[:4] not in (b"RIFF", b"FORM"):
            raise TagError(path, "not a RIFF/AIFF file")
        endian = "<" if header[:4] == b"RIFF" else ">"
        digest.update(header[8:12])
        pos = 12
        while pos + 8 <= size:
            f.seek(pos)
            chunk_id, chunk_size = struct.unpack(endian + "4sI", f.read(8))
            body_end = pos + 8 + chunk_size
            if body_end > size:
                raise TagError(path, f"chunk {chunk_id!r} runs past the end of the file")
            if chunk_id.strip().upper() != b"ID3":
                digest.update(chunk_id + struct.pack("<I", chunk_size))
                digest.update(bytes.fromhex(hash_range(f, pos + 8, body_end)))
            pos = body_end + (chunk_size & 1)
    return digest.hexdigest()
