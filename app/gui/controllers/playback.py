"""The playback controller: one QMediaPlayer, the track it plays, and the reasons a track cannot
play, said in words (Qt's own "Could not open file" does not say what to do).

The player is made on the first Play (Qt Multimedia loads its backend then, not at start-up).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QUrl, Signal

NO_AUDIO_DEVICE = (
    "no audio output device was found: connect speakers or headphones (or check the "
    "system's sound settings), then press Play again"
)


def audio_output_devices() -> list[Any]:
    """The sound outputs Qt Multimedia sees now (empty: nothing would be heard)."""
    from PySide6.QtMultimedia import QMediaDevices

    return list(QMediaDevices.audioOutputs())


def unplayable_reason(path: str | Path) -> str | None:
    """Why the file cannot be handed to the player, found with one stat (no read), or None."""
    try:
        target = Path(path)
        if not target.exists():
            return "the file is gone (moved or deleted since the scan; rescan with F5)"
        if not target.is_file():
            return "not a file"
        if not os.access(target, os.R_OK):
            return "no permission to read the file"
        str(target).encode("utf-8")
    except UnicodeEncodeError:
        return "its name is not valid UTF-8, which Qt Multimedia cannot open (rename the file)"
    except (OSError, ValueError) as exc:
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return None


class PlaybackController(QObject):
    """Play, pause, stop one track at a time.

    Signals: state_changed() (playing or not: the Play button's text follows),
    now_playing(title), message(str, error).
    """

    state_changed = Signal()
    now_playing = Signal(str)
    message = Signal(str, bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.player: Any = None
        self.audio_output: Any = None
        self.playing_id: int | None = None
        self._playing_name = "the track"

    def _ensure_player(self) -> bool:
        if self.player is not None:
            return True
        try:
            from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer
        except ImportError as exc:
            self._error(f"cannot play: Qt Multimedia is not available ({exc})")
            return False
        self.player = QMediaPlayer(self)
        self.audio_output = QAudioOutput(self)
        self.player.setAudioOutput(self.audio_output)
        # Queued, to methods of this object: the FFmpeg backend emits these from its own
        # threads, and a Python slot called there can outlive its callable when the window
        # closes (a segfault in PySide's signal dispatch was caught in a core dump).
        queued = Qt.ConnectionType.QueuedConnection
        self.player.errorOccurred.connect(self._player_error, queued)
        self.player.playbackStateChanged.connect(self._playback_state_changed, queued)
        return True

    def _error(self, text: str) -> None:
        self.message.emit(text, True)

    def _playback_state_changed(self, _state: Any) -> None:
        self.state_changed.emit()

    def _player_error(self, error: Any, text: str) -> None:
        """Qt could not open or decode the file: say which track and why, and forget it as the
        playing one, so that Play tries again (and reports again) instead of doing nothing."""
        from PySide6.QtMultimedia import QMediaPlayer

        if error == QMediaPlayer.Error.NoError:
            return
        reason = text or "unknown error"
        if error == QMediaPlayer.Error.FormatError:
            reason = f"Qt Multimedia cannot play this file's format ({reason})"
        name = self._playing_name if self.playing_id is not None else "the track"
        self._error(f"cannot play {name}: {reason}")
        self.playing_id = None
        self.state_changed.emit()

    def is_playing(self, track_id: int | None) -> bool:
        """Whether this track is the one playing now (not paused, not stopped)."""
        if self.player is None or self.playing_id is None or self.playing_id != track_id:
            return False
        from PySide6.QtMultimedia import QMediaPlayer

        return self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState

    def toggle(self, track_id: int, path: Any, name: str, title: str) -> None:
        """Play the track (`name`: how messages call it), or pause/resume it when it is the one
        playing."""
        if not self._ensure_player():
            return
        from PySide6.QtMultimedia import QMediaPlayer

        if not audio_output_devices():  # Qt would "play" to nowhere and say nothing
            if self.playing_id is not None:
                self.stop()
            self._error(f"cannot play {name}: {NO_AUDIO_DEVICE}")
            self.state_changed.emit()
            return
        if self.playing_id == track_id:
            if self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState:
                self.call("pause")
                return
            self.call("play")
            return
        problem = unplayable_reason(path)
        if problem is not None:
            self._error(f"cannot play {name}: {problem}")
            return
        url = QUrl.fromLocalFile(str(path))
        if self.player.source() == url:  # the same file again (after an error): Qt reopens it
            self.call("setSource", QUrl())  # only so
        self.playing_id = track_id
        self._playing_name = name
        self.call("setSource", url)
        self.call("play")
        self.now_playing.emit(title)

    def toggle_track(self, track: Any) -> None:
        """Play or pause a track row (`app.library` Track): messages call it by its file name,
        "Playing" by its title. No row: say what to do."""
        if track is None:
            self.message.emit("Select a track to play", False)
            return
        name = Path(str(track.display_path)).name
        self.toggle(int(track.id), track.path, name, track.title or track.display_path)

    def stop(self) -> None:
        if self.player is not None:
            self.call("stop")
        self.playing_id = None
        self.state_changed.emit()

    def call(self, name: str, *args: Any) -> None:
        """Call a QMediaPlayer slot through Qt's meta-object system, which PySide runs without
        holding Python's lock. Called directly, stop()/setSource() hold it while Qt tears down
        the FFmpeg renderer thread, and that thread needs it too (to look for Python overrides
        in its clean-up): the window then hangs or crashes now and then."""
        from PySide6.QtCore import Q_ARG, QMetaObject

        QMetaObject.invokeMethod(
            self.player,
            name,
            Qt.ConnectionType.DirectConnection,
            *[Q_ARG(QUrl, arg) for arg in args],
        )

    def shutdown(self) -> None:
        """No Python slot may run from the player's threads from now on; media unloaded (its
        threads end), player deleted by the event loop."""
        if self.player is not None:
            for signal in (self.player.errorOccurred, self.player.playbackStateChanged):
                try:
                    signal.disconnect()
                except (RuntimeError, TypeError):
                    pass
        self.stop()
        if self.player is not None:
            self.call("setSource", QUrl())
            self.player.deleteLater()
            self.audio_output.deleteLater()
            self.player = self.audio_output = None
