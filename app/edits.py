"""What the user decided to write for a track, field by field: the proposals ticked, the values
typed, the file's values taken out.

Why a set of changes and not a list of final values: the same decision is applied to many
files ("apply to all selected", "apply to the album's tracks"), and each file keeps its own
other values. "Add Rock, remove Pop" means that for every file; "the genre is Rock" would wipe
what each file held. A `FieldEdit` is therefore read against each file's current values when
the write is planned (`FieldEdit.apply`), by the one multi-value rule: typed text is split as
`zsl_core.tags.split_values` splits a field, values already there are kept as they are (never
re-split, so "Hip-Hop/Rap" in a file stays one value), repeats are dropped ignoring case
(`app.tagwriter.merge_values`).

The plan is a list of `app.journal.PlannedChange`, one per file and field, written by
`app.journal.write_batch` like every other write: journaled, refused when the file changed
since, undone byte for byte. No Qt here; the track panel and the preview dialog use this.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path

from app.journal import JournalLibrary, PlannedChange, plan_values
from app.tagwriter import (
    TagError,
    WriteOptions,
    merge_values,
    read_field,
    read_fields,
)
from zsl_core.tags import join_values, split_values

__all__ = [
    "FieldEdit",
    "TrackEdit",
    "Decision",
    "typed_values",
    "edit_from_values",
    "apply_edit",
    "same_for_all",
    "file_values",
    "plan_edits",
    "replan_rows",
]


def typed_values(text: str | Iterable[str]) -> list[str]:
    """What a person typed into a field ("Rock; Pop", "Rock, Pop") as its values."""
    return split_values(text)


@dataclass
class FieldEdit:
    """One field of one decision: `add` (in order, best first) and `remove` (values the file
    may hold that the user took out). Comparison ignores case, as the multi-value rule does."""

    add: list[str] = dataclass_field(default_factory=list)
    remove: list[str] = dataclass_field(default_factory=list)

    def apply(self, current: Sequence[str]) -> list[str]:
        """The field's values after this edit: the current ones not removed, as they are, then
        the added ones not already there."""
        removed = {v.casefold() for v in self.remove}
        kept = [v for v in current if v.casefold() not in removed]
        return merge_values(kept, [v for v in self.add if v.casefold() not in removed])

    def is_empty(self) -> bool:
        return not self.add and not self.remove

    def copy(self) -> FieldEdit:
        return FieldEdit(list(self.add), list(self.remove))


TrackEdit = dict[str, FieldEdit]  # field name ("genre", "custom:ERA") -> what changes in it


@dataclass
class Decision:
    """What a person chose in the track panel for one track, before it is planned.

    Ticked proposals are kept as the model's words, not as field values, because which field
    a word goes to depends on "Write into" and the kind routing at the moment of writing
    (`resolve`); typed and removed values were put into a field by hand and stay there.
    """

    ticked: list[str] = dataclass_field(default_factory=list)
    typed: dict[str, list[str]] = dataclass_field(default_factory=dict)
    removed: dict[str, list[str]] = dataclass_field(default_factory=dict)

    def resolve(self, routed: Mapping[str, Sequence[str]]) -> TrackEdit:
        """The edit, given the ticked words as routed to their fields (`route_tags` values)."""
        edit = edit_from_values(routed)
        for field, values in self.typed.items():
            edit.setdefault(field, FieldEdit()).add.extend(values)
        for field, values in self.removed.items():
            edit.setdefault(field, FieldEdit()).remove.extend(values)
        return {f: e for f, e in edit.items() if not e.is_empty()}


def edit_from_values(values: Mapping[str, Sequence[str]]) -> TrackEdit:
    """The edit that adds values per field (the model's proposals for a track nobody looked
    at: `app.journal.propose` or `app.routing.route_tags` output)."""
    return {field: FieldEdit(list(v)) for field, v in values.items() if v}


def apply_edit(edit: Mapping[str, FieldEdit], current: Mapping[str, Sequence[str]]) -> dict:
    """Every edited field's values after the edit, given the file's current values."""
    return {field: e.apply(current.get(field, [])) for field, e in edit.items()}


def same_for_all(edit: Mapping[str, FieldEdit], track_ids: Iterable[int]) -> dict[int, TrackEdit]:
    """One decision for many tracks ("apply to all selected", "to the album's tracks"): each
    track gets its own copy, applied to its own values when planned."""
    return {int(i): {f: e.copy() for f, e in edit.items()} for i in dict.fromkeys(track_ids)}


def file_values(
    path: str | Path, extra: Iterable[str] = (), options: WriteOptions | None = None
) -> dict[str, list[str]]:
    """The file's current values of genre, mood, grouping, comment and the `extra` (custom)
    fields, in one parse: what the panel shows as "in the file", whichever field "Write into"
    names next. {} for a file whose tags cannot be read (the plan says why when writing)."""
    try:
        values = read_fields(path, options)
        for field in extra:
            if field not in values:
                values[field] = read_field(path, field, options)
    except (TagError, ValueError):
        return {}
    return {field: list(v) for field, v in values.items()}


def plan_edits(
    library: JournalLibrary,
    edits: Mapping[int, Mapping[str, FieldEdit]],
    options: WriteOptions | None = None,
) -> list[PlannedChange]:
    """Read each file's fields and plan the edit: one PlannedChange per file and edited field,
    in track order; writes nothing. Unreadable or unwritable files come back with `error`."""
    planned = []
    for track_id, edit in edits.items():
        for field, change in edit.items():
            if not change.is_empty():
                planned.append(plan_values(library, int(track_id), field, change.apply, options))
    return planned


def _exactly(values: Sequence[str]) -> Callable[[list[str]], list[str]]:
    """`plan_values`' values_of for values given as they are, whatever the file holds now."""
    fixed = list(values)
    return lambda _current: list(fixed)


def replan_rows(
    library: JournalLibrary, rows: Sequence[PlannedChange], options: WriteOptions | None = None
) -> list[PlannedChange]:
    """The rows a person edited in the preview, planned again with exactly the values shown
    (as the file will hold them, and with the write's checks), still expecting the old values
    the preview showed: a file changed since is refused, never overwritten blindly."""
    out = []
    for row in rows:
        fresh = plan_values(library, row.track_id, row.field, _exactly(row.new), options)
        if not fresh.error and fresh.old != row.old:
            fresh.error = (
                f"{row.field} changed since the preview (now {join_values(fresh.old) or 'empty'}); "
                "not written"
            )
        out.append(fresh)
    return out
