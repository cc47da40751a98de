"""The Search results tab: a line about the search (count, what the model did not know) over
the table of hits (a view: widgets only)."""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel, Qt
from PySide6.QtWidgets import QAbstractItemView, QLabel, QVBoxLayout, QWidget

from app.gui.widgets import EmptyStateTable

# #, match, track, words, format; the path stretches
COLUMN_WIDTHS = ((0, 40), (1, 60), (2, 320), (3, 260), (4, 60))


class ResultsPage(QWidget):
    """`search_info` above `search_view`, the hits of `model` sorted by the clicked column
    (column 0, the rank, is the relevance order)."""

    def __init__(self, model: QAbstractItemModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.search_view = EmptyStateTable()
        self.search_view.setModel(model)
        self.search_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.search_view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.search_view.verticalHeader().setVisible(False)
        self.search_view.setSortingEnabled(True)
        self.search_view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        header = self.search_view.horizontalHeader()
        header.setStretchLastSection(True)  # the path
        for column, width in COLUMN_WIDTHS:
            header.resizeSection(column, width)
        self.search_info = QLabel("")
        self.search_info.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.search_info)
        layout.addWidget(self.search_view)

    def show_result(self, info: str, empty_text: str) -> None:
        """A search's line and what the table says while it has no hits."""
        self.search_info.setText(info)
        self.search_view.set_empty_text(empty_text)
