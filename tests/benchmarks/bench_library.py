"""Benchmark: library search latency and memory against library size, and scan memory (issues 7, 17).

Not part of the test run. Builds a real index (`app.db`, the scanner's rows) of N tracks without
audio, then measures each size in a fresh process, so the peak RSS is that size's alone:

    python tests/benchmarks/bench_library.py --sizes 100000 1000000 --work /tmp/zsl-bench-lib --keep \
        --out tests/benchmarks/results/library-seen.jsonl
    python tests/benchmarks/bench_library.py --skip-search --scan /tmp/bl   # a real scan's memory
    python tests/benchmarks/bench_library.py --threads 1 ...   # search on one torch thread

`--work DIR --keep` leaves the built indexes in DIR, and a later run with the same DIR reuses
them (a 1M-track build takes a few minutes on 2 cores).

What is measured per size: SQLite bytes per track, open, model load, first search (cache
build), then p50/p95 of `Library.search` (20 hits) for four kinds of query, each run
`--repeats` x 10 times:
  - `seen`: one seen label ("metal", "piano", ...: one column of the scores);
  - `new`: one word of the precomputed vocabulary table ("orchestral": its 5 nearest labels);
  - `typed`: a phrase with a word the table lacks ("music for a rainy afternoon"), the live
    encoder's memory cleared before each search, so every search encodes it (MiniLM);
  - `three`: a three-term phrase ("calm piano jazz");
and the encoder's own time for that word, cache bytes per track, peak RSS.

`--scan DIR` scans a folder of real tracks (e.g. `zsl-core synth --out /tmp/bl --tracks 30
--seconds 180`) with `Library.scan`, once into an empty index and once into a copy of the `--scan-into`
(default 100,000-track) index, each in a fresh process, and reports the peak RSS of the main process and of the
largest decode worker (RUSAGE_CHILDREN), and the peak proportional set size (PSS) of the whole
process tree sampled every 0.2 s (shared library pages counted once, unlike main + workers x
RSS), so one can see whether scan memory grows with the library.

How the rows are made: exactly the columns `app.scanner` writes for a scanned track with the
built-in model (tracks: path as bytes, display path, size, mtime, fingerprint, tags, duration;
results: an empty embedding blob and the 71 seen-label probabilities as float16, n_windows,
fingerprint). The probabilities look like musicnn's (`fake_seen_scores`): most labels near 0
(logit-normal around 0.01), 2-6 active labels per track drawn with a skewed popularity (rock and
electronic common, harp rare) at 0.05-0.95, "spoken word" high on 1 % of tracks; so a seen word
passes the relevance floor on a few per cent of tracks, as on real libraries.
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

import numpy as np  # noqa: E402

import app  # noqa: E402,F401  before numpy, as in the app: it limits OpenBLAS to one thread (app/__init__.py)

QUERY_KINDS = {
    "seen": [
        "metal",
        "piano",
        "rock",
        "jazz",
        "sad",
        "electronic",
        "guitar",
        "ambient",
        "female vocals",
        "dance",
    ],
    "new": [
        "orchestral",
        "melancholic",
        "thrash metal",
        "lullaby",
        "reggae",
        "synthwave",
        "bluegrass",
        "cinematic",
        "lo-fi",
        "gospel",
    ],
    "typed": [
        "music for a rainy afternoon",
        "songs for a lonely evening",
        "tunes for a foggy morning",
        "music for a windy night",
        "music for a quiet breakfast",
        "music for a wet evening",
        "songs for a sad afternoon",
        "music for a calm breakfast",
        "music for a happy evening",
        "music for a dark afternoon",
    ],  # one word each that the table lacks (encoded live)
    "three": [
        "calm piano jazz",
        "sad acoustic guitar",
        "dark ambient electronic",
        "happy pop dance",
        "loud fast metal",
        "soft female vocals",
        "slow sad piano",
        "funky electronic beats",
        "quiet classical strings",
        "mellow indie folk",
    ],
}
GENRES = ["rock", "pop", "jazz", "classical", "electronic", "folk", "hip hop", "metal", ""]
BATCH = 10_000


def fake_seen_scores(rng: np.random.Generator, n: int, n_labels: int = 71) -> np.ndarray:
    """[n, n_labels] float16 probabilities shaped like musicnn's outputs (see the docstring):
    the last label is "spoken word"."""
    music = n_labels - 1
    popularity = 1.0 / (1.0 + np.arange(music)) ** 0.9  # label i's share of "active" draws
    logits = rng.normal(-4.6, 1.1, (n, n_labels))
    keys = np.log(popularity) + rng.gumbel(size=(n, music))  # Gumbel top-k: draws by popularity
    top = np.argpartition(-keys, 6, axis=1)[:, :6]
    count = rng.integers(2, 7, n)
    active = np.arange(6)[None, :] < count[:, None]
    rows = np.repeat(np.arange(n), 6).reshape(n, 6)
    logits[rows[active], top[active]] = rng.normal(0.4, 1.6, int(active.sum()))
    logits[:, music] = rng.normal(-6.5, 1.0, n)
    speech = rng.random(n) < 0.01
    logits[speech, music] = rng.normal(2.0, 1.0, int(speech.sum()))
    return (1.0 / (1.0 + np.exp(-logits))).astype(np.float16)


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


def build(db_path: Path, n: int, seed: int = 0) -> dict:
    """An index of n analysed tracks, written through app.db with the scanner's columns."""
    from app import db
    from app.library import model_key
    from zsl_core.default_model import load_default_tagger

    labels = list(load_default_tagger("cpu").seen_labels)  # 70 musicnn labels + "spoken word"
    start = time.perf_counter()
    conn = db.connect(db_path)
    model = db.model_id(conn, model_key("default"), 0, labels)  # Library's model_key("default")
    rng = np.random.default_rng(seed)
    now = time.time()
    for first in range(0, n, BATCH):
        count = min(BATCH, n - first)
        scores = fake_seen_scores(rng, count, len(labels))
        tracks, results = [], []
        for j in range(count):
            i = first + j
            artist, album = f"Artist {i // 120:05d}", f"Album {i // 12:06d}"
            path = f"/home/user/Music/{artist}/{album}/{i % 12 + 1:02d} Track {i:07d}.flac"
            fingerprint = "flac:" + f"{rng.integers(2**63):016x}" * 4
            tracks.append(
                (
                    db.path_key(path),
                    db.display(path),
                    30_000_000 + i,
                    1_700_000_000_000_000_000 + i,
                    "ok",
                    None,
                    now,
                    None,
                    fingerprint,
                    f"Track {i:07d}",
                    artist,
                    album,
                    GENRES[i % len(GENRES)] or None,
                    None,
                    180.0 + i % 240,
                    i % 3 == 0,
                    now,
                )
            )
            results.append((first + j + 1, model, b"", db.to_blob(scores[j]), 8, fingerprint, now))
        with db.transaction(conn):
            conn.executemany(
                "INSERT INTO tracks (path, display_path, size, mtime_ns, status, error, scanned_at, gone_at,"
                " fingerprint, title, artist, album, genre, mood, duration, has_cover, added_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                tracks,
            )
            conn.executemany(
                "INSERT INTO results (track_id, model_id, embedding, seen_scores, n_windows, fingerprint,"
                " analysed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                results,
            )
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    size = db_path.stat().st_size
    return {
        "bench": "library_build",
        "tracks": n,
        "seconds": round(time.perf_counter() - start, 1),
        "db_mb": round(size / 2**20, 1),
        "db_bytes_per_track": round(size / n),
        "embedding_dim": 0,
        "seen_labels": len(labels),
    }


