"""Benchmark: how fast the default model analyses a track, and what windowing costs in tags (issues 7, 17).

Not part of the test run. For every file of a folder of full-length tracks it times, side by side
in one run,

* the naive pipeline: decode the whole file, then run the model on every 3-s patch of it (fp32);
* today's default (`app.scanner.DEFAULT_N_WINDOWS` evenly spaced 3-s windows read with seeks, fp32),
  always run;
* the pipelines asked for with `--configs`: `wN` N fixed windows; `oN` N windows with the next
  files decoded on a thread while the networks run and several tracks per forward pass
  (`zsl_core.inference.analyse_files`); `a4-M` adaptive windows, 4 first and more (8, then 16, up
  to M) only while the top-5 seen labels are not separated from the rest by `--z` standard errors
  of the window mean; `c4-M` adaptive by change, more windows while the top-5 seen labels still
  change; any of them with `:bf16` / `:auto` for bf16 front-end products (`auto` is bf16 only on
  a CPU with native bf16, `musicnn.cpu_has_fast_bf16()`);

and reports tracks per second (median and best of `--rounds` interleaved rounds), the ratios
against the naive pipeline and against today's default, and how well each agrees with the
full-track analysis: `top5_seen` (the 5 most probable of the 71 seen labels the library stores)
and `pick5` (`Prediction.pick(5)`, the proposal the app shows, seen and new words, without the
library prior), plus top-1 agreement. It also states the compute floor: the model's FLOPs per
track (counted by torch's FlopCounterMode) against the FLOP/s this machine reaches on one large
batch of patches.

    python tests/benchmarks/bench_scan.py --corpus DIR [--windows 4 8 16] [--limit 40]
    python tests/benchmarks/bench_scan.py --make 40 --seconds 240 --corpus /tmp/bench_tracks
    python tests/benchmarks/bench_scan.py --corpus DIR --limit 24 --rounds 2 \
        --configs w4 w6 a4-16 c4-16 o8 w8:bf16 o6:bf16 --out report.json

`--make` renders full-length tracks with `zsl-core synth` first (FluidSynth + the GM soundfont)
and converts half of them to mp3, so both lossless and lossy seeking are exercised.
The end-to-end library scan (parallel decode workers + batched inference + SQLite) is timed with
`--library`, which scans the same folder into a throw-away index with `app.library.Library`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from zsl_core import audio as audio_io
from zsl_core import musicnn
from zsl_core.default_model import load_default_tagger, segments_to_patches

AUDIO_EXTENSIONS = {".mp3", ".flac", ".ogg", ".opus", ".wav", ".m4a"}


def make_corpus(folder: Path, tracks: int, seconds: float) -> None:
    """Full-length music with `zsl-core synth`; every second track re-encoded as mp3 with PyAV."""
    import av

    subprocess.run(
        [
            sys.executable,
            "-m",
            "zsl_core.cli",
            "synth",
            "--out",
            str(folder),
            "--tracks",
            str(tracks),
            "--seed",
            "7",
            "--seconds",
            str(seconds),
        ],
        check=True,
    )
    files = sorted(p for p in (folder / "audio").rglob("*") if p.suffix in AUDIO_EXTENSIONS)
    for path in files[::2]:
        samples, rate = audio_io.load_audio(path, 44100), 44100
        target = path.with_suffix(".mp3")
        with av.open(str(target), "w") as out:
            stream = out.add_stream("libmp3lame", rate=rate, layout="mono")
            stream.bit_rate = 192_000
            frame = av.AudioFrame.from_ndarray(samples[None, :], format="flt", layout="mono")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                out.mux(packet)
            for packet in stream.encode(None):
                out.mux(packet)
        path.unlink()


def top_k(probabilities: np.ndarray, k: int = 5) -> set[int]:
    return set(np.argsort(-probabilities, kind="stable")[:k].tolist())


def flops_per_patch(tagger) -> float:
    """FLOPs of every musicnn network the tagger runs, for one 3-s patch."""
    patch = torch.zeros(1, musicnn.PATCH_FRAMES, musicnn.N_MELS)
    total = 0
    for model in tagger.models.values():
        net = model.net.cpu().eval()
        counter = FlopCounterMode(display=False)
        with counter, torch.no_grad():
            net(patch)
        total += counter.get_total_flops()
    return float(total)


def measured_flops(tagger, n_patches: int = 256) -> float:
    """FLOP/s the networks reach on a large batch (the best case for the hardware)."""
    patches = (
        np.random.default_rng(0)
        .standard_normal((n_patches, musicnn.PATCH_FRAMES, musicnn.N_MELS))
        .astype(np.float32)
    )
    for model in tagger.models.values():
        model.extract_patches(patches[:8], 64)  # warm-up
    start = time.perf_counter()
    for model in tagger.models.values():
        model.extract_patches(patches, 64)
    seconds = time.perf_counter() - start
    return flops_per_patch(tagger) * n_patches / seconds


def analyse(tagger, path: Path, n_windows: int | None) -> tuple[np.ndarray, float, int]:
    """(probabilities, seconds, patches) for one file, decode included."""
    start = time.perf_counter()
    if n_windows:
        segments = list(audio_io.load_windows(path, n_windows, 3.0, musicnn.SAMPLE_RATE))
    else:
        segments = [audio_io.load_audio(path, musicnn.SAMPLE_RATE)]
    patches = len(segments_to_patches(segments))
    probabilities = tagger.musicnn_analysis(segments)["probabilities"]
    return probabilities, time.perf_counter() - start, patches


# --- adaptive windows (issue 17, item 3) ------------------------------------------------------
# Windows come from one nested layout of SLOTS evenly spaced 3-s slots, so every stage keeps the
# windows already analysed: stage 1 reads 4 slots spread over the track, stage 2 the 4 between
# them (8), stage 3 the other 8 (16). Each stage's windows are read with seeks from one open file.
SLOTS = 16
STAGES = ([2, 6, 10, 14], [0, 4, 8, 12], [1, 3, 5, 7, 9, 11, 13, 15])


def _patch_outputs(tagger, patches: np.ndarray) -> dict[str, np.ndarray]:
    return {
        name: model.extract_patches(patches, tagger.batch_size)["taggram"]
        for name, model in tagger.models.items()
    }


def _merged(tagger, taggrams: dict[str, np.ndarray], patches: np.ndarray) -> np.ndarray:
    """Seen-label probabilities of these patches, exactly as `DefaultTagger.analyse` merges them."""
    from zsl_core.default_model import SPEECH
    from zsl_core.speech import low_energy_share

    means = tagger.average_networks({n: t.mean(axis=0) for n, t in taggrams.items()})
    means[SPEECH] = np.array([low_energy_share(patches)], np.float32)
    return tagger.merge_probabilities(means)


def _stable(
    tagger,
    taggrams: dict[str, np.ndarray],
    patches: np.ndarray,
    p: np.ndarray,
    population: int,
    z: float,
) -> bool:
    """True when the top-5 seen labels are separated from the rest by more than z standard
    errors of the window mean (per-window probabilities, finite-population correction)."""
    n = len(patches)
    if n < 2:
        return False
    per_window = np.stack(
        [
            _merged(tagger, {k: t[i : i + 1] for k, t in taggrams.items()}, patches[i : i + 1])
            for i in range(n)
        ]
    )
    correction = max(0.0, 1.0 - n / max(population, n))
    se = per_window.std(axis=0, ddof=1) / np.sqrt(n) * np.sqrt(correction)
    order = np.argsort(-p, kind="stable")
    top, rest = order[:5], order[5:]
    return bool((p[top] - z * se[top]).min() > (p[rest] + z * se[rest]).max())


def analyse_adaptive(
    tagger, path: Path, rule: str, max_windows: int, z: float = 1.0
) -> tuple[np.ndarray, float, int]:
    """(probabilities, seconds, windows used): 4 windows first, more only while the tags are unsure.

    rule "se": stop as soon as the top-5 seen labels stand more than z standard errors apart
    from the rest (no extra windows needed to decide); rule "change": add the next stage and
    stop when the top-5 seen labels did not change (the literal idea: at least 8 windows).
    """
    from zsl_core import dsp

    start = time.perf_counter()
    width = int(round(3.0 * musicnn.SAMPLE_RATE))
    patches = np.zeros((0, musicnn.PATCH_FRAMES, musicnn.N_MELS), np.float32)
    taggrams: dict[str, np.ndarray] = {}
    previous = None
    with audio_io._open_source(path) as source:
        total = audio_io._length_at(source, musicnn.SAMPLE_RATE)
        starts = audio_io.window_starts(total, SLOTS, width)
        population = max(1, total // width)
        for stage in STAGES:
            if len(patches) + len(stage) > max_windows:
                break
            segments = []
            for slot in stage:
                window = audio_io._read_resampled(
                    source, starts[slot], min(width, total - starts[slot]), musicnn.SAMPLE_RATE
                )
                segment = np.zeros(width, np.float32)
                segment[: len(window)] = window[:width]
                segments.append(segment)
            new = dsp.segments_to_patches(segments)
            out = _patch_outputs(tagger, new)
            patches = np.concatenate([patches, new])
            taggrams = {
                k: np.concatenate([taggrams[k], v]) if k in taggrams else v for k, v in out.items()
            }
            p = _merged(tagger, taggrams, patches)
            if rule == "se" and _stable(tagger, taggrams, patches, p, population, z):
                break
            if rule == "change" and previous is not None and top_k(p) == top_k(previous):
                break
            previous = p
    return p, time.perf_counter() - start, len(patches)


def overlapped(
    tagger, files: list[Path], n_windows: int, threads: int = 1
) -> tuple[list[np.ndarray], float]:
    """`inference.analyse_files`: the next files decode on a thread while the networks run, and
    several tracks' patches share a forward pass. (probabilities per file, seconds in all)."""
    from zsl_core.inference import analyse_files

    start = time.perf_counter()
    out: list[np.ndarray] = [None] * len(files)  # type: ignore[list-item]
    for index, result in analyse_files(tagger, files, n_windows=n_windows, threads=threads):
        if isinstance(result, Exception):
            raise result
        out[index] = result.seen_scores
    return out, time.perf_counter() - start


