"""The paper's Tables 2-4 (FMA and MSD columns), the numbers our tables are printed beside.

They live in paper_tables.json beside this module, one row per (train, test) setup with named
metric fields, so they can be checked against the paper without reading code. The file is
validated when loaded: a malformed row stops with one line naming the file, row and field.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, NoReturn

from zsl_core import splits
from zsl_core.errors import DatasetError
from zsl_core.evaluate import ANNOTATION_COLUMNS, RETRIEVAL_COLUMNS
from zsl_core.reproduce.design import TABLE4_METHODS

PAPER_FILE = Path(__file__).with_name("paper_tables.json")
DATASETS = ("FMA", "MSD")  # the paper's Experiment 1 and Experiment 2 columns
# table -> (key in PAPER, test setups, metric fields of a row, metrics our tables print)
TABLES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "table2_annotation": (
        "annotation",
        tuple(splits.ANNOTATION_SETUPS),
        tuple(ANNOTATION_COLUMNS),
        ("AUC-i", "MAP-i"),
    ),
    "table3_retrieval": (
        "retrieval",
        tuple(splits.RETRIEVAL_SETUPS),
        tuple(RETRIEVAL_COLUMNS),
        ("AUC-l", "MAP-l"),
    ),
    "table4_seen_labels": ("table4", ("B-X",), ("AUC-l",), ("AUC-l",)),
}

PaperKey = tuple[str, str, str, str]  # (table, train setup, test setup or model, dataset)


def _fail(path: Path, where: str, field: str, reason: str) -> NoReturn:
    raise DatasetError(f"{path}: {where}: field {field!r}: {reason}")


def _row(path: Path, table: str, index: int, raw: Any) -> dict[PaperKey, tuple[str, ...]]:
    kind, tests, metrics, printed = TABLES[table]
    where = f"{table} row {index + 1}"
    if not isinstance(raw, dict):
        raise DatasetError(f"{path}: {where}: must be an object with named fields")
    expected = {"train", "test", *DATASETS} | ({"model"} if kind == "table4" else set())
    for name in sorted(set(raw) - expected):
        _fail(path, where, name, f"unknown field (fields: {', '.join(sorted(expected))})")
    for name in sorted(expected - set(raw)):
        _fail(path, where, name, "is missing")
    if raw["train"] not in splits.TRAIN_SETUPS:
        _fail(
            path, where, "train", f"{raw['train']!r} is not one of {', '.join(splits.TRAIN_SETUPS)}"
        )
    if raw["test"] not in tests:
        _fail(path, where, "test", f"{raw['test']!r} is not one of {', '.join(tests)}")
    if kind == "table4" and raw["model"] not in TABLE4_METHODS:
        _fail(path, where, "model", f"{raw['model']!r} is not one of {', '.join(TABLE4_METHODS)}")
    where += f" ({raw['train']}, {raw.get('model', raw['test'])})"
    found: dict[PaperKey, tuple[str, ...]] = {}
    for dataset in DATASETS:
        cells = raw[dataset]
        if not isinstance(cells, dict) or set(cells) != set(metrics):
            _fail(path, where, dataset, f"must hold exactly the metrics {', '.join(metrics)}")
        for metric, value in cells.items():
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or not 0.0 <= value <= 1.0
            ):
                _fail(
                    path, where, f"{dataset}.{metric}", f"must be a number in [0, 1], got {value!r}"
                )
        second = raw["model"] if kind == "table4" else raw["test"]
        found[(kind, raw["train"], second, dataset)] = tuple(f"{cells[m]:.4f}" for m in printed)
    return found


def load_paper_tables(path: str | Path = PAPER_FILE) -> dict[PaperKey, tuple[str, ...]]:
    """(table, train, test or model, dataset) -> the paper's printed numbers, as 4-decimal
    strings in the order our markdown tables show them (AUC-i, MAP-i / AUC-l, MAP-l / AUC-l)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DatasetError(
            f"{path}: cannot read the paper's tables ({exc.strerror or exc})"
        ) from None
    except ValueError as exc:
        raise DatasetError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise DatasetError(f"{path}: expected an object with the tables {', '.join(TABLES)}")
    unknown = sorted(set(data) - set(TABLES) - {"source"})
    if unknown:
        raise DatasetError(f"{path}: unknown table {unknown[0]!r} (tables: {', '.join(TABLES)})")
    rows: dict[PaperKey, tuple[str, ...]] = {}
    for table in TABLES:
        entries = data.get(table)
        if not isinstance(entries, list) or not entries:
            raise DatasetError(f"{path}: table {table!r}: missing or not a non-empty list of rows")
        for index, raw in enumerate(entries):
            for key, value in _row(path, table, index, raw).items():
                if key in rows:
                    raise DatasetError(f"{path}: {table} row {index + 1}: duplicate of {key[1:3]}")
                rows[key] = value
    return rows


PAPER = load_paper_tables()
