"""The albums controller: grouping the library into albums, each album's proposals, and the
"apply to album" write, without widgets (the album view, `app.gui.album_view`, shows them).
`lib` is the window's `LibraryController`.

Grouping 100,000 tracks takes about a second in Python, so it runs in the io queue, one
grouping at a time (rows that arrive meanwhile ask for one more). Library calls run in the
library thread; the write is planned per file and field by `app.edits` from the album's
`Decision` (ticks, typed values), as a track's is, and, once the window's preview is accepted,
written by the tagging path like any other write (one journal batch, one undo).

An album has a panel id of its own (negative, so it never equals a track's): the user's ticks
for an album are kept under it, beside the tracks' ticks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.albums import Album
from app.gui.settings import Settings

log = logging.getLogger("app.gui")

ALBUM_PREDICTED_CHUNK = 50


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
        self.proposed: dict[str, list[Any]] = {}  # album key -> its proposals (TagScores)
        self._column_albums: list[tuple[str, list[int]]] = []  # what predict_column was given
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
        """Each album's Predicted tags (key, track ids): what a write adds by default, as for
        the library's tracks (`LibraryController.column_texts`), in chunks; signal predicted
        per chunk. A new call stops the previous one."""
        self._predicted_seq += 1
        seq = self._predicted_seq
        words_of = self.lib.words
        top, routes, field = self.lib.routing()  # as many as the album panel ticks
        self._column_albums = list(albums)

        def next_chunk(rest: list[tuple[str, list[int]]]) -> None:
            if not rest or seq != self._predicted_seq:
                return
            chunk, later = rest[:ALBUM_PREDICTED_CHUNK], rest[ALBUM_PREDICTED_CHUNK:]

            def work(library):
                out: dict[str, list[Any]] = {}
                for key, ids in chunk:
                    try:
                        out[key] = list(
                            library.album_proposals(
                                ids, top, vocabulary=words_of(library), routes=routes, field=field
                            )
                        )
                    except Exception:  # one bad album must not stop the column
                        out[key] = []
                return out

            def done(proposed: dict[str, list[Any]]) -> None:
                if seq == self._predicted_seq:
                    self.proposed.update(proposed)
                    self.predicted.emit(self.lib.column_texts(proposed, keep=False))
                    next_chunk(later)

            self.lib.run(work, done, "predicting album tags")

        next_chunk(list(albums))

    def refresh_column(self) -> None:
        """The routing, the forced field or the number per field changed: every album's column
        proposed again (`predict_column`; a newly routed kind changes what each field gets)."""
        if self.proposed and self._column_albums:
            self.predict_column(self._column_albums)

    # --- the panel -----------------------------------------------------------------------------
    def load_prediction(self, album_id: int, track_ids: list[int]) -> None:
        """The album's prediction (its tracks' mean) with every proposal in it, and the ticks
        (the user's, else the proposals); signal prediction_ready."""
        ids = list(track_ids)
        top_k, routes, field = self.lib.routing()
        words_of = self.lib.words

        def work(library):
            prediction, proposed = library.album_listing(
                ids, top_k, vocabulary=words_of(library), routes=routes, field=field
            )
            return prediction, [t.tag for t in proposed]

        def done(result) -> None:
            prediction, proposal = result
            accepted = self.decisions().get(album_id, proposal)
            self.prediction_ready.emit(album_id, prediction, accepted, {})

        self.lib.run(work, done, "predicting album tags")

    # --- apply to album ------------------------------------------------------------------------
    def plan_write(
        self, albums: Album | Sequence[Album], field: str, same: Album | None = None
    ) -> None:
        """Plan writing each album's decision into every one of its tracks: the ticked
        proposals (routed by kind, or into `field`), the values typed for the album and the
        values taken out (`app.edits.Decision`), else the album's proposals when nobody looked
        at it. With `same`, that album's decision goes into every track of every album in
        `albums` ("Apply to all selected albums"); each file keeps its other values. Planned per
        file and field by `app.edits.plan_edits`, like a track's write; signals preview_ready
        (the window previews, then the tagging path writes the accepted rows as one batch)."""
        from app.edits import Decision

        chosen = [albums] if isinstance(albums, Album) else list(albums)
        if same is not None and all(a.key != same.key for a in chosen):
            chosen.insert(0, same)
        stored = self.decisions()

        def decision_of(album: Album) -> Decision | None:
            decision = stored.get(self.album_id(album))
            if decision is None or isinstance(decision, Decision):
                return decision
            return Decision(ticked=list(decision))  # only the ticked words were kept

        wanted = [(list(a.track_ids), decision_of(a)) for a in chosen]
        template = None if same is None else (list(same.track_ids), decision_of(same))
        routes = self.settings.routes
        top_k = self.settings.top_k
        options = self.write_options()
        words_of = self.lib.words
        self.last_album_write = (chosen[0].key, [t for a in chosen for t in a.track_ids])

        def work(library):
            from app.edits import edit_from_values, plan_edits, same_for_all
            from app.routing import route_tags

            words = words_of(library)

            def edit_of(ids: list[int], decision: Decision | None):
                if decision is None:
                    proposed = library.album_proposals(
                        ids, top_k, vocabulary=words, routes=routes, field=field or None
                    )
                    return edit_from_values(route_tags(proposed, routes, field=field or None))
                tags = library.ticked_tags(ids, decision.ticked, top_k, words, album=True)
                return decision.resolve(route_tags(tags, routes, field=field or None))

            edits = {}
            shared = None if template is None else edit_of(*template)
            for ids, decision in wanted:
                edits.update(
                    same_for_all(shared if shared is not None else edit_of(ids, decision), ids)
                )
            return plan_edits(library, edits, options)

        fields = field or ", ".join(dict.fromkeys(f for f in routes.values() if f))
        what = f"album “{chosen[0].display_title}”" if len(chosen) == 1 else f"{len(chosen)} albums"
        self.lib.run(
            work,
            lambda planned: self.preview_ready.emit(planned, f"{what}: {fields}"),
            "planning the album write",
        )
