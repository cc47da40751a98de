"""evaluate.py slices one score matrix into every setup of the paper's Tables 2-4."""

import math

import numpy as np

from zsl_core.evaluate import evaluate_scores, format_report, label_matrix
from zsl_core.splits import ANNOTATION_SETUPS, RETRIEVAL_SETUPS, make_split


def toy_dataset(n_tracks=120, n_labels=12, seed=0):
    rng = np.random.default_rng(seed)
    labels = [f"tag{i}" for i in range(n_labels)]
    tags = {}
    for t in range(n_tracks):
        k = rng.integers(1, 4)
        tags[f"t{t:03d}"] = sorted(rng.choice(labels, size=k, replace=False).tolist())
    return labels, tags


def test_perfect_scores_give_perfect_metrics():
    labels, tags = toy_dataset()
    split = make_split(tags, seen_fraction=0.75, seed=1)
    ids = sorted(tags)
    truth = label_matrix(ids, labels, tags).astype(float)
    report = evaluate_scores(split, tags, ids, labels, truth + 0.01 * np.arange(len(labels)), "A-X")
    assert [r.setup for r in report.annotation] == list(ANNOTATION_SETUPS)
    assert [r.setup for r in report.retrieval] == list(RETRIEVAL_SETUPS)
    for result in report.annotation + report.retrieval + report.seen:
        for name, value in result.values.items():
            if name.startswith("P@") and name != "P@1":
                continue  # P@5 cannot be 1 when a track has fewer than 5 positives
            assert value == 1.0 or math.isnan(value), (result.setup, name, value)
    text = format_report(report)
    assert "Table 2" in text and "Table 3" in text and "Table 4" in text


def test_random_scores_are_near_chance_and_rows_are_counted():
    labels, tags = toy_dataset(n_tracks=400, seed=3)
    split = make_split(tags, seen_fraction=0.75, seed=2)
    ids = sorted(tags)
    scores = np.random.default_rng(0).random((len(ids), len(labels)))
    report = evaluate_scores(split, tags, ids, labels, scores, "B-X")
    by_setup = {r.setup: r for r in report.annotation}
    assert 0.35 < by_setup["(B+C)-Y"].values["AUC-i"] < 0.65
    # C tracks have no seen positive, so every C-(X+Y) row has a positive: nothing skipped there
    assert by_setup["C-(X+Y)"].skipped["AUC-i"] == 0
    assert report.to_dict()["annotation"][0]["tracks"] == by_setup["B-Y"].n_tracks


def test_seen_only_model_gets_table_4_only():
    labels, tags = toy_dataset()
    split = make_split(tags, seen_fraction=0.75, seed=1)
    ids = sorted(tags)
    scores = np.random.default_rng(0).random((len(ids), len(labels)))
    scores[:, [labels.index(u) for u in split.unseen]] = np.nan
    report = evaluate_scores(split, tags, ids, labels, scores, "A-X", model_type="classification")
    assert not report.annotation and not report.retrieval
    assert report.seen[0].setup == "B-X"
