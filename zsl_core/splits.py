"""The paper's label-first split for multi-label zero-shot learning (section 3.2), seeded and saved.

The split works labels first, then tracks:

1. Labels are shuffled with a seed; the first `seen_fraction` of them are seen (X), the rest
   unseen (Y). Only seen labels are ever used in training.
2. Every track lands in one instance set, decided by where its positives fall:
       A: >=1 seen positive, no unseen positive
       B: >=1 seen positive and >=1 unseen positive
       C: no seen positive, >=1 unseen positive
   A track with no positive among the labels at all cannot be trained or tested on; it is
   "unusable" and listed with its reason instead of silently dropped. So is an A or B track
   that is positive on *every* seen label: training draws one seen negative per track (as the
   authors' code required), and such a track has none. With more than a couple of seen labels
   this almost never happens, but the check keeps the sampler honest.
3. A and B are each split train/valid (`valid_fraction` held out, seeded). The (A+B) training
   set is the union of A's and B's parts rather than a third, independent draw (the authors
   drew A, B and A+B separately). The union keeps one validation set per track: a track held
   out when training on A-X is also held out when training on (A+B)-X, so the three training
   setups are compared on the same held-out tracks and (A+B)'s validation set has A and B in
   their natural proportion.

Train and test setups are named as in the paper, "<instances>-<labels>": "A-X", "(A+B)-X",
"(B+C)-Y", "B-(X+Y)" ... Test setups use *all* tracks of their instance sets; the
train/valid parts only matter for training.

Why seeded and saved: the authors' shuffle had no seed, so their split cannot be rebuilt. Ours
uses numpy's PCG64 generator (the same stream on every platform) and is written to one JSON
file holding every list, so a run can be reproduced from the file even if a future numpy
shuffles differently. Track ids and default labels are sorted before shuffling, so the split
does not depend on the order of the input dictionary.

`make_learned_split` is the one departure, for a vocabulary too small to hold a label out (two
labels): every label seen, only tracks held out.

Seen count: floor(seen_fraction x labels), kept between 1 and labels - 1. The floor (not
rounding) is what reproduces the paper's Table 1: 157 labels -> 125 seen, 1,126 -> 900.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zsl_core.errors import DatasetError

FORMAT = "zsl-split"
FORMAT_VERSION = 1

TRAIN_SETUPS = ("A-X", "B-X", "(A+B)-X")
ANNOTATION_SETUPS = ("B-Y", "C-Y", "(B+C)-Y", "B-(X+Y)", "C-(X+Y)", "(B+C)-(X+Y)")
RETRIEVAL_SETUPS = ("(B+C)-Y", "(A+B+C)-Y")
# Table 4: conventional (seen-label) retrieval on tracks the A-X model never trained on.
SEEN_TEST_SETUPS = ("B-X",)
TEST_SETUPS = tuple(dict.fromkeys(ANNOTATION_SETUPS + RETRIEVAL_SETUPS + SEEN_TEST_SETUPS))

INSTANCE_SETS = ("A", "B", "C")
TRAINABLE_SETS = ("A", "B")
NO_LABELS = "no_labels"
NO_SEEN_NEGATIVE = "no_seen_negative"
UNUSABLE_REASONS = (NO_LABELS, NO_SEEN_NEGATIVE)


# --- setup names ---------------------------------------------------------------------------


def _parse_part(part: str, letters: str, setup: str) -> tuple[str, ...]:
    inner = part[1:-1] if part.startswith("(") and part.endswith(")") else part
    found = tuple(inner.split("+"))
    if (
        not found
        or any(x not in letters for x in found)
        or any(len(x) != 1 for x in found)
        or len(set(found)) != len(found)
    ):
        raise ValueError(f"setup {setup!r}: {part!r} is not a combination of {'/'.join(letters)}")
    return tuple(sorted(found))


def parse_setup(setup: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """("(B+C)-(X+Y)") -> (("B", "C"), ("X", "Y")); spaces are ignored."""
    compact = setup.replace(" ", "")
    if compact.count("-") != 1:
        raise ValueError(f"setup {setup!r}: expected '<instances>-<labels>', e.g. '(B+C)-Y'")
    instances, labels = compact.split("-")
    return _parse_part(instances, "ABC", setup), _parse_part(labels, "XY", setup)


def _name(letters: Sequence[str]) -> str:
    return letters[0] if len(letters) == 1 else "(" + "+".join(letters) + ")"


def canonical_setup(setup: str) -> str:
    """The paper's spelling of a setup: "B+C - Y" -> "(B+C)-Y"."""
    instances, labels = parse_setup(setup)
    return f"{_name(instances)}-{_name(labels)}"


