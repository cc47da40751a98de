"""The `Tagger` interface: what every model declares, so no caller probes or tests its class."""

from __future__ import annotations

from collections.abc import Sequence

import audio_factory
import numpy as np
import pytest

from zsl_core import dsp
from zsl_core.errors import AudioError
from zsl_core.tagger import Analysis, InputSpec, PayloadKind, Tagger
from zsl_core.tags import ScoreKind


class _Axes(Tagger):
    """Two seen labels on the axes of a 2-d space; a track's embedding is its clips' mean
    level on each half (a real, if tiny, model)."""

    seen_labels = ["low", "high"]
    sample_rate = 8000
    window_seconds = 1.0

    def embed_segments(self, segments: Sequence[np.ndarray]) -> np.ndarray:
        audio = np.concatenate(list(segments))
        half = len(audio) // 2
        return np.array([np.abs(audio[:half]).mean(), np.abs(audio[half:]).mean()], np.float32)

    def embed_words(self, words):
        known = {"low": [1.0, 0.0], "high": [0.0, 1.0], "both": [1.0, 1.0]}
        found = [w for w in words if w in known]
        matrix = np.array([known[w] for w in found], np.float32).reshape(-1, 2)
        return matrix, found, [w for w in words if w not in known]


def test_the_interface_declares_what_callers_read():
    tagger = _Axes()
    assert tagger.input_spec == InputSpec(8000, 1.0, PayloadKind.SEGMENTS)
    assert tagger.batch_size == 16 and tagger.device == "cpu" and not tagger.on_gpu
    assert tagger.seen_score_kind is ScoreKind.SIMILARITY
    assert tagger.word_affinities(["low"]) is None and tagger.vocabulary_affinities(["x"]) is None
    assert tagger.is_seen("Low") and not tagger.is_seen("both")
    tagger.device = "cuda:1"
    assert tagger.on_gpu


def test_analyse_gives_the_embedding_and_the_seen_cosines(tmp_path):
    tagger = _Axes()
    quiet_then_loud = np.concatenate([np.full(4000, 0.1), np.full(4000, 0.8)]).astype(np.float32)
    (analysis,) = tagger.analyse([[quiet_then_loud]])
    assert isinstance(analysis, Analysis) and analysis.score_kind is ScoreKind.SIMILARITY
    np.testing.assert_allclose(analysis.embedding, [0.1, 0.8], rtol=1e-6)
    np.testing.assert_allclose(
        analysis.seen_scores, np.array([0.1, 0.8]) / np.hypot(0.1, 0.8), rtol=1e-5
    )
    path = audio_factory.write_tone(tmp_path / "t.wav", 2.0, 8000, (440.0,))
    from_file = tagger.analyse_file(path)
    prediction = tagger.predict(path, top_k=2, vocabulary=["both"])
    assert [t.score for t in prediction.seen] == pytest.approx(
        sorted(from_file.seen_scores.tolist(), reverse=True)
    )
    assert prediction.unseen[0].tag == "both"


def test_input_spec_reads_windows_or_the_whole_track_and_refuses_an_empty_file(tmp_path):
    spec = InputSpec(16000, 3.0, PayloadKind.PATCHES)
    path = audio_factory.write_tone(tmp_path / "t.wav", 7.0, 22050, (220.0, 330.0))
    windows = spec.read_segments(path, 2)
    assert len(windows) == 2 and all(len(w) == 48000 for w in windows)
    (whole,) = spec.read_segments(path)
    assert abs(len(whole) - 7 * 16000) <= 1
    np.testing.assert_array_equal(spec.decode(path, 2), dsp.segments_to_patches(windows))
    assert InputSpec(16000, 3.0).payload_of(windows) == windows
    empty = audio_factory.write_signal(tmp_path / "empty.wav", np.zeros(0, np.float32), 16000)
    with pytest.raises(AudioError, match="empty.wav"):
        spec.read_segments(empty)
