"""Help ▸ Keyboard shortcuts and Help ▸ About zsl-tagger.

The shortcut list is read off the window's actions (menus first, in menu order, then any other
action that has a key), so it always shows the keys the window really answers to.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import metadata
from typing import Any, cast

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QMenu,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

# what ships, and under which licence (README "Licence"; resources/README.md)
SHIPPED_LICENCES = (
    ("zsl-tagger's own code", "MIT", None),
    ("musicnn weights (the built-in tagger)", "ISC", ("models", "LICENSE-musicnn.txt")),
    (
        "all-MiniLM-L6-v2 sentence encoder and the vocabulary vectors made with it",
        "Apache-2.0",
        ("models", "minilm-l6-v2", "LICENSE"),
    ),
    ("GloVe 6B word vectors (subset)", "PDDL-1.0", ("vectors", "LICENSE-glove.txt")),
)


def _plain(text: str) -> str:
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…").rstrip(".")


def _keys(act: QAction) -> str:
    return ", ".join(
        s.toString(QKeySequence.SequenceFormat.NativeText)
        for s in act.shortcuts()
        if not s.isEmpty()
    )


def shortcut_rows(window: Any) -> list[tuple[str, str, str]]:
    """(menu, action, keys) for every action of `window` that has a shortcut: the menu bar's in
    menu order, then the others (actions on the window or its widgets)."""
    rows: list[tuple[str, str, str]] = []
    seen: set[int] = set()

    def walk(menu: QMenu, title: str) -> None:
        for act in menu.actions():
            if act.menu() is not None:
                walk(cast(QMenu, act.menu()), f"{title} ▸ {_plain(act.text())}")
            elif not act.isSeparator() and id(act) not in seen:
                seen.add(id(act))
                if _keys(act):
                    rows.append((title, _plain(act.text()), _keys(act)))

    for top in window.menuBar().actions():
        if top.menu() is not None:
            walk(top.menu(), _plain(top.text()))
    for act in window.findChildren(QAction):
        if id(act) not in seen and _keys(act) and act.text():
            seen.add(id(act))
            rows.append(("", _plain(act.text()), _keys(act)))
    return rows


class ShortcutsDialog(QDialog):
    """A table of every shortcut (menu, action, keys), built from the actions."""

    def __init__(self, rows: Sequence[tuple[str, str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.table = QTableWidget(len(rows), 3)
        self.table.setHorizontalHeaderLabels(["Menu", "Action", "Keys"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                self.table.setItem(r, c, QTableWidgetItem(text))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        note = QLabel(
            "Space plays while the library or the search results have the focus. In a text box "
            "Ctrl+Z first undoes your typing, then the last tag write."
        )
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self.resize(560, min(640, 120 + 26 * len(rows)))

    def rows(self) -> list[tuple[str, ...]]:
        return [
            tuple(cast(QTableWidgetItem, self.table.item(r, c)).text() for c in range(3))
            for r in range(self.table.rowCount())
        ]


def app_version() -> str:
    try:
        return metadata.version("zsl-tagger")
    except metadata.PackageNotFoundError:
        return "unknown (not installed as a package)"


def model_text(model: str) -> str:
    if model == "default":
        return "the built-in model (musicnn and VGG networks of the musicnn package and a speech detector; 71 trained tags)"
    return f"a model you trained or added: {model}"


def word_space_text(vectors: str) -> str:
    if not vectors:
        return "the built-in sentence model (all-MiniLM-L6-v2): reads any word or phrase"
    if vectors.strip().lower() == "glove":
        return "the built-in GloVe word vectors (6B, 50 dimensions, a subset)"
    return f"a word-vectors file: {vectors}"


def licence_rows() -> list[tuple[str, str, str]]:
    """(what, licence, the licence file shipped, or "")."""
    from zsl_core.resources import resource_path

    rows = []
    for what, licence, parts in SHIPPED_LICENCES:
        where = ""
        if parts is not None:
            path = resource_path(*parts)
            where = str(path) if path.is_file() else ""
        rows.append((what, licence, where))
    return rows


class AboutDialog(QDialog):
    """Version, the model and word space in use, and the licences of what ships."""

    def __init__(
        self, model: str, vectors: str, model_key: str, device: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("About zsl-tagger")
        from html import escape

        licences = "".join(
            f"<li>{escape(what)}: <b>{escape(lic)}</b>"
            + (f"<br><small>{escape(where)}</small>" if where else "")
            + "</li>"
            for what, lic, where in licence_rows()
        )
        self.text = (
            f"<h3>zsl-tagger {escape(app_version())}</h3>"
            "<p>Tags music with words it was never trained on, from the sound of each track.</p>"
            f"<p><b>Model:</b> {escape(model_text(model))}<br>"
            f"<b>New words</b> (how words it was not trained on are understood): "
            f"{escape(word_space_text(vectors))}<br>"
            f"<b>Results stored as:</b> {escape(model_key)} · <b>device:</b> {escape(device)}</p>"
            f"<p><b>Licences</b></p><ul>{licences}</ul>"
        )
        self.label = QLabel(self.text)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(buttons)
        self.resize(520, 420)

    def plain_text(self) -> str:
        from PySide6.QtGui import QTextDocument

        doc = QTextDocument()
        doc.setHtml(self.text)
        return doc.toPlainText()
