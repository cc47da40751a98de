"""What a table of tracks has selected, read as track ids (a view helper: it reads widgets)."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex
from PySide6.QtWidgets import QAbstractItemView

from app.gui.models import TRACK_ID_ROLE


def selected_track_ids(view: QAbstractItemView) -> list[int]:
    """The selected rows' track ids, in selection order, each once."""
    rows = view.selectionModel().selectedRows()
    return list(dict.fromkeys(int(index.data(TRACK_ID_ROLE)) for index in rows))


def current_track_id(view: QAbstractItemView) -> int | None:
    """The track the panel should show: the current row when it is selected, else the first
    selected row; None when nothing is selected."""
    selection = view.selectionModel()
    index = selection.currentIndex()
    if index.isValid() and selection.isRowSelected(index.row(), QModelIndex()):
        return int(index.data(TRACK_ID_ROLE))
    selected = selection.selectedRows()
    return int(selected[0].data(TRACK_ID_ROLE)) if selected else None
