"""Small widgets and helpers the window is built from: a table that says what to do when it is
empty, a log box with a modest default height, and the filter that lets the window's Undo
through a text box that has nothing of its own to undo."""

from __future__ import annotations

from typing import cast

from PySide6.QtCore import QEvent, QObject, QRect, QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QPainter, QPalette
from PySide6.QtWidgets import QComboBox, QLineEdit, QPlainTextEdit, QTableView, QWidget


class EmptyStateTable(QTableView):
    """A table view that shows `empty_text` in its middle while its model has no rows, so an
    empty library, a filter that hides everything or a search without results says so (and what
    to do) where the rows would be, not only in the status bar."""

    empty_text_changed = Signal(str)  # another view of the same rows (the album view) follows

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._empty_text = ""

    def empty_text(self) -> str:
        return self._empty_text

    def set_empty_text(self, text: str) -> None:
        if text != self._empty_text:
            self._empty_text = text
            self.viewport().update()
            self.empty_text_changed.emit(text)

    def showing_empty_text(self) -> bool:
        """True when the view paints its empty-state text (no rows, some text)."""
        model = self.model()
        return bool(self._empty_text) and (model is None or model.rowCount() == 0)

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if not self.showing_empty_text():
            return
        painter = QPainter(self.viewport())
        painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
        area = self.viewport().rect().adjusted(24, 24, -24, -24)
        area = QRect(area.left(), area.top(), area.width(), max(area.height(), 80))
        painter.drawText(
            area,
            int(
                Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap
            ),
            self._empty_text,
        )
        painter.end()


class LogText(QPlainTextEdit):
    """The log's text: asks for about seven lines, so the docked log leaves room for the tags."""

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        return QSize(hint.width(), self.fontMetrics().lineSpacing() * 7 + 12)


class UndoPassThrough(QObject):
    """Event filter for the window's text boxes: Ctrl+Z undoes typing while the box has typing to
    undo; when it has none, the key is left to the window's Undo (the last tag write), instead of
    the box swallowing it and nothing happening."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and cast(QKeyEvent, event).matches(
            QKeySequence.StandardKey.Undo
        ):
            edit = watched.lineEdit() if isinstance(watched, QComboBox) else watched
            if isinstance(edit, QLineEdit) and not edit.isUndoAvailable():
                event.ignore()  # not overridden: the shortcut map triggers the window's action
                return True
        return False
