"""The library facade the CLI and the GUI use: scan folders, list tracks, tags, search.

One `Library` is one open index (`app.db`) plus one model. Opening it is instant: the model
loads on first use (a scan, a prediction or a search), so the GUI window appears at once and a
`zsl-tagger history` never touches the networks.

Everything shown after a scan comes from the index, never from audio: predictions are made from
the stored embedding and seen-label scores (`Tagger.predict_scores`), and search ranks a cached
float16 matrix of every analysed track's embedding (`zsl_core.index.rank`), rebuilt only when a
scan (here or in another process) changed the index.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from app import db, scanner
from app.scanner import DEFAULT_N_WINDOWS, ScanProgress, ScanSummary
from zsl_core.errors import ZslError
from zsl_core.tagger import Prediction, cosine_matrix

__all__ = ["Library", "LibraryError", "TrackRow", "Hit", "SearchResult", "ScanProgress",
           "ScanSummary", "DEFAULT_N_WINDOWS", "HIT_TAGS"]

HIT_TAGS = 3  # tags shown beside each search hit
_CANDIDATES = 8  # of the track's best seen and best unseen tags, how many compete for a hit's tags


class LibraryError(ZslError):
    """A library request that cannot be met (unknown track id...), with a one-line reason."""


@dataclass
class TrackRow:
    """One file as the index knows it. `path` round-trips any OS name (undecodable bytes as
    surrogates); `display_path` is printable. genre and mood are joined with "; "."""

    id: int
    path: Path
    display_path: str
    title: str | None
    artist: str | None
    album: str | None
    genre: str | None
    mood: str | None
    duration: float | None
    has_cover: bool
    status: str  # ok | failed | gone
    error: str | None


@dataclass
class Hit:
    """One search result: `tags` are the track's own best tags closest to the query."""

    track_id: int
    display_path: str
    score: float
    tags: list[str] = field(default_factory=list)


@dataclass
class SearchResult:
    hits: list[Hit]
    missing_words: list[str]
    query: str = ""


_TRACK_COLUMNS = ("id, path, display_path, title, artist, album, genre, mood, duration, has_cover,"
                  " status, error")


def _row(values: Sequence[Any]) -> TrackRow:
    (track_id, path, shown, title, artist, album, genre, mood, duration, cover, status, error) = values
    return TrackRow(int(track_id), db.path_from_key(bytes(path)), shown, title, artist, album, genre,
                    mood, duration, bool(cover), status, error)


def model_key(model: str | Path = "default", vectors: str | Path | None = None,
              precision: str = "fp32") -> str:
    """The name a model's results are stored under (`zsl_core.pipeline.model_key`, shared with
    `zsl-core embed`, so index parts made elsewhere can be imported)."""
    from zsl_core.pipeline import model_key as core_model_key

    return core_model_key(model, vectors, precision)


