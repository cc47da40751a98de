"""The write preview on its own (no window): a reason a file cannot be written is readable."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt

from app.gui.write_preview import FILE, STATUS, WritePreviewDialog
from app.journal import PlannedChange

LONG = "/home/someone/Music/A very long artist name/An even longer album title (Deluxe Edition)"
REASON = (
    "cannot write: the file is read-only (permission denied); make it writable in your file "
    "manager, or copy it somewhere you can write, and scan again"
)


@pytest.mark.parametrize("size", [(1024, 640), (1400, 900)])
def test_the_reason_a_file_cannot_be_written_is_shown_whole(qtbot, size):
    """The reason sat in the last column, past a File column as wide as the longest path, cut
    off (whole only on hover). The File and value columns are capped, the reason wraps onto
    more lines of its row, and a details line under the table gives the selected row in full;
    the dialog opens on the first file that cannot be written."""
    planned = [
        PlannedChange(1, f"{LONG}/01 - First song.flac", "genre", ["Rock"], ["Rock", "Pop"], True),
        PlannedChange(2, f"{LONG}/02 - Second song.mp3", "genre", ["Jazz"], [], False, REASON),
    ]
    dialog = WritePreviewDialog(planned)
    qtbot.addWidget(dialog)
    dialog.resize(*size)
    dialog.show()
    qtbot.waitExposed(dialog)
    table = dialog.table
    viewport = table.viewport().width()
    reason_width = table.columnWidth(STATUS)
    assert table.columnViewportPosition(STATUS) + reason_width <= viewport + 1  # on screen
    assert reason_width >= 200
    row = next(i for i, r in enumerate(dialog.rows) if r.error)
    assert table.currentRow() == row
    metrics = table.fontMetrics()
    lines = -(-metrics.horizontalAdvance(REASON) // (reason_width - 12))  # ceiling
    assert table.rowHeight(row) >= min(lines, 3) * metrics.lineSpacing()  # wrapped, not cut
    assert REASON in dialog.details.text() and "02 - Second song.mp3" in dialog.details.text()
    table.setCurrentCell(1 - row, FILE)
    assert "will change" in dialog.details.text() and "01 - First song" in dialog.details.text()


def test_a_file_that_cannot_be_written_shows_no_values_it_will_not_get(qtbot):
    """A truncated Ogg showed "Classical; Jazz; Shoegaze" under "After writing" beside its
    reason: values it will never get. It shows what it holds now, and a file that can be
    written still shows its new values."""
    from app.gui.write_preview import NEW, OLD

    planned = [
        PlannedChange(1, "/music/ok.flac", "genre", ["Rock"], ["Rock", "Pop"], True),
        PlannedChange(
            2,
            "/music/cut.ogg",
            "genre",
            [],
            ["Classical", "Jazz", "Shoegaze"],
            True,
            "cannot read the file: it ends early (truncated)",
        ),
    ]
    dialog = WritePreviewDialog(planned)
    qtbot.addWidget(dialog)
    cell = dialog._cell
    texts = {cell(r, FILE).text(): r for r in range(dialog.table.rowCount())}
    bad, good = texts["/music/cut.ogg"], texts["/music/ok.flac"]
    assert cell(bad, NEW).text() == cell(bad, OLD).text() == "(empty)"
    assert "Shoegaze" not in cell(bad, NEW).toolTip()
    assert not cell(bad, NEW).flags() & Qt.ItemFlag.ItemIsEditable
    assert cell(good, NEW).text() == "Rock; Pop"
    assert [c.track_id for c in dialog.changes()] == [1]
