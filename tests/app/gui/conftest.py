"""The real main window on a fresh library and settings in tmp_path, shown offscreen (the GUI tests
share it; each test file adds what it needs around it)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# tests/app/libfixtures.py (tagged test tracks) for the GUI tests too, also when run on their own
_APP_TESTS = str(Path(__file__).resolve().parent.parent)
if _APP_TESTS not in sys.path:
    sys.path.insert(0, _APP_TESTS)

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")


@pytest.fixture(autouse=True)
def an_audio_device(monkeypatch):
    """The window refuses to play when Qt sees no sound output (it would "play" to nowhere).
    Test machines have none, so the tests of the player pretend one is there; Qt's FFmpeg
    backend still opens and decodes the file. test_gui_polish.py takes it away again."""
    from app.gui.controllers import playback

    monkeypatch.setattr(playback, "audio_output_devices", lambda: ["a test device"])


@pytest.fixture
def main_window(qtbot, tmp_path):
    from app.gui import create_app
    from app.gui.main_window import MainWindow
    from app.gui.settings import Settings

    create_app()
    win = MainWindow(Settings(tmp_path / "settings.ini"), db_path=tmp_path / "library.sqlite3")
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.loaded, timeout=30_000)
    yield win
    win.close()


@pytest.fixture
def window(main_window):
    """The same window under the name most tests use (a test file may override `window`)."""
    return main_window
