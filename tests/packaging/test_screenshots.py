"""packaging/screenshots.py regenerates the README's screenshots; its helpers must keep working
with the Qt in use (a type-stub-driven change once made QImage.save raise and nobody noticed)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

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
