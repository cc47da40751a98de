"""The library table model: its columns, and loading, sorting, filtering and updates at 100,000
rows (how long those take is measured by tests/benchmarks/bench_gui.py, not here)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt

from app.gui.models import (
    TRACK_COLUMNS,
    TRACK_ID_ROLE,
    TrackFilterProxy,
    TrackTableModel,
    column_of,
    format_duration,
)
from app.library import TrackRow
from app.states import TrackStatus


def Row(
    id: int,
    path: Path,
    display_path: str,
    title: str | None,
    artist: str | None,
    album: str | None,
    genre: str | None,
    mood: str | None,
    duration: float | None,
) -> TrackRow:
    """A library row as `Library.tracks()` returns it, without a library."""
    return TrackRow(
        id,
        path,
        display_path,
        title,
        artist,
        album,
        genre,
        mood,
        duration,
        False,
        TrackStatus.OK,
        None,
    )


def rows(n: int) -> list[TrackRow]:
    genres = ["rock", "jazz", "ambient; drone", "hip hop", None]
    return [
        Row(
            i + 1,
            Path(f"/m/{i:06d}.mp3"),
            f"/m/{i:06d}.mp3",
            f"Song {(i * 7919) % n:06d}",
            f"Artist {i % 97}",
            f"Album {i % 1013}",
            genres[i % 5],
            None,
            float(i % 600),
        )
        for i in range(n)
    ]


def test_gui_model_100k_rows_load_sort_filter(qapp):
    """100,000 rows load, sort by two columns and filter to the right rows (timed in
    bench_gui.py's `gui_table`: set_tracks, sort by title and duration, filter)."""
    model = TrackTableModel()
    proxy = TrackFilterProxy()
    proxy.setSourceModel(model)
    model.set_tracks(rows(100_000))
    proxy.sort(0, Qt.SortOrder.AscendingOrder)
    proxy.sort(3, Qt.SortOrder.DescendingOrder)
    assert proxy.index(0, 3).data() == format_duration(599)  # the longest first
    proxy.set_filter_text("artist 5 jazz")
    assert 0 < proxy.rowCount() < 100_000
    for r in range(min(proxy.rowCount(), 50)):
        text = " ".join(str(proxy.index(r, c).data()) for c in range(7)).casefold()
        assert all(
            word in text for word in ("artist", "5", "jazz")
        )  # every word, anywhere in the row
    proxy.set_filter_text("")
    assert proxy.rowCount() == 100_000
    assert proxy.index(0, 3).data() == format_duration(599)
    proxy.sort(0, Qt.SortOrder.AscendingOrder)
    assert proxy.index(0, 0).data() == "Song 000000"


def test_gui_model_upsert_and_predicted(qapp):
    model = TrackTableModel()
    model.set_tracks(rows(3))
    model.upsert(
        [Row(2, Path("/m/x.mp3"), "/m/x.mp3", None, None, None, None, None, None), *rows(5)[3:]]
    )
    assert model.rowCount() == 5
    row = model.row_of(2)
    assert row is not None
    assert model.index(row, 0).data() == "x.mp3"  # no title: the file name
    model.set_predicted({2: "rock, dreamy"})
    assert model.index(row, column_of("predicted")).data() == "rock, dreamy"
    assert model.index(row, 0).data(TRACK_ID_ROLE) == 2
    model.remove_ids([1, 2])
    assert model.ids() == [3, 4, 5]


def test_gui_model_columns_users_expect(qapp):
    """Track number, year, album artist, format and path, found by name (never by position);
    numbers sort as numbers, tracks without one last."""
    model = TrackTableModel()
    tracks = [
        TrackRow(
            1,
            Path("/m/b.flac"),
            "/m/b.flac",
            "B",
            "Ana",
            "Rec",
            None,
            None,
            61.0,
            False,
            TrackStatus.OK,
            None,
            1999,
            "Ana & Bo",
            10,
            1,
        ),
        TrackRow(
            2,
            Path("/m/a.OGG"),
            "/m/a.OGG",
            "A",
            "Ana",
            "Rec",
            None,
            None,
            5.0,
            False,
            TrackStatus.OK,
            None,
            2001,
            None,
            5,
            2,
        ),
        TrackRow(
            3,
            Path("/m/c.mp3"),
            "/m/c.mp3",
            "C",
            "Ana",
            "Rec",
            None,
            None,
            None,
            False,
            TrackStatus.OK,
            None,
            None,
            None,
            9,
            None,
        ),
        TrackRow(
            4,
            Path("/m/d.wav"),
            "/m/d.wav",
            "D",
            "Ana",
            None,
            None,
            None,
            None,
            False,
            TrackStatus.OK,
            None,
            990,
            None,
            None,
            None,
        ),
    ]
    model.set_tracks(tracks)
    assert [c.title for c in TRACK_COLUMNS][: column_of("predicted") + 1] == [
        "Title",
        "Artist",
        "Album",
        "Duration",
        "Genre",
        "Mood",
        "Predicted tags",
    ]

    def cells(key):
        return [model.index(r, column_of(key)).data() for r in range(model.rowCount())]

    assert cells("track") == ["10", "2-05", "9", ""]
    assert cells("year") == ["1999", "2001", "", "990"]
    assert cells("album_artist") == ["Ana & Bo", "", "", ""]
    assert cells("format") == ["flac", "ogg", "mp3", "wav"]
    assert cells("path") == ["/m/b.flac", "/m/a.OGG", "/m/c.mp3", "/m/d.wav"]
    assert model.headerData(column_of("year"), Qt.Orientation.Horizontal) == "Year"
    right = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    assert model.index(0, column_of("year")).data(Qt.ItemDataRole.TextAlignmentRole) == right
    model.sort(column_of("year"), Qt.SortOrder.AscendingOrder)
    assert cells("year") == ["990", "1999", "2001", ""]  # 990 < 1999 as numbers
    model.sort(column_of("year"), Qt.SortOrder.DescendingOrder)
    assert cells("year") == ["2001", "1999", "990", ""]  # no year: last in both orders
    model.sort(column_of("track"), Qt.SortOrder.AscendingOrder)
    assert cells("track") == ["9", "10", "2-05", ""]  # disc 1 (or none) first, then disc 2
    proxy = TrackFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_filter_text("flac")  # the format is filter text; the path is not
    assert proxy.rowCount() == 1
    proxy.set_filter_text("m/")
    assert proxy.rowCount() == 0


def test_search_results_name_a_track_as_the_table_does(qapp):
    """A hit without a title tag is named by its file name, with its artist (it showed the
    whole path, which the Path column beside it already holds); a hit the table has not
    loaded by its file name too."""
    from app.gui.models import PATH, TRACK, SearchResultsModel
    from app.library import Hit

    table = TrackTableModel()
    table.set_tracks(
        [
            Row(
                1,
                Path("/m/Naev/agriculture.ogg"),
                "/m/Naev/agriculture.ogg",
                None,
                "Ken",
                None,
                None,
                None,
                70.0,
            ),
            Row(2, Path("/m/a.ogg"), "/m/a.ogg", "Fear", None, None, None, None, 70.0),
        ]
    )
    hits = [
        Hit(1, "/m/Naev/agriculture.ogg", 0.5),
        Hit(2, "/m/a.ogg", 0.4),
        Hit(3, "/m/x/b.mp3", 0.3),
    ]
    model = SearchResultsModel()
    model.set_result("calm", hits, [], table.titles([1, 2, 3]))
    assert [model.index(r, TRACK).data() for r in range(3)] == [
        "agriculture.ogg — Ken",
        "Fear",
        "b.mp3",
    ]
    assert model.index(0, PATH).data() == "/m/Naev/agriculture.ogg"


def test_a_cells_tooltip_holds_its_whole_text_then_the_path(qapp):
    """A narrow column cuts its text ("Female Fronte…", "techno, el…"): hovering a cell shows
    the whole of it, then the file (and why it failed, for a file not analysed)."""
    model = TrackTableModel()
    model.set_tracks(
        [
            Row(
                1,
                Path("/m/a.ogg"),
                "/m/a.ogg",
                "Ezer Év",
                None,
                None,
                "Female Fronted Metal",
                None,
                9.0,
            )
        ]
    )
    model.set_predicted({1: "rock, loud, metal"})

    def tip(key: str) -> str:
        return model.index(0, column_of(key)).data(Qt.ItemDataRole.ToolTipRole)

    assert tip("genre") == "Female Fronted Metal\n/m/a.ogg"
    assert tip("predicted") == "rock, loud, metal\n/m/a.ogg"
    assert tip("mood") == tip("path") == "/m/a.ogg"  # nothing to show but the file


def test_a_damaged_file_shows_as_not_analysed_with_its_reason(qapp):
    """A cut Ogg file (the scan stores it failed, "damaged: ...") looked like an ordinary track
    with predicted tags. Its row says "(not analysed)" after the title it still has, every
    cell's tooltip ends with the reason, and it has no Predicted tags to show."""
    from dataclasses import replace

    reason = "damaged: malformed Ogg stream: unable to read full data"
    cut = replace(
        Row(1, Path("/m/cut.ogg"), "/m/cut.ogg", "Ambient 2.5", "N", None, None, None, 1.0),
        status=TrackStatus.FAILED,
        error=reason,
    )
    model = TrackTableModel()
    model.set_tracks([cut])
    assert model.index(0, column_of("title")).data() == "Ambient 2.5 (not analysed)"
    for key in ("title", "predicted", "path"):
        tip = model.index(0, column_of(key)).data(Qt.ItemDataRole.ToolTipRole)
        assert tip.endswith(f"/m/cut.ogg\n{reason}"), key
    assert model.index(0, column_of("predicted")).data() == ""
