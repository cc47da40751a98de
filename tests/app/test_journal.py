"""The journal: batches of tag writes recorded in the index, undo that refuses files changed
since, history. Real files of every writable container, tagged with mutagen."""

from __future__ import annotations

import os
import sqlite3
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_id3 import tagged_mp3, tagged_wave
from test_mp4 import tagged_m4a
from test_vorbis import tagged_vorbis

from app import db, journal
from app.journal import PlannedChange
from app.routing import parse_routes
from app.tagformats import WriteOptions, open_tags
from app.tagwriter import apply_change, plan_write, read_field
from zsl_core.tagger import Prediction, TagScore
from zsl_core.tags import TagKind


@dataclass
class Row:
    id: int
    path: Path
    display_path: str
    status: str = "ok"


def add_track(conn: sqlite3.Connection, path: Path) -> int:
    """A track row for `path`, laid out as a scan stores it; its id."""
    cur = conn.execute(
        "INSERT INTO tracks (path, display_path, status, added_at) VALUES (?, ?, 'ok', ?)",
        (db.path_key(path), db.display(path), time.time()),
    )
    return db.inserted_id(cur)


class IndexOnly:
    """The part of app.library.Library the journal uses, over a real index file: the journal
    only needs the connection, track rows, stored predictions, refresh and the average track
    (`app.journal.JournalLibrary`, `TrackPredictions`)."""

    def __init__(self, db_path: Path) -> None:
        self.conn = db.connect(db_path)
        self.predictions: dict[int, Prediction] = {}
        self.refreshed: list[int] = []

    def add(self, path: Path) -> int:
        return add_track(self.conn, path)

    def track(self, track_id: int) -> Row:
        key, shown, status = self.conn.execute(
            "SELECT path, display_path, status FROM tracks WHERE id = ?", (track_id,)
        ).fetchone()
        return Row(track_id, db.path_from_key(key), shown, status)

    def prediction(self, track_id: int, top_k: int = 10, vocabulary=None) -> Prediction | None:
        p = self.predictions.get(track_id)
        if p is None:
            return None
        return Prediction(p.path, p.seen[:top_k], p.unseen[:top_k])

    def refresh(self, track_ids) -> None:
        self.refreshed.extend(track_ids)

    def tag_prior(self) -> None:
        return None  # no average track: proposals are ranked by confidence alone


def all_tags(path: Path) -> list[str]:
    """Every tag of a file as mutagen sees it, order-insensitive: 'equal to the original'."""
    tags = open_tags(path).audio.tags
    assert tags is not None, f"{path} has no tags"
    return sorted(repr(item) for item in tags.items())


@pytest.fixture
def lib(tmp_path: Path) -> Iterator[IndexOnly]:
    library = IndexOnly(tmp_path / "index.sqlite3")
    yield library
    library.conn.close()


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    music = tmp_path / "music"
    music.mkdir()
    return [
        tagged_mp3(music / "a.mp3"),
        tagged_vorbis(music / "b.flac", "flac"),
        tagged_m4a(music / "c.m4a"),
        tagged_wave(music / "d.wav"),
    ]


def test_propose_ranks_by_confidence_and_routes_each_kind_to_its_field(
    lib: IndexOnly, tmp_path: Path
) -> None:
    G, M, INS = TagKind.GENRE, TagKind.MOOD, TagKind.INSTRUMENT
    tid = lib.add(tmp_path / "x.wav")
    lib.predictions[tid] = Prediction(
        "x",
        seen=[
            TagScore("rock", 0.9, True, G),
            TagScore("Pop", 0.5, True, G),
            TagScore("sad", 0.4, True, M),
            TagScore("guitar", 0.8, True, INS),
            TagScore("jazz", 0.1, True, G),
        ],
        unseen=[
            TagScore("pop", 0.7, False, G),
            TagScore("hip hop", 0.6, False, G),
            TagScore("melancholic", 0.3, False, M),
        ],
    )
    # One scale: "pop" (0.7, new) before "Pop" (0.5, seen; the same tag): genres to genre, moods
    # to mood, instruments nowhere; listeners' spelling.
    assert journal.propose(lib, tid, top_k=3) == {
        "genre": ["Rock", "Pop", "Hip-Hop"],
        "mood": ["Sad", "Melancholic"],
    }
    assert journal.propose(lib, tid, top_k=2, include="seen") == {
        "genre": ["Rock", "Pop"],
        "mood": ["Sad"],
    }
    assert journal.propose(lib, tid, top_k=5, include="unseen") == {
        "genre": ["Pop", "Hip-Hop"],
        "mood": ["Melancholic"],
    }
    assert journal.propose(lib, tid, top_k=5, min_score=0.55) == {
        "genre": ["Rock", "Pop", "Hip-Hop"]
    }
    routes = parse_routes(["instrument=grouping", "mood=none"])
    assert journal.propose(lib, tid, top_k=2, routes=routes) == {
        "genre": ["Rock", "Pop"],
        "grouping": ["guitar"],
    }
    assert journal.propose(lib, tid, top_k=2, field="comment") == {"comment": ["Rock", "guitar"]}
    assert journal.propose(lib, lib.add(tmp_path / "y.wav")) == {}  # not analysed
    with pytest.raises(ValueError):
        journal.propose(lib, tid, include="all")  # type: ignore[arg-type]  # refused at run time


