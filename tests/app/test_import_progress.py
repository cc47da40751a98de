"""Import progress (issue 15 item 4): a first update at once, while the model may still load;
the rows counted before any is probed; Cancel seen while the model loads or between batches."""

from __future__ import annotations

import threading
import time

import audio_factory
import pytest

from app.library import Library
from zsl_core.cli import main as core_main


@pytest.fixture
def part(tmp_path):
    music = tmp_path / "music"
    music.mkdir()
    for i in range(3):
        audio_factory.write_tone(music / f"t{i}.wav", 3.0, 22050, (300.0 + 200 * i,), "wav")
    out = tmp_path / "part.npz"
    args = ["embed", str(music), "--windows", "1", "--device", "cpu", "--quiet", "--out"]
    assert core_main([*args, str(out)]) == 0
    return str(out)


def test_import_reports_at_once_then_counts(tmp_path, part):
    library = Library(db_path=tmp_path / "lib.sqlite3", device="cpu")
    reports = []
    started = time.monotonic()
    summary = library.import_indexes(
        [part], progress=lambda p: reports.append((time.monotonic() - started, p))
    )
    library.close()
    assert summary.imported == 3
    at, first = reports[0]
    assert at < 1.0 and (first.done, first.total, first.eta) == (0, 0, None)
    assert any((p.done, p.total) == (0, 3) for _, p in reports)  # counted before probing
    assert (reports[-1][1].done, reports[-1][1].total) == (3, 3)


def test_a_cancelled_import_stops_before_storing(tmp_path, part):
    library = Library(db_path=tmp_path / "lib.sqlite3", device="cpu")
    cancel = threading.Event()
    cancel.set()
    summary = library.import_indexes([part], cancel=cancel)
    stored = library.conn.execute("SELECT COUNT(*) FROM tracks").fetchone()[0]
    library.close()
    assert summary.cancelled and summary.imported == 0 and stored == 0
