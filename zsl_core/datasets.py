"""Datasets as manifests: one JSON line per track, and the importers that write them.

Every later step (features, split, training, evaluation) reads a *manifest*, never a
dataset's own layout, so supporting a new dataset means writing one importer here and nothing
else. The format is documented for users in docs/MANIFEST.md:

    {"id": "000002", "path": "audio/000/000002.mp3", "tags": ["hip-hop"],
     "attributes": {"voice": 0.91, "piano": 0.12}, "meta": {"title": "Food", "artist": "AWOL"}}

Why JSON Lines: one track per line streams, diffs and greps well, a bad line can be named by
its number, and a 400,000-track MSD manifest is written and read without holding a tree of
objects. Paths are stored relative to the manifest's folder where possible, so a dataset
folder can be moved or mounted elsewhere with its manifest inside it.

Importers (each returns the kept tracks and, with `out=`, writes them as a manifest):

- `import_fma`: FMA genres, optionally restricted to tracks with OpenMIC-2018 instrument
  annotations, which become the track's attributes (paper, section 5.1);
- `import_msd`: Million Song Dataset previews with Last.fm tags, optionally kept to a genre
  list (the Tagtraum ontology) and to words a word-vector model knows (paper, section 5.2);
- `import_folder`: any folder of audio files, tags read from the files' own metadata.

One bad *track* never stops an import: a track with no audio file, no tags or unreadable
metadata is skipped and counted in an `ImportReport` (pass `report=` to receive it; a one-line
summary is logged either way). A malformed dataset *file* (a broken tracks.csv, a tag
database that is not SQLite) raises DatasetError, because then the whole import is wrong.
"""

from __future__ import annotations

import csv
import itertools
import json
import logging
import math
import os
import re
import sqlite3
import tempfile
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from zsl_core.errors import DatasetError
from zsl_core.tag_fields import FIELD_KEYS, FOLDER_FIELDS, META_FIELDS, MP4_FREEFORM, Container
from zsl_core.tags import split_values
from zsl_core.vectors import OPENMIC_INSTRUMENTS

_log = logging.getLogger(__name__)

# Same set as zsl_core.audio.AUDIO_EXTENSIONS (a test keeps them equal); repeated here so that
# importing datasets does not import torch.
AUDIO_EXTENSIONS: frozenset[str] = frozenset(
    {
        ".mp3",
        ".flac",
        ".ogg",
        ".oga",
        ".opus",
        ".wav",
        ".aiff",
        ".aif",
        ".m4a",
        ".mp4",
        ".aac",
        ".alac",
        ".wma",
    }
)
_EXAMPLES_KEPT = 5


# --- tracks and import reports -----------------------------------------------------------