def test_plan_routed_plans_one_change_per_file_and_field(lib: IndexOnly, files: list[Path]) -> None:
    ids = [lib.add(p) for p in files[:2]]
    proposals = {
        ids[0]: {"genre": ["Rock"], "mood": ["Sad"]},
        ids[1]: {"genre": [], "mood": ["Calm"]},
    }
    planned = journal.plan_routed(lib, proposals)
    assert [(p.track_id, p.field) for p in planned] == [
        (ids[0], "genre"),
        (ids[0], "mood"),
        (ids[1], "mood"),
    ]
    assert all(p.changed and p.error is None for p in planned)
    assert planned[1].new[-1] == "Sad"  # merged after what the file holds


def test_write_then_undo_restores_every_file(lib: IndexOnly, files: list[Path]) -> None:
    before = {p: all_tags(p) for p in files}
    ids = [lib.add(p) for p in files]
    tags = {tid: ["Shoegaze", "Dream Pop"] for tid in ids}
    planned = journal.plan_batch(lib, ids, "genre", tags, mode="merge")
    assert all(item.changed and item.error is None for item in planned)
    assert [item.display_path for item in planned] == [str(p) for p in files]
    assert all(item.new[-2:] == ["Shoegaze", "Dream Pop"] for item in planned)
    result = journal.write_batch(lib, planned, "genre: test")
    assert (result.written, result.unchanged, result.failed) == (4, 0, [])
    assert sorted(lib.refreshed) == sorted(ids)
    for item in planned:
        assert item.path is not None
        assert read_field(item.path, "genre") == item.new
    rows = lib.conn.execute(
        "SELECT status, old_values, new_values FROM changes WHERE batch_id = ?", (result.batch_id,)
    ).fetchall()
    assert len(rows) == 4 and {r[0] for r in rows} == {"written"}

    done = journal.undo(lib)
    assert (done.batch_id, done.restored, done.refused) == (result.batch_id, 4, [])
    for p in files:
        assert all_tags(p) == before[p], p
    with pytest.raises(journal.JournalError, match="nothing to undo"):
        journal.undo(lib)
    with pytest.raises(journal.JournalError, match="already undone"):
        journal.undo(lib, result.batch_id)


def test_replace_and_custom_field_round_trip(lib: IndexOnly, files: list[Path]) -> None:
    before = {p: all_tags(p) for p in files}
    ids = [lib.add(p) for p in files]
    for field in ("mood", "custom:Energy"):
        planned = journal.plan_batch(lib, ids, field, {t: ["calm"] for t in ids}, mode="replace")
        assert journal.write_batch(lib, planned, field).written == 4
        assert all(read_field(p, field) == ["calm"] for p in files)
    assert journal.undo(lib).restored == 4
    assert journal.undo(lib).restored == 4
    for p in files:
        assert all_tags(p) == before[p], p


def test_id3v23_batch_undoes_with_its_own_options(lib: IndexOnly, tmp_path: Path) -> None:
    path = tagged_mp3(tmp_path / "v23.mp3", version=3)
    before = all_tags(path)
    tid = lib.add(path)
    options = WriteOptions(id3_version=3, id3_separator=" / ")
    planned = journal.plan_batch(lib, [tid], "genre", {tid: ["Drum", "Bass"]}, options=options)
    assert journal.write_batch(lib, planned, "v2.3", options=options).written == 1
    assert read_field(path, "genre", options)[-2:] == ["Drum", "Bass"]
    assert journal.undo(lib).restored == 1  # no options given: the batch's own are used
    assert all_tags(path) == before


