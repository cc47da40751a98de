"""The index file: creation, one test per migration, refusals, path and array round trips."""

from __future__ import annotations

import os
import sqlite3
import time

import numpy as np
import pytest

from app import db


def tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_new_index_is_current_and_in_wal_mode(tmp_path):
    conn = db.connect(tmp_path / "sub" / "lib.sqlite3")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == db.SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert {"tracks", "models", "results", "scans", "batches", "changes", "folders"} <= tables(conn)


def test_migration_0_to_1_creates_tracks_results_and_journal(tmp_path):
    conn = db.connect(tmp_path / "lib.sqlite3", migrate=False)
    db.upgrade(conn, to=1)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert {"tracks", "models", "results", "scans", "batches", "changes"} <= tables(conn)
    assert "folders" not in tables(conn)


def test_migration_1_to_2_adds_folders_and_keeps_data(tmp_path):
    path = tmp_path / "lib.sqlite3"
    conn = db.connect(path, migrate=False)
    db.upgrade(conn, to=1)
    conn.execute(
        "INSERT INTO tracks (path, display_path, added_at) VALUES (?, ?, 0)",
        (b"/m/a.mp3", "/m/a.mp3"),
    )
    db.upgrade(conn, to=2)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    assert "folders" in tables(conn)
    assert conn.execute("SELECT display_path FROM tracks").fetchall() == [("/m/a.mp3",)]


def columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def test_migration_2_to_3_adds_undo_records_and_scan_owners_and_keeps_data(tmp_path):
    path = tmp_path / "lib.sqlite3"
    conn = db.connect(path, migrate=False)
    db.upgrade(conn, to=2)
    conn.execute(
        "INSERT INTO batches (created_at, description, field, mode) VALUES (0, 'd', 'genre', 'merge')"
    )
    conn.execute(
        "INSERT INTO changes (batch_id, path, field, old_values, new_values, status, changed_at)"
        " VALUES (1, ?, 'genre', '[]', '[\"Rock\"]', 'written', 0)",
        (b"/m/a.mp3",),
    )
    conn.execute("INSERT INTO scans (folders, state, started_at) VALUES ('[]', 'running', 0)")
    conn.close()
    conn = db.connect(path)  # upgrades on open
    assert conn.execute("PRAGMA user_version").fetchone()[0] == db.SCHEMA_VERSION >= 3
    assert {"undo_before", "undo_after", "undo_delta"} <= columns(conn, "changes")
    assert "owner" in columns(conn, "scans")
    assert conn.execute("SELECT new_values, undo_delta FROM changes").fetchall() == [
        ('["Rock"]', None)
    ]
    # a "running" scan from before owners were kept cannot be running any more
    assert conn.execute("SELECT state FROM scans").fetchall() == [("interrupted",)]


def test_migration_3_to_4_adds_the_year_and_has_old_tracks_read_again(tmp_path):
    path = tmp_path / "lib.sqlite3"
    conn = db.connect(path, migrate=False)
    db.upgrade(conn, to=3)
    for name, status in (("a", "ok"), ("b", "failed"), ("c", "gone")):
        conn.execute(
            "INSERT INTO tracks (path, display_path, added_at, size, mtime_ns, status, title)"
            " VALUES (?, ?, 0, 10, 123, ?, ?)",
            (f"/m/{name}.mp3".encode(), f"/m/{name}.mp3", status, name),
        )
    conn.close()
    conn = db.connect(path)  # upgrades on open
    assert conn.execute("PRAGMA user_version").fetchone()[0] == db.SCHEMA_VERSION >= 4
    assert "year" in columns(conn, "tracks")
    rows = conn.execute(
        "SELECT title, year, size, mtime_ns, status FROM tracks ORDER BY title"
    ).fetchall()
    # the year is unknown until the tags are read again: an ok track's mtime is cleared so the
    # next scan probes it (no decode: its fingerprint still matches the stored analysis);
    # failed tracks stay as they were (a rescan would decode them again)
    assert rows == [
        ("a", None, 10, None, "ok"),
        ("b", None, 10, 123, "failed"),
        ("c", None, 10, 123, "gone"),
    ]


