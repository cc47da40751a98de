"""The tagging controller: what the track panel shows (prediction, proposals, the file's own
values, cover), the user's decision per track (`app.edits.Decision`: ticks, typed and removed
values), the write (planned per file and field by `app.edits`, previewed by the window, then
written as one journal batch) and undo.

Every library call runs in the library thread (`LibraryController.run`); cover art is read in
the io queue. A result for a track the panel has left is still emitted with its track id: the
window drops it if the panel shows another track.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from app.gui.controllers.library import LibraryController
from app.gui.settings import Settings

if TYPE_CHECKING:  # loaded with the first write
    from app.journal import BatchResult, UndoResult
    from app.tagformats import WriteOptions

log = logging.getLogger("app.gui")


class TaggingController(QObject):
    """Predictions, decisions, write and undo.

    Signals: prediction_ready(track_id, prediction, accepted tags or the Decision, the file's
    values per field), cover_ready(track_id, bytes),
    preview_ready(planned changes, field text), written(BatchResult), undone(UndoResult),
    undo_available(bool), history_ready(batches), message(str, error), log(str, level).
    """

    prediction_ready = Signal(int, object, object, object)
    cover_ready = Signal(int, object)
    preview_ready = Signal(object, str)
    written = Signal(object)
    undone = Signal(object)
    undo_available = Signal(bool)
    history_ready = Signal(object)
    message = Signal(str, bool)
    log = Signal(str, int)

    def __init__(
        self, library: LibraryController, settings: Settings, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.library = library
        self.settings = settings
        self.decisions: dict[int, Any] = {}  # track id -> the user's app.edits.Decision
        self.can_undo = False
        self.last_write: BatchResult | None = None
        self.last_undo: UndoResult | None = None

    # --- what the panel shows ------------------------------------------------------------------
    def load_prediction(
        self, track_id: int, path: Any = None, fields: list[str] | None = None
    ) -> None:
        """The track's prediction (top 10 or more, with every proposal in it), proposals, and
        the file's current values (genre, mood, grouping, comment and the custom `fields`)."""
        top_k = self.settings.top_k
        routes, field = self.settings.routes, self.settings.field or None
        words_of = self.library.words
        decision = self.decisions.get(track_id)
        extra = [
            *(fields or []),
            *([] if decision is None else [*decision.typed, *decision.removed]),
        ]
        options = self.write_options()

        def work(library):
            from app.edits import file_values

            prediction, proposed = library.listing(
                track_id, top_k, vocabulary=words_of(library), routes=routes, field=field
            )
            where = library.track(track_id).path if path is None else path
            return prediction, [t.tag for t in proposed], file_values(where, extra, options)

        def done(result) -> None:
            prediction, proposal, current = result
            accepted = self.decisions.get(track_id, proposal)
            self.prediction_ready.emit(track_id, prediction, accepted, current)

        self.library.run(work, done, "predicting tags")

    def load_cover(self, track_id: int, path: Any) -> None:
        def work(_report):
            from app.metadata import cover_art

            return track_id, cover_art(path)

        self.library.io.submit(
            work,
            lambda result: self.cover_ready.emit(*result),
            lambda m: log.info("%s", m),
            name="cover art",
        )

    def remember(self, track_id: int, decision: Any) -> None:
        """The user's decision for a track (`app.edits.Decision`, or only the ticked words):
        what a write of it uses."""
        from app.edits import Decision

        if not isinstance(decision, Decision):
            decision = Decision(ticked=list(decision))
        self.decisions[track_id] = decision

    # --- writing and undo ------------------------------------------------------------------
    def write_options(self) -> WriteOptions:
        from app.tagformats import WriteOptions

        # Each file keeps its own ID3 version unless the user asked to convert them all.
        version = self.settings.id3_version
        return WriteOptions(
            id3_version=version if self.settings.id3_convert else None, id3_new_version=version
        )

    def plan_write(self, ids: list[int], field: str, same: int | None = None) -> None:
        """Plan the write of the selected tracks into `field` ("": each kind to its routed
        field): each track's decision where the user made one, else its proposals; with
        `same`, the decision for that track in every one of `ids` (each keeps its other
        values). Signals preview_ready."""
        routes = self.settings.routes
        wanted = [*ids, *([same] if same is not None else [])]
        decisions = {i: self.decisions[i] for i in wanted if i in self.decisions}
        top_k = self.settings.top_k
        options = self.write_options()
        vocabulary_of = self.library.words

        def work(library):
            from app.edits import edit_from_values, plan_edits, same_for_all
            from app.routing import route_tags

            def edit_of(i):
                decision = decisions.get(i)
                if decision is not None:  # the user's ticks, with their kinds, and own values
                    tags = library.ticked_tags(
                        [i], decision.ticked, top_k, vocabulary=vocabulary_of(library)
                    )
                    return decision.resolve(route_tags(tags, routes, field=field or None))
                if library.analysis(i) is None:
                    return {}
                tags = library.proposals(
                    i, top_k, vocabulary=vocabulary_of(library), routes=routes, field=field or None
                )
                return edit_from_values(route_tags(tags, routes, field=field or None))

            if same is not None:
                edits = same_for_all(edit_of(same), ids)
            else:
                edits = {i: edit_of(i) for i in ids}
            return plan_edits(library, edits, options)

        shown = field or ", ".join(dict.fromkeys(f for f in routes.values() if f))
        self.library.run(
            work, lambda planned: self.preview_ready.emit(planned, shown), "planning the write"
        )

    def plan_selection(
        self,
        ids: list[int],
        shown_id: int | None,
        decision: Any,
        field: str,
        apply_to_all: bool,
    ) -> None:
        """The Write command on a selection: the panel's track (`shown_id`, its `decision`, or
        None when the panel holds nothing to decide) counts with what the user decided there;
        with `apply_to_all`, its changes go into every selected track. Signals preview_ready,
        or a message when nothing is selected."""
        if not ids:
            self.message.emit("Select the tracks to tag first", False)
            return
        shown = shown_id is not None and shown_id in ids
        if shown and shown_id is not None and decision is not None:
            self.remember(shown_id, decision)
        # "": each kind to its field; `same`: this track's changes in every selected one
        self.plan_write(ids, field, shown_id if shown and apply_to_all else None)

    def write(self, changes: list[Any], field: str, edited: list[Any] | None = None) -> None:
        """Write the changes the preview kept, as one journal batch (undo puts it back); the
        `edited` ones (typed over in the preview) are planned again with exactly those values."""
        if not changes:
            return
        options = self.write_options()
        fields = ", ".join(sorted({c.field for c in changes}))
        description = f"{len({c.track_id for c in changes})} track(s): {fields or field}"
        ids = [c.track_id for c in changes]
        again = {id(c) for c in edited or []}

        def work(library):
            from app.edits import replan_rows
            from app.journal import write_batch

            rows = [replan_rows(library, [c], options)[0] if id(c) in again else c for c in changes]
            return write_batch(library, rows, description, options=options)

        self.library.run(work, lambda result: self._written(result, ids), "writing tags")

    def _written(self, result: Any, ids: list[int]) -> None:
        self.last_write = result
        for path, reason in result.failed:
            self.log.emit(f"{path}: {reason}", logging.WARNING)
        self.message.emit(
            f"Wrote {result.written} file(s)"
            + (f" (batch {result.batch_id}; Ctrl+Z undoes it)" if result.batch_id else "")
            + (f", {len(result.failed)} failed (see the log)" if result.failed else ""),
            bool(result.failed),
        )
        for track_id in ids:
            self.decisions.pop(track_id, None)
        self.library.fetch_rows(ids)
        if result.batch_id:  # undoable at once: Ctrl+Z right after a write must not say "nothing"
            self.can_undo = True
            self.undo_available.emit(True)
        self.refresh_undo()
        self.written.emit(result)

    def undo(self, batch_id: int | None = None) -> None:
        """Put back a batch (default: the latest not undone)."""
        if batch_id is None and not self.can_undo:
            self.message.emit("Nothing to undo: every tag write is already undone", False)
            return

        def work(library):
            from app.journal import batch_track_ids, undo

            result = undo(library, batch_id, options=None)
            return result, batch_track_ids(library, result.batch_id)

        self.library.run(work, self._undone, "undo")

    def _undone(self, result_ids) -> None:
        result, ids = result_ids
        self.last_undo = result
        for path, reason in result.refused:
            self.log.emit(f"{path}: not restored: {reason}", logging.WARNING)
        for path, reason in getattr(result, "inexact", []):
            self.log.emit(f"{path}: {reason}", logging.INFO)
        if not getattr(result, "marked_undone", True):
            self.message.emit(
                f"Batch {result.batch_id} not undone: none of its files was found; rescan (F5), "
                "then undo again",
                True,
            )
        else:
            self.message.emit(
                f"Undid batch {result.batch_id}: {result.restored} file(s) restored"
                + (f", {len(result.refused)} refused (see the log)" if result.refused else ""),
                bool(result.refused),
            )
        self.library.fetch_rows(ids)
        self.refresh_undo()
        self.undone.emit(result)

    def refresh_undo(self) -> None:
        """Undo is available only while the journal holds a write that is not undone yet."""

        def done(available: bool) -> None:
            self.can_undo = bool(available)
            self.undo_available.emit(self.can_undo)

        from app.journal import can_undo

        self.library.run(
            can_undo, done, "reading the history", lambda message: log.info("%s", message)
        )

    def load_history(self, limit: int = 200) -> None:
        def work(library):
            from app.journal import history

            return history(library, limit=limit)

        self.library.run(work, self.history_ready.emit, "history")
