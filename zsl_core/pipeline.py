"""The research pipeline glued from files on disk: what the research `zsl-core` subcommands run
(features, split, train, evaluate).

Each function reads the files a user has (manifest, split, feature cache, vectors, model
folder), calls the modules that hold the science, and writes its result. Keeping this out of
cli.py lets tests run exactly what the command line runs. The product's inference path
(loading a tagger, analysing files, index files) is `zsl_core.model_spec` and
`zsl_core.inference`; nothing the app imports lives here.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zsl_core import datasets, features, splits
from zsl_core.cosine import cosine_matrix
from zsl_core.errors import DatasetError, ModelError, VectorsError
from zsl_core.evaluate import evaluate_scores
from zsl_core.vectors import (
    OPENMIC_INSTRUMENTS,
    SideInformation,
    attribute_vectors,
    attributes_from_csv,
    word_side_information,
)
from zsl_core.word_space import WORD_SPACE_CHOICES, load_word_space

# --- dataset, features and split ---------------------------------------------------------


def track_tags(tracks: Sequence[datasets.Track]) -> dict[str, list[str]]:
    return {t.id: list(t.tags) for t in tracks}


def build_features(
    manifest: str | Path,
    cache_dir: str | Path,
    workers: int | None = None,
    max_seconds: float | None = None,
    progress: bool = True,
) -> features.CacheReport:
    """Mel spectrograms of every manifest track into a resumable cache (failures reported, not fatal)."""
    tracks = datasets.read_manifest(manifest)
    return features.build_feature_cache(
        [(t.id, t.path) for t in tracks],
        cache_dir,
        workers=workers,
        max_seconds=max_seconds,
        progress=progress,
    )


def make_split_file(
    manifest: str | Path,
    out: str | Path,
    seen_fraction: float = 0.8,
    valid_fraction: float = 0.1,
    seed: int = 0,
) -> splits.Split:
    """The paper's split of a manifest, saved so every later step reads the same one."""
    tracks = datasets.read_manifest(manifest)
    split = splits.make_split(
        track_tags(tracks), seen_fraction=seen_fraction, valid_fraction=valid_fraction, seed=seed
    )
    split.save(out)
    return split


# --- side information --------------------------------------------------------------------


def side_information(
    spec: str, labels: Sequence[str], tracks: Sequence[datasets.Track], seed: int = 0
) -> SideInformation:
    """Side-information vectors for `labels` from a spec string.

    word:PATH      word vectors (GloVe, word2vec, fastText, our .npz; or `minilm`, the built-in
                   sentence encoder, or `glove`, the built-in GloVe); labels must all embed
    attributes     OpenMIC-style instrument likelihoods stored in the manifest (paper's Exp. 1)
    csv:PATH       a label,attribute,value table
    random:DIM     random Gaussian vectors: the control that shows whether side information matters
    """
    kind, _, arg = spec.partition(":")
    if kind == "word":
        vectors = load_word_space(arg, strict=False)
        side, missing = word_side_information(vectors, list(labels))
        if missing:
            raise VectorsError(
                f"{arg}: cannot embed {len(missing)} label(s): {', '.join(missing[:10])}"
                " (filter them out when importing, e.g. `import msd --vectors`)"
            )
        return side
    if kind == "attributes":
        names = sorted({a for t in tracks for a in t.attributes})
        if not names:
            raise DatasetError(
                "the manifest has no attributes: use word:PATH or csv:PATH side information"
            )
        wanted = set(labels)
        side = attribute_vectors(
            {t.id: [x for x in t.tags if x in wanted] for t in tracks},
            {t.id: dict(t.attributes) for t in tracks},
            _attribute_order(names),
        )
        return _reorder(side, labels, "attributes")
    if kind == "csv":
        return _reorder(attributes_from_csv(arg), labels, arg)
    if kind == "random":
        dim = int(arg or 40)
        rng = np.random.default_rng(seed)
        matrix = rng.standard_normal((len(labels), dim)).astype(np.float32)
        return SideInformation(
            labels=list(labels), matrix=matrix, kind="random", source=f"random:{dim}:{seed}"
        )
    raise VectorsError(
        f"unknown side information '{spec}' (use word:PATH, attributes, csv:PATH or random:DIM)"
    )


def _attribute_order(names: Sequence[str]) -> list[str]:
    known = [n for n in OPENMIC_INSTRUMENTS if n in names]
    return known + [n for n in sorted(names) if n not in known]


def _reorder(side: SideInformation, labels: Sequence[str], source: str) -> SideInformation:
    row = {label: i for i, label in enumerate(side.labels)}
    missing = [label for label in labels if label not in row]
    if missing:
        raise VectorsError(
            f"{source}: no side information for {len(missing)} label(s): {', '.join(missing[:10])}"
        )
    matrix = side.matrix[[row[label] for label in labels]]
    return SideInformation(labels=list(labels), matrix=matrix, kind=side.kind, source=side.source)


# --- vocabulary --------------------------------------------------------------------------


