"""TaggingController: the panel's prediction, the user's ticks, write through the journal, undo."""

from __future__ import annotations

import pytest

from app.tagwriter import read_field


@pytest.fixture
def tagging(library, settings):
    from app.gui.controllers import TaggingController

    return TaggingController(library, settings)


def test_prediction_and_the_users_ticks(qtbot, tagging, scanned):
    track_id = int(scanned[0].id)
    with qtbot.waitSignal(tagging.prediction_ready, timeout=30_000) as ready:
        tagging.load_prediction(track_id)
    got_id, prediction, accepted, current = ready.args
    assert current["genre"] == []  # the file's own values, per field (a bare WAV has none)
    shown = {t.tag for t in [*prediction.seen, *prediction.unseen]}
    assert got_id == track_id and accepted and set(accepted) <= shown
    tagging.remember(track_id, [accepted[0]])
    with qtbot.waitSignal(tagging.prediction_ready, timeout=30_000) as ready:
        tagging.load_prediction(track_id)
    assert ready.args[2].ticked == [accepted[0]]  # the user's Decision for the track


def test_write_then_undo(qtbot, tagging, library, scanned):
    track = scanned[0]
    track_id = int(track.id)
    tagging.remember(track_id, [])
    with qtbot.waitSignal(tagging.prediction_ready, timeout=30_000) as ready:
        tagging.load_prediction(track_id)
    word = next(t.tag for t in ready.args[1].seen)
    tagging.remember(track_id, [word])
    with qtbot.waitSignal(tagging.preview_ready, timeout=30_000) as preview:
        tagging.plan_write([track_id], "genre")
    planned, field = preview.args
    assert field == "genre" and [p.new for p in planned] == [[word]]

    with qtbot.waitSignals(
        [tagging.written, library.rows_fetched, tagging.undo_available], timeout=30_000
    ):
        tagging.write([p for p in planned if p.changed], field)
    assert tagging.last_write.written == 1 and tagging.can_undo
    assert read_field(track.path, "genre") == [word]
    assert track_id not in tagging.decisions  # written: the ticks are done with

    with qtbot.waitSignal(tagging.history_ready, timeout=30_000) as history:
        tagging.load_history()
    assert [b.undone for b in history.args[0]] == [False]

    with qtbot.waitSignals([tagging.undone, tagging.undo_available], timeout=30_000):
        tagging.undo()
    assert tagging.last_undo.restored == 1 and not tagging.can_undo
    assert read_field(track.path, "genre") == []
    with qtbot.waitSignal(tagging.message, timeout=1_000) as said:
        tagging.undo()
    assert said.args == ["Nothing to undo: every tag write is already undone", False]


def test_cover_art_comes_back_with_its_track(qtbot, tagging, scanned):
    track = scanned[0]
    with qtbot.waitSignal(tagging.cover_ready, timeout=10_000) as cover:
        tagging.load_cover(int(track.id), track.path)
    assert cover.args[0] == int(track.id) and not cover.args[1]  # a bare WAV: no picture


def test_write_of_a_selection_counts_the_panels_decision(qtbot, tagging, scanned, settings):
    said = []
    tagging.message.connect(lambda text, _error: said.append(text))
    tagging.plan_selection([], None, None, "genre", False)
    assert said == ["Select the tracks to tag first"]
    first, second = int(scanned[0].id), int(scanned[1].id)
    from app.edits import Decision

    decision = Decision(typed={"genre": ["Ambient"]})
    with qtbot.waitSignal(tagging.preview_ready, timeout=30_000) as preview:
        tagging.plan_selection([first, second], first, decision, "genre", True)  # apply to all
    assert tagging.decisions[first] is decision  # the panel's track keeps what was decided
    planned, field = preview.args
    assert field == "genre"
    rows = {(c.track_id, c.field): c.new for c in planned}
    assert rows[(first, "genre")] == rows[(second, "genre")]
    assert "Ambient" in rows[(first, "genre")]


def test_a_ticked_word_is_written_wherever_the_model_ranks_it(qtbot, tagging, scanned):
    """The user's ticks are looked up among every word the model scores: a tone's "death
    metal" ranks far below the panel's list, and is still written, in its kind's field."""
    track_id = int(scanned[0].id)
    tagging.remember(track_id, ["death metal"])
    with qtbot.waitSignal(tagging.preview_ready, timeout=30_000) as preview:
        tagging.plan_write([track_id], "")
    planned, _fields = preview.args
    genre = [p for p in planned if p.field == "genre"]
    assert [[v.casefold() for v in p.new] for p in genre] == [["death metal"]]


def test_a_vocabulary_files_kinds_reach_the_panel_and_the_fields(qtbot, tagging, scanned, tmp_path):
    """A Settings vocabulary that declares kinds (`# kind: mood`) keeps them: the panel groups
    its words by them, and a ticked mood of the file is written into Mood (as "other" it went
    to no field at all)."""
    from zsl_core.tags import TagKind

    words = tmp_path / "my words.txt"
    words.write_text(
        "# kind: mood\nmelancholic\ndreamy\ngloomy\n# kind: instrument\nclarinet\naccordion\n"
        "# kind: genre\nshoegaze\nbossa nova\n",
        encoding="utf-8",
    )
    declared = {"melancholic": TagKind.MOOD, "dreamy": TagKind.MOOD, "gloomy": TagKind.MOOD}
    declared |= {"clarinet": TagKind.INSTRUMENT, "accordion": TagKind.INSTRUMENT}
    declared |= {"shoegaze": TagKind.GENRE, "bossa nova": TagKind.GENRE}
    tagging.library.set_vocabulary(str(words))
    track_id = int(scanned[0].id)
    with qtbot.waitSignal(tagging.prediction_ready, timeout=30_000) as ready:
        tagging.load_prediction(track_id)
    unseen = ready.args[1].unseen
    assert unseen and all(t.kind is declared[t.tag] for t in unseen)

    tagging.remember(track_id, ["gloomy"])
    with qtbot.waitSignal(tagging.preview_ready, timeout=30_000) as preview:
        tagging.plan_write([track_id], "")
    planned, _fields = preview.args
    assert [(p.field, p.new) for p in planned] == [("mood", ["Gloomy"])]
