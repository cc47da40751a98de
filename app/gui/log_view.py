"""A dock that lists what went wrong (and what happened), without ever blocking the user.

Messages come from any thread: Python's logging (the library layer logs there) is bridged
through a Qt signal, so lines are appended on the GUI thread only.
"""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QDockWidget

from app.gui.widgets import LogText

MAX_LINES = 5000


class _Bridge(QObject):
    line = Signal(str, int)


class _QtHandler(logging.Handler):
    """A logging handler that hands records to the GUI thread through a queued signal."""

    def __init__(self, bridge: _Bridge) -> None:
        super().__init__(logging.INFO)
        self.bridge = bridge

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.bridge.line.emit(record.getMessage(), record.levelno)
        except RuntimeError:  # the window is gone (interpreter shutting down)
            pass


class LogView(QDockWidget):
    """Dock with a read-only, bounded log. `add(message, level)` from the GUI thread."""

    def __init__(self, parent=None) -> None:
        super().__init__("Log", parent)
        self.setObjectName("logDock")
        self.text = LogText(self)
        self.text.setReadOnly(True)
        self.text.setMaximumBlockCount(MAX_LINES)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setWidget(self.text)
        self.errors = 0
        self._bridge = _Bridge(self)
        self._bridge.line.connect(self.add, Qt.ConnectionType.QueuedConnection)
        self._handler = _QtHandler(self._bridge)

    def add(self, message: str, level: int = logging.INFO) -> None:
        stamp = time.strftime("%H:%M:%S")
        kind = (
            "error" if level >= logging.ERROR else "warning" if level >= logging.WARNING else "info"
        )
        if level >= logging.WARNING:
            self.errors += 1
        self.text.appendPlainText(f"{stamp} {kind}: {message}")

    def lines(self) -> list[str]:
        return self.text.toPlainText().splitlines()

    def attach(self, logger_names: tuple[str, ...] = ("app", "zsl_core")) -> None:
        """Show these loggers' records here (the library layer reports skipped files there)."""
        for name in logger_names:
            logging.getLogger(name).addHandler(self._handler)

    def detach(self, logger_names: tuple[str, ...] = ("app", "zsl_core")) -> None:
        for name in logger_names:
            logging.getLogger(name).removeHandler(self._handler)
