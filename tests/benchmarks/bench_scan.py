"""Benchmark: how fast the default model analyses a track, and what windowing costs in tags (issue 7).

Not part of the test run. For every file of a folder of full-length tracks it times

* the naive pipeline: decode the whole file, then run the model on every 3-s patch of it;
* the windowed pipeline the scanner uses: N evenly spaced 3-s windows read with seeks;

and reports, in one run, tracks per second for each, the speed-up ratio, and how well the
windowed tags agree with the full-track analysis (mean overlap of the top-5 seen tags, and
agreement of the top-1 tag). It also states the compute floor: the model's
FLOPs per track (counted by torch's FlopCounterMode) against the FLOP/s this machine reaches on
one large batch of patches.

    python tests/benchmarks/bench_scan.py --corpus DIR [--windows 4 8 16] [--limit 40]
    python tests/benchmarks/bench_scan.py --make 40 --seconds 240 --corpus /tmp/bench_tracks

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

    subprocess.run([sys.executable, "-m", "zsl_core.cli", "synth", "--out", str(folder),
                    "--tracks", str(tracks), "--seed", "7", "--seconds", str(seconds)], check=True)
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
    patches = np.random.default_rng(0).standard_normal(
        (n_patches, musicnn.PATCH_FRAMES, musicnn.N_MELS)).astype(np.float32)
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
    probabilities = tagger.analyse_segments(segments)["probabilities"]
    return probabilities, time.perf_counter() - start, patches


def library_scan(folder: Path, n_windows: int | None, workers: int | None) -> dict:
    """The real scan path: parallel decode workers, batched inference, SQLite index."""
    from app.library import Library

    with tempfile.TemporaryDirectory() as tmp:
        library = Library(db_path=Path(tmp) / "bench.sqlite3")
        library.tagger  # load the model outside the timing, as the app does at start-up
        start = time.perf_counter()
        summary = library.scan([folder], n_windows=n_windows, workers=workers)
        seconds = time.perf_counter() - start
        library.close()
    return {"tracks": summary.scanned, "failed": len(summary.failed), "seconds": round(seconds, 2),
            "tracks_per_s": round(summary.scanned / seconds, 2)}


def peak_rss_mb() -> dict:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"peak_rss_mb_main": round(own), "peak_rss_mb_largest_child": round(children)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True, help="folder of full-length tracks")
    parser.add_argument("--make", type=int, default=0, help="render this many tracks into --corpus first")
    parser.add_argument("--seconds", type=float, default=240.0, help="length of rendered tracks")
    parser.add_argument("--windows", type=int, nargs="+", default=[4, 8, 16])
    parser.add_argument("--limit", type=int, default=40, help="tracks timed per pipeline")
    parser.add_argument("--library", action="store_true", help="also time app.library.Library.scan")
    parser.add_argument("--library-windows", type=int, default=None,
                        help="n_windows for the library scan (default: the scanner's default)")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--precision", choices=["fp32", "bf16", "auto"], default="fp32",
                        help="musicnn front-end precision for the windowed runs (the naive reference stays fp32)")
    args = parser.parse_args()

    if args.make:
        make_corpus(args.corpus, args.make, args.seconds)
    files = sorted(p for p in args.corpus.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS)
    files = files[:args.limit]
    if not files:
        raise SystemExit(f"no audio files under {args.corpus}")
    tagger = load_default_tagger("cpu")
    analyse(tagger, files[0], 1)  # warm-up: thread pools, filter banks

    full = {}
    full_seconds = []
    full_patches = []
    for path in files:
        probabilities, seconds, patches = analyse(tagger, path, None)
        full[path] = probabilities
        full_seconds.append(seconds)
        full_patches.append(patches)
    durations = [audio_io.audio_info(p).duration for p in files]
    report = {"machine": f"{os.cpu_count()} cores, torch {torch.__version__}, threads {torch.get_num_threads()}",
              "tracks": len(files), "mean_track_minutes": round(float(np.mean(durations)) / 60, 2),
              "naive_full_track": {"tracks_per_s": round(len(files) / sum(full_seconds), 3),
                                   "patches_per_track": round(float(np.mean(full_patches)), 1)}}
    per_patch = flops_per_patch(tagger)
    reached = measured_flops(tagger)
    report["flops_per_patch_G"] = round(per_patch / 1e9, 3)
    report["measured_GFLOP_per_s"] = round(reached / 1e9, 1)
    for model in tagger.models.values():
        model.net.set_precision(args.precision)
    report["precision"] = args.precision
    for n_windows in args.windows:
        seconds, overlaps, same_top1 = [], [], []
        for path in files:
            p, s, _ = analyse(tagger, path, n_windows)
            seconds.append(s)
            overlaps.append(len(top_k(p) & top_k(full[path])) / 5)
            same_top1.append(int(np.argmax(p) == np.argmax(full[path])))
        rate = len(files) / sum(seconds)
        floor = reached / (per_patch * n_windows)  # tracks/s if only the network ran, at full speed
        report[f"windows_{n_windows}"] = {
            "tracks_per_s": round(rate, 2),
            "speedup_vs_naive": round(sum(full_seconds) / sum(seconds), 1),
            "top5_overlap_vs_full": round(float(np.mean(overlaps)), 3),
            "top1_agreement": round(float(np.mean(same_top1)), 3),
            "compute_floor_tracks_per_s": round(floor, 1),
            "share_of_floor": round(rate / floor, 2)}
    if args.library:
        report["library_scan"] = library_scan(args.corpus, args.library_windows, args.workers)
    report.update(peak_rss_mb())
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
