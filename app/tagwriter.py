"""Read and write our tag fields in audio files, safely, with undo support.

The fields: "genre", "mood", "grouping", "comment" and "custom:NAME", each a list of strings.
How each lives in ID3 / Vorbis comments / MP4 is decided in app/tagformats/.

Writing is two steps so that a caller (the command line, the GUI, the journal) can show and
record a change before making it: `plan_write` reads the current values and computes the new
ones; `apply_change` writes them, and refuses if the field changed in between. `restore` is
the undo: it puts old values back unless someone else changed the field since.

Every write is *safe*: the file is copied to a hidden temporary file in the same folder, the
tags are written into the copy, the copy is re-parsed and checked (field reads back, audio
payload fingerprint unchanged, every other tag unchanged), flushed to disk, and only then
atomically renamed over the original. A process killed at any moment leaves either the old or
the new file, plus at worst a stray temporary file named `.NAME.XXXX.zsl-tmp` (no audio
suffix, so scanners skip it; `cleanup_temp_files` removes old ones).

What a write keeps and changes: permissions (mode bits, and owner where allowed) are copied;
the modification time becomes "now", on purpose, so that backup tools and our incremental scan
see the file changed. Hard links are broken (the file is a new inode), as with every editor
that saves safely; symlinks are followed and the link target is written.

Ordinary failures (read-only file or folder, file locked, corrupt file, verification failed)
come back as a `WriteResult` with a one-line `error`; the file is then untouched.
"""

from __future__ import annotations

import os
import shutil
import stat
import struct
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field as dataclass_field
from pathlib import Path
from typing import Iterator

import mutagen

from app.tagformats import (STANDARD_FIELDS, TagError, TagFormat, WriteOptions, check_field,
                            one_line, open_tags)

try:  # advisory locks exist on POSIX; on Windows the OS itself refuses to replace open files
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["Change", "WriteResult", "WriteOptions", "TagError", "TEMP_SUFFIX", "read_field",
           "read_fields", "merge_values", "plan_write", "apply_change", "restore",
           "cleanup_temp_files", "is_temp_file"]

TEMP_SUFFIX = ".zsl-tmp"
MODES = ("merge", "replace")


@dataclass(frozen=True)
class Change:
    """One planned edit of one field in one file: what the journal records."""

    path: Path
    field: str
    old: list[str]
    new: list[str]

    @property
    def changed(self) -> bool:
        return self.old != self.new


@dataclass(frozen=True)
class WriteResult:
    """What happened to one file. `error` is a one-line reason when nothing was written."""

    path: Path
    field: str
    old: list[str] = dataclass_field(default_factory=list)
    new: list[str] = dataclass_field(default_factory=list)
    written: bool = False
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def message(self) -> str:
        if self.error:
            return f"{self.path}: {self.error}"
        if self.written:
            return f"{self.path}: {self.field} = {'; '.join(self.new) or '(removed)'}"
        return f"{self.path}: {self.field} already {'; '.join(self.new) or 'empty'}, unchanged"


class _Refusal(Exception):
    """An ordinary reason not to write (becomes WriteResult.error, never escapes)."""


# -- reading -------------------------------------------------------------------------------


def read_field(path: str | Path, field: str, options: WriteOptions | None = None) -> list[str]:
    """The field's current values (empty list if absent). TagError if the file is unreadable.

    `options` matters only for ID3v2.3 files, whose multi-values are split on the separator.
    """
    return open_tags(path, options).read(check_field(field))


def read_fields(path: str | Path, options: WriteOptions | None = None) -> dict[str, list[str]]:
    """genre, mood, grouping and comment in one parse (custom fields: use read_field)."""
    tags = open_tags(path, options)
    return {name: tags.read(name) for name in STANDARD_FIELDS}


# -- planning ------------------------------------------------------------------------------


