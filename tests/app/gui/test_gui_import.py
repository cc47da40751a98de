"""File > Import analysis: parts made by `zsl-core embed` on "another machine" come into the window.

Real parts of generated tracks, made by the command line with the built-in model; the files are
then copied (mtimes kept) to another folder, as if the catalogue were mounted elsewhere here.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

import audio_factory
from PySide6.QtWidgets import QDialogButtonBox

from app.gui.models import column_of
from zsl_core.cli import main as core_main
from zsl_core.index import TrackIndex


@pytest.fixture
def parts(tmp_path):
    worker_side = tmp_path / "cluster" / "music"
    worker_side.mkdir(parents=True)
    for i, freq in enumerate((220.0, 660.0, 1320.0)):
        audio_factory.write_tone(worker_side / f"t{i}.wav", 3.0, 22050, (freq,), "wav")
    made = []
    for i in range(2):
        out = tmp_path / f"part-{i}.npz"
        assert (
            core_main(
                [
                    "embed",
                    str(worker_side),
                    "--shard",
                    f"{i}/2",
                    "--windows",
                    "1",
                    "--device",
                    "cpu",
                    "--out",
                    str(out),
                    "--quiet",
                ]
            )
            == 0
        )
        made.append(str(out))
    here = tmp_path / "home" / "Music"
    shutil.copytree(worker_side, here)  # copy2 keeps the mtimes, like rsync -a
    other = TrackIndex.load(made[0])
    other.info["model_key"] = "default+bf16"
    other.save(tmp_path / "other-model.npz")
    return worker_side, here, made, str(tmp_path / "other-model.npz")


def test_import_parts_from_another_machine(window, qtbot, parts):
    worker_side, here, made, other = parts
    window.open_import()
    dialog = window.import_dialog
    ok = dialog.box.button(QDialogButtonBox.StandardButton.Ok)
    assert dialog.isVisible() and not ok.isEnabled()
    dialog.add_parts([other])
    assert (
        "default+bf16" in dialog.list.item(0).text() and not ok.isEnabled()
    )  # refused, with the reason
    dialog.add_parts(made)
    assert ok.isEnabled() and dialog.parts() == made
    listed = [dialog.list.item(i).text() for i in range(1, 3)]
    assert "part 1 of 2" in listed[0] and "part 2 of 2" in listed[1]  # plain words, from 1
    assert not any("shard" in text for text in listed)
    assert dialog.old_root.text() == str(worker_side)  # from the parts' headers
    dialog.new_root.setText(str(here / "nowhere"))
    ok.click()
    assert dialog.isVisible() and "no such folder" in dialog.problem.text()
    dialog.new_root.setText(str(here))
    assert dialog.path_map() == [f"{worker_side}={here}"]
    ok.click()
    qtbot.waitUntil(
        lambda: window.last_import is not None and not window.is_scanning(), timeout=60_000
    )
    assert (window.last_import.imported, window.last_import.skipped) == (3, 0)
    qtbot.waitUntil(lambda: window.track_model.rowCount() == 3, timeout=10_000)
    shown = {Path(window.track_model.track(r).path) for r in range(3)}
    assert shown == {here / f"t{i}.wav" for i in range(3)}
    # predicted tags come from the imported analysis (no audio decoded)
    qtbot.waitUntil(
        lambda: all(window.track_model.index(r, column_of("predicted")).data() for r in range(3)),
        timeout=20_000,
    )
    assert "3 imported" in window.statusBar().currentMessage()
    assert window.settings.folders == [str(here)]  # Rescan (F5) now covers the imported tracks


def test_import_reports_files_changed_since(window, qtbot, parts):
    worker_side, here, made, _ = parts
    (here / "t1.wav").write_bytes((here / "t1.wav").read_bytes())  # same audio, new mtime
    window.start_import(made, [f"{worker_side}={here}"])
    qtbot.waitUntil(
        lambda: window.last_import is not None and not window.is_scanning(), timeout=60_000
    )
    assert window.last_import.imported == 2
    assert [Path(p).name for p, _ in window.last_import.changed] == ["t1.wav"]
    assert "left for the next rescan" in window.statusBar().currentMessage()
    assert any("t1.wav" in line for line in window.log_view.lines())
