"""Draw the performance figures (SVG, written by hand: no plotting library) from the benchmarks' JSON.

Not part of the test run. Reads what the benchmarks printed, saved under tests/benchmarks/results/:

* `library.jsonl` (bench_library.py --out): search latency and peak memory against library size,
  and the scan's peak memory (into an empty index and into a large one); `library-1thread.jsonl`
  the same with `--threads 1`;
* `search.jsonl` (bench_search.py > search.jsonl): the rank step alone, against library size;
* `scan.json` (bench_scan.py > scan.json): tracks per second against windows per track.

and writes docs/figures/scaling.svg (search latency | scan throughput) and
docs/figures/perf-memory.svg (peak RSS against the 2 GB budget):

    python tests/benchmarks/plot_scaling.py [--results tests/benchmarks/results] [--figures docs/figures]
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from html import escape
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#7f7f7f"]
W, H = 460, 420  # one panel
LEFT, RIGHT, TOP, BOTTOM = 62, 16, 40, 150  # the legend goes under the x axis


def read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                print(f"{path}: skipped a line that is not JSON")
    return out


def latest_by(rows: list[dict], key: str) -> list[dict]:
    """The last record for each value of `key` (a later run replaces an earlier one), sorted."""
    chosen = {r[key]: r for r in rows if key in r}
    return [chosen[k] for k in sorted(chosen)]


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    step = 10 ** math.floor(math.log10(max(high - low, 1e-9) / count))
    for mult in (1, 2, 5, 10):
        if (high - low) / (step * mult) <= count:
            step *= mult
            break
    first = math.floor(low / step) * step
    return [
        first + i * step
        for i in range(int((high - first) / step) + 2)
        if first + i * step <= high + 1e-9
    ]


def label(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 1000:
        return f"{value / 1000:g}k"
    return f"{value:g}"


def panel(
    x0: float,
    title: str,
    xlabel: str,
    ylabel: str,
    series: list[tuple[str, list[tuple[float, float]]]],
    xlog: bool,
    hlines: Sequence[tuple[str, float]] = (),
    y_max: float | None = None,
) -> list[str]:
    """One line chart at horizontal offset x0: polylines with dots, axes, ticks, legend."""
    points = [p for _, pts in series for p in pts]
    if not points:
        return [
            f'<text x="{x0 + W / 2}" y="{H / 2}" text-anchor="middle">{escape(title)}: no data</text>'
        ]
    xs = [p[0] for p in points]
    top = max([p[1] for p in points] + [v for _, v in hlines]) * 1.1 if y_max is None else y_max
    if xlog:
        lo, hi = math.log10(min(xs)) - 0.15, math.log10(max(xs)) + 0.15
        xticks = [10**k for k in range(math.ceil(lo), math.floor(hi) + 1)]
        fx = lambda x: math.log10(x)  # noqa: E731
    else:
        span = max(xs) - min(xs) or 1
        lo, hi = min(xs) - span * 0.05, max(xs) + span * 0.05
        xticks = sorted(set(xs))
        fx = lambda x: x  # noqa: E731
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM
    px = lambda x: x0 + LEFT + (fx(x) - lo) / (hi - lo) * plot_w  # noqa: E731
    py = lambda y: TOP + plot_h - y / top * plot_h  # noqa: E731
    out = [
        f'<text x="{x0 + W / 2}" y="20" text-anchor="middle" font-weight="bold">{escape(title)}</text>',
        f'<rect x="{x0 + LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#333"/>',
    ]
    for y in nice_ticks(0, top):
        out.append(
            f'<line x1="{x0 + LEFT}" x2="{x0 + LEFT + plot_w}" y1="{py(y):.1f}" y2="{py(y):.1f}" stroke="#ddd"/>'
        )
        out.append(
            f'<text x="{x0 + LEFT - 6}" y="{py(y) + 4:.1f}" text-anchor="end">{label(y)}</text>'
        )
    for x in xticks:
        out.append(
            f'<line x1="{px(x):.1f}" x2="{px(x):.1f}" y1="{TOP + plot_h}" y2="{TOP + plot_h + 5}" stroke="#333"/>'
        )
        out.append(
            f'<text x="{px(x):.1f}" y="{TOP + plot_h + 18}" text-anchor="middle">{label(x)}</text>'
        )
    out.append(
        f'<text x="{x0 + LEFT + plot_w / 2}" y="{TOP + plot_h + 36}" text-anchor="middle">'
        f"{escape(xlabel)}</text>"
    )
    out.append(
        f'<text transform="translate({x0 + 16},{TOP + plot_h / 2}) rotate(-90)" text-anchor="middle">'
        f"{escape(ylabel)}</text>"
    )
    for name, value in hlines:
        out.append(
            f'<line x1="{x0 + LEFT}" x2="{x0 + LEFT + plot_w}" y1="{py(value):.1f}" y2="{py(value):.1f}"'
            f' stroke="#000" stroke-dasharray="5,4"/>'
        )
        out.append(f'<text x="{x0 + LEFT + 4}" y="{py(value) - 4:.1f}">{escape(name)}</text>')
    for i, (name, pts) in enumerate(series):
        colour = COLOURS[i % len(COLOURS)]
        pts = sorted(pts)
        coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
        out.append(f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2"/>')
        out += [
            f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{colour}"/>' for x, y in pts
        ]
        ly = TOP + plot_h + 56 + 15 * i
        out.append(
            f'<line x1="{x0 + LEFT + 8}" x2="{x0 + LEFT + 26}" y1="{ly - 4}" y2="{ly - 4}" stroke="{colour}"'
            f' stroke-width="2"/>'
        )
        out.append(f'<text x="{x0 + LEFT + 30}" y="{ly}">{escape(name)}</text>')
    return out


def svg(width: float, height: float, body: list[str], note: str = "") -> str:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">'
    )
    foot = (
        f'<text x="8" y="{height - 4}" fill="#666" font-size="9">{escape(note)}</text>'
        if note
        else ""
    )
    return (
        "\n".join(
            [head, f'<rect width="{width}" height="{height}" fill="#fff"/>', *body, foot, "</svg>"]
        )
        + "\n"
    )


def scaling_figure(results: Path) -> str:
    library = latest_by(
        [r for r in read_jsonl(results / "library.jsonl") if r.get("bench") == "library_search"],
        "tracks",
    )
    search = latest_by(read_jsonl(results / "search.jsonl"), "tracks")
    series = []
    seen_lib = latest_by(
        [
            r
            for r in read_jsonl(results / "library-seen.jsonl")
            if r.get("bench") == "library_search_seen"
        ],
        "tracks",
    )
    seen_rank = [r for r in read_jsonl(results / "search-seen.jsonl") if r.get("query") == "seen"]
    if seen_lib:  # the seen-score storage (issue 17): these replace the embedding-matrix series
        library, search = [], []
        for kind, name in (
            ("seen", "one seen word"),
            ("new", "one new word"),
            ("three", "3-term phrase"),
            ("typed", "typed phrase incl. live encoding"),
        ):
            series.append(
                (f"Library.search, {name}", [(r["tracks"], r[f"{kind}_p50_ms"]) for r in seen_lib])
            )
        series.append(
            (
                "previous ranking step, one seen word",
                [(r["tracks"], r["seen_rank_previous_p50_ms"]) for r in seen_lib],
            )
        )
    for method, name in (
        ("f32_rows_matmul", "bench_search: float32 rows, matmul"),
        ("faiss_flat_ip", "bench_search: faiss flat IP"),
    ):
        points = sorted((r["tracks"], r["p50_ms"]) for r in seen_rank if r["method"] == method)
        if points:
            series.append((name, points))
    if library:
        series.append(
            (
                "Library.search, 20 hits, 2 threads",
                [(r["tracks"], r["search20_p50_ms"]) for r in library],
            )
        )
        series.append(
            (
                "Library.search, 50 hits (GUI), 2 threads",
                [(r["tracks"], r["search50_p50_ms"]) for r in library],
            )
        )
        series.append(
            ("rank() alone, 2 threads", [(r["tracks"], r["rank_p50_ms"]) for r in library])
        )
    one = (
        []
        if seen_lib
        else latest_by(
            [
                r
                for r in read_jsonl(results / "library-1thread.jsonl")
                if r.get("bench") == "library_search"
            ],
            "tracks",
        )
    )
    if one:
        series.append(
            (
                "Library.search, 50 hits, 1 thread",
                [(r["tracks"], r["search50_p50_ms"]) for r in one],
            )
        )
        series.append(("rank() alone, 1 thread", [(r["tracks"], r["rank_p50_ms"]) for r in one]))
    if search:
        series.append(("rank(), bench_search.py", [(r["tracks"], r["p50_ms"]) for r in search]))
    left = panel(
        0,
        "Search latency (p50, CPU)",
        "indexed tracks",
        "ms per query",
        series,
        True,
        [("target 20 ms", 20.0)],
    )
    scan_series: list[tuple[str, list[tuple[float, float]]]] = []
    lines: list[tuple[str, float]] = []
    scan_path = results / "scan.json"
    try:
        scan = json.loads(scan_path.read_text()) if scan_path.exists() else {}
    except json.JSONDecodeError:
        print(f"{scan_path}: not JSON (an interrupted bench_scan.py run?), scan panel left empty")
        scan = {}
    if scan:
        windows = sorted(int(k.split("_")[1]) for k in scan if k.startswith("windows_"))
        scan_series.append(
            (
                "windowed scan (decode + model)",
                [(w, scan[f"windows_{w}"]["tracks_per_s"]) for w in windows],
            )
        )
        scan_series.append(
            (
                "model only, at full speed",
                [(w, scan[f"windows_{w}"]["compute_floor_tracks_per_s"]) for w in windows],
            )
        )
        lines.append(("whole-track decode", scan["naive_full_track"]["tracks_per_s"]))
    if scan.get("library_scan"):  # the end-to-end scan measured in the same run as the windows
        scan_series.append(
            (
                "Library.scan (8 windows, 2 workers, SQLite)",
                [
                    (
                        8,
                        scan["library_scan_by_workers_next_run"]["2"]
                        if "library_scan_by_workers_next_run" in scan
                        else scan["library_scan"]["tracks_per_s"],
                    )
                ],
            )
        )
    memory_rows = [] if scan.get("library_scan") else read_jsonl(results / "library.jsonl")
    for r in [r for r in memory_rows if r.get("bench") == "scan_memory"][-2:]:
        if r.get("scanned"):  # the scanner's default: 8 windows
            where = (
                r["index"] if not r.get("indexed_before") else f"{label(r['indexed_before'])}-track"
            )
            scan_series.append(
                (
                    f"Library.scan (8 windows), {r['workers']} workers, into {where} index",
                    [(8, r["tracks_per_s"])],
                )
            )
    right = panel(
        W,
        "Scan throughput",
        "3-s windows per track",
        "tracks per second",
        scan_series,
        False,
        lines,
    )
    return svg(
        2 * W,
        H + 14,
        left + right,
        "tests/benchmarks: bench_library.py, bench_search.py, bench_scan.py; shared 2-core CPU, noisy",
    )


def memory_figure(results: Path) -> str:
    """Horizontal bars: peak RSS of each measured process against the 2 GB budget."""
    rows = read_jsonl(results / "library.jsonl")
    bars: list[tuple[str, float]] = []
    for r in latest_by([r for r in rows if r.get("bench") == "library_search"], "tracks"):
        bars.append(
            (f"{label(r['tracks'])} tracks: model + search cache", r["rss_after_search_mb"])
        )
        bars.append((f"{label(r['tracks'])} tracks: + Library.tracks() (peak)", r["peak_rss_mb"]))
    for r in [r for r in rows if r.get("bench") == "scan_memory"][-2:]:
        where = r["index"] if not r.get("indexed_before") else f"{label(r['indexed_before'])}-track"
        name = f"scan {r['scanned']} tracks into {where} index"
        bars.append((f"{name}: main (RSS)", r["peak_rss_main_mb"]))
        if "peak_pss_tree_mb" in r:
            bars.append((f"{name}: main + {r['workers']} workers (PSS)", r["peak_pss_tree_mb"]))
        else:
            bars.append(
                (f"{name}: main + {r['workers']} workers (RSS sum)", r["peak_total_bound_mb"])
            )
    for r in [r for r in read_jsonl(results / "gui.jsonl") if r.get("bench") == "gui_table"][-1:]:
        bars.append((f"GUI, {label(r['tracks'])} tracks", r["peak_rss_mb"]))
    limit = 2048.0
    top = max([v for _, v in bars] + [limit]) * 1.05
    label_w, bar_h, width = 360, 18, 820
    plot_w = width - label_w - 30
    height = 60 + len(bars) * (bar_h + 8)
    out = [
        '<text x="10" y="20" font-weight="bold">Peak resident memory (MB) against the 2 GB budget</text>'
    ]
    for i, (name, value) in enumerate(bars):
        y = 36 + i * (bar_h + 8)
        w = value / top * plot_w
        out.append(f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end">{escape(name)}</text>')
        out.append(
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{COLOURS[0]}"/>'
        )
        out.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 13}">{value:.0f}</text>')
    x = label_w + limit / top * plot_w
    out.append(
        f'<line x1="{x:.1f}" x2="{x:.1f}" y1="30" y2="{height - 20}" stroke="#d62728" stroke-dasharray="5,4"/>'
    )
    out.append(
        f'<text x="{x - 4:.1f}" y="{height - 22}" text-anchor="end" fill="#d62728">2 GB</text>'
    )
    return svg(
        width,
        height,
        out,
        "RSS: ru_maxrss; PSS: the scan's whole process tree, sampled every 0.2 s (shared pages counted once)",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=ROOT / "tests" / "benchmarks" / "results")
    parser.add_argument("--figures", type=Path, default=ROOT / "docs" / "figures")
    args = parser.parse_args()
    args.figures.mkdir(parents=True, exist_ok=True)
    for name, text in (
        ("scaling.svg", scaling_figure(args.results)),
        ("perf-memory.svg", memory_figure(args.results)),
    ):
        (args.figures / name).write_text(text)
        print(f"wrote {args.figures / name}")


if __name__ == "__main__":
    main()
