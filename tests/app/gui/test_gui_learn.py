"""File > Learn from my library through the real window: the offer before training, the refusal
of a library that cannot teach anything, a progress bar with a measured ETA and a Cancel that
ends the training at once, the comparison with the built-in model in plain words, and a switch
to the new model that is confirmed first and can be undone."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

import audio_factory

from app import learn

GENRES = {
    "rock": (110.0, 220.0),
    "jazz": (330.0, 415.0),
    "ambient": (880.0,),
}  # 12 tracks, 5 values (3 genres, 2 moods): about the smallest library that can teach


def tag_wav(path: Path, title: str, genre: str, mood: str) -> None:
    import mutagen
    from mutagen.id3 import TCON, TIT2, TMOO

    audio = mutagen.File(str(path))
    audio.add_tags()
    audio.tags.add(TIT2(encoding=3, text=[title]))
    audio.tags.add(TCON(encoding=3, text=[genre]))
    audio.tags.add(TMOO(encoding=3, text=[mood]))
    audio.save()


def tagged_folder(folder: Path, genres=tuple(GENRES), per_genre: int = 4) -> Path:
    folder.mkdir()
    for genre in genres:
        for k in range(per_genre):
            freqs = tuple(f * (1 + 0.03 * k) for f in GENRES[genre])
            path = audio_factory.write_tone(folder / f"{genre}{k}.wav", 3.5, 16000, freqs, "wav")
            mood = "calm" if genre in ("ambient", "jazz") else "energetic"
            tag_wav(path, f"{genre} {k}", genre, mood)
    return folder


def scanned_window(window, qtbot, folder: Path, n: int):
    window.add_folder(str(folder))
    qtbot.waitUntil(
        lambda: window.last_scan is not None and not window.is_scanning(), timeout=400_000
    )
    qtbot.waitUntil(lambda: window.track_model.rowCount() == n, timeout=10_000)
    return window


def open_dialog(window, qtbot):
    window.learn_action.trigger()
    dialog = window.learn_dialog
    qtbot.waitUntil(lambda: dialog.offer is not None, timeout=20_000)
    return dialog


def visible_text(dialog) -> str:
    labels = (dialog.offer_label, dialog.verdict_label, dialog.status, dialog.result_label)
    return "\n".join(w.text() for w in (*labels, dialog.details_label, dialog.confirm_label))


def test_gui_learn_refuses_a_one_genre_library(window, qtbot, tmp_path):
    scanned_window(window, qtbot, tagged_folder(tmp_path / "music", ("rock",), 3), 3)
    dialog = open_dialog(window, qtbot)
    assert "3 of 3 tracks carry 2 distinct genre/mood value(s)" in dialog.offer_label.text()
    assert dialog.verdict_label.text().startswith("Cannot learn from this library yet.")
    assert not dialog.start_button.isEnabled() and dialog.start_button.toolTip()
    dialog.field_boxes["mood"].setChecked(False)  # the offer follows the fields
    qtbot.waitUntil(lambda: "1 distinct genre value" in dialog.offer_label.text(), timeout=10_000)
    assert "same genre (rock)" in dialog.verdict_label.text()
    dialog.start()  # refused: nothing starts
    assert not dialog.is_running() and not dialog.use_button.isEnabled()
    dialog.reject()


def test_gui_learn_cancels_trains_compares_switches_and_back(window, qtbot, tmp_path):
    scanned_window(window, qtbot, tagged_folder(tmp_path / "music"), 12)
    assert not window.switch_back_action.isEnabled()  # nothing switched yet
    dialog = open_dialog(window, qtbot)
    assert dialog.offer.can_learn and dialog.start_button.isEnabled()
    assert "12 of 12 tracks carry 5 distinct genre/mood value(s)" in dialog.offer_label.text()
    assert "held out to test it and the built-in model" in dialog.offer_label.text()
    assert not dialog.back_button.isVisible()  # the built-in model is in use
    # Cancel ends a running training within a second, pool workers included
    dialog.epochs.setValue(500)
    dialog.start_button.click()
    qtbot.waitUntil(
        lambda: dialog.process is not None and dialog.bar.maximum() > 0, timeout=200_000
    )
    pid = dialog.process.process.pid
    started = time.monotonic()
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: dialog.start_button.isEnabled(), timeout=5_000)
    assert time.monotonic() - started < 1.5
    assert dialog.status.text() == "Training stopped: cancelled."
    assert not dialog.use_button.isEnabled() and window.settings.model == "default"
    qtbot.waitUntil(lambda: not group_alive(pid), timeout=2_000)
    # Cancel before the examples are even written: nothing is started
    dialog.start()
    assert dialog.is_running() and not dialog.start_button.isEnabled()
    dialog.cancel()
    qtbot.waitUntil(lambda: dialog.start_button.isEnabled(), timeout=10_000)
    assert "cancelled" in dialog.status.text() and dialog.process is None

    dialog.epochs.setValue(3)
    seen = []
    dialog.bar.valueChanged.connect(
        lambda _: seen.append((dialog.bar.maximum(), dialog.status.text()))
    )
    started = time.monotonic()
    dialog.start_button.click()
    assert time.monotonic() - started < 1.0 and dialog.status.text() == "Starting the training…"
    assert dialog.bar.maximum() == 0 and dialog.cancel_button.isEnabled()  # busy, at once
    qtbot.waitUntil(lambda: dialog.use_button.isEnabled(), timeout=400_000)
    assert any("Listening to your tracks" in text for _, text in seen), seen
    assert any("Training: round" in text and "left" in text for _, text in seen), seen
    assert any(" s left" in text for _, text in seen)  # an ETA, measured
    text = visible_text(dialog)
    assert "{" not in text and '"' not in text  # plain words, no JSON
    comparison = dialog.comparison
    assert dialog.result_label.text() == comparison.sentence()
    assert f"on {comparison.tracks} tracks it never learned from" in dialog.result_label.text()
    assert f"Your model: {learn.percent(comparison.yours)}" in dialog.result_label.text()
    assert "%" in dialog.result_label.text() and "0." not in dialog.result_label.text()
    assert learn.SCORE_MEANING in dialog.details_label.text()
    assert "words it learned" in dialog.details_label.text()
    # switching is deliberate: the first click only asks
    dialog.use_button.click()
    assert dialog.confirm_box.isVisible() and window.settings.model == "default"
    if comparison.recommended != "yours":
        assert dialog.use_button.text() == "Use it anyway…"
        assert dialog.confirm_label.text().startswith("Not recommended:")
    dialog.keep_button.click()
    assert not dialog.confirm_box.isVisible() and window.settings.model == "default"
    dialog.use_button.click()
    dialog.confirm_button.click()
    model_dir = str(Path(comparison.model_dir))
    assert window.settings.model == model_dir and window.settings.previous_model == "default"
    assert model_dir in window.settings.trained_models
    assert window.switch_back_action.isEnabled()
    assert window.switch_back_action.text() == "Switch &back to the built-in model"
    window.switch_back_action.trigger()  # at once: the rescan with the new model is cancelled  # the way back
    assert window.settings.model == "default" and window.settings.previous_model == model_dir
    qtbot.waitUntil(lambda: not window.is_scanning(), timeout=400_000)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_model_chosen_in_settings_can_be_switched_back(window, qtbot, tmp_path):
    """File > Switch back undoes a model switch made in the Settings dialog as well as one made
    by Learn: the dialog records the model it replaced."""
    other = str(tmp_path / "my-model")  # a model folder (this one holds no model: it fails)
    assert not window.switch_back_action.isEnabled()
    window.settings_action.trigger()
    qtbot.waitUntil(
        lambda: window.settings_dialog is not None and window.settings_dialog.isVisible()
    )
    window.settings_dialog.model.setCurrentText(other)
    window.settings_dialog.accept()
    assert window.settings.model == other and window.settings.previous_model == "default"
    assert window.switch_back_action.isEnabled()
    assert window.switch_back_action.text() == "Switch &back to the built-in model"
    window.switch_back_action.trigger()
    assert window.settings.model == "default" and window.settings.previous_model == other
    qtbot.waitUntil(
        lambda: window.library is not None and window.library.model_name.startswith("default"),
        timeout=30_000,
    )
    # the dialog left unchanged records nothing
    window.settings_action.trigger()
    qtbot.waitUntil(lambda: window.settings_dialog is not None)
    window.settings_dialog.accept()
    assert window.settings.model == "default" and window.settings.previous_model == other
