"""The main window: builds the views (app/gui/views/), the menus and the controllers
(app/gui/controllers/), and binds the one to the other.

The window holds no business logic: opening the library, scanning and importing, searching,
predicting, writing and undoing, playing, choosing the model and keeping where the user left
the window are done by the controllers, which talk to the Qt-free `app` facade on worker threads
and report back with signals; the window hands what they report to its widgets. A result that
arrives for a track the user has left is dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import QAbstractItemView, QMainWindow, QMenu

from app.gui.bindings import PanelBinding, TablesBinding, WindowDialogs
from app.gui.columns import ColumnChooser
from app.gui.controllers import (
    AlbumsController,
    LibraryController,
    ModelController,
    PlaybackController,
    ScanController,
    SearchController,
    TaggingController,
    WindowState,
)
from app.gui.controllers.scan import dropped_folders, refused_text
from app.gui.controllers.search import SEARCH_TOP
from app.gui.dialogs import WelcomePage
from app.gui.log_view import LogView
from app.gui.menus import build_actions
from app.gui.models import SearchResultsModel, SearchResultsProxy, TrackFilterProxy, TrackTableModel
from app.gui.settings import Settings
from app.gui.track_panel import TrackPanel
from app.gui.views import LibraryPage, MainArea, ResultsPage, ScanStatus, SearchBox
from app.gui.widgets import UndoPassThrough

__all__ = ["SEARCH_TOP", "MainWindow", "dropped_folders"]


def _alias(owner: str, name: str) -> property:
    """A window attribute that is another object's (the names tests and tools have always used)."""
    return property(
        lambda self: getattr(getattr(self, owner), name),
        lambda self, value: setattr(getattr(self, owner), name, value),
    )


