"""Tagger.predict_scores: tags from a stored (embedding, seen scores) pair, no audio."""

from __future__ import annotations

from collections.abc import Sequence

import audio_factory
import numpy as np
import pytest

from zsl_core.default_model import load_default_tagger
from zsl_core.errors import ModelError
from zsl_core.tagger import Tagger


class _ToyTagger(Tagger):
    """Three seen labels on the axes of a 3-d space; words are fixed vectors."""

    seen_labels = ["x", "y", "z"]
    _words = {"x": [1, 0, 0], "y": [0, 1, 0], "z": [0, 0, 1], "xy": [1, 1, 0], "yz": [0, 1, 1]}

    def embed_segments(self, segments: Sequence[np.ndarray]) -> np.ndarray:
        return np.array([1.0, 0.2, 0.0], np.float32)

    def embed_words(self, words):
        found = [w for w in words if w in self._words]
        missing = [w for w in words if w not in self._words]
        matrix = np.array([self._words[w] for w in found], np.float32).reshape(-1, 3)
        return matrix, found, missing


def test_generic_predict_scores_equals_predict_embedding() -> None:
    tagger = _ToyTagger()
    embedding = np.array([1.0, 0.2, 0.0], np.float32)
    direct = tagger.predict_embedding(embedding, top_k=2, vocabulary=["xy", "yz", "nope"], path="p")
    stored = tagger.predict_scores(
        embedding, tagger.seen_scores(embedding), top_k=2, vocabulary=["xy", "yz", "nope"], path="p"
    )
    assert stored == direct
    assert [t.tag for t in stored.seen] == ["x", "y"] and stored.unseen[0].tag == "xy"
    assert stored.missing_words == ["nope"]
    # Seen scores are taken as given, not recomputed from the embedding.
    given = tagger.predict_scores(embedding, np.array([0.1, 0.2, 0.9]), top_k=1)
    assert given.seen[0].tag == "z" and given.seen[0].score == pytest.approx(0.9)
    with pytest.raises(ValueError):
        tagger.predict_scores(embedding, np.zeros(5))


def test_default_model_from_float16_storage_matches_fresh_prediction(tmp_path) -> None:
    tagger = load_default_tagger(device="cpu")
    path = audio_factory.write_tone(tmp_path / "t.wav", 4.0, 16000, (330.0, 660.0))
    analysis = tagger.analyse_file(path, n_windows=1)
    vocabulary = ["clarinet", "drone", "zzqqxx"]
    fresh = tagger.predict_probabilities(analysis.seen_scores, top_k=5, vocabulary=vocabulary)
    embedding = tagger.track_embedding_from_probabilities(analysis.seen_scores)
    # What the library index stores: float16 bytes of both arrays.
    emb16 = embedding.astype(np.float16).astype(np.float32)
    p16 = analysis.seen_scores.astype(np.float16).astype(np.float32)
    stored = tagger.predict_scores(emb16, p16, top_k=5, vocabulary=vocabulary)
    assert [t.tag for t in stored.seen] == [t.tag for t in fresh.seen]
    assert [t.tag for t in stored.unseen] == [t.tag for t in fresh.unseen]
    assert stored.missing_words == ["zzqqxx"]
    for a, b in zip(stored.seen, fresh.seen, strict=True):
        assert a.score == pytest.approx(b.score, abs=1e-3)
    with pytest.raises(ModelError):
        tagger.predict_scores(embedding, np.zeros(3))


def test_vocabulary_is_embedded_once_and_reused() -> None:
    class Counting(_ToyTagger):
        calls = 0

        def embed_words(self, words):
            Counting.calls += "xy" in words  # the vocabulary (seen labels are embedded too)
            return super().embed_words(words)

    tagger = Counting()
    embedding = np.array([1.0, 0.2, 0.0], np.float32)
    first = tagger.predict_embedding(embedding, top_k=2, vocabulary=["xy", "yz", "nope"])
    again = tagger.predict_embedding(
        np.array([0.0, 0.2, 1.0], np.float32), top_k=2, vocabulary=["xy", "yz", "nope"]
    )
    assert Counting.calls == 1
    assert first.unseen[0].tag == "xy" and again.unseen[0].tag == "yz"
    assert again.missing_words == ["nope"]
    for n in range(20):  # the cache stays small
        tagger.vocabulary_embeddings([f"w{n}"])
    assert len(tagger.__dict__["_vocabulary_cache"]) <= tagger._VOCABULARY_CACHE_SIZE