def test_undo_refuses_a_file_changed_since(lib: IndexOnly, files: list[Path]) -> None:
    ids = [lib.add(p) for p in files[:2]]
    planned = journal.plan_batch(
        lib, ids, "grouping", {t: ["Evening"] for t in ids}, mode="replace"
    )
    batch = journal.write_batch(lib, planned, "grouping").batch_id
    # someone else edits the first file after our write
    edit = plan_write(files[0], "grouping", ["Mine"], mode="replace")
    assert apply_change(edit).written
    done = journal.undo(lib)
    assert done.restored == 1
    assert len(done.refused) == 1 and done.refused[0][0] == str(files[0])
    assert "changed by someone else" in done.refused[0][1]
    assert read_field(files[0], "grouping") == ["Mine"]  # their edit wins
    assert read_field(files[1], "grouping") == planned[1].old
    assert journal.history(lib)[0].undone
    # undoing the batch again by number retries only the refused file (still refused here)
    again = journal.undo(lib, batch)
    assert (again.restored, len(again.refused)) == (0, 1)


def test_read_only_file_is_reported_and_others_written(lib: IndexOnly, files: list[Path]) -> None:
    ids = [lib.add(p) for p in files]
    locked = files[1]
    os.chmod(locked, stat.S_IRUSR | stat.S_IRGRP)
    try:
        before = locked.read_bytes()
        planned = journal.plan_batch(lib, ids, "genre", {t: ["Ambient"] for t in ids})
        result = journal.write_batch(lib, planned, "genre")
        assert result.written == 3
        assert result.failed == [(str(locked), result.failed[0][1])]
        assert "read-only" in result.failed[0][1]
        assert locked.read_bytes() == before
        assert journal.history(lib)[0].n_files == 3
        assert lib.conn.execute("SELECT COUNT(*) FROM changes").fetchone()[0] == 3
    finally:
        os.chmod(locked, stat.S_IRUSR | stat.S_IWUSR)


def test_unchanged_errors_and_nothing_written(
    lib: IndexOnly, files: list[Path], tmp_path: Path
) -> None:
    good = lib.add(files[1])
    bad_path = tmp_path / "not-audio.mp3"
    bad_path.write_bytes(b"hello, not audio" * 10)
    bad = lib.add(bad_path)
    current = read_field(files[1], "genre")
    planned = journal.plan_batch(lib, [good, bad], "genre", {good: current[:1], bad: ["x"]})
    assert not planned[0].changed and planned[0].error is None
    assert planned[1].error and not planned[1].changed
    result = journal.write_batch(lib, planned, "nothing")
    assert (result.batch_id, result.written, result.unchanged) == (None, 0, 1)
    assert result.failed[0][0] == str(bad_path)
    assert journal.history(lib) == []
    # an empty proposal never clears a field, even with replace
    planned = journal.plan_batch(lib, [good], "genre", {good: []}, mode="replace")
    assert planned[0].new == current and not planned[0].changed


def test_planning_writes_nothing(lib: IndexOnly, files: list[Path]) -> None:
    snapshot = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files}
    ids = [lib.add(p) for p in files]
    planned = journal.plan_batch(
        lib, ids, "comment", {t: ["new comment"] for t in ids}, mode="replace"
    )
    assert all(isinstance(item, PlannedChange) and item.changed for item in planned)
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files} == snapshot
    assert lib.conn.execute("SELECT COUNT(*) FROM batches").fetchone()[0] == 0


def test_planned_then_changed_before_write_is_refused(lib: IndexOnly, files: list[Path]) -> None:
    tid = lib.add(files[0])
    planned = journal.plan_batch(lib, [tid], "mood", {tid: ["happy"]}, mode="replace")
    assert apply_change(plan_write(files[0], "mood", ["sad"], mode="replace")).written
    result = journal.write_batch(lib, planned, "mood")
    assert result.written == 0 and "changed by someone else" in result.failed[0][1]
    assert read_field(files[0], "mood") == ["sad"]


def test_history_lists_newest_first(lib: IndexOnly, files: list[Path]) -> None:
    ids = [lib.add(p) for p in files[:3]]
    first = journal.write_batch(
        lib, journal.plan_batch(lib, ids, "genre", {t: ["A"] for t in ids}), "first"
    )
    second = journal.write_batch(
        lib,
        journal.plan_batch(lib, ids[:1], "custom:Vibe", {ids[0]: ["B"]}, mode="replace"),
        "second",
    )
    journal.undo(lib)
    infos = journal.history(lib)
    assert [(i.batch_id, i.description, i.field, i.n_files, i.undone, i.mode) for i in infos] == [
        (second.batch_id, "second", "custom:Vibe", 1, True, "replace"),
        (first.batch_id, "first", "genre", 3, False, "merge"),
    ]
    assert infos[0].time >= infos[1].time > 0
    assert len(journal.history(lib, limit=1)) == 1


