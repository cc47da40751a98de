"""The paper's models (section 4): the audio CNN, the deep embedding model, the classification model.

The deep embedding model places audio and labels in one 100-d space. The audio module maps a
standardised mel [B, 128, T] to a vector; the semantic module is a single linear layer over a
label's side-information vector (a word vector or an instrument-attribute vector). Relevance is
the cosine of the two, and the hinge loss asks a track to be closer to one of its positive labels
than to one of its negative labels by a margin. Because labels enter only through their side
vectors, any label with a side vector can be scored, including labels never seen in training:
that is the zero-shot part.

The audio module is pluggable (any `nn.Module` mapping [B, C, T] to [B, embed_dim] with the
attributes `embed_dim`, `min_frames` and `config_dict()`): the paper's `AudioCNN` on mels, or
`FeatureMLP` on precomputed features of a frozen network (e.g. musicnn's 200-d penultimate layer).

Checkpoints are a folder holding `model.safetensors` (weights, and the seen labels' side matrix)
and `config.json` (everything needed to rebuild the model and use it). Nothing is pickled.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol, cast

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from zsl_core.errors import ModelError

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
SIDE_KEY = "side_information.seen"  # the seen labels' side matrix, beside the weights
_WEIGHT_PREFIX = "model."
FORMAT_VERSION = 1
MODEL_TYPES = ("embedding", "classification")


# --------------------------------------------------------------------------- audio modules


@dataclass(frozen=True)
class AudioCNNConfig:
    """Sizes of the audio CNN; the defaults are the authors' network (~243k parameters)."""

    n_mels: int = 128
    channels: int = 128
    kernels: tuple[int, ...] = (4, 4, 4, 2)
    pools: tuple[int, ...] = (4, 4, 4, 2)
    embed_dim: int = 100

    def __post_init__(self) -> None:
        object.__setattr__(self, "kernels", tuple(int(k) for k in self.kernels))
        object.__setattr__(self, "pools", tuple(int(p) for p in self.pools))
        if len(self.kernels) != len(self.pools) or not self.kernels:
            raise ModelError(f"audio CNN: {len(self.kernels)} kernels but {len(self.pools)} pools")
        if (
            min(self.kernels + self.pools) < 1
            or min(self.n_mels, self.channels, self.embed_dim) < 1
        ):
            raise ModelError("audio CNN: sizes must be positive")

    @property
    def min_frames(self) -> int:
        """Shortest input that survives every max-pool (each pool floors the length)."""
        return math.prod(self.pools)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["kernels"], d["pools"] = list(self.kernels), list(self.pools)
        return d


