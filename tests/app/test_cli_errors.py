"""Clear errors from the command line (issue 13): `--device cuda` without a GPU, failed files
remembered and listed, a write whose model has no results, undo of vanished files."""

from __future__ import annotations

import time
from pathlib import Path

import audio_factory
import pytest
from libfixtures import corrupt_files, cut_ogg

from app import db
from app.cli import main


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "command",
    [
        ["scan", "."],
        ["search", "sad piano"],
        ["tags"],
        ["write"],
        ["undo"],
        ["history"],
        ["failed"],
        ["import", "x.npz"],
    ],
)
def test_device_cuda_without_a_gpu_is_one_line_exit_2_in_every_command(
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    command: list[str],
) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    code, out, err = run(
        capsys, "--db", str(tmp_path / "lib.sqlite3"), "--device", "cuda", *command
    )
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "--device cuda" in err and "no CUDA GPU" in err
    assert "Traceback" not in err
    assert not (tmp_path / "lib.sqlite3").exists()  # checked before anything is opened


def _add_track(path: Path, db_path: Path, status: str = "ok", error: str | None = None) -> int:
    conn = db.connect(db_path)
    try:
        st = path.stat()
        cur = conn.execute(
            "INSERT INTO tracks (path, display_path, size, mtime_ns, status, error,"
            " added_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                db.path_key(path),
                db.display(path),
                st.st_size,
                st.st_mtime_ns,
                status,
                error,
                time.time(),
            ),
        )
        return db.inserted_id(cur)
    finally:
        conn.close()


def test_failed_lists_failed_files_with_their_reasons(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    lib = tmp_path / "lib.sqlite3"
    music = tmp_path / "music"
    corrupt_files(music / "broken")
    _add_track(music / "broken" / "text.wav", lib, "failed", "not a readable audio file")
    good = audio_factory.write_tone(music / "fine.wav", 1.0)
    _add_track(good, lib)
    code, out, _ = run(capsys, "--db", str(lib), "failed")
    assert code == 1
    assert (
        f"{music / 'broken' / 'text.wav'}: not a readable audio file" in out
        and "fine.wav" not in out
    )
    code, out, _ = run(capsys, "--db", str(lib), "failed", "--json", str(music / "elsewhere"))
    assert code == 0 and out.strip() == "[]"


def test_a_rescan_still_reports_files_that_failed_before(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    lib = ["--db", str(tmp_path / "lib.sqlite3"), "--device", "cpu"]
    broken = tmp_path / "music"
    corrupt_files(broken)
    code, first, _ = run(capsys, *lib, "scan", str(broken), "--workers", "0")
    assert code == 1 and "4 failed" in first
    code, again, _ = run(capsys, *lib, "scan", "--workers", "0")
    assert code == 1 and "0 failed" in again
    assert "4 failed in an earlier scan" in again
    assert sum(line.startswith("  still failed: ") for line in again.splitlines()) == 4
    code, listed, _ = run(capsys, *lib, "failed")
    assert code == 1 and listed.count("\n") == 5


def test_a_damaged_file_is_a_failed_line_of_the_scan_and_gets_no_proposals(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A cut Ogg file (the demo folder's broken/truncated.ogg) decodes for a moment: it was
    listed as scanned and only `write` said "malformed Ogg stream". The scan says it now, in
    one line, and `write` has nothing to propose for it (no "cannot write" line later)."""
    lib = ["--db", str(tmp_path / "lib.sqlite3"), "--device", "cpu"]
    music = tmp_path / "music"
    music.mkdir()
    cut, _ = cut_ogg(music / "truncated.ogg", title="Ambient")
    audio_factory.write_tone(music / "fine.wav", 3.0)
    code, out, _ = run(capsys, *lib, "scan", str(music), "--workers", "0", "--windows", "2")
    assert code == 1 and "1 scanned" in out and "1 failed" in out
    assert f"  failed: {cut}: damaged: malformed Ogg stream: unable to read full data\n" in out
    code, out, _ = run(capsys, *lib, "write", "--dry-run")
    assert str(cut) not in out and "(0 cannot be written" in out
    code, listed, _ = run(capsys, *lib, "failed")
    assert code == 1 and f"{cut}: damaged: malformed Ogg stream" in listed


def test_write_without_results_for_this_model_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    lib = tmp_path / "lib.sqlite3"
    track = audio_factory.write_tone(tmp_path / "a.wav", 1.0)
    _add_track(track, lib)  # indexed, but analysed by no model
    code, out, err = run(
        capsys, "--db", str(lib), "--device", "cpu", "write", str(track), "--field", "genre"
    )
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "is analysed with this model" in err and "scan first" in err
    assert "0 written" not in err


def _analysed_by_an_older_model(track_id: int, db_path: Path) -> None:
    """A result stored under another model key, as a library scanned before an upgrade of the
    built-in model holds (default-2 before the VGG ensemble)."""
    conn = db.connect(db_path)
    try:
        with conn:
            cur = conn.execute(
                "INSERT INTO models (name, dim, seen_labels, created_at) VALUES (?, 0, '[]', 0)",
                ("default-2",),
            )
            conn.execute(
                "INSERT INTO results (track_id, model_id, embedding, seen_scores, analysed_at)"
                " VALUES (?, ?, x'', x'', 0)",
                (track_id, cur.lastrowid),
            )
    finally:
        conn.close()


def test_a_library_analysed_by_an_older_model_is_told_to_scan_again(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    lib = tmp_path / "lib.sqlite3"
    track = audio_factory.write_tone(tmp_path / "a.wav", 1.0)
    _analysed_by_an_older_model(_add_track(track, lib), lib)
    code, out, err = run(capsys, "--db", str(lib), "--device", "cpu", "search", "metal")
    assert "analysed with this model" in out and "default-2 (1 tracks)" in out
    assert "scan` to analyse them again" in out and "scan FOLDER` first" not in out
    code, out, err = run(capsys, "--db", str(lib), "--device", "cpu", "write", str(track))
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "default-2 (1 tracks)" in err and "analyse them again" in err


def test_undo_of_a_batch_whose_files_vanished_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from test_journal import IndexOnly

    from app.tagwriter import read_field

    lib_path = tmp_path / "lib.sqlite3"
    track = audio_factory.write_tone(tmp_path / "a.flac", 1.0)
    lib = IndexOnly(lib_path)
    from app import journal

    tid = lib.add(track)
    journal.write_batch(lib, journal.plan_batch(lib, [tid], "genre", {tid: ["Dub"]}), "genre")
    lib.conn.close()
    track.rename(tmp_path / "gone.flac")
    code, out, _ = run(capsys, "--db", str(lib_path), "undo")
    assert code == 1 and "not undone" in out and "not found" in out and "again" in out
    (tmp_path / "gone.flac").rename(track)
    code, out, _ = run(capsys, "--db", str(lib_path), "undo")
    assert code == 0 and "1 restored (1 byte for byte)" in out
    assert read_field(track, "genre") == []
