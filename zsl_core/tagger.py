"""One interface for every model that tags music: predict tags for a track, rank tracks for words.

Every tagger maps audio and words into one joint space and scores them by cosine relevance,
as the paper's deep embedding model does (section 4.1). That single idea serves three models:

* a deep embedding model trained with `zsl-core train` (audio CNN + semantic module);
* a classification model made zero-shot by ConSE (a track is placed at the convex combination
  of its most probable seen labels' word vectors, Norouzi et al. 2013, the paper's ref. [19]);
* the built-in pretrained default (musicnn + GloVe through ConSE).

So the app, `zsl-core predict` and `zsl-core search` never need to know which model they hold.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from zsl_core import audio as audio_io
from zsl_core.tags import INCLUDE, PROPOSE_FLOOR, Include, ScoreKind, TagKind, TagScore, tag_key
from zsl_core.vectors import normalise_tag

__all__ = ["Tagger", "Prediction", "TagScore", "cosine_matrix"]

SPEECH_LABEL = "spoken word"  # the seen label a speech detector scores (see default_model)
SPEECH_THRESHOLD = 0.5  # above it a track is speech: no genre or mood is proposed for it
GROUNDED_SHARE = (
    0.4  # a new word is proposed only with this share of its basis on its own kind family
)
REPEAT_SHARE = (
    0.5  # a new word reading this share of its probability off tags already picked repeats them
)


@dataclass
class Prediction:
    """The tags a model proposes for one track, best first, seen and unseen kept apart."""

    path: str
    seen: list[TagScore] = field(default_factory=list)
    unseen: list[TagScore] = field(default_factory=list)
    missing_words: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "seen": [t.to_dict() for t in self.seen],
            "unseen": [t.to_dict() for t in self.unseen],
            "missing_words": list(self.missing_words),
        }

    @property
    def speech(self) -> float:
        """The probability that the track is speech, not music (0 when the model cannot tell)."""
        return next((t.confidence or 0.0 for t in self.seen if t.tag == SPEECH_LABEL), 0.0)

    def pick(
        self,
        top_k: int = 5,
        min_confidence: float | None = None,
        include: Include = "both",
        kinds: Sequence[TagKind] | None = None,
        prior: Mapping[str, float] | None = None,
    ) -> list[TagScore]:
        """The tags to propose or write, best first: the one rule the CLI, the GUI and search use.

        Seen and new words are ranked together by `confidence` (one 0-1 scale), tags below
        `min_confidence` (default `PROPOSE_FLOOR`) are dropped, as are repeats of one tag
        spelled differently. A track that is speech gets no genre or mood but "spoken word".
        `include`: both, seen or unseen. `kinds`: only tags of these kinds.

        `prior`: each word's mean confidence over the library the track belongs to. With it,
        tags rank by how much more likely they are for this track than for the library's
        average track (`confidence - prior`): a word that is likely everywhere ("electronic" in
        a library of game music) says nothing about one track and stops topping every list.
        """
        if include not in INCLUDE:
            raise ValueError(f"include must be one of {INCLUDE}, not {include!r}")
        floor = PROPOSE_FLOOR if min_confidence is None else min_confidence
        pool = ([*self.seen] if include in ("both", "seen") else []) + (
            [*self.unseen] if include in ("both", "unseen") else []
        )
        if prior:
            pool.sort(key=lambda t: -((t.confidence or 0.0) - prior.get(t.tag, 0.0)))
        else:
            pool.sort(key=lambda t: -(t.confidence or 0.0))
        speech = self.speech >= SPEECH_THRESHOLD

        def allowed(tag: TagScore) -> bool:
            if (tag.confidence or 0.0) < floor or (kinds is not None and tag.kind not in kinds):
                return False
            if tag.tag == SPEECH_LABEL:
                return speech
            return not (speech and tag.kind in (TagKind.GENRE, TagKind.MOOD))

        # The trained words this track would get anyway: a new word mostly read off them repeats
        # them ("heavy metal" beside "metal", "technical" beside "techno" and "electronic").
        seen_keys = {tag_key(t.tag) for t in [t for t in pool if t.seen and allowed(t)][:top_k]}
        chosen: list[TagScore] = []
        keys: set[str] = set()
        for tag in pool:
            if len(chosen) >= top_k:
                break
            if tag_key(tag.tag) in keys or not allowed(tag):
                continue
            if (
                not tag.seen
                and sum(share for label, share in tag.basis if tag_key(label) in keys | seen_keys)
                >= REPEAT_SHARE
            ):
                continue
            if not tag.seen and tag.grounding < GROUNDED_SHARE:
                continue  # read off trained words of another kind: a guess from its name
            keys.add(tag_key(tag.tag))
            chosen.append(tag)
        return chosen


def cosine_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity of every row of `a` with every row of `b` (zero rows score 0)."""
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    a = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-12)
    return a @ b.T


