"""The library's columns through the real window: track number, year, album artist, format and
path from the files' tags, and the column chooser (header right-click menu, View > Columns),
whose choice survives a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from libfixtures import tag_file, write_track
from PySide6.QtCore import QPoint, Qt

from app.gui.columns import DISPLAY_ORDER, default_columns
from app.gui.models import TRACK_COLUMNS, column_of
from app.gui.settings import Settings

SCAN_TIMEOUT_MS = 90_000


def open_window(qtbot, settings_path: Path, db_path: Path):
    from app.gui.main_window import MainWindow

    win = MainWindow(Settings(settings_path), db_path=db_path)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.loaded, timeout=30_000)
    return win


def shown_titles(header) -> list[str]:
    """The visible column titles, left to right."""
    model = header.model()
    out = []
    for visual in range(header.count()):
        logical = header.logicalIndex(visual)
        if not header.isSectionHidden(logical):
            out.append(model.headerData(logical, header.orientation()))
    return out


def test_columns_from_tags_and_the_chooser_survives_a_restart(window, qtbot, tmp_path):
    folder = tmp_path / "music"
    folder.mkdir()
    write_track(folder / "a.flac", 3.0, kind="tone")
    tag_file(
        folder / "a.flac",
        title="Opening",
        artist="Ana",
        album="Rec",
        album_artist="Ana & Bo",
        track="2/9",
        disc="1/2",
        date="1997-03-01",
    )
    window.add_folder(str(folder))
    qtbot.waitUntil(
        lambda: window.last_scan is not None and not window.is_scanning(), timeout=SCAN_TIMEOUT_MS
    )
    qtbot.waitUntil(lambda: window.track_model.rowCount() == 1, timeout=10_000)
    model = window.track_model

    def cell(key: str) -> str:
        return model.index(0, column_of(key)).data()

    assert (cell("title"), cell("track"), cell("year"), cell("album_artist")) == (
        "Opening",
        "2",
        "1997",
        "Ana & Bo",
    )
    assert cell("format") == "flac" and cell("path") == str(folder / "a.flac")

    header = window.table.horizontalHeader()
    defaults = [c.title for k in DISPLAY_ORDER for c in TRACK_COLUMNS if c.key == k and c.shown]
    assert shown_titles(header) == defaults
    assert shown_titles(header)[-1] == "Predicted tags"  # last, where the header stretches
    # at the window's first size the default columns fit: no sideways scrolling, and the
    # predicted tags get more than the header's minimum (they read "techno, el" before)
    assert (window.width(), window.height()) == (1280, 800)
    qtbot.waitUntil(lambda: window.table.isVisible(), timeout=5_000)
    qtbot.wait(50)
    assert window.table.horizontalScrollBar().maximum() == 0
    assert header.sectionSize(column_of("predicted")) >= 110
    # a right click on the header opens the chooser; ticking "Path" shows the column
    header.customContextMenuRequested.emit(QPoint(10, 5))
    qtbot.waitUntil(window.columns.menu.isVisible, timeout=5_000)
    titles = [a.text() for a in window.columns.menu.actions() if a.isCheckable()]
    assert titles == [c.title for c in TRACK_COLUMNS]
    window.columns.menu.hide()
    assert not window.columns.actions["title"].isEnabled()  # a row always has its name
    window.columns.actions["path"].trigger()
    window.columns.actions["mood"].trigger()
    assert not header.isSectionHidden(column_of("path"))
    assert header.isSectionHidden(column_of("mood"))
    assert window.columns.menu in [a.menu() for a in window.view_menu.actions()]
    settings_path = Path(window.settings.qsettings.fileName())
    db_path = window.db_path
    window.close()

    saved = Settings(settings_path)
    assert "path" in saved.columns and "mood" not in saved.columns
    again = open_window(qtbot, settings_path, db_path)
    try:
        header = again.table.horizontalHeader()
        assert not header.isSectionHidden(column_of("path"))
        assert header.isSectionHidden(column_of("mood"))
        again.columns.reset()
        assert [k for k in again.columns.shown()] == default_columns()
        assert header.isSectionHidden(column_of("path"))
    finally:
        again.close()


def test_year_column_in_the_chooser_sorts_by_number(window, qtbot, tmp_path):
    """The Year column (tracks.year, the date tag's year) is offered by the chooser, and a
    click on its header sorts by the year as a number, tracks without one last (in both orders)."""
    folder = tmp_path / "music"
    folder.mkdir()
    dates = {"a.flac": "2001-05-01", "b.flac": "1999", "c.flac": None, "d.flac": "1985-12"}
    for seed, (name, date) in enumerate(dates.items()):
        write_track(folder / name, 2.0, kind="tone", seed=seed, title=name[0], date=date)
    window.add_folder(str(folder))
    qtbot.waitUntil(
        lambda: window.last_scan is not None and not window.is_scanning(), timeout=SCAN_TIMEOUT_MS
    )
    qtbot.waitUntil(lambda: window.track_model.rowCount() == len(dates), timeout=10_000)
    header = window.table.horizontalHeader()
    year = column_of("year")
    act = window.columns.actions["year"]
    assert act.text() == "Year" and act.isEnabled() and act.isChecked()
    act.trigger()  # hidden from the chooser, and back
    assert header.isSectionHidden(year) and "year" not in window.settings.columns
    act.trigger()
    assert not header.isSectionHidden(year) and "year" in window.settings.columns

    def shown_years() -> list[str]:
        proxy = window.proxy
        return [proxy.index(r, year).data() for r in range(proxy.rowCount())]

    rect = header.sectionViewportPosition(year) + header.sectionSize(year) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(rect, 5))
    qtbot.waitUntil(lambda: shown_years() == ["1985", "1999", "2001", ""], timeout=5_000)
    assert header.sortIndicatorSection() == year
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(rect, 5))
    qtbot.waitUntil(lambda: shown_years() == ["2001", "1999", "1985", ""], timeout=5_000)
