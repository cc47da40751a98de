"""Benchmark: musicnn inference per 3-s patch, old convolution path vs the fast paths (issue 7).

Not part of the test run. In ONE run (so the ratios are meaningful on a shared machine) it times
every network of the default tagger (musicnn and VGG for MSD and MTT, as the scanner runs them)
on the same patches (the VGG networks have their own fast path and run fp32 in both fast variants):

* `conv`      - the reference path: Conv2d front end + aminmax shortcut (`net.fast = False`);
* `fast-fp32` - the banded matrix-product front end, float32 (the default);
* `fast-bf16` - the same in bfloat16 (opt-in `precision="bf16"`).

Variants are interleaved round by round and the median and best per-patch times are printed
with the speed-up over `conv`, plus the model-only ceiling on tracks/s for a few window counts.
The default tagger is an ensemble (musicnn + VGG per tag list): `per_network_ms` times each
network alone (fast-fp32) and gives the ensemble's network cost against musicnn's two alone;
with `--corpus`, `per_track_ms` times what a scan pays per track (decode of the scanner's 8
windows + analysis) with the ensemble and with the musicnn networks alone, interleaved.
With `--corpus DIR` it also checks, on real full-length tracks, how far each path moves the
outputs from `conv`: largest taggram difference, and the agreement of the top-5 (and top-1)
seen tags the library stores, computed from whole-track patches as `DefaultTagger` does.

    python tests/benchmarks/bench_inference.py [--threads 2] [--batch 64] [--rounds 5]
    python tests/benchmarks/bench_inference.py --corpus /tmp/x/audio --limit 24
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from zsl_core import audio as audio_io
from zsl_core import musicnn
from zsl_core.default_model import (
    INPUT,
    DefaultTagger,
    load_default_tagger,
    segments_to_patches,
)

AUDIO_EXTENSIONS = {".mp3", ".flac", ".ogg", ".opus", ".wav", ".m4a"}
VARIANTS = {"conv": (False, "fp32"), "fast-fp32": (True, "fp32"), "fast-bf16": (True, "bf16")}


def use(tagger, variant: str) -> None:
    """Switch every network of the tagger to one inference path."""
    fast, precision = VARIANTS[variant]
    for model in tagger.models.values():
        model.net.fast = fast
        model.net.set_precision(precision)


def run_all(tagger, patches: np.ndarray, batch: int) -> dict[str, np.ndarray]:
    return {
        name: model.extract_patches(patches, batch)["taggram"]
        for name, model in tagger.models.items()
    }


def time_variants(tagger, patches: np.ndarray, batch: int, rounds: int) -> dict[str, list[float]]:
    """ms per patch (both networks) of each variant, one sample per round, variants interleaved."""
    times: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for variant in VARIANTS:  # warm-up: thread pools, banded weights
        use(tagger, variant)
        run_all(tagger, patches[:batch], batch)
    for _ in range(rounds):
        for variant in VARIANTS:
            use(tagger, variant)
            start = time.perf_counter()
            run_all(tagger, patches, batch)
            times[variant].append((time.perf_counter() - start) * 1000 / len(patches))
    return times


def time_networks(tagger, patches: np.ndarray, batch: int, rounds: int) -> dict:
    """Best ms per patch of each network alone (fast-fp32), interleaved; musicnn vs ensemble."""
    use(tagger, "fast-fp32")
    times: dict[str, list[float]] = {name: [] for name in tagger.models}
    for _ in range(rounds):
        for name, model in tagger.models.items():
            start = time.perf_counter()
            model.extract_patches(patches, batch)
            times[name].append((time.perf_counter() - start) * 1000 / len(patches))
    best = {name: round(min(samples), 2) for name, samples in times.items()}
    musicnn_only = sum(best[n] for n in musicnn.MODEL_NAMES if n in best)
    return {
        "best": best,
        "musicnn_networks_ms": round(musicnn_only, 2),
        "all_networks_ms": round(sum(best.values()), 2),
        "ensemble_vs_musicnn": round(sum(best.values()) / musicnn_only, 2),
    }


def time_tracks(tagger, files: list[Path], rounds: int, n_windows: int = 8) -> dict:
    """ms per track, decode of `n_windows` windows + `analyse`, ensemble vs musicnn alone."""
    use(tagger, "fast-fp32")
    alone = DefaultTagger(
        {n: tagger.models[n] for n in musicnn.MODEL_NAMES}, tagger.vectors, top_t=tagger.top_t
    )
    taggers = {"ensemble": tagger, "musicnn_only": alone}
    times: dict[str, list[float]] = {name: [] for name in taggers}
    decode: list[float] = []
    for _ in range(rounds):
        for name, each in taggers.items():
            start = time.perf_counter()
            for path in files:
                t0 = time.perf_counter()
                payload = INPUT.decode(path, n_windows)
                decode.append(time.perf_counter() - t0)
                each.analyse([payload])
            times[name].append((time.perf_counter() - start) * 1000 / len(files))
    best = {name: round(min(samples), 1) for name, samples in times.items()}
    return {
        "windows": n_windows,
        "tracks": len(files),
        "best_ms": best,
        "median_decode_ms": round(float(np.median(decode)) * 1000, 1),
        "ensemble_vs_musicnn": round(best["ensemble"] / best["musicnn_only"], 2),
    }


def top_k(scores: np.ndarray, k: int = 5) -> set[int]:
    return set(np.argsort(-scores, kind="stable")[:k].tolist())


def agreement(tagger, files: list[Path]) -> dict:
    """How far each fast path moves taggrams and stored tags from the conv path, on real tracks."""
    errors = {v: 0.0 for v in VARIANTS if v != "conv"}
    overlap: dict[str, list[float]] = {v: [] for v in errors}
    top1: dict[str, list[int]] = {v: [] for v in errors}
    patch_overlap: dict[str, list[float]] = {v: [] for v in errors}
    for path in files:
        patches = segments_to_patches([audio_io.load_audio(path, musicnn.SAMPLE_RATE)])
        outputs = {}
        for variant in VARIANTS:
            use(tagger, variant)
            outputs[variant] = run_all(tagger, patches, 64)
        reference = tagger.merge_probabilities(
            tagger.average_networks({n: t.mean(axis=0) for n, t in outputs["conv"].items()})
        )
        for variant in errors:
            taggrams = outputs[variant]
            for name, taggram in taggrams.items():
                base = outputs["conv"][name]
                errors[variant] = max(errors[variant], float(np.abs(taggram - base).max()))
                patch_overlap[variant] += [
                    len(top_k(a) & top_k(b)) / 5 for a, b in zip(taggram, base, strict=True)
                ]
            probabilities = tagger.merge_probabilities(
                tagger.average_networks({n: t.mean(axis=0) for n, t in taggrams.items()})
            )
            overlap[variant].append(len(top_k(probabilities) & top_k(reference)) / 5)
            top1[variant].append(int(np.argmax(probabilities) == np.argmax(reference)))
    return {
        variant: {
            "max_taggram_diff_vs_conv": float(f"{errors[variant]:.3g}"),
            "track_top5_overlap_vs_conv": round(float(np.mean(overlap[variant])), 4),
            "track_top1_agreement_vs_conv": round(float(np.mean(top1[variant])), 4),
            "patch_top5_overlap_vs_conv": round(float(np.mean(patch_overlap[variant])), 4),
        }
        for variant in errors
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's)"
    )
    parser.add_argument(
        "--batch", type=int, default=64, help="patches per network call (the tagger's)"
    )
    parser.add_argument("--patches", type=int, default=128, help="patches timed per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--windows", type=int, nargs="+", default=[4, 6, 8])
    parser.add_argument(
        "--corpus", type=Path, default=None, help="folder of tracks for the agreement check"
    )
    parser.add_argument("--limit", type=int, default=24, help="tracks used from --corpus")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    tagger = load_default_tagger("cpu")
    files = []
    if args.corpus:
        files = sorted(p for p in args.corpus.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS)[
            : args.limit
        ]
        if not files:
            raise SystemExit(f"no audio files under {args.corpus}")
    if files:  # time on real music patches, cycled to the requested count
        real = np.concatenate(
            [segments_to_patches([audio_io.load_audio(p, musicnn.SAMPLE_RATE)]) for p in files[:4]]
        )
        patches = real[np.arange(args.patches) % len(real)]
    else:  # log-mel-like values: the speed does not depend on them
        rng = np.random.default_rng(0)
        patches = rng.gamma(2.0, 0.8, (args.patches, musicnn.PATCH_FRAMES, musicnn.N_MELS)).astype(
            np.float32
        )

    times = time_variants(tagger, patches, args.batch, args.rounds)
    best_conv = min(times["conv"])
    report: dict = {
        "machine": f"{os.cpu_count()} cores, torch {torch.__version__}, threads {torch.get_num_threads()}",
        "networks": list(tagger.models),
        "batch": args.batch,
        "patches_per_round": args.patches,
        "rounds": args.rounds,
        "per_patch_ms_both_networks": {},
    }
    for variant, samples in times.items():
        best = min(samples)
        report["per_patch_ms_both_networks"][variant] = {
            "median": round(float(np.median(samples)), 2),
            "best": round(best, 2),
            "speedup_vs_conv_best": round(best_conv / best, 2),
            "speedup_vs_conv_median": round(
                float(np.median(times["conv"]) / np.median(samples)), 2
            ),
            "model_only_tracks_per_s": {
                f"windows_{n}": round(1000 / (best * n), 2) for n in args.windows
            },
        }
    report["per_network_ms"] = time_networks(tagger, patches, args.batch, args.rounds)
    if files:
        report["per_track_ms"] = time_tracks(tagger, files, args.rounds)
        report["agreement"] = agreement(tagger, files)
        report["agreement_tracks"] = len(files)
    use(tagger, "fast-fp32")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
