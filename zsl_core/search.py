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

from dataclasses import dataclass, field
from typing import Any, Collection

import numpy as np

from zsl_core.errors import ZslError
from zsl_core.tags import STOP_WORDS, ScoreKind
from zsl_core.vectors import normalise_tag

__all__ = ["Query", "parse_query", "Ranking", "rank_tracks", "RELEVANCE_FLOOR", "SIMILARITY_FLOOR",
           "EmptyQueryError"]

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


def parse_query(text: str, tagger: Any, phrases: Collection[str] = ()) -> Query:
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
            phrase = " ".join(words[i:i + n])
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


def rank_tracks(tagger: Any, seen_scores: np.ndarray, embeddings: np.ndarray | None, query: Query,
                top_k: int = 20, floor: float | None = None) -> Ranking:
    """Rank every track (rows of `seen_scores` / `embeddings`) for a parsed query."""
    n = len(seen_scores) if seen_scores is not None else len(embeddings)
    empty = Ranking(query, np.zeros(0, np.int64), np.zeros(0, np.float32), np.zeros((0, len(query.terms))))
    if n == 0 or not query.terms or top_k <= 0:
        return empty
    per_term, found, missing, kind = tagger.score_words(embeddings, seen_scores, query.terms)
    if missing:
        query.unknown += [t for t in missing if t not in query.unknown]
        query.terms = [t for t in query.terms if t in found]
    empty.score_kind = kind
    if not found:
        return empty
    per_term = np.asarray(per_term, np.float32)
    if kind is ScoreKind.PROBABILITY:
        combined = np.exp(np.log(np.clip(per_term, _EPS, 1.0)).mean(axis=1))
        floor = RELEVANCE_FLOOR if floor is None else floor
    else:
        combined = per_term.mean(axis=1)
        floor = SIMILARITY_FLOOR if floor is None else floor
    passing = np.flatnonzero(combined >= floor)
    if len(passing) > top_k:  # only the best top_k need sorting (a full sort of 1M rows is ~80 ms)
        best = np.argpartition(-combined[passing], top_k - 1)[:top_k]
        passing_top = passing[best]
    else:
        passing_top = passing
    order = passing_top[np.argsort(-combined[passing_top], kind="stable")]
    return Ranking(query, order.astype(np.int64), combined[order], per_term[order], kind,
                   below_floor=int(n - len(passing)))


def describe_unknown(query: Query) -> str | None:
    """One line naming what the search could not use, or None."""
    if not query.unknown:
        return None
    words = ", ".join(query.unknown)
    return f"not a word the model knows, ignored: {words}"

