"""The album view through the real window, on a real scanned library: the Tracks | Albums
switch, albums in artist order with their tracks in play order, the album's proposals in the
panel, "Apply to album" through the preview into every track (one batch, one undo), the filter
box, and the choice kept in the settings."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from libfixtures import tag_file, write_track
from PySide6.QtCore import QItemSelectionModel, QPoint, Qt

from app.albums import NO_ALBUM, VARIOUS_ARTISTS
from app.gui.album_view import ALBUM_KEY_ROLE, APPLY_TEXT, varying_text
from app.gui.models import TRACK_ID_ROLE, column_of
from app.gui.settings import Settings
from app.tagwriter import read_field

# (path, kind of sound, tags): a record whose tracks sound different, a compilation, a single
TRACKS: list[tuple[str, str, dict[str, Any]]] = [
    ("Ana/Mixed/b.flac", "tone", dict(title="Second", artist="Ana", album="Mixed", track="2")),
    ("Ana/Mixed/a.mp3", "noise", dict(title="First", artist="Ana", album="Mixed", track="1")),
    ("Ana/Mixed/c.ogg", "chirp", dict(title="Third", artist="Ana", album="Mixed", track="3")),
    ("Comp/x.ogg", "tone", dict(title="Ex", artist="Cy", album="Party")),
    ("Comp/y.flac", "noise", dict(title="Why", artist="Di", album="Party")),
    ("Ana/alone.wav", "chirp", dict(title="Alone", artist="Ana")),
]


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    from app.library import Library

    root = tmp_path_factory.mktemp("gui_albums")
    folder = root / "music"
    for seed, (path, kind, tags) in enumerate(TRACKS):
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        write_track(target, 3.0, kind=kind, seed=seed)
        tag_file(target, **tags)
    db = root / "library.sqlite3"
    with Library(db, device="cpu") as library:
        assert library.scan([folder], n_windows=1, workers=0).scanned == len(TRACKS)
    return folder, db


@pytest.fixture
def album_window(qtbot, tmp_path, scanned):
    from app.gui import create_app
    from app.gui.main_window import MainWindow

    folder, db = scanned
    for part in db.parent.glob(db.name + "*"):
        shutil.copy2(part, tmp_path / part.name)
    create_app()
    settings = Settings(tmp_path / "settings.ini")
    settings.add_folder(str(folder))
    win = MainWindow(settings, db_path=tmp_path / db.name)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(
        lambda: win.loaded and win.track_model.rowCount() == len(TRACKS), timeout=30_000
    )
    yield win
    win.close()


def album_titles(win) -> list[tuple[str, str, int]]:
    model = win.albums.model
    title, artist = column_of("title"), column_of("artist")
    return [
        (
            model.index(r, title).data(),
            model.index(r, artist).data(),
            model.rowCount(model.index(r, 0)),
        )
        for r in range(model.rowCount())
    ]


def select(win, index) -> None:
    flags = (
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
    )
    win.albums.view.selectionModel().setCurrentIndex(index, flags)


def test_album_view_proposals_apply_to_album_and_undo(album_window, qtbot):
    from app.library import Library
    from app.routing import route_tags

    win = album_window
    albums = win.albums
    assert not albums.showing() and win.settings.library_view == "tracks"
    qtbot.mouseClick(albums.buttons["albums"], Qt.MouseButton.LeftButton)  # the switch
    assert albums.showing() and win._active_view() is albums.view
    assert win.settings.library_view == "albums"
    qtbot.waitUntil(lambda: albums.model.rowCount() == 3, timeout=20_000)
    assert album_titles(win) == [
        ("Mixed", "Ana", 3),
        (NO_ALBUM, "Ana", 1),
        ("Party", VARIOUS_ARTISTS, 2),
    ]

    model = albums.model
    mixed = model.index(0, 0)
    tracks = [model.index(r, column_of("title"), mixed).data() for r in range(3)]
    assert tracks == ["First", "Second", "Third"]  # track-number order, not file names
    assert [model.index(r, column_of("track"), mixed).data() for r in range(3)] == ["1", "2", "3"]
    ids = [model.index(r, 0, mixed).data(TRACK_ID_ROLE) for r in range(3)]
    # the album row's predicted tags are the album's own, computed in the background
    qtbot.waitUntil(lambda: bool(model.index(0, column_of("predicted")).data()), timeout=20_000)
    predicted = model.index(0, column_of("predicted"))  # its whole text on hover, then the album
    assert predicted.data(Qt.ItemDataRole.ToolTipRole) == (
        f"{predicted.data()}\nMixed — Ana: 3 tracks"
    )

    # an album in the panel: its proposals, from all its tracks at once; Write becomes Apply
    select(win, mixed)
    assert win.selected_ids() == ids  # an album stands for its tracks (More like this, playlists)
    assert win.find_music.view_ids(albums.view) == ids
    menu = win.find_music.context_menu(albums.view)
    assert (
        win.find_music.similar_action in menu.actions()
        and win.find_music.similar_action.isEnabled()
    )
    qtbot.waitUntil(lambda: bool(win.panel.tag_items()), timeout=20_000)
    assert win.panel.heading.text().startswith("Mixed")
    assert win.panel.write_button.text() == APPLY_TEXT
    with Library(win.db_path, device="cpu") as own:
        tags = own.album_proposals(ids, win.settings.top_k, routes=win.settings.routes)
    # ticked: the proposals for the fields their kinds go to, as many per field as Settings says
    # (an unrouted instrument is listed, greyed, never ticked)
    assert win.panel.accepted_tags() == [t.tag for t in tags]
    assert all(win.settings.routes.get(t.kind) for t in tags)
    expected = route_tags(tags, win.settings.routes)
    assert expected.get("genre"), expected

    win.panel.write_button.click()
    qtbot.waitUntil(
        lambda: win.preview_dialog is not None and win.preview_dialog.isVisible(), timeout=20_000
    )
    changes = win.preview_dialog.changes()
    assert {c.track_id for c in changes} == set(ids)
    assert {tuple(c.new) for c in changes if c.field == "genre"} == {tuple(expected["genre"])}
    paths = {i: win.track_model.track_by_id(i).path for i in ids}
    before = {i: p.read_bytes() for i, p in paths.items()}
    win.preview_dialog.accept()
    qtbot.waitUntil(lambda: win.last_write is not None, timeout=20_000)
    assert win.last_write.files == set(ids) and not win.last_write.failed
    assert all(read_field(p, "genre") == expected["genre"] for p in paths.values())
    # the album row shows one genre for the whole record once the rows are read again
    genre = "; ".join(expected["genre"])
    qtbot.waitUntil(lambda: model.index(0, column_of("genre")).data() == genre, timeout=20_000)

    win.undo_last()
    qtbot.waitUntil(lambda: win.last_undo is not None, timeout=20_000)
    assert win.last_undo.restored == 3
    assert {i: p.read_bytes() for i, p in paths.items()} == before

    # a track inside an album is a track: its own tags, the ordinary Write
    select(win, model.index(1, 0, model.index(0, 0)))
    qtbot.waitUntil(lambda: win.panel.track_id == ids[1], timeout=10_000)
    assert win.panel.write_button.text() != APPLY_TEXT
    assert win.selected_ids() == [ids[1]]

    # the tracks without an album get no album tags
    select(win, model.index(1, 0))
    assert model.index(1, 0).data(ALBUM_KEY_ROLE) is not None
    assert not win.panel.write_button.isEnabled() and not win.panel.all_selected.isVisible()
    assert not win.panel.own_value.isEnabled() and not win.panel.add_button.isEnabled()
    assert win.panel.hint.text().startswith("Tracks without an album tag")

    # the filter box filters the albums' tracks too
    win.filter_edit.setText("third")
    qtbot.waitUntil(lambda: model.rowCount() == 1, timeout=5_000)
    assert album_titles(win) == [("Mixed", "Ana", 1)]
    win.filter_edit.clear()
    qtbot.waitUntil(lambda: model.rowCount() == 3, timeout=5_000)

    # back to the flat table
    qtbot.mouseClick(albums.buttons["tracks"], Qt.MouseButton.LeftButton)
    assert not albums.showing() and win._active_view() is win.table
    assert win.settings.library_view == "tracks"


def test_the_album_view_comes_back_on_the_next_start(qtbot, tmp_path, scanned):
    from app.gui import create_app
    from app.gui.main_window import MainWindow

    folder, db = scanned
    for part in db.parent.glob(db.name + "*"):
        shutil.copy2(part, tmp_path / part.name)
    create_app()
    settings = Settings(tmp_path / "settings.ini")
    settings.library_view = "albums"
    win = MainWindow(settings, db_path=tmp_path / db.name)
    qtbot.addWidget(win)
    win.show()
    try:
        qtbot.waitUntil(lambda: win.loaded, timeout=30_000)
        assert win.albums.showing() and win.albums.albums_action.isChecked()
        qtbot.waitUntil(lambda: win.albums.model.rowCount() == 3, timeout=20_000)
    finally:
        win.close()


def test_an_album_cell_says_when_its_tracks_disagree():
    assert varying_text(["Rock", "Rock"]) == "Rock"
    assert varying_text(["Rock", None, "Rock"]) == "Rock (2 of 3)"
    assert varying_text(["Rock", "Pop", None]) == "varies: Rock, Pop"
    assert varying_text(["a", "b", "c", "d"]) == "varies: a, b, c, …"
    assert varying_text([None, ""]) == ""


def click_row(qtbot, view, index, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    """A real click on a row of the album tree (Ctrl adds it to the selection)."""
    rect = view.visualRect(index.siblingAtColumn(column_of("title")))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, modifier, rect.center())


def type_value(qtbot, panel, field: str, text: str) -> None:
    """Pick the field in the panel's "your own value" box, type, Enter."""
    panel.own_field.setCurrentIndex(panel.own_field.findData(field))
    qtbot.keyClicks(panel.own_value, text)
    qtbot.keyClick(panel.own_value, Qt.Key.Key_Return)


