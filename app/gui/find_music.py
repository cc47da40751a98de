"""Finding music in the window: "More like this", duplicates, playlists, export, dragging rows out.

One object (`FindMusic`) installed on the main window by `install(window)`; it adds

* a context menu on the library and search tables: More like this (results in the search tab),
  Save selection as playlist…;
* File > Save search results as playlist…, Save selection as playlist…, Export tags (CSV/JSON)…;
* View > Duplicates…: a dialog listing each group of copies of one recording (select them in the
  library; nothing is ever deleted);
* dragging selected rows out of either table as file URLs (text/uri-list), so a player, a file
  manager or a playlist editor takes the files.

Everything that reads the index runs in the library thread (`window.lib.run`); files are
written there too. Dialog-free methods (`more_like_this`, `save_playlist`, `export`,
`load_duplicates`) are what the menus call after asking, and what the tests drive.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from PySide6.QtCore import QEvent, QMimeData, QObject, QPoint, Qt, QUrl
from PySide6.QtGui import QAction, QDrag, QMouseEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QMenu,
    QTableView,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
)

from app.gui.models import TRACK_ID_ROLE

SIMILAR_TOP = 50
PLAYLIST_FILTERS = "M3U8 playlist (*.m3u8);;XSPF playlist (*.xspf)"


class DuplicatesDialog(QDialog):
    """Groups of copies of one recording; "Select in library" selects a group's tracks."""

    def __init__(self, find: FindMusic) -> None:
        super().__init__(find.window)
        self.setWindowTitle("Duplicates")
        self.find_music = find  # not `find`: QWidget.find is Qt's
        self.groups: list[Any] = []
        self.info = QLabel("Looking for duplicates…")
        self.info.setWordWrap(True)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Track", "Duration"])
        self.tree.setColumnWidth(0, 560)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.select_button = buttons.addButton(
            "Select in library", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.select_button.clicked.connect(self.select_in_library)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.info)
        layout.addWidget(self.tree)
        layout.addWidget(buttons)
        self.resize(760, 460)

    def set_groups(self, groups: Sequence[Any]) -> None:
        self.groups = list(groups)
        self.tree.clear()
        for number, group in enumerate(self.groups, 1):
            how = (
                "identical audio"
                if group.identical
                else f"same recording ({group.similarity:.1%} alike)"
            )
            top = QTreeWidgetItem([f"Group {number}: {len(group.track_ids)} copies, {how}", ""])
            top.setData(0, TRACK_ID_ROLE, list(group.track_ids))
            for track_id, path, duration in zip(
                group.track_ids, group.paths, group.durations, strict=True
            ):
                child = QTreeWidgetItem([path, "" if duration is None else f"{duration:.1f} s"])
                child.setData(0, TRACK_ID_ROLE, [int(track_id)])
                child.setToolTip(0, path)
                top.addChild(child)
            self.tree.addTopLevelItem(top)
            top.setExpanded(True)
        n = sum(len(g.track_ids) for g in self.groups)
        self.info.setText(
            f"{len(self.groups)} group(s), {n} tracks stored more than once. Nothing is deleted "
            "here: select a group in the library to look at it, tag or remove files yourself."
            if self.groups
            else "No duplicates: every track is stored once."
        )

    def select_in_library(self) -> None:
        """Selects the current group's tracks (a child row stands for its group) in the library."""
        item = self.tree.currentItem()
        if item is None and self.tree.topLevelItemCount():
            item = self.tree.topLevelItem(0)
        if item is None:
            return
        parent = item.parent()
        if parent is not None:
            item = parent
        self.find_music.select_in_library([int(i) for i in item.data(0, TRACK_ID_ROLE)])


class _DragRowsOut(QObject):
    """Starts a drag of the selected rows' files (as URLs) from a table's viewport."""

    def __init__(self, find: FindMusic, view: QAbstractItemView) -> None:
        super().__init__(view)
        self.find = find
        self.view = view
        self.press: QPoint | None = None

    def eventFilter(self, obj: QObject, qevent: QEvent) -> bool:
        kind = qevent.type()
        event = cast(QMouseEvent, qevent)  # only mouse events are looked into below
        if kind == QEvent.Type.MouseButtonPress and event.button() == Qt.MouseButton.LeftButton:
            index = self.view.indexAt(event.position().toPoint())
            selected = index.isValid() and self.view.selectionModel().isRowSelected(
                index.row(), index.parent()
            )
            self.press = event.position().toPoint() if selected and not event.modifiers() else None
        elif (
            kind == QEvent.Type.MouseMove
            and self.press is not None
            and event.buttons() & Qt.MouseButton.LeftButton
        ):
            if (
                event.position().toPoint() - self.press
            ).manhattanLength() >= QApplication.startDragDistance():
                self.press = None
                mime = self.find.mime_for(self.find.view_ids(self.view))
                if mime is not None:
                    drag = QDrag(self.view)
                    drag.setMimeData(mime)
                    drag.exec(Qt.DropAction.CopyAction)
                    return True
        elif kind == QEvent.Type.MouseButtonRelease:
            self.press = None
        return False


