"""The whole run: features, every experiment and seed, case studies, then results.json,
tables.md, case_studies.md and figures/. Progress goes to this package's loggers."""

from __future__ import annotations

import json
import logging
import platform
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from zsl_core.errors import DatasetError
from zsl_core.reproduce.aggregate import aggregate
from zsl_core.reproduce.case_studies import case_studies, case_study_markdown
from zsl_core.reproduce.corpus import load_corpus
from zsl_core.reproduce.design import EXPERIMENT_TITLES, EXPERIMENTS, GLOVE_FILE
from zsl_core.reproduce.experiments import (
    experiment1_data,
    experiment1_recipe_data,
    experiment2_data,
    run_experiment,
)
from zsl_core.reproduce.figures import write_figures
from zsl_core.reproduce.presets import PRESETS, Preset
from zsl_core.reproduce.tables import markdown_tables
from zsl_core.reproduce.track_features import load_features
from zsl_core.resources import resource_path
from zsl_core.vectors import WordVectors

log = logging.getLogger(__name__)


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
    progress: feature progress bars, and a log line (INFO) as each experiment and seed starts.
    Failed tracks and models are logged as warnings either way; `zsl-core reproduce` prints
    all of them on stdout.
    """
    started = time.monotonic()
    if isinstance(preset, str) and preset not in PRESETS:
        raise DatasetError(f"unknown preset {preset!r} (choose {', '.join(PRESETS)})")
    chosen = PRESETS[preset] if isinstance(preset, str) else preset
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
            recipe = experiment1_recipe_data(corpus, feats)
            if recipe is None:
                if progress:
                    log.info("%s: skipped, %s does not exist", exp, corpus.folder / "genres.csv")
                continue
            data = recipe
        else:
            data = experiment2_data(corpus, feats, vectors)
        per_seed: dict[int, Any] = {}
        for seed in seeds:
            keep: dict[str, Any] | None = {} if seed == seeds[0] else None
            if progress:
                log.info(
                    "%s: seed %s (%d labels, %d tracks)",
                    exp,
                    seed,
                    len(data.labels),
                    len(data.track_tags),
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
    from zsl_core.tags import load_vocabulary

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
