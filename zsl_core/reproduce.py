"""`zsl-core reproduce`: the paper's two experiments, its controls and its case studies, end to end.

One command turns a corpus folder (a manifest with genre tags, mood tags and OpenMIC-style
instrument likelihoods, as `zsl-core synth` writes it) into results.json, markdown tables in the
layout of the paper's Tables 2-4, case-study tables like Tables 5-7 and SVG figures:

- Experiment 1: genre labels, side information = the instrument-attribute vectors of section 5.1
  (built from the manifest's likelihoods with `vectors.attribute_vectors`).
- Experiment 2: genre + mood + instrument words as tags, side information = the bundled GloVe
  vectors (`resources/vectors`), the paper's "general word semantic space".

- Experiment 1-recipe (when the corpus has genres.csv, label,attribute,value): Experiment 1 with
  that table as side information, which reads no track's annotations.

For each experiment and seed: a fresh seeded split (labels X/Y, tracks A/B/C), then for every
train setup (A-X, B-X, (A+B)-X) these models are scored on every test setup of Tables 2 and 3:

    side        the deep embedding model with the real side information (the paper's model)
    random      the same model with random Gaussian side vectors of the same shape (control:
                what is left when the side information carries no meaning)
    shuffled    the same model with the real vectors reassigned among labels by a derangement
                (control: same values and distribution, only the label -> vector link removed)
    conse       ConSE (Norouzi et al.): a classification model's top-T seen-label probabilities
                as weights of a convex combination of seen-label side vectors
    classifier  the classification model on seen labels only (Table 4)

and generalised zero-shot calibration (calibrated stacking, Chao et al. 2016) is reported beside
the uncalibrated X+Y rows: a constant gamma is subtracted from every seen label's score, with
gamma tuned on held-out validation tracks (the A and B validation parts, which no training
setup trains on) and the test rows then measured WITHOUT those tuning tracks, next to the
uncalibrated model on exactly the same tracks.

Features are computed once per corpus into OUT/cache/<kind> (resumable). The quick preset uses
the frozen pretrained musicnn backbone (only the heads train; a 2-core CPU finishes in minutes);
the full preset trains the paper's audio CNN on mel spectrograms with the paper's recipe.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import platform
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zsl_core import datasets, metrics, splits
from zsl_core.errors import DatasetError, ZslError
from zsl_core.evaluate import ANNOTATION_COLUMNS, RETRIEVAL_COLUMNS, evaluate_scores, label_matrix
from zsl_core.resources import resource_path
from zsl_core.vectors import (
    OPENMIC_INSTRUMENTS,
    SideInformation,
    WordVectors,
    attribute_vectors,
    word_side_information,
)

METHODS = ("side", "random", "shuffled", "conse")  # zero-shot scorers compared in Tables 2 and 3
CONTROLS = ("random", "shuffled")  # the side-information controls of the key claim
TABLE4_METHODS = ("side", "classifier")  # Table 4: deep embedding vs classification model
GZSL_SETUPS = ("B-(X+Y)", "C-(X+Y)", "(B+C)-(X+Y)")
KEY_SETUP = "(B+C)-Y"
CONSE_TOP_T = 10
GAMMA_GRID = tuple(round(x, 3) for x in np.arange(-0.5, 1.0001, 0.025))
EXPERIMENTS = ("exp1", "exp1-recipe", "exp2")
EXPERIMENT_TITLES = {
    "exp1": "Experiment 1: genres with instrument-attribute side information",
    "exp1-recipe": "Experiment 1 with the corpus's own genre -> instrument table (genres.csv) as side information",
    "exp2": "Experiment 2: genre/mood/instrument tags with general word vectors (GloVe)",
}
GLOVE_FILE = ("vectors", "glove-6B-50d.npz")


# --------------------------------------------------------------------------- presets


@dataclass(frozen=True)
class Preset:
    """How much compute a run spends; everything else is the same code path."""

    name: str
    backbone: str  # "musicnn" (frozen features, MLP heads) | "cnn" (paper's CNN on mels)
    optimizer: str
    lr: float
    epochs: int
    patience: int
    batch_size: int = 64
    max_seconds: float | None = 30.0
    seeds: tuple[int, ...] = (0, 1, 2)
    workers: int | None = None  # feature processes (None: all cores)

    @property
    def feature_kind(self) -> str:
        return "musicnn" if self.backbone == "musicnn" else "mel"


PRESETS = {
    # Adam, not the paper's SGD: the heads see ~10 batches per epoch, SGD at lr 1e-3 barely moves
    # them in a CPU-minutes budget. Early stopping on validation loss as in the paper.
    "quick": Preset("quick", backbone="musicnn", optimizer="adam", lr=1e-3, epochs=60, patience=10),
    # The paper's recipe (section 4.3 and the authors' code): SGD Nesterov 1e-3, decay 1e-6,
    # up to 100 epochs, early stopping 20, plateau LR; 30-s clips like MSD's.
    "full": Preset("full", backbone="cnn", optimizer="sgd", lr=1e-3, epochs=100, patience=20),
}


# --------------------------------------------------------------------------- corpus


@dataclass
class Corpus:
    """The tracks and the three vocabularies the two experiments draw their labels from."""

    folder: Path
    manifest: Path
    tracks: list[datasets.Track]
    genres: list[str]
    moods: list[str]
    instruments: list[str]
    info: dict[str, Any] = field(default_factory=dict)


def _find_manifest(folder: Path, info: Mapping[str, Any]) -> Path:
    named = info.get("manifest")
    if isinstance(named, str) and (folder / named).is_file():
        return folder / named
    for name in ("manifest.jsonl", "corpus.jsonl"):
        if (folder / name).is_file():
            return folder / name
    found = sorted(folder.glob("*.jsonl"))
    if len(found) == 1:
        return found[0]
    raise DatasetError(f"{folder}: no manifest (expected manifest.jsonl or one *.jsonl file)")


def _csv_labels(path: Path) -> list[str]:
    """Genre names from genres.csv: the first column, header row skipped if it says so."""
    labels: list[str] = []
    with open(path, newline="", encoding="utf-8") as handle:
        for i, row in enumerate(csv.reader(handle)):
            if not row or row[0].startswith("#"):
                continue
            if i == 0 and row[0].strip().lower() in ("genre", "label", "name"):
                continue
            labels.append(row[0].strip())
    return list(dict.fromkeys(x for x in labels if x))


def _string_list(value: Any) -> list[str]:
    if isinstance(value, dict):
        value = list(value)
    if isinstance(value, list):
        return [str(x) for x in value if isinstance(x, (str, int)) and str(x)]
    return []


def _mood_words(value: Any) -> list[str]:
    """corpus.json "moods": a list of words, or {concept: [synonyms]} (zsl-core synth)."""
    if isinstance(value, dict):
        words = []
        for concept, synonyms in value.items():
            words += [str(concept)] + _string_list(synonyms)
        return list(dict.fromkeys(words))
    return _string_list(value)


def load_corpus(folder: str | Path) -> Corpus:
    """Read a corpus folder: its manifest, and which tags are genres and which are moods.

    Genres come from corpus.json ("genres") or genres.csv; moods from corpus.json ("moods"),
    else every tag that is not a genre; instruments are the attribute names of the manifest.
    Mood words stored per track under meta["moods"] are added to the track's tags.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"{folder}: no such corpus folder")
    info: dict[str, Any] = {}
    if (folder / "corpus.json").is_file():
        try:
            info = json.loads((folder / "corpus.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DatasetError(f"{folder / 'corpus.json'}: unreadable ({exc})") from None
        if not isinstance(info, dict):
            info = {}
    manifest = _find_manifest(folder, info)
    tracks = datasets.read_manifest(manifest)
    for track in tracks:
        extra = _string_list(track.meta.get("moods")) if isinstance(track.meta, dict) else []
        if extra:
            track.tags = list(
                dict.fromkeys(list(track.tags) + [datasets.clean_tag(x) for x in extra])
            )
    all_tags = list(dict.fromkeys(t for track in tracks for t in track.tags))
    genres = _string_list(info.get("genres"))
    if not genres and (folder / "genres.csv").is_file():
        genres = _csv_labels(folder / "genres.csv")
    if not genres:
        genres = all_tags
    present = set(all_tags)
    genres = [g for g in genres if g in present]
    moods = _mood_words(info.get("moods")) or [t for t in all_tags if t not in set(genres)]
    moods = [m for m in moods if m in present and m not in set(genres)]
    instruments = sorted(
        {a for t in tracks for a in t.attributes},
        key=lambda a: (OPENMIC_INSTRUMENTS.index(a) if a in OPENMIC_INSTRUMENTS else 99, a),
    )
    if len(genres) < 2:
        raise DatasetError(f"{folder}: need at least 2 genre labels, found {len(genres)}")
    return Corpus(folder, manifest, tracks, genres, moods, instruments, info)


def instrument_tags(track: datasets.Track) -> list[str]:
    """The instruments a track is annotated as having (likelihood > 0.5), as tag words."""
    return [name.replace("_", " ") for name, value in track.attributes.items() if value > 0.5]


# --------------------------------------------------------------------------- features


def load_features(
    corpus: Corpus, cache_dir: Path, preset: Preset, progress: bool
) -> tuple[Mapping[str, np.ndarray], dict]:
    """Compute missing features once (parallel, resumable) and hand back track id -> features.

    musicnn features are small ([200, patches]) and are held in memory as float32; mels stay
    memory-mapped float16 in the cache (the trainer converts each chunk).
    """
    from zsl_core import (
        features,
    )  # imports torch: only when a run starts, not for `zsl-core --help`

    started = time.monotonic()
    report = features.build_feature_cache(
        [(t.id, t.path) for t in corpus.tracks],
        cache_dir,
        workers=preset.workers,
        max_seconds=preset.max_seconds,
        progress=progress,
        kind=preset.feature_kind,
    )
    cache = features.FeatureCache(cache_dir)
    if report.failed:
        print(f"features: {report.summary()}; failed tracks are left out:")
        for track_id, reason in list(report.failed.items())[:10]:
            print(f"  {track_id}: {reason}")
    ids = [t.id for t in corpus.tracks if t.id in cache]
    loaded: Mapping[str, np.ndarray]
    if preset.feature_kind == "musicnn":
        loaded = {t: np.asarray(cache[t], dtype=np.float32) for t in ids}
    else:
        loaded = _CachedFeatures(cache, ids)
    info = {
        "kind": preset.feature_kind,
        "computed": len(report.computed),
        "already_cached": len(report.skipped),
        "failed": len(report.failed),
        "seconds": round(time.monotonic() - started, 1),
    }
    return loaded, info


class _CachedFeatures(Mapping):
    """Read-only track id -> mel view of a feature cache, opened on access (a dict of open
    memory maps would hit the kernel's map limit on a large corpus)."""

    def __init__(self, cache: Any, ids: Sequence[str]) -> None:
        self._cache, self._ids, self._known = cache, list(ids), set(ids)

    def __getitem__(self, track_id: str) -> np.ndarray:
        if track_id not in self._known:
            raise KeyError(track_id)
        return self._cache[track_id]

    def __iter__(self):
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, track_id: object) -> bool:
        return track_id in self._known


# --------------------------------------------------------------------------- controls and calibration


def random_side_like(side: SideInformation, seed: int) -> SideInformation:
    """The control: Gaussian vectors with the same labels and shape as the real side information."""
    rng = np.random.default_rng([int(seed), 7919])
    matrix = rng.standard_normal(side.matrix.shape).astype(np.float32)
    return SideInformation(list(side.labels), matrix, "random", f"random:{side.dim}:{seed}")


def shuffled_side_like(side: SideInformation, seed: int) -> SideInformation:
    """The second control: the real vectors, reassigned among the labels by a seeded derangement
    (no label keeps its own). Same values and distribution, only the label -> vector link is gone."""
    n = len(side.labels)
    order = np.random.default_rng([int(seed), 15485863]).permutation(n)
    source = np.empty(n, dtype=np.int64)
    source[order] = np.roll(order, -1)  # label order[i] takes the vector of label order[i+1]
    return SideInformation(list(side.labels), side.matrix[source], "shuffled", f"shuffled:{seed}")


def conse_embeddings(
    probabilities: np.ndarray, seen_side: np.ndarray, top_t: int = CONSE_TOP_T
) -> np.ndarray:
    """ConSE: each row's top-T seen-label probabilities, renormalised to sum to 1, weigh the
    unit-length side vectors of those labels; the result lives in the side-information space,
    where any label (seen or unseen) is then scored by cosine."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    side = np.asarray(seen_side, dtype=np.float64)
    if probabilities.ndim != 2 or side.ndim != 2 or probabilities.shape[1] != side.shape[0]:
        raise ValueError(
            f"probabilities {probabilities.shape} and seen side vectors {side.shape} do not match"
        )
    unit = side / np.maximum(np.linalg.norm(side, axis=1, keepdims=True), 1e-12)
    t = max(1, min(int(top_t), side.shape[0]))
    top = np.argsort(-probabilities, axis=1, kind="stable")[:, :t]
    weights = np.take_along_axis(probabilities, top, axis=1)
    weights = weights / np.maximum(weights.sum(axis=1, keepdims=True), 1e-12)
    return np.einsum("nt,ntd->nd", weights, unit[top]).astype(np.float32)


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return a @ b.T


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


# --------------------------------------------------------------------------- one experiment


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
        out_dir, device=config.device if config.device != "auto" else _auto_device()
    )
    return model, result.summary()


def _auto_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _track_outputs(model, feats, ids, mean, std, chunk_frames, output) -> np.ndarray:
    from zsl_core.train import embed_tracks

    return embed_tracks(
        model, feats, ids, mean, std, chunk_frames=chunk_frames, batch_size=256, output=output
    )


def _label_embeddings(model, side: np.ndarray) -> np.ndarray:
    import torch

    device = next(model.parameters()).device
    with torch.no_grad():
        return (
            model.embed_labels(torch.from_numpy(np.asarray(side, np.float32)).to(device))
            .cpu()
            .numpy()
        )


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


def _calibration_rows(
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
                    print(f"{data.name} seed {seed} {setup} {method}: {exc}")
                continue
            if model_type == "embedding":
                audio = _track_outputs(model, feats, ids, mean, std, frames, "embedding")
                label_vectors = _label_embeddings(model, side.matrix)
                scores = cosine(audio, label_vectors)
                report = evaluate_scores(
                    split, data.track_tags, ids, labels, scores, setup, "embedding"
                )
                run[method] = {
                    "training": summary,
                    **report.to_dict(),
                    "calibration": _calibration_rows(
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
                probabilities = _track_outputs(
                    model, feats, ids, mean, std, frames, "probabilities"
                )
                seen_only = np.full((len(ids), len(labels)), np.nan)
                seen_only[:, :n_seen] = probabilities
                report = evaluate_scores(
                    split, data.track_tags, ids, labels, seen_only, setup, "classification"
                )
                run["classifier"] = {"training": summary, **report.to_dict()}
                conse = cosine(
                    conse_embeddings(probabilities, side_all.matrix[:n_seen]), side_all.matrix
                )
                report = evaluate_scores(split, data.track_tags, ids, labels, conse, setup, "conse")
                run["conse"] = {
                    **report.to_dict(),
                    "calibration": _calibration_rows(
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


# --------------------------------------------------------------------------- aggregation


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
            for a, b in zip(side["values"], other["values"])
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


# --------------------------------------------------------------------------- markdown


def _fmt(cell: Mapping[str, Any] | None, std: bool = True) -> str:
    if not cell or cell.get("mean") is None:
        return "n/a"
    if (
        std
        and cell.get("std") is not None
        and len([v for v in cell["values"] if v is not None]) > 1
    ):
        return f"{cell['mean']:.4f} ± {cell['std']:.4f}"
    return f"{cell['mean']:.4f}"


def markdown_tables(results: Mapping[str, Any], paper: Mapping[str, Any] | None = None) -> str:
    """Tables 2-4 (+ calibration and claims) per experiment as markdown, ours beside the paper's."""
    paper = paper or PAPER
    lines: list[str] = []
    seeds = results.get("seeds", [])
    for exp in EXPERIMENTS:
        if exp not in results.get("experiments", {}):
            continue
        agg = results["experiments"][exp]["aggregate"]
        ref = "MSD" if exp == "exp2" else "FMA"
        lines += [
            f"## {EXPERIMENT_TITLES[exp]}",
            "",
            f"Mean ± sample std over seeds {seeds}. `side` = the deep embedding model with the "
            f"experiment's side information, `random` = same model with random vectors of the same "
            f"shape, `shuffled` = same model with the real vectors reassigned among labels, `conse` = ConSE over the classification model (top {CONSE_TOP_T}). Paper = "
            f"{ref} column of the paper (different data; P@K there is AP@K).",
            "",
        ]
        lines += [
            "### Table 2: annotation",
            "",
            "| Train | Test | Model | "
            + " | ".join(ANNOTATION_COLUMNS)
            + " | paper AUC-i | paper MAP-i |",
            "|---|---|---|" + "---|" * (len(ANNOTATION_COLUMNS) + 2),
        ]
        for setup in splits.TRAIN_SETUPS:
            for test in splits.ANNOTATION_SETUPS:
                for m in METHODS:
                    row = agg["annotation"][setup][test][m]
                    p = (
                        paper.get(("annotation", setup, test, ref), ("", ""))
                        if m == "side"
                        else ("", "")
                    )
                    lines.append(
                        f"| {setup} | {test} | {m} | "
                        + " | ".join(_fmt(row[c]) for c in ANNOTATION_COLUMNS)
                        + f" | {p[0]} | {p[1]} |"
                    )
        lines += [
            "",
            "### Table 3: retrieval",
            "",
            "| Train | Test | Model | AUC-l | MAP-l | paper AUC-l | paper MAP-l |",
            "|---|---|---|---|---|---|---|",
        ]
        for setup in splits.TRAIN_SETUPS:
            for test in splits.RETRIEVAL_SETUPS:
                for m in METHODS:
                    row = agg["retrieval"][setup][test][m]
                    p = (
                        paper.get(("retrieval", setup, test, ref), ("", ""))
                        if m == "side"
                        else ("", "")
                    )
                    lines.append(
                        f"| {setup} | {test} | {m} | {_fmt(row['AUC-l'])} | {_fmt(row['MAP-l'])} | {p[0]} | {p[1]} |"
                    )
        lines += [
            "",
            "### Table 4: seen labels, A-X -> B-X (AUC-l)",
            "",
            "| Train | Test | Model | AUC-l | paper AUC-l |",
            "|---|---|---|---|---|",
        ]
        for setup in splits.TRAIN_SETUPS:
            for m, name in (
                ("side", "deep embedding"),
                ("random", "embedding, random vectors"),
                ("shuffled", "embedding, shuffled vectors"),
                ("classifier", "classification"),
            ):
                p = paper.get(("table4", setup, m, ref), ("",))[0] if setup == "A-X" else ""
                lines.append(
                    f"| {setup} | B-X | {name} | {_fmt(agg['table4'][setup][m]['AUC-l'])} | {p} |"
                )
        lines += [
            "",
            "### Generalised zero-shot: calibrated stacking",
            "",
            "Seen-label penalty gamma tuned per seed to maximise X+Y MAP-i on a tuning set: `valid` = the "
            "A and B validation tracks (mostly A tracks, which have no unseen positive), `fold` = a seeded "
            f"{CALIBRATION_FOLD:.0%} of the B and C tracks (reads their unseen annotations). Every column is "
            "measured on the same test tracks: those in neither tuning set.",
            "",
            "| Train | Test | Model | AUC-i | MAP-i | P@1 | gamma valid | MAP-i | P@1 | gamma fold | MAP-i | P@1 |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for setup in splits.TRAIN_SETUPS:
            for m in ("side", "conse"):
                cal = agg["calibration"][setup][m]
                for test in GZSL_SETUPS:
                    u, v, f = (
                        cal[test][k]
                        for k in ("uncalibrated", "calibrated_valid", "calibrated_fold")
                    )
                    lines.append(
                        f"| {setup} | {test} | {m} | {_fmt(u['AUC-i'])} | {_fmt(u['MAP-i'])} | {_fmt(u['P@1'])} | "
                        f"{_fmt(cal['gamma_valid'])} | {_fmt(v['MAP-i'])} | {_fmt(v['P@1'])} | "
                        f"{_fmt(cal['gamma_fold'])} | {_fmt(f['MAP-i'])} | {_fmt(f['P@1'])} |"
                    )
        lines += [
            "",
            f"### Side information vs its controls on {KEY_SETUP}",
            "",
            "Paired by seed (same split, same training seed). `random` = Gaussian vectors of the same "
            "shape; `shuffled` = the real vectors reassigned among labels (a derangement). 'beyond spread' "
            "= the mean difference exceeds the larger of the two seed stds and every seed favours the "
            "real side information.",
            "",
            "| Control | Train | Task | Metric | side | control | difference (± std) | wins | beyond spread |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for key, c in agg["claims"].items():
            control, setup, kind, _, metric = key.split(" ")
            lines.append(
                f"| {control} | {setup} | {kind} | {metric} | {c['side']} | {c['control_mean']} | "
                f"{c['difference']:+.4f} ± {c['difference_std']:.4f} | {c['wins_per_seed']} | "
                f"{'yes' if c['beats_control_beyond_spread'] else 'no'} |"
            )
        lines.append("")
    return "\n".join(lines)


def _paper_table() -> dict[tuple, tuple]:
    """The paper's Tables 2-4 (FMA and MSD columns), transcribed in shared/reference."""
    rows: dict[tuple, tuple] = {}
    a = {  # (train, test): (FMA AUC-i, FMA MAP-i, MSD AUC-i, MSD MAP-i)
        ("A-X", "B-Y"): (0.8736, 0.5118, 0.8559, 0.3391),
        ("A-X", "C-Y"): (0.7917, 0.3887, 0.8956, 0.4536),
        ("A-X", "(B+C)-Y"): (0.8640, 0.4973, 0.8593, 0.3491),
        ("A-X", "B-(X+Y)"): (0.8834, 0.3524, 0.9107, 0.2664),
        ("A-X", "C-(X+Y)"): (0.7958, 0.1316, 0.9019, 0.1594),
        ("A-X", "(B+C)-(X+Y)"): (0.9207, 0.4264, 0.9315, 0.2842),
        ("B-X", "B-Y"): (0.8907, 0.5633, 0.8679, 0.3904),
        ("B-X", "C-Y"): (0.8144, 0.4008, 0.8926, 0.4814),
        ("B-X", "(B+C)-Y"): (0.8817, 0.5442, 0.8700, 0.3983),
        ("B-X", "B-(X+Y)"): (0.9373, 0.5142, 0.9217, 0.2733),
        ("B-X", "C-(X+Y)"): (0.8414, 0.1886, 0.8941, 0.1389),
        ("B-X", "(B+C)-(X+Y)"): (0.8872, 0.3606, 0.9276, 0.2509),
        ("(A+B)-X", "B-Y"): (0.8864, 0.5036, 0.8632, 0.3563),
        ("(A+B)-X", "C-Y"): (0.8286, 0.4224, 0.8971, 0.4836),
        ("(A+B)-X", "(B+C)-Y"): (0.8796, 0.4940, 0.8662, 0.3674),
        ("(A+B)-X", "B-(X+Y)"): (0.9118, 0.4275, 0.9231, 0.2977),
        ("(A+B)-X", "C-(X+Y)"): (0.8276, 0.1923, 0.9044, 0.1920),
        ("(A+B)-X", "(B+C)-(X+Y)"): (0.9073, 0.3812, 0.9370, 0.2984),
    }
    for (train, test), v in a.items():
        rows[("annotation", train, test, "FMA")] = (f"{v[0]:.4f}", f"{v[1]:.4f}")
        rows[("annotation", train, test, "MSD")] = (f"{v[2]:.4f}", f"{v[3]:.4f}")
    r = {
        ("A-X", "(B+C)-Y"): (0.6793, 0.0904, 0.6740, 0.0279),
        ("A-X", "(A+B+C)-Y"): (0.6771, 0.0392, 0.6673, 0.0149),
        ("B-X", "(B+C)-Y"): (0.7194, 0.1280, 0.6907, 0.0295),
        ("B-X", "(A+B+C)-Y"): (0.7236, 0.0662, 0.6843, 0.0158),
        ("(A+B)-X", "(B+C)-Y"): (0.7314, 0.1170, 0.6864, 0.0310),
        ("(A+B)-X", "(A+B+C)-Y"): (0.7377, 0.0518, 0.6789, 0.0172),
    }
    for (train, test), v in r.items():
        rows[("retrieval", train, test, "FMA")] = (f"{v[0]:.4f}", f"{v[1]:.4f}")
        rows[("retrieval", train, test, "MSD")] = (f"{v[2]:.4f}", f"{v[3]:.4f}")
    rows[("table4", "A-X", "side", "FMA")] = ("0.7381",)
    rows[("table4", "A-X", "side", "MSD")] = ("0.7161",)
    rows[("table4", "A-X", "classifier", "FMA")] = ("0.7250",)
    rows[("table4", "A-X", "classifier", "MSD")] = ("0.6980",)
    return rows


PAPER = _paper_table()


# --------------------------------------------------------------------------- case studies (Tables 5-7)

ARBITRARY_WORDS = (
    "lovely",
    "dreamy",
    "gloomy",
    "energetic",
    "romantic",
    "peaceful",
    "aggressive",
    "mellow",
)


def _title(track: datasets.Track | None, track_id: str) -> str:
    meta = track.meta if track is not None and isinstance(track.meta, dict) else {}
    return str(meta.get("title") or track_id)


def case_studies(
    keep: Mapping[str, Any],
    data: ExperimentData,
    corpus: Corpus,
    vectors: WordVectors | None = None,
    vocabulary: Sequence[str] = (),
) -> dict[str, Any]:
    """Tables 5-7 for one trained model (seed 0, (A+B)-X, real side information):

    top_tracks  Table 5: the 5 best tracks for an unseen label and for a word outside the labels
    top_tags    Table 6: the 10 best labels of a few test tracks, unseen ones marked
    neighbours  Table 7: nearest words to a query before training (side-information space) and
                after (the trained label embedding space)
    """
    model, audio, labels = keep["model"], keep["audio"], keep["labels"]
    split: splits.Split = keep["split"]
    ids: list[str] = keep["ids"]
    label_vectors = keep["label_vectors"]
    by_id = {t.id: t for t in corpus.tracks}
    unseen = set(split.unseen)
    scores = cosine(audio, label_vectors)
    out: dict[str, Any] = {}

    # Table 6: C tracks first (only unseen positives), then B
    chosen = [t for t in split.C if t in ids][:2] + [t for t in split.B if t in ids][:1]
    rows = []
    for track_id in chosen:
        i = ids.index(track_id)
        order = np.argsort(-scores[i])[:10]
        rows.append(
            {
                "track": _title(by_id.get(track_id), track_id),
                "id": track_id,
                "true": data.track_tags[track_id],
                "top": [
                    {
                        "label": labels[j],
                        "unseen": labels[j] in unseen,
                        "score": round(float(scores[i, j]), 4),
                        "correct": labels[j] in data.track_tags[track_id],
                    }
                    for j in order
                ],
            }
        )
    out["top_tags"] = rows

    # Table 5: queries = the unseen label with most positives, and a word that is not a label
    counts = {label: sum(label in data.track_tags[t] for t in ids) for label in split.unseen}
    queries: list[tuple[str, np.ndarray, str]] = []
    if counts:
        best = max(counts, key=lambda x: (counts[x], x))
        queries.append((best, label_vectors[labels.index(best)], "unseen label"))
    word_vecs: dict[str, np.ndarray] = {}
    if vectors is not None:
        for word in ARBITRARY_WORDS:
            vec = vectors.embed(word)
            if vec is not None and word not in set(labels):
                word_vecs[word] = vec
                queries.append(
                    (word, _label_embeddings(model, vec[None, :])[0], "word outside the labels")
                )
                break
    table5 = []
    for word, vec, kind in queries:
        sims = cosine(audio, vec[None, :])[:, 0]
        order = np.argsort(-sims)[:5]
        table5.append(
            {
                "query": word,
                "kind": kind,
                "tracks": [
                    {
                        "track": _title(by_id.get(ids[i]), ids[i]),
                        "id": ids[i],
                        "tags": data.track_tags[ids[i]],
                        "score": round(float(sims[i]), 4),
                    }
                    for i in order
                ],
            }
        )
    out["top_tracks"] = table5

    # Table 7: nearest words before and after training
    words = list(labels)
    side_rows = [data.side.select(labels).matrix]
    if vectors is not None and vocabulary:
        extra = [w for w in vocabulary if w not in set(words)]
        matrix, found, _ = vectors.embed_many(extra)
        if found:
            words += found
            side_rows.append(matrix)
    before_space = np.concatenate(side_rows).astype(np.float32)
    after_space = _label_embeddings(model, before_space)
    neighbours = []
    for word, _, _ in queries:
        if word in words:
            q_before, q_after = before_space[words.index(word)], after_space[words.index(word)]
        elif word in word_vecs:
            q_before, q_after = (
                word_vecs[word],
                _label_embeddings(model, word_vecs[word][None, :])[0],
            )
        else:
            continue
        entry = {"query": word, "vocabulary": len(words)}
        for name, space, q in (("before", before_space, q_before), ("after", after_space, q_after)):
            sims = cosine(space, q[None, :])[:, 0]
            order = [j for j in np.argsort(-sims) if words[j] != word][:10]
            entry[name] = [words[j] for j in order]
        neighbours.append(entry)
    out["neighbours"] = neighbours
    return out


def case_study_markdown(studies: Mapping[str, Any]) -> str:
    lines: list[str] = []
    for exp, study in studies.items():
        lines += [
            f"## Case studies, {EXPERIMENT_TITLES[exp]}",
            "",
            "Model: seed 0, trained on (A+B)-X with the real side information.",
            "",
        ]
        lines += [
            "### Top retrieved tracks for a query (like Table 5)",
            "",
            "| Query | Rank | Track | Score | Its tags |",
            "|---|---|---|---|---|",
        ]
        for q in study["top_tracks"]:
            for rank, t in enumerate(q["tracks"], 1):
                mark = " ✓" if q["query"] in t["tags"] else ""
                lines.append(
                    f"| {q['query']} ({q['kind']}) | {rank} | {t['track']}{mark} | {t['score']:.3f} | "
                    f"{', '.join(t['tags'])} |"
                )
        lines += [
            "",
            "### Top 10 tags of test tracks (like Table 6)",
            "",
            "(unseen) = label never trained on; ✓ = in the track's true tags.",
            "",
        ]
        for row in study["top_tags"]:
            tops = ", ".join(
                f"{x['label']}{' (unseen)' if x['unseen'] else ''}{' ✓' if x['correct'] else ''}"
                for x in row["top"]
            )
            lines.append(f"- **{row['track']}** (true: {', '.join(row['true'])}): {tops}")
        if study["neighbours"]:
            lines += [
                "",
                "### Nearest words before and after training (like Table 7)",
                "",
                "| Query | Side-information space (before) | Trained embedding space (after) |",
                "|---|---|---|",
            ]
            for n in study["neighbours"]:
                lines.append(
                    f"| {n['query']} | {', '.join(n['before'])} | {', '.join(n['after'])} |"
                )
            lines.append(
                f"\nNeighbours are searched among {study['neighbours'][0]['vocabulary']} words "
                "(the experiment's labels plus the shipped vocabulary words the vectors know)."
            )
        lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------------- figures (plain SVG)

_COLOURS = {
    "side": "#1f77b4",
    "random": "#aaaaaa",
    "shuffled": "#666666",
    "conse": "#ff7f0e",
    "classifier": "#2ca02c",
}


def svg_bar_chart(
    groups: Sequence[str],
    series: Mapping[str, Sequence[tuple[float | None, float | None]]],
    title: str,
    ylabel: str,
    ymin: float = 0.0,
    ymax: float = 1.0,
) -> str:
    """A grouped bar chart with error bars as a standalone SVG string (no plotting library)."""
    width, height, left, bottom, top = 640, 360, 60, 60, 40
    plot_w, plot_h = width - left - 20, height - top - bottom
    n_series = max(len(series), 1)
    group_w = plot_w / max(len(groups), 1)
    bar_w = group_w * 0.8 / n_series

    def y(v: float) -> float:
        v = min(max(v, ymin), ymax)
        return top + plot_h * (1 - (v - ymin) / (ymax - ymin))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14">{_esc(title)}</text>',
    ]
    for k in range(6):
        v = ymin + (ymax - ymin) * k / 5
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#eee"/>'
        )
        parts.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.2f}</text>')
    parts.append(
        f'<text x="15" y="{top + plot_h / 2}" transform="rotate(-90 15 {top + plot_h / 2})" '
        f'text-anchor="middle">{_esc(ylabel)}</text>'
    )
    for g, group in enumerate(groups):
        x0 = left + g * group_w + group_w * 0.1
        parts.append(
            f'<text x="{left + (g + 0.5) * group_w:.1f}" y="{top + plot_h + 18}" '
            f'text-anchor="middle">{_esc(group)}</text>'
        )
        for s, (name, values) in enumerate(series.items()):
            mean, std = values[g]
            if mean is None:
                continue
            x = x0 + s * bar_w
            parts.append(
                f'<rect x="{x:.1f}" y="{y(mean):.1f}" width="{bar_w * 0.9:.1f}" '
                f'height="{y(ymin) - y(mean):.1f}" fill="{_COLOURS.get(name, "#555")}"/>'
            )
            if std:
                cx = x + bar_w * 0.45
                parts.append(
                    f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y(mean - std):.1f}" y2="{y(mean + std):.1f}" '
                    f'stroke="black"/>'
                )
    for s, name in enumerate(series):
        lx = left + s * 130
        parts.append(
            f'<rect x="{lx}" y="{height - 22}" width="12" height="12" fill="{_COLOURS.get(name, "#555")}"/>'
        )
        parts.append(f'<text x="{lx + 16}" y="{height - 12}">{_esc(name)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _esc(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def write_figures(results: Mapping[str, Any], folder: Path) -> list[str]:
    """Per experiment: zero-shot (B+C)-Y annotation MAP-i and retrieval AUC-l per train setup."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for exp, block in results.get("experiments", {}).items():
        agg = block["aggregate"]
        for kind, metric, lo in (
            ("annotation", "MAP-i", 0.0),
            ("annotation", "AUC-i", 0.4),
            ("retrieval", "AUC-l", 0.4),
        ):
            series = {
                m: [
                    (
                        agg[kind][s][KEY_SETUP][m][metric]["mean"],
                        agg[kind][s][KEY_SETUP][m][metric]["std"],
                    )
                    for s in splits.TRAIN_SETUPS
                ]
                for m in METHODS
            }
            svg = svg_bar_chart(
                list(splits.TRAIN_SETUPS),
                series,
                f"{exp}: {kind} {KEY_SETUP} {metric} (mean ± std over seeds)",
                metric,
                lo,
                1.0,
            )
            name = f"{exp}-{kind}-{metric}.svg".replace("@", "at")
            (folder / name).write_text(svg, encoding="utf-8")
            written.append(name)
    return written


# --------------------------------------------------------------------------- the command


def versions() -> dict[str, str]:
    import torch

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
    }


def reproduce(
    corpus_dir: str | Path,
    out_dir: str | Path,
    preset: str | Preset = "quick",
    seeds: Sequence[int] | None = None,
    device: str = "auto",
    overrides: Mapping[str, Any] | None = None,
    experiments: Sequence[str] = EXPERIMENTS,
    progress: bool = True,
) -> dict[str, Any]:
    """Run both experiments on a corpus and write results.json, tables.md, case_studies.md, figures/.

    overrides: TrainConfig settings that replace the preset's (tests shrink epochs this way).
    """
    started = time.monotonic()
    chosen = PRESETS[preset] if isinstance(preset, str) else preset
    if isinstance(preset, str) and preset not in PRESETS:
        raise DatasetError(f"unknown preset {preset!r} (choose {', '.join(PRESETS)})")
    seeds = list(seeds) if seeds is not None else list(chosen.seeds)
    if not seeds:
        raise DatasetError("give at least one seed")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    corpus = load_corpus(corpus_dir)
    feats, feature_info = load_features(
        corpus, out / "cache" / chosen.feature_kind, chosen, progress
    )
    timing: dict[str, float] = {"features": feature_info["seconds"]}
    vectors = WordVectors.load(resource_path(*GLOVE_FILE))
    vocabulary = _shipped_vocabulary()
    if chosen.backbone == "musicnn":
        # the heads are tiny: one thread avoids thread hand-off costs that dominate such steps
        # (and hurt most when other processes share the cores)
        import torch

        torch.set_num_threads(1)
    results: dict[str, Any] = {
        "command": "reproduce",
        "corpus": str(Path(corpus_dir).resolve()),
        "manifest": str(corpus.manifest),
        "preset": asdict(chosen),
        "seeds": seeds,
        "device": device,
        "overrides": dict(overrides or {}),
        "versions": versions(),
        "features": feature_info,
        "corpus_info": {
            "tracks": len(corpus.tracks),
            "tracks_with_features": len(feats),
            "genres": len(corpus.genres),
            "moods": len(corpus.moods),
            "instruments": len(corpus.instruments),
        },
        "experiments": {},
        "timing": timing,
    }
    studies: dict[str, Any] = {}
    for exp in experiments:
        t0 = time.monotonic()
        if exp == "exp1":
            data = experiment1_data(corpus, feats)
        elif exp == "exp1-recipe":
            data = experiment1_recipe_data(corpus, feats)
            if data is None:
                if progress:
                    print(f"{exp}: skipped, {corpus.folder / 'genres.csv'} does not exist")
                continue
        else:
            data = experiment2_data(corpus, feats, vectors)
        per_seed: dict[int, Any] = {}
        for seed in seeds:
            keep: dict[str, Any] | None = {} if seed == seeds[0] else None
            if progress:
                print(
                    f"{exp}: seed {seed} ({len(data.labels)} labels, {len(data.track_tags)} tracks)",
                    flush=True,
                )
            per_seed[seed] = run_experiment(
                data, feats, chosen, seed, device, out, overrides or {}, keep
            )
            if keep:
                studies[exp] = case_studies(
                    keep,
                    data,
                    corpus,
                    vectors if exp == "exp2" else None,
                    vocabulary if exp == "exp2" else (),
                )
        results["experiments"][exp] = {
            "title": EXPERIMENT_TITLES[exp],
            "labels": data.labels,
            "side_kind": data.side.kind,
            "side_dim": data.side.dim,
            "dropped_labels": data.dropped_labels,
            "per_seed": {str(s): v for s, v in per_seed.items()},
            "aggregate": aggregate(per_seed),
        }
        timing[exp] = round(time.monotonic() - t0, 1)
        _write_json(
            out / "results.json", results
        )  # after each experiment: a cut-off run keeps its part
    results["case_studies"] = studies
    timing["total"] = round(time.monotonic() - started, 1)
    _write_json(out / "results.json", results)
    (out / "tables.md").write_text(markdown_tables(results), encoding="utf-8")
    (out / "case_studies.md").write_text(case_study_markdown(studies), encoding="utf-8")
    results["figures"] = write_figures(results, out / "figures")
    _write_json(out / "results.json", results)
    return results


def _shipped_vocabulary() -> list[str]:
    from zsl_core.pipeline import load_vocabulary

    try:
        return list(load_vocabulary())
    except DatasetError:
        return []


def _write_json(path: Path, value: Any) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(
        json.dumps(value, indent=1, ensure_ascii=False, default=_json_default) + "\n",
        encoding="utf-8",
    )
    temporary.replace(path)


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def parse_seeds(text: str | None) -> list[int] | None:
    if not text:
        return None
    try:
        seeds = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise DatasetError(f"--seeds must be comma-separated integers, got {text!r}") from None
    if any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise DatasetError(f"--seeds must be distinct non-negative integers, got {text!r}")
    return seeds


def cmd_reproduce(args: argparse.Namespace) -> int:
    overrides = {"epochs": args.epochs} if args.epochs is not None else {}
    experiments = tuple(x.strip() for x in args.experiments.split(",") if x.strip())
    unknown = [x for x in experiments if x not in EXPERIMENTS]
    if unknown or not experiments:
        raise DatasetError(
            f"--experiments takes {','.join(EXPERIMENTS)} (comma-separated), got {args.experiments!r}"
        )
    results = reproduce(
        args.corpus,
        args.out,
        preset=args.preset,
        seeds=parse_seeds(args.seeds),
        device=args.device,
        overrides=overrides,
        experiments=experiments,
        progress=not args.quiet,
    )
    print(markdown_tables(results))
    print(
        f"wrote {Path(args.out) / 'results.json'}, tables.md, case_studies.md, figures/ "
        f"in {results['timing']['total']:.0f} s"
    )
    return 0


def register(sub: Any) -> None:
    """Add `reproduce` to the zsl-core subcommands (called from cli.build_parser)."""
    p = sub.add_parser(
        "reproduce", help="run the paper's experiments, controls and case studies on a corpus"
    )
    p.add_argument(
        "corpus",
        help="corpus folder (manifest + genres.csv/corpus.json, e.g. from `zsl-core synth`)",
    )
    p.add_argument(
        "--out", required=True, help="folder for results.json, tables.md, case_studies.md, figures/"
    )
    p.add_argument(
        "--preset",
        default="quick",
        choices=sorted(PRESETS),
        help="quick: frozen musicnn features + trained heads (CPU minutes); full: the paper's CNN "
        "and recipe on mel spectrograms (hours on a CPU, use a GPU)",
    )
    p.add_argument("--seeds", default=None, help="comma-separated seeds (default 0,1,2)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--epochs", type=int, default=None, help="override the preset's maximum epochs")
    p.add_argument(
        "--experiments",
        default=",".join(EXPERIMENTS),
        help="which experiments to run: exp1 (genres + instrument attributes from the manifest), "
        "exp1-recipe (genres + the corpus's genres.csv table), exp2 (tags + GloVe)",
    )
    p.add_argument("--quiet", action="store_true")
    p.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the full traceback on errors",
    )
    p.set_defaults(func=cmd_reproduce)
