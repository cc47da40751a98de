"""The window's actions, menus and toolbar: every command the window answers to, with its keys.

A view module: it makes QActions and binds them to the window's slots; what they do lives in the
window's controllers (app/gui/controllers/).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QToolBar

if TYPE_CHECKING:
    from app.gui.main_window import MainWindow


def build_actions(window: MainWindow) -> None:
    """Actions (as window attributes: `undo_action`, `write_action`, …), menus and the toolbar."""

    def action(
        text: str,
        slot: Callable[[], Any],
        shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,
        tip: str = "",
    ) -> QAction:
        act = QAction(text, window)
        if shortcut is not None:
            act.setShortcut(QKeySequence(shortcut))
        act.setStatusTip(tip)
        act.triggered.connect(lambda *_: slot())
        window.addAction(act)
        return act

    window.add_folder_action = action(
        "&Add music folder…",
        window.choose_folder,
        QKeySequence.StandardKey.Open,
        "Add a folder to the library and scan it",
    )
    window.rescan_action = action(
        "&Rescan library", window.rescan, "F5", "Analyse new and changed files"
    )
    window.import_action = action(
        "&Import analysis…",
        window.dialogs.open_import,
        None,
        "Take in tracks analysed on other machines, without analysing them again",
    )
    window.learn_action = action(
        "&Learn from my library…",
        window.dialogs.open_learn,
        None,
        "Train a model on the genre/mood tags your files already have",
    )
    window.switch_back_action = action(
        "Switch &back to the built-in model",
        window.switch_model_back,
        None,
        "Use the model you used before the last switch again",
    )
    window.settings_action = action("&Settings…", window.dialogs.open_settings, "Ctrl+,")
    # Ctrl+W closes the window, as everywhere else (the platform's Close keys)
    window.close_action = action(
        "&Close window",
        window.close,
        QKeySequence.StandardKey.Close,
        "Close the window (the app ends with it)",
    )
    ensure_keys(window.close_action, "Ctrl+W")
    window.quit_action = action("&Quit", window.close, QKeySequence.StandardKey.Quit)
    ensure_keys(window.quit_action, "Ctrl+Q")
    window.undo_action = action(
        "&Undo tag write",
        window.undo_last,
        QKeySequence.StandardKey.Undo,
        "Put back the tags the last write replaced",
    )
    window.undo_action.setEnabled(False)  # until the journal says there is a write to undo
    # Ctrl+S, as taggers save tags (Picard, Mp3tag); the preview comes first
    window.write_action = action(
        "&Write tags…",
        window.write_selected,
        QKeySequence.StandardKey.Save,
        "Write the checked tags into the selected files (preview first)",
    )
    ensure_keys(window.write_action, "Ctrl+S")
    window.find_action = action("&Search", window.focus_search, QKeySequence.StandardKey.Find)
    window.history_action = action("&History of tag writes…", window.dialogs.open_history, "Ctrl+H")
    window.play_action = action("&Play / pause", window.play_selected, "Space")
    window.play_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
    window.removeAction(window.play_action)
    for view in (window.table, window.search_view):
        view.addAction(window.play_action)
    window.stop_action = action("&Stop", window.stop_playback, None)

    menu = window.menuBar()
    file_menu = menu.addMenu("&File")
    for act in (
        window.add_folder_action,
        window.rescan_action,
        window.import_action,
        window.learn_action,
        window.switch_back_action,
        window.settings_action,
    ):
        file_menu.addAction(act)
    file_menu.addSeparator()
    file_menu.addAction(window.close_action)
    file_menu.addAction(window.quit_action)
    edit_menu = menu.addMenu("&Edit")
    for act in (window.undo_action, window.write_action, window.find_action):
        edit_menu.addAction(act)
    window.view_menu = menu.addMenu("&View")
    window.view_menu.addAction(window.history_action)
    play_menu = menu.addMenu("&Playback")
    play_menu.addAction(window.play_action)
    play_menu.addAction(window.stop_action)
    window.shortcuts_action = action(
        "&Keyboard shortcuts",
        window.dialogs.open_shortcuts,
        QKeySequence.StandardKey.HelpContents,
        "Every key the window answers to",
    )
    ensure_keys(window.shortcuts_action, "F1")
    window.about_action = action(
        "&About zsl-tagger",
        window.dialogs.open_about,
        None,
        "Version, the model in use and the licences",
    )
    window.about_action.setMenuRole(QAction.MenuRole.AboutRole)
    window.help_menu = menu.addMenu("&Help")
    window.help_menu.addAction(window.shortcuts_action)
    window.help_menu.addAction(window.about_action)
    window.panel.set_shortcut_hints(keys_text(window.write_action), keys_text(window.play_action))

    toolbar = QToolBar("Main")
    toolbar.setObjectName("mainToolbar")
    toolbar.setMovable(False)
    toolbar.addAction(window.add_folder_action)
    toolbar.addAction(window.rescan_action)
    toolbar.addSeparator()
    toolbar.addWidget(window.search_edit)
    toolbar.addSeparator()
    toolbar.addAction(window.write_action)
    toolbar.addAction(window.undo_action)
    window.addToolBar(toolbar)


def ensure_keys(act: QAction, key: str) -> None:
    """The platform's keys for a standard action, and `key` too where the platform has none
    or leaves it out (some platforms bind no Quit key)."""
    keys = [k for k in act.shortcuts() if not k.isEmpty()]
    wanted = QKeySequence(key)
    if wanted not in keys:
        act.setShortcuts([*keys, wanted])


def keys_text(act: QAction) -> str:
    return act.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
