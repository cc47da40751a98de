"""The real window driven by real input events (QTest mouse clicks and key presses), the way a
user drives it: Cancel during a scan, and the main workflows through their keys and buttons.
The controllers behind the window are tested on their own in tests/app/gui/controllers/."""

from __future__ import annotations

from pathlib import Path

import audio_factory
from PySide6.QtCore import QPoint, Qt
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


def _click_row(qtbot, view, row: int) -> int:
    index = view.model().index(row, 0)
    view.scrollTo(index)
    qtbot.mouseClick(
        view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(index).center()
    )
    return int(index.data(Qt.ItemDataRole.UserRole + 1))


def _activate(window, qtbot) -> None:
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)


def test_filter_sort_select_write_undo_and_search_by_events(window, qtbot, tmp_path):
    from app.tagwriter import read_field

    folder = make_folder(tmp_path, 3)
    window.add_folder(str(folder))
    qtbot.waitUntil(
        lambda: window.last_scan is not None and not window.is_scanning(), timeout=SCAN_TIMEOUT_MS
    )
    qtbot.waitUntil(lambda: window.proxy.rowCount() == 3, timeout=20_000)
    _activate(window, qtbot)

    # the filter box: typed, then cleared with the keyboard
    qtbot.mouseClick(window.filter_edit, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(window.filter_edit, "track01")
    assert window.proxy.rowCount() == 1
    qtbot.keyClick(window.filter_edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(window.filter_edit, Qt.Key.Key_Backspace)
    assert window.proxy.rowCount() == 3

    # a click on the first column's header sorts by it, and the sort is kept for the next start
    header = window.table.horizontalHeader()
    pos = header.sectionViewportPosition(0) + header.sectionSize(0) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(pos, 5))
    assert window.settings.sort[0] == 0
    names = [window.proxy.index(r, 0).data() for r in range(3)]
    assert names == sorted(names) or names == sorted(names, reverse=True)

    # a click on a row shows it in the panel; the panel's Write button, then the preview's Write
    track_id = _click_row(qtbot, window.table, 0)
    qtbot.waitUntil(
        lambda: window.panel.track_id == track_id and len(window.panel.tag_items()) > 0,
        timeout=20_000,
    )
    assert window.selected_ids() == [track_id]
    path = window.track_model.track_by_id(track_id).path
    before = read_field(path, "comment")
    window.panel.set_field("comment")
    for item in window.panel.tag_items():
        item.setCheckState(0, Qt.CheckState.Unchecked)
    window.panel.tag_items()[0].setCheckState(0, Qt.CheckState.Checked)
    qtbot.mouseClick(window.panel.write_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: window.preview_dialog is not None and window.preview_dialog.isVisible(),
        timeout=20_000,
    )
    qtbot.mouseClick(window.preview_dialog.write_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.last_write is not None, timeout=20_000)
    assert window.last_write.written == 1 and read_field(path, "comment") != before
    assert window.settings.field == "comment"  # "Write into" is kept
    qtbot.waitUntil(window.undo_action.isEnabled, timeout=10_000)

    # Ctrl+Z on the table undoes the write
    _activate(window, qtbot)
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.last_undo is not None, timeout=20_000)
    assert window.last_undo.restored == 1 and read_field(path, "comment") == before

    # Ctrl+F, a query and Enter: the results tab; a click on a hit shows it in the panel
    qtbot.keyClick(window.table, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.search_edit.hasFocus()
    qtbot.keyClicks(window.search_edit, "ambient")
    qtbot.keyClick(window.search_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(
        lambda: window.last_search is not None and window.last_search[0] == "ambient",
        timeout=20_000,
    )
    assert window.tabs.currentIndex() == 1 and window.search_model.rowCount() >= 1
    assert window.search_info.text().startswith(f"{window.search_model.rowCount()} track(s)")
    hit = _click_row(qtbot, window.search_view, 0)
    qtbot.waitUntil(lambda: window.panel.track_id == hit, timeout=20_000)
    assert window.settings.last_search == "ambient"

    # emptying the box by keys: back to the Library tab, the search forgotten
    qtbot.keyClick(window.search_edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(window.search_edit, Qt.Key.Key_Backspace)
    assert window.tabs.currentIndex() == 0 and window.search_model.rowCount() == 0
    assert window.settings.last_search == ""