def measure(db_path: Path, n: int, repeats: int, threads: int = 0) -> dict:
    """Open, first search, later searches by kind of query, memory: in this (fresh) process."""
    import torch

    if threads:
        torch.set_num_threads(threads)

    from app.library import Library

    base = rss_mb()
    start = time.perf_counter()
    library = Library(db_path=db_path, device="cpu")
    open_ms = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    tagger = library.tagger  # the model loads on first use; timed apart from the search
    model_s = time.perf_counter() - start
    after_model = rss_mb()

    start = time.perf_counter()
    library.search("rock", top_k=20)  # builds the matrix cache and the vocabulary's phrases
    first_ms = (time.perf_counter() - start) * 1000
    after_first = rss_mb()
    library._rank_cache = None  # force one more rebuild to time the cache alone
    start = time.perf_counter()
    _, (ids, seen, _) = library._ranking_matrix()
    rebuild_ms = (time.perf_counter() - start) * 1000
    from zsl_core.default_model import DefaultTagger
    from zsl_core.word_space import SentenceSpace

    assert isinstance(tagger, DefaultTagger), tagger  # the built-in model and its MiniLM space
    space = tagger.vectors
    assert isinstance(space, SentenceSpace), space
    space.encode(["warm up"])  # the encoder loads on first use (timed in bench_text_encoder.py)

    def one(kind: str, query: str) -> float:
        if kind == "typed":
            space._memo.clear()  # encode the phrase's new word live, every time
        start = time.perf_counter()
        result = library.search(query, top_k=20)
        elapsed = (time.perf_counter() - start) * 1000
        assert result.parsed is not None and result.parsed.terms, (query, result.message)
        assert not result.missing_words, (query, result.parsed)
        return elapsed

    timings: dict[str, list[float]] = {kind: [] for kind in QUERY_KINDS}
    hits: dict[str, list[int]] = {kind: [] for kind in QUERY_KINDS}
    for _ in range(repeats):
        for position in range(10):  # kinds interleaved, so load changes hit all of them alike
            for kind, queries in QUERY_KINDS.items():
                timings[kind].append(one(kind, queries[position]))
    for kind, queries in QUERY_KINDS.items():
        hits[kind] = [len(library.search(q, top_k=20).hits) for q in queries]
    live = [word for word in ("afternoon", "evening", "morning") if word not in space.table]
    encode = []
    for _ in range(repeats * 5):
        start = time.perf_counter()
        space.encode(live[:1])
        encode.append((time.perf_counter() - start) * 1000)
    matrix32 = library._search_matrix()[
        1
    ]  # what similarity and the tag prior read, made on request

    # The ranking step alone, in this run: rank_tracks on the float16 column-major cache (what
    # search does now) vs the previous step (score_words' full float32 product over the row-major
    # float32 cache, log/exp of every row, argpartition), same parsed queries.
    from zsl_core.search import parse_query, rank_tracks

    phrases = library._phrases()
    rank_now: dict[str, list[float]] = {kind: [] for kind in QUERY_KINDS}
    rank_before: dict[str, list[float]] = {kind: [] for kind in QUERY_KINDS}
    for _ in range(repeats):
        for position in range(10):
            for kind, queries in QUERY_KINDS.items():
                parsed = parse_query(queries[position], tagger, phrases)
                terms = list(parsed.terms)
                start = time.perf_counter()
                rank_tracks(tagger, seen, None, parsed, top_k=20)
                rank_now[kind].append((time.perf_counter() - start) * 1000)
                start = time.perf_counter()
                _previous_rank(tagger, matrix32, terms)
                rank_before[kind].append((time.perf_counter() - start) * 1000)

    start = time.perf_counter()
    rows = library.tracks()  # what the GUI loads into its table on opening
    tracks_ms = (time.perf_counter() - start) * 1000
    after_tracks = rss_mb()
    del rows
    library.close()

    def pct(values: list[float], q: float) -> float:
        return round(float(np.percentile(values, q)), 2)

    record = {
        "bench": "library_search_seen",
        "tracks": n,
        "threads": torch.get_num_threads(),
        "open_ms": round(open_ms, 1),
        "model_load_s": round(model_s, 2),
        "first_search_ms": round(first_ms, 1),
        "cache_build_ms": round(rebuild_ms, 1),
    }
    for kind in QUERY_KINDS:
        record[f"{kind}_p50_ms"] = pct(timings[kind], 50)
        record[f"{kind}_p95_ms"] = pct(timings[kind], 95)
        record[f"{kind}_hits_min"] = min(hits[kind])
    for kind in QUERY_KINDS:
        record[f"{kind}_rank_p50_ms"] = pct(rank_now[kind], 50)
        record[f"{kind}_rank_previous_p50_ms"] = pct(rank_before[kind], 50)
        record[f"{kind}_rank_speedup"] = round(
            pct(rank_before[kind], 50) / max(pct(rank_now[kind], 50), 1e-3), 1
        )
    record.update(
        {
            "queries_per_kind": len(timings["seen"]),
            "live_encode_p50_ms": pct(encode, 50),
            "rank_cache_bytes_per_track": round((seen.nbytes + ids.nbytes) / n, 1),
            "float32_matrix_bytes_per_track": round(matrix32.nbytes / n, 1),
            "rss_start_mb": round(base),
            "rss_model_mb": round(after_model),
            "rss_after_search_mb": round(after_first),
            "search_mem_per_track_bytes": round((after_first - after_model) * 2**20 / n),
            "tracks_list_ms": round(tracks_ms),
            "tracks_list_mb": round(after_tracks - after_first),
            "peak_rss_mb": round(peak_mb()),
            "load_avg": round(os.getloadavg()[0], 2),
            "git": _git_head(),
        }
    )
    return record


