"""Learn from my library: the dialog trains a real (tiny) model from the tracks' own genre tags
in child processes (split, train with frozen musicnn features, evaluate), shows the held-out
metrics, and offers the model; Cancel ends a running training."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PySide6")

import audio_factory

from app.gui.dialogs import LearnDialog
from app.library import TrackRow


def Row(*fields, has_cover: bool = False, status: str = "ok", error: str | None = None) -> TrackRow:
    """A library row as `Library.tracks()` returns it, without a library."""
    return TrackRow(*fields, has_cover=has_cover, status=status, error=error)


GENRES = [
    ("rock", (110.0, 220.0)),
    ("jazz", (330.0, 415.0)),
    ("ambient", (880.0,)),
    ("techno", (1500.0, 60.0)),
]


def tagged_rows(folder: Path, per_genre: int = 4) -> list[Row]:
    folder.mkdir()
    rows = []
    for genre, freqs in GENRES:
        for k in range(per_genre):
            path = audio_factory.write_tone(
                folder / f"{genre}{k}.wav",
                3.5,
                16000,
                tuple(f * (1 + 0.03 * k) for f in freqs),
                "wav",
            )
            mood = "calm" if genre in ("ambient", "jazz") else "energetic"
            rows.append(
                Row(len(rows) + 1, path, str(path), f"{genre} {k}", None, None, genre, mood, 3.5)
            )
    return rows


def test_gui_learn_trains_evaluates_and_offers_model(qtbot, tmp_path):
    rows = tagged_rows(tmp_path / "music")
    dialog = LearnDialog(lambda: rows, tmp_path / "models", device="cpu")
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.epochs.setValue(2)
    offered = []
    dialog.use_model.connect(offered.append)
    dialog.start()
    assert dialog.is_running()
    qtbot.waitUntil(lambda: dialog.start_button.isEnabled(), timeout=240_000)
    text = dialog.output.toPlainText()
    assert dialog.use_button.isEnabled(), f"{dialog.status.text()}\n{text[-2000:]}"
    assert (dialog.model_dir / "config.json").is_file()
    metrics = dialog.metrics.text()  # in plain words: a percentage, what 50% means, no "AUC"
    assert "kept back from the lesson" in metrics and "50% is guessing" in metrics
    assert "AUC" not in metrics and "unseen" not in metrics
    dialog.use_button.click()
    assert offered == [str(dialog.model_dir)]


def test_gui_learn_refuses_too_few_and_cancels(qtbot, tmp_path):
    rows = tagged_rows(tmp_path / "music", per_genre=1)
    dialog = LearnDialog(lambda: rows, tmp_path / "models", device="cpu")
    qtbot.addWidget(dialog)
    dialog.start()  # the examples are collected off the GUI thread; the refusal comes back
    qtbot.waitUntil(lambda: "Not enough" in dialog.status.text(), timeout=10_000)
    assert not dialog.is_running() and dialog.start_button.isEnabled()
    more = tagged_rows(tmp_path / "more", per_genre=4)
    dialog.tracks_provider = lambda: more
    dialog.start()
    assert dialog.is_running()
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: dialog.start_button.isEnabled(), timeout=30_000)
    assert "cancelled" in dialog.status.text()


def test_gui_learn_cancel_while_collecting_examples(qtbot, tmp_path):
    rows = tagged_rows(tmp_path / "music", per_genre=4)
    dialog = LearnDialog(lambda: rows, tmp_path / "models", device="cpu")
    qtbot.addWidget(dialog)
    dialog.start()
    assert dialog.is_running() and not dialog.start_button.isEnabled()
    dialog.cancel()  # before the preparing thread has reported back
    qtbot.waitUntil(lambda: dialog.start_button.isEnabled(), timeout=10_000)
    assert "cancelled" in dialog.status.text() and dialog.process is None
