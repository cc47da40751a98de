"""Benchmark: library search latency and memory against library size, and scan memory (issue 7).

Not part of the test run. Builds a real index (`app.db`, the scanner's rows) of N tracks without
audio, then measures each size in a fresh process, so the peak RSS is that size's alone:

    python tests/benchmarks/bench_library.py --sizes 10000 100000 1000000 --out tests/benchmarks/results/library.jsonl
    python tests/benchmarks/bench_library.py --skip-search --scan /tmp/bl   # a real scan's memory
    python tests/benchmarks/bench_library.py --threads 1 ...   # search on one torch thread

`--scan DIR` scans a folder of real tracks (e.g. `zsl-core synth --out /tmp/bl --tracks 30
--seconds 180`) with `Library.scan`, once into an empty index and once into a copy of the `--scan-into`
(default 100,000-track) index, each in a fresh process, and reports the peak RSS of the main process and of the
largest decode worker (RUSAGE_CHILDREN), and the peak proportional set size (PSS) of the whole
process tree sampled every 0.2 s (shared library pages counted once, unlike main + workers x
RSS), so one can see whether scan memory grows with the library.

How the rows are made: exactly the columns `app.scanner` writes for a scanned track (tracks:
path as bytes, display path, size, mtime, fingerprint, tags, duration; results: float16 embedding
and float16 seen-label scores of the default model's sizes, n_windows, fingerprint). Embeddings
are the default model's kind (ConSE: the probability-weighted mean of the top-10 seen labels'
word vectors), from random label probabilities, so search does real work on realistic rows.
The rows go in with executemany in transactions of 10,000 (the scanner writes one transaction
per track; the stored rows are the same).
Each line printed is one JSON object; `--out` appends them to a .jsonl file for plot_scaling.py.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import app  # noqa: E402,F401  before numpy, as in the app: it limits OpenBLAS to one thread (app/__init__.py)
import numpy as np  # noqa: E402

QUERIES = ["sad piano", "rock", "jazz guitar", "electronic dance", "calm ambient", "female vocals",
           "heavy metal", "happy pop", "classical violin", "hip hop beats", "dark techno",
           "acoustic folk", "relaxing chill", "fast drums", "romantic ballad", "funky bass",
           "melancholic strings", "party", "blues harmonica", "orchestral epic"]
GENRES = ["rock", "pop", "jazz", "classical", "electronic", "folk", "hip hop", "metal", ""]
BATCH = 10_000


def rss_mb() -> float:
    """Current resident set size (Linux /proc), MB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports KiB


