"""Benchmark: time to first progress of a scan (issue 17, target: within 1 s of starting).

Not part of the test run. Writes `--files` short generated tracks (tests/audio_factory.py), then
runs `zsl-tagger scan FOLDER --db NEW_INDEX` in a fresh process, `--repeats` times, and reports
from the moment the process was started: when the first progress line appeared on stderr, when
the scan finished, and the scan's own line. With `--before CHECKOUT` the same runs are made for
another checkout (e.g. `git worktree add /tmp/zsl-before HEAD~1`), interleaved, for the ratio:

    python tests/benchmarks/bench_scan_start.py --files 9 --repeats 3 --before /tmp/zsl-before \\
        --out tests/benchmarks/results/scan-start.json

The CLI's progress printer writes its first line at the first progress callback when stderr is
not a terminal (then every 10 s), so the first line's time is the first callback's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))


def make_files(folder: Path, n: int, seconds: float) -> None:
    import audio_factory

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        path = folder / f"track{i:02d}.{'flac' if i % 2 else 'mp3'}"
        if not path.exists():
            audio_factory.write_tone(path, seconds, 22050, freqs=(220.0 * (1 + i % 5),))


def one_run(checkout: Path, folder: Path, work: Path) -> dict:
    db = work / f"index-{time.monotonic_ns()}.sqlite3"
    env = dict(os.environ, PYTHONPATH=str(checkout))
    cmd = [
        sys.executable,
        "-c",
        "import sys; from app.cli import main; sys.exit(main())",
        "scan",
        str(folder),
        "--db",
        str(db),
    ]
    start = time.monotonic()
    proc = subprocess.Popen(
        cmd, cwd=checkout, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    lines: list[tuple[float, str]] = []
    stdout, stderr = proc.stdout, proc.stderr
    assert stdout is not None and stderr is not None  # both piped above

    def read_err() -> None:
        for line in stderr:
            lines.append((time.monotonic() - start, line.rstrip()))

    reader = threading.Thread(target=read_err)
    reader.start()
    out = stdout.read()
    proc.wait()
    reader.join()
    total = time.monotonic() - start
    progress = [(t, line) for t, line in lines if line.startswith("scanning")]
    for leftover in work.glob(db.name + "*"):
        leftover.unlink()
    return {
        "first_progress_s": round(progress[0][0], 2) if progress else None,
        "first_line": progress[0][1] if progress else None,
        "finished_s": round(total, 2),
        "rc": proc.returncode,
        "summary": out.strip().splitlines()[:1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=9)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--before", type=Path, default=None, help="another checkout, measured interleaved"
    )
    parser.add_argument("--corpus", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="scan_start_"))
    folder = args.corpus or work / "music"
    make_files(folder, args.files, args.seconds)
    checkouts = {"after": ROOT} | ({"before": args.before} if args.before else {})
    runs: dict[str, list[dict]] = {name: [] for name in checkouts}
    for _ in range(args.repeats):
        for name, checkout in checkouts.items():
            record = one_run(checkout, folder, work)
            runs[name].append(record)
            print(json.dumps({"checkout": name, **record}), flush=True)

    def median(values: list[float]) -> float:
        values = sorted(values)
        return values[len(values) // 2]

    summary = {
        "bench": "scan_start",
        "files": args.files,
        "seconds_each": args.seconds,
        "repeats": args.repeats,
        "load_avg": round(os.getloadavg()[0], 2),
    }
    for name, records in runs.items():
        summary[f"{name}_first_progress_s"] = median(
            [r["first_progress_s"] or 1e9 for r in records]
        )
        summary[f"{name}_finished_s"] = median([r["finished_s"] for r in records])
    if "before" in runs:
        summary["first_progress_ratio"] = round(
            summary["before_first_progress_s"] / max(summary["after_first_progress_s"], 1e-3), 1
        )
    print(json.dumps(summary), flush=True)
    if args.out is not None:
        args.out.write_text(json.dumps({"summary": summary, "runs": runs}, indent=1) + "\n")


if __name__ == "__main__":
    main()
