"""The right-hand panel: the selected track, its cover, and what will be written into each field.

Everything is grouped by the field it goes to (Genre, Mood, ... by the kind routing of
`app.routing`, or all under one field the user forces), with the proposals no field takes
listed last as "Not written". In each field: the values the file already holds (ticked; untick
one to remove it), the model's proposals (ticked ones are added), and values the person typed.
Each proposal shows how likely the model thinks it is on one scale, a word and a bar (the
number on hover), for trained and new words alike; a new word (one the model was never trained
on) is in italics and says once, on hover, what that means. The choice is an
`app.edits.Decision`: the window plans it per file (`app.edits`) and shows the preview.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QFont, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.edits import Decision, typed_values
from app.gui.models import format_duration
from app.gui.settings import BY_KIND, FIELDS
from app.routing import DEFAULT_ROUTES, Routes, fields_of
from app.states import TrackStatus
from zsl_core.tagger import Prediction
from zsl_core.tags import PROPOSE_FLOOR, TagKind, display_form

COVER_SIZE = 112  # small enough that the tag list keeps its rows at 1024x640
MIN_TAG_ROWS = 5  # the tag list never gets shorter than this many rows
BY_KIND_TEXT = "Each kind to its own field"
NOT_WRITTEN = "Not written"
NOT_WRITTEN_TIP = "Instruments, decades and descriptions are not written unless Settings sends their kind to a field"
KIND_LABELS = {  # as the Settings rows name each kind ("Instruments go to")
    TagKind.GENRE: "Genres",
    TagKind.MOOD: "Moods",
    TagKind.INSTRUMENT: "Instruments",
    TagKind.ERA: "Decades and eras",
    TagKind.CHARACTER: "Descriptions (fast, loud, ...)",
    TagKind.OTHER: "Other words",
}
NEW_WORD_TIP = "A new word: the model was never trained on it."
FAILED_HINT = (
    "This file could not be analysed (the reason is above), so the model has no tags for it; "
    "a rescan tries it again once the file changes."
)
IN_FILE_TEXT = "in the file"
IN_FILE_TIP = "Already in the file. Untick it to remove it from the file when you write."
REMOVED_TEXT = "to be removed"
TYPED_TEXT = "your value"
TYPED_TIP = "A value you typed; it is added when you write (untick it to leave it out)."
KIND_ROLE = Qt.ItemDataRole.UserRole + 1
ROW_ROLE = Qt.ItemDataRole.UserRole + 2  # PROPOSAL, IN_FILE or TYPED
FIELD_ROLE = Qt.ItemDataRole.UserRole + 3  # the field a group (and its rows) stands for
CONFIDENCE_ROLE = Qt.ItemDataRole.UserRole + 4  # 0-1, drawn as a bar
TICKED_ROLE = Qt.ItemDataRole.UserRole + 5  # a "Not written" proposal the model picked
PROPOSAL, IN_FILE, TYPED, HINT = "proposal", "file", "typed", "hint"


def route_hint(kinds: Sequence[TagKind]) -> tuple[str, str]:
    """The "Not written" group's one-line hint and its tooltip: how these words get a field."""
    rows = [f"“{KIND_LABELS[k]} go to”" for k in dict.fromkeys(kinds)]
    return (
        "Give their kind a field in Settings to write them",
        "No field takes these words, so Write leaves them out. Pick a field for their kind in "
        f"Settings ({', '.join(rows)}), or write every tag into one field with “Write into”, "
        "and they can be ticked.",
    )


def confidence_text(confidence: float) -> str:
    """How sure the model is, in words a listener reads at a glance. "unlikely" is what the
    picking rule never proposes (below `PROPOSE_FLOOR`), so no ticked suggestion is called
    unlikely (it was, from 0.15 to 0.25: "Metal, unlikely", ticked, on a metal song)."""
    if confidence >= 0.5:
        return "likely"
    if confidence >= PROPOSE_FLOOR:
        return "possible"
    return "unlikely"


def field_label(field: str | None) -> str:
    """'genre' -> 'Genre'; a custom field by its own name; None -> 'Not written'."""
    if not field:
        return NOT_WRITTEN
    return field.split(":", 1)[1] if field.startswith("custom:") else field.capitalize()


