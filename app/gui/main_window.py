"""The main window: library table, search, track panel, scan progress, write/undo, playback.

Threading rule (docs/ARCHITECTURE.md): the GUI thread never decodes, infers, reads tags or
writes files. Every call on the shared Library goes through `self.pool` (one worker thread,
so the SQLite connection is never used by two threads at once); the scan runs on its own
thread with its own Library; cover art is read in Qt's global pool. Results come back as
signals and are applied here, and a result that arrives for a track the user has left is
dropped.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from app.gui.dialogs import (
    HistoryDialog,
    LearnDialog,
    SettingsDialog,
    WelcomePage,
    WritePreviewDialog,
)
from app.gui.import_dialog import ImportDialog
from app.gui.log_view import LogView
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
from app.gui.workers import ImportWorker, JobQueue, LibraryPool, ScanWorker

log = logging.getLogger("app.gui")

SEARCH_DEBOUNCE_MS = 150
ROW_FLUSH_MS = 250
PREDICTED_CHUNK = 200
PREDICTED_TOP = 3
SEARCH_TOP = 50
LIBRARY_TAB, SEARCH_TAB = 0, 1
NO_AUDIO_DEVICE = (
    "no audio output device was found: connect speakers or headphones (or check the "
    "system's sound settings), then press Play again"
)


def audio_output_devices() -> list[Any]:
    """The sound outputs Qt Multimedia sees now (empty: nothing would be heard)."""
    from PySide6.QtMultimedia import QMediaDevices

    return list(QMediaDevices.audioOutputs())


def _eta_text(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds < 0:
        return "…"
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds} s"


def unplayable_reason(path: str | Path) -> str | None:
    """Why the file cannot be handed to the player, found with one stat (no read), or None.

    Qt's own error for these is "Could not open file", which does not say what to do.
    """
    try:
        target = Path(path)
        if not target.exists():
            return "the file is gone (moved or deleted since the scan; rescan with F5)"
        if not target.is_file():
            return "not a file"
        if not os.access(target, os.R_OK):
            return "no permission to read the file"
        str(target).encode("utf-8")
    except UnicodeEncodeError:
        return "its name is not valid UTF-8, which Qt Multimedia cannot open (rename the file)"
    except (OSError, ValueError) as exc:
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return None


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


class MainWindow(QMainWindow):
    """The app. `library_factory()` makes a Library (tests pass one bound to a temporary index)."""

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
        self._factory = library_factory
        self.library: Any = None
        self.pool = LibraryPool(self)
        self.io = JobQueue(self)  # file reads that need no library (cover art)
        self.scan_worker: ScanWorker | None = None
        self.scan_queue: list[str] = []
        self.decisions: dict[int, list[str]] = {}
        self._pending_rows: set[int] = set()
        self._search_seq = 0
        self._predicted_generation = 0
        self._vocabulary: list[str] | None = None
        self._vocabulary_path = (
            self.settings.vocabulary
        )  # read here: QSettings stays on this thread
        self.player = None
        self.audio_output = None
        self._playing_id: int | None = None
        self.preview_dialog: WritePreviewDialog | None = None
        self.history_dialog: HistoryDialog | None = None
        self.settings_dialog: SettingsDialog | None = None
        self.learn_dialog: LearnDialog | None = None
        self.import_dialog: ImportDialog | None = None
        self.shortcuts_dialog: QDialog | None = None
        self.about_dialog: QDialog | None = None
        self.last_import = None
        self.last_write = None
        self.last_undo = None
        self.last_search = None
        self.last_cleanup: list[Any] | None = None
        self.last_scan = None
        self.loaded = False
        self.closing = False  # set by shutdown: nothing new starts after it
        self.last_search_text = ""
        self._panel_check_pending = False

        self._build_views()
        self._build_status_bar()
        self._build_actions()
        self.log_view = LogView(self)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.log_view)
        self.log_view.attach()
        self.view_menu.addAction(self.log_view.toggleViewAction())
        self.log_view.hide()
        from app.gui.find_music import (
            install as install_find_music,
        )  # more like this, duplicates, playlists

        self.find_music = install_find_music(self)

        self._row_timer = QTimer(self)
        self._row_timer.setInterval(ROW_FLUSH_MS)
        self._row_timer.timeout.connect(self._flush_rows)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DEBOUNCE_MS)
        self._search_timer.timeout.connect(self._run_search)

        geometry, state = self.settings.window_state()
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        if state is not None:
            self.restoreState(state)
        self._open_library()

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
        for column, width in enumerate((200, 140, 140, 64, 110, 100)):
            header.resizeSection(column, width)
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

    def _build_actions(self) -> None:
        def action(
            text: str,
            slot: Callable[[], Any],
            shortcut: QKeySequence | str | None = None,
            tip: str = "",
        ) -> QAction:
            act = QAction(text, self)
            if shortcut is not None:
                act.setShortcut(QKeySequence(shortcut))
            act.setStatusTip(tip)
            act.triggered.connect(lambda *_: slot())
            self.addAction(act)
            return act

        self.add_folder_action = action(
            "&Add music folder…",
            self.choose_folder,
            QKeySequence.StandardKey.Open,
            "Add a folder to the library and scan it",
        )
        self.rescan_action = action(
            "&Rescan library", self.rescan, "F5", "Analyse new and changed files"
        )
        self.import_action = action(
            "&Import analysis…",
            self.open_import,
            None,
            "Take in tracks analysed on other machines (zsl-core embed --shard parts)",
        )
        self.learn_action = action(
            "&Learn from my library…",
            self.open_learn,
            None,
            "Train a model on the genre/mood tags your files already have",
        )
        self.settings_action = action("&Settings…", self.open_settings, "Ctrl+,")
        # Ctrl+W closes the window, as everywhere else (the platform's Close keys)
        self.close_action = action(
            "&Close window",
            self.close,
            QKeySequence.StandardKey.Close,
            "Close the window (the app ends with it)",
        )
        self._ensure_keys(self.close_action, "Ctrl+W")
        self.quit_action = action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self._ensure_keys(self.quit_action, "Ctrl+Q")
        self.undo_action = action(
            "&Undo tag write",
            self.undo_last,
            QKeySequence.StandardKey.Undo,
            "Put back the tags the last write replaced",
        )
        self.undo_action.setEnabled(False)  # until the journal says there is a write to undo
        # Ctrl+S, as taggers save tags (Picard, Mp3tag); the preview comes first
        self.write_action = action(
            "&Write tags…",
            self.write_selected,
            QKeySequence.StandardKey.Save,
            "Write the checked tags into the selected files (preview first)",
        )
        self._ensure_keys(self.write_action, "Ctrl+S")
        self.find_action = action("&Search", self.focus_search, QKeySequence.StandardKey.Find)
        self.history_action = action("&History of tag writes…", self.open_history, "Ctrl+H")
        self.play_action = action("&Play / pause", self.play_selected, "Space")
        self.play_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.removeAction(self.play_action)
        for view in (self.table, self.search_view):
            view.addAction(self.play_action)
        self.stop_action = action("&Stop", self.stop_playback, None)

        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        for act in (
            self.add_folder_action,
            self.rescan_action,
            self.import_action,
            self.learn_action,
            self.settings_action,
        ):
            file_menu.addAction(act)
        file_menu.addSeparator()
        file_menu.addAction(self.close_action)
        file_menu.addAction(self.quit_action)
        edit_menu = menu.addMenu("&Edit")
        for act in (self.undo_action, self.write_action, self.find_action):
            edit_menu.addAction(act)
        self.view_menu = menu.addMenu("&View")
        self.view_menu.addAction(self.history_action)
        play_menu = menu.addMenu("&Playback")
        play_menu.addAction(self.play_action)
        play_menu.addAction(self.stop_action)
        self.shortcuts_action = action(
            "&Keyboard shortcuts",
            self.open_shortcuts,
            QKeySequence.StandardKey.HelpContents,
            "Every key the window answers to",
        )
        self._ensure_keys(self.shortcuts_action, "F1")
        self.about_action = action(
            "&About zsl-tagger", self.open_about, None, "Version, the model in use and the licences"
        )
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self.help_menu = menu.addMenu("&Help")
        self.help_menu.addAction(self.shortcuts_action)
        self.help_menu.addAction(self.about_action)
        self.panel.set_shortcut_hints(
            self._keys_text(self.write_action), self._keys_text(self.play_action)
        )

        toolbar = QToolBar("Main")
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        toolbar.addAction(self.add_folder_action)
        toolbar.addAction(self.rescan_action)
        toolbar.addSeparator()
        toolbar.addWidget(self.search_edit)
        toolbar.addSeparator()
        toolbar.addAction(self.write_action)
        toolbar.addAction(self.undo_action)
        self.addToolBar(toolbar)

    @staticmethod
    def _ensure_keys(act: QAction, key: str) -> None:
        """The platform's keys for a standard action, and `key` too where the platform has none
        or leaves it out (some platforms bind no Quit key)."""
        keys = [k for k in act.shortcuts() if not k.isEmpty()]
        wanted = QKeySequence(key)
        if wanted not in keys:
            act.setShortcuts([*keys, wanted])

    @staticmethod
    def _keys_text(act: QAction) -> str:
        return act.shortcut().toString(QKeySequence.SequenceFormat.NativeText)

    # --- messages --------------------------------------------------------------------------------
    def message(self, text: str, error: bool = False) -> None:
        """A status-bar message, also kept in the log dock (errors never open a blocking box)."""
        self.statusBar().showMessage(text, 8000)
        self.log_view.add(text, logging.WARNING if error else logging.INFO)

    def error(self, text: str) -> None:
        self.message(text, error=True)

    # --- the library -----------------------------------------------------------------------------
    def library_maker(self) -> Callable[[], Any]:
        """A function that makes a Library with the current settings, read now on the GUI thread
        (QSettings is not shared across threads) and called later on a worker thread."""
        if self._factory is not None:
            return self._factory
        s = self.settings
        db_path, model, vectors, device = self.db_path, s.model, s.vectors or None, s.device
        precision = s.precision

        def make() -> Any:
            from app.library import Library

            return Library(
                db_path=db_path, model=model, vectors=vectors, device=device, precision=precision
            )

        return make

    def _open_library(self) -> None:
        """(Re)open the shared Library in the pool thread, then load every track into the table."""
        self._predicted_generation += 1
        old = self.library
        self._vocabulary = None
        make_library = self.library_maker()

        def work(_report):
            if old is not None:
                old.close()
            library = make_library()
            return library, library.tracks(), library.folders()

        self.pool.submit(
            work, self._library_opened, self._library_failed, name="opening the library"
        )

    def _library_opened(self, result: tuple[Any, list[Any], list[Any]]) -> None:
        self.library, rows, folders = result
        self._remove_stale_copies(folders)
        self.track_model.set_tracks(rows)
        self.proxy.refilter()
        self.loaded = True
        self.stack.setCurrentWidget(
            self.splitter if rows or self.settings.folders else self.welcome
        )
        self.message(f"{len(rows)} track(s) in the library")
        self._start_predicted(self.track_model.ids())
        self._refresh_undo()
        self._update_empty_texts()
        if self._restored_search and rows:  # the search the user left, in the tab they left
            query, self._restored_search = self._restored_search, ""
            self._restore_tab = self.tabs.currentIndex()
            self.search_edit.setText(query)

    def _remove_stale_copies(self, folders: list[Any]) -> None:
        """Copies an interrupted tag write left in the music folders (full hidden copies of
        tracks) are removed in the background when the library opens."""

        def work(_report):
            from app.tagwriter import cleanup_temp_files

            return cleanup_temp_files(folders, recursive=True)

        def done(removed: list[Any]) -> None:
            self.last_cleanup = removed
            for path in removed:
                self.log_view.add(
                    f"removed a copy an interrupted write left behind: {path}", logging.INFO
                )

        self.io.submit(work, done, lambda m: log.info("%s", m), name="removing stale copies")

    def _refresh_undo(self) -> None:
        """Undo is enabled only while the journal holds a write that is not undone yet."""

        def work(library):  # the batch app.journal.undo() takes when given none
            row = library.conn.execute(
                "SELECT EXISTS(SELECT 1 FROM batches WHERE undone_at IS NULL)"
            ).fetchone()
            return bool(row and row[0])

        self._with_library(
            work,
            self.undo_action.setEnabled,
            "reading the history",
            lambda message: log.info("%s", message),
        )

    def _library_failed(self, message: str) -> None:
        self.loaded = True
        self.stack.setCurrentWidget(self.welcome)
        self._update_empty_texts()
        self.error(message)

    def _with_library(
        self,
        fn: Callable[[Any], Any],
        on_done: Callable[[Any], None],
        name: str,
        on_failed: Callable[[str], None] | None = None,
    ) -> None:
        """Run fn(library) in the library thread (after it is open)."""

        def work(_report):
            if self.library is None:
                raise RuntimeError("the library is not open")
            return fn(self.library)

        self.pool.submit(work, on_done, on_failed or self.error, name=name)

    def _words(self, library: Any) -> list[str] | None:
        """The candidate unseen words: the Settings vocabulary file, else the library's own
        (None). Loaded once, on the library thread."""
        path = self._vocabulary_path
        if not path:
            return None
        if self._vocabulary is None:
            from zsl_core.pipeline import load_vocabulary

            self._vocabulary = load_vocabulary(path)
        return self._vocabulary

    def _propose(self, library: Any, track_id: int, top_k: int) -> list[str]:
        """The tags proposed for a track (library thread), by the one picking rule
        (`Prediction.pick`), over the vocabulary chosen in Settings."""
        return [t.tag for t in library.proposals(track_id, top_k, vocabulary=self._words(library))]

    def _start_predicted(self, ids: list[int]) -> None:
        """Fill the "Predicted tags" column in chunks, so searches slip in between them."""
        generation = self._predicted_generation
        top = PREDICTED_TOP

        def next_chunk(rest: list[int]) -> None:
            if not rest or generation != self._predicted_generation:
                return
            chunk, later = rest[:PREDICTED_CHUNK], rest[PREDICTED_CHUNK:]

            def work(library):
                out = {}
                for track_id in chunk:
                    try:
                        out[track_id] = ", ".join(self._propose(library, track_id, top))
                    except Exception:  # one bad row must not stop the column
                        out[track_id] = ""
                return out

            def done(tags: dict[int, str]) -> None:
                if generation == self._predicted_generation:
                    self.track_model.set_predicted(tags)
                    next_chunk(later)

            self._with_library(work, done, "predicting tags")

        next_chunk(list(ids))

    # --- scanning --------------------------------------------------------------------------------
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
        folders = self.settings.folders
        if not folders:
            self.choose_folder()
            return
        self.start_scan(folders)

    def start_scan(self, folders: list[str]) -> None:
        if self.closing:
            return
        if self.scan_worker is not None:
            running = set(self.scan_worker.folders)
            new = [
                f for f in dict.fromkeys(folders) if f not in self.scan_queue and f not in running
            ]
            self.scan_queue += new
            if new:
                self.message(f"A scan is running; {', '.join(new)} will be scanned next")
            else:
                self.message("A scan is running; that folder is already being scanned or queued")
            return
        worker = ScanWorker(self.library_maker(), folders, parent=self)
        self._start_worker(worker, self._scan_done, "Scanning…", f"Scanning {', '.join(folders)}")

    def _start_worker(
        self, worker: ScanWorker, on_summary: Callable[[Any], None], label: str, message: str
    ) -> None:
        """Run a scan or an import: progress, Cancel and new rows in the status bar and table."""
        worker.progress.connect(self._scan_progress)
        worker.track_stored.connect(self._track_stored)
        worker.summary.connect(on_summary)
        worker.failed.connect(self._scan_failed)
        worker.finished.connect(self._scan_thread_finished)
        self.scan_worker = worker
        self.scan_label.setText(label)
        self.scan_progress.setRange(0, 0)
        for widget in (self.scan_label, self.scan_progress, self.scan_cancel):
            widget.show()
        self.scan_cancel.setEnabled(True)
        self._row_timer.start()
        self._update_empty_texts()
        self.message(message)
        worker.start()

    # --- importing analysis made elsewhere (zsl-core embed parts) --------------------------------
    def open_import(self) -> None:
        if self.scan_worker is not None:
            self.message("A scan or import is running; import when it has finished")
            return
        dialog = ImportDialog(self.model_name(), parent=self)
        self.import_dialog = dialog
        dialog.accepted.connect(lambda: self.start_import(dialog.parts(), dialog.path_map()))
        dialog.open()

    def model_name(self) -> str:
        """The key the library stores results under with the current settings (what a part must match)."""
        if self.library is not None and getattr(self.library, "model_name", None):
            return str(self.library.model_name)
        from app.library import model_key
        from zsl_core.default_model import resolve_precision

        s = self.settings
        precision = resolve_precision(s.precision, s.device) if s.model == "default" else "fp32"
        return model_key(s.model, s.vectors or None, precision)

    def start_import(self, parts: list[str], path_map: list[str]) -> None:
        """Import on a worker thread; progress, Cancel and row updates as for a scan."""
        if self.closing or not parts:
            return
        if self.scan_worker is not None:
            self.message("A scan or import is running; import when it has finished")
            return
        if self.stack.currentWidget() is self.welcome:
            self.stack.setCurrentWidget(self.splitter)
        worker = ImportWorker(self.library_maker(), parts, path_map, parent=self)
        self._start_worker(
            worker, self._import_done, "Importing…", f"Importing {len(parts)} part(s)"
        )

    def _import_done(self, summary: Any) -> None:
        self.last_import = summary
        known = [Path(f) for f in self.settings.folders]
        for folder in summary.folders:  # so Rescan (F5) keeps the imported tracks up to date
            if not any(Path(folder) == k or k in Path(folder).parents for k in known):
                self.settings.add_folder(folder)
        for shown, reason in summary.bad_parts:
            self.log_view.add(f"part not imported: {shown}: {reason}", logging.WARNING)
        left = [
            ("changed since analysed", summary.changed),
            ("not found", summary.missing),
            ("failed", summary.failed),
        ]
        for label, rows in left:
            for shown, reason in rows[:200]:
                self.log_view.add(f"not imported ({label}): {shown}: {reason}", logging.WARNING)
        state = "cancelled" if summary.cancelled else "done"
        problems = summary.skipped + len(summary.bad_parts)
        self.message(
            f"Import {state}: {summary.imported} imported, {summary.unchanged} already there, "
            f"{summary.skipped} left for the next rescan, {len(summary.bad_parts)} part(s) refused"
            + (" — the reasons are in View ▸ Log" if problems else ""),
            error=bool(problems),
        )

    def cancel_scan(self) -> None:
        if self.scan_worker is not None:
            self.scan_worker.cancel()
            self.scan_queue.clear()
            self.scan_cancel.setEnabled(False)
            self.scan_label.setText("Cancelling…")

    def is_scanning(self) -> bool:
        return self.scan_worker is not None

    def _scan_progress(self, p: Any) -> None:
        total = int(getattr(p, "total", 0) or 0)
        done = int(getattr(p, "done", 0) or 0)
        if total > 0:
            self.scan_progress.setRange(0, total)
            self.scan_progress.setValue(min(done, total))
        rate = getattr(p, "rate", None)
        rate_text = f"{rate:.1f} tracks/s" if rate else "…"
        self.scan_label.setText(
            f"{done}/{total} · {rate_text} · ETA {_eta_text(getattr(p, 'eta', None))}"
        )
        current = getattr(p, "current", None)
        if current:
            self.scan_label.setToolTip(str(current))

    def _track_stored(self, track_id: int) -> None:
        self._pending_rows.add(track_id)

    def _flush_rows(self) -> None:
        """Fetch the rows the scan stored since the last flush and show them (with their tags)."""
        if not self._pending_rows:
            return
        ids, self._pending_rows = sorted(self._pending_rows), set()
        self._fetch_rows(ids)

    def _fetch_rows(self, ids: list[int]) -> None:
        top = PREDICTED_TOP

        def work(library):
            rows, tags = [], {}
            for track_id in ids:
                try:
                    row = library.track(track_id)
                except Exception:  # removed meanwhile
                    continue
                rows.append(row)
                try:
                    tags[track_id] = ", ".join(self._propose(library, track_id, top))
                except Exception:
                    tags[track_id] = ""
            return rows, tags

        def done(result) -> None:
            rows, tags = result
            self.track_model.upsert(rows)
            self.track_model.set_predicted(tags)
            self.proxy.refilter()
            if self.panel.track_id in ids:
                self._selection_changed(self._active_view())

        self._with_library(work, done, "reading tracks")

    def _scan_done(self, summary: Any) -> None:
        self.last_scan = summary
        failed = list(getattr(summary, "failed", []) or [])
        for path, reason in failed[:200]:
            self.log_view.add(f"{path}: {reason}", logging.WARNING)
        state = "cancelled" if getattr(summary, "cancelled", False) else "done"
        self.message(
            f"Scan {state}: {getattr(summary, 'scanned', 0)} analysed, "
            f"{getattr(summary, 'unchanged', 0)} unchanged, {len(failed)} failed, "
            f"{getattr(summary, 'gone', 0)} gone ({getattr(summary, 'seconds', 0):.0f} s)"
            + (" — the reasons are in View ▸ Log" if failed else ""),
            error=bool(failed),
        )

    def _scan_failed(self, message: str) -> None:
        self.last_scan = None
        self.error(message)

    def _scan_thread_finished(self) -> None:
        worker, self.scan_worker = self.scan_worker, None
        self._row_timer.stop()
        self._update_empty_texts()
        self._flush_rows()
        for widget in (self.scan_label, self.scan_progress, self.scan_cancel):
            widget.hide()
        if worker is not None:
            worker.deleteLater()
        if (
            self.closing
        ):  # closed meanwhile: queued folders stay in Settings, for the next Rescan (F5)
            self.scan_queue.clear()
            return
        # reload so rows of files gone meanwhile drop out and the search index sees new tracks
        self._with_library(lambda library: library.tracks(), self._reload_rows, "reading tracks")
        if self.scan_queue:
            folders, self.scan_queue = self.scan_queue, []
            self.start_scan(folders)

    def _reload_rows(self, rows: list[Any]) -> None:
        known = set(self.track_model.ids())
        self.track_model.upsert(rows)
        current = {int(r.id) for r in rows}
        self.track_model.remove_ids(known - current)
        self.proxy.refilter()
        missing = [i for i in current if not self.track_model._predicted.get(i)]
        if missing:
            self._start_predicted(missing)

    # --- search ----------------------------------------------------------------------------------
    def focus_search(self) -> None:
        self.search_edit.setFocus()
        self.search_edit.selectAll()

    def _search_text_changed(self, text: str) -> None:
        if not text.strip():
            self._search_timer.stop()
            self._search_seq += 1
            self.search_model.clear()
            self.search_info.setText("")
            self.last_search_text = ""
            self.settings.last_search = ""
            self.tabs.setCurrentIndex(LIBRARY_TAB)
            self._update_empty_texts()
            if self.loaded and not self.track_model.rowCount() and not self.settings.folders:
                self.stack.setCurrentWidget(self.welcome)  # back to "choose your music folder"
            return
        self._search_timer.start()

    def _run_search(self) -> None:
        query = self.search_edit.text().strip()
        if not query:
            return
        self._search_seq += 1
        seq = self._search_seq
        self.settings.last_search = query
        restore_tab, self._restore_tab = self._restore_tab, None

        def done(result: Any) -> None:
            if seq != self._search_seq:
                return  # the user typed on; a newer search is coming
            self.last_search = (query, result)
            self.last_search_text = query
            titles = {}
            for hit in result.hits:
                row = self.track_model.track_by_id(int(hit.track_id))
                if row is not None and row.title:
                    artist = f" — {row.artist}" if row.artist else ""
                    titles[int(hit.track_id)] = f"{row.title}{artist}"
            self.search_model.set_result(query, result.hits, result.missing_words, titles)
            info = f"{len(result.hits)} track(s) for “{query}”"
            if getattr(result, "message", None):
                info += f" · {result.message}"
            self.search_info.setText(info)
            self.search_view.set_empty_text(self._no_results_text(query, result))
            self._show_results_area(SEARCH_TAB if restore_tab is None else restore_tab)

        def failed(message: str) -> None:
            if seq == self._search_seq:
                self.search_info.setText(message)
                self.search_model.clear()
                self.search_view.set_empty_text(f"The search for “{query}” failed: {message}")
                self._show_results_area(SEARCH_TAB)
                self.error(message)

        self._with_library(
            lambda library: library.search(query, top_k=SEARCH_TOP), done, "search", failed
        )

    def _show_results_area(self, tab: int) -> None:
        """Show the tables (also from the welcome page: a search there says what it found, or that
        the library is empty) with `tab` in front."""
        if self.stack.currentWidget() is self.welcome:
            self.stack.setCurrentWidget(self.splitter)
        self.tabs.setCurrentIndex(tab)

    def _no_results_text(self, query: str, result: Any) -> str:
        """What the results area says when a search found nothing: why, and what to try."""
        if result.hits:
            return ""
        if not self.track_model.rowCount():
            return (
                "Your library is empty, so there is nothing to search yet.\n"
                "Add a music folder (File ▸ Add music folder, or drop one on this window); every track "
                "is analysed once, then search by sound or name."
            )
        lines = [f"No good match for “{query}”."]
        missing = list(getattr(result, "missing_words", []) or [])
        if missing:
            lines.append(
                f"Not a word the model knows nor in any track's text: {', '.join(missing)}."
            )
        lines.append(
            "Try other or fewer words (“calm piano”, “fast guitar”), a name (“artist:muse”), "
            "or clear the search (Esc) to see the library."
        )
        return "\n".join(lines)

    def _update_empty_texts(self) -> None:
        """The text each table shows while it has no rows: what to do next."""
        total = self.track_model.rowCount()
        words = self.filter_edit.text().strip()
        if total and words:
            library = (
                f"No track matches “{words}”.\nClear the filter (the × in the box) to see all "
                f"{total} track(s)."
            )
        elif self.scan_worker is not None:
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
    def _active_view(self) -> QTableView:
        return self.search_view if self.tabs.currentIndex() == 1 else self.table

    def selected_ids(self) -> list[int]:
        view = self._active_view()
        rows = view.selectionModel().selectedRows()
        ids = [int(index.data(TRACK_ID_ROLE)) for index in rows]
        return list(dict.fromkeys(ids))

    def _current_id(self, view: QTableView) -> int | None:
        index = view.selectionModel().currentIndex()
        selected = view.selectionModel().selectedRows()
        if index.isValid() and view.selectionModel().isRowSelected(index.row(), QModelIndex()):
            return int(index.data(TRACK_ID_ROLE))
        if selected:
            return int(selected[0].data(TRACK_ID_ROLE))
        return None

    def _selection_changed(self, view: QTableView) -> None:
        if view is not self._active_view():
            return
        track_id = self._current_id(view)
        track = None if track_id is None else self.track_model.track_by_id(track_id)
        if track is None and track_id is not None:  # a search hit whose row is not loaded yet
            self.panel.show_track(None)
            return
        self.panel.show_track(track, len(self.selected_ids()))
        self._update_play_button()
        if track is None:
            return
        self._load_prediction(track)
        if getattr(track, "has_cover", False):
            self._load_cover(track)

    def _load_prediction(self, track: Any) -> None:
        track_id = int(track.id)
        top_k = self.settings.top_k

        def work(library):
            words = self._words(library)
            prediction = library.prediction(track_id, top_k=max(top_k, 10), vocabulary=words)
            proposed = library.proposals(track_id, top_k, vocabulary=words)
            if (
                prediction is not None
            ):  # a proposal ranked by distinctiveness may lie below the top 10
                shown = {t.tag for t in [*prediction.seen, *prediction.unseen]}
                for tag in proposed:
                    if tag.tag not in shown:
                        (prediction.seen if tag.seen else prediction.unseen).append(tag)
            return prediction, [t.tag for t in proposed]

        def done(result) -> None:
            prediction, proposal = result
            accepted = self.decisions.get(track_id, proposal)
            self.panel.show_prediction(track_id, prediction, accepted)

        self._with_library(work, done, "predicting tags")

    def _load_cover(self, track: Any) -> None:
        track_id, path = int(track.id), track.path

        def work(_report):
            from app.metadata import cover_art

            return track_id, cover_art(path)

        def done(result) -> None:
            if result[0] == self.panel.track_id:
                self.panel.set_cover(result[1])

        self.io.submit(work, done, lambda m: log.info("%s", m), name="cover art")

    def _remember_decision(self, track_id: int) -> None:
        self.decisions[track_id] = self.panel.accepted_tags()

    # --- writing and undo ------------------------------------------------------------------------
    def write_options(self) -> Any:
        from app.tagformats import WriteOptions

        # Each file keeps its own ID3 version unless the user asked to convert them all.
        version = self.settings.id3_version
        return WriteOptions(
            id3_version=version if self.settings.id3_convert else None, id3_new_version=version
        )

    def write_selected(self) -> None:
        """Plan the write for the selection in a worker, then show the preview dialog."""
        ids = self.selected_ids()
        if not ids:
            self.message("Select the tracks to tag first")
            return
        if (
            self.panel.track_id is not None
            and self.panel.track_id in ids
            and self.panel.tag_items()
        ):
            self.decisions[self.panel.track_id] = self.panel.accepted_tags()
        field = self.panel.current_field()  # "" (BY_KIND): each kind to its field
        routes = self.settings.routes
        decisions = {i: list(self.decisions[i]) for i in ids if i in self.decisions}
        top_k = self.settings.top_k
        options = self.write_options()
        vocabulary_of = self._words

        def work(library):
            from app.journal import plan_routed
            from app.routing import route_tags

            proposals = {}
            for i in ids:
                prediction = library.prediction(
                    i, top_k=max(10, 2 * top_k), vocabulary=vocabulary_of(library)
                )
                if prediction is None:
                    continue
                if i in decisions:  # the user's ticks, with their kinds
                    by_word = {t.tag: t for t in [*prediction.seen, *prediction.unseen]}
                    tags = [by_word[w] for w in decisions[i] if w in by_word]
                else:
                    tags = library.proposals(i, top_k, vocabulary=vocabulary_of(library))
                proposals[i] = route_tags(tags, routes, field=field or None)
            return plan_routed(library, proposals, mode="merge", options=options)

        shown = field or ", ".join(dict.fromkeys(f for f in routes.values() if f))
        self._with_library(
            work, lambda planned: self._show_preview(planned, shown), "planning the write"
        )

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
        changes = dialog.changes()
        if not changes:
            return
        options = self.write_options()
        description = f"{len(changes)} track(s): {field}"

        def work(library):
            from app.journal import write_batch

            return write_batch(library, changes, description, options=options)

        self._with_library(
            work,
            lambda result: self._written(result, [c.track_id for c in changes]),
            "writing tags",
        )

    def _written(self, result: Any, ids: list[int]) -> None:
        self.last_write = result
        for path, reason in result.failed:
            self.log_view.add(f"{path}: {reason}", logging.WARNING)
        self.message(
            f"Wrote {result.written} file(s)"
            + (f" (batch {result.batch_id}; Ctrl+Z undoes it)" if result.batch_id else "")
            + (f", {len(result.failed)} failed (see the log)" if result.failed else ""),
            error=bool(result.failed),
        )
        for track_id in ids:
            self.decisions.pop(track_id, None)
        self._fetch_rows(ids)
        self._refresh_undo()

    def undo_last(self, batch_id: int | None = None) -> None:
        if batch_id is None and not self.undo_action.isEnabled():
            self.message("Nothing to undo: every tag write is already undone")
            return

        def work(library):
            from app.journal import undo

            result = undo(library, batch_id, options=None)
            ids = [
                int(r[0])
                for r in library.conn.execute(
                    "SELECT DISTINCT track_id FROM changes WHERE batch_id = ? AND track_id IS NOT NULL",
                    (result.batch_id,),
                ).fetchall()
            ]
            return result, ids

        self._with_library(work, self._undone, "undo")

    def _undone(self, result_ids) -> None:
        result, ids = result_ids
        self.last_undo = result
        for path, reason in result.refused:
            self.log_view.add(f"{path}: not restored: {reason}", logging.WARNING)
        for path, reason in getattr(result, "inexact", []):
            self.log_view.add(f"{path}: {reason}", logging.INFO)
        if not getattr(result, "marked_undone", True):
            self.message(
                f"Batch {result.batch_id} not undone: none of its files was found; rescan (F5), "
                "then undo again",
                error=True,
            )
        else:
            self.message(
                f"Undid batch {result.batch_id}: {result.restored} file(s) restored"
                + (f", {len(result.refused)} refused (see the log)" if result.refused else ""),
                error=bool(result.refused),
            )
        self._fetch_rows(ids)
        self._refresh_undo()
        if self.history_dialog is not None and self.history_dialog.isVisible():
            self._refresh_history()

    # --- dialogs ---------------------------------------------------------------------------------
    def open_history(self) -> None:
        if self.history_dialog is None:
            self.history_dialog = HistoryDialog(self)
            self.history_dialog.undo_requested.connect(lambda batch_id: self.undo_last(batch_id))
        self.history_dialog.show()
        self.history_dialog.raise_()
        self._refresh_history()

    def _refresh_history(self) -> None:
        def work(library):
            from app.journal import history

            return history(library, limit=200)

        self._with_library(
            work,
            lambda batches: self.history_dialog and self.history_dialog.set_batches(batches),
            "history",
        )

    def open_shortcuts(self) -> None:
        from app.gui.help import ShortcutsDialog, shortcut_rows

        dialog = ShortcutsDialog(shortcut_rows(self), self)
        self.shortcuts_dialog = dialog
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def open_about(self) -> None:
        from app.gui.help import AboutDialog

        device = (
            self.settings.device
            if self.library is None
            else getattr(self.library, "device", None) or self.settings.device
        )
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
        self.panel.set_routes(self.settings.routes)
        self.panel.set_field(self.settings.field)
        self._vocabulary_path = self.settings.vocabulary
        if changed & {"model", "vectors", "device", "precision"}:
            self._reopen_and_rescan("Model settings changed")
        elif "vocabulary" in changed or "top_k" in changed:
            self._vocabulary_path = self.settings.vocabulary
            self._vocabulary = None
            self._selection_changed(self._active_view())
        new_folders = [f for f in self.settings.folders if f not in before]
        if new_folders and not changed & {"model", "vectors", "device", "precision"}:
            self.start_scan(new_folders)
        self.message("Settings saved")

    def _reopen_and_rescan(self, reason: str) -> None:
        """A different model: its results are separate, so tracks are analysed again."""
        self.message(f"{reason}: model {self.settings.model}; analysing the library with it")
        if self.scan_worker is not None:
            self.cancel_scan()
        self.track_model.set_predicted({i: "" for i in self.track_model.ids()})
        self._open_library()
        if self.settings.folders:
            self.start_scan(self.settings.folders)

    def models_dir(self) -> Path:
        from app import db

        base = Path(self.db_path).expanduser() if self.db_path else db.default_db_path()
        return base.parent / "models"

    def open_learn(self) -> None:
        rows = [self.track_model.track(i) for i in range(self.track_model.rowCount())]
        dialog = LearnDialog(
            lambda: rows, self.models_dir(), device=self.settings.device, parent=self
        )
        self.learn_dialog = dialog
        dialog.use_model.connect(self._use_trained_model)
        dialog.open()

    def _use_trained_model(self, folder: str) -> None:
        self.settings.add_trained_model(folder)
        self.settings.model = folder
        self.settings.sync()
        self._reopen_and_rescan("Switched to the trained model")

    # --- playback --------------------------------------------------------------------------------
    def _ensure_player(self) -> bool:
        if self.player is not None:
            return True
        try:
            from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer
        except ImportError as exc:
            self.error(f"cannot play: Qt Multimedia is not available ({exc})")
            return False
        self.player = QMediaPlayer(self)
        self.audio_output = QAudioOutput(self)
        self.player.setAudioOutput(self.audio_output)
        # Queued, to methods of this window: the FFmpeg backend emits these from its own threads,
        # and a Python slot called there can outlive its callable when the window closes (a
        # segfault in PySide's signal dispatch was caught in a core dump).
        queued = Qt.ConnectionType.QueuedConnection
        self.player.errorOccurred.connect(self._player_error, queued)
        self.player.playbackStateChanged.connect(self._playback_state_changed, queued)
        return True

    def _playback_state_changed(self, _state: Any) -> None:
        self._update_play_button()

    def _track_name(self, track_id: int | None) -> str:
        track = None if track_id is None else self.track_model.track_by_id(track_id)
        return "the track" if track is None else Path(str(track.display_path)).name

    def _player_error(self, error: Any, text: str) -> None:
        """Qt could not open or decode the file: say which track and why, and forget it as the
        playing one, so that Play tries again (and reports again) instead of doing nothing."""
        from PySide6.QtMultimedia import QMediaPlayer

        if error == QMediaPlayer.Error.NoError:
            return
        reason = text or "unknown error"
        if error == QMediaPlayer.Error.FormatError:
            reason = f"Qt Multimedia cannot play this file's format ({reason})"
        self.error(f"cannot play {self._track_name(self._playing_id)}: {reason}")
        self._playing_id = None
        self._update_play_button()

    def _update_play_button(self) -> None:
        """The panel's button says Pause while the track it shows is the one playing."""
        playing = False
        if (
            self.player is not None
            and self._playing_id is not None
            and self._playing_id == self.panel.track_id
        ):
            from PySide6.QtMultimedia import QMediaPlayer

            playing = self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState
        self.panel.play_button.setText("Pause" if playing else "Play")

    def play_selected(self) -> None:
        track_id = self.panel.track_id
        track = None if track_id is None else self.track_model.track_by_id(track_id)
        if track is None:
            self.message("Select a track to play")
            return
        if not self._ensure_player():
            return
        from PySide6.QtMultimedia import QMediaPlayer

        if not audio_output_devices():  # Qt would "play" to nowhere and say nothing
            if self._playing_id is not None:
                self.stop_playback()
            self.error(f"cannot play {self._track_name(track_id)}: {NO_AUDIO_DEVICE}")
            self._update_play_button()
            return
        if self._playing_id == track_id:
            if self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState:
                self._player_call("pause")
                return
            self._player_call("play")
            return
        problem = unplayable_reason(track.path)
        if problem is not None:
            self.error(f"cannot play {self._track_name(track_id)}: {problem}")
            return
        url = QUrl.fromLocalFile(str(track.path))
        if self.player.source() == url:
            self._player_call(
                "setSource", QUrl()
            )  # the same file again (after an error): Qt reopens it only so
        self._playing_id = track_id
        self._player_call("setSource", url)
        self._player_call("play")
        self.statusBar().showMessage(f"Playing {track.title or track.display_path}", 5000)

    def stop_playback(self) -> None:
        if self.player is not None:
            self._player_call("stop")
        self._playing_id = None
        self._update_play_button()

    def _player_call(self, name: str, *args: Any) -> None:
        """Call a QMediaPlayer slot through Qt's meta-object system, which PySide runs without
        holding Python's lock. Called directly, stop()/setSource() hold it while Qt tears down the
        FFmpeg renderer thread, and that thread needs it too (to look for Python overrides in
        its clean-up): the window then hangs or crashes now and then."""
        from PySide6.QtCore import Q_ARG, QMetaObject

        QMetaObject.invokeMethod(
            self.player,
            name,
            Qt.ConnectionType.DirectConnection,
            *[Q_ARG(QUrl, arg) for arg in args],
        )

    # --- drag and drop: folders dropped anywhere on the window are added and scanned ---------
    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt name)
        """Take any drag that carries a local file or folder: what is not a folder is refused at
        the drop, with the reason (a forbidden cursor alone would not say why)."""
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:  # noqa: N802
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
        self.scan_queue.clear()
        if self.learn_dialog is not None:
            self.learn_dialog.cancel()
        if self.scan_worker is not None:
            self.scan_worker.cancel()
            self.scan_worker.wait(30000)
        self._row_timer.stop()
        self._search_timer.stop()
        if self.player is not None:  # no Python slot may run from the player's threads from now on
            for signal in (self.player.errorOccurred, self.player.playbackStateChanged):
                try:
                    signal.disconnect()
                except (RuntimeError, TypeError):
                    pass
        self.stop_playback()
        if (
            self.player is not None
        ):  # media unloaded now (its threads end), player deleted by the event loop
            self._player_call("setSource", QUrl())
            self.player.deleteLater()
            self.audio_output.deleteLater()
            self.player = self.audio_output = None
        self._predicted_generation += 1
        self.pool.wait(30000)
        self.io.wait(5000)
        if self.library is not None:
            try:
                self.library.close()
            except Exception:
                pass
            self.library = None
        self.log_view.detach()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt name)
        self.settings.save_window_state(self.saveGeometry(), self.saveState())
        self.settings.tab = self.tabs.currentIndex()
        self._field_changed("")
        self.settings.sync()
        self.shutdown()
        super().closeEvent(event)
