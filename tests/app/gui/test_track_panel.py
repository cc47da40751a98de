"""The tag panel on its own (no window, no model): what it lists for a prediction it is handed."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from app.gui.track_panel import NOT_WRITTEN, TrackPanel, top_level_items
from zsl_core.tagger import Prediction
from zsl_core.tags import TagKind, TagScore


@dataclass
class Shown:
    id: int = 7
    title: str | None = "Song"
    artist: str | None = "Someone"
    album: str | None = "Record"
    genre: str | None = None
    mood: str | None = None
    duration: float | None = 60.0
    display_path: str = "/music/song.ogg"
    status: str = "ok"
    error: str | None = None


def headers(panel: TrackPanel) -> list[str]:
    return [item.text(0) for item in top_level_items(panel.tags)]


@pytest.fixture
def panel(qtbot):
    widget = TrackPanel()
    qtbot.addWidget(widget)
    widget.show_track(Shown())
    return widget


def test_no_empty_group_header_for_a_field_with_nothing_to_list(panel):
    """Genre and an instrument proposed, no mood word, nothing in the file's Mood: no empty
    "Mood" header (it read as a mood left blank). Mood stays offered for a typed value, and
    typing one brings its group back, in field order."""
    rock = TagScore("rock", 0.8, True, TagKind.GENRE)
    piano = TagScore("piano", 0.6, True, TagKind.INSTRUMENT)
    panel.show_prediction(7, Prediction("x", seen=[rock, piano], unseen=[]), ["rock"])
    assert headers(panel) == ["Genre", NOT_WRITTEN]
    assert [panel.own_field.itemData(i) for i in range(panel.own_field.count())] == [
        "genre",
        "mood",
    ]
    panel.add_value("mood", "Calm")
    assert headers(panel) == ["Genre", "Mood", NOT_WRITTEN]
    assert panel.decision().typed == {"mood": ["Calm"]}


def test_a_field_the_file_fills_keeps_its_group_and_nothing_at_all_lists_no_header(panel):
    panel.current_values = {}
    panel.show_prediction(7, Prediction("x", seen=[], unseen=[]), [], {"mood": ["Sad"]})
    assert headers(panel) == ["Mood"]
    panel.show_prediction(7, Prediction("x", seen=[], unseen=[]), [], {"mood": []})
    assert headers(panel) == []
    panel.add_value("genre", "Jazz")
    assert headers(panel) == ["Genre"]


def test_no_ticked_suggestion_is_called_unlikely(panel):
    """Every proposal clears the picking rule's floor; the panel's words say so: "unlikely" is
    kept for listed words the rule would not propose."""
    from app.gui.track_panel import confidence_text
    from zsl_core.tags import PROPOSE_FLOOR

    metal = TagScore("metal", PROPOSE_FLOOR + 0.03, True, TagKind.GENRE)
    pop = TagScore("pop", PROPOSE_FLOOR - 0.05, True, TagKind.GENRE)
    panel.show_prediction(7, Prediction("x", seen=[metal, pop], unseen=[]), ["metal"])
    rows = {item.text(0): item.text(1) for item in panel.tag_items()}
    assert rows == {"Metal": "possible", "Pop": "unlikely"}
    assert [confidence_text(c) for c in (0.9, 0.5, 0.3, PROPOSE_FLOOR, 0.1)] == [
        "likely",
        "likely",
        "possible",
        "possible",
        "unlikely",
    ]


def test_an_albums_hint_and_track_count_read_as_words():
    from app.gui.album_view import album_hint, tracks_text

    assert tracks_text(1) == "1 track" and tracks_text(12) == "12 tracks"
    assert "from its one track:" in album_hint(1) and "all 1 tracks" not in album_hint(1)
    assert "from all 3 tracks together:" in album_hint(3)


def test_every_row_names_its_whole_value_on_hover(panel):
    """A long value is cut off in a narrow panel ("Female Fronted ..." at 1024x640): each
    row's tooltip starts with the whole value, then what the row is."""
    from app.gui.track_panel import IN_FILE_TIP, NEW_WORD_TIP

    metal = TagScore("metal", 0.6, True, TagKind.GENRE)
    doom = TagScore(
        "atmospheric doom metal",
        0.3,
        False,
        TagKind.GENRE,
        basis=(("metal", 0.62), ("ambient", 0.31)),
    )
    file = {"genre": ["Female Fronted Metal"]}
    panel.show_prediction(7, Prediction("x", seen=[metal], unseen=[doom]), ["metal"], file)
    panel.add_value("genre", "Gothic Symphonic Metal")
    tips = {item.text(0): item.toolTip(0) for item in [*panel.value_items(), *panel.tag_items()]}
    assert tips["Female Fronted Metal"] == f"Female Fronted Metal\n{IN_FILE_TIP}"
    assert tips["Gothic Symphonic Metal"].startswith("Gothic Symphonic Metal\n")
    assert tips["Metal"] == f"Metal (genre)\n{metal.origin()}"
    # a new word says which trained words its confidence is read off: a listener can judge it
    assert tips["Atmospheric Doom Metal"] == (
        f"Atmospheric Doom Metal (genre)\n{NEW_WORD_TIP} "
        "Read off the trained words metal 62%, ambient 31%."
    )


