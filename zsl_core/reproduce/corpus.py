"""A corpus folder as the experiments read it: tracks, and which tags are genres, moods and
instruments."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zsl_core import datasets
from zsl_core.errors import DatasetError
from zsl_core.vectors import OPENMIC_INSTRUMENTS


@dataclass
class Corpus:
    """The tracks and the three vocabularies the two experiments draw their labels from."""

    folder: Path
    manifest: Path
    tracks: list[datasets.Track]
    genres: list[str]
    moods: list[str]
    instruments: list[str]
    info: dict[str, Any] = field(default_factory=dict)


def _find_manifest(folder: Path, info: Mapping[str, Any]) -> Path:
    named = info.get("manifest")
    if isinstance(named, str) and (folder / named).is_file():
        return folder / named
    for name in ("manifest.jsonl", "corpus.jsonl"):
        if (folder / name).is_file():
            return folder / name
    found = sorted(folder.glob("*.jsonl"))
    if len(found) == 1:
        return found[0]
    raise DatasetError(f"{folder}: no manifest (expected manifest.jsonl or one *.jsonl file)")


def _csv_labels(path: Path) -> list[str]:
    """Genre names from genres.csv: the first column, header row skipped if it says so."""
    labels: list[str] = []
    with open(path, newline="", encoding="utf-8") as handle:
        for i, row in enumerate(csv.reader(handle)):
            if not row or row[0].startswith("#"):
                continue
            if i == 0 and row[0].strip().lower() in ("genre", "label", "name"):
                continue
            labels.append(row[0].strip())
    return list(dict.fromkeys(x for x in labels if x))


def _string_list(value: Any) -> list[str]:
    if isinstance(value, dict):
        value = list(value)
    if isinstance(value, list):
        return [str(x) for x in value if isinstance(x, (str, int)) and str(x)]
    return []


def _mood_words(value: Any) -> list[str]:
    """corpus.json "moods": a list of words, or {concept: [synonyms]} (zsl-core synth)."""
    if isinstance(value, dict):
        words = []
        for concept, synonyms in value.items():
            words += [str(concept)] + _string_list(synonyms)
        return list(dict.fromkeys(words))
    return _string_list(value)


def load_corpus(folder: str | Path) -> Corpus:
    """Read a corpus folder: its manifest, and which tags are genres and which are moods.

    Genres come from corpus.json ("genres") or genres.csv; moods from corpus.json ("moods"),
    else every tag that is not a genre; instruments are the attribute names of the manifest.
    Mood words stored per track under meta["moods"] are added to the track's tags.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"{folder}: no such corpus folder")
    info: dict[str, Any] = {}
    if (folder / "corpus.json").is_file():
        try:
            info = json.loads((folder / "corpus.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DatasetError(f"{folder / 'corpus.json'}: unreadable ({exc})") from None
        if not isinstance(info, dict):
            info = {}
    manifest = _find_manifest(folder, info)
    tracks = datasets.read_manifest(manifest)
    for track in tracks:
        extra = _string_list(track.meta.get("moods")) if isinstance(track.meta, dict) else []
        if extra:
            track.tags = list(
                dict.fromkeys(list(track.tags) + [datasets.clean_tag(x) for x in extra])
            )
    all_tags = list(dict.fromkeys(t for track in tracks for t in track.tags))
    genres = _string_list(info.get("genres"))
    if not genres and (folder / "genres.csv").is_file():
        genres = _csv_labels(folder / "genres.csv")
    if not genres:
        genres = all_tags
    present = set(all_tags)
    genres = [g for g in genres if g in present]
    moods = _mood_words(info.get("moods")) or [t for t in all_tags if t not in set(genres)]
    moods = [m for m in moods if m in present and m not in set(genres)]
    instruments = sorted(
        {a for t in tracks for a in t.attributes},
        key=lambda a: (OPENMIC_INSTRUMENTS.index(a) if a in OPENMIC_INSTRUMENTS else 99, a),
    )
    if len(genres) < 2:
        raise DatasetError(f"{folder}: need at least 2 genre labels, found {len(genres)}")
    return Corpus(folder, manifest, tracks, genres, moods, instruments, info)


def instrument_tags(track: datasets.Track) -> list[str]:
    """The instruments a track is annotated as having (likelihood > 0.5), as tag words."""
    return [name.replace("_", " ") for name, value in track.attributes.items() if value > 0.5]
