"""Find the audio files under folders: the one walker the scan and `zsl-core embed` share.

Why it is shaped this way: `os.scandir` on *bytes* paths, so file names that are not valid
UTF-8 survive (a library keys tracks by their bytes). Symlinks are followed, but each folder is
entered once (keyed by `(st_dev, st_ino)`), so a link back to a parent cannot loop, and each
file is listed once even when two links reach it. A folder that cannot be read is recorded
with a one-line reason and the walk goes on. Folders are visited depth first in name order,
so every run that names the same folder sees the same list (what `--shard i/n` relies on).
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from zsl_core.audio import AUDIO_EXTENSIONS

__all__ = ["AUDIO_SUFFIXES", "FileEntry", "Walk", "is_audio_name", "os_reason", "walk_audio"]

AUDIO_SUFFIXES: frozenset[bytes] = frozenset(os.fsencode(e) for e in AUDIO_EXTENSIONS)


@dataclass(frozen=True)
class FileEntry:
    """One audio file found by the walk (path as bytes, the index's key)."""

    path: bytes
    size: int
    mtime_ns: int


@dataclass
class Walk:
    """What a walk found. `skipped`: (path, reason) of roots and folders it could not read;
    `roots`: the roots that exist; `unreadable`: folders whose files could not be listed;
    `others`: files the caller asked to hear about (`keep_other`), e.g. temporary copies."""

    files: list[FileEntry] = field(default_factory=list)
    skipped: list[tuple[bytes, str]] = field(default_factory=list)
    roots: list[bytes] = field(default_factory=list)
    unreadable: list[bytes] = field(default_factory=list)
    others: list[bytes] = field(default_factory=list)


def is_audio_name(name: bytes) -> bool:
    """An audio file's name by its extension; macOS resource forks (`._name`) are not audio."""
    if name.startswith(b"._"):
        return False
    return os.path.splitext(name)[1].lower() in AUDIO_SUFFIXES


def os_reason(exc: OSError) -> str:
    """A short reason for a failed file-system call."""
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, FileNotFoundError):
        return "not found"
    return exc.strerror or type(exc).__name__


def walk_audio(
    roots: Iterable[bytes],
    cancel: threading.Event | None = None,
    on_found: Callable[[int], None] | None = None,
    keep_other: Callable[[bytes], bool] | None = None,
) -> Walk:
    """Every audio file under `roots` (absolute bytes paths; files may be given directly).

    `on_found(count)` is called with the number of files found so far, after each folder;
    `cancel` is checked between folders; `keep_other(name)` picks other files to report."""
    result = Walk()
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[tuple[int, int]] = set()
    for root in roots:
        try:
            info = os.stat(root)
        except OSError as exc:
            result.skipped.append((root, os_reason(exc)))
            continue
        result.roots.append(root)
        if stat.S_ISDIR(info.st_mode):
            _walk_dir(root, info, result, seen_dirs, seen_files, cancel, on_found, keep_other)
        elif is_audio_name(os.path.basename(root)):
            _add_file(root, info, result, seen_files)
    return result


def _walk_dir(
    top: bytes,
    top_info: os.stat_result,
    result: Walk,
    seen_dirs: set[tuple[int, int]],
    seen_files: set[tuple[int, int]],
    cancel: threading.Event | None,
    on_found: Callable[[int], None] | None,
    keep_other: Callable[[bytes], bool] | None,
) -> None:
    stack = [(top, top_info)]
    while stack:
        if cancel is not None and cancel.is_set():
            return
        folder, info = stack.pop()
        ident = (info.st_dev, info.st_ino)
        if ident in seen_dirs:
            result.skipped.append((folder, "already scanned through another link (symlink loop?)"))
            continue
        seen_dirs.add(ident)
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            result.skipped.append((folder, os_reason(exc)))
            result.unreadable.append(folder)
            continue
        subdirs = []
        for entry in entries:
            try:
                entry_info = entry.stat()  # follows symlinks
            except OSError:
                continue  # broken link or vanished meanwhile: nothing to scan
            if stat.S_ISDIR(entry_info.st_mode):
                subdirs.append((entry.path, entry_info))
            elif stat.S_ISREG(entry_info.st_mode) and is_audio_name(entry.name):
                _add_file(entry.path, entry_info, result, seen_files)
            elif keep_other is not None and keep_other(entry.name):
                result.others.append(entry.path)
        stack.extend(reversed(subdirs))  # depth first, in name order
        if on_found is not None:
            on_found(len(result.files))


def _add_file(path: bytes, info: os.stat_result, result: Walk, seen: set[tuple[int, int]]) -> None:
    ident = (info.st_dev, info.st_ino)
    if ident in seen:
        return  # the same file through a second link
    seen.add(ident)
    result.files.append(FileEntry(path, info.st_size, info.st_mtime_ns))
