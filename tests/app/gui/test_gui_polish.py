"""Everyday polish, through the real window offscreen (issue 15, item 6): keys that do what they do
everywhere else (Ctrl+W closes, Ctrl+S writes, Ctrl+Z in a text box), Help ▸ Keyboard shortcuts and
About, where the user left the window kept across restarts, a layout that keeps the tag list usable
at 1024x640, empty states that say what to do, a panel that follows the visible selection, and
playback that says there is no sound device instead of "Playing".

Most tests open the window on a library scanned once for the module (a copy of its index each
time); the write/undo test scans its own folder, since it writes into the files.
"""

from __future__ import annotations

import shutil
from importlib import metadata
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from test_gui_window import SCAN_TIMEOUT_MS, make_folder, select_rows

from app.gui.settings import Settings
from app.gui.track_panel import MIN_TAG_ROWS

N_TRACKS = 3


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    """A folder of N_TRACKS short clips and a library index holding them (scanned once)."""
    from app.library import Library

    root = tmp_path_factory.mktemp("polish")
    folder = make_folder(root, N_TRACKS, seconds=2.0)
    db = root / "library.sqlite3"
    with Library(db, device="cpu") as library:
        library.scan([folder], n_windows=1, workers=0)
    return folder, db


def open_window(qtbot, settings_path: Path, db: Path, folder: Path | None = None):
    from app.gui import create_app
    from app.gui.main_window import MainWindow

    create_app()
    settings = Settings(settings_path)
    if folder is not None and str(folder) not in settings.folders:
        settings.add_folder(str(folder))
    win = MainWindow(settings, db_path=db)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.loaded, timeout=30_000)
    return win


@pytest.fixture
def library_window(qtbot, tmp_path, scanned):
    """The window on a copy of the scanned library's index."""
    folder, db = scanned
    for part in db.parent.glob(db.name + "*"):
        shutil.copy2(part, tmp_path / part.name)
    win = open_window(qtbot, tmp_path / "settings.ini", tmp_path / db.name, folder)
    qtbot.waitUntil(lambda: win.track_model.rowCount() == N_TRACKS, timeout=20_000)
    yield win
    win.close()


def activate(win, qtbot) -> None:
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow, timeout=5_000)


def show_first_track(win, qtbot, view=None, row: int = 0) -> int:
    view = view or win.table
    select_rows(view, [row])
    track_id = int(view.model().index(row, 0).data(Qt.ItemDataRole.UserRole + 1))
    qtbot.waitUntil(
        lambda: win.panel.track_id == track_id and len(win.panel.tag_items()) > 0, timeout=20_000
    )
    return track_id


# --- 1. keys -------------------------------------------------------------------------------------


def test_ctrl_w_closes_the_window_and_ctrl_s_writes(main_window, qtbot):
    win = main_window
    close_keys = win.close_action.shortcuts()
    assert QKeySequence("Ctrl+W") in close_keys
    assert QKeySequence("Ctrl+W") not in win.write_action.shortcuts()
    assert QKeySequence("Ctrl+S") in win.write_action.shortcuts()
    assert "Ctrl+S" in win.panel.write_button.toolTip()
    activate(win, qtbot)
    qtbot.keyClick(
        win, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier
    )  # Write: nothing selected yet
    assert win.statusBar().currentMessage() == "Select the tracks to tag first"
    assert win.preview_dialog is None
    qtbot.keyClick(win, Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not win.isVisible(), timeout=5_000)
    assert win.closing and win.preview_dialog is None