class MainWindow(QMainWindow):
    """The app. `library_factory()` makes a Library (tests pass one bound to a temporary index).

    Controllers: `lib`, `scan`, `search`, `tagging`, `playback`, `album_library`, `model`
    (ModelController), `state` (WindowState).
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
    preview_dialog = _alias("dialogs", "preview")
    history_dialog = _alias("dialogs", "history")
    settings_dialog = _alias("dialogs", "settings")
    learn_dialog = _alias("dialogs", "learn")
    import_dialog = _alias("dialogs", "import_")
    shortcuts_dialog = _alias("dialogs", "shortcuts")
    about_dialog = _alias("dialogs", "about")
    tabs = _alias("stack", "tabs")
    splitter = _alias("stack", "splitter")
    welcome = _alias("stack", "welcome")

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
        self.settings = settings = settings or Settings()
        self.db_path = db_path
        self.lib = LibraryController(settings, db_path, library_factory, self)
        self.scan = ScanController(self.lib, settings, self)
        self.search = SearchController(self.lib, settings, self)
        self.tagging = TaggingController(self.lib, settings, self)
        self.album_library = AlbumsController(
            self.lib, lambda: self.tagging.decisions, settings, self.tagging.write_options, self
        )
        self.playback = PlaybackController(self)
        self.model = ModelController(self.lib, self.scan, settings, self)
        self.state = WindowState(settings, self)
        self.dialogs = WindowDialogs(self)
        self.closing = False  # set by shutdown: nothing new starts after it

        self._build_views()
        build_actions(self)
        self.view_menu.addMenu(self.columns.menu)
        self.log_view = LogView(self)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.log_view)
        self.log_view.attach()
        self.view_menu.addAction(self.log_view.toggleViewAction())
        self.log_view.hide()
        self._bind_controllers()
        self.model.announce_switch_back()  # File > Switch back: enabled when there is a model
        from app.gui.find_music import install as install_find_music  # more like this, …

        self.find_music = install_find_music(self)
        from app.gui.album_view import install as install_albums  # the Library tab's album view

        self.albums = install_albums(self, self.album_library)
        geometry, state = self.state.geometry()
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
        library_page = LibraryPage(self.proxy)
        self.table, self.filter_edit = library_page.table, library_page.filter_edit
        self.table.sortByColumn(*self.state.sort(self.track_model.columnCount()))
        self.columns = ColumnChooser(self.settings, self)  # header right-click, View > Columns
        self.columns.attach(self.table.horizontalHeader())
        # hits in relevance order (search_model) shown sorted by the clicked column (search_proxy)
        self.search_model = SearchResultsModel(self)
        self.search_proxy = SearchResultsProxy(self)
        self.search_proxy.setSourceModel(self.search_model)
        self.results_page = ResultsPage(self.search_proxy)
        self.search_view, self.search_info = (
            self.results_page.search_view,
            self.results_page.search_info,
        )
        self.panel = TrackPanel()
        self.panel.set_routes(self.settings.routes)
        self.panel.set_field(self.settings.field)
        self.stack = MainArea(WelcomePage(), library_page, self.results_page, self.panel)
        self.setCentralWidget(self.stack)
        self.search_edit = SearchBox()
        self.status = ScanStatus(self.statusBar())
        for name in ("scan_label", "scan_progress", "scan_cancel", "busy_label"):
            setattr(self, name, getattr(self.status, name))
        # Ctrl+Z in a text box undoes its typing, else the last tag write
        self._undo_pass_through = UndoPassThrough(self)
        for edit in (self.filter_edit, self.search_edit, self.panel.field):
            edit.installEventFilter(self._undo_pass_through)

    def _bind_controllers(self) -> None:
        """Each view's signals to the controllers, each controller's signals to the views."""
        self.binding = PanelBinding(self)  # the panel follows the selection
        self.tables = TablesBinding(self)  # rows and results into the tables
        self.filter_edit.textChanged.connect(self.proxy.set_filter_text)
        self.table.horizontalHeader().sortIndicatorChanged.connect(self.state.sort_changed)
        self.welcome.folder_chosen.connect(self.add_folder)
        self.search_edit.textChanged.connect(self.search.text_changed)
        self.search_edit.returnPressed.connect(self._run_search)
        self.status.scan_cancel.clicked.connect(self.cancel_scan)
        self.pool.busy_changed.connect(self.status.set_busy)
        self.tabs.setCurrentIndex(self.state.tab)  # restored; a restored search keeps it too
        self.tabs.currentChanged.connect(self.state.tab_changed)
        self.tables.update_empty_texts()

        for controller in (self.lib, self.scan, self.tagging, self.playback, self.model):
            controller.message.connect(self.message)
        for controller in (self.scan, self.tagging):
            controller.log.connect(self.log_view.add)
        scan = self.scan
        scan.started.connect(self.status.started)
        scan.status.connect(self.status.show_progress)
        scan.cancelling.connect(self.status.cancelling)
        scan.finished.connect(self.status.finished)
        self.tagging.undo_available.connect(self.undo_action.setEnabled)
        self.playback.now_playing.connect(
            lambda title: self.statusBar().showMessage(f"Playing {title}", 5000)
        )
        self.model.reanalysing.connect(  # the Predicted tags column waits for the new model
            lambda: self.track_model.set_predicted(dict.fromkeys(self.track_model.ids(), ""))
        )
        self.model.switch_back_changed.connect(self._show_switch_back)

    # --- messages --------------------------------------------------------------------------------
    def message(self, text: str, error: bool = False) -> None:
        """A status-bar message, also kept in the log dock (errors never open a blocking box)."""
        self.statusBar().showMessage(text, 8000)
        self.log_view.add(text, logging.WARNING if error else logging.INFO)

    def error(self, text: str) -> None:
        self.message(text, error=True)

    def model_name(self) -> str:
        return self.lib.model_name()

    # --- scanning and importing ----------------------------------------------------------------
    def choose_folder(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        folder = QFileDialog.getExistingDirectory(self, "Add a music folder", str(Path.home()))
        if folder:
            self.add_folder(folder)

    def add_folder(self, folder: str) -> None:
        self.add_folders([folder])

    def add_folders(self, folders: list[str]) -> None:
        if self.scan.add_folders(folders):
            self.stack.show_tables()

    def rescan(self) -> None:
        if not self.scan.rescan():
            self.choose_folder()

    def cancel_scan(self) -> None:
        self.scan.cancel()

    def is_scanning(self) -> bool:
        return self.scan.is_running()

    def start_import(self, parts: list[str], path_map: list[str]) -> None:
        """Import on a worker thread; progress, Cancel and row updates as for a scan."""
        if parts and not self.scan.is_running() and self.stack.welcoming():
            self.stack.show_tables()
        self.scan.start_import(parts, path_map)

    # --- search ----------------------------------------------------------------------------------
    def focus_search(self) -> None:
        self.search_edit.focus_all()

    def _run_search(self) -> None:
        self.search.run(self.search_edit.text())

    # --- the panel, the selection, writing, playing (app.gui.bindings.panel) -------------------
    def _active_view(self) -> QAbstractItemView:
        return self.binding.active_view()

    def selected_ids(self) -> list[int]:
        return self.binding.selected_ids()

    def _selection_changed(self, view: QAbstractItemView) -> None:
        self.binding.selection_changed(view)

    def _rows_changed(self, *_args: Any) -> None:
        self.binding.rows_changed()

    def _show_preview(self, planned: list[Any], field: str) -> None:
        self.dialogs.open_preview(planned, field)

    def write_selected(self) -> None:
        self.binding.write()

    def undo_last(self, batch_id: int | None = None) -> None:
        self.tagging.undo(batch_id)

    def play_selected(self) -> None:
        self.binding.play()

    def stop_playback(self) -> None:
        self.playback.stop()

    def _player_call(self, name: str, *args: Any) -> None:
        self.playback.call(name, *args)

    def open_history(self) -> None:  # the dialogs: app.gui.bindings.dialogs (menus call it)
        self.dialogs.open_history()

    def open_import(self) -> None:
        self.dialogs.open_import()

    def switch_model_back(self) -> None:
        self.model.switch_back()

    def _show_switch_back(self, text: str, enabled: bool) -> None:
        self.switch_back_action.setText(text)
        self.switch_back_action.setEnabled(enabled)

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
        self.statusBar().showMessage(refused_text(refused), 8000)

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
        geometry, state = self.saveGeometry(), self.saveState()
        self.state.save(geometry, state, self.tabs.currentIndex(), self.panel.current_field())
        self.shutdown()
        super().closeEvent(event)
