"""Benchmark: a catalogue analysed as `zsl-core embed` shards, then imported into a library (issue 7).

Not part of the test run. On a folder of full-length tracks (make one with
`bench_scan.py --make 24 --corpus DIR`), in one run:

1. `zsl-core embed --shard i/n --windows 8` for every shard, one after the other (what each job of a
   job runner does, here on this machine): tracks per second per job;
2. `zsl-tagger import` of the parts into a fresh library, with the files hard-linked `--copies`
   times (same size and mtime, so every copy is trusted) to time the import at a larger size:
   tracks per second and the peak memory of the process;
3. with `--scan`, `Library.scan` of the same folder into another fresh library, for the ratio.

    python tests/benchmarks/bench_import.py --corpus /tmp/bench_tracks --shards 2 --copies 40 --scan
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

from app.library import Library
from zsl_core import inference, model_spec
from zsl_core.index import TrackIndex

AUDIO_EXTENSIONS = {".mp3", ".flac", ".ogg", ".opus", ".wav", ".m4a"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--windows", type=int, default=8)
    parser.add_argument(
        "--copies", type=int, default=20, help="hard-linked copies of the corpus to import"
    )
    parser.add_argument("--scan", action="store_true", help="also time Library.scan of the corpus")
    args = parser.parse_args()
    files = sorted(str(p) for p in args.corpus.rglob("*") if p.suffix in AUDIO_EXTENSIONS)
    work = Path(tempfile.mkdtemp(prefix="bench_import_"))
    result: dict = {"tracks": len(files), "shards": args.shards, "windows": args.windows}

    model_spec.load_tagger("default", device="cpu")  # load once, outside the timings
    parts, started = [], time.perf_counter()
    for i in range(args.shards):
        part = work / f"part-{i}.npz"
        inference.embed_to_index(
            files,
            out=part,
            shard=f"{i}/{args.shards}",
            n_windows=args.windows,
            progress=False,
            device="cpu",
        )
        parts.append(part)
    seconds = time.perf_counter() - started
    result["embed_tracks_per_s_one_job"] = round(len(files) / seconds, 2)

    # Hard links: the same inode, so size and mtime match the rows; each copy a distinct track.
    big = []
    merged = TrackIndex.merge([TrackIndex.load(p) for p in parts])
    for c in range(args.copies):
        folder = work / "library" / f"copy{c:03d}"
        folder.mkdir(parents=True)
        paths = []
        for path in merged.paths:
            link = folder / Path(path).name
            os.link(path, link)
            paths.append(str(link))
        copy = TrackIndex(
            [f"{c}:{i}" for i in merged.ids],
            paths,
            merged.embeddings,
            merged.model,
            seen_scores=merged.seen_scores,
            sizes=merged.sizes,
            mtimes_ns=merged.mtimes_ns,
            info=merged.info,
        )
        copy.save(work / f"copy-{c:03d}.npz")
        big.append(work / f"copy-{c:03d}.npz")
    with Library(work / "imported.sqlite3", device="cpu") as library:
        _ = library.tagger  # loaded before timing, as in the app
        started = time.perf_counter()
        summary = library.import_indexes(big)
        seconds = time.perf_counter() - started
        assert summary.skipped == 0 and not summary.bad_parts, summary
        result["imported"] = summary.imported
        result["import_tracks_per_s"] = round(summary.imported / seconds, 1)
        started = time.perf_counter()
        library.search("calm piano", top_k=20)
        result["first_search_ms"] = round((time.perf_counter() - started) * 1000, 1)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)

    if args.scan:
        with Library(work / "scanned.sqlite3", device="cpu") as library:
            _ = library.tagger  # loaded before timing
            started = time.perf_counter()
            scanned = library.scan([args.corpus], n_windows=args.windows)
            seconds = time.perf_counter() - started
            result["scan_tracks_per_s"] = round(scanned.scanned / seconds, 2)
            result["import_vs_scan"] = round(
                result["import_tracks_per_s"] / result["scan_tracks_per_s"], 1
            )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
