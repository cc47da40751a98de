"""Take `zsl-core embed` index files (shards of a big catalogue) into the library index.

Why: analysing audio is the slow part of a scan (the model, about 0.3 s per track on a desktop
CPU). A catalogue too big for one machine is analysed as shards on any job runner
(`zsl-core embed --manifest all.jsonl --shard i/n --windows 8 --out part-i.npz`), and the parts are
imported here; afterwards the library searches, tags and writes as if it had scanned them, and a
later `zsl-tagger scan` of the same folders finds those files unchanged.

What is trusted, and why:

* Only parts made by this library's model (`TrackIndex.model_key`: the model, its word vectors
  and precision), so the embedding spaces and seen-label scores are the ones the library's own
  scans store. Format-1 parts (no seen-label scores) are refused with a reason.
* Only rows whose file is here (after `--map OLD=NEW` path prefix rewriting) with the size and
  modification time it had when it was analysed: a file changed since is left for a scan.
  Copies of a library must keep their mtimes (`rsync -a`, `cp -p`) to be imported.
* The file is still probed here (its tags for the table, and the audio fingerprint the scanner
  uses to notice moves and edits), which reads the file but decodes no audio. A file the probe
  finds damaged (`app.scanner.probe_file`) is reported as failed and not taken, as a scan
  would not analyse it.

A bad part (missing, damaged, another model) is reported in one line and the other parts go on.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from app import db
from app.scanner import ScanProgress, probe_file
from app.states import TrackStatus
from zsl_core.errors import ZslError

if TYPE_CHECKING:  # the model (and torch) load only when a scan or import needs them
    from zsl_core.tagger import Tagger

__all__ = ["ImportSummary", "import_indexes", "parse_path_map", "map_path"]

_BATCH = 256  # rows written per transaction: one commit per track would dominate at 100k tracks
_FIRST_BATCH = 16  # ... the first ones smaller (doubling up to _BATCH), so progress moves at once
_PROBE_THREADS = 4  # probing is file reads and hashing (hashlib releases the GIL), not the model


class ImportError_(ZslError):
    """An import request that cannot start at all (bad --map), with a one-line reason."""


@dataclass
class ImportSummary:
    """What an import did. `imported`: rows stored now; `unchanged`: already in the library with
    this model's results and the same file; `changed`/`missing`/`failed`: (path, reason) lists of
    rows not taken (a scan analyses those); `bad_parts`: (index file, reason) of parts refused
    whole (damaged, crafted, another model), the others are still imported; `empty_parts`: parts
    that hold no tracks (an empty shard: nothing to do, no error)."""

    imported: int = 0
    unchanged: int = 0
    changed: list[tuple[str, str]] = field(default_factory=list)
    missing: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    bad_parts: list[tuple[str, str]] = field(default_factory=list)
    empty_parts: list[str] = field(default_factory=list)
    parts: int = 0
    folders: list[str] = field(default_factory=list)  # the parts' root folders here, now remembered
    cancelled: bool = False
    seconds: float = 0.0

    @property
    def skipped(self) -> int:
        return len(self.changed) + len(self.missing) + len(self.failed)


class ModelLabels(Protocol):
    """What a part is checked against: the model's seen labels and the width of what it
    stores (a `Tagger` has both)."""

    @property
    def seen_labels(self) -> Sequence[str]: ...
    def stored_dim(self) -> int: ...


def parse_path_map(specs: Sequence[str]) -> list[tuple[str, str]]:
    """'OLD=NEW' prefix rewrites, longest OLD first so the most specific one wins."""
    pairs = []
    for spec in specs:
        old, sep, new = spec.partition("=")
        if not sep or not old:
            raise ImportError_(
                f"--map {spec!r}: expected OLD=NEW (a path prefix and its replacement)"
            )
        pairs.append((old, new))
    return sorted(pairs, key=lambda pair: -len(pair[0]))


def map_path(path: str, path_map: Sequence[tuple[str, str]]) -> str:
    """`path` with the first matching prefix rewritten. A prefix matches whole path components
    only, so /music never rewrites /music2/x."""
    for old, new in path_map:
        base = old.rstrip("/\\")
        if path == base or path.startswith(base + "/") or path.startswith(base + "\\"):
            return new.rstrip("/\\") + path[len(base) :]
    return path


def import_indexes(
    conn: sqlite3.Connection,
    tagger: ModelLabels | cf.Future[Tagger],
    model_name: str,
    index_paths: Sequence[str | Path],
    *,
    path_map: Sequence[tuple[str, str]] = (),
    progress: Callable[[ScanProgress], None] | None = None,
    cancel: threading.Event | None = None,
    on_track: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Import the rows of `index_paths` (made by the model stored as `model_name`) into `conn`.

    `tagger` may be a Future of the model still loading (`Library.import_indexes`): the first
    progress (0 of 0) comes at once, the count of rows once the parts are read, then progress
    after each batch of rows; `cancel` is seen while the model loads and between batches.
    """
    from zsl_core.index import TrackIndex  # torch (float16 search); a library opens without it

    started = time.monotonic()
    cancel = cancel or threading.Event()
    summary = ImportSummary()
    if progress is not None:
        progress(ScanProgress(0, 0, 0.0, None, ""))
    if isinstance(tagger, cf.Future):
        while not tagger.done():
            if cancel.is_set():
                summary.cancelled = True
                summary.seconds = time.monotonic() - started
                return summary
            cf.wait([tagger], timeout=0.2)
        tagger = tagger.result()
    labels = list(tagger.seen_labels)
    dim = tagger.stored_dim()
    parts = []
    for index_path in index_paths:
        shown = db.display(os.fsencode(os.fspath(index_path)))
        try:
            # TrackIndex.load checks the members' headers before it reads an array
            part = TrackIndex.load(index_path)
            problem = _part_problem(part, model_name, labels, dim)
            if problem is None:
                _rows([part], path_map)  # every row readable, or the part is refused whole
        except ZslError as exc:
            problem = str(exc).removeprefix(f"{index_path}: ")
        except (
            ValueError,
            TypeError,
            KeyError,
            IndexError,
            AttributeError,
            OSError,
            MemoryError,
        ) as exc:  # a part is untrusted input: never let one stop the rest
            problem = f"damaged part ({' '.join(str(exc).split())[:200] or type(exc).__name__})"
        if problem:
            summary.bad_parts.append((shown, problem))
        elif not len(part):
            summary.empty_parts.append(shown)
            parts.append(part)
        else:
            parts.append(part)
    summary.parts = len(parts)
    rows = _rows(parts, path_map)
    model_id = db.model_id(conn, model_name, dim, labels)
    known = {
        bytes(r[0]): r[1:]
        for r in conn.execute("SELECT path, id, size, mtime_ns, status, fingerprint FROM tracks")
    }
    analysed = {
        r[0]: r[1]
        for r in conn.execute(
            "SELECT track_id, fingerprint FROM results WHERE model_id = ?", (model_id,)
        )
    }

    todo = []
    for row in rows:
        key, shown = row["key"], db.display(row["key"])
        try:
            info = os.stat(key)
        except OSError as exc:
            summary.missing.append((shown, exc.strerror or "cannot read"))
            continue
        if row["size"] >= 0 and (info.st_size, info.st_mtime_ns) != (row["size"], row["mtime_ns"]):
            summary.changed.append(
                (shown, "changed since it was analysed (size or modification time)")
            )
            continue
        stored = known.get(key)
        if stored is not None:
            track_id, size, mtime_ns, status, fingerprint = stored
            if (
                status == TrackStatus.OK
                and (size, mtime_ns) == (info.st_size, info.st_mtime_ns)
                and track_id in analysed
                and analysed[track_id] == fingerprint
            ):
                summary.unchanged += 1
                continue
        todo.append((row, info, stored[0] if stored else None))

    total = len(rows)
    done = total - len(todo)
    if progress is not None:
        progress(ScanProgress(done, total, 0.0, 0.0 if done == total else None, ""))
    work_started = time.monotonic()
    with cf.ThreadPoolExecutor(_PROBE_THREADS) as pool:
        start, size, batches = 0, _FIRST_BATCH, 0
        while start < len(todo):
            if cancel.is_set():
                summary.cancelled = True
                break
            batch = todo[start : start + size]
            start, size = start + len(batch), min(2 * size, _BATCH)
            probes = list(pool.map(lambda item: probe_file(item[0]["key"]), batch))
            stored_ids = _store_batch(conn, model_id, batch, probes, summary)
            for track_id in stored_ids:
                if on_track is not None:
                    on_track(track_id)
            done += len(batch)
            batches += 1
            if progress is not None:
                elapsed = max(time.monotonic() - work_started, 1e-6)
                rate = (done - (total - len(todo))) / elapsed
                left = total - done
                progress(
                    ScanProgress(
                        done,
                        total,
                        rate,
                        left / rate if rate > 0 else None,
                        db.display(batch[-1][0]["key"]),
                        batches,
                    )
                )
    if summary.imported or summary.unchanged:
        summary.folders = _remember_roots(conn, parts, path_map)
    summary.seconds = time.monotonic() - started
    return summary


