"""The albums controller on its own: a real Library (LibraryController) in tmp_path, tagged
generated tracks, the real default model; driven by its slots, checked by its signals."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from libfixtures import tag_file, write_track

from app.albums import NO_ALBUM

SCAN_TIMEOUT_MS = 90_000
TRACKS: list[tuple[str, str, dict[str, Any]]] = [
    ("Rec/1.flac", "noise", dict(title="One", artist="Ana", album="Rec", track="1")),
    ("Rec/2.flac", "tone", dict(title="Two", artist="Ana", album="Rec", track="2")),
    ("loose.wav", "chirp", dict(title="Loose", artist="Bo")),
]


@pytest.fixture
def tagged(qtbot, settings, tmp_path):
    """A LibraryController open on a library of three tagged tracks (scanned in this process,
    one window each): two of album "Rec", one single; with the rows it read."""
    from app.gui import create_app
    from app.gui.controllers import LibraryController
    from app.library import Library

    folder = tmp_path / "tagged"
    for seed, (path, kind, tags) in enumerate(TRACKS):
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        write_track(folder / path, 3.0, kind=kind, seed=seed)
        tag_file(folder / path, **tags)
    db = tmp_path / "tagged.sqlite3"
    with Library(db, device="cpu") as scanned:
        assert scanned.scan([folder], n_windows=1, workers=0).scanned == len(TRACKS)
    create_app()
    controller = LibraryController(settings, db)
    with qtbot.waitSignal(controller.opened, timeout=SCAN_TIMEOUT_MS) as opened:
        controller.open()
    yield controller, opened.args[0]
    controller.shutdown()


@pytest.fixture
def albums(tagged, settings):
    from app.gui.controllers.albums import AlbumsController

    class Albums(AlbumsController):
        decisions_dict: dict[int, list[str]]  # what the controller reads decisions from

    decisions: dict[int, list[str]] = {}
    controller = Albums(tagged[0], lambda: decisions, settings, lambda: None)
    controller.decisions_dict = decisions
    return controller


def test_groups_predicts_and_plans_an_album_write(qtbot, albums, tagged):
    _, rows = tagged
    with qtbot.waitSignal(albums.grouped, timeout=60_000) as grouped:
        albums.group(rows)
    found = grouped.args[0]
    assert [(a.display_title, len(a)) for a in found] == [("Rec", 2), (NO_ALBUM, 1)]
    rec = found[0]
    assert [next(t for t in rows if t.id == i).title for i in rec.track_ids] == ["One", "Two"]

    with qtbot.waitSignal(albums.predicted, timeout=60_000) as predicted:
        albums.predict_column([(rec.key, rec.track_ids)])
    assert predicted.args[0][rec.key]

    album_id = albums.album_id(rec)
    assert album_id < 0 and albums.album_id(rec) == album_id
    with qtbot.waitSignal(albums.prediction_ready, timeout=60_000) as ready:
        albums.load_prediction(album_id, rec.track_ids)
    shown_id, prediction, accepted, file_values = ready.args
    assert file_values == {}  # an album shows no one file's values
    assert shown_id == album_id and prediction is not None and accepted

    albums.decisions_dict[album_id] = [accepted[0]]  # the user kept one tag
    with qtbot.waitSignal(albums.preview_ready, timeout=60_000) as preview:
        albums.plan_write(rec, "comment")
    planned, shown = preview.args
    assert {p.track_id for p in planned} == set(rec.track_ids)
    assert {p.field for p in planned} == {"comment"} and "Rec" in shown
    assert all(p.changed and p.error is None for p in planned)
    assert len({tuple(p.new) for p in planned}) == 1  # the same value into every track


def test_an_albums_ticked_word_is_written_wherever_the_model_ranks_it(qtbot, albums, tagged):
    """As for a track: the album's ticks are looked up among every word the model scores."""
    _, rows = tagged
    with qtbot.waitSignal(albums.grouped, timeout=60_000) as grouped:
        albums.group(rows)
    rec = grouped.args[0][0]
    albums.decisions_dict[albums.album_id(rec)] = ["death metal"]
    with qtbot.waitSignal(albums.preview_ready, timeout=60_000) as preview:
        albums.plan_write(rec, "")
    planned, _shown = preview.args
    genres = [[v.casefold() for v in p.new] for p in planned if p.field == "genre"]
    assert len(genres) == len(rec.track_ids) and all("death metal" in g for g in genres)


def test_an_albums_predicted_tags_are_what_a_write_adds(qtbot, albums, tagged, settings):
    """As for a track: the album row's Predicted tags listed every proposal ("strings,
    violin" too, which Write leaves out by default). It lists the values a write of the album
    adds (its panel's ticks), and follows a forced field without asking the model again."""
    from app.routing import written_values
    from zsl_core.tags import display_form

    lib, rows = tagged
    with qtbot.waitSignal(albums.grouped, timeout=60_000) as grouped:
        albums.group(rows)
    rec = grouped.args[0][0]
    got: list[Any] = []
    lib.run(
        lambda library: library.album_proposals(
            rec.track_ids, settings.top_k, vocabulary=lib.words(library)
        ),
        got.append,
        "proposals",
    )
    qtbot.waitUntil(lambda: bool(got), timeout=60_000)
    proposed = got[0]
    with qtbot.waitSignal(albums.predicted, timeout=60_000) as predicted:
        albums.predict_column([(rec.key, rec.track_ids)])
    assert predicted.args[0][rec.key] == ", ".join(written_values(proposed, settings.routes))

    settings.field = "comment"  # "Write into" one field: every proposal is written
    with qtbot.waitSignal(albums.predicted, timeout=1_000) as predicted:
        albums.refresh_column()
    every = dict.fromkeys(display_form(t.tag, t.kind) for t in proposed)
    assert predicted.args[0][rec.key] == ", ".join(every)

    from app.routing import DEFAULT_ROUTES
    from zsl_core.tags import TagKind

    settings.field = ""
    settings.routes = {**DEFAULT_ROUTES, TagKind.GENRE: None}  # genres to no field
    with qtbot.waitSignal(albums.predicted, timeout=1_000) as predicted:
        albums.refresh_column()
    text = predicted.args[0][rec.key]
    assert text == ", ".join(written_values(proposed, settings.routes))
    assert not {display_form(t.tag, t.kind) for t in proposed if t.kind == TagKind.GENRE} & set(
        text.split(", ")
    )
