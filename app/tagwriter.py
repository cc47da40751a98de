"""Read and write our tag fields in audio files, safely, with undo support.

The fields: "genre", "mood", "grouping", "comment" and "custom:NAME", each a list of strings.
How each lives in ID3 / Vorbis comments / MP4 is decided in app/tagformats/.

Writing is two steps so that a caller (the command line, the GUI, the journal) can show and
record a change before making it: `plan_write` reads the current values and computes the new
ones; `apply_change` writes them, and refuses if the field changed in between. `restore` is
the undo: it puts old values back unless someone else changed the field since.

Every write is *safe*: the file is copied to a hidden temporary file in the same folder, the
tags are written into the copy, the copy is re-parsed and checked (field reads back, audio
payload fingerprint unchanged, every other tag unchanged as bytes: each other Vorbis comment
entry, ID3 frame and MP4 ilst atom, see app/tagformats/), flushed to disk, and only then
atomically renamed over the original. A process killed at any moment leaves either the old or
the new file, plus at worst a stray temporary file named `.NAME.TOKEN.zsl-tmp` (no audio
suffix, so scanners skip it; NAME is cut to 100 bytes, so long names in any script fit;
`cleanup_temp_files` removes such leftovers, never a copy a live write holds locked).

What a write keeps and changes: permissions (mode bits, and owner where allowed) and
extended attributes (user.*, and ACLs/SELinux labels where the user may set them) are copied;
the modification time becomes "now", on purpose, so that backup tools and our incremental scan
see the file changed. Hard links are broken (the file is a new inode), as with every editor
that saves safely; symlinks are followed and the link target is written.

Ordinary failures (read-only file or folder, file locked, corrupt file, verification failed)
come back as a `WriteResult` with a one-line `error`; the file is then untouched.
"""

from __future__ import annotations

import errno
import hashlib
import mmap
import os
import re
import secrets
import shutil
import stat
import struct
import time
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import BinaryIO

import mutagen

from app.options import WRITE_MODES, WriteMode
from app.tagformats import (
    STANDARD_FIELDS,
    TagError,
    TagFormat,
    WriteOptions,
    check_field,
    one_line,
    open_tags,
)
from zsl_core.tags import join_values

try:  # advisory locks exist on POSIX; on Windows the OS itself refuses to replace open files
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]  # the module or None, checked where used

__all__ = [
    "Change",
    "WriteResult",
    "WriteOptions",
    "TagError",
    "TEMP_SUFFIX",
    "read_field",
    "read_fields",
    "merge_values",
    "plan_write",
    "apply_change",
    "restore",
    "cleanup_temp_files",
    "is_temp_file",
    "copy_xattrs",
    "temp_name_for",
    "UndoData",
    "UNDO_LIMIT",
    "make_undo_data",
    "restore_exact",
    "file_sha256",
    "check_write",
]

TEMP_SUFFIX = ".zsl-tmp"
MODES = WRITE_MODES  # merge, replace (app.options)
# `.NAME.TOKEN.zsl-tmp`: the name (cut to at most _TEMP_NAME_BYTES bytes), a random token
_TEMP_NAME = re.compile(
    rb"\A\..+\.[A-Za-z0-9_]{6,32}" + re.escape(TEMP_SUFFIX.encode()) + rb"\Z", re.DOTALL
)
_TEMP_NAME_BYTES = 100
_NAME_MAX = 255


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
    undo: UndoData | None = None  # for byte-exact undo, when asked for (keep_undo)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def message(self) -> str:
        if self.error:
            return f"{self.path}: {self.error}"
        if self.written:
            return f"{self.path}: {self.field} = {join_values(self.new) or '(removed)'}"
        return f"{self.path}: {self.field} already {join_values(self.new) or 'empty'}, unchanged"


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


def plan_write(
    path: str | Path,
    field: str,
    new_tags: list[str],
    mode: WriteMode = "merge",
    options: WriteOptions | None = None,
) -> Change:
    """The change that writing `new_tags` would make; reads the file, writes nothing.

    merge: keep the existing values and add the new ones. replace: the new ones only.
    Values are stripped; empty values, NUL characters and duplicates are dropped.
    TagError if the file cannot be read.
    """
    check_field(field)
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    tags = open_tags(path, options)
    problem = tags.field_error(field)
    if problem:
        raise TagError(path, problem)
    old = tags.read(field)
    cleaned = merge_values([], _clean(new_tags))
    new = merge_values(old, cleaned) if mode == "merge" else cleaned
    return Change(Path(path), field, old, tags.stored(field, new))


