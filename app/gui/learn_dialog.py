"""File > Learn from my library: what the library offers, training with a progress bar, ETA
and Cancel, then the new model against the built-in one on the same held-out tracks.

The dialog decides nothing itself: `app.learn` says what the library can teach (and refuses
when it cannot teach anything), runs the training in a child process and recommends a model.
Switching is a deliberate, confirmed step, and the window offers the way back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app import learn


class LearnDialog(QDialog):
    """Learn from the library's own genre/mood tags, guarded by `app.learn`.

    Emits use_model(folder) when the user confirms switching to the trained model, and
    switch_back() when they ask for the built-in model again.
    """

    use_model = Signal(str)
    switch_back = Signal()
    _offer_ready = Signal(object)  # from the offer thread to `_show_offer`, queued
    _work_ready = Signal(object)  # from the preparing thread to `_launch`, queued

    def __init__(
        self,
        tracks_provider: Callable[[], Sequence[Any]],
        models_dir: Path,
        device: str = "auto",
        parent: QWidget | None = None,
        db_path: str | Path | None = None,
        current_model: str = "default",
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Learn from my library")
        self.tracks_provider = tracks_provider
        self.models_dir = Path(models_dir)
        self.device = device
        self.db_path = db_path
        self.current_model = current_model
        self.offer: learn.LibraryOffer | None = None
        self.process: Any = None
        self.model_dir: Path | None = None
        self.comparison: learn.Comparison | None = None
        self._preparing = False
        self._cancel_requested = False
        self._offer_serial = 0
        self._clock = learn.StageClock()
        self._started = 0.0
        self._measured = False  # a progress line has come from the child
        self._tick = QTimer(self)  # "Starting… 3 s" while the child loads, once a second
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._starting)
        self._offer_ready.connect(self._show_offer)
        self._work_ready.connect(self._launch)

        layout = QVBoxLayout(self)
        intro = QLabel(
            "Teach the tagger your own words: the tracks you already tagged are the examples. "
            "Some tracks are held out, so you see how well the new model and the built-in one "
            "find your words on tracks neither learned from."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        fields_row = QHBoxLayout()
        self.field_boxes = {name: QCheckBox(name) for name in learn.LEARN_FIELDS}
        for box in self.field_boxes.values():
            box.setChecked(True)
            box.toggled.connect(self.refresh_offer)
            fields_row.addWidget(box)
        fields_row.addStretch(1)
        form.addRow("Learn from", fields_row)
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 500)
        self.epochs.setValue(30)
        self.epochs.setToolTip(
            "How many times training goes over your tracks (epochs); it stops sooner when "
            "more rounds no longer help"
        )
        form.addRow("Training rounds (at most)", self.epochs)
        layout.addLayout(form)
        self.offer_label = QLabel("Looking at your library's tags…")
        self.offer_label.setWordWrap(True)
        layout.addWidget(self.offer_label)
        self.verdict_label = QLabel("")  # why it cannot learn, or what to watch for
        self.verdict_label.setWordWrap(True)
        layout.addWidget(self.verdict_label)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.bar.setTextVisible(True)
        layout.addWidget(self.bar)
        self.result_label = QLabel("")  # the comparison, in words
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.result_label)
        self.details_label = QLabel("")
        self.details_label.setWordWrap(True)
        layout.addWidget(self.details_label)
        # the deliberate step: "Use this model…" asks, "Switch to my model" does
        confirm_row = QHBoxLayout()
        self.confirm_label = QLabel("")
        self.confirm_label.setWordWrap(True)
        self.confirm_button = QPushButton("Switch to my model")
        self.keep_button = QPushButton("Keep the current model")
        confirm_row.addWidget(self.confirm_label, 1)
        confirm_row.addWidget(self.confirm_button)
        confirm_row.addWidget(self.keep_button)
        self.confirm_box = QWidget()
        self.confirm_box.setLayout(confirm_row)
        self.confirm_box.setVisible(False)
        layout.addWidget(self.confirm_box)
        layout.addStretch(1)

        buttons = QDialogButtonBox()
        self.start_button = buttons.addButton("Start", QDialogButtonBox.ButtonRole.ActionRole)
        self.cancel_button = buttons.addButton(
            "Cancel training", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.use_button = buttons.addButton(
            "Use this model…", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.back_button = buttons.addButton(
            "Switch back to the built-in model", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.close_button = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(False)
        self.use_button.setEnabled(False)
        self.back_button.setVisible(current_model != "default")
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.use_button.clicked.connect(self._ask_use)
        self.confirm_button.clicked.connect(self._use)
        self.keep_button.clicked.connect(lambda: self.confirm_box.setVisible(False))
        self.back_button.clicked.connect(self._switch_back)
        self.close_button.clicked.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(720, 480)
        self.refresh_offer()

    # --- what the library offers -------------------------------------------------------------
    def fields(self) -> list[str]:
        return [name for name, box in self.field_boxes.items() if box.isChecked()]

    def refresh_offer(self) -> None:
        """Summarise the library's tags on a thread (the table's rows, already in memory)."""
        if self.is_running():
            return
        self._offer_serial += 1
        serial, rows, fields = self._offer_serial, list(self.tracks_provider()), self.fields()
        self.start_button.setEnabled(False)
        self.offer_label.setText(f"Looking at the tags of {len(rows)} tracks…")

        def work() -> None:
            try:
                result: Any = learn.library_offer(rows, fields)
            except Exception as exc:  # a worker thread must always report back
                result = f"Cannot read the library's tags: {exc}"
            try:
                self._offer_ready.emit((serial, result))
            except RuntimeError:  # the dialog was closed and deleted meanwhile
                pass

        threading.Thread(target=work, name="learn-offer", daemon=True).start()

    def _show_offer(self, found: tuple[int, Any]) -> None:
        serial, offer = found
        if serial != self._offer_serial:
            return  # an older summary (the fields changed since)
        if isinstance(offer, str):
            self.offer = None
            self.offer_label.setText(offer)
            return
        self.offer = offer
        self.offer_label.setText(offer.summary())
        if offer.verdict == learn.REFUSE:
            self.verdict_label.setText("Cannot learn from this library yet. " + offer.reasons[0])
        elif offer.verdict == learn.WARN:
            self.verdict_label.setText("Note: " + " ".join(offer.reasons))
        else:
            self.verdict_label.setText("")
        self.start_button.setEnabled(offer.can_learn and not self.is_running())
        self.start_button.setToolTip("" if offer.can_learn else offer.reasons[0])

    # --- training ------------------------------------------------------------------------------
    def start(self) -> None:
        offer = self.offer
        if offer is None or not offer.can_learn or self.is_running():
            return
        self._preparing = True
        self._cancel_requested = False
        self.comparison = None
        self.result_label.setText("")
        self.details_label.setText("")
        self.confirm_box.setVisible(False)
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.use_button.setEnabled(False)
        self.bar.setRange(0, 0)  # busy until the first measured step
        self.status.setText("Starting the training…")
        self._started, self._measured = time.monotonic(), False
        self._tick.start()
        work = learn.default_work_dir(self.models_dir)

        def prepare() -> None:
            try:
                result: Any = learn.prepare_work(offer, work)
            except OSError as exc:
                result = f"{work}: cannot write ({exc.strerror or exc})"
            except Exception as exc:  # a worker thread must always report back
                result = f"cannot prepare the examples ({exc})"
            try:
                self._work_ready.emit(result)
            except RuntimeError:
                pass

        threading.Thread(target=prepare, name="learn-prepare", daemon=True).start()

    def _launch(self, work: Any) -> None:
        from app.gui.workers import LearnProcess

        self._preparing = False
        if self._cancel_requested or isinstance(work, str):
            self._stopped("cancelled" if self._cancel_requested else work)
            return
        self.model_dir = Path(work) / "model"
        args = [str(work), "--epochs", str(self.epochs.value()), "--device", self.device]
        if self.db_path:
            args += ["--db", str(self.db_path)]
        self._clock = learn.StageClock()
        self.process = LearnProcess(args, self)
        self.process.progress.connect(self._progress)
        self.process.finished.connect(self._finished)
        self.process.start()

    def cancel(self) -> None:
        if self._preparing:
            self._cancel_requested = True  # honoured when the preparation reports back
        if self.process is not None:
            self.process.cancel()

    def is_running(self) -> bool:
        return self._preparing or (self.process is not None and self.process.is_running())

    def _starting(self) -> None:
        if self._measured or not self.is_running():
            self._tick.stop()
            return
        waited = int(time.monotonic() - self._started)
        self.status.setText(f"Starting the training (loading the models)… {waited} s")

    def _progress(self, stage: str, done: int, total: int) -> None:
        self._measured = True
        eta = self._clock.update(stage, done, total)
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(min(done, max(total, 1)))
        self.status.setText(learn.progress_text(stage, done, total, eta))

    def _stopped(self, reason: str) -> None:
        self._tick.stop()
        self.process = None
        self.cancel_button.setEnabled(False)
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.status.setText(f"Training stopped: {reason}.")
        self.start_button.setEnabled(self.offer is not None and self.offer.can_learn)

    def _finished(self, ok: bool, message: str) -> None:
        if not ok:
            self._stopped(message)
            return
        self._tick.stop()
        self.process = None
        self.cancel_button.setEnabled(False)
        self.start_button.setEnabled(True)
        self.bar.setRange(0, 1)
        self.bar.setValue(1)
        try:
            assert self.model_dir is not None
            self.comparison = learn.Comparison.load(self.model_dir.parent / "comparison.json")
        except (OSError, ValueError, KeyError, AssertionError):
            self.status.setText("Trained, but the comparison could not be read.")
            return
        self.status.setText("Done.")
        self.result_label.setText(self.comparison.sentence())
        self.details_label.setText(self.comparison.details())
        recommended = self.comparison.recommended == "yours"
        self.use_button.setText("Use this model…" if recommended else "Use it anyway…")
        self.use_button.setEnabled(True)

    # --- switching, deliberately -----------------------------------------------------------
    def _ask_use(self) -> None:
        if self.comparison is None:
            return
        if self.comparison.recommended == "yours":
            text = (
                "Switch to your model? Every track is analysed again with it; "
                "File > Switch back to the built-in model undoes this."
            )
        else:
            text = (
                "Not recommended: " + self.comparison.reason + " Switch anyway? Every track is "
                "analysed again with it; File > Switch back to the built-in model undoes this."
            )
        self.confirm_label.setText(text)
        self.confirm_box.setVisible(True)
        QTimer.singleShot(0, self.keep_button.setFocus)  # the safe answer is the default

    def _use(self) -> None:
        if self.model_dir is not None and self.comparison is not None:
            self.use_model.emit(str(self.model_dir))
            self.accept()

    def _switch_back(self) -> None:
        self.switch_back.emit()
        self.accept()

    def reject(self) -> None:
        self.cancel()
        super().reject()
