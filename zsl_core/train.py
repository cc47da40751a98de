"""The trainer: the paper's recipe (section 4.3 and the authors' code) in one process or under torchrun.

Every time a training track is drawn it gives a random 130-frame chunk of its mel, one random
positive seen label and one random negative seen label (the authors' sampling); the
classification baseline gets the chunk and the track's seen labels as a 0/1 vector. Those
random choices are derived from (seed, epoch, track position), not from a running generator,
so a run gives the same batches whatever the number of DataLoader workers, and a resumed run
continues exactly where the interrupted one was. Validation uses one fixed chunk and label pair
per track, so its loss is comparable from epoch to epoch.

Optimisation follows Keras 2 as the authors ran it: SGD with Nesterov momentum 0.9, lr 0.001
divided by (1 + 1e-6 * iterations), L2 1e-5 on the convolution kernels, the hinge loss summed
over the batch, reduce-LR-on-plateau (x0.2 after 5 epochs, floor 1.6e-7) and early stopping
(20 epochs) on the validation loss.

Output folder:
    last/    model.safetensors + config.json + training_state.{safetensors,json} (for --resume)
    best/    the model with the lowest validation loss so far
    model.safetensors + config.json   the best model again, with the training summary: what
                                      the tagger and the evaluation load.

Launched by `torchrun --nproc_per_node N` (WORLD_SIZE/RANK/LOCAL_RANK set), `train` joins
the process group (NCCL on CUDA, Gloo on CPU), wraps the model in DistributedDataParallel and
shards every epoch with a DistributedSampler; the batch size is per process. Validation losses
are summed over all processes, so every process takes the same early-stopping and LR
decisions; only rank 0 writes files and prints.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from safetensors.torch import load_file, save_file
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, Dataset, DistributedSampler, Sampler, Subset
from tqdm import tqdm

from zsl_core.chunks import (
    CHUNK_FRAMES,
    embed_tracks,  # noqa: F401  (the experiments import it from here)
    fit_frames,
)
from zsl_core.devices import resolve_device
from zsl_core.errors import DatasetError, ModelError
from zsl_core.models import (
    AudioCNN,
    AudioCNNConfig,
    ClassificationModel,
    DeepEmbeddingModel,
    FeatureMLP,
    ZslModel,
    hinge_loss,
    l2_penalty,
    load_config,
    load_model,
    save_model,
)

STATE_TENSORS = "training_state.safetensors"
STATE_JSON = "training_state.json"
_TRAIN_STREAM, _VALID_STREAM = 0, 1


# --------------------------------------------------------------------------- configuration


@dataclass
class TrainConfig:
    """Training settings; the defaults are the paper's (Keras 2 semantics where it matters).

    hinge_reduction: "sum" as the authors did, so lr 0.001 means the same step size; "mean"
    divides every step by the batch size. The classification loss is always a mean (Keras'
    binary cross-entropy). l2 weighs the sum of squared convolution kernels added to the loss.
    steps_per_epoch caps the batches per epoch (per process); each epoch still draws a fresh
    permutation of all training tracks, so a capped run sees them all over a few epochs.
    backbone: "cnn" (the paper's audio CNN on mels) or "mlp" (FeatureMLP over precomputed
    features, e.g. musicnn's 200-d penultimate layer per 3-s patch, with chunk_frames=1).
    """

    model: str = "embedding"  # "embedding" | "classification"
    optimizer: str = "sgd"  # "sgd" | "adam"
    lr: float = 0.001
    momentum: float = 0.9
    nesterov: bool = True
    decay: float = 1e-6  # Keras: lr_t = lr / (1 + decay * iterations)
    l2: float = 1e-5
    margin: float = 0.4
    hinge_reduction: str = "sum"
    batch_size: int = 64
    chunk_frames: int = CHUNK_FRAMES
    epochs: int = 100
    steps_per_epoch: int | None = None
    patience: int = 20  # early stopping on validation loss
    lr_factor: float = 0.2  # reduce-LR-on-plateau
    lr_patience: int = 5
    min_lr: float = 1.6e-7
    seed: int = 0
    device: str = "auto"  # "auto" | "cpu" | "cuda" | "cuda:1" ...
    num_workers: int = 0
    backbone: str = "cnn"  # "cnn" | "mlp"
    audio: AudioCNNConfig = field(default_factory=AudioCNNConfig)
    mlp_hidden: int = 256
    embed_dim: int = 100

    def __post_init__(self) -> None:
        if isinstance(self.audio, dict):
            self.audio = AudioCNNConfig(**self.audio)
        choices = {
            "model": ("embedding", "classification"),
            "optimizer": ("sgd", "adam"),
            "hinge_reduction": ("sum", "mean"),
            "backbone": ("cnn", "mlp"),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ModelError(
                    f"train config: {name} must be one of {allowed}, got {getattr(self, name)!r}"
                )
        if self.batch_size < 1 or self.chunk_frames < 1 or self.epochs < 0 or self.lr <= 0:
            raise ModelError(
                "train config: batch_size, chunk_frames and lr must be positive, epochs >= 0"
            )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["audio"] = self.audio.to_dict()
        return d

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ModelError(f"train config: unknown setting(s) {', '.join(unknown)}")
        return cls(**dict(values))


@dataclass
class TrainData:
    """Everything the trainer reads, already resolved from files by the caller.

    features: track id -> unstandardised mel [128, T] (a `features.FeatureCache` or a dict).
    track_positive: track id -> indices into `seen_labels` of its positive labels.
    side_matrix: [n_seen, side_dim] side-information vectors of the seen labels (embedding
    model only). info: extra entries for the model's config.json (side-information kind and
    source, split file, setup, manifest, vectors ...).
    """

    features: Mapping[str, np.ndarray]
    mean: float
    std: float
    train_ids: Sequence[str]
    valid_ids: Sequence[str]
    track_positive: Mapping[str, Sequence[int]]
    seen_labels: Sequence[str]
    side_matrix: np.ndarray | None = None
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainResult:
    """What a run did. Epoch numbers are 1-based; `history` lists one value per epoch."""

    history: dict[str, list[float]]
    best_epoch: int
    best_val_loss: float
    stopped_early: bool
    epochs_run: int
    out_dir: str
    skipped_tracks: int = 0

    def summary(self) -> dict[str, Any]:
        return {
            "epochs_run": self.epochs_run,
            "best_epoch": self.best_epoch,
            "best_val_loss": self.best_val_loss,
            "stopped_early": self.stopped_early,
            "skipped_tracks": self.skipped_tracks,
            "final_train_loss": self.history["train_loss"][-1]
            if self.history["train_loss"]
            else None,
        }

    def __str__(self) -> str:
        stop = "stopped early" if self.stopped_early else "ran all epochs"
        return (
            f"trained {self.epochs_run} epoch(s), {stop}; best validation loss "
            f"{self.best_val_loss:.4f} at epoch {self.best_epoch}; model in {self.out_dir}"
        )


# --------------------------------------------------------------------------- distributed


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits in a torchrun job (world_size 1 when not launched by torchrun)."""

    world_size: int = 1
    rank: int = 0
    local_rank: int = 0
    owns_group: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def init_distributed(device: str = "auto") -> DistInfo:
    """Join the torchrun process group if the environment says we were launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    rank, local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    if dist.is_initialized():
        return DistInfo(world, rank, local_rank, owns_group=False)
    on_cuda = resolve_device(device, local_rank).type == "cuda"
    if on_cuda:
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend="nccl" if on_cuda else "gloo")
    return DistInfo(world, rank, local_rank, owns_group=True)


def shutdown_distributed(info: DistInfo) -> None:
    if info.owns_group and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def _all_sum(values: Sequence[float], info: DistInfo, device: torch.device) -> list[float]:
    if not info.distributed:
        return [float(v) for v in values]
    tensor = torch.tensor(list(values), dtype=torch.float64, device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor.tolist()


# --------------------------------------------------------------------------- data


class ChunkDataset(Dataset):
    """Item i = (standardised chunk [C, frames], positive index, negative index) or
    (chunk, 0/1 targets) for the classification model.

    The random chunk and labels come from a generator seeded with (seed, stream, epoch, i):
    reproducible across workers and resumes. The validation stream keeps epoch 0 forever.

    `batch(indices)` gives the collated batch of those items, exactly what the per-item path
    collated by the DataLoader gives, at a fraction of the Python cost: the windows are copied
    into one float16 array and converted and standardised once per batch.
    """

    def __init__(
        self, track_ids: Sequence[str], data: TrainData, config: TrainConfig, stream: int
    ) -> None:
        self.track_ids = list(track_ids)
        self.features = data.features
        self.positive = {
            t: np.asarray(sorted(set(data.track_positive.get(t, ()))), dtype=np.int64)
            for t in self.track_ids
        }
        self.n_labels = len(data.seen_labels)
        self.mean, self.std = float(data.mean), float(data.std)
        self.frames, self.seed, self.stream = config.chunk_frames, config.seed, stream
        self.classification = config.model == "classification"
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.track_ids)

    def __getitem__(self, index: int):
        track_id, mel, start, pos, neg = self._draw(index)
        frames = fit_frames(
            np.asarray(mel[:, start : start + self.frames], dtype=np.float32), self.frames
        )
        chunk = torch.from_numpy((frames - self.mean) / self.std)
        if self.classification:
            target = np.zeros(self.n_labels, dtype=np.float32)
            target[self.positive[track_id]] = 1.0
            return chunk, torch.from_numpy(target)
        return chunk, pos, neg

    def batch(self, indices: Sequence[int]) -> tuple[torch.Tensor, ...]:
        """The collated items `indices`: (chunks [B, C, frames], pos [B], neg [B]) or (chunks, targets)."""
        draws = [self._draw(int(i)) for i in indices]
        channels = draws[0][1].shape[0] if draws else 0
        exact16 = all(mel.dtype == np.float16 for _, mel, _, _, _ in draws)
        raw = np.empty(
            (len(draws), channels, self.frames), dtype=np.float16 if exact16 else np.float32
        )
        for row, (track_id, mel, start, _, _) in enumerate(draws):
            window = mel[:, start : start + self.frames]
            if window.shape[-1] < self.frames:
                window = fit_frames(np.asarray(window), self.frames)
            if window.shape[0] != channels:
                raise DatasetError(
                    f"track {track_id!r} has {window.shape[0]} feature channels, "
                    f"track {draws[0][0]!r} has {channels}"
                )
            raw[row] = window
        chunks = raw.astype(np.float32, copy=False)  # the float16 -> float32 copy, once per batch
        np.subtract(chunks, self.mean, out=chunks)
        np.divide(chunks, self.std, out=chunks)
        if self.classification:
            targets = np.zeros((len(draws), self.n_labels), dtype=np.float32)
            for row, (track_id, _, _, _, _) in enumerate(draws):
                targets[row, self.positive[track_id]] = 1.0
            return torch.from_numpy(chunks), torch.from_numpy(targets)
        pos = torch.tensor([d[3] for d in draws], dtype=torch.int64)
        neg = torch.tensor([d[4] for d in draws], dtype=torch.int64)
        return torch.from_numpy(chunks), pos, neg

    def _draw(self, index: int) -> tuple[str, np.ndarray, int, int, int]:
        """(track id, its mel, chunk start, positive, negative): every random choice of item
        `index`, in the order the authors' sampling makes them (-1, -1 for classification)."""
        track_id = self.track_ids[index]
        epoch = self.epoch if self.stream == _TRAIN_STREAM else 0
        rng = np.random.default_rng([self.seed, self.stream, epoch, index])
        try:
            mel = self.features[track_id]
        except KeyError:
            raise DatasetError(
                f"track {track_id!r} has no cached features; build the feature cache first"
            ) from None
        n = mel.shape[-1]
        start = int(rng.integers(n - self.frames + 1)) if n > self.frames else 0
        if self.classification:
            return track_id, mel, start, -1, -1
        positive = self.positive[track_id]
        pos = int(
            positive[rng.integers(len(positive))]
        )  # = rng.choice(positive), same draw, less overhead
        neg = _nth_negative(positive, int(rng.integers(self.n_labels - len(positive))))
        return track_id, mel, start, pos, neg


