"""ID3v2 tags: MP3 files, and the ID3 chunk of WAV and AIFF files.

Where our fields live (the conventions of Mp3tag, foobar2000 and MusicBrainz Picard):

    field        ID3v2.4                   ID3v2.3
    genre        TCON, one value per ""    TCON, values joined by the separator
    mood         TMOO (or TXXX:MOOD, or    TXXX:MOOD (v2.3 has no TMOO)
                 both, where the file
                 already keeps it there)
    grouping     TIT1                      TIT1
    comment      COMM (lang, description)  COMM, one free-text value (never split)
    custom:NAME  TXXX:NAME                 TXXX:NAME

Versions: by default every file keeps its own (a v2.3 tag stays v2.3, a v2.4 tag v2.4) and a
file without an ID3v2 tag gets `WriteOptions.id3_new_version`; `WriteOptions.id3_version`
3 or 4 converts on request. Keeping the version, a save *splices* the tag: only our field's
frames are replaced (in their place, in their text encoding where the values fit) and every
other frame is copied byte for byte, in order, with its flags; the tag keeps its size when the
new frames fit in the padding, so the audio does not move. The write's check compares every
other frame as raw bytes. A v2.3 tag unsynchronised as a whole is decoded as mutagen decodes it
and written without the flag (mutagen never writes it). A v2.4 tag unsynchronised as a whole
keeps the flag and every frame's stored bytes; our frame is written unsynchronised with its
own frame flag (see `_unsynchronised_v24`). A tag whose frames could only be
rewritten by mutagen (an extended header, a footer, frames whose sizes do not add up) is refused in one line: mutagen re-encodes every frame, decompresses,
drops frames it cannot parse (invalid UTF-8) and fills in fields from the ID3v1 tag. A file
without an ID3v2 tag gets one holding only our frames, and a conversion leaves out the frames
mutagen filled in from ID3v1.

Converting to v2.3 goes through mutagen's `update_to_v23()`, which converts TDRC -> TYER/TDAT/TIME,
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
import io
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from mutagen._tags import PaddingInfo
from mutagen.aiff import AIFF
from mutagen.id3 import COMM, ID3, TCON, TIT1, TMOO, TXXX, Frame
from mutagen.id3._tags import ID3SaveConfig, save_frame
from mutagen.id3._util import BitPaddedInt, unsynch
from mutagen.mp3 import MP3
from mutagen.wave import WAVE

from app.tagformats import (
    TagError,
    TagFormat,
    WriteOptions,
    check_end_decodes,
    custom_name,
    hash_range,
    id3v2_size,
)
from zsl_core.tag_fields import FIELD_KEYS, STANDARD_FIELDS

LATIN1, UTF16, UTF16BE, UTF8 = 0, 1, 2, 3  # mutagen's Encoding; UTF-8 becomes UTF-16 in v2.3

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

# where our fields live (zsl_core.tag_fields): one frame each, but mood has two and the
# comment is the COMM frame WriteOptions names
_SIMPLE_TEXT_FRAMES = {name: FIELD_KEYS[name].id3[0] for name in ("genre", "grouping")}
_MOOD_KEYS = FIELD_KEYS["mood"].id3  # TMOO (v2.4), TXXX:MOOD (v2.3, and some v2.4 taggers)
# free text: never split on the v2.3 separator ("Recorded live; remastered 2009" is one value)
_FREE_TEXT_FIELDS = frozenset({"comment"})


class Id3Format(TagFormat):
    """Our fields in an ID3v2 tag (MP3, WAV, AIFF)."""

    kind = "ID3"

    def __init__(self, path: Path, audio: Any, options: WriteOptions) -> None:
        super().__init__(path, audio, options)
        found = audio.tags
        #: the ID3v2 version the file holds (3 or 4), None without a v2.3/v2.4 tag
        self.file_version: int | None = None
        if found is not None and tuple(found.version[:2]) in ((2, 3), (2, 4)):
            self.file_version = found.version[1]
        #: whether the file holds an ID3v2 tag of any version (not just ID3v1 or nothing)
        self.had_v2 = found is not None and tuple(found.version[:1]) == (2,)
        if audio.tags is None:
            audio.add_tags()
        self.tags: ID3 = audio.tags
        # What the file held on disk: values written as v2.3 are joined with the separator.
        self.loaded_version = self.tags.version[1] if self.tags.version else 4
        #: the version a save writes: the explicit choice, else the file's own, else the
        #: configured version for new tags
        self.target_version: int = (
            options.id3_version or self.file_version or options.id3_new_version
        )
        # field -> (frame keys it replaces, the new frames): what a save splices in
        self._pending: dict[str, tuple[list[str], list[Frame]]] = {}

    # -- reading and setting fields ------------------------------------------------------

    def read(self, field: str) -> list[str]:
        if field == "genre":
            values = [g for frame in self.tags.getall("TCON") for g in frame.genres]
        elif field == "mood":  # both frames, when a file has both (no value is hidden)
            values = _union(*(self._texts(key) for key in _MOOD_KEYS))
        elif field == "comment":
            key = self._comment_key()
            values = self._texts(key) if key else []
        else:
            values = self._texts(self._frame_key(field))
        if field in _FREE_TEXT_FIELDS:
            return [v for v in values if v != ""]
        values = self._split_v23(values)
        return _union(values) if field == "mood" else values

    def stored(self, field: str, values: list[str]) -> list[str]:
        if self.target_version == 3 and field in _FREE_TEXT_FIELDS and len(values) > 1:
            return [self.options.id3_separator.join(values)]
        return list(values)

    def set(self, field: str, values: list[str]) -> None:
        comment_target = self._comment_target() if field == "comment" else None
        keys = self._field_keys(field)
        used = [key for key in keys if self.tags.getall(key)]
        frames: list[Frame] = []
        if values:
            if field == "genre":
                frames = [TCON(encoding=self._encoding("TCON", values), text=values)]
            elif field == "grouping":
                frames = [TIT1(encoding=self._encoding("TIT1", values), text=values)]
            elif field == "mood":
                frames = self._mood_frames(used, values)
            elif field == "comment":
                assert comment_target is not None  # set above for the comment field
                lang, desc = comment_target
                key = self._comment_key()
                frames = [
                    COMM(
                        encoding=self._encoding(key, values),
                        lang=lang,
                        desc=desc,
                        text=self.stored(field, values),
                    )
                ]
            else:
                key = self._frame_key(field)
                frames = [
                    TXXX(encoding=self._encoding(key, values), desc=custom_name(field), text=values)
                ]
        for key in keys:
            self.tags.delall(key)
        for frame in frames:
            self.tags.add(frame)
        self._pending[field] = (keys, frames)

    def _mood_frames(self, used: list[str], values: list[str]) -> list[Frame]:
        """Mood goes where the file keeps it: TMOO, TXXX:MOOD or both (each player reads
        one of them; dropping either would hide the mood from someone). v2.3 has no TMOO,
        and a new mood takes the version's own frame."""
        if self.target_version == 3:
            used = ["TXXX:MOOD"]
        elif not used:
            used = ["TMOO"]
        return [
            TMOO(encoding=self._encoding(key, values), text=values)
            if key == "TMOO"
            else TXXX(encoding=self._encoding(key, values), desc="MOOD", text=values)
            for key in used
        ]

    def others(self, field: str) -> Any:
        """Every frame except the field's as raw bytes (header and flags included) in their
        order, plus the bytes of ID3v1/APE tags at the end. Raw, not decoded: a frame that
        mutagen would re-encode, drop or fill in from ID3v1 shows up as a difference."""
        skip = set(self._field_keys(field))
        tag = self._tag_on_disk()
        frames = _tag_frames(tag) if tag else []
        if frames is None:  # no frames to walk (a save refuses such a tag): the whole tag
            kept: Any = hashlib.sha256(tag).hexdigest()
        else:
            version, flags = (tag[3], tag[5]) if tag else (4, 0)
            kept = [
                hashlib.sha256(raw).hexdigest()
                for raw in frames
                if raw[:4] not in _KEYED_IDS or _raw_frame_key(raw, version, flags) not in skip
            ]
        tail = _tail_tag_bytes(self.path) if isinstance(self.audio, MP3) else b""
        return kept, hashlib.sha256(tail).hexdigest()

    def _tag_on_disk(self) -> bytes:
        """The file's ID3v2 tag as stored: at the start of an MP3, the ID3 chunk's body in a
        WAV/AIFF; empty without one."""
        if isinstance(self.audio, MP3):
            with open(self.path, "rb") as f:
                size = id3v2_size(f.read(10))
                f.seek(0)
                return f.read(size)
        return _iff_id3_chunk(self.path)

    def converts_on_save(self) -> bool:
        """A version change: on request, or an ID3v2.2 tag (mutagen writes only 2.3/2.4)."""
        if self.had_v2 and self.file_version is None:
            return True
        return self.file_version is not None and self.file_version != self.target_version

    # -- saving --------------------------------------------------------------------------

    def save(self) -> None:
        """Keeping the file's version, the new tag is the old one with only our field's
        frames replaced: every other frame keeps its bytes, its order, its flags, and the
        tag its size when the new frames fit in the padding (see `splice_tag`). A file
        without an ID3v2 tag gets one that holds only our field's frames (mutagen would copy
        the ID3v1 fields into it). A version conversion is written by mutagen. A tag whose
        frames cannot be kept as they are (an extended header, a footer, frames we
        cannot walk) is refused: mutagen would re-encode them,
        drop those it cannot parse and fill in ID3v1 fields."""
        version = self.target_version
        splice = (self.file_version == version or not self.had_v2) and bool(self._pending)
        if not splice and isinstance(self.audio, MP3):
            # a conversion: mutagen filled in frames from the ID3v1 tag that the v2 tag
            # lacks; they are not the file's v2 frames, so they do not go into the new tag
            ours = {key for keys, _ in self._pending.values() for key in keys}
            for key in set(self.tags.keys()) - _v2_keys(self.path) - ours:
                self.tags.delall(key)
        if version == 3:
            _prepare_v23(self.tags)
        if splice:
            # mutagen's frame serialiser, replaced on this one tag object
            self.tags._prepare_data = self._spliced_prepare_data  # type: ignore[method-assign]
        kwargs: dict[str, Any] = {"v2_version": version, "v23_sep": self.options.id3_separator}
        try:
            if not isinstance(self.audio, MP3):
                self.audio.save(**kwargs)
                return
            id3v1 = _id3v1_bytes(self.path)
            self.audio.save(v1=1, **kwargs)  # 1 = update an existing ID3v1, never add one
            if id3v1:
                _put_back_id3v1(self.path, id3v1)
        finally:
            self.tags.__dict__.pop("_prepare_data", None)

    def _spliced_prepare_data(
        self,
        fileobj: BinaryIO,
        start: int,
        available: int,
        v2_version: int,
        v23_sep: str,
        pad_func: Any,
    ) -> bytes:
        """Stands in for mutagen's `ID3._prepare_data` (the bytes of the new tag, which
        mutagen's MP3/WAV/AIFF code then puts in place of the old one)."""
        fileobj.seek(start)
        old = fileobj.read(available)
        fileobj.seek(0, 2)
        trailing = fileobj.tell() - start
        config = ID3SaveConfig(v2_version, v23_sep)
        remove = {key for keys, _ in self._pending.values() for key in keys}
        frames = [frame for _, new in self._pending.values() for frame in new]
        if not self.had_v2:
            old = b""  # a new tag: only our frames (no copy of the ID3v1 fields)
        problem = splice_problem(old, v2_version)
        if problem:
            raise TagError(self.path, f"{problem}; not written")
        data = splice_tag(old, v2_version, remove, frames, config, trailing)
        assert data is not None  # splice_problem found nothing in the way
        return data

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

    def _encoding(self, key: str | None, values: list[str]) -> int:
        """The text encoding of the frame we replace when the new values fit in it (a
        latin-1 v2.3 tag stays latin-1), else UTF-8 (mutagen writes UTF-16 in v2.3)."""
        frames = self.tags.getall(key) if key else []
        if frames:
            encoding = int(frames[0].encoding)
            if encoding == LATIN1:
                try:
                    "".join(values).encode("latin-1")
                    return LATIN1
                except UnicodeEncodeError:
                    return UTF8
            if encoding in (UTF16, UTF16BE, UTF8) and (
                self.target_version == 4 or encoding == UTF16
            ):
                return encoding
        return UTF8

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
            return list(_MOOD_KEYS)
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


