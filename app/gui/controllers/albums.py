"""The albums controller: grouping the library into albums, each album's proposals, and the
"apply to album" write, without widgets (the album view, `app.gui.album_view`, shows them).
`lib` is the window's `LibraryController`.

Grouping 100,000 tracks takes about a second in Python, so it runs in the io queue, one
grouping at a time (rows that arrive meanwhile ask for one more). Library calls run in the
library thread; the write is planned with `app.journal.plan_album` and, once the window's
preview is accepted, written by the tagging path like any other write (one journal batch).

An album has a panel id of its own (negative, so it never equals a track's): the user's ticks
for an album are kept under it, beside the tracks' ticks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.albums import Album
from app.gui.settings import Settings

log = logging.getLogger("app.gui")

ALBUM_PREDICTED_CHUNK = 50
ALBUM_PREDICTED_TOP = 3


class AlbumsController(QObject):
    """Signals: grouped(list of Album), predicted({album key: text}), prediction_ready(album
    id, prediction, accepted tags, the file values shown: none for an album), preview_ready(planned changes, what is written),
    message(str, error).

    `lib` runs work in the library thread (`run(fn, on_done, name, on_failed)`), has the io
    queue (`io.submit`) and the vocabulary (`words(library)`); `decisions` is the tagging
    path's dict of ticks (track or album id -> tags)."""

    grouped = Signal(object)
    predicted = Signal(object)
    prediction_ready = Signal(int, object, object, object)
    preview_ready = Signal(object, str)
    message = Signal(str, bool)

    def __init__(
        self,
        lib: Any,
        decisions: Callable[[], dict[int, Any]],
        settings: Settings,
        write_options: Callable[[], Any],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.lib = lib
        self.decisions = decisions
        self.settings = settings
        self.write_options = write_options
        self._ids: dict[str, int] = {}  # album key -> its panel id
        self._grouping = False
        self._again: list[Any] | None = None
        self._predicted_seq = 0
        self.last_grouped: list[Album] | None = None
        self.last_album_write: tuple[str, list[int]] | None = None

    # --- ids -----------------------------------------------------------------------------------
    def album_id(self, album: Album) -> int:
        """The album's panel id (negative; stable for the key while the window is open)."""
        if album.key not in self._ids:
            self._ids[album.key] = -(len(self._ids) + 1)
        return self._ids[album.key]

    # --- grouping ------------------------------------------------------------------------------
    def group(self, rows: list[Any]) -> None:
        """Group these track rows into albums in the io queue; signal grouped. A call while one
        runs is kept and run after it (only the newest rows)."""
        if self._grouping:
            self._again = rows
            return
        self._grouping = True

        def work(_report):
            from app.albums import group_albums

            return group_albums(rows)

        def done(albums: list[Album]) -> None:
            self._grouping = False
            again, self._again = self._again, None
            if again is not None:
                self.group(again)
                return
            self.last_grouped = albums
            self.grouped.emit(albums)

        def failed(text: str) -> None:
            self._grouping = False
            self.message.emit(text, True)

        self.lib.io.submit(work, done, failed, name="grouping albums")

    def predict_column(self, albums: list[tuple[str, list[int]]]) -> None:
        """Each album's top proposals (key, track ids), in chunks; signal predicted per chunk.
        A new call stops the previous one."""
        self._predicted_seq += 1
        seq = self._predicted_seq
        words_of = self.lib.words

        def next_chunk(rest: list[tuple[str, list[int]]]) -> None:
            if not rest or seq != self._predicted_seq:
                return
            chunk, later = rest[:ALBUM_PREDICTED_CHUNK], rest[ALBUM_PREDICTED_CHUNK:]

            def work(library):
                out = {}
                for key, ids in chunk:
                    try:
                        tags = library.album_proposals(
                            ids, ALBUM_PREDICTED_TOP, vocabulary=words_of(library)
                        )
                        out[key] = ", ".join(t.tag for t in tags)
                    except Exception:  # one bad album must not stop the column
                        out[key] = ""
                return out

            def done(texts: dict[str, str]) -> None:
                if seq == self._predicted_seq:
                    self.predicted.emit(texts)
                    next_chunk(later)

            self.lib.run(work, done, "predicting album tags")

        next_chunk(list(albums))

    # --- the panel -----------------------------------------------------------------------------
    def load_prediction(self, album_id: int, track_ids: list[int]) -> None:
        """The album's prediction (its tracks' mean) with every proposal in it, and the ticks
        (the user's, else the proposals); signal prediction_ready."""
        ids = list(track_ids)
        top_k = self.settings.top_k
        words_of = self.lib.words

        def work(library):
            words = words_of(library)
            prediction = library.album_prediction(ids, top_k=max(top_k, 10), vocabulary=words)
            proposed = library.album_proposals(ids, top_k, vocabulary=words)
            if prediction is not None:  # a proposal ranked by distinctiveness may lie below
                shown = {t.tag for t in [*prediction.seen, *prediction.unseen]}
                for tag in proposed:
                    if tag.tag not in shown:
                        (prediction.seen if tag.seen else prediction.unseen).append(tag)
            return prediction, [t.tag for t in proposed]

        def done(result) -> None:
            prediction, proposal = result
            accepted = self.decisions().get(album_id, proposal)
            self.prediction_ready.emit(album_id, prediction, accepted, {})

        self.lib.run(work, done, "predicting album tags")

    # --- apply to album ------------------------------------------------------------------------
    def plan_write(self, album: Album, field: str) -> None:
        """Plan writing the album's ticked tags (else its proposals) into every one of its
        tracks, by kind or into `field`; signal preview_ready (the window previews, then the
        tagging path writes the accepted changes as one batch)."""
        album_id = self.album_id(album)
        decision = self.decisions().get(album_id)  # the ticked words, or a panel Decision
        ticked = getattr(decision, "ticked", decision)
        routes = self.settings.routes
        top_k = self.settings.top_k
        options = self.write_options()
        ids = list(album.track_ids)
        words_of = self.lib.words
        self.last_album_write = (album.key, ids)

        def work(library):
            from app.journal import plan_album
            from app.routing import route_tags

            words = words_of(library)
            proposed = library.album_proposals(ids, top_k, vocabulary=words)
            if ticked is None:
                tags = proposed
            else:  # the user's ticks, with their kinds
                prediction = library.album_prediction(
                    ids, top_k=max(10, 2 * top_k), vocabulary=words
                )
                pool = [] if prediction is None else [*prediction.seen, *prediction.unseen]
                by_word = {t.tag: t for t in [*pool, *proposed]}
                tags = [by_word[w] for w in ticked if w in by_word]
            values = route_tags(tags, routes, field=field or None)
            return plan_album(library, ids, values, mode="merge", options=options)

        fields = field or ", ".join(dict.fromkeys(f for f in routes.values() if f))
        shown = f"album “{album.display_title}”: {fields}"
        self.lib.run(
            work,
            lambda planned: self.preview_ready.emit(planned, shown),
            "planning the album write",
        )
