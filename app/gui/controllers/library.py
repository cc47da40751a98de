"""The library controller: the one shared Library, the thread every call on it runs in, and the
rows the table shows (opened, refreshed, their "Predicted tags" column).

Why one thread: a SQLite connection must not be used by two threads at once, so every call on
the shared Library is queued on `pool` (one worker thread). File reads that need no library
(cover art, removing stale copies) go to `io`. Results come back as signals on the GUI thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from app.gui.settings import Settings
from app.gui.workers import JobQueue, LibraryPool

if TYPE_CHECKING:
    from app.routing import Routes
    from zsl_core.tags import TagScore, Vocabulary

log = logging.getLogger("app.gui")

PREDICTED_CHUNK = 200


def library_empty_text(total: int, filter_words: str, scanning: bool, loaded: bool) -> str:
    """What the library table says while it shows no rows: why, and what to do next."""
    if total and filter_words:
        return (
            f"No track matches “{filter_words}”.\nClear the filter (the × in the box) to see all "
            f"{total} track(s)."
        )
    if scanning:
        return "Analysing your music… tracks appear here as they are done."
    if not loaded:
        return "Opening the library…"
    return (
        "No tracks yet.\nAdd a music folder (File ▸ Add music folder, Ctrl+O) or drop one on "
        "this window."
    )


class LibraryController(QObject):
    """Opens the Library (again after a model change), runs calls on it, reads rows for the table.

    Signals: opened(rows, folders), open_failed(str), rows_fetched(rows, tags, ids) (rows read
    again after a scan or a write, with their predicted tags), rows_reloaded(rows) (every row,
    after a scan), predicted({id: "Tag, Tag"}) (a chunk of the Predicted tags column: what a
    write adds by default, `column_text`),
    rerouted() (the routing or forced field changed: other Predicted tags columns follow),
    stale_copies_removed(paths), message(str, error).
    """

    opened = Signal(object, object)
    open_failed = Signal(str)
    rows_fetched = Signal(object, object, object)
    rows_reloaded = Signal(object)
    predicted = Signal(object)
    rerouted = Signal()
    stale_copies_removed = Signal(object)
    message = Signal(str, bool)

    def __init__(
        self,
        settings: Settings,
        db_path: str | Path | None = None,
        library_factory: Callable[[], Any] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.db_path = db_path
        self._factory = library_factory
        self.library: Any = None
        self.pool = LibraryPool(self)
        self.io = JobQueue(self)  # file reads that need no library (cover art)
        self.loaded = False
        self.last_cleanup: list[Any] | None = None
        self.generation = 0  # bumped to stop filling the Predicted tags column
        self._vocabulary: Vocabulary | None = None
        # each row's proposals with their kinds (the column shows them as written); proposed
        # anew when the routing, the forced field or the number per field changes (`refresh_column`)
        self.proposed: dict[int, list[TagScore]] = {}
        self.pending: list[int] = []  # rows the column chain in flight has not reached yet
        # tracks analysed by other models while this one has analysed none ({model key: tracks}):
        # a library scanned before an upgrade of the built-in model (see `rescan_hint`)
        self.older_models: dict[str, int] = {}
        self.vocabulary_path = settings.vocabulary  # read here: QSettings stays on this thread

    # --- making and opening ------------------------------------------------------------------
    def maker(self) -> Callable[[], Any]:
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

    def open(self) -> None:
        """(Re)open the shared Library in the pool thread, then read every track and folder."""
        self.generation += 1
        old = self.library
        self._vocabulary = None
        self.proposed = {}  # another model's
        make_library = self.maker()

        def work(_report):
            if old is not None:
                old.close()
            library = make_library()
            older = library.other_models() if library.model_id() is None else {}
            return library, library.tracks(), library.folders(), older

        self.pool.submit(work, self._opened, self._open_failed, name="opening the library")

    def _opened(self, result: tuple[Any, list[Any], list[Any], dict[str, int]]) -> None:
        self.library, rows, folders, self.older_models = result
        self.loaded = True
        self.remove_stale_copies(folders)
        self.opened.emit(rows, folders)

    def _open_failed(self, message: str) -> None:
        self.loaded = True
        self.open_failed.emit(message)

    def run(
        self,
        fn: Callable[[Any], Any],
        on_done: Callable[[Any], None],
        name: str,
        on_failed: Callable[[str], None] | None = None,
    ) -> None:
        """Run fn(library) in the library thread (after it is open); on_done(result) and
        on_failed(one-line message, default: an error message) on the GUI thread."""

        def work(_report):
            if self.library is None:
                raise RuntimeError("the library is not open")
            return fn(self.library)

        self.pool.submit(work, on_done, on_failed or self._error, name=name)

    def _error(self, text: str) -> None:
        self.message.emit(text, True)

    def remove_stale_copies(self, folders: list[Any]) -> None:
        """Copies an interrupted tag write left in the music folders (full hidden copies of
        tracks) are removed in the background when the library opens."""

        def work(_report):
            from app.tagwriter import cleanup_temp_files

            return cleanup_temp_files(folders, recursive=True)

        def done(removed: list[Any]) -> None:
            self.last_cleanup = removed
            self.stale_copies_removed.emit(removed)

        self.io.submit(work, done, lambda m: log.info("%s", m), name="removing stale copies")

    # --- what the settings choose ------------------------------------------------------------
    def model_name(self) -> str:
        """The key the library stores results under with the current settings (what a part
        must match)."""
        if self.library is not None and getattr(self.library, "model_name", None):
            return str(self.library.model_name)
        from zsl_core.model_spec import ModelSpec

        s = self.settings
        return ModelSpec(s.model, s.vectors or None, s.device, s.precision).resolved().key

    def db_file(self) -> Path:
        """The library's index file (the default place unless the window was given one)."""
        from app import db

        return Path(self.db_path).expanduser() if self.db_path else db.default_db_path()

    def models_dir(self) -> Path:
        """Where trained models are kept: beside the library's index."""
        return self.db_file().parent / "models"

    def device_name(self) -> str:
        """The device the open library's model runs on (else the one Settings asks for)."""
        return str(getattr(self.library, "device", None) or self.settings.device)

    def set_vocabulary(self, path: str) -> None:
        """A new vocabulary file from Settings: loaded again on the next proposal."""
        if path != self.vocabulary_path:
            self._vocabulary = None
        self.vocabulary_path = path

    def forget_vocabulary(self) -> None:
        self._vocabulary = None

    def words(self, library: Any) -> Vocabulary | None:
        """The candidate unseen words with their kinds: the Settings vocabulary file (its
        `# kind: mood` lines and file name say each word's kind, as for the shipped vocabulary),
        else the library's own (None). Loaded once, on the library thread. A Vocabulary, not
        its plain list of words: a plain list would make every word of the file kind "other",
        so the panel would list no moods or instruments and a mood ticked would go to no
        field."""
        path = self.vocabulary_path
        if not path:
            return None
        if self._vocabulary is None:
            from zsl_core.tags import load_vocabulary

            self._vocabulary = load_vocabulary(path)
        return self._vocabulary

    def routing(self) -> tuple[int, Routes, str | None]:
        """(values per field, routes, forced field) from Settings: read on the GUI thread and
        handed to `propose` on the library thread."""
        return self.settings.top_k, self.settings.routes, self.settings.field or None

    def propose(
        self, library: Any, track_id: int, top_k: int, routes: Routes, field: str | None
    ) -> list[TagScore]:
        """The tags proposed for a track (library thread), by the one picking rule
        (`app.routing.pick_routed`: `top_k` per field), over the vocabulary chosen in Settings:
        what the panel ticks and a write of the track plans when the user decided nothing."""
        return list(
            library.proposals(
                track_id, top_k, vocabulary=self.words(library), routes=routes, field=field
            )
        )

    # --- rows for the table ------------------------------------------------------------------
    def column_texts(
        self, proposed: dict[Any, list[TagScore]], keep: bool = True
    ) -> dict[Any, str]:
        """The "Predicted tags" column of these rows (GUI thread: reads Settings): the values a
        write would add with the current routing or forced field (`app.routing.written_values`),
        as the panel ticks them; an instrument goes to no field by default, so it is not listed
        ("strings, violin" read as tags Write would write). `keep`: remember them as tracks'
        proposals (`refresh_column`)."""
        from app.routing import written_values

        routes, field = self.settings.routes, self.settings.field or None
        if keep:
            self.proposed.update(proposed)
        return {i: ", ".join(written_values(t, routes, field)) for i, t in proposed.items()}

    def refresh_column(self) -> None:
        """The routing, the forced field or the number per field changed: the column of every
        row shown again, proposed anew (each field has its own budget, so a newly routed kind
        changes what is picked; signals `predicted`), then `rerouted` for the album view's."""
        if self.proposed:
            self.stop_predicting()  # a column still being filled with the old routing stops...
            self.predict_column(list(dict.fromkeys([*self.proposed, *self.pending])))  # ...here
        self.rerouted.emit()

    def has_proposals(self, track_id: int) -> bool:
        """Whether the column was filled for this track from proposals (even when none of them
        is written, so that its cell is empty)."""
        return bool(self.proposed.get(int(track_id)))

    def predict_column(self, ids: list[int]) -> None:
        """Fill the "Predicted tags" column in chunks (signal `predicted`), so searches slip in
        between them; `stop_predicting()` ends it after the chunk in flight."""
        generation = self.generation
        top, routes, field = self.routing()  # as many as the panel ticks and Write plans

        def next_chunk(rest: list[int]) -> None:
            if not rest or generation != self.generation:
                return
            chunk, later = rest[:PREDICTED_CHUNK], rest[PREDICTED_CHUNK:]
            self.pending = later

            def work(library):
                out: dict[int, list[TagScore]] = {}
                for track_id in chunk:
                    try:
                        out[track_id] = self.propose(library, track_id, top, routes, field)
                    except Exception:  # one bad row must not stop the column
                        out[track_id] = []
                return out

            def done(proposed: dict[int, list[TagScore]]) -> None:
                if generation == self.generation:
                    self.predicted.emit(self.column_texts(proposed))
                    next_chunk(later)

            self.run(work, done, "predicting tags")

        next_chunk(list(ids))

    def stop_predicting(self) -> None:
        self.generation += 1

    def fetch_rows(self, ids: list[int]) -> None:
        """Read these tracks again with their predicted tags (signal `rows_fetched`)."""
        top, routes, field = self.routing()

        def work(library):
            rows, tags = [], {}
            for track_id in ids:
                try:
                    row = library.track(track_id)
                except Exception:  # removed meanwhile
                    continue
                rows.append(row)
                try:
                    tags[track_id] = self.propose(library, track_id, top, routes, field)
                except Exception:
                    tags[track_id] = []
            return rows, tags

        def done(result: tuple[list[Any], dict[int, list[TagScore]]]) -> None:
            rows, proposed = result
            self.rows_fetched.emit(rows, self.column_texts(proposed), ids)

        self.run(work, done, "reading tracks")

    def reload(self) -> None:
        """Read every row again (signal `rows_reloaded`): rows of files gone meanwhile drop out
        and new tracks come in."""
        self.run(lambda library: library.tracks(), self.rows_reloaded.emit, "reading tracks")

    def shutdown(self) -> None:
        """Stop the column, finish queued calls, close the library (idempotent)."""
        self.generation += 1
        self.pool.wait(30000)
        self.io.wait(5000)
        if self.library is not None:
            try:
                self.library.close()
            except Exception:
                pass
            self.library = None
