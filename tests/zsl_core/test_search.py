"""Search by words (`zsl_core.search`) on the built-in model, with seen-label probabilities we
choose, so every expectation is exact: seen words rank by their probability, new words by the
probability read off their nearest seen labels, phrases by the geometric mean, below the
floor nothing is a match, and words nobody knows are named."""

from __future__ import annotations

import numpy as np
import pytest

from zsl_core import default_model as dm
from zsl_core.search import RELEVANCE_FLOOR, EmptyQueryError, parse_query, rank_tracks
from zsl_core.tags import ScoreKind, load_vocabulary
from zsl_core.vectors import normalise_tag


@pytest.fixture(scope="module")
def tagger() -> dm.DefaultTagger:
    return dm.load_default_tagger(device="cpu")


@pytest.fixture(scope="module")
def phrases() -> set[str]:
    return {normalise_tag(w) for w in load_vocabulary()}


def library(
    tagger: dm.DefaultTagger, rows: dict[str, dict[str, float]]
) -> tuple[list[str], np.ndarray]:
    """Seen scores [n, 71] for named tracks, each a few label probabilities over a low floor."""
    names = list(rows)
    p = np.full((len(names), len(tagger.seen_labels)), 0.01, np.float32)
    for r, name in enumerate(names):
        for label, value in rows[name].items():
            p[r, tagger.seen_labels.index(label)] = value
    return names, p


def ranked(tagger, phrases, names, p, text, **kw) -> list[str]:
    ranking = rank_tracks(tagger, p, None, parse_query(text, tagger, phrases), **kw)
    return [names[i] for i in ranking.rows]


def test_parsing_finds_phrases_drops_filler_and_names_unknown_words(tagger, phrases):
    q = parse_query("Music for a road trip", tagger, phrases)
    assert q.terms == ["road trip"] and set(q.ignored) == {"music", "for", "a"} and q.unknown == []
    q = parse_query("music for a rainy day", tagger, phrases)
    assert q.terms == ["rainy", "day"] and q.unknown == []
    q = parse_query("hip-hop with heavy bass qqzzxv", tagger, phrases)
    assert q.terms[0] == "hip hop" and "qqzzxv" in q.unknown
    assert parse_query("muldjord", tagger, phrases).unknown == ["muldjord"]
    assert parse_query("music", tagger, phrases).terms == ["music"]  # only filler: search it anyway
    with pytest.raises(EmptyQueryError):
        parse_query("  ", tagger, phrases)


def test_a_seen_word_ranks_by_its_probability_not_by_a_cosine(tagger, phrases):
    names, p = library(
        tagger,
        {
            "sad piece": {"sad": 0.6, "classical": 0.7, "strings": 0.6},
            "metal song": {"metal": 0.9, "loud": 0.8, "sad": 0.12},
            "party song": {"dance": 0.8, "happy": 0.6},
        },
    )
    assert ranked(tagger, phrases, names, p, "sad") == [
        "sad piece",
        "metal song",
    ]  # party under the floor
    ranking = rank_tracks(tagger, p, None, parse_query("sad", tagger, phrases))
    assert ranking.scores[0] == pytest.approx(0.6) and ranking.score_kind is ScoreKind.PROBABILITY
    assert ranking.below_floor == 1


def test_new_words_read_their_probability_off_the_nearest_seen_labels(tagger, phrases):
    names, p = library(
        tagger,
        {
            "orchestra": {"classical": 0.8, "strings": 0.7, "violin": 0.6, "cello": 0.5},
            "metal": {"metal": 0.9, "hard rock": 0.6, "loud": 0.8},
            "club": {"techno": 0.8, "electronic": 0.8, "dance": 0.7},
        },
    )
    assert ranked(tagger, phrases, names, p, "orchestral")[0] == "orchestra"
    assert ranked(tagger, phrases, names, p, "thrash metal")[0] == "metal"
    assert ranked(tagger, phrases, names, p, "speech") == []  # nothing here is speech
    scores, found, missing, kind = tagger.score_words(None, p, ["orchestral", "metal"])
    assert found == ["orchestral", "metal"] and kind is ScoreKind.PROBABILITY
    assert np.all((scores >= 0) & (scores <= 1))
    np.testing.assert_allclose(scores[:, 1], p[:, tagger.seen_labels.index("metal")])


def test_a_phrase_wants_all_its_words(tagger, phrases):
    names, p = library(
        tagger,
        {
            "calm piano": {"piano": 0.8, "chill": 0.6, "quiet": 0.6},
            "loud piano": {"piano": 0.9, "loud": 0.8},
            "calm guitar": {"guitar": 0.8, "chill": 0.7, "quiet": 0.6},
        },
    )
    assert ranked(tagger, phrases, names, p, "calm piano")[0] == "calm piano"
    everything = ranked(tagger, phrases, names, p, "calm piano", floor=0.0)
    assert len(everything) == 3


def test_a_query_that_matches_nothing_is_no_match(tagger, phrases):
    names, p = library(tagger, {"a": {"rock": 0.05}, "b": {"pop": 0.05}})
    ranking = rank_tracks(tagger, p, None, parse_query("jazz", tagger, phrases))
    assert len(ranking.rows) == 0 and ranking.below_floor == 2
    assert RELEVANCE_FLOOR > 0.05