def _remember_roots(
    conn: sqlite3.Connection, parts: Sequence[Any], path_map: Sequence[tuple[str, str]]
) -> list[str]:
    """Add each part's root folder (as mapped here) to the scan roots, as a scan of it would, so
    `zsl-tagger scan` with no folder (and the app's Rescan) keeps the imported tracks up to date.
    A root that is not a folder here (a part of files from all over a disk) is left out."""
    roots = []
    for part in parts:
        root = part.info.get("root")
        if not root:
            continue
        here = map_path(str(root), path_map)
        if os.path.isdir(here) and os.path.dirname(os.path.abspath(here)) != os.path.abspath(here):
            roots.append(db.path_key(here))
    kept = [
        r
        for r in dict.fromkeys(roots)  # a root inside another root adds nothing
        if not any(r != o and r.startswith(o.rstrip(b"/") + b"/") for o in roots)
    ]
    with db.transaction(conn):
        for key in kept:
            conn.execute(
                "INSERT INTO folders (path, display_path, added_at) VALUES (?, ?, ?)"
                " ON CONFLICT(path) DO NOTHING",
                (key, db.display(key), time.time()),
            )
    return [db.display(k) for k in kept]


def _part_problem(part: Any, model_name: str, labels: list[str], dim: int) -> str | None:
    """Why an index part cannot be imported into this library, or None."""
    if part.model_key != model_name:
        return (
            f"made by model '{part.model_key}', this library uses '{model_name}' "
            "(match --model/--vectors/--precision, or embed again)"
        )
    if not len(part):
        return None  # an empty shard: nothing to check, nothing to import
    if part.seen_scores is None or part.sizes is None or part.mtimes_ns is None:
        return "made by an older zsl-core embed (no seen-label scores); embed it again"
    if len(part) and part.seen_scores.shape[1] != len(labels):
        return f"has {part.seen_scores.shape[1]} seen-label scores per track, the model has {len(labels)}"
    if part.info.get("seen_labels") not in (None, labels):
        return "its model's seen labels differ from this library's model"
    if len(part) and part.dim != dim:
        return f"has {part.dim}-d embeddings, the model makes {dim}-d ones"
    return None


