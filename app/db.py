"""The library index: one SQLite file that remembers every track, its analysis and every tag write.

Why SQLite: it is in Python's standard library, survives a killed process (WAL journal), and a
100,000-track library fits in a few tens of MB. The file lives in the user data folder
(`appdirs.user_data_dir("zsl-tagger")`) unless `--db` or `ZSL_TAGGER_DB` says otherwise.

What the tables hold (schema version 2):

* `tracks`: one row per audio file ever seen. `path` is the file's name as bytes (`os.fsencode`),
  so names that are not valid UTF-8 survive; `display_path` is a printable copy. `size`,
  `mtime_ns` and `fingerprint` decide whether a file must be analysed again and let a moved file
  keep its row (and so its history). `status` is `ok`, `failed` (with `error`) or `gone`.
  Metadata read from the file (title, artist, album, genre, mood) is cached for the table view.
* `models`: each model that analysed tracks (the built-in one, or a trained folder).
* `results`: per (track, model) the track embedding and the seen-label scores, float16 bytes,
  so switching models never destroys earlier results and predictions need no audio.
* `scans`: one row per scan run, so an interrupted scan is visible and its counts reported.
* `batches` and `changes`: the journal of tag writes (old and new values per file and field),
  which `undo` reads.

Migrations are plain SQL scripts applied in order; `PRAGMA user_version` holds the version. A
database written by a newer program is refused rather than guessed at.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from zsl_core.errors import ZslError

__all__ = ["IndexError_", "SCHEMA_VERSION", "MIGRATIONS", "ENV_VAR", "default_db_path", "connect",
           "path_key", "path_from_key", "display", "to_blob", "from_blob", "model_id", "transaction"]

ENV_VAR = "ZSL_TAGGER_DB"
APP_NAME = "zsl-tagger"


class IndexError_(ZslError):
    """The index file cannot be opened or used (named with a trailing _ to keep Python's IndexError)."""


# Each entry upgrades the schema from version i to i + 1. Never edit a released entry: add one.
MIGRATIONS: list[str] = [
    # 0 -> 1: tracks, models, results, scans, the journal.
    """
    CREATE TABLE tracks (
        id           INTEGER PRIMARY KEY,
        path         BLOB NOT NULL UNIQUE,
        display_path TEXT NOT NULL,
        size         INTEGER,
        mtime_ns     INTEGER,
        fingerprint  TEXT,
        status       TEXT NOT NULL DEFAULT 'new',
        error        TEXT,
        title        TEXT,
        artist       TEXT,
        album        TEXT,
        genre        TEXT,
        mood         TEXT,
        duration     REAL,
        has_cover    INTEGER NOT NULL DEFAULT 0,
        added_at     REAL NOT NULL,
        scanned_at   REAL,
        gone_at      REAL
    );
    CREATE INDEX tracks_fingerprint ON tracks(fingerprint);
    CREATE INDEX tracks_status ON tracks(status);

    CREATE TABLE models (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        dim         INTEGER NOT NULL,
        seen_labels TEXT NOT NULL,
        created_at  REAL NOT NULL
    );

    CREATE TABLE results (
        track_id    INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
        model_id    INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        embedding   BLOB NOT NULL,
        seen_scores BLOB NOT NULL,
        n_windows   INTEGER,
        fingerprint TEXT,
        analysed_at REAL NOT NULL,
        PRIMARY KEY (track_id, model_id)
    );
    CREATE INDEX results_model ON results(model_id);

    CREATE TABLE scans (
        id          INTEGER PRIMARY KEY,
        folders     TEXT NOT NULL,
        model_id    INTEGER REFERENCES models(id),
        state       TEXT NOT NULL,
        started_at  REAL NOT NULL,
        finished_at REAL,
        scanned     INTEGER NOT NULL DEFAULT 0,
        unchanged   INTEGER NOT NULL DEFAULT 0,
        failed      INTEGER NOT NULL DEFAULT 0,
        gone        INTEGER NOT NULL DEFAULT 0
    );

    CREATE TABLE batches (
        id          INTEGER PRIMARY KEY,
        created_at  REAL NOT NULL,
        description TEXT NOT NULL,
        field       TEXT NOT NULL,
        mode        TEXT NOT NULL,
        undone_at   REAL
    );

    CREATE TABLE changes (
        id         INTEGER PRIMARY KEY,
        batch_id   INTEGER NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
        track_id   INTEGER REFERENCES tracks(id) ON DELETE SET NULL,
        path       BLOB NOT NULL,
        field      TEXT NOT NULL,
        old_values TEXT NOT NULL,
        new_values TEXT NOT NULL,
        status     TEXT NOT NULL,
        message    TEXT,
        changed_at REAL NOT NULL
    );
    CREATE INDEX changes_batch ON changes(batch_id);
    """,
    # 1 -> 2: remember the scan roots, so a later scan of the same folders knows what is gone,
    # and the app can rescan "my library" without asking again.
    """
    CREATE TABLE folders (
        path         BLOB PRIMARY KEY,
        display_path TEXT NOT NULL,
        added_at     REAL NOT NULL,
        last_scan_id INTEGER REFERENCES scans(id)
    );
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


def default_db_path() -> Path:
    """`$ZSL_TAGGER_DB` if set, else `library.sqlite3` in the user data folder (appdirs)."""
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override).expanduser()
    import appdirs

    return Path(appdirs.user_data_dir(APP_NAME, appauthor=False)) / "library.sqlite3"


def connect(path: str | Path | None = None, migrate: bool = True) -> sqlite3.Connection:
    """Open (creating if needed) the index, in WAL mode, upgraded to SCHEMA_VERSION.

    Raises IndexError_ with a one-line reason for a file that is not a database, is newer than
    this program, or sits in a folder we cannot write.
    """
    db_path = Path(path).expanduser() if path is not None else default_db_path()
    where = str(db_path)
    try:
        if where != ":memory:":
            db_path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode: transactions are explicit (`transaction`), never opened behind our back.
        conn = sqlite3.connect(where, timeout=30.0, check_same_thread=False, isolation_level=None)
    except (OSError, sqlite3.Error) as exc:
        raise IndexError_(f"{where}: cannot open the library index ({exc})") from None
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        if where != ":memory:":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise IndexError_(f"{where}: not a zsl-tagger library index ({exc})") from None
    if version > SCHEMA_VERSION:
        conn.close()
        raise IndexError_(f"{where}: written by a newer zsl-tagger (schema {version}, "
                          f"this program knows {SCHEMA_VERSION}); upgrade zsl-tagger")
    if migrate and version < SCHEMA_VERSION:
        upgrade(conn, to=SCHEMA_VERSION, where=where)
    return conn


def upgrade(conn: sqlite3.Connection, to: int = SCHEMA_VERSION, where: str = "index") -> None:
    """Apply the migrations from the current version up to `to`, each in one transaction."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    for step in range(version, to):
        try:
            conn.execute("BEGIN IMMEDIATE")
            for statement in _statements(MIGRATIONS[step]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {step + 1}")
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK")
            raise IndexError_(f"{where}: upgrading the index to schema {step + 1} failed ({exc})") from None


def _statements(script: str) -> Iterator[str]:
    """Split a migration script into statements (ours contain no semicolons inside strings)."""
    for part in script.split(";"):
        if part.strip():
            yield part


class transaction:
    """`with transaction(conn):` commits on success and rolls back on error (BEGIN IMMEDIATE,
    so two processes writing the same index queue up instead of failing halfway)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        self.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")


# --- paths: bytes in the index, so every file name the OS allows round-trips -----------------

def path_key(path: str | Path | bytes) -> bytes:
    """The absolute path as bytes, the `tracks.path` key (no symlink resolution: the user's view)."""
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    return os.fsencode(os.path.abspath(os.path.expanduser(os.fspath(path))))


def path_from_key(key: bytes) -> Path:
    return Path(os.fsdecode(key))


def display(path: str | Path | bytes) -> str:
    """A printable form of any path (undecodable bytes shown as U+FFFD)."""
    raw = path if isinstance(path, bytes) else os.fsencode(os.fspath(path))
    return raw.decode("utf-8", errors="replace")


# --- arrays: float16 bytes, half the size of float32 and plenty for cosine ranking ---------

def to_blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f2").reshape(-1).tobytes()


def from_blob(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<f2").astype(np.float32)


def model_id(conn: sqlite3.Connection, name: str, dim: int, seen_labels: Sequence[str]) -> int:
    """The row id of a model, adding it on first use; a model is known by its name."""
    row = conn.execute("SELECT id FROM models WHERE name = ?", (name,)).fetchone()
    if row:
        return int(row[0])
    cur = conn.execute("INSERT INTO models (name, dim, seen_labels, created_at) VALUES (?, ?, ?, ?)",
                       (name, int(dim), json.dumps(list(seen_labels)), time.time()))
    return int(cur.lastrowid)