def _v2_keys(path: Path) -> set[str]:
    """The frame keys of an MP3's ID3v2 tag alone (mutagen otherwise adds ID3v1 fields)."""
    try:
        return set(ID3(str(path), load_v1=False).keys())
    except Exception:  # no ID3v2 tag (or none mutagen reads): no v2 frames
        return set()


def _union(*lists: list[str]) -> list[str]:
    """The values of several lists in order, each once (exact duplicates dropped)."""
    out: list[str] = []
    for values in lists:
        for value in values:
            if value not in out:
                out.append(value)
    return out


# -- splicing: a new tag from the old one's raw frames ------------------------------------

_TAG_UNSYNC, _TAG_EXTENDED, _TAG_FOOTER = 0x80, 0x40, 0x10


def splice_problem(old: bytes, version: int) -> str | None:
    """Why the tag `old` (empty: none yet) cannot be spliced in `version`, as one line for
    the user; None when it can (see `splice_tag`)."""
    if not old:
        return None
    if len(old) < 10 or old[:3] != b"ID3" or old[3] != version:
        return "the ID3v2 tag is not the version being written"
    flags = old[5]
    if flags & _TAG_EXTENDED:
        return "the ID3v2 tag has an extended header, which rewriting it would lose"
    if flags & _TAG_FOOTER:
        return "the ID3v2 tag has a footer, which rewriting it would lose"
    if _tag_frames(old) is None:
        return "the ID3v2 tag's frames cannot be walked (their sizes do not add up)"
    return None


