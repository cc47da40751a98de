"""Table models for the library and the search results.

Why sorting lives in the source model and filtering in a thin proxy: a QSortFilterProxyModel
that sorts calls back into Python twice per comparison, which takes seconds at 100,000 rows;
Python's own `sorted` with a key over precomputed tuples takes milliseconds. The proxy only
filters, and it asks a precomputed set of accepted rows instead of reading cell text.

Search results are few (a search shows at most a few hundred hits), so they are sorted the
ordinary way: `SearchResultsModel` keeps the hits in relevance order and answers `SORT_ROLE`
with a sortable value per cell (numbers as numbers), and `SearchResultsProxy` sorts on it;
column "#" (the relevance rank) puts them back in relevance order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QFont

from app.metadata import file_format
from app.states import TrackStatus

TRACK_ID_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2  # what a search-results column sorts by


@dataclass(frozen=True)
class Column:
    """One column of the library table and the album view: `key` is how code and the saved
    column choice name it (never its position), `title` what the header says."""

    key: str
    title: str
    tip: str
    shown: bool = True  # shown until the user chooses otherwise (View > Columns, header menu)
    numeric: bool = False  # right-aligned, sorted as a number


# The first seven keep their positions of earlier versions (a saved sort column stays right).
TRACK_COLUMNS = (
    Column("title", "Title", "The title tag (the file name when the file has none)"),
    Column("artist", "Artist", "The artist tag"),
    Column("album", "Album", "The album tag"),
    Column("duration", "Duration", "How long the track plays", numeric=True),
    Column("genre", "Genre", "What the file's genre tag holds now"),
    Column("mood", "Mood", "What the file's mood tag holds now"),
    Column(
        "predicted",
        "Predicted tags",
        "What Write adds by default: the proposed tags whose kind goes to a field (best first)",
    ),
    Column("track", "Track", "Disc and track number (2-05: disc 2, track 5)", False, True),
    Column("year", "Year", "The year of the file's date tag", numeric=True),
    Column("album_artist", "Album artist", "The album artist tag (groups albums)", False),
    Column("format", "Format", "The file's format (its extension)"),
    Column("path", "Path", "Where the file is", False),
)
COLUMNS = tuple(c.title for c in TRACK_COLUMNS)
_COLUMN_OF = {c.key: i for i, c in enumerate(TRACK_COLUMNS)}


def column_of(key: str) -> int:
    """The position of the column named `key` ("predicted", "year", ...). KeyError if unknown."""
    return _COLUMN_OF[key]


def track_number_text(disc: int | None, track: int | None) -> str:
    """'5', or '2-05' on a record of several discs; '' without a track number."""
    if track is None:
        return ""
    return f"{disc}-{track:02d}" if disc and disc > 1 else str(track)


def format_duration(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds < 0:
        return ""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _title(row: Any) -> str:
    """The title tag, or the file name when the file has none."""
    title = getattr(row, "title", None)
    if title:
        return str(title)
    display = str(getattr(row, "display_path", "") or "")
    return display.rsplit("/", 1)[-1]


class TrackTableModel(QAbstractTableModel):
    """Every track of the library (TrackRow objects), one row each, with its predicted tags."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows: list[Any] = []
        self._cells: list[tuple[str, ...]] = []  # display text per column, computed once per update
        self._index: dict[int, int] = {}  # track id -> row
        self._predicted: dict[int, str] = {}
        self._sort: tuple[int, Qt.SortOrder] | None = None

    # --- Qt interface ------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return TRACK_COLUMNS[section].tip
        return None

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid():
            return None
        row = index.row()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._cells[row][index.column()]
        if role == TRACK_ID_ROLE:
            return int(self._rows[row].id)
        if role == Qt.ItemDataRole.ToolTipRole:
            track = self._rows[row]
            where = str(track.display_path)
            if getattr(track, "status", TrackStatus.OK) == TrackStatus.FAILED:
                where += f"\n{track.error or 'could not be analysed'}"
            # the cell's whole text first: a narrow column cuts it ("Female Fronte…",
            # "techno, el…" in the Predicted tags column at 1360 pixels)
            text = self._cells[row][index.column()]
            if text and TRACK_COLUMNS[index.column()].key != "path":
                return f"{text}\n{where}"
            return where
        if role == Qt.ItemDataRole.TextAlignmentRole and TRACK_COLUMNS[index.column()].numeric:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._sort = (column, order)
        if not self._rows:
            return
        self.layoutAboutToBeChanged.emit()
        old = {int(r.id): i for i, r in enumerate(self._rows)}
        persistent = self.persistentIndexList()
        key = self._sort_key(column)
        keys = [key(i) for i in range(len(self._rows))]
        order_ = sorted(
            range(len(self._rows)),
            key=keys.__getitem__,
            reverse=order == Qt.SortOrder.DescendingOrder,
        )
        if order == Qt.SortOrder.DescendingOrder:  # empty cells last in both orders
            order_ = [i for i in order_ if not keys[i][0]] + [i for i in order_ if keys[i][0]]
        self._rows = [self._rows[i] for i in order_]
        self._cells = [self._cells[i] for i in order_]
        self._index = {int(r.id): i for i, r in enumerate(self._rows)}
        moved_from = [persistent_index.row() for persistent_index in persistent]
        old_ids = {v: k for k, v in old.items()}
        self.changePersistentIndexList(
            persistent,
            [
                self.index(self._index[old_ids[r]], p.column())
                for r, p in zip(moved_from, persistent, strict=True)
            ],
        )
        self.layoutChanged.emit()

    def _sort_key(self, column: int):
        """Row -> (cell is empty, value): empty cells (no year, no duration...) sort last."""
        key = TRACK_COLUMNS[column].key if 0 <= column < len(TRACK_COLUMNS) else ""
        if key in ("duration", "year"):
            return lambda i: (
                getattr(self._rows[i], key, None) is None,
                getattr(self._rows[i], key, None) or 0,
            )
        if key == "track":
            return lambda i: track_sort_key(self._rows[i])
        return lambda i: (self._cells[i][column] == "", self._cells[i][column].casefold())

    # --- our interface -----------------------------------------------------------------------
    def set_tracks(self, rows: Sequence[Any]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._index = {int(r.id): i for i, r in enumerate(self._rows)}
        self._cells = [self._make_cells(r) for r in self._rows]
        self.endResetModel()
        if self._sort is not None:
            self.sort(*self._sort)

    def upsert(self, rows: Iterable[Any]) -> None:
        """Add new tracks at the end and update known ones (rows appear as the scan stores them)."""
        new = []
        for track in rows:
            i = self._index.get(int(track.id))
            if i is None:
                new.append(track)
                continue
            self._rows[i] = track
            self._cells[i] = self._make_cells(track)
            self.dataChanged.emit(self.index(i, 0), self.index(i, len(COLUMNS) - 1))
        if new:
            start = len(self._rows)
            self.beginInsertRows(QModelIndex(), start, start + len(new) - 1)
            for offset, track in enumerate(new):
                self._rows.append(track)
                self._cells.append(self._make_cells(track))
                self._index[int(track.id)] = start + offset
            self.endInsertRows()

    def remove_ids(self, ids: Iterable[int]) -> None:
        drop = {int(i) for i in ids} & set(self._index)
        if not drop:
            return
        keep = [i for i, r in enumerate(self._rows) if int(r.id) not in drop]
        self.beginResetModel()
        self._rows = [self._rows[i] for i in keep]
        self._cells = [self._cells[i] for i in keep]
        self._index = {int(r.id): i for i, r in enumerate(self._rows)}
        self.endResetModel()

    def set_predicted(self, tags: dict[int, str]) -> None:
        """Fill the "Predicted tags" column (computed in the background, in chunks)."""
        column = column_of("predicted")
        rows = []
        for track_id, text in tags.items():
            self._predicted[int(track_id)] = text
            i = self._index.get(int(track_id))
            if i is not None:
                cells = list(self._cells[i])
                cells[column] = text
                self._cells[i] = tuple(cells)
                rows.append(i)
        if rows:
            self.dataChanged.emit(self.index(min(rows), column), self.index(max(rows), column))

    def track(self, row: int) -> Any:
        return self._rows[row]

    def track_by_id(self, track_id: int) -> Any | None:
        i = self._index.get(int(track_id))
        return None if i is None else self._rows[i]

    def row_of(self, track_id: int) -> int | None:
        return self._index.get(int(track_id))

    def ids(self) -> list[int]:
        return [int(r.id) for r in self._rows]

    def titles(self, ids: Iterable[int]) -> dict[int, str]:
        """ "Title — Artist" of the loaded tracks among `ids` (search hits): the title as the
        table shows it (the file name when the file has no title tag), the artist if known."""
        out = {}
        for track_id in ids:
            row = self.track_by_id(int(track_id))
            if row is not None:
                out[int(track_id)] = _title(row) + (f" — {row.artist}" if row.artist else "")
        return out

    def ids_without_predicted(self, ids: Iterable[int]) -> list[int]:
        """The tracks among `ids` whose Predicted tags column is still empty."""
        return [int(i) for i in ids if not self._predicted.get(int(i))]

    def haystacks(self) -> list[str]:
        """Lower-case text of every row, for the filter box (not the path: every track of a
        folder would match its name)."""
        path = column_of("path")
        if path == len(COLUMNS) - 1:  # the last column: one slice per row
            return [" ".join(cells[:path]).casefold() for cells in self._cells]
        return [" ".join(cells[:path] + cells[path + 1 :]).casefold() for cells in self._cells]

    def _make_cells(self, track: Any) -> tuple[str, ...]:
        title = _title(track)
        if getattr(track, "status", TrackStatus.OK) == TrackStatus.FAILED:
            title = f"{title} (not analysed)"
        return track_cells(track, title, self._predicted.get(int(track.id), ""))


def track_cells(track: Any, title: str, predicted: str) -> tuple[str, ...]:
    """The text of each `TRACK_COLUMNS` cell of one track (the album view's track rows too)."""
    year, number = track.year, track.track_no
    return (
        title,
        str(track.artist or ""),
        str(track.album or ""),
        format_duration(track.duration),
        str(track.genre or ""),
        str(track.mood or ""),
        predicted,
        "" if number is None else track_number_text(track.disc_no, number),
        "" if year is None else str(year),
        str(track.album_artist or ""),
        file_format(track.display_path),
        str(track.display_path),
    )


def track_sort_key(track: Any) -> tuple:
    """Tracks without a number last, then disc, then track number."""
    number = getattr(track, "track_no", None)
    return (number is None, getattr(track, "disc_no", None) or 0, number or 0)


class TrackFilterProxy(QSortFilterProxyModel):
    """Shows the rows whose text contains every word of the filter (case-insensitive).

    The accepted rows are computed in one list pass per filter change; sorting is forwarded
    to the source model (see the module docstring).
    """

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._words: list[str] = []
        self._accepted: set[int] | None = None
        self.setDynamicSortFilter(False)

    def set_filter_text(self, text: str) -> None:
        self._words = text.casefold().split()
        self._recompute()

    def _recompute(self) -> None:
        source = cast(TrackTableModel, self.sourceModel())
        modern = hasattr(
            self, "beginFilterChange"
        )  # Qt 6.9+; invalidateRowsFilter is deprecated there
        if modern:
            self.beginFilterChange()
        if not self._words or source is None:
            self._accepted = None
        else:
            self._accepted = {
                i for i, hay in enumerate(source.haystacks()) if all(w in hay for w in self._words)
            }
        if modern:
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.invalidateRowsFilter()

    def refilter(self) -> None:
        if self._words:
            self._recompute()

    def accepted_rows(self) -> set[int] | None:
        """The source rows the filter lets through (None: no filter, every row)."""
        return None if self._accepted is None else set(self._accepted)

    def filterAcceptsRow(
        self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex
    ) -> bool:
        return self._accepted is None or source_row in self._accepted

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        source = self.sourceModel()
        if source is not None:
            source.sort(column, order)
            if self._words:
                self._recompute()


SEARCH_COLUMNS = ("#", "Match", "Track", "How well each word matches", "Format", "Path")
RANK, MATCH, TRACK, WORDS, FORMAT, PATH = range(len(SEARCH_COLUMNS))


class SearchResultsModel(QAbstractTableModel):
    """Ranked hits of a search (Hit(track_id, display_path, score, tags, matched)), best first:
    the source row is the relevance rank. Shown sorted through `SearchResultsProxy`."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.hits: list[Any] = []
        self.query = ""
        self.missing_words: list[str] = []
        self._titles: dict[int, str] = {}
        self.weak = False  # the rows are the closest tracks of a search with no good match

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.hits)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(SEARCH_COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return SEARCH_COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return _SEARCH_TIPS[section]
        return None

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid():
            return None
        hit = self.hits[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == RANK:
                return str(index.row() + 1)
            if column == MATCH:
                return f"{float(hit.score):.0%}"
            if column == TRACK:
                return self._track_text(hit)
            if column == FORMAT:
                return file_format(hit.display_path)
            if column == PATH:
                return str(hit.display_path)
            matched = getattr(hit, "matched", None)
            if matched:
                return ", ".join(f"{term} {value:.0%}" for term, value in matched)
            return ", ".join(_tag_text(t) for t in (hit.tags or []))
        if role == SORT_ROLE:
            return self._sort_value(index.row(), hit, column)
        if role == TRACK_ID_ROLE:
            return int(hit.track_id)
        if role == Qt.ItemDataRole.ToolTipRole:
            if self.weak:
                return f"{hit.display_path}\nA weak result: below the relevance floor, not a match"
            return str(hit.display_path)
        if role == Qt.ItemDataRole.FontRole and self.weak:
            font = QFont()
            font.setItalic(True)
            return font
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (RANK, MATCH):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _track_text(self, hit: Any) -> str:
        """As the library table names the track; the file name (the Path column beside it
        holds the whole path) for a track the table has not loaded."""
        return self._titles.get(int(hit.track_id)) or _title(hit)

    def _sort_value(self, row: int, hit: Any, column: int) -> Any:
        """Numbers for the numeric columns (rank, score, the first word's score), case-folded
        text for the others: what `SearchResultsProxy` compares."""
        if column == RANK:
            return row
        if column == MATCH:
            return float(hit.score)
        if column == WORDS:
            matched = getattr(hit, "matched", None)
            if matched:
                return float(matched[0][1])
            return ", ".join(_tag_text(t) for t in (hit.tags or [])).casefold()
        if column == TRACK:
            return self._track_text(hit).casefold()
        if column == FORMAT:
            return file_format(hit.display_path)
        return str(hit.display_path).casefold()

    def set_result(
        self,
        query: str,
        hits: Sequence[Any],
        missing_words: Sequence[str],
        titles: dict[int, str] | None = None,
        weak: bool = False,
    ) -> None:
        """`weak`: the hits are the closest tracks of a search with no good match (shown in
        italics, said so on hover)."""
        self.beginResetModel()
        self.query = query
        self.weak = weak
        self.hits = list(hits)
        self.missing_words = list(missing_words)
        self._titles = dict(titles or {})
        self.endResetModel()

    def clear(self) -> None:
        self.set_result("", [], [])


_SEARCH_TIPS = (
    "Relevance rank (click to sort by relevance again)",
    "How well the track matches the whole query",
    "Title and artist (the file name when the file has no title)",
    "How well the track matches each word of the query",
    "The file's format (its extension)",
    "Where the file is",
)


class SearchResultsProxy(QSortFilterProxyModel):
    """Sorts search results by any column on `SORT_ROLE` (stable: equal values keep their
    relevance order); the source keeps the relevance order."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.setSortCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setDynamicSortFilter(True)  # a new result list is shown in the chosen order

    def hit(self, row: int) -> Any:
        """The hit shown at proxy row `row`."""
        source = cast(SearchResultsModel, self.sourceModel())
        return source.hits[self.mapToSource(self.index(row, 0)).row()]

    def shown_ids(self) -> list[int]:
        """Track ids in the order the view shows them."""
        return [int(self.index(r, 0).data(TRACK_ID_ROLE)) for r in range(self.rowCount())]


def _tag_text(tag: Any) -> str:
    """Hit tags may be plain words or (tag, score) pairs / TagScore objects."""
    if isinstance(tag, str):
        return tag
    if isinstance(tag, (tuple, list)) and tag:
        return f"{tag[0]} {float(tag[1]):.2f}" if len(tag) > 1 else str(tag[0])
    name = getattr(tag, "tag", None)
    if name is not None:
        score = getattr(tag, "score", None)
        return f"{name} {float(score):.2f}" if score is not None else str(name)
    return str(tag)