# --- the split -----------------------------------------------------------------------------


@dataclass
class Split:
    """Seen/unseen labels, the A/B/C track sets and their train/valid parts, as one value."""

    labels: list[str]
    seen: list[str]
    unseen: list[str]
    sets: dict[str, list[str]]  # "A", "B", "C" -> sorted track ids
    train: dict[str, list[str]]  # "A", "B" -> training part
    valid: dict[str, list[str]]  # "A", "B" -> validation part
    unusable: dict[str, list[str]]  # reason -> track ids in no set
    seed: int
    seen_fraction: float
    valid_fraction: float
    label_cardinality: dict[str, float] = field(
        default_factory=dict
    )  # setup -> mean positives/track

    @property
    def A(self) -> list[str]:  # the paper's names for the sets
        return self.sets["A"]

    @property
    def B(self) -> list[str]:
        return self.sets["B"]

    @property
    def C(self) -> list[str]:
        return self.sets["C"]

    def unusable_tracks(self) -> list[str]:
        return sorted(t for ids in self.unusable.values() for t in ids)

    def labels_of(self, setup_label_part: str) -> list[str]:
        """Labels of "X", "Y", "X+Y" (or of a whole setup such as "(B+C)-Y"): seen before unseen."""
        part = setup_label_part.replace(" ", "")
        letters = parse_setup(part)[1] if "-" in part else _parse_part(part, "XY", setup_label_part)
        return (self.seen if "X" in letters else []) + (self.unseen if "Y" in letters else [])

    def train_tracks(self, setup: str, part: str = "train") -> list[str]:
        """Track ids to train ("train") or early-stop ("valid") on for "A-X", "B-X" or "(A+B)-X"."""
        name = canonical_setup(setup)
        if name not in TRAIN_SETUPS:
            raise ValueError(
                f"setup {setup!r} is not a training setup; choose one of {', '.join(TRAIN_SETUPS)}"
            )
        if part not in ("train", "valid"):
            raise ValueError(f"part must be 'train' or 'valid', got {part!r}")
        chosen = self.train if part == "train" else self.valid
        return [t for letter in parse_setup(name)[0] for t in chosen[letter]]

    def test_tracks(self, setup: str) -> tuple[list[str], list[str]]:
        """(all track ids of the setup's instance sets, its labels) for a test setup of the paper."""
        name = canonical_setup(setup)
        if name not in TEST_SETUPS:
            raise ValueError(
                f"setup {setup!r} is not a test setup; choose one of {', '.join(TEST_SETUPS)}"
            )
        instances, _ = parse_setup(name)
        return [t for letter in instances for t in self.sets[letter]], self.labels_of(name)

    def summary(self) -> dict[str, Any]:
        """Table 1's counts (labels X/Y/total, tracks A/B/C/total), the train/valid sizes and the
        label cardinality (mean positives per track) of each setup; JSON-ready."""
        counts: dict[str, Any] = {
            "X": len(self.seen),
            "Y": len(self.unseen),
            "labels": len(self.labels),
            **{s: len(self.sets[s]) for s in INSTANCE_SETS},
            "tracks": sum(len(self.sets[s]) for s in INSTANCE_SETS),
            "unusable": sum(len(ids) for ids in self.unusable.values()),
            "unusable_by_reason": {r: len(ids) for r, ids in self.unusable.items()},
        }
        for part in ("train", "valid"):
            counts[part] = {name: len(self.train_tracks(name, part)) for name in TRAIN_SETUPS}
        counts["label_cardinality"] = dict(self.label_cardinality)
        return counts

    # --- file ----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "numpy": np.__version__,
            "seed": self.seed,
            "seen_fraction": self.seen_fraction,
            "valid_fraction": self.valid_fraction,
            "labels": self.labels,
            "seen": self.seen,
            "unseen": self.unseen,
            "sets": self.sets,
            "train": self.train,
            "valid": self.valid,
            "unusable": self.unusable,
            "label_cardinality": self.label_cardinality,
            "counts": self.summary(),  # informational; recomputed from the lists on load
        }

    def save(self, path: str | Path) -> None:
        """Write the split as one JSON file, atomically (a crash never leaves half a split)."""
        path = Path(path)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(
            json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        os.replace(temporary, path)

    @classmethod
    def load(cls, path: str | Path) -> Split:
        """Read a split file, checking that its lists form a valid split (DatasetError if not)."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DatasetError(f"{path}: cannot read split file ({exc})") from None
        return _split_from_dict(data, str(path))


# --- building a split ----------------------------------------------------------------------


def make_split(
    track_tags: Mapping[str, Sequence[str]],
    seen_fraction: float = 0.8,
    valid_fraction: float = 0.1,
    seed: int = 0,
    labels: Sequence[str] | None = None,
) -> Split:
    """The paper's split of `track_tags` (track id -> its positive tags).

    `labels` fixes the label vocabulary and its order (default: every tag, sorted); tags outside
    it are ignored. Raises DatasetError when there are fewer than two labels to split.
    """
    _check_arguments(track_tags, seen_fraction, valid_fraction, seed)
    labels = _label_list(track_tags, labels)
    label_rng, *set_rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)]
    seen, unseen = _split_labels(labels, seen_fraction, label_rng)
    sets, unusable = _assign_tracks(track_tags, set(seen), set(unseen))
    train, valid = {}, {}
    for letter, rng in zip(TRAINABLE_SETS, set_rngs, strict=True):
        train[letter], valid[letter] = _hold_out(sets[letter], valid_fraction, rng)
    split = Split(
        labels=labels,
        seen=seen,
        unseen=unseen,
        sets=sets,
        train=train,
        valid=valid,
        unusable=unusable,
        seed=int(seed),
        seen_fraction=float(seen_fraction),
        valid_fraction=float(valid_fraction),
    )
    split.label_cardinality = _cardinality(split, track_tags)
    return split


def make_learned_split(
    track_tags: Mapping[str, Sequence[str]],
    valid_fraction: float = 0.3,
    seed: int = 0,
    labels: Sequence[str] | None = None,
) -> Split:
    """A split that holds no label out: every label seen (`unseen` empty), every usable track
    in A. For a vocabulary too small for the paper's split: with two labels floor(0.8 x 2) = 1
    is seen, every A track is then positive on every seen label (no negative to train on) and
    nothing can be learned. Here both are learned and only tracks are held out: about
    `valid_fraction` of each label's tracks (at least one, never all), so a test on the
    held-out tracks sees every label. Raises DatasetError for fewer than two labels."""
    _check_arguments(track_tags, 0.5, valid_fraction, seed)
    labels = _label_list(track_tags, labels)
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(3)[1])
    sets, unusable = _assign_tracks(track_tags, set(labels), set())
    held: set[str] = set()
    for label in labels:  # stratified: each label keeps tracks to train and to test on
        having = [t for t in sets["A"] if label in track_tags[t]]
        wanted = min(max(math.floor(valid_fraction * len(having) + 0.5), 1), len(having) - 1)
        free = [t for t in having if t not in held]
        need = wanted - sum(1 for t in having if t in held)
        held.update(free[i] for i in rng.permutation(len(free))[: max(need, 0)])
    train = {"A": [t for t in sets["A"] if t not in held], "B": []}
    valid = {"A": [t for t in sets["A"] if t in held], "B": []}
    split = Split(
        labels=labels,
        seen=list(labels),
        unseen=[],
        sets=sets,
        train=train,
        valid=valid,
        unusable=unusable,
        seed=int(seed),
        seen_fraction=1.0,
        valid_fraction=float(valid_fraction),
    )
    split.label_cardinality = _cardinality(split, track_tags)
    return split


def _check_arguments(
    track_tags: Mapping[str, Sequence[str]], seen_fraction: float, valid_fraction: float, seed: int
) -> None:
    if not 0.0 < seen_fraction < 1.0:
        raise ValueError(f"seen_fraction must be between 0 and 1, got {seen_fraction}")
    if not 0.0 <= valid_fraction < 1.0:
        raise ValueError(f"valid_fraction must be in [0, 1), got {valid_fraction}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    for track_id, tags in track_tags.items():
        if not isinstance(track_id, str):
            raise ValueError(f"track ids must be strings, got {track_id!r}")
        if isinstance(tags, str):
            raise ValueError(f"track {track_id!r}: tags must be a list of strings, not one string")


def _label_list(track_tags: Mapping[str, Sequence[str]], labels: Sequence[str] | None) -> list[str]:
    if labels is None:
        found = sorted({str(tag) for tags in track_tags.values() for tag in tags})
    else:
        found = [str(label) for label in labels]
        if len(set(found)) != len(found):
            raise ValueError("labels contain duplicates")
    if len(found) < 2:
        raise DatasetError(
            f"cannot split {len(found)} label(s) into seen and unseen: need at least 2"
        )
    return found


def _split_labels(
    labels: list[str], seen_fraction: float, rng: np.random.Generator
) -> tuple[list[str], list[str]]:
    """Seeded shuffle; the first floor(fraction x n) are seen. Returned in the order of `labels`."""
    n_seen = min(max(math.floor(seen_fraction * len(labels) + 1e-9), 1), len(labels) - 1)
    shuffled = [labels[i] for i in rng.permutation(len(labels))]
    seen = set(shuffled[:n_seen])
    return [x for x in labels if x in seen], [x for x in labels if x not in seen]


def _assign_tracks(
    track_tags: Mapping[str, Sequence[str]], seen: set[str], unseen: set[str]
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    sets: dict[str, list[str]] = {letter: [] for letter in INSTANCE_SETS}
    unusable: dict[str, list[str]] = {reason: [] for reason in UNUSABLE_REASONS}
    for track_id in sorted(track_tags):
        tags = set(track_tags[track_id])
        seen_pos, unseen_pos = tags & seen, tags & unseen
        if not seen_pos and not unseen_pos:
            unusable[NO_LABELS].append(track_id)
        elif seen_pos and len(seen_pos) == len(seen):
            unusable[NO_SEEN_NEGATIVE].append(track_id)
        elif seen_pos:
            sets["B" if unseen_pos else "A"].append(track_id)
        else:
            sets["C"].append(track_id)
    return sets, unusable


def _hold_out(
    track_ids: list[str], fraction: float, rng: np.random.Generator
) -> tuple[list[str], list[str]]:
    """(train, valid), both sorted. Rounds half up, but always leaves one track to train on."""
    n = len(track_ids)
    n_valid = min(math.floor(fraction * n + 0.5), max(n - 1, 0))
    held = set(track_ids[i] for i in rng.permutation(n)[:n_valid])
    return [t for t in track_ids if t not in held], [t for t in track_ids if t in held]


def _cardinality(split: Split, track_tags: Mapping[str, Sequence[str]]) -> dict[str, float]:
    """Mean number of positive labels per track in each setup (the paper's section 6.1 figure)."""
    seen, unseen = set(split.seen), set(split.unseen)
    positives: dict[str, dict[str, int]] = {"X": {}, "Y": {}}
    for letter in INSTANCE_SETS:
        for t in split.sets[letter]:
            tags = set(track_tags[t])
            positives["X"][t], positives["Y"][t] = len(tags & seen), len(tags & unseen)
    found: dict[str, float] = {}
    for name in dict.fromkeys(TRAIN_SETUPS + TEST_SETUPS):
        instances, label_parts = parse_setup(name)
        tracks = [t for letter in instances for t in split.sets[letter]]
        total = sum(positives[part][t] for part in label_parts for t in tracks)
        found[name] = total / len(tracks) if tracks else 0.0
    return found


# --- reading a split file ------------------------------------------------------------------


def _string_list(value: Any, where: str, path: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise DatasetError(f"{path}: {where} must be a list of strings")
    if len(set(value)) != len(value):
        raise DatasetError(f"{path}: {where} has duplicates")
    return value


def _lists_by_key(value: Any, keys: Sequence[str], where: str, path: str) -> dict[str, list[str]]:
    if not isinstance(value, dict) or set(value) != set(keys):
        raise DatasetError(f"{path}: {where} must be an object with keys {', '.join(keys)}")
    return {k: _string_list(value[k], f"{where}.{k}", path) for k in keys}


def _number(data: dict, key: str, path: str) -> float:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DatasetError(f"{path}: {key} must be a number")
    return value


def _split_from_dict(data: Any, path: str) -> Split:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise DatasetError(f'{path}: not a split file (no "format": "{FORMAT}")')
    if data.get("version") != FORMAT_VERSION:
        raise DatasetError(
            f"{path}: split format version {data.get('version')!r} is not supported "
            f"(this program reads version {FORMAT_VERSION})"
        )
    labels = _string_list(data.get("labels"), "labels", path)
    seen = _string_list(data.get("seen"), "seen", path)
    unseen = _string_list(data.get("unseen"), "unseen", path)
    # unseen may be empty: a split that holds no label out (make_learned_split)
    if set(seen) & set(unseen) or set(seen) | set(unseen) != set(labels) or not seen:
        raise DatasetError(f"{path}: seen must be non-empty and seen and unseen partition labels")
    sets = _lists_by_key(data.get("sets"), INSTANCE_SETS, "sets", path)
    train = _lists_by_key(data.get("train"), TRAINABLE_SETS, "train", path)
    valid = _lists_by_key(data.get("valid"), TRAINABLE_SETS, "valid", path)
    unusable = _lists_by_key(data.get("unusable"), UNUSABLE_REASONS, "unusable", path)
    groups = list(sets.values()) + list(unusable.values())
    if sum(map(len, groups)) != len(set().union(*map(set, groups))):
        raise DatasetError(f"{path}: a track appears in more than one of A, B, C and unusable")
    for letter in TRAINABLE_SETS:
        if set(train[letter]) & set(valid[letter]) or set(train[letter]) | set(
            valid[letter]
        ) != set(sets[letter]):
            raise DatasetError(
                f"{path}: train.{letter} and valid.{letter} must partition set {letter}"
            )
    seed = data.get("seed")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise DatasetError(f"{path}: seed must be an integer")
    cardinality = data.get("label_cardinality", {})
    if not isinstance(cardinality, dict) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in cardinality.values()
    ):
        raise DatasetError(f"{path}: label_cardinality must map setups to numbers")
    return Split(
        labels=labels,
        seen=seen,
        unseen=unseen,
        sets=sets,
        train=train,
        valid=valid,
        unusable=unusable,
        seed=seed,
        seen_fraction=float(_number(data, "seen_fraction", path)),
        valid_fraction=float(_number(data, "valid_fraction", path)),
        label_cardinality={str(k): float(v) for k, v in cardinality.items()},
    )
