"""The library index: one SQLite file that remembers every track, its analysis and every tag write.

Why SQLite: it is in Python's standard library, survives a killed process (WAL journal), and a
100,000-track library fits in a few tens of MB. The file lives in the user data folder
(`appdirs.user_data_dir("zsl-tagger")`) unless `--db` or `ZSL_TAGGER_DB` says otherwise.

What the tables hold (schema version 6):

* `tracks`: one row per audio file ever seen. `path` is the file's name as bytes (`os.fsencode`),
  so names that are not valid UTF-8 survive; `display_path` is a printable copy. `size`,
  `mtime_ns` and `fingerprint` decide whether a file must be analysed again and let a moved file
  keep its row (and so its history). `status` is `ok`, `failed` (with `error`) or `gone`.
  Metadata read from the file (title, artist, album, album artist, track and disc number, year,
  genre, mood) is cached for the table view, the album view and the search filters.
* `models`: each model that analysed tracks (the built-in one, or a trained folder).
* `results`: per (track, model) the track embedding and the seen-label scores, float16 bytes,
  so switching models never destroys earlier results and predictions need no audio.
* `scans`: one row per scan run, so an interrupted scan is visible and its counts reported;
  `owner` (HOST:PID, set by a trigger) lets the next open mark a killed scan "interrupted".
* `batches` and `changes`: the journal of tag writes (old and new values per file and field),
  which `undo` reads; per written file also the SHA-256 before and after the write and a delta
  back to the original bytes (byte-exact undo, at most `app.tagwriter.UNDO_LIMIT`).

Migrations are plain SQL scripts applied in order; `PRAGMA user_version` holds the version and
`PRAGMA application_id` marks the file as ours. A database written by a newer program is refused
rather than guessed at, and so is another program's SQLite file (`--db ~/.config/beets/library.db`):
it is never modified. Two connections opening a new file at once (the window and its scan worker)
are safe: the version is read again after `BEGIN IMMEDIATE`, so only one of them creates the tables.

Durability: every connection runs with `synchronous = FULL`, so a committed journal row is on disk
before the tag writer replaces the file it describes (with NORMAL, WAL commits reach the disk only
at checkpoints, and a power cut could keep a changed file without its undo row).

Errors: SQLite failures that are not a caller's bug come out of every statement as one-line
`IndexError_` subclasses that are also `sqlite3.OperationalError`s (so existing `except
sqlite3.Error` handlers keep working): `IndexFullError` (disk full), `IndexLockedError`,
`IndexDamagedError` (corrupt file), `IndexIOError`, `IndexReadOnlyError`; opening someone else's
database raises `NotALibraryError`.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import sqlite3
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import appdirs
import numpy as np

from zsl_core.errors import ZslError

__all__ = [
    "IndexError_",
    "IndexFullError",
    "IndexLockedError",
    "IndexDamagedError",
    "IndexIOError",
    "IndexReadOnlyError",
    "NotALibraryError",
    "APPLICATION_ID",
    "SCHEMA_VERSION",
    "MIGRATIONS",
    "ENV_VAR",
    "default_db_path",
    "connect",
    "path_key",
    "path_from_key",
    "display",
    "to_blob",
    "from_blob",
    "model_id",
    "transaction",
]

ENV_VAR = "ZSL_TAGGER_DB"
APP_NAME = "zsl-tagger"


class IndexError_(ZslError):
    """The index file cannot be opened or used (named with a trailing _ to keep Python's IndexError)."""


class NotALibraryError(IndexError_):
    """The file is a database of another program (or not a database at all): left untouched."""


class IndexDatabaseError(IndexError_, sqlite3.OperationalError):
    """SQLite could not do what was asked for a reason outside the program (disk, locks, damage)."""


class IndexFullError(IndexDatabaseError):
    """The disk (or the file-size limit) is full; nothing was lost, the statement did not happen."""


class IndexLockedError(IndexDatabaseError):
    """Another process held the index longer than the busy timeout."""


class IndexDamagedError(IndexDatabaseError):
    """The index file is corrupt."""


class IndexIOError(IndexDatabaseError):
    """The operating system reported an I/O error on the index (failing or removed disk)."""


class IndexReadOnlyError(IndexDatabaseError):
    """The index file or its folder cannot be written."""


# a zsl-tagger index says so in its header ("zslt"); files made before it was set have 0
APPLICATION_ID = 0x7A736C74
BUSY_TIMEOUT_S = 30.0
# the tables each schema version has (an index whose tables are missing is not ours)
_TABLES_AT = {1: {"tracks", "models", "results", "scans", "batches", "changes"}}
_TABLES_AT[2] = _TABLES_AT[1] | {"folders"}
_TABLES_AT[3] = _TABLES_AT[2]
_TABLES_AT[4] = _TABLES_AT[3]
_TABLES_AT[5] = _TABLES_AT[4]
_TABLES_AT[6] = _TABLES_AT[5]
# how long a "running" scan of another machine (a library on a shared disk) may stay so
STALE_FOREIGN_SCAN_S = 2 * 24 * 3600.0

_ERROR_KINDS: dict[str, tuple[type[IndexDatabaseError], str]] = {
    "SQLITE_FULL": (
        IndexFullError,
        "the disk holding the library index is full ({detail}); "
        "free some space and run the command again (the index and its undo history "
        "are intact; the last step was not recorded)",
    ),
    "SQLITE_BUSY": (
        IndexLockedError,
        "the library index is locked by another zsl-tagger process "
        "(waited {timeout:.0f} s: {detail}); let it finish or close it, then run again",
    ),
    "SQLITE_LOCKED": (
        IndexLockedError,
        "the library index is locked ({detail}); let the other operation finish, then run again",
    ),
    "SQLITE_CORRUPT": (
        IndexDamagedError,
        "the library index is damaged ({detail}); restore it from "
        "a backup, or move it aside to start a new library (which loses its undo "
        "history)",
    ),
    "SQLITE_NOTADB": (
        IndexDamagedError,
        "the library index is damaged or not a database "
        "({detail}); restore it from a backup or choose another --db file",
    ),
    "SQLITE_IOERR": (
        IndexIOError,
        "cannot read or write the library index (disk I/O error: "
        "{detail}); check that its disk is present, not full and healthy, then run "
        "again",
    ),
    "SQLITE_READONLY": (
        IndexReadOnlyError,
        "the library index cannot be written ({detail}); make "
        "the file and its folder writable, or choose another --db file",
    ),
    "SQLITE_CANTOPEN": (
        IndexIOError,
        "cannot open the library index ({detail}); check the file's folder and permissions",
    ),
    "SQLITE_PERM": (IndexReadOnlyError, "no permission to use the library index ({detail})"),
}


def translate_error(exc: BaseException, where: str) -> BaseException:
    """A SQLite error as the one-line `IndexDatabaseError` subclass it stands for; other errors
    (a caller's bug: syntax, constraint...) are returned unchanged."""
    if isinstance(exc, IndexError_) or not isinstance(exc, sqlite3.Error):
        return exc
    name = getattr(exc, "sqlite_errorname", "") or ""
    base = "_".join(name.split("_")[:2])  # SQLITE_IOERR_WRITE -> SQLITE_IOERR
    text = " ".join(str(exc).split()) or name
    if base not in _ERROR_KINDS:  # older SQLite builds: recognise by message
        lowered = text.lower()
        for needle, key in (
            ("disk is full", "SQLITE_FULL"),
            ("database is locked", "SQLITE_BUSY"),
            ("malformed", "SQLITE_CORRUPT"),
            ("not a database", "SQLITE_NOTADB"),
            ("disk i/o error", "SQLITE_IOERR"),
            ("readonly", "SQLITE_READONLY"),
        ):
            if needle in lowered:
                base = key
                break
        else:
            return exc
    if base in ("SQLITE_IOERR", "SQLITE_CANTOPEN") and _disk_full(where):
        base = "SQLITE_FULL"  # a full disk often shows as an I/O error (WAL index, temp files)
    kind, message = _ERROR_KINDS[base]
    error = kind(f"{where}: " + message.format(detail=text, timeout=BUSY_TIMEOUT_S))
    error.sqlite_errorname = name or base
    return error


def _disk_full(where: str, margin: int = 1 << 20) -> bool:
    """True when the file system of the index has (almost) no space left."""
    folder = os.path.dirname(os.path.abspath(where)) if where != ":memory:" else "."
    try:
        return shutil.disk_usage(folder).free < margin
    except OSError:
        return False


class _Cursor(sqlite3.Cursor):
    """A cursor whose failures come out as `translate_error` says."""

    @property
    def _where(self) -> str:
        return cast("IndexConnection", self.connection).where

    def execute(self, sql: str, parameters: Any = ()) -> _Cursor:
        try:
            return super().execute(sql, parameters)
        except sqlite3.Error as exc:
            raise translate_error(exc, self._where) from exc

    def executemany(self, sql: str, seq: Any) -> _Cursor:
        try:
            return super().executemany(sql, seq)
        except sqlite3.Error as exc:
            raise translate_error(exc, self._where) from exc

    def executescript(self, script: str) -> _Cursor:
        try:
            # typeshed: Cursor.executescript returns a plain Cursor; it returns this one (self)
            return super().executescript(script)  # type: ignore[return-value]
        except sqlite3.Error as exc:
            raise translate_error(exc, self._where) from exc

    def fetchone(self):
        try:
            return super().fetchone()
        except sqlite3.Error as exc:
            raise translate_error(exc, self._where) from exc

    def fetchmany(self, size: int | None = None):
        try:
            return super().fetchmany(self.arraysize if size is None else size)
        except sqlite3.Error as exc:
            raise translate_error(exc, self._where) from exc

    def fetchall(self):
        try:
            return super().fetchall()
        except sqlite3.Error as exc:
            raise translate_error(exc, self._where) from exc

    def __next__(self):
        try:
            return super().__next__()
        except sqlite3.Error as exc:
            raise translate_error(exc, self._where) from exc


class IndexConnection(sqlite3.Connection):
    """`sqlite3.Connection` whose statements raise one-line `IndexError_`s for disk, lock and
    damage failures (see `translate_error`); `where` names the file in those messages."""

    where: str = "library index"

    # typeshed's overloads of Connection.cursor; this one only changes the default factory
    def cursor(self, factory: type = _Cursor) -> sqlite3.Cursor:  # type: ignore[override]
        return super().cursor(factory)

    def execute(self, sql: str, parameters: Any = ()) -> sqlite3.Cursor:
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, seq: Any) -> sqlite3.Cursor:
        return self.cursor().executemany(sql, seq)

    def executescript(self, script: str) -> sqlite3.Cursor:
        return self.cursor().executescript(script)

    def commit(self) -> None:
        try:
            super().commit()
        except sqlite3.Error as exc:
            raise translate_error(exc, self.where) from exc


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
    # 2 -> 3: byte-exact undo (the hashes of a file before and after each write and the delta
    # back, `app.tagwriter.UndoData`), and the process that runs each scan, so a scan whose
    # process was killed is marked "interrupted" instead of "running" forever.
    """
    ALTER TABLE changes ADD COLUMN undo_before TEXT;
    ALTER TABLE changes ADD COLUMN undo_after TEXT;
    ALTER TABLE changes ADD COLUMN undo_delta BLOB;
    CREATE INDEX changes_track ON changes(track_id);
    ALTER TABLE scans ADD COLUMN owner TEXT;
    CREATE TRIGGER scans_owner AFTER INSERT ON scans WHEN NEW.owner IS NULL
    BEGIN
        UPDATE scans SET owner = zsl_scan_owner() WHERE id = NEW.id;
    END;
    """,
    # 3 -> 4: the year of each track (the first four-digit year of its date tag), for the
    # `year:1999` / `year:1990-1999` search filters. Tracks stored before it have no year yet:
    # their mtime_ns is cleared so the next scan reads their tags again (a probe, which
    # fingerprints the audio to confirm it is unchanged; nothing is decoded or re-analysed).
    """
    ALTER TABLE tracks ADD COLUMN year INTEGER;
    UPDATE tracks SET mtime_ns = NULL WHERE status = 'ok';
    """,
    # 4 -> 5: the album artist, track and disc number of each track, which group and order the
    # album view (`app.albums`). Old tracks are read again on the next scan, as for 3 -> 4 (a
    # probe, never a decode); until then they group by artist and sort by file name.
    """
    ALTER TABLE tracks ADD COLUMN album_artist TEXT;
    ALTER TABLE tracks ADD COLUMN track_no INTEGER;
    ALTER TABLE tracks ADD COLUMN disc_no INTEGER;
    UPDATE tracks SET mtime_ns = NULL WHERE status = 'ok';
    """,
    # 5 -> 6: no new column: damaged files (app.scanner's rule: an Ogg file cut inside a page
    # and the like) were analysed as ok before, fingerprinted by the hash of the whole file
    # because their audio stream could not be walked. Those ok tracks are probed once again on
    # the next scan (formats we do not write, WMA, raw AAC, have such fingerprints too: they
    # are confirmed unchanged and decode nothing); a damaged one becomes failed.
    """
    UPDATE tracks SET mtime_ns = NULL WHERE status = 'ok' AND substr(fingerprint, 1, 5) = 'file:';
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


def default_db_path() -> Path:
    """`$ZSL_TAGGER_DB` if set, else `library.sqlite3` in the user data folder (appdirs)."""
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override).expanduser()
    return Path(appdirs.user_data_dir(APP_NAME, appauthor=False)) / "library.sqlite3"


def connect(path: str | Path | None = None, migrate: bool = True) -> sqlite3.Connection:
    """Open (creating if needed) the index, in WAL mode, upgraded to SCHEMA_VERSION.

    Raises a one-line IndexError_ for a file that is not a database or belongs to another
    program (`NotALibraryError`, the file is not modified), is newer than this program, sits in
    a folder we cannot write, or cannot be used for a disk, lock or damage reason (the
    `IndexDatabaseError` subclasses). Safe when several threads or processes open a new file
    at once.
    """
    db_path = Path(path).expanduser() if path is not None else default_db_path()
    where = str(db_path)
    try:
        if where != ":memory:":
            db_path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode: transactions are explicit (`transaction`), never opened behind our back.
        conn = sqlite3.connect(
            where,
            timeout=BUSY_TIMEOUT_S,
            check_same_thread=False,
            isolation_level=None,
            factory=IndexConnection,
        )
    except OSError as exc:
        raise IndexError_(
            f"{where}: cannot open the library index ({exc.strerror or exc})"
        ) from None
    except sqlite3.Error as exc:
        error = translate_error(exc, where)
        if error is exc:
            error = IndexError_(f"{where}: cannot open the library index ({exc})")
        raise error from None
    conn.where = where
    conn.create_function("zsl_scan_owner", 0, scan_owner)
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    try:
        while True:
            try:
                _set_up(conn, where, migrate)
                break
            except IndexLockedError:
                # SQLite answers SQLITE_BUSY at once, without waiting, where waiting could
                # deadlock (a journal-mode change or a write while another opener of a new
                # file commits): try again until the busy timeout is spent.
                if time.monotonic() > deadline:
                    raise
                _rollback(conn)
                time.sleep(0.02 + 0.05 * random.random())
    except BaseException:
        conn.close()
        raise
    return conn


def _set_up(conn: sqlite3.Connection, where: str, migrate: bool) -> None:
    version = _open_checks(conn, where)
    if version > SCHEMA_VERSION:
        raise IndexError_(
            f"{where}: written by a newer zsl-tagger (schema {version}, "
            f"this program knows {SCHEMA_VERSION}); upgrade zsl-tagger"
        )
    if migrate and version < SCHEMA_VERSION:
        upgrade(conn, to=SCHEMA_VERSION, where=where)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = FULL")
    if version >= 3 or migrate:  # the owner column exists (schema 3 on)
        mark_stale_scans(conn)


def scan_owner() -> str:
    """Who runs a scan: "HOST:PID" (filled into `scans.owner` by a trigger on every insert)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists, someone else's
    return True