class SameConv1d(nn.Module):
    """Conv1d with Keras/TensorFlow 'same' padding: total k-1, the extra frame on the right.

    PyTorch's padding='same' pads even kernels the other way round, so the authors' weights
    and receptive fields would be shifted by a frame; padding by hand keeps them aligned.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: int) -> None:
        super().__init__()
        self.pad = ((kernel - 1) // 2, kernel - 1 - (kernel - 1) // 2)
        self.conv = nn.Conv1d(in_channels, out_channels, kernel, bias=True)
        # Keras he_uniform: U(-sqrt(6 / fan_in), +sqrt(6 / fan_in)); biases start at zero.
        nn.init.kaiming_uniform_(self.conv.weight, nonlinearity="relu")
        assert self.conv.bias is not None  # bias=True
        nn.init.zeros_(self.conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, self.pad))


class AudioCNN(nn.Module):
    """[B, n_mels, T] standardised mel -> [B, embed_dim], 1-D convolutions over time.

    Conv-ReLU-MaxPool blocks, then a linear 1x1 convolution to the embedding size and a global
    average over time, so any T >= `min_frames` works (130-frame chunks in training, whole
    tracks or longer windows at inference).
    """

    def __init__(self, config: AudioCNNConfig | None = None) -> None:
        super().__init__()
        self.config = config or AudioCNNConfig()
        blocks: list[nn.Module] = []
        in_channels = self.config.n_mels
        for kernel, pool in zip(self.config.kernels, self.config.pools, strict=True):
            blocks += [
                SameConv1d(in_channels, self.config.channels, kernel),
                nn.ReLU(),
                nn.MaxPool1d(pool),
            ]
            in_channels = self.config.channels
        self.blocks = nn.Sequential(*blocks)
        self.project = SameConv1d(in_channels, self.config.embed_dim, 1)

    @property
    def embed_dim(self) -> int:
        return self.config.embed_dim

    @property
    def min_frames(self) -> int:
        return self.config.min_frames

    def config_dict(self) -> dict[str, Any]:
        return {"kind": "cnn", **self.config.to_dict()}

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        _check_input(mel, self.config.n_mels, self.min_frames)
        return self.project(self.blocks(mel)).mean(dim=-1)


class FeatureMLP(nn.Module):
    """Audio module over precomputed features [B, in_dim, T] (or [B, in_dim]) of a frozen network.

    Applied to every time step (e.g. every 3-s musicnn patch) and averaged, so it slots into the
    same trainer and track-level averaging as the CNN. One hidden layer is enough on top of a
    network that already tags music.
    """

    min_frames = 1

    def __init__(self, in_dim: int, embed_dim: int = 100, hidden: int = 256) -> None:
        super().__init__()
        if min(in_dim, embed_dim, hidden) < 1:
            raise ModelError("feature MLP: sizes must be positive")
        self.in_dim, self.embed_dim, self.hidden = in_dim, embed_dim, hidden
        self.net = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, embed_dim))

    def config_dict(self) -> dict[str, Any]:
        return {
            "kind": "mlp",
            "in_dim": self.in_dim,
            "embed_dim": self.embed_dim,
            "hidden": self.hidden,
        }

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if features.dim() == 2:
            features = features.unsqueeze(-1)
        _check_input(features, self.in_dim, 1)
        return self.net(features.transpose(1, 2)).mean(dim=1)


def _check_input(x: torch.Tensor, channels: int, min_frames: int) -> None:
    if x.dim() != 3 or x.shape[1] != channels:
        raise ModelError(
            f"audio module: expected input [batch, {channels}, frames], got {list(x.shape)}"
        )
    if x.shape[-1] < min_frames:
        raise ModelError(
            f"audio module: input has {x.shape[-1]} frames, needs at least {min_frames}"
        )


def build_audio_module(config: dict[str, Any]) -> nn.Module:
    """Rebuild an audio module from its `config_dict()`."""
    spec = dict(config)
    kind = spec.pop("kind", None)
    try:
        if kind == "cnn":
            return AudioCNN(AudioCNNConfig(**spec))
        if kind == "mlp":
            return FeatureMLP(**spec)
    except TypeError as exc:
        raise ModelError(f"audio module config {config}: {exc}") from None
    raise ModelError(f"unknown audio module kind {kind!r} (expected 'cnn' or 'mlp')")


class AudioModule(Protocol):
    """What the two models use of their audio module (an nn.Module: `AudioCNN`, `FeatureMLP`)."""

    @property
    def embed_dim(self) -> int: ...

    @property
    def min_frames(self) -> int: ...

    def config_dict(self) -> dict[str, Any]: ...

    def __call__(self, x: torch.Tensor) -> torch.Tensor: ...


def _as_audio_module(audio: AudioCNNConfig | nn.Module | None) -> AudioModule:
    if audio is None or isinstance(audio, AudioCNNConfig):
        return AudioCNN(audio)
    if not isinstance(audio, nn.Module) or not hasattr(audio, "embed_dim"):
        raise ModelError("audio module must be an AudioCNNConfig or an nn.Module with embed_dim")
    return cast(AudioModule, audio)  # checked just above, as far as Python can


def l2_penalty(module: nn.Module) -> torch.Tensor:
    """Sum of squared convolution kernels: the authors' L2 kernel regulariser (times its weight)."""
    terms = [m.weight.pow(2).sum() for m in module.modules() if isinstance(m, nn.Conv1d)]
    if not terms:
        return torch.zeros(())
    return torch.stack(terms).sum()


# --------------------------------------------------------------------------- the two models


