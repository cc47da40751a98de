"""The right-hand panel: the selected track, its cover, and the tags the model proposes.

Seen tags (words the network was trained on, scored by its probabilities) and unseen tags
(any other word, scored by cosine in word space; zero-shot) are listed in two groups, because
their scores are not on one scale. Each tag has a checkbox: checked tags are written.
"""

from __future__ import annotations

from typing import Any, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QPixmap
from PySide6.QtWidgets import (QComboBox, QFormLayout, QHBoxLayout, QLabel, QPushButton, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from app.gui.models import format_duration
from app.gui.settings import FIELDS

COVER_SIZE = 180


class TrackPanel(QWidget):
    """Shows one track (the current one of the selection) and collects the accepted tags.

    Signals: write_requested, play_requested, field_changed(str), decisions_changed(int track id).
    """

    write_requested = Signal()
    play_requested = Signal()
    field_changed = Signal(str)
    decisions_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.track_id: int | None = None
        self.selection_size = 0
        self._filling = False

        self.cover = QLabel()
        self.cover.setFixedSize(COVER_SIZE, COVER_SIZE)
        self.cover.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.cover.setFrameShape(QLabel.Shape.StyledPanel)
        self.cover.setText("no cover")
        self.heading = QLabel("No track selected")
        self.heading.setWordWrap(True)
        self.heading.setTextFormat(Qt.TextFormat.PlainText)
        bold = QFont(self.heading.font())
        bold.setBold(True)
        self.heading.setFont(bold)
        self.details = QLabel("")
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.PlainText)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.tags = QTreeWidget()
        self.tags.setColumnCount(2)
        self.tags.setHeaderLabels(["Tag", "Score"])
        self.tags.setRootIsDecorated(False)
        self.tags.itemChanged.connect(self._item_changed)
        self.seen_group = QTreeWidgetItem(["Seen tags (trained words)", ""])
        self.unseen_group = QTreeWidgetItem(["Unseen tags (zero-shot words) ✱", ""])
        for group in (self.seen_group, self.unseen_group):
            group.setFlags(Qt.ItemFlag.ItemIsEnabled)
            font = QFont(self.tags.font())
            font.setBold(True)
            group.setFont(0, font)
            self.tags.addTopLevelItem(group)
        self.tags.setRootIsDecorated(True)

        self.field = QComboBox()
        self.field.setEditable(True)
        self.field.addItems(list(FIELDS))
        self.field.currentTextChanged.connect(self.field_changed)
        self.write_button = QPushButton("Write tags")
        self.write_button.setToolTip("Write the checked tags into the selected files (Ctrl+W); "
                                     "you see every change before anything is written")
        self.write_button.clicked.connect(self.write_requested)
        self.play_button = QPushButton("Play")
        self.play_button.setToolTip("Play the selected track (Space)")
        self.play_button.clicked.connect(self.play_requested)
        self.hint = QLabel("")
        self.hint.setWordWrap(True)

        top = QHBoxLayout()
        top.addWidget(self.cover)
        text = QVBoxLayout()
        text.addWidget(self.heading)
        text.addWidget(self.details, 1)
        text.addWidget(self.play_button, 0, Qt.AlignmentFlag.AlignLeft)
        top.addLayout(text, 1)
        form = QFormLayout()
        form.addRow("Write into", self.field)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.tags, 1)
        layout.addWidget(self.hint)
        layout.addLayout(form)
        layout.addWidget(self.write_button)
        self.show_track(None)

    # --- filling -----------------------------------------------------------------------------
    def show_track(self, track: Any | None, selection_size: int = 1) -> None:
        """The track's facts; tags arrive later through show_prediction (computed in a worker)."""
        self.track_id = None if track is None else int(track.id)
        self.selection_size = selection_size if track is not None else 0
        self._clear_tags()
        self.set_cover(None)
        if track is None:
            self.heading.setText("No track selected")
            self.details.setText("")
            self.hint.setText("")
        else:
            self.heading.setText(track.title or str(track.display_path).rsplit("/", 1)[-1])
            facts = [track.artist, track.album, format_duration(track.duration)]
            lines = [" · ".join(str(f) for f in facts if f)]
            if track.genre:
                lines.append(f"genre: {track.genre}")
            if track.mood:
                lines.append(f"mood: {track.mood}")
            lines.append(str(track.display_path))
            if getattr(track, "status", "ok") == "failed":
                lines.append(f"not analysed: {track.error}")
            self.details.setText("\n".join(lines))
            self.hint.setText(self._selection_hint())
        self.write_button.setEnabled(track is not None)
        self.play_button.setEnabled(track is not None)

    def _selection_hint(self) -> str:
        if self.selection_size > 1:
            return (f"{self.selection_size} tracks selected: each gets the tags you checked for it, or its own "
                    "top proposals if you did not look at it.")
        return ""

    def show_prediction(self, track_id: int, prediction: Any | None, accepted: Sequence[str]) -> None:
        """Fill the tag list; `accepted` are the tags checked (the user's choice or the proposal)."""
        if track_id != self.track_id:
            return  # the user moved on while it was computed
        self._filling = True
        self._clear_tags()
        chosen = {t.casefold() for t in accepted}
        if prediction is None:
            self.hint.setText("Not analysed with the current model yet: scan to see its tags.")
        else:
            for group, scores in ((self.seen_group, prediction.seen), (self.unseen_group, prediction.unseen)):
                for tag in scores:
                    item = QTreeWidgetItem([tag.tag, f"{tag.score:.3f}"])
                    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
                    item.setCheckState(0, Qt.CheckState.Checked if tag.tag.casefold() in chosen
                                       else Qt.CheckState.Unchecked)
                    item.setData(0, Qt.ItemDataRole.UserRole, tag.tag)
                    if not tag.seen:
                        font = QFont(item.font(0))
                        font.setItalic(True)
                        item.setFont(0, font)
                        item.setToolTip(0, "unseen word: scored zero-shot, from word vectors")
                    group.addChild(item)
            if prediction.missing_words:
                self.hint.setText(f"No vector for: {', '.join(prediction.missing_words[:10])}")
        self.seen_group.setExpanded(True)
        self.unseen_group.setExpanded(True)
        self.tags.resizeColumnToContents(0)
        self._filling = False

    def set_cover(self, data: bytes | None) -> None:
        pixmap = QPixmap()
        if data and pixmap.loadFromData(data):
            self.cover.setPixmap(pixmap.scaled(COVER_SIZE, COVER_SIZE, Qt.AspectRatioMode.KeepAspectRatio,
                                               Qt.TransformationMode.SmoothTransformation))
        else:
            self.cover.setPixmap(QPixmap())
            self.cover.setText("no cover")

    def set_field(self, field: str) -> None:
        self.field.setCurrentText(field)

    # --- reading -----------------------------------------------------------------------------
    def accepted_tags(self) -> list[str]:
        out = []
        for group in (self.seen_group, self.unseen_group):
            for i in range(group.childCount()):
                item = group.child(i)
                if item.checkState(0) == Qt.CheckState.Checked:
                    out.append(item.data(0, Qt.ItemDataRole.UserRole))
        return out

    def tag_items(self) -> list[QTreeWidgetItem]:
        return [g.child(i) for g in (self.seen_group, self.unseen_group) for i in range(g.childCount())]

    def set_checked(self, tag: str, checked: bool) -> None:
        for item in self.tag_items():
            if item.data(0, Qt.ItemDataRole.UserRole) == tag:
                item.setCheckState(0, Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)

    def current_field(self) -> str:
        return self.field.currentText().strip() or "genre"

    def _clear_tags(self) -> None:
        for group in (self.seen_group, self.unseen_group):
            group.takeChildren()

    def _item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if not self._filling and self.track_id is not None and item.parent() is not None:
            self.decisions_changed.emit(self.track_id)