class ShownTrack(Protocol):
    """What the panel reads of its subject: a library `TrackRow`, or an album standing in for
    one (`album_view.AlbumSubject`)."""

    @property
    def id(self) -> int: ...
    @property
    def title(self) -> str | None: ...
    @property
    def artist(self) -> str | None: ...
    @property
    def album(self) -> str | None: ...
    @property
    def genre(self) -> str | None: ...
    @property
    def mood(self) -> str | None: ...
    @property
    def duration(self) -> float | None: ...
    @property
    def display_path(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def error(self) -> str | None: ...


def children(item: QTreeWidgetItem) -> list[QTreeWidgetItem]:
    """An item's children, in order (Qt types `child(i)` as optional; below `childCount` it is
    never None)."""
    return [c for c in (item.child(i) for i in range(item.childCount())) if c is not None]


def top_level_items(tree: QTreeWidget) -> list[QTreeWidgetItem]:
    """A tree's top-level items, in order (`topLevelItem(i)` is typed optional, as `child`)."""
    items = (tree.topLevelItem(i) for i in range(tree.topLevelItemCount()))
    return [item for item in items if item is not None]


def _parent_field(item: QTreeWidgetItem) -> str | None:
    """The field of the group a row sits in (None for a row outside any group)."""
    parent = item.parent()
    return None if parent is None else parent.data(0, FIELD_ROLE)


class ConfidenceDelegate(QStyledItemDelegate):
    """The confidence column: its word ("likely"), then a short bar as long as the confidence."""

    BAR = 40  # pixels

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        size = super().sizeHint(option, index)
        if index.data(CONFIDENCE_ROLE) is not None:
            size.setWidth(size.width() + self.BAR + 8)
        return size

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        value = index.data(CONFIDENCE_ROLE)
        if value is None:
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        text, opt.text = opt.text, ""
        style = opt.widget.style() if opt.widget else None
        if style is not None:  # background, selection, focus: as any other cell
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        rect = opt.rect.adjusted(4, 0, -4, 0)
        bar = QRect(rect.right() - self.BAR, rect.center().y() - 3, self.BAR, 6)
        painter.save()
        painter.fillRect(bar, opt.palette.color(QPalette.ColorRole.Midlight))
        filled = QRect(bar.left(), bar.top(), round(self.BAR * max(0.0, min(1.0, value))), 6)
        painter.fillRect(filled, opt.palette.color(QPalette.ColorRole.Highlight))
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        painter.setPen(opt.palette.color(role))
        painter.drawText(
            rect.adjusted(0, 0, -(self.BAR + 6), 0),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            text,
        )
        painter.restore()


class TrackPanel(QWidget):
    """Shows one track (the current one of the selection) and collects what to write.

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
        self._scope: tuple[int, str, tuple[str, str] | None] = (0, "tracks", None)
        self._filling = False
        self._failed = False  # the shown track could not be analysed (a scan will not help)
        self.current_values: dict[str, list[str]] = {}  # the file's values per field

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
        self.tags.setItemDelegateForColumn(1, ConfidenceDelegate(self.tags))
        self.tags.itemChanged.connect(self._item_changed)
        self.tags.setRootIsDecorated(True)
        row = max(self.fontMetrics().height() + 8, 22)
        self.tags.setMinimumHeight(row * MIN_TAG_ROWS + row + 8)  # + the header and the frame
        self.routes: Routes = dict(DEFAULT_ROUTES)
        self._prediction: tuple[int, Prediction | None, Decision] | None = None

        # "type your own value": a field and a value, added ticked to that field's group
        self.own_field = QComboBox()
        self.own_field.setToolTip("The field your value goes into")
        self.own_value = QLineEdit()
        self.own_value.setPlaceholderText("Your own value, e.g. Shoegaze")
        self.own_value.setToolTip(
            "Type a value and press Enter to add it; several at once with ';' between them"
        )
        self.own_value.returnPressed.connect(self._add_typed)
        self.add_button = QPushButton("Add")
        self.add_button.setToolTip("Add the value you typed to the chosen field")
        self.add_button.clicked.connect(self._add_typed)

        self.field = QComboBox()
        self.field.setEditable(True)
        self.field.addItem(BY_KIND_TEXT)
        self.field.addItems(list(FIELDS))
        self.field.setToolTip(
            "Where ticked suggestions are written: each kind to its own field (genres to "
            "Genre, moods to Mood; the “… go to” rows of Settings), or all into one field"
        )
        self.field.currentTextChanged.connect(self.field_changed)
        self.field.currentTextChanged.connect(self._regroup)
        self.all_selected = QCheckBox("Apply to all selected tracks")
        self.all_selected.setToolTip(
            "Write these changes into every selected track; each keeps its other values"
        )
        self.all_selected.toggled.connect(self._show_selection_hint)
        self.write_button = QPushButton("Write tags")
        self.write_button.setToolTip(
            "Write the ticked values into the selected files; "
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
        own = QHBoxLayout()
        own.addWidget(self.own_field)
        own.addWidget(self.own_value, 1)
        own.addWidget(self.add_button)
        form = QFormLayout()
        form.addRow("Write into", self.field)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.tags, 1)
        layout.addLayout(own)
        layout.addWidget(self.hint)
        layout.addLayout(form)
        layout.addWidget(self.all_selected)
        layout.addWidget(self.write_button)
        self.show_track(None)

    def set_shortcut_hints(self, write: str, play: str) -> None:
        """The window's keys for Write and Play, in the buttons' tooltips (read off its actions)."""
        self.write_button.setToolTip(
            "Write the ticked values into the selected files"
            + (f" ({write})" if write else "")
            + "; you see every change before anything is written"
        )
        self.play_button.setToolTip("Play the selected track" + (f" ({play})" if play else ""))

    # --- filling -----------------------------------------------------------------------------
    def show_track(self, track: ShownTrack | None, selection_size: int = 1) -> None:
        """The track's facts; tags arrive later through show_prediction (computed in a worker)."""
        self.track_id = None if track is None else int(track.id)
        self._failed = track is not None and track.status == TrackStatus.FAILED
        self._prediction = None
        self.current_values = {}
        self.selection_size = selection_size if track is not None else 0
        self._scope = (self.selection_size, "tracks", None)
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
            lines = [line for line in lines if line]  # no blank first line for a bare file
            if track.genre:
                lines.append(f"genre: {track.genre}")
            if track.mood:
                lines.append(f"mood: {track.mood}")
            lines.append(str(track.display_path))
            if track.status == TrackStatus.FAILED:
                lines.append(f"not analysed: {track.error}")
            self.details.setText("\n".join(lines))
            self.hint.setText(self._selection_hint())
        self._show_scope()
        for widget in (self.write_button, self.play_button, self.add_button):
            widget.setEnabled(track is not None)
        self.own_value.setEnabled(track is not None)
        self._fill_own_fields()

    def _show_selection_hint(self, *_args: object) -> None:
        self.hint.setText(self._selection_hint())

    def set_apply_scope(
        self, count: int, noun: str = "tracks", hints: tuple[str, str] | None = None
    ) -> None:
        """What "Apply to all selected" stands for: the `count` selected tracks (what
        `show_track` sets) or, from the album view, the selected albums. `hints`: the panel's
        hint without and with the box ticked (default: the tracks' hints)."""
        self._scope = (int(count), noun, hints)
        self._show_scope()
        self.hint.setText(self._selection_hint())

    def _show_scope(self) -> None:
        count, noun, _ = self._scope
        self.all_selected.setText(f"Apply to all selected {noun}")
        self.all_selected.setVisible(count > 1)
        if count <= 1:
            self.all_selected.setChecked(False)

    def _selection_hint(self) -> str:
        hints = self._scope[2]
        if hints is not None:
            return hints[1] if self.apply_to_all_selected() else hints[0]
        if self.selection_size > 1 and self.all_selected.isChecked():
            return (
                f"{self.selection_size} tracks selected: each gets the changes shown here, "
                "and keeps its other values."
            )
        if self.selection_size > 1:
            return (
                f"{self.selection_size} tracks selected: each gets what you ticked for it, or the "
                "model's best suggestions for it if you did not look at it."
            )
        return ""

    def show_prediction(
        self,
        track_id: int,
        prediction: Prediction | None,
        accepted: Sequence[str] | Decision,
        current: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        """Fill the tag list. `accepted`: the proposals ticked (the model's words), or the
        person's earlier `Decision` for this track; `current`: the file's values per field."""
        if track_id != self.track_id:
            return  # the user moved on while it was computed
        if current is not None:
            self.current_values = {f: list(v) for f, v in current.items()}
        decision = accepted if isinstance(accepted, Decision) else Decision(ticked=list(accepted))
        self._prediction = (track_id, prediction, decision)
        self._fill(prediction, decision)

    def shown_fields(self) -> list[str]:
        """The fields the panel has a group for: the one forced field, or every routed one."""
        forced = self.current_field()
        return [forced] if forced else fields_of(self.routes)

    def _fill(self, prediction: Prediction | None, decision: Decision) -> None:
        self._filling = True
        self._clear_tags()
        chosen = {t.casefold() for t in decision.ticked}
        forced = self.current_field()
        groups: dict[str | None, QTreeWidgetItem] = {}
        unrouted: list[TagKind] = []  # the kinds of the "Not written" proposals
        fields = list(self.shown_fields())
        for field in [*decision.typed, *decision.removed]:
            if field not in fields:
                fields.append(field)
        for field in fields:
            group = groups[field] = self._group(field)
            removed = {v.casefold() for v in decision.removed.get(field, [])}
            for value in self.current_values.get(field, []):
                item = self._value_row(value, IN_FILE)
                item.setCheckState(
                    0,
                    Qt.CheckState.Unchecked
                    if value.casefold() in removed
                    else Qt.CheckState.Checked,
                )
                group.addChild(item)
        if prediction is None:
            self.hint.setText(
                FAILED_HINT
                if self._failed
                else "Not analysed with the current model yet: Rescan library (F5) to see its tags."
            )
        else:
            tags = sorted(
                [*prediction.seen, *prediction.unseen], key=lambda t: -(t.confidence or 0.0)
            )
            for tag in tags:
                target = forced or self.routes.get(tag.kind)
                value = display_form(tag.tag, tag.kind)
                in_file = self._find(groups[target], value, IN_FILE) if target in groups else None
                if in_file is not None:
                    if in_file.data(1, CONFIDENCE_ROLE) is None:  # the model agrees with the file
                        self._set_confidence(in_file, tag.confidence or 0.0, tag.kind.value)
                        in_file.setText(1, f"{IN_FILE_TEXT}, {in_file.text(1)}")
                    continue
                if target not in groups:
                    groups[target] = self._group(target)
                group = groups[target]
                item = QTreeWidgetItem([value, ""])
                ticked = tag.tag.casefold() in chosen
                if target is None:
                    # no field takes its kind: Write leaves it out, so no tick box (a tick read
                    # as "will be written"), greyed; the model's pick is kept for when the user
                    # routes the kind or forces one field (`_regroup`)
                    item.setFlags(Qt.ItemFlag.NoItemFlags)
                    item.setData(0, TICKED_ROLE, ticked)
                    unrouted.append(tag.kind)
                else:
                    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
                    item.setCheckState(
                        0, Qt.CheckState.Checked if ticked else Qt.CheckState.Unchecked
                    )
                item.setData(0, Qt.ItemDataRole.UserRole, tag.tag)
                item.setData(0, KIND_ROLE, tag.kind.value)
                item.setData(0, ROW_ROLE, PROPOSAL)
                item.setData(0, FIELD_ROLE, target)
                self._set_confidence(item, tag.confidence or 0.0, tag.kind.value)
                if not tag.seen:
                    font = QFont(item.font(0))
                    font.setItalic(True)
                    item.setFont(0, font)
                    item.setToolTip(0, f"{value} ({tag.kind.value})\n{NEW_WORD_TIP} {tag.origin()}")
                else:
                    item.setToolTip(0, f"{value} ({tag.kind.value})\n{tag.origin()}")
                group.addChild(item)
        for field, values in decision.typed.items():
            for value in values:
                self._add_typed_row(groups[field], value)
        # a field with nothing to list (no value in the file, no proposal, nothing typed) gets
        # no header: an empty "Mood" reads as a mood that was left blank; "type your own value"
        # still offers it (`_fill_own_fields`), and adding a value there brings the group back
        groups = {f: g for f, g in groups.items() if g.childCount()}
        not_written = groups.pop(None, None)
        for shown in sorted(groups, key=self._group_order):
            self.tags.addTopLevelItem(groups[shown])
            groups[shown].setExpanded(True)
        if not_written is not None:
            not_written.setToolTip(0, NOT_WRITTEN_TIP)
            text, tip = route_hint(unrouted)
            hint = QTreeWidgetItem([text, ""])
            hint.setFlags(Qt.ItemFlag.ItemIsEnabled)
            hint.setData(0, ROW_ROLE, HINT)
            hint.setToolTip(0, tip)
            font = QFont(hint.font(0))
            font.setItalic(True)
            hint.setFont(0, font)
            not_written.insertChild(0, hint)
            self.tags.addTopLevelItem(not_written)
            hint.setFirstColumnSpanned(True)
            not_written.setExpanded(False)
        for item in self.value_items():
            self._show_removal(item)
        self._filling = False
        self._fill_own_fields()

    @staticmethod
    def _set_confidence(item: QTreeWidgetItem, confidence: float, kind: str) -> None:
        item.setText(1, confidence_text(confidence))
        item.setData(1, CONFIDENCE_ROLE, float(confidence))
        item.setToolTip(1, f"{confidence:.0%} ({kind})")

    def _value_row(self, value: str, row: str) -> QTreeWidgetItem:
        item = QTreeWidgetItem([value, IN_FILE_TEXT if row == IN_FILE else TYPED_TEXT])
        item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
        item.setData(0, ROW_ROLE, row)
        item.setData(0, Qt.ItemDataRole.UserRole, value)
        # the value itself first: a long one ("Female Fronted Metal") is cut off in a narrow panel
        item.setToolTip(0, f"{value}\n{IN_FILE_TIP if row == IN_FILE else TYPED_TIP}")
        return item

    def _add_typed_row(self, group: QTreeWidgetItem, value: str) -> QTreeWidgetItem:
        item = self._value_row(value, TYPED)
        item.setData(0, FIELD_ROLE, group.data(0, FIELD_ROLE))
        item.setCheckState(0, Qt.CheckState.Checked)
        group.addChild(item)
        return item

    @staticmethod
    def _find(group: QTreeWidgetItem, value: str, row: str) -> QTreeWidgetItem | None:
        for child in children(group):
            if child.data(0, ROW_ROLE) == row and child.text(0).casefold() == value.casefold():
                return child
        return None

    def _group(self, field: str | None) -> QTreeWidgetItem:
        group = QTreeWidgetItem([field_label(field), ""])
        group.setFlags(Qt.ItemFlag.ItemIsEnabled)
        group.setData(0, FIELD_ROLE, field)
        font = QFont(self.tags.font())
        font.setBold(True)
        group.setFont(0, font)
        return group

    @staticmethod
    def _group_order(field: str | None) -> tuple[int, str]:
        order = list(FIELDS)
        name = field or ""
        return (order.index(name), name) if name in order else (len(order), name)

    def _groups(self) -> dict[str | None, QTreeWidgetItem]:
        return {item.data(0, FIELD_ROLE): item for item in top_level_items(self.tags)}

    def _fill_own_fields(self) -> None:
        shown = [*self.shown_fields(), *(f for f in self._groups() if f)]
        wanted = sorted(dict.fromkeys(shown), key=self._group_order)
        current = self.own_field.currentData()
        if [self.own_field.itemData(i) for i in range(self.own_field.count())] != wanted:
            self.own_field.blockSignals(True)
            self.own_field.clear()
            for field in wanted:
                self.own_field.addItem(field_label(field), field)
            if current in wanted:
                self.own_field.setCurrentIndex(wanted.index(current))
            self.own_field.blockSignals(False)

    def set_routes(self, routes: Routes) -> None:
        """The kind -> field table (Settings); regroups the shown tags."""
        self.routes = dict(routes)
        self._regroup()

    def _regroup(self, *_args: object) -> None:
        if self._prediction is not None and self._prediction[0] == self.track_id:
            decision = self.decision() if self._groups() else self._prediction[2]
            # the "Not written" words the model picked come back ticked once a field takes them
            picked = [i.data(0, Qt.ItemDataRole.UserRole) for i in self._unrouted()]
            ticked = list(dict.fromkeys([*decision.ticked, *picked]))
            self._fill(self._prediction[1], Decision(ticked, decision.typed, decision.removed))

    def _unrouted(self) -> list[QTreeWidgetItem]:
        """The proposals in "Not written" (no tick box) that the model picked."""
        return [i for i in self.tag_items() if i.data(0, TICKED_ROLE)]

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

    # --- editing -----------------------------------------------------------------------------
    def add_value(self, field: str, text: str) -> list[str]:
        """Add typed values ("Rock; Pop") to a field, ticked; a value the file holds is ticked
        again instead (un-removed), one already typed is not repeated. Returns those added."""
        if self.track_id is None:
            return []
        groups = self._groups()
        group = groups.get(field)
        if group is None:  # in field order, before "Not written"
            group = self._group(field)
            after = [f for f in groups if f and self._group_order(f) < self._group_order(field)]
            self.tags.insertTopLevelItem(len(after), group)
            group.setExpanded(True)
        added = []
        self._filling = True
        for value in typed_values(text):
            existing = self._find(group, value, IN_FILE) or self._find(group, value, TYPED)
            if existing is None:
                proposal = next(
                    (
                        c
                        for c in children(group)
                        if c.data(0, ROW_ROLE) == PROPOSAL
                        and c.text(0).casefold() == value.casefold()
                    ),
                    None,
                )
                existing = proposal
            if existing is not None:
                existing.setCheckState(0, Qt.CheckState.Checked)
            else:
                self._add_typed_row(group, value)
            added.append(value)
        self._filling = False
        self._fill_own_fields()
        if added and self.track_id is not None:
            self.decisions_changed.emit(self.track_id)
        return added

    def _add_typed(self) -> None:
        field = self.own_field.currentData()
        if field and self.add_value(field, self.own_value.text()):
            self.own_value.clear()

    def remove_value(self, field: str, value: str) -> bool:
        """Untick a value the file holds, so that the write removes it. False if not there."""
        group = self._groups().get(field)
        item = None if group is None else self._find(group, value, IN_FILE)
        if item is None:
            return False
        item.setCheckState(0, Qt.CheckState.Unchecked)
        return True

    # --- reading -----------------------------------------------------------------------------
    def decision(self) -> Decision:
        """What the person chose: ticked proposals, typed values and removed file values."""
        typed: dict[str, list[str]] = {}
        removed: dict[str, list[str]] = {}
        for field, group in self._groups().items():
            if not field:
                continue  # "Not written": proposals only, nothing typed or removed
            for item in children(group):
                checked = item.checkState(0) == Qt.CheckState.Checked
                if item.data(0, ROW_ROLE) == TYPED and checked:
                    typed.setdefault(field, []).append(item.text(0))
                elif item.data(0, ROW_ROLE) == IN_FILE and not checked:
                    removed.setdefault(field, []).append(item.text(0))
        return Decision(self.accepted_tags(), typed, removed)

    def apply_to_all_selected(self) -> bool:
        """True when the person asked for these changes in every selected track (or, in the
        album view, in every track of every selected album)."""
        return self._scope[0] > 1 and self.all_selected.isChecked()

    def accepted_tags(self) -> list[str]:
        """The ticked proposals, as the model's words (never a "Not written" one: no field
        takes it, it has no tick box and Write leaves it out)."""
        return [
            item.data(0, Qt.ItemDataRole.UserRole)
            for item in self.tag_items()
            if item.checkState(0) == Qt.CheckState.Checked
        ]

    def tag_items(self) -> list[QTreeWidgetItem]:
        """The model's proposals (not the file's values nor typed ones: `value_items`)."""
        return [i for i in self._rows() if i.data(0, ROW_ROLE) == PROPOSAL]

    def value_items(self, field: str | None = None) -> list[QTreeWidgetItem]:
        """The rows of the file's own values and of typed values (of one field, if given)."""
        return [
            i
            for i in self._rows()
            if i.data(0, ROW_ROLE) in (IN_FILE, TYPED)
            and (field is None or _parent_field(i) == field)
        ]

    def _rows(self) -> list[QTreeWidgetItem]:
        return [item for group in top_level_items(self.tags) for item in children(group)]

    def set_checked(self, tag: str, checked: bool) -> None:
        for item in self.tag_items():
            if item.data(0, Qt.ItemDataRole.UserRole) != tag:
                continue
            if item.flags() & Qt.ItemFlag.ItemIsUserCheckable:
                item.setCheckState(0, Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
            else:  # "Not written": no tick box, the choice is kept for a forced field
                item.setData(0, TICKED_ROLE, checked)

    def current_field(self) -> str:
        """The one field every tag is written to, or BY_KIND ("") for routing by kind."""
        text = self.field.currentText().strip()
        return BY_KIND if text in ("", BY_KIND_TEXT) else text

    def _clear_tags(self) -> None:
        self.tags.clear()

    @staticmethod
    def _show_removal(item: QTreeWidgetItem) -> None:
        """An unticked value of the file says that the write takes it out."""
        if item.data(0, ROW_ROLE) != IN_FILE:
            return
        removed = item.checkState(0) != Qt.CheckState.Checked
        if removed and item.text(1) != REMOVED_TEXT:
            item.setData(1, Qt.ItemDataRole.UserRole, item.text(1))
            item.setText(1, REMOVED_TEXT)
        elif not removed and item.text(1) == REMOVED_TEXT:
            item.setText(1, item.data(1, Qt.ItemDataRole.UserRole) or IN_FILE_TEXT)

    def _item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if column == 0:
            was, self._filling = self._filling, True
            self._show_removal(item)
            self._filling = was
        if not self._filling and self.track_id is not None and item.parent() is not None:
            self.decisions_changed.emit(self.track_id)
