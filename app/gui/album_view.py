"""The album view: the library grouped by album artist and album, albums expandable to their
tracks, beside the flat table (the Library tab's "Tracks | Albums" switch, View > Albums).

Why a second view of the same rows: taggers think in records (beets, Picard), and an album's
genres are proposed and written for the whole record (`app.albums`). The view reads the flat
table's model (`TrackTableModel`), so a scan, a write or the filter box update both; grouping
100,000 tracks takes about a second, so it runs off the GUI thread, debounced while a scan adds
rows, and only while the album view is shown.

Selecting an album shows its proposals in the tag panel (the mean of its tracks' analyses, picked
by the one rule); Write tags then becomes "Apply to album": the checked tags and the values typed
for the album go into every track of the album, planned per file by `app.edits` as a track's
write is, through the journaled write path (preview first, one batch, one undo). With several
albums selected each gets its own decision, or, with "Apply to all selected albums", the shown
album's. Selecting a track inside an album is the same as selecting it in the flat table.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QActionGroup, QFont, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QStackedWidget,
    QToolButton,
    QTreeView,
    QWidget,
)

from app.albums import Album
from app.gui.controllers.albums import AlbumsController
from app.gui.models import (
    COLUMNS,
    TRACK_COLUMNS,
    TRACK_ID_ROLE,
    TrackTableModel,
    column_of,
    format_duration,
)

log = logging.getLogger("app.gui")

ALBUM_KEY_ROLE = Qt.ItemDataRole.UserRole + 3
REGROUP_DELAY_MS = 400
APPLY_TEXT = "Apply to album"
VARIES = "varies"


def varying_text(values: Sequence[str | None]) -> str:
    """One album cell from its tracks' values: the value when they agree, "rock (2 of 3)" when
    only some tracks have it, "varies: rock, pop" when they disagree (what an album whose genres
    are inconsistent looks like)."""
    distinct = list(dict.fromkeys(v for v in values if v))
    if not distinct:
        return ""
    if len(distinct) == 1:
        having = sum(1 for v in values if v)
        return (
            distinct[0] if having == len(values) else f"{distinct[0]} ({having} of {len(values)})"
        )
    shown = ", ".join(distinct[:3]) + (", …" if len(distinct) > 3 else "")
    return f"{VARIES}: {shown}"


class AlbumTreeModel(QAbstractItemModel):
    """Albums (top level) and their tracks (children), over a `TrackTableModel`.

    Index internal ids: 0 for an album row, album row + 1 for its tracks. `regroup_needed` asks
    the owner to group the tracks again (rows came or went); `set_albums` takes the result."""

    regroup_needed = Signal()

    def __init__(self, tracks: TrackTableModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tracks = tracks
        self.albums: list[Album] = []
        self._rows: list[tuple[Album, list[int]]] = []  # shown albums and their shown track ids
        self._where: dict[int, tuple[int, int]] = {}  # track id -> (album row, child row)
        self._album_of: dict[int, str] = {}  # track id -> album key (every grouped track)
        self._cells: dict[str, tuple[str, ...]] = {}
        self.predicted: dict[str, str] = {}  # album key -> its proposals, shown in its row
        self._accepted: set[int] | None = None
        self.active = False  # the view is shown: keep up row by row (else regroup when shown)
        bold = QFont()
        bold.setBold(True)
        self._bold = bold
        tracks.modelReset.connect(self.regroup_needed)
        tracks.rowsInserted.connect(self.regroup_needed)
        tracks.rowsRemoved.connect(self.regroup_needed)
        tracks.dataChanged.connect(self._tracks_changed)

    # --- Qt interface ------------------------------------------------------------------------
    def index(
        self, row: int, column: int, parent: QModelIndex | QPersistentModelIndex = QModelIndex()
    ) -> QModelIndex:
        if column < 0 or column >= len(COLUMNS) or row < 0:
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, column, 0) if row < len(self._rows) else QModelIndex()
        if parent.internalId() == 0 and row < len(self._rows[parent.row()][1]):
            return self.createIndex(row, column, parent.row() + 1)
        return QModelIndex()

    def parent(self, index: Any = None) -> Any:
        if index is None:  # QObject.parent()
            return super().parent()
        if not index.isValid() or index.internalId() == 0:
            return QModelIndex()
        return self.createIndex(int(index.internalId()) - 1, 0, 0)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        if not parent.isValid():
            return len(self._rows)
        if parent.internalId() == 0 and parent.column() == 0:
            return len(self._rows[parent.row()][1])
        return 0

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        return self.tracks.headerData(section, orientation, role)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid():
            return None
        column = index.column()
        if index.internalId() == 0:
            album = self._rows[index.row()][0]
            if role == Qt.ItemDataRole.DisplayRole:
                return self._album_cells(album)[column]
            if role == ALBUM_KEY_ROLE:
                return album.key
            if role == Qt.ItemDataRole.FontRole:
                return self._bold
            if role == Qt.ItemDataRole.ToolTipRole:
                about = f"{album.display_title} — {album.artist}: {tracks_text(len(album))}" + (
                    "" if album.is_album else " without an album tag"
                )
                text = self._album_cells(album)[column]  # whole, where the column cuts it
                shown = text and TRACK_COLUMNS[column].key not in ("title", "path")
                return f"{text}\n{about}" if shown else about
        else:
            album, ids = self._rows[int(index.internalId()) - 1]
            track_id = ids[index.row()]
            if role == TRACK_ID_ROLE:
                return track_id
            row = self.tracks.row_of(track_id)
            if row is None:
                return None
            return self.tracks.index(row, column).data(role)
        if role == Qt.ItemDataRole.TextAlignmentRole and TRACK_COLUMNS[column].numeric:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    # --- our interface -----------------------------------------------------------------------
    def set_albums(self, albums: Sequence[Album]) -> None:
        self.beginResetModel()
        self.albums = list(albums)
        self._album_of = {t: a.key for a in self.albums for t in a.track_ids}
        self._cells.clear()
        self._layout()
        self.endResetModel()

    def set_accepted(self, track_ids: set[int] | None) -> None:
        """Show only these tracks (the filter box), and the albums that have any."""
        self.beginResetModel()
        self._accepted = track_ids
        self._layout()
        self.endResetModel()

    def album(self, key: str) -> Album | None:
        return next((a for a, _ in self._rows if a.key == key), None) or next(
            (a for a in self.albums if a.key == key), None
        )

    def album_at(self, index: QModelIndex | QPersistentModelIndex) -> Album | None:
        """The album of an album row (None for a track row)."""
        if index.isValid() and index.internalId() == 0:
            return self._rows[index.row()][0]
        return None

    def album_index(self, key: str) -> QModelIndex:
        for row, (album, _) in enumerate(self._rows):
            if album.key == key:
                return self.index(row, 0)
        return QModelIndex()

    def track_index(self, track_id: int) -> QModelIndex:
        where = self._where.get(int(track_id))
        if where is None:
            return QModelIndex()
        return self.index(where[1], 0, self.index(where[0], 0))

    def shown_ids(self, album: Album) -> list[int]:
        """The album's tracks the filter lets through, in play order."""
        for shown, ids in self._rows:
            if shown.key == album.key:
                return list(ids)
        return []

    def set_predicted(self, texts: dict[str, str]) -> None:
        self.predicted.update(texts)
        column = column_of("predicted")
        for row, (album, _) in enumerate(self._rows):
            if album.key in texts:
                index = self.index(row, column)
                self.dataChanged.emit(index, index)

    def _layout(self) -> None:
        self._rows, self._where = [], {}
        for album in self.albums:
            ids = [
                t
                for t in album.track_ids
                if (self._accepted is None or t in self._accepted)
                and self.tracks.row_of(t) is not None
            ]
            if ids:
                for child, track_id in enumerate(ids):
                    self._where[track_id] = (len(self._rows), child)
                self._rows.append((album, ids))

    def _album_cells(self, album: Album) -> tuple[str, ...]:
        cells = self._cells.get(album.key)
        if cells is None:
            rows: list[Any] = [
                r for r in (self.tracks.track_by_id(t) for t in album.track_ids) if r is not None
            ]
            values = {
                "title": album.display_title,
                "artist": album.artist,
                "album": album.title or "",
                "duration": format_duration(album.duration),
                "genre": varying_text([r.genre for r in rows]),
                "mood": varying_text([r.mood for r in rows]),
                "track": "",
                "year": "" if album.year is None else str(album.year),
                "album_artist": varying_text([r.album_artist for r in rows]),
                "format": ", ".join(album.formats),
                "path": _common_folder([str(r.display_path) for r in rows]),
            }
            cells = tuple(values.get(c.key, "") for c in TRACK_COLUMNS)
            self._cells[album.key] = cells
        predicted = self.predicted.get(album.key, "")
        column = column_of("predicted")
        return cells[:column] + (predicted,) + cells[column + 1 :]

    def _tracks_changed(self, top_left: QModelIndex, bottom_right: QModelIndex, *_: Any) -> None:
        """Rows of the flat model changed (tags re-read after a write, predicted tags): the same
        rows here and their albums' cells; a track whose album changed regroups."""
        from app.albums import album_key

        if not self.active or not self._album_of:
            if self._album_of:
                self.regroup_needed.emit()  # grouped again when the view is shown
            return
        predicted = column_of("predicted")
        tags_changed = not (top_left.column() == bottom_right.column() == predicted)
        touched: set[int] = set()
        for source_row in range(top_left.row(), bottom_right.row() + 1):
            track = self.tracks.track(source_row)
            key = self._album_of.get(int(track.id))
            if key is None:
                continue
            if tags_changed and album_key(track) != key:
                self.regroup_needed.emit()
                return
            self._cells.pop(key, None)
            where = self._where.get(int(track.id))
            if where is not None:
                parent = self.index(where[0], 0)
                self.dataChanged.emit(
                    self.index(where[1], 0, parent), self.index(where[1], len(COLUMNS) - 1, parent)
                )
                touched.add(where[0])
        for row in touched:
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))