def test_a_file_that_failed_is_not_sent_to_scan_again(qtbot):
    """A file that could not be analysed is not retried by a rescan until it changes: the hint
    says so, instead of "scan to see its tags"."""
    from app.gui.track_panel import FAILED_HINT

    panel = TrackPanel()
    qtbot.addWidget(panel)
    panel.show_track(Shown(status="failed", error="empty file (0 bytes)"))
    panel.show_prediction(7, None, [])
    assert panel.hint.text() == FAILED_HINT and "not analysed: empty file" in panel.details.text()
    bare = Shown(id=9, title=None, artist=None, album=None, duration=None)
    panel.show_track(bare)  # nothing known but the path: no blank first line
    assert panel.details.text() == "/music/song.ogg"
    panel.show_track(Shown(id=8))  # analysed by another model: a scan does help
    panel.show_prediction(8, None, [])
    assert panel.hint.text().endswith("Rescan library (F5) to see its tags.")


def test_words_no_field_takes_have_no_tick_box_and_a_hint_how_to_route_them(panel):
    """ "Loud" (a description) and "synth" (an instrument) go to no field by default: Write
    leaves them out, so the "Not written" group shows them without a tick box (a tick read as
    "will be written"), under a hint naming the Settings rows that route them. The model's pick
    is kept: forcing one field or routing the kind brings them back ticked, as before."""
    from PySide6.QtCore import Qt

    from app.gui.track_panel import HINT, ROW_ROLE, children
    from app.routing import DEFAULT_ROUTES

    rock = TagScore("rock", 0.8, True, TagKind.GENRE)
    loud = TagScore("loud", 0.7, True, TagKind.CHARACTER)
    synth = TagScore("synth", 0.6, True, TagKind.INSTRUMENT)
    prediction = Prediction("x", seen=[rock, loud, synth], unseen=[])
    panel.show_prediction(7, prediction, ["rock", "loud", "synth"])
    not_written = top_level_items(panel.tags)[-1]
    assert not_written.text(0) == NOT_WRITTEN
    rows = children(not_written)
    assert rows[0].data(0, ROW_ROLE) == HINT
    assert "Settings" in rows[0].text(0)
    assert "“Descriptions (fast, loud, ...) go to”" in rows[0].toolTip(0)
    assert "“Instruments go to”" in rows[0].toolTip(0)
    for row in rows[1:]:
        assert row.text(0).casefold() in ("loud", "synth")
        assert row.data(0, Qt.ItemDataRole.CheckStateRole) is None  # no tick box at all
        assert not row.flags() & Qt.ItemFlag.ItemIsUserCheckable
        assert not row.flags() & Qt.ItemFlag.ItemIsEnabled  # greyed
    # the decision is what is shown ticked; Write plans the same (routing left these two out)
    assert panel.decision().ticked == ["rock"]

    panel.set_field("grouping")  # one field forced: every word goes there, ticked as before
    assert headers(panel) == ["Grouping"]
    ticked = {i.data(0, Qt.ItemDataRole.UserRole) for i in panel.tag_items() if i.checkState(0)}
    assert ticked == {"rock", "loud", "synth"}

    panel.set_field("")
    panel.set_routes({**DEFAULT_ROUTES, TagKind.INSTRUMENT: "grouping"})
    assert headers(panel) == ["Genre", "Grouping", NOT_WRITTEN]
    synth_row = next(i for i in panel.tag_items() if i.data(0, Qt.ItemDataRole.UserRole) == "synth")
    assert synth_row.flags() & Qt.ItemFlag.ItemIsUserCheckable
    assert synth_row.checkState(0) == Qt.CheckState.Checked
    hint = children(top_level_items(panel.tags)[-1])[0]
    assert "Instruments" not in hint.toolTip(0) and "Descriptions" in hint.toolTip(0)