# --- training and evaluation from files --------------------------------------------------


def _is_main_process() -> bool:
    return os.environ.get("RANK", "0") == "0"


def _absolute_side_spec(spec: str) -> str:
    kind, sep, arg = spec.partition(":")
    if kind in ("word", "csv") and arg and arg not in WORD_SPACE_CHOICES:
        return f"{kind}:{Path(arg).resolve()}"
    return spec


def default_side_spec(tracks: Sequence[datasets.Track]) -> str:
    """Instrument attributes when the manifest has them (Experiment 1), else the built-in
    sentence encoder's vectors of the labels (the app's word space; `zsl-core reproduce` uses
    GloVe, as the paper does)."""
    if any(t.attributes for t in tracks):
        return "attributes"
    return "word:minilm"


def ensure_features(
    tracks: Sequence[datasets.Track],
    cache_dir: str | Path,
    progress: bool = True,
    kind: str | None = None,
    on_track: Callable[[int, int], None] | None = None,
):
    """The feature cache for these tracks, computing what is missing (resumable).

    kind: "mel" (the paper's input) or "musicnn" (frozen pretrained backbone features);
    None keeps whatever the folder already holds. on_track(done, total): progress of the
    tracks left to compute (`features.build_feature_cache`).
    """
    if _world_size() > 1 and not _is_main_process():
        # Under torchrun only rank 0 builds: builds clear each other's temporary files, so
        # several builders in one folder would break each other's renames. The others wait.
        _wait_for_marker(Path(cache_dir) / _build_marker())
        return features.FeatureCache(cache_dir)
    cache = features.FeatureCache(cache_dir) if Path(cache_dir).is_dir() else None
    kind = kind or (cache.kind if cache is not None else "mel")
    if cache is None or any(t.id not in cache for t in tracks):
        report = features.build_feature_cache(
            [(t.id, t.path) for t in tracks],
            cache_dir,
            progress=progress,
            kind=kind,
            on_track=on_track,
        )
        if report.failed and progress:
            print(report.summary())
        cache = features.FeatureCache(cache_dir)
    if _world_size() > 1:
        (Path(cache_dir) / _build_marker()).write_text("built\n", encoding="utf-8")
    return cache


def _world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def _build_marker() -> str:
    """A file name unique to this torchrun job, written by rank 0 once the cache is complete."""
    job = os.environ.get("TORCHELASTIC_RUN_ID") or os.environ.get("MASTER_PORT", "job")
    return f".built-{re.sub(r'[^A-Za-z0-9_.-]', '_', job)}"


def _wait_for_marker(marker: Path, poll_seconds: float = 1.0) -> None:
    while not marker.exists():
        time.sleep(poll_seconds)


def train_from_files(
    manifest: str | Path,
    split_path: str | Path,
    setup: str,
    side: str | None,
    model_type: str,
    out_dir: str | Path,
    cache_dir: str | Path,
    backbone: str = "cnn",
    overrides: dict | None = None,
    resume: bool = False,
    progress: bool = True,
    on_track: Callable[[int, int], None] | None = None,
    on_epoch: Callable[[int, int], None] | None = None,
):
    """`zsl-core train`: read manifest, split and features, build side information, train, save.

    The model folder gets the weights and config (train.py), every label's side vector
    (seen and unseen, so the model can tag its unseen labels on its own) and history.json.
    on_track / on_epoch: progress of the feature cache and of the epochs, for a caller's display.
    """
    # torch: training imports it; `zsl-core --help` and the other research steps need not.
    from zsl_core.train import TrainConfig, TrainData, train
    from zsl_core.trained import save_side_information

    tracks = datasets.read_manifest(manifest)
    tags = track_tags(tracks)
    split = splits.Split.load(split_path)
    kind = "musicnn" if backbone == "musicnn" else "mel"
    cache = ensure_features(
        tracks,
        cache_dir,
        progress=progress and _is_main_process(),
        kind=kind,
        on_track=on_track,
    )
    if cache.kind != kind:
        raise DatasetError(
            f"{cache_dir}: holds {cache.kind} features; the {backbone} backbone needs {kind}"
        )
    train_ids = [t for t in split.train_tracks(setup, "train") if t in cache]
    valid_ids = [t for t in split.train_tracks(setup, "valid") if t in cache]
    if not train_ids:
        raise DatasetError(f"{split_path}: no track of {setup} has features in {cache_dir}")

    spec = _absolute_side_spec(side or default_side_spec(tracks))
    labels = list(split.seen) + list(split.unseen)
    side_all = side_information(spec, labels, tracks, seed=(overrides or {}).get("seed") or 0)
    seen_index = {label: i for i, label in enumerate(split.seen)}
    mean, std = features.standardisation_stats(cache, train_ids)

    settings = {k: v for k, v in (overrides or {}).items() if v is not None}
    if backbone == "musicnn":
        # frozen musicnn features: only the heads train; one 3-s patch is one training chunk
        settings.update(backbone="mlp", chunk_frames=1)
    config = TrainConfig(model=model_type, **settings)
    info = {
        "manifest": str(Path(manifest).resolve()),
        "split": str(Path(split_path).resolve()),
        "setup": setup,
        "cache": str(Path(cache_dir).resolve()),
        "side": spec,
        "features": kind,
        "side_kind": side_all.kind,
        "unseen_labels": list(split.unseen),
        "vectors": spec.partition(":")[2] if spec.startswith("word:") else None,
    }
    data = TrainData(
        features=cache,
        mean=mean,
        std=std,
        train_ids=train_ids,
        valid_ids=valid_ids,
        track_positive={
            t: [seen_index[x] for x in tags[t] if x in seen_index] for t in train_ids + valid_ids
        },
        seen_labels=list(split.seen),
        side_matrix=side_all.matrix[: len(split.seen)] if model_type == "embedding" else None,
        info=info,
    )
    result = train(config, data, out_dir, resume=resume, progress=progress, on_epoch=on_epoch)
    if _is_main_process():
        save_side_information(out_dir, side_all)
        history = [
            {"epoch": i + 1, **{k: v[i] for k, v in result.history.items()}}
            for i in range(len(result.history["train_loss"]))
        ]
        Path(out_dir, "history.json").write_text(
            json.dumps({"summary": result.summary(), "epochs": history}, indent=2) + "\n",
            encoding="utf-8",
        )
    return result


