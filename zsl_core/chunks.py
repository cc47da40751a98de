"""A trained model run over a track: its mel cut into fixed-length chunks, each chunk through
the network, the outputs averaged (the authors' track-level embedding).

Shared by the trainer (validation), `zsl-core evaluate`, the experiments and `TrainedTagger`,
so inference never imports the trainer.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from zsl_core.audio import CHUNK_FRAMES
from zsl_core.errors import DatasetError, ModelError
from zsl_core.models import ClassificationModel, ZslModel

__all__ = ["CHUNK_FRAMES", "fit_frames", "chunk_starts", "embed_tracks", "embed_track"]


def fit_frames(mel: np.ndarray, frames: int) -> np.ndarray:
    """A track shorter than one chunk is repeated until it fills it (zeros would be silence,
    which the model would learn to read as part of the track)."""
    n = mel.shape[-1]
    if n >= frames:
        return mel
    if n == 0:
        raise DatasetError("a track has an empty mel (0 frames)")
    return np.tile(mel, (1, math.ceil(frames / n)))[:, :frames]


def chunk_starts(
    n_frames: int, chunk_frames: int = CHUNK_FRAMES, n_chunks: int | None = None
) -> list[int]:
    """Non-overlapping chunk starts over the whole track (the authors' track-level average;
    the remainder after the last full chunk is dropped), or `n_chunks` evenly spaced ones."""
    if n_frames <= chunk_frames:
        return [0]
    if n_chunks is not None:
        if n_chunks < 1:
            raise ValueError("n_chunks must be at least 1")
        return [int(round(s)) for s in np.linspace(0, n_frames - chunk_frames, n_chunks)]
    return list(range(0, n_frames - chunk_frames + 1, chunk_frames))


def _track_chunks(mel: np.ndarray, chunk_frames: int, n_chunks: int | None) -> Iterator[np.ndarray]:
    for start in chunk_starts(mel.shape[-1], chunk_frames, n_chunks):
        yield fit_frames(
            np.asarray(mel[:, start : start + chunk_frames], dtype=np.float32), chunk_frames
        )


def _chunk_outputs(
    model: ZslModel, chunks: np.ndarray, mean: float, std: float, output: str
) -> np.ndarray:
    device = next(model.parameters()).device
    x = torch.from_numpy((chunks - mean) / std).to(device)
    if output == "probabilities":
        return torch.sigmoid(model(x)).cpu().numpy()
    return model.embed_audio(x).cpu().numpy()


def _output_kind(model: nn.Module, output: str) -> str:
    if output == "auto":
        return "probabilities" if isinstance(model, ClassificationModel) else "embedding"
    if output not in ("embedding", "probabilities"):
        raise ValueError(f"unknown output {output!r}")
    if output == "probabilities" and not isinstance(model, ClassificationModel):
        raise ModelError("only a classification model has label probabilities")
    return output


def embed_tracks(
    model: ZslModel,
    features: Mapping[str, np.ndarray],
    track_ids: Sequence[str],
    mean: float,
    std: float,
    chunk_frames: int = CHUNK_FRAMES,
    n_chunks: int | None = None,
    batch_size: int = 64,
    output: str = "auto",
    progress: bool = False,
) -> np.ndarray:
    """[n_tracks, d]: each track's mean chunk output, chunks of many tracks batched together.

    output: "embedding" (the audio embedding), "probabilities" (a classification model's
    sigmoid outputs, averaged over chunks) or "auto" (whichever the model's type gives).
    Runs on the model's device, in eval mode, without gradients.
    """
    model = getattr(model, "module", model)
    kind = _output_kind(model, output)
    was_training = model.training
    model.eval()
    sums: np.ndarray | None = None
    counts = np.zeros(len(track_ids), dtype=np.int64)
    pending: list[np.ndarray] = []
    owners: list[int] = []

    def flush() -> None:
        nonlocal sums
        outputs = _chunk_outputs(model, np.stack(pending), mean, std, kind)
        if sums is None:
            sums = np.zeros((len(track_ids), outputs.shape[1]), dtype=np.float64)
        np.add.at(sums, np.asarray(owners), outputs)
        np.add.at(counts, np.asarray(owners), 1)
        pending.clear()
        owners.clear()

    try:
        with torch.no_grad():
            for i, track_id in enumerate(
                tqdm(track_ids, disable=not progress, unit="track", desc="embedding")
            ):
                for chunk in _track_chunks(features[track_id], chunk_frames, n_chunks):
                    pending.append(chunk)
                    owners.append(i)
                    if len(pending) >= batch_size:
                        flush()
            if pending:
                flush()
    finally:
        model.train(was_training)
    if sums is None:
        return np.zeros((0, 0), dtype=np.float32)
    return (sums / counts[:, None]).astype(np.float32)


def embed_track(
    model: ZslModel,
    mel: np.ndarray,
    mean: float,
    std: float,
    chunk_frames: int = CHUNK_FRAMES,
    n_chunks: int | None = None,
    batch_size: int = 64,
    return_chunks: bool = False,
    output: str = "auto",
) -> np.ndarray:
    """One track's vector: the mean of its chunk outputs ([d]), or every chunk's ([n_chunks, d])."""
    if not return_chunks:
        return embed_tracks(
            model, {"track": mel}, ["track"], mean, std, chunk_frames, n_chunks, batch_size, output
        )[0]
    model = getattr(model, "module", model)
    kind = _output_kind(model, output)
    chunks = list(_track_chunks(mel, chunk_frames, n_chunks))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            parts = [
                _chunk_outputs(model, np.stack(chunks[i : i + batch_size]), mean, std, kind)
                for i in range(0, len(chunks), batch_size)
            ]
    finally:
        model.train(was_training)
    return np.concatenate(parts).astype(np.float32)
