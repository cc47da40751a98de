"""Every test setup of the paper for one trained model, printed in the layout of Tables 2, 3 and 4.

The model is asked once for a score matrix over every test track (A+B+C) and every label
(X+Y); each setup of the paper is then a sub-matrix of it (section 3.2): annotation ranks the
labels of one track, retrieval ranks the tracks for one label. Keeping the scoring and the
slicing apart means the same code evaluates the deep embedding model, the classification
model and any control (random side information, ConSE).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from zsl_core import metrics
from zsl_core.splits import ANNOTATION_SETUPS, RETRIEVAL_SETUPS, Split

ANNOTATION_COLUMNS = ("AUC-i", "MAP-i", "P@1", "P@5", "P@10")
RETRIEVAL_COLUMNS = ("AUC-l", "MAP-l")
SEEN_SETUP = "B-X"  # Table 4: conventional tagging of seen labels on tracks never trained on


@dataclass
class SetupResult:
    """Metrics of one test setup, with how many rows/columns each metric had to skip."""

    setup: str
    n_tracks: int
    n_labels: int
    values: dict[str, float] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        clean = {k: (None if math.isnan(v) else round(v, 4)) for k, v in self.values.items()}
        return {
            "setup": self.setup,
            "tracks": self.n_tracks,
            "labels": self.n_labels,
            "metrics": clean,
            "skipped": dict(self.skipped),
        }


@dataclass
class EvaluationReport:
    train_setup: str
    model_type: str
    annotation: list[SetupResult] = field(default_factory=list)
    retrieval: list[SetupResult] = field(default_factory=list)
    seen: list[SetupResult] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "train_setup": self.train_setup,
            "model_type": self.model_type,
            "annotation": [r.to_dict() for r in self.annotation],
            "retrieval": [r.to_dict() for r in self.retrieval],
            "seen_labels": [r.to_dict() for r in self.seen],
        }

    def save_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")


def label_matrix(
    track_ids: Sequence[str], labels: Sequence[str], track_tags: Mapping[str, Sequence[str]]
) -> np.ndarray:
    """0/1 ground truth [tracks, labels] from each track's tag list."""
    column = {label: j for j, label in enumerate(labels)}
    truth = np.zeros((len(track_ids), len(labels)), dtype=np.int8)
    for i, track_id in enumerate(track_ids):
        for tag in track_tags.get(track_id, ()):
            j = column.get(tag)
            if j is not None:
                truth[i, j] = 1
    return truth


def _sub_matrix(
    scores: np.ndarray,
    row_of: Mapping[str, int],
    col_of: Mapping[str, int],
    track_ids: Sequence[str],
    labels: Sequence[str],
) -> np.ndarray:
    rows = [row_of[t] for t in track_ids]
    cols = [col_of[label] for label in labels]
    return scores[np.ix_(rows, cols)]


def _annotation(setup: str, truth: np.ndarray, scores: np.ndarray) -> SetupResult:
    result = SetupResult(setup, truth.shape[0], truth.shape[1])
    found = {
        "AUC-i": metrics.auc_i(truth, scores),
        "MAP-i": metrics.map_i(truth, scores),
        "P@1": metrics.precision_at_k(truth, scores, 1),
        "P@5": metrics.precision_at_k(truth, scores, 5),
        "P@10": metrics.precision_at_k(truth, scores, 10),
    }
    for name, metric in found.items():
        result.values[name] = metric.value
        result.skipped[name] = metric.skipped
    return result


def _retrieval(setup: str, truth: np.ndarray, scores: np.ndarray) -> SetupResult:
    result = SetupResult(setup, truth.shape[0], truth.shape[1])
    for name, metric in (
        ("AUC-l", metrics.auc_l(truth, scores)),
        ("MAP-l", metrics.map_l(truth, scores)),
    ):
        result.values[name] = metric.value
        result.skipped[name] = metric.skipped
    return result


