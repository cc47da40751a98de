"""Scoring with a trained model: track outputs, label embeddings, cosine similarity."""

from __future__ import annotations

import numpy as np


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return a @ b.T


def auto_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def track_outputs(model, feats, ids, mean, std, chunk_frames, output) -> np.ndarray:
    from zsl_core.train import embed_tracks

    return embed_tracks(
        model, feats, ids, mean, std, chunk_frames=chunk_frames, batch_size=256, output=output
    )


def label_embeddings(model, side: np.ndarray) -> np.ndarray:
    import torch

    device = next(model.parameters()).device
    with torch.no_grad():
        return (
            model.embed_labels(torch.from_numpy(np.asarray(side, np.float32)).to(device))
            .cpu()
            .numpy()
        )
