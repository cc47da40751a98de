"""Progress that tells the truth (issue 15 item 4), with the real scanner on generated WAVs:
a first update at once, files counted before they are analysed, progress that moves while the
model works, an ETA only from measured throughput, and Cancel seen within about a second."""

from __future__ import annotations

import threading
import time

import audio_factory
import pytest

from app.library import Library
from app.scanner import RATE_MIN_SPAN_S, RATE_WINDOW_S, ScanProgress, throughput


def test_throughput_is_measured_after_the_first_batch():
    # the first batch (8 tracks at t=10) also waited for the model: a start line, not a rate
    assert throughput([], 0, 5.0) == 0.0
    assert throughput([(10.0, 8)], 8, 10.5) == 0.0
    assert throughput([(10.0, 8)], 8, 30.0) == 0.0  # nothing since: no rate, no made-up ETA
    # the tracks of later batches over the time since the first
    assert throughput([(10.0, 8), (10.4, 12)], 12, 10.4) == pytest.approx(0.0)
    assert throughput([(10.0, 8), (12.0, 12)], 12, 12.0) == pytest.approx(2.0)
    # only the last RATE_WINDOW_S count: a slow start does not drag the rate down for ever
    samples = [(0.0, 1), (100.0, 2), (110.0, 22), (120.0, 42)]
    assert throughput(samples, 42, 120.0) == pytest.approx(40 / 20)
    # batches further apart than the window (a slow machine): from the newest old-enough one
    samples = [(0.0, 4), (60.0, 8)]
    assert throughput(samples, 12, 60.0 + RATE_WINDOW_S + 40) == pytest.approx(
        4 / (RATE_WINDOW_S + 40)
    )
    assert throughput(samples, 9, 60.2) == pytest.approx(5 / 60.2)  # a batch being stored
    assert RATE_MIN_SPAN_S <= 1.0


@pytest.fixture
def folder(tmp_path):
    music = tmp_path / "music"
    music.mkdir()
    for i in range(20):
        audio_factory.write_tone(music / f"t{i:02d}.wav", 3.0, 22050, (200.0 + 40 * i,), "wav")
    return music


def test_scan_progress_from_the_first_second(tmp_path, folder):
    reports: list[tuple[float, ScanProgress]] = []
    library = Library(db_path=tmp_path / "lib.sqlite3", device="cpu")
    started = time.monotonic()
    summary = library.scan(
        [str(folder)],
        progress=lambda p: reports.append((time.monotonic() - started, p)),
    )
    library.close()
    assert summary.scanned == 20
    first_at, first = reports[0]
    assert first_at < 1.0 and (first.done, first.total) == (0, 0)
    # every file counted before the first is analysed
    assert any(p.total == 20 and p.done == 0 for _, p in reports)
    # progress moves through the analysis, not 0/N then N/N
    assert len({p.done for _, p in reports if 0 < p.done < 20}) >= 2
    # no ETA before a rate is measured; an ETA is the tracks left at that rate
    for _, p in reports:
        if p.done < p.total:
            assert (p.eta is None) == (p.rate == 0)
            if p.eta is not None:
                assert p.eta == pytest.approx((p.total - p.done) / p.rate)
    assert reports[-1][1].done == 20 and reports[-1][1].eta == 0.0


def test_cancel_is_seen_within_about_a_second(tmp_path, folder):
    library = Library(db_path=tmp_path / "lib.sqlite3", device="cpu")
    cancel = threading.Event()
    cancelled_at: list[float] = []

    def on_track(_track_id: int) -> None:
        if not cancel.is_set():
            cancelled_at.append(time.monotonic())
            cancel.set()

    summary = library.scan([str(folder)], cancel=cancel, on_track=on_track)
    took = time.monotonic() - cancelled_at[0]
    stored = library.conn.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    library.close()
    assert summary.cancelled and summary.scanned == stored < 20
    # at most the forward pass in flight (8 tracks of the default 8 windows) is stored after
    # Cancel; the time it takes is measured by a bench (a loaded test machine says little)
    assert summary.scanned <= 1 + 8, summary.scanned
    assert took >= 0
