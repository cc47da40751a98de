"""The window's pages and dialogs: welcome, write preview, history, settings (Learn from my
library has its own module, `app.gui.learn_dialog`).

Dialogs never do slow work themselves: they show what a worker computed (the write plan, the
history) or start workers (training) and show their progress.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.gui.settings import BY_KIND, DEVICES, FIELDS, PRECISIONS, Settings
from app.gui.track_panel import BY_KIND_TEXT, KIND_LABELS
from app.gui.write_preview import WritePreviewDialog  # noqa: F401 (its home before)
from app.options import TOP_WRITE
from app.routing import NOT_WRITTEN, parse_routes
from zsl_core.tags import TagKind

log = logging.getLogger(__name__)

NOT_WRITTEN_TEXT = "not written"


def _route_text(text: str) -> str:
    text = text.strip()
    return NOT_WRITTEN if text in ("", NOT_WRITTEN_TEXT) else text


# --- welcome -----------------------------------------------------------------------------------


class WelcomePage(QWidget):
    """First run: ask for a music folder (button or drag-and-drop). Emits folder_chosen(path).

    Drops are not taken here: they climb to the main window, which handles them the same way
    on every page (folders scanned, anything else refused with the reason).
    """

    folder_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        title = QLabel("<h2>Welcome to zsl-tagger</h2>")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text = QLabel(
            "Choose your music folder, or drop it here. Every track is listened to once;\n"
            "then you can search by any word and write the proposed tags into your files.\n"
            "Nothing is written until you have seen and confirmed every change."
        )
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text.setWordWrap(True)
        self.button = QPushButton("Choose music folder…")
        self.button.clicked.connect(self._choose)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.button)
        row.addStretch(1)
        layout.addWidget(title)
        layout.addWidget(text)
        layout.addLayout(row)
        layout.addStretch(2)

    def _choose(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Choose your music folder", str(Path.home())
        )
        if folder:
            self.folder_chosen.emit(folder)


# --- history -----------------------------------------------------------------------------------


def mode_text(mode: str) -> str:
    """How a batch changed its fields, in words: the journal stores "merge" (values only
    added), "replace" (values changed or taken out) or both joined ("merge, replace")."""
    modes = {m.strip() for m in str(mode or "").split(",") if m.strip()}
    if modes == {"merge"}:
        return "values added"
    if modes == {"replace"}:
        return "values changed or removed"
    return "values added, changed or removed"


class HistoryDialog(QDialog):
    """The journal of tag writes, newest first, with Undo for the selected batch.

    Emits undo_requested(batch_id); the window runs the undo in a worker and calls set_batches.
    """

    undo_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("History of tag writes")
        layout = QVBoxLayout(self)
        self.table = QTableWidget(0, 5, self)
        self.table.setHorizontalHeaderLabels(["#", "When", "What", "Files", "State"])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        layout.addWidget(self.table)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.undo_button = buttons.addButton(
            "Undo selected batch", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.undo_button.clicked.connect(self._undo)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.batches: list[Any] = []
        self.resize(760, 360)

    def set_batches(self, batches: Sequence[Any]) -> None:
        self.batches = list(batches)
        self.table.setRowCount(len(self.batches))
        for row, b in enumerate(self.batches):
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(b.time))
            cells = [
                str(b.batch_id),
                when,
                f"{b.description} ({mode_text(b.mode)})",
                str(b.n_files),
                "undone" if b.undone else "written",
            ]
            for column, text in enumerate(cells):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()

    def _undo(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self.undo_requested.emit(int(self.batches[rows[0].row()].batch_id))


# --- settings ----------------------------------------------------------------------------------


VOCABULARY_TIP = (
    "A text file of the new words to suggest, one word or phrase a line. A line "
    "“# kind: mood” (or genre, instrument, era, character) gives the words below it their "
    "kind, which decides the field they are written to (the “… go to” rows above); without "
    "one, a file named moods.txt, genres.txt, ... gives its own kind, any other file “other”. "
    "A line “energetic = fast, loud, dance” says which trained words a word is read off."
)


class SettingsDialog(QDialog):
    """Model, word vectors, device, field, ID3 version, vocabulary, number of tags, scan folders."""

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.settings = settings
        form = QFormLayout()

        self.model = QComboBox()
        self.model.setEditable(True)
        self.model.addItem("default")
        for folder in settings.trained_models:
            self.model.addItem(folder)
        self.model.setCurrentText(settings.model)
        form.addRow("Model", self._with_browse(self.model, self._browse_model))

        self.vectors = QLineEdit(settings.vectors)
        self.vectors.setPlaceholderText("built in (reads any word or phrase)")
        self.vectors.setToolTip(
            "How words the model was never trained on are understood: empty for the built-in "
            "one, which reads any word or phrase; 'glove' for the built-in list of single "
            "words; or a file of word meanings you have (GloVe, word2vec, fastText)"
        )
        form.addRow("New words", self._with_browse(self.vectors, self._browse_vectors))

        self.device = QComboBox()
        self.device.addItems(
            [{"auto": "Automatic", "cpu": "CPU", "cuda": "GPU (CUDA)"}[d] for d in DEVICES]
        )
        self.device.setCurrentIndex(DEVICES.index(settings.device))
        form.addRow("Device", self.device)
        self.precision = QComboBox()
        self.precision.addItems(
            [
                {
                    "fp32": "Exact",
                    "bf16": "Fast (on newer processors)",
                    "auto": "Automatic",
                }[p]
                for p in PRECISIONS
            ]
        )
        self.precision.setCurrentIndex(PRECISIONS.index(settings.precision))
        self.precision.setToolTip(
            "How the built-in model calculates. Fast scans about 1.5 times quicker on "
            "processors made for it (recent Intel Xeon and AMD), with almost the same tags; "
            "each choice keeps its own results."
        )
        form.addRow("Analysis", self.precision)

        self.field = QComboBox()
        self.field.setEditable(True)
        self.field.addItem(BY_KIND_TEXT)
        self.field.addItems(list(FIELDS))
        self.field.setCurrentText(settings.field or BY_KIND_TEXT)
        self.field.setToolTip(
            "Each kind of tag to the field chosen below, or every tag into one field "
            "(genre, mood, grouping, comment, or custom:NAME)"
        )
        form.addRow("Write tags into", self.field)

        routes = settings.routes
        self.routes: dict[TagKind, QComboBox] = {}
        for kind in TagKind:
            box = QComboBox()
            box.setEditable(True)
            box.addItems([NOT_WRITTEN_TEXT, *FIELDS])
            box.setCurrentText(routes.get(kind) or NOT_WRITTEN_TEXT)
            box.setToolTip(f"The field {kind.value} tags are written to (or custom:NAME)")
            self.routes[kind] = box
            form.addRow(f"    {KIND_LABELS[kind]} go to", box)

        self.id3 = QComboBox()
        self.id3.addItems(["ID3 v2.4", "ID3 v2.3 (old players)"])
        self.id3.setCurrentIndex(0 if settings.id3_version == 4 else 1)
        self.id3.setToolTip("The version of ID3 tags created in MP3/WAV/AIFF files that have none")
        form.addRow("New ID3 tags", self.id3)
        self.id3_convert = QCheckBox("Also convert existing ID3 tags to that version")
        self.id3_convert.setChecked(settings.id3_convert)
        self.id3_convert.setToolTip(
            "Off: every file keeps the ID3 version it has (most players read "
            "both); on: files of the other version are converted when written"
        )
        form.addRow("", self.id3_convert)

        self.vocabulary = QLineEdit(settings.vocabulary)
        self.vocabulary.setPlaceholderText("the built-in vocabulary (about 1,200 words)")
        self.vocabulary.setToolTip(VOCABULARY_TIP)
        form.addRow("Vocabulary", self._with_browse(self.vocabulary, self._browse_vocabulary))

        self.top_k = QSpinBox()
        self.top_k.setRange(int(TOP_WRITE.low or 1), int(TOP_WRITE.high or 1))
        self.top_k.setValue(settings.top_k)
        self.top_k.setToolTip(
            "How many tags are proposed and ticked for each field (Genre, Mood, and any field"
            " a kind is routed to), as zsl-tagger write --top"
        )
        form.addRow("Tags per field", self.top_k)

        self.folders = QListWidget()
        self.folders.addItems(settings.folders)
        add = QPushButton("Add…")
        add.clicked.connect(self._add_folder)
        remove = QPushButton("Remove")
        remove.clicked.connect(
            lambda: [
                self.folders.takeItem(self.folders.row(i)) for i in self.folders.selectedItems()
            ]
        )
        folder_box = QVBoxLayout()
        folder_box.addWidget(self.folders)
        folder_buttons = QHBoxLayout()
        folder_buttons.addWidget(add)
        folder_buttons.addWidget(remove)
        folder_buttons.addStretch(1)
        folder_box.addLayout(folder_buttons)
        form.addRow("Music folders", folder_box)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self.resize(640, 480)

    def _with_browse(self, widget: QWidget, browse: Callable[[], None]) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(widget, 1)
        button = QPushButton("Browse…")
        button.clicked.connect(browse)
        row.addWidget(button)
        return box

    def _browse_model(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Model folder (from zsl-core train)")
        if folder:
            self.model.setCurrentText(folder)

    def _browse_vectors(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Word meanings", "", "Word meanings (*.txt *.vec *.bin *.npz);;All files (*)"
        )
        if path:
            self.vectors.setText(path)

    def _browse_vocabulary(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Vocabulary (one word a line)", "", "Text (*.txt);;All files (*)"
        )
        if path:
            self.vocabulary.setText(path)

    def _add_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a music folder")
        if folder:
            self.folders.addItem(folder)

    def apply(self) -> set[str]:
        """Store the dialog's values; returns the names of the settings that changed."""
        s = self.settings
        before = {
            "model": s.model,
            "vectors": s.vectors,
            "device": s.device,
            "precision": s.precision,
            "field": s.field,
            "routes": s.routes,
            "id3_convert": s.id3_convert,
            "id3_version": s.id3_version,
            "vocabulary": s.vocabulary,
            "top_k": s.top_k,
            "folders": s.folders,
        }
        s.switch_model(self.model.currentText().strip())  # File > Switch back can undo it
        s.vectors = self.vectors.text().strip()
        s.device = DEVICES[self.device.currentIndex()]
        s.precision = PRECISIONS[self.precision.currentIndex()]
        text = self.field.currentText().strip()
        s.field = BY_KIND if text in ("", BY_KIND_TEXT) else text
        specs = [
            f"{kind.value}={_route_text(box.currentText())}" for kind, box in self.routes.items()
        ]
        try:
            s.routes = parse_routes(specs)
        except ValueError as exc:  # a bad custom field name: keep the old table, say why
            log.warning("tag kinds not changed: %s", exc)
        s.id3_version = 4 if self.id3.currentIndex() == 0 else 3
        s.id3_convert = self.id3_convert.isChecked()
        s.vocabulary = self.vocabulary.text().strip()
        s.top_k = self.top_k.value()
        s.folders = [self.folders.item(i).text() for i in range(self.folders.count())]
        s.sync()
        after = {
            "model": s.model,
            "vectors": s.vectors,
            "device": s.device,
            "precision": s.precision,
            "field": s.field,
            "routes": s.routes,
            "id3_convert": s.id3_convert,
            "id3_version": s.id3_version,
            "vocabulary": s.vocabulary,
            "top_k": s.top_k,
            "folders": s.folders,
        }
        return {k for k in before if before[k] != after[k]}
