"""The status bar's scan line: what runs (label, progress bar, Cancel) and "working…" while the
library thread is busy (a view: widgets only; the scan controller says what they show)."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QStatusBar

CANCEL_TIP = "Stop the scan after the current track (what is done is kept)"


class ScanStatus(QObject):
    """Adds `scan_label`, `scan_progress`, `scan_cancel` (hidden while nothing runs) and
    `busy_label` to `bar`; `scan_cancel.clicked` is the user's Cancel."""

    def __init__(self, bar: QStatusBar) -> None:
        super().__init__(bar)
        self.scan_label = QLabel("")
        self.scan_progress = QProgressBar()
        self.scan_progress.setMaximumWidth(220)
        self.scan_progress.setTextVisible(True)
        self.scan_cancel = QPushButton("Cancel")
        self.scan_cancel.setToolTip(CANCEL_TIP)
        self.busy_label = QLabel("")
        for widget in self._scan_widgets():
            bar.addPermanentWidget(widget)
            widget.hide()
        bar.addPermanentWidget(self.busy_label)

    def _scan_widgets(self) -> tuple[QLabel, QProgressBar, QPushButton]:
        return self.scan_label, self.scan_progress, self.scan_cancel

    def started(self, label: str, _message: str = "") -> None:
        """A scan or import began: busy bar (nothing counted yet), Cancel enabled."""
        self.scan_label.setText(label)
        self.scan_progress.setRange(0, 0)
        for widget in self._scan_widgets():
            widget.show()
        self.scan_cancel.setEnabled(True)

    def show_progress(self, done: int, total: int, text: str, current: str) -> None:
        if total > 0:
            self.scan_progress.setRange(0, total)
            self.scan_progress.setValue(min(done, total))
        self.scan_label.setText(text)
        if current:
            self.scan_label.setToolTip(current)

    def cancelling(self) -> None:
        self.scan_cancel.setEnabled(False)
        self.scan_label.setText("Cancelling…")

    def finished(self) -> None:
        for widget in self._scan_widgets():
            widget.hide()

    def set_busy(self, busy: bool) -> None:
        self.busy_label.setText("working…" if busy else "")
