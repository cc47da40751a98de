"""The evaluation metrics of the paper (section 5.3), with skipped rows counted, not hidden.

Annotation ranks the labels of one track, so its metrics work per item (row) and average over
items: AUC-i, MAP-i, P@K. Retrieval ranks the tracks for one label, so its metrics work per
label (column) and average over labels: AUC-l, MAP-l. Every metric takes

    y_true [n_items, n_labels]   0/1 (bool or numbers)
    scores [n_items, n_labels]   higher = more relevant; NaN is refused

and returns `MetricResult(value, used, skipped)`.

Why the skip counts: in a zero-shot split many rows have a single class (a C track has no seen
positive; in (A+B+C)-Y every A track has only negatives). AUC and AP are undefined there, and
libraries disagree on what to return (an error, NaN, or 0 depending on the scikit-learn
version). Averaging those in as 0 or NaN silently changes the number, so such rows are left
out of the mean and *counted*; a table can then say "AUC-i over 912 of 925 tracks".
`value` is NaN only when every row was skipped (or there were no rows): there was nothing to
measure, and a NaN cannot be mistaken for a score.

Which rows are skipped:
- AUC and AP (MAP): rows with no positive or no negative. A row with only positives would give
  AP = 1 for any scores, which says nothing about the model; skipping it keeps AUC and MAP on
  exactly the same rows, as the authors' evaluation did.
- P@K: rows with no positive. A row with only positives has precision 1 at every K; that is
  a true precision, so it is kept.

Definitions, chosen so our numbers are comparable with scikit-learn's:
- AUC is the Mann-Whitney statistic: the probability that a random positive scores above a
  random negative, ties counting one half. Computed from average ranks, it equals
  `sklearn.metrics.roc_auc_score` (trapezoidal ROC) exactly, ties included.
- AP is `sklearn.metrics.average_precision_score`: the sum over distinct score thresholds,
  from high to low, of (recall gained at the threshold) x (precision at the threshold). Tied
  scores form one threshold, so the order of tied items never matters.
- P@K is TRUE precision at K: the fraction of the K best-scored labels that are positive.
  The authors' code computed AP truncated at K ("AP@K") and the paper's tables call it P@K;
  the two differ (AP@K rewards putting positives first within the top K and divides by
  min(K, positives)), so our P@K is not directly comparable with the paper's numbers.
  When scores tie across the K-th place, the tied group shares the remaining places: it adds
  (places left) x (its fraction of positives), the expected precision under a random tie-break,
  so the result never depends on sort order. K larger than the number of labels uses all
  labels (precision at n_labels).

Everything is plain numpy, vectorised over blocks of rows, so MSD-sized matrices
(200k tracks x 1,126 tags) evaluate without holding several full-size copies in memory.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

# Cells per block of rows processed at once: bounds the temporary arrays to a few tens of MB.
_BLOCK_CELLS = 1 << 21


@dataclass(frozen=True)
class MetricResult:
    """A metric's mean over the rows it could use, and how many rows it had to skip."""

    value: float
    used: int
    skipped: int

    def __float__(self) -> float:
        return self.value


# --- input checks --------------------------------------------------------------------------


