"""Two undos of one batch at once (issue 13, journal durability): every file is put back by
exactly one of them, byte for byte, the journal ends consistent and neither fails.

The undos run in two spawned processes on the same index file, released together by a
barrier; with `slow`, each file restore takes a little longer (a slow disk), which makes the
window between reading the batch's rows and marking them wide enough that two unguarded undos
always overlap.
"""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest
from test_id3 import tagged_mp3, tagged_wave
from test_journal import IndexOnly
from test_mp4 import tagged_m4a
from test_vorbis import tagged_vorbis

from app import journal

DELAY_S = 0.03


def _undo_in_child(db_path: str, batch_id: int, barrier, results, slow: bool) -> None:
    """Runs in a spawned process: one undo of `batch_id`, its outcome put on `results`."""
    try:
        if slow:
            exact, fields = journal.restore_exact, journal.restore

            def slow_exact(*args, **kwargs):
                time.sleep(DELAY_S)
                return exact(*args, **kwargs)

            def slow_fields(*args, **kwargs):
                time.sleep(DELAY_S)
                return fields(*args, **kwargs)

            journal.restore_exact, journal.restore = slow_exact, slow_fields
        lib = IndexOnly(Path(db_path))
        barrier.wait(60)
        try:
            done = journal.undo(lib, batch_id)
        except journal.JournalError as exc:  # started after the other had finished: a clean line
            results.put(("journal-error", str(exc)))
        else:
            results.put(
                (
                    "ok",
                    done.restored,
                    done.exact,
                    done.elsewhere,
                    done.refused,
                    done.inexact,
                    done.marked_undone,
                    sorted(lib.refreshed),
                )
            )
        lib.conn.close()
    except BaseException as exc:  # anything else is a failure the test reports
        results.put(("error", f"{type(exc).__name__}: {exc}"))


def _files(folder: Path) -> list[Path]:
    folder.mkdir()
    return [
        tagged_mp3(folder / "a.mp3"),
        tagged_mp3(folder / "b.mp3", version=3),
        tagged_vorbis(folder / "c.flac", "flac"),
        tagged_vorbis(folder / "d.ogg", "ogg"),
        tagged_m4a(folder / "e.m4a"),
        tagged_wave(folder / "f.wav"),
        tagged_mp3(folder / "g.mp3", ape=False),
        tagged_vorbis(folder / "h.opus", "opus"),
    ]


@pytest.mark.parametrize("slow", [True, False], ids=["slow-restores", "plain"])
def test_two_concurrent_undos_restore_every_file_exactly_once(tmp_path: Path, slow: bool) -> None:
    files = _files(tmp_path / "music")
    original = {p: p.read_bytes() for p in files}
    lib = IndexOnly(tmp_path / "index.sqlite3")
    ids = [lib.add(p) for p in files]
    # Genre and mood to every file: two rows per file, which undo must take newest first.
    proposals = {tid: {"genre": ["Shoegaze", "Dream Pop"], "mood": ["Hazy"]} for tid in ids}
    planned = journal.plan_routed(lib, proposals)
    written = journal.write_batch(lib, planned, "genre+mood: concurrency")
    assert written.written == 2 * len(files) and written.failed == []
    batch_id = written.batch_id
    assert all(p.read_bytes() != original[p] for p in files)

    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    results = context.Queue()
    procs = [
        context.Process(
            target=_undo_in_child,
            args=(str(tmp_path / "index.sqlite3"), batch_id, barrier, results, slow),
        )
        for _ in range(2)
    ]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=180) for _ in procs]
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0

    errors = [o for o in outcomes if o[0] == "error"]
    assert errors == []
    rows = 2 * len(files)
    done = [o for o in outcomes if o[0] == "ok"]
    late = [o for o in outcomes if o[0] == "journal-error"]
    assert all("already undone" in o[1] for o in late)
    # Every row restored by exactly one undo, the other one saw it taken; nothing refused.
    assert sum(o[1] for o in done) == rows
    assert sum(o[2] for o in done) == rows  # all byte-exact
    if len(done) == 2:
        assert sum(o[3] for o in done) == rows  # what one restored, the other left
    assert all(o[4] == [] and o[5] == [] and o[6] for o in done)
    refreshed = set().union(*(o[7] for o in done))
    assert refreshed == set(ids)
    for p in files:
        assert p.read_bytes() == original[p], p

    # The journal: every row undone once, the batch marked undone, nothing pending or left.
    statuses = lib.conn.execute(
        "SELECT status, message FROM changes WHERE batch_id = ?", (batch_id,)
    ).fetchall()
    assert [s for s, _ in statuses] == ["undone"] * rows
    assert all("undo_refused" not in (m or "") for _, m in statuses)
    assert lib.conn.execute("SELECT undone_at FROM batches WHERE id = ?", (batch_id,)).fetchone()[0]
    assert [b.undone for b in journal.history(lib)] == [True]
    with pytest.raises(journal.JournalError, match="already undone"):
        journal.undo(lib, batch_id)
    lib.conn.close()


def test_an_undo_killed_after_restoring_a_file_leaves_a_row_the_next_undo_completes(
    tmp_path: Path, monkeypatch
) -> None:
    """The row's claim and the file's restore are one transaction: an undo that dies between
    putting the file back and marking the row leaves the row 'written', and the next undo
    finds the old values in place and marks it (no second change to the file)."""
    files = _files(tmp_path / "music")[:3]
    original = {p: p.read_bytes() for p in files}
    lib = IndexOnly(tmp_path / "index.sqlite3")
    ids = [lib.add(p) for p in files]
    planned = journal.plan_batch(lib, ids, "genre", {tid: ["Shoegaze"] for tid in ids})
    batch_id = journal.write_batch(lib, planned, "genre").batch_id
    real = journal.restore_exact
    calls = []

    def dies_after_the_second(*args, **kwargs):
        outcome = real(*args, **kwargs)
        calls.append(outcome.written)
        if len(calls) == 2:
            raise KeyboardInterrupt  # killed between the file's restore and the row's mark
        return outcome

    monkeypatch.setattr(journal, "restore_exact", dies_after_the_second)
    with pytest.raises(KeyboardInterrupt):
        journal.undo(lib, batch_id)
    monkeypatch.setattr(journal, "restore_exact", real)
    assert not lib.conn.in_transaction
    statuses = [
        r[0]
        for r in lib.conn.execute(
            "SELECT status FROM changes WHERE batch_id = ? ORDER BY id DESC", (batch_id,)
        )
    ]
    assert statuses == ["undone", "written", "written"]  # the second's mark rolled back
    done = journal.undo(lib, batch_id)
    assert (done.restored, done.refused) == (2, [])
    assert done.exact == 1 and done.inexact == []  # the interrupted one: found back, not rewritten
    for p in files:
        assert p.read_bytes() == original[p], p
    assert {
        r[0] for r in lib.conn.execute("SELECT status FROM changes WHERE batch_id = ?", (batch_id,))
    } == {"undone"}
    lib.conn.close()
