"""One module per tag format (beets-style): how a field lives in ID3, Vorbis comments, MP4.

Every format module offers a `TagFormat` subclass that reads and sets our fields on a parsed
mutagen file and knows how to fingerprint the file's *audio payload* (the bytes or packets that
make the sound). The fingerprint is what makes writes safe: `app.tagwriter` writes tags into a
copy and only replaces the original when the copy's fingerprint equals the original's.

The fields are the same everywhere: "genre", "mood", "grouping", "comment" and "custom:NAME".
Values are always lists of strings (tags are multi-valued).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import mutagen
import soundfile

from app.options import Id3Version
from zsl_core.errors import ZslError
from zsl_core.tag_fields import CUSTOM_PREFIX, STANDARD_FIELDS

_HASH_BLOCK = 1 << 20


class TagError(ZslError):
    """A file's tags cannot be read or written (not audio, corrupt, unsupported format).

    Same shape as `AudioError`, so callers record `path` and the one-line `reason`.
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


@dataclass(frozen=True)
class WriteOptions:
    """How tags are written where formats leave a choice.

    id3_version: None (default): an ID3v2.3 file stays v2.3 and a v2.4 file stays v2.4; a file
        without an ID3v2 tag (none, ID3v1 only, APE only, an old v2.2 tag) gets
        `id3_new_version`. 4 or 3: every file is written in that version, converting files that
        hold the other one (an explicit choice of the user). A setting's or `--id3`'s words
        ("keep", "v2.4", "v2.3") become these values through `id3_version_choice`.
        v2.4 has real multi-values and TMOO; v2.3 (for old players) has TXXX:MOOD and
        multi-values joined with `id3_separator`.
    id3_new_version: the version of a tag we create (4 or 3) when keeping versions.
    id3_separator: joins multi-values in ID3v2.3, where the standard has no multi-values.
        "; " by default, not mutagen's "/", because "/" occurs inside real genre names
        ("Drum/Bass", "Rock/Pop") and would split them when read back. List fields (genre,
        mood, grouping, custom) of a v2.3 tag are split on the same separator when read; free
        text (the comment) never is.
    comment_lang / comment_desc: which ID3 COMM frame is "the comment" (ISO-639-2 language,
        description). An existing frame with that description in another language is reused.
    flac_id3: an ID3v2 tag in front of a FLAC stream (some taggers add one): "keep" (default,
        byte for byte) or "drop" (removed on the next write; FLAC players ignore it anyway).
    """

    id3_version: Id3Version | None = None
    id3_separator: str = "; "
    comment_lang: str = "eng"
    comment_desc: str = ""
    id3_new_version: Id3Version = 4
    flac_id3: str = "keep"

    def __post_init__(self) -> None:
        object.__setattr__(self, "id3_version", id3_version_choice(self.id3_version))
        new_version = id3_version_choice(self.id3_new_version)
        if new_version is None:
            raise ValueError("id3_new_version must be 3 or 4")
        object.__setattr__(self, "id3_new_version", new_version)
        if not self.id3_separator:
            raise ValueError("id3_separator must not be empty")
        if self.flac_id3 not in ("keep", "drop"):
            raise ValueError(f"flac_id3 must be 'keep' or 'drop', not {self.flac_id3!r}")
        if len(self.comment_lang) != 3:
            raise ValueError(f"comment_lang must be a 3-letter code, not {self.comment_lang!r}")


_ID3_VERSION_NAMES: dict[str, Id3Version | None] = {
    "keep": None,
    "": None,
    "3": 3,
    "4": 4,
    "2.3": 3,
    "2.4": 4,
    "v2.3": 3,
    "v2.4": 4,
    "id3v2.3": 3,
    "id3v2.4": 4,
}


