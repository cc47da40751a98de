"""The main window: the view that assembles the library table, search, track panel, status bar
and menus, and binds their signals to the controllers (app/gui/controllers/).

The window holds no business logic: opening the library, scanning and importing, searching,
predicting, writing and undoing, and playing are done by the controllers, which talk to the
Qt-free `app` facade on worker threads and report back with signals; the window applies what
they report to its widgets. A result that arrives for a track the user has left is dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.gui.columns import ColumnChooser
from app.gui.controllers import (
    AlbumsController,
    LibraryController,
    PlaybackController,
    ScanController,
    SearchController,
    TaggingController,
)
from app.gui.controllers.scan import progress_text
from app.gui.controllers.search import SEARCH_TOP, no_results_text
from app.gui.dialogs import (
    HistoryDialog,
    SettingsDialog,
    WelcomePage,
    WritePreviewDialog,
)
from app.gui.import_dialog import ImportDialog
from app.gui.learn_dialog import LearnDialog
from app.gui.log_view import LogView
from app.gui.menus import build_actions
from app.gui.models import (
    TRACK_ID_ROLE,
    SearchResultsModel,
    SearchResultsProxy,
    TrackFilterProxy,
    TrackTableModel,
)
from app.gui.settings import Settings
from app.gui.track_panel import TrackPanel
from app.gui.widgets import EmptyStateTable, UndoPassThrough

__all__ = ["SEARCH_TOP", "MainWindow", "dropped_folders"]

LIBRARY_TAB, SEARCH_TAB = 0, 1


def dropped_folders(urls: list[QUrl]) -> tuple[list[str], list[str]]:
    """Split dropped URLs into folders to add and one-line reasons for the rest.

    The library is made of folders (rescans walk them), so a single audio file is refused with a
    hint to drop its folder rather than silently scanning a parent the user did not choose.
    """
    from zsl_core.audio import AUDIO_EXTENSIONS

    folders: list[str] = []
    refused: list[str] = []
    for url in urls:
        if not url.isLocalFile():
            refused.append(f"{url.toDisplayString()}: not a local file or folder, not added")
            continue
        path = Path(url.toLocalFile())
        if path.is_dir():
            folders.append(str(path))
        elif not path.exists():
            refused.append(f"{path}: does not exist, not added")
        elif path.suffix.lower() in AUDIO_EXTENSIONS:
            refused.append(
                f"{path.name}: a single file; drop the folder that holds it (the library "
                "is made of folders)"
            )
        else:
            refused.append(f"{path.name}: not a folder, not added")
    return list(dict.fromkeys(folders)), refused


def _alias(owner: str, name: str) -> property:
    """A window attribute that is a controller's (the names tests and tools have always used)."""
    return property(
        lambda self: getattr(getattr(self, owner), name),
        lambda self, value: setattr(getattr(self, owner), name, value),
    )