def evaluate_scores(
    split: Split,
    track_tags: Mapping[str, Sequence[str]],
    track_ids: Sequence[str],
    labels: Sequence[str],
    scores: np.ndarray,
    train_setup: str,
    model_type: str = "embedding",
) -> EvaluationReport:
    """Slice one score matrix [tracks, labels] into every setup of Tables 2, 3 and 4.

    A model that can only score seen labels (the classification model) passes a matrix whose
    unseen columns are NaN; setups that need them are then left out rather than faked.
    """
    row_of = {t: i for i, t in enumerate(track_ids)}
    col_of = {label: j for j, label in enumerate(labels)}
    scores = np.asarray(scores, dtype=np.float64)
    report = EvaluationReport(train_setup=train_setup, model_type=model_type)
    has_unseen = (
        all(label in col_of for label in split.unseen)
        and not np.isnan(scores[:, [col_of[label] for label in split.unseen]]).any()
        if split.unseen
        else False
    )

    def sliced(setup: str) -> tuple[np.ndarray, np.ndarray]:
        test_ids, test_labels = split.test_tracks(setup)
        test_ids = [t for t in test_ids if t in row_of]
        truth = label_matrix(test_ids, test_labels, track_tags)
        return truth, _sub_matrix(scores, row_of, col_of, test_ids, test_labels)

    if has_unseen:
        for setup in ANNOTATION_SETUPS:
            truth, sub = sliced(setup)
            report.annotation.append(_annotation(setup, truth, sub))
        for setup in RETRIEVAL_SETUPS:
            truth, sub = sliced(setup)
            report.retrieval.append(_retrieval(setup, truth, sub))
    truth, sub = sliced(SEEN_SETUP)
    report.seen.append(_retrieval(SEEN_SETUP, truth, sub))
    return report


def _cell(value: float) -> str:
    return "   n/a" if value is None or math.isnan(value) else f"{value:.4f}"


def format_report(report: EvaluationReport) -> str:
    """The paper's table layout, one block per table, with skipped rows/columns noted."""
    lines: list[str] = []
    if report.annotation:
        lines.append("Table 2 - annotation (zero-shot)")
        lines.append(
            f"{'Train':<9}{'Test':<14}"
            + "".join(f"{c:>8}" for c in ANNOTATION_COLUMNS)
            + "  tracks"
        )
        for r in report.annotation:
            lines.append(
                f"{report.train_setup:<9}{r.setup:<14}"
                + "".join(f"{_cell(r.values[c]):>8}" for c in ANNOTATION_COLUMNS)
                + f"  {r.n_tracks - r.skipped['AUC-i']}/{r.n_tracks}"
            )
        lines.append("")
    if report.retrieval:
        lines.append("Table 3 - retrieval (zero-shot)")
        lines.append(
            f"{'Train':<9}{'Test':<14}" + "".join(f"{c:>8}" for c in RETRIEVAL_COLUMNS) + "  labels"
        )
        for r in report.retrieval:
            lines.append(
                f"{report.train_setup:<9}{r.setup:<14}"
                + "".join(f"{_cell(r.values[c]):>8}" for c in RETRIEVAL_COLUMNS)
                + f"  {r.n_labels - r.skipped['AUC-l']}/{r.n_labels}"
            )
        lines.append("")
    lines.append(f"Table 4 - seen labels ({report.model_type} model)")
    lines.append(f"{'Train':<9}{'Test':<14}{'AUC-l':>8}  labels")
    for r in report.seen:
        lines.append(
            f"{report.train_setup:<9}{r.setup:<14}{_cell(r.values['AUC-l']):>8}"
            f"  {r.n_labels - r.skipped['AUC-l']}/{r.n_labels}"
        )
    if report.train_setup != "A-X":
        lines.append(
            "  note: B tracks were in the training set of this run; the paper's Table 4 trains on A-X."
        )
    lines.append("")
    lines.append(
        "P@K is true precision at K (the authors' code computed AP@K). Rows or labels with a "
        "single class are skipped; the last column counts those used."
    )
    return "\n".join(lines)