class _Batches(Dataset):
    """A ChunkDataset indexed by whole batches (lists of item indices), for a DataLoader with
    batch_size=None: each worker builds and sends whole batches."""

    def __init__(self, items: ChunkDataset) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, indices: Sequence[int]) -> tuple[torch.Tensor, ...]:
        return self.items.batch(indices)


def _nth_negative(positive: np.ndarray, n: int) -> int:
    """The n-th label index (0-based) that is not in the sorted `positive` array."""
    for p in positive:
        if p <= n:
            n += 1
        else:
            break
    return n


def _usable_tracks(
    track_ids: Sequence[str], data: TrainData, config: TrainConfig
) -> tuple[list[str], int]:
    """Drop tracks the sampler cannot use: no seen positive, or (embedding model) no seen negative."""
    n_labels = len(data.seen_labels)
    kept = []
    for track_id in track_ids:
        positive = set(data.track_positive.get(track_id, ()))
        if any(not 0 <= int(p) < n_labels for p in positive):
            raise DatasetError(
                f"track {track_id!r}: positive label index out of range 0..{n_labels - 1}"
            )
        if positive and (config.model == "classification" or len(positive) < n_labels):
            kept.append(track_id)
    return kept, len(track_ids) - len(kept)


# --------------------------------------------------------------------------- schedules