def test_undo_disabled_until_a_write_and_ctrl_z_in_a_text_box(main_window, qtbot, tmp_path):
    from app.tagwriter import read_field

    win = main_window
    assert not win.undo_action.isEnabled()  # a fresh library: nothing to undo
    folder = make_folder(tmp_path, 2, seconds=2.0)
    win.add_folder(str(folder))
    qtbot.waitUntil(
        lambda: win.last_scan is not None and not win.is_scanning(), timeout=SCAN_TIMEOUT_MS
    )
    qtbot.waitUntil(lambda: win.proxy.rowCount() == 2, timeout=20_000)
    assert not win.undo_action.isEnabled()
    win.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    track_id = show_first_track(win, qtbot)
    path = win.track_model.track_by_id(track_id).path
    before = read_field(path, "comment")
    win.panel.set_field("comment")
    for item in win.panel.tag_items():
        item.setCheckState(0, Qt.CheckState.Unchecked)
    win.panel.tag_items()[0].setCheckState(0, Qt.CheckState.Checked)

    activate(win, qtbot)
    win.table.setFocus()
    qtbot.keyClick(win.table, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)  # Write tags
    qtbot.waitUntil(
        lambda: win.preview_dialog is not None and win.preview_dialog.isVisible(), timeout=20_000
    )
    win.preview_dialog.accept()
    qtbot.waitUntil(lambda: win.last_write is not None, timeout=20_000)
    assert win.last_write.written == 1 and read_field(path, "comment") != before
    qtbot.waitUntil(win.undo_action.isEnabled, timeout=10_000)

    # Ctrl+Z in the filter box: first the box's own typing ...
    activate(win, qtbot)
    win.filter_edit.setFocus()
    qtbot.keyClicks(win.filter_edit, "zz")
    qtbot.keyClick(win.filter_edit, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert win.filter_edit.text() == "" and win.last_undo is None
    # ... then, with nothing of its own to undo, the last tag write
    qtbot.keyClick(win.filter_edit, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: win.last_undo is not None, timeout=20_000)
    undone = win.tagging.last_undo  # the window's last_undo, set by the undo meanwhile
    assert undone is not None and undone.restored == 1 and read_field(path, "comment") == before
    qtbot.waitUntil(lambda: not win.undo_action.isEnabled(), timeout=10_000)  # nothing left to undo


# --- 2. help -------------------------------------------------------------------------------------


def test_help_keyboard_shortcuts_lists_every_action_key(main_window, qtbot):
    win = main_window
    assert [a.text() for a in win.help_menu.actions()] == [
        "&Keyboard shortcuts",
        "&About zsl-tagger",
    ]
    activate(win, qtbot)
    qtbot.keyClick(win, Qt.Key.Key_F1)
    qtbot.waitUntil(
        lambda: win.shortcuts_dialog is not None and win.shortcuts_dialog.isVisible(), timeout=5_000
    )
    rows = win.shortcuts_dialog.rows()
    by_action = {action: (menu, keys) for menu, action, keys in rows}
    assert by_action["Write tags"] == ("Edit", "Ctrl+S")
    assert by_action["Close window"][0] == "File" and "Ctrl+W" in by_action["Close window"][1]
    assert "Ctrl+Z" in by_action["Undo tag write"][1]
    assert by_action["Play / pause"] == ("Playback", "Space")
    assert by_action["Keyboard shortcuts"] == ("Help", "F1")
    # every action of the window that has a key is listed, with exactly its keys
    native = QKeySequence.SequenceFormat.NativeText
    for act in win.findChildren(QAction):
        keys = ", ".join(s.toString(native) for s in act.shortcuts())
        if keys and act.text():
            name = act.text().replace("&", "").rstrip("…")
            assert by_action[name][1] == keys, name
    win.shortcuts_dialog.reject()


def test_help_about_says_version_model_word_space_and_licences(main_window, qtbot):
    win = main_window
    win.about_action.trigger()
    qtbot.waitUntil(
        lambda: win.about_dialog is not None and win.about_dialog.isVisible(), timeout=5_000
    )
    text = win.about_dialog.plain_text()
    assert f"zsl-tagger {metadata.version('zsl-tagger')}" in text
    assert "built-in model" in text and "musicnn" in text
    assert "all-MiniLM-L6-v2" in text  # the default word space
    assert win.model_name() in text
    for licence in ("MIT", "ISC", "Apache-2.0", "PDDL-1.0"):
        assert licence in text
    assert "LICENSE-musicnn.txt" in text and "LICENSE-glove.txt" in text
    win.about_dialog.reject()


# --- 3. state kept across restarts ---------------------------------------------------------------


def test_sort_search_tab_and_write_into_survive_a_restart(library_window, qtbot, tmp_path):
    win = library_window
    win.table.horizontalHeader().setSortIndicator(0, Qt.SortOrder.DescendingOrder)  # a header click
    assert win.proxy.index(0, 0).data().startswith(f"track{N_TRACKS - 1:02d}")
    qtbot.keyClicks(win.search_edit, "ambient")
    qtbot.waitUntil(
        lambda: win.last_search is not None and win.last_search[0] == "ambient", timeout=20_000
    )
    assert win.tabs.currentIndex() == 1
    win.tabs.setCurrentIndex(0)  # back to the library, the search left in the box
    win.panel.field.setCurrentText("mood")  # the panel's "Write into"
    win.close()

    saved = Settings(tmp_path / "settings.ini")
    assert (saved.sort, saved.last_search, saved.tab, saved.field) == ((0, 1), "ambient", 0, "mood")
    again = open_window(qtbot, tmp_path / "settings.ini", tmp_path / "library.sqlite3")
    try:
        qtbot.waitUntil(lambda: again.last_search is not None, timeout=20_000)
        header = again.table.horizontalHeader()
        assert (header.sortIndicatorSection(), header.sortIndicatorOrder()) == (
            0,
            Qt.SortOrder.DescendingOrder,
        )
        assert again.proxy.index(0, 0).data().startswith(f"track{N_TRACKS - 1:02d}")
        assert again.search_edit.text() == "ambient" and again.last_search[0] == "ambient"
        assert again.search_model.rowCount() >= 1
        assert again.tabs.currentIndex() == 0  # the tab the user left, not the results
        assert again.panel.current_field() == "mood"
        again.search_edit.clear()
        again.tabs.setCurrentIndex(1)
    finally:
        again.close()
    saved = Settings(tmp_path / "settings.ini")
    assert (saved.last_search, saved.tab) == ("", 1)


# --- 4. layout -----------------------------------------------------------------------------------


def test_tag_list_keeps_several_rows_at_1024x640_with_the_log(library_window, qtbot):
    win = library_window
    win.log_view.show()
    win.resize(1024, 640)
    qtbot.waitUntil(
        lambda: win.size().width() == 1024 and win.size().height() == 640, timeout=5_000
    )
    assert win.minimumSizeHint().width() <= 1024 and win.minimumSizeHint().height() <= 640
    show_first_track(win, qtbot)
    qtbot.wait(50)
    tags = win.panel.tags
    assert win.log_view.isVisible() and win.log_view.height() >= 80
    row = tags.visualItemRect(win.panel.tag_items()[0]).height()
    assert row > 0
    assert tags.viewport().height() >= MIN_TAG_ROWS * row, (tags.viewport().height(), row)
    assert win.panel.write_button.isVisible() and win.panel.field.isVisible()
    assert win.panel.cover.height() <= 120


# --- 5. empty states, the panel, playback --------------------------------------------------------


def test_search_on_an_empty_library_says_so_in_the_results(main_window, qtbot):
    win = main_window
    assert win.stack.currentWidget() is win.welcome
    qtbot.keyClicks(win.search_edit, "calm piano")
    qtbot.waitUntil(lambda: win.last_search is not None, timeout=20_000)
    assert win.stack.currentWidget() is win.splitter and win.tabs.currentIndex() == 1
    assert win.search_view.isVisible() and win.search_view.showing_empty_text()
    assert "library is empty" in win.search_view.empty_text()
    assert "Add a music folder" in win.search_view.empty_text()
    win.search_edit.clear()
    assert win.stack.currentWidget() is win.welcome  # back to "choose your music folder"


def test_no_results_and_a_filter_that_hides_everything_say_what_to_do(library_window, qtbot):
    win = library_window
    assert not win.table.showing_empty_text()
    win.search_edit.setText("qzxqvv")
    qtbot.waitUntil(
        lambda: win.last_search is not None and win.last_search[0] == "qzxqvv", timeout=20_000
    )
    assert win.search_model.rowCount() == 0 and win.tabs.currentIndex() == 1
    assert win.search_view.showing_empty_text()
    assert "No good match for “qzxqvv”" in win.search_view.empty_text()
    assert "qzxqvv" in win.search_view.empty_text()  # the word nothing knows is named
    win.search_edit.clear()
    win.filter_edit.setText("nothing-is-called-this")
    assert win.proxy.rowCount() == 0 and win.table.showing_empty_text()
    assert "No track matches “nothing-is-called-this”" in win.table.empty_text()
    assert f"all {N_TRACKS} track(s)" in win.table.empty_text()


def test_panel_follows_the_visible_selection(library_window, qtbot):
    win = library_window
    win.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    first = show_first_track(win, qtbot, row=0)
    second = int(win.proxy.index(1, 0).data(Qt.ItemDataRole.UserRole + 1))
    assert win.panel.track_id == first
    win.filter_edit.setText("track01")  # hides the shown track: the panel lets it go
    qtbot.waitUntil(lambda: win.panel.track_id is None, timeout=5_000)
    assert (
        win.panel.heading.text() == "No track selected" and not win.panel.write_button.isEnabled()
    )
    win.filter_edit.clear()
    select_rows(win.table, [0, 1])
    qtbot.waitUntil(
        lambda: win.panel.track_id == first and win.panel.selection_size == 2, timeout=5_000
    )
    win.filter_edit.setText("track01")  # the other selected track is still visible: it is shown
    qtbot.waitUntil(lambda: win.panel.track_id == second, timeout=5_000)
    assert win.panel.selection_size == 1 and win.selected_ids() == [second]
    # new search results drop the selection of the old ones: the panel follows there too
    win.filter_edit.clear()
    win.search_edit.setText("ambient")
    qtbot.waitUntil(
        lambda: win.last_search is not None and win.last_search[0] == "ambient", timeout=20_000
    )
    hit = show_first_track(win, qtbot, view=win.search_view)
    win.search_edit.setText("fast")
    qtbot.waitUntil(lambda: win.last_search[0] == "fast", timeout=20_000)
    qtbot.waitUntil(lambda: win.panel.track_id is None, timeout=5_000)
    assert hit is not None


def test_play_without_an_audio_device_says_so(library_window, qtbot, monkeypatch):
    from app.gui.controllers import playback as module

    win = library_window
    monkeypatch.setattr(
        module, "audio_output_devices", lambda: []
    )  # what a machine without sound has
    show_first_track(win, qtbot)
    win.panel.play_button.click()
    message = win.statusBar().currentMessage()
    assert "no audio output device" in message and not message.startswith("Playing")
    assert win._playing_id is None and win.panel.play_button.text() == "Play"
    assert any("no audio output device" in line for line in win.log_view.lines())
    monkeypatch.setattr(
        module, "audio_output_devices", lambda: ["speakers"]
    )  # plugged in: Play plays
    win.panel.play_button.click()
    assert win._playing_id == win.panel.track_id
    assert win.statusBar().currentMessage().startswith("Playing")
    # let the FFmpeg backend's threads end before the window deletes the player (test_gui_playback.py)
    from PySide6.QtCore import QUrl
    from PySide6.QtMultimedia import QMediaPlayer

    player = win.player
    win.stop_playback()
    win._player_call("setSource", QUrl())
    qtbot.waitUntil(lambda: player.mediaStatus() == QMediaPlayer.MediaStatus.NoMedia, timeout=5_000)
    qtbot.wait(200)