def _check(y_true: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both matrices as arrays of one 2-D shape; y_true as bool, scores as float64."""
    truth = np.asarray(y_true)
    values = np.asarray(scores, dtype=np.float64)
    if truth.ndim != 2 or values.ndim != 2:
        raise ValueError(
            f"y_true and scores must be 2-D [items, labels], got {truth.shape} and {values.shape}"
        )
    if truth.shape != values.shape:
        raise ValueError(f"y_true {truth.shape} and scores {values.shape} differ in shape")
    if truth.dtype != bool:
        if not np.isin(truth, (0, 1)).all():
            raise ValueError("y_true must hold only 0 and 1")
        truth = truth.astype(bool)
    if np.isnan(values).any():
        raise ValueError("scores contain NaN")
    return truth, values


def _blocks(n_rows: int, n_cols: int) -> list[slice]:
    step = max(1, _BLOCK_CELLS // max(n_cols, 1))
    return [slice(start, start + step) for start in range(0, n_rows, step)]


def _mean_over_rows(
    y_true: np.ndarray,
    scores: np.ndarray,
    row_metric: Callable[[np.ndarray, np.ndarray], np.ndarray],
    usable: Callable[[np.ndarray], np.ndarray],
) -> MetricResult:
    """Apply `row_metric` to the usable rows, block by block, and average."""
    truth, values = _check(y_true, scores)
    n_rows, n_cols = truth.shape
    total, used = 0.0, 0
    for block in _blocks(n_rows, n_cols):
        t = np.ascontiguousarray(truth[block])
        s = np.ascontiguousarray(values[block])
        keep = usable(t)
        if keep.any():
            per_row = row_metric(t[keep], s[keep])
            total += float(per_row.sum())
            used += int(keep.sum())
    skipped = n_rows - used
    return MetricResult(total / used if used else math.nan, used, skipped)


def _two_classes(truth: np.ndarray) -> np.ndarray:
    positives = truth.sum(axis=1)
    return (positives > 0) & (positives < truth.shape[1])


def _has_positive(truth: np.ndarray) -> np.ndarray:
    return np.asarray(truth.any(axis=1))


# --- per-row kernels -----------------------------------------------------------------------


def _average_ranks(scores: np.ndarray) -> np.ndarray:
    """1-based ranks of each row's scores (ascending), tied scores sharing their mean rank."""
    n_rows, n_cols = scores.shape
    order = np.argsort(scores, axis=1, kind="stable")
    ordered = np.take_along_axis(scores, order, axis=1)
    position = np.broadcast_to(np.arange(n_cols), (n_rows, n_cols))
    starts_group = np.ones((n_rows, n_cols), dtype=bool)
    starts_group[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    ends_group = np.ones((n_rows, n_cols), dtype=bool)
    ends_group[:, :-1] = starts_group[:, 1:]
    # First and last position of each element's tie group, by carrying them along the row.
    first = np.maximum.accumulate(np.where(starts_group, position, 0), axis=1)
    last = np.minimum.accumulate(np.where(ends_group, position, n_cols)[:, ::-1], axis=1)[:, ::-1]
    ranks = np.empty((n_rows, n_cols), dtype=np.float64)
    np.put_along_axis(ranks, order, (first + last) / 2.0 + 1.0, axis=1)
    return ranks


def _auc_rows(truth: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Mann-Whitney AUC per row: (rank sum of positives - its minimum) / (n_pos * n_neg)."""
    ranks = _average_ranks(scores)
    n_pos = truth.sum(axis=1).astype(np.float64)
    n_neg = truth.shape[1] - n_pos
    rank_sum = np.where(truth, ranks, 0.0).sum(axis=1)
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def _ap_rows(truth: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Average precision per row, one step per distinct score (scikit-learn's definition)."""
    n_cols = truth.shape[1]
    order = np.argsort(-scores, axis=1, kind="stable")
    ordered = np.take_along_axis(scores, order, axis=1)
    hits = np.take_along_axis(truth, order, axis=1)
    true_pos = np.cumsum(hits, axis=1, dtype=np.float64)
    retrieved = np.arange(1, n_cols + 1, dtype=np.float64)
    # A threshold sits at the last element of each tie group (in descending order).
    ends_group = np.ones(truth.shape, dtype=bool)
    ends_group[:, :-1] = ordered[:, 1:] != ordered[:, :-1]
    tp_at_ends = np.where(ends_group, true_pos, 0.0)
    tp_before = np.zeros(truth.shape)
    tp_before[:, 1:] = np.maximum.accumulate(tp_at_ends, axis=1)[:, :-1]
    gained = np.where(ends_group, true_pos - tp_before, 0.0)
    precision = true_pos / retrieved
    return (gained * precision).sum(axis=1) / true_pos[:, -1]


def _precision_rows(truth: np.ndarray, scores: np.ndarray, k: int) -> np.ndarray:
    """Precision among the k best scores per row; a tie across the cut shares the places left."""
    kth = -np.partition(-scores, k - 1, axis=1)[:, k - 1 : k]
    above = scores > kth
    tied = scores == kth
    hits_above = (above & truth).sum(axis=1)
    places_left = k - above.sum(axis=1)
    tied_fraction = (tied & truth).sum(axis=1) / tied.sum(axis=1)
    return (hits_above + places_left * tied_fraction) / k


# --- the paper's metrics -------------------------------------------------------------------


def auc_i(y_true: np.ndarray, scores: np.ndarray) -> MetricResult:
    """ROC-AUC of each item's label ranking, averaged over items (annotation)."""
    return _mean_over_rows(y_true, scores, _auc_rows, _two_classes)


def map_i(y_true: np.ndarray, scores: np.ndarray) -> MetricResult:
    """Average precision of each item's label ranking, averaged over items (annotation)."""
    return _mean_over_rows(y_true, scores, _ap_rows, _two_classes)


def precision_at_k(y_true: np.ndarray, scores: np.ndarray, k: int) -> MetricResult:
    """True precision of each item's top-k labels, averaged over items with a positive."""
    if int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    n_labels = np.shape(scores)[1] if np.ndim(scores) == 2 else 0
    k = min(int(k), max(n_labels, 1))
    return _mean_over_rows(y_true, scores, lambda t, s: _precision_rows(t, s, k), _has_positive)


def auc_l(y_true: np.ndarray, scores: np.ndarray) -> MetricResult:
    """ROC-AUC of each label's item ranking, averaged over labels (retrieval)."""
    truth, values = _check(y_true, scores)
    return auc_i(truth.T, values.T)


def map_l(y_true: np.ndarray, scores: np.ndarray) -> MetricResult:
    """Average precision of each label's item ranking, averaged over labels (retrieval)."""
    truth, values = _check(y_true, scores)
    return map_i(truth.T, values.T)


def evaluate_annotation(
    y_true: np.ndarray, scores: np.ndarray, ks: Sequence[int] = (1, 5, 10)
) -> dict[str, MetricResult]:
    """Table 2's columns: AUC-i, MAP-i and P@K for each K."""
    found = {"AUC-i": auc_i(y_true, scores), "MAP-i": map_i(y_true, scores)}
    for k in ks:
        found[f"P@{k}"] = precision_at_k(y_true, scores, k)
    return found


def evaluate_retrieval(y_true: np.ndarray, scores: np.ndarray) -> dict[str, MetricResult]:
    """Table 3's columns: AUC-l and MAP-l."""
    return {"AUC-l": auc_l(y_true, scores), "MAP-l": map_l(y_true, scores)}
