"""Scoring with a trained model: track outputs, label embeddings, cosine similarity."""

from __future__ import annotations

import numpy as np

from zsl_core.cosine import cosine_matrix


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine [n, m] in float64 (`zsl_core.cosine.cosine_matrix`)."""
    return cosine_matrix(a, b, dtype=np.float64)


def auto_device() -> str:
    """'cuda' when there is a GPU, else 'cpu' (`zsl_core.devices.resolve_device`)."""
    from zsl_core.devices import resolve_device  # torch: only training asks

    return str(resolve_device("auto"))


def track_outputs(model, feats, ids, mean, std, chunk_frames, output) -> np.ndarray:
    from zsl_core.chunks import embed_tracks  # torch: only training and scoring load it

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
