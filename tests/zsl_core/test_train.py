"""The trainer: sampling, schedules, learning, checkpoints, resume, DDP, track embeddings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from zsl_core.chunks import chunk_starts, embed_track, embed_tracks
from zsl_core.devices import resolve_device
from zsl_core.errors import DatasetError, ModelError
from zsl_core.models import (
    AudioCNNConfig,
    ClassificationModel,
    DeepEmbeddingModel,
    load_model,
    load_side_matrix,
)
from zsl_core.train import (
    ChunkDataset,
    DistInfo,
    PlateauTracker,
    TrainConfig,
    TrainData,
    _nth_negative,
    _Run,
    _usable_tracks,
    keras_lr,
    train,
)

SMALL_CNN = AudioCNNConfig(channels=16)
LABELS = ["low", "high", "mid"]


def two_band_data(
    n_train: int = 48, n_valid: int = 16, seed: int = 0, side_dim: int = 8
) -> TrainData:
    """Tracks whose tag says which mel band is loud; 'mid' is never positive, so always a negative."""
    rng = np.random.default_rng(seed)
    features, positive = {}, {}
    for i in range(n_train + n_valid):
        label = i % 2
        mel = rng.random((128, int(rng.integers(140, 400)))) * 1.5
        mel[:40] += 0.6 if label == 0 else 0.0
        mel[80:] += 0.6 if label == 1 else 0.0
        features[f"t{i:03d}"] = mel.astype(np.float16)
        positive[f"t{i:03d}"] = [label]
    ids = list(features)
    side = rng.standard_normal((len(LABELS), side_dim)).astype(np.float32)
    return TrainData(
        features=features,
        mean=1.0,
        std=0.5,
        train_ids=ids[:n_train],
        valid_ids=ids[n_train:],
        track_positive=positive,
        seen_labels=LABELS,
        side_matrix=side,
        info={"split": "split.json", "side_kind": "random"},
    )


def small_config(**overrides) -> TrainConfig:
    values: dict[str, Any] = dict(
        audio=SMALL_CNN, batch_size=16, epochs=3, optimizer="sgd", lr=0.002
    )
    values.update(overrides)
    return TrainConfig(**values)


# --------------------------------------------------------------------------- settings


def test_device_auto_picks_cpu_without_a_gpu():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ModelError, match="no CUDA GPU"):
        resolve_device("cuda")


def test_defaults_are_the_papers_and_round_trip_through_json():
    config = TrainConfig()
    assert (config.optimizer, config.lr, config.momentum, config.nesterov, config.decay) == (
        "sgd",
        0.001,
        0.9,
        True,
        1e-6,
    )
    assert (config.batch_size, config.chunk_frames, config.patience) == (64, 130, 20)
    assert (config.lr_factor, config.lr_patience, config.min_lr, config.margin) == (
        0.2,
        5,
        1.6e-7,
        0.4,
    )
    again = TrainConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config
    with pytest.raises(ModelError, match="optimizer"):
        TrainConfig(optimizer="rmsprop")
    with pytest.raises(ModelError, match="unknown setting"):
        TrainConfig.from_dict({"learning_rate": 0.1})


def test_keras_time_based_decay():
    assert keras_lr(0.001, 1e-6, 0) == 0.001
    assert keras_lr(0.001, 1e-6, 1_000_000) == pytest.approx(0.0005)


def test_plateau_and_early_stopping_counters():
    plateau = PlateauTracker(patience=2, min_delta=1e-4)
    assert [plateau.update(v) for v in (1.0, 0.9, 0.89995, 0.9, 0.5)] == [
        False,
        False,
        False,
        True,
        False,
    ]
    early = PlateauTracker(patience=1)
    assert early.update(1.0) is False and early.update(1.0) is True
    restored = PlateauTracker(patience=2)
    restored.load(json.loads(json.dumps(plateau.to_dict())))
    assert (restored.best, restored.wait) == (0.5, 0)


# --------------------------------------------------------------------------- sampling


def test_nth_negative_skips_positives():
    positive = np.array([1, 3, 4])
    negatives = [_nth_negative(positive, n) for n in range(4)]
    assert negatives == [0, 2, 5, 6]


def test_chunks_and_labels_follow_the_authors_sampling():
    data = two_band_data()
    data.track_positive = {**data.track_positive, "t000": [0, 2]}
    dataset = ChunkDataset(data.train_ids, data, small_config(), stream=0)
    chunk, pos, neg = dataset[0]
    assert chunk.shape == (128, 130) and chunk.dtype == torch.float32
    mel = data.features["t000"].astype(np.float32)
    starts = [
        s
        for s in range(mel.shape[1] - 129)
        if np.allclose(chunk.numpy(), (mel[:, s : s + 130] - 1.0) / 0.5, atol=1e-5)
    ]
    assert starts, "the chunk is a standardised 130-frame window of the track"
    draws = set()
    for epoch in range(30):
        dataset.set_epoch(epoch)
        _, pos, neg = dataset[0]
        assert pos in (0, 2) and neg == 1
        draws.add(pos)
    assert draws == {0, 2}
    dataset.set_epoch(3)
    assert all(
        torch.equal(a, b) if torch.is_tensor(a) else a == b
        for a, b in zip(dataset[5], dataset[5], strict=True)
    )


def test_validation_chunks_are_fixed_across_epochs():
    data = two_band_data()
    valid = ChunkDataset(data.valid_ids, data, small_config(), stream=1)
    first = valid[2]
    valid.set_epoch(7)
    assert torch.equal(first[0], valid[2][0]) and first[1:] == valid[2][1:]


def test_short_tracks_are_repeated_to_fill_a_chunk():
    data = two_band_data()
    short = np.arange(128 * 50, dtype=np.float32).reshape(128, 50).astype(np.float16)
    data.features = {**data.features, "t000": short}
    chunk, _, _ = ChunkDataset(["t000"], data, small_config(), stream=0)[0]
    restored = chunk.numpy() * 0.5 + 1.0
    np.testing.assert_allclose(restored[:, 50:100], restored[:, :50])
    np.testing.assert_allclose(restored[:, :50], short.astype(np.float32), rtol=1e-3)


def test_classification_targets_are_the_seen_positives():
    data = two_band_data()
    data.track_positive = {**data.track_positive, "t001": [1, 2]}
    chunk, target = ChunkDataset(
        data.train_ids, data, small_config(model="classification"), stream=0
    )[1]
    assert target.tolist() == [0.0, 1.0, 1.0]


def test_unusable_tracks_are_dropped_and_bad_indices_refused():
    data = two_band_data()
    data.track_positive = {
        **data.track_positive,
        "t000": [0, 1, 2],  # no negative left
        "t001": [],  # no positive
    }
    kept, dropped = _usable_tracks(data.train_ids, data, small_config())
    assert dropped == 2 and "t000" not in kept and "t001" not in kept
    kept, dropped = _usable_tracks(data.train_ids, data, small_config(model="classification"))
    assert dropped == 1 and "t000" in kept
    data.track_positive = {**data.track_positive, "t002": [3]}
    with pytest.raises(DatasetError, match="out of range"):
        _usable_tracks(data.train_ids, data, small_config())


def test_missing_features_and_side_information_are_reported(tmp_path):
    data = two_band_data()
    data.features = {k: v for k, v in data.features.items() if k != "t004"}
    with pytest.raises(DatasetError, match="t004"):
        train(small_config(epochs=1), data, tmp_path / "a", progress=False)
    data = two_band_data()
    data.side_matrix = None
    with pytest.raises(DatasetError, match="side-information"):
        train(small_config(epochs=1), data, tmp_path / "b", progress=False)


# --------------------------------------------------------------------------- training


@pytest.mark.parametrize("kind", ["embedding", "classification"])
def test_training_lowers_the_loss_and_writes_a_loadable_model(tmp_path, kind):
    data = two_band_data()
    lr = 0.002 if kind == "embedding" else 0.05
    result = train(small_config(model=kind, epochs=4, lr=lr), data, tmp_path, progress=False)
    history = result.history
    assert len(history["train_loss"]) == len(history["val_loss"]) == result.epochs_run == 4
    assert history["train_loss"][-1] < 0.5 * history["train_loss"][0]
    assert min(history["val_loss"]) < history["val_loss"][0] or history["val_loss"][0] == 0
    assert result.best_val_loss == min(history["val_loss"])
    assert result.best_epoch == 1 + int(np.argmin(history["val_loss"]))

    for folder in (tmp_path, tmp_path / "best", tmp_path / "last"):
        model, config = load_model(folder)
        assert config["model_type"] == kind and config["seen_labels"] == LABELS
        assert config["mean"] == 1.0 and config["std"] == 0.5 and config["split"] == "split.json"
    _, config = load_model(tmp_path)
    assert config["training"]["best_epoch"] == result.best_epoch
    if kind == "embedding":
        np.testing.assert_array_equal(load_side_matrix(tmp_path), data.side_matrix)
    assert (tmp_path / "last" / "training_state.safetensors").is_file()


def test_early_stopping_and_step_cap(tmp_path):
    data = two_band_data()
    result = train(
        small_config(epochs=50, patience=2, steps_per_epoch=1, lr=0.02),
        data,
        tmp_path,
        progress=False,
    )
    assert result.stopped_early and result.epochs_run < 50
    state = json.loads((tmp_path / "last" / "training_state.json").read_text())
    assert state["step"] == result.epochs_run  # one capped step per epoch
    assert result.epochs_run - result.best_epoch == 2


def test_lr_drops_on_a_plateau_down_to_the_floor_and_patience_stops(tmp_path):
    config = small_config(lr=0.01, lr_patience=2, lr_factor=0.2, min_lr=1e-3, patience=5)
    run = _Run(config, two_band_data(n_train=8, n_valid=2), tmp_path, DistInfo(), progress=False)
    lrs, stops = [], []
    for val_loss in (1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5):
        run.end_epoch(train_loss=1.0, val_loss=val_loss, seconds=0.0)
        lrs.append(run.base_lr)
        stops.append(run.stopped_early)
    assert lrs == pytest.approx([0.01, 0.01, 0.002, 0.002, 0.002, 0.001, 0.001, 0.001, 0.001])
    assert stops == [False] * 8 + [True]  # 5 epochs without improvement after epoch 4
    assert run.best_epoch == 4
    assert run.history["lr"] == pytest.approx(
        [0.01, 0.01, 0.01, 0.002, 0.002, 0.002, 0.001, 0.001, 0.001]
    )


def test_resume_continues_like_an_uninterrupted_run(tmp_path):
    data = two_band_data(n_train=32, n_valid=8)
    config = small_config(epochs=4)
    straight = train(config, data, tmp_path / "straight", progress=False)
    train(small_config(epochs=2), data, tmp_path / "resumed", progress=False)
    resumed = train(config, data, tmp_path / "resumed", resume=True, progress=False)
    assert resumed.epochs_run == straight.epochs_run == 4
    np.testing.assert_allclose(
        resumed.history["train_loss"], straight.history["train_loss"], rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        resumed.history["val_loss"], straight.history["val_loss"], rtol=1e-5, atol=1e-6
    )
    a, _ = load_model(tmp_path / "straight" / "last")
    b, _ = load_model(tmp_path / "resumed" / "last")
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        torch.testing.assert_close(x, y, rtol=1e-5, atol=1e-6, msg=name)


def test_resume_without_a_checkpoint_is_refused(tmp_path):
    with pytest.raises(ModelError, match="nothing to resume"):
        train(small_config(epochs=1), two_band_data(), tmp_path, resume=True, progress=False)


def test_adam_and_the_mlp_backbone_train(tmp_path):
    data = two_band_data()
    rng = np.random.default_rng(1)
    data.features = {
        k: (rng.random((20, 3)) + (v.astype(np.float32)[:20, :3] > 1.2)).astype(np.float16)
        for k, v in data.features.items()
    }
    config = small_config(
        optimizer="adam", lr=0.01, backbone="mlp", mlp_hidden=16, chunk_frames=1, epochs=3
    )
    result = train(config, data, tmp_path, progress=False)
    assert result.epochs_run == 3
    model, cfg = load_model(tmp_path)
    assert cfg["audio"]["kind"] == "mlp" and cfg["audio"]["in_dim"] == 20


DDP_SCRIPT = """
import json, os, sys
import torch
torch.set_num_threads(1)
sys.path.insert(0, {tests!r})
from test_train import small_config, two_band_data
from zsl_core.train import train
config = small_config(epochs=2, steps_per_epoch=2, batch_size=8, device="cpu")
result = train(config, two_band_data(n_train=32, n_valid=9), {out!r}, progress=False)
with open(f"done-{{os.environ['RANK']}}.json", "w") as f:
    json.dump(result.history, f)
