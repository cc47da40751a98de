"""LibraryController: opening the index, calls in the library thread, rows for the table."""

from __future__ import annotations

import threading
from typing import Any


def test_open_an_empty_index(library):
    assert library.loaded and library.library is not None
    assert library.model_name() == library.library.model_name


def test_open_reports_a_library_that_cannot_be_made(qtbot, settings):
    from app.gui.controllers import LibraryController

    def broken():
        raise OSError("the disk is full\nsecond line")

    controller = LibraryController(settings, library_factory=broken)
    with qtbot.waitSignal(controller.open_failed, timeout=10_000) as failed:
        controller.open()
    assert failed.args == ["opening the library: the disk is full"]
    assert controller.loaded and controller.library is None
    controller.shutdown()


def test_run_calls_on_the_library_thread_and_reports_back(qtbot, library):
    results: list[Any] = []  # whatever each job returns
    gui_thread = threading.get_ident()

    def work(lib):
        return threading.get_ident(), lib.folders()

    library.run(work, results.append, "test")
    qtbot.waitUntil(lambda: bool(results), timeout=10_000)
    worker_thread, folders = results[0]
    assert worker_thread != gui_thread and folders == []

    with qtbot.waitSignal(library.message, timeout=10_000) as said:
        library.run(lambda lib: lib.track(999_999), results.append, "reading a track")
    text, error = said.args
    assert error and text.startswith("reading a track: ") and "\n" not in text


def test_rows_and_predicted_tags_after_a_scan(qtbot, library, scanned):
    ids = [int(r.id) for r in scanned]
    with qtbot.waitSignal(library.predicted, timeout=30_000) as predicted:
        library.predict_column(ids)
    tags = predicted.args[0]
    assert set(tags) == set(ids) and all(isinstance(t, str) and t for t in tags.values())

    with qtbot.waitSignal(library.rows_fetched, timeout=30_000) as fetched:
        library.fetch_rows([ids[0], 999_999])  # a row removed meanwhile is left out
    rows, row_tags, asked = fetched.args
    assert [int(r.id) for r in rows] == [ids[0]] and asked == [ids[0], 999_999]
    assert row_tags[ids[0]] == tags[ids[0]]


def test_stop_predicting_drops_the_chunk_in_flight(qtbot, library, scanned):
    ids = [int(r.id) for r in scanned]
    library.predict_column(ids)
    library.stop_predicting()
    with qtbot.assertNotEmitted(library.predicted, wait=1_000):
        qtbot.waitUntil(lambda: library.pool.pending == 0, timeout=30_000)


def test_a_vocabulary_file_chooses_the_words(qtbot, library, tmp_path):
    words = tmp_path / "vocab.txt"
    words.write_text("rock\ncalm\n", encoding="utf-8")
    library.set_vocabulary(str(words))
    got: list[list[str]] = []
    library.run(lambda lib: library.words(lib), got.append, "words")
    qtbot.waitUntil(lambda: bool(got), timeout=10_000)
    assert list(got[0]) == ["rock", "calm"]


def test_where_things_are_and_what_an_empty_table_says(library, tmp_path):
    from app.gui.controllers.library import library_empty_text

    assert library.db_file() == tmp_path / "library.sqlite3"
    assert library.models_dir() == tmp_path / "models"
    assert library.device_name()  # the open library's device (or the one Settings asks for)
    assert library_empty_text(0, "", False, False) == "Opening the library…"
    assert library_empty_text(0, "", True, True).startswith("Analysing your music")
    assert library_empty_text(0, "", False, True).startswith("No tracks yet.")
    assert library_empty_text(5, "zz", False, True).startswith("No track matches “zz”.")
    assert "see all 5 track(s)" in library_empty_text(5, "zz", True, True)


class _ProposingLibrary:
    """A library whose one track proposes a genre, two instruments and a mood (best first)."""

    def __init__(self) -> None:
        from zsl_core.tags import TagKind, TagScore

        self.asked: list[int] = []
        self.tags = [
            TagScore("strings", 0.9, True, TagKind.INSTRUMENT),
            TagScore("classical", 0.8, True, TagKind.GENRE),
            TagScore("violin", 0.7, True, TagKind.INSTRUMENT),
            TagScore("calm", 0.6, True, TagKind.MOOD),
        ]

    def tracks(self):
        return []

    def folders(self):
        return []

    def model_id(self):
        return 1

    def proposals(self, track_id, top_k, vocabulary=None, routes=None, field=None):
        from app.routing import per_field

        self.asked.append(top_k)
        return self.tags[:top_k] if routes is None else per_field(self.tags, routes, field, top_k)

    def close(self):
        pass


def test_the_predicted_column_shows_what_a_write_would_add(qtbot, settings):
    """The column listed "strings, classical, violin": instruments Write leaves out with the
    default routing (the panel greys them under "Not written"). It lists what a write adds,
    as the panel ticks it (the Settings number of tags per field, routed, spelt as written);
    routing instruments in Settings, or forcing one field, proposes again with that routing."""
    from app.gui.controllers import LibraryController
    from app.routing import DEFAULT_ROUTES
    from zsl_core.tags import TagKind

    fake = _ProposingLibrary()
    controller = LibraryController(settings, library_factory=lambda: fake)
    with qtbot.waitSignal(controller.opened, timeout=10_000):
        controller.open()
    settings.top_k = 3
    with qtbot.waitSignal(controller.predicted, timeout=10_000) as predicted:
        controller.predict_column([7])
    assert predicted.args[0] == {7: "Classical, Calm"}  # no instrument; 3 per field
    assert fake.asked == [3] and controller.has_proposals(7)

    settings.routes = {**DEFAULT_ROUTES, TagKind.INSTRUMENT: "grouping"}
    with qtbot.waitSignal(controller.predicted, timeout=5_000) as predicted:
        controller.refresh_column()
    assert predicted.args[0] == {7: "strings, Classical, violin, Calm"}
    assert fake.asked == [3, 3]  # proposed again: Grouping has its own 3

    settings.routes = dict(DEFAULT_ROUTES)
    settings.field = "comment"  # "Write into" one field takes every tag, 3 in all
    with qtbot.waitSignal(controller.predicted, timeout=5_000) as predicted:
        controller.refresh_column()
    assert predicted.args[0] == {7: "strings, Classical, violin"}
    controller.shutdown()
