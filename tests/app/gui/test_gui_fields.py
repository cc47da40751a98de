"""Tagging per field through the real window: the panel shows each field's values in the file and
the model's proposals, a person types their own value, removes one the file holds, applies the
same changes to every selected track, unticks or edits rows of the preview, writes, and undoes.
The files are read back with mutagen (not our reader) and must be byte-exact after the undo.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

import audio_factory
from mutagen.flac import FLAC
from PySide6.QtCore import Qt
from test_gui_window import SCAN_TIMEOUT_MS, select_rows

from app.gui.track_panel import CONFIDENCE_ROLE, IN_FILE_TEXT, ROW_ROLE, TYPED
from app.gui.write_preview import EDITED, LEFT_ALONE, NEW

TAGS = [  # genre, mood of each file
    (["Rock", "Pop"], ["Calm"]),
    (["Rock", "Jazz"], []),
    (["Blues"], ["Dark"]),
]


def tagged_folder(root: Path) -> list[Path]:
    folder = root / "music"
    folder.mkdir()
    paths = []
    for i, (genre, mood) in enumerate(TAGS):
        path = folder / f"track{i}.flac"
        audio_factory.write_tone(path, 3.0, 22050, (220.0 * (i + 1),), "flac")
        audio = FLAC(path)
        audio["GENRE"] = genre
        if mood:
            audio["MOOD"] = mood
        audio["ALBUM"] = "One album"
        audio.save()
        paths.append(path)
    return paths


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tags_of(path: Path, key: str) -> list[str]:
    return list(FLAC(path).get(key, []))


def scanned(window, qtbot, tmp_path) -> list[Path]:
    paths = tagged_folder(tmp_path)
    window.add_folder(str(paths[0].parent))
    qtbot.waitUntil(
        lambda: window.last_scan is not None and not window.is_scanning(), timeout=SCAN_TIMEOUT_MS
    )
    qtbot.waitUntil(lambda: window.proxy.rowCount() == len(paths), timeout=20_000)
    window.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    return paths


def show(window, qtbot, rows: list[int]) -> int:
    """Select rows (the first one current) and wait until the panel shows the current track."""
    select_rows(window.table, rows)
    track_id = window.proxy.index(rows[0], 0).data(Qt.ItemDataRole.UserRole + 1)
    qtbot.waitUntil(
        lambda: (
            window.panel.track_id == track_id
            and bool(window.panel.tag_items())
            and bool(window.panel.value_items("genre"))
        ),
        timeout=20_000,
    )
    return track_id


def open_preview(window, qtbot):
    window.write_action.trigger()
    qtbot.waitUntil(
        lambda: window.preview_dialog is not None and window.preview_dialog.isVisible(),
        timeout=20_000,
    )
    return window.preview_dialog


def write_and_wait(window, qtbot, dialog) -> None:
    window.last_write = None
    dialog.write_button.click()
    qtbot.waitUntil(lambda: window.last_write is not None, timeout=20_000)


def undo_and_wait(window, qtbot) -> None:
    window.last_undo = None
    qtbot.waitUntil(window.undo_action.isEnabled, timeout=10_000)  # it learns of the new batch
    window.undo_action.trigger()
    qtbot.waitUntil(lambda: window.last_undo is not None, timeout=20_000)


def test_gui_type_a_value_and_remove_one_from_the_file(window, qtbot, tmp_path):
    paths = scanned(window, qtbot, tmp_path)
    before = sha(paths[0])
    show(window, qtbot, [0])
    panel = window.panel

    # the panel: one group per field, the file's own values ticked in it, then the proposals
    groups = [panel.tags.topLevelItem(i).text(0) for i in range(panel.tags.topLevelItemCount())]
    assert groups[:2] == ["Genre", "Mood"]
    assert [i.text(0) for i in panel.value_items("genre")] == ["Rock", "Pop"]
    assert [i.text(0) for i in panel.value_items("mood")] == ["Calm"]
    assert all(i.text(1).startswith(IN_FILE_TEXT) for i in panel.value_items())
    # one confidence scale in words and a bar, the number on hover
    proposal = panel.tag_items()[0]
    assert proposal.text(1) in ("likely", "possible", "unlikely")
    assert 0.0 <= proposal.data(1, CONFIDENCE_ROLE) <= 1.0 and "%" in proposal.toolTip(1)

    for item in panel.tag_items():  # no proposal: only what the person does by hand
        item.setCheckState(0, Qt.CheckState.Unchecked)
    # type your own values (two at once) into Genre, and one into Mood
    panel.own_field.setCurrentIndex(panel.own_field.findData("genre"))
    qtbot.keyClicks(panel.own_value, "Shoegaze; Dream Pop")
    qtbot.keyClick(panel.own_value, Qt.Key.Key_Return)
    assert panel.own_value.text() == ""
    typed = [i for i in panel.value_items("genre") if i.data(0, ROW_ROLE) == TYPED]
    assert [i.text(0) for i in typed] == ["Shoegaze", "Dream Pop"]
    panel.own_field.setCurrentIndex(panel.own_field.findData("mood"))
    qtbot.keyClicks(panel.own_value, "Dreamy")
    panel.add_button.click()
    # remove a value the file holds: untick it
    pop = next(i for i in panel.value_items("genre") if i.text(0) == "Pop")
    pop.setCheckState(0, Qt.CheckState.Unchecked)
    decision = panel.decision()
    assert decision.removed == {"genre": ["Pop"]} and decision.ticked == []
    assert decision.typed == {"genre": ["Shoegaze", "Dream Pop"], "mood": ["Dreamy"]}

    # the preview lists one row per file and field, old -> new
    dialog = open_preview(window, qtbot)
    rows = {r.field: r for r in dialog.changes()}
    assert set(rows) == {"genre", "mood"}
    assert rows["genre"].old == ["Rock", "Pop"]
    assert rows["genre"].new == ["Rock", "Shoegaze", "Dream Pop"]
    assert rows["mood"].new == ["Calm", "Dreamy"]
    write_and_wait(window, qtbot, dialog)
    assert window.last_write.written == 2 and not window.last_write.failed
    assert tags_of(paths[0], "GENRE") == ["Rock", "Shoegaze", "Dream Pop"]
    assert tags_of(paths[0], "MOOD") == ["Calm", "Dreamy"]
    assert tags_of(paths[0], "ALBUM") == ["One album"]  # other tags untouched
    # the panel shows what the file holds now
    qtbot.waitUntil(
        lambda: (
            [i.text(0) for i in window.panel.value_items("genre")]
            == ["Rock", "Shoegaze", "Dream Pop"]
        ),
        timeout=20_000,
    )

    undo_and_wait(window, qtbot)
    assert window.last_undo.restored == 2 and not window.last_undo.refused
    assert sha(paths[0]) == before


def test_gui_apply_to_all_selected_then_edit_and_untick_preview_rows(window, qtbot, tmp_path):
    paths = scanned(window, qtbot, tmp_path)
    before = [sha(p) for p in paths]
    show(window, qtbot, [0, 1, 2])
    panel = window.panel
    assert panel.all_selected.isVisible() and "3 tracks selected" in panel.hint.text()
    for item in panel.tag_items():
        item.setCheckState(0, Qt.CheckState.Unchecked)
    panel.add_value("genre", "Ambient")
    assert panel.remove_value("genre", "Rock")
    panel.all_selected.setChecked(True)
    assert "keeps its other values" in panel.hint.text()

    dialog = open_preview(window, qtbot)
    by_path = {Path(r.path).name: r for r in dialog.changes()}
    # the same changes in every selected track, each keeping its other values
    assert by_path["track0.flac"].new == ["Pop", "Ambient"]
    assert by_path["track1.flac"].new == ["Jazz", "Ambient"]
    assert by_path["track2.flac"].new == ["Blues", "Ambient"]
    assert all(r.field == "genre" for r in dialog.changes())
    row_of = {Path(r.path).name: i for i, r in enumerate(dialog.rows)}
    # untick one file, type over another's new values, as the cells are edited by hand
    dialog.set_row_checked(row_of["track2.flac"], False)
    assert dialog.table.item(row_of["track2.flac"], 4).text() == LEFT_ALONE
    dialog.set_row_values(row_of["track1.flac"], "Jazz; Free Jazz, Jazz")
    assert dialog.table.item(row_of["track1.flac"], NEW).text() == "Jazz; Free Jazz"
    assert dialog.table.item(row_of["track1.flac"], 4).text() == EDITED
    assert dialog.write_button.text() == "Write 2 file(s)"
    write_and_wait(window, qtbot, dialog)
    assert window.last_write.written == 2 and not window.last_write.failed
    # exactly what the preview showed
    assert tags_of(paths[0], "GENRE") == ["Pop", "Ambient"]
    assert tags_of(paths[1], "GENRE") == ["Jazz", "Free Jazz"]
    assert sha(paths[2]) == before[2]  # the unticked row's file is untouched

    undo_and_wait(window, qtbot)
    assert window.last_undo.restored == 2 and window.last_undo.exact == 2
    assert [sha(p) for p in paths] == before


def test_gui_without_apply_to_all_each_track_gets_its_own_choice(window, qtbot, tmp_path):
    paths = scanned(window, qtbot, tmp_path)
    first = show(window, qtbot, [0])
    for item in window.panel.tag_items():
        item.setCheckState(0, Qt.CheckState.Unchecked)
    window.panel.add_value("mood", "Warm")
    assert window.decisions[first].typed == {"mood": ["Warm"]}
    second = show(window, qtbot, [1])
    for item in window.panel.tag_items():
        item.setCheckState(0, Qt.CheckState.Unchecked)
    window.panel.remove_value("genre", "Jazz")
    # back on the first track: its typed value is still there
    show(window, qtbot, [0])
    assert [i.text(0) for i in window.panel.value_items("mood")] == ["Calm", "Warm"]
    select_rows(window.table, [0, 1])
    qtbot.waitUntil(lambda: window.panel.selection_size == 2, timeout=5_000)
    qtbot.waitUntil(lambda: bool(window.panel.tag_items()), timeout=20_000)
    assert not window.panel.apply_to_all_selected()
    dialog = open_preview(window, qtbot)
    rows = sorted((r.track_id, r.field, tuple(r.new)) for r in dialog.changes())
    assert rows == sorted([(first, "mood", ("Calm", "Warm")), (second, "genre", ("Rock",))])
    dialog.reject()
    assert tags_of(paths[1], "GENRE") == ["Rock", "Jazz"]  # nothing written on Cancel