def _rows(parts: Sequence[Any], path_map: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    """Every row of every part by local path; a path in several parts keeps its last row."""
    rows: dict[bytes, dict[str, Any]] = {}
    for part in parts:
        n_windows = int(part.info.get("n_windows") or 0) or None
        for i, path in enumerate(part.paths):
            key = db.path_key(map_path(path, path_map))
            rows.pop(key, None)
            rows[key] = {
                "key": key,
                "embedding": part.embeddings[i],
                "scores": part.seen_scores[i],
                "size": int(part.sizes[i]),
                "mtime_ns": int(part.mtimes_ns[i]),
                "n_windows": n_windows,
            }
    return list(rows.values())


def _store_batch(
    conn: sqlite3.Connection,
    model_id: int,
    batch: list[tuple[dict[str, Any], Any, int | None]],
    probes: list[Any],
    summary: ImportSummary,
) -> list[int]:
    """Write one batch of tracks and their results in one transaction; returns the stored ids."""
    now = time.time()
    stored = []
    with db.transaction(conn):
        for (row, info, track_id), probe in zip(batch, probes, strict=True):
            key = row["key"]
            if probe.error or probe.damage or probe.fingerprint is None:
                # a damaged file takes no results, whoever analysed it (app.scanner's rule)
                reason = probe.error or probe.damage or "cannot read file"
                summary.failed.append((db.display(key), reason))
                continue
            meta = probe.metadata
            values = {
                "path": key,
                "display_path": db.display(key),
                "size": info.st_size,
                "mtime_ns": info.st_mtime_ns,
                "fingerprint": probe.fingerprint,
                "status": TrackStatus.OK,
                "error": f"tags: {meta.error}" if meta.error else None,
                "title": meta.title,
                "artist": meta.artist,
                "album": meta.album,
                "year": meta.year,
                "album_artist": meta.album_artist,
                "track_no": meta.track_no,
                "disc_no": meta.disc_no,
                "genre": meta.genre,
                "mood": meta.mood,
                "duration": meta.duration,
                "has_cover": int(meta.has_cover),
                "scanned_at": now,
                "gone_at": None,
            }
            if track_id is None:
                values["added_at"] = now
                cur = conn.execute(
                    f"INSERT INTO tracks ({', '.join(values)}) VALUES "
                    f"({', '.join('?' * len(values))})",
                    tuple(values.values()),
                )
                track_id = db.inserted_id(cur)
            else:
                sets = ", ".join(f"{k} = ?" for k in values)
                conn.execute(f"UPDATE tracks SET {sets} WHERE id = ?", (*values.values(), track_id))
            conn.execute(
                "INSERT OR REPLACE INTO results (track_id, model_id, embedding, seen_scores, n_windows,"
                " fingerprint, analysed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    track_id,
                    model_id,
                    db.to_blob(row["embedding"]),
                    db.to_blob(row["scores"]),
                    row["n_windows"],
                    probe.fingerprint,
                    now,
                ),
            )
            summary.imported += 1
            stored.append(track_id)
    return stored