def _clean(values: list[str]) -> list[str]:
    cleaned = (str(v).replace("\x00", "").strip() for v in values)
    return [v for v in cleaned if v]


def check_write(path: str | Path, field: str, options: WriteOptions | None = None) -> str | None:
    """Why a write of `field` into `path` would be refused, as the write would say it, or
    None: the checks of `apply_change` that change nothing (regular file, file and folder
    writable, not locked by another program, tags parse, the format can hold the field, the
    audio not visibly truncated). The preview runs them so that it never promises a write
    that will be refused."""
    try:
        check_field(field)
        target = Path(os.path.realpath(path))
        _check_writable(target)
        with _exclusive_lock(target):
            tags = open_tags(target, options)
            problem = tags.field_error(field)
            if problem:
                return problem
            tags.check_complete()
    except _Refusal as exc:
        return str(exc)
    except TagError as exc:
        return exc.reason
    except OSError as exc:
        return _os_reason(exc)
    return None


# -- writing -------------------------------------------------------------------------------


def apply_change(
    change: Change, options: WriteOptions | None = None, keep_undo: bool = False
) -> WriteResult:
    """Write `change.new`, unless the field no longer holds `change.old` (changed since the
    plan was made: refused, so nobody's edit is overwritten blindly). `keep_undo`: the result
    carries the `UndoData` that `restore_exact` needs to put the file back byte for byte."""
    return _write(change.path, change.field, change.new, change.old, options, keep_undo)


def restore(
    path: str | Path,
    field: str,
    values: list[str],
    expected_current: list[str] | None,
    options: WriteOptions | None = None,
) -> WriteResult:
    """Undo: put `values` back into the field, if it still holds `expected_current` (what we
    wrote). If someone else changed it since, refuse with a message. None skips the check."""
    return _write(Path(path), check_field(field), list(values), expected_current, options)


def _write(
    path: Path,
    field: str,
    values: list[str],
    expected: list[str] | None,
    options: WriteOptions | None,
    keep_undo: bool = False,
) -> WriteResult:
    options = options or WriteOptions()
    old: list[str] = []
    try:
        check_field(field)
        target = Path(os.path.realpath(path))  # write through symlinks, keep the link
        _check_writable(target)
        with _exclusive_lock(target):
            before = os.stat(target)
            original = open_tags(target, options)
            problem = original.field_error(field)
            if problem:
                raise _Refusal(problem)
            old = original.read(field)
            values = original.stored(field, values)
            if expected is not None and old != list(expected):
                raise _Refusal(
                    f"{field} was changed by someone else since "
                    f"(now {_show(old)}, expected {_show(expected)}); not written"
                )
            if old == values:
                return WriteResult(path, field, old, values, written=False)
            undo = _replace_with_edited_copy(
                target, before, original, field, values, options, keep_undo
            )
        return WriteResult(path, field, old, values, written=True, undo=undo)
    except (_Refusal, TagError) as exc:
        reason = exc.reason if isinstance(exc, TagError) else str(exc)
        return WriteResult(path, field, old, values, error=reason)
    except OSError as exc:
        return WriteResult(path, field, old, values, error=_os_reason(exc))


def _replace_with_edited_copy(
    target: Path,
    before: os.stat_result,
    original: TagFormat,
    field: str,
    values: list[str],
    options: WriteOptions,
    keep_undo: bool = False,
) -> UndoData | None:
    """The safe write itself: edit a copy, prove it good, swap it in atomically."""
    original.check_complete()
    digest = original.audio_digest()
    others = None if original.converts_on_save() else original.others(field)
    temp, lock_fd = _copy_beside(target, before)
    try:
        kind = type(original.audio)
        _edit(temp, field, values, options, kind)
        _verify(temp, field, values, digest, others, options, kind)
        _fsync_file(temp)
        undo = make_undo_data(target, temp) if keep_undo else None
        _check_unchanged(target, before)
        os.replace(temp, target)
    except BaseException:
        _remove_quietly(temp)
        raise
    finally:
        os.close(lock_fd)
    _fsync_folder(target.parent)
    return undo