def mark_stale_scans(conn: sqlite3.Connection, now: float | None = None) -> list[int]:
    """Mark "running" scans whose process is gone as "interrupted" (a killed scan never gets
    to finish its row); returns their ids. A scan of this machine is stale when its process
    no longer exists, one recorded before owners were kept always is, and one of another
    machine after STALE_FOREIGN_SCAN_S. Never fails the open: a locked or read-only index is
    simply left as it is."""
    now = time.time() if now is None else now
    host = socket.gethostname()
    try:
        rows = conn.execute(
            "SELECT id, owner, started_at FROM scans WHERE state = 'running'"
        ).fetchall()
        stale = []
        for scan_id, owner, started in rows:
            name, _, pid = (owner or "").rpartition(":")
            if not owner or not pid.isdigit():
                stale.append(int(scan_id))
            elif name == host:
                if not _alive(int(pid)):
                    stale.append(int(scan_id))
            elif now - float(started or 0) > STALE_FOREIGN_SCAN_S:
                stale.append(int(scan_id))
        for scan_id in stale:
            conn.execute(
                "UPDATE scans SET state = 'interrupted', finished_at = COALESCE("
                "finished_at, ?) WHERE id = ? AND state = 'running'",
                (now, scan_id),
            )
        return stale
    except IndexDatabaseError:
        return []