def _common_folder(paths: Sequence[str]) -> str:
    import os

    if not paths:
        return ""
    try:
        return os.path.commonpath([os.path.dirname(p) for p in paths])
    except ValueError:
        return ""


class AlbumTree(QTreeView):
    """The album view's tree: says what to do where its rows would be, like the flat table.
    `selected_track_ids` (set by the controller) is what its selection stands for: an album's
    rows are its tracks (More like this, playlists, dragging files out)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._empty_text = ""
        self.selected_track_ids: Any = list

    def set_empty_text(self, text: str) -> None:
        if text != self._empty_text:
            self._empty_text = text
            self.viewport().update()

    def empty_text(self) -> str:
        return self._empty_text

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        model = self.model()
        if not self._empty_text or (model is not None and model.rowCount() > 0):
            return
        painter = QPainter(self.viewport())
        painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
        area = self.viewport().rect().adjusted(24, 24, -24, -24)
        flags = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap
        painter.drawText(area, int(flags), self._empty_text)
        painter.end()


def tracks_text(n: int) -> str:
    """'1 track', '12 tracks'."""
    return f"{n} track" if n == 1 else f"{n} tracks"


def album_hint(n_tracks: int) -> str:
    """The panel's hint for one album of `n_tracks` tracks."""
    source = "from its one track" if n_tracks == 1 else f"from all {n_tracks} tracks together"
    return (
        f"The album's tags, {source}: the checked ones and the values you type are written "
        "into every track of the album, so it keeps one set of genres."
    )


