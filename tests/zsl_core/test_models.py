"""The paper's models: sizes, shapes, relevance, hinge loss, learning, checkpoints."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from zsl_core.errors import ModelError
from zsl_core.models import (
    AudioCNN,
    AudioCNNConfig,
    ClassificationModel,
    DeepEmbeddingModel,
    FeatureMLP,
    SameConv1d,
    classification_loss,
    hinge_loss,
    l2_penalty,
    load_model,
    load_side_matrix,
    save_model,
)


def test_default_cnn_is_the_papers_size():
    # 3 x (128*128*4 + 128) + (128*128*2 + 128) + (128*100 + 100)
    n_params = sum(p.numel() for p in AudioCNN().parameters())
    assert n_params == 3 * 65_664 + 32_896 + 12_900 == 242_788


@pytest.mark.parametrize("frames", [130, 128, 431, 2600])
def test_cnn_embeds_chunks_and_longer_inputs(frames):
    out = AudioCNN()(torch.randn(3, 128, frames))
    assert out.shape == (3, 100)
    assert torch.isfinite(out).all()


def test_cnn_refuses_too_short_or_wrong_shaped_input():
    with pytest.raises(ModelError, match="at least 128"):
        AudioCNN()(torch.randn(1, 128, 100))
    with pytest.raises(ModelError, match=r"\[batch, 128, frames\]"):
        AudioCNN()(torch.randn(1, 96, 130))


def test_configurable_sizes():
    config = AudioCNNConfig(n_mels=40, channels=16, kernels=(3, 2), pools=(2, 2), embed_dim=8)
    model = AudioCNN(config)
    assert model(torch.randn(2, 40, 10)).shape == (2, 8)
    assert model.min_frames == 4
    with pytest.raises(ModelError):
        AudioCNNConfig(kernels=(4, 4), pools=(4,))


@pytest.mark.parametrize(
    "kernel,left,right", [(4, 1, 2), (2, 0, 1), (3, 1, 1), (1, 0, 0), (5, 2, 2)]
)
def test_same_padding_matches_keras(kernel, left, right):
    conv = SameConv1d(1, 1, kernel)
    assert conv.pad == (left, right)
    # A delta at frame 5 through an all-ones kernel lights frames 5-right .. 5+left.
    with torch.no_grad():
        conv.conv.weight.fill_(1.0)
        assert conv.conv.bias is not None
        conv.conv.bias.zero_()
    x = torch.zeros(1, 1, 12)
    x[0, 0, 5] = 1.0
    lit = conv(x)[0, 0].nonzero().flatten().tolist()
    assert lit == list(range(5 - right, 5 + left + 1))
    assert conv(x).shape[-1] == 12


def test_he_uniform_init_bounds_and_zero_bias():
    conv = SameConv1d(128, 128, 4).conv
    bound = math.sqrt(6 / (128 * 4))
    assert conv.weight.abs().max() <= bound
    assert conv.weight.abs().max() > 0.9 * bound
    assert conv.bias is not None and torch.all(conv.bias == 0)


def test_embedding_model_shapes_and_cosine_range():
    torch.manual_seed(0)
    model = DeepEmbeddingModel(AudioCNNConfig(), side_dim=300)
    mel = torch.randn(5, 128, 130)
    assert model.embed_audio(mel).shape == (5, 100)
    assert model.embed_labels(torch.randn(7, 300)).shape == (7, 100)
    rel_pos, rel_neg = model(mel, torch.randn(5, 300), torch.randn(5, 300))
    assert rel_pos.shape == rel_neg.shape == (5,)
    for rel in (rel_pos, rel_neg):
        assert torch.all(rel <= 1.0 + 1e-6) and torch.all(rel >= -1.0 - 1e-6)
    a = torch.randn(4, 100)
    assert torch.allclose(model.relevance(a, a), torch.ones(4), atol=1e-6)
    assert torch.allclose(model.relevance(a, -a), -torch.ones(4), atol=1e-6)
    with pytest.raises(ModelError):
        DeepEmbeddingModel(AudioCNNConfig(), side_dim=40, embed_dim=64)


def test_hinge_loss_by_hand():
    rel_pos = torch.tensor([0.9, 0.1, 0.5, 0.3])
    rel_neg = torch.tensor([0.1, 0.6, 0.2, 0.0])
    # max(0, 0.4 - p + n): 0, 0.9, 0.1, 0.1
    expected = torch.tensor([0.0, 0.9, 0.1, 0.1])
    assert torch.allclose(hinge_loss(rel_pos, rel_neg, reduction="none"), expected)
    assert hinge_loss(rel_pos, rel_neg).item() == pytest.approx(1.1 / 4)
    assert hinge_loss(rel_pos, rel_neg, reduction="sum").item() == pytest.approx(1.1)
    assert hinge_loss(rel_pos, rel_neg, margin=0.0).item() == pytest.approx(0.5 / 4)


def test_classification_model_and_loss():
    model = ClassificationModel(None, n_labels=7)
    logits = model(torch.randn(3, 128, 130))
    assert logits.shape == (3, 7)
    targets = torch.zeros(3, 7)
    expected = torch.nn.functional.softplus(logits).mean()  # BCE with all-zero targets
    assert classification_loss(logits, targets).item() == pytest.approx(expected.item(), rel=1e-5)


def test_feature_mlp_is_a_pluggable_audio_module():
    audio = FeatureMLP(in_dim=200, embed_dim=100, hidden=32)
    model = DeepEmbeddingModel(audio, side_dim=50)
    assert model.embed_audio(torch.randn(4, 200, 3)).shape == (4, 100)
    assert model.embed_audio(torch.randn(4, 200)).shape == (4, 100)
    assert ClassificationModel(FeatureMLP(200), 5)(torch.randn(2, 200, 1)).shape == (2, 5)
    assert l2_penalty(audio).item() == 0.0


def test_l2_penalty_sums_conv_kernels_only():
    model = DeepEmbeddingModel(
        AudioCNNConfig(n_mels=4, channels=3, kernels=(2,), pools=(1,), embed_dim=2), 5
    )
    expected = sum(
        (m.weight.pow(2).sum() for m in model.modules() if isinstance(m, torch.nn.Conv1d)),
        torch.tensor(0.0),
    )
    assert l2_penalty(model).item() == pytest.approx(expected.item())


def _two_band_batch(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Chunks whose label says which mel band is loud (low: bins 0-39, high: 80-127)."""
    labels = torch.randint(0, 2, (n,), generator=generator)
    mel = torch.randn(n, 128, 130, generator=generator) * 0.5
    mel[labels == 0, :40] += 1.0
    mel[labels == 1, 80:] += 1.0
    return mel, labels


