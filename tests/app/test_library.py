"""app.library.Library end to end with the real default model: open fast, scan, list, tag, search.

The three test tracks sound clearly different to musicnn: a bright noise-burst beat (the model
calls it electronic/techno), a sweep (flute/woodwind-like) and a sustained chord (ambient).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from libfixtures import png_bytes, tag_file, write_track

from app.library import Library, LibraryError, model_key
from zsl_core.default_model import DefaultTagger, load_default_tagger

WINDOWS = 2


@pytest.fixture(scope="module")
def music(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("music")
    write_track(root / "beat.mp3", 8.0, kind="noise", title="Beat", artist="DJ", genre=["Techno"])
    write_track(root / "sweep.ogg", 8.0, kind="chirp", title="Sweep", mood=["calm"])
    write_track(root / "pad.flac", 8.0, kind="tone", title="Pad", cover=png_bytes())
    return root


@pytest.fixture(scope="module")
def scanned(music: Path, tmp_path_factory):
    """One scanned library shared by the read-only tests (the model loads once per process)."""
    load_default_tagger(device="cpu")
    db_path = tmp_path_factory.mktemp("db") / "library.sqlite3"
    library = Library(db_path, device="cpu")
    summary = library.scan([music], n_windows=WINDOWS, workers=0)
    assert summary.scanned == 3 and summary.failed == []
    yield library
    library.close()


def _id(library: Library, name: str) -> int:
    return next(t.id for t in library.tracks() if t.path.name == name)


def test_opening_is_instant_and_needs_no_model(tmp_path: Path) -> None:
    library = Library(tmp_path / "new.sqlite3", device="cpu")
    assert library._tagger is None
    assert library.tracks() == [] and library.folders() == []
    assert library.model_id() is None
    with pytest.raises(LibraryError, match="nothing to scan"):
        library.scan()
    with pytest.raises(LibraryError, match="no track with id 42"):
        library.track(42)
    assert library.prediction(42) is None
    assert library._tagger is None  # none of the above loaded the networks
    library.close()


def test_tracks_rows_carry_metadata(scanned: Library, music: Path) -> None:
    rows = {t.path.name: t for t in scanned.tracks()}
    assert set(rows) == {"beat.mp3", "sweep.ogg", "pad.flac"}
    beat = rows["beat.mp3"]
    assert (beat.title, beat.artist, beat.genre, beat.status, beat.error) == (
        "Beat",
        "DJ",
        "Techno",
        "ok",
        None,
    )
    assert beat.path == music / "beat.mp3" and beat.display_path == str(music / "beat.mp3")
    assert beat.duration == pytest.approx(8.0, abs=0.2)
    assert rows["pad.flac"].has_cover and not beat.has_cover
    assert rows["sweep.ogg"].mood == "calm"
    assert scanned.track(beat.id) == beat
    assert scanned.track_id(music / "beat.mp3") == beat.id
    assert scanned.folders() == [music]
    assert scanned.model_name == "default-3" == model_key("default")


def test_search_seen_and_unseen_words(scanned: Library) -> None:
    tagger = scanned.tagger
    assert tagger.is_seen("electronic") and not tagger.is_seen("clarinet")
    result = scanned.search("electronic", top_k=3, floor=0)
    assert [Path(h.display_path).name for h in result.hits][0] == "beat.mp3"
    assert result.missing_words == []
    hit = result.hits[0]
    assert hit.track_id == _id(scanned, "beat.mp3") and 0.0 <= hit.score <= 1.0
    assert hit.tags == ["electronic"] and hit.matched[0][0] == "electronic"
    assert [h.score for h in result.hits] == sorted((h.score for h in result.hits), reverse=True)

    unseen = scanned.search("clarinet", top_k=3, floor=0)  # a word musicnn never learned
    assert len(unseen.hits) == 3 and unseen.missing_words == []
    partly = scanned.search("clarinet qqzzxv", top_k=1, floor=0)
    assert partly.missing_words == ["qqzzxv"] and len(partly.hits) == 1
    nothing = scanned.search("qqzzxv", top_k=5)
    assert nothing.hits == [] and nothing.missing_words == ["qqzzxv"]


def test_prediction_from_stored_results_without_audio(
    scanned: Library, music: Path, tmp_path: Path
) -> None:
    track_id = _id(scanned, "beat.mp3")
    away = tmp_path / "beat.mp3"
    shutil.move(music / "beat.mp3", away)  # no audio to read: the prediction is from the index
    try:
        prediction = scanned.prediction(track_id, top_k=5)
    finally:
        shutil.move(away, music / "beat.mp3")
    assert prediction is not None and prediction.path == str(music / "beat.mp3")
    assert len(prediction.seen) == 5 and len(prediction.unseen) == 5
    assert all(t.seen for t in prediction.seen) and not any(t.seen for t in prediction.unseen)
    fresh = scanned.tagger.predict(
        music / "beat.mp3", top_k=5, vocabulary=scanned.vocabulary, n_windows=WINDOWS
    )
    assert [t.tag for t in prediction.seen] == [t.tag for t in fresh.seen]
    assert [t.tag for t in prediction.unseen][:3] == [t.tag for t in fresh.unseen][:3]
    own = scanned.prediction(track_id, top_k=3, vocabulary=["clarinet", "techno-ish", "zzqqxx"])
    assert own is not None
    assert "clarinet" in [t.tag for t in own.unseen]
    assert "zzqqxx" in own.missing_words
    assert len(scanned.vocabulary) > 1000


def test_rescan_updates_search_and_other_connections_are_seen(music: Path, tmp_path: Path) -> None:
    root = tmp_path / "lib"
    shutil.copytree(music, root)
    db_path = tmp_path / "index.sqlite3"
    first = Library(db_path, device="cpu")
    assert first.scan([root], n_windows=WINDOWS, workers=0).scanned == 3
    assert len(first.search("music", top_k=10, floor=0).hits) == 3
    write_track(root / "more.wav", 6.0, kind="noise", seed=5)
    second = Library(db_path, device="cpu")  # another process's Library, in effect
    summary = second.scan(None, n_windows=WINDOWS, workers=0)  # no folders: the remembered ones
    assert (summary.scanned, summary.unchanged) == (1, 3)
    second.close()
    assert (
        len(first.search("music", top_k=10, floor=0).hits) == 4
    )  # cache rebuilt from data_version
    (root / "more.wav").unlink()
    assert first.scan([root], n_windows=WINDOWS, workers=0).gone == 1
    assert len(first.search("music", top_k=10, floor=0).hits) == 3
    assert len(first.tracks()) == 3 and len(first.tracks(include_gone=True)) == 4
    first.close()


def test_refresh_rereads_tags_so_the_next_scan_sees_no_change(
    music: Path, tmp_path: Path, monkeypatch
) -> None:
    from app import scanner

    root = tmp_path / "lib"
    shutil.copytree(music, root)
    with Library(tmp_path / "index.sqlite3", device="cpu") as library:
        library.scan([root], n_windows=WINDOWS, workers=0)
        track_id = _id(library, "sweep.ogg")
        tag_file(root / "sweep.ogg", mood=["calm", "dreamy"])  # what a tag write does
        library.refresh([track_id])
        assert library.track(track_id).mood == "calm; dreamy"
        with monkeypatch.context() as m:
            m.setattr(scanner, "probe_file", lambda *a: pytest.fail("refreshed file probed again"))
            summary = library.scan([root], n_windows=WINDOWS, workers=0)
        assert summary.unchanged == 3
        (root / "pad.flac").unlink()
        library.refresh([_id(library, "pad.flac")])
        assert {t.path.name for t in library.tracks()} == {"beat.mp3", "sweep.ogg"}


def test_precision_is_part_of_the_model_key_and_checked(tmp_path):
    from app.library import Library, model_key
    from zsl_core.errors import ModelError

    assert model_key("default") == "default-3"
    assert model_key("default", precision="bf16") == "default-3+bf16"
    with Library(db_path=tmp_path / "a.sqlite3", precision="bf16", device="cpu") as fast:
        assert fast.model_name == "default-3+bf16"
        tagger = fast.tagger
        assert isinstance(tagger, DefaultTagger) and tagger.precision == "bf16"
        # bf16 is the musicnn front ends' option; the cheap VGG networks always run fp32.
        precisions = {name: m.precision for name, m in tagger.models.items()}
        assert precisions == {
            "MSD_musicnn": "bf16",
            "MTT_musicnn": "bf16",
            "MSD_vgg": "fp32",
            "MTT_vgg": "fp32",
        }
    with pytest.raises(ModelError):
        Library(db_path=tmp_path / "b.sqlite3", precision="fp16")


def test_tag_prior_is_the_librarys_average_track(scanned: Library, monkeypatch) -> None:
    from app import library as library_module

    assert scanned.tag_prior() is None  # three tracks say nothing about what is typical
    monkeypatch.setattr(library_module, "PRIOR_MIN_TRACKS", 2)
    prior = scanned.tag_prior()
    assert prior is not None
    _, seen, _ = scanned._search_matrix()
    tagger = scanned.tagger
    assert prior["electronic"] == pytest.approx(
        float(seen[:, tagger.seen_labels.index("electronic")].mean())
    )
    assert 0.0 <= prior["orchestral"] <= 1.0  # new words too
    track_id = scanned.tracks()[0].id
    picked = scanned.proposals(track_id, top_k=3, min_confidence=0)
    prediction = scanned.prediction(track_id, top_k=40)
    assert prediction is not None
    expected = prediction.pick(3, min_confidence=0, prior=prior)
    assert [t.tag for t in picked] == [t.tag for t in expected]


def test_listing_holds_what_the_rule_allows_with_every_proposal_in_it(scanned: Library) -> None:
    """A tag panel lists the one rule's candidates without its floor (`Library.listing`), not the
    model's raw top words: no new word that only echoes a trained word listed beside it."""
    from app.library import LIST_FLOOR, LISTED
    from zsl_core.tagger import REPEAT_SHARE
    from zsl_core.tags import tag_key

    track_id = _id(scanned, "beat.mp3")
    panel, proposed = scanned.listing(track_id, top_k=3)
    assert panel is not None
    listed = [*panel.seen, *panel.unseen]
    assert [t.tag for t in proposed] == [t.tag for t in scanned.proposals(track_id, top_k=3)]
    assert {t.tag for t in proposed} <= {t.tag for t in listed}
    assert len(listed) <= LISTED + len(proposed)
    assert all(t.seen for t in panel.seen) and not any(t.seen for t in panel.unseen)
    assert all((t.confidence or 0) >= LIST_FLOOR for t in listed if t not in proposed)
    trained = {tag_key(t.tag) for t in panel.seen}

    def echo(tag) -> float:
        return sum(share for label, share in tag.basis if tag_key(label) in trained)

    assert all(echo(t) < REPEAT_SHARE for t in panel.unseen)
    # The raw top words of the same track do hold such echoes ("acid techno" of "techno", ...).
    raw = scanned.prediction(track_id, top_k=LISTED)
    assert raw is not None and any(echo(t) >= REPEAT_SHARE for t in raw.unseen)
    assert scanned.listing(10**9) == (None, [])


def test_ticked_words_resolve_to_their_tags_wherever_the_model_ranks_them(scanned: Library) -> None:
    from zsl_core.tags import TagKind

    track_id = _id(scanned, "pad.flac")
    proposed = [t.tag for t in scanned.proposals(track_id, top_k=3)]
    assert [t.tag for t in scanned.ticked_tags([track_id], proposed)] == proposed
    far = scanned.ticked_tags([track_id], ["death metal", "not a word the model knows"])
    assert [(t.tag, t.kind) for t in far] == [("death metal", TagKind.GENRE)]
    album = scanned.ticked_tags([t.id for t in scanned.tracks()], ["death metal"], album=True)
    assert [t.tag for t in album] == ["death metal"]
    assert scanned.ticked_tags([10**9], ["rock"]) == [] and scanned.ticked_tags([], ["rock"]) == []