def picked(tagger, probabilities: np.ndarray, k: int = 5) -> list[str]:
    """The tags the app proposes (`Prediction.pick`, seen and new words, no library prior)."""
    return [t.tag for t in tagger.predict_probabilities(probabilities, top_k=8 * k).pick(k)]


def set_overlap(a, b) -> float:
    a, b = set(a), set(b)
    return 1.0 if not a and not b else len(a & b) / max(len(a), len(b))


def library_scan(folder: Path, n_windows: int | None, workers: int | None) -> dict:
    """The real scan path: parallel decode workers, batched inference, SQLite index."""
    from app.library import Library

    with tempfile.TemporaryDirectory() as tmp:
        library = Library(db_path=Path(tmp) / "bench.sqlite3")
        _ = library.tagger  # load the model outside the timing, as the app does at start-up
        start = time.perf_counter()
        summary = library.scan([folder], n_windows=n_windows, workers=workers)
        seconds = time.perf_counter() - start
        library.close()
    return {
        "tracks": summary.scanned,
        "failed": len(summary.failed),
        "seconds": round(seconds, 2),
        "tracks_per_s": round(summary.scanned / seconds, 2),
    }


def peak_rss_mb() -> dict:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"peak_rss_mb_main": round(own), "peak_rss_mb_largest_child": round(children)}


