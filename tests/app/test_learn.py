"""Learn from my library, guarded (app.learn): what a real scanned library offers, the refusal
when it cannot teach anything, training with measured progress, and the comparison with the
built-in model on the same held-out tracks (its scores read from the library's own analysis)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import audio_factory
import numpy as np
import pytest
from libfixtures import tag_file

from app import cli, learn
from app.library import Library

GENRES = {
    "rock": (110.0, 220.0),
    "jazz": (330.0, 415.0),
    "ambient": (880.0,),
    "techno": (1500.0, 60.0),
}


def write_library(folder: Path, tagged: Sequence[tuple[str, str | None]]) -> Path:
    """Tone files tagged with (genre, mood): each genre sounds different."""
    folder.mkdir(parents=True)
    for i, (genre, mood) in enumerate(tagged):
        freqs = tuple(f * (1 + 0.03 * (i % 4)) for f in GENRES.get(genre, (500.0,)))
        path = audio_factory.write_tone(folder / f"{genre}{i:02d}.wav", 3.5, 16000, freqs, "wav")
        tag_file(path, title=f"{genre} {i}", genre=[genre], mood=[mood] if mood else None)
    return folder


def scanned(tmp: Path, tagged: Sequence[tuple[str, str | None]]) -> Library:
    library = Library(tmp / "library.sqlite3")
    summary = library.scan([write_library(tmp / "music", tagged)], n_windows=2, workers=0)
    assert summary.scanned == len(tagged) and not summary.failed
    return library


@pytest.fixture(scope="module")
def four_genres_folder(tmp_path_factory) -> Path:
    """Where `four_genres` lives; its library.sqlite3 is where run_learning finds the analysis."""
    return tmp_path_factory.mktemp("four")


@pytest.fixture(scope="module")
def four_genres(four_genres_folder):
    tagged = [
        (genre, "calm" if genre in ("ambient", "jazz") else "energetic")
        for genre in GENRES
        for _ in range(4)
    ]
    library = scanned(four_genres_folder, tagged)
    yield library
    library.close()


def test_one_genre_library_is_refused_before_training(tmp_path, capsys):
    library = scanned(tmp_path, [("rock", "calm" if i % 2 else "energetic") for i in range(12)])
    try:
        rows = library.tracks()
    finally:
        library.close()
    offer = learn.library_offer(rows, ["genre"])
    assert offer.verdict == learn.REFUSE and not offer.can_learn
    assert offer.tagged == 12 and offer.counts == {"rock": 12}
    assert "same genre (rock)" in offer.reasons[0] and "nothing to tell apart" in offer.reasons[0]
    assert "12 of 12 tracks carry 1 distinct genre value(s): rock 12" in offer.summary()
    with pytest.raises(ValueError, match="same genre"):
        learn.prepare_work(offer, tmp_path / "work")
    assert not (tmp_path / "work").exists()
    # with the moods there are three values, but "rock" is on every track: a track tagged with
    # every learned word has nothing to be told apart from, so the split leaves too little
    both = learn.library_offer(rows, ["genre", "mood"])
    assert both.counts == {"rock": 12, "calm": 6, "energetic": 6} and not both.can_learn
    assert "Too few tracks to both train and test" in both.reasons[0]
    # the command line is guarded by the same function: the offer, then a one-line refusal
    db = str(tmp_path / "library.sqlite3")
    assert cli.main(["--db", db, "learn", "--fields", "genre"]) == cli.EXIT_ERROR
    out, error = capsys.readouterr()
    assert "12 of 12 tracks carry 1 distinct genre value(s)" in out
    assert error.startswith("zsl-tagger: cannot learn: Every tagged track has the same genre")
    assert not (tmp_path / "models").exists()  # nothing trained, nothing written


def test_cli_learn_check_says_what_the_library_offers(four_genres, four_genres_folder, capsys):
    db_path = four_genres_folder / "library.sqlite3"
    assert cli.main(["--db", str(db_path), "learn", "--check"]) == cli.EXIT_OK
    out, _ = capsys.readouterr()
    assert "16 of 16 tracks carry 6 distinct genre/mood value(s)" in out
    assert "held out to test it" in out


def test_failed_tracks_and_multi_value_tags():
    from app.library import TrackRow

    def row(i, genre, status="ok"):
        return TrackRow(
            i,
            Path(f"/m/{i}.mp3"),
            f"/m/{i}.mp3",
            None,
            None,
            None,
            genre,
            None,
            1.0,
            has_cover=False,
            status=status,
            error=None,
        )

    assert learn.track_values(row(1, "Rock; Pop, indie/folk"), ["genre"]) == [
        "rock",
        "pop",
        "indie",
        "folk",
    ]
    offer = learn.library_offer([row(1, "rock", "failed"), row(2, "Classic-Rock")], ["genre"])
    assert offer.looked_at == 1 and offer.counts == {"classic rock": 1} and not offer.can_learn


def test_two_values_on_too_few_tracks_are_refused_with_the_reason(four_genres):
    rows = [r for r in four_genres.tracks() if (r.genre or "").lower() in ("rock", "jazz")]
    offer = learn.library_offer(rows, ["genre"])
    assert offer.usable == ["jazz", "rock"] and not offer.can_learn
    assert offer.reasons[0] == "Only 8 tracks carry the usable values; learning needs at least 10."


def test_a_two_genre_library_learns_both_and_is_tested_on_held_out_tracks(tmp_path):
    """The paper's split would keep floor(0.8 x 2) = 1 genre to learn, every one of whose
    tracks carries every learned genre (no negative): nothing to train. Two genres are both
    learned instead, and tracks of each are held out to compare on."""
    from zsl_core.splits import make_split

    library = scanned(tmp_path, [(genre, None) for genre in ("rock", "jazz") for _ in range(6)])
    try:
        rows = library.tracks()
    finally:
        library.close()
    tags = {str(r.id): [str(r.genre).lower()] for r in rows}
    paper = make_split(tags, seed=learn.SEED, labels=["jazz", "rock"])
    assert len(paper.seen) == 1 and not paper.train["A"]  # why the paper's split cannot teach
    offer = learn.library_offer(rows, ["genre"])
    assert offer.verdict == learn.OK, offer.reasons
    assert offer.split is not None
    assert offer.split.seen == ["jazz", "rock"] and offer.split.unseen == []
    held = offer.held_out
    assert held and not set(held) & set(offer.train_ids)
    assert {tags[t][0] for t in held} == {"jazz", "rock"}  # each genre tested
    assert {tags[t][0] for t in offer.train_ids} == {"jazz", "rock"}  # and each learned
    assert "Both values are learned" in offer.summary()
    work = learn.prepare_work(offer, tmp_path / "work")
    result = learn.run_learning(work, 2, "cpu", db_path=tmp_path / "library.sqlite3")
    assert result.tracks == len(held)
    assert sorted(r.label for r in result.labels) == ["jazz", "rock"]
    assert all(r.learned for r in result.labels)
    assert result.builtin is not None and "%" in result.sentence()
    assert "words held out" not in result.details()  # none was


def test_comparison_is_said_in_percentages():
    assert learn.percent(0.8149) == "81%" and learn.percent(0.5) == "50%"
    assert learn.percent(None) == "not available" and learn.percent(float("nan")) == "not available"
    truth = np.array([[1, 0], [1, 0], [0, 1], [0, 1], [1, 1]])
    good = truth + 0.1 * np.arange(5)[:, None]
    won = learn.compare(truth, good, np.full(truth.shape, 0.5), ["rock", "calm"], ["rock"])
    assert won.sentence() == (
        "Your model: 100%, built-in: 50% on 5 tracks it never learned from (2 words) - "
        "recommended: yours"
    )
    assert "yours 100%, built-in 50%" in won.details() and "(100% vs 50%)" in won.reason
    assert won.details().endswith(learn.SCORE_MEANING)


def test_values_on_too_few_tracks_are_left_out(four_genres):
    rows = four_genres.tracks()
    offer = learn.library_offer(rows[:14], ["genre"])  # techno is on 2 tracks only
    assert offer.counts["techno"] == 2 and "techno" not in offer.usable
    assert all("techno" not in t.tags for t in offer.tracks)


def test_learning_compares_with_builtin_on_the_same_held_out_tracks(
    four_genres, four_genres_folder, tmp_path
):
    offer = learn.library_offer(four_genres.tracks())
    assert offer.verdict == learn.OK, offer.reasons
    assert offer.usable == ["ambient", "calm", "energetic", "jazz", "rock", "techno"]
    assert "16 of 16 tracks carry 6 distinct genre/mood value(s)" in offer.summary()
    held = offer.held_out
    assert held and not set(held) & set(offer.train_ids)
    work = learn.prepare_work(offer, tmp_path / "work")
    reports = []
    result = learn.run_learning(
        work,
        3,
        "cpu",
        db_path=four_genres_folder / "library.sqlite3",
        report=lambda *r: reports.append(r),
    )
    stages = [r[0] for r in reports]
    assert stages[0] == learn.FEATURES and reports[0][1] == 0  # reported before the first track
    assert (learn.FEATURES, 16, 16) in reports and (learn.TRAIN, 0, 3) in reports
    # the built-in model's scores came from the library's stored analysis: no track was decoded
    assert reports[-1] == (learn.BUILTIN, 0, 0) and stages.count(learn.BUILTIN) == 1
    assert result.tracks == len(held) and result.labels
    assert all(
        0.0 <= r.yours <= 1.0 and r.builtin is not None and 0.0 <= r.builtin <= 1.0
        for r in result.labels
    )
    assert result.builtin is not None and 0.0 <= result.yours <= 1.0
    assert result.recommended == (
        "yours" if result.yours >= max(result.builtin + learn.CLEAR_MARGIN, 0.55) else "builtin"
    )
    sentence = result.sentence()
    yours, builtin = learn.percent(result.yours), learn.percent(result.builtin)
    assert sentence.startswith(f"Your model: {yours}, built-in: {builtin} on {len(held)} tracks")
    assert yours == f"{round(100 * result.yours)}%" and "0." not in sentence
    saved = learn.Comparison.load(work / "comparison.json")
    assert saved.sentence() == sentence and saved.model_dir == str(work / "model")
    assert (work / "model" / "config.json").is_file() and (work / "results.json").is_file()


def test_compare_recommends_only_a_clear_win():
    truth = np.array([[1, 0], [1, 0], [0, 1], [0, 1], [1, 1]])
    good = truth + 0.1 * np.arange(5)[:, None]  # ranks every positive first
    flat = np.full(truth.shape, 0.5)
    won = learn.compare(truth, good, flat, ["rock", "calm"], learned=["rock"])
    assert won.recommended == "yours" and won.yours == 1.0 and won.builtin == 0.5
    assert [r.learned for r in won.labels] == [True, False]
    assert "words it learned (rock)" in won.details() and "held out from it (calm)" in won.details()
    tie = learn.compare(truth, good, good, ["rock", "calm"], learned=["rock"])
    assert tie.recommended == "builtin" and "as well or better" in tie.reason
    chance = learn.compare(truth, flat, None, ["rock", "calm"], learned=["rock"])
    assert chance.recommended == "builtin" and "guessing" in chance.reason
    everyone = np.ones_like(truth)  # no ranking to judge: no word can be tested
    none = learn.compare(everyone, good, flat, ["rock", "calm"], learned=["rock"])
    assert none.recommended == "builtin" and none.labels == []
    unscorable = good.astype(float)
    unscorable[:, 1] = np.nan  # a word the built-in model cannot read is left out of both
    part = learn.compare(truth, good, unscorable, ["rock", "calm"], learned=["rock"])
    assert [r.label for r in part.labels] == ["rock"]


def test_eta_is_measured_from_throughput():
    now = [100.0]
    clock = learn.StageClock(lambda: now[0])
    assert clock.update(learn.FEATURES, 0, 40) is None  # nothing measured yet: no guess
    now[0] = 110.0
    assert clock.update(learn.FEATURES, 10, 40) == pytest.approx(30.0)
    assert clock.update(learn.TRAIN, 0, 30) is None  # a new stage starts its own clock
    now[0] = 112.0
    assert clock.update(learn.TRAIN, 4, 30) == pytest.approx(13.0)
    text = learn.progress_text(learn.FEATURES, 10, 40, 30.0)
    assert text == "Listening to your tracks: 10 of 40 tracks, about 30 s left"
    assert learn.progress_text(learn.TRAIN, 4, 30, None).endswith("estimating time left…")
    line = learn.progress_line(learn.TRAIN, 4, 30)
    assert learn.parse_progress_line(line) == (learn.TRAIN, 4, 30)
    assert learn.parse_progress_line("epoch 4: loss 0.2") is None
