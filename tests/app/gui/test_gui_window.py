"""The desktop window end to end, offscreen, on a real library index in tmp_path.

One window scans a generated folder (rows appear as tracks finish), searches with a seen and an
unseen word, accepts tags, writes them through the preview dialog, and undoes the write; other
tests cancel a scan and open the settings. The real default model analyses the clips, so the
clips are short (a few seconds each).
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

import audio_factory
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QTreeWidgetItem

from app.gui.models import column_of
from app.gui.settings import Settings
from app.gui.track_panel import KIND_ROLE, TICKED_ROLE
from app.tagwriter import read_field
from zsl_core.tags import TagKind, display_form

SCAN_TIMEOUT_MS = 90_000


def make_folder(root: Path, n: int, seconds: float = 3.0) -> Path:
    folder = root / "music"
    folder.mkdir()
    freqs = [
        (220.0,),
        (440.0, 660.0),
        (880.0,),
        (330.0, 990.0),
        (550.0,),
        (1200.0,),
        (150.0,),
        (700.0, 1400.0),
    ]
    for i in range(n):
        fmt = "flac" if i % 2 else "wav"
        audio_factory.write_tone(
            folder / f"track{i:02d}.{fmt}", seconds, 22050, freqs[i % len(freqs)], fmt
        )
    return folder


def select_rows(view, rows: list[int]) -> None:
    model = view.model()
    selection = view.selectionModel()
    selection.clearSelection()
    for i, row in enumerate(rows):
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        if i == 0:
            flags |= QItemSelectionModel.SelectionFlag.Current
        selection.setCurrentIndex(model.index(row, 0), flags) if i == 0 else selection.select(
            model.index(row, 0), flags
        )


def test_gui_first_run_scan_search_write_undo(window, qtbot, tmp_path):
    assert window.stack.currentWidget() is window.welcome  # first run asks for a folder
    folder = make_folder(tmp_path, 3)
    window.add_folder(str(folder))
    assert window.settings.folders == [str(folder)]
    assert window.scan_progress.isVisibleTo(window) and window.scan_cancel.isVisibleTo(window)
    qtbot.waitUntil(
        lambda: window.last_scan is not None and not window.is_scanning(), timeout=SCAN_TIMEOUT_MS
    )
    qtbot.waitUntil(lambda: window.track_model.rowCount() == 3, timeout=10_000)
    assert window.last_scan.scanned == 3 and not window.last_scan.failed
    assert not window.scan_progress.isVisibleTo(window)
    # the predicted-tags column fills in the background
    qtbot.waitUntil(
        lambda: all(window.track_model.index(r, column_of("predicted")).data() for r in range(3)),
        timeout=20_000,
    )

    # sorting and filtering the table
    window.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
    assert window.proxy.index(0, 0).data().startswith("track02")
    window.filter_edit.setText("track01")
    assert window.proxy.rowCount() == 1
    window.filter_edit.setText("")
    assert window.proxy.rowCount() == 3

    # search: a seen word and an unseen one rank every track; a word without a vector is reported
    qtbot.keyClicks(window.search_edit, "ambient")
    qtbot.waitUntil(
        lambda: window.last_search is not None and window.last_search[0] == "ambient",
        timeout=20_000,
    )
    assert window.tabs.currentIndex() == 1
    hits = window.last_search[1].hits
    assert window.search_model.rowCount() == len(hits) >= 1
    scores = [float(window.search_model.index(r, 1).data().rstrip("%")) for r in range(len(hits))]
    assert scores == sorted(scores, reverse=True)
    window.search_edit.setText("shoegaze qzxqvv")
    qtbot.waitUntil(lambda: window.last_search[0] == "shoegaze qzxqvv", timeout=20_000)
    assert "qzxqvv" in window.last_search[1].missing_words
    assert "qzxqvv" in window.search_info.text()
    window.search_edit.clear()
    assert window.tabs.currentIndex() == 0

    # the track panel: tags grouped by the field they go to, with checkboxes
    window.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    select_rows(window.table, [0])
    first = window.proxy.index(0, 0).data(Qt.ItemDataRole.UserRole + 1)
    qtbot.waitUntil(
        lambda: window.panel.track_id == first and len(window.panel.tag_items()) > 0, timeout=20_000
    )
    groups = [
        window.panel.tags.topLevelItem(i).text(0)
        for i in range(window.panel.tags.topLevelItemCount())
    ]
    assert groups[0] == "Genre" and groups[-1].startswith("Not written")
    italic = [i for i in window.panel.tag_items() if i.font(0).italic()]  # new words
    assert italic and all("new word" in i.toolTip(0) for i in italic)
    unseen_tag = italic[0].data(0, Qt.ItemDataRole.UserRole)
    written_as = display_form(unseen_tag, TagKind(italic[0].data(0, KIND_ROLE)))
    # write the selection (two tracks) into "mood", through the preview dialog: every word
    # goes there and can be ticked ("Not written" ones have no tick box while routed by kind)
    window.panel.set_field("mood")
    for item in window.panel.tag_items():
        item.setCheckState(0, Qt.CheckState.Unchecked)
    window.panel.set_checked(unseen_tag, True)
    assert window.panel.accepted_tags() == [unseen_tag]
    assert window.decisions[first].ticked == [unseen_tag]
    select_rows(window.table, [0, 1])
    qtbot.waitUntil(lambda: len(window.selected_ids()) == 2)
    window.write_action.trigger()
    qtbot.waitUntil(
        lambda: window.preview_dialog is not None and window.preview_dialog.isVisible(),
        timeout=20_000,
    )
    dialog = window.preview_dialog
    assert dialog.table.rowCount() == 2
    assert len(dialog.changes()) == 2
    first_path = window.track_model.track_by_id(first).path
    before = read_field(first_path, "mood")
    dialog.accept()
    qtbot.waitUntil(lambda: window.last_write is not None, timeout=20_000)
    assert window.last_write.written == 2 and not window.last_write.failed
    assert read_field(first_path, "mood") == before + [written_as]
    qtbot.waitUntil(
        lambda: written_as in (window.track_model.track_by_id(first).mood or ""), timeout=10_000
    )

    # history lists the batch; Ctrl+Z puts the old values back
    window.open_history()
    qtbot.waitUntil(lambda: window.history_dialog.table.rowCount() == 1, timeout=10_000)
    what = window.history_dialog.table.item(0, 2).text()
    assert what == "2 track(s): mood (values added)"  # the journal's "merge", in words
    window.undo_action.trigger()
    qtbot.waitUntil(lambda: window.last_undo is not None, timeout=20_000)
    assert window.last_undo.restored == 2 and not window.last_undo.refused
    assert read_field(first_path, "mood") == before
    qtbot.waitUntil(
        lambda: window.history_dialog.table.item(0, 4).text() == "undone", timeout=10_000
    )
    window.history_dialog.close()

    # Space plays the selected track (no sound device here: Qt plays to nowhere, never blocks)
    select_rows(window.table, [0])
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_Space)
    qtbot.waitUntil(
        lambda: window.player is not None and window._playing_id == first, timeout=5_000
    )
    assert window.player.source().toLocalFile() == str(first_path)
    window.stop_playback()


def test_gui_cancel_scan(window, qtbot, tmp_path):
    folder = make_folder(tmp_path, 8, seconds=2.0)
    window.add_folder(str(folder))
    window.scan_cancel.click()
    qtbot.waitUntil(lambda: not window.is_scanning(), timeout=SCAN_TIMEOUT_MS)
    assert window.last_scan is not None and window.last_scan.cancelled
    assert window.track_model.rowCount() < 8
    assert not window.scan_cancel.isVisibleTo(window)


def test_gui_settings_dialog_persists(window, qtbot, tmp_path):
    window.settings_action.trigger()
    qtbot.waitUntil(
        lambda: window.settings_dialog is not None and window.settings_dialog.isVisible()
    )
    dialog = window.settings_dialog
    dialog.top_k.setValue(7)
    dialog.field.setCurrentText("grouping")
    dialog.id3.setCurrentIndex(1)
    dialog.device.setCurrentIndex(1)  # CPU: the library is opened again with it
    dialog.precision.setCurrentIndex(1)  # bf16: results of their own
    dialog.accept()
    assert window.settings_dialog is None
    assert window.panel.current_field() == "grouping"
    qtbot.waitUntil(
        lambda: (
            window.library is not None
            and window.library.device == "cpu"
            and window.library.model_name == "default-3+bf16"
        ),
        timeout=10_000,
    )
    window.close()
    again = Settings(tmp_path / "settings.ini")
    assert (again.top_k, again.field, again.id3_version, again.device, again.precision) == (
        7,
        "grouping",
        3,
        "cpu",
        "bf16",
    )
    assert again.window_state()[0] is not None  # geometry saved on close


def test_gui_scan_reports_bad_file_in_log(window, qtbot, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    audio_factory.write_tone(folder / "good.wav", 2.0, 22050, (440.0,), "wav")
    (folder / "broken.mp3").write_bytes(b"this is not audio" * 100)
    window.add_folder(str(folder))
    qtbot.waitUntil(
        lambda: window.last_scan is not None and not window.is_scanning(), timeout=SCAN_TIMEOUT_MS
    )
    qtbot.waitUntil(lambda: window.track_model.rowCount() == 2, timeout=10_000)
    assert len(window.last_scan.failed) == 1
    titles = [window.track_model.index(r, 0).data() for r in range(2)]
    assert any("broken.mp3" in t and "not analysed" in t for t in titles)
    assert any("broken.mp3" in line and "warning" in line for line in window.log_view.lines())
    assert window.log_view.errors >= 1


def test_gui_write_routes_each_kind_to_its_field(window, qtbot, tmp_path):
    folder = make_folder(tmp_path, 2)
    window.add_folder(str(folder))
    qtbot.waitUntil(
        lambda: window.last_scan is not None and not window.is_scanning(), timeout=SCAN_TIMEOUT_MS
    )
    qtbot.waitUntil(
        lambda: window.proxy.rowCount() == 2, timeout=20_000
    )  # rows arrive after the scan
    select_rows(window.table, [0])
    track_id = window.proxy.index(0, 0).data(Qt.ItemDataRole.UserRole + 1)
    qtbot.waitUntil(
        lambda: window.panel.track_id == track_id and len(window.panel.tag_items()) > 0,
        timeout=20_000,
    )
    assert window.panel.current_field() == ""  # by default each kind goes to its own field
    by_kind: dict[str, QTreeWidgetItem] = {}
    for item in window.panel.tag_items():
        by_kind.setdefault(item.data(0, KIND_ROLE), item)
    assert {"genre", "instrument"} <= set(by_kind), set(by_kind)
    for item in window.panel.tag_items():
        item.setCheckState(0, Qt.CheckState.Unchecked)
    wanted = [k for k in ("genre", "mood", "instrument") if k in by_kind]
    for kind in wanted:
        by_kind[kind].setCheckState(0, Qt.CheckState.Checked)
    window.write_action.trigger()
    qtbot.waitUntil(
        lambda: window.preview_dialog is not None and window.preview_dialog.isVisible(),
        timeout=20_000,
    )
    changes = window.preview_dialog.changes()
    # the genre word to Genre, the mood word (if any) to Mood; the instrument is not written
    assert sorted(c.field for c in changes) == sorted(k for k in wanted if k != "instrument")
    genre_item = by_kind["genre"]
    genre = next(c for c in changes if c.field == "genre")
    assert genre.new[-1] == display_form(
        genre_item.data(0, Qt.ItemDataRole.UserRole), TagKind.GENRE
    )
    window.preview_dialog.reject()


def test_gui_predicted_column_is_what_the_panel_ticks(window, qtbot, tmp_path):
    """The Predicted tags column listed instruments ("strings, violin") the panel greys under
    "Not written" and Write leaves out. It lists the panel's ticked proposals (what a write
    adds), and routing instruments in Settings brings the model's picked ones into both."""
    folder = make_folder(tmp_path, 2)
    window.add_folder(str(folder))
    qtbot.waitUntil(
        lambda: window.last_scan is not None and not window.is_scanning(), timeout=SCAN_TIMEOUT_MS
    )
    qtbot.waitUntil(lambda: window.proxy.rowCount() == 2, timeout=20_000)
    select_rows(window.table, [0])
    track_id = window.proxy.index(0, 0).data(Qt.ItemDataRole.UserRole + 1)
    panel = window.panel

    def column() -> set[str]:
        text = window.proxy.index(0, column_of("predicted")).data()
        return set(text.split(", ")) if text else set()

    qtbot.waitUntil(
        lambda: panel.track_id == track_id and len(panel.tag_items()) > 0 and bool(column()),
        timeout=20_000,
    )

    def ticked() -> set[str]:
        return {i.text(0) for i in panel.tag_items() if i.checkState(0) == Qt.CheckState.Checked}

    picked = {i.text(0): i.data(0, KIND_ROLE) for i in panel.tag_items() if i.data(0, TICKED_ROLE)}
    assert column() == ticked()
    assert not column() & set(picked)  # nothing of "Not written"

    window.settings_action.trigger()
    qtbot.waitUntil(
        lambda: window.settings_dialog is not None and window.settings_dialog.isVisible()
    )
    window.settings_dialog.routes[TagKind.INSTRUMENT].setCurrentText("grouping")
    window.settings_dialog.accept()
    qtbot.waitUntil(lambda: column() == ticked(), timeout=10_000)
    instruments = {w for w, kind in picked.items() if kind == "instrument"}
    assert instruments <= column()