def merge_values(existing: list[str], new: list[str]) -> list[str]:
    """Existing values first, then new ones not already there (case-insensitive), in order."""
    seen: set[str] = set()
    merged = []
    for value in [*existing, *new]:
        key = value.casefold()
        if key not in seen:
            seen.add(key)
            merged.append(value)
    return merged


def plan_write(path: str | Path, field: str, new_tags: list[str], mode: str = "merge",
               options: WriteOptions | None = None) -> Change:
    """The change that writing `new_tags` would make; reads the file, writes nothing.

    merge: keep the existing values and add the new ones. replace: the new ones only.
    Values are stripped; empty values, NUL characters and duplicates are dropped.
    TagError if the file cannot be read.
    """
    check_field(field)
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    tags = open_tags(path, options)
    old = tags.read(field)
    cleaned = merge_values([], _clean(new_tags))
    new = merge_values(old, cleaned) if mode == "merge" else cleaned
    return Change(Path(path), field, old, tags.stored(field, new))


def _clean(values: list[str]) -> list[str]:
    cleaned = (str(v).replace("\x00", "").strip() for v in values)
    return [v for v in cleaned if v]


# -- writing -------------------------------------------------------------------------------


def apply_change(change: Change, options: WriteOptions | None = None) -> WriteResult:
    """Write `change.new`, unless the field no longer holds `change.old` (changed since the
    plan was made: refused, so nobody's edit is overwritten blindly)."""
    return _write(change.path, change.field, change.new, change.old, options)


def restore(path: str | Path, field: str, values: list[str],
            expected_current: list[str] | None,
            options: WriteOptions | None = None) -> WriteResult:
    """Undo: put `values` back into the field, if it still holds `expected_current` (what we
    wrote). If someone else changed it since, refuse with a message. None skips the check."""
    return _write(Path(path), check_field(field), list(values), expected_current, options)


def _write(path: Path, field: str, values: list[str], expected: list[str] | None,
           options: WriteOptions | None) -> WriteResult:
    options = options or WriteOptions()
    old: list[str] = []
    try:
        check_field(field)
        target = Path(os.path.realpath(path))  # write through symlinks, keep the link
        _check_writable(target)
        with _exclusive_lock(target):
            before = os.stat(target)
            original = open_tags(target, options)
            old = original.read(field)
            values = original.stored(field, values)
            if expected is not None and old != list(expected):
                raise _Refusal(f"{field} was changed by someone else since "
                               f"(now {_show(old)}, expected {_show(expected)}); not written")
            if old == values:
                return WriteResult(path, field, old, values, written=False)
            _replace_with_edited_copy(target, before, original, field, values, options)
        return WriteResult(path, field, old, values, written=True)
    except (_Refusal, TagError) as exc:
        reason = exc.reason if isinstance(exc, TagError) else str(exc)
        return WriteResult(path, field, old, values, error=reason)
    except OSError as exc:
        return WriteResult(path, field, old, values, error=_os_reason(exc))


def _replace_with_edited_copy(target: Path, before: os.stat_result, original: TagFormat,
                              field: str, values: list[str], options: WriteOptions) -> None:
    """The safe write itself: edit a copy, prove it good, swap it in atomically."""
    original.check_complete()
    digest = original.audio_digest()
    others = None if original.converts_on_save() else original.others(field)
    temp = _copy_beside(target, before)
    try:
        _edit(temp, field, values, options)
        _verify(temp, field, values, digest, others, options)
        _fsync_file(temp)
        _check_unchanged(target, before)
        os.replace(temp, target)
    except BaseException:
        _remove_quietly(temp)
        raise
    _fsync_folder(target.parent)


def _edit(temp: Path, field: str, values: list[str], options: WriteOptions) -> None:
    copy = open_tags(temp, options)
    copy.set(field, values)
    try:
        copy.save()
    except (mutagen.MutagenError, ValueError, EOFError, struct.error) as exc:
        raise _Refusal(f"could not save {copy.kind} tags: {one_line(exc)}") from None


