"""app.scanner on real files with the real default model: what is analysed, skipped, moved, gone.

Scans use 2 windows per track and mostly `workers=0` (the same jobs in this process) to stay
fast; one test runs the spawn worker pool. Where a test claims "nothing was decoded", the
worker functions are replaced by ones that fail the test if called.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import audio_factory
import numpy as np
import pytest
from libfixtures import corrupt_files, cut_ogg, png_bytes, tag_file, write_track

from app import db, scanner
from app.scanner import ScanProgress, scan, walk
from zsl_core.default_model import load_default_tagger

WINDOWS = 2


@pytest.fixture(scope="module")
def tagger():
    return load_default_tagger(device="cpu")


@pytest.fixture
def conn(tmp_path: Path):
    connection = db.connect(tmp_path / "index.sqlite3")
    yield connection
    connection.close()


def _run(conn, tagger, folders, **kwargs):
    kwargs.setdefault("n_windows", WINDOWS)
    kwargs.setdefault("workers", 0)
    return scan(conn, tagger, "default", folders, **kwargs)


def _rows(conn) -> dict[str, tuple]:
    rows = conn.execute("SELECT display_path, id, status, error FROM tracks").fetchall()
    return {Path(r[0]).name: r[1:] for r in rows}


def _n_results(conn, track_id: int) -> int:
    row = conn.execute("SELECT COUNT(*) FROM results WHERE track_id = ?", (track_id,)).fetchone()
    return int(row[0])


def _forbid_work(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError(f"unexpected work on {args[0]!r}")

    monkeypatch.setattr(scanner, "decode_file", refuse)
    monkeypatch.setattr(scanner, "probe_file", refuse)


def _forbid_decode(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError(f"unexpected decode of {args[0]!r}")

    monkeypatch.setattr(scanner, "decode_file", refuse)


def _library(root: Path) -> None:
    write_track(
        root / "tone.flac",
        6.0,
        kind="tone",
        title="Tone",
        artist="A",
        genre=["Ambient"],
        cover=png_bytes(),
    )
    write_track(root / "noise.mp3", 6.0, kind="noise", title="Noise", mood=["loud"])
    (root / "sub").mkdir()
    write_track(root / "sub" / "chirp.ogg", 6.0, kind="chirp")


# --- walking --------------------------------------------------------------------------------


def test_walk_follows_links_once_and_handles_odd_names(tmp_path: Path) -> None:
    root = tmp_path / "music"
    (root / "a" / "deep").mkdir(parents=True)
    write_track(root / "a" / "one.wav", 1.0)
    write_track(root / "a" / "deep" / "two.flac", 1.0)
    (root / "a" / "deep" / "loop").symlink_to(root)  # a link back to the top
    (root / "also_a").symlink_to(root / "a")  # a second way into the same folder
    raw = os.fsencode(root) + b"/caf\xe9 \xff.wav"  # not valid UTF-8
    write_track(raw, 1.0)
    (root / "notes.txt").write_text("not audio")
    (root / "._one.wav").write_bytes(b"resource fork")
    (root / ".one.wav.ab12.zsl-tmp").write_bytes(b"temp copy")
    (root / "broken.mp3").symlink_to(root / "missing.mp3")
    result = walk([root])
    names = sorted(os.path.basename(f.path) for f in result.files)
    assert names == [b"caf\xe9 \xff.wav", b"one.wav", b"two.flac"]
    assert all(isinstance(f.path, bytes) and f.size > 0 and f.mtime_ns > 0 for f in result.files)
    assert any("symlink loop" in reason for _, reason in result.skipped)
    assert result.roots == [db.path_key(root)]


@pytest.mark.permissions
def test_walk_reports_missing_and_unreadable_folders(tmp_path: Path) -> None:
    result = walk([tmp_path / "nope"])
    assert result.files == [] and result.roots == []
    assert result.skipped == [(str(tmp_path / "nope"), "not found")]
    if os.geteuid() == 0:
        pytest.skip("root reads every folder: permission checks cannot be exercised")
    locked = tmp_path / "locked"
    locked.mkdir()
    write_track(locked / "x.wav", 1.0)
    write_track(tmp_path / "open.wav", 1.0)
    locked.chmod(0)
    try:
        result = walk([tmp_path])
    finally:
        locked.chmod(0o755)
    assert [os.path.basename(f.path) for f in result.files] == [b"open.wav"]
    assert (str(locked), "permission denied") in result.skipped


# --- scanning -------------------------------------------------------------------------------


def test_mixed_folder_with_worker_pool(tmp_path: Path, conn, tagger) -> None:
    root = tmp_path / "music"
    root.mkdir()
    _library(root)
    corrupt_files(root / "bad")
    events: list[ScanProgress] = []
    stored: list[int] = []
    summary = _run(conn, tagger, [root], workers=2, progress=events.append, on_track=stored.append)
    assert summary.scanned == 3 and summary.unchanged == 0 and not summary.cancelled
    failed = dict((Path(p).name, reason) for p, reason in summary.failed)
    assert set(failed) == {"empty.mp3", "random.flac", "text.wav", "truncated.wav"}
    assert failed["empty.mp3"] == "empty file (0 bytes)"
    assert "truncated" in failed["truncated.wav"]
    assert all(reason and "\n" not in reason for reason in failed.values())
    rows = _rows(conn)
    assert {name for name, (_, status, _) in rows.items() if status == "ok"} == {
        "tone.flac",
        "noise.mp3",
        "chirp.ogg",
    }
    assert all(rows[name][1] == "failed" and rows[name][2] == failed[name] for name in failed)
    assert sorted(stored) == sorted(r[0] for r in rows.values())
    # progress: monotonic, ends complete
    assert [e.done for e in events] == sorted(e.done for e in events)
    assert events[-1].done == events[-1].total == 7 and events[-1].eta == 0.0
    # metadata cached for the table view
    title, genre, mood, cover, duration = conn.execute(
        "SELECT title, genre, mood, has_cover, duration FROM tracks WHERE display_path LIKE '%tone.flac'"
    ).fetchone()
    assert (title, genre, mood, cover) == (
        "Tone",
        "Ambient",
        None,
        1,
    ) and duration == pytest.approx(6.0, abs=0.1)
    # results: 71 float16 seen scores per ok track; the built-in model's embedding is derived
    model_id = conn.execute("SELECT id FROM models WHERE name = 'default'").fetchone()[0]
    results = conn.execute(
        "SELECT embedding, seen_scores, n_windows, fingerprint FROM results WHERE model_id = ?",
        (model_id,),
    ).fetchall()
    assert len(results) == 3
    for emb, scores, n_windows, fingerprint in results:
        assert len(emb) == 0 and len(scores) == 2 * len(tagger.seen_labels) == 2 * 71
        assert n_windows == WINDOWS and fingerprint
        assert np.all((db.from_blob(scores) >= 0) & (db.from_blob(scores) <= 1))
    state, scanned, failed_count = conn.execute(
        "SELECT state, scanned, failed FROM scans WHERE id = ?", (summary.scan_id,)
    ).fetchone()
    assert (state, scanned, failed_count) == ("done", 3, 4)
    assert conn.execute("SELECT display_path, last_scan_id FROM folders").fetchall() == [
        (str(root), summary.scan_id)
    ]


def test_rescan_is_incremental(tmp_path: Path, conn, tagger, monkeypatch) -> None:
    root = tmp_path / "music"
    root.mkdir()
    _library(root)
    corrupt_files(root / "bad")
    _run(conn, tagger, [root])
    before = _rows(conn)
    emb_before = dict(conn.execute("SELECT track_id, seen_scores FROM results"))

    with monkeypatch.context() as m:  # nothing changed: nothing is even opened
        _forbid_work(m)
        again = _run(conn, tagger, [root])
    assert (again.scanned, again.unchanged, again.moved, again.gone, again.failed) == (
        0,
        7,
        0,
        0,
        [],
    )
    assert _rows(conn) == before

    # tags edited (not the audio): metadata refreshed, no decode
    tag_file(root / "noise.mp3", title="Renamed")
    with monkeypatch.context() as m:
        _forbid_decode(m)
        retagged = _run(conn, tagger, [root])
    assert (retagged.updated, retagged.scanned, retagged.unchanged) == (1, 0, 6)
    assert (
        conn.execute("SELECT title FROM tracks WHERE display_path LIKE '%noise.mp3'").fetchone()[0]
        == "Renamed"
    )

    # audio replaced: analysed again, same row
    write_track(root / "sub" / "chirp.ogg", 6.0, kind="noise", seed=3)
    changed = _run(conn, tagger, [root])
    assert (changed.scanned, changed.unchanged) == (1, 6)
    chirp_id = before["chirp.ogg"][0]
    assert _rows(conn)["chirp.ogg"][0] == chirp_id
    emb_after = dict(conn.execute("SELECT track_id, seen_scores FROM results"))
    assert emb_after[chirp_id] != emb_before[chirp_id]
    assert all(emb_after[i] == emb_before[i] for i in emb_before if i != chirp_id)


def test_moved_file_keeps_its_row_and_deleted_file_is_gone(
    tmp_path: Path, conn, tagger, monkeypatch
) -> None:
    root = tmp_path / "music"
    root.mkdir()
    _library(root)
    _run(conn, tagger, [root])
    tone_id = _rows(conn)["tone.flac"][0]
    journal = conn.execute(  # a write recorded against the track must survive the move
        "INSERT INTO batches (created_at, description, field, mode) VALUES (0, 'test', 'genre', 'merge')"
    ).lastrowid
    conn.execute(
        "INSERT INTO changes (batch_id, track_id, path, field, old_values, new_values, status,"
        " changed_at) VALUES (?, ?, x'00', 'genre', '[]', '[\"x\"]', 'written', 0)",
        (journal, tone_id),
    )
    (root / "moved").mkdir()
    shutil.move(root / "tone.flac", root / "moved" / "renamed tone.flac")
    (root / "noise.mp3").unlink()
    with monkeypatch.context() as m:
        _forbid_decode(m)
        summary = _run(conn, tagger, [root])
    assert (summary.moved, summary.gone, summary.scanned) == (1, 1, 0)
    rows = _rows(conn)
    assert rows["renamed tone.flac"][:2] == (tone_id, "ok")
    assert "tone.flac" not in rows
    assert rows["noise.mp3"][1] == "gone"
    assert (
        conn.execute("SELECT COUNT(*) FROM results WHERE track_id = ?", (tone_id,)).fetchone()[0]
        == 1
    )
    assert conn.execute("SELECT track_id FROM changes").fetchone()[0] == tone_id
    # a copy of analysed audio borrows its results instead of being decoded
    shutil.copy(root / "moved" / "renamed tone.flac", root / "copy.flac")
    with monkeypatch.context() as m:
        _forbid_decode(m)
        copied = _run(conn, tagger, [root])
    assert copied.scanned == 1 and copied.moved == 0
    copy_id = _rows(conn)["copy.flac"][0]
    assert copy_id != tone_id
    emb = dict(conn.execute("SELECT track_id, seen_scores FROM results"))
    assert emb[copy_id] == emb[tone_id]
    # the deleted file coming back unchanged is simply ok again
    write_track(root / "noise.mp3", 6.0, kind="noise", title="Noise", mood=["loud"])
    back = _run(conn, tagger, [root])
    assert _rows(conn)["noise.mp3"][1] == "ok" and back.gone == 0


def test_missing_root_marks_nothing_gone(tmp_path: Path, conn, tagger) -> None:
    root = tmp_path / "drive"
    root.mkdir()
    write_track(root / "a.wav", 4.0)
    _run(conn, tagger, [root])
    shutil.rmtree(root)  # like an unmounted drive
    summary = _run(conn, tagger, [root])
    assert summary.gone == 0 and summary.skipped == [(str(root), "not found")]
    assert _rows(conn)["a.wav"][1] == "ok"


def test_cancel_keeps_finished_work_and_resume_does_the_rest(tmp_path: Path, conn, tagger) -> None:
    root = tmp_path / "music"
    root.mkdir()
    for i in range(4):
        write_track(root / f"t{i}.wav", 4.0, kind=("tone", "noise", "chirp", "noise")[i], seed=i)
    cancel = threading.Event()
    stored: list[int] = []

    def stop_after_first(track_id: int) -> None:
        stored.append(track_id)
        cancel.set()

    first = _run(conn, tagger, [root], cancel=cancel, on_track=stop_after_first)
    assert first.cancelled and 1 <= first.scanned < 4
    assert (
        conn.execute("SELECT state FROM scans WHERE id = ?", (first.scan_id,)).fetchone()[0]
        == "cancelled"
    )
    assert conn.execute("SELECT COUNT(*) FROM results").fetchone()[0] == first.scanned
    resumed = _run(conn, tagger, [root])
    assert not resumed.cancelled
    assert resumed.unchanged == first.scanned and resumed.scanned == 4 - first.scanned
    assert {r[1] for r in _rows(conn).values()} == {"ok"}


def test_non_utf8_file_name_round_trips(tmp_path: Path, conn, tagger) -> None:
    root = tmp_path / "music"
    root.mkdir()
    raw = os.fsencode(root) + b"/\xff\xfe caf\xe9.flac"
    write_track(raw, 4.0, fmt="flac", title="Odd")
    summary = _run(conn, tagger, [root])
    assert summary.scanned == 1 and summary.failed == []
    path, shown, title = conn.execute("SELECT path, display_path, title FROM tracks").fetchone()
    assert bytes(path) == raw and "\ufffd" in shown and title == "Odd"
    assert db.path_from_key(bytes(path)).exists()


def test_full_track_mode_and_model_switch(tmp_path: Path, conn, tagger) -> None:
    root = tmp_path / "music"
    root.mkdir()
    write_track(root / "a.wav", 4.0)
    _run(conn, tagger, [root], n_windows=0)
    assert conn.execute("SELECT n_windows FROM results").fetchone()[0] is None
    # the same files under another model name are analysed again, the first results kept
    other = scan(conn, tagger, "default-copy", [root], n_windows=WINDOWS, workers=0)
    assert other.scanned == 1
    assert conn.execute("SELECT COUNT(*) FROM results").fetchone()[0] == 2


OGG_CUT = "damaged: malformed Ogg stream: unable to read full data"


def test_probe_finds_a_cut_ogg_damaged_and_a_plain_wav_not(tmp_path: Path, tagger) -> None:
    """The rule (app.scanner's doc): mutagen reads the cut file's tags, its audio even decodes
    in part, but its stream cannot be walked to the end, so it is damaged. Healthy files and a
    WAV without any tag are not."""
    cut, whole = cut_ogg(tmp_path / "cut.ogg", title="Cut Short")
    probe = scanner.probe_file(os.fsencode(cut))
    assert probe.damage == OGG_CUT and probe.error is None
    assert probe.metadata.title == "Cut Short" and probe.fingerprint
    assert scanner.decode_file(os.fsencode(cut), WINDOWS, tagger.input_spec)[0] != "error"
    (tmp_path / "whole.ogg").write_bytes(whole)
    plain = audio_factory.write_tone(tmp_path / "plain.wav", 2.0)
    tagged = write_track(tmp_path / "tagged.flac", 2.0, fmt="flac", title="T")
    for path in (tmp_path / "whole.ogg", plain, tagged):
        probe = scanner.probe_file(os.fsencode(path))
        assert (probe.damage, probe.error, probe.metadata.error) == (None, None, None), path
        assert probe.fingerprint and not probe.fingerprint.startswith("file:")


def test_a_damaged_file_is_failed_with_its_reason_until_a_good_copy_replaces_it(
    tmp_path: Path, conn, tagger, monkeypatch
) -> None:
    """The demo folder's broken/truncated.ogg was analysed as an ordinary track (0:01, three
    genres proposed) and only a later write said it was damaged. Now it is failed with its
    reason, keeps its tags for the table, has no results (nothing to propose), is left alone
    while unchanged, and a good copy put in its place is analysed and ok."""
    root = tmp_path / "music"
    root.mkdir()
    cut, whole = cut_ogg(root / "cut.ogg", title="Cut Short", artist="Someone")
    write_track(root / "fine.ogg", 6.0, kind="noise", title="Fine")
    audio_factory.write_tone(root / "plain.wav", 4.0)
    summary = _run(conn, tagger, [root])
    assert summary.failed == [(str(cut), OGG_CUT)] and summary.scanned == 2
    rows = _rows(conn)
    assert rows["cut.ogg"][1:] == ("failed", OGG_CUT)
    assert rows["fine.ogg"][1:] == rows["plain.wav"][1:] == ("ok", None)
    cut_id = rows["cut.ogg"][0]
    kept = conn.execute("SELECT title, artist FROM tracks WHERE id = ?", (cut_id,)).fetchone()
    assert kept == ("Cut Short", "Someone") and _n_results(conn, cut_id) == 0

    with monkeypatch.context() as m:  # unchanged: not opened again, still failed
        _forbid_work(m)
        again = _run(conn, tagger, [root])
    assert (again.unchanged, again.failed) == (3, [])
    assert _rows(conn)["cut.ogg"][1:] == ("failed", OGG_CUT)

    cut.write_bytes(whole)  # the whole file put back: a rescan analyses it
    healed = _run(conn, tagger, [root])
    assert (healed.scanned, healed.unchanged, healed.failed) == (1, 2, [])
    assert _rows(conn)["cut.ogg"] == (cut_id, "ok", None) and _n_results(conn, cut_id) == 1


def test_a_damaged_file_analysed_by_an_older_version_becomes_failed(
    tmp_path: Path, conn, tagger
) -> None:
    """Before the rule, a cut Ogg file was stored ok, with results under the hash of its whole
    file. The schema 6 upgrade has such rows probed again (their mtime cleared, app.db); the
    probe finds the file damaged and its old results are dropped, not reused."""
    root = tmp_path / "music"
    root.mkdir()
    cut, _ = cut_ogg(root / "cut.ogg", title="Cut Short")
    _run(conn, tagger, [root])
    model_id = conn.execute("SELECT id FROM models WHERE name = 'default'").fetchone()[0]
    track_id, fingerprint = conn.execute("SELECT id, fingerprint FROM tracks").fetchone()
    assert fingerprint.startswith("file:")
    scores = db.to_blob(np.zeros(len(tagger.seen_labels), dtype=np.float32))
    conn.execute(  # what the older version left, after the upgrade cleared the mtime
        "UPDATE tracks SET status = 'ok', error = NULL, mtime_ns = NULL WHERE id = ?", (track_id,)
    )
    conn.execute(
        "INSERT INTO results (track_id, model_id, embedding, seen_scores, n_windows, fingerprint,"
        " analysed_at) VALUES (?, ?, ?, ?, 2, ?, 0)",
        (track_id, model_id, b"", scores, fingerprint),
    )
    summary = _run(conn, tagger, [root])
    assert summary.failed == [(str(cut), OGG_CUT)] and summary.updated == 0
    assert _rows(conn)["cut.ogg"][1:] == ("failed", OGG_CUT)
    assert conn.execute("SELECT COUNT(*) FROM results").fetchone()[0] == 0


def test_unreadable_folder_is_skipped_and_its_tracks_not_gone(
    tmp_path: Path, conn, tagger, monkeypatch
) -> None:
    """Permission errors simulated at os.scandir (root can read everything, and CI runs as root)."""
    root = tmp_path / "music"
    (root / "locked").mkdir(parents=True)
    write_track(root / "locked" / "inside.wav", 4.0)
    write_track(root / "outside.wav", 4.0, kind="noise")
    _run(conn, tagger, [root])
    real_scandir = os.scandir
    locked = os.fsencode(root / "locked")

    def scandir(path):
        if os.fsencode(path) == locked:
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(scanner.os, "scandir", scandir)
    summary = _run(conn, tagger, [root])
    assert summary.skipped == [(str(root / "locked"), "permission denied")]
    assert summary.gone == 0 and summary.unchanged == 1
    assert _rows(conn)["inside.wav"][1] == "ok"


def test_a_worker_dying_fails_only_its_file(tmp_path: Path, conn, tagger, monkeypatch) -> None:
    import libfixtures

    root = tmp_path / "music"
    root.mkdir()
    for name in ("a.wav", "crash.wav", "b.wav", "c.wav"):
        write_track(root / name, 4.0, kind="noise" if name == "b.wav" else "tone")
    monkeypatch.setattr(scanner, "probe_file", libfixtures.crashing_probe)
    summary = _run(conn, tagger, [root], workers=2)
    assert summary.failed == [(str(root / "crash.wav"), "the decoder crashed on this file")]
    assert summary.scanned == 3
    assert {name: row[1] for name, row in _rows(conn).items()} == {
        "a.wav": "ok",
        "b.wav": "ok",
        "c.wav": "ok",
        "crash.wav": "failed",
    }


def test_default_workers_follow_where_the_model_runs(monkeypatch):
    from app import scanner

    monkeypatch.setattr(scanner.os, "cpu_count", lambda: 16)
    assert scanner.default_workers() == 2  # CPU: the model is the bottleneck
    assert scanner.default_workers(on_gpu=True) == 8  # GPU: decoding is; workers are ~30 MB each
    monkeypatch.setattr(scanner.os, "cpu_count", lambda: 4)
    assert scanner.default_workers(on_gpu=True) == 3  # a core left for the main process
    monkeypatch.setattr(scanner.os, "cpu_count", lambda: 1)
    assert scanner.default_workers(on_gpu=True) == 1 and scanner.default_workers() == 1
    assert not load_default_tagger(device="cpu").on_gpu  # the scan sizes its pool by this
