"""Benchmark: the sentence encoder (zsl_core.text_encoder, all-MiniLM-L6-v2): start-up and per-query cost.

Not part of the test run (no test_ prefix). Prints one JSON line per measurement:

    python tests/benchmarks/bench_text_encoder.py
    python tests/benchmarks/bench_text_encoder.py --threads 1 --runs 5 --queries 300

* startup: a fresh Python process per run that imports zsl_core.text_encoder (torch with it),
  loads the shipped encoder and encodes one phrase; the seconds of each stage and of the whole
  process, median over --runs.
* query: p50/p95 of `encode([phrase])` for one short phrase (the search box's case), after a
  warm-up, in this process.
* batch: 1,000 vocabulary entries (resources/vocab/*.txt) in one `encode` call (batch_size 64),
  best of 3.

--threads sets torch's intra-op threads in every process (default: leave torch's own choice, as
the app does). Machines are shared and noisy: the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PHRASE = "music for a rainy day"

STARTUP = r"""
import json, sys, time
started = time.perf_counter()
import torch
if {threads}:
    torch.set_num_threads({threads})
from zsl_core.text_encoder import load_text_encoder
imported = time.perf_counter()
encoder = load_text_encoder()
loaded = time.perf_counter()
encoder.encode([{phrase!r}])
encoded = time.perf_counter()
print(json.dumps({{"import_s": imported - started, "load_s": loaded - imported,
                  "first_encode_s": encoded - loaded, "threads": torch.get_num_threads()}}))
"""


def vocabulary(n: int) -> list[str]:
    words: list[str] = []
    for file in sorted((REPO / "resources" / "vocab").glob("*.txt")):
        words += [
            w.strip()
            for w in file.read_text(encoding="utf-8").splitlines()
            if w.strip() and not w.startswith("#")
        ]
    words = list(dict.fromkeys(words))
    return (words * (n // len(words) + 1))[:n]


def bench_startup(runs: int, threads: int) -> dict:
    code = STARTUP.format(threads=threads, phrase=PHRASE)
    stages: list[dict] = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", code],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        stage = json.loads(done.stdout.strip().splitlines()[-1])
        stage["process_s"] = time.perf_counter() - started
        stages.append(stage)
    median = {
        key: round(statistics.median(s[key] for s in stages), 3)
        for key in ("import_s", "load_s", "first_encode_s", "process_s")
    }
    return {
        "what": "startup",
        "runs": runs,
        "threads": stages[0]["threads"],
        **median,
        "import_load_first_encode_s": round(
            median["import_s"] + median["load_s"] + median["first_encode_s"], 3
        ),
    }


def bench_query(encoder, queries: int) -> dict:
    for _ in range(10):
        encoder.encode([PHRASE])
    times = []
    for _ in range(queries):
        started = time.perf_counter()
        encoder.encode([PHRASE])
        times.append(time.perf_counter() - started)
    times.sort()
    return {
        "what": "query",
        "phrase": PHRASE,
        "queries": queries,
        "p50_ms": round(1000 * times[len(times) // 2], 2),
        "p95_ms": round(1000 * times[int(len(times) * 0.95)], 2),
        "min_ms": round(1000 * times[0], 2),
    }


def bench_batch(encoder, n: int) -> dict:
    words = vocabulary(n)
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        vectors = encoder.encode(words)
        best = min(best, time.perf_counter() - started)
    return {
        "what": "batch",
        "texts": len(words),
        "batch_size": 64,
        "seconds": round(best, 3),
        "texts_per_s": round(len(words) / best, 1),
        "shape": list(vectors.shape),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs", type=int, default=3, help="fresh processes for the start-up figure"
    )
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--batch", type=int, default=1000, help="vocabulary entries in the batch figure"
    )
    parser.add_argument(
        "--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)"
    )
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from zsl_core.text_encoder import load_text_encoder

    context = {
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    print(json.dumps({"what": "machine", **context}), flush=True)
    print(json.dumps(bench_startup(args.runs, args.threads)), flush=True)
    encoder = load_text_encoder()
    print(json.dumps(bench_query(encoder, args.queries)), flush=True)
    print(json.dumps(bench_batch(encoder, args.batch)), flush=True)
    print(
        json.dumps({"what": "machine_after", "load_average_1min": round(os.getloadavg()[0], 2)}),
        flush=True,
    )


if __name__ == "__main__":
    main()
