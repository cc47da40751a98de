"""The model controller: which model analyses the library. Settings applied (model, vocabulary,
folders), a trained model switched to (Learn from my library), and back (File > Switch back).

A different model's results are stored apart, so a switch reopens the library and analyses
every folder again with it; a new vocabulary only changes the proposals shown.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from app.gui.controllers.library import LibraryController
from app.gui.controllers.scan import ScanController
from app.gui.settings import Settings

MODEL_SETTINGS = frozenset({"model", "vectors", "device", "precision"})


class ModelController(QObject):
    """Signals: reanalysing() (a new model: the Predicted tags column is stale),
    proposals_changed() (a new vocabulary or top-k: the panel's proposals are stale),
    switch_back_changed(text, enabled) (File > Switch back), message(str, error)."""

    reanalysing = Signal()
    proposals_changed = Signal()
    switch_back_changed = Signal(str, bool)
    message = Signal(str, bool)

    def __init__(
        self,
        library: LibraryController,
        scan: ScanController,
        settings: Settings,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.library = library
        self.scan = scan
        self.settings = settings

    def switch_back_label(self) -> tuple[str, bool]:
        """File > Switch back's text, and whether there is a model to go back to."""
        previous = self.settings.previous_model
        usable = bool(previous) and previous != self.settings.model
        name = "the built-in model" if previous == "default" else "the previous model"
        return f"Switch &back to {name}", usable

    def announce_switch_back(self) -> None:
        self.switch_back_changed.emit(*self.switch_back_label())

    def settings_applied(self, changed: set[str], folders_before: set[str]) -> None:
        """The Settings dialog saved `changed` (names of settings); folders added there are
        scanned, unless a new model analyses every folder anyway."""
        self.announce_switch_back()  # a model chosen there can be switched back from, too
        self.library.set_vocabulary(self.settings.vocabulary)
        model_changed = bool(changed & MODEL_SETTINGS)
        if model_changed:
            self.reopen_and_rescan("Model settings changed")
        elif changed & {"vocabulary", "top_k", "routes", "field"}:  # what is proposed per field
            self.library.forget_vocabulary()
            self.proposals_changed.emit()
        new_folders = [f for f in self.settings.folders if f not in folders_before]
        if new_folders and not model_changed:
            self.scan.start_scan(new_folders)
        self._say("Settings saved")

    def use_trained(self, folder: str) -> None:
        """Learn from my library made a model the user chose to use."""
        self.settings.switch_model(folder)
        self.settings.sync()
        self.announce_switch_back()
        self.reopen_and_rescan("Switched to the trained model")

    def switch_back(self) -> None:
        """Undo the last model switch, itself undoable the same way."""
        if self.settings.switch_back() is None:
            self._say("No earlier model to switch back to")
            return
        self.settings.sync()
        self.announce_switch_back()
        self.reopen_and_rescan("Switched back")

    def reopen_and_rescan(self, reason: str) -> None:
        """A different model: its results are separate, so tracks are analysed again."""
        self._say(f"{reason}: model {self.settings.model}; analysing the library with it")
        if self.scan.is_running():
            self.scan.cancel()
        self.reanalysing.emit()
        self.library.open()
        if self.settings.folders:
            self.scan.start_scan(self.settings.folders)

    def _say(self, text: str, error: bool = False) -> None:
        self.message.emit(text, error)