"""


def test_ddp_with_two_cpu_processes(tmp_path):
    script = tmp_path / "ddp_train.py"
    out = tmp_path / "model"
    script.write_text(
        textwrap.dedent(DDP_SCRIPT.format(tests=str(Path(__file__).parent), out=str(out)))
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            "2",
            "--standalone",
            str(script),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    histories = [json.loads((tmp_path / f"done-{rank}.json").read_text()) for rank in (0, 1)]
    assert len(histories[0]["val_loss"]) == 2
    assert histories[0]["val_loss"] == histories[1]["val_loss"], (
        "every rank sees the all-reduced validation loss"
    )
    assert histories[0]["train_loss"] == histories[1]["train_loss"]
    state = json.loads((out / "last" / "training_state.json").read_text())
    assert (
        state["epoch"] == 2 and state["step"] == 4
    )  # 32 tracks / 2 ranks / batch 8 = 2 steps per epoch
    load_model(out)


# --------------------------------------------------------------------------- track embeddings


def test_chunk_starts():
    assert chunk_starts(100, 130) == [0]
    assert chunk_starts(400, 130) == [0, 130, 260]
    assert chunk_starts(400, 130, n_chunks=3) == [0, 135, 270]
    assert chunk_starts(400, 130, n_chunks=1) == [0]


def test_embed_track_is_the_mean_of_its_chunk_embeddings():
    torch.manual_seed(0)
    model = DeepEmbeddingModel(SMALL_CNN, side_dim=8).eval()
    mel = np.random.default_rng(0).random((128, 425)).astype(np.float16)
    chunks = torch.stack(
        [
            torch.from_numpy((mel[:, s : s + 130].astype(np.float32) - 0.5) / 0.3)
            for s in (0, 130, 260)
        ]
    )
    with torch.no_grad():
        expected = model.embed_audio(chunks).numpy()
    per_chunk = embed_track(model, mel, 0.5, 0.3, return_chunks=True, batch_size=2)
    np.testing.assert_allclose(per_chunk, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        embed_track(model, mel, 0.5, 0.3), expected.mean(0), rtol=1e-5, atol=1e-6
    )
    assert embed_track(model, mel, 0.5, 0.3, n_chunks=5, return_chunks=True).shape == (5, 100)
    assert embed_track(model, mel[:, :60], 0.5, 0.3).shape == (100,)


def test_embed_tracks_batches_across_tracks_and_matches_one_by_one():
    torch.manual_seed(0)
    model = DeepEmbeddingModel(SMALL_CNN, side_dim=8).train()
    rng = np.random.default_rng(1)
    features = {
        f"t{i}": rng.random((128, int(n))).astype(np.float16)
        for i, n in enumerate((130, 700, 90, 300))
    }
    ids = list(features)
    together = embed_tracks(model, features, ids, 0.5, 0.3, batch_size=3)
    assert together.shape == (4, 100)
    for row, track_id in zip(together, ids, strict=True):
        np.testing.assert_allclose(
            row, embed_track(model, features[track_id], 0.5, 0.3), rtol=1e-4, atol=1e-5
        )
    assert model.training, "the model's mode is restored"


def test_classification_track_outputs_are_probabilities():
    model = ClassificationModel(SMALL_CNN, n_labels=3)
    mel = np.random.default_rng(2).random((128, 300)).astype(np.float16)
    probabilities = embed_track(model, mel, 0.5, 0.3)
    assert probabilities.shape == (3,) and np.all((probabilities > 0) & (probabilities < 1))
    assert embed_track(model, mel, 0.5, 0.3, output="embedding").shape == (100,)
    with pytest.raises(ModelError):
        embed_track(DeepEmbeddingModel(SMALL_CNN, 8), mel, 0.5, 0.3, output="probabilities")


def test_dataloader_workers_do_not_change_the_batches(tmp_path):
    data = two_band_data(n_train=32, n_valid=8)
    inline = train(small_config(epochs=2), data, tmp_path / "inline", progress=False)
    workers = train(
        small_config(epochs=2, num_workers=2), data, tmp_path / "workers", progress=False
    )
    assert workers.history["train_loss"] == pytest.approx(inline.history["train_loss"], rel=1e-6)
    assert workers.history["val_loss"] == pytest.approx(inline.history["val_loss"], rel=1e-6)


# --------------------------------------------------------------------------- batched chunk gathering


def _assert_same_batch(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.dtype == y.dtype and x.shape == y.shape
        assert torch.equal(x, y)


@pytest.mark.parametrize("kind", ["embedding", "classification"])
@pytest.mark.parametrize("stream", [0, 1])
def test_batched_chunks_equal_the_per_item_path(kind, stream):
    from torch.utils.data import default_collate

    data = two_band_data()
    data.features = {
        **data.features,
        "t003": data.features["t003"][:, :57],  # shorter than a chunk: tiled
        "t005": data.features["t005"][:, :130],  # exactly one chunk
    }
    data.track_positive = {**data.track_positive, "t007": [0, 2]}
    dataset = ChunkDataset(data.train_ids, data, small_config(model=kind, seed=3), stream=stream)
    for epoch in (0, 4):
        dataset.set_epoch(epoch)
        for indices in ([0], [7, 3, 5, 1, 40], list(range(48))):
            _assert_same_batch(
                dataset.batch(indices), default_collate([dataset[i] for i in indices])
            )


def test_batched_chunks_keep_float32_and_float64_features_exact():
    from torch.utils.data import default_collate

    data = two_band_data()
    features = dict(data.features)
    for i, track_id in enumerate(data.train_ids[:6]):
        wide: np.ndarray = features[track_id].astype(np.float64 if i % 2 else np.float32)
        features[track_id] = wide + 1e-4
    data.features = features
    dataset = ChunkDataset(data.train_ids, data, small_config(), stream=0)
    indices = list(range(10))
    _assert_same_batch(dataset.batch(indices), default_collate([dataset[i] for i in indices]))


def test_batched_loader_gives_the_per_item_batches_on_each_ddp_rank(tmp_path, monkeypatch):
    data = two_band_data(n_train=37, n_valid=11)
    config = small_config(batch_size=8)
    for rank in (0, 1):
        run = _Run(config, data, tmp_path, DistInfo(world_size=2, rank=rank), progress=False)
        run.epoch = 2
        run.train_set.set_epoch(run.epoch)
        run.sampler.set_epoch(run.epoch)
        loaders = {}
        for batched in (True, False):
            monkeypatch.setattr(_Run, "batched_chunks", batched)
            loaders[batched] = (
                list(run._loader(run.train_set, run.sampler, run.train_set)),
                list(run._loader(run.valid_chunks, run.valid_indices, run.valid_set)),
            )
        for new, old in zip(loaders[True], loaders[False], strict=True):
            assert len(new) == len(old) > 0
            for a, b in zip(new, old, strict=True):
                _assert_same_batch(a, b)


@pytest.mark.parametrize("workers", [0, 2])
def test_batched_training_gives_the_per_item_losses(tmp_path, monkeypatch, workers):
    data = two_band_data(n_train=32, n_valid=8)
    monkeypatch.setattr(_Run, "batched_chunks", False)
    per_item = train(small_config(epochs=2), data, tmp_path / "per_item", progress=False)
    monkeypatch.setattr(_Run, "batched_chunks", True)
    batched = train(
        small_config(epochs=2, num_workers=workers), data, tmp_path / "batched", progress=False
    )
    assert batched.history["train_loss"] == per_item.history["train_loss"]
    assert batched.history["val_loss"] == per_item.history["val_loss"]


def test_training_from_a_feature_cache_packs_its_shards(tmp_path):
    from zsl_core.features import INDEX_NAME, FeatureCache, feature_file_name, read_shard_index

    data = two_band_data(n_train=24, n_valid=8)
    cache_dir = tmp_path / "cache"
    for track_id, mel in data.features.items():  # per-track files only, as an older build left them
        target = cache_dir / feature_file_name(track_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        np.save(target, mel)
        with open(cache_dir / INDEX_NAME, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"id": track_id}) + "\n")
    in_memory = train(small_config(epochs=2), data, tmp_path / "dict", progress=False)
    assert read_shard_index(cache_dir) is None
    cache = FeatureCache(cache_dir)
    data.features = cache
    from_cache = train(
        small_config(epochs=2, num_workers=1), data, tmp_path / "cache_run", progress=False
    )
    assert read_shard_index(cache_dir) is not None and cache.sharded
    assert from_cache.history["train_loss"] == in_memory.history["train_loss"]
    assert from_cache.history["val_loss"] == in_memory.history["val_loss"]


DDP_CACHE_SCRIPT = """
import json, os, sys
import torch
torch.set_num_threads(1)
sys.path.insert(0, {tests!r})
from test_train import small_config, two_band_data
from zsl_core.features import FeatureCache
from zsl_core.train import train
data = two_band_data(n_train=32, n_valid=9)
if sys.argv[1] == "cache":
    data.features = FeatureCache({cache!r})