def timed_ms(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def default_model_shape() -> tuple[list[str], np.ndarray]:
    """The default model's seen labels and their (unit) word vectors: the real sizes."""
    from zsl_core.default_model import load_default_tagger

    tagger = load_default_tagger("cpu")
    vectors = np.asarray(tagger.seen_label_embeddings(), np.float32)
    return list(tagger.seen_labels), vectors


def fake_results(rng: np.random.Generator, n: int, label_vectors: np.ndarray, top_t: int = 10
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(embeddings, seen scores) like the default model's: scores in [0, 1], embedding the
    probability-weighted mean of the top-t labels' vectors (ConSE)."""
    scores = rng.random((n, len(label_vectors)), dtype=np.float32) ** 3
    top = np.argpartition(-scores, top_t, axis=1)[:, :top_t]
    weights = np.take_along_axis(scores, top, axis=1)
    embeddings = np.einsum("nt,ntd->nd", weights, label_vectors[top]) / weights.sum(1, keepdims=True)
    return embeddings.astype(np.float32), scores


def build(db_path: Path, n: int, seed: int = 0) -> dict:
    """An index of n analysed tracks, written through app.db with the scanner's columns."""
    from app import db

    labels, vectors = default_model_shape()
    start = time.perf_counter()
    conn = db.connect(db_path)
    model = db.model_id(conn, "default", vectors.shape[1], labels)  # Library's model_key("default")
    rng = np.random.default_rng(seed)
    now = time.time()
    for first in range(0, n, BATCH):
        count = min(BATCH, n - first)
        embeddings, scores = fake_results(rng, count, vectors)
        tracks, results = [], []
        for j in range(count):
            i = first + j
            artist, album = f"Artist {i // 120:05d}", f"Album {i // 12:06d}"
            path = f"/home/user/Music/{artist}/{album}/{i % 12 + 1:02d} Track {i:07d}.flac"
            fingerprint = "flac:" + f"{rng.integers(2**63):016x}" * 4
            tracks.append((db.path_key(path), db.display(path), 30_000_000 + i, 1_700_000_000_000_000_000 + i,
                           "ok", None, now, None, fingerprint, f"Track {i:07d}", artist, album,
                           GENRES[i % len(GENRES)] or None, None, 180.0 + i % 240, i % 3 == 0, now))
            results.append((first + j + 1, model, db.to_blob(embeddings[j]), db.to_blob(scores[j]), 8,
                            fingerprint, now))
        with db.transaction(conn):
            conn.executemany(
                "INSERT INTO tracks (path, display_path, size, mtime_ns, status, error, scanned_at, gone_at,"
                " fingerprint, title, artist, album, genre, mood, duration, has_cover, added_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", tracks)
            conn.executemany(
                "INSERT INTO results (track_id, model_id, embedding, seen_scores, n_windows, fingerprint,"
                " analysed_at) VALUES (?, ?, ?, ?, ?, ?, ?)", results)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    size = db_path.stat().st_size
    return {"bench": "library_build", "tracks": n, "seconds": round(time.perf_counter() - start, 1),
            "db_mb": round(size / 2**20, 1), "db_bytes_per_track": round(size / n),
            "embedding_dim": int(vectors.shape[1]), "seen_labels": len(labels)}


def measure(db_path: Path, n: int, repeats: int, threads: int = 0) -> dict:
    """Open, first search, later searches, memory: in this (fresh) process."""
    import torch

    if threads:
        torch.set_num_threads(threads)

    from app.library import Library
    from zsl_core.index import rank

    base = rss_mb()
    start = time.perf_counter()
    library = Library(db_path=db_path, device="cpu")
    open_ms = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    tagger = library.tagger  # the model loads on first use; timed apart from the search
    model_s = time.perf_counter() - start
    after_model = rss_mb()

    start = time.perf_counter()
    library.search(QUERIES[0], top_k=20)  # builds the matrix cache and the vocabulary's vectors
    first_ms = (time.perf_counter() - start) * 1000
    after_first = rss_mb()
    ids, matrix = library._search_matrix()
    library._generation += 1  # force one more rebuild to time the cache alone
    start = time.perf_counter()
    library._search_matrix()
    rebuild_ms = (time.perf_counter() - start) * 1000

    # The same cache from one join of the blobs (one frombuffer instead of a float32 array per
    # row): what Library._search_matrix would cost built that way.
    start = time.perf_counter()
    blobs = [r[0] for r in library.conn.execute(
        "SELECT r.embedding FROM results r JOIN tracks t ON t.id = r.track_id"
        " WHERE r.model_id = ? AND t.status = 'ok' ORDER BY r.track_id", (library.model_id(),))]
    joined = np.frombuffer(b"".join(blobs), "<f2").reshape(len(blobs), -1).astype(np.float32)
    joined /= np.maximum(np.linalg.norm(joined, axis=1, keepdims=True), 1e-12)
    joined = joined.astype(np.float16)
    joined_ms = (time.perf_counter() - start) * 1000
    assert np.array_equal(joined, matrix)
    del blobs, joined

    timings: dict[int, list[float]] = {20: [], 50: []}
    rank_only: list[float] = []
    vectors = [tagger.query_embedding(q)[0] for q in QUERIES]
    for _ in range(repeats):
        for query, vector in zip(QUERIES, vectors):
            for top in timings:
                start = time.perf_counter()
                result = library.search(query, top_k=top)
                timings[top].append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            rank(matrix, vector, 50)
            rank_only.append((time.perf_counter() - start) * 1000)
    assert len(result.hits) == min(50, n)

    # The GUI's "Predicted tags" column: Library.prediction per row (top 3, shipped vocabulary),
    # and the same scores from a vocabulary matrix made once (what a cache would cost).
    sample = [int(i) for i in ids[:: max(1, len(ids) // 40)][:40]]
    predict = [timed_ms(lambda: library.prediction(t, top_k=3)) for t in sample]
    unseen, _ = library._word_matrix("unseen")
    cached = [timed_ms(lambda: tagger.scores(library.analysis(t)[0], unseen)) for t in sample]

    start = time.perf_counter()
    rows = library.tracks()  # what the GUI loads into its table on opening
    tracks_ms = (time.perf_counter() - start) * 1000
    after_tracks = rss_mb()
    del rows
    library.close()
    cache = matrix.nbytes + ids.nbytes

    def pct(values: list[float], q: float) -> float:
        return round(float(np.percentile(values, q)), 2)

    return {"bench": "library_search", "tracks": n, "threads": torch.get_num_threads(),
            "open_ms": round(open_ms, 1), "model_load_s": round(model_s, 2),
            "first_search_ms": round(first_ms, 1), "cache_build_ms": round(rebuild_ms, 1),
            "cache_build_joined_ms": round(joined_ms, 1),
            "search20_p50_ms": pct(timings[20], 50), "search20_p95_ms": pct(timings[20], 95),
            "search50_p50_ms": pct(timings[50], 50), "search50_p95_ms": pct(timings[50], 95),
            "rank_p50_ms": pct(rank_only, 50), "queries": len(timings[20]),
            "cache_bytes_per_track": round(cache / n, 1),
            "rss_start_mb": round(base), "rss_model_mb": round(after_model),
            "rss_after_search_mb": round(after_first),
            "search_mem_per_track_bytes": round((after_first - after_model) * 2**20 / n),
            "prediction_p50_ms": pct(predict, 50), "prediction_cached_vocab_p50_ms": pct(cached, 50),
            "vocabulary_words": len(unseen),
            "tracks_list_ms": round(tracks_ms), "tracks_list_mb": round(after_tracks - after_first),
            "peak_rss_mb": round(peak_mb())}


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def pss_tree_mb() -> tuple[float, float, int]:
    """Proportional set size of this process and of all its descendants (shared library pages
    split between the processes that map them, so the sum is the real total), MB; and how
    many processes were counted."""
    todo, own, others, count = [os.getpid()], 0, 0, 0
    while todo:
        pid = todo.pop()
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    if pid == os.getpid():
                        own = int(line.split()[1])
                    else:
                        others += int(line.split()[1])
                    count += 1
                    break
        except OSError:
            continue
        todo += _children(pid)
    return own / 1024, others / 1024, count


def scan_memory(db_path: Path, folder: Path, label: str, indexed: int) -> dict:
    """A real scan of `folder` into `db_path`: time and peak memory of main and workers."""
    import threading

    from app.library import Library

    library = Library(db_path=db_path, device="cpu")
    library.tagger
    before = rss_mb()
    peak = [0.0, 0.0, 0.0, 0]  # total, main, workers, processes
    stop = threading.Event()

    def sample() -> None:  # the whole process tree's PSS, every 0.2 s
        while not stop.wait(0.2):
            own, others, count = pss_tree_mb()
            if own + others > peak[0]:
                peak[:] = [own + others, own, others, count]

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    summary = library.scan([folder])
    seconds = time.perf_counter() - start
    stop.set()
    sampler.join()
    library.close()
    from app.scanner import default_workers

    main, child = peak_mb(), peak_mb(resource.RUSAGE_CHILDREN)
    workers = min(default_workers(), summary.scanned or 1)
    return {"bench": "scan_memory", "index": label, "indexed_before": indexed, "scanned": summary.scanned,
            "failed": len(summary.failed), "seconds": round(seconds, 1),
            "tracks_per_s": round(summary.scanned / seconds, 2), "workers": workers,
            "rss_before_scan_mb": round(before), "peak_rss_main_mb": round(main),
            "peak_rss_largest_worker_mb": round(child),
            "peak_total_bound_mb": round(main + workers * child),
            "peak_pss_tree_mb": round(peak[0]), "pss_main_at_peak_mb": round(peak[1]),
            "pss_children_at_peak_mb": round(peak[2]), "processes_in_tree": peak[3]}


def child(args: list[str]) -> dict:
    """Run one step in a fresh interpreter; its last stdout line is the JSON result."""
    out = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def emit(record: dict, out: Path | None) -> None:
    line = json.dumps(record)
    print(line, flush=True)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("a") as f:
            f.write(line + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=3, help="rounds of the 20 queries per size")
    parser.add_argument("--threads", type=int, default=0, help="torch threads for search (0: torch's default)")
    parser.add_argument("--scan", type=Path, default=None, help="folder of real tracks to scan")
    parser.add_argument("--scan-into", type=int, default=100_000,
                        help="size of the index the second scan goes into (built if missing)")
    parser.add_argument("--skip-search", action="store_true", help="only the scan memory runs")
    parser.add_argument("--work", type=Path, default=None, help="where the indexes go (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the built indexes")
    parser.add_argument("--out", type=Path, default=None, help="append the JSON lines to this file")
    parser.add_argument("--step", nargs="+", help=argparse.SUPPRESS)  # internal: one step, fresh process
    args = parser.parse_args()

    if args.step:
        kind, rest = args.step[0], args.step[1:]
        if kind == "build":
            print(json.dumps(build(Path(rest[0]), int(rest[1]))))
        elif kind == "measure":
            print(json.dumps(measure(Path(rest[0]), int(rest[1]), int(rest[2]), int(rest[3]))))
        else:
            print(json.dumps(scan_memory(Path(rest[0]), Path(rest[1]), rest[2], int(rest[3]))))
        return

    work = args.work or Path(tempfile.mkdtemp(prefix="bench_library_"))
    work.mkdir(parents=True, exist_ok=True)

    def index(n: int) -> Path:
        path = work / f"library-{n}.sqlite3"
        if not path.exists():
            emit(child(["--step", "build", str(path), str(n)]), args.out)
        return path

    try:
        for n in [] if args.skip_search else args.sizes:
            emit(child(["--step", "measure", str(index(n)), str(n), str(args.repeats), str(args.threads)]),
                 args.out)
        if args.scan is not None:
            empty = work / "scan-empty.sqlite3"
            for leftover in work.glob("scan-*.sqlite3*"):  # an earlier, interrupted run's
                leftover.unlink()
            emit(child(["--step", "scan", str(empty), str(args.scan), "empty", "0"]), args.out)
            n = args.scan_into
            copy = work / f"scan-into-{n}.sqlite3"
            shutil.copyfile(index(n), copy)
            emit(child(["--step", "scan", str(copy), str(args.scan), f"{n}-track", str(n)]), args.out)
            for path in (empty, copy):
                for leftover in path.parent.glob(path.name + "*"):
                    leftover.unlink()
    finally:
        if not args.keep and args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