@dataclass
class Track:
    """One manifest line. `path` is absolute once read from a manifest.

    `attributes` holds OpenMIC-style likelihoods in [0, 1] for the attributes that were
    annotated (0.5 means "not annotated"); `meta` holds display information (title, artist,
    album) that no model reads.
    """

    id: str
    path: Path
    tags: list[str]
    attributes: dict[str, float] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class ImportReport:
    """What an importer kept and what it skipped, and why, so nothing disappears silently.

    `skipped` counts skipped items (tracks, or folders for `import_folder`) per reason;
    `examples` keeps the first few ids or paths of each reason for the user to look at;
    `notes` are facts about the import as a whole (tags dropped by a filter, and so on).
    """

    source: str = ""
    kept: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def skip(self, reason: str, item: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1
        shown = self.examples.setdefault(reason, [])
        if len(shown) < _EXAMPLES_KEPT:
            shown.append(item)

    @property
    def total_skipped(self) -> int:
        return sum(self.skipped.values())

    def summary(self) -> str:
        """One line for a terminal: kept count, then each skip reason with an example."""
        text = f"{self.source}: kept {self.kept} track(s)"
        if self.skipped:
            reasons = "; ".join(
                f"{reason}: {count} (e.g. {self.examples[reason][0]})"
                for reason, count in sorted(self.skipped.items())
            )
            text += f"; skipped {reasons}"
        if self.notes:
            text += "; " + "; ".join(self.notes)
        return text


def _finish(tracks: list[Track], report: ImportReport, out: str | Path | None) -> list[Track]:
    """Common end of every importer: count, log, and write the manifest if asked."""
    report.kept = len(tracks)
    (_log.warning if report.skipped else _log.info)(report.summary())
    if out is not None:
        write_manifest(out, tracks)
    return tracks


# --- tag spelling ------------------------------------------------------------------------

_SPACES = re.compile(r"\s+")
_NOT_ALNUM = re.compile(r"[\W_]+")


def clean_tag(text: str) -> str:
    """The spelling a tag gets in a manifest: "  Hip-Hop " -> "hip-hop".

    Lower case with runs of white space collapsed, punctuation kept: a manifest stays
    readable ("r&b", "hip-hop", "drum & bass"), and the looser matching that word vectors
    need is vectors.normalise_tag's job, not the manifest's.
    """
    text = unicodedata.normalize("NFKC", text).lower()
    return _SPACES.sub(" ", text).strip()


def squash_tag(text: str) -> str:
    """The matching key the paper's authors used: lower case, spaces and punctuation removed.

    "Classic Rock", "classic-rock" and "classicrock" all become "classicrock", which is how
    Last.fm tags were matched to the Tagtraum genre names.
    """
    return _NOT_ALNUM.sub("", unicodedata.normalize("NFKC", text).lower())


def _unique(items: Iterable[str]) -> list[str]:
    return [item for item in dict.fromkeys(items) if item]


def _absolute(path: str | Path) -> Path:
    """Absolute and tidied, symbolic links kept (what the user pointed at, not where it leads)."""
    return Path(os.path.normpath(Path(path).absolute()))


# --- the manifest ------------------------------------------------------------------------


def read_manifest(path: str | Path) -> list[Track]:
    """Every track of a manifest, paths made absolute against the manifest's folder.

    Blank lines and lines starting with '#' are skipped. Any malformed line (bad JSON, a
    missing key, a wrong type, an id used twice) raises DatasetError naming the file and the
    line: training on a silently half-read manifest would be worse than stopping.
    """
    path = Path(path)
    base = _absolute(path.parent)
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise DatasetError(f"{path}: manifest not found") from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read manifest ({exc.strerror or exc})") from None
    tracks: list[Track] = []
    first_seen: dict[str, int] = {}
    with handle:
        for number, raw in enumerate(handle, 1):
            where = f"{path}:{number}"
            text = _decode_line(raw, number, where).strip()
            if not text or text.startswith("#"):
                continue
            track = _parse_record(_load_json(text, where), where, base)
            if track.id in first_seen:
                raise DatasetError(
                    f"{where}: duplicate track id {track.id!r} "
                    f"(first on line {first_seen[track.id]})"
                )
            first_seen[track.id] = number
            tracks.append(track)
    return tracks


def _decode_line(raw: bytes, number: int, where: str) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise DatasetError(f"{where}: not UTF-8 text") from None
    return text.lstrip("\ufeff") if number == 1 else text


def _load_json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{where}: malformed JSON ({exc.msg} at column {exc.colno})") from None


def _parse_record(record: Any, where: str, base: Path) -> Track:
    """One manifest line checked key by key; keys other than the five known ones are ignored."""
    if not isinstance(record, dict):
        raise DatasetError(f"{where}: expected a JSON object, got {type(record).__name__}")
    for key in ("id", "path", "tags"):
        if key not in record:
            raise DatasetError(f"{where}: missing key '{key}'")
    track_id, path, tags = record["id"], record["path"], record["tags"]
    if not isinstance(track_id, str) or not track_id:
        raise DatasetError(f"{where}: 'id' must be a non-empty string")
    if not isinstance(path, str) or not path:
        raise DatasetError(f"{where}: 'path' must be a non-empty string")
    if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
        raise DatasetError(f"{where}: 'tags' must be a list of non-empty strings")
    attributes = _check_attributes(record.get("attributes", {}), where)
    meta = record.get("meta", {})
    if not isinstance(meta, dict):
        raise DatasetError(f"{where}: 'meta' must be an object")
    return Track(
        id=track_id,
        path=_absolute(base / path),
        tags=_unique(tags),
        attributes=attributes,
        meta=meta,
    )


def _check_attributes(attributes: Any, where: str) -> dict[str, float]:
    if not isinstance(attributes, dict):
        raise DatasetError(f"{where}: 'attributes' must be an object of name: likelihood")
    checked = {}
    for name, value in attributes.items():
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not 0.0 <= float(value) <= 1.0
        ):
            raise DatasetError(
                f"{where}: attribute {name!r} must be a number in [0, 1], got {value!r}"
            )
        checked[name] = float(value)
    return checked


def write_manifest(path: str | Path, tracks: Iterable[Track]) -> None:
    """Write `tracks` as a manifest, atomically: readers see the old file or the new one.

    Paths under the manifest's folder are written relative to it (with '/' on every
    platform), others absolute; a relative `Track.path` is taken as relative to the current
    directory. The file is written next to its target and moved over it with os.replace, so a
    crash never leaves a truncated manifest behind.
    """
    path = Path(path)
    folder = _absolute(path.parent)
    lines: list[str] = []
    first_seen: dict[str, int] = {}
    for index, track in enumerate(tracks):
        record = _track_record(track, folder)
        if record["id"] in first_seen:
            raise DatasetError(
                f"{path}: tracks {first_seen[record['id']]} and {index} share the id "
                f"{record['id']!r}"
            )
        first_seen[record["id"]] = index
        try:
            lines.append(json.dumps(record, ensure_ascii=False, allow_nan=False))
        except (TypeError, ValueError) as exc:
            raise DatasetError(f"track {track.id!r}: meta is not plain JSON ({exc})") from None
    folder.mkdir(parents=True, exist_ok=True)
    _atomic_write(path, "".join(line + "\n" for line in lines))