def test_migration_4_to_5_adds_album_artist_and_numbers_and_keeps_old_rows(tmp_path):
    path = tmp_path / "lib.sqlite3"
    conn = db.connect(path, migrate=False)
    db.upgrade(conn, to=4)
    for name, status in (("a", "ok"), ("b", "failed")):
        conn.execute(
            "INSERT INTO tracks (path, display_path, added_at, size, mtime_ns, status, title, year)"
            " VALUES (?, ?, 0, 10, 123, ?, ?, 1999)",
            (f"/m/{name}.mp3".encode(), f"/m/{name}.mp3", status, name),
        )
    conn.close()
    conn = db.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == db.SCHEMA_VERSION >= 5
    assert {"album_artist", "track_no", "disc_no"} <= columns(conn, "tracks")
    rows = conn.execute(
        "SELECT title, year, album_artist, track_no, disc_no, mtime_ns FROM tracks ORDER BY title"
    ).fetchall()
    # what was stored stays; ok tracks are probed again on the next scan to fill the new columns
    assert rows == [("a", 1999, None, None, None, None), ("b", 1999, None, None, None, 123)]


def test_migration_5_to_6_has_ok_tracks_hashed_whole_probed_again(tmp_path):
    """Damaged files (an Ogg file cut inside a page) were stored ok before, fingerprinted by
    the hash of the whole file: those rows are probed again on the next scan (which fails the
    damaged ones, app.scanner); tracks with an audio fingerprint, and failed ones, stay."""
    path = tmp_path / "lib.sqlite3"
    conn = db.connect(path, migrate=False)
    db.upgrade(conn, to=5)
    for name, status, fingerprint in (
        ("cut", "ok", "file:ab12"),
        ("good", "ok", "cd34"),
        ("bad", "failed", "file:ef56"),
        ("none", "ok", None),
    ):
        conn.execute(
            "INSERT INTO tracks (path, display_path, added_at, size, mtime_ns, status, fingerprint)"
            " VALUES (?, ?, 0, 10, 123, ?, ?)",
            (f"/m/{name}.ogg".encode(), f"/m/{name}.ogg", status, fingerprint),
        )
    conn.close()
    conn = db.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 6 == db.SCHEMA_VERSION
    rows = dict(conn.execute("SELECT display_path, mtime_ns FROM tracks").fetchall())
    assert rows == {"/m/cut.ogg": None, "/m/good.ogg": 123, "/m/bad.ogg": 123, "/m/none.ogg": 123}


def test_a_killed_scan_is_marked_interrupted_on_the_next_open(tmp_path):
    import os
    import socket
    import subprocess
    import sys

    path = tmp_path / "lib.sqlite3"
    conn = db.connect(path)
    conn.execute(
        "INSERT INTO scans (folders, state, started_at) VALUES ('[]', 'running', ?)", (1.0,)
    )
    mine = conn.execute("SELECT owner FROM scans").fetchone()[0]
    assert mine == f"{socket.gethostname()}:{os.getpid()}"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    host = socket.gethostname()
    for owner in (f"{host}:{dead}", "elsewhere:1"):
        conn.execute(
            "INSERT INTO scans (folders, state, started_at, owner) VALUES ('[]', 'running', ?, ?)",
            (time.time(), owner),
        )
    conn.close()
    conn = db.connect(path)
    states = [r[0] for r in conn.execute("SELECT state FROM scans ORDER BY id")]
    # ours (this process, alive) still runs; the dead process's is interrupted; another machine's
    # recent one is left alone until it is old
    assert states == ["running", "interrupted", "running"]
    assert db.mark_stale_scans(conn, now=time.time() + db.STALE_FOREIGN_SCAN_S + 10) == [3]


