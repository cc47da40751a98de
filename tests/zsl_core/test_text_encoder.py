"""Sentence encoder (all-MiniLM-L6-v2 port): golden vectors of transformers, batching, truncation, errors.

tests/data/minilm-golden/reference.json holds vectors that transformers' BertModel computed from
the ORIGINAL float32 weights (see its README); we ship float16 weights, so vectors agree to
cosine ~0.999999 rather than bit for bit.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from zsl_core.errors import ModelError
from zsl_core.resources import resource_path
from zsl_core.text_encoder import load_text_encoder

REPO = Path(__file__).resolve().parents[2]
GOLDEN = json.loads(
    (REPO / "tests" / "data" / "minilm-golden" / "reference.json").read_text(encoding="utf-8")
)
SHIPPED = resource_path("models", "minilm-l6-v2")


@pytest.fixture(scope="module")
def encoder():
    return load_text_encoder()


@pytest.fixture(scope="module")
def alone(encoder):
    """Each golden string encoded on its own (no padding)."""
    return np.concatenate([encoder.encode([text]) for text in GOLDEN["strings"]])


def test_shipped_encoder_matches_transformers_golden_vectors(encoder):
    ours = encoder.encode(GOLDEN["strings"], batch_size=4)
    reference = np.asarray(GOLDEN["vectors"], dtype=np.float64)
    assert (
        ours.dtype == np.float32 and ours.shape == (len(GOLDEN["strings"]), 384) == reference.shape
    )
    cosine = (ours * reference).sum(axis=1) / (
        np.linalg.norm(ours, axis=1) * np.linalg.norm(reference, axis=1)
    )
    assert cosine.min() >= 0.9995, dict(zip(GOLDEN["strings"], cosine.round(6), strict=True))
    assert np.abs(ours - reference).max() < 2e-3


def test_token_counts_and_truncation_match_the_reference(encoder):
    assert encoder.max_seq_length == GOLDEN["max_seq_length"] == 256
    assert [len(ids) for ids in encoder.token_ids(GOLDEN["strings"])] == GOLDEN["n_tokens"]
    long_text = GOLDEN["strings"][-1]
    assert len(long_text.split()) == 400 and GOLDEN["n_tokens"][-1] == 256
    # Everything past the 256th token is ignored: more text at the end changes nothing.
    longer = encoder.encode([long_text, long_text + " and then a violin solo" * 40])
    np.testing.assert_allclose(longer[0], longer[1], atol=1e-6)


def test_rows_are_unit_length_and_dim_is_384(encoder):
    vectors = encoder.encode(["jazz", "", "   ", "music for a rainy day", "Sigur Rós"])
    assert encoder.dim == 384
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.isfinite(vectors).all()


def test_empty_string_is_the_empty_token_sequence(encoder):
    assert encoder.token_ids([""]) == [[101, 102]]  # [CLS] [SEP]
    empty = encoder.encode([""])[0]
    np.testing.assert_allclose(empty, GOLDEN["vectors"][GOLDEN["strings"].index("")], atol=2e-3)
    assert encoder.encode([]).shape == (0, 384)


def test_batching_gives_what_one_at_a_time_gives(encoder, alone):
    short = GOLDEN["strings"][:-1]  # padded to 11 tokens when together
    assert np.abs(encoder.encode(short, batch_size=64) - alone[:-1]).max() < 1e-5
    assert np.abs(encoder.encode(short, batch_size=3) - alone[:-1]).max() < 1e-5
    # A two-token text padded to 256 next to the long one: the padding must not leak in.
    mixed = encoder.encode(["", GOLDEN["strings"][-1]])
    assert np.abs(mixed - alone[[-2, -1]]).max() < 1e-5


def test_order_is_kept_and_duplicates_agree(encoder):
    vectors = encoder.encode(["rock", "a very long phrase about slow quiet ambient drones", "rock"])
    np.testing.assert_allclose(vectors[0], vectors[2], atol=1e-6)
    assert float(vectors[0] @ vectors[1]) < 0.99


def test_similar_phrases_are_closer(encoder):
    metal, rock, lullaby = encoder.encode(["heavy metal", "hard rock", "lullaby"])
    assert metal @ rock > metal @ lullaby + 0.1


def test_loader_is_cached_and_rejects_a_single_string(encoder):
    assert load_text_encoder() is encoder
    with pytest.raises(TypeError):
        encoder.encode("jazz")


# --- bad folders ---------------------------------------------------------------------------------


def _copy_shipped(tmp_path: Path) -> Path:
    folder = tmp_path / "encoder"
    shutil.copytree(SHIPPED, folder)
    return folder


def _break_config(folder: Path, **changes) -> None:
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    config.update(changes)
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")


def _truncate(path: Path, keep: int) -> None:
    path.write_bytes(path.read_bytes()[:keep])


BREAKAGES = {
    "missing tokenizer": (lambda f: (f / "tokenizer.json").unlink(), "text encoder file not found"),
    "missing weights": (
        lambda f: (f / "model.safetensors").unlink(),
        "text encoder file not found",
    ),
    "config not json": (
        lambda f: (f / "config.json").write_text("{oops", encoding="utf-8"),
        "unreadable config",
    ),
    "wrong architecture": (
        lambda f: _break_config(f, architecture="gpt2"),
        "not a text encoder config",
    ),
    "wrong pooling": (lambda f: _break_config(f, pooling="cls"), "mean pooling"),
    "heads do not divide": (lambda f: _break_config(f, num_heads=7), "not a multiple"),
    "layer count": (lambda f: _break_config(f, num_layers=5), "weights do not fit config.json"),
    "hidden size": (
        lambda f: _break_config(f, hidden_size=768, num_heads=12),
        "weights do not fit config.json",
    ),
    "vocab size": (
        lambda f: _break_config(f, vocab_size=100),
        "tokens but config.json says vocab_size",
    ),
    "truncated weights": (lambda f: _truncate(f / "model.safetensors", 5000), "unreadable weights"),
    "damaged tokenizer": (lambda f: _truncate(f / "tokenizer.json", 1000), "unreadable tokenizer"),
}


@pytest.mark.parametrize("case", list(BREAKAGES))
def test_a_damaged_folder_raises_one_line_model_error(tmp_path, case):
    folder = _copy_shipped(tmp_path)
    damage, expected = BREAKAGES[case]
    damage(folder)
    with pytest.raises(ModelError) as caught:
        load_text_encoder(folder)
    message = str(caught.value)
    assert expected in message and str(folder) in message and "\n" not in message


def test_a_missing_folder_raises_model_error(tmp_path):
    with pytest.raises(ModelError, match="text encoder folder not found"):
        load_text_encoder(tmp_path / "nowhere")
