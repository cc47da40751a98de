"""One experiment: its labels and side information, then for one seed a split and every train
setup x every model (side, random, shuffled, classifier + ConSE), trained and scored."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zsl_core import splits
from zsl_core.errors import DatasetError, ZslError
from zsl_core.evaluate import evaluate_scores
from zsl_core.reproduce.calibration import calibration_rows
from zsl_core.reproduce.conse import conse_scores
from zsl_core.reproduce.controls import random_side_like, shuffled_side_like
from zsl_core.reproduce.corpus import Corpus, instrument_tags
from zsl_core.reproduce.presets import Preset
from zsl_core.reproduce.scoring import auto_device, cosine, label_embeddings, track_outputs
from zsl_core.vectors import SideInformation, WordVectors, attribute_vectors, word_side_information

log = logging.getLogger(__name__)


@dataclass
class ExperimentData:
    """What one experiment trains on: its tracks' labels and every label's side vector."""

    name: str
    track_tags: dict[str, list[str]]
    labels: list[str]
    side: SideInformation
    dropped_labels: list[str] = field(default_factory=list)


def experiment1_data(corpus: Corpus, feature_ids: Iterable[str]) -> ExperimentData:
    """Genres only; each genre's 40-d instrument vector from the manifest's likelihoods (5.1)."""
    wanted = set(corpus.genres)
    have = set(feature_ids)
    tags = {t.id: [x for x in t.tags if x in wanted] for t in corpus.tracks if t.id in have}
    names = corpus.instruments
    if not names:
        raise DatasetError(f"{corpus.manifest}: no instrument attributes, Experiment 1 needs them")
    side = attribute_vectors(
        tags, {t.id: dict(t.attributes) for t in corpus.tracks if t.id in have}, names
    )
    labels = [g for g in corpus.genres if g in set(side.labels)]
    return ExperimentData("exp1", tags, labels, side.select(labels))


def experiment1_recipe_data(corpus: Corpus, feature_ids: Iterable[str]) -> ExperimentData | None:
    """Experiment 1 with side information from the corpus's genres.csv (label,attribute,value),
    z-scored like section 5.1. Unlike the manifest-derived vectors, these do not read any test
    track's instrument annotations. None when the corpus has no such table."""
    from zsl_core.vectors import attributes_from_csv

    table = corpus.folder / "genres.csv"
    if not table.is_file():
        return None
    base = experiment1_data(corpus, feature_ids)
    side = attributes_from_csv(table, standardise=True)
    labels = [g for g in base.labels if g in set(side.labels)]
    tags = {t: [x for x in v if x in set(labels)] for t, v in base.track_tags.items()}
    return ExperimentData(
        "exp1-recipe",
        tags,
        labels,
        side.select(labels),
        dropped_labels=[g for g in base.labels if g not in set(labels)],
    )


def experiment2_data(
    corpus: Corpus, feature_ids: Iterable[str], vectors: WordVectors
) -> ExperimentData:
    """Genre + mood + instrument words as tags; their GloVe vectors as side information.
    Words GloVe cannot embed are dropped and listed (the paper dropped tags missing from GloVe)."""
    have = set(feature_ids)
    tags: dict[str, list[str]] = {}
    for track in corpus.tracks:
        if track.id in have:
            tags[track.id] = list(dict.fromkeys(list(track.tags) + instrument_tags(track)))
    candidates = list(
        dict.fromkeys(
            list(corpus.genres)
            + list(corpus.moods)
            + [n.replace("_", " ") for n in corpus.instruments]
        )
    )
    candidates = [c for c in candidates if any(c in v for v in tags.values())]
    side, missing = word_side_information(vectors, candidates)
    keep = set(side.labels)
    tags = {t: [x for x in v if x in keep] for t, v in tags.items()}
    return ExperimentData("exp2", tags, list(side.labels), side, dropped_labels=missing)


def _train_config(preset: Preset, model: str, seed: int, device: str, overrides: Mapping[str, Any]):
    from zsl_core.train import TrainConfig

    settings: dict[str, Any] = dict(
        model=model,
        optimizer=preset.optimizer,
        lr=preset.lr,
        epochs=preset.epochs,
        patience=preset.patience,
        batch_size=preset.batch_size,
        seed=seed,
        device=device,
    )
    if preset.backbone == "musicnn":
        settings.update(backbone="mlp", chunk_frames=1)
    settings.update({k: v for k, v in overrides.items() if v is not None})
    return TrainConfig(**settings)


def _train(
    feats: Mapping[str, np.ndarray],
    mean: float,
    std: float,
    split: splits.Split,
    setup: str,
    data: ExperimentData,
    side_seen: np.ndarray | None,
    config,
    out_dir: Path,
):
    """Train one model on one setup; returns (model, summary)."""
    from zsl_core.models import load_model
    from zsl_core.train import TrainData, train

    seen_index = {label: i for i, label in enumerate(split.seen)}
    train_ids = [t for t in split.train_tracks(setup, "train") if t in feats]
    valid_ids = [t for t in split.train_tracks(setup, "valid") if t in feats]
    positives = {
        t: [seen_index[x] for x in data.track_tags[t] if x in seen_index]
        for t in train_ids + valid_ids
    }
    train_data = TrainData(
        features=feats,
        mean=mean,
        std=std,
        train_ids=train_ids,
        valid_ids=valid_ids,
        track_positive=positives,
        seen_labels=list(split.seen),
        side_matrix=side_seen,
        info={"setup": setup, "experiment": data.name},
    )
    result = train(config, train_data, out_dir, progress=False)
    model, _ = load_model(
        out_dir, device=config.device if config.device != "auto" else auto_device()
    )
    return model, result.summary()


