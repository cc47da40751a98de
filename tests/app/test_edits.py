"""Per-field edits (tick, type, remove) applied to many files and written through the journal:
real files of every writable container, read back with mutagen, undone byte for byte."""

# ruff: noqa: F811 (the journal tests' fixtures `lib` and `files` are parameters here)
from __future__ import annotations

import hashlib
from pathlib import Path

import mutagen
import pytest
from test_journal import IndexOnly, all_tags, files, lib  # noqa: F401 (fixtures)

from app import journal
from app.edits import (
    Decision,
    FieldEdit,
    apply_edit,
    edit_from_values,
    plan_edits,
    replan_rows,
    same_for_all,
    typed_values,
)
from app.tagwriter import read_field


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_field_edit_keeps_other_values_as_they_are_and_ignores_case() -> None:
    edit = FieldEdit(add=["Rock", "jazz", "Ambient"], remove=["pop"])
    assert edit.apply(["Hip-Hop/Rap", "Pop", "Jazz"]) == ["Hip-Hop/Rap", "Jazz", "Rock", "Ambient"]
    assert edit.apply([]) == ["Rock", "jazz", "Ambient"]
    assert FieldEdit(remove=["Pop"]).apply(["Pop"]) == []  # removing the last value clears it
    assert FieldEdit(add=["Pop"], remove=["pop"]).apply(["Rock"]) == ["Rock"]  # removal wins
    assert FieldEdit().is_empty() and not FieldEdit(remove=["x"]).is_empty()


def test_typed_text_is_split_by_the_core_rule() -> None:
    assert typed_values("Rock; Pop, Drum & Bass") == ["Rock", "Pop", "Drum & Bass"]
    assert typed_values("  Shoegaze  ") == ["Shoegaze"]
    assert typed_values(" ; ") == []


def test_one_decision_for_many_tracks_is_copied_and_applied_to_each_files_values() -> None:
    decision = {"genre": FieldEdit(["Rock"], ["Pop"]), "mood": FieldEdit(["Calm"])}
    edits = same_for_all(decision, [1, 2, 2])
    assert list(edits) == [1, 2]
    edits[1]["genre"].add.append("Jazz")
    assert edits[2]["genre"].add == ["Rock"] and decision["genre"].add == ["Rock"]
    assert apply_edit(edits[2], {"genre": ["Pop", "Blues"]}) == {
        "genre": ["Blues", "Rock"],
        "mood": ["Calm"],
    }
    assert edit_from_values({"genre": ["Rock"], "mood": []}) == {"genre": FieldEdit(["Rock"])}


def test_a_decision_sends_ticked_words_where_routing_says_and_keeps_typed_values_in_place():
    decision = Decision(["rock"], typed={"mood": ["Calm"]}, removed={"genre": ["Pop"]})
    assert decision.resolve({"genre": ["Rock"]}) == {
        "genre": FieldEdit(["Rock"], ["Pop"]),
        "mood": FieldEdit(["Calm"]),
    }
    assert decision.resolve({"comment": ["Rock"]}) == {
        "comment": FieldEdit(["Rock"]),
        "mood": FieldEdit(["Calm"]),
        "genre": FieldEdit([], ["Pop"]),
    }
    assert Decision(typed={"genre": []}).resolve({}) == {}


def test_plan_write_and_undo_edits_on_every_format(lib: IndexOnly, files: list[Path]) -> None:
    ids = [lib.add(path) for path in files]
    before = {path: sha(path) for path in files}
    tags_before = {path: all_tags(path) for path in files}
    old_genres = {path: read_field(path, "genre") for path in files}
    assert all(old_genres.values())
    removed = old_genres[files[0]][0]
    decision = {
        "genre": FieldEdit(add=["Shoegaze"], remove=[removed]),
        "mood": FieldEdit(add=typed_values("Dreamy; Calm")),
    }
    planned = plan_edits(lib, same_for_all(decision, ids))
    assert [(p.track_id, p.field) for p in planned] == [
        (i, f) for i in ids for f in ("genre", "mood")
    ]
    assert not [p.error for p in planned if p.error]
    for path in files:
        genre = next(p for p in planned if p.path == path and p.field == "genre")
        assert genre.old == old_genres[path]
        assert genre.new == [v for v in old_genres[path] if v.casefold() != removed.casefold()] + [
            "Shoegaze"
        ]
    result = journal.write_batch(lib, planned, "edit")
    assert result.written == len(planned) and not result.failed
    for path in files:
        assert "Shoegaze" in read_field(path, "genre")
        assert removed not in read_field(path, "genre")
        assert read_field(path, "mood")[-2:] == ["Dreamy", "Calm"]
        assert mutagen.File(path) is not None  # still a file mutagen reads
    undone = journal.undo(lib)
    assert undone.restored == len(planned) and undone.exact == len(planned)
    assert {path: sha(path) for path in files} == before
    assert {path: all_tags(path) for path in files} == tags_before


def test_removing_every_value_clears_the_field_and_undo_puts_it_back(
    lib: IndexOnly,
    files: list[Path],
) -> None:
    path = files[1]
    track = lib.add(path)
    values = read_field(path, "genre")
    before = sha(path)
    planned = plan_edits(lib, {track: {"genre": FieldEdit(remove=list(values))}})
    assert planned[0].new == [] and planned[0].changed and planned[0].mode == "replace"
    journal.write_batch(lib, planned, "remove")
    assert read_field(path, "genre") == []
    journal.undo(lib)
    assert sha(path) == before


def test_a_preview_row_edited_by_hand_is_planned_with_exactly_its_values(
    lib: IndexOnly,
    files: list[Path],
) -> None:
    path = files[0]
    track = lib.add(path)
    [row] = plan_edits(lib, {track: {"genre": FieldEdit(["Rock"])}})
    assert row.mode == "merge"
    row.new = typed_values("Ambient; Drone")  # typed over in the preview
    [fresh] = replan_rows(lib, [row])
    assert fresh.new == ["Ambient", "Drone"] and fresh.old == row.old and not fresh.error
    journal.write_batch(lib, [fresh], "edited")
    assert read_field(path, "genre") == ["Ambient", "Drone"]
    # the file changed after the preview was shown: the edited row is refused, never forced
    [stale] = plan_edits(lib, {track: {"genre": FieldEdit(["Jazz"])}})
    journal.undo(lib)
    stale.new = ["Blues"]
    [refused] = replan_rows(lib, [stale])
    assert refused.error and "changed since the preview" in refused.error


def test_an_unreadable_file_is_a_one_line_error(lib: IndexOnly, tmp_path: Path) -> None:
    bad = tmp_path / "broken.mp3"
    bad.write_bytes(b"not audio at all" * 10)
    tid = lib.add(bad)
    planned = plan_edits(lib, {tid: {"genre": FieldEdit(["Rock"])}})
    assert [p.track_id for p in planned] == [tid]
    assert planned[0].error and "\n" not in planned[0].error
    assert journal.write_batch(lib, planned, "nothing").batch_id is None


@pytest.mark.parametrize("empty", [{}, {"genre": FieldEdit()}])
def test_an_empty_decision_plans_nothing(lib: IndexOnly, files: list[Path], empty) -> None:
    assert plan_edits(lib, {lib.add(files[0]): empty}) == []
