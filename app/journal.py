"""Tag writes as batches in the index, so every write can be shown first and undone later.

A *batch* is one user action ("write the top 3 genres to these 200 files"): one `batches` row
and one `changes` row per file that was written, holding the field's old and new values (JSON
lists) and the time. `undo` reads those rows back and puts the old values in place through
`app.tagwriter.restore`, which refuses a file whose field no longer holds what we wrote (someone
else edited it since: their edit wins, and the file is reported).

Byte-exact undo: each written row also keeps the file's SHA-256 before and after the write and
a delta back to the original bytes (`app.tagwriter.UndoData`, at most 1 MB; larger changes
keep none). A file that still holds exactly what we wrote is put back byte for byte; else the
field's values are restored and the result says so. Rows name their track: undo finds the file
where the scan last saw it (renames and moves keep the track id), else at the written path.

Crash safety: a file's `changes` row is inserted as `pending` *before* its write and becomes
`written` after it, so a process killed mid-batch leaves a journal that still covers every file
it may have touched; `undo` handles a pending row whose file still holds the old values as
already restored. Rows of files that were not written (unchanged, failed) are removed again.

The write options (ID3 version and separator) are stored with each written row, because undo
must read and write the file the same way: reading an ID3v2.3 file with another separator
splits values differently, and writing it as v2.4 would convert the file.

Every function takes a `library` (an app.library.Library): the Protocols below say which part
of it each uses (`JournalLibrary`: `.conn`, `.track(id)`, `.refresh(ids)`; `TrackPredictions`
for proposing), so a test can stand one up over a bare index.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Any, Protocol

from app import db
from app.options import WRITE_MODES, WriteMode
from app.routing import DEFAULT_ROUTES, Routes, pick_routed, route_tags
from app.states import ChangeStatus
from app.tagwriter import (
    Change,
    TagError,
    UndoData,
    WriteOptions,
    apply_change,
    check_write,
    cleanup_temp_files,
    plan_write,
    read_field,
    restore,
    restore_exact,
)
from zsl_core.errors import ZslError
from zsl_core.tagger import Prediction
from zsl_core.tags import INCLUDE, Include

__all__ = [
    "JournalError",
    "PlannedChange",
    "BatchResult",
    "UndoResult",
    "BatchInfo",
    "INCLUDE",
    "propose",
    "plan_routed",
    "plan_batch",
    "plan_values",
    "write_batch",
    "undo",
    "history",
    "TrackFile",
    "JournalLibrary",
    "TrackPredictions",
]


class TrackFile(Protocol):
    """What the journal reads of a track row: where its file is (`Library.track`)."""

    @property
    def path(self) -> Path: ...
    @property
    def display_path(self) -> str: ...


class JournalLibrary(Protocol):
    """The part of a Library that planning, writing, undo and history use."""

    @property
    def conn(self) -> sqlite3.Connection: ...
    def track(self, track_id: int) -> TrackFile: ...
    def refresh(self, track_ids: Sequence[int]) -> None: ...


class _Prior(Protocol):
    def tag_prior(self) -> dict[str, float] | None: ...


class TrackPredictions(_Prior, Protocol):
    """What `propose` reads: a track's stored prediction and the library's average track
    (`tag_prior`, None when it knows none)."""

    def prediction(self, track_id: int, top_k: int = ...) -> Prediction | None: ...


MODES = WRITE_MODES  # merge, replace (app.options)


class JournalError(ZslError):
    """Nothing to undo, an unknown batch, bad arguments: one line for the user."""


@dataclass
class PlannedChange:
    """What writing would do to one file: shown by --dry-run and the GUI before writing."""

    track_id: int
    display_path: str
    field: str
    old: list[str] = dataclass_field(default_factory=list)
    new: list[str] = dataclass_field(default_factory=list)
    changed: bool = False
    error: str | None = None
    path: Path | None = None  # the file itself (display_path is only printable)
    mode: WriteMode = "merge"


@dataclass
class BatchResult:
    """batch_id is None when nothing was written (no batch is kept then)."""

    batch_id: int | None
    written: int = 0  # fields written (a file may get a genre and a mood)
    unchanged: int = 0
    failed: list[tuple[str, str]] = dataclass_field(default_factory=list)
    files: set[int] = dataclass_field(default_factory=set)  # tracks with at least one field written


@dataclass
class UndoResult:
    """restored: files put back (exact of them byte for byte); inexact: files whose field
    values were put back but not the file's exact bytes, with why (changed since the write,
    or no byte-exact record kept); refused: files not restored at all; missing: how many of
    those could not be found (moved outside the library, deleted). A batch none of whose files
    was found stays "not undone", so it can be undone after a rescan finds them."""

    batch_id: int
    restored: int = 0
    refused: list[tuple[str, str]] = dataclass_field(default_factory=list)
    exact: int = 0
    inexact: list[tuple[str, str]] = dataclass_field(default_factory=list)
    missing: int = 0
    marked_undone: bool = True
    elsewhere: int = 0  # rows another undo of this batch, running at the same time, handled


@dataclass
class BatchInfo:
    batch_id: int
    time: float
    description: str
    field: str
    n_files: int
    undone: bool
    mode: str = "merge"  # the batch's modes joined ("merge", or "merge, replace")


# -- choosing tags ---------------------------------------------------------------------------


def propose(
    library: TrackPredictions,
    track_id: int,
    top_k: int = 3,
    min_score: float | None = None,
    include: Include = "both",
    routes: Routes | None = None,
    field: str | None = None,
) -> dict[str, list[str]]:
    """The values to write for one track, per field, from its stored prediction (no audio read).

    The tags are picked by the one rule (`Prediction.pick`: seen and new words on one
    confidence scale, `min_score` the lowest confidence kept, speech gets no genre) and sent to
    their kind's field by `routes` (default: genres to genre, moods to mood, nothing else), or
    all to `field` when one is given. At most `top_k` values per field. A track without an
    analysis result gets nothing.
    """
    if include not in INCLUDE:
        raise ValueError(f"include must be one of {INCLUDE}, not {include!r}")
    if top_k <= 0:
        return {}
    prediction = library.prediction(track_id, top_k=max(40, 8 * top_k))
    return _pick_routed(library, prediction, top_k, min_score, include, routes, field)


def _pick_routed(
    library: _Prior,
    prediction: Prediction | None,
    top_k: int,
    min_score: float | None,
    include: Include,
    routes: Routes | None,
    field: str | None,
) -> dict[str, list[str]]:
    """`pick_routed` against the library's prior, then `route_tags`."""
    if prediction is None:
        return {}
    routes = DEFAULT_ROUTES if routes is None else routes
    picked = pick_routed(
        prediction,
        top_k,
        routes,
        field,
        prior=library.tag_prior(),  # the library's average track, when it knows one
        min_confidence=min_score,
        include=include,
    )
    return route_tags(picked, routes, field=field)