class MainWindow(QMainWindow):
    """The app. `library_factory()` makes a Library (tests pass one bound to a temporary index).

    Controllers: `lib` (LibraryController), `scan` (ScanController), `search`
    (SearchController), `tagging` (TaggingController), `playback` (PlaybackController).
    """

    library = _alias("lib", "library")
    pool = _alias("lib", "pool")
    io = _alias("lib", "io")
    loaded = _alias("lib", "loaded")
    last_cleanup = _alias("lib", "last_cleanup")
    _predicted_generation = _alias("lib", "generation")
    scan_worker = _alias("scan", "worker")
    scan_queue = _alias("scan", "queue")
    last_scan = _alias("scan", "last_scan")
    last_import = _alias("scan", "last_import")
    last_search = _alias("search", "last_search")
    last_search_text = _alias("search", "last_text")
    _search_seq = _alias("search", "seq")
    decisions = _alias("tagging", "decisions")
    last_write = _alias("tagging", "last_write")
    last_undo = _alias("tagging", "last_undo")
    player = _alias("playback", "player")
    audio_output = _alias("playback", "audio_output")
    _playing_id = _alias("playback", "playing_id")

    # made by app.gui.menus.build_actions
    about_action: QAction
    switch_back_action: QAction
    add_folder_action: QAction
    close_action: QAction
    find_action: QAction
    history_action: QAction
    import_action: QAction
    learn_action: QAction
    play_action: QAction
    quit_action: QAction
    rescan_action: QAction
    settings_action: QAction
    shortcuts_action: QAction
    stop_action: QAction
    undo_action: QAction
    write_action: QAction
    view_menu: QMenu
    help_menu: QMenu

    def __init__(
        self,
        settings: Settings | None = None,
        db_path: str | Path | None = None,
        library_factory: Callable[[], Any] | None = None,
    ) -> None:
        super().__init__()
        self.setWindowTitle("zsl-tagger")
        self.setObjectName("mainWindow")
        self.setAcceptDrops(True)
        self.settings = settings or Settings()
        self.db_path = db_path
        self.lib = LibraryController(self.settings, db_path, library_factory, self)
        self.scan = ScanController(self.lib, self.settings, self)
        self.search = SearchController(self.lib, self.settings, self)
        self.tagging = TaggingController(self.lib, self.settings, self)
        self.album_library = AlbumsController(
            self.lib,
            lambda: self.tagging.decisions,
            self.settings,
            self.tagging.write_options,
            self,
        )
        self.playback = PlaybackController(self)
        self.preview_dialog: WritePreviewDialog | None = None
        self.history_dialog: HistoryDialog | None = None
        self.settings_dialog: SettingsDialog | None = None
        self.learn_dialog: LearnDialog | None = None
        self.import_dialog: ImportDialog | None = None
        self.shortcuts_dialog: QDialog | None = None
        self.about_dialog: QDialog | None = None
        self.closing = False  # set by shutdown: nothing new starts after it
        self._panel_check_pending = False

        self._build_views()
        self._build_status_bar()
        build_actions(self)
        self.view_menu.addMenu(self.columns.menu)
        self._update_switch_back()  # File > Switch back: enabled when there is a model to go back to
        self.log_view = LogView(self)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.log_view)
        self.log_view.attach()
        self.view_menu.addAction(self.log_view.toggleViewAction())
        self.log_view.hide()
        self._bind_controllers()
        from app.gui.find_music import install as install_find_music  # more like this, …

        self.find_music = install_find_music(self)
        from app.gui.album_view import install as install_albums  # the Library tab's album view

        self.albums = install_albums(self, self.album_library)

        geometry, state = self.settings.window_state()
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        if state is not None:
            self.restoreState(state)
        self.lib.open()

    # --- building ------------------------------------------------------------------------------
    def _build_views(self) -> None:
        self.track_model = TrackTableModel(self)
        self.proxy = TrackFilterProxy(self)
        self.proxy.setSourceModel(self.track_model)
        self.table = EmptyStateTable()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        sort_column, sort_order = self.settings.sort  # where the user left it (-1: library order)
        if sort_column >= self.track_model.columnCount():
            sort_column = -1
        self.table.sortByColumn(sort_column, Qt.SortOrder(sort_order))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.columns = ColumnChooser(self.settings, self)  # header right-click, View > Columns
        self.columns.attach(header)
        self.table.selectionModel().selectionChanged.connect(
            lambda *_: self._selection_changed(self.table)
        )
        self.table.doubleClicked.connect(lambda *_: self.play_selected())

        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText(
            "Filter the table by title, artist, album, genre, mood, tags…"
        )
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self.proxy.set_filter_text)
        self.filter_edit.textChanged.connect(lambda _: self._update_empty_texts())
        library_page = QWidget()
        library_layout = QVBoxLayout(library_page)
        library_layout.setContentsMargins(0, 0, 0, 0)
        library_layout.addWidget(self.filter_edit)
        library_layout.addWidget(self.table)

        # hits in relevance order (search_model) shown sorted by the clicked column (search_proxy);
        # column 0, the rank, is the relevance order
        self.search_model = SearchResultsModel(self)
        self.search_proxy = SearchResultsProxy(self)
        self.search_proxy.setSourceModel(self.search_model)
        self.search_view = EmptyStateTable()
        self.search_view.setModel(self.search_proxy)
        self.search_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.search_view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.search_view.verticalHeader().setVisible(False)
        self.search_view.setSortingEnabled(True)
        self.search_view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        header = self.search_view.horizontalHeader()
        header.setStretchLastSection(True)  # the path
        for column, width in ((0, 40), (1, 60), (2, 320), (3, 260), (4, 60)):
            header.resizeSection(column, width)
        self.search_view.selectionModel().selectionChanged.connect(
            lambda *_: self._selection_changed(self.search_view)
        )
        self.search_view.doubleClicked.connect(lambda *_: self.play_selected())
        self.search_info = QLabel("")
        self.search_info.setWordWrap(True)
        search_page = QWidget()
        search_layout = QVBoxLayout(search_page)
        search_layout.setContentsMargins(0, 0, 0, 0)
        search_layout.addWidget(self.search_info)
        search_layout.addWidget(self.search_view)

        self.tabs = QTabWidget()
        self.tabs.addTab(library_page, "Library")
        self.tabs.addTab(search_page, "Search results")
        self.tabs.currentChanged.connect(lambda _: self._selection_changed(self._active_view()))
        self.table.horizontalHeader().sortIndicatorChanged.connect(self._sort_changed)
        # the panel shows the selected track of the visible rows: a filter, a reload or new search
        # results that take the row away take it off the panel too
        for model in (self.proxy, self.search_proxy):
            for signal in (
                model.rowsRemoved,
                model.rowsInserted,
                model.modelReset,
                model.layoutChanged,
            ):
                signal.connect(self._rows_changed)

        self.panel = TrackPanel()
        self.panel.set_routes(self.settings.routes)
        self.panel.set_field(self.settings.field)
        self.panel.write_requested.connect(self.write_selected)
        self.panel.play_requested.connect(self.play_selected)
        self.panel.decisions_changed.connect(self._remember_decision)
        self.panel.field_changed.connect(self._field_changed)

        self.splitter = QSplitter()
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.tabs)
        self.splitter.addWidget(self.panel)
        self.splitter.setChildrenCollapsible(False)
        self.tabs.setMinimumWidth(360)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([880, 400])

        self.welcome = WelcomePage()
        self.welcome.folder_chosen.connect(self.add_folder)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(self.splitter)
        self.setCentralWidget(self.stack)

        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText(
            "Search by sound or name: “calm piano”, “artist:muse fast”, “genre:rock -live” (Ctrl+F)"
        )
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.setMinimumWidth(240)
        self.search_edit.textChanged.connect(self._search_text_changed)
        self.search_edit.returnPressed.connect(self._run_search)
        # Ctrl+Z in a text box undoes its typing, else the last tag write
        self._undo_pass_through = UndoPassThrough(self)
        for edit in (self.filter_edit, self.search_edit, self.panel.field):
            edit.installEventFilter(self._undo_pass_through)
        self._restored_search = self.settings.last_search.strip()
        self._restore_tab: int | None = None
        self.tabs.setCurrentIndex(self.settings.tab)  # restored; a restored search keeps it too
        self.tabs.currentChanged.connect(self._tab_changed)
        self._update_empty_texts()

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.scan_label = QLabel("")
        self.scan_progress = QProgressBar()
        self.scan_progress.setMaximumWidth(220)
        self.scan_progress.setTextVisible(True)
        self.scan_cancel = QPushButton("Cancel")
        self.scan_cancel.setToolTip("Stop the scan after the current track (what is done is kept)")
        self.scan_cancel.clicked.connect(self.cancel_scan)
        self.busy_label = QLabel("")
        for widget in (self.scan_label, self.scan_progress, self.scan_cancel):
            bar.addPermanentWidget(widget)
            widget.hide()
        bar.addPermanentWidget(self.busy_label)
        self.pool.busy_changed.connect(
            lambda busy: self.busy_label.setText("working…" if busy else "")
        )

    def _bind_controllers(self) -> None:
        """Each controller's signals to the widgets that show them."""
        for controller in (self.lib, self.scan, self.tagging, self.playback):
            controller.message.connect(self.message)
        for controller in (self.scan, self.tagging):
            controller.log.connect(self.log_view.add)
        lib = self.lib
        lib.opened.connect(self._library_opened)
        lib.open_failed.connect(self._library_failed)
        lib.predicted.connect(self.track_model.set_predicted)
        lib.rows_fetched.connect(self._rows_fetched)
        lib.rows_reloaded.connect(self._rows_reloaded)
        lib.stale_copies_removed.connect(self._stale_copies_removed)
        scan = self.scan
        scan.started.connect(self._scan_started)
        scan.progress.connect(self._scan_progress)
        scan.cancelling.connect(self._scan_cancelling)
        scan.finished.connect(self._scan_finished)
        search = self.search
        search.results.connect(self._search_results)
        search.failed.connect(self._search_failed)
        search.cleared.connect(self._search_cleared)
        tagging = self.tagging
        tagging.prediction_ready.connect(self.panel.show_prediction)
        tagging.cover_ready.connect(self._cover_ready)
        tagging.preview_ready.connect(self._show_preview)
        tagging.undo_available.connect(self.undo_action.setEnabled)
        tagging.undone.connect(self._undone)
        tagging.history_ready.connect(self._history_ready)
        self.playback.state_changed.connect(self._update_play_button)
        self.playback.now_playing.connect(
            lambda title: self.statusBar().showMessage(f"Playing {title}", 5000)
        )

    # --- messages --------------------------------------------------------------------------------
    def message(self, text: str, error: bool = False) -> None:
        """A status-bar message, also kept in the log dock (errors never open a blocking box)."""
        self.statusBar().showMessage(text, 8000)
        self.log_view.add(text, logging.WARNING if error else logging.INFO)

    def error(self, text: str) -> None:
        self.message(text, error=True)

    # --- the library -----------------------------------------------------------------------------
    def library_maker(self) -> Callable[[], Any]:
        return self.lib.maker()

    def _with_library(
        self,
        fn: Callable[[Any], Any],
        on_done: Callable[[Any], None],
        name: str,
        on_failed: Callable[[str], None] | None = None,
    ) -> None:
        """Run fn(library) in the library thread (what find_music and tools call)."""
        self.lib.run(fn, on_done, name, on_failed)

    def model_name(self) -> str:
        return self.lib.model_name()

    def models_dir(self) -> Path:
        return self.lib.models_dir()

    def _library_opened(self, rows: list[Any], _folders: list[Any]) -> None:
        self.track_model.set_tracks(rows)
        self.proxy.refilter()
        self.stack.setCurrentWidget(
            self.splitter if rows or self.settings.folders else self.welcome
        )
        self.message(f"{len(rows)} track(s) in the library")
        self.lib.predict_column(self.track_model.ids())
        self.tagging.refresh_undo()
        self._update_empty_texts()
        if self._restored_search and rows:  # the search the user left, in the tab they left
            query, self._restored_search = self._restored_search, ""
            self._restore_tab = self.tabs.currentIndex()
            self.search_edit.setText(query)

    def _library_failed(self, message: str) -> None:
        self.stack.setCurrentWidget(self.welcome)
        self._update_empty_texts()
        self.error(message)

    def _stale_copies_removed(self, removed: list[Any]) -> None:
        for path in removed:
            self.log_view.add(
                f"removed a copy an interrupted write left behind: {path}", logging.INFO
            )

    def _rows_fetched(self, rows: list[Any], tags: dict[int, str], ids: list[int]) -> None:
        self.track_model.upsert(rows)
        self.track_model.set_predicted(tags)
        self.proxy.refilter()
        if self.panel.track_id in ids:
            self._selection_changed(self._active_view())

    def _rows_reloaded(self, rows: list[Any]) -> None:
        known = set(self.track_model.ids())
        self.track_model.upsert(rows)
        current = {int(r.id) for r in rows}
        self.track_model.remove_ids(known - current)
        self.proxy.refilter()
        missing = self.track_model.ids_without_predicted(current)
        if missing:
            self.lib.predict_column(missing)

    # --- scanning and importing ----------------------------------------------------------------
    def choose_folder(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        folder = QFileDialog.getExistingDirectory(self, "Add a music folder", str(Path.home()))
        if folder:
            self.add_folder(folder)

    def add_folder(self, folder: str) -> None:
        self.add_folders([folder])

    def add_folders(self, folders: list[str]) -> None:
        """Remember the folders and scan them together (one scan, however many were dropped)."""
        chosen = []
        for folder in folders:
            folder = str(Path(folder).expanduser().absolute())
            if not Path(folder).is_dir():
                self.error(f"{folder}: not a folder")
                continue
            self.settings.add_folder(folder)
            chosen.append(folder)
        if chosen:
            self.stack.setCurrentWidget(self.splitter)
            self.start_scan(chosen)

    def rescan(self) -> None:
        if not self.settings.folders:
            self.choose_folder()
            return
        self.start_scan(self.settings.folders)

    def start_scan(self, folders: list[str]) -> None:
        self.scan.start_scan(folders)

    def cancel_scan(self) -> None:
        self.scan.cancel()

    def is_scanning(self) -> bool:
        return self.scan.is_running()

    def open_import(self) -> None:
        if self.scan.is_running():
            self.message("A scan or import is running; import when it has finished")
            return
        dialog = ImportDialog(self.model_name(), parent=self)
        self.import_dialog = dialog
        dialog.accepted.connect(lambda: self.start_import(dialog.parts(), dialog.path_map()))
        dialog.open()

    def start_import(self, parts: list[str], path_map: list[str]) -> None:
        """Import on a worker thread; progress, Cancel and row updates as for a scan."""
        if parts and not self.scan.is_running() and self.stack.currentWidget() is self.welcome:
            self.stack.setCurrentWidget(self.splitter)
        self.scan.start_import(parts, path_map)

    def _scan_started(self, label: str, _message: str) -> None:
        self.scan_label.setText(label)
        self.scan_progress.setRange(0, 0)
        for widget in (self.scan_label, self.scan_progress, self.scan_cancel):
            widget.show()
        self.scan_cancel.setEnabled(True)
        self._update_empty_texts()

    def _scan_progress(self, p: Any) -> None:
        total = int(getattr(p, "total", 0) or 0)
        if total > 0:
            self.scan_progress.setRange(0, total)
            self.scan_progress.setValue(min(int(getattr(p, "done", 0) or 0), total))
        self.scan_label.setText(progress_text(p))
        current = getattr(p, "current", None)
        if current:
            self.scan_label.setToolTip(str(current))

    def _scan_cancelling(self) -> None:
        self.scan_cancel.setEnabled(False)
        self.scan_label.setText("Cancelling…")

    def _scan_finished(self) -> None:
        self._update_empty_texts()
        for widget in (self.scan_label, self.scan_progress, self.scan_cancel):
            widget.hide()

    # --- search ----------------------------------------------------------------------------------
    def focus_search(self) -> None:
        self.search_edit.setFocus()
        self.search_edit.selectAll()

    def _search_text_changed(self, text: str) -> None:
        self.search.text_changed(text)

    def _run_search(self) -> None:
        self.search.run(self.search_edit.text())

    def _search_cleared(self) -> None:
        self.search_model.clear()
        self.search_info.setText("")
        self.tabs.setCurrentIndex(LIBRARY_TAB)
        self._update_empty_texts()
        if self.loaded and not self.track_model.rowCount() and not self.settings.folders:
            self.stack.setCurrentWidget(self.welcome)  # back to "choose your music folder"

    def _search_results(self, query: str, result: Any) -> None:
        restore_tab, self._restore_tab = self._restore_tab, None
        titles = self.track_model.titles([int(hit.track_id) for hit in result.hits])
        self.search_model.set_result(query, result.hits, result.missing_words, titles)
        info = f"{len(result.hits)} track(s) for “{query}”"
        if getattr(result, "message", None):
            info += f" · {result.message}"
        self.search_info.setText(info)
        self.search_view.set_empty_text(
            no_results_text(query, result, not self.track_model.rowCount())
        )
        self._show_results_area(SEARCH_TAB if restore_tab is None else restore_tab)

    def _search_failed(self, query: str, message: str) -> None:
        self._restore_tab = None
        self.search_info.setText(message)
        self.search_model.clear()
        self.search_view.set_empty_text(f"The search for “{query}” failed: {message}")
        self._show_results_area(SEARCH_TAB)
        self.error(message)

    def _show_results_area(self, tab: int) -> None:
        """Show the tables (also from the welcome page: a search there says what it found, or that
        the library is empty) with `tab` in front."""
        if self.stack.currentWidget() is self.welcome:
            self.stack.setCurrentWidget(self.splitter)
        self.tabs.setCurrentIndex(tab)

    def _update_empty_texts(self) -> None:
        """The text each table shows while it has no rows: what to do next."""
        total = self.track_model.rowCount()
        words = self.filter_edit.text().strip()
        if total and words:
            library = (
                f"No track matches “{words}”.\nClear the filter (the × in the box) to see all "
                f"{total} track(s)."
            )
        elif self.scan.is_running():
            library = "Analysing your music… tracks appear here as they are done."
        elif not self.loaded:
            library = "Opening the library…"
        else:
            library = (
                "No tracks yet.\nAdd a music folder (File ▸ Add music folder, Ctrl+O) or drop one on "
                "this window."
            )
        self.table.set_empty_text(library)
        if not self.search_edit.text().strip():
            self.search_view.set_empty_text(
                "Type in the search box above (Ctrl+F): sounds and moods (“calm "
                "piano”, “fast guitar”), names (“artist:muse”) or filters "
                "(“genre:rock -live”, “year:1990-1999”)."
            )

    # --- where the user left the window (kept across restarts) -------------------------------
    def _sort_changed(self, column: int, order: Qt.SortOrder) -> None:
        self.settings.sort = (column, 1 if order == Qt.SortOrder.DescendingOrder else 0)

    def _tab_changed(self, index: int) -> None:
        self.settings.tab = index

    def _field_changed(self, _text: str) -> None:
        """The panel's "Write into" choice is a setting: it survives a restart."""
        field = self.panel.current_field()
        if field != self.settings.field:
            self.settings.field = field

    def _rows_changed(self, *_args: Any) -> None:
        """Rows came or went (a filter, a reload, new search results): after Qt has settled the
        selection, the panel is brought in line with the visible selection, and the empty texts too."""
        if not self._panel_check_pending:
            self._panel_check_pending = True
            QTimer.singleShot(0, self._panel_follow_selection)

    def _panel_follow_selection(self) -> None:
        self._panel_check_pending = False
        if self.closing:
            return
        self._update_empty_texts()
        view = self._active_view()
        current = self._current_id(view)
        if current != self.panel.track_id or len(self.selected_ids()) != self.panel.selection_size:
            self._selection_changed(view)

    # --- selection and the track panel -----------------------------------------------------------
    def _active_view(self) -> QAbstractItemView:
        if self.tabs.currentIndex() == SEARCH_TAB:
            return self.search_view
        albums = getattr(self, "albums", None)
        return albums.view if albums is not None and albums.showing() else self.table

    def selected_ids(self) -> list[int]:
        view = self._active_view()
        if getattr(self, "albums", None) is not None and view is self.albums.view:
            return self.albums.selected_ids()  # an album stands for its tracks
        rows = view.selectionModel().selectedRows()
        return list(dict.fromkeys(int(index.data(TRACK_ID_ROLE)) for index in rows))

    def _current_id(self, view: QAbstractItemView) -> int | None:
        if getattr(self, "albums", None) is not None and view is self.albums.view:
            return self.albums.current_id()
        index = view.selectionModel().currentIndex()
        selected = view.selectionModel().selectedRows()
        if index.isValid() and view.selectionModel().isRowSelected(index.row(), QModelIndex()):
            return int(index.data(TRACK_ID_ROLE))
        if selected:
            return int(selected[0].data(TRACK_ID_ROLE))
        return None

    def _selection_changed(self, view: QAbstractItemView) -> None:
        if view is not self._active_view():
            return
        if getattr(self, "albums", None) is not None and self.albums.handles_selection(view):
            return  # an album in the panel
        track_id = self._current_id(view)
        track = None if track_id is None else self.track_model.track_by_id(track_id)
        if track is None and track_id is not None:  # a search hit whose row is not loaded yet
            self.panel.show_track(None)
            return
        self.panel.show_track(track, len(self.selected_ids()))
        self._update_play_button()
        if track is None:
            return
        self.tagging.load_prediction(int(track.id), track.path, self.panel.shown_fields())
        if getattr(track, "has_cover", False):
            self.tagging.load_cover(int(track.id), track.path)

    def _cover_ready(self, track_id: int, data: Any) -> None:
        if track_id == self.panel.track_id:
            self.panel.set_cover(data)

    def _remember_decision(self, track_id: int) -> None:
        self.tagging.remember(track_id, self.panel.decision())

    # --- writing and undo ------------------------------------------------------------------------
    def write_options(self) -> Any:
        return self.tagging.write_options()

    def write_selected(self) -> None:
        """Plan the write for the selection in a worker, then show the preview dialog."""
        if self.albums.write_requested():
            return  # an album is current: apply to album
        ids = self.selected_ids()
        if not ids:
            self.message("Select the tracks to tag first")
            return
        track_id = self.panel.track_id
        shown = track_id is not None and track_id in ids
        if track_id is not None and shown and self.panel.tag_items() + self.panel.value_items():
            self.tagging.remember(track_id, self.panel.decision())
        same = track_id if shown and self.panel.apply_to_all_selected() else None
        # "": each kind to its field; `same`: this track's changes in every selected one
        self.tagging.plan_write(ids, self.panel.current_field(), same)

    def _show_preview(self, planned: list[Any], field: str) -> None:
        dialog = WritePreviewDialog(planned, self)
        self.preview_dialog = dialog
        dialog.finished.connect(lambda code: self._preview_closed(dialog, code, field))
        dialog.open()

    def _preview_closed(self, dialog: WritePreviewDialog, code: int, field: str) -> None:
        self.preview_dialog = None
        dialog.deleteLater()
        if code != QDialog.DialogCode.Accepted:
            self.message("Nothing written")
            return
        self.tagging.write(dialog.changes(), field, dialog.edited())

    def undo_last(self, batch_id: int | None = None) -> None:
        self.tagging.undo(batch_id)

    def _undone(self, _result: Any) -> None:
        if self.history_dialog is not None and self.history_dialog.isVisible():
            self.tagging.load_history()

    # --- dialogs ---------------------------------------------------------------------------------
    def open_history(self) -> None:
        if self.history_dialog is None:
            self.history_dialog = HistoryDialog(self)
            self.history_dialog.undo_requested.connect(lambda batch_id: self.undo_last(batch_id))
        self.history_dialog.show()
        self.history_dialog.raise_()
        self.tagging.load_history()

    def _history_ready(self, batches: list[Any]) -> None:
        if self.history_dialog is not None:
            self.history_dialog.set_batches(batches)

    def open_shortcuts(self) -> None:
        from app.gui.help import ShortcutsDialog, shortcut_rows

        dialog = ShortcutsDialog(shortcut_rows(self), self)
        self.shortcuts_dialog = dialog
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def open_about(self) -> None:
        from app.gui.help import AboutDialog

        device = getattr(self.library, "device", None) or self.settings.device
        dialog = AboutDialog(
            self.settings.model, self.settings.vectors, self.model_name(), str(device), self
        )
        self.about_dialog = dialog
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def open_settings(self) -> None:
        dialog = SettingsDialog(self.settings, self)
        self.settings_dialog = dialog
        dialog.finished.connect(lambda code: self._settings_closed(dialog, code))
        dialog.open()

    def _settings_closed(self, dialog: SettingsDialog, code: int) -> None:
        self.settings_dialog = None
        dialog.deleteLater()
        if code != QDialog.DialogCode.Accepted:
            return
        before = set(self.settings.folders)
        changed = dialog.apply()
        self._update_switch_back()  # a model chosen here can be switched back from, too
        self.panel.set_routes(self.settings.routes)
        self.panel.set_field(self.settings.field)
        self.lib.set_vocabulary(self.settings.vocabulary)
        model_changed = bool(changed & {"model", "vectors", "device", "precision"})
        if model_changed:
            self._reopen_and_rescan("Model settings changed")
        elif "vocabulary" in changed or "top_k" in changed:
            self.lib.forget_vocabulary()
            self._selection_changed(self._active_view())
        new_folders = [f for f in self.settings.folders if f not in before]
        if new_folders and not model_changed:
            self.start_scan(new_folders)
        self.message("Settings saved")

    def _reopen_and_rescan(self, reason: str) -> None:
        """A different model: its results are separate, so tracks are analysed again."""
        self.message(f"{reason}: model {self.settings.model}; analysing the library with it")
        if self.scan.is_running():
            self.cancel_scan()
        self.track_model.set_predicted({i: "" for i in self.track_model.ids()})
        self.lib.open()
        if self.settings.folders:
            self.start_scan(self.settings.folders)

    def open_learn(self) -> None:
        from app import db

        rows = [self.track_model.track(i) for i in range(self.track_model.rowCount())]
        dialog = LearnDialog(
            lambda: rows,
            self.models_dir(),
            device=self.settings.device,
            parent=self,
            db_path=Path(self.db_path).expanduser() if self.db_path else db.default_db_path(),
            current_model=self.settings.model,
        )
        self.learn_dialog = dialog
        dialog.use_model.connect(self._use_trained_model)
        dialog.switch_back.connect(self.switch_model_back)
        dialog.open()

    def _use_trained_model(self, folder: str) -> None:
        self.settings.switch_model(folder)
        self.settings.sync()
        self._update_switch_back()
        self._reopen_and_rescan("Switched to the trained model")

    def switch_model_back(self) -> None:
        """Undo the last model switch (File > Switch back), itself undoable the same way."""
        if self.settings.switch_back() is None:
            self.message("No earlier model to switch back to")
            return
        self.settings.sync()
        self._update_switch_back()
        self._reopen_and_rescan("Switched back")

    def _update_switch_back(self) -> None:
        previous = self.settings.previous_model
        usable = bool(previous) and previous != self.settings.model
        name = "the built-in model" if previous == "default" else "the previous model"
        self.switch_back_action.setText(f"Switch &back to {name}")
        self.switch_back_action.setEnabled(usable)

    # --- playback --------------------------------------------------------------------------------
    def _update_play_button(self) -> None:
        """The panel's button says Pause while the track it shows is the one playing."""
        playing = self.playback.is_playing(self.panel.track_id)
        self.panel.play_button.setText("Pause" if playing else "Play")

    def play_selected(self) -> None:
        track_id = self.panel.track_id
        track = None if track_id is None else self.track_model.track_by_id(track_id)
        if track_id is None or track is None:
            self.message("Select a track to play")
            return
        name = Path(str(track.display_path)).name
        self.playback.toggle(track_id, track.path, name, track.title or track.display_path)

    def stop_playback(self) -> None:
        self.playback.stop()

    def _player_call(self, name: str, *args: Any) -> None:
        self.playback.call(name, *args)

    # --- drag and drop: folders dropped anywhere on the window are added and scanned ---------
    def dragEnterEvent(self, event) -> None:
        """Take any drag that carries a local file or folder: what is not a folder is refused at
        the drop, with the reason (a forbidden cursor alone would not say why)."""
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:
        folders, refused = dropped_folders(event.mimeData().urls())
        if folders:
            event.acceptProposedAction()
            self.add_folders(folders)
        else:
            event.ignore()
        if not refused:
            if not folders:
                self.error("Nothing added: drop a music folder")
            return
        for reason in refused:
            self.log_view.add(reason, logging.WARNING)
        if len(refused) == 1:
            text = refused[0]
        else:
            text = f"{len(refused)} dropped items not added (see View ▸ Log): {refused[0]}"
        self.statusBar().showMessage(text, 8000)

    # --- closing ---------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop the scan and training, wait for workers, close the library (idempotent)."""
        self.closing = True
        if self.learn_dialog is not None:
            self.learn_dialog.cancel()
        self.scan.shutdown()
        self.search.shutdown()
        self.playback.shutdown()
        self.lib.shutdown()
        self.log_view.detach()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.settings.save_window_state(self.saveGeometry(), self.saveState())
        self.settings.tab = self.tabs.currentIndex()
        self._field_changed("")
        self.settings.sync()
        self.shutdown()
        super().closeEvent(event)
