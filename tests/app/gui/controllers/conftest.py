"""Controllers on their own, without a window: a real Library in tmp_path, real generated audio,
the real default model; the tests drive each controller by its slots and wait on its signals."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

import audio_factory

SCAN_TIMEOUT_MS = 90_000


def write_folder(folder: Path, n: int, seconds: float = 3.0) -> Path:
    """n short WAV tones that sound different from each other."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        freqs = ((220.0,), (440.0, 660.0), (880.0,), (330.0, 990.0), (1200.0,))[i % 5]
        audio_factory.write_tone(folder / f"track{i:02d}.wav", seconds, 22050, freqs, "wav")
    return folder


@pytest.fixture
def make_folder(tmp_path):
    """make_folder(name, n): n short WAV tones in tmp_path/name."""
    return lambda name, n: write_folder(tmp_path / name, n)


@pytest.fixture
def settings(tmp_path):
    from app.gui.settings import Settings

    return Settings(tmp_path / "settings.ini")


@pytest.fixture
def library(qtbot, settings, tmp_path):
    """An open LibraryController on an empty index."""
    from app.gui import create_app
    from app.gui.controllers import LibraryController

    create_app()
    controller = LibraryController(settings, tmp_path / "library.sqlite3")
    with qtbot.waitSignal(controller.opened, timeout=30_000):
        controller.open()
    yield controller
    controller.shutdown()


@pytest.fixture
def music(tmp_path):
    return write_folder(tmp_path / "music", 3)


@pytest.fixture
def scan(library, settings):
    from app.gui.controllers import ScanController

    controller = ScanController(library, settings)
    yield controller
    controller.shutdown()


@pytest.fixture
def scanned(qtbot, library, scan, music):
    """The library after a scan of `music` (3 tracks): the rows, read back as the window would."""
    with qtbot.waitSignal(library.rows_reloaded, timeout=SCAN_TIMEOUT_MS) as reloaded:
        scan.start_scan([str(music)])
    rows = reloaded.args[0]
    assert len(rows) == 3
    return rows