def _previous_rank(tagger, seen32: np.ndarray, terms: list[str], top_k: int = 20) -> np.ndarray:
    """`rank_tracks` as of b025227 (before the column-major cache): the tagger's full product,
    the geometric mean of every row, the floor, argpartition."""
    per_term, _, _, _ = tagger.score_words(None, seen32, terms)
    per_term = np.asarray(per_term, np.float32)
    combined = np.exp(np.log(np.clip(per_term, 1e-4, 1.0)).mean(axis=1))
    passing = np.flatnonzero(combined >= 0.1)
    if len(passing) > top_k:
        passing = passing[np.argpartition(-combined[passing], top_k - 1)[:top_k]]
    return passing[np.argsort(-combined[passing], kind="stable")]


def _git_head() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "zsl_core", "app"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        return out + ("+changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


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
    _ = library.tagger  # the model is loaded before the first measurement
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
    return {
        "bench": "scan_memory",
        "index": label,
        "indexed_before": indexed,
        "scanned": summary.scanned,
        "failed": len(summary.failed),
        "seconds": round(seconds, 1),
        "tracks_per_s": round(summary.scanned / seconds, 2),
        "workers": workers,
        "rss_before_scan_mb": round(before),
        "peak_rss_main_mb": round(main),
        "peak_rss_largest_worker_mb": round(child),
        "peak_total_bound_mb": round(main + workers * child),
        "peak_pss_tree_mb": round(peak[0]),
        "pss_main_at_peak_mb": round(peak[1]),
        "pss_children_at_peak_mb": round(peak[2]),
        "processes_in_tree": peak[3],
    }


def child(args: list[str]) -> dict:
    """Run one step in a fresh interpreter; its last stdout line is the JSON result."""
    out = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True
    )
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
    parser.add_argument(
        "--threads", type=int, default=0, help="torch threads for search (0: torch's default)"
    )
    parser.add_argument("--scan", type=Path, default=None, help="folder of real tracks to scan")
    parser.add_argument(
        "--scan-into",
        type=int,
        default=100_000,
        help="size of the index the second scan goes into (built if missing)",
    )
    parser.add_argument("--skip-search", action="store_true", help="only the scan memory runs")
    parser.add_argument(
        "--work", type=Path, default=None, help="where the indexes go (default: a temp dir)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the built indexes")
    parser.add_argument("--out", type=Path, default=None, help="append the JSON lines to this file")
    parser.add_argument(
        "--step", nargs="+", help=argparse.SUPPRESS
    )  # internal: one step, fresh process
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
            emit(
                child(
                    [
                        "--step",
                        "measure",
                        str(index(n)),
                        str(n),
                        str(args.repeats),
                        str(args.threads),
                    ]
                ),
                args.out,
            )
        if args.scan is not None:
            empty = work / "scan-empty.sqlite3"
            for leftover in work.glob("scan-*.sqlite3*"):  # an earlier, interrupted run's
                leftover.unlink()
            emit(child(["--step", "scan", str(empty), str(args.scan), "empty", "0"]), args.out)
            n = args.scan_into
            copy = work / f"scan-into-{n}.sqlite3"
            shutil.copyfile(index(n), copy)
            emit(
                child(["--step", "scan", str(copy), str(args.scan), f"{n}-track", str(n)]), args.out
            )
            for path in (empty, copy):
                for leftover in path.parent.glob(path.name + "*"):
                    leftover.unlink()
    finally:
        if not args.keep and args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