def _open_checks(conn: sqlite3.Connection, where: str) -> int:
    """Refuse what is not (or cannot become) our index before changing anything; WAL on.
    Returns the schema version found."""
    try:
        conn.execute("BEGIN")  # one read snapshot: another opener may be creating the tables
        try:
            version, app_id = _header(conn)
            _check_ours(conn, where, version, app_id)
        finally:
            _rollback(conn)
        if where != ":memory:":
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
        return version
    except IndexDatabaseError as exc:
        if (
            isinstance(exc.__cause__, sqlite3.DatabaseError)
            and getattr(exc, "sqlite_errorname", "") == "SQLITE_NOTADB"
        ):
            raise NotALibraryError(
                f"{where}: not a zsl-tagger library index: not an SQLite "
                f"database (if it was your library, it is damaged: restore it "
                f"from a backup); choose another --db file"
            ) from None
        raise
    except sqlite3.DatabaseError as exc:  # pragma: no cover - translated above
        raise NotALibraryError(f"{where}: not a zsl-tagger library index ({exc})") from None


def _header(conn: sqlite3.Connection) -> tuple[int, int]:
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
    return version, app_id


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    }


def _check_ours(conn: sqlite3.Connection, where: str, version: int, app_id: int) -> None:
    """NotALibraryError unless the file is empty or has our id / our tables for its version."""
    if app_id == APPLICATION_ID:
        return
    tables = _tables(conn)
    if app_id != 0:
        raise NotALibraryError(
            f"{where}: another program's SQLite database (application id "
            f"{app_id:#x}), not a zsl-tagger library index; it was not "
            f"changed; choose another --db file"
        )
    if version == 0 and not tables:
        return  # new (or empty) file: ours to create
    expected = _TABLES_AT.get(min(version, SCHEMA_VERSION), set())
    if version == 0 or not expected <= tables:
        shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
        raise NotALibraryError(
            f"{where}: another program's SQLite database (tables: {shown}), "
            f"not a zsl-tagger library index; it was not changed; choose "
            f"another --db file"
        )


