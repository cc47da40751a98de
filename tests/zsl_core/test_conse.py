"""The one ConSE (Norouzi et al. 2013): convex weights over the top-T seen labels, unit output."""

from __future__ import annotations

import numpy as np
import pytest

from zsl_core.conse import conse, conse_weights
from zsl_core.cosine import cosine_matrix, unit_rows

VECTORS = np.array([[1, 0, 0], [0, 2, 0], [0, 0, 3], [0, 0, 0]], np.float32)  # last: no vector


def test_weights_are_the_top_t_probabilities_renormalised():
    p = np.array([0.6, 0.3, 0.1, 0.9], np.float32)  # the label without a vector is skipped
    weights = conse_weights(p, VECTORS, top_t=2)
    np.testing.assert_allclose(weights, [2 / 3, 1 / 3, 0, 0], rtol=1e-6)
    np.testing.assert_allclose(conse_weights(np.zeros(4), VECTORS, 2), [0.5, 0.5, 0, 0])
    ties = conse_weights(np.array([0.5, 0.5, 0.5, 0.0]), VECTORS, 1)
    np.testing.assert_array_equal(ties, [1, 0, 0, 0])  # a tie goes to the earlier label
    with pytest.raises(ValueError):
        conse_weights(np.ones(3), VECTORS)


def test_embedding_is_the_unit_convex_combination_of_unit_label_vectors():
    p = np.array([0.6, 0.3, 0.1, 0.9], np.float32)
    embedding = conse(p, VECTORS, top_t=2)
    expected = np.array([2 / 3, 1 / 3, 0]) / np.hypot(2 / 3, 1 / 3)
    np.testing.assert_allclose(embedding, expected, rtol=1e-6)
    rows = conse(np.stack([p, p[::-1]]), VECTORS, top_t=2)  # a batch: one row per track
    np.testing.assert_allclose(rows[0], embedding, rtol=1e-6)
    np.testing.assert_allclose(rows[1], conse(p[::-1], VECTORS, top_t=2), rtol=1e-6)
    assert conse(p.astype(np.float64), VECTORS.astype(np.float64), 2).dtype == np.float64


def test_cosine_and_unit_rows_leave_zero_rows_at_zero():
    np.testing.assert_allclose(np.linalg.norm(unit_rows(VECTORS), axis=1), [1, 1, 1, 0])
    scores = cosine_matrix(VECTORS, np.array([[0, 1, 0]]))
    np.testing.assert_allclose(scores[:, 0], [0, 1, 0, 0])