@dataclass
class AlbumSubject:
    """What the tag panel shows for an album: the fields it reads off a track. `id` is the
    album's own (negative) id, so the panel's per-item state never mixes it with a track's."""

    id: int
    title: str
    artist: str
    album: str
    duration: float
    genre: str
    mood: str
    display_path: str
    has_cover: bool = False
    status: str = "ok"
    error: str | None = None

    def __getattr__(self, name: str) -> Any:
        """A track field an album has no one value for (year of a track, its number...): None."""
        if name.startswith("__"):
            raise AttributeError(name)
        return None


class AlbumView(QObject):
    """Installs the album view into the window's Library tab, binds it to an `AlbumsController`
    and answers the window's hooks (`showing`, `selected_ids`, `current_id`,
    `handles_selection`, `write_requested`)."""

    def __init__(self, window: Any, controller: AlbumsController) -> None:
        super().__init__(window)
        self.window = window
        self.controller = controller
        self.model = AlbumTreeModel(window.track_model, self)
        self.view = AlbumTree()
        self.view.setObjectName("albumView")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setAlternatingRowColors(True)
        self.view.setUniformRowHeights(True)
        self.view.setAllColumnsShowFocus(True)
        self.view.setSortingEnabled(
            False
        )  # albums in artist, year, title order; tracks in play order
        self.view.setTreePosition(column_of("title"))
        header = self.view.header()
        header.setStretchLastSection(True)
        window.columns.attach(header)
        self._grouped = False
        self._regroup_timer = QTimer(self)
        self._regroup_timer.setSingleShot(True)
        self._regroup_timer.setInterval(REGROUP_DELAY_MS)
        self._regroup_timer.timeout.connect(self.regroup)
        self.model.regroup_needed.connect(self._regroup_later)

        controller = self.controller
        controller.grouped.connect(self._set_albums)
        controller.predicted.connect(self.model.set_predicted)
        window.lib.rerouted.connect(controller.refresh_column)  # the column follows the routing
        window.model.proposals_changed.connect(self._proposals_changed)
        controller.prediction_ready.connect(window.panel.show_prediction)
        controller.preview_ready.connect(window._show_preview)
        controller.message.connect(window.message)
        self._written_albums: list[tuple[int, set[int]]] = []
        window.tagging.written.connect(self._forget_written)

        self.view.selectionModel().selectionChanged.connect(
            lambda *_: window._selection_changed(self.view)
        )
        self.view.doubleClicked.connect(self._double_clicked)
        self.view.addAction(window.play_action)
        self.view.selected_track_ids = self.selected_ids
        self._write_text = window.panel.write_button.text()
        find_music = getattr(window, "find_music", None)
        if find_music is not None:
            find_music.attach(self.view)  # More like this, save as playlist, drag files out
        for signal in (self.model.modelReset, self.model.rowsInserted, self.model.rowsRemoved):
            signal.connect(window._rows_changed)
        window.filter_edit.textChanged.connect(lambda _: self._filter_changed())
        window.table.empty_text_changed.connect(self._update_empty_text)

        # the switch: two buttons beside the filter box, and View > Tracks / Albums
        self.tracks_action = QAction("&Tracks", window)
        self.tracks_action.setStatusTip("The library as one table of tracks")
        self.albums_action = QAction("&Albums", window)
        self.albums_action.setStatusTip(
            "The library grouped by album artist and album; an album's tags go to all its tracks"
        )
        group = QActionGroup(self)
        for act in (self.tracks_action, self.albums_action):
            act.setCheckable(True)
            group.addAction(act)
        self.tracks_action.triggered.connect(lambda: self.show_view("tracks"))
        self.albums_action.triggered.connect(lambda: self.show_view("albums"))
        window.view_menu.addSeparator()
        window.view_menu.addAction(self.tracks_action)
        window.view_menu.addAction(self.albums_action)

        page = window.table.parentWidget()
        layout = page.layout()
        self.stack = QStackedWidget()
        layout.replaceWidget(window.table, self.stack)
        self.stack.addWidget(window.table)
        self.stack.addWidget(self.view)
        holder = QWidget()
        bar = QHBoxLayout(holder)
        bar.setContentsMargins(0, 0, 0, 0)
        layout.replaceWidget(window.filter_edit, holder)
        bar.addWidget(window.filter_edit, 1)
        self.buttons: dict[str, QToolButton] = {}
        for name, act in (("tracks", self.tracks_action), ("albums", self.albums_action)):
            button = QToolButton()
            button.setDefaultAction(act)
            button.setAutoRaise(True)
            bar.addWidget(button)
            self.buttons[name] = button
        self.show_view(window.settings.library_view, save=False)

    # --- switching ---------------------------------------------------------------------------
    def showing(self) -> bool:
        """The album view is the Library tab's view."""
        return self.stack.currentWidget() is self.view

    def show_view(self, name: str, save: bool = True) -> None:
        albums = name == "albums"
        self.model.active = albums
        (self.albums_action if albums else self.tracks_action).setChecked(True)
        self.stack.setCurrentWidget(self.view if albums else self.window.table)
        if save:
            self.window.settings.library_view = "albums" if albums else "tracks"
        if albums and not self._grouped:
            self.regroup()
        self._update_empty_text()
        self.window._selection_changed(self.window._active_view())

    def _update_empty_text(self, *_args: object) -> None:
        """What the tree says while it has no rows: the flat table's text (an empty library, a
        filter that hides everything, a scan under way), or, while the library's tracks are
        still being grouped, that they are."""
        tracks = self.window.track_model.rowCount()
        if tracks and not self.model.albums:
            text = f"Grouping {tracks} track(s) into albums…"
        else:
            text = self.window.table.empty_text()
        self.view.set_empty_text(text)

    # --- grouping ----------------------------------------------------------------------------
    def _regroup_later(self) -> None:
        """Rows came, went or changed album: group again, at most every REGROUP_DELAY_MS (a
        scan adds rows every quarter second), and only while the album view is shown."""
        self._grouped = False
        if self.showing() and not self._regroup_timer.isActive():
            self._regroup_timer.start()

    def regroup(self) -> None:
        """Group the flat model's tracks into albums (in the background), then show them."""
        self._regroup_timer.stop()
        self._grouped = True
        tracks = self.window.track_model
        self.controller.group([tracks.track(i) for i in range(tracks.rowCount())])

    def _set_albums(self, albums: list[Album]) -> None:
        expanded = {
            self.model.data(self.model.index(r, 0), ALBUM_KEY_ROLE)
            for r in range(self.model.rowCount())
            if self.view.isExpanded(self.model.index(r, 0))
        }
        current = self.view.selectionModel().currentIndex().siblingAtColumn(0)
        current_key = self.model.data(current, ALBUM_KEY_ROLE)
        current_track = self.model.data(current, TRACK_ID_ROLE)
        selected_keys, selected_tracks = self._selection()
        self.model.set_albums(albums)
        self._filter_changed(reset=False)
        for key in expanded:
            self.view.setExpanded(self.model.album_index(key), True)
        self._restore_selection(selected_keys, selected_tracks, current_key, current_track)
        self._update_empty_text()
        self.controller.predict_column(
            [
                (a.key, list(a.track_ids))
                for a in albums
                if a.is_album and a.key not in self.model.predicted
            ]
        )

    def _proposals_changed(self) -> None:
        """A new vocabulary or number of tags: every album's Predicted tags read again."""
        self.controller.proposed.clear()
        self.controller.predict_column(
            [(a.key, list(a.track_ids)) for a in self.model.albums if a.is_album]
        )

    def _filter_changed(self, reset: bool = True) -> None:
        accepted = self.window.proxy.accepted_rows()
        tracks = self.window.track_model
        ids = None if accepted is None else {int(tracks.track(r).id) for r in accepted}
        if reset or ids is not None:
            self.model.set_accepted(ids)
        self._update_empty_text()

    def _selection(self) -> tuple[list[str], list[int]]:
        keys, tracks = [], []
        for index in self.view.selectionModel().selectedRows():
            key = self.model.data(index, ALBUM_KEY_ROLE)
            if key is not None:
                keys.append(key)
            else:
                tracks.append(int(self.model.data(index, TRACK_ID_ROLE)))
        return keys, tracks

    def _restore_selection(
        self, keys: list[str], tracks: list[int], current_key: Any, current_track: Any
    ) -> None:
        selection = self.view.selectionModel()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for index in [self.model.album_index(k) for k in keys] + [
            self.model.track_index(t) for t in tracks
        ]:
            if index.isValid():
                selection.select(index, flags)
        if current_key is not None:
            current = self.model.album_index(current_key)
        elif current_track is not None:
            current = self.model.track_index(current_track)
        else:
            current = QModelIndex()
        if current.isValid():
            selection.setCurrentIndex(current, QItemSelectionModel.SelectionFlag.NoUpdate)

    # --- the window's hooks ------------------------------------------------------------------
    def selected_ids(self) -> list[int]:
        """The selected tracks: those selected themselves and every shown track of a selected
        album, in view order."""
        ids: list[int] = []
        for index in sorted(self.view.selectionModel().selectedRows(), key=_row_path):
            album = self.model.album_at(index)
            if album is not None:
                ids += self.model.shown_ids(album)
            else:
                ids.append(int(self.model.data(index, TRACK_ID_ROLE)))
        return list(dict.fromkeys(ids))

    def current_album(self) -> Album | None:
        """The album of the current row when it is an album row (and selected)."""
        index = self._current_index()
        return None if index is None else self.model.album_at(index)

    def _current_index(self) -> QModelIndex | None:
        selection = self.view.selectionModel()
        index = selection.currentIndex().siblingAtColumn(0)
        if index.isValid() and selection.isSelected(index):
            return index
        rows = selection.selectedRows()
        return rows[0] if rows else None

    def current_id(self) -> int | None:
        """The panel id of the current row: a track's id, or the album's own negative id."""
        index = self._current_index()
        if index is None:
            return None
        album = self.model.album_at(index)
        if album is not None:
            return self.controller.album_id(album)
        return int(self.model.data(index, TRACK_ID_ROLE))

    def handles_selection(self, view: Any) -> bool:
        """Show the current album in the panel (True), or leave the track to the window
        (False; the panel's Write button is itself again)."""
        panel = self.window.panel
        album = self.current_album() if view is self.view else None
        if album is None:
            panel.write_button.setText(self._write_text)
            return False
        subject = self._subject(album)
        panel.show_track(subject, len(self.selected_ids()))
        panel.play_button.setEnabled(False)
        self._load_cover(album, subject.id)
        if album.is_album:
            panel.write_button.setText(APPLY_TEXT)
            panel.set_apply_scope(len(self.selected_albums()), "albums", self._hints(album))
            self.controller.load_prediction(subject.id, list(album.track_ids))
        else:
            panel.write_button.setText(self._write_text)
            for widget in (panel.write_button, panel.own_value, panel.add_button):
                widget.setEnabled(False)  # nothing typed here could be written anywhere
            text = (
                "Tracks without an album tag: select them to tag them one by one (they are not "
                "one record, so they get no album tags)."
            )
            panel.set_apply_scope(0, "albums", (text, text))  # nothing to apply to all
        return True

    def selected_albums(self) -> list[Album]:
        """The selected albums that are records (not an artist's singles), current first."""
        current = self.current_album()
        albums = [
            a
            for a in (self.model.album_at(i) for i in self.view.selectionModel().selectedRows())
            if a is not None and a.is_album
        ]
        if current is not None and current.is_album:
            albums.insert(0, current)
        return list({a.key: a for a in albums}.values())

    def _hints(self, album: Album) -> tuple[str, str]:
        """The panel's hint for an album, without and with "Apply to all selected albums"."""
        n = len(self.selected_albums())
        one = album_hint(len(album))
        if n <= 1:
            return one, one
        return (
            f"{n} albums selected: each album gets what you ticked for it (or the model's best "
            "suggestions for it if you did not look at it), in every one of its tracks.",
            f"{n} albums selected: every track of each gets the changes shown here, and keeps "
            "its other values.",
        )

    def _subject(self, album: Album) -> AlbumSubject:
        tracks = self.window.track_model
        rows: list[Any] = [
            r for r in (tracks.track_by_id(t) for t in album.track_ids) if r is not None
        ]
        year = f" ({album.year})" if album.year else ""
        return AlbumSubject(
            id=self.controller.album_id(album),
            title=f"{album.display_title}{year}",
            artist=album.artist,
            album=tracks_text(len(album)),
            duration=album.duration,
            genre=varying_text([r.genre for r in rows]),
            mood=varying_text([r.mood for r in rows]),
            display_path=_common_folder([str(r.display_path) for r in rows]),
        )

    def _load_cover(self, album: Album, subject_id: int) -> None:
        """The first cover among the album's tracks, read in the background."""
        rows = [self.window.track_model.track_by_id(t) for t in album.track_ids]
        path = next((r.path for r in rows if r is not None and r.has_cover), None)
        if path is None:
            return

        def work(_report):
            from app.metadata import cover_art

            return cover_art(path)

        def done(data) -> None:
            if self.window.panel.track_id == subject_id:
                self.window.panel.set_cover(data)

        self.window.io.submit(work, done, lambda m: log.info("%s", m), name="album cover")

    def write_requested(self) -> bool:
        """Write tags with an album current: plan "apply to album" and show the preview (True);
        False leaves the write to the window (tracks are current)."""
        if self.window._active_view() is not self.view:
            return False
        album = self.current_album()
        if album is None:
            return False
        if not album.is_album:
            self.window.message("Tracks without an album tag get no album tags: select tracks")
            return True
        panel = self.window.panel
        album_id = self.controller.album_id(album)
        if panel.track_id == album_id and panel.tag_items() + panel.value_items():
            self.window.tagging.remember(album_id, panel.decision())  # ticks and typed values
        albums = self.selected_albums()
        same = album if panel.apply_to_all_selected() else None
        self._written_albums = [(self.controller.album_id(a), set(a.track_ids)) for a in albums]
        self.controller.plan_write(albums, panel.current_field(), same)
        return True

    def _forget_written(self, result: Any) -> None:
        """Once an album write is done, its albums' decisions are spent (as a track's are)."""
        files = set(getattr(result, "files", ()) or ())
        for album_id, track_ids in self._written_albums:
            if files & track_ids:
                self.window.tagging.decisions.pop(album_id, None)
        self._written_albums = []

    def _double_clicked(self, index: QModelIndex) -> None:
        if self.model.album_at(index.siblingAtColumn(0)) is None:
            self.window.play_selected()

    def album_rows(self) -> list[Album]:
        """The albums shown, in view order (tests, screenshots)."""
        rows = (self.model.album_at(self.model.index(r, 0)) for r in range(self.model.rowCount()))
        return [a for a in rows if a is not None]

    def select_album(self, key: str) -> bool:
        index = self.model.album_index(key)
        if not index.isValid():
            return False
        flags = (
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows
        )
        self.view.selectionModel().setCurrentIndex(index, flags)
        return True


def _row_path(index: QModelIndex) -> tuple[int, int]:
    parent = index.parent()
    return (parent.row(), index.row()) if parent.isValid() else (index.row(), -1)


def install(window: Any, controller: AlbumsController) -> AlbumView:
    """The album view, its switch and hooks, in `window` (a MainWindow), shown from
    `controller` (grouping, album proposals, the album write)."""
    return AlbumView(window, controller)


__all__ = ["ALBUM_KEY_ROLE", "AlbumTreeModel", "AlbumView", "install", "varying_text"]
