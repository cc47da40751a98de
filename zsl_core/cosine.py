"""Unit rows and cosine similarity: the one relevance measure of the joint space (paper eq. 2).

Declared once because every model, the search index, similarity and the research pipeline
score by it; a zero row stays zero (it scores 0 against everything) instead of dividing by 0.
"""

from __future__ import annotations

import numpy as np

__all__ = ["EPS", "unit_rows", "cosine_matrix"]

EPS = 1e-12  # the smallest norm divided by: a zero row stays a zero row


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Every row (the last axis) scaled to unit length, in the input's float type."""
    return matrix / np.maximum(np.linalg.norm(matrix, axis=-1, keepdims=True), EPS)


def cosine_matrix(a: np.ndarray, b: np.ndarray, dtype: type = np.float32) -> np.ndarray:
    """Cosine similarity [n, m] of every row of `a` with every row of `b` (zero rows score 0),
    computed in `dtype` (float32 for the app; the reproduction scripts ask for float64)."""
    a = unit_rows(np.asarray(a, dtype=dtype))
    b = unit_rows(np.asarray(b, dtype=dtype))
    return a @ b.T
