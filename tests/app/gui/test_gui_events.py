"""The real window driven by real input events (QTest mouse clicks and key presses), the way a
user drives it: Cancel during a scan, and the main workflows through their keys and buttons.
The controllers behind the window are tested on their own in tests/app/gui/controllers/."""

from __future__ import annotations

from pathlib import Path

import audio_factory
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

SCAN_TIMEOUT_MS = 90_000


def make_folder(root: Path, n: int, seconds: float = 2.0) -> Path:
    folder = root / "music"
    folder.mkdir()
    for i in range(n):
        freqs = ((220.0,), (440.0, 660.0), (880.0,), (330.0, 990.0))[i % 4]
        audio_factory.write_tone(folder / f"track{i:02d}.wav", seconds, 22050, freqs, "wav")
    return folder


def test_cancel_clicked_during_a_scan_stops_it(window, qtbot, tmp_path):
    """Cancel tells the worker to stop, the window returns to idle, and the files not reached
    are not analysed (what was done is kept). No time is asserted: only what happened."""
    folder = make_folder(tmp_path, 16)
    window.add_folder(str(folder))
    worker = window.scan_worker
    assert worker is not None and window.scan_cancel.isVisibleTo(window)
    qtbot.waitUntil(lambda: window.scan_progress.maximum() == 16, timeout=SCAN_TIMEOUT_MS)
    QTest.mouseClick(window.scan_cancel, Qt.MouseButton.LeftButton)
    assert worker.cancel_event.is_set()  # the worker was told at once
    assert not window.scan_cancel.isEnabled() and window.scan_label.text() == "Cancelling…"
    qtbot.waitUntil(lambda: not window.is_scanning(), timeout=SCAN_TIMEOUT_MS)
    summary = window.last_scan
    assert summary.cancelled and summary.scanned < 16
    assert window.scan_worker is None and not window.scan_queue  # idle, nothing queued
    for widget in (window.scan_label, window.scan_progress, window.scan_cancel):
        assert not widget.isVisibleTo(window)
    qtbot.waitUntil(lambda: window.track_model.rowCount() == summary.scanned, timeout=10_000)
    assert window.track_model.rowCount() < 16
