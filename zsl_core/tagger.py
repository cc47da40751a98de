"""One interface for every model that tags music: predict tags for a track, rank tracks for words.

Every tagger maps audio and words into one joint space and scores them by cosine relevance,
as the paper's deep embedding model does (section 4.1). That single idea serves three models:

* a deep embedding model trained with `zsl-core train` (audio CNN + semantic module);
* a classification model made zero-shot by ConSE (a track is placed at the convex combination
  of its most probable seen labels' word vectors, Norouzi et al. 2013, the paper's ref. [19]);
* the built-in pretrained default (musicnn + GloVe through ConSE).

So the app, `zsl-core predict` and `zsl-core search` never need to know which model they hold.

What a caller may rely on is declared on `Tagger` itself, never probed: the input it wants
(`input_spec`: sample rate, window length and payload kind, so a torch-free decode worker can
prepare it), `batch_size`, `device`, `seen_labels` and what their scores are
(`seen_score_kind`), and `analyse`, which turns a batch of decoded payloads into one
`Analysis` per track (embedding, seen scores, their kind): what a library stores. A model
that reads new words off its seen labels' probabilities says so through `word_affinities`
(None otherwise).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from zsl_core import audio as audio_io
from zsl_core import dsp
from zsl_core.cosine import cosine_matrix
from zsl_core.errors import AudioError
from zsl_core.tags import (
    INCLUDE,
    KIND_FAMILIES,
    PROPOSE_FLOOR,
    Include,
    ScoreKind,
    TagKind,
    TagScore,
    Words,
    tag_key,
    word_kind,
)
from zsl_core.vectors import normalise_tag

__all__ = [
    "Tagger",
    "Prediction",
    "TagScore",
    "Analysis",
    "InputSpec",
    "PayloadKind",
    "cosine_matrix",
]

SPEECH_LABEL = "spoken word"  # the seen label a speech detector scores (see default_model)
SPEECH_THRESHOLD = 0.5  # above it a track is speech: no genre or mood is proposed for it
SPEECH_KIND = TagKind.GENRE  # the speech label's kind ("Spoken Word" is written as a genre)
SPEECH_MUSIC_SHARE = 0.1  # a speech word reads less than this off music labels of its own kind
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
        spelled differently. A track that is speech gets "spoken word" and words read off it
        ("narration"), no word that describes music.
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
            # A spoken text is not music: no word that describes music (a genre, a mood, an
            # instrument such as "vocoder", "fast"), only words read off the speech label itself.
            return not speech or speech_word(tag)

        # The trained words this track would get anyway: a new word mostly read off them repeats
        # them ("heavy metal" beside "metal", "technical" beside "techno" and "electronic").
        seen_keys = {tag_key(t.tag) for t in [t for t in pool if t.seen and allowed(t)][:top_k]}
        # How much of each trained label the chosen tags already stand for: a trained tag all
        # of itself, a new word each label's share of its basis.
        covered = dict.fromkeys(seen_keys, 1.0)
        chosen: list[TagScore] = []
        keys: set[str] = set()
        for tag in pool:
            if len(chosen) >= top_k:
                break
            if tag_key(tag.tag) in keys or not allowed(tag):
                continue
            if not tag.seen and repeats(tag, covered) >= REPEAT_SHARE:
                continue
            if not tag.seen and tag.grounding < GROUNDED_SHARE:
                continue  # read off trained words of another kind: a guess from its name
            keys.add(tag_key(tag.tag))
            chosen.append(tag)
            for label, share in ((tag.tag, 1.0),) if tag.seen else tag.basis:
                covered[tag_key(label)] = max(covered.get(tag_key(label), 0.0), share)
        return chosen


def repeats(tag: TagScore, covered: Mapping[str, float]) -> float:
    """How much of a new word's basis the tags already chosen stand for (0-1): the share it
    reads off trained tags chosen, plus the overlap with the bases of new words chosen.

    "heavy metal" beside "metal" repeats it (its basis is 0.9 metal); so do "glam rock" and
    "rocksteady" beside "garage rock": all three are read off rock, indie rock and hard rock
    (overlap 0.7-0.8), and a metal song's top five would otherwise be three guesses at rock."""
    return sum(min(share, covered.get(tag_key(label), 0.0)) for label, share in tag.basis)


