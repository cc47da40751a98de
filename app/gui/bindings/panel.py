"""The track panel follows the selection of the table in front (Library tracks or albums, or
Search results): it shows the current track, asks the tagging controller for its prediction
and cover, and turns the panel's Write and Play into controller calls for the selection.

A binding of views to controllers, apart from the window so the window stays assembly: rows
that come or go (a filter, a reload, new search results) bring the panel in line once Qt has
settled the selection; a result for a track the panel has left is dropped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QAbstractItemView

from app.gui.views.main_area import SEARCH_TAB
from app.gui.views.selection import current_track_id, selected_track_ids

if TYPE_CHECKING:
    from app.gui.main_window import MainWindow


class PanelBinding(QObject):
    """The active view, its selected and current track ids, and the panel kept in step."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self._check_pending = False
        for view in (window.table, window.search_view):
            view.selectionModel().selectionChanged.connect(
                lambda *_, v=view: window._selection_changed(v)
            )
            view.doubleClicked.connect(lambda *_: window.play_selected())
        window.tabs.currentChanged.connect(lambda _: self.selection_changed(self.active_view()))
        # the panel shows the selected track of the visible rows: a filter, a reload or new
        # search results that take the row away take it off the panel too
        for model in (window.proxy, window.search_proxy):
            for signal in (
                model.rowsRemoved,
                model.rowsInserted,
                model.modelReset,
                model.layoutChanged,
            ):
                signal.connect(self.rows_changed)
        panel, tagging = window.panel, window.tagging
        panel.write_requested.connect(window.write_selected)
        panel.play_requested.connect(window.play_selected)
        panel.decisions_changed.connect(lambda i: tagging.remember(i, panel.decision()))
        panel.field_changed.connect(lambda _: self.field_changed())
        tagging.prediction_ready.connect(panel.show_prediction)
        tagging.cover_ready.connect(self.cover_ready)
        window.playback.state_changed.connect(self.update_play_button)
        window.model.proposals_changed.connect(lambda: self.selection_changed(self.active_view()))

    def field_changed(self) -> None:
        """The panel's "Write into": kept as a setting, and the Predicted tags column shows
        what a write into it would add."""
        self.window.state.field_changed(self.window.panel.current_field())
        self.window.lib.refresh_column()
        # The panel keeps its ticks (now tickable into the chosen field): they are what Write
        # writes for the shown track, not the proposals a forced field would pick anew.
        panel = self.window.panel
        if panel.track_id is not None:
            self.window.tagging.remember(panel.track_id, panel.decision())

    def _albums_shown(self, view: QAbstractItemView) -> bool:
        albums = getattr(self.window, "albums", None)
        return albums is not None and view is albums.view

    def active_view(self) -> QAbstractItemView:
        w = self.window
        if w.tabs.currentIndex() == SEARCH_TAB:
            return w.search_view
        albums = getattr(w, "albums", None)
        return albums.view if albums is not None and albums.showing() else w.table

    def selected_ids(self) -> list[int]:
        view = self.active_view()
        if self._albums_shown(view):
            return self.window.albums.selected_ids()  # an album stands for its tracks
        return selected_track_ids(view)

    def current_id(self, view: QAbstractItemView) -> int | None:
        if self._albums_shown(view):
            return self.window.albums.current_id()
        return current_track_id(view)

    def selection_changed(self, view: QAbstractItemView) -> None:
        w, panel = self.window, self.window.panel
        if view is not self.active_view():
            return
        if getattr(w, "albums", None) is not None and w.albums.handles_selection(view):
            return  # an album in the panel
        track_id = self.current_id(view)
        track = None if track_id is None else w.track_model.track_by_id(track_id)
        if track is None and track_id is not None:  # a search hit whose row is not loaded yet
            panel.show_track(None)
            return
        panel.show_track(track, len(self.selected_ids()))
        self.update_play_button()
        if track is None:
            return
        w.tagging.load_prediction(int(track.id), track.path, panel.shown_fields())
        if getattr(track, "has_cover", False):
            w.tagging.load_cover(int(track.id), track.path)

    def rows_changed(self, *_args: Any) -> None:
        """Rows came or went: after Qt has settled the selection, the panel is brought in line
        with the visible selection, and the empty texts too."""
        if not self._check_pending:
            self._check_pending = True
            QTimer.singleShot(0, self._follow)

    def _follow(self) -> None:
        self._check_pending = False
        w = self.window
        if w.closing:
            return
        w.tables.update_empty_texts()
        view = self.active_view()
        current = self.current_id(view)
        if current != w.panel.track_id or len(self.selected_ids()) != w.panel.selection_size:
            self.selection_changed(view)

    def cover_ready(self, track_id: int, data: Any) -> None:
        if track_id == self.window.panel.track_id:
            self.window.panel.set_cover(data)

    def update_play_button(self) -> None:
        """The panel's button says Pause while the track it shows is the one playing."""
        panel = self.window.panel
        playing = self.window.playback.is_playing(panel.track_id)
        panel.play_button.setText("Pause" if playing else "Play")

    def play(self) -> None:
        """Play or pause the track the panel shows."""
        w = self.window
        track_id = w.panel.track_id
        w.playback.toggle_track(None if track_id is None else w.track_model.track_by_id(track_id))

    def write(self) -> None:
        """Plan the write for the selection (an album: apply to album), then the preview."""
        w, panel = self.window, self.window.panel
        if w.albums.write_requested():
            return
        decision = panel.decision() if panel.tag_items() + panel.value_items() else None
        w.tagging.plan_selection(
            self.selected_ids(),
            panel.track_id,
            decision,
            panel.current_field(),
            panel.apply_to_all_selected(),
        )
