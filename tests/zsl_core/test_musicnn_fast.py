"""musicnn fast inference: the banded matrix-product front end against the convolution path.

The fp32 fast path must give the convolution path's values to float32 rounding (and so the
original's golden outputs); bf16 is opt-in and only has to stay close; training keeps the
convolutions; cached banded weights must follow weight changes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from zsl_core import musicnn

GOLDEN = Path(__file__).resolve().parents[2] / "tests" / "data" / "musicnn-golden"


@pytest.fixture(scope="module")
def model() -> musicnn.MusicnnModel:
    return musicnn.MusicnnModel.load("MSD_musicnn")


def golden_batch(name: str, signal: str) -> dict[str, np.ndarray]:
    with np.load(GOLDEN / f"ref_{name}_{signal}.npz", allow_pickle=False) as data:
        return {key: data[key] for key in ("batch", "taggram", "penultimate")}


def outputs(
    model: musicnn.MusicnnModel,
    patches: np.ndarray,
    fast: bool,
    precision: str = "fp32",
    batch_size: int = 64,
) -> dict[str, np.ndarray]:
    model.net.fast = fast
    model.net.set_precision(precision)
    try:
        return model.extract_patches(patches, batch_size)
    finally:
        model.net.fast = True
        model.net.set_precision("fp32")


def random_patches(n: int, seed: int = 0) -> np.ndarray:
    """Log-mel-like values (non-negative, a few units), the range the network sees."""
    return (
        np.random.default_rng(seed)
        .gamma(2.0, 0.8, (n, musicnn.PATCH_FRAMES, musicnn.N_MELS))
        .astype(np.float32)
    )


@pytest.mark.parametrize("name", musicnn.MODEL_NAMES)
def test_fast_fp32_matches_the_original_and_the_conv_path(name):
    model = musicnn.MusicnnModel.load(name)
    ref = golden_batch(name, "synth_mix_quiet")
    fast = outputs(model, ref["batch"], fast=True)
    conv = outputs(model, ref["batch"], fast=False)
    assert np.abs(fast["taggram"] - ref["taggram"]).max() < 1e-5
    assert np.abs(fast["penultimate"] - ref["penultimate"]).max() < 1e-5
    for key in ("taggram", "penultimate", "logits", "mean_pool", "max_pool"):
        np.testing.assert_allclose(fast[key], conv[key], rtol=5e-5, atol=1e-5, err_msg=key)
    assert np.abs(fast["taggram"] - conv["taggram"]).max() < 1e-6


def test_every_branch_matches_its_convolution(model):
    net = model.net
    patches = torch.from_numpy(random_patches(3, seed=1))
    with torch.inference_mode():
        net.fast = False
        conv = net.front_end(patches)
        net.fast = True
        fast = net.front_end(patches)
    assert fast.shape == conv.shape == (3, 561, musicnn.PATCH_FRAMES)
    # float32 rounding of sums of 200-500 products: ~1e-6 of the largest value (about 85)
    assert (fast - conv).abs().max() <= 1e-6 * conv.abs().max()


def test_result_does_not_depend_on_chunking_or_batch(model, monkeypatch):
    patches = random_patches(5, seed=2)
    whole = outputs(model, patches, fast=True)["taggram"]
    monkeypatch.setattr(musicnn, "FAST_ROWS", 1)  # one patch per product
    one_by_one = outputs(model, patches, fast=True, batch_size=2)["taggram"]
    np.testing.assert_allclose(one_by_one, whole, atol=1e-6)


def test_negative_bn_scales_take_the_minimum(model):
    # Flip some BN scales so those filters need min over frequency (the sign trick's other half).
    net = musicnn.MusicnnNet(n_tags=len(model.tags))
    net.load_state_dict(model.net.state_dict())
    net.eval()
    with torch.no_grad():
        for branch in (*net.timbral, *net.temporal):
            branch.bn.weight[::3] *= -1
    patches = torch.from_numpy(random_patches(2, seed=3))
    with torch.inference_mode():
        net.fast = False
        conv = net(patches)["taggram"]
        net.fast = True
        fast = net(patches)["taggram"]
    assert (fast - conv).abs().max() < 1e-6


def branch(module: torch.nn.Module) -> musicnn._FrequencyMaxBranch:
    """A timbral or temporal branch of the net (a ModuleList's item is typed as any Module)."""
    assert isinstance(module, musicnn._FrequencyMaxBranch)
    return module


def test_banded_weights_follow_weight_changes(model):
    net = musicnn.MusicnnNet(n_tags=len(model.tags))
    net.load_state_dict(model.net.state_dict())
    net.eval()
    patches = torch.from_numpy(random_patches(2, seed=4))
    with torch.inference_mode():
        before = net(patches)["taggram"]
    with torch.no_grad():
        branch(net.timbral[0]).conv.weight.mul_(0.5)
        branch(net.temporal[2]).bn.weight.neg_()
    with torch.inference_mode():
        fast = net(patches)["taggram"]
        net.fast = False
        conv = net(patches)["taggram"]
    assert (fast - before).abs().max() > 1e-4
    assert (fast - conv).abs().max() < 1e-6


def test_training_mode_uses_the_convolutions(model):
    net = musicnn.MusicnnNet(n_tags=len(model.tags))
    net.load_state_dict(model.net.state_dict())
    net.train()
    patches = torch.from_numpy(random_patches(2, seed=5))
    logits = net(patches)["logits"]
    logits.sum().backward()
    assert branch(net.timbral[0]).conv.weight.grad is not None
    assert not net._banded  # the fast path never ran


def test_bf16_is_opt_in_and_close(model):
    patches = random_patches(6, seed=6)
    assert model.precision == "fp32"
    fp32 = outputs(model, patches, fast=True)["taggram"]
    bf16 = outputs(model, patches, fast=True, precision="bf16")["taggram"]
    assert model.precision == "fp32"
    assert np.abs(bf16 - fp32).max() < 0.03
    overlap = [
        len(set(np.argsort(-a)[:5]) & set(np.argsort(-b)[:5])) / 5
        for a, b in zip(bf16, fp32, strict=True)
    ]
    assert np.mean(overlap) >= 0.8


def test_precision_is_validated_and_passed_through_load():
    model = musicnn.MusicnnModel.load("MTT_musicnn", precision="bf16")
    assert model.precision == "bf16" and model.net.precision == "bf16"
    with pytest.raises(ValueError, match="precision"):
        musicnn.MusicnnModel.load("MTT_musicnn", precision="fp8")


def test_auto_precision_picks_bf16_only_with_native_support():
    model = musicnn.MusicnnModel.load("MTT_musicnn", precision="auto")
    assert model.precision == ("bf16" if musicnn.cpu_has_fast_bf16() else "fp32")
