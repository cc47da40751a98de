"""zsl_core.reproduce's scorers and controls on their own: the random and shuffled side
information, ConSE, and calibrated stacking with its tuned gamma."""

from __future__ import annotations

import numpy as np
import pytest

from zsl_core import reproduce
from zsl_core.vectors import SideInformation


def test_calibrated_stacking_moves_only_seen_labels():
    scores = np.array([[0.9, 0.8, 0.3], [0.2, 0.7, 0.6]])
    seen = np.array([True, True, False])
    out = reproduce.calibrated_stacking(scores, seen, 0.5)
    np.testing.assert_allclose(out, [[0.4, 0.3, 0.3], [-0.3, 0.2, 0.6]])
    np.testing.assert_allclose(reproduce.calibrated_stacking(scores, seen, 0.0), scores)
    with pytest.raises(ValueError):
        reproduce.calibrated_stacking(scores, np.array([True, False]), 0.1)


def test_tune_gamma_finds_the_penalty_that_lets_unseen_labels_through():
    # seen labels always score 0.5 higher than they deserve: the right gamma is about 0.5
    rng = np.random.default_rng(0)
    truth = np.zeros((40, 6), dtype=int)
    truth[np.arange(40), rng.integers(0, 6, 40)] = 1
    base = truth * 0.4 + rng.uniform(0, 0.3, truth.shape)
    seen = np.array([True, True, True, False, False, False])
    biased = base + 0.5 * seen
    gamma, value = reproduce.tune_gamma(truth, biased, seen)
    assert 0.2 <= gamma <= 0.8
    assert value == pytest.approx(1.0)
    gamma0, _ = reproduce.tune_gamma(truth, base, seen)
    assert abs(gamma0) <= 0.2  # no bias: little or no calibration


def test_conse_is_the_weighted_mean_of_top_t_unit_vectors():
    side = np.array([[2.0, 0.0], [0.0, 3.0], [1.0, 1.0]])
    probs = np.array([[0.6, 0.2, 0.1], [0.1, 0.1, 0.9]])
    out = reproduce.conse_embeddings(probs, side, top_t=2)
    np.testing.assert_allclose(
        out[0], (0.6 * np.array([1, 0]) + 0.2 * np.array([0, 1])) / 0.8, atol=1e-6
    )
    unit3 = np.array([1, 1]) / np.sqrt(2)
    # row 2: top-2 = label 2 (0.9) and label 0 (first of the 0.1 tie, stable order)
    np.testing.assert_allclose(out[1], (0.9 * unit3 + 0.1 * np.array([1, 0])) / 1.0, atol=1e-6)
    # top_t = 1 is the single best label's direction
    np.testing.assert_allclose(
        reproduce.conse_embeddings(probs, side, top_t=1)[1], unit3, atol=1e-6
    )
    with pytest.raises(ValueError):
        reproduce.conse_embeddings(probs, side[:2])


def test_random_control_has_the_same_shape_and_labels():
    side = SideInformation(
        ["rock", "jazz", "folk"], np.arange(120, dtype=np.float32).reshape(3, 40), "attribute"
    )
    control = reproduce.random_side_like(side, seed=3)
    assert control.matrix.shape == side.matrix.shape and control.labels == side.labels
    assert control.kind == "random"
    assert not np.allclose(control.matrix, side.matrix)
    np.testing.assert_array_equal(control.matrix, reproduce.random_side_like(side, seed=3).matrix)
    assert not np.allclose(control.matrix, reproduce.random_side_like(side, seed=4).matrix)


def test_shuffled_control_keeps_the_vectors_but_moves_every_one():
    side = SideInformation(
        [f"g{i}" for i in range(7)], np.arange(21, dtype=np.float32).reshape(7, 3), "attribute"
    )
    control = reproduce.shuffled_side_like(side, seed=1)
    assert control.labels == side.labels and control.matrix.shape == side.matrix.shape
    rows = {tuple(r) for r in side.matrix.tolist()}
    assert {tuple(r) for r in control.matrix.tolist()} == rows  # same vectors
    assert not any(
        np.array_equal(a, b) for a, b in zip(control.matrix, side.matrix, strict=True)
    )  # none kept its own
    np.testing.assert_array_equal(control.matrix, reproduce.shuffled_side_like(side, seed=1).matrix)


def test_conse_scores_rank_the_label_nearest_to_the_weighted_seen_vectors():
    # two seen labels, one unseen label halfway between them, one far away
    side = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    probs = np.array([[0.5, 0.5], [0.9, 0.1]])
    scores = reproduce.conse_scores(probs, side, n_seen=2)
    assert scores.shape == (2, 4)
    assert int(np.argmax(scores[0])) == 2  # even seen weights: the unseen label in between
    assert int(np.argmax(scores[1])) == 0
    np.testing.assert_allclose(scores[:, 3], 0.0, atol=1e-9)
    np.testing.assert_allclose(
        scores, reproduce.cosine(reproduce.conse_embeddings(probs, side[:2]), side)
    )
