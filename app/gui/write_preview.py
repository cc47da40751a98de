"""The write preview: every planned change, one row per file and field, before anything is written.

A row can be unticked (that file's field is left alone) or its new values typed over ("Rock;
Pop", split like a field's text by `app.edits.typed_values`). What the dialog shows when the
person presses Write is what is written: the window plans the edited rows again with exactly
those values (`app.edits.replan_rows`, still expecting the old values shown, so a file changed
meanwhile is refused) and writes everything through `app.journal.write_batch`, journaled and
undoable like every other write.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.edits import typed_values
from app.gui.track_panel import field_label
from app.journal import PlannedChange
from zsl_core.tags import join_values

FILE, FIELD, OLD, NEW, STATUS = range(5)
EMPTY = "(empty)"
WILL_CHANGE = "will change"
EDITED = "will change (edited)"
ALREADY = "already holds these values"
LEFT_ALONE = "left alone (unticked)"
DETAILS_HINT = "Select a row to read its file and what happens to it in full."
MAX_WIDTHS = {FILE: 280, FIELD: 120, OLD: 180, NEW: 180}  # pixels; "What happens" takes the rest
NOT_WRITTEN_TIP = "Not written: this file keeps the values it holds now (see What happens)."
NEW_TIP = "Double-click to change what is written; separate values with ';'. Leave it empty to clear the field."


def _values(values: Sequence[str]) -> str:
    return join_values(values) if values else EMPTY


class WritePreviewDialog(QDialog):
    """Every planned change, old -> new; untick rows or edit their new values, then Write."""

    def __init__(self, planned: Sequence[PlannedChange], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Write tags: check the changes")
        changes = [p for p in planned if p.changed and not p.error]
        errors = [p for p in planned if p.error]
        rest = [p for p in planned if not p.changed and not p.error]
        # a file that cannot be written keeps what it holds: "After writing" shows its values now,
        # never the values it will not get
        self.rows = [
            replace(p, old=list(p.old), new=list(p.old if p.error else p.new))
            for p in changes + errors + rest
        ]
        self._edited: set[int] = set()
        self._filling = True
        layout = QVBoxLayout(self)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.table = QTableWidget(len(self.rows), 5, self)
        self.table.setHorizontalHeaderLabels(
            ["File", "Field", "Now", "After writing", "What happens"]
        )
        header_new = self.table.horizontalHeaderItem(NEW)
        assert header_new is not None  # set by setHorizontalHeaderLabels above
        header_new.setToolTip(NEW_TIP)
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        self.table.verticalHeader().setVisible(False)
        plain = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        for row, item in enumerate(self.rows):
            cells = [
                item.display_path,
                field_label(item.field),
                _values(item.old),
                _values(item.new),
            ]
            for column, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                cell.setToolTip(text)
                cell.setFlags(plain)
                self.table.setItem(row, column, cell)
            self.table.setItem(row, STATUS, QTableWidgetItem(""))
            self._cell(row, STATUS).setFlags(plain)
            if not item.error:
                file_cell = self._cell(row, FILE)
                file_cell.setFlags(plain | Qt.ItemFlag.ItemIsUserCheckable)
                file_cell.setCheckState(Qt.CheckState.Checked)
                self._cell(row, NEW).setFlags(plain | Qt.ItemFlag.ItemIsEditable)
                self._cell(row, NEW).setToolTip(NEW_TIP)
            else:
                self._cell(row, NEW).setToolTip(NOT_WRITTEN_TIP)
            self._show_status(row)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.table.resizeColumnsToContents()
        # a long path or value is cut (whole on hover and in the details line): "What happens"
        # keeps the rest of the width, and a long reason wraps onto more lines of its row
        for column, widest in MAX_WIDTHS.items():
            self.table.setColumnWidth(column, min(self.table.columnWidth(column), widest))
        self.table.setWordWrap(True)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        # rows fit their wrapped text once the widths are known (shown, a column resized), at
        # most once per burst of resizes (not ResizeToContents: a plan of 5,000 rows)
        self._fit_rows = QTimer(self)
        self._fit_rows.setSingleShot(True)
        self._fit_rows.setInterval(50)
        self._fit_rows.timeout.connect(self.table.resizeRowsToContents)
        header.sectionResized.connect(lambda *_: self._fit_rows.start())
        self.table.itemChanged.connect(self._cell_changed)
        self.table.currentCellChanged.connect(self._show_details)
        layout.addWidget(self.table)
        # the selected row in full: its file, field and what happens (a reason is never cut)
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.PlainText)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.details)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.write_button = buttons.addButton("Write", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self._filling = False
        self._update_summary()
        failed = next((i for i, r in enumerate(self.rows) if r.error), None)
        if self.rows:  # the first file that cannot be written, else the first row
            self.table.setCurrentCell(0 if failed is None else failed, FILE)
        self._show_details()
        self.resize(900, 420)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.table.resizeRowsToContents()

    def _cell(self, row: int, column: int) -> QTableWidgetItem:
        """A cell of the table (__init__ fills every one; Qt's lookup is typed optional)."""
        cell = self.table.item(row, column)
        assert cell is not None, (row, column)
        return cell

    # --- editing ---------------------------------------------------------------------------------
    def set_row_checked(self, row: int, checked: bool) -> None:
        """Tick or untick a row (an unticked row's file is not written)."""
        self._cell(row, FILE).setCheckState(
            Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked
        )

    def set_row_values(self, row: int, text: str) -> None:
        """Type over a row's new values, as a person does by double-clicking the cell."""
        self._cell(row, NEW).setText(text)

    def _cell_changed(self, cell: QTableWidgetItem) -> None:
        if self._filling:
            return
        row = cell.row()
        item = self.rows[row]
        if cell.column() == NEW and not item.error:
            values = [] if cell.text().strip() == EMPTY else typed_values(cell.text())
            item.new, item.changed = values, values != item.old
            self._edited.add(row)
            self._filling = True
            cell.setText(_values(values))  # as it will be written: split, repeats dropped
            cell.setToolTip(_values(values))
            self._filling = False
        self._show_status(row)
        self._update_summary()

    def _checked(self, row: int) -> bool:
        cell = self._cell(row, FILE)
        return not self.rows[row].error and cell.checkState() == Qt.CheckState.Checked

    def _show_status(self, row: int) -> None:
        item = self.rows[row]
        if item.error:
            text = item.error
        elif not self._checked(row):
            text = LEFT_ALONE
        elif item.changed:
            text = EDITED if row in self._edited else WILL_CHANGE
        else:
            text = ALREADY
        was, self._filling = self._filling, True
        self._cell(row, STATUS).setText(text)
        self._cell(row, STATUS).setToolTip(text)
        self._filling = was
        if hasattr(self, "details"):  # a row changed after the table was filled
            self.table.resizeRowToContents(row)
            if row == self.table.currentRow():
                self._show_details()

    def _show_details(self, *_args: object) -> None:
        row = self.table.currentRow()
        if not 0 <= row < len(self.rows):
            self.details.setText(DETAILS_HINT)
            return
        item = self.rows[row]
        self.details.setText(
            f"{item.display_path}\n{field_label(item.field)}: {self._cell(row, STATUS).text()}"
        )

    def _update_summary(self) -> None:
        writing = self.changes()
        files = len({c.track_id for c in writing})
        errors = sum(1 for r in self.rows if r.error)
        left = sum(
            1 for i in range(len(self.rows)) if not self.rows[i].error and not self._checked(i)
        )
        parts = [f"{files} file(s) will change ({len(writing)} field(s))"]
        if left:
            parts.append(f"{left} left alone")
        if errors:
            parts.append(f"{errors} cannot be written")
        self.summary.setText(
            ", ".join(parts)
            + ". Untick a row to leave it alone, double-click a new value to change it."
        )
        self.write_button.setText(f"Write {files} file(s)")
        self.write_button.setEnabled(bool(writing))

    # --- reading ---------------------------------------------------------------------------------
    def changes(self) -> list[PlannedChange]:
        """The rows to write, as shown (edited values included), in the table's order."""
        return [r for i, r in enumerate(self.rows) if self._checked(i) and r.changed]

    def edited(self) -> list[PlannedChange]:
        """The rows among `changes()` whose new values were typed here: plan them again."""
        return [
            r
            for i, r in enumerate(self.rows)
            if i in self._edited and self._checked(i) and r.changed
        ]