class Library:
    """scan, tracks, track, prediction, search, refresh, close (see docs/ARCHITECTURE.md)."""

    def __init__(self, db_path: str | Path | None = None, model: str | Path = "default",
                 vectors: str | Path | None = None, device: str = "auto", precision: str = "fp32") -> None:
        from zsl_core.default_model import resolve_precision

        self.precision = resolve_precision(precision, device)  # checked before opening anything
        self.conn: sqlite3.Connection = db.connect(db_path)
        self.model = model
        self.vectors = vectors
        self.device = device
        self.model_name = model_key(model, vectors, self.precision)
        self._tagger: Any = None
        self._vocabulary: list[str] | None = None
        self._lock = threading.RLock()  # the GUI may search while a prediction loads the model
        self._generation = 0  # bumped by our own writes that change what search ranks
        self._matrix: tuple[tuple[int, int], np.ndarray, np.ndarray] | None = None
        self._words: dict[str, Any] = {}

    # --- the model, loaded on first use --------------------------------------------------------
    @property
    def tagger(self) -> Any:
        """The model (loads it on first access: about a second for the default)."""
        with self._lock:
            if self._tagger is None:
                from zsl_core.pipeline import load_tagger

                self._tagger = load_tagger(self.model, vectors=self.vectors, device=self.device,
                                           precision=self.precision)
            return self._tagger

    @property
    def vocabulary(self) -> list[str]:
        """Candidate unseen words: the shipped vocabulary (resources/vocab/*.txt)."""
        if self._vocabulary is None:
            from zsl_core.pipeline import load_vocabulary

            self._vocabulary = load_vocabulary()
        return self._vocabulary

    def model_id(self) -> int | None:
        """This model's row in `models`, or None before it analysed anything."""
        row = self.conn.execute("SELECT id FROM models WHERE name = ?", (self.model_name,)).fetchone()
        return int(row[0]) if row else None

    # --- scanning -------------------------------------------------------------------------------
    def scan(self, folders: Iterable[str | Path | bytes] | None = None, *, n_windows: int | None = None,
             workers: int | None = None, progress: Callable[[ScanProgress], None] | None = None,
             cancel: threading.Event | None = None,
             on_track: Callable[[int], None] | None = None) -> ScanSummary:
        """Scan folders (None or empty: the folders scanned before) incrementally.

        n_windows: None -> DEFAULT_N_WINDOWS 3-s windows per track, 0 -> the whole track.
        workers: decode processes (None -> `scanner.default_workers`: 2 on a CPU, up to 8 on a
        GPU; 0 -> in this process).
        """
        roots = list(folders or []) or self.folders()
        if not roots:
            raise LibraryError("nothing to scan: give a folder (no folder was scanned before)")
        try:
            return scanner.scan(self.conn, self.tagger, self.model_name, roots, n_windows=n_windows,
                                workers=workers, progress=progress, cancel=cancel, on_track=on_track)
        finally:
            self._generation += 1

    def import_indexes(self, index_paths: Sequence[str | Path], *, path_map: Sequence[str] = (),
                       progress: Callable[[ScanProgress], None] | None = None,
                       cancel: threading.Event | None = None,
                       on_track: Callable[[int], None] | None = None) -> Any:
        """Take `zsl-core embed` parts made by this library's model into the index, without
        decoding (see app/importer.py). `path_map`: 'OLD=NEW' path prefix rewrites."""
        from app import importer

        pairs = importer.parse_path_map(path_map)
        try:
            return importer.import_indexes(self.conn, self.tagger, self.model_name, index_paths,
                                           path_map=pairs, progress=progress, cancel=cancel,
                                           on_track=on_track)
        finally:
            self._generation += 1

    def folders(self) -> list[Path]:
        """The scan roots remembered in the index, in the order they were first added."""
        rows = self.conn.execute("SELECT path FROM folders ORDER BY added_at, path").fetchall()
        return [db.path_from_key(bytes(r[0])) for r in rows]

    # --- tracks ---------------------------------------------------------------------------------
    def tracks(self, include_gone: bool = False) -> list[TrackRow]:
        """Every track (ok and failed; gone too when asked), in path order."""
        where = "status IN ('ok', 'failed', 'gone')" if include_gone else "status IN ('ok', 'failed')"
        rows = self.conn.execute(f"SELECT {_TRACK_COLUMNS} FROM tracks WHERE {where} ORDER BY path")
        return [_row(r) for r in rows]

    def track(self, track_id: int) -> TrackRow:
        row = self.conn.execute(f"SELECT {_TRACK_COLUMNS} FROM tracks WHERE id = ?", (int(track_id),)).fetchone()
        if row is None:
            raise LibraryError(f"no track with id {track_id} in the library")
        return _row(row)

    def track_id(self, path: str | Path | bytes) -> int | None:
        """The id of the track at `path`, or None if the index does not know the file."""
        row = self.conn.execute("SELECT id FROM tracks WHERE path = ?", (db.path_key(path),)).fetchone()
        return int(row[0]) if row else None

    # --- tags -----------------------------------------------------------------------------------
    def analysis(self, track_id: int) -> tuple[np.ndarray, np.ndarray] | None:
        """The stored (embedding, seen-label scores) of a track for this model, float32."""
        model_id = self.model_id()
        if model_id is None:
            return None
        row = self.conn.execute("SELECT embedding, seen_scores FROM results WHERE track_id = ? AND model_id = ?",
                                (int(track_id), model_id)).fetchone()
        return (db.from_blob(row[0]), db.from_blob(row[1])) if row else None

    def prediction(self, track_id: int, top_k: int = 10,
                   vocabulary: Sequence[str] | None = None) -> Prediction | None:
        """Seen and unseen tags from the stored analysis (no audio); None if not analysed.

        `vocabulary`: candidate unseen words (default: the shipped vocabulary).
        """
        stored = self.analysis(track_id)
        if stored is None:
            return None
        shown = self.track(track_id).display_path
        words = self.vocabulary if vocabulary is None else list(vocabulary)
        with self._lock:
            return self.tagger.predict_scores(stored[0], stored[1], top_k=top_k, vocabulary=words, path=shown)

    # --- search ---------------------------------------------------------------------------------
    def search(self, query: str, top_k: int = 20) -> SearchResult:
        """Tracks ranked by cosine relevance of their embedding to the query's (any words the
        model's vectors know, seen or not). Words it cannot embed come back in missing_words."""
        with self._lock:
            vector, missing = self.tagger.query_embedding(query)
        if vector is None or top_k <= 0:
            return SearchResult([], list(missing), query)
        ids, matrix = self._search_matrix()
        if len(ids) == 0:
            return SearchResult([], list(missing), query)
        if matrix.shape[1] != np.asarray(vector).shape[-1]:
            raise LibraryError(f"stored embeddings have {matrix.shape[1]} dimensions, the model's "
                               f"query has {np.asarray(vector).shape[-1]}; rescan with this model")
        from zsl_core.index import rank

        best, scores = rank(matrix, vector, top_k)
        hit_ids = [int(ids[index]) for index in best.tolist()]
        paths, seen_scores = self._hit_rows(hit_ids)
        vocab_matrix, _ = self._word_matrix("unseen")
        hits = []
        for start in range(0, len(hit_ids), 1024):
            # The unseen candidates of many hits in one product, not one per hit.
            rows = best[start:start + 1024]
            vocab_scores = (cosine_matrix(matrix[rows].astype(np.float32), vocab_matrix)
                            if len(vocab_matrix) else None)
            for n, (track_id, score) in enumerate(zip(hit_ids[start:start + 1024],
                                                      scores[start:start + 1024].tolist())):
                tags = self._hit_tags(seen_scores.get(track_id),
                                      None if vocab_scores is None else vocab_scores[n], vector)
                hits.append(Hit(track_id, paths.get(track_id, ""), float(score), tags))
        return SearchResult(hits, list(missing), query)

    def _hit_rows(self, track_ids: list[int]) -> tuple[dict[int, str], dict[int, np.ndarray]]:
        """Display paths and stored seen-label scores of the hits: a few queries for all of them
        (in chunks that stay under SQLite's limit on bound parameters)."""
        paths: dict[int, str] = {}
        seen: dict[int, np.ndarray] = {}
        model_id = self.model_id()
        for start in range(0, len(track_ids), 500):
            chunk = track_ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            paths.update((int(i), p) for i, p in self.conn.execute(
                f"SELECT id, display_path FROM tracks WHERE id IN ({marks})", chunk))
            if model_id is not None:
                seen.update((int(i), db.from_blob(b)) for i, b in self.conn.execute(
                    f"SELECT track_id, seen_scores FROM results WHERE model_id = ? AND track_id IN ({marks})",
                    [model_id, *chunk]))
        return paths, seen

    def _search_matrix(self) -> tuple[np.ndarray, np.ndarray]:
        """(track ids, float16 unit rows) of every ok track analysed by this model, cached until
        the index changes (our scans bump `_generation`; other connections' commits change
        SQLite's data_version)."""
        key = (self._generation, int(self.conn.execute("PRAGMA data_version").fetchone()[0]))
        if self._matrix is not None and self._matrix[0] == key:
            return self._matrix[1], self._matrix[2]
        model_id = self.model_id()
        rows = [] if model_id is None else self.conn.execute(
            "SELECT r.track_id, r.embedding FROM results r JOIN tracks t ON t.id = r.track_id"
            " WHERE r.model_id = ? AND t.status = 'ok' ORDER BY r.track_id", (model_id,)).fetchall()
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        if rows:
            sizes = {len(r[1]) for r in rows}
            if len(sizes) == 1:  # one join + one frombuffer: ~2x faster than a copy per row at 1M
                matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f2")
                matrix = matrix.reshape(len(rows), -1).astype(np.float32)
            else:
                matrix = np.stack([db.from_blob(r[1]) for r in rows])
            matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
            matrix = matrix.astype(np.float16)
        else:
            matrix = np.zeros((0, 1), np.float16)
        self._matrix = (key, ids, matrix)
        return ids, matrix

    def _word_matrix(self, kind: str) -> tuple[np.ndarray, list[str]]:
        """Unit vectors of the seen labels ('seen') or of the vocabulary's other words ('unseen')."""
        if kind not in self._words:
            tagger = self.tagger
            if kind == "seen":
                words = list(tagger.seen_labels)
                matrix = np.asarray(tagger.seen_label_embeddings(), np.float32)
            else:
                from zsl_core.vectors import normalise_tag

                is_seen = getattr(tagger, "is_seen", None)
                seen = {normalise_tag(w) for w in tagger.seen_labels}
                candidates = [w for w in dict.fromkeys(self.vocabulary)
                              if not (is_seen(w) if is_seen else normalise_tag(w) in seen)]
                matrix, words, _ = tagger.embed_words(candidates)
                matrix = np.asarray(matrix, np.float32)
            norms = np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12) if matrix.size else 1.0
            self._words[kind] = (matrix / norms, list(words))
        return self._words[kind]

    def _hit_tags(self, seen_scores: np.ndarray | None, vocab_scores: np.ndarray | None,
                  query: np.ndarray) -> list[str]:
        """The track's best seen and unseen tags, re-ranked by closeness to the query."""
        candidates: list[tuple[str, np.ndarray]] = []
        seen_matrix, seen_words = self._word_matrix("seen")
        if seen_scores is not None and len(seen_scores) == len(seen_words):
            for i in np.argsort(-seen_scores, kind="stable")[:_CANDIDATES]:
                if np.any(seen_matrix[i]):
                    candidates.append((seen_words[i], seen_matrix[i]))
        vocab_matrix, vocab_words = self._word_matrix("unseen")
        if vocab_scores is not None and len(vocab_words):
            candidates += [(vocab_words[i], vocab_matrix[i])
                           for i in np.argsort(-vocab_scores, kind="stable")[:_CANDIDATES]]
        if not candidates:
            return []
        closeness = cosine_matrix(np.atleast_2d(np.asarray(query, np.float32)), np.stack([v for _, v in candidates]))[0]
        order = np.argsort(-closeness, kind="stable")
        return list(dict.fromkeys(candidates[i][0] for i in order))[:HIT_TAGS]

    # --- after writes -----------------------------------------------------------------------
    def refresh(self, track_ids: Iterable[int]) -> None:
        """Re-read tags (and size/mtime) of files we just wrote, so the table shows the new
        values and the next scan sees them unchanged. The audio fingerprint is checked: if the
        audio itself changed, size/mtime are left alone so the next scan re-analyses the file."""
        from app.scanner import probe_file

        for track_id in track_ids:
            row = self.conn.execute("SELECT path, fingerprint, status FROM tracks WHERE id = ?",
                                    (int(track_id),)).fetchone()
            if row is None:
                continue
            path, fingerprint, status = bytes(row[0]), row[1], row[2]
            try:
                info = os.stat(path)
            except OSError:
                if status != "gone":
                    self.conn.execute("UPDATE tracks SET status = 'gone', gone_at = ? WHERE id = ?",
                                      (time.time(), int(track_id)))
                    self._generation += 1
                continue
            probe = probe_file(path)
            meta = probe.metadata
            with db.transaction(self.conn):
                self.conn.execute(
                    "UPDATE tracks SET title = ?, artist = ?, album = ?, genre = ?, mood = ?, duration = ?,"
                    " has_cover = ? WHERE id = ?",
                    (meta.title, meta.artist, meta.album, meta.genre, meta.mood, meta.duration,
                     int(meta.has_cover), int(track_id)))
                if probe.fingerprint is not None and probe.fingerprint == fingerprint:
                    self.conn.execute("UPDATE tracks SET size = ?, mtime_ns = ? WHERE id = ?",
                                      (info.st_size, info.st_mtime_ns, int(track_id)))

    def close(self) -> None:
        """Close the index (the model stays cached in the process for the next Library)."""
        try:
            self.conn.close()
        except sqlite3.Error:
            pass

    def __enter__(self) -> "Library":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
