"""Benchmark: how to rank a library's seen-label probabilities for a query (issue 17, target: p50 < 20 ms
at 1M tracks on a 2-core CPU), every representation side by side in one run.

Not part of the test run. What is ranked is what the built-in model stores per track: 71 seen-label
probabilities (`bench_library.fake_seen_scores`: sparse, musicnn-like). A query term's score is
`seen @ affinity[:, term]` (a one-hot column for a seen word, at most 5 labels for a new word,
`DefaultTagger.word_affinities`), a phrase's the geometric mean over its terms, then the relevance
floor (0.1) and the top 20. Per representation and query kind (a seen word "metal", a new word
"orchestral", two terms "rainy afternoon", three "calm piano jazz"), p50/p95 over `--repeats`
interleaved rounds, bytes per track, bytes read per query and the memory-bandwidth floor
(bytes read / the read bandwidth measured in the same run), recall@20 against the exact ranking:

    python tests/benchmarks/bench_search.py --sizes 100000 1000000 --out tests/benchmarks/results/search-seen.jsonl

Representations:
  f32_rows_matmul   float32 [n, 71] row-major, numpy matmul with the affinity (the search of
                    ed 2026-12-01 before this benchmark: `score_words` + full-size log/exp)
  f16_rows_torch    float16 [n, 71] row-major, torch.mm (float16 products), then the same
  f32_cols          float32 column-major, `rank_tracks` (column-by-column product over the labels
                    the terms read, floor bound, partial sort)
  f16_cols          float16 column-major, `rank_tracks`: what `Library.search` ranks
  i8_cols_rowscale  int8 column-major with a float32 scale per row (row max / 127), same steps
  faiss_flat_ip     faiss IndexFlatIP over the float32 rows: top 20 by inner product per term;
                    exact only for one term, because a phrase's score is a geometric mean of
                    per-term products, not one inner product: for phrases, the union of each
                    term's top `--candidates` rescored exactly (recall measured)
  faiss_ivf_ip      faiss IndexIVFFlat (inner product, nlist ~ 4 sqrt(n), nprobe `--nprobe`), same
  hnsw_ip           hnswlib (inner product, M 16, ef 100/`--ef`), same; built only up to `--hnsw-max`

faiss and hnswlib are not dependencies of the package: `pip install faiss-cpu hnswlib` first
(a representation whose module is missing is reported as skipped).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from bench_library import fake_seen_scores  # noqa: E402

import app  # noqa: E402,F401  before numpy, as in the app (OpenBLAS on one thread)
from zsl_core.search import _EPS, RELEVANCE_FLOOR, Query, rank_tracks  # noqa: E402

QUERIES = {
    "seen": ["metal"],
    "new": ["orchestral"],
    "two": ["rainy", "afternoon"],
    "three": ["calm", "piano", "jazz"],
}
TOP = 20


def library(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate(
        [fake_seen_scores(rng, min(100_000, n - i)) for i in range(0, n, 100_000)]
    )


def pipeline(per_term: np.ndarray, floor: float = RELEVANCE_FLOOR, top: int = TOP) -> np.ndarray:
    """Geometric mean, floor, top k over a full [n, m] score matrix (the steps before rank_tracks'
    fast path): every row gets its log/exp."""
    combined = np.exp(np.log(np.clip(per_term, _EPS, 1.0)).mean(axis=1))
    passing = np.flatnonzero(combined >= floor)
    if len(passing) > top:
        passing = passing[np.argpartition(-combined[passing], top - 1)[:top]]
    return passing[np.argsort(-combined[passing], kind="stable")]


def exact(seen32: np.ndarray, affinity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The exact top 20 (stable order) and every track's exact relevance."""
    per_term = seen32 @ affinity
    combined = np.exp(np.log(np.clip(per_term, _EPS, 1.0)).mean(axis=1))
    passing = np.flatnonzero(combined >= RELEVANCE_FLOOR)
    return passing[np.argsort(-combined[passing], kind="stable")][:TOP], combined


def recall(got: np.ndarray, want: np.ndarray, combined: np.ndarray) -> float:
    """Recall@20 with ties counted: a returned track is right when its exact relevance is at
    least the 20th exact hit's (float16 scores tie often: any of the tied tracks is a right answer)."""
    if len(want) == 0:
        return 1.0
    kth = combined[want[-1]]
    right = int(np.sum(combined[np.unique(got)] >= kth - 1e-7))
    return min(right, len(want)) / len(want)


