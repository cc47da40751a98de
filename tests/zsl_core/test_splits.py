"""The label-first X/Y, A/B/C split: assignment rules, setups, reproducibility, the JSON file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from zsl_core.errors import DatasetError
from zsl_core.splits import (
    ANNOTATION_SETUPS,
    RETRIEVAL_SETUPS,
    TEST_SETUPS,
    TRAIN_SETUPS,
    Split,
    canonical_setup,
    make_learned_split,
    make_split,
)

TEN = list("abcdefghij")


def _tracks_for(split: Split) -> dict[str, list[str]]:
    """One track of every kind, built after the label split (which does not depend on tracks)."""
    x, y = split.seen, split.unseen
    return {
        "a1": [x[0]],
        "a2": [x[0], x[1]],
        "a3": [x[2]],
        "b1": [x[0], y[0]],
        "b2": [x[3], y[0], y[1]],
        "c1": [y[1]],
        "c2": [y[0], y[1]],
        "none": [],
        "foreign": ["not-a-label"],
    }


@pytest.fixture
def small() -> tuple[Split, dict[str, list[str]]]:
    labels_only = make_split({}, labels=TEN, seed=0)
    tags = _tracks_for(labels_only)
    return make_split(tags, labels=TEN, seed=0, valid_fraction=0.5), tags


# --- labels ----------------------------------------------------------------------------------


def test_seed_zero_is_pinned() -> None:
    """Guards cross-platform / cross-version reproducibility of the seeded label shuffle."""
    split = make_split({}, labels=TEN, seed=0)
    assert split.seen == ["a", "b", "d", "e", "f", "h", "i", "j"]
    assert split.unseen == ["c", "g"]


@pytest.mark.parametrize(
    "n_labels, seen, unseen", [(157, 125, 32), (1126, 900, 226), (10, 8, 2), (2, 1, 1)]
)
def test_label_counts_follow_table_1(n_labels: int, seen: int, unseen: int) -> None:
    split = make_split({}, labels=[f"tag{i}" for i in range(n_labels)])
    assert (len(split.seen), len(split.unseen)) == (seen, unseen)


def test_default_labels_are_every_tag_sorted() -> None:
    split = make_split({"t1": ["rock", "jazz"], "t2": ["ambient", "rock"], "t3": ["pop"]})
    assert split.labels == ["ambient", "jazz", "pop", "rock"]
    assert sorted(split.seen + split.unseen) == split.labels


def test_input_order_does_not_matter() -> None:
    tags = {f"t{i}": [f"g{i % 7}", f"g{(i * 3) % 11}"] for i in range(60)}
    reordered = dict(reversed(list(tags.items())))
    assert make_split(tags, seed=4) == make_split(reordered, seed=4)


# --- instance sets ---------------------------------------------------------------------------


def test_tracks_land_in_the_papers_sets(small) -> None:
    split, _ = small
    assert split.A == ["a1", "a2", "a3"]
    assert split.B == ["b1", "b2"]
    assert split.C == ["c1", "c2"]
    assert split.unusable == {"no_labels": ["foreign", "none"], "no_seen_negative": []}


def test_track_positive_on_every_seen_label_is_unusable() -> None:
    # two labels -> one seen, one unseen; "both" has no seen negative to sample in training.
    base = make_split({}, labels=["p", "q"])
    x, y = base.seen[0], base.unseen[0]
    split = make_split({"both": [x, y], "only_x": [x], "only_y": [y]}, labels=["p", "q"])
    assert split.unusable["no_seen_negative"] == ["both", "only_x"]
    assert split.C == ["only_y"] and split.A == [] and split.B == []


def test_summary_counts_table_1_and_cardinality(small) -> None:
    split, _ = small
    counts = split.summary()
    assert {k: counts[k] for k in ("X", "Y", "labels", "A", "B", "C", "tracks", "unusable")} == {
        "X": 8,
        "Y": 2,
        "labels": 10,
        "A": 3,
        "B": 2,
        "C": 2,
        "tracks": 7,
        "unusable": 2,
    }
    card = counts["label_cardinality"]
    # B-Y: b1 has 1 unseen positive, b2 has 2 -> 3/2. C-Y: 1 and 2 -> 3/2.
    # (A+B+C)-Y: (0+0+0 + 1+2 + 1+2) / 7 = 6/7. A-X: (1+2+1)/3 = 4/3.
    assert card["B-Y"] == 1.5 and card["C-Y"] == 1.5
    assert card["(A+B+C)-Y"] == pytest.approx(6 / 7)
    assert card["A-X"] == pytest.approx(4 / 3)
    json.dumps(counts)  # the CLI prints it


# --- setups ----------------------------------------------------------------------------------


def test_train_setups_are_unions_of_the_a_and_b_parts(small) -> None:
    split, _ = small
    for part in ("train", "valid"):
        a, b = split.train_tracks("A-X", part), split.train_tracks("B-X", part)
        assert split.train_tracks("(A+B)-X", part) == a + b
    assert sorted(split.train_tracks("A-X") + split.train_tracks("A-X", "valid")) == split.A
    # valid_fraction 0.5, rounded half up: A 1.5 -> 2 held out; B 1.0 -> 1.
    assert len(split.train_tracks("A-X", "valid")) == 2
    assert len(split.train_tracks("B-X", "valid")) == 1


def test_test_setups_use_every_track_of_their_sets(small) -> None:
    split, _ = small
    ids, labels = split.test_tracks("(B+C)-Y")
    assert ids == split.B + split.C and labels == split.unseen
    ids, labels = split.test_tracks("(A+B+C)-Y")
    assert ids == split.A + split.B + split.C and labels == split.unseen
    ids, labels = split.test_tracks("C-(X+Y)")
    assert ids == split.C and labels == split.seen + split.unseen
    ids, labels = split.test_tracks("B-X")
    assert ids == split.B and labels == split.seen
    for setup in TEST_SETUPS:
        split.test_tracks(setup)


def test_setup_lists_are_the_papers() -> None:
    assert TRAIN_SETUPS == ("A-X", "B-X", "(A+B)-X")
    assert ANNOTATION_SETUPS == ("B-Y", "C-Y", "(B+C)-Y", "B-(X+Y)", "C-(X+Y)", "(B+C)-(X+Y)")
    assert RETRIEVAL_SETUPS == ("(B+C)-Y", "(A+B+C)-Y")


def test_setup_names_are_forgiving_but_strict(small) -> None:
    split, _ = small
    assert canonical_setup(" C+B - Y+X ") == "(B+C)-(X+Y)"
    assert split.labels_of("X+Y") == split.labels_of("(X+Y)") == split.seen + split.unseen
    assert split.labels_of("(B+C)-Y") == split.unseen
    for bad in ("A", "A-Z", "(A+A)-X", "A-X-Y", "-X", "A-(X+)"):
        with pytest.raises(ValueError):
            canonical_setup(bad)
    with pytest.raises(ValueError, match="not a training setup"):
        split.train_tracks("B-Y")
    with pytest.raises(ValueError, match="not a test setup"):
        split.test_tracks("A-X")
    with pytest.raises(ValueError, match="'train' or 'valid'"):
        split.train_tracks("A-X", part="test")


# --- the file --------------------------------------------------------------------------------


def test_json_round_trip(small, tmp_path: Path) -> None:
    split, _ = small
    path = tmp_path / "split.json"
    split.save(path)
    assert Split.load(path) == split
    data = json.loads(path.read_text())
    assert data["format"] == "zsl-split" and data["version"] == 1 and data["seed"] == 0
    assert data["counts"]["A"] == 3


def test_a_learned_split_holds_tracks_out_of_every_label_and_no_label(tmp_path: Path) -> None:
    tags = {f"r{i}": ["rock"] for i in range(6)} | {f"j{i}": ["jazz"] for i in range(4)}
    tags["both"] = ["rock", "jazz"]  # positive on every learned label: no negative, unusable
    split = make_learned_split(tags, valid_fraction=0.3, seed=0)
    assert split.seen == ["jazz", "rock"] and split.unseen == []
    assert split.unusable["no_seen_negative"] == ["both"]
    assert split.sets["B"] == split.sets["C"] == [] and len(split.A) == 10
    valid, train = split.valid["A"], split.train["A"]
    assert sorted(t[0] for t in valid) == ["j", "r", "r"]  # 30% of each label, rounded
    assert {t[0] for t in train} == {"j", "r"} and not set(valid) & set(train)
    assert make_learned_split(tags, valid_fraction=0.3, seed=0) == split  # seeded
    path = tmp_path / "split.json"
    split.save(path)
    assert Split.load(path) == split  # a split without unseen labels loads
    with pytest.raises(DatasetError, match="need at least 2"):
        make_learned_split({"a": ["rock"]})


def _corrupt(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.update(format="other"), "not a split file"),
        (lambda d: d.update(version=99), "version"),
        (lambda d: d.pop("labels"), "labels must be a list"),
        (lambda d: d.update(seen=d["seen"] + d["unseen"][:1]), "partition labels"),
        (lambda d: d["sets"]["C"].append(d["sets"]["A"][0]), "more than one"),
        (lambda d: d["valid"]["A"].append(d["train"]["A"][0]), "partition set A"),
        (lambda d: d["sets"].pop("B"), "keys A, B, C"),
        (lambda d: d.update(seed="zero"), "seed"),
        (lambda d: d.update(seen_fraction=None), "seen_fraction"),
        (lambda d: d["unseen"].append(d["unseen"][0]), "duplicates"),
    ],
)
def test_malformed_files_raise_dataset_error(small, tmp_path: Path, change, message: str) -> None:
    split, _ = small
    path = tmp_path / "split.json"
    split.save(path)
    _corrupt(path, change)
    with pytest.raises(DatasetError, match=message) as caught:
        Split.load(path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("text", ["", "{not json", "[1, 2]"])
def test_unreadable_files_raise_dataset_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "split.json"
    path.write_text(text)
    with pytest.raises(DatasetError, match=str(path)):
        Split.load(path)


def test_missing_file_raises_dataset_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="cannot read"):
        Split.load(tmp_path / "absent.json")


# --- bad arguments ---------------------------------------------------------------------------


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(DatasetError, match="at least 2"):
        make_split({"t": ["only"]})
    with pytest.raises(ValueError, match="seen_fraction"):
        make_split({"t": ["a", "b"]}, seen_fraction=1.0)
    with pytest.raises(ValueError, match="valid_fraction"):
        make_split({"t": ["a", "b"]}, valid_fraction=-0.1)
    with pytest.raises(ValueError, match="seed"):
        make_split({"t": ["a", "b"]}, seed=-1)
    with pytest.raises(ValueError, match="not one string"):
        make_split({"t": "rock"})
    with pytest.raises(ValueError, match="duplicates"):
        make_split({"t": ["a"]}, labels=["a", "a", "b"])


# --- properties on random multi-label data ---------------------------------------------------

LABELS = [f"l{i:02d}" for i in range(40)]
TRACK_TAGS = st.dictionaries(
    keys=st.text(alphabet="abcdef0123", min_size=1, max_size=6),
    values=st.lists(st.sampled_from(LABELS[:12]), max_size=5, unique=True),
    max_size=40,
)
FRACTIONS = st.sampled_from([0.5, 0.7, 0.8, 0.9])
VALID = st.sampled_from([0.0, 0.1, 0.25, 0.5])


@settings(max_examples=50, deadline=None, derandomize=True)
@given(TRACK_TAGS, FRACTIONS, VALID, st.integers(0, 2**32))
def test_split_invariants(track_tags, seen_fraction, valid_fraction, seed) -> None:
    assume(len({t for tags in track_tags.values() for t in tags}) >= 2)  # refusal is tested above
    split = make_split(
        track_tags, seen_fraction=seen_fraction, valid_fraction=valid_fraction, seed=seed
    )
    seen, unseen = set(split.seen), set(split.unseen)
    assert seen and unseen and not seen & unseen and seen | unseen == set(split.labels)
    for t in split.A:
        assert set(track_tags[t]) & seen and not set(track_tags[t]) & unseen
    for t in split.B:
        assert set(track_tags[t]) & seen and set(track_tags[t]) & unseen
    for t in split.C:
        assert not set(track_tags[t]) & seen and set(track_tags[t]) & unseen
    for t in split.A + split.B:
        assert seen - set(track_tags[t]), "every trainable track has a seen negative"
    groups = [split.A, split.B, split.C, split.unusable_tracks()]
    assert sum(map(len, groups)) == len(track_tags)
    assert set().union(*map(set, groups)) == set(track_tags)
    for setup, members in (("A-X", split.A), ("B-X", split.B), ("(A+B)-X", split.A + split.B)):
        train, valid = split.train_tracks(setup), split.train_tracks(setup, "valid")
        assert not set(train) & set(valid) and set(train) | set(valid) == set(members)
    again = make_split(
        track_tags, seen_fraction=seen_fraction, valid_fraction=valid_fraction, seed=seed
    )
    assert again == split


@settings(max_examples=50, deadline=None, derandomize=True)
@given(TRACK_TAGS, st.integers(0, 2**32))
def test_json_round_trip_property(track_tags, seed) -> None:
    import tempfile

    assume(len({t for tags in track_tags.values() for t in tags}) >= 2)
    split = make_split(track_tags, seed=seed)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "split.json"
        split.save(path)
        assert Split.load(path) == split


@settings(max_examples=50, deadline=None, derandomize=True)
@given(st.integers(0, 2**32), st.integers(1, 2**20))
def test_different_seeds_differ_on_sizable_inputs(seed_1, offset) -> None:
    seed_2 = seed_1 + offset
    # 40 labels -> C(40, 32) = 76.9 million possible seen sets: a collision is not a concern.
    track_tags = {f"t{i:03d}": [LABELS[i % 40], LABELS[(i * 7) % 40]] for i in range(200)}
    one, two = make_split(track_tags, seed=seed_1), make_split(track_tags, seed=seed_2)
    assert one.seen != two.seen
    assert one.sets != two.sets