def _tag_frames(tag: bytes) -> list[bytes] | None:
    """The raw frames of a whole v2.3/v2.4 tag (header included, padding left out). A v2.3
    tag unsynchronised as a whole is decoded first (0xFF 0x00 -> 0xFF), as mutagen decodes it.
    None when the frames cannot be walked or the tag has an extended header or a footer."""
    if len(tag) < 10 or tag[:3] != b"ID3" or tag[3] not in (3, 4):
        return None
    version, flags = tag[3], tag[5]
    if flags & (_TAG_EXTENDED | _TAG_FOOTER):
        return None
    body = tag[10 : id3v2_size(tag[:10])]
    if flags & _TAG_UNSYNC and version == 3:  # v2.4 frames are walked as stored (see below)
        try:
            body = unsynch.decode(body)
        except ValueError:  # not really unsynchronised: mutagen reads it as it is, as we do
            pass
    return _raw_frames(body, 0, len(body), version)


def splice_tag(
    old: bytes, version: int, remove: set[str], new_frames: list[Frame], config: Any, trailing: int
) -> bytes | None:
    """The ID3v2 tag `old` with the frames whose keys are in `remove` taken out and
    `new_frames` put in (each where a frame of its key was, else where the first removed
    frame was, else at the end). Every other frame is copied byte for byte. The tag keeps
    its size when the frames fit (no audio moves); else it grows with mutagen's padding.
    An empty `old` (no tag yet) gives a tag of the new frames alone. A v2.3 tag that is
    unsynchronised as a whole is written without it (its frames decoded, as mutagen does);
    a v2.4 one keeps it, its frames as stored, and our frames are unsynchronised.

    None when `splice_problem` names a reason."""
    if splice_problem(old, version):
        return None
    flags = old[5] if old else 0
    if version == 3:
        flags &= ~_TAG_UNSYNC
    raw = _tag_frames(old) if old else []
    assert raw is not None  # splice_problem walked them
    new_by_key = {frame.HashKey: save_frame(frame, config=config) for frame in new_frames}
    new_by_key = {key: data for key, data in new_by_key.items() if data}
    if version == 4 and flags & _TAG_UNSYNC:
        new_by_key = {key: _unsynchronised_v24(data) for key, data in new_by_key.items()}
    out: list[bytes] = []
    first_removed: int | None = None
    for frame_bytes in raw:
        key = _raw_frame_key(frame_bytes, version, flags) if frame_bytes[:4] in _KEYED_IDS else None
        if key is None or key not in remove:
            out.append(frame_bytes)
            continue
        if first_removed is None:
            first_removed = len(out)
        if key in new_by_key:
            out.append(new_by_key.pop(key))
    rest = list(new_by_key.values())
    at = len(out) if first_removed is None else first_removed
    out[at:at] = rest
    framedata = b"".join(out)
    needed = 10 + len(framedata)
    info = PaddingInfo(len(old) - needed, trailing)
    padding = len(old) - needed if needed <= len(old) else info._get_padding(None)
    size = needed + padding
    minor = old[4] if old else 0
    header = b"ID3" + bytes([version, minor, flags]) + BitPaddedInt.to_str(size - 10, width=4)
    return header + framedata + b"\x00" * padding