def upgrade(conn: sqlite3.Connection, to: int = SCHEMA_VERSION, where: str = "index") -> None:
    """Apply the migrations from the current version up to `to`, each in one transaction.

    The version is read inside each `BEGIN IMMEDIATE` transaction, so when two connections
    upgrade (or create) the same file at once, the second finds the work done and skips it."""
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version, app_id = _header(conn)
            if version >= to:
                if app_id == 0 and version >= 1:
                    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute("COMMIT")
                return
            _check_ours(conn, where, version, app_id)
            for statement in _statements(MIGRATIONS[version]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute("COMMIT")
        except IndexError_:
            _rollback(conn)
            raise
        except sqlite3.Error as exc:
            _rollback(conn)
            error = translate_error(exc, where)
            if error is exc:
                error = IndexError_(
                    f"{where}: upgrading the index to schema {version + 1} "
                    f"failed ({' '.join(str(exc).split())})"
                )
            raise error from None


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # SQLite already rolled back (disk full, I/O error): nothing more to undo


def _statements(script: str) -> Iterator[str]:
    """Split a migration script into statements (a trigger's body stays whole)."""
    buffer = ""
    for part in script.split(";"):
        buffer += part + ";"
        if sqlite3.complete_statement(buffer):
            if buffer.strip(" \n\t;"):
                yield buffer
            buffer = ""
    if buffer.strip(" \n\t;"):
        yield buffer


class transaction:
    """`with transaction(conn):` commits on success and rolls back on error (BEGIN IMMEDIATE,
    so two processes writing the same index queue up instead of failing halfway)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            _rollback(self.conn)
            return
        try:
            self.conn.execute("COMMIT")
        except BaseException:
            _rollback(self.conn)
            raise


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
    cur = conn.execute(
        "INSERT INTO models (name, dim, seen_labels, created_at) VALUES (?, ?, ?, ?)",
        (name, int(dim), json.dumps(list(seen_labels)), time.time()),
    )
    return inserted_id(cur)


def inserted_id(cur: sqlite3.Cursor) -> int:
    """The id of the row an INSERT on `cur` just made (sqlite3 types `lastrowid` as optional:
    it is None only on a cursor that has inserted nothing)."""
    rowid = cur.lastrowid
    if rowid is None:
        raise TypeError("the cursor has inserted no row")
    return int(rowid)
