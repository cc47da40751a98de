"""The states a track, a scan and a journal row can be in, as the index stores them.

Why enums: these words are compared in many places (the scanner's triage, undo, the failed
list) and a typo in one ("fail" for "failed") is a silent bug. They are `StrEnum`s whose values
are the exact strings in the `tracks.status`, `scans.state` and `changes.status` columns, so
rows written by any earlier version read back as members, and a member is stored (and compares
equal) as its plain string: libraries and journals on users' disks keep working unchanged.
SQL statements keep the words inline; tests/app/test_states.py checks every one of them is a
member's value.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["TrackStatus", "ScanState", "ChangeStatus"]


class TrackStatus(StrEnum):
    """`tracks.status`: how the last scan left a file."""

    NEW = "new"  # the column's default: a row not yet stored by a scan
    OK = "ok"  # read and analysed
    FAILED = "failed"  # could not be read or analysed (`tracks.error` says why)
    GONE = "gone"  # no longer where it was (kept, with its history, in case it comes back)


class ScanState(StrEnum):
    """`scans.state`: a scan's outcome."""

    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"
    ERROR = "error"  # stopped by an exception
    INTERRUPTED = "interrupted"  # its process was killed; marked by the next open (app.db)


class ChangeStatus(StrEnum):
    """`changes.status`: one journal row (a field of one file in a write batch)."""

    PENDING = "pending"  # recorded before the file is written (a kill leaves it pending)
    WRITTEN = "written"
    UNDONE = "undone"