def open_preview(win, qtbot):
    qtbot.mouseClick(win.panel.write_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: win.preview_dialog is not None and win.preview_dialog.isVisible(), timeout=20_000
    )
    return win.preview_dialog


def genre_rows(dialog) -> dict[int, list[str]]:
    """The preview's genre rows, one per file: track id -> the values after writing."""
    rows = [c for c in dialog.changes() if c.field == "genre"]
    assert len({c.display_path for c in rows}) == len(rows)  # one row per file
    return {c.track_id: list(c.new) for c in rows}


def test_typed_values_and_apply_to_all_selected_albums(album_window, qtbot):
    """A value typed for an album goes into every track of it; with two albums selected each
    gets its own decision, and "Apply to all selected albums" gives the shown album's decision
    to every track of both; the preview lists each file's change; one undo puts all back."""
    win = album_window
    albums, panel = win.albums, win.panel
    qtbot.mouseClick(albums.buttons["albums"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: albums.model.rowCount() == 3, timeout=20_000)
    model, view = albums.model, albums.view
    mixed, party = model.index(0, 0), model.index(2, 0)
    mixed_ids = [model.index(r, 0, mixed).data(TRACK_ID_ROLE) for r in range(3)]
    party_ids = [model.index(r, 0, party).data(TRACK_ID_ROLE) for r in range(2)]
    paths = {i: win.track_model.track_by_id(i).path for i in mixed_ids + party_ids}
    before = {i: p.read_bytes() for i, p in paths.items()}

    # one album: the typed value is written into each of its three tracks
    click_row(qtbot, view, mixed)
    qtbot.waitUntil(lambda: bool(panel.tag_items()), timeout=20_000)
    assert panel.write_button.text() == APPLY_TEXT and not panel.all_selected.isVisible()
    type_value(qtbot, panel, "genre", "Shoegaze")
    assert [i.text(0) for i in panel.value_items("genre")] == ["Shoegaze"]
    dialog = open_preview(win, qtbot)
    rows = genre_rows(dialog)
    assert set(rows) == set(mixed_ids) and all("Shoegaze" in v for v in rows.values())
    assert len({tuple(v) for v in rows.values()}) == 1  # the same values for the whole record
    qtbot.mouseClick(dialog.write_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: win.last_write is not None, timeout=20_000)
    assert win.last_write.files == set(mixed_ids) and not win.last_write.failed
    assert all("Shoegaze" in read_field(paths[i], "genre") for i in mixed_ids)
    qtbot.waitUntil(win.undo_action.isEnabled, timeout=20_000)
    win.undo_action.trigger()  # Edit > Undo tag write
    qtbot.waitUntil(lambda: win.last_undo is not None, timeout=20_000)
    assert {i: p.read_bytes() for i, p in paths.items()} == before

    # two albums: without "Apply to all" each gets its own decision
    click_row(qtbot, view, mixed)
    click_row(qtbot, view, party, Qt.KeyboardModifier.ControlModifier)
    assert albums.current_album().key == party.data(ALBUM_KEY_ROLE)
    qtbot.waitUntil(lambda: bool(panel.tag_items()), timeout=20_000)
    assert panel.all_selected.isVisible()
    assert panel.all_selected.text() == "Apply to all selected albums"
    assert panel.hint.text().startswith("2 albums selected: each album gets what you ticked")
    type_value(qtbot, panel, "genre", "Dream pop")
    dialog = open_preview(win, qtbot)
    rows = genre_rows(dialog)
    assert all("Dream pop" in rows[i] for i in party_ids)
    assert all("Dream pop" not in rows.get(i, []) for i in mixed_ids)
    dialog.reject()
    qtbot.waitUntil(lambda: win.preview_dialog is None, timeout=5_000)

    # "Apply to all selected albums": the shown album's changes in every track of both
    box = panel.all_selected
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=box.rect().topLeft() + QPoint(8, 8))
    assert box.isChecked() and panel.apply_to_all_selected()
    assert panel.hint.text().startswith("2 albums selected: every track of each")
    dialog = open_preview(win, qtbot)
    rows = genre_rows(dialog)
    assert set(rows) == set(mixed_ids + party_ids)
    assert len({tuple(v) for v in rows.values()}) == 1 and "Dream pop" in rows[party_ids[0]]
    win.last_write = None
    qtbot.mouseClick(dialog.write_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: win.last_write is not None, timeout=20_000)
    assert win.last_write.files == set(paths) and not win.last_write.failed
    assert all("Dream pop" in read_field(p, "genre") for p in paths.values())
    win.last_undo = None
    qtbot.waitUntil(win.undo_action.isEnabled, timeout=20_000)
    win.undo_action.trigger()  # one write, one undo
    qtbot.waitUntil(lambda: win.last_undo is not None, timeout=20_000)
    assert win.last_undo.restored == 5
    assert {i: p.read_bytes() for i, p in paths.items()} == before