def id3_version_choice(value: object) -> Id3Version | None:
    """An ID3 version setting as 3, 4 or None (keep each file's own version).

    Takes None, "keep", 3, 4, "3", "4", "v2.3", "v2.4" (what settings and `--id3` hold);
    ValueError otherwise."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"id3_version must be 3, 4 or None (keep), not {value!r}")
    if isinstance(value, int):
        if value == 3:
            return 3
        if value == 4:
            return 4
    elif isinstance(value, str) and value.strip().lower() in _ID3_VERSION_NAMES:
        return _ID3_VERSION_NAMES[value.strip().lower()]
    raise ValueError(f"id3_version must be 3, 4 or None (keep), not {value!r}")


def check_field(field: str) -> str:
    """Return `field` if it names a field we write; ValueError otherwise (a caller bug)."""
    if field in STANDARD_FIELDS:
        return field
    if field.startswith(CUSTOM_PREFIX) and custom_name(field).strip():
        name = custom_name(field)
        if "=" in name or "\x00" in name or "~" in name:
            raise ValueError(f"custom field name must not contain '=', '~' or NUL: {field!r}")
        return field
    raise ValueError(
        f"unknown field {field!r}; use one of {', '.join(STANDARD_FIELDS)} or custom:NAME"
    )


def custom_name(field: str) -> str:
    """ "custom:Energy" -> "Energy"."""
    return field[len(CUSTOM_PREFIX) :]


class TagFormat(ABC):
    """Our fields on one parsed file. Subclasses wrap one mutagen file type each."""

    #: short name of the tag format, shown in messages ("ID3", "Vorbis comments", "MP4")
    kind: str = ""

    def __init__(self, path: Path, audio: mutagen.FileType, options: WriteOptions) -> None:
        self.path = path
        self.audio = audio
        self.options = options

    @abstractmethod
    def read(self, field: str) -> list[str]:
        """The field's values as the file holds them now (empty list if absent)."""

    @abstractmethod
    def set(self, field: str, values: list[str]) -> None:
        """Replace the field's values in memory (an empty list removes the field)."""

    def field_error(self, field: str) -> str | None:
        """Why this format cannot hold `field` (a custom name its keys cannot spell), as one
        line for the user; None when it can. Checked before any write, and by the preview."""
        return None

    def stored(self, field: str, values: list[str]) -> list[str]:
        """What `read(field)` will give after `set(field, values)` and a save: the values as
        this file can hold them (ID3v2.3 free text holds one string). Plans use it, so the
        preview and the journal show what the file will really contain."""
        return list(values)

    def comments(self) -> dict[str, list[str]] | None:
        """Vorbis comments only: every comment by lower-case name, decoded as `read` decodes
        its fields, for the display of other tags (title, album...); None elsewhere."""
        return None

    @abstractmethod
    def save(self) -> None:
        """Write the in-memory tags back into `self.path`."""

    @abstractmethod
    def others(self, field: str) -> Any:
        """A comparable snapshot of every tag except `field`: must not change when we write."""

    def converts_on_save(self) -> bool:
        """True when saving changes other tags on purpose (ID3 version change), so the
        `others` snapshot is not expected to survive a write unchanged."""
        return False

    @abstractmethod
    def audio_digest(self) -> str:
        """Fingerprint of the audio payload: equal before and after any tag write."""

    def check_complete(self) -> None:  # noqa: B027 - an optional hook, not abstract: no-op
        """TagError if the audio is visibly truncated. Formats whose structure already shows
        truncation to mutagen (Ogg pages, RIFF/IFF chunks, MP4 atoms) need nothing more."""


def open_tags(
    path: str | Path, options: WriteOptions | None = None, kind: type | None = None
) -> TagFormat:
    """Parse `path` and wrap it in the TagFormat for its container; TagError if we cannot.

    The container is detected from the content (mutagen's scoring: magic bytes first, then
    the suffix), so a FLAC file named .mp3 is still handled as FLAC, and a FLAC stream behind
    an ID3v2 tag is FLAC whatever its name. `kind` (a mutagen file class) skips detection:
    the tag writer opens its temporary copy, which has no audio suffix, as the original's kind.
    """
    from mutagen.flac import FLAC  # mutagen's format modules: loaded on the first file opened

    from app.tagformats import id3, mp4, vorbis  # the format modules import this package

    path = Path(path)
    options = options or WriteOptions()
    handlers = {**id3.HANDLED, **vorbis.HANDLED, **mp4.HANDLED}
    _check_regular_file(path)
    if kind is None and _is_flac_behind_id3(path):
        kind = FLAC
    if kind is not None and kind not in handlers:
        raise ValueError(f"not a file kind we write: {kind!r}")
    try:
        audio = (
            kind(str(path)) if kind is not None else mutagen.File(str(path), options=list(handlers))
        )
    except mutagen.MutagenError as exc:
        raise TagError(path, f"cannot read tags: {one_line(exc)}") from None
    except (ValueError, EOFError, IndexError, KeyError, UnicodeDecodeError) as exc:
        raise TagError(path, f"malformed tags: {one_line(exc)}") from None
    if audio is None:
        raise TagError(path, _unsupported_reason(path))
    return handlers[type(audio)](path, audio, options)


