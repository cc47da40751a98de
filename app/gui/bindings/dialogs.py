"""The window's dialogs: each opened on the window (non-blocking), kept while it is open (tests
and tools look at `window.preview_dialog`, …), and its outcome handed to a controller.

Write preview -> TaggingController.write; History -> undo of a batch; Settings ->
ModelController.settings_applied; Learn from my library -> ModelController.use_trained / switch
back; Import analysis -> the window's start_import; Keyboard shortcuts and About only show.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QDialog

from app.gui.dialogs import HistoryDialog, SettingsDialog, WritePreviewDialog
from app.gui.import_dialog import ImportDialog
from app.gui.learn_dialog import LearnDialog

if TYPE_CHECKING:
    from app.gui.main_window import MainWindow


class WindowDialogs(QObject):
    """Opens the window's dialogs; `preview`, `history`, `settings`, `learn`, `import_`,
    `shortcuts`, `about` are the ones open (None when closed; history stays once made)."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.preview: WritePreviewDialog | None = None
        self.history: HistoryDialog | None = None
        self.settings: SettingsDialog | None = None
        self.learn: LearnDialog | None = None
        self.import_: ImportDialog | None = None
        self.shortcuts: QDialog | None = None
        self.about: QDialog | None = None
        tagging = window.tagging
        tagging.preview_ready.connect(window._show_preview)
        tagging.undone.connect(self.undone)
        tagging.history_ready.connect(self.history_ready)

    # --- the write preview -----------------------------------------------------------------------
    def open_preview(self, planned: list[Any], field: str) -> None:
        dialog = WritePreviewDialog(planned, self.window)
        self.preview = dialog
        dialog.finished.connect(lambda code: self._preview_closed(dialog, code, field))
        dialog.open()

    def _preview_closed(self, dialog: WritePreviewDialog, code: int, field: str) -> None:
        self.preview = None
        dialog.deleteLater()
        if code != QDialog.DialogCode.Accepted:
            self.window.message("Nothing written")
            return
        self.window.tagging.write(dialog.changes(), field, dialog.edited())

    # --- history -----------------------------------------------------------------------------
    def open_history(self) -> None:
        if self.history is None:
            self.history = HistoryDialog(self.window)
            self.history.undo_requested.connect(lambda batch_id: self.window.undo_last(batch_id))
        self.history.show()
        self.history.raise_()
        self.window.tagging.load_history()

    def history_ready(self, batches: list[Any]) -> None:
        if self.history is not None:
            self.history.set_batches(batches)

    def undone(self, _result: Any) -> None:
        """A batch was undone: the open history shows it."""
        if self.history is not None and self.history.isVisible():
            self.window.tagging.load_history()

    # --- help --------------------------------------------------------------------------------
    def open_shortcuts(self) -> None:
        from app.gui.help import ShortcutsDialog, shortcut_rows

        dialog = ShortcutsDialog(shortcut_rows(self.window), self.window)
        self.shortcuts = dialog
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def open_about(self) -> None:
        from app.gui.help import AboutDialog

        w, s = self.window, self.window.settings
        dialog = AboutDialog(s.model, s.vectors, w.model_name(), w.lib.device_name(), w)
        self.about = dialog
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    # --- settings, learning, importing -------------------------------------------------------
    def open_settings(self) -> None:
        dialog = SettingsDialog(self.window.settings, self.window)
        self.settings = dialog
        dialog.finished.connect(lambda code: self._settings_closed(dialog, code))
        dialog.open()

    def _settings_closed(self, dialog: SettingsDialog, code: int) -> None:
        self.settings = None
        dialog.deleteLater()
        if code != QDialog.DialogCode.Accepted:
            return
        w = self.window
        before = set(w.settings.folders)
        changed = dialog.apply()
        w.panel.set_routes(w.settings.routes)
        w.panel.set_field(w.settings.field)
        w.lib.refresh_column()  # the Predicted tags column follows the routing
        w.model.settings_applied(changed, before)

    def open_learn(self) -> None:
        w = self.window
        rows = [w.track_model.track(i) for i in range(w.track_model.rowCount())]
        dialog = LearnDialog(
            lambda: rows,
            w.lib.models_dir(),
            device=w.settings.device,
            parent=w,
            db_path=w.lib.db_file(),
            current_model=w.settings.model,
        )
        self.learn = dialog
        dialog.use_model.connect(w.model.use_trained)
        dialog.switch_back.connect(w.model.switch_back)
        dialog.open()

    def open_import(self) -> None:
        w = self.window
        if w.scan.is_running():
            w.message("A scan or import is running; import when it has finished")
            return
        dialog = ImportDialog(w.model_name(), parent=w)
        self.import_ = dialog
        dialog.accepted.connect(lambda: w.start_import(dialog.parts(), dialog.path_map()))
        dialog.open()
