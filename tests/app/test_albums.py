"""app.albums and the album side of Library/journal, on a real scanned library (default model).

The library holds a two-disc record in CD1/CD2 folders, a record whose tracks sound different
(a noise beat, a chord, a sweep: track by track they get different genres), a compilation nobody
gave an album artist, a record kept in two folders under one album artist, and a single.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from libfixtures import tag_file, write_track

from app import db, journal
from app.albums import NO_ALBUM, VARIOUS_ARTISTS, aggregate, album_key, group_albums
from app.edits import edit_from_values, plan_edits, same_for_all
from app.library import Library
from app.routing import DEFAULT_ROUTES, route_tags
from app.tagwriter import read_field
from zsl_core.default_model import load_default_tagger

WINDOWS = 2
SECONDS = 4.0

# (path, kind, tags)
TRACKS: list[tuple[str, str, dict[str, Any]]] = [
    ("Ana/Mixed/02 chord.flac", "tone", dict(artist="Ana", album="Mixed", track="2/3")),
    ("Ana/Mixed/01 beat.mp3", "noise", dict(artist="Ana", album="Mixed", track="1/3")),
    ("Ana/Mixed/03 sweep.ogg", "chirp", dict(artist="Ana", album="Mixed", track="3/3")),
    ("Bo/Double/CD2/a.flac", "tone", dict(artist="Bo", album="Double", track=1, disc=2)),
    ("Bo/Double/CD1/b.flac", "noise", dict(artist="Bo", album="Double", track=1, disc=1)),
    ("Comp/x.ogg", "chirp", dict(artist="Cy", album="Party", date="2001")),
    ("Comp/y.mp3", "tone", dict(artist="Di", album="Party", date="2001")),
    ("Split/one/p.flac", "noise", dict(artist="Ed", album="Halves", album_artist="VA")),
    ("Split/two/q.mp3", "tone", dict(artist="Fu", album="halves ", album_artist="va")),
    ("Ana/lonely.wav", "chirp", dict(artist="Ana", title="Lonely")),
]


def _title(path: str) -> str:
    return Path(path).stem


@pytest.fixture(scope="module")
def music(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("albums")
    for seed, (path, kind, tags) in enumerate(TRACKS):
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        write_track(target, SECONDS, kind=kind, seed=seed)
        tag_file(target, **{"title": _title(path), **tags})
    return root


@pytest.fixture(scope="module")
def scanned(music: Path, tmp_path_factory):
    load_default_tagger(device="cpu")
    library = Library(tmp_path_factory.mktemp("db") / "library.sqlite3", device="cpu")
    summary = library.scan([music], n_windows=WINDOWS, workers=0)
    assert summary.scanned == len(TRACKS) and summary.failed == []
    yield library
    library.close()


def _ids(library: Library, music: Path, *paths: str) -> list[int]:
    ids = [library.track_id(music / p) for p in paths]
    assert None not in ids
    return [int(i) for i in ids if i is not None]


def _seen(library: Library, track_id: int) -> np.ndarray:
    stored = library.analysis(track_id)
    assert stored is not None
    return stored[1]


def test_the_scan_stores_album_artist_track_and_disc_numbers(scanned: Library, music: Path):
    rows = {str(t.path.relative_to(music)): t for t in scanned.tracks()}
    beat = rows["Ana/Mixed/01 beat.mp3"]
    assert (beat.album, beat.album_artist, beat.track_no, beat.disc_no) == ("Mixed", None, 1, None)
    assert (rows["Bo/Double/CD2/a.flac"].track_no, rows["Bo/Double/CD2/a.flac"].disc_no) == (1, 2)
    assert rows["Split/two/q.mp3"].album_artist == "va"
    assert rows["Comp/x.ogg"].year == 2001


def test_tracks_are_grouped_into_albums_in_play_order(scanned: Library, music: Path):
    albums = scanned.albums()
    shown = [(a.artist, a.display_title, len(a)) for a in albums]
    # artist order; an artist's singles after its albums; named groups before Various/Unknown
    assert shown == [
        ("Ana", "Mixed", 3),
        ("Ana", NO_ALBUM, 1),
        ("Bo", "Double", 2),
        ("VA", "Halves", 2),
        (VARIOUS_ARTISTS, "Party", 2),
    ]
    by_title = {a.display_title: a for a in albums}
    # disc, then track number: not the file names' or the scan's order
    assert by_title["Mixed"].track_ids == _ids(
        scanned, music, "Ana/Mixed/01 beat.mp3", "Ana/Mixed/02 chord.flac", "Ana/Mixed/03 sweep.ogg"
    )
    assert by_title["Double"].track_ids == _ids(
        scanned, music, "Bo/Double/CD1/b.flac", "Bo/Double/CD2/a.flac"
    )
    # one album artist across two folders (names compared case-folded, spaces collapsed)
    assert by_title["Halves"].track_ids == _ids(
        scanned, music, "Split/one/p.flac", "Split/two/q.mp3"
    )
    assert by_title["Party"].year == 2001 and by_title["Party"].formats == ["mp3", "ogg"]
    assert by_title["Mixed"].is_album and not by_title[NO_ALBUM].is_album
    assert by_title["Mixed"].duration == pytest.approx(3 * SECONDS, abs=0.5)
    # the keys do not change when the library is read again
    assert [a.key for a in scanned.albums()] == [a.key for a in albums]


def test_a_compilation_without_album_artist_splits_by_folder(scanned: Library, music: Path):
    tracks = {t.path.name: t for t in scanned.tracks()}
    party = tracks["x.ogg"]
    other = music / "Other" / "x.ogg"
    elsewhere = type(party)(
        **{**party.__dict__, "id": -1, "path": other, "display_path": str(other)}
    )
    assert album_key(elsewhere) != album_key(party)  # two artists' "Party" in two folders
    assert len(group_albums([party, elsewhere])) == 2
    assert album_key(tracks["a.flac"]) == album_key(tracks["b.flac"])  # CD1/CD2: one record


def test_album_prediction_is_the_mean_of_its_tracks(scanned: Library, music: Path):
    ids = _ids(
        scanned, music, "Ana/Mixed/01 beat.mp3", "Ana/Mixed/02 chord.flac", "Ana/Mixed/03 sweep.ogg"
    )
    labels = scanned.tagger.seen_labels
    prediction = scanned.album_prediction(ids, top_k=len(labels))
    mean = np.mean([_seen(scanned, i) for i in ids], axis=0)
    assert prediction is not None
    got = {t.tag: t.confidence for t in prediction.seen}
    assert got == pytest.approx(dict(zip(labels, mean.tolist(), strict=True)), abs=1e-6)
    with pytest.raises(ValueError):
        aggregate([])
    assert scanned.album_prediction([]) is None


def test_one_track_album_proposals_are_the_tracks_own(scanned: Library, music: Path):
    """The same picking rule and prior as a track: an album of one track is that track."""
    for track_id in _ids(scanned, music, "Ana/lonely.wav", "Comp/y.mp3"):
        assert [
            (t.tag, round(t.confidence or 0, 5)) for t in scanned.album_proposals([track_id])
        ] == [(t.tag, round(t.confidence or 0, 5)) for t in scanned.proposals(track_id)]


def test_album_write_gives_every_track_the_same_genres_and_undoes_as_one(
    scanned: Library, music: Path
):
    ids = _ids(
        scanned, music, "Ana/Mixed/01 beat.mp3", "Ana/Mixed/02 chord.flac", "Ana/Mixed/03 sweep.ogg"
    )
    # the album view's rule: the album's proposals (the mean of its tracks), routed by kind
    one_by_one = [
        route_tags(scanned.proposals(i, top_k=2), DEFAULT_ROUTES).get("genre", []) for i in ids
    ]
    values = route_tags(scanned.album_proposals(ids, top_k=2), DEFAULT_ROUTES)
    assert values.get("genre"), values
    # tagged track by track, the record falls apart; tagged as an album it does not
    assert len({tuple(v) for v in one_by_one}) > 1, one_by_one
    # planned as the album view's Apply to album plans it (the same edit for every track)
    planned = plan_edits(scanned, same_for_all(edit_from_values(values), ids))
    assert {p.track_id for p in planned} == set(ids)
    assert all(p.error is None and p.changed for p in planned)
    before = {i: (scanned.track(i).path.read_bytes()) for i in ids}
    result = journal.write_batch(scanned, planned, "album: Mixed")
    assert result.files == set(ids) and not result.failed
    genres = {i: read_field(scanned.track(i).path, "genre") for i in ids}
    assert all(g == values["genre"] for g in genres.values()), genres
    assert {scanned.track(i).genre for i in ids} == {"; ".join(values["genre"])}
    undone = journal.undo(scanned, result.batch_id)
    assert undone.restored == len(ids)
    assert {i: scanned.track(i).path.read_bytes() for i in ids} == before


def test_a_retag_fills_album_fields_on_the_next_scan(scanned: Library, music: Path, tmp_path):
    """Tags changed outside the app (and old indexes after the schema 5 upgrade, whose rows are
    probed again) are read on the next scan without re-analysing the audio."""
    target = music / "Ana/lonely.wav"
    (track_id,) = _ids(scanned, music, "Ana/lonely.wav")
    scanned.conn.execute(
        "UPDATE tracks SET album_artist = NULL, track_no = NULL, mtime_ns = NULL WHERE id = ?",
        (track_id,),
    )
    tag_file(target, album_artist="Ana", track="9", album="Alone")
    summary = scanned.scan([music], n_windows=WINDOWS, workers=0)
    assert summary.scanned == 0 and summary.updated == 1
    row = scanned.track(track_id)
    assert (row.album, row.album_artist, row.track_no) == ("Alone", "Ana", 9)
    assert db.SCHEMA_VERSION >= 5
