"""The word space new words live in: the built-in sentence encoder (precomputed vocabulary,
live encoding for typed words, a lexicon that says which words are known) and GloVe."""

from __future__ import annotations

import numpy as np
import pytest

from zsl_core import default_model as dm
from zsl_core.tags import load_vocabulary
from zsl_core.vectors import WordVectors, normalise_tag
from zsl_core.word_space import SENTENCE_TABLE, TEMPLATE, SentenceSpace, load_word_space


@pytest.fixture(scope="module")
def space() -> SentenceSpace:
    loaded = load_word_space("minilm")
    assert isinstance(loaded, SentenceSpace)
    return loaded


def test_the_precomputed_table_covers_the_vocabulary_and_the_labels(space):
    table = WordVectors.load(SENTENCE_TABLE)
    wanted = {normalise_tag(w) for w in load_vocabulary()}
    wanted |= {normalise_tag(label.name) for label in dm.SEEN_LABELS}
    assert wanted <= set(table.words), sorted(wanted - set(table.words))[:10]
    assert table.dim == space.dim == 384


def test_precomputed_vectors_equal_live_encoding(space):
    for phrase in ("melancholic", "drum and bass", "spoken word"):
        live = space.encode([phrase])[0]
        stored = space.embed(phrase)
        assert float(live @ stored) / float(np.linalg.norm(stored)) > 0.999, phrase
    assert TEMPLATE.format("x") == "x music"


def test_typed_words_outside_the_table_are_encoded_live_and_unknown_words_are_none(space):
    assert "rainy afternoon" not in space.table
    vector = space.embed("rainy afternoon")
    assert vector is not None and vector.shape == (384,)
    assert space.embed("rainy afternoon") is vector  # remembered
    assert space.embed("muldjord") is None and not space.knows("muldjord")
    assert space.embed("") is None
    matrix, found, missing = space.embed_many(["sad", "qqzzxv", "calm"])
    assert found == ["sad", "calm"] and missing == ["qqzzxv"] and matrix.shape == (2, 384)


def test_side_information_space_embeds_every_label():
    loose = load_word_space("minilm", strict=False)
    assert loose.embed("muldjord") is not None


def test_meaning_in_the_sentence_space(space):
    def cos(a, b):
        x, y = space.embed(a), space.embed(b)
        return float(x @ y / np.linalg.norm(x) / np.linalg.norm(y))

    assert cos("heavy metal", "hard rock") > cos("heavy metal", "lullaby")
    assert cos("melancholic", "sad") > cos("melancholic", "party")


def test_glove_stays_available():
    glove = load_word_space("glove")
    assert isinstance(glove, WordVectors) and glove.dim == 50
    tagger = dm.load_default_tagger(device="cpu", vectors_path="glove")
    assert tagger.vectors.dim == 50 and tagger.knows_word("guitar")
