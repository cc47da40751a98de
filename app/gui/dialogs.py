"""The window's pages and dialogs: welcome, write preview, history, settings, learn from my library.

Dialogs never do slow work themselves: they show what a worker computed (the write plan, the
history) or start workers (training) and show their progress.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.gui.settings import BY_KIND, DEVICES, FIELDS, PRECISIONS, Settings
from app.gui.track_panel import BY_KIND_TEXT
from app.gui.write_preview import WritePreviewDialog  # noqa: F401 (its home before)
from app.options import TOP_TAGS
from app.routing import NOT_WRITTEN, parse_routes
from zsl_core.tags import TagKind, split_values

if TYPE_CHECKING:
    from app.gui.workers import TrainProcess

log = logging.getLogger(__name__)

NOT_WRITTEN_TEXT = "not written"
KIND_LABELS = {
    TagKind.GENRE: "Genres",
    TagKind.MOOD: "Moods",
    TagKind.INSTRUMENT: "Instruments",
    TagKind.ERA: "Decades and eras",
    TagKind.CHARACTER: "Descriptions (fast, loud, ...)",
    TagKind.OTHER: "Other words",
}


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
                f"{b.description} ({b.field}, {b.mode})",
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
        form.addRow("Vocabulary", self._with_browse(self.vocabulary, self._browse_vocabulary))

        self.top_k = QSpinBox()
        self.top_k.setRange(int(TOP_TAGS.low or 1), int(TOP_TAGS.high or 50))
        self.top_k.setValue(settings.top_k)
        form.addRow("Tags per track", self.top_k)

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
        s.model = self.model.currentText().strip() or "default"
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


# --- learn from my library ---------------------------------------------------------------------


def split_tag_text(text: str | None) -> list[str]:
    """A cached genre/mood text ("Rock; Pop", "rock, indie") as separate tags (the one rule,
    `zsl_core.tags.split_values`)."""
    return split_values(text)


def library_manifest(
    tracks: Sequence[Any], fields: Sequence[str], min_tracks: int = 2
) -> tuple[list[Any], list[str]]:
    """Manifest tracks (zsl_core.datasets.Track) from the library's own tags.

    Tags are normalised (as the trainer's word lookup does); tags carried by fewer than
    `min_tracks` tracks are dropped (nothing can be learned or tested from one example).
    Returns (tracks, labels kept).
    """
    from collections import Counter

    from zsl_core.datasets import Track
    from zsl_core.vectors import normalise_tag

    per_track: list[tuple[Any, list[str]]] = []
    for row in tracks:
        if getattr(row, "status", "ok") != "ok":
            continue
        tags: list[str] = []
        for name in fields:
            tags += [normalise_tag(t) for t in split_tag_text(getattr(row, name, None))]
        tags = [t for t in dict.fromkeys(tags) if t]
        if tags:
            per_track.append((row, tags))
    counts = Counter(t for _, tags in per_track for t in tags)
    keep = {t for t, n in counts.items() if n >= min_tracks}
    out = []
    for row, tags in per_track:
        kept = [t for t in tags if t in keep]
        if kept:
            out.append(Track(id=str(row.id), path=Path(row.path), tags=kept, attributes={}))
    return out, sorted(keep)


class LearnDialog(QDialog):
    """Train a model on the library's own genre/mood tags, in a child process, with Cancel.

    Steps: write a manifest of the tracks and their current tags, split it the paper's way,
    train (frozen musicnn features: only the heads train, minutes on a CPU), evaluate on the
    held-out tracks and labels. The result can then be made the active model.
    Emits use_model(folder) when the user switches to the trained model.
    """

    use_model = Signal(str)
    _prepared_signal = Signal(object)  # from the preparing thread to `_prepared`, queued

    def __init__(
        self,
        tracks_provider: Callable[[], Sequence[Any]],
        models_dir: Path,
        device: str = "auto",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Learn from my library")
        self._preparing = False
        self._cancel_requested = False
        self._prepared_signal.connect(self._prepared)
        self.tracks_provider = tracks_provider
        self.models_dir = Path(models_dir)
        self.device = device
        self.process: TrainProcess | None = None
        self.model_dir: Path | None = None
        self.results: dict | None = None
        self.epochs_total = 1

        layout = QVBoxLayout(self)
        intro = QLabel(
            "Teach the tagger your own words: tracks you already tagged are the examples.\n"
            "Some of your words are kept back from the lesson, so the result shows how well it "
            "finds words it was not taught."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        fields_row = QHBoxLayout()
        self.field_boxes = {name: QCheckBox(name) for name in ("genre", "mood")}
        for box in self.field_boxes.values():
            box.setChecked(True)
            fields_row.addWidget(box)
        fields_row.addStretch(1)
        form.addRow("Learn from", fields_row)
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 500)
        self.epochs.setValue(30)
        form.addRow("Epochs (at most)", self.epochs)
        layout.addLayout(form)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.bar = QProgressBar()
        self.bar.setRange(0, 4)
        self.bar.setValue(0)
        layout.addWidget(self.bar)
        self.output = QPlainTextEdit()
        self.output.setReadOnly(True)
        self.output.setMaximumBlockCount(2000)
        layout.addWidget(self.output, 1)
        self.metrics = QLabel("")
        self.metrics.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.metrics)
        buttons = QDialogButtonBox()
        self.start_button = buttons.addButton("Start", QDialogButtonBox.ButtonRole.ActionRole)
        self.cancel_button = buttons.addButton(
            "Cancel training", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.use_button = buttons.addButton(
            "Use this model", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.close_button = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.cancel_button.setEnabled(False)
        self.use_button.setEnabled(False)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.use_button.clicked.connect(self._use)
        self.close_button.clicked.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(720, 520)

    # the steps ---------------------------------------------------------------------------------
    def start(self) -> None:
        """Collect the examples and write the manifest on a worker thread (seconds at 100k tracks),
        then run split -> train -> evaluate as child processes (`_prepared`)."""
        fields = [name for name, box in self.field_boxes.items() if box.isChecked()]
        if not fields:
            self.status.setText("Choose at least one tag field to learn from.")
            return
        if self.is_running():
            return
        rows = list(self.tracks_provider())  # the table's rows, already in memory
        work = self.models_dir / f"library-{time.strftime('%Y%m%d-%H%M%S')}"
        self._preparing = True
        self._cancel_requested = False
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.use_button.setEnabled(False)
        self.bar.setRange(0, 0)
        self.status.setText(f"Collecting the tagged tracks among {len(rows)}…")
        threading.Thread(
            target=self._prepare, args=(rows, fields, work), name="learn-prepare", daemon=True
        ).start()

    def _prepare(self, rows: list[Any], fields: list[str], work: Path) -> None:
        """Worker thread: no Qt calls except emitting the result."""
        from zsl_core.datasets import write_manifest

        result: dict[str, Any]
        try:
            tracks, labels = library_manifest(rows, fields)
            if len(labels) < 2 or len(tracks) < 10:
                result = {
                    "refused": f"Not enough tagged tracks to learn from: {len(tracks)} track(s) with "
                    f"{len(labels)} tag(s) used by at least two tracks (need 10 tracks, 2 tags)."
                }
            else:
                work.mkdir(parents=True, exist_ok=True)
                write_manifest(work / "manifest.jsonl", tracks)
                result = {"work": work, "tracks": len(tracks), "labels": labels}
        except OSError as exc:
            result = {"refused": f"{work}: cannot write ({exc.strerror or exc})"}
        except Exception as exc:  # a worker thread must always report back
            result = {"refused": f"cannot prepare the examples ({exc})"}
        try:
            self._prepared_signal.emit(result)
        except RuntimeError:  # the dialog was closed and deleted meanwhile
            pass

    def _prepared(self, result: dict) -> None:
        from app.gui.workers import TrainProcess

        self._preparing = False
        if self._cancel_requested or "refused" in result:
            self.start_button.setEnabled(True)
            self.cancel_button.setEnabled(False)
            self.bar.setRange(0, 1)
            self.bar.setValue(0)
            self.status.setText(
                "Training stopped: cancelled." if self._cancel_requested else result["refused"]
            )
            return
        work = result["work"]
        self.model_dir = work / "model"
        self.epochs_total = self.epochs.value()
        manifest, split, cache = (
            str(work / "manifest.jsonl"),
            str(work / "split.json"),
            str(work / "cache"),
        )
        steps = [
            ("split", ["split", manifest, "--out", split, "--seed", "0"]),
            (
                "train",
                [
                    "train",
                    manifest,
                    "--split",
                    split,
                    "--setup",
                    "A-X",
                    "--backbone",
                    "musicnn",
                    "--cache",
                    cache,
                    "--out",
                    str(self.model_dir),
                    "--epochs",
                    str(self.epochs_total),
                    "--device",
                    self.device,
                ],
            ),
            ("evaluate", ["evaluate", str(self.model_dir), "--json", str(work / "results.json")]),
        ]
        labels = result["labels"]
        self.output.appendPlainText(
            f"{result['tracks']} tracks, {len(labels)} tags: {', '.join(labels[:30])}"
            f"{' …' if len(labels) > 30 else ''}"
        )
        self.process = TrainProcess(steps, self)
        self.process.output.connect(self._line)
        self.process.step_started.connect(
            lambda i, title: self.status.setText(f"Step {i + 1}/3: {title}…")
        )
        self.process.finished_all.connect(self._finished)
        self.process.start()

    def cancel(self) -> None:
        if self._preparing:
            self._cancel_requested = True  # honoured when the preparation reports back
        if self.process is not None:
            self.process.cancel()

    def is_running(self) -> bool:
        return self._preparing or (self.process is not None and self.process.is_running())

    def _line(self, line: str) -> None:
        self.output.appendPlainText(line)
        match = re.match(r"epoch (\d+)[:/]", line.strip())
        if match:
            self.bar.setRange(0, self.epochs_total)
            self.bar.setValue(min(int(match.group(1)), self.epochs_total))

    def _finished(self, ok: bool, message: str) -> None:
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.bar.setRange(0, 1)
        self.bar.setValue(1 if ok else 0)
        if not ok:
            self.status.setText(f"Training stopped: {message}.")
            return
        self.status.setText(f"Trained: {self.model_dir}")
        self.results = self._read_results()
        self.metrics.setText(self._metrics_text(self.results))
        self.use_button.setEnabled(True)

    def _read_results(self) -> dict | None:
        if self.model_dir is None:
            return None
        try:
            return json.loads((self.model_dir.parent / "results.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    @staticmethod
    def _metrics_text(results: dict | None) -> str:
        """The held-out results in plain words: how often a right word ranks above a wrong
        one (the AUC, as a percentage; 50% is guessing). The full figures are in the output
        above and in results.json, for whoever wants them."""
        if not results:
            return "No results of the test."
        lines = ["How well it does on tracks and words kept back from the lesson:"]
        for group, title, right in (
            ("annotation", "Tagging with words it was not taught", "word"),
            ("retrieval", "Finding tracks for words it was not taught", "track"),
            ("seen_labels", "Tagging with the words it learned", "word"),
        ):
            for entry in results.get(group, [])[:1]:
                metrics = entry.get("metrics", {})
                auc = next(
                    (
                        v
                        for k, v in metrics.items()
                        if k.upper().startswith("AUC") and v is not None
                    ),
                    None,
                )
                if auc is None:
                    lines.append(f"  {title}: not enough examples to tell")
                else:
                    lines.append(
                        f"  {title}: a right {right} ranks above a wrong one {auc:.0%} of the "
                        f"time ({entry.get('tracks')} tracks)"
                    )
        lines.append("  (100% is perfect, 50% is guessing)")
        return "\n".join(lines)

    def _use(self) -> None:
        if self.model_dir is not None:
            self.use_model.emit(str(self.model_dir))
            self.accept()

    def reject(self) -> None:
        self.cancel()
        super().reject()