class DeepEmbeddingModel(nn.Module):
    """Audio module + semantic module (one linear layer with bias), scored by cosine relevance."""

    model_type = "embedding"

    def __init__(
        self, audio: AudioCNNConfig | nn.Module | None, side_dim: int, embed_dim: int | None = None
    ) -> None:
        super().__init__()
        self.audio = _as_audio_module(audio)
        embed_dim = self.audio.embed_dim if embed_dim is None else embed_dim
        if embed_dim != self.audio.embed_dim:
            raise ModelError(
                f"embedding model: audio module gives {self.audio.embed_dim}-d vectors, "
                f"semantic module {embed_dim}-d"
            )
        if side_dim < 1:
            raise ModelError("embedding model: side_dim must be positive")
        self.side_dim, self.embed_dim = side_dim, embed_dim
        self.semantic = nn.Linear(side_dim, embed_dim, bias=True)

    def architecture(self) -> dict[str, Any]:
        return {
            "model_type": self.model_type,
            "audio": self.audio.config_dict(),
            "side_dim": self.side_dim,
            "embed_dim": self.embed_dim,
        }

    def embed_audio(self, mel: torch.Tensor) -> torch.Tensor:
        return self.audio(mel)

    def embed_labels(self, side_vectors: torch.Tensor) -> torch.Tensor:
        return self.semantic(side_vectors)

    @staticmethod
    def relevance(audio_embedding: torch.Tensor, label_embedding: torch.Tensor) -> torch.Tensor:
        """Row-wise cosine of two [B, d] batches, in [-1, 1]."""
        return F.cosine_similarity(audio_embedding, label_embedding, dim=-1, eps=1e-8)

    def forward(
        self, mel: torch.Tensor, pos_side: torch.Tensor, neg_side: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(relevance to the positive label, relevance to the negative label), each [B]."""
        a = self.embed_audio(mel)
        return self.relevance(a, self.embed_labels(pos_side)), self.relevance(
            a, self.embed_labels(neg_side)
        )


class ClassificationModel(nn.Module):
    """The paper's baseline: the same audio trunk -> one logit per seen label (sigmoid + BCE)."""

    model_type = "classification"

    def __init__(self, audio: AudioCNNConfig | nn.Module | None, n_labels: int) -> None:
        super().__init__()
        if n_labels < 1:
            raise ModelError("classification model: needs at least one label")
        self.audio = _as_audio_module(audio)
        self.n_labels = n_labels
        self.classifier = nn.Linear(self.audio.embed_dim, n_labels)

    def architecture(self) -> dict[str, Any]:
        return {
            "model_type": self.model_type,
            "audio": self.audio.config_dict(),
            "n_labels": self.n_labels,
        }

    def embed_audio(self, mel: torch.Tensor) -> torch.Tensor:
        return self.audio(mel)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.audio(mel))


ZslModel = DeepEmbeddingModel | ClassificationModel  # what build_model/load_model give


def hinge_loss(
    rel_pos: torch.Tensor, rel_neg: torch.Tensor, margin: float = 0.4, reduction: str = "mean"
) -> torch.Tensor:
    """max(0, margin - rel_pos + rel_neg), averaged (or summed) over the batch.

    The authors summed over the batch; the mean only divides the gradient by the batch size,
    i.e. rescales the learning rate. The trainer sums by default so the paper's learning rate
    means what it meant there.
    """
    per_item = torch.clamp(margin - rel_pos + rel_neg, min=0.0)
    if reduction == "mean":
        return per_item.mean()
    if reduction == "sum":
        return per_item.sum()
    if reduction == "none":
        return per_item
    raise ValueError(f"unknown reduction {reduction!r}")