def _track_record(track: Track, folder: Path) -> dict[str, Any]:
    if not isinstance(track.id, str) or not track.id:
        raise DatasetError(f"track {track.id!r}: the id must be a non-empty string")
    if isinstance(track.tags, str) or not all(isinstance(t, str) and t for t in track.tags):
        raise DatasetError(f"track {track.id!r}: tags must be a list of non-empty strings")
    record: dict[str, Any] = {
        "id": track.id,
        "path": _manifest_path(Path(track.path), folder),
        "tags": list(track.tags),
    }
    if track.attributes:
        record["attributes"] = _check_attributes(dict(track.attributes), f"track {track.id!r}")
    if track.meta:
        record["meta"] = dict(track.meta)
    return record


def _manifest_path(path: Path, folder: Path) -> str:
    absolute = _absolute(path)
    if absolute.is_relative_to(folder):
        return absolute.relative_to(folder).as_posix()
    return str(absolute)


def _atomic_write(path: Path, text: str) -> None:
    descriptor, temporary = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".tmp", dir=path.parent
    )
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, _file_mode(path))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _file_mode(path: Path) -> int:
    """Keep an existing manifest's permissions; a new one gets rw-r--r-- (mkstemp's is 0600)."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        return 0o644


# --- FMA (+ OpenMIC-2018) ----------------------------------------------------------------


def import_fma(
    metadata_dir: str | Path,
    audio_dir: str | Path,
    openmic_npz: str | Path | None = None,
    genre_field: str = "genres",
    out: str | Path | None = None,
    report: ImportReport | None = None,
) -> list[Track]:
    """Tracks of the Free Music Archive tagged with their genre titles (paper, section 5.1).

    `metadata_dir` is FMA's fma_metadata folder (or the folder holding it) with tracks.csv and
    genres.csv. `genre_field` picks the tracks.csv column: "genres" (the genres the artist
    chose, what the paper used), "genres_all" (with their parents) or "genre_top".
    Audio is looked up as audio_dir/000/000002.mp3.

    With `openmic_npz`, only tracks that OpenMIC-2018 annotated are kept and their
    instrument likelihoods become attributes (see load_openmic for how clips are combined).
    Tracks without genres, without OpenMIC annotations (when asked) or without an audio file
    are skipped and counted in `report`.
    """
    report = report if report is not None else ImportReport()
    report.source = report.source or "fma"
    metadata_dir, audio_dir = _fma_metadata_folder(Path(metadata_dir)), _absolute(audio_dir)
    genre_titles = read_fma_genres(metadata_dir / "genres.csv")
    instruments = load_openmic(openmic_npz) if openmic_npz is not None else None
    tracks, listed = [], set()
    for number, genres, meta in _read_fma_tracks(
        metadata_dir / "tracks.csv", genre_field, genre_titles
    ):
        listed.add(number)
        track_id = f"{number:06d}"
        tags = _unique(clean_tag(title) for title in genres)
        attributes = {} if instruments is None else instruments.get(number)
        audio = audio_dir / track_id[:3] / f"{track_id}.mp3"
        if not tags:
            report.skip("no genre", track_id)
        elif not attributes and instruments is not None:
            report.skip("no OpenMIC annotation", track_id)
        elif not audio.is_file():
            report.skip("audio file missing", str(audio))
        else:
            tracks.append(Track(track_id, audio, tags, dict(attributes or {}), meta))
    if instruments is not None:
        orphans = len(set(instruments) - listed)
        if orphans:
            report.notes.append(f"{orphans} OpenMIC track(s) are not in tracks.csv")
    return _finish(tracks, report, out)


def _fma_metadata_folder(folder: Path) -> Path:
    """Accept the fma_metadata folder itself or the folder it was unpacked into."""
    if not (folder / "tracks.csv").is_file() and (folder / "fma_metadata" / "tracks.csv").is_file():
        return folder / "fma_metadata"
    return folder


def read_fma_genres(path: str | Path) -> dict[int, str]:
    """genres.csv as {genre_id: title}."""
    path = Path(path)
    with _open_csv(path) as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"genre_id", "title"} <= set(reader.fieldnames):
            raise DatasetError(
                f"{path}: expected FMA's genres.csv with 'genre_id' and 'title' columns"
            )
        titles = {}
        for row in reader:
            genre_id = (row["genre_id"] or "").strip()
            if not genre_id.isdigit() or not (row["title"] or "").strip():
                raise DatasetError(
                    f"{path}:{reader.line_num}: expected a numeric genre_id and a title"
                )
            titles[int(genre_id)] = row["title"].strip()
    if not titles:
        raise DatasetError(f"{path}: no genres")
    return titles


def _open_csv(path: Path) -> IO[str]:
    try:
        return path.open("r", encoding="utf-8", newline="")
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _read_fma_tracks(
    path: Path, genre_field: str, genre_titles: Mapping[int, str]
) -> Iterator[tuple[int, list[str], dict[str, str]]]:
    """(track number, genre titles, meta) for every row of FMA's tracks.csv.

    tracks.csv was written by pandas with two-level columns, so it has three header rows:
    top level ("track", "artist", ...), field ("genres", "title", ...), then "track_id".
    Free-text fields span several lines, which the csv module handles.
    """
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 24))  # artist bios exceed the default
    with _open_csv(path) as handle:
        reader = csv.reader(handle)
        try:
            columns = _fma_columns(path, [next(reader), next(reader), next(reader)])
            if ("track", genre_field) not in columns:
                raise DatasetError(f"{path}: no column ('track', '{genre_field}')")
            for row in reader:
                if not row:
                    continue
                where = f"{path}:{reader.line_num}"
                cell = _cell(row, columns, ("track", genre_field))
                yield (
                    _fma_track_number(row[0], where),
                    _genre_titles(cell, genre_titles, where),
                    _fma_meta(row, columns),
                )
        except (StopIteration, csv.Error, UnicodeDecodeError) as exc:
            raise DatasetError(f"{path}: not FMA's tracks.csv ({exc or 'too short'})") from None


def _fma_columns(path: Path, header: list[list[str]]) -> dict[tuple[str, str], int]:
    top, fields, index = header
    if not index or index[0].strip() != "track_id":
        raise DatasetError(f"{path}: expected FMA's 3-row header ('track_id' opening row 3)")
    columns: dict[tuple[str, str], int] = {}
    current = ""
    for i, (group, name) in enumerate(zip(top, fields, strict=False)):
        current = group.strip() or current  # tolerate a top level written only once per group
        columns.setdefault((current, name.strip()), i)
    return columns


def _cell(row: list[str], columns: Mapping[tuple[str, str], int], key: tuple[str, str]) -> str:
    i = columns.get(key)
    return row[i].strip() if i is not None and i < len(row) else ""


def _fma_track_number(text: str, where: str) -> int:
    if not text.strip().isdigit():
        raise DatasetError(f"{where}: track_id {text!r} is not a number")
    return int(text)


def _genre_titles(cell: str, genre_titles: Mapping[int, str], where: str) -> list[str]:
    """ "[21, 76]" -> their titles; a cell that is not a list ('genre_top') is a title already."""
    if not cell.startswith("["):
        return [cell] if cell else []
    inner = cell.strip("[]").strip()
    parts = [p.strip() for p in inner.split(",")] if inner else []
    if not cell.endswith("]") or not all(p.isdigit() for p in parts):
        raise DatasetError(f"{where}: genre list {cell!r} is not like [21, 76]")
    unknown = [p for p in parts if int(p) not in genre_titles]
    if unknown:
        raise DatasetError(f"{where}: genre id {unknown[0]} is not in genres.csv")
    return [genre_titles[int(p)] for p in parts]


def _fma_meta(row: list[str], columns: Mapping[tuple[str, str], int]) -> dict[str, str]:
    wanted = {
        "title": ("track", "title"),
        "artist": ("artist", "name"),
        "album": ("album", "title"),
    }
    return {name: value for name, key in wanted.items() if (value := _cell(row, columns, key))}


def load_openmic(path: str | Path) -> dict[int, dict[str, float]]:
    """OpenMIC-2018 instrument likelihoods per FMA track: {track number: {instrument: p}}.

    The archive holds one row per 10-second clip (`sample_key` "000046_3840": FMA track 46,
    clip starting at 3,840 ms), with `Y_true` likelihoods and `Y_mask` marking the instruments
    annotators were asked about. Only annotated instruments are kept. When a track has several
    clips, an instrument's likelihood is the mean over the clips that annotated it, so a track
    votes once in the paper's per-genre sums however many clips it has; a mean of exactly 0.5
    (clips disagreeing evenly) then reads as "not annotated", which is what it is.

    Read with allow_pickle=False: an archive whose `sample_key` is a pickled object array is
    refused with instructions, never unpickled.
    """
    path = Path(path)
    y_true, y_mask, keys = _openmic_arrays(path)
    rows: dict[int, list[int]] = {}
    for row, key in enumerate(keys):
        head = str(key).split("_")[0]
        if not head.isdigit():
            raise DatasetError(
                f"{path}: sample_key {str(key)!r} does not start with an FMA track id"
            )
        rows.setdefault(int(head), []).append(row)
    result = {}
    for number, indices in rows.items():
        attributes = _combine_clips(y_true[indices], y_mask[indices])
        if attributes:
            result[number] = attributes
    return result


def _combine_clips(likelihoods: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    attributes = {}
    for column, name in enumerate(OPENMIC_INSTRUMENTS):
        annotated = likelihoods[mask[:, column], column]
        if annotated.size:
            # float32 precision, shortest spelling: the manifest shows 0.171 not 0.17100000381
            attributes[name] = float(str(np.float32(annotated.astype(np.float64).mean())))
    return attributes


def _openmic_arrays(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    try:
        archive = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DatasetError(f"{path}: OpenMIC archive not found") from None
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise DatasetError(f"{path}: not a readable .npz archive ({exc})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DatasetError(
            f"{path}: expected an .npz archive (Y_true, Y_mask, sample_key), got one array"
        )
    with archive:
        missing = [k for k in ("Y_true", "Y_mask", "sample_key") if k not in archive.files]
        if missing:
            raise DatasetError(f"{path}: missing array(s) {', '.join(missing)}")
        y_true, y_mask, keys = (
            _npz_array(archive, path, k) for k in ("Y_true", "Y_mask", "sample_key")
        )
    n = len(OPENMIC_INSTRUMENTS)
    if (
        y_true.ndim != 2
        or y_true.shape[1] != n
        or y_mask.shape != y_true.shape
        or keys.shape != (len(y_true),)
    ):
        raise DatasetError(
            f"{path}: expected Y_true and Y_mask [n, {n}] and sample_key [n], got "
            f"{y_true.shape}, {y_mask.shape}, {keys.shape}"
        )
    if keys.dtype.kind not in "US":
        raise DatasetError(f"{path}: sample_key must hold strings, got dtype {keys.dtype}")
    y_true = y_true.astype(np.float64)
    if not np.all((y_true >= 0.0) & (y_true <= 1.0)):  # also refuses NaN
        raise DatasetError(f"{path}: Y_true holds values outside [0, 1]")
    keys = keys.astype(str) if keys.dtype.kind == "U" else np.char.decode(keys, "utf-8")
    return y_true, y_mask.astype(bool), keys


def _npz_array(archive: Any, path: Path, key: str) -> np.ndarray:
    try:
        return archive[key]
    except ValueError as exc:
        if "allow_pickle" not in str(exc):
            raise DatasetError(f"{path}: array {key} is unreadable ({exc})") from None
        raise DatasetError(
            f"{path}: array {key} is a pickled object array, which zsl-core never unpickles; if you "
            f"trust the file, re-save it with strings, e.g. d = np.load(p, allow_pickle=True); "
            f"np.savez(q, Y_true=d['Y_true'], Y_mask=d['Y_mask'], sample_key=d['sample_key'].astype(str))"
        ) from None
    except (OSError, zipfile.BadZipFile) as exc:
        raise DatasetError(f"{path}: array {key} is unreadable ({exc})") from None


# --- MSD + Last.fm -----------------------------------------------------------------------


def import_msd(
    tags_source: str | Path,
    audio_dir: str | Path,
    genre_filter: str | Path | None = None,
    vectors: Any = None,
    min_tag_count: int = 1,
    min_score: float = 0.0,
    out: str | Path | None = None,
    report: ImportReport | None = None,
) -> list[Track]:
    """Million Song Dataset tracks with their Last.fm tags (paper, section 5.2).

    `tags_source` is the Last.fm dataset as `lastfm_tags.db` (SQLite) or as its folder of
    per-track JSON files. A tag is kept when its Last.fm score (0-100) is at least
    `min_score`, and then, in this order:

    - with `genre_filter` (a text file, one genre per line, e.g. Tagtraum's genre names), only
      if its squashed form (squash_tag: "Classic Rock" == "classicrock") is a listed genre; it
      is then spelled as the list spells it, so Last.fm's variants of one genre merge into one
      tag, as the authors' lookup did;
    - with `vectors` (anything with `embed(phrase) -> vector | None`, such as WordVectors, or
      with `in`), only if the vectors know the (spelled) tag;
    - only if at least `min_tag_count` kept tracks carry it.

    Audio is found as audio_dir/A/B/C/TRABC....mp3 (the 7digital preview layout: the 3rd,
    4th and 5th characters of the track id) or, failing that, audio_dir/TRABC....mp3.
    Tracks with no kept tag or no audio file are skipped and counted.
    """
    report = report if report is not None else ImportReport()
    report.source = report.source or "msd"
    audio_dir = _absolute(audio_dir)
    if min_tag_count < 1:
        raise ValueError(f"min_tag_count must be at least 1, got {min_tag_count}")
    label_of = _TagMapper(
        _read_genre_filter(genre_filter) if genre_filter is not None else None, vectors
    )
    candidates = []
    for tid, raw_tags, meta in _read_lastfm(Path(tags_source)):
        scores: dict[str, float] = {}
        for raw, score in raw_tags:
            label = label_of(raw) if score >= min_score else None
            if label is not None:
                scores[label] = max(score, scores.get(label, score))
        audio = _msd_audio_path(audio_dir, tid)
        if not scores:
            report.skip("no kept tag", tid)
        elif audio is None:
            report.skip("audio file missing", tid)
        else:
            tags = sorted(scores, key=lambda label: (-scores[label], label))
            candidates.append(Track(tid, audio, tags, {}, meta))
    label_of.describe(report)
    tracks = _drop_rare_tags(candidates, min_tag_count, report)
    return _finish(sorted(tracks, key=lambda t: t.id), report, out)


class _TagMapper:
    """Raw Last.fm tag -> manifest tag or None, each distinct tag decided once (cached)."""

    def __init__(self, genres: dict[str, str] | None, vectors: Any) -> None:
        self.genres = genres
        self.known = _vocabulary_test(vectors) if vectors is not None else None
        self.cache: dict[str, str | None] = {}
        self.dropped: Counter[str] = Counter()

    def __call__(self, raw: str) -> str | None:
        if raw not in self.cache:
            self.cache[raw] = self._decide(raw)
        return self.cache[raw]

    def _decide(self, raw: str) -> str | None:
        label: str | None = clean_tag(raw)
        if self.genres is not None:
            label = self.genres.get(squash_tag(raw))
            if label is None:
                self.dropped["not in the genre filter"] += 1
                return None
        if not label:
            return None
        if self.known is not None and not self.known(label):
            self.dropped["unknown to the word vectors"] += 1
            return None
        return label

    def describe(self, report: ImportReport) -> None:
        for reason, count in sorted(self.dropped.items()):
            report.notes.append(f"{count} distinct Last.fm tag(s) dropped: {reason}")


def _vocabulary_test(vectors: Any):
    if hasattr(vectors, "embed"):
        return lambda label: vectors.embed(label) is not None
    if hasattr(vectors, "__contains__"):
        return lambda label: label in vectors
    raise TypeError("vectors must have embed(phrase) or support `in`")


def _read_genre_filter(path: str | Path) -> dict[str, str]:
    """{squashed genre: manifest spelling}. One genre per line; '#' comments and blank lines
    are skipped, and only the first tab-separated field counts (for files with extra columns)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except FileNotFoundError:
        raise DatasetError(f"{path}: genre filter file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read the genre filter ({exc})") from None
    genres: dict[str, str] = {}
    for line in lines:
        name = line.split("\t")[0].strip()
        if name and not name.startswith("#") and squash_tag(name):
            genres.setdefault(squash_tag(name), clean_tag(name))
    if not genres:
        raise DatasetError(f"{path}: the genre filter lists no genre")
    return genres


def _read_lastfm(source: Path) -> Iterator[tuple[str, list[tuple[str, float]], dict[str, str]]]:
    if source.is_dir():
        return _read_lastfm_json(source)
    if source.is_file():
        return _read_lastfm_sqlite(source)
    raise DatasetError(f"{source}: no such Last.fm tag database or folder")


def _read_lastfm_sqlite(
    path: Path,
) -> Iterator[tuple[str, list[tuple[str, float]], dict[str, str]]]:
    """(track id, [(tag, score)], {}) from lastfm_tags.db, opened read-only.

    Its three tables link by row id: tid_tag.tid = tids.ROWID and tid_tag.tag = tags.ROWID.
    Rows come ordered by track and are grouped as they stream, so the 8.6 million rows of
    the full database are never held at once.
    """
    with path.open("rb") as handle:
        if handle.read(16) != b"SQLite format 3\x00":
            raise DatasetError(f"{path}: not an SQLite database (expected lastfm_tags.db)")
    connection = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
    try:
        tables = {
            name
            for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        if not {"tids", "tags", "tid_tag"} <= tables:
            raise DatasetError(
                f"{path}: expected tables tids, tags and tid_tag, found {sorted(tables)}"
            )
        query = (
            "SELECT tids.tid, tags.tag, tid_tag.val FROM tid_tag "
            "JOIN tids ON tids.ROWID = tid_tag.tid JOIN tags ON tags.ROWID = tid_tag.tag "
            "ORDER BY tid_tag.tid"
        )
        for tid, rows in itertools.groupby(connection.execute(query), key=lambda row: row[0]):
            yield str(tid), [(str(tag), _score(score, path)) for _, tag, score in rows], {}
    except sqlite3.Error as exc:
        raise DatasetError(f"{path}: unreadable Last.fm database ({exc})") from None
    finally:
        connection.close()


def _read_lastfm_json(
    folder: Path,
) -> Iterator[tuple[str, list[tuple[str, float]], dict[str, str]]]:
    """(track id, [(tag, score)], meta) from the Last.fm JSON folder (A/B/C/TRABC....json)."""
    files = sorted(folder.rglob("*.json"))
    if not files:
        raise DatasetError(f"{folder}: no Last.fm .json files in this folder")
    for path in files:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DatasetError(f"{path}: unreadable Last.fm JSON ({exc})") from None
        tags = record.get("tags") if isinstance(record, dict) else None
        if not isinstance(tags, list) or not all(isinstance(t, list) and len(t) == 2 for t in tags):
            raise DatasetError(f"{path}: expected an object with 'tags': [[tag, score], ...]")
        tid = str(record.get("track_id") or path.stem)
        meta = {
            k: record[k]
            for k in ("title", "artist")
            if isinstance(record.get(k), str) and record[k]
        }
        yield tid, [(str(tag), _score(score, path)) for tag, score in tags], meta


def _score(value: Any, where: Path) -> float:
    try:
        score = float(value)
    except (TypeError, ValueError):
        raise DatasetError(f"{where}: tag score {value!r} is not a number") from None
    if not math.isfinite(score):
        raise DatasetError(f"{where}: tag score {value!r} is not finite")
    return score


def _msd_audio_path(audio_dir: Path, tid: str) -> Path | None:
    if len(tid) >= 5:
        nested = audio_dir / tid[2] / tid[3] / tid[4] / f"{tid}.mp3"
        if nested.is_file():
            return nested
    flat = audio_dir / f"{tid}.mp3"
    return flat if flat.is_file() else None


def _drop_rare_tags(tracks: list[Track], min_tag_count: int, report: ImportReport) -> list[Track]:
    """Remove tags carried by fewer than `min_tag_count` tracks, then tracks left untagged.

    One pass suffices: a track dropped here has no tags left, so no other tag's count changes.
    """
    counts = Counter(tag for track in tracks for tag in track.tags)
    rare = {tag for tag, count in counts.items() if count < min_tag_count}
    if not rare:
        return tracks
    report.notes.append(f"{len(rare)} tag(s) on fewer than {min_tag_count} tracks dropped")
    kept = []
    for track in tracks:
        track.tags = [tag for tag in track.tags if tag not in rare]
        if track.tags:
            kept.append(track)
        else:
            report.skip(f"only tags on fewer than {min_tag_count} tracks", track.id)
    return kept


# --- a folder of tagged files ------------------------------------------------------------


def import_folder(
    folder: str | Path,
    fields: Sequence[str] = FOLDER_FIELDS,
    out: str | Path | None = None,
    report: ImportReport | None = None,
    keep_untagged: bool = False,
) -> list[Track]:
    """Every audio file under `folder`, tagged from its own metadata (see read_file_tags).

    The track id is the file's path relative to `folder` ('/'-separated), unique and stable as
    long as the files stay put. Symbolic links are followed, but a folder is visited once, so
    link loops end. Unreadable folders and files whose metadata cannot be read are skipped and
    counted; so are files with no tag in `fields`, unless `keep_untagged` (then their tags are
    empty: useless for training, but fine for a list of files to tag).
    """
    report = report if report is not None else ImportReport()
    report.source = report.source or "folder"
    root = Path(folder)
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder")
    root = _absolute(root)
    tracks = []
    for path in _audio_files(root, report):
        track_id = path.relative_to(root).as_posix()
        try:
            tags, meta = read_file_tags(path, fields)
        except DatasetError as exc:
            report.skip("unreadable metadata", f"{track_id} ({getattr(exc, 'reason', exc)})")
            continue
        if tags or keep_untagged:
            tracks.append(Track(track_id, path, tags, {}, meta))
        else:
            report.skip(f"no {'/'.join(fields)} tag", track_id)
    return _finish(sorted(tracks, key=lambda t: t.id), report, out)


def _audio_files(root: Path, report: ImportReport) -> Iterator[Path]:
    """Audio files under root, depth first in name order; each real folder visited once."""
    visited: set[tuple[int, int]] = set()
    pending = [root]
    while pending:
        folder = pending.pop()
        try:
            status = folder.stat()
            with os.scandir(folder) as scan:
                entries = sorted(scan, key=lambda entry: entry.name)
        except OSError as exc:
            report.skip("unreadable folder", f"{folder} ({exc.strerror or exc})")
            continue
        if (status.st_dev, status.st_ino) in visited:
            report.notes.append(f"{folder}: already visited (symbolic link loop), skipped")
            continue
        visited.add((status.st_dev, status.st_ino))
        subfolders = []
        for entry in entries:
            try:
                if entry.is_dir():
                    subfolders.append(Path(entry.path))
                elif entry.is_file() and Path(entry.name).suffix.lower() in AUDIO_EXTENSIONS:
                    yield Path(entry.path)
            except OSError:
                report.skip("unreadable entry", entry.path)
        pending.extend(reversed(subfolders))


class _MetadataError(DatasetError):
    def __init__(self, path: Path, reason: str) -> None:
        self.reason = reason
        super().__init__(f"{path}: {reason}")


# Where each field lives, per tag container: zsl_core.tag_fields (keys compared without case).
# A field not declared there is looked up as TXXX:<FIELD> (ID3), ----:com.apple.iTunes:<FIELD>
# (MP4), WM/<Field> (ASF) and <field> (Vorbis comments, APE).
_ID3V1_GENRE = re.compile(r"^\((\d+)\)$")


def read_file_tags(
    path: str | Path, fields: Sequence[str] = FOLDER_FIELDS
) -> tuple[list[str], dict[str, str]]:
    """(tags, meta) from one audio file's own metadata, read with mutagen.

    Tags are the values of `fields` (genre, mood, grouping, or any other field name), cleaned
    with clean_tag and de-duplicated. A field holding a single string is split by the one
    multi-value rule (`zsl_core.tags.split_values`: ';', ',', ' / '; "Rock; Pop" is two genres,
    "Drum & Bass" and "AC/DC" one); a field that already holds several values is not.
    ID3v1 genre numbers ("(17)", or "17" in ID3) become their names ("Rock"). `meta` holds
    title, artist and album where present. Raises DatasetError (with `.reason`) when the
    metadata cannot be read.
    """
    import mutagen  # imported here: only folder imports need it

    path = Path(path)
    try:
        audio = mutagen.File(path)
    except Exception as exc:  # a third-party parser on arbitrary files: any failure means "skip"
        raise _MetadataError(path, f"{type(exc).__name__}: {exc}") from None
    if audio is None:
        raise _MetadataError(path, "not an audio format mutagen recognises")
    if audio.tags is None:
        return [], {}
    container = _container(audio.tags)
    index = _key_index(audio.tags)
    tags: list[str] = []
    for name in fields:
        values = _field_values(audio.tags, container, index, name)
        if len(values) == 1:
            values = split_values(values[0])
        if name.lower() == "genre":
            values = [_id3v1_genre_name(v) for v in values]
        tags.extend(clean_tag(v) for v in values)
    meta = {}
    for name in META_FIELDS:
        values = [v.strip() for v in _field_values(audio.tags, container, index, name) if v.strip()]
        if values:
            meta[name] = values[0]
    return _unique(tags), meta


def _container(tags: Any) -> Container:
    # mutagen: only folder imports need it (as in `read_file_tags`)
    from mutagen.asf import ASFTags
    from mutagen.id3 import ID3
    from mutagen.mp4 import MP4Tags

    if isinstance(tags, ID3):  # MP3, and the ID3 chunks of WAV and AIFF
        return "id3"
    if isinstance(tags, MP4Tags):
        return "mp4"
    if isinstance(tags, ASFTags):
        return "asf"
    return "vorbis"  # Vorbis comments (FLAC, Ogg, Opus) and APE: plain field names


def _key_index(tags: Any) -> dict[str, list[str]]:
    """Lower-cased key -> the container's own keys (ID3 TXXX descriptions vary in case)."""
    index: dict[str, list[str]] = {}
    for key in tags.keys():
        index.setdefault(str(key).lower(), []).append(key)
        if str(key).startswith("COMM::"):  # "the comment": no description, any language
            index.setdefault("comm", []).append(key)
    return index


def _field_values(
    tags: Any, container: Container, index: Mapping[str, list[str]], name: str
) -> list[str]:
    declared = FIELD_KEYS.get(name.lower())
    if declared is not None:
        keys = declared.read_keys(container)
    else:
        fallback = {"id3": f"TXXX:{name}", "mp4": f"{MP4_FREEFORM}{name}", "asf": f"WM/{name}"}
        keys = tuple(k for k in (fallback.get(container), name) if k)
    values = []
    for key in keys:
        for own_key in index.get(key.lower(), []):
            values.extend(_texts(tags[own_key]))
    return [v for v in (value.strip() for value in values) if v]


def _texts(value: Any) -> list[str]:
    """Strings from whatever a container stores: ID3 frames, lists, bytes (MP4 freeform), ASF
    attributes. TCON frames go through mutagen's genre parser (multi-values, "(17)")."""
    from mutagen.id3 import TCON, Frame  # mutagen: only folder imports need it

    if isinstance(value, TCON):
        return list(value.genres)
    if isinstance(value, Frame):
        return [str(text) for text in getattr(value, "text", [])]
    if isinstance(value, (list, tuple)):
        return [text for item in value for text in _texts(item)]
    value = getattr(value, "value", value)  # ASF attributes wrap their value
    if isinstance(value, bytes):
        return [value.decode("utf-8", errors="replace")]
    return [str(value)]


def _id3v1_genre_name(value: str) -> str:
    from mutagen.id3 import TCON  # mutagen: only folder imports need it

    match = _ID3V1_GENRE.match(value.strip())
    if match and int(match.group(1)) < len(TCON.GENRES):
        return TCON.GENRES[int(match.group(1))]
    return value
