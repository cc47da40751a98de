"""Search by words: a typed query -> terms -> one relevance per track -> ranked hits above a floor.

Why this shape (and not "mean word vector, cosine with every track" as before): a listener who
types "sad" means the model's own judgement of sadness, which for a word the networks were
trained on is their probability, not the cosine of two vectors (that ranked death metal first
for "sad"). So every term is scored on the probability scale:

* a seen word ("sad", "metal", "piano") by the networks' probability;
* any other word ("melancholic", "orchestral") by the probability read off its nearest seen
  labels in word space (`DefaultTagger.word_affinities`);
* a phrase by the geometric mean of its terms' probabilities, so "calm piano" wants both, and a
  term's own scale (some tags are rarely above 0.2) does not change the ranking;
* filler words ("music for a rainy day": "music", "for", "a") are dropped, and words nobody
  knows are named, never silently turned into noise.

Tracks below `RELEVANCE_FLOOR` are not matches: a query that matches nothing says so instead of
listing the whole library. Models whose scores are cosines (a deep embedding model from
`zsl-core train`) go through the same steps with the mean cosine and `SIMILARITY_FLOOR`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np

from zsl_core.errors import ZslError
from zsl_core.tagger import Tagger
from zsl_core.tags import STOP_WORDS, ScoreKind
from zsl_core.vectors import normalise_tag

__all__ = [
    "Query",
    "parse_query",
    "Ranking",
    "rank_tracks",
    "RELEVANCE_FLOOR",
    "SIMILARITY_FLOOR",
    "EmptyQueryError",
]

RELEVANCE_FLOOR = 0.1  # combined probability below which a track is not shown as a match
SIMILARITY_FLOOR = 0.1  # the same for cosine-scored models
_MAX_PHRASE = 4  # words in the longest known phrase tried ("drum and bass", "music for a party")
_EPS = 1e-4


class EmptyQueryError(ZslError, ValueError):
    """The query holds no word at all (a usage error, not an empty result)."""


@dataclass
class Query:
    """A typed query as the model reads it."""

    text: str
    terms: list[str] = field(default_factory=list)  # known words and phrases, in typed order
    ignored: list[str] = field(default_factory=list)  # filler words
    unknown: list[str] = field(default_factory=list)  # words the model cannot place


def parse_query(text: str, tagger: Tagger, phrases: Collection[str] = ()) -> Query:
    """Split a query into terms the tagger knows: the longest known phrase first ("hip hop",
    "rainy day": a seen label or one of `phrases`, normalised), then single words; filler
    words are ignored, other words are unknown.

    Raises EmptyQueryError for a query with no word in it.
    """
    words = normalise_tag(text or "").split()
    if not words:
        raise EmptyQueryError("the search query is empty: type a word or phrase")
    query = Query(text)
    known = set(phrases) | {normalise_tag(label) for label in tagger.seen_labels}
    i = 0
    while i < len(words):
        for n in range(min(_MAX_PHRASE, len(words) - i), 1, -1):
            phrase = " ".join(words[i : i + n])
            if phrase in known:
                query.terms.append(phrase)
                i += n
                break
        else:
            word = words[i]
            if word in STOP_WORDS:
                query.ignored.append(word)
            elif tagger.knows_word(word):
                query.terms.append(word)
            else:
                query.unknown.append(word)
            i += 1
    query.terms = list(dict.fromkeys(query.terms))
    if not query.terms and query.ignored and not query.unknown:
        # Only filler words ("music"): search for them after all rather than for nothing.
        query.terms = [w for w in query.ignored if tagger.knows_word(w)]
        query.ignored = [w for w in query.ignored if w not in query.terms]
    return query


@dataclass
class Ranking:
    """Tracks (row indices into what was ranked) best first, their relevance, and per term."""

    query: Query
    rows: np.ndarray
    scores: np.ndarray
    term_scores: np.ndarray  # [len(rows), len(query.terms)]
    score_kind: ScoreKind = ScoreKind.PROBABILITY
    below_floor: int = 0  # tracks that scored something but not enough to be shown


def rank_tracks(
    tagger: Tagger,
    seen_scores: np.ndarray | None,
    embeddings: np.ndarray | None,
    query: Query,
    top_k: int = 20,
    floor: float | None = None,
) -> Ranking:
    """Rank every track (rows of `seen_scores` / `embeddings`) for a parsed query.

    How it stays fast at a million tracks (docs/PERFORMANCE.md, `bench_search.py`): for a model
    that scores words as `seen_scores @ word_affinities` (the built-in one) the product is taken
    column by column over the few seen labels each term reads (one for a seen word, at most 5
    for a new one), so a one-word query reads one or a few columns instead of all 71; give
    `seen_scores` column-major (`Library` does: float16, [n, 71] in Fortran order) and each
    column is one contiguous read. Only tracks that can pass the floor (a cheap product bound)
    get the geometric mean, and only the best `top_k` are sorted. The hits, their order (ties
    by row, as a stable sort of everything) and `below_floor` are those of scoring every track
    with `tagger.score_words`; scores agree with that product within float32 rounding.
    """
    rows = seen_scores if seen_scores is not None else embeddings
    assert rows is not None, "rank_tracks needs seen scores or embeddings"
    n = len(rows)
    empty = Ranking(
        query, np.zeros(0, np.int64), np.zeros(0, np.float32), np.zeros((0, len(query.terms)))
    )
    if n == 0 or not query.terms or top_k <= 0:
        return empty
    per_term, found, missing, kind = _score_terms(tagger, seen_scores, embeddings, query.terms)
    if missing:
        query.unknown += [t for t in missing if t not in query.unknown]
        query.terms = [t for t in query.terms if t in found]
    empty.score_kind = kind
    if not found:
        return empty
    if kind is ScoreKind.PROBABILITY:
        floor = RELEVANCE_FLOOR if floor is None else floor
        passing, combined = _passing_geometric_mean(per_term, floor)
    else:
        per_term = np.asarray(per_term, np.float32)
        combined = per_term.mean(axis=1)
        floor = SIMILARITY_FLOOR if floor is None else floor
        passing = np.flatnonzero(combined >= floor)
        combined = combined[passing]
    best = _top_rows(combined, top_k)  # positions in `passing`, best first
    order = passing[best]
    return Ranking(
        query,
        order.astype(np.int64),
        combined[best],
        np.asarray(per_term[order], np.float32),
        kind,
        below_floor=int(n - len(passing)),
    )


def _score_terms(
    tagger: Tagger, seen_scores: np.ndarray | None, embeddings: np.ndarray | None, terms: list[str]
) -> tuple[np.ndarray, list[str], list[str], ScoreKind]:
    """`tagger.score_words`, column by column for a probability model that reads words off its
    seen labels (`word_affinities`); otherwise the tagger's own product."""
    if (
        embeddings is not None
        or seen_scores is None
        or tagger.seen_score_kind is not ScoreKind.PROBABILITY
    ):
        return tagger.score_words(embeddings, seen_scores, terms)
    affinities = tagger.word_affinities(terms)
    if affinities is None:  # probabilities, but words are not read off the seen labels
        return tagger.score_words(embeddings, seen_scores, terms)
    affinity, found, missing = affinities
    seen = np.asarray(seen_scores)
    if seen.ndim != 2 or seen.shape[1] != affinity.shape[0]:
        return tagger.score_words(embeddings, seen_scores, terms)
    per_term = np.empty((len(seen), len(found)), np.float32, order="F")
    scratch = None
    for t in range(len(found)):
        out = per_term[:, t]
        labels = np.flatnonzero(affinity[:, t])
        if len(labels) == 0:
            out[:] = 0.0
            continue
        for i, label in enumerate(labels.tolist()):
            weight = np.float32(affinity[label, t])
            if i == 0:
                target = out
            else:
                scratch = np.empty(len(seen), np.float32) if scratch is None else scratch
                target = scratch
            if seen.dtype == np.float32:
                np.multiply(seen[:, label], weight, out=target)
            else:  # float16: a plain conversion first (SIMD), ~1.5x faster than a mixed-type product
                np.copyto(target, seen[:, label])
                if weight != 1.0:
                    target *= weight
            if i:
                out += target  # the scratch row
    return per_term, found, missing, ScoreKind.PROBABILITY


