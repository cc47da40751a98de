"""app.gui.dialogs: what the History dialog says of a batch, in words a listener reads (the
journal keeps its own "merge"/"replace"; the row through the real window is in
test_gui_window.py)."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from app.gui.dialogs import mode_text


def test_history_says_how_a_batch_changed_its_fields_in_words():
    assert mode_text("merge") == "values added"
    assert mode_text("replace") == "values changed or removed"
    assert mode_text("merge, replace") == "values added, changed or removed"
