"""zsl_core.reproduce.corpus: which tags of a corpus folder are genres, moods and instruments."""

from __future__ import annotations

import pytest
from corpus_factory import GENRES, MOODS, make_corpus

from zsl_core import reproduce


def test_load_corpus_reads_genres_and_moods(tmp_path):
    corpus = reproduce.load_corpus(make_corpus(tmp_path / "c", n_tracks=12, seconds=0.5))
    assert set(corpus.genres) <= set(GENRES) and set(corpus.moods) <= set(MOODS)
    assert "guitar" in corpus.instruments
    with pytest.raises(Exception, match="no such corpus"):
        reproduce.load_corpus(tmp_path / "missing")