# frame ids whose key (HashKey) can belong to one of our fields
_KEYED_IDS = {b"TXXX"} | {
    key[:4].encode() for name in STANDARD_FIELDS for key in FIELD_KEYS[name].id3
}  # TCON, TMOO, TIT1, COMM and TXXX (custom fields, TXXX:MOOD)


def _raw_frames(tag: bytes, start: int, end: int, version: int) -> list[bytes] | None:
    """The frames of a v2.3/v2.4 tag as raw bytes (header included), padding left out.
    v2.4 frame sizes are syncsafe, except in tags of old iTunes versions: both are tried,
    and None is returned unless one reads every frame to the end of the tag exactly."""
    bit_choices = (7, 8) if version == 4 else (8,)
    for bits in bit_choices:
        frames: list[bytes] = []
        pos = start
        ok = True
        while pos + 10 <= end and tag[pos] != 0:
            frame_id = tag[pos : pos + 4]
            if not all(48 <= c <= 57 or 65 <= c <= 90 for c in frame_id):
                ok = False
                break
            size_bytes = tag[pos + 4 : pos + 8]
            if bits == 7 and any(b & 0x80 for b in size_bytes):
                ok = False
                break
            size = int(BitPaddedInt(size_bytes, bits=bits))
            if pos + 10 + size > end:
                ok = False
                break
            frames.append(tag[pos : pos + 10 + size])
            pos += 10 + size
        if ok and not any(tag[pos:end]):  # the rest is padding (zeros)
            return frames
    return None


