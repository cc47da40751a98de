"""Generalised zero-shot calibration: calibrated stacking (Chao et al. 2016), its gamma tuned
on held-out tracks, and the X+Y rows measured with and without it."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from zsl_core import metrics, splits
from zsl_core.evaluate import label_matrix
from zsl_core.reproduce.design import GZSL_SETUPS

GAMMA_GRID = tuple(round(x, 3) for x in np.arange(-0.5, 1.0001, 0.025))


def calibrated_stacking(scores: np.ndarray, seen_mask: np.ndarray, gamma: float) -> np.ndarray:
    """Chao et al.'s calibrated stacking: subtract gamma from every seen label's score, so
    seen labels stop crowding unseen ones out of a generalised (X+Y) ranking."""
    scores = np.asarray(scores, dtype=np.float64)
    mask = np.asarray(seen_mask, dtype=bool)
    if mask.shape != (scores.shape[1],):
        raise ValueError(
            f"seen_mask must have one entry per label column ({scores.shape[1]}), got {mask.shape}"
        )
    return scores - float(gamma) * mask[None, :]


def tune_gamma(
    truth: np.ndarray, scores: np.ndarray, seen_mask: np.ndarray, grid: Sequence[float] = GAMMA_GRID
) -> tuple[float, float]:
    """(gamma, validation MAP-i) maximising MAP-i of the X+Y annotation on validation tracks.
    Ties go to the gamma closest to 0 (the least calibration that does as well)."""
    best_gamma, best_value = 0.0, -math.inf
    for gamma in sorted(grid, key=abs):
        value = metrics.map_i(truth, calibrated_stacking(scores, seen_mask, gamma)).value
        if not math.isnan(value) and value > best_value + 1e-12:
            best_gamma, best_value = float(gamma), value
    return best_gamma, best_value


CALIBRATIONS = ("valid", "fold")
CALIBRATION_FOLD = 0.2  # share of B+C tracks used to tune gamma for the "fold" calibration


def calibration_tracks(split: splits.Split, seed: int) -> dict[str, list[str]]:
    """The two tuning sets for calibrated stacking.

    valid: the A and B validation parts (no training setup trains on them, no unseen-label
           annotation of a test track is used; but mostly A tracks, which have no unseen positive)
    fold:  a seeded 20% of the B and C tracks (they match the test distribution, but tuning on
           them reads unseen-label annotations, so they are removed from every calibrated row)
    """
    rng = np.random.default_rng([int(seed), 104729])
    pool = sorted(set(split.B + split.C) - set(split.valid["B"]))
    n = int(round(CALIBRATION_FOLD * len(pool)))
    fold = sorted(pool[i] for i in rng.permutation(len(pool))[:n])
    return {"valid": list(split.valid["A"]) + list(split.valid["B"]), "fold": fold}


def calibration_rows(
    split: splits.Split,
    tags: Mapping[str, Sequence[str]],
    ids: list[str],
    labels: list[str],
    scores: np.ndarray,
    seed: int,
) -> dict[str, Any]:
    """Tune gamma on each tuning set, then measure X+Y annotation uncalibrated and with each
    gamma on the same test tracks: those in neither tuning set."""
    row_of = {t: i for i, t in enumerate(ids)}
    seen_mask = np.array([label in set(split.seen) for label in labels])
    found: dict[str, Any] = {}
    held: set[str] = set()
    gammas: dict[str, float] = {}
    for name, tuning in calibration_tracks(split, seed).items():
        tuning = [t for t in tuning if t in row_of]
        held |= set(tuning)
        if not tuning:
            gammas[name] = 0.0
            found[f"gamma_{name}"] = None
            continue
        truth = label_matrix(tuning, labels, tags)
        gammas[name], value = tune_gamma(truth, scores[[row_of[t] for t in tuning]], seen_mask)
        found[f"gamma_{name}"] = gammas[name]
        found[f"tuning_{name}"] = {"tracks": len(tuning), "MAP-i": _clean(value)}
    for setup in GZSL_SETUPS:
        test_ids, test_labels = split.test_tracks(setup)
        test_ids = [t for t in test_ids if t in row_of and t not in held]
        cols = [labels.index(x) for x in test_labels]
        sub = scores[np.ix_([row_of[t] for t in test_ids], cols)]
        mask = seen_mask[cols]
        t_truth = label_matrix(test_ids, test_labels, tags)
        row: dict[str, Any] = {"tracks": len(test_ids)}
        variants = {
            "uncalibrated": sub,
            **{f"calibrated_{k}": calibrated_stacking(sub, mask, g) for k, g in gammas.items()},
        }
        for name, matrix in variants.items():
            row[name] = {
                k: _clean(v.value) for k, v in metrics.evaluate_annotation(t_truth, matrix).items()
            }
        found[setup] = row
    return found


def _clean(value: float) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), 4)
