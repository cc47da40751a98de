"""Benchmark: free-text search latency against library size (issue 7, target: p50 < 20 ms at 1M, CPU).

Not part of the test run. Prints one JSON line per library size, with the ratio against the
naive way (copy float16 rows to float32 with numpy, multiply, sort everything) measured in the
same run, so the figures hold on a noisy shared machine:

    python tests/benchmarks/bench_search.py --sizes 10000 100000 1000000 --queries 50

What is timed is everything after the query vector exists: scores for every track, top 20.
Making the query vector (word lookup, ConSE projection) is a dictionary lookup plus one
50-d product and does not grow with the library.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from zsl_core.index import rank

DIM = 50  # the default model's space (GloVe 6B 50-d)


def library(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rows = rng.standard_normal((n, DIM)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return rows.astype(np.float16)


def naive(matrix: np.ndarray, query: np.ndarray, top_k: int) -> np.ndarray:
    scores = matrix.astype(np.float32) @ query
    return np.argsort(-scores)[:top_k]


def previous(matrix: np.ndarray, query: np.ndarray, top_k: int) -> np.ndarray:
    """`rank` before 2026-11-25 (torch.mv, scores copied to float32, then topk), for the ratio."""
    query = query / np.linalg.norm(query)
    with torch.inference_mode():
        scores = torch.mv(torch.from_numpy(matrix), torch.from_numpy(query).half()).float()
        return torch.topk(scores, top_k).indices.numpy()


def timed(fn, queries: np.ndarray) -> list[float]:
    times = []
    for q in queries:
        start = time.perf_counter()
        fn(q)
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    queries = rng.standard_normal((args.queries, DIM)).astype(np.float32)
    for n in args.sizes:
        matrix = library(n)
        rank(matrix, queries[0], args.top)  # warm-up (thread pool start)
        ours = timed(lambda q: rank(matrix, q, args.top), queries)
        before = timed(lambda q: previous(matrix, q, args.top), queries)
        slow = timed(lambda q: naive(matrix, q, args.top), queries[: max(5, args.queries // 5)])
        print(json.dumps({
            "tracks": n,
            "p50_ms": round(float(np.median(ours)), 2),
            "p95_ms": round(float(np.percentile(ours, 95)), 2),
            "previous_p50_ms": round(float(np.median(before)), 2),
            "speedup_vs_previous": round(float(np.median(before) / np.median(ours)), 2),
            "naive_p50_ms": round(float(np.median(slow)), 2),
            "speedup_vs_naive": round(float(np.median(slow) / np.median(ours)), 1),
            "bytes_per_track": matrix.itemsize * DIM,
            "threads": torch.get_num_threads(),
        }))


if __name__ == "__main__":
    main()
