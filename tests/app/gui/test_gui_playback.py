"""Playback from the real main window, offscreen: a good file, and the ways a track cannot play.

A real library is scanned in tmp_path (short clips), then rows are selected and the panel's Play
button is clicked. There is no sound device here: Qt Multimedia (FFmpeg backend) still opens and
plays the file to nowhere, so the player's source, state and error signal are what is checked.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")
pytest.importorskip(
    "PySide6.QtMultimedia", reason="Qt Multimedia is not installed with this PySide6"
)

import audio_factory
from PySide6.QtCore import QItemSelectionModel, Qt, QUrl
from PySide6.QtMultimedia import QMediaPlayer

from app.gui.models import TRACK_ID_ROLE

SCAN_TIMEOUT_MS = 60_000


@pytest.fixture
def empty_window(main_window, qtbot):
    win = main_window  # tests/app/gui/conftest.py; closed there after this teardown
    yield win
    if win.player is not None:
        # Let the FFmpeg backend's threads end before the player is deleted: deleting it right
        # after playback crashed a Qt thread now and then here (offscreen, no audio device).
        player = win.player
        win.stop_playback()
        win._player_call("setSource", QUrl())
        qtbot.waitUntil(
            lambda: player.mediaStatus() == QMediaPlayer.MediaStatus.NoMedia, timeout=5_000
        )
        qtbot.wait(200)


@pytest.fixture
def window(empty_window, qtbot, tmp_path):
    """A window whose library holds good.wav (8 s), other.wav, bad.mp3 (not audio) and, on Linux,
    a wav whose name is not UTF-8."""
    win = empty_window
    folder = tmp_path / "music"
    folder.mkdir()
    audio_factory.write_tone(folder / "good.wav", 8.0, 22050, (440.0,), "wav")
    audio_factory.write_tone(folder / "other.wav", 2.0, 22050, (660.0,), "wav")
    (folder / "bad.mp3").write_bytes(b"this is not audio" * 200)
    if sys.platform.startswith("linux"):  # a name that is not UTF-8 (Linux names are bytes)
        audio_factory.write_tone(folder / "latin1.wav", 2.0, 22050, (330.0,), "wav")
        os.rename(os.fsencode(folder / "latin1.wav"), os.fsencode(folder) + b"/caf\xe9.wav")
    win.add_folder(str(folder))
    qtbot.waitUntil(
        lambda: win.last_scan is not None and not win.is_scanning(), timeout=SCAN_TIMEOUT_MS
    )
    expected = 4 if sys.platform.startswith("linux") else 3
    qtbot.waitUntil(lambda: win.track_model.rowCount() == expected, timeout=10_000)
    win.folder = folder
    return win


def select(window, qtbot, name: str) -> int:
    """Select the row of file `name` in the library table; its track id."""
    proxy = window.proxy
    for row in range(proxy.rowCount()):
        index = proxy.index(row, 0)
        track_id = int(index.data(TRACK_ID_ROLE))
        if Path(window.track_model.track_by_id(track_id).path).name == name:
            flags = (
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows
            )
            window.table.selectionModel().setCurrentIndex(index, flags)
            qtbot.waitUntil(lambda tid=track_id: window.panel.track_id == tid, timeout=5_000)
            return track_id
    raise AssertionError(f"{name} is not in the table")


def status(window) -> str:
    return window.statusBar().currentMessage()


def play(window, qtbot) -> None:
    assert window.panel.play_button.isEnabled()
    qtbot.mouseClick(window.panel.play_button, Qt.MouseButton.LeftButton)


def cannot_play_lines(window) -> list[str]:
    return [line for line in window.log_view.lines() if "cannot play" in line]


def assert_plays(window, qtbot, name: str) -> None:
    """Play `name` and see the player take it (the app still works)."""
    track_id = select(window, qtbot, name)
    play(window, qtbot)
    path = window.track_model.track_by_id(track_id).path
    qtbot.waitUntil(
        lambda: window.player is not None and window.player.source().toLocalFile() == str(path),
        timeout=5_000,
    )
    qtbot.waitUntil(
        lambda: (
            window.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState
            or window.player.mediaStatus() == QMediaPlayer.MediaStatus.EndOfMedia
        ),
        timeout=10_000,
    )
    assert window.player.error() == QMediaPlayer.Error.NoError


def test_play_good_wav_then_pause_and_stop(window, qtbot):
    assert_plays(window, qtbot, "good.wav")
    assert "Playing" in status(window) and "good.wav" in status(window)
    assert not cannot_play_lines(window)
    qtbot.waitUntil(lambda: window.panel.play_button.text() == "Pause", timeout=5_000)
    play(window, qtbot)  # the same track again: pause
    qtbot.waitUntil(
        lambda: window.player.playbackState() == QMediaPlayer.PlaybackState.PausedState,
        timeout=5_000,
    )
    qtbot.waitUntil(
        lambda: window.panel.play_button.text() == "Play", timeout=5_000
    )  # state changes are queued
    window.stop_action.trigger()
    qtbot.waitUntil(
        lambda: window.player.playbackState() == QMediaPlayer.PlaybackState.StoppedState,
        timeout=5_000,
    )
    assert window._playing_id is None


def test_play_nothing_selected(empty_window, qtbot):
    empty_window.play_selected()
    assert status(empty_window) == "Select a track to play"
    assert empty_window.player is None


def test_play_file_gone_says_so_and_app_keeps_working(window, qtbot):
    select(window, qtbot, "other.wav")
    (window.folder / "other.wav").unlink()
    play(window, qtbot)
    message = status(window)
    assert message.startswith("cannot play other.wav") and "gone" in message and "\n" not in message
    assert len(cannot_play_lines(window)) == 1
    play(window, qtbot)  # pressing Play again says it again, it does not silently do nothing
    assert len(cannot_play_lines(window)) == 2
    assert window.panel.play_button.text() == "Play"
    assert_plays(window, qtbot, "good.wav")
    assert len(cannot_play_lines(window)) == 2


def test_play_format_qt_cannot_play(window, qtbot):
    select(window, qtbot, "bad.mp3")  # the scan listed it as "not analysed"; it is still a row
    play(window, qtbot)
    qtbot.waitUntil(lambda: len(cannot_play_lines(window)) == 1, timeout=10_000)
    message = status(window)
    assert message.startswith("cannot play bad.mp3") and "\n" not in message
    assert window.panel.play_button.text() == "Play"
    play(window, qtbot)  # again: the error is reported again, not swallowed
    qtbot.waitUntil(lambda: len(cannot_play_lines(window)) == 2, timeout=10_000)
    assert_plays(window, qtbot, "good.wav")
    assert len(cannot_play_lines(window)) == 2


@pytest.mark.permissions
@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="running as root: file permissions do not stop root from reading",
)
def test_play_unreadable_file(window, qtbot):
    select(window, qtbot, "other.wav")
    path = window.folder / "other.wav"
    path.chmod(0)
    try:
        play(window, qtbot)
        message = status(window)
        assert message.startswith("cannot play other.wav") and "permission" in message
        assert_plays(window, qtbot, "good.wav")
    finally:
        path.chmod(0o644)


def test_play_a_folder_where_the_file_was(window, qtbot):
    """The path now names a folder (a replaced file): refused before Qt is asked."""
    select(window, qtbot, "other.wav")
    path = window.folder / "other.wav"
    path.unlink()
    path.mkdir()
    play(window, qtbot)
    message = status(window)
    assert message.startswith("cannot play other.wav") and "not a file" in message
    assert_plays(window, qtbot, "good.wav")


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="needs file names that are raw bytes"
)
def test_play_name_not_utf8(window, qtbot):
    """Qt addresses files by Unicode names, so it could only fail with "Could not open file"."""
    select(window, qtbot, os.fsdecode(b"caf\xe9.wav"))
    play(window, qtbot)
    message = status(window)
    assert message.startswith("cannot play caf") and "UTF-8" in message and "\n" not in message
    assert_plays(window, qtbot, "good.wav")


def test_play_without_qt_multimedia(window, qtbot, monkeypatch):
    """A PySide6 built without Qt Multimedia: one message, the rest of the app goes on."""
    monkeypatch.setitem(sys.modules, "PySide6.QtMultimedia", None)  # import now raises ImportError
    select(window, qtbot, "good.wav")
    play(window, qtbot)
    message = status(window)
    assert message.startswith("cannot play: Qt Multimedia is not available") and "\n" not in message
    assert window.player is None
    window.stop_action.trigger()
    assert window.panel.play_button.text() == "Play"
    window.filter_edit.setText("good")
    assert window.proxy.rowCount() == 1