def classification_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy on logits, mean over labels and batch (Keras' binary_crossentropy)."""
    return F.binary_cross_entropy_with_logits(logits, targets)


def build_model(architecture: dict[str, Any]) -> ZslModel:
    """A fresh model from `model.architecture()` (as stored in config.json)."""
    kind = architecture.get("model_type")
    audio_spec = architecture.get("audio")
    if not isinstance(audio_spec, dict):
        raise ModelError("model config: missing 'audio' architecture")
    audio = build_audio_module(audio_spec)
    try:
        if kind == "embedding":
            return DeepEmbeddingModel(
                audio, int(architecture["side_dim"]), int(architecture["embed_dim"])
            )
        if kind == "classification":
            return ClassificationModel(audio, int(architecture["n_labels"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"model config: bad architecture ({exc})") from None
    raise ModelError(f"model config: unknown model_type {kind!r} (expected one of {MODEL_TYPES})")


# --------------------------------------------------------------------------- checkpoints


def save_model(
    directory: str | Path,
    model: ZslModel,
    config: dict[str, Any],
    side_matrix: np.ndarray | torch.Tensor | None = None,
    extra_tensors: dict[str, torch.Tensor] | None = None,
) -> Path:
    """Write `model.safetensors` + `config.json` into `directory` (created if needed).

    `config` holds whatever the user of the model needs (standardisation mean/std, seen labels,
    side-information kind and source, split file, training summary); the architecture is added
    from the model itself so it can never disagree with the weights. The seen labels' side
    matrix goes into the safetensors file, not the JSON. Files are written under temporary
    names and renamed, so a crash never leaves a half-written checkpoint.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model = getattr(model, "module", model)  # unwrap DistributedDataParallel
    tensors = {
        _WEIGHT_PREFIX + k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()
    }
    if side_matrix is not None:
        tensors[SIDE_KEY] = torch.as_tensor(np.asarray(side_matrix, dtype=np.float32)).contiguous()
    for key, value in (extra_tensors or {}).items():
        tensors[key] = value.detach().cpu().contiguous()
    full_config = {**config, **model.architecture(), "format": FORMAT_VERSION}
    text = json.dumps(full_config, indent=2, default=_json_default) + "\n"
    _atomic_write(directory / WEIGHTS_FILE, lambda tmp: save_file(tensors, str(tmp)))
    _atomic_write(directory / CONFIG_FILE, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return directory


def load_model(
    directory: str | Path, device: str | torch.device = "cpu"
) -> tuple[ZslModel, dict[str, Any]]:
    """(model in eval mode on `device`, config dict) from a folder written by `save_model`."""
    config = load_config(directory)
    model = build_model(config)
    tensors = _load_tensors(Path(directory))
    state = {
        k[len(_WEIGHT_PREFIX) :]: v for k, v in tensors.items() if k.startswith(_WEIGHT_PREFIX)
    }
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        reason = " ".join(line.strip() for line in first[:3])
        raise ModelError(
            f"{Path(directory) / WEIGHTS_FILE}: weights do not match config.json ({reason})"
        ) from None
    return model.to(device).eval(), config


def load_config(directory: str | Path) -> dict[str, Any]:
    path = Path(directory) / CONFIG_FILE
    if not Path(directory).is_dir():
        raise ModelError(f"{directory}: no such model folder")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path}: missing (not a model folder?)") from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: unreadable model config ({exc})") from None
    if not isinstance(config, dict) or config.get("model_type") not in MODEL_TYPES:
        raise ModelError(
            f"{path}: not a zsl-tagger model config (model_type must be one of {MODEL_TYPES})"
        )
    if config.get("format", FORMAT_VERSION) > FORMAT_VERSION:
        raise ModelError(f"{path}: written by a newer version (format {config['format']})")
    return config


def load_side_matrix(directory: str | Path) -> np.ndarray | None:
    """The seen labels' side-information matrix stored with the model, or None if there is none."""
    tensors = _load_tensors(Path(directory))
    return tensors[SIDE_KEY].numpy() if SIDE_KEY in tensors else None


def load_extra_tensors(directory: str | Path) -> dict[str, torch.Tensor]:
    """Tensors saved through `extra_tensors` (neither weights nor the side matrix)."""
    tensors = _load_tensors(Path(directory))
    return {k: v for k, v in tensors.items() if not k.startswith(_WEIGHT_PREFIX) and k != SIDE_KEY}


def _load_tensors(directory: Path) -> dict[str, torch.Tensor]:
    path = directory / WEIGHTS_FILE
    if not path.is_file():
        raise ModelError(f"{path}: missing (not a model folder?)")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelError(
            f"{path}: unreadable weights ({str(exc).splitlines()[0] if str(exc) else exc})"
        ) from None


def _atomic_write(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    tmp.replace(path)


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
