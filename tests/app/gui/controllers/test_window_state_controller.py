"""WindowState: where the user left the window, written to Settings and read back."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QByteArray, Qt


@pytest.fixture
def state(settings):
    from app.gui.controllers import WindowState

    return WindowState(settings)


def test_the_sort_is_kept_and_a_column_gone_since_is_dropped(state, settings):
    assert state.sort(10) == (-1, Qt.SortOrder.AscendingOrder)  # the library's own order
    state.sort_changed(3, Qt.SortOrder.DescendingOrder)
    assert settings.sort == (3, 1)
    assert state.sort(10) == (3, Qt.SortOrder.DescendingOrder)
    assert state.sort(3)[0] == -1  # fewer columns now: the library's own order


def test_tab_and_field(state, settings):
    state.tab_changed(1)
    assert state.tab == settings.tab == 1
    state.field_changed("mood")
    assert settings.field == "mood"


def test_the_last_search_is_restored_once_in_its_tab(settings):
    from app.gui.controllers import WindowState

    settings.last_search = "  calm piano "
    state = WindowState(settings)
    assert state.search_to_restore(False, 0) == ""  # an empty library: nothing to search yet
    assert state.search_to_restore(True, 0) == "calm piano"
    assert state.search_to_restore(True, 0) == ""  # once
    assert state.results_tab(1) == 0  # its results go to the tab it was left in, once
    assert state.results_tab(1) == 1


def test_closing_saves_geometry_tab_and_field(state, settings, tmp_path):
    from app.gui.settings import Settings

    state.save(QByteArray(b"geometry"), QByteArray(b"docks"), 1, "grouping")
    again = Settings(tmp_path / "settings.ini")  # a restart reads what was written
    assert again.window_state() == (QByteArray(b"geometry"), QByteArray(b"docks"))
    assert again.tab == 1 and again.field == "grouping"
