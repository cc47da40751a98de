"""zsl_core.reproduce.paper: the paper's Tables 2-4 as data (paper_tables.json), validated on load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from zsl_core.errors import DatasetError
from zsl_core.reproduce import PAPER
from zsl_core.reproduce.paper import PAPER_FILE, load_paper_tables


def _tables() -> dict:
    return json.loads(PAPER_FILE.read_text(encoding="utf-8"))


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "paper_tables.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_the_shipped_tables_hold_every_cell_our_tables_print():
    assert load_paper_tables() == PAPER
    assert len(PAPER) == 2 * (18 + 6 + 2)
    assert PAPER[("annotation", "A-X", "B-Y", "FMA")] == ("0.8736", "0.5118")
    assert PAPER[("annotation", "(A+B)-X", "(B+C)-(X+Y)", "MSD")] == ("0.9370", "0.2984")
    assert PAPER[("retrieval", "B-X", "(A+B+C)-Y", "FMA")] == ("0.7236", "0.0662")
    assert PAPER[("table4", "A-X", "side", "FMA")] == ("0.7381",)
    assert PAPER[("table4", "A-X", "classifier", "MSD")] == ("0.6980",)
    row = _tables()["table2_annotation"][0]
    assert row["FMA"]["P@10"] == 0.5008  # the columns we do not print are transcribed too


@pytest.mark.parametrize(
    "table, change, where, field, reason",
    [
        (
            "table2_annotation",
            lambda r: r["FMA"].update({"MAP-i": 1.5}),
            "row 2",
            "FMA.MAP-i",
            "[0, 1]",
        ),
        (
            "table2_annotation",
            lambda r: r["MSD"].update({"AUC-i": "high"}),
            "row 2",
            "MSD.AUC-i",
            "number",
        ),
        ("table2_annotation", lambda r: r["FMA"].pop("P@5"), "row 2", "FMA", "exactly the metrics"),
        (
            "table2_annotation",
            lambda r: r.update(test="D-Y"),
            "row 2",
            "test",
            "'D-Y' is not one of",
        ),
        (
            "table3_retrieval",
            lambda r: r.update(train="C-X"),
            "row 2",
            "train",
            "'C-X' is not one of",
        ),
        ("table3_retrieval", lambda r: r.pop("MSD"), "row 2", "MSD", "is missing"),
        (
            "table4_seen_labels",
            lambda r: r.update(model="svm"),
            "row 2",
            "model",
            "'svm' is not one",
        ),
        ("table4_seen_labels", lambda r: r.update(note="x"), "row 2", "note", "unknown field"),
    ],
)
def test_a_malformed_table_row_is_one_line_naming_file_row_and_field(
    tmp_path, table, change, where, field, reason
):
    data = _tables()
    change(data[table][1])
    path = _write(tmp_path, data)
    with pytest.raises(DatasetError) as caught:
        load_paper_tables(path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{path}: {table} {where}")
    assert f"field {field!r}" in message and reason in message


def test_missing_tables_duplicates_and_broken_files_are_refused(tmp_path):
    data = _tables()
    del data["table3_retrieval"]
    with pytest.raises(DatasetError, match="table 'table3_retrieval': missing"):
        load_paper_tables(_write(tmp_path, data))
    data = _tables()
    data["table4_seen_labels"].append(data["table4_seen_labels"][0])
    with pytest.raises(DatasetError, match="table4_seen_labels row 3: duplicate"):
        load_paper_tables(_write(tmp_path, data))
    data = _tables()
    data["table5"] = []
    with pytest.raises(DatasetError, match="unknown table 'table5'"):
        load_paper_tables(_write(tmp_path, data))
    broken = tmp_path / "broken.json"
    broken.write_text("[1,", encoding="utf-8")
    with pytest.raises(DatasetError, match="broken.json: not valid JSON"):
        load_paper_tables(broken)