def _edit(
    temp: Path, field: str, values: list[str], options: WriteOptions, kind: type | None = None
) -> None:
    copy = open_tags(temp, options, kind)
    copy.set(field, values)
    try:
        copy.save()
    except (mutagen.MutagenError, ValueError, EOFError, struct.error) as exc:
        raise _Refusal(f"could not save {copy.kind} tags: {one_line(exc)}") from None


def _verify(
    temp: Path,
    field: str,
    values: list[str],
    digest: str,
    others: object,
    options: WriteOptions,
    kind: type | None = None,
) -> None:
    """Re-parse the written copy from disk and check it before it may replace the original."""
    try:
        copy = open_tags(temp, options, kind)
    except TagError as exc:
        raise _Refusal(f"the written copy does not re-parse ({exc.reason}); not written") from None
    got = copy.read(field)
    if got != values:
        raise _Refusal(
            f"{field} reads back as {_show(got)} instead of {_show(values)}; not written"
        )
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
        raise _Refusal(
            "folder is read-only (a safe write needs a temporary copy beside the file); not written"
        )


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


def _copy_beside(path: Path, st: os.stat_result) -> tuple[Path, int]:
    """A hidden copy in the same folder (same file system, so os.replace is atomic), with
    the original's mode, owner (where allowed) and extended attributes. Returns the copy and
    a descriptor holding an advisory lock on it, so `cleanup_temp_files` in another process
    never takes a copy that a live write is using."""
    temp, fd = _create_temp(path)
    try:
        lock_fd = os.open(temp, os.O_RDONLY)
    except BaseException:
        os.close(fd)
        _remove_quietly(temp)
        raise
    try:
        if fcntl is not None:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with os.fdopen(fd, "wb") as out, open(path, "rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
        os.chmod(temp, stat.S_IMODE(st.st_mode))
        _copy_owner(temp, st)
        copy_xattrs(path, temp)
    except BaseException:
        os.close(lock_fd)
        _remove_quietly(temp)
        raise
    return temp, lock_fd


def temp_name_for(name: str | bytes, token: str) -> bytes:
    """Our temporary name for a file called `name`: `.NAME.TOKEN.zsl-tmp` as bytes, the name
    cut to at most 100 *bytes* at a character boundary, so the whole stays far below the
    255-byte NAME_MAX of every file system whatever the script or encoding of the name
    (non-UTF-8 names are kept as their raw bytes)."""
    raw = os.fsencode(name)
    suffix = b"." + token.encode("ascii") + TEMP_SUFFIX.encode("ascii")
    budget = min(_TEMP_NAME_BYTES, _NAME_MAX - 1 - len(suffix))
    cut = raw[:budget]
    if len(raw) > budget:  # do not end inside a UTF-8 sequence
        end = len(cut)
        while end > 0 and cut[end - 1] & 0xC0 == 0x80:
            end -= 1
        if end > 0 and cut[end - 1] >= 0xC0:  # the lead byte of the sequence cut off
            width = 2 if cut[end - 1] < 0xE0 else 3 if cut[end - 1] < 0xF0 else 4
            if len(cut) - (end - 1) < width:
                cut = cut[: end - 1]
    return b"." + cut + suffix


def _create_temp(path: Path) -> tuple[Path, int]:
    folder = os.fsencode(path.parent)
    for _ in range(100):
        name = temp_name_for(path.name, secrets.token_hex(4))
        full = os.path.join(folder, name)
        try:
            fd = os.open(
                full, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600
            )
        except FileExistsError:
            continue
        return Path(os.fsdecode(full)), fd
    raise FileExistsError(errno.EEXIST, "no free temporary file name", str(path.parent))


# errors that mean "this file system or this user cannot hold that attribute": skipped
_XATTR_SKIP = {
    errno.ENOTSUP,
    errno.EOPNOTSUPP,
    errno.EPERM,
    errno.EACCES,
    errno.ENODATA,
    errno.E2BIG,
    errno.ERANGE,
    errno.EINVAL,
    errno.ENOSPC,
}


def copy_xattrs(source: str | Path, target: str | Path) -> list[str]:
    """Copy the extended attributes of `source` to `target` (user.* attributes, and POSIX
    ACLs and SELinux labels where the user may set them); returns the names copied.
    Attributes that the file system or the user's rights do not allow are skipped: a file
    system without xattrs (ENOTSUP) copies nothing and is no error."""
    if not hasattr(os, "listxattr"):  # pragma: no cover - not Linux
        return []
    try:
        names = os.listxattr(source)
    except OSError as exc:
        if exc.errno in _XATTR_SKIP:
            return []
        raise
    copied = []
    for name in names:
        try:
            os.setxattr(target, name, os.getxattr(source, name))
        except OSError as exc:
            if exc.errno in _XATTR_SKIP:
                continue
            raise
        copied.append(name)
    return copied


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
        before.st_ino,
        before.st_size,
        before.st_mtime_ns,
    ):
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