def _unsynchronised_v24(frame_bytes: bytes) -> bytes:
    """One v2.4 frame (as `save_frame` writes it) with its data unsynchronised and its
    unsynchronisation format flag (0x0002) set, for a tag unsynchronised as a whole.

    Why this, and not clearing the tag-wide flag: in ID3v2.4 unsynchronisation is done per
    frame (frame headers are never unsynchronised; the tag header's flag says that *all*
    frames are; ID3v2.4 structure, sections 3.1, 4.1.2 and 6.1). Clearing the tag flag
    would turn every other frame's stored bytes into different data unless each one got
    its own flag: their bytes would change. Keeping the tag flag keeps them byte for byte,
    and our frame, unsynchronised with its own flag set as well, reads back the same under
    either flag (mutagen decodes a v2.4 frame once when either is set). The data length
    indicator is optional for an unsynchronised frame and is not written. Data that
    unsynchronisation leaves alone (no 0xFF) is written as it is, without the flag: the
    same bytes an undo of such a value must give back."""
    body = unsynch.encode(frame_bytes[10:])
    if body == frame_bytes[10:]:
        return frame_bytes
    flags = int.from_bytes(frame_bytes[8:10], "big") | 0x0002
    return (
        frame_bytes[:4] + BitPaddedInt.to_str(len(body), width=4) + flags.to_bytes(2, "big") + body
    )