@dataclass
class ModelScores:
    """One trained model's score for every A+B+C track (rows, `ids`) and label (columns,
    `labels`: seen then unseen), with the manifest and split they came from."""

    tracks: list
    split: splits.Split
    ids: list[str]
    labels: list[str]
    scores: np.ndarray
    train_setup: str
    model_type: str


def model_scores(
    model_dir: str | Path,
    manifest: str | Path | None = None,
    split_path: str | Path | None = None,
    cache_dir: str | Path | None = None,
    side: str | None = None,
) -> ModelScores:
    """Score every A+B+C track against every label: what `evaluate_model` slices, and what the
    app compares with the built-in model on the same held-out tracks. A classification model's
    unseen columns are NaN (it cannot score them)."""
    import torch

    from zsl_core.chunks import embed_tracks
    from zsl_core.models import DeepEmbeddingModel, load_config
    from zsl_core.trained import TrainedTagger

    config = load_config(model_dir)
    manifest = manifest or config.get("manifest")
    split_path = split_path or config.get("split")
    cache_dir = cache_dir or config.get("cache")
    if not (manifest and split_path and cache_dir):
        raise ModelError(
            f"{model_dir}: give --manifest, --split and --cache (the model does not record them)"
        )
    tracks = datasets.read_manifest(manifest)
    split = splits.Split.load(split_path)
    cache = ensure_features(tracks, cache_dir, progress=False)
    tagger = TrainedTagger(model_dir, device="auto")
    ids = [t for t in list(split.A) + list(split.B) + list(split.C) if t in cache]
    labels = list(split.seen) + list(split.unseen)
    side_all: SideInformation | None
    if side:
        side_all = side_information(_absolute_side_spec(side), labels, tracks)
    else:
        side_all = tagger.side.select(labels) if tagger.side is not None else None

    if isinstance(tagger.model, DeepEmbeddingModel):  # model_type "embedding"
        if side_all is None:
            raise ModelError(f"{model_dir}: no side information stored; pass --side")
        audio = embed_tracks(
            tagger.model, cache, ids, tagger.mean, tagger.std, chunk_frames=tagger.chunk_frames
        )
        with torch.no_grad():
            label_vectors = (
                tagger.model.embed_labels(
                    torch.from_numpy(np.asarray(side_all.matrix, np.float32)).to(tagger.device)
                )
                .cpu()
                .numpy()
            )
        scores = cosine_matrix(audio, label_vectors)
    else:
        probabilities = embed_tracks(
            tagger.model,
            cache,
            ids,
            tagger.mean,
            tagger.std,
            chunk_frames=tagger.chunk_frames,
            output="probabilities",
        )
        scores = np.full((len(ids), len(labels)), np.nan)
        scores[:, : len(split.seen)] = probabilities
    return ModelScores(
        tracks=tracks,
        split=split,
        ids=ids,
        labels=labels,
        scores=scores,
        train_setup=config.get("setup", "?"),
        model_type=tagger.model_type,
    )


def evaluate_model(
    model_dir: str | Path,
    manifest: str | Path | None = None,
    split_path: str | Path | None = None,
    cache_dir: str | Path | None = None,
    side: str | None = None,
):
    """`zsl-core evaluate`: score every A+B+C track against every label and slice the paper's setups."""

    found = model_scores(model_dir, manifest, split_path, cache_dir, side)
    return evaluate_scores(
        found.split,
        track_tags(found.tracks),
        found.ids,
        found.labels,
        found.scores,
        train_setup=found.train_setup,
        model_type=found.model_type,
    )