def is_temp_file(path: str | Path | bytes) -> bool:
    """True for our temporary copies (`.NAME.TOKEN.zsl-tmp`): scanners should skip them."""
    name = os.path.basename(os.fsencode(path))
    return _TEMP_NAME.match(name) is not None


def cleanup_temp_files(
    folder_or_paths: str | Path | bytes | Iterable[str | Path | bytes],
    min_age_seconds: float = 60.0,
    recursive: bool = False,
) -> list[Path]:
    """Delete the temporary copies that killed writes left behind; returns what was removed.

    Takes a folder, a file, or an iterable of both: a folder is searched (its sub-folders
    too with `recursive`), a file stands for its folder, unless it is itself one of our
    copies. Only ever deletes files that
    - have our temporary name (`.NAME.TOKEN.zsl-tmp`, see `is_temp_file`),
    - are regular files, not symlinks, owned by this user,
    - are not locked: a live write holds a lock on its copy (from any process),
    - and were last modified more than `min_age_seconds` ago.
    Anything else, and any file that cannot be examined or removed, is left alone; this
    function never raises for a missing or unreadable folder.
    """
    if isinstance(folder_or_paths, (str, bytes, os.PathLike)):
        items: list = [folder_or_paths]
    else:
        items = list(folder_or_paths)
    folders: list[bytes] = []
    candidates: list[bytes] = []
    for item in items:
        raw = os.fsencode(item)
        try:
            st = os.lstat(raw)
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode):
            folders.append(raw)
        elif is_temp_file(raw):
            candidates.append(raw)
        else:
            folders.append(os.path.dirname(raw) or b".")
    seen: set[bytes] = set()
    for folder in folders:
        candidates.extend(_temp_files_in(folder, recursive, seen))
    cutoff = time.time() - min_age_seconds
    removed = []
    for raw in dict.fromkeys(candidates):
        if _remove_if_stale(raw, cutoff):
            removed.append(Path(os.fsdecode(raw)))
    return removed


def _temp_files_in(folder: bytes, recursive: bool, seen: set[bytes]) -> list[bytes]:
    try:
        key = os.path.realpath(folder)
    except OSError:  # pragma: no cover - realpath rarely fails
        key = folder
    if key in seen:
        return []
    seen.add(key)
    found = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                try:
                    if is_temp_file(entry.name) and entry.is_file(follow_symlinks=False):
                        found.append(entry.path)
                    elif recursive and entry.is_dir(follow_symlinks=False):
                        found.extend(_temp_files_in(entry.path, recursive, seen))
                except OSError:
                    continue
    except OSError:
        return found
    return found


