"""Drag and drop onto the real main window (and the welcome page), offscreen.

Events go through QApplication.sendEvent, as a platform drag does: the DragEnter is offered to
the widget under the cursor and climbs to the first parent that accepts drops; the Drop then
goes to the widget that accepted the DragEnter (a refused DragEnter means no Drop at all).
Folders are empty or hold one short clip, so scans end quickly.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

import audio_factory
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent, QDropEvent
from PySide6.QtWidgets import QApplication

SCAN_TIMEOUT_MS = 60_000
COPY = Qt.DropAction.CopyAction


def mime(*items: str | Path | QUrl) -> QMimeData:
    """What a file manager puts on a drag: a list of URLs (paths become file:// URLs)."""
    data = QMimeData()
    data.setUrls(
        [item if isinstance(item, QUrl) else QUrl.fromLocalFile(str(item)) for item in items]
    )
    return data


def center(widget) -> QPoint:
    return widget.rect().center()


def drag_enter(widget, data: QMimeData) -> bool:
    """Offer a drag to `widget`; whether someone accepted it. Leaves again, so no drag stays open."""
    enter = QDragEnterEvent(
        center(widget), COPY, data, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(widget, enter)
    QApplication.sendEvent(widget, QDragLeaveEvent())
    return enter.isAccepted()


def drop(widget, data: QMimeData) -> bool:
    """A whole drag: enter, then the drop if the enter was accepted. Whether the drop was taken."""
    enter = QDragEnterEvent(
        center(widget), COPY, data, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(widget, enter)
    if not enter.isAccepted():
        QApplication.sendEvent(widget, QDragLeaveEvent())
        return False
    event = QDropEvent(
        QPointF(center(widget)),
        COPY,
        data,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, event)
    return event.isAccepted()


def status(window) -> str:
    return window.statusBar().currentMessage()


def wait_idle(window, qtbot) -> None:
    qtbot.waitUntil(
        lambda: not window.is_scanning() and not window.scan_queue, timeout=SCAN_TIMEOUT_MS
    )


def test_drag_enter_accepts_only_local_files(window, tmp_path):
    folder = tmp_path / "music"
    folder.mkdir()
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert drag_enter(window, mime(folder))
    assert drag_enter(window, mime(text))  # taken, so the drop can say why it is refused
    assert drag_enter(window, mime(QUrl("https://example.org/song.mp3"), folder))
    assert not drag_enter(window, mime(QUrl("https://example.org/song.mp3")))
    plain = QMimeData()
    plain.setText("just some text")
    assert not drag_enter(window, plain)
    assert not drag_enter(window, QMimeData())
    assert not window.is_scanning()


def test_drop_folder_on_welcome_page_scans_and_remembers_it(window, qtbot, tmp_path):
    assert window.stack.currentWidget() is window.welcome
    folder = tmp_path / "music"
    folder.mkdir()
    audio_factory.write_tone(folder / "one.wav", 2.0, 22050, (440.0,), "wav")
    assert drop(window.welcome, mime(folder))
    assert window.settings.folders == [str(folder)]
    assert window.is_scanning() and window.scan_worker.folders == [str(folder)]
    assert window.stack.currentWidget() is window.splitter
    assert "Scanning" in status(window)
    wait_idle(window, qtbot)
    assert window.last_scan is not None and window.last_scan.scanned == 1
    qtbot.waitUntil(lambda: window.track_model.rowCount() == 1, timeout=10_000)


def test_drop_on_library_table_reaches_the_window(window, qtbot, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    window.add_folder(str(first))
    wait_idle(window, qtbot)
    assert window.stack.currentWidget() is window.splitter
    assert drop(window.table.viewport(), mime(second))
    assert window.settings.folders == [str(first), str(second)]
    wait_idle(window, qtbot)
    assert window.last_scan is not None and not window.last_scan.failed


def test_drop_several_folders_is_one_scan(window, qtbot, tmp_path):
    folders = [tmp_path / name for name in ("x", "y", "z")]
    for folder in folders:
        folder.mkdir()
    assert drop(window, mime(*folders))
    assert window.settings.folders == [str(f) for f in folders]
    assert window.scan_worker.folders == [str(f) for f in folders]
    assert not window.scan_queue
    wait_idle(window, qtbot)


@pytest.mark.parametrize("kind", ["audio file", "text file", "missing path"])
def test_drop_of_something_not_a_folder_is_refused_with_a_message(window, qtbot, tmp_path, kind):
    if kind == "audio file":
        item = audio_factory.write_tone(tmp_path / "song.wav", 1.0, 22050, (440.0,), "wav")
        why = "drop the folder"
    elif kind == "text file":
        item = tmp_path / "notes.txt"
        item.write_text("hello")
        why = "not a folder"
    else:
        item = tmp_path / "gone"
        why = "does not exist"
    errors = window.log_view.errors
    assert not drop(window, mime(item))
    assert not window.is_scanning()
    assert window.settings.folders == []
    assert why in status(window) and Path(item).name in status(window)
    assert "\n" not in status(window)
    assert window.log_view.errors == errors + 1
    assert any(why in line for line in window.log_view.lines())
    assert window.stack.currentWidget() is window.welcome  # still asking for a folder


def test_drop_mixed_items_scans_the_folder_and_reports_the_rest(window, qtbot, tmp_path):
    folder = tmp_path / "music"
    folder.mkdir()
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    url = QUrl("https://example.org/song.mp3")
    assert drop(window, mime(url, folder, text))
    assert window.settings.folders == [str(folder)]
    assert window.scan_worker.folders == [str(folder)]
    assert "2 dropped items not added" in status(window)
    lines = window.log_view.lines()
    assert any("example.org/song.mp3" in line and "not a local file" in line for line in lines)
    assert any("notes.txt" in line and "not a folder" in line for line in lines)
    wait_idle(window, qtbot)


def test_drop_non_local_url_directly_is_refused(window, tmp_path):
    """A drop that arrives without an accepted DragEnter (some platforms) is still checked."""
    data = mime(QUrl("https://example.org/album/"))
    event = QDropEvent(
        QPointF(10, 10), COPY, data, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    window.dropEvent(event)
    assert not event.isAccepted()
    assert "not a local file" in status(window)
    assert not window.is_scanning() and window.settings.folders == []


def two_folders(tmp_path: Path) -> tuple[Path, Path]:
    """Two folders of one short track each."""
    folders = tmp_path / "first", tmp_path / "second"
    for folder, name, freq in zip(folders, ("one.wav", "two.wav"), (440.0, 660.0), strict=True):
        folder.mkdir()
        audio_factory.write_tone(folder / name, 2.0, 22050, (freq,), "wav")
    return folders


def test_drop_while_scanning_is_queued_once(window, qtbot, tmp_path):
    first, second = two_folders(tmp_path)
    assert drop(window, mime(first))
    assert window.is_scanning()
    assert drop(window, mime(second))
    assert window.scan_queue == [str(second)]
    assert "scanned next" in status(window)
    assert drop(window, mime(second))  # the same folder again: not queued twice
    assert window.scan_queue == [str(second)]
    assert drop(window, mime(first))  # the folder being scanned: not queued again
    assert window.scan_queue == [str(second)]
    assert "already" in status(window)
    assert window.settings.folders == [str(first), str(second)]
    qtbot.waitUntil(
        lambda: (
            window.is_scanning()
            and window.scan_worker.folders == [str(second)]
            or window.track_model.rowCount() == 2
        ),
        timeout=SCAN_TIMEOUT_MS,
    )
    wait_idle(window, qtbot)
    qtbot.waitUntil(lambda: window.track_model.rowCount() == 2, timeout=10_000)


def test_close_while_a_dropped_folder_waits_starts_no_scan(window, qtbot, tmp_path):
    """Closing cancels the scan; the folder queued behind it must not start a scan afterwards
    (a thread started on a closing window is destroyed while running: a crash)."""
    first, second = two_folders(tmp_path)
    assert drop(window, mime(first))
    assert drop(window, mime(second))
    assert window.scan_queue == [str(second)]
    window.close()
    qtbot.wait(1_000)  # the scan thread's "finished" signal is delivered now
    assert window.scan_worker is None
    assert not window.scan_queue
    assert window.settings.folders == [str(first), str(second)]  # remembered for the next start
