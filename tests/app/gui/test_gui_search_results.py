"""The search results table of the real window, offscreen, on a real library: a format and a path
column, relevance order by default, and a click on any header sorts by that column (numbers as
numbers); a second click reverses it, the "#" column puts the relevance order back."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

import audio_factory
from PySide6.QtCore import QPoint, Qt

from app.gui.models import SEARCH_COLUMNS, SORT_ROLE, file_format
from app.library import Hit

SCAN_TIMEOUT_MS = 90_000
# file name, title: path order, title order and format order all differ
FILES = [
    ("a_song.wav", "Bravo"),
    ("b_song.ogg", "Alpha"),
    ("c_song.flac", "Charlie"),
    ("d_song.mp3", "Delta"),
]
FORMAT, PATH = SEARCH_COLUMNS.index("Format"), SEARCH_COLUMNS.index("Path")
TRACK, MATCH = SEARCH_COLUMNS.index("Track"), SEARCH_COLUMNS.index("Match")


def _tag(path: Path, title: str) -> None:
    import mutagen
    from mutagen.id3 import TIT2, TPE1

    audio = mutagen.File(str(path))
    if audio.tags is None:
        audio.add_tags()
    if type(audio).__name__ in ("MP3", "WAVE"):
        audio.tags.add(TIT2(encoding=3, text=[title]))
        audio.tags.add(TPE1(encoding=3, text=["Zed Quartet"]))
    else:
        audio["TITLE"], audio["ARTIST"] = [title], ["Zed Quartet"]
    audio.save()


@pytest.fixture
def scanned(window, qtbot, tmp_path):
    folder = tmp_path / "music"
    folder.mkdir()
    for i, (name, title) in enumerate(FILES):
        fmt = name.rsplit(".", 1)[1]
        audio_factory.write_tone(folder / name, 3.0, 22050, (220.0 * (i + 1),), fmt)
        _tag(folder / name, title)
    window.add_folder(str(folder))
    qtbot.waitUntil(
        lambda: window.last_scan is not None and not window.is_scanning(), timeout=SCAN_TIMEOUT_MS
    )
    qtbot.waitUntil(lambda: window.track_model.rowCount() == len(FILES), timeout=10_000)
    assert not window.last_scan.failed
    return folder


def search(window, qtbot, text: str) -> None:
    window.search_edit.setText(text)
    qtbot.waitUntil(
        lambda: window.last_search is not None and window.last_search[0] == text, timeout=20_000
    )
    assert window.tabs.currentIndex() == 1


def column(window, col: int) -> list[str]:
    view = window.search_view
    return [view.model().index(r, col).data() for r in range(view.model().rowCount())]


def click_header(window, qtbot, col: int) -> None:
    header = window.search_view.horizontalHeader()
    x = header.sectionViewportPosition(col) + header.sectionSize(col) // 2
    qtbot.mouseClick(
        header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, header.height() // 2)
    )


def test_results_show_format_and_path_and_sort_by_any_header(window, qtbot, scanned):
    search(window, qtbot, "artist:zed")
    relevance = [h.display_path for h in window.last_search[1].hits]
    assert len(relevance) == len(FILES)
    # relevance order by default: the view shows the hits as the search ranked them
    assert column(window, PATH) == relevance
    assert column(window, 0) == ["1", "2", "3", "4"]
    assert sorted(column(window, FORMAT)) == ["flac", "mp3", "ogg", "wav"]
    assert {Path(p).name for p in column(window, PATH)} == {name for name, _ in FILES}

    click_header(window, qtbot, PATH)
    paths = [Path(p).name for p in column(window, PATH)]
    assert paths == ["a_song.wav", "b_song.ogg", "c_song.flac", "d_song.mp3"]
    click_header(window, qtbot, PATH)  # again: reversed
    assert [Path(p).name for p in column(window, PATH)] == paths[::-1]

    click_header(window, qtbot, FORMAT)
    assert column(window, FORMAT) == ["flac", "mp3", "ogg", "wav"]
    click_header(window, qtbot, TRACK)
    assert [t.split(" — ")[0] for t in column(window, TRACK)] == [
        "Alpha",
        "Bravo",
        "Charlie",
        "Delta",
    ]
    # each row keeps its own cells: the title stays with its file
    titles = dict(FILES)
    assert all(
        titles[Path(p).name] == t.split(" — ")[0]
        for p, t in zip(column(window, PATH), column(window, TRACK), strict=True)
    )

    # the rank column restores relevance order; the selection follows the row, not the position
    click_header(window, qtbot, 0)
    assert column(window, PATH) == relevance
    window.search_view.selectRow(2)
    chosen = window.selected_ids()
    assert chosen == [window.last_search[1].hits[2].track_id]
    click_header(window, qtbot, PATH)
    assert window.selected_ids() == chosen
    assert window.find_music.view_ids(window.search_view) == chosen

    # a new search is shown in the order chosen (path, ascending)
    search(window, qtbot, "artist:zed -bravo")
    assert [Path(p).name for p in column(window, PATH)] == [
        "b_song.ogg",
        "c_song.flac",
        "d_song.mp3",
    ]


def test_scores_sort_as_numbers_not_text(window, qtbot, scanned):
    search(window, qtbot, "artist:zed")
    hits = window.last_search[1].hits
    # the same tracks with scores whose text order is not their numeric order ("9%" > "80%" as text)
    scores = [0.09, 0.8, 0.1, 0.55]
    ranked = [
        Hit(h.track_id, h.display_path, s, ["calm"], [("calm", s)])
        for h, s in zip(hits, scores, strict=True)
    ]
    window.search_model.set_result("calm", ranked, [], {})
    click_header(window, qtbot, MATCH)
    order = window.search_view.horizontalHeader().sortIndicatorOrder()
    shown = [float(v.rstrip("%")) for v in column(window, MATCH)]
    assert (
        shown
        == sorted(shown, reverse=order == Qt.SortOrder.DescendingOrder)
        == sorted([9.0, 80.0, 10.0, 55.0], reverse=order == Qt.SortOrder.DescendingOrder)
    )
    click_header(window, qtbot, MATCH)
    assert [float(v.rstrip("%")) for v in column(window, MATCH)] == shown[::-1]
    words = SEARCH_COLUMNS.index("How well each word matches")
    click_header(window, qtbot, words)
    values = [
        window.search_view.model().index(r, words).data(SORT_ROLE) for r in range(len(ranked))
    ]
    assert all(isinstance(v, float) for v in values) and values in (
        sorted(values),
        sorted(values, reverse=True),
    )


def test_file_format_is_the_extension():
    assert [
        file_format(p) for p in ("/m/a.OGG", "/m/b.flac", "/m/noext", "/m/.hidden", "/m.d/x")
    ] == ["ogg", "flac", "", "", ""]


def test_saved_results_playlist_follows_the_table_order(window, qtbot, scanned):
    search(window, qtbot, "artist:zed")
    click_header(window, qtbot, PATH)
    shown = [Path(p).name for p in column(window, PATH)]
    ids = window.find_music.result_ids()
    assert [Path(window.track_model.track_by_id(i).path).name for i in ids] == shown


def test_no_good_match_shows_the_closest_tracks_as_weak(window, qtbot, scanned, monkeypatch):
    """Typed into the real search box: nothing clears the floor, the table lists the closest
    tracks and the line above says they are weak, not matches."""
    import zsl_core.search

    monkeypatch.setattr(zsl_core.search, "RELEVANCE_FLOOR", 2.0)  # no probability reaches it
    search(window, qtbot, "calm")
    assert window.last_search[1].hits == []
    assert window.search_view.model().rowCount() == len(FILES)
    info = window.search_info.text()
    assert info.startswith("No good match for “calm”") and "all weak" in info
    first = window.search_view.model().index(0, TRACK)
    assert first.data(Qt.ItemDataRole.FontRole).italic()
    assert "not a match" in first.data(Qt.ItemDataRole.ToolTipRole)
    monkeypatch.setattr(zsl_core.search, "RELEVANCE_FLOOR", 0.0)  # matches again: plain rows
    search(window, qtbot, "fast")
    first = window.search_view.model().index(0, TRACK)
    assert window.last_search[1].hits and first.data(Qt.ItemDataRole.FontRole) is None