def _remove_if_stale(raw: bytes, cutoff: float) -> bool:
    """Remove one candidate if it passes every check of `cleanup_temp_files`."""
    try:
        fd = os.open(raw, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return False
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_mtime > cutoff:
            return False
        if hasattr(os, "getuid") and st.st_uid != os.getuid():
            return False
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # a write in progress holds it
                return False
        now = os.lstat(raw)  # still the same file under that name?
        if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
            return False
        os.unlink(raw)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


# -- byte-exact undo -----------------------------------------------------------------------
#
# A write keeps, for undo, a *delta* from the file it wrote back to the file as it was: a list
# of "copy N bytes of the written file from offset X" and "these literal bytes" operations,
# found by walking both files (common runs, then a short probe of the original looked up a
# little further in the written file). Tag writes change a few small regions (the ID3v2 tag and
# its padding, an ID3v1 tag at the end, the FLAC comment block, Ogg page numbers and checksums,
# MP4 moov offsets), so the literal part stays small; above UNDO_LIMIT bytes no delta is kept
# and undo restores the field's values instead. The SHA-256 of both files is kept with it: undo
# applies the delta only to a file whose bytes are exactly what we wrote, and replaces it only
# with a result whose hash is the original's.

UNDO_LIMIT = 1 << 20
_DELTA_MAGIC = b"ZSD1"
_PROBE = 32
_OP_COPY, _OP_LITERAL = 1, 2


@dataclass(frozen=True)
class UndoData:
    """What byte-exact undo needs for one write: the hashes of the file before and after the
    write and the delta (None when the change was too large to keep)."""

    before_sha256: str
    after_sha256: str
    delta: bytes | None


def _mapped(f: BinaryIO) -> mmap.mmap | bytes:
    size = os.fstat(f.fileno()).st_size
    if size == 0:
        return b""
    return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)


def make_undo_data(original: str | Path, written: str | Path, limit: int | None = None) -> UndoData:
    """The delta that turns `written` back into `original`, with both files' hashes (no delta
    when it would hold more than `limit` bytes, default UNDO_LIMIT)."""
    limit = UNDO_LIMIT if limit is None else limit
    with open(original, "rb") as fo, open(written, "rb") as fn:
        old, new = _mapped(fo), _mapped(fn)
        try:
            before = hashlib.sha256(old).hexdigest()
            after = hashlib.sha256(new).hexdigest()
            ops = _diff(old, new, limit)
            delta = None if ops is None else _encode_delta(ops, len(old))
            if delta is not None and len(delta) > limit:
                delta = None
            return UndoData(before, after, delta)
        finally:
            for m in (old, new):
                if isinstance(m, mmap.mmap):
                    m.close()


def _common_length(a: mmap.mmap | bytes, i: int, b: mmap.mmap | bytes, j: int) -> int:
    """How many bytes a[i:] and b[j:] share from their start."""
    most = min(len(a) - i, len(b) - j)
    done, step = 0, 4096
    while done < most:
        size = min(step, most - done)
        x, y = a[i + done : i + done + size], b[j + done : j + done + size]
        if x == y:
            done += size
            step = min(step * 2, 1 << 22)
            continue
        lo, hi = 0, size  # the first difference lies in [lo, hi)
        while hi - lo > 64:
            mid = (lo + hi) // 2
            if x[lo:mid] == y[lo:mid]:
                lo = mid
            else:
                hi = mid
        while x[lo] == y[lo]:
            lo += 1
        return done + lo
    return done


def _probe_offsets(limit: int) -> list[int]:
    offsets, k = [0, 4, 8, 12, 16, 24], 32
    while k <= limit:
        offsets.append(k)
        k = k * 3 // 2
    return offsets


def _resync(
    a: mmap.mmap | bytes, i: int, b: mmap.mmap | bytes, j: int, limit: int
) -> tuple[int, int] | None:
    """The nearest (skip in a, position in b) where a probe of a[i + skip:] is found in b."""
    offsets = _probe_offsets(limit)
    for window in (4096, 1 << 16, 1 << 20, None):
        for k in offsets:
            if i + k + _PROBE > len(a):
                break
            probe = a[i + k : i + k + _PROBE]
            if window is None:
                pos = b.find(probe, 0)
            else:
                pos = b.find(probe, j, min(len(b), j + k + window + _PROBE))
            if pos >= 0:
                return k, pos
    return None


def _diff(a: mmap.mmap | bytes, b: mmap.mmap | bytes, limit: int) -> list | None:
    """Operations rebuilding `a` from `b`; None when over `limit` literal bytes."""
    ops: list = []
    i = j = literal = 0
    while i < len(a):
        run = _common_length(a, i, b, j) if j < len(b) else 0
        if run:
            ops.append((_OP_COPY, j, run))
            i += run
            j += run
            continue
        hit = _resync(a, i, b, j, limit)
        skip, pos = hit if hit is not None else (len(a) - i, j)
        if skip:
            literal += skip
            if literal > limit:
                return None
            ops.append((_OP_LITERAL, bytes(a[i : i + skip])))
        i += skip
        j = pos
    return ops