def parse_config(text: str) -> tuple[str, int, int, str]:
    """ "w8" fixed windows, "a4-16" adaptive (standard-error rule), "c4-16" adaptive (change rule),
    "o8" fixed windows with decode overlapped (`analyse_files`); ":bf16"/":auto"/":fp32" the precision."""
    kind, _, precision = text.partition(":")
    precision = precision or "fp32"
    if precision not in ("fp32", "bf16", "auto"):
        raise SystemExit(f"bad precision in {text!r}")
    if kind[:1] in "wo" and kind[1:].isdigit():
        return kind[0], int(kind[1:]), int(kind[1:]), precision
    if kind[:1] in "ac" and "-" in kind:
        low, high = kind[1:].split("-")
        if int(low) != len(STAGES[0]):
            raise SystemExit(f"adaptive runs start with {len(STAGES[0])} windows: {text!r}")
        return kind[0], int(low), int(high), precision
    raise SystemExit(f"bad config {text!r} (w8, o8, a4-16, c4-8, with :bf16/:auto/:fp32)")


def main() -> None:
    from app.scanner import DEFAULT_N_WINDOWS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True, help="folder of full-length tracks")
    parser.add_argument(
        "--make", type=int, default=0, help="render this many tracks into --corpus first"
    )
    parser.add_argument("--seconds", type=float, default=240.0, help="length of rendered tracks")
    parser.add_argument(
        "--windows",
        type=int,
        nargs="+",
        default=None,
        help="fixed window counts (shorthand for --configs w4 w8 ...)",
    )
    parser.add_argument(
        "--configs",
        nargs="+",
        default=None,
        help="pipelines side by side: w8 (fixed), o8 (decode overlapped), a4-16 (adaptive, "
        "standard-error rule), c4-16 (adaptive, change rule); suffix :bf16/:auto for "
        "that precision. Today's default (w{N}, fp32) is always run.",
    )
    parser.add_argument(
        "--z", type=float, default=1.0, help="standard errors the adaptive rule asks for"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="timing rounds, configs interleaved; median and best reported",
    )
    parser.add_argument("--limit", type=int, default=40, help="tracks timed per pipeline")
    parser.add_argument("--library", action="store_true", help="also time app.library.Library.scan")
    parser.add_argument(
        "--library-windows",
        type=int,
        default=None,
        help="n_windows for the library scan (default: the scanner's default)",
    )
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument(
        "--precision",
        choices=["fp32", "bf16", "auto"],
        default="fp32",
        help="precision of configs given without one (the naive reference stays fp32)",
    )
    parser.add_argument("--out", type=Path, default=None, help="also write the report here (JSON)")
    args = parser.parse_args()

    if args.make:
        make_corpus(args.corpus, args.make, args.seconds)
    files = sorted(p for p in args.corpus.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS)
    files = files[: args.limit]
    if not files:
        raise SystemExit(f"no audio files under {args.corpus}")
    default = f"w{DEFAULT_N_WINDOWS}:fp32"
    configs = args.configs or [f"w{n}" for n in (args.windows or [4, 8, 16])]
    configs = [c if ":" in c else f"{c}:{args.precision}" for c in configs]
    configs = [default] + [c for c in dict.fromkeys(configs) if c != default]
    parsed = {c: parse_config(c) for c in configs}
    tagger = load_default_tagger("cpu")
    analyse(tagger, files[0], 1)  # warm-up: thread pools, filter banks

    def set_precision(precision: str) -> None:
        for model in tagger.models.values():
            model.net.set_precision(precision)

    set_precision("fp32")
    full = {}
    full_seconds = []
    full_patches = []
    for path in files:
        probabilities, seconds, patches = analyse(tagger, path, None)
        full[path] = probabilities
        full_seconds.append(seconds)
        full_patches.append(patches)
    full_pick = {path: picked(tagger, full[path]) for path in files}
    durations = [audio_io.audio_info(p).duration for p in files]
    naive_rate = len(files) / sum(full_seconds)
    report: dict[str, Any] = {
        "machine": f"{os.cpu_count()} cores, torch {torch.__version__}, threads {torch.get_num_threads()}, "
        f"native bf16 {musicnn.cpu_has_fast_bf16()}",
        "corpus": str(args.corpus),
        "tracks": len(files),
        "mean_track_minutes": round(float(np.mean(durations)) / 60, 2),
        "overlap_measures": "top5_seen: the 5 most probable of the 71 seen labels; pick5: "
        "Prediction.pick(5) (seen and new words, no library prior); both "
        "against the naive full-track analysis (fp32)",
        "naive_full_track": {
            "tracks_per_s": round(naive_rate, 3),
            "patches_per_track": round(float(np.mean(full_patches)), 1),
        },
    }
    per_patch = flops_per_patch(tagger)
    reached = measured_flops(tagger)
    report["flops_per_patch_G"] = round(per_patch / 1e9, 3)
    report["measured_GFLOP_per_s_fp32"] = round(reached / 1e9, 1)
    report["default"] = default

    rates: dict[str, list[float]] = {c: [] for c in configs}
    results: dict[str, dict] = {}
    for round_ in range(max(1, args.rounds)):
        for config in configs:
            kind, low, high, precision = parsed[config]
            set_precision(precision)
            if kind == "o":
                probs, total = overlapped(tagger, files, low)
                windows = [low] * len(files)
            else:
                probs, per_file, windows = [], [], []
                for path in files:
                    if kind == "w":
                        p, s, _ = analyse(tagger, path, low)
                        used = low
                    else:
                        p, s, used = analyse_adaptive(
                            tagger, path, "se" if kind == "a" else "change", high, args.z
                        )
                    probs.append(p)
                    per_file.append(s)
                    windows.append(used)
                total = sum(per_file)
            rates[config].append(len(files) / total)
            if round_ == 0:
                results[config] = {"probs": probs, "windows": windows}
    set_precision("fp32")
    default_rate = float(np.median(rates[default]))
    default_probs = results[default]["probs"]
    report["pipelines"] = {}
    for config in configs:
        probs = results[config]["probs"]
        rate = float(np.median(rates[config]))
        seen5 = [len(top_k(p) & top_k(full[f])) / 5 for p, f in zip(probs, files, strict=True)]
        pick5 = [
            set_overlap(picked(tagger, p), full_pick[f]) for p, f in zip(probs, files, strict=True)
        ]
        seen5_default = [
            len(top_k(p) & top_k(d)) / 5 for p, d in zip(probs, default_probs, strict=True)
        ]
        top1 = [int(np.argmax(p) == np.argmax(full[f])) for p, f in zip(probs, files, strict=True)]
        mean_windows = float(np.mean(results[config]["windows"]))
        entry = {
            "tracks_per_s": round(rate, 2),
            "tracks_per_s_best": round(max(rates[config]), 2),  # other load only ever slows a round
            "tracks_per_s_rounds": [round(r, 2) for r in rates[config]],
            "vs_naive": round(rate / naive_rate, 1),
            "vs_default": round(rate / default_rate, 2),
            "mean_windows": round(mean_windows, 2),
            "top5_seen_overlap_vs_full": round(float(np.mean(seen5)), 3),
            "pick5_overlap_vs_full": round(float(np.mean(pick5)), 3),
            "top5_seen_overlap_vs_default": round(float(np.mean(seen5_default)), 3),
            "top1_agreement": round(float(np.mean(top1)), 3),
            "max_abs_prob_change_vs_full": round(
                float(max(np.abs(p - full[f]).max() for p, f in zip(probs, files, strict=True))), 4
            ),
        }
        if parsed[config][3] == "fp32":
            floor = reached / (
                per_patch * mean_windows
            )  # tracks/s if only the network ran, at full speed
            entry["compute_floor_tracks_per_s"] = round(floor, 1)
            entry["share_of_floor"] = round(rate / floor, 2)
        report["pipelines"][config] = entry
    if args.library:
        report["library_scan"] = library_scan(args.corpus, args.library_windows, args.workers)
    report.update(peak_rss_mb())
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
