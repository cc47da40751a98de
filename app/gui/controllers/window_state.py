"""Where the user left the window, kept across restarts: the table's sort, the tab in front,
the panel's "Write into" field, the last search (typed in again once the library is open, in
the tab it was left in), and the window's geometry and docks."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QByteArray, QObject, Qt

from app.gui.settings import Settings


class WindowState(QObject):
    """Reads and writes the window's state in Settings; the window calls it at the moments the
    state changes (a sort, a tab, a field, a search, closing)."""

    def __init__(self, settings: Settings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.restored_search = settings.last_search.strip()
        self.restore_tab: int | None = None  # the tab the restored search's results go to

    def sort(self, columns: int) -> tuple[int, Qt.SortOrder]:
        """The sort to restore (-1: the library's own order; a column gone since is dropped)."""
        column, order = self.settings.sort
        return (-1 if column >= columns else column), Qt.SortOrder(order)

    def sort_changed(self, column: int, order: Qt.SortOrder) -> None:
        self.settings.sort = (column, 1 if order == Qt.SortOrder.DescendingOrder else 0)

    @property
    def tab(self) -> int:
        return self.settings.tab

    def tab_changed(self, index: int) -> None:
        self.settings.tab = index

    def field_changed(self, field: str) -> None:
        """The panel's "Write into" choice is a setting: it survives a restart."""
        if field != self.settings.field:
            self.settings.field = field

    def search_to_restore(self, has_rows: bool, tab: int) -> str:
        """Once, when the library opened with rows: the search the user left (to type in
        again), its results to go to `tab`, the tab they left it in. "" when there is none."""
        if not (self.restored_search and has_rows):
            return ""
        query, self.restored_search = self.restored_search, ""
        self.restore_tab = tab
        return query

    def results_tab(self, default: int) -> int:
        """The tab a search's results show in: the restored one once, else `default`."""
        tab, self.restore_tab = self.restore_tab, None
        return default if tab is None else tab

    def geometry(self) -> tuple[QByteArray | None, QByteArray | None]:
        return self.settings.window_state()

    def save(self, geometry: Any, state: Any, tab: int, field: str) -> None:
        """Closing: the geometry, docks, tab and field, written out now."""
        self.settings.save_window_state(geometry, state)
        self.settings.tab = tab
        self.field_changed(field)
        self.settings.sync()