def test_newer_index_is_refused(tmp_path):
    path = tmp_path / "lib.sqlite3"
    conn = db.connect(path)
    conn.execute(f"PRAGMA user_version = {db.SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(db.IndexError_, match="newer zsl-tagger"):
        db.connect(path)


def test_a_file_that_is_not_a_database_is_refused_with_one_line(tmp_path):
    path = tmp_path / "lib.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(db.IndexError_) as info:
        db.connect(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_failed_transaction_rolls_back(tmp_path):
    conn = db.connect(tmp_path / "lib.sqlite3")
    with pytest.raises(RuntimeError):
        with db.transaction(conn):
            conn.execute("INSERT INTO tracks (path, display_path, added_at) VALUES (x'00', 'x', 0)")
            raise RuntimeError("boom")
    assert conn.execute("SELECT COUNT(*) FROM tracks").fetchone()[0] == 0


def test_env_var_overrides_the_default_location(tmp_path, monkeypatch):
    monkeypatch.setenv(db.ENV_VAR, str(tmp_path / "elsewhere.sqlite3"))
    assert db.default_db_path() == tmp_path / "elsewhere.sqlite3"
    monkeypatch.delenv(db.ENV_VAR)
    assert db.default_db_path().name == "library.sqlite3"


def test_non_utf8_paths_round_trip(tmp_path):
    raw = os.fsencode(str(tmp_path)) + b"/caf\xe9.mp3"  # Latin-1 name, invalid UTF-8
    key = db.path_key(raw)
    assert key == raw
    assert os.fsencode(db.path_from_key(key)) == raw
    assert "\ufffd" in db.display(key)


def test_float16_blobs_round_trip_closely():
    v = np.random.default_rng(0).standard_normal(50).astype(np.float32)
    blob = db.to_blob(v)
    assert len(blob) == 100
    np.testing.assert_allclose(db.from_blob(blob), v, rtol=1e-3, atol=1e-3)


def test_model_rows_are_added_once(tmp_path):
    conn = db.connect(tmp_path / "lib.sqlite3")
    a = db.model_id(conn, "default", 50, ["rock", "jazz"])
    assert db.model_id(conn, "default", 50, ["rock", "jazz"]) == a
    assert db.model_id(conn, "runs/mine", 100, ["x"]) != a


# -- first open, durability, other programs' files, disk and damage errors (issue 13) --------


def _open_at_once(path, n):
    import threading

    barrier = threading.Barrier(n)
    errors, conns = [], []

    def opener():
        barrier.wait()
        try:
            conns.append(db.connect(path))
        except Exception as exc:  # the test reports every failure
            errors.append(repr(exc))

    threads = [threading.Thread(target=opener) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for conn in conns:
        conn.close()
    return errors


def test_many_threads_opening_a_new_index_at_once(tmp_path):
    for trial in range(15):
        path = tmp_path / f"lib{trial}.sqlite3"
        assert _open_at_once(path, 6) == []
        conn = db.connect(path)
        assert conn.execute("PRAGMA user_version").fetchone()[0] == db.SCHEMA_VERSION
        assert {"tracks", "folders", "changes"} <= tables(conn)
        conn.close()


def _connect_in_child(path, start_at):
    import time as _time

    from app import db as child_db

    _time.sleep(max(0.0, start_at - _time.time()))
    child_db.connect(path).close()


def test_several_processes_opening_a_new_index_at_once(tmp_path):
    import multiprocessing
    import time

    ctx = multiprocessing.get_context("fork")
    for trial in range(4):
        path = str(tmp_path / f"lib{trial}.sqlite3")
        start_at = time.time() + 0.3
        children = [ctx.Process(target=_connect_in_child, args=(path, start_at)) for _ in range(4)]
        for child in children:
            child.start()
        for child in children:
            child.join(60)
        assert [c.exitcode for c in children] == [0, 0, 0, 0]
        conn = db.connect(path)
        assert conn.execute("PRAGMA user_version").fetchone()[0] == db.SCHEMA_VERSION
        conn.close()


def test_commits_are_durable_synchronous_full(tmp_path):
    conn = db.connect(tmp_path / "lib.sqlite3")
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA application_id").fetchone()[0] == db.APPLICATION_ID


def _beets_like(path):
    other = sqlite3.connect(path)
    other.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, path BLOB, title TEXT)")
    other.execute("CREATE TABLE albums (id INTEGER PRIMARY KEY, album TEXT)")
    other.execute("INSERT INTO items (path, title) VALUES (?, ?)", (b"/m/a.mp3", "A"))
    other.commit()
    other.close()


@pytest.mark.parametrize("kind", ["tables", "application_id", "user_version"])
def test_another_programs_database_is_refused_and_not_modified(tmp_path, kind):
    path = tmp_path / "library.db"
    if kind == "tables":
        _beets_like(path)
    else:
        other = sqlite3.connect(path)
        other.execute(f"PRAGMA {kind} = 42")
        other.execute("CREATE TABLE t (x)")
        other.commit()
        other.close()
    before = path.read_bytes()
    names_before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(db.NotALibraryError) as info:
        db.connect(path)
    message = str(info.value)
    assert "another program" in message and str(path) in message and "\n" not in message
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == names_before  # no -wal, no -shm


def test_an_empty_file_becomes_a_new_index(tmp_path):
    path = tmp_path / "lib.sqlite3"
    path.write_bytes(b"")
    conn = db.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == db.SCHEMA_VERSION


def test_a_full_disk_is_one_clear_line_and_the_index_stays_intact(tmp_path):
    path = tmp_path / "lib.sqlite3"
    conn = db.connect(path)
    with db.transaction(conn):
        conn.execute(
            "INSERT INTO batches (created_at, description, field, mode) "
            "VALUES (0, 'kept', 'genre', 'merge')"
        )
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages + 2}")  # SQLite's own "disk full"
    with pytest.raises(db.IndexFullError) as info:
        with db.transaction(conn):
            for i in range(50):
                conn.execute(
                    "INSERT INTO batches (created_at, description, field, mode) "
                    "VALUES (?, ?, 'genre', 'merge')",
                    (i, "x" * 4000),
                )
    message = str(info.value)
    assert "full" in message and "not a zsl-tagger" not in message and "\n" not in message
    assert isinstance(info.value, db.IndexError_) and isinstance(
        info.value, sqlite3.OperationalError
    )
    assert not conn.in_transaction
    assert conn.execute("SELECT description FROM batches").fetchall() == [("kept",)]
    with pytest.raises(db.IndexFullError):  # one statement in autocommit mode
        conn.execute(
            "INSERT INTO batches (created_at, description, field, mode) "
            "VALUES (0, ?, 'genre', 'merge')",
            ("y" * 40000,),
        )
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_disk_io_error_on_a_full_disk_says_full(tmp_path, monkeypatch):
    import shutil

    exc = sqlite3.OperationalError("disk I/O error")
    exc.sqlite_errorname = "SQLITE_IOERR_WRITE"
    error = db.translate_error(exc, str(tmp_path / "lib.sqlite3"))
    assert isinstance(error, db.IndexIOError) and "I/O" in str(error)
    monkeypatch.setattr(shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(100, 100, 0))
    error = db.translate_error(exc, str(tmp_path / "lib.sqlite3"))
    assert isinstance(error, db.IndexFullError) and "full" in str(error)
    syntax = sqlite3.OperationalError("near 'SELEC': syntax error")
    syntax.sqlite_errorname = "SQLITE_ERROR"
    assert db.translate_error(syntax, "x") is syntax  # a bug stays a bug


def test_a_corrupt_index_is_one_clear_line(tmp_path):
    path = tmp_path / "lib.sqlite3"
    conn = db.connect(path)
    with db.transaction(conn):
        for i in range(400):
            conn.execute(
                "INSERT INTO tracks (path, display_path, added_at) VALUES (?, ?, 0)",
                (f"/m/{i:05d}.mp3".encode() * 8, f"/m/{i}.mp3"),
            )
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(path.read_bytes())
    page = 4096
    for at in range(3 * page, len(data) - page, page):  # every page after the schema
        data[at : at + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))
    with pytest.raises(db.IndexDamagedError) as info:
        conn = db.connect(path)
        conn.execute("SELECT count(*), max(length(path)) FROM tracks").fetchall()
    assert "damaged" in str(info.value) and "\n" not in str(info.value)


def test_a_locked_index_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setattr(db, "BUSY_TIMEOUT_S", 0.2)
    path = tmp_path / "lib.sqlite3"
    holder = db.connect(path)
    holder.execute("BEGIN IMMEDIATE")
    other = db.connect(path)
    with pytest.raises(db.IndexLockedError) as info:
        with db.transaction(other):
            pass
    assert "locked" in str(info.value) and "\n" not in str(info.value)
    holder.execute("ROLLBACK")