def run_experiment(
    data: ExperimentData,
    feats: Mapping[str, np.ndarray],
    preset: Preset,
    seed: int,
    device: str,
    work_dir: Path,
    overrides: Mapping[str, Any],
    keep: dict[str, Any] | None = None,
    progress_errors: bool = True,
) -> dict[str, Any]:
    """One seed of one experiment: split, then every train setup x every model, scored.
    A model that cannot be trained is recorded as {"error": reason}; the others still run."""
    split = splits.make_split(
        data.track_tags, seen_fraction=0.8, valid_fraction=0.1, seed=seed, labels=data.labels
    )
    split.save(work_dir / f"{data.name}-split-seed{seed}.json")
    labels = list(split.seen) + list(split.unseen)
    side_all = data.side.select(labels)
    random_all = random_side_like(side_all, seed)
    shuffled_all = shuffled_side_like(side_all, seed)
    n_seen = len(split.seen)
    ids = [t for t in split.A + split.B + split.C if t in feats]
    chunk_frames = 1 if preset.backbone == "musicnn" else None
    out: dict[str, Any] = {
        "split": split.summary(),
        "unseen_labels": list(split.unseen),
        "runs": {},
    }
    for setup in splits.TRAIN_SETUPS:
        train_ids = [t for t in split.train_tracks(setup, "train") if t in feats]
        if not train_ids or not [t for t in split.train_tracks(setup, "valid") if t in feats]:
            out["runs"][setup] = {"error": "no training or validation tracks"}
            continue
        mean, std = _stats(feats, train_ids)
        run: dict[str, Any] = {}
        for method, model_type, side in (
            ("side", "embedding", side_all),
            ("random", "embedding", random_all),
            ("shuffled", "embedding", shuffled_all),
            ("classifier", "classification", None),
        ):
            config = _train_config(preset, model_type, seed, device, overrides)
            frames = chunk_frames or config.chunk_frames
            folder = work_dir / "models" / f"{data.name}-seed{seed}-{_slug(setup)}-{method}"
            try:
                model, summary = _train(
                    feats,
                    mean,
                    std,
                    split,
                    setup,
                    data,
                    None if side is None else side.matrix[:n_seen],
                    config,
                    folder,
                )
            except ZslError as exc:  # e.g. no usable training track: record it, go on with the rest
                run[method] = {"error": str(exc)}
                if progress_errors:
                    log.warning("%s seed %s %s %s: %s", data.name, seed, setup, method, exc)
                continue
            if side is not None:  # an embedding model
                audio = track_outputs(model, feats, ids, mean, std, frames, "embedding")
                label_vectors = label_embeddings(model, side.matrix)
                scores = cosine(audio, label_vectors)
                report = evaluate_scores(
                    split, data.track_tags, ids, labels, scores, setup, "embedding"
                )
                run[method] = {
                    "training": summary,
                    **report.to_dict(),
                    "calibration": calibration_rows(
                        split, data.track_tags, ids, labels, scores, seed
                    ),
                }
                if keep is not None and method == "side" and setup == "(A+B)-X":
                    keep.update(
                        model=model,
                        audio=audio,
                        label_vectors=label_vectors,
                        labels=labels,
                        split=split,
                        ids=ids,
                        side=side_all,
                    )
            else:
                probabilities = track_outputs(model, feats, ids, mean, std, frames, "probabilities")
                seen_only = np.full((len(ids), len(labels)), np.nan)
                seen_only[:, :n_seen] = probabilities
                report = evaluate_scores(
                    split, data.track_tags, ids, labels, seen_only, setup, "classification"
                )
                run["classifier"] = {"training": summary, **report.to_dict()}
                conse = conse_scores(probabilities, side_all.matrix, n_seen)
                report = evaluate_scores(split, data.track_tags, ids, labels, conse, setup, "conse")
                run["conse"] = {
                    **report.to_dict(),
                    "calibration": calibration_rows(
                        split, data.track_tags, ids, labels, conse, seed
                    ),
                }
        out["runs"][setup] = run
    return out


def _stats(feats: Mapping[str, np.ndarray], ids: Sequence[str]) -> tuple[float, float]:
    total, total_sq, count = 0.0, 0.0, 0
    for t in ids:
        values = np.asarray(feats[t], dtype=np.float64)
        total += float(values.sum())
        total_sq += float((values * values).sum())
        count += values.size
    mean = total / max(count, 1)
    return mean, float(math.sqrt(max(total_sq / max(count, 1) - mean * mean, 1e-12)))


def _slug(setup: str) -> str:
    return setup.replace("(", "").replace(")", "").replace("+", "")