class Tagger(ABC):
    """A model that embeds audio and words in one space.

    Subclasses implement `embed_segments` (audio -> one track vector) and `embed_words`
    (words -> vectors in the same space). Everything else (files, windows, prediction,
    ranking) is shared, so every model behaves the same way for the app.
    """

    name: str = "tagger"
    seen_score_kind: ScoreKind = ScoreKind.SIMILARITY  # what `seen_scores` holds
    sample_rate: int = audio_io.SAMPLE_RATE
    window_seconds: float = 3.0
    seen_labels: list[str] = []

    # --- what a model must provide -------------------------------------------------------
    @abstractmethod
    def embed_segments(self, segments: Sequence[np.ndarray]) -> np.ndarray:
        """One track embedding [d] from mono clips at `sample_rate` (a whole track or windows of it)."""

    @abstractmethod
    def embed_words(self, words: Sequence[str]) -> tuple[np.ndarray, list[str], list[str]]:
        """Embeddings [m, d] of the words it can embed, the words found, and the words missing."""

    # --- shared behaviour ---------------------------------------------------------------
    def embed_file(self, path: str | Path, n_windows: int | None = None) -> np.ndarray:
        """Track embedding of a file: the whole track, or `n_windows` evenly spaced windows (faster).

        Raises AudioError for files that cannot be decoded.
        """
        if n_windows:
            windows = audio_io.load_windows(path, n_windows, self.window_seconds, self.sample_rate)
            return self.embed_segments(list(windows))
        return self.embed_segments([audio_io.load_audio(path, self.sample_rate)])

    def seen_label_embeddings(self) -> np.ndarray:
        """Embeddings of the seen labels, cached: they are scored against every track."""
        if getattr(self, "_seen_cache", None) is None:
            matrix, found, missing = self.embed_words(self.seen_labels)
            if missing:
                # Seen labels were embeddable at training time; keep rows aligned anyway.
                full = np.zeros(
                    (len(self.seen_labels), matrix.shape[1] if matrix.size else 1), np.float32
                )
                index = {w: i for i, w in enumerate(found)}
                for row, label in enumerate(self.seen_labels):
                    if label in index:
                        full[row] = matrix[index[label]]
                matrix = full
            self._seen_cache = matrix
        return self._seen_cache

    def scores(self, track_embeddings: np.ndarray, word_embeddings: np.ndarray) -> np.ndarray:
        """Relevance of every track to every word: cosine in the joint space (paper eq. 2)."""
        return cosine_matrix(np.atleast_2d(track_embeddings), np.atleast_2d(word_embeddings))

    def seen_scores(self, track_embedding: np.ndarray) -> np.ndarray:
        """Scores of the seen labels for one track; a classifier may override with its probabilities."""
        return self.scores(track_embedding, self.seen_label_embeddings())[0]

    def predict_embedding(
        self,
        track_embedding: np.ndarray,
        top_k: int = 10,
        vocabulary: Sequence[str] | None = None,
        path: str = "",
    ) -> Prediction:
        """Top seen labels and top unseen vocabulary words for a track embedding."""
        return self.predict_scores(
            track_embedding,
            self.seen_scores(track_embedding),
            top_k=top_k,
            vocabulary=vocabulary,
            path=path,
        )

    def predict_scores(
        self,
        track_embedding: np.ndarray,
        seen_scores: np.ndarray,
        top_k: int = 10,
        vocabulary: Sequence[str] | None = None,
        path: str = "",
    ) -> Prediction:
        """Tags from a stored analysis (embedding + seen-label scores), no audio needed.

        What the library index keeps per track; seen tags take `seen_scores` as given (a
        model's probabilities survive a round trip through storage), unseen words are scored
        by cosine with the embedding.
        """
        seen_scores = np.asarray(seen_scores, dtype=np.float32).reshape(-1)
        if seen_scores.shape[0] != len(self.seen_labels):
            raise ValueError(
                f"expected {len(self.seen_labels)} seen scores, got {seen_scores.shape[0]}"
            )
        order = np.argsort(-seen_scores)[:top_k]
        seen = [
            TagScore(
                self.seen_labels[i], float(seen_scores[i]), True, score_kind=self.seen_score_kind
            )
            for i in order
        ]

        unseen: list[TagScore] = []
        missing: list[str] = []
        if vocabulary:
            seen_forms = {normalise_tag(label) for label in self.seen_labels}
            candidates = list(
                dict.fromkeys(w for w in vocabulary if normalise_tag(w) not in seen_forms)
            )
            if candidates:
                matrix, found, missing = self.vocabulary_embeddings(candidates)
                if found:
                    word_scores = self.scores(track_embedding, matrix)[0]
                    order = np.argsort(-word_scores)[:top_k]
                    kind_of = getattr(vocabulary, "kind", None)
                    unseen = [
                        TagScore(
                            found[i],
                            float(word_scores[i]),
                            False,
                            kind_of(found[i]) if kind_of else TagKind.OTHER,
                            ScoreKind.SIMILARITY,
                        )
                        for i in order
                    ]
        return Prediction(path=path, seen=seen, unseen=unseen, missing_words=list(missing))

    _VOCABULARY_CACHE_SIZE = 8

    def vocabulary_embeddings(
        self, words: Sequence[str]
    ) -> tuple[np.ndarray, list[str], list[str]]:
        """`embed_words` for a vocabulary, remembered: the app scores the same 1,000-word
        vocabulary for every track, and embedding it costs 30-70 ms where scoring costs 0.1 ms."""
        cache = self.__dict__.setdefault("_vocabulary_cache", {})
        key = tuple(words)
        hit = cache.get(key)
        if hit is None:
            hit = self.embed_words(list(words))
            while len(cache) >= self._VOCABULARY_CACHE_SIZE:
                try:
                    cache.pop(next(iter(cache)), None)
                except (RuntimeError, StopIteration):  # another thread changed it meanwhile
                    break
            cache[key] = hit
        matrix, found, missing = hit
        return matrix, list(found), list(missing)

    def predict(
        self,
        path: str | Path,
        top_k: int = 10,
        vocabulary: Sequence[str] | None = None,
        n_windows: int | None = None,
    ) -> Prediction:
        """Tags for one audio file (seen labels, then unseen words from `vocabulary`)."""
        embedding = self.embed_file(path, n_windows=n_windows)
        return self.predict_embedding(embedding, top_k=top_k, vocabulary=vocabulary, path=str(path))

    def stored_dim(self) -> int:
        """Size of the embedding a library stores per track (0: derived from the seen scores)."""
        return int(np.asarray(self.seen_label_embeddings()).shape[1])

    def track_embeddings(self, stored: np.ndarray, seen_scores: np.ndarray) -> np.ndarray:
        """Embeddings [n, d] of tracks from what a library stored for them."""
        return np.atleast_2d(np.asarray(stored, np.float32))

    def knows_word(self, word: str) -> bool:
        """The model can place this word (a seen label, or a word its vectors know)."""
        return bool(self.embed_words([word])[1])

    def score_words(
        self, embeddings: np.ndarray | None, seen_scores: np.ndarray | None, words: Sequence[str]
    ) -> tuple[np.ndarray, list[str], list[str], ScoreKind]:
        """Every track's relevance [n, m] to each word, and what kind of score it is: here the
        cosine of stored embeddings with the words' (paper eq. 2); a model that knows
        probabilities (the built-in one) scores them as probabilities instead."""
        matrix, found, missing = self.embed_words(list(words))
        if not found or embeddings is None:
            return (
                np.zeros((0 if embeddings is None else len(embeddings), 0), np.float32),
                found,
                missing,
                ScoreKind.SIMILARITY,
            )
        return self.scores(embeddings, matrix), found, missing, ScoreKind.SIMILARITY
