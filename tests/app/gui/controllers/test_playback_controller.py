"""PlaybackController: the reasons a track cannot play, and a real play/stop of a WAV."""

from __future__ import annotations

import pytest

pytest.importorskip(
    "PySide6.QtMultimedia", reason="Qt Multimedia is not installed with this PySide6"
)

import audio_factory


@pytest.fixture
def playback(qtbot):
    from PySide6.QtCore import QUrl
    from PySide6.QtMultimedia import QMediaPlayer

    from app.gui import create_app
    from app.gui.controllers import PlaybackController

    create_app()
    controller = PlaybackController()
    yield controller
    player = controller.player
    if player is not None:  # let the FFmpeg backend's threads end first (test_gui_playback.py)
        controller.stop()
        controller.call("setSource", QUrl())
        qtbot.waitUntil(
            lambda: player.mediaStatus() == QMediaPlayer.MediaStatus.NoMedia, timeout=5_000
        )
        qtbot.wait(200)
    controller.shutdown()


def test_a_missing_file_is_refused_with_the_reason(qtbot, playback, tmp_path):
    with qtbot.waitSignal(playback.message, timeout=1_000) as said:
        playback.toggle(1, tmp_path / "gone.wav", "gone.wav", "Gone")
    text, error = said.args
    assert error and text.startswith("cannot play gone.wav: the file is gone")
    assert playback.playing_id is None


def test_no_sound_device_is_said(qtbot, playback, tmp_path, monkeypatch):
    from app.gui.controllers import playback as module

    monkeypatch.setattr(module, "audio_output_devices", lambda: [])
    path = audio_factory.write_tone(tmp_path / "a.wav", 2.0, 22050, (440.0,), "wav")
    with qtbot.waitSignal(playback.message, timeout=1_000) as said:
        playback.toggle(1, path, "a.wav", "A")
    assert module.NO_AUDIO_DEVICE in said.args[0] and playback.playing_id is None


def test_play_pause_stop(qtbot, playback, tmp_path):
    path = audio_factory.write_tone(tmp_path / "a.wav", 8.0, 22050, (440.0,), "wav")
    with qtbot.waitSignal(playback.now_playing, timeout=5_000) as playing:
        playback.toggle(7, path, "a.wav", "A tone")
    assert playing.args == ["A tone"] and playback.playing_id == 7
    qtbot.waitUntil(lambda: playback.is_playing(7), timeout=10_000)
    assert not playback.is_playing(8)
    playback.toggle(7, path, "a.wav", "A tone")  # the same track again: pause
    qtbot.waitUntil(lambda: not playback.is_playing(7), timeout=10_000)
    assert playback.playing_id == 7
    with qtbot.waitSignal(playback.state_changed, timeout=5_000):
        playback.stop()
    assert playback.playing_id is None


def test_no_track_to_play_says_what_to_do(qtbot, playback):
    with qtbot.waitSignal(playback.message, timeout=1_000) as said:
        playback.toggle_track(None)
    assert said.args == ["Select a track to play", False]