def speech_word(tag: TagScore) -> bool:
    """A new word that names speech ("spoken", "narration"): one that can describe a spoken text,
    where a word read off the music labels cannot.

    Two conditions. It is read mostly (`REPEAT_SHARE`) off the speech label. And it is read off
    no music label of its own kind (under `SPEECH_MUSIC_SHARE`): a genre word that takes part of
    its probability from "soul" and "pop" names a genre of music, even when its spelling puts it
    nearest to the speech label ("gabber": 51% off "spoken word", 27% off soul and pop), while
    "narration" reads its rest off the voice labels ("choir", "vocals": instruments) and 4% off
    genres. The share of a word's basis on its own kind is its `grounding`; the speech label's
    kind is a genre (`SPEECH_KIND`), so for a genre word the speech share is part of it."""
    if tag.seen:
        return False
    share = sum(w for label, w in tag.basis if label == SPEECH_LABEL)
    own_music = tag.grounding - (share if SPEECH_KIND in KIND_FAMILIES[tag.kind] else 0.0)
    return share >= REPEAT_SHARE and own_music < SPEECH_MUSIC_SHARE


class PayloadKind(StrEnum):
    """What a decoded track is handed to a model as."""

    SEGMENTS = "segments"  # mono clips at the model's sample rate (a whole track or windows)
    PATCHES = "patches"  # musicnn log-mel patches [n, 187, 96] of every clip, concatenated


@dataclass(frozen=True)
class InputSpec:
    """The input a model declares: decoders (the scan's torch-free workers, `zsl-core embed`'s
    threads) read audio at `sample_rate`, cut `window_seconds` windows and prepare `payload`."""

    sample_rate: int
    window_seconds: float
    payload: PayloadKind = PayloadKind.SEGMENTS

    def read_segments(self, path: str | Path, n_windows: int | None = None) -> list[np.ndarray]:
        """The clips of a file: `n_windows` evenly spaced windows, or the whole track.

        Raises AudioError for a file that cannot be decoded or holds no samples."""
        if n_windows:
            return list(
                audio_io.load_windows(path, n_windows, self.window_seconds, self.sample_rate)
            )
        whole = audio_io.load_audio(path, self.sample_rate)
        if whole.size == 0:
            raise AudioError(str(path), "no audio samples")
        return [whole]

    def payload_of(self, segments: Sequence[np.ndarray]) -> Any:
        """What `Tagger.analyse` takes for one track: the clips, or their musicnn patches
        (numpy, `zsl_core.dsp`: the same in a decode worker and in the main process)."""
        if self.payload is PayloadKind.PATCHES:
            return dsp.segments_to_patches(segments)
        return list(segments)

    def decode(self, path: str | Path, n_windows: int | None = None) -> Any:
        """`payload_of(read_segments(...))`: a file as the model takes it (AudioError if not)."""
        return self.payload_of(self.read_segments(path, n_windows))


@dataclass(frozen=True)
class Analysis:
    """What a model says about one track, and all a library stores for it: the embedding (empty
    for a model that derives it from the seen scores, `Tagger.stored_dim` 0), the seen labels'
    scores and what kind of score they are."""

    embedding: np.ndarray
    seen_scores: np.ndarray
    score_kind: ScoreKind


