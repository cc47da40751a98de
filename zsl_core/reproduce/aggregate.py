"""Mean and spread over seeds of every table cell, and the claims read off them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from zsl_core import splits
from zsl_core.evaluate import ANNOTATION_COLUMNS, RETRIEVAL_COLUMNS
from zsl_core.reproduce.calibration import CALIBRATIONS
from zsl_core.reproduce.design import CONTROLS, GZSL_SETUPS, KEY_SETUP, METHODS


def _metric_rows(run: Mapping[str, Any], kind: str) -> dict[str, dict[str, float | None]]:
    return {r["setup"]: r["metrics"] for r in run.get(kind, [])}


def _mean_std(values: list[float | None]) -> dict[str, Any]:
    clean = [v for v in values if v is not None]
    if not clean:
        return {"mean": None, "std": None, "values": values}
    std = float(np.std(clean, ddof=1)) if len(clean) > 1 else 0.0
    return {"mean": round(float(np.mean(clean)), 4), "std": round(std, 4), "values": values}


def aggregate(per_seed: Mapping[int, Mapping[str, Any]]) -> dict[str, Any]:
    """Mean and sample std over seeds for every table cell, calibration row and claim."""
    seeds = sorted(per_seed)
    table: dict[str, Any] = {"annotation": {}, "retrieval": {}, "table4": {}, "calibration": {}}

    def cell(setup, method, kind, test, metric):
        vals = []
        for s in seeds:
            run = per_seed[s]["runs"].get(setup, {}).get(method)
            vals.append(None if run is None else _metric_rows(run, kind).get(test, {}).get(metric))
        return _mean_std(vals)

    for setup in splits.TRAIN_SETUPS:
        table["annotation"][setup] = {
            test: {
                m: {c: cell(setup, m, "annotation", test, c) for c in ANNOTATION_COLUMNS}
                for m in METHODS
            }
            for test in splits.ANNOTATION_SETUPS
        }
        table["retrieval"][setup] = {
            test: {
                m: {c: cell(setup, m, "retrieval", test, c) for c in RETRIEVAL_COLUMNS}
                for m in METHODS
            }
            for test in splits.RETRIEVAL_SETUPS
        }
        table["table4"][setup] = {
            m: {"AUC-l": cell(setup, m, "seen_labels", "B-X", "AUC-l")}
            for m in ("side", "random", "shuffled", "classifier")
        }
        cal: dict[str, Any] = {}
        for m in ("side", "conse"):
            cal[m] = {
                f"gamma_{k}": _mean_std(
                    [
                        per_seed[s]["runs"]
                        .get(setup, {})
                        .get(m, {})
                        .get("calibration", {})
                        .get(f"gamma_{k}")
                        for s in seeds
                    ]
                )
                for k in CALIBRATIONS
            }
            for test in GZSL_SETUPS:
                cal[m][test] = {}
                for which in ("uncalibrated",) + tuple(f"calibrated_{k}" for k in CALIBRATIONS):
                    cal[m][test][which] = {
                        c: _mean_std(
                            [
                                per_seed[s]["runs"]
                                .get(setup, {})
                                .get(m, {})
                                .get("calibration", {})
                                .get(test, {})
                                .get(which, {})
                                .get(c)
                                for s in seeds
                            ]
                        )
                        for c in ANNOTATION_COLUMNS
                    }
        table["calibration"][setup] = cal
    table["claims"] = claims(table, per_seed)
    return table


def claims(table: Mapping[str, Any], per_seed: Mapping[int, Mapping[str, Any]]) -> dict[str, Any]:
    """Does the real side information beat each control on (B+C)-Y by more than the spread over
    seeds? Paired per seed (same split, same training seed)."""
    found: dict[str, Any] = {}
    cells = [
        (control, setup, kind, metric)
        for control in CONTROLS
        for setup in splits.TRAIN_SETUPS
        for kind, names in (("annotation", ("AUC-i", "MAP-i")), ("retrieval", ("AUC-l", "MAP-l")))
        for metric in names
    ]
    for control, setup, kind, metric in cells:
        side = table[kind][setup][KEY_SETUP]["side"][metric]
        other = table[kind][setup][KEY_SETUP][control][metric]
        diffs = [
            a - b
            for a, b in zip(side["values"], other["values"], strict=True)
            if a is not None and b is not None
        ]
        if not diffs:
            continue
        spread = max(side["std"] or 0.0, other["std"] or 0.0)
        mean_diff = float(np.mean(diffs))
        found[f"{control} {setup} {kind} {KEY_SETUP} {metric}"] = {
            "control": control,
            "side": side["mean"],
            "control_mean": other["mean"],
            "difference": round(mean_diff, 4),
            "difference_std": round(float(np.std(diffs, ddof=1)) if len(diffs) > 1 else 0.0, 4),
            "seed_spread": round(spread, 4),
            "wins_per_seed": f"{sum(d > 0 for d in diffs)}/{len(diffs)}",
            "beats_control_beyond_spread": bool(mean_diff > spread and all(d > 0 for d in diffs)),
        }
    return found