def test_album_view_empty_states_say_what_to_do(album_window, qtbot):
    win = album_window
    albums = win.albums
    qtbot.mouseClick(albums.buttons["albums"], Qt.MouseButton.LeftButton)
    # the tracks are grouped in the background: the tree says so, not "no tracks yet"
    assert albums.model.rowCount() == 0
    assert albums.view.empty_text() == f"Grouping {len(TRACKS)} track(s) into albums…"
    qtbot.waitUntil(lambda: albums.model.rowCount() == 3, timeout=20_000)
    qtbot.keyClicks(win.filter_edit, "nothing-is-called-this")
    qtbot.waitUntil(lambda: albums.model.rowCount() == 0, timeout=5_000)
    assert albums.view.empty_text().startswith("No track matches “nothing-is-called-this”")
    assert "Clear the filter" in albums.view.empty_text()
    win.filter_edit.clear()
    qtbot.waitUntil(lambda: albums.model.rowCount() == 3, timeout=5_000)


def test_album_view_on_an_empty_library_says_to_add_a_folder(main_window, qtbot):
    win = main_window
    win.albums.show_view("albums")
    assert win.albums.model.rowCount() == 0
    text = win.albums.view.empty_text()
    assert text.startswith("No tracks yet.") and "Add a music folder" in text


def test_album_panel_keeps_several_tag_rows_at_1024x640(album_window, qtbot):
    from app.gui.track_panel import MIN_TAG_ROWS

    win = album_window
    win.resize(1024, 640)
    qtbot.waitUntil(
        lambda: win.size().width() == 1024 and win.size().height() == 640, timeout=5_000
    )
    albums, panel = win.albums, win.panel
    qtbot.mouseClick(albums.buttons["albums"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: albums.model.rowCount() == 3, timeout=20_000)
    click_row(qtbot, albums.view, albums.model.index(0, 0))
    click_row(qtbot, albums.view, albums.model.index(2, 0), Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: bool(panel.tag_items()), timeout=20_000)
    qtbot.wait(50)
    assert panel.all_selected.isVisible() and panel.hint.isVisible()  # the longest album panel
    row = panel.tags.visualItemRect(panel.tag_items()[0]).height()
    assert row > 0 and panel.tags.viewport().height() >= MIN_TAG_ROWS * row
    assert panel.write_button.isVisible() and panel.own_value.isVisible()
    assert panel.write_button.geometry().bottom() <= panel.height()