# -- planning --------------------------------------------------------------------------------


def plan_routed(
    library: JournalLibrary,
    proposals: dict[int, dict[str, list[str]]],
    mode: WriteMode = "merge",
    options: WriteOptions | None = None,
    fields: Sequence[str] | None = None,
) -> list[PlannedChange]:
    """`plan_batch` for values routed to several fields: one planned change per file and field
    it has values for (only `fields`, when given), in track order."""
    planned = []
    for track_id, values in proposals.items():
        for field, tags in values.items():
            if tags and (fields is None or field in fields):
                planned += plan_batch(library, [track_id], field, {track_id: tags}, mode, options)
    return planned


def plan_batch(
    library: JournalLibrary,
    track_ids: Sequence[int],
    field: str,
    tags: dict[int, list[str]],
    mode: WriteMode = "merge",
    options: WriteOptions | None = None,
) -> list[PlannedChange]:
    """Read each file's current values and compute the new ones; writes nothing.

    An empty tag list never clears a field (not even with mode="replace"): a track the model
    proposed nothing for keeps its values. Unreadable files come back with `error` set.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    planned = []
    for track_id in track_ids:
        try:
            track = library.track(track_id)
        except (LookupError, ZslError):
            planned.append(
                PlannedChange(
                    int(track_id),
                    f"track {track_id}",
                    field,
                    mode=mode,
                    error="not in the library index",
                )
            )
            continue
        item = PlannedChange(
            int(track_id), track.display_path, field, path=Path(track.path), mode=mode
        )
        new_tags = list(tags.get(track_id, []))
        try:
            if new_tags:
                change = plan_write(track.path, field, new_tags, mode, options)
            else:
                current = read_field(track.path, field, options)
                change = Change(Path(track.path), field, current, list(current))
        except TagError as exc:
            item.error = exc.reason
        else:
            item.old, item.new, item.changed = list(change.old), list(change.new), change.changed
            if item.changed:  # the write's own checks that change nothing (read-only, locked...)
                item.error = check_write(track.path, field, options)
        planned.append(item)
    return planned


def plan_values(
    library: JournalLibrary,
    track_id: int,
    field: str,
    values_of: Callable[[list[str]], list[str]],
    options: WriteOptions | None = None,
) -> PlannedChange:
    """The change that gives one file's field the values `values_of(current values)`, as
    the file will hold them; writes nothing. Unlike `plan_batch` an empty result does clear
    the field: the person removed its values (app.edits). Errors come back in `error`."""
    try:
        track = library.track(track_id)
    except (LookupError, ZslError):
        return PlannedChange(
            int(track_id),
            f"track {track_id}",
            field,
            mode="replace",
            error="not in the library index",
        )
    item = PlannedChange(
        int(track_id), track.display_path, field, path=Path(track.path), mode="replace"
    )
    try:
        current = read_field(track.path, field, options)
        change = plan_write(track.path, field, values_of(list(current)), "replace", options)
        if list(change.old) != list(current):  # changed between the two reads: plan on the newer
            change = plan_write(track.path, field, values_of(list(change.old)), "replace", options)
    except TagError as exc:
        item.error = exc.reason
        return item
    item.old, item.new, item.changed = list(change.old), list(change.new), change.changed
    if not any(v.casefold() not in {n.casefold() for n in item.new} for v in item.old):
        item.mode = "merge"  # only adds values (what the history calls a merge)
    if item.changed:
        item.error = check_write(track.path, field, options)
    return item


# -- writing ---------------------------------------------------------------------------------


def write_batch(
    library: JournalLibrary,
    planned: Sequence[PlannedChange],
    description: str,
    options: WriteOptions | None = None,
) -> BatchResult:
    """Write the planned changes safely and journal them as one batch.

    A file whose field changed since it was planned is refused by the tag writer and reported
    in `failed`, as are unreadable or read-only files; the other files are still written.
    """
    options = options or WriteOptions()
    conn = library.conn
    result = BatchResult(None)
    # Copies an interrupted earlier write left beside these files are removed first.
    cleanup_temp_files([Path(item.path) for item in planned if item.path is not None])
    todo = []
    for item in planned:
        if item.error:
            result.failed.append((item.display_path, item.error))
        elif not item.changed:
            result.unchanged += 1
        else:
            todo.append(item)
    if not todo:
        return result
    fields = sorted({item.field for item in todo})
    modes = sorted({item.mode for item in todo})
    cur = conn.execute(
        "INSERT INTO batches (created_at, description, field, mode) VALUES (?, ?, ?, ?)",
        (time.time(), description, ", ".join(fields), ", ".join(modes)),
    )
    batch_id = db.inserted_id(cur)
    options_json = json.dumps(asdict(options))
    written_ids = []
    for item in todo:
        path = Path(item.path) if item.path is not None else Path(library.track(item.track_id).path)
        row = conn.execute(
            "INSERT INTO changes (batch_id, track_id, path, field, old_values, new_values, status,"
            " message, changed_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
            (
                batch_id,
                item.track_id,
                db.path_key(path),
                item.field,
                json.dumps(item.old),
                json.dumps(item.new),
                options_json,
                time.time(),
            ),
        ).lastrowid
        outcome = apply_change(
            Change(path, item.field, list(item.old), list(item.new)), options, keep_undo=True
        )
        if outcome.written:
            undo_data = outcome.undo
            conn.execute(
                "UPDATE changes SET status = 'written', changed_at = ?, undo_before = ?,"
                " undo_after = ?, undo_delta = ? WHERE id = ?",
                (
                    time.time(),
                    undo_data.before_sha256 if undo_data else None,
                    undo_data.after_sha256 if undo_data else None,
                    undo_data.delta if undo_data else None,
                    row,
                ),
            )
            result.written += 1
            result.files.add(item.track_id)
            written_ids.append(item.track_id)
        else:
            conn.execute("DELETE FROM changes WHERE id = ?", (row,))
            if outcome.error:
                result.failed.append((item.display_path, outcome.error))
            else:
                result.unchanged += 1
    if written_ids:
        result.batch_id = batch_id
        library.refresh(written_ids)
    else:
        conn.execute("DELETE FROM batches WHERE id = ?", (batch_id,))
    return result


# -- undo ------------------------------------------------------------------------------------


def undo(
    library: JournalLibrary, batch_id: int | None = None, options: WriteOptions | None = None
) -> UndoResult:
    """Put back a batch (default: the latest one not undone yet).

    Each file is found through its track (`tracks.path`, which the scan keeps current for
    renamed and moved files), else at the path it had when written. A file that holds exactly
    the bytes the write made is put back byte for byte (`tagwriter.restore_exact`), the writes
    of one batch to one file undone newest first, so it ends exactly as before the batch.
    Otherwise (something else changed the file since, or no byte-exact record) the field's old
    values are put back and the file is listed in `inexact`; a file whose field was changed
    since by someone else is refused and listed. The batch is marked undone unless none of its
    files could be found. Undoing an undone batch again (by its number) retries only the files
    refused the first time. `options` overrides the write options recorded with the batch.

    Two undos of one batch at once (two processes, or the GUI and the command line) share the
    work: each row is claimed and its file put back inside one `BEGIN IMMEDIATE` transaction,
    so every file is restored by exactly one of them; a row the other one handled meanwhile is
    counted in `elsewhere`, not restored twice.
    """
    conn = library.conn
    if batch_id is None:
        row = conn.execute(
            "SELECT id FROM batches WHERE undone_at IS NULL ORDER BY id DESC LIMIT 1"
        ).fetchone()
        if row is None:
            raise JournalError("nothing to undo: every batch of tag writes is already undone")
        batch_id = int(row[0])
    batch = conn.execute("SELECT undone_at FROM batches WHERE id = ?", (batch_id,)).fetchone()
    if batch is None:
        raise JournalError(f"no batch {batch_id} in the history")
    rows = conn.execute(
        "SELECT id, track_id, path, field, old_values, new_values, status, message, undo_before,"
        " undo_after, undo_delta FROM changes"
        " WHERE batch_id = ? AND status IN ('written', 'pending') ORDER BY id DESC",
        (batch_id,),
    ).fetchall()
    if batch[0] is not None and not rows:
        raise JournalError(f"batch {batch_id} is already undone")
    result = UndoResult(batch_id)
    restored_ids = []
    handled = 0
    for (
        change_id,
        track_id,
        key,
        field,
        old_json,
        new_json,
        status,
        message,
        before,
        after,
        delta,
    ) in rows:
        # Claim the row and put its file back under one write lock (BEGIN IMMEDIATE): another
        # undo of this batch (a second process, the GUI and the CLI) waits here, then finds the
        # row taken and leaves it, so each row is restored by exactly one undo and counted once.
        # A process killed inside rolls back to a row still 'written' whose file may already be
        # back: the next undo finds the old values there and marks it, as for a pending row.
        with db.transaction(conn):
            now = conn.execute(
                "SELECT status, message FROM changes WHERE id = ?", (change_id,)
            ).fetchone()
            if now is None or tuple(now) != (status, message):
                result.elsewhere += 1  # undone (or refused) by another undo meanwhile
                continue
            handled += 1
            restored = _undo_row(
                library,
                result,
                change_id,
                track_id,
                bytes(key),
                field,
                json.loads(old_json),
                json.loads(new_json),
                status,
                options or _options_from(message),
                before,
                after,
                delta,
            )
        if restored and track_id is not None:
            restored_ids.append(int(track_id))
    if rows and not handled:
        pass  # every row was another undo's: that one marks the batch (or keeps it undoable)
    elif handled and result.missing == handled:
        result.marked_undone = False  # nothing found: keep it undoable after a rescan
    else:
        conn.execute(
            "UPDATE batches SET undone_at = COALESCE(undone_at, ?) WHERE id = ?",
            (time.time(), batch_id),
        )
    if restored_ids:
        library.refresh(sorted(set(restored_ids)))
    return result


def _undo_row(
    library: JournalLibrary,
    result: UndoResult,
    change_id: int,
    track_id: int | None,
    key: bytes,
    field: str,
    old: list[str],
    new: list[str],
    status: str,
    use: WriteOptions,
    before: str | None,
    after: str | None,
    delta: Any,
) -> bool:
    """Put one journal row's file back (byte-exact when possible) and mark the row; True when
    the file now holds the old values. Runs inside the undo's transaction for that row."""
    conn = library.conn
    path, shown = _current_path(library, track_id, key)
    if not os.path.lexists(path):
        result.missing += 1
        reason = (
            "file not found (moved outside the library or deleted; scan its new folder, "
            "then undo again); not restored"
        )
        result.refused.append((shown, reason))
        _mark_refused(conn, change_id, use, reason)
        return False
    exact_error = None
    if status == ChangeStatus.WRITTEN and delta is not None and before and after:
        outcome = restore_exact(path, UndoData(before, after, bytes(delta)))
        if outcome.written:
            _mark_undone(conn, change_id)
            result.restored += 1
            result.exact += 1
            return True
        exact_error = outcome.error
    elif status == ChangeStatus.WRITTEN:
        exact_error = "no byte-exact record of this write was kept"
    outcome = restore(path, field, old, expected_current=new, options=use)
    error = outcome.error
    if error and _holds(path, field, old, use):
        error = None  # already back to the old values (a pending row, or put back by hand)
    if error:
        result.refused.append((shown, error))
        _mark_refused(conn, change_id, use, error)
        return False
    _mark_undone(conn, change_id)
    result.restored += 1
    if exact_error and outcome.written:
        result.inexact.append(
            (shown, f"{field} values restored, not the exact bytes ({exact_error})")
        )
    return True


