"""The tables follow the controllers: the library's rows (opened, read again after a scan or a
write, reloaded), the search's results (or its failure, or a cleared box), the page in front
(welcome or tables), and what each table says while it has no rows."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject

from app.gui.controllers.library import library_empty_text
from app.gui.controllers.search import (
    SEARCH_HINT,
    failed_text,
    no_results_text,
    results_info,
    shown_weak,
)
from app.gui.views.main_area import LIBRARY_TAB, SEARCH_TAB

if TYPE_CHECKING:
    from app.gui.main_window import MainWindow


class TablesBinding(QObject):
    """Binds the library and search controllers' signals to the window's tables."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        lib, search, scan = window.lib, window.search, window.scan
        lib.opened.connect(self.library_opened)
        lib.open_failed.connect(self.library_failed)
        lib.predicted.connect(window.track_model.set_predicted)
        lib.rows_fetched.connect(self.rows_fetched)
        lib.rows_reloaded.connect(self.rows_reloaded)
        lib.stale_copies_removed.connect(self.stale_copies_removed)
        window.model.proposals_changed.connect(self.proposals_changed)
        search.results.connect(self.search_results)
        search.failed.connect(self.search_failed)
        search.cleared.connect(self.search_cleared)
        for signal in (scan.started, scan.finished, window.filter_edit.textChanged):
            signal.connect(self.update_empty_texts)

    # --- the library's rows --------------------------------------------------------------------
    def library_opened(self, rows: list[Any], _folders: list[Any]) -> None:
        w = self.window
        w.track_model.set_tracks(rows)
        w.proxy.refilter()
        if rows or w.settings.folders:
            w.stack.show_tables()
        else:
            w.stack.show_welcome()
        w.message(f"{len(rows)} track(s) in the library")
        if rows and w.lib.older_models:
            w.message(rescan_hint(w.lib.older_models))
        w.lib.predict_column(w.track_model.ids())
        w.tagging.refresh_undo()
        self.update_empty_texts()
        query = w.state.search_to_restore(bool(rows), w.tabs.currentIndex())
        if query:  # the search the user left, in the tab they left
            w.search_edit.setText(query)

    def library_failed(self, message: str) -> None:
        self.window.stack.show_welcome()
        self.update_empty_texts()
        self.window.error(message)

    def stale_copies_removed(self, removed: list[Any]) -> None:
        for path in removed:
            text = f"removed a copy an interrupted write left behind: {path}"
            self.window.log_view.add(text, logging.INFO)

    def rows_fetched(self, rows: list[Any], tags: dict[int, str], ids: list[int]) -> None:
        """Rows read again (after a scan's batch or a write): the panel shows them anew."""
        w = self.window
        w.track_model.upsert(rows)
        w.track_model.set_predicted(tags)
        w.proxy.refilter()
        if w.panel.track_id in ids:
            w.binding.selection_changed(w.binding.active_view())

    def rows_reloaded(self, rows: list[Any]) -> None:
        """Every row after a scan: files gone drop out, new ones get their Predicted tags."""
        model, current = self.window.track_model, {int(r.id) for r in rows}
        gone = set(model.ids()) - current
        model.upsert(rows)
        model.remove_ids(gone)
        self.window.proxy.refilter()
        lib = self.window.lib
        missing = [i for i in model.ids_without_predicted(current) if not lib.has_proposals(i)]
        if missing:
            self.window.lib.predict_column(missing)

    def proposals_changed(self) -> None:
        """A new vocabulary or number of tags: the Predicted tags column is read again."""
        lib = self.window.lib
        lib.stop_predicting()
        lib.predict_column(self.window.track_model.ids())

    def update_empty_texts(self, *_args: Any) -> None:
        """The text each table shows while it has no rows: what to do next."""
        w = self.window
        w.table.set_empty_text(
            library_empty_text(
                w.track_model.rowCount(),
                w.filter_edit.text().strip(),
                w.scan.is_running(),
                w.loaded,
            )
        )
        if not w.search_edit.text().strip():
            w.search_view.set_empty_text(SEARCH_HINT)

    # --- the search's results ------------------------------------------------------------------
    def search_cleared(self) -> None:
        w = self.window
        w.search_model.clear()
        w.search_info.setText("")
        w.tabs.setCurrentIndex(LIBRARY_TAB)
        self.update_empty_texts()
        if w.loaded and not w.track_model.rowCount() and not w.settings.folders:
            w.stack.show_welcome()  # back to "choose your music folder"

    def search_results(self, query: str, result: Any) -> None:
        w = self.window
        tab = w.state.results_tab(SEARCH_TAB)
        rows = result.hits or shown_weak(result)  # nothing matches: the closest, marked weak
        titles = w.track_model.titles([int(hit.track_id) for hit in rows])
        w.search_model.set_result(query, rows, result.missing_words, titles, weak=not result.hits)
        empty = no_results_text(query, result, not w.track_model.rowCount())
        w.results_page.show_result(results_info(query, result), empty)
        w.stack.show_tables(tab)

    def search_failed(self, query: str, message: str) -> None:
        w = self.window
        w.state.results_tab(SEARCH_TAB)  # a restored search that failed: forget its tab
        w.search_model.clear()
        w.results_page.show_result(message, failed_text(query, message))
        w.stack.show_tables(SEARCH_TAB)
        w.error(message)


def rescan_hint(older_models: dict[str, int]) -> str:
    """The line for a library this model has not analysed but another has (an upgrade of the
    built-in model changes its key: default-2 -> default-3): say why the tags are missing and
    what brings them back, instead of leaving an empty Predicted tags column unexplained."""
    names = ", ".join(f"{name}, {n} tracks" for name, n in older_models.items())
    return (
        f"Your tracks were analysed with another model ({names}): "
        "Rescan library (F5) analyses them with this one to show their tags"
    )