def test_pending_row_of_a_killed_write_undoes_cleanly(lib: IndexOnly, files: list[Path]) -> None:
    """A process killed between journaling and writing leaves a pending row; undo copes."""
    tid = lib.add(files[1])
    planned = journal.plan_batch(lib, [tid], "genre", {tid: ["Noise"]})
    result = journal.write_batch(lib, planned, "genre")
    # the same batch also holds a pending row whose file was never written
    lib.conn.execute(
        "INSERT INTO changes (batch_id, track_id, path, field, old_values, new_values, status,"
        " changed_at) VALUES (?, NULL, ?, 'genre', '[\"Jazz\"]', '[\"Jazz\", \"X\"]', 'pending',"
        " ?)",
        (result.batch_id, db.path_key(files[2]), time.time()),
    )
    done = journal.undo(lib)
    assert (done.restored, done.refused) == (2, [])
    assert read_field(files[1], "genre") == planned[0].old


def test_with_the_real_library_the_table_follows_writes_and_undo(
    tmp_path: Path, files: list[Path]
) -> None:
    """app.library.Library (no model needed for this): refresh re-reads the written files."""
    from app.library import Library

    with Library(tmp_path / "real.sqlite3") as library:
        ids = [add_track(library.conn, p) for p in files[1:3]]  # same row layout as a scan
        planned = journal.plan_batch(
            library, ids, "genre", {t: ["Krautrock"] for t in ids}, mode="replace"
        )
        assert journal.write_batch(library, planned, "genre").written == 2
        assert [library.track(t).genre for t in ids] == ["Krautrock", "Krautrock"]
        assert journal.undo(library).restored == 2
        assert [library.track(t).genre for t in ids] == ["; ".join(p.old) for p in planned]
        missing = journal.plan_batch(library, [9999], "genre", {9999: ["x"]})
        assert missing[0].error == "not in the library index"


# -- byte-exact undo, renames and moves, the preview's checks -----------------------------------


def test_undo_is_byte_exact_also_for_two_fields_written_to_one_file(
    lib: IndexOnly, files: list[Path]
) -> None:
    before = {p: p.read_bytes() for p in files}
    ids = [lib.add(p) for p in files]
    proposals = {t: {"genre": ["Shoegaze"], "mood": ["Dreamy"]} for t in ids}
    planned = journal.plan_routed(lib, proposals, mode="replace")
    result = journal.write_batch(lib, planned, "genre+mood")
    assert result.written == 8  # two consecutive safe writes per file
    rows = lib.conn.execute(
        "SELECT undo_before, undo_after, length(undo_delta) FROM changes WHERE batch_id = ?",
        (result.batch_id,),
    ).fetchall()
    assert all(b and a and 0 < n <= 1 << 20 for b, a, n in rows)
    done = journal.undo(lib)
    assert (done.restored, done.exact, done.inexact, done.refused) == (8, 8, [], [])
    for p in files:
        assert p.read_bytes() == before[p], p
    assert not [n for n in os.listdir(files[0].parent) if n.endswith(".zsl-tmp")]


def test_undo_of_a_file_changed_since_restores_the_field_and_says_so(
    lib: IndexOnly, files: list[Path]
) -> None:
    ids = [lib.add(p) for p in files[:2]]
    planned = journal.plan_batch(lib, ids, "genre", {t: ["Polka"] for t in ids}, mode="replace")
    journal.write_batch(lib, planned, "genre")
    # another program changes another field of the first file: the bytes are no longer ours
    assert apply_change(plan_write(files[0], "comment", ["theirs"], mode="replace")).written
    done = journal.undo(lib)
    assert (done.restored, done.exact, done.refused) == (2, 1, [])
    assert [shown for shown, _ in done.inexact] == [str(files[0])]
    assert "changed since the write" in done.inexact[0][1]
    assert read_field(files[0], "genre") == planned[0].old
    assert read_field(files[0], "comment") == ["theirs"]  # their edit stays


def _moved(lib: IndexOnly, track_id: int, path: Path, to: Path) -> Path:
    """What the scan does for a moved file: the track keeps its id, its path follows."""
    to.parent.mkdir(parents=True, exist_ok=True)
    os.rename(path, to)
    lib.conn.execute(
        "UPDATE tracks SET path = ?, display_path = ? WHERE id = ?",
        (db.path_key(to), db.display(to), track_id),
    )
    return to


