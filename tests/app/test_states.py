"""app.states: the stored words for track, scan and journal states are the enums' values, and
every state the SQL in app/ names inline is one of them (a typo there would be a silent bug)."""

from __future__ import annotations

import re
from pathlib import Path

import app
from app import db
from app.states import ChangeStatus, ScanState, TrackStatus

APP = Path(app.__file__).parent


def test_values_are_the_strings_on_users_disks():
    assert [s.value for s in TrackStatus] == ["new", "ok", "failed", "gone"]
    assert [s.value for s in ScanState] == ["running", "done", "cancelled", "error", "interrupted"]
    assert [s.value for s in ChangeStatus] == ["pending", "written", "undone"]


def test_members_are_their_strings():
    assert TrackStatus.OK == "ok" and f"{TrackStatus.GONE}" == "gone"
    assert TrackStatus("failed") is TrackStatus.FAILED
    assert ChangeStatus("written") is ChangeStatus.WRITTEN


def test_a_member_is_stored_as_plain_text(tmp_path):
    conn = db.connect(tmp_path / "library.sqlite3")
    try:
        conn.execute(
            "INSERT INTO scans (folders, state, started_at) VALUES (?, ?, ?)",
            ("[]", ScanState.DONE, 0.0),
        )
        stored, kind = conn.execute("SELECT state, typeof(state) FROM scans").fetchone()
        assert (stored, kind) == ("done", "text")
        assert ScanState(stored) is ScanState.DONE
        default = {row[1]: row[4] for row in conn.execute("PRAGMA table_info(tracks)")}["status"]
        assert default.strip("'") == TrackStatus.NEW
    finally:
        conn.close()


_SQL_STATE = re.compile(
    r"\b(status|state)\s*(?:=|!=|IN|DEFAULT)\s*\(?((?:'[a-z_]+'(?:\s*,\s*)?)+)\)?", re.IGNORECASE
)


def sql_states() -> list[tuple[str, str, str]]:
    found: list[tuple[str, str, str]] = []
    for path in sorted(APP.rglob("*.py")):
        for column, words in _SQL_STATE.findall(path.read_text(encoding="utf-8")):
            found.extend((path.name, column.lower(), w) for w in re.findall(r"'([a-z_]+)'", words))
    return found


def test_sql_names_only_declared_states():
    found = sql_states()
    assert len(found) >= 10  # the scanner, the library, the journal, db and the CLI name states
    allowed = {
        "status": {s.value for s in TrackStatus} | {s.value for s in ChangeStatus},
        "state": {s.value for s in ScanState},
    }
    bad = [(name, column, word) for name, column, word in found if word not in allowed[column]]
    assert not bad
