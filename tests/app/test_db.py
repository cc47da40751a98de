"""The index file: creation, one test per migration, refusals, path and array round trips."""

from __future__ import annotations

import os
import sqlite3

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
    conn.execute("INSERT INTO tracks (path, display_path, added_at) VALUES (?, ?, 0)", (b"/m/a.mp3", "/m/a.mp3"))
    conn.close()
    conn = db.connect(path)  # upgrades on open
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    assert "folders" in tables(conn)
    assert conn.execute("SELECT display_path FROM tracks").fetchall() == [("/m/a.mp3",)]


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