def _verify(temp: Path, field: str, values: list[str], digest: str, others: object,
            options: WriteOptions) -> None:
    """Re-parse the written copy from disk and check it before it may replace the original."""
    try:
        copy = open_tags(temp, options)
    except TagError as exc:
        raise _Refusal(f"the written copy does not re-parse ({exc.reason}); not written") from None
    got = copy.read(field)
    if got != values:
        raise _Refusal(f"{field} reads back as {_show(got)} instead of {_show(values)}; "
                       f"not written")
    if copy.audio_digest() != digest:
        raise _Refusal("the audio payload would change; not written")
    if others is not None and copy.others(field) != others:
        raise _Refusal("other tags would change; not written")


def _check_writable(path: Path) -> None:
    """Refuse read-only files and folders even when the OS would let us (root ignores mode
    bits): a read-only flag is the user's way of saying "do not touch"."""
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise _Refusal("not a regular file")
    if not st.st_mode & 0o222 or not os.access(path, os.W_OK):
        raise _Refusal("file is read-only; not written")
    folder = path.parent
    if not os.stat(folder).st_mode & 0o222 or not os.access(folder, os.W_OK | os.X_OK):
        raise _Refusal("folder is read-only (a safe write needs a temporary copy beside the "
                       "file); not written")


@contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an advisory lock on the file while we work, and refuse files someone else has
    locked (another tagger mid-write). Two of our own writers also serialise on it."""
    if fcntl is None:  # pragma: no cover - Windows: os.replace fails on files held open
        yield
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _Refusal("file is locked by another program; not written") from None
        yield
    finally:
        os.close(fd)


def _copy_beside(path: Path, st: os.stat_result) -> Path:
    """A hidden copy in the same folder (same file system, so os.replace is atomic)."""
    prefix = "." + path.name[:100] + "."
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=TEMP_SUFFIX, dir=path.parent)
    temp = Path(name)
    try:
        with os.fdopen(fd, "wb") as out, open(path, "rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
        os.chmod(temp, stat.S_IMODE(st.st_mode))
        _copy_owner(temp, st)
    except BaseException:
        _remove_quietly(temp)
        raise
    return temp


def _copy_owner(temp: Path, st: os.stat_result) -> None:
    if not hasattr(os, "chown"):  # pragma: no cover - Windows
        return
    try:
        os.chown(temp, st.st_uid, st.st_gid)
    except OSError:
        pass  # only root may give files away; the file then belongs to whoever tagged it


def _check_unchanged(path: Path, before: os.stat_result) -> None:
    now = os.stat(path)
    if (now.st_ino, now.st_size, now.st_mtime_ns) != (
            before.st_ino, before.st_size, before.st_mtime_ns):
        raise _Refusal("the file was changed by another program while we wrote; not written")


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); not possible on every platform."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _os_reason(exc: OSError) -> str:
    reason = exc.strerror or one_line(exc)
    return f"cannot write: {reason}; not written"


def _show(values: list[str] | None) -> str:
    return "[" + ", ".join(repr(v) for v in values or []) + "]"


# -- leftovers of killed writes ------------------------------------------------------------


def is_temp_file(path: str | Path) -> bool:
    """True for our temporary copies (`.NAME.XXXX.zsl-tmp`): scanners should skip them."""
    name = Path(path).name
    return name.startswith(".") and name.endswith(TEMP_SUFFIX)


def cleanup_temp_files(folder: str | Path, min_age_seconds: float = 3600.0) -> list[Path]:
    """Delete temporary copies left in `folder` by killed writes; returns what was removed.

    Only copies older than `min_age_seconds` go, so a write in progress in another process
    (seconds at most) keeps its copy. The folder itself is not searched recursively.
    """
    removed = []
    cutoff = time.time() - min_age_seconds
    for entry in os.scandir(folder):
        if not is_temp_file(entry.name) or not entry.is_file(follow_symlinks=False):
            continue
        if entry.stat(follow_symlinks=False).st_mtime <= cutoff:
            _remove_quietly(Path(entry.path))
            removed.append(Path(entry.path))
    return removed