def _raw_frame_key(frame_bytes: bytes, version: int, tag_flags: int = 0) -> str | None:
    """mutagen's key for one raw frame ("TXXX:MOOD", "COMM::eng"); None if it does not
    parse (such a frame is not ours and is kept as it is). `tag_flags`: the tag header's,
    so that a frame of a v2.4 tag unsynchronised as a whole is decoded as mutagen does."""
    unsync = tag_flags & _TAG_UNSYNC if version == 4 else 0
    mini = b"ID3" + bytes([version, 0, unsync]) + BitPaddedInt.to_str(len(frame_bytes), width=4)
    try:
        parsed = ID3(io.BytesIO(mini + frame_bytes), translate=False, load_v1=False)
    except Exception:  # a frame mutagen cannot read is simply not one of ours
        return None
    keys = list(parsed.keys())
    return keys[0] if len(keys) == 1 else None


HANDLED: dict[type, type[TagFormat]] = {MP3: Id3Format, WAVE: Id3Format, AIFF: Id3Format}


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


def _iff_chunks(path: Path) -> Iterator[tuple[bytes, int, int]]:
    """(chunk id, body start, body end) of each top-level chunk of a RIFF/AIFF file."""
    with open(path, "rb") as f:
        size = f.seek(0, 2)
        f.seek(0)
        header = f.read(12)
        if header[:4] not in (b"RIFF", b"FORM"):
            raise TagError(path, "not a RIFF/AIFF file")
        endian = "<" if header[:4] == b"RIFF" else ">"
        pos = 12
        while pos + 8 <= size:
            f.seek(pos)
            chunk_id, chunk_size = struct.unpack(endian + "4sI", f.read(8))
            body_end = pos + 8 + chunk_size
            if body_end > size:
                raise TagError(path, f"chunk {chunk_id!r} runs past the end of the file")
            yield chunk_id, pos + 8, body_end
            pos = body_end + (chunk_size & 1)


def _iff_id3_chunk(path: Path) -> bytes:
    """The body of the ID3 chunk of a WAV/AIFF (what mutagen reads as its tag); empty if none."""
    for chunk_id, start, end in _iff_chunks(path):
        if chunk_id.strip().upper() == b"ID3":
            with open(path, "rb") as f:
                f.seek(start)
                return f.read(end - start)
    return b""


def _iff_payload_digest(path: Path) -> str:
    """Hash every chunk but the ID3 one: the sound (data/SSND) and its format (fmt/COMM)."""
    digest = hashlib.sha256()
    chunks = list(_iff_chunks(path))  # checks the header and every chunk's size first
    with open(path, "rb") as f:
        f.seek(8)
        digest.update(f.read(4))  # the form type (WAVE, AIFF, AIFC)
        for chunk_id, start, end in chunks:
            if chunk_id.strip().upper() != b"ID3":
                digest.update(chunk_id + struct.pack("<I", end - start))
                digest.update(bytes.fromhex(hash_range(f, start, end)))
    return digest.hexdigest()