def _passing_geometric_mean(per_term: np.ndarray, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """(rows whose geometric mean of clipped term probabilities is >= floor, that mean for them).

    The mean, exp(mean(log p)), is what a track is ranked and shown by; it is computed only
    for rows whose product of clipped probabilities clears floor^m with a margin far wider than
    float32 rounding, so no passing row is missed, and the final test is the exact one."""
    m = per_term.shape[1]
    if m == 1:
        bound = per_term[:, 0]
    else:
        bound = np.clip(per_term[:, 0], _EPS, 1.0)
        for t in range(1, m):
            bound *= np.clip(per_term[:, t], _EPS, 1.0)
    target = float(floor) ** m * (1.0 - 1e-3) if floor > _EPS else -np.inf  # below _EPS: every row
    candidates = np.flatnonzero(bound >= target)
    values = np.asarray(per_term[candidates], np.float32)
    combined = np.exp(np.log(np.clip(values, _EPS, 1.0)).mean(axis=1))
    keep = combined >= floor
    return candidates[keep], combined[keep]


def _top_rows(values: np.ndarray, top_k: int) -> np.ndarray:
    """Positions of the `top_k` largest values, best first, ties in position order: the first
    `top_k` of a stable sort of all of them, with only the best `top_k` sorted."""
    if len(values) > top_k:
        kth = values[np.argpartition(-values, top_k - 1)[top_k - 1]]
        above = np.flatnonzero(values > kth)
        ties = np.flatnonzero(values == kth)[: top_k - len(above)]
        chosen = np.sort(np.concatenate([above, ties]))
    else:
        chosen = np.arange(len(values))
    return chosen[np.argsort(-values[chosen], kind="stable")]


def describe_unknown(query: Query) -> str | None:
    """One line naming what the search could not use, or None."""
    if not query.unknown:
        return None
    words = ", ".join(query.unknown)
    return f"not a word the model knows, ignored: {words}"