def rescore(seen32: np.ndarray, affinity: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Exact geometric mean on candidate rows (what an inner-product index can hand back)."""
    candidates = np.unique(candidates[candidates >= 0])
    top = pipeline(seen32[candidates] @ affinity)
    return candidates[top]


def read_bandwidth_gbs(mb: int = 512) -> float:
    """One thread summing a float32 array far bigger than the caches: bytes read per second."""
    a = np.ones(mb * 2**20 // 4, np.float32)
    a.sum()
    best = 1e9
    for _ in range(3):
        start = time.perf_counter()
        a.sum()
        best = min(best, time.perf_counter() - start)
    return a.nbytes / best / 1e9


def measure(n: int, tagger: Any, args: argparse.Namespace, bandwidth: float) -> list[dict]:
    seen16 = library(n)
    seen32 = seen16.astype(np.float32)
    cols16 = np.asfortranarray(seen16)
    cols32 = np.asfortranarray(seen32)
    scale = np.maximum(seen32.max(axis=1), 1e-12) / 127.0
    cols8 = np.asfortranarray(np.rint(seen32 / scale[:, None]).astype(np.int8))
    t16 = torch.from_numpy(seen16)
    affinities = {kind: tagger.word_affinities(terms)[0] for kind, terms in QUERIES.items()}
    for kind, terms in QUERIES.items():
        assert affinities[kind].shape[1] == len(terms), (kind, terms)
    truth = {kind: exact(seen32, a) for kind, a in affinities.items()}

    def ranked(matrix: np.ndarray) -> Callable[[str], np.ndarray]:
        return lambda kind: (
            rank_tracks(
                tagger, matrix, None, Query(" ".join(QUERIES[kind]), list(QUERIES[kind])), top_k=TOP
            ).rows
        )

    def int8_cols(kind: str) -> np.ndarray:
        a = affinities[kind]
        per_term = np.empty((n, a.shape[1]), np.float32, order="F")
        for t in range(a.shape[1]):
            out = per_term[:, t]
            labels = np.flatnonzero(a[:, t])
            np.multiply(cols8[:, labels[0]], a[labels[0], t], out=out)
            for label in labels[1:]:
                out += cols8[:, label] * a[label, t]
            out *= scale
        return pipeline(per_term)

    methods: dict[str, tuple[Callable[[str], np.ndarray], int, Callable[[str], int]]] = {
        # name: (ranker, bytes per track held, bytes read per query of a kind)
        "f32_rows_matmul": (lambda k: pipeline(seen32 @ affinities[k]), 284, lambda k: 284 * n),
        "f16_rows_torch": (
            lambda k: pipeline(
                torch.mm(t16, torch.from_numpy(affinities[k]).half()).float().numpy()
            ),
            142,
            lambda k: 142 * n,
        ),
        "f32_cols": (ranked(cols32), 284, lambda k: 4 * n * int(np.count_nonzero(affinities[k]))),
        "f16_cols": (ranked(cols16), 142, lambda k: 2 * n * int(np.count_nonzero(affinities[k]))),
        "i8_cols_rowscale": (
            int8_cols,
            75,
            lambda k: n * int(np.count_nonzero(affinities[k])) + 4 * n,
        ),
    }
    built: dict[str, float] = {}
    faiss = _optional("faiss")
    if faiss is not None:
        faiss.omp_set_num_threads(os.cpu_count() or 1)
        start = time.perf_counter()
        flat = faiss.IndexFlatIP(seen32.shape[1])
        flat.add(seen32)
        built["faiss_flat_ip"] = time.perf_counter() - start
        methods["faiss_flat_ip"] = (
            _index_ranker(lambda q, k: flat.search(q, k)[1], seen32, affinities, args),
            284,
            lambda k: 284 * n * affinities[k].shape[1],
        )
        start = time.perf_counter()
        nlist = int(4 * np.sqrt(n))
        ivf = faiss.IndexIVFFlat(
            faiss.IndexFlatIP(seen32.shape[1]), seen32.shape[1], nlist, faiss.METRIC_INNER_PRODUCT
        )
        ivf.train(seen32[np.random.default_rng(1).choice(n, min(n, 40 * nlist), replace=False)])
        ivf.add(seen32)
        ivf.nprobe = args.nprobe
        built["faiss_ivf_ip"] = time.perf_counter() - start
        methods["faiss_ivf_ip"] = (
            _index_ranker(lambda q, k: ivf.search(q, k)[1], seen32, affinities, args),
            292,
            lambda k: int(284 * n * args.nprobe / nlist) * affinities[k].shape[1],
        )
    hnswlib = _optional("hnswlib")
    if hnswlib is not None and n <= args.hnsw_max:
        start = time.perf_counter()
        hnsw = hnswlib.Index(space="ip", dim=seen32.shape[1])
        hnsw.init_index(max_elements=n, M=16, ef_construction=100)
        hnsw.add_items(seen32, num_threads=os.cpu_count() or 1)
        hnsw.set_ef(args.ef)
        built["hnsw_ip"] = time.perf_counter() - start
        methods["hnsw_ip"] = (
            _index_ranker(
                lambda q, k: hnsw.knn_query(q, k=k)[0].astype(np.int64), seen32, affinities, args
            ),
            284 + 16 * 2 * 4 + 8,
            lambda k: 0,
        )

    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.repeats):
        for kind in QUERIES:
            for name, (fn, _, _) in methods.items():
                start = time.perf_counter()
                fn(kind)
                times.setdefault((name, kind), []).append((time.perf_counter() - start) * 1000)
    records = []
    base = {k: float(np.median(times[("f32_rows_matmul", k)])) for k in QUERIES}
    for name, (fn, held, read) in methods.items():
        for kind in QUERIES:
            got = fn(kind)
            want, combined = truth[kind]
            found = recall(got, want, combined)
            p50 = float(np.median(times[(name, kind)]))
            floor_ms = read(kind) / (bandwidth * 1e9) * 1000
            records.append(
                {
                    "bench": "search_seen",
                    "tracks": n,
                    "method": name,
                    "query": kind,
                    "terms": len(QUERIES[kind]),
                    "p50_ms": round(p50, 2),
                    "p95_ms": round(float(np.percentile(times[(name, kind)], 95)), 2),
                    "vs_f32_rows_matmul": round(base[kind] / p50, 2),
                    "recall_at_20": round(found, 3),
                    "same_order": bool(np.array_equal(got[: len(want)], want)),
                    "bytes_per_track": held,
                    "mb_read_per_query": round(read(kind) / 1e6, 1),
                    "bandwidth_floor_ms": round(floor_ms, 2),
                    "build_s": round(built.get(name, 0.0), 1),
                    "read_bandwidth_gbs": round(bandwidth, 1),
                    "torch_threads": torch.get_num_threads(),
                    "load_avg": round(os.getloadavg()[0], 2),
                }
            )
    return records


def _optional(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        print(
            json.dumps({"skipped": name, "why": "not installed (pip install faiss-cpu hnswlib)"}),
            flush=True,
        )
        return None


def _index_ranker(
    search: Callable[[np.ndarray, int], np.ndarray],
    seen32: np.ndarray,
    affinities: dict[str, np.ndarray],
    args: argparse.Namespace,
) -> Callable[[str], np.ndarray]:
    """Top 20 from an inner-product index: for one term its own top 20 (then the floor); for a
    phrase each term's top `candidates`, rescored exactly."""

    def rank(kind: str) -> np.ndarray:
        a = affinities[kind]
        queries = np.ascontiguousarray(a.T, np.float32)
        if a.shape[1] == 1:
            rows = search(queries, TOP)[0]
            rows = rows[rows >= 0]
            return rows[(seen32[rows] @ a[:, 0]) >= RELEVANCE_FLOOR]
        return rescore(seen32, a, search(queries, args.candidates).ravel())

    return rank


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument(
        "--candidates", type=int, default=200, help="per term, for phrases from an index"
    )
    parser.add_argument("--nprobe", type=int, default=16)
    parser.add_argument("--ef", type=int, default=100)
    parser.add_argument(
        "--hnsw-max", type=int, default=1_000_000, help="largest size hnswlib is built for"
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    from zsl_core.default_model import load_default_tagger

    tagger = load_default_tagger("cpu")
    bandwidth = read_bandwidth_gbs()
    for n in args.sizes:
        for record in measure(n, tagger, args, bandwidth):
            line = json.dumps(record)
            print(line, flush=True)
            if args.out is not None:
                with args.out.open("a") as f:
                    f.write(line + "\n")


if __name__ == "__main__":
    main()
