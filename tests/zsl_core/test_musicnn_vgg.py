"""musicnn's VGG models (MSD_vgg, MTT_vgg): our port against outputs of the original TensorFlow model.

tests/data/musicnn-vgg-golden/ref_<MODEL>_<signal>.npz were made by packaging/make_vgg_golden.py
(the wheel's own graph code and checkpoint, in a scratch TensorFlow venv) from the input patches
the musicnn goldens use: `batch` of tests/data/musicnn-golden/ref_MSD_musicnn_<signal>.npz for
noise and synth_mix_quiet; for synth_mix and loud_tone, whose stored `batch` holds the
original's float16 overflow, the float32-log patches kept in inputs.npz.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from zsl_core import musicnn
from zsl_core.errors import ModelError

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "data" / "musicnn-vgg-golden"
MUSICNN_GOLDEN = REPO / "tests" / "data" / "musicnn-golden"
SIGNALS = ["noise", "synth_mix", "synth_mix_quiet", "loud_tone"]


@pytest.fixture(scope="module")
def models() -> dict[str, musicnn.MusicnnModel]:
    return {name: musicnn.MusicnnModel.load(name) for name in musicnn.VGG_MODEL_NAMES}


def input_patches(signal: str) -> np.ndarray:
    with np.load(GOLDEN / "inputs.npz", allow_pickle=False) as inputs:
        if signal in inputs.files:
            return inputs[signal]
    with np.load(MUSICNN_GOLDEN / f"ref_MSD_musicnn_{signal}.npz", allow_pickle=False) as data:
        return data["batch"]


def golden(model: str, signal: str) -> dict[str, np.ndarray]:
    with np.load(GOLDEN / f"ref_{model}_{signal}.npz", allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


@pytest.mark.parametrize("model", musicnn.VGG_MODEL_NAMES)
@pytest.mark.parametrize("signal", SIGNALS)
def test_vgg_matches_original_given_its_patches(models, model, signal):
    ref = golden(model, signal)
    batch = input_patches(signal)
    assert np.isfinite(batch).all()
    out = models[model].extract_patches(batch)
    assert np.abs(out["taggram"] - ref["taggram"]).max() < 1e-5
    np.testing.assert_allclose(out["logits"], ref["logits"], rtol=1e-5, atol=2e-5)
    np.testing.assert_allclose(out["pool5"], ref["pool5"], rtol=1e-5, atol=2e-5)


def test_vgg_end_to_end_from_wav_close_to_original(models):
    # Our front end from the wav against the original's float32-log patches: ~1e-4 as musicnn.
    audio, rate = sf.read(MUSICNN_GOLDEN / "loud_tone.wav", dtype="float32")
    assert rate == musicnn.SAMPLE_RATE
    out = models["MSD_vgg"].extract(audio)
    assert np.abs(out["taggram"] - golden("MSD_vgg", "loud_tone")["taggram"]).max() < 1e-3


def test_vgg_models_share_tags_and_front_end_with_musicnn(models):
    for name, model in models.items():
        twin = musicnn.MusicnnModel.load(name.replace("vgg", "musicnn"))
        assert model.tags == twin.tags
        assert model.config["front_end"] == twin.config["front_end"]
        assert model.config["architecture"] == "vgg"
        assert isinstance(model.net, musicnn.VggNet)
        assert sum(p.numel() for p in model.net.parameters()) == model.config["parameters"]
        assert model.config["source"]["checkpoint"] == f"musicnn/{name}/"
    out = models["MTT_vgg"].extract_patches(input_patches("noise"))
    assert out["taggram"].shape == (2, 50) and out["pool5"].shape == (2, 256)


def test_unknown_architecture_is_a_model_error(tmp_path):
    import shutil

    folder = tmp_path / "m"
    shutil.copytree(musicnn.MODELS_DIR / "MSD_vgg", folder)
    config = json.loads((folder / "config.json").read_text())
    config["architecture"] = "resnet"
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="architecture"):
        musicnn.MusicnnModel.load(folder)


def test_vgg_weights_do_not_load_into_musicnn(tmp_path):
    import shutil

    folder = tmp_path / "m"
    shutil.copytree(musicnn.MODELS_DIR / "MSD_vgg", folder)
    config = json.loads((folder / "config.json").read_text())
    config["architecture"] = "musicnn"
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="weights do not fit"):
        musicnn.MusicnnModel.load(folder)


def test_fast_eval_path_equals_the_layers_as_listed(models):
    # Pool-before-BN, the first layer as a product at even frequencies, channels-last: the same
    # values as conv -> ReLU -> BN -> pool, over several chunks of the first layer's product.
    rng = np.random.default_rng(0)
    batch = np.concatenate([input_patches(s) for s in SIGNALS])
    batch = np.concatenate([batch, rng.normal(2.0, 1.0, batch.shape).astype(np.float32)])
    net = models["MTT_vgg"].net
    assert len(batch) * musicnn.PATCH_FRAMES * 48 > musicnn.VGG_ROWS  # more than one chunk
    fast = models["MTT_vgg"].extract_patches(batch)
    net.fast = False
    try:
        plain = models["MTT_vgg"].extract_patches(batch)
    finally:
        net.fast = True
    np.testing.assert_allclose(fast["pool5"], plain["pool5"], rtol=1e-5, atol=2e-5)
    np.testing.assert_allclose(fast["logits"], plain["logits"], rtol=1e-5, atol=2e-5)