@pytest.mark.parametrize("kind", ["embedding", "classification"])
def test_loss_goes_down_on_a_two_band_task(kind):
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(1)
    side = torch.randn(2, 16, generator=generator)
    small = AudioCNNConfig(channels=32)
    model = DeepEmbeddingModel(small, 16) if kind == "embedding" else ClassificationModel(small, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    losses = []
    for _ in range(40):
        mel, labels = _two_band_batch(16, generator)
        if kind == "embedding":
            rel_pos, rel_neg = model(mel, side[labels], side[1 - labels])
            loss = hinge_loss(rel_pos, rel_neg, reduction="sum")
        else:
            loss = classification_loss(model(mel), torch.nn.functional.one_hot(labels, 2).float())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert np.mean(losses[-5:]) < 0.3 * np.mean(losses[:5])


# --------------------------------------------------------------------------- checkpoints


def _config() -> dict:
    return {
        "mean": 0.2262,
        "std": 0.2579,
        "seen_labels": ["rock", "jazz", "folk"],
        "side_kind": "word",
        "side_source": "glove.npz",
        "split": "split.json",
        "training": {"best_epoch": 3},
    }


@pytest.mark.parametrize("kind", ["embedding", "classification", "mlp"])
def test_checkpoint_round_trip_gives_identical_outputs(tmp_path, kind):
    torch.manual_seed(0)
    side = np.random.default_rng(0).standard_normal((3, 20)).astype(np.float32)
    model: DeepEmbeddingModel | ClassificationModel
    if kind == "embedding":
        model = DeepEmbeddingModel(AudioCNNConfig(channels=16), side_dim=20)
    elif kind == "classification":
        model = ClassificationModel(
            AudioCNNConfig(channels=16, kernels=(4, 2), pools=(4, 2)), n_labels=3
        )
    else:
        model = DeepEmbeddingModel(FeatureMLP(200, 100, hidden=8), side_dim=20)
    save_model(
        tmp_path / "m", model, _config(), side_matrix=side if kind != "classification" else None
    )
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [
        "config.json",
        "model.safetensors",
    ]

    loaded, config = load_model(tmp_path / "m")
    assert config["seen_labels"] == ["rock", "jazz", "folk"]
    assert config["mean"] == 0.2262 and config["model_type"] == model.model_type
    x = torch.randn(2, 200, 4) if kind == "mlp" else torch.randn(2, 128, 300)
    model.eval()
    with torch.no_grad():
        assert torch.equal(model.embed_audio(x), loaded.embed_audio(x))
        if kind != "classification":
            assert isinstance(model, DeepEmbeddingModel)
            assert isinstance(loaded, DeepEmbeddingModel)
            s = torch.from_numpy(side)
            assert torch.equal(model.embed_labels(s), loaded.embed_labels(s))
    stored = load_side_matrix(tmp_path / "m")
    if kind == "classification":
        assert stored is None
    else:
        np.testing.assert_array_equal(stored, side)


def test_load_model_errors_are_one_line_model_errors(tmp_path):
    with pytest.raises(ModelError, match="no such model folder"):
        load_model(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="config.json: missing"):
        load_model(tmp_path / "empty")

    model = DeepEmbeddingModel(AudioCNNConfig(channels=8), side_dim=4)
    folder = save_model(tmp_path / "m", model, _config())
    (folder / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ModelError, match="unreadable weights") as info:
        load_model(folder)
    assert "\n" not in str(info.value)

    save_model(folder, model, _config())
    config = json.loads((folder / "config.json").read_text())
    config["side_dim"] = 5  # architecture no longer matches the weights
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="do not match") as info:
        load_model(folder)
    assert "\n" not in str(info.value)

    (folder / "config.json").write_text("{broken")
    with pytest.raises(ModelError, match="unreadable model config"):
        load_model(folder)
    (folder / "config.json").write_text(json.dumps({"model_type": "svm"}))
    with pytest.raises(ModelError, match="model_type"):
        load_model(folder)
