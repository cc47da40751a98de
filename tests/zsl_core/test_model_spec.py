"""`ModelSpec`: one name for a model and its results, for the library, the GUI and the CLIs."""

from __future__ import annotations

import pytest

from zsl_core.errors import ModelError
from zsl_core.model_spec import DEFAULT_MODEL_KEY, ModelSpec, model_key


def test_keys_name_model_vectors_and_precision(tmp_path):
    assert ModelSpec().resolved().key == DEFAULT_MODEL_KEY == "default-3"
    assert ModelSpec(precision="bf16").resolved().key == "default-3+bf16"
    assert ModelSpec(vectors="glove").resolved().key == "default-3"  # derived embeddings
    folder = tmp_path / "model"
    trained = ModelSpec(folder, vectors=tmp_path / "v.txt", precision="bf16").resolved()
    assert trained.precision == "fp32"  # a trained model runs in float32
    assert trained.key == f"{folder.resolve()}+vectors:{(tmp_path / 'v.txt').resolve()}"
    assert trained.key == model_key(folder, tmp_path / "v.txt")


def test_auto_precision_is_resolved_and_a_bad_one_refused():
    assert ModelSpec(device="cpu", precision="auto").resolved().precision in ("fp32", "bf16")
    with pytest.raises(ModelError, match="precision"):
        ModelSpec(precision="fp8").resolved()


def test_load_gives_the_tagger_the_spec_names():
    tagger = ModelSpec(device="cpu").load()
    assert tagger is ModelSpec("default", None, "cpu", "fp32").load()  # loaded once per process
    from zsl_core.default_model import DefaultTagger  # torch: loaded by load() anyway

    assert isinstance(tagger, DefaultTagger)
    assert tagger.precision == "fp32" and not tagger.on_gpu
