"""ModelController: settings applied (a new model reopens and rescans, a new vocabulary only
refreshes the proposals, new folders are scanned), a trained model switched to and back."""

from __future__ import annotations

import pytest


@pytest.fixture
def model(library, scan, settings):
    from app.gui.controllers import ModelController

    return ModelController(library, scan, settings)


def _said(controller) -> list[str]:
    said: list[str] = []
    controller.message.connect(lambda text, _error: said.append(text))
    return said


def test_switch_back_is_offered_only_with_an_earlier_model(qtbot, model, settings):
    assert model.switch_back_label() == ("Switch &back to the previous model", False)  # none
    said = _said(model)
    model.switch_back()
    assert said == ["No earlier model to switch back to"] and settings.model == "default"
    settings.switch_model("/models/mine")
    with qtbot.waitSignal(model.switch_back_changed, timeout=1_000) as changed:
        model.announce_switch_back()
    assert changed.args == ["Switch &back to the built-in model", True]


def test_a_trained_model_reopens_the_library_and_back(qtbot, model, library, settings, tmp_path):
    trained = str(tmp_path / "trained")
    said = _said(model)
    outcome: list[str] = []
    library.opened.connect(lambda *_: outcome.append("opened"))
    library.open_failed.connect(lambda _text: outcome.append("failed"))
    with qtbot.waitSignals([model.reanalysing, model.switch_back_changed], timeout=5_000):
        model.use_trained(trained)
    assert settings.model == trained and settings.previous_model == "default"
    assert said == [
        f"Switched to the trained model: model {trained}; analysing the library with it"
    ]
    qtbot.waitUntil(lambda: bool(outcome), timeout=30_000)  # reopened (with that model or not)
    with qtbot.waitSignal(model.switch_back_changed, timeout=5_000) as changed:
        model.switch_back()
    assert settings.model == "default" and changed.args == [
        "Switch &back to the previous model",
        True,
    ]
    assert said[-1] == "Switched back: model default; analysing the library with it"
    qtbot.waitUntil(lambda: len(outcome) == 2, timeout=30_000)


def test_a_new_vocabulary_refreshes_the_proposals_only(qtbot, model, scan, settings):
    said = _said(model)
    reanalysed: list[bool] = []
    model.reanalysing.connect(lambda: reanalysed.append(True))
    with qtbot.waitSignal(model.proposals_changed, timeout=1_000):
        model.settings_applied({"vocabulary"}, set(settings.folders))
    assert said == ["Settings saved"] and not reanalysed and not scan.is_running()


def test_folders_added_in_settings_are_scanned(qtbot, model, scan, settings, music):
    before = set(settings.folders)
    settings.add_folder(str(music))
    with qtbot.waitSignal(scan.started, timeout=5_000):
        model.settings_applied(set(), before)
    assert scan.worker is not None and scan.worker.folders == [str(music)]
    qtbot.waitUntil(lambda: not scan.is_running(), timeout=90_000)


def test_new_model_settings_analyse_every_folder_again(
    qtbot, model, scan, library, settings, music
):
    settings.add_folder(str(music))
    said = _said(model)
    with qtbot.waitSignals([model.reanalysing, library.opened, scan.started], timeout=30_000):
        model.settings_applied({"precision"}, set(settings.folders))
    assert scan.worker is not None and scan.worker.folders == [str(music)]
    assert (
        said[0].startswith("Model settings changed: model default") and said[-1] == "Settings saved"
    )
    qtbot.waitUntil(lambda: not scan.is_running(), timeout=90_000)