def test_undo_follows_the_track_through_renames_and_moves(
    lib: IndexOnly, files: list[Path]
) -> None:
    before = [p.read_bytes() for p in files]
    ids = [lib.add(p) for p in files]
    journal.write_batch(
        lib,
        journal.plan_batch(lib, ids, "genre", {t: ["Dub"] for t in ids}, mode="replace"),
        "genre",
    )
    renamed = _moved(lib, ids[0], files[0], files[0].with_name("01 - Renamed.mp3"))
    moved = _moved(lib, ids[1], files[1], files[1].parent / "sub" / files[1].name)
    done = journal.undo(lib)
    assert (done.restored, done.exact, done.refused) == (4, 4, [])
    assert [
        renamed.read_bytes(),
        moved.read_bytes(),
        files[2].read_bytes(),
        files[3].read_bytes(),
    ] == before


def test_a_batch_whose_files_all_vanished_is_not_marked_undone(
    lib: IndexOnly, files: list[Path], tmp_path: Path
) -> None:
    before = files[0].read_bytes()
    ids = [lib.add(p) for p in files[:2]]
    batch = journal.write_batch(
        lib, journal.plan_batch(lib, ids, "genre", {t: ["Dub"] for t in ids}), "genre"
    ).batch_id
    aside = tmp_path / "aside"
    aside.mkdir()
    for p in files[:2]:
        os.rename(p, aside / p.name)
    done = journal.undo(lib)
    assert (done.restored, done.missing, done.marked_undone) == (0, 2, False)
    assert all("not found" in reason for _, reason in done.refused)
    assert not journal.history(lib)[0].undone
    for p in files[:2]:  # back where they were: the same batch undoes now
        os.rename(aside / p.name, p)
    again = journal.undo(lib)
    assert (again.batch_id, again.restored, again.exact) == (batch, 2, 2)
    assert files[0].read_bytes() == before and journal.history(lib)[0].undone


def test_the_preview_reports_every_file_the_write_would_refuse(
    lib: IndexOnly, files: list[Path]
) -> None:
    import fcntl

    ids = [lib.add(p) for p in files]
    os.chmod(files[0], stat.S_IRUSR)
    holder = os.open(files[2], os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)  # another program mid-write
    try:
        planned = journal.plan_batch(lib, ids, "genre", {t: ["Dub"] for t in ids})
        errors = [item.error for item in planned]
        assert "read-only" in (errors[0] or "") and "locked" in (errors[2] or "")
        assert errors[1] is None and errors[3] is None
        result = journal.write_batch(lib, planned, "genre")
        assert result.written == 2 and len(result.failed) == 2
    finally:
        os.close(holder)
        os.chmod(files[0], stat.S_IRUSR | stat.S_IWUSR)


@pytest.mark.parametrize(
    "field, refused",
    [("custom:Énergie", {1, 2}), ("custom:能量", {1, 2}), ("custom:Energy Level", set())],
)
def test_a_custom_field_one_format_cannot_hold_is_refused_for_that_file_only(
    lib: IndexOnly, files: list[Path], field: str, refused: set[int]
) -> None:
    """Vorbis comment and MP4 freeform names are ASCII; ID3 (TXXX) and WAV's ID3 hold any."""
    ids = [lib.add(p) for p in files]
    before = [p.read_bytes() for p in files]
    planned = journal.plan_batch(lib, ids, field, {t: ["hoch"] for t in ids}, mode="replace")
    assert {i for i, item in enumerate(planned) if item.error} == refused
    assert all("cannot hold field" in (planned[i].error or "") for i in refused)
    result = journal.write_batch(lib, planned, field)
    assert result.written == 4 - len(refused) and len(result.failed) == len(refused)
    for i, p in enumerate(files):
        if i in refused:
            assert p.read_bytes() == before[i]
        else:
            assert read_field(p, field) == ["hoch"]
    # the write itself refuses too (a plan made elsewhere), with the same line
    from app.tagwriter import Change

    for i in refused:
        outcome = apply_change(Change(files[i], field, [], ["x"]))
        assert not outcome.written and outcome.error == planned[i].error


def test_a_change_too_large_to_keep_falls_back_to_the_field_values(
    lib: IndexOnly, files: list[Path], monkeypatch
) -> None:
    import app.tagwriter

    monkeypatch.setattr(app.tagwriter, "UNDO_LIMIT", 8)  # every delta is "too large"
    tid = lib.add(files[0])
    planned = journal.plan_batch(lib, [tid], "genre", {tid: ["Dub"]}, mode="replace")
    journal.write_batch(lib, planned, "genre")
    assert lib.conn.execute(
        "SELECT undo_delta IS NULL, undo_before IS NOT NULL FROM changes"
    ).fetchone() == (1, 1)
    done = journal.undo(lib)
    assert (done.restored, done.exact, done.refused) == (1, 0, [])
    assert "no byte-exact record" in done.inexact[0][1]
    assert read_field(files[0], "genre") == planned[0].old