class Tagger(ABC):
    """A model that embeds audio and words in one space.

    Subclasses implement `embed_segments` (audio -> one track vector) and `embed_words`
    (words -> vectors in the same space). Everything else (files, windows, prediction,
    ranking) is shared, so every model behaves the same way for the app. The attributes
    below are the interface callers read; a model overrides the values, never removes them.
    """

    name: str = "tagger"
    seen_score_kind: ScoreKind = ScoreKind.SIMILARITY  # what `seen_scores` holds
    sample_rate: int = audio_io.SAMPLE_RATE
    window_seconds: float = 3.0
    payload: PayloadKind = PayloadKind.SEGMENTS  # what `analyse` takes per track
    batch_size: int = 16  # inputs per forward pass; a scan queues 4 batches before it infers
    device: Any = "cpu"  # where the networks run (a torch.device or its name)
    seen_labels: list[str] = []

    @property
    def input_spec(self) -> InputSpec:
        """Sample rate, window length and payload kind this model analyses."""
        return InputSpec(int(self.sample_rate), float(self.window_seconds), self.payload)

    @property
    def on_gpu(self) -> bool:
        """Whether the networks run on a CUDA device (sizes a scan's decode pool)."""
        return str(self.device).partition(":")[0] == "cuda"  # torch.device or its name

    # --- what a model must provide -------------------------------------------------------
    @abstractmethod
    def embed_segments(self, segments: Sequence[np.ndarray]) -> np.ndarray:
        """One track embedding [d] from mono clips at `sample_rate` (a whole track or windows of it)."""

    @abstractmethod
    def embed_words(self, words: Sequence[str]) -> tuple[np.ndarray, list[str], list[str]]:
        """Embeddings [m, d] of the words it can embed, the words found, and the words missing."""

    # --- shared behaviour ---------------------------------------------------------------
    def analyse_track(self, segments: Sequence[np.ndarray]) -> Analysis:
        """One track's analysis from its clips: the embedding and the seen labels' cosines with
        it; a classifier overrides this to report its own probabilities."""
        embedding = np.asarray(self.embed_segments(segments), np.float32)
        scores = np.asarray(self.seen_scores(embedding), np.float32)
        return Analysis(embedding, scores, self.seen_score_kind)

    def analyse(self, payloads: Sequence[Any]) -> list[Analysis]:
        """One `Analysis` per track from decoded payloads (`input_spec.payload` kind), in order.
        A model that batches across tracks (the built-in one) overrides this."""
        return [self.analyse_track(segments) for segments in payloads]

    def analyse_file(self, path: str | Path, n_windows: int | None = None) -> Analysis:
        """`analyse` of one file: the whole track, or `n_windows` evenly spaced windows.

        Raises AudioError for files that cannot be decoded."""
        return self.analyse([self.input_spec.decode(path, n_windows)])[0]

    def embed_file(self, path: str | Path, n_windows: int | None = None) -> np.ndarray:
        """Track embedding of a file: the whole track, or `n_windows` evenly spaced windows (faster).

        Raises AudioError for files that cannot be decoded.
        """
        return self.embed_segments(self.input_spec.read_segments(path, n_windows))

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
        """Cosines of the seen labels with a track embedding. An embedding alone carries no
        probabilities: a classifier's come from `analyse` and travel as `Analysis.seen_scores`."""
        return self.scores(track_embedding, self.seen_label_embeddings())[0]

    def predict_embedding(
        self,
        track_embedding: np.ndarray,
        top_k: int = 10,
        vocabulary: Words | None = None,
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
        vocabulary: Words | None = None,
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
                    unseen = [
                        TagScore(
                            found[i],
                            float(word_scores[i]),
                            False,
                            word_kind(vocabulary, found[i]),
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
        vocabulary: Words | None = None,
        n_windows: int | None = None,
    ) -> Prediction:
        """Tags for one audio file (seen labels, then unseen words from `vocabulary`)."""
        analysis = self.analyse_file(path, n_windows)
        return self.predict_scores(
            analysis.embedding,
            analysis.seen_scores,
            top_k=top_k,
            vocabulary=vocabulary,
            path=str(path),
        )

    def stored_dim(self) -> int:
        """Size of the embedding a library stores per track (0: derived from the seen scores)."""
        return int(np.asarray(self.seen_label_embeddings()).shape[1])

    def track_embeddings(self, stored: np.ndarray, seen_scores: np.ndarray) -> np.ndarray:
        """Embeddings [n, d] of tracks from what a library stored for them."""
        return np.atleast_2d(np.asarray(stored, np.float32))

    def knows_word(self, word: str) -> bool:
        """The model can place this word (a seen label, or a word its vectors know)."""
        return bool(self.embed_words([word])[1])

    def is_seen(self, word: str) -> bool:
        """True for one of the seen labels (compared in normalised form)."""
        return normalise_tag(word) in {normalise_tag(label) for label in self.seen_labels}

    def word_affinities(
        self, words: Sequence[str], declared: Mapping[str, Sequence[str]] | None = None
    ) -> tuple[np.ndarray, list[str], list[str]] | None:
        """Weights [n_seen, m] that read each word's probability off the seen labels'
        (`DefaultTagger.word_affinities`), with the words found and missing; None for a model
        that scores words by cosine instead (this one)."""
        return None

    def vocabulary_affinities(
        self, words: Sequence[str], declared: Mapping[str, Sequence[str]] | None = None
    ) -> tuple[np.ndarray, list[str], list[str]] | None:
        """`word_affinities` of a vocabulary, remembered where a model has them; None here."""
        return None

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