@dataclass
class PlateauTracker:
    """Keras-style 'no improvement for `patience` epochs' counter (min_delta as in Keras)."""

    patience: int
    min_delta: float = 0.0
    best: float = math.inf
    wait: int = 0

    def update(self, value: float) -> bool:
        """Record an epoch; True once `patience` epochs have passed without improvement."""
        if value < self.best - self.min_delta:
            self.best, self.wait = value, 0
            return False
        self.wait += 1
        return self.wait >= self.patience

    def to_dict(self) -> dict[str, Any]:
        return {"best": None if math.isinf(self.best) else self.best, "wait": self.wait}

    def load(self, values: Mapping[str, Any]) -> None:
        self.best = math.inf if values["best"] is None else float(values["best"])
        self.wait = int(values["wait"])


def keras_lr(base_lr: float, decay: float, iterations: int) -> float:
    """Keras 2's time-based decay, applied on top of whatever the plateau rule has set."""
    return base_lr / (1.0 + decay * iterations)


# --------------------------------------------------------------------------- building


def build_training_model(config: TrainConfig, data: TrainData) -> ZslModel:
    """The model `config` asks for, sized from the data (input channels, label count, side dim)."""
    first = data.train_ids[0]
    try:
        channels = int(data.features[first].shape[0])
    except KeyError:
        raise DatasetError(
            f"track {first!r} has no cached features; build the feature cache first"
        ) from None
    if config.backbone == "cnn":
        cfg = config.audio
        audio: AudioCNN | FeatureMLP = AudioCNN(
            AudioCNNConfig(channels, cfg.channels, cfg.kernels, cfg.pools, config.embed_dim)
        )
    else:
        audio = FeatureMLP(channels, config.embed_dim, config.mlp_hidden)
    if config.chunk_frames < audio.min_frames:
        raise ModelError(
            f"chunk_frames {config.chunk_frames} is shorter than the audio module's minimum "
            f"{audio.min_frames}"
        )
    if config.model == "classification":
        return ClassificationModel(audio, len(data.seen_labels))
    side = _side_matrix(data)
    return DeepEmbeddingModel(audio, side.shape[1], config.embed_dim)


