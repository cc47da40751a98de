"""The right-hand panel: the selected track, its cover, and the tags the model proposes.

Tags are grouped by the field they will be written to (Genre, Mood, ... by the kind routing of
`app.routing`, or all under one field the user forces), with the tags no field takes listed
last as "Not written". Each tag shows how likely the model thinks it is on one 0-1 scale, for
trained and new words alike; a new word (one the model was never trained on) is in italics and
says so on hover. Checked tags are written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.gui.models import format_duration
from app.gui.settings import BY_KIND, FIELDS
from app.routing import DEFAULT_ROUTES, Routes
from zsl_core.tags import display_form

COVER_SIZE = 112  # small enough that the tag list keeps its rows at 1024x640
MIN_TAG_ROWS = 5  # the tag list never gets shorter than this many rows
BY_KIND_TEXT = "Each kind to its own field"
NOT_WRITTEN = "Not written"
NOT_WRITTEN_TIP = "Instruments, decades and descriptions are not written unless Settings sends their kind to a field"
NEW_WORD_TIP = (
    "A new word: the model was never trained on it. Its confidence is read off the "
    "trained words nearest to it in meaning."
)
KIND_ROLE = Qt.ItemDataRole.UserRole + 1


def confidence_text(confidence: float) -> str:
    """How sure the model is, in words a listener reads at a glance."""
    if confidence >= 0.5:
        return "likely"
    if confidence >= 0.25:
        return "possible"
    return "unlikely"


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
        self.tags.setHeaderLabels(["Tag", "Confidence"])
        header = self.tags.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.tags.itemChanged.connect(self._item_changed)
        self.tags.setRootIsDecorated(True)
        row = max(self.fontMetrics().height() + 8, 22)
        self.tags.setMinimumHeight(row * MIN_TAG_ROWS + row + 8)  # + the header and the frame
        self.routes: Routes = dict(DEFAULT_ROUTES)
        self._prediction: tuple[int, Any, list[str]] | None = None

        self.field = QComboBox()
        self.field.setEditable(True)
        self.field.addItem(BY_KIND_TEXT)
        self.field.addItems(list(FIELDS))
        self.field.setToolTip(
            "Where checked tags are written: each kind to its own field (genres to "
            "Genre, moods to Mood; Settings > Tag kinds), or all into one field"
        )
        self.field.currentTextChanged.connect(self.field_changed)
        self.field.currentTextChanged.connect(self._regroup)
        self.write_button = QPushButton("Write tags")
        self.write_button.setToolTip(
            "Write the checked tags into the selected files; "
            "you see every change before anything is written"
        )
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

    def set_shortcut_hints(self, write: str, play: str) -> None:
        """The window's keys for Write and Play, in the buttons' tooltips (read off its actions)."""
        self.write_button.setToolTip(
            "Write the checked tags into the selected files"
            + (f" ({write})" if write else "")
            + "; you see every change before anything is written"
        )
        self.play_button.setToolTip("Play the selected track" + (f" ({play})" if play else ""))

    # --- filling -----------------------------------------------------------------------------
    def show_track(self, track: Any | None, selection_size: int = 1) -> None:
        """The track's facts; tags arrive later through show_prediction (computed in a worker)."""
        self.track_id = None if track is None else int(track.id)
        self._prediction = None
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
            return (
                f"{self.selection_size} tracks selected: each gets the tags you checked for it, or its own "
                "top proposals if you did not look at it."
            )
        return ""

    def show_prediction(
        self, track_id: int, prediction: Any | None, accepted: Sequence[str]
    ) -> None:
        """Fill the tag list; `accepted` are the tags checked (the user's choice or the proposal)."""
        if track_id != self.track_id:
            return  # the user moved on while it was computed
        self._prediction = (track_id, prediction, list(accepted))
        self._fill(prediction, accepted)

    def _fill(self, prediction: Any | None, accepted: Sequence[str]) -> None:
        self._filling = True
        self._clear_tags()
        chosen = {t.casefold() for t in accepted}
        if prediction is None:
            self.hint.setText("Not analysed with the current model yet: scan to see its tags.")
        else:
            forced = self.current_field()
            groups: dict[str, QTreeWidgetItem] = {}
            tags = sorted(
                [*prediction.seen, *prediction.unseen], key=lambda t: -(t.confidence or 0.0)
            )
            for tag in tags:
                target = forced or self.routes.get(tag.kind)
                name = (
                    target.capitalize() if target and ":" not in target else (target or NOT_WRITTEN)
                )
                group = groups.get(name)
                if group is None:
                    group = groups[name] = self._group(name)
                item = QTreeWidgetItem(
                    [display_form(tag.tag, tag.kind), confidence_text(tag.confidence or 0.0)]
                )
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(
                    0,
                    Qt.CheckState.Checked
                    if tag.tag.casefold() in chosen
                    else Qt.CheckState.Unchecked,
                )
                item.setData(0, Qt.ItemDataRole.UserRole, tag.tag)
                item.setData(0, KIND_ROLE, tag.kind.value)
                kind = tag.kind.value
                item.setToolTip(1, f"{(tag.confidence or 0.0):.0%} ({kind})")
                if not tag.seen:
                    font = QFont(item.font(0))
                    font.setItalic(True)
                    item.setFont(0, font)
                    item.setToolTip(0, f"{NEW_WORD_TIP} ({kind})")
                else:
                    item.setToolTip(0, kind)
                group.addChild(item)
            not_written = groups.pop(NOT_WRITTEN, None)
            for name in sorted(groups, key=self._group_order):
                self.tags.addTopLevelItem(groups[name])
                groups[name].setExpanded(True)
            if not_written is not None:
                not_written.setToolTip(0, NOT_WRITTEN_TIP)
                self.tags.addTopLevelItem(not_written)
                not_written.setExpanded(False)
        self._filling = False

    def _group(self, name: str) -> QTreeWidgetItem:
        group = QTreeWidgetItem([name, ""])
        group.setFlags(Qt.ItemFlag.ItemIsEnabled)
        font = QFont(self.tags.font())
        font.setBold(True)
        group.setFont(0, font)
        return group

    @staticmethod
    def _group_order(name: str) -> tuple[int, str]:
        order = [f.capitalize() for f in FIELDS]
        return (order.index(name), name) if name in order else (len(order), name)

    def set_routes(self, routes: Routes) -> None:
        """The kind -> field table (Settings); regroups the shown tags."""
        self.routes = dict(routes)
        self._regroup()

    def _regroup(self, *_args: object) -> None:
        if self._prediction is not None and self._prediction[0] == self.track_id:
            self._fill(
                self._prediction[1],
                self.accepted_tags() if self.tag_items() else self._prediction[2],
            )

    def set_cover(self, data: bytes | None) -> None:
        pixmap = QPixmap()
        if data and pixmap.loadFromData(data):
            self.cover.setPixmap(
                pixmap.scaled(
                    COVER_SIZE,
                    COVER_SIZE,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            )
        else:
            self.cover.setPixmap(QPixmap())
            self.cover.setText("no cover")

    def set_field(self, field: str) -> None:
        self.field.setCurrentText(field or BY_KIND_TEXT)

    # --- reading -----------------------------------------------------------------------------
    def accepted_tags(self) -> list[str]:
        return [
            item.data(0, Qt.ItemDataRole.UserRole)
            for item in self.tag_items()
            if item.checkState(0) == Qt.CheckState.Checked
        ]

    def tag_items(self) -> list[QTreeWidgetItem]:
        groups = [self.tags.topLevelItem(i) for i in range(self.tags.topLevelItemCount())]
        return [g.child(i) for g in groups for i in range(g.childCount())]

    def set_checked(self, tag: str, checked: bool) -> None:
        for item in self.tag_items():
            if item.data(0, Qt.ItemDataRole.UserRole) == tag:
                item.setCheckState(0, Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)

    def current_field(self) -> str:
        """The one field every tag is written to, or BY_KIND ("") for routing by kind."""
        text = self.field.currentText().strip()
        return BY_KIND if text in ("", BY_KIND_TEXT) else text

    def _clear_tags(self) -> None:
        self.tags.clear()

    def _item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if not self._filling and self.track_id is not None and item.parent() is not None:
            self.decisions_changed.emit(self.track_id)
