"""Benchmark: how fast the real main window shows search results and the library table at 100,000 tracks.

Not part of the test run. Opens `app.gui.main_window.MainWindow` offscreen on a real index of N
tracks (built like bench_library.py does, or `--db` an existing one) and times, each as the p50
of repeats:

* `search_e2e`: typing done -> results shown: `_run_search()` (the debounce timer's slot; the
  150 ms debounce itself is not counted) until the search table holds the new hits and has
  repainted. This is Library.search on the library thread (SEARCH_TOP = 50 hits) plus the
  GUI-thread update. Measured twice: while the "Predicted tags" column is still filling in the
  background (right after opening, what a user sees first) and once it is stopped.
* `results_update`: the GUI-thread part alone, `SearchResultsModel.set_result` + switching to the
  results tab + repaint, for the 50 hits the window asks for and for 100,000 hits (stress).
* `table`: the library table: `TrackTableModel.set_tracks` of N rows, sorting by title and by
  duration, and a filter word, each followed by a repaint.

    QT_QPA_PLATFORM=offscreen python tests/benchmarks/bench_gui.py --tracks 100000 --out tests/benchmarks/results/gui.jsonl
    QT_QPA_PLATFORM=offscreen python tests/benchmarks/bench_gui.py --db /tmp/bl_work/library-100000.sqlite3 --tracks 100000

Why the `_NONE_BALLAST` list: with PySide6 6.12.0 on CPython 3.11 every call of a Qt method that
returns nothing (setText, repaint, processEvents...) drops one reference to None, and after a few
thousand such calls the interpreter aborts ("Fatal Python error: none_dealloc"). Holding ten
million references to None keeps this benchmark alive; it does not change what is timed.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE))

from bench_library import build, emit, rss_mb  # noqa: E402

# The queries typed into the search box: short mixed phrases, the ones results/gui.jsonl was
# measured with (bench_library.py times search alone by kind of query, QUERY_KINDS).
QUERIES = [
    "sad piano",
    "rock",
    "jazz guitar",
    "electronic dance",
    "calm ambient",
    "female vocals",
    "heavy metal",
    "happy pop",
    "classical violin",
    "hip hop beats",
    "dark techno",
    "acoustic folk",
    "relaxing chill",
    "fast drums",
    "romantic ballad",
    "funky bass",
    "melancholic strings",
    "party",
    "blues harmonica",
    "orchestral epic",
]
_NONE_BALLAST = [None] * 10_000_000  # see the module docstring (PySide6 6.12 + CPython 3.11)


def p50(values: list[float]) -> float:
    return round(statistics.median(values), 2)


def timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=100_000)
    parser.add_argument("--db", type=Path, default=None, help="an index made by bench_library.py")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--out", type=Path, default=None, help="append the JSON lines to this file")
    args = parser.parse_args()

    from PySide6.QtCore import QEventLoop, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from app.gui.main_window import SEARCH_TOP, MainWindow
    from app.gui.settings import Settings
    from app.library import Hit, Library

    tmp = Path(tempfile.mkdtemp(prefix="bench_gui_"))
    db_path = args.db
    if db_path is None:
        db_path = tmp / "library.sqlite3"
        emit(build(db_path, args.tracks), None)
    app = QApplication.instance() or QApplication([])
    base = rss_mb()

    def wait(condition, limit: float = 120.0) -> None:
        """Run the event loop until condition() (checked every millisecond) holds."""
        if condition():
            return
        loop, timer = QEventLoop(), QTimer()
        deadline = time.monotonic() + limit
        timer.setInterval(1)

        def check() -> None:
            if condition() or time.monotonic() > deadline:
                loop.quit()

        timer.timeout.connect(check)
        timer.start()
        loop.exec()
        timer.stop()
        if not condition():
            raise SystemExit("timed out waiting for the window")

    start = time.perf_counter()
    window = MainWindow(
        settings=Settings(tmp / "settings.ini"),
        library_factory=lambda: Library(db_path=db_path, device="cpu"),
    )
    window.show()
    wait(lambda: window.loaded)
    app.processEvents()
    open_ms = (time.perf_counter() - start) * 1000
    n = window.track_model.rowCount()
    after_open = rss_mb()

    # --- search, end to end, while the "Predicted tags" column fills and after -----------------
    def search(query: str) -> float:
        before = window.last_search
        window.search_edit.blockSignals(True)
        window.search_edit.setText(query)
        window.search_edit.blockSignals(False)
        loop = QEventLoop()
        window.search_model.modelReset.connect(loop.quit)  # set_result: the hits are in the model
        start = time.perf_counter()
        window._run_search()
        if window.last_search is before:
            loop.exec()
        window.search_model.modelReset.disconnect(loop.quit)
        window.search_view.repaint()
        elapsed = (time.perf_counter() - start) * 1000
        assert window.last_search is not before and window.last_search[0] == query
        return elapsed

    search("warm up")  # loads the model and builds the search matrix (first search)
    first_ms = search(QUERIES[0])
    during = [search(QUERIES[i % len(QUERIES)]) for i in range(args.repeats)]
    predicted_done = sum(1 for c in window.track_model._cells if c[-1])
    window._predicted_generation += 1  # stop the background fill after its current chunk
    wait(lambda: window.pool.pending == 0)
    idle = [search(QUERIES[i % len(QUERIES)]) for i in range(args.repeats)]
    hits = window.last_search[1].hits
    emit(
        {
            "bench": "gui_search_e2e",
            "tracks": n,
            "top": SEARCH_TOP,
            "hits": len(hits),
            "open_window_ms": round(open_ms),
            "first_search_ms": round(first_ms, 1),
            "p50_ms_while_predicting": p50(during),
            "max_ms_while_predicting": round(max(during), 1),
            "p50_ms_idle": p50(idle),
            "max_ms_idle": round(max(idle), 1),
            "predicted_rows_filled": predicted_done,
            "repeats": args.repeats,
        },
        args.out,
    )

    # --- the GUI-thread update alone -------------------------------------------------------
    def show(result_hits: list) -> None:
        titles = {}
        for hit in result_hits:  # what _run_search's done() does
            row = window.track_model.track_by_id(int(hit.track_id))
            if row is not None and row.title:
                titles[int(hit.track_id)] = (
                    f"{row.title} — {row.artist}" if row.artist else row.title
                )
        window.search_model.set_result("q", result_hits, [], titles)
        window.tabs.setCurrentIndex(1)
        window.search_view.repaint()

    rows = [window.track_model.track(i) for i in range(n)]
    many = [
        Hit(int(r.id), r.display_path, 1.0 - i / n, ["rock", "guitar", "energetic"])
        for i, r in enumerate(rows)
    ]

    def clear_and_show(result_hits: list) -> None:
        window.search_model.clear()
        show(result_hits)

    for count in (len(hits), len(many)):
        chosen = hits if count == len(hits) else many
        times = timed(lambda chosen=chosen: clear_and_show(chosen), args.repeats)
        emit(
            {
                "bench": "gui_results_update",
                "tracks": n,
                "hits": count,
                "p50_ms": p50(times),
                "max_ms": round(max(times), 1),
            },
            args.out,
        )
    window.search_model.clear()
    window.tabs.setCurrentIndex(0)
    del many

    # --- the library table -------------------------------------------------------------------
    def reload() -> None:
        window.track_model.set_tracks(rows)
        window.proxy.refilter()
        window.table.repaint()

    def sort(column: int, order: Qt.SortOrder) -> None:
        window.table.sortByColumn(column, order)
        window.table.repaint()

    def filter_text(text: str) -> None:
        window.filter_edit.setText(text)
        window.table.repaint()

    def sort_both(column: int) -> None:
        sort(column, Qt.SortOrder.DescendingOrder)
        sort(column, Qt.SortOrder.AscendingOrder)

    def filter_and_clear() -> None:
        filter_text("artist 0004")
        filter_text("")

    repeats = max(3, args.repeats // 3)
    table = {
        "bench": "gui_table",
        "tracks": n,
        "set_tracks_p50_ms": p50(timed(reload, repeats)),
        "sort_title_p50_ms": p50(timed(lambda: sort_both(0), repeats)) / 2,
        "sort_duration_p50_ms": p50(timed(lambda: sort_both(3), repeats)) / 2,
        "filter_p50_ms": p50(timed(filter_and_clear, repeats)) / 2,
        "rss_before_window_mb": round(base),
        "rss_after_open_mb": round(after_open),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    emit(table, args.out)
    window.close()
    app.processEvents()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