def _mark_undone(conn: Any, change_id: int) -> None:
    conn.execute("UPDATE changes SET status = 'undone' WHERE id = ?", (change_id,))


def _mark_refused(conn: Any, change_id: int, options: WriteOptions, error: str) -> None:
    conn.execute(
        "UPDATE changes SET status = 'written', message = ? WHERE id = ?",
        (json.dumps({**asdict(options), "undo_refused": error}), change_id),
    )


def _current_path(library: JournalLibrary, track_id: int | None, key: bytes) -> tuple[Path, str]:
    """Where a journaled file is now: its track's path (kept current by the scan when the file
    was renamed or moved) if that file exists, else the path it had when written."""
    stored = db.path_from_key(key)
    if track_id is not None:
        try:
            track = library.track(int(track_id))
        except (LookupError, ZslError):
            track = None
        if track is not None and os.path.lexists(track.path):
            return Path(track.path), track.display_path
    return stored, db.display(key)


def _options_from(message: str | None) -> WriteOptions:
    """The write options recorded with a change row (defaults if absent or unreadable)."""
    try:
        stored = json.loads(message or "{}")
        known = {
            k: stored[k]
            for k in (
                "id3_version",
                "id3_separator",
                "comment_lang",
                "comment_desc",
                "id3_new_version",
                "flac_id3",
            )
            if k in stored
        }
        return WriteOptions(**known)
    except (ValueError, TypeError):
        return WriteOptions()


