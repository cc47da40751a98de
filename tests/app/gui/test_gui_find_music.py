"""The window's finding-music entry points (app/gui/find_music.py), offscreen on a real library:
the tables' context menu, More like this into the search tab, View > Duplicates, Save as playlist
(parsed back), Export, and rows dragged out as file URLs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

import audio_factory
from PySide6.QtCore import QItemSelectionModel

from app.playlists import read_m3u8, read_xspf

SCAN_TIMEOUT_MS = 90_000


@pytest.fixture
def scanned(window, qtbot, tmp_path):
    folder = tmp_path / "music"
    folder.mkdir()
    # lengths 3 s apart: plain tones sound alike to the model, so only the byte copy is a duplicate
    for i, freqs in enumerate([(220.0,), (440.0, 660.0), (880.0,), (330.0, 990.0)]):
        audio_factory.write_tone(folder / f"track{i}.flac", 4.0 + 3 * i, 22050, freqs, "flac")
    shutil.copyfile(folder / "track0.flac", folder / "track0-copy.flac")  # identical audio
    window.add_folder(str(folder))
    qtbot.waitUntil(
        lambda: window.last_scan is not None and not window.is_scanning(), timeout=SCAN_TIMEOUT_MS
    )
    qtbot.waitUntil(lambda: window.track_model.rowCount() == 5, timeout=10_000)
    return folder


def select_ids(window, ids):
    window.tabs.setCurrentIndex(0)
    selection = window.table.selectionModel()
    selection.clearSelection()
    for track_id in ids:
        index = window.proxy.mapFromSource(
            window.track_model.index(window.track_model.row_of(track_id), 0)
        )
        selection.select(
            index, QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        )


def _id(window, folder, name):
    return next(
        r.id
        for r in (window.track_model.track_by_id(i) for i in window.track_model.ids())
        if Path(r.path) == folder / name
    )


def test_menus_are_installed(window):
    find = window.find_music
    file_actions = [a.text() for a in window.menuBar().actions()[0].menu().actions()]
    assert (
        "Save search results as playlist…" in file_actions
        and "Export tags (CSV/JSON)…" in file_actions
    )
    assert find.duplicates_action in window.view_menu.actions()
    menu = find.context_menu(window.table)
    assert [a.text() for a in menu.actions()][:2] == [
        "More like this",
        "Save selection as playlist…",
    ]
    assert not find.similar_action.isEnabled()  # nothing selected


def test_more_like_this_fills_the_search_tab(window, qtbot, scanned):
    find = window.find_music
    first = _id(window, scanned, "track0.flac")
    twin = _id(window, scanned, "track0-copy.flac")
    select_ids(window, [first])
    assert find.context_menu(window.table).actions()[0].isEnabled()
    find.similar_action.trigger()
    qtbot.waitUntil(lambda: find.last_similar is not None, timeout=20_000)
    ids, hits = find.last_similar
    assert ids == [first]
    assert window.tabs.currentIndex() == 1
    shown = [
        int(window.search_model.hits[r].track_id) for r in range(window.search_model.rowCount())
    ]
    assert shown == [h.track_id for h in hits] and len(shown) == 3
    assert first not in shown and twin not in shown  # the query and its identical copy left out
    assert "sound like" in window.search_info.text()
    # from the search tab too: the context menu acts on the search table's selection
    window.search_view.selectRow(0)
    assert find.view_ids(window.search_view) == [shown[0]]


def test_duplicates_dialog_lists_groups_and_selects_them(window, qtbot, scanned):
    find = window.find_music
    dialog = find.open_duplicates()
    qtbot.waitUntil(lambda: dialog.tree.topLevelItemCount() == 1, timeout=20_000)
    group = dialog.tree.topLevelItem(0)
    assert "identical audio" in group.text(0) and group.childCount() == 2
    assert {group.child(i).text(0) for i in range(2)} == {
        str(scanned / "track0.flac"),
        str(scanned / "track0-copy.flac"),
    }
    dialog.select_in_library()
    assert sorted(window.selected_ids()) == sorted(
        [_id(window, scanned, "track0.flac"), _id(window, scanned, "track0-copy.flac")]
    )
    assert window.track_model.rowCount() == 5  # nothing removed
    dialog.close()


def test_save_playlists_and_export(window, qtbot, scanned, tmp_path):
    find = window.find_music
    ids = [_id(window, scanned, f"track{i}.flac") for i in (2, 0, 1)]
    target = tmp_path / "sel.m3u8"
    find.save_playlist(ids, target)
    qtbot.waitUntil(lambda: find.last_saved is not None, timeout=10_000)
    assert find.last_saved == (str(target), 3)
    assert [e.path for e in read_m3u8(target)] == [
        scanned / "track2.flac",
        scanned / "track0.flac",
        scanned / "track1.flac",
    ]
    find.last_saved = None
    xspf = tmp_path / "sel.xspf"
    find.save_playlist(ids, xspf, relative=True)
    qtbot.waitUntil(lambda: find.last_saved is not None, timeout=10_000)
    assert [e.path for e in read_xspf(xspf)] == [
        scanned / "track2.flac",
        scanned / "track0.flac",
        scanned / "track1.flac",
    ]
    out = tmp_path / "tags.json"
    find.export(out)
    qtbot.waitUntil(lambda: find.last_export is not None, timeout=20_000)
    assert len(json.loads(out.read_text("utf-8"))) == 5


def test_rows_drag_out_as_file_urls(window, scanned):
    find = window.find_music
    ids = [_id(window, scanned, "track1.flac"), _id(window, scanned, "track3.flac")]
    select_ids(window, ids)
    assert find.view_ids(window.table) == ids or sorted(find.view_ids(window.table)) == sorted(ids)
    mime = find.mime_for(find.view_ids(window.table))
    assert mime.hasUrls()
    assert sorted(u.toLocalFile() for u in mime.urls()) == sorted(
        str(scanned / n) for n in ("track1.flac", "track3.flac")
    )
    assert all(u.scheme() == "file" for u in mime.urls())
    assert find.mime_for([]) is None


def test_pressing_and_moving_on_selected_rows_starts_a_drag_of_their_files(
    window, qtbot, scanned, monkeypatch
):
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    import app.gui.find_music as find_music

    started = []

    class FakeDrag:
        def __init__(self, source):
            self.source = source

        def setMimeData(self, mime):
            self.mime = mime

        def exec(self, action):
            started.append((self.source, [u.toLocalFile() for u in self.mime.urls()]))
            return action

    monkeypatch.setattr(find_music, "QDrag", FakeDrag)
    ids = [_id(window, scanned, "track1.flac"), _id(window, scanned, "track2.flac")]
    select_ids(window, ids)
    view = window.table
    row = window.proxy.mapFromSource(window.track_model.index(window.track_model.row_of(ids[0]), 0))
    start = QPointF(view.visualRect(row).center())
    end = start + QPointF(QApplication.startDragDistance() + 5, 0)
    viewport = view.viewport()

    def mouse(kind, pos, buttons):
        return QMouseEvent(
            kind,
            pos,
            viewport.mapToGlobal(pos),
            Qt.MouseButton.LeftButton,
            buttons,
            Qt.KeyboardModifier.NoModifier,
        )

    QApplication.sendEvent(
        viewport, mouse(QEvent.Type.MouseButtonPress, start, Qt.MouseButton.LeftButton)
    )
    QApplication.sendEvent(viewport, mouse(QEvent.Type.MouseMove, end, Qt.MouseButton.LeftButton))
    assert len(started) == 1 and started[0][0] is view
    assert sorted(started[0][1]) == sorted(str(scanned / n) for n in ("track1.flac", "track2.flac"))
    assert sorted(window.selected_ids()) == sorted(ids)  # the press kept the multi-row selection