class FindMusic(QObject):
    """The finding-music entry points of one main window (see the module doc)."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self._drags: list[_DragRowsOut] = []
        self.duplicates_dialog: DuplicatesDialog | None = None
        self.last_similar: tuple[list[int], list[Any]] | None = None
        self.last_saved: tuple[str, int] | None = None
        self.last_export: tuple[str, int] | None = None
        self._build()

    # --- wiring --------------------------------------------------------------------------------
    def _build(self) -> None:
        w = self.window
        self.similar_action = QAction("More like this", w)
        self.similar_action.setStatusTip("Tracks that sound like the selected ones")
        self.similar_action.triggered.connect(lambda *_: self.more_like_this())
        self.save_selection_action = QAction("Save selection as playlist…", w)
        self.save_selection_action.triggered.connect(
            lambda *_: self.ask_save_playlist(self.selected_ids())
        )
        self.save_results_action = QAction("Save search results as playlist…", w)
        self.save_results_action.triggered.connect(
            lambda *_: self.ask_save_playlist(self.result_ids())
        )
        self.export_action = QAction("Export tags (CSV/JSON)…", w)
        self.export_action.setStatusTip(
            "Every track with its current and proposed tags, for other tools"
        )
        self.export_action.triggered.connect(lambda *_: self.ask_export())
        self.duplicates_action = QAction("&Duplicates…", w)
        self.duplicates_action.setStatusTip(
            "Tracks stored more than once (lists them; deletes nothing)"
        )
        self.duplicates_action.triggered.connect(lambda *_: self.open_duplicates())

        file_menu = next(
            (a.menu() for a in w.menuBar().actions() if a.text().replace("&", "") == "File"), None
        )
        if file_menu is not None:
            before = getattr(w, "quit_action", None)
            for act in (self.save_results_action, self.save_selection_action, self.export_action):
                file_menu.insertAction(before, act) if before is not None else file_menu.addAction(
                    act
                )
            if before is not None:
                file_menu.insertSeparator(before)
        w.view_menu.addAction(self.duplicates_action)

        for view in (w.table, w.search_view):
            self.attach(view)

    def attach(self, view: QAbstractItemView) -> None:
        """The context menu and dragging out for one more view of tracks (the album view: its
        `selected_track_ids()` says which tracks its selected rows stand for)."""
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        view.customContextMenuRequested.connect(lambda pos, v=view: self._context_menu(v, pos))
        view.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        drag = _DragRowsOut(self, view)
        view.viewport().installEventFilter(drag)
        self._drags.append(drag)  # kept alive with the window (Qt parents it to the view too)

    def context_menu(self, view: QTableView) -> QMenu:
        """The menu a right click on `view` opens (built fresh: it depends on the selection)."""
        menu = QMenu(view)
        has_rows = bool(self.view_ids(view))
        for act in (self.similar_action, self.save_selection_action):
            act.setEnabled(has_rows)
            menu.addAction(act)
        play = getattr(self.window, "play_action", None)
        if play is not None:
            menu.addSeparator()
            menu.addAction(play)
        return menu

    def _context_menu(self, view: QTableView, pos: QPoint) -> None:
        self.context_menu(view).popup(view.viewport().mapToGlobal(pos))

    # --- which tracks ------------------------------------------------------------------------------
    def view_ids(self, view: QAbstractItemView) -> list[int]:
        ids_of = getattr(view, "selected_track_ids", None)
        if ids_of is not None:
            return list(ids_of())
        rows = view.selectionModel().selectedRows()
        return list(dict.fromkeys(int(index.data(TRACK_ID_ROLE)) for index in rows))

    def selected_ids(self) -> list[int]:
        return self.window.selected_ids()

    def result_ids(self) -> list[int]:
        """The search results in the order the table shows them (relevance, or the column the
        user sorted by): a saved playlist plays in that order."""
        proxy = getattr(self.window, "search_proxy", None)
        if proxy is not None:
            return proxy.shown_ids()
        return [int(h.track_id) for h in self.window.search_model.hits]

    def paths_for(self, ids: Sequence[int]) -> list[Path]:
        paths = []
        for track_id in ids:
            row = self.window.track_model.track_by_id(int(track_id))
            if row is not None:
                paths.append(Path(row.path))
        return paths

    def mime_for(self, ids: Sequence[int]) -> QMimeData | None:
        """text/uri-list (file URLs) and plain text (the paths) for dragging tracks out."""
        paths = self.paths_for(ids)
        if not paths:
            return None
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
        mime.setText("\n".join(str(p) for p in paths))
        return mime

    def select_in_library(self, ids: Sequence[int]) -> None:
        w = self.window
        w.tabs.setCurrentIndex(0)
        selection = w.table.selectionModel()
        selection.clearSelection()
        from PySide6.QtCore import QItemSelectionModel

        first = None
        for track_id in ids:
            row = w.track_model.row_of(int(track_id))
            if row is None:
                continue
            index = w.proxy.mapFromSource(w.track_model.index(row, 0))
            if not index.isValid():
                continue
            selection.select(
                index,
                QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
            )
            first = first or index
        if first is not None:
            w.table.scrollTo(first)

    # --- more like this ------------------------------------------------------------------------------
    def more_like_this(self, ids: Sequence[int] | None = None) -> None:
        """Ranks the library by similarity to `ids` (default: the selection) into the search tab."""
        w = self.window
        ids = list(ids if ids is not None else self.selected_ids())
        if not ids:
            w.message("Select one or more tracks first")
            return
        seq = w.search.begin()  # a search typed before this one must not overwrite it
        names = self._names(ids)

        def done(hits: list[Any]) -> None:
            if not w.search.is_current(seq):
                return
            self.last_similar = (ids, hits)
            label = f"like {names}"
            w.search_model.set_result(label, hits, [], self._titles(hits))
            w.search_info.setText(
                f"{len(hits)} track(s) that sound like {names} (similarity of the sound; "
                "its copies left out)"
            )
            w.tabs.setCurrentIndex(1)

        def failed(message: str) -> None:
            if w.search.is_current(seq):
                w.search_info.setText(message)
            w.message(message, error=True)

        w.lib.run(
            lambda library: library.similar(ids, top_k=SIMILAR_TOP), done, "more like this", failed
        )

    def _names(self, ids: Sequence[int]) -> str:
        if len(ids) > 1:
            return f"{len(ids)} tracks"
        row = self.window.track_model.track_by_id(int(ids[0]))
        if row is None:
            return "the selected track"
        title = row.title or Path(row.path).name
        return f"“{title}”" + (f" ({row.artist})" if row.artist else "")

    def _titles(self, hits: Sequence[Any]) -> dict[int, str]:
        return self.window.track_model.titles([int(hit.track_id) for hit in hits])

    # --- playlists and export ---------------------------------------------------------------------------
    def ask_save_playlist(self, ids: Sequence[int]) -> None:
        if not ids:
            self.window.message("Nothing to save: no tracks selected or found")
            return
        path, chosen = QFileDialog.getSaveFileName(
            self.window, "Save as playlist", "playlist.m3u8", PLAYLIST_FILTERS
        )
        if path:
            if "xspf" in chosen and not path.lower().endswith(".xspf"):
                path += ".xspf"
            elif "m3u8" in chosen and not path.lower().endswith((".m3u8", ".m3u", ".xspf")):
                path += ".m3u8"
            self.save_playlist(ids, path)

    def save_playlist(self, ids: Sequence[int], path: str | Path, relative: bool = False) -> None:
        """Writes the tracks (in this order) as M3U8, or XSPF for a .xspf name, in the library thread."""
        ids = [int(i) for i in ids]
        target = str(path)

        def work(library: Any) -> int:
            from app import playlists

            entries = playlists.entries_for(library, ids)
            return playlists.write_playlist(
                target, entries, relative=relative, title=Path(target).stem
            )

        def done(count: int) -> None:
            self.last_saved = (target, count)
            self.window.message(f"Saved {count} tracks to {target}")

        self.window.lib.run(
            work,
            done,
            "save playlist",
            lambda m: self.window.message(f"Could not save the playlist: {m}", error=True),
        )

    def ask_export(self) -> None:
        path, chosen = QFileDialog.getSaveFileName(
            self.window, "Export tags", "zsl-tagger-tags.csv", "CSV (*.csv);;JSON (*.json)"
        )
        if path:
            if not path.lower().endswith((".csv", ".json")):
                path += ".json" if "JSON" in chosen else ".csv"
            self.export(path)

    def export(self, path: str | Path) -> None:
        target = str(path)

        def work(library: Any) -> int:
            from app import export

            return export.write_export(library, target)

        def done(count: int) -> None:
            self.last_export = (target, count)
            self.window.message(f"Exported {count} tracks to {target}")

        self.window.lib.run(
            work,
            done,
            "export",
            lambda m: self.window.message(f"Could not export: {m}", error=True),
        )

    # --- duplicates ----------------------------------------------------------------------------------
    def open_duplicates(self) -> DuplicatesDialog:
        if self.duplicates_dialog is None:
            self.duplicates_dialog = DuplicatesDialog(self)
        self.duplicates_dialog.show()
        self.duplicates_dialog.raise_()
        self.load_duplicates()
        return self.duplicates_dialog

    def load_duplicates(self) -> None:
        dialog = self.duplicates_dialog

        def done(groups: list[Any]) -> None:
            if dialog is not None:
                dialog.set_groups(groups)

        self.window.lib.run(
            lambda library: library.duplicates(),
            done,
            "duplicates",
            lambda m: self.window.message(m, error=True),
        )


def install(window: Any) -> FindMusic:
    """Adds the finding-music menus, context menus and row dragging to a MainWindow."""
    return FindMusic(window)