def _holds(path: Path, field: str, values: list[str], options: WriteOptions) -> bool:
    try:
        return read_field(path, field, options) == list(values)
    except TagError:
        return False


# -- history ---------------------------------------------------------------------------------


def history(library: JournalLibrary, limit: int = 50) -> list[BatchInfo]:
    """The latest batches, newest first, with how many files each wrote."""
    rows = library.conn.execute(
        "SELECT b.id, b.created_at, b.description, b.field, b.mode, b.undone_at,"
        " (SELECT COUNT(DISTINCT COALESCE(c.track_id, c.path)) FROM changes c"
        " WHERE c.batch_id = b.id AND c.status != 'pending')"
        " FROM batches b ORDER BY b.id DESC LIMIT ?",
        (int(limit),),
    ).fetchall()
    return [
        BatchInfo(int(r[0]), float(r[1]), r[2], r[3], int(r[6]), r[5] is not None, r[4])
        for r in rows
    ]


def can_undo(library: JournalLibrary) -> bool:
    """Whether a batch is left for `undo()` with no batch given (one not undone yet)."""
    row = library.conn.execute(
        "SELECT EXISTS(SELECT 1 FROM batches WHERE undone_at IS NULL)"
    ).fetchone()
    return bool(row and row[0])


def batch_track_ids(library: JournalLibrary, batch_id: int) -> list[int]:
    """The tracks a batch wrote to (what a table shows again after an undo)."""
    rows = library.conn.execute(
        "SELECT DISTINCT track_id FROM changes WHERE batch_id = ? AND track_id IS NOT NULL",
        (int(batch_id),),
    ).fetchall()
    return [int(r[0]) for r in rows]
