"""Benchmark: is a scan on a GPU decode-bound? (issue 17, item 4; run by gpu_check.sh)

Not part of the test run. On one folder of tracks, in one run, it times

* decode only: the scanner's own torch-free workers (`app.scanner.probe_file` + `decode_file`,
  8 seek-read windows -> musicnn patches) in a spawn pool of the scan's worker count;
* model only: the built-in model (`DefaultTagger.analyse`, the scan's batching) on the
  decoded patches already in memory, on --device;
* the real scan: `app.library.Library(device=...).scan` into a throw-away index;

while `nvidia-smi --query-gpu=utilization.gpu --format=csv,noheader,nounits -lms 200` samples the
GPU in the background (when nvidia-smi exists). A scan whose rate is close to "decode only" and
far below "model only", with low GPU utilisation, is decode-bound.

    python tests/benchmarks/bench_gpu_scan.py --device cuda --make 96 --seconds 120 --corpus /tmp/gpuscan
    python tests/benchmarks/bench_gpu_scan.py --device cpu --make 6 --seconds 30 --corpus /tmp/gpuscan
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AUDIO_EXTENSIONS = {".mp3", ".flac", ".ogg", ".opus", ".wav", ".m4a"}


class GpuSampler:
    """nvidia-smi utilisation samples (percent) in the background, split by phase."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.proc = None
        self.marks: list[tuple[str, float, float]] = []
        if shutil.which("nvidia-smi"):
            self.out = open(path, "w")  # closed in stop()
            self.proc = subprocess.Popen(
                [
                    "nvidia-smi",
                    "--query-gpu=timestamp,utilization.gpu,memory.used",
                    "--format=csv,noheader,nounits",
                    "-lms",
                    "200",
                ],
                stdout=self.out,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(0.5)

    def mark(self, phase: str, start: float, stop: float) -> None:
        self.marks.append((phase, start, stop))

    def stop(self) -> dict:
        if self.proc is None:
            return {"sampled": False, "why": "nvidia-smi not found"}
        self.proc.terminate()
        self.proc.wait(5)
        self.out.close()
        from datetime import datetime

        samples = []
        for line in self.path.read_text().splitlines():
            parts = [p.strip() for p in line.split(",")]
            if len(parts) < 3:
                continue
            try:
                stamp = datetime.strptime(parts[0], "%Y/%m/%d %H:%M:%S.%f").timestamp()
                samples.append((stamp, float(parts[1]), float(parts[2])))
            except ValueError:
                continue
        report: dict = {"sampled": True, "samples": len(samples), "log": str(self.path)}
        for phase, start, stop in self.marks:
            inside = [s for s in samples if start <= s[0] <= stop]
            if inside:
                util = sorted(s[1] for s in inside)
                report[phase] = {
                    "samples": len(inside),
                    "util_mean_pct": round(sum(util) / len(util), 1),
                    "util_p50_pct": util[len(util) // 2],
                    "util_max_pct": util[-1],
                    "mem_used_max_mib": max(s[2] for s in inside),
                }
        return report


def make_corpus(folder: Path, tracks: int, seconds: float) -> None:
    """`zsl-core synth` tracks, half of them re-encoded as mp3 (bench_scan.make_corpus)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_scan import make_corpus as render

    render(folder, tracks, seconds)


def decode_only(files: list[Path], workers: int, n_windows: int) -> tuple[dict, list]:
    from app import scanner
    from zsl_core.default_model import INPUT  # the built-in model's input (musicnn patches)

    context = multiprocessing.get_context("spawn")
    payloads = []
    with cf.ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=scanner._worker_init
    ) as pool:
        list(pool.map(scanner.probe_file, [os.fsencode(files[0])]))  # spawn the workers untimed
        start = time.perf_counter()
        probes = [pool.submit(scanner.probe_file, os.fsencode(p)) for p in files]
        decodes = [
            pool.submit(scanner.decode_file, os.fsencode(p), n_windows, INPUT) for p in files
        ]
        for probe in probes:
            probe.result()
        for decode in decodes:
            kind, payload = decode.result()
            if kind == INPUT.payload.value:
                payloads.append(payload)
        seconds = time.perf_counter() - start
    return (
        {
            "tracks": len(payloads),
            "workers": workers,
            "seconds": round(seconds, 2),
            "tracks_per_s": round(len(payloads) / seconds, 2),
        },
        payloads,
    )


def model_only(tagger, payloads: list, rounds: int, per_batch: int) -> dict:
    import torch

    def sync() -> None:
        if torch.cuda.is_available():
            torch.cuda.synchronize()

    tagger.analyse(payloads[:2])  # warm-up (CUDA context, cuDNN autotune)
    sync()
    start = time.perf_counter()
    done = 0
    for _ in range(rounds):
        for i in range(0, len(payloads), per_batch):
            tagger.analyse(payloads[i : i + per_batch])
            done += len(payloads[i : i + per_batch])
    sync()
    seconds = time.perf_counter() - start
    return {
        "tracks": done,
        "tracks_per_batch": per_batch,
        "patches_per_call": tagger.batch_size,
        "seconds": round(seconds, 2),
        "tracks_per_s": round(done / seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument(
        "--make", type=int, default=0, help="render this many tracks into --corpus first"
    )
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--windows", type=int, default=8)
    parser.add_argument(
        "--workers", type=int, default=None, help="decode workers (default: the scanner's)"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="passes over the patches for 'model only'"
    )
    parser.add_argument("--gpu-log", type=Path, default=None)
    args = parser.parse_args()

    from app import scanner

    if args.make and not any(args.corpus.rglob("*.mp3")):
        made = time.perf_counter()
        make_corpus(args.corpus, args.make, args.seconds)
        print(f"corpus: {args.make} tracks in {time.perf_counter() - made:.1f} s", file=sys.stderr)
    files = sorted(p for p in args.corpus.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS)
    if not files:
        raise SystemExit(f"no audio files under {args.corpus}")
    workers = args.workers or scanner.default_workers(on_gpu=args.device.startswith("cuda"))
    from zsl_core import audio as audio_io

    minutes = sum(audio_io.audio_info(p).duration for p in files) / len(files) / 60
    report: dict = {
        "device": args.device,
        "tracks": len(files),
        "mean_track_minutes": round(minutes, 2),
        "windows": args.windows,
        "cores": os.cpu_count(),
        "workers": workers,
    }
    sampler = GpuSampler(args.gpu_log or Path(tempfile.gettempdir()) / "gpu_util.csv")
    try:
        start = time.time()
        report["decode_only"], payloads = decode_only(files, workers, args.windows)
        sampler.mark("decode_only", start, time.time())

        from app.library import Library
        from zsl_core.default_model import load_default_tagger

        tagger = load_default_tagger(args.device)
        report["torch_device"] = str(
            next(next(iter(tagger.models.values())).net.parameters()).device
        )
        start = time.time()
        report["model_only"] = model_only(tagger, payloads, args.rounds, per_batch=8)
        sampler.mark("model_only", start, time.time())

        with tempfile.TemporaryDirectory() as tmp:
            library = Library(db_path=Path(tmp) / "scan.sqlite3", device=args.device)
            _ = library.tagger  # the model loads outside the timing, as at app start-up
            start, wall = time.perf_counter(), time.time()
            summary = library.scan([args.corpus], n_windows=args.windows, workers=args.workers)
            seconds = time.perf_counter() - start
            sampler.mark("library_scan", wall, time.time())
            library.close()
        report["library_scan"] = {
            "tracks": summary.scanned,
            "failed": len(summary.failed),
            "seconds": round(seconds, 2),
            "tracks_per_s": round(summary.scanned / seconds, 2),
        }
    finally:
        report["gpu_utilisation"] = sampler.stop()
    scan_rate = report["library_scan"]["tracks_per_s"]
    decode_rate = report["decode_only"]["tracks_per_s"]
    model_rate = report["model_only"]["tracks_per_s"]
    report["scan_vs_decode_only"] = round(scan_rate / decode_rate, 2)
    report["scan_vs_model_only"] = round(scan_rate / model_rate, 2)
    report["bound_by"] = "decode" if decode_rate < model_rate else "model"
    print(json.dumps(report))


if __name__ == "__main__":
    main()
