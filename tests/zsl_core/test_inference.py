"""`inference.analyse_files`: the threaded, batched analysis behind `zsl-core embed` gives the same
analysis as the tagger's own one-file analysis, in order, with bad files reported in place."""

import numpy as np
import pytest
import soundfile as sf

from zsl_core import inference
from zsl_core.errors import AudioError
from zsl_core.model_spec import ModelSpec
from zsl_core.tags import ScoreKind


def write_song(path, freq, seconds, sr=22050):
    t = np.arange(int(sr * seconds)) / sr
    sf.write(
        path, (0.3 * np.sin(2 * np.pi * freq * t) * np.exp(-(t % 0.5) * 4)).astype(np.float32), sr
    )
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("songs")
    junk = root / "junk.mp3"
    junk.write_bytes(b"\x00not audio" * 100)
    return [
        write_song(root / "a.wav", 440, 7.0),
        junk,
        write_song(root / "b.flac", 110, 4.0),
        write_song(root / "c.ogg", 1760, 9.0),
        root / "missing.wav",
    ]


@pytest.mark.parametrize("n_windows", [None, 2])
@pytest.mark.parametrize("threads, batch", [(1, 1), (2, 256)])
def test_same_results_as_one_file_at_a_time(files, n_windows, threads, batch):
    from zsl_core.default_model import DefaultTagger  # torch: loaded by load() anyway

    tagger = ModelSpec("default", device="cpu").load()
    assert isinstance(tagger, DefaultTagger)
    got = list(
        inference.analyse_files(tagger, files, n_windows, threads=threads, batch_patches=batch)
    )
    assert [index for index, _ in got] == list(range(len(files)))
    for index, outcome in got:
        if files[index].name in ("junk.mp3", "missing.wav"):
            assert isinstance(outcome, AudioError) and files[index].name in str(outcome)
            continue
        assert not isinstance(outcome, AudioError), outcome
        scores = tagger.musicnn_analysis_file(files[index], n_windows)[
            "probabilities"
        ]  # one file, unbatched
        assert outcome.embedding.shape == (0,)  # the built-in model stores none: it is derived
        assert outcome.score_kind is ScoreKind.PROBABILITY
        np.testing.assert_allclose(outcome.seen_scores, scores, atol=1e-5)
        np.testing.assert_allclose(
            tagger.track_embeddings(outcome.embedding, outcome.seen_scores)[0],
            tagger.track_embedding_from_probabilities(scores),
            atol=1e-5,
        )