def _is_flac_behind_id3(path: Path) -> bool:
    """An ID3v2 tag followed by "fLaC": mutagen would score such a file as MP3."""
    try:
        with open(path, "rb") as f:
            size = id3v2_size(f.read(10))
            if not size:
                return False
            f.seek(size)
            return f.read(4) == b"fLaC"
    except OSError:
        return False


def one_line(exc: BaseException) -> str:
    """An exception as one short line (mutagen messages sometimes span lines)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]


def _check_regular_file(path: Path) -> None:
    try:
        if not path.is_file():
            raise TagError(path, "not a regular file" if path.exists() else "no such file")
        if path.stat().st_size == 0:
            raise TagError(path, "empty file (0 bytes)")
    except OSError as exc:
        raise TagError(path, f"cannot read: {exc.strerror or one_line(exc)}") from None


def _unsupported_reason(path: Path) -> str:
    """Name the format when mutagen knows it but we do not write it (WMA, raw AAC...)."""
    try:
        other = mutagen.File(str(path))
    except Exception:  # any parse failure just means "not a format we know"
        other = None
    if other is not None:
        return f"writing tags to {type(other).__name__} files is not supported"
    return "not a supported audio file (unknown or corrupt content)"


def id3v2_size(head: bytes) -> int:
    """Size in bytes of an ID3v2 tag starting at `head` (0 when there is none)."""
    if len(head) < 10 or head[:3] != b"ID3":
        return 0
    size = 0
    for byte in head[6:10]:
        size = (size << 7) | (byte & 0x7F)
    footer = 10 if head[5] & 0x10 else 0
    return 10 + size + footer


def hash_range(f: BinaryIO, start: int, end: int) -> str:
    """SHA-256 of bytes [start, end) of an open file, read in blocks (long files stay out of
    memory)."""
    digest = hashlib.sha256()
    f.seek(start)
    remaining = end - start
    while remaining > 0:
        block = f.read(min(_HASH_BLOCK, remaining))
        if not block:
            break
        digest.update(block)
        remaining -= len(block)
    return digest.hexdigest()


def check_end_decodes(path: Path, frames: int = 4096) -> None:
    """Truncation check for MP3 and FLAC, whose tags parse fine when the audio is cut short:
    seek to the last `frames` samples the header declares and decode them. A seek and a
    few milliseconds of decoding, so it costs nothing next to the copy a write makes."""
    try:  # a file object, not a name: libsndfile cannot take names that are not valid UTF-8
        with open(path, "rb") as raw, soundfile.SoundFile(raw) as f, _native_stderr_silenced():
            want = min(f.frames, frames)
            if want <= 0:
                raise TagError(path, "no audio frames")
            f.seek(f.frames - want)
            got = len(f.read(want, dtype="float32"))
    except (RuntimeError, OSError, ValueError, TypeError):  # LibsndfileError is a RuntimeError
        raise TagError(path, "audio does not decode to its end (truncated or corrupt)") from None
    if got < want:
        raise TagError(path, "truncated: the audio ends before the length its header declares")


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Mute file descriptor 2 for a moment: after a seek into an MP3, libmpg123 (inside libsndfile)
    prints "part2_3_length ... too large" for the first frame, whose bit reservoir lies before the
    seek point. The frame still decodes; the line is noise on every tag write. Python's own
    stderr is flushed first, and nothing is muted if the descriptor cannot be duplicated."""
    try:
        sys.stderr.flush()
    except (AttributeError, OSError, ValueError):
        pass
    opened: list[int] = []
    try:
        opened.append(os.dup(2))
        opened.append(os.open(os.devnull, os.O_WRONLY))
        os.dup2(opened[1], 2)
    except OSError:
        for fd in opened:
            os.close(fd)
        opened = []
    try:
        yield
    finally:
        if opened:
            os.dup2(opened[0], 2)
            for fd in opened:
                os.close(fd)
