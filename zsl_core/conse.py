"""ConSE (Norouzi et al. 2013, the paper's ref. [19]): a classifier's seen-label probabilities
as a point in word space, so words it was never trained on can be scored against a track.

A track is placed at the convex combination of the vectors of its `top_t` most probable seen
labels, weighted by their probabilities renormalised to sum to 1. Written once: the built-in
model (`default_model`), a trained classification model (`trained`) and the paper's
experiments (`reproduce`) all call `conse`, so the three cannot drift apart.
"""

from __future__ import annotations

import numpy as np

from zsl_core.cosine import unit_rows

__all__ = ["DEFAULT_TOP_T", "conse_weights", "conse"]

DEFAULT_TOP_T = 10  # Norouzi et al.'s choice; fewer makes embeddings jumpy, more blurs them


def conse_weights(
    probabilities: np.ndarray, label_vectors: np.ndarray, top_t: int = DEFAULT_TOP_T
) -> np.ndarray:
    """Convex weights, the shape of `probabilities` ([n_seen] or [n, n_seen]): each row's top-T
    probabilities renormalised to sum to 1 (equal weights when they are all 0), zero elsewhere.

    Labels whose vector is zero (nothing could place them) are skipped, so the weights still
    sum to 1 over real vectors. Ties go to the earlier label (a stable sort)."""
    p = np.asarray(probabilities)
    vectors = np.asarray(label_vectors)
    if p.shape[-1] != vectors.shape[0]:
        raise ValueError(
            f"probabilities {p.shape} and seen-label vectors {vectors.shape} do not match"
        )
    rows = np.atleast_2d(p)
    candidates = np.flatnonzero(np.any(vectors != 0, axis=1))
    t = max(1, min(int(top_t), len(candidates)))
    order = candidates[np.argsort(-rows[:, candidates], axis=1, kind="stable")[:, :t]]
    top = np.take_along_axis(rows, order, axis=1)
    total = top.sum(axis=1, keepdims=True)
    share = np.where(total > 0, top / np.where(total > 0, total, 1), 1.0 / t).astype(rows.dtype)
    weights = np.zeros_like(rows)
    np.put_along_axis(weights, order, share, axis=1)
    return weights.reshape(p.shape)


def conse(
    probabilities: np.ndarray,
    label_vectors: np.ndarray,
    top_t: int = DEFAULT_TOP_T,
    unit: bool = True,
) -> np.ndarray:
    """ConSE embeddings ([dim] or [n, dim], as `probabilities`) of seen-label probabilities and
    the seen labels' vectors (each taken at unit length), in the inputs' float type: unit
    length, or with `unit=False` the convex combination itself (what the experiments report).
    Labels are then scored by cosine with it, so the length changes no score."""
    vectors = unit_rows(np.asarray(label_vectors))
    combined = conse_weights(probabilities, vectors, top_t) @ vectors
    return unit_rows(combined) if unit else combined