def test_gui_start_removes_copies_an_interrupted_write_left(qtbot, tmp_path):
    import os
    import time

    from app.gui import create_app
    from app.gui.main_window import MainWindow
    from app.gui.settings import Settings
    from app.library import Library

    folder = make_folder(tmp_path, 1)
    with Library(tmp_path / "library.sqlite3", device="cpu") as library:
        library.scan([folder], n_windows=1, workers=0)
    stale = (
        folder / ".track00.wav.0a1b2c3d.zsl-tmp"
    )  # the tag writer's copy, left by a killed write
    stale.write_bytes(b"RIFF" + b"\0" * 100)
    old = time.time() - 3600
    os.utime(stale, (old, old))
    create_app()
    win = MainWindow(Settings(tmp_path / "settings.ini"), db_path=tmp_path / "library.sqlite3")
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.last_cleanup is not None, timeout=30_000)
    assert not stale.exists() and [p.name for p in win.last_cleanup] == [stale.name]
    assert (folder / "track00.wav").exists()
    win.close()


def test_gui_a_library_analysed_by_an_older_model_says_rescan(qtbot, tmp_path):
    """After an upgrade of the built-in model (its key changes: default-2 -> default-3) the
    library's analyses belong to the old key, so the Predicted tags column is empty; the window
    says why and what brings the tags back (Rescan library, F5), and the panel names it too."""
    import sqlite3

    from app.gui import create_app
    from app.gui.main_window import MainWindow
    from app.gui.settings import Settings
    from app.library import Library

    folder = make_folder(tmp_path, 1)
    db_path = tmp_path / "library.sqlite3"
    with Library(db_path, device="cpu") as library:
        library.scan([folder], n_windows=1, workers=0)
        key = library.model_name
    conn = sqlite3.connect(db_path)
    with conn:  # what an older release wrote: the same analysis under its own model key
        conn.execute("UPDATE models SET name = 'default-2' WHERE name = ?", (key,))
    conn.close()
    create_app()
    win = MainWindow(Settings(tmp_path / "settings.ini"), db_path=db_path)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.lib.loaded and win.track_model.rowCount() == 1, timeout=30_000)
    assert win.lib.older_models == {"default-2": 1}
    assert "default-2, 1 tracks" in win.statusBar().currentMessage()
    assert "Rescan library (F5)" in win.statusBar().currentMessage()
    select_rows(win.table, [0])
    qtbot.waitUntil(lambda: "Rescan library (F5)" in win.panel.hint.text(), timeout=20_000)
    win.close()
