"""packaging/screenshots.py regenerates the README's screenshots; its helpers must keep working
with the Qt in use (a type-stub-driven change once made QImage.save raise and nobody noticed)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("PySide6")

SCRIPT = Path(__file__).resolve().parents[2] / "packaging" / "screenshots.py"


def _script():
    spec = importlib.util.spec_from_file_location("screenshots_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cover_png_is_a_png_image(qapp):
    data = _script().cover_png("#aa3322")
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 100


def test_a_folder_of_ones_own_is_shown_and_left_untouched(qapp, tmp_path):
    """`--folder DIR`: the views of a given folder (here three generated tracks and a damaged
    file, which opens the log), chosen by title; DIR itself is copied, never written."""
    script = _script()
    script.TRACKS = script.TRACKS[:3]  # Morning Light, Glass Bells (Still Water), Engine Room
    music = tmp_path / "music"
    script.make_library_folder(music, seconds=3.0)
    (music / "broken").mkdir()
    (music / "broken" / "empty.mp3").write_bytes(b"")
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in music.rglob("*") if p.is_file()}
    out = tmp_path / "shots"
    code = script.main(
        [
            "--folder",
            str(music),
            "--out",
            str(out),
            "--query",
            "Rust Belt",
            "--select",
            "engine room",
            "--tag",
            "Glass Bells",
            "--tag",
            "Morning Light",
            "--own",
            "Ambient",
            "--album",
            "Still Water",
        ]
    )
    assert code == 0
    for name in ("main", "search", "tagging", "write_preview", "albums"):
        data = (out / f"{name}.png").read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) <= script.MAX_BYTES
    after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in music.rglob("*") if p.is_file()}
    assert after == before


def test_a_title_not_in_the_folder_is_named(qapp):
    from PySide6.QtGui import QStandardItem, QStandardItemModel

    model = QStandardItemModel()
    for title in ("Fear", "Orphanage"):
        model.appendRow(QStandardItem(title))
    view = SimpleNamespace(model=lambda: model)
    script = _script()
    assert script.row_of(view, "orphanage") == 1 and script.row_of(view, None, default=0) == 0
    with pytest.raises(SystemExit, match="no track titled 'Imperia'.*Fear, Orphanage"):
        script.row_of(view, "Imperia")