config = small_config(epochs=2, steps_per_epoch=2, batch_size=8, device="cpu")
result = train(config, data, sys.argv[1], progress=False)
with open(f"{{sys.argv[1]}}-{{os.environ['RANK']}}.json", "w") as f:
    json.dump(result.history, f)
"""


def test_ddp_from_a_feature_cache_packs_once_and_matches_in_memory_features(tmp_path):
    from zsl_core.features import INDEX_NAME, feature_file_name, read_shard_index

    cache_dir = tmp_path / "features"
    for track_id, mel in two_band_data(n_train=32, n_valid=9).features.items():
        target = cache_dir / feature_file_name(track_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        np.save(target, mel)
        with open(cache_dir / INDEX_NAME, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"id": track_id}) + "\n")
    script = tmp_path / "ddp_cache.py"
    script.write_text(
        textwrap.dedent(
            DDP_CACHE_SCRIPT.format(tests=str(Path(__file__).parent), cache=str(cache_dir))
        )
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for source in ("memory", "cache"):
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "torch.distributed.run",
                "--nproc_per_node",
                "2",
                "--standalone",
                str(script),
                source,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            cwd=tmp_path,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
    index = read_shard_index(cache_dir)
    assert index is not None and len(index["tracks"]) == 41
    assert len({p.name.split("-")[1] for p in (cache_dir / "shards").glob("shard-*")}) == 1, (
        "one pack"
    )
    histories = {
        (s, r): json.loads((tmp_path / f"{s}-{r}.json").read_text())
        for s in ("memory", "cache")
        for r in (0, 1)
    }
    for key in ("train_loss", "val_loss", "lr"):
        assert (
            histories["cache", 0][key] == histories["cache", 1][key] == histories["memory", 0][key]
        )
