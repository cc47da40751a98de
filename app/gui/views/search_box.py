"""The toolbar's search field (a view: a line edit with its hint)."""

from __future__ import annotations

from PySide6.QtWidgets import QLineEdit, QWidget

SEARCH_PLACEHOLDER = (
    "Search by sound or name: “calm piano”, “artist:muse fast”, “genre:rock -live” (Ctrl+F)"
)


class SearchBox(QLineEdit):
    """Typing searches (the window binds `textChanged` and `returnPressed` to the search
    controller); Ctrl+F puts the cursor here with the text selected (`focus_all`)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPlaceholderText(SEARCH_PLACEHOLDER)
        self.setClearButtonEnabled(True)
        self.setMinimumWidth(240)

    def focus_all(self) -> None:
        self.setFocus()
        self.selectAll()
