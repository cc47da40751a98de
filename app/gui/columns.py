"""The column chooser: which library columns are shown, from the header's right-click menu or
View > Columns, kept in the settings.

Why one chooser for several views: the flat table and the album view show the same columns
(`app.gui.models.TRACK_COLUMNS`), so a column hidden in one is hidden in the other. Columns are
named by key, never by position, in the settings and in code. The title column cannot be
hidden (a row would have no name). The visual order puts the track number first and the
predicted tags last, where the header stretches them.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QObject, QPoint, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QHeaderView, QMenu, QWidget

from app.gui.models import TRACK_COLUMNS, column_of
from app.gui.settings import Settings

ALWAYS_SHOWN = ("title",)
# left to right as shown (positions in the model stay TRACK_COLUMNS')
DISPLAY_ORDER = (
    "track",
    "title",
    "artist",
    "album",
    "album_artist",
    "year",
    "duration",
    "genre",
    "mood",
    "format",
    "path",
    "predicted",
)
# Narrow enough that the predicted tags (last, stretched) show three words in the window's
# default 1360-pixel width: with 200/140/140/110/100 they read "techno, el".
WIDTHS = {
    "track": 48,
    "title": 170,
    "artist": 120,
    "album": 120,
    "album_artist": 120,
    "year": 52,
    "duration": 64,
    "genre": 100,
    "mood": 70,
    "format": 56,
    "path": 260,
}


def default_columns() -> list[str]:
    return [c.key for c in TRACK_COLUMNS if c.shown]


class ColumnChooser(QObject):
    """Shows and hides the columns of every header it is given; `menu` is the View > Columns
    submenu, also opened by a right click on any of the headers."""

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.headers: list[QHeaderView] = []
        self.menu = QMenu("&Columns", parent)
        self.menu.setToolTipsVisible(True)
        self.actions: dict[str, QAction] = {}
        known = {c.key for c in TRACK_COLUMNS}
        chosen = [k for k in settings.columns if k in known] or default_columns()
        for column in TRACK_COLUMNS:
            act = QAction(column.title, self.menu)
            act.setCheckable(True)
            act.setChecked(column.key in chosen or column.key in ALWAYS_SHOWN)
            act.setEnabled(column.key not in ALWAYS_SHOWN)
            act.setToolTip(column.tip)
            act.toggled.connect(lambda _on, key=column.key: self._toggled(key))
            self.menu.addAction(act)
            self.actions[column.key] = act
        self.menu.addSeparator()
        self.menu.addAction("Default columns", self.reset)

    def attach(self, header: QHeaderView) -> None:
        """Lay out `header` (order, widths, the shown columns) and give it the chooser menu."""
        self.headers.append(header)
        for visual, key in enumerate(DISPLAY_ORDER):
            header.moveSection(header.visualIndex(column_of(key)), visual)
        for key, width in WIDTHS.items():
            header.resizeSection(column_of(key), width)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(
            lambda point, h=header: self._context_menu(h, point)
        )
        self._apply(header)

    def shown(self) -> list[str]:
        """The keys of the shown columns, in TRACK_COLUMNS order."""
        return [c.key for c in TRACK_COLUMNS if self.actions[c.key].isChecked()]

    def set_shown(self, keys: Sequence[str]) -> None:
        """Show exactly these columns (the title always), saved in the settings."""
        wanted = set(keys) | set(ALWAYS_SHOWN)
        for key, act in self.actions.items():
            act.blockSignals(True)
            act.setChecked(key in wanted)
            act.blockSignals(False)
        self._changed()

    def reset(self) -> None:
        self.set_shown(default_columns())

    def _toggled(self, _key: str) -> None:
        self._changed()

    def _changed(self) -> None:
        self.settings.columns = self.shown()
        for header in self.headers:
            self._apply(header)

    def _apply(self, header: QHeaderView) -> None:
        for column in TRACK_COLUMNS:
            header.setSectionHidden(column_of(column.key), not self.actions[column.key].isChecked())

    def _context_menu(self, header: QHeaderView, point: QPoint) -> None:
        self.menu.popup(header.mapToGlobal(point))
