"""The albums controller on its own: a real Library (LibraryController) in tmp_path, tagged
generated tracks, the real default model; driven by its slots, checked by its signals."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from libfixtures import tag_file, write_track  # noqa: E402

from app.albums import NO_ALBUM  # noqa: E402

SCAN_TIMEOUT_MS = 90_000
TRACKS = [
    ("Rec/1.flac", "noise", dict(title="One", artist="Ana", album="Rec", track="1")),
    ("Rec/2.flac", "tone", dict(title="Two", artist="Ana", album="Rec", track="2")),
    ("loose.wav", "chirp", dict(title="Loose", artist="Bo")),
]


@pytest.fixture
def tagged(qtbot, library, settings, tmp_path):
    """The library after a scan of three tagged tracks: two of album "Rec", one single."""
    from app.gui.controllers import ScanController

    folder = tmp_path / "tagged"
    for seed, (path, kind, tags) in enumerate(TRACKS):
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        write_track(folder / path, 3.0, kind=kind, seed=seed)
        tag_file(folder / path, **tags)
    scan = ScanController(library, settings)
    with qtbot.waitSignal(library.rows_reloaded, timeout=SCAN_TIMEOUT_MS) as reloaded:
        scan.start_scan([str(folder)])
    scan.shutdown()
    return reloaded.args[0]


@pytest.fixture
def albums(library, settings):
    from app.gui.controllers.albums import AlbumsController

    decisions: dict[int, list[str]] = {}
    controller = AlbumsController(library, lambda: decisions, settings, lambda: None)
    controller.decisions_dict = decisions
    return controller


def test_groups_predicts_and_plans_an_album_write(qtbot, library, albums, tagged):
    with qtbot.waitSignal(albums.grouped, timeout=20_000) as grouped:
        albums.group(tagged)
    found = grouped.args[0]
    assert [(a.display_title, len(a)) for a in found] == [("Rec", 2), (NO_ALBUM, 1)]
    rec = found[0]
    assert [next(t for t in tagged if t.id == i).title for i in rec.track_ids] == ["One", "Two"]

    with qtbot.waitSignal(albums.predicted, timeout=20_000) as predicted:
        albums.predict_column([(rec.key, rec.track_ids)])
    assert predicted.args[0][rec.key]

    album_id = albums.album_id(rec)
    assert album_id < 0 and albums.album_id(rec) == album_id
    with qtbot.waitSignal(albums.prediction_ready, timeout=20_000) as ready:
        albums.load_prediction(album_id, rec.track_ids)
    shown_id, prediction, accepted = ready.args
    assert shown_id == album_id and prediction is not None and accepted

    albums.decisions_dict[album_id] = [accepted[0]]  # the user kept one tag
    with qtbot.waitSignal(albums.preview_ready, timeout=20_000) as preview:
        albums.plan_write(rec, "comment")
    planned, shown = preview.args
    assert {p.track_id for p in planned} == set(rec.track_ids)
    assert {p.field for p in planned} == {"comment"} and "Rec" in shown
    assert all(p.changed and p.error is None for p in planned)
    assert len({tuple(p.new) for p in planned}) == 1  # the same value into every track