def _encode_delta(ops: list, size: int) -> bytes:
    parts = [_DELTA_MAGIC, struct.pack("<Q", size)]
    for op in ops:
        if op[0] == _OP_COPY:
            parts.append(struct.pack("<BQQ", _OP_COPY, op[1], op[2]))
        else:
            parts.append(struct.pack("<BQ", _OP_LITERAL, len(op[1])))
            parts.append(op[1])
    return zlib.compress(b"".join(parts), 6)


def _apply_delta(delta: bytes, current: mmap.mmap | bytes, out: BinaryIO) -> str:
    """Write the original rebuilt from `current` to `out`; returns its SHA-256."""
    raw = zlib.decompress(delta)
    if raw[:4] != _DELTA_MAGIC:
        raise ValueError("not an undo delta")
    (size,) = struct.unpack_from("<Q", raw, 4)
    pos, written = 12, 0
    digest = hashlib.sha256()
    while pos < len(raw):
        code = raw[pos]
        if code == _OP_COPY:
            _, offset, length = struct.unpack_from("<BQQ", raw, pos)
            pos += 17
            if offset + length > len(current):
                raise ValueError("undo delta reaches past the end of the file")
            for start in range(offset, offset + length, 1 << 22):
                chunk = current[start : min(offset + length, start + (1 << 22))]
                digest.update(chunk)
                out.write(chunk)
            written += length
        elif code == _OP_LITERAL:
            _, length = struct.unpack_from("<BQ", raw, pos)
            pos += 9
            chunk = raw[pos : pos + length]
            pos += length
            digest.update(chunk)
            out.write(chunk)
            written += len(chunk)
        else:
            raise ValueError("damaged undo delta")
    if written != size:
        raise ValueError("undo delta does not rebuild the whole file")
    return digest.hexdigest()


def file_sha256(path: str | Path) -> str:
    with open(path, "rb") as f:
        m = _mapped(f)
        try:
            return hashlib.sha256(m).hexdigest()
        finally:
            if isinstance(m, mmap.mmap):
                m.close()


def restore_exact(path: str | Path, undo: UndoData) -> WriteResult:
    """Byte-exact undo: put the file back exactly as it was before the write `undo` describes,
    if it still holds exactly what that write made (error "changed since" otherwise: the
    caller then restores the field's values). Safe like every write: a rebuilt copy beside the
    file, its hash checked against the original's, mode/owner/xattrs copied, atomic replace."""
    path = Path(path)
    if undo.delta is None:
        return WriteResult(path, "", error="no byte-exact undo kept for this write")
    try:
        target = Path(os.path.realpath(path))
        _check_writable(target)
        with _exclusive_lock(target):
            before = os.stat(target)
            with open(target, "rb") as f:
                current = _mapped(f)
                try:
                    if hashlib.sha256(current).hexdigest() != undo.after_sha256:
                        raise _Refusal(
                            "the file was changed since the write; not restored byte for byte"
                        )
                    temp, fd = _create_temp(target)
                    try:
                        with os.fdopen(fd, "wb") as out:
                            try:
                                got = _apply_delta(undo.delta, current, out)
                            except (ValueError, struct.error, zlib.error) as exc:
                                raise _Refusal(f"the undo record is unusable ({exc})") from None
                        if got != undo.before_sha256:
                            raise _Refusal(
                                "the rebuilt file does not match the original; "
                                "not restored byte for byte"
                            )
                        os.chmod(temp, stat.S_IMODE(before.st_mode))
                        _copy_owner(temp, before)
                        copy_xattrs(target, temp)
                        _fsync_file(temp)
                        _check_unchanged(target, before)
                        os.replace(temp, target)
                    except BaseException:
                        _remove_quietly(temp)
                        raise
                finally:
                    if isinstance(current, mmap.mmap):
                        current.close()
        _fsync_folder(target.parent)
        return WriteResult(path, "", written=True)
    except _Refusal as exc:
        return WriteResult(path, "", error=str(exc))
    except OSError as exc:
        return WriteResult(path, "", error=_os_reason(exc))
