"""`rank_tracks`' fast path (column-by-column product, floor bound, partial sort) gives what
scoring every track with `tagger.score_words` and a stable sort of everything gives: the same
hits in the same order (ties by row), the same `below_floor`, scores within float32 rounding;
for float16 column-major scores (what `Library` ranks) exactly as for their float32 copy."""

from __future__ import annotations

import numpy as np
import pytest

from zsl_core import default_model as dm
from zsl_core.search import _EPS, RELEVANCE_FLOOR, parse_query, rank_tracks
from zsl_core.tags import load_vocabulary
from zsl_core.vectors import normalise_tag

QUERIES = [
    "metal",
    "piano",
    "orchestral",
    "calm piano jazz",
    "dark ambient electronic",
    "sad acoustic guitar",
    "rainy day",
    "spoken word",
]


@pytest.fixture(scope="module")
def tagger() -> dm.DefaultTagger:
    return dm.load_default_tagger(device="cpu")


@pytest.fixture(scope="module")
def phrases() -> set[str]:
    return {normalise_tag(w) for w in load_vocabulary()}


@pytest.fixture(scope="module")
def seen(tagger) -> np.ndarray:
    """Sparse, musicnn-like probabilities, rounded to float16 like the index (many exact ties)."""
    rng = np.random.default_rng(3)
    n, m = 3000, len(tagger.seen_labels)
    p = 1 / (1 + np.exp(-rng.normal(-4.5, 1.2, (n, m))))
    active = rng.random((n, m)) < 0.06
    p[active] = 1 / (1 + np.exp(-rng.normal(0.3, 1.5, active.sum())))
    p[::7, tagger.seen_labels.index("metal")] = 1.0  # exact ties at the top
    return p.astype(np.float16).astype(np.float32)


def reference(tagger, seen, query, top_k, floor):
    per_term, found, _, _ = tagger.score_words(None, seen, query.terms)
    per_term = np.asarray(per_term, np.float32)
    combined = np.exp(np.log(np.clip(per_term, _EPS, 1.0)).mean(axis=1))
    passing = np.flatnonzero(combined >= floor)
    order = passing[np.argsort(-combined[passing], kind="stable")][:top_k]
    return order, combined[order], per_term[order], len(seen) - len(passing)


@pytest.mark.parametrize("text", QUERIES)
@pytest.mark.parametrize("top_k,floor", [(20, RELEVANCE_FLOOR), (50, 0.0), (5, 0.3), (4000, 0.05)])
def test_fast_ranking_is_the_full_product_and_sort(tagger, phrases, seen, text, top_k, floor):
    rows, scores, per_term, below = reference(
        tagger, seen, parse_query(text, tagger, phrases), top_k, floor
    )
    for matrix in (seen, np.asfortranarray(seen.astype(np.float16))):
        ranking = rank_tracks(
            tagger, matrix, None, parse_query(text, tagger, phrases), top_k=top_k, floor=floor
        )
        np.testing.assert_array_equal(ranking.rows, rows)
        np.testing.assert_allclose(ranking.scores, scores, rtol=2e-6, atol=1e-7)
        np.testing.assert_allclose(ranking.term_scores, per_term, rtol=2e-6, atol=1e-7)
        assert ranking.below_floor == below


def test_a_seen_word_is_its_column_exactly_and_ties_go_by_row(tagger, phrases, seen):
    ranking = rank_tracks(
        tagger,
        np.asfortranarray(seen.astype(np.float16)),
        None,
        parse_query("metal", tagger, phrases),
        top_k=30,
    )
    column = seen[:, tagger.seen_labels.index("metal")]
    np.testing.assert_array_equal(ranking.term_scores[:, 0], column[ranking.rows])
    tied = ranking.rows[ranking.scores == ranking.scores[0]]
    assert list(tied) == sorted(tied) and len(tied) > 1
