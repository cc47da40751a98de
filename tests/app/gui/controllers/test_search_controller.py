"""SearchController: debounced typing, the newest search wins, clearing."""

from __future__ import annotations

import pytest


@pytest.fixture
def search(library, settings):
    from app.gui.controllers import SearchController

    controller = SearchController(library, settings)
    yield controller
    controller.shutdown()


def test_typing_searches_after_a_pause(qtbot, search, scanned, settings):
    with qtbot.waitSignal(search.results, timeout=30_000) as got:
        search.text_changed("calm")
    query, result = got.args
    assert query == "calm" and result.parsed.terms == ["calm"]
    assert {int(h.track_id) for h in result.hits} <= {int(r.id) for r in scanned}
    assert len(result.hits) + result.below_floor == 3  # every track was scored
    assert search.last_search == ("calm", result) and settings.last_search == "calm"


def test_only_the_newest_search_is_delivered(qtbot, search, scanned):
    got = []
    search.results.connect(lambda query, _result: got.append(query))
    search.run("calm")
    search.run("loud")
    qtbot.waitUntil(lambda: search.library.pool.pending == 0, timeout=30_000)
    assert got == ["loud"]
    seq = search.begin()  # another search ("More like this") takes over
    search.run("fast")
    assert not search.is_current(seq)


def test_clearing_the_box_drops_the_search_in_flight(qtbot, search, scanned, settings):
    search.run("calm")
    with qtbot.waitSignal(search.cleared, timeout=1_000):
        search.text_changed("  ")
    with qtbot.assertNotEmitted(search.results, wait=500):
        qtbot.waitUntil(lambda: search.library.pool.pending == 0, timeout=30_000)
    assert settings.last_search == "" and search.last_text == ""


def test_a_failed_search_says_why(qtbot, search, library):
    library.library.close()  # the index went away under the search
    with qtbot.waitSignal(search.failed, timeout=30_000) as failed:
        search.run("calm")
    query, message = failed.args
    assert query == "calm" and message.startswith("search: ") and "\n" not in message


def test_no_match_lists_the_closest_as_weak(qtbot, search, scanned, monkeypatch):
    import zsl_core.search
    from app.gui.controllers.search import results_info, shown_weak

    monkeypatch.setattr(zsl_core.search, "RELEVANCE_FLOOR", 2.0)  # nothing clears it
    with qtbot.waitSignal(search.results, timeout=30_000) as got:
        search.run("calm")
    query, result = got.args
    assert result.hits == [] and len(result.closest) == 3
    assert shown_weak(result) == result.closest
    info = results_info(query, result)
    assert info.startswith("No good match for “calm”") and "3 closest, all weak" in info


def test_the_lines_about_a_search(qtbot, search, scanned):
    from app.gui.controllers.search import failed_text, no_results_text, results_info

    with qtbot.waitSignal(search.results, timeout=30_000) as got:
        search.run("calm qzxqvv")
    query, result = got.args
    info = results_info(query, result)
    if result.hits:
        assert info.startswith(f"{len(result.hits)} track(s) for “calm qzxqvv”")
    else:  # the generated clips may not sound calm enough: the closest, weak, are listed
        assert info.startswith("No good match for “calm qzxqvv”") and "qzxqvv" in info
    assert failed_text("x", "boom") == "The search for “x” failed: boom"
    if not result.hits:
        assert "qzxqvv" in no_results_text(query, result, False)


def test_a_search_of_unknown_words_alone_says_so_once():
    """Nothing the model knows nor any track's text: one plain line (it read "0 track(s) for
    “qzxqvv blorf” · not a word ..., ignored: qzxqvv, blorf; no good match")."""
    from app.gui.controllers.search import results_info
    from app.library import Hit, SearchResult

    nothing = SearchResult([], ["qzxqvv", "blorf"], "qzxqvv blorf")
    assert results_info("qzxqvv blorf", nothing) == (
        "No good match for “qzxqvv blorf” · not a word the model knows nor in any track's text: "
        "qzxqvv, blorf"
    )
    found = SearchResult([Hit(1, "/m/a.ogg", 0.5)], ["blorf"], "calm blorf")
    assert results_info("calm blorf", found) == (
        "1 track(s) for “calm blorf” · not a word the model knows nor in any track's text, "
        "ignored: blorf"
    )
