"""The window's middle: the welcome page on a first run, else the Library and Search results
tabs beside the track panel (a view: widgets only)."""

from __future__ import annotations

from PySide6.QtWidgets import QSplitter, QStackedWidget, QTabWidget, QWidget

LIBRARY_TAB, SEARCH_TAB = 0, 1


class MainArea(QStackedWidget):
    """`welcome` or `splitter` (`tabs` | `panel`), one at a time."""

    def __init__(
        self,
        welcome: QWidget,
        library_page: QWidget,
        results_page: QWidget,
        panel: QWidget,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.welcome = welcome
        self.tabs = QTabWidget()
        self.tabs.addTab(library_page, "Library")
        self.tabs.addTab(results_page, "Search results")
        self.tabs.setMinimumWidth(360)
        self.splitter = QSplitter()
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.tabs)
        self.splitter.addWidget(panel)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([880, 400])
        self.addWidget(welcome)
        self.addWidget(self.splitter)

    def show_tables(self, tab: int | None = None) -> None:
        """The tabs (also from the welcome page), with `tab` in front when given."""
        self.setCurrentWidget(self.splitter)
        if tab is not None:
            self.tabs.setCurrentIndex(tab)

    def show_welcome(self) -> None:
        self.setCurrentWidget(self.welcome)

    def welcoming(self) -> bool:
        return self.currentWidget() is self.welcome
