"""Metrics: hand-computed cases (arithmetic in the comments), ties, skip counts, and agreement with
scikit-learn's roc_auc_score / average_precision_score as an independent implementation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.metrics import average_precision_score, roc_auc_score

from zsl_core import metrics
from zsl_core.metrics import MetricResult

Y = np.array([[1, 0, 1, 0]])
S = np.array([[0.9, 0.8, 0.3, 0.1]])
S_TIED = np.array([[0.5, 0.5, 0.2, 0.1]])


# --- hand-computed values --------------------------------------------------------------------


def test_auc_by_hand() -> None:
    # positives score 0.9, 0.3; negatives 0.8, 0.1. Pairs (pos > neg): 0.9>0.8 yes, 0.9>0.1 yes,
    # 0.3>0.8 no, 0.3>0.1 yes -> 3 of 4 = 0.75.
    assert metrics.auc_i(Y, S) == MetricResult(0.75, 1, 0)


def test_auc_counts_a_tie_as_one_half() -> None:
    # positives 0.5, 0.2; negatives 0.5, 0.1. Pairs: 0.5 vs 0.5 tie = 1/2, 0.5>0.1 = 1,
    # 0.2<0.5 = 0, 0.2>0.1 = 1 -> 2.5 / 4 = 0.625.
    assert metrics.auc_i(Y, S_TIED).value == pytest.approx(0.625, abs=1e-15)


def test_average_precision_by_hand() -> None:
    # ranking: pos, neg, pos, neg. Precision at each positive: 1/1 and 2/3 -> AP = (1 + 2/3) / 2 = 5/6.
    assert metrics.map_i(Y, S).value == pytest.approx(5 / 6, abs=1e-15)


def test_average_precision_treats_a_tie_as_one_threshold() -> None:
    # thresholds high to low: 0.5 retrieves 2 items, 1 positive: recall +1/2 at precision 1/2;
    # 0.2 retrieves 3 items, 2 positives: recall +1/2 at precision 2/3.
    # AP = 1/2 * 1/2 + 1/2 * 2/3 = 1/4 + 1/3 = 7/12 (the tied pair's order does not matter).
    assert metrics.map_i(Y, S_TIED).value == pytest.approx(7 / 12, abs=1e-15)
    swapped = S_TIED[:, [1, 0, 2, 3]]
    assert metrics.map_i(Y, swapped).value == pytest.approx(7 / 12, abs=1e-15)


def test_precision_at_k_by_hand() -> None:
    # ranking: pos, neg, pos, neg. P@1 = 1/1, P@2 = 1/2, P@3 = 2/3.
    assert metrics.precision_at_k(Y, S, 1).value == 1.0
    assert metrics.precision_at_k(Y, S, 2).value == 0.5
    assert metrics.precision_at_k(Y, S, 3).value == pytest.approx(2 / 3)


def test_precision_at_k_is_not_ap_at_k() -> None:
    # ranking: neg, pos, neg, pos. True P@2 = 1/2. The authors' AP@2 would be
    # (precision at the positive at rank 2 = 1/2) / min(2, 2 positives) = 1/4: we report 1/2.
    y = np.array([[0, 1, 0, 1]])
    s = np.array([[0.9, 0.8, 0.3, 0.1]])
    assert metrics.precision_at_k(y, s, 2).value == 0.5


def test_precision_at_k_beyond_the_labels_uses_all_labels() -> None:
    # K = 10 > 4 labels -> precision over all 4: 2 positives / 4 = 0.5.
    assert metrics.precision_at_k(Y, S, 10).value == 0.5


def test_precision_at_k_shares_a_tie_across_the_cut() -> None:
    # K = 2: 0.9 (positive) is above the cut -> 1 hit, 1 place left; the three tied 0.5s hold
    # 1 positive of 3 -> they add 1 * 1/3. P@2 = (1 + 1/3) / 2 = 2/3, whatever the order.
    y = np.array([[1, 0, 0, 1]])
    s = np.array([[0.9, 0.5, 0.5, 0.5]])
    assert metrics.precision_at_k(y, s, 2).value == pytest.approx(2 / 3)
    assert metrics.precision_at_k(y[:, ::-1], s[:, ::-1], 2).value == pytest.approx(2 / 3)


def test_constant_scores_give_chance_values() -> None:
    # one positive of four, all scores equal: AUC = 1/2, AP = precision at the single threshold
    # = 1/4, P@K = 1/4 for every K.
    y = np.array([[0, 0, 1, 0]])
    s = np.zeros((1, 4))
    assert metrics.auc_i(y, s).value == 0.5
    assert metrics.map_i(y, s).value == 0.25
    for k in (1, 2, 3, 4):
        assert metrics.precision_at_k(y, s, k).value == pytest.approx(0.25)


def test_mean_over_rows_by_hand() -> None:
    # row 0: AUC 0.75 (as above); row 1 reversed scores: positives 0.1, 0.8 vs negatives 0.3, 0.9:
    # 0.1>0.3 no, 0.1>0.9 no, 0.8>0.3 yes, 0.8>0.9 no -> 1/4. Mean = (0.75 + 0.25) / 2 = 0.5.
    y = np.array([[1, 0, 1, 0], [1, 0, 1, 0]])
    s = np.array([[0.9, 0.8, 0.3, 0.1], [0.1, 0.9, 0.8, 0.3]])
    assert metrics.auc_i(y, s) == MetricResult(0.5, 2, 0)


# --- skipped rows ----------------------------------------------------------------------------


def test_single_class_rows_are_skipped_and_counted() -> None:
    y = np.array([[0, 0, 0, 0], [1, 1, 1, 1], [1, 0, 1, 0]])
    s = np.tile(S, (3, 1))
    # AUC and AP: only the mixed row counts.
    assert metrics.auc_i(y, s) == MetricResult(0.75, 1, 2)
    mean_ap = metrics.map_i(y, s)
    assert (mean_ap.value, mean_ap.used, mean_ap.skipped) == (pytest.approx(5 / 6), 1, 2)
    # P@K skips only the row with no positive; the all-positive row has precision 1.
    # P@2: (1 + 1/2) / 2 = 0.75.
    assert metrics.precision_at_k(y, s, 2) == MetricResult(0.75, 2, 1)


def test_everything_skipped_gives_nan_with_counts() -> None:
    y = np.zeros((3, 4), dtype=int)
    result = metrics.auc_i(y, np.random.default_rng(0).random((3, 4)))
    assert math.isnan(result.value) and (result.used, result.skipped) == (0, 3)
    assert math.isnan(metrics.precision_at_k(y, np.zeros((3, 4)), 1).value)


def test_empty_input_gives_nan() -> None:
    result = metrics.map_l(np.zeros((0, 3)), np.zeros((0, 3)))
    assert math.isnan(result.value) and (result.used, result.skipped) == (0, 3)


def test_label_metrics_are_item_metrics_of_the_transpose() -> None:
    rng = np.random.default_rng(3)
    y = rng.random((40, 7)) < 0.3
    s = rng.integers(0, 5, (40, 7)).astype(float)
    assert metrics.auc_l(y, s) == metrics.auc_i(y.T, s.T)
    assert metrics.map_l(y, s) == metrics.map_i(y.T, s.T)


def test_label_metrics_skip_labels_with_one_class() -> None:
    # column 2 has no positive, column 3 no negative -> 2 of 4 labels used.
    y = np.array([[1, 0, 0, 1], [0, 1, 0, 1], [1, 1, 0, 1]])
    s = np.random.default_rng(0).random((3, 4))
    result = metrics.auc_l(y, s)
    assert (result.used, result.skipped) == (2, 2)


# --- agreement with scikit-learn -------------------------------------------------------------


def _sklearn_mean(metric, y: np.ndarray, s: np.ndarray) -> tuple[float, int]:
    rows = [i for i in range(y.shape[0]) if 0 < y[i].sum() < y.shape[1]]
    return float(np.mean([metric(y[i], s[i]) for i in rows])), len(rows)


@pytest.mark.parametrize("seed", range(4))
def test_item_metrics_match_sklearn_with_heavy_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = (rng.random((60, 25)) < 0.2).astype(int)
    s = rng.integers(0, 4, (60, 25)).astype(float)  # 4 distinct values: ties everywhere
    for ours, theirs in ((metrics.auc_i, roc_auc_score), (metrics.map_i, average_precision_score)):
        expected, used = _sklearn_mean(theirs, y, s)
        result = ours(y, s)
        assert result.value == pytest.approx(expected, abs=1e-12)
        assert (result.used, result.skipped) == (used, 60 - used)


def test_label_metrics_match_sklearn_on_continuous_scores() -> None:
    rng = np.random.default_rng(7)
    y = (rng.random((300, 12)) < 0.1).astype(int)
    s = rng.normal(size=(300, 12)) + y  # informative scores
    for ours, theirs in ((metrics.auc_l, roc_auc_score), (metrics.map_l, average_precision_score)):
        expected, used = _sklearn_mean(theirs, y.T, s.T)
        assert ours(y, s).value == pytest.approx(expected, abs=1e-12)
        assert ours(y, s).used == used


def test_blocks_give_the_same_result(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(11)
    y = rng.random((53, 9)) < 0.3
    s = rng.integers(0, 6, (53, 9)).astype(float)
    whole = metrics.evaluate_annotation(y, s)
    monkeypatch.setattr(metrics, "_BLOCK_CELLS", 20)  # 2 rows per block
    blocked = metrics.evaluate_annotation(y, s)
    for name in whole:
        assert blocked[name].value == pytest.approx(whole[name].value, abs=1e-12)
        assert blocked[name].used == whole[name].used


# --- properties ------------------------------------------------------------------------------

MATRICES = st.integers(1, 6).flatmap(
    lambda n: st.integers(2, 8).flatmap(
        lambda m: st.tuples(
            hnp.arrays(np.int8, (n, m), elements=st.integers(0, 1)),
            hnp.arrays(np.float64, (n, m), elements=st.sampled_from([0.0, 0.25, 0.5, 1.0])),
            st.permutations(range(m)),
        )
    )
)


@settings(max_examples=50, deadline=None, derandomize=True)
@given(MATRICES)
def test_metrics_do_not_depend_on_label_order(data) -> None:
    y, s, order = data
    order = list(order)
    for name, result in metrics.evaluate_annotation(y, s, ks=(1, 3)).items():
        again = metrics.evaluate_annotation(y[:, order], s[:, order], ks=(1, 3))[name]
        assert (again.used, again.skipped) == (result.used, result.skipped)
        if result.used:
            assert again.value == pytest.approx(result.value, abs=1e-12)
            assert 0.0 <= result.value <= 1.0


@settings(max_examples=50, deadline=None, derandomize=True)
@given(MATRICES)
def test_reversing_scores_mirrors_auc(data) -> None:
    y, s, _ = data
    forward, backward = metrics.auc_i(y, s), metrics.auc_i(y, -s)
    if forward.used == 1:
        assert backward.value == pytest.approx(1.0 - forward.value, abs=1e-12)


# --- helpers and bad input -------------------------------------------------------------------


def test_evaluate_helpers_name_the_paper_columns() -> None:
    y = np.array([[1, 0, 1, 0], [0, 1, 1, 0]])
    s = np.random.default_rng(1).random((2, 4))
    assert list(metrics.evaluate_annotation(y, s)) == ["AUC-i", "MAP-i", "P@1", "P@5", "P@10"]
    assert list(metrics.evaluate_retrieval(y, s)) == ["AUC-l", "MAP-l"]


def test_perfect_scores_give_one() -> None:
    y = np.array([[1, 0, 1, 0], [0, 1, 0, 0]])
    s = y + 0.0
    for result in metrics.evaluate_annotation(y, s, ks=(1,)).values():
        assert result.value == 1.0


@pytest.mark.parametrize(
    "y, s, message",
    [
        (np.zeros((2, 3)), np.zeros((3, 2)), "differ in shape"),
        (np.zeros(3), np.zeros(3), "2-D"),
        (np.array([[0, 2]]), np.zeros((1, 2)), "only 0 and 1"),
        (np.array([[0, 1]]), np.array([[0.1, np.nan]]), "NaN"),
    ],
)
def test_bad_input_is_refused(y, s, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        metrics.auc_i(y, s)


@pytest.mark.parametrize("k", [0, -1, 1.5])
def test_bad_k_is_refused(k) -> None:
    with pytest.raises(ValueError, match="positive integer"):
        metrics.precision_at_k(Y, S, k)