def _side_matrix(data: TrainData) -> np.ndarray:
    if data.side_matrix is None:
        raise DatasetError("the embedding model needs side-information vectors for the seen labels")
    side = np.asarray(data.side_matrix, dtype=np.float32)
    if side.ndim != 2 or side.shape[0] != len(data.seen_labels):
        raise DatasetError(
            f"side information is {list(side.shape)}, expected [{len(data.seen_labels)}, dim]"
        )
    return side


def _make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=config.lr)
    return torch.optim.SGD(
        model.parameters(), lr=config.lr, momentum=config.momentum, nesterov=config.nesterov
    )


# --------------------------------------------------------------------------- checkpoints


def save_training_state(
    directory: Path, optimizer: torch.optim.Optimizer, state: dict[str, Any]
) -> None:
    """Optimizer tensors and the RNG into safetensors, every other value into JSON: no pickle."""
    sd = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {"rng.torch": torch.get_rng_state()}
    optimizer_state: dict[str, dict[str, Any]] = {}
    for param_id, entries in sd["state"].items():
        plain = {}
        for name, value in entries.items():
            if torch.is_tensor(value):
                tensors[f"optimizer.{param_id}.{name}"] = value.detach().cpu().contiguous()
            else:
                plain[name] = value
        optimizer_state[str(param_id)] = plain
    meta = {**state, "optimizer": {"param_groups": sd["param_groups"], "state": optimizer_state}}
    save_file(tensors, str(directory / STATE_TENSORS))
    (directory / STATE_JSON).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def load_training_state(directory: Path, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    try:
        meta = json.loads((directory / STATE_JSON).read_text(encoding="utf-8"))
        tensors = load_file(str(directory / STATE_TENSORS))
    except (OSError, ValueError) as exc:
        raise ModelError(
            f"{directory}: cannot resume, training state missing or unreadable ({exc})"
        ) from None
    state: dict[int, dict[str, Any]] = {
        int(k): dict(v) for k, v in meta["optimizer"]["state"].items()
    }
    for key, value in tensors.items():
        if key.startswith("optimizer."):
            _, param_id, name = key.split(".", 2)
            state.setdefault(int(param_id), {})[name] = value
    try:
        optimizer.load_state_dict(
            {"state": state, "param_groups": meta["optimizer"]["param_groups"]}
        )
    except (ValueError, KeyError) as exc:
        raise ModelError(
            f"{directory}: optimizer state does not match this model ({exc})"
        ) from None
    torch.set_rng_state(tensors["rng.torch"])
    return meta


# --------------------------------------------------------------------------- the loop


def _prepare_shards(
    features: Mapping[str, np.ndarray], info: DistInfo, progress: bool = False
) -> None:
    """Pack a FeatureCache's shards if missing or stale (rank 0 only; the others wait and then
    map what it wrote), so every chunk is a view into a few large memory-mapped files."""
    ensure = getattr(features, "ensure_shards", None)
    if ensure is None:
        return
    if info.is_main:
        ensure(pack=True, progress=progress)
    if info.distributed:
        dist.barrier()
        if not info.is_main:
            ensure(pack=False)


class _Run:
    """One training run's moving parts, so the epoch loop reads as the recipe.

    batched_chunks: build whole batches at once (ChunkDataset.batch, the default) rather than
    one DataLoader item per chunk; both give the same batches for a seed.
    """

    batched_chunks = True

    def __init__(
        self, config: TrainConfig, data: TrainData, out_dir: Path, info: DistInfo, progress: bool
    ) -> None:
        self.config, self.data, self.out_dir, self.dist = config, data, out_dir, info
        self.device = resolve_device(config.device, info.local_rank)
        self.progress = progress and info.is_main
        train_ids, skipped_train = _usable_tracks(data.train_ids, data, config)
        valid_ids, skipped_valid = _usable_tracks(data.valid_ids, data, config)
        if not train_ids or not valid_ids:
            raise DatasetError(
                f"nothing to train on: {len(train_ids)} usable training and {len(valid_ids)} "
                "usable validation tracks (each needs a seen positive and a seen negative)"
            )
        self.skipped = skipped_train + skipped_valid
        data = TrainData(**{**data.__dict__, "train_ids": train_ids, "valid_ids": valid_ids})
        self.data = data
        torch.manual_seed(config.seed)
        self.model = build_training_model(config, data).to(self.device)
        self.side = (
            torch.from_numpy(_side_matrix(data)).to(self.device)
            if config.model == "embedding"
            else None
        )
        _prepare_shards(data.features, info, self.progress)
        self.train_set = ChunkDataset(train_ids, data, config, _TRAIN_STREAM)
        self.valid_chunks = ChunkDataset(valid_ids, data, config, _VALID_STREAM)
        self.valid_indices = range(info.rank, len(self.valid_chunks), info.world_size)
        self.valid_set = Subset(self.valid_chunks, self.valid_indices)
        self.sampler: DistributedSampler[int] = DistributedSampler(
            self.train_set,
            num_replicas=info.world_size,
            rank=info.rank,
            shuffle=True,
            seed=config.seed,
        )
        self.optimizer = _make_optimizer(self.model, config)
        self.step, self.base_lr, self.epoch = 0, config.lr, 0
        self.history: dict[str, list[float]] = {
            "train_loss": [],
            "val_loss": [],
            "lr": [],
            "seconds": [],
        }
        self.plateau = PlateauTracker(config.lr_patience, min_delta=1e-4)
        self.early = PlateauTracker(config.patience)
        self.best_val, self.best_epoch, self.stopped_early = math.inf, 0, False

    # --- state ----------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "step": self.step,
            "base_lr": self.base_lr,
            "history": self.history,
            "plateau": self.plateau.to_dict(),
            "early": self.early.to_dict(),
            "best_val": None if math.isinf(self.best_val) else self.best_val,
            "best_epoch": self.best_epoch,
            "stopped_early": self.stopped_early,
            "config": self.config.to_dict(),
        }

    def resume(self) -> None:
        last = self.out_dir / "last"
        model, _ = load_model(last, device=self.device)
        self.model.load_state_dict(model.state_dict())
        meta = load_training_state(last, self.optimizer)
        self.epoch, self.step, self.base_lr = (
            int(meta["epoch"]),
            int(meta["step"]),
            float(meta["base_lr"]),
        )
        self.history = {k: list(v) for k, v in meta["history"].items()}
        self.plateau.load(meta["plateau"])
        self.early.load(meta["early"])
        self.best_val = math.inf if meta["best_val"] is None else float(meta["best_val"])
        self.best_epoch, self.stopped_early = int(meta["best_epoch"]), bool(meta["stopped_early"])

    def model_config(self) -> dict[str, Any]:
        return {
            "mean": float(self.data.mean),
            "std": float(self.data.std),
            "seen_labels": list(self.data.seen_labels),
            "chunk_frames": self.config.chunk_frames,
            **self.data.info,
            "train_config": self.config.to_dict(),
        }

    # --- one epoch ------------------------------------------------------------------------
    def batch_loss(
        self, model: nn.Module, batch, reduce_for_backward: bool
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss to step on, per-item losses). The per-item losses are what gets reported."""
        if self.config.model == "classification":
            chunk, target = (t.to(self.device, non_blocking=True) for t in batch)
            logits = model(chunk)
            per_item = nn.functional.binary_cross_entropy_with_logits(
                logits, target, reduction="none"
            ).mean(1)
            loss = per_item.mean()
        else:
            chunk, pos, neg = (t.to(self.device, non_blocking=True) for t in batch)
            assert self.side is not None  # an embedding model's side matrix (set in __init__)
            rel_pos, rel_neg = model(chunk, self.side[pos], self.side[neg])
            per_item = hinge_loss(rel_pos, rel_neg, self.config.margin, reduction="none")
            loss = per_item.sum() if self.config.hinge_reduction == "sum" else per_item.mean()
        if reduce_for_backward and self.config.l2:
            loss = loss + self.config.l2 * l2_penalty(getattr(model, "module", model))
        return loss, per_item.detach()

    def train_epoch(self, model: nn.Module) -> float:
        model.train()
        self.train_set.set_epoch(self.epoch)
        self.sampler.set_epoch(self.epoch)
        loader = self._loader(self.train_set, self.sampler, self.train_set)
        n_batches = (
            len(loader)
            if self.config.steps_per_epoch is None
            else min(len(loader), self.config.steps_per_epoch)
        )
        total, count = 0.0, 0
        bar = tqdm(
            total=n_batches,
            desc=f"epoch {self.epoch + 1}/{self.config.epochs}",
            unit="batch",
            disable=not self.progress,
            leave=False,
            dynamic_ncols=True,
        )
        for i, batch in enumerate(loader):
            if i >= n_batches:
                break
            lr = keras_lr(self.base_lr, self.config.decay, self.step)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            loss, per_item = self.batch_loss(model, batch, reduce_for_backward=True)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            self.step += 1
            total, count = total + float(per_item.sum()), count + per_item.numel()
            bar.update(1)
            bar.set_postfix(loss=f"{total / count:.4f}", lr=f"{lr:.2e}")
        bar.close()
        total_all, count_all = _all_sum([total, count], self.dist, self.device)
        return total_all / max(count_all, 1)

    @torch.no_grad()
    def validate(self) -> float:
        model = self.model
        model.eval()
        total, count = 0.0, 0
        for batch in self._loader(self.valid_chunks, self.valid_indices, self.valid_set):
            _, per_item = self.batch_loss(model, batch, reduce_for_backward=False)
            total, count = total + float(per_item.sum()), count + per_item.numel()
        total_all, count_all = _all_sum([total, count], self.dist, self.device)
        return total_all / max(count_all, 1)

    def _loader(self, chunks: ChunkDataset, order, per_item: Dataset) -> DataLoader:
        """Batches of `chunks` in the order of `order` (a sampler or index range); the
        per-item path iterates `per_item` (the same items, `order` applied) instead."""
        generator = torch.Generator().manual_seed(self.config.seed + self.epoch)
        common: dict[str, Any] = dict(
            num_workers=self.config.num_workers,
            generator=generator,
            pin_memory=self.device.type == "cuda",
        )
        if self.batched_chunks:
            batches = BatchSampler(order, self.config.batch_size, drop_last=False)
            return DataLoader(_Batches(chunks), batch_size=None, sampler=batches, **common)
        sampler = order if isinstance(order, Sampler) else None
        return DataLoader(
            per_item,
            batch_size=self.config.batch_size,
            sampler=sampler,
            shuffle=False,
            drop_last=False,
            **common,
        )

    # --- after each epoch -----------------------------------------------------------------
    def end_epoch(self, train_loss: float, val_loss: float, seconds: float) -> None:
        self.history["train_loss"].append(train_loss)
        self.history["val_loss"].append(val_loss)
        self.history["lr"].append(self.base_lr)
        self.history["seconds"].append(seconds)
        self.epoch += 1
        improved = val_loss < self.best_val
        if improved:
            self.best_val, self.best_epoch = val_loss, self.epoch
        if self.plateau.update(val_loss) and self.base_lr > self.config.min_lr:
            self.base_lr = max(self.base_lr * self.config.lr_factor, self.config.min_lr)
            self.plateau.wait = 0  # Keras restarts the count only after a reduction
        self.stopped_early = self.early.update(val_loss)
        if self.dist.is_main:
            if improved:
                save_model(
                    self.out_dir / "best",
                    self.model,
                    self.model_config(),
                    side_matrix=self._side_numpy(),
                )
            last = save_model(
                self.out_dir / "last",
                self.model,
                self.model_config(),
                side_matrix=self._side_numpy(),
            )
            save_training_state(last, self.optimizer, self.state())
            if self.progress:
                tqdm.write(
                    f"epoch {self.epoch}: train loss {train_loss:.4f}, val loss {val_loss:.4f}, "
                    f"lr {self.base_lr:.2e}{' *' if improved else ''} ({seconds:.0f} s)"
                )

    def _side_numpy(self) -> np.ndarray | None:
        return None if self.side is None else self.side.cpu().numpy()

    def finish(self) -> TrainResult:
        result = TrainResult(
            history=self.history,
            best_epoch=self.best_epoch,
            best_val_loss=self.best_val,
            stopped_early=self.stopped_early,
            epochs_run=self.epoch,
            out_dir=str(self.out_dir),
            skipped_tracks=self.skipped,
        )
        if self.dist.is_main:
            source = self.out_dir / ("best" if (self.out_dir / "best").is_dir() else "last")
            best, _ = load_model(source) if source.is_dir() else (self.model, None)
            save_model(
                self.out_dir,
                best,
                {**self.model_config(), "training": result.summary()},
                side_matrix=self._side_numpy(),
            )
        return result


def train(
    config: TrainConfig,
    data: TrainData,
    out_dir: str | Path,
    resume: bool = False,
    progress: bool = True,
    on_epoch: Callable[[int, int], None] | None = None,
) -> TrainResult:
    """Train, validate each epoch, checkpoint to `out_dir`; returns the loss history.

    With `resume`, continues from `out_dir/last` (weights, optimizer, schedules, epoch) and,
    with the same data and seed, ends where an uninterrupted run would have ended.
    `on_epoch(done, at_most)` is called before the first epoch and after each (at_most is the
    configured epoch count; early stopping may end sooner), for a caller's progress display.
    """
    out_dir = Path(out_dir)
    info = init_distributed(config.device)
    try:
        if info.is_main:
            out_dir.mkdir(parents=True, exist_ok=True)
        run = _Run(config, data, out_dir, info, progress)
        if resume:
            if not (out_dir / "last").is_dir():
                raise ModelError(f"{out_dir / 'last'}: nothing to resume from")
            load_config(out_dir / "last")
            run.resume()
        model: nn.Module = run.model
        if info.distributed:
            ids = [run.device.index] if run.device.type == "cuda" else None
            model = nn.parallel.DistributedDataParallel(run.model, device_ids=ids)
        if on_epoch is not None:
            on_epoch(run.epoch, config.epochs)
        while run.epoch < config.epochs and not run.stopped_early:
            started = time.monotonic()
            train_loss = run.train_epoch(model)
            val_loss = run.validate()
            run.end_epoch(train_loss, val_loss, time.monotonic() - started)
            if on_epoch is not None:
                on_epoch(run.epoch, config.epochs)
        return run.finish()
    finally:
        shutdown_distributed(info)
