"""The library's tracks and the tags proposed for them, as CSV or JSON for other tools.

One record per track (ok tracks, and failed ones with their error): path, title, artist, album,
the genre and mood the file has now, duration, status, and the proposed tags
(`Library.proposals`: the one proposal rule, best first) with their kind, confidence and whether
the model was trained on the word. Nothing is decoded: proposals come from the stored analysis.

* JSON: a list of objects, `proposed` a list of `{tag, kind, confidence, seen, score, score_kind}`
  (a new word also has `basis`: the trained words its confidence is read off, with their shares).
* CSV (UTF-8 with a header row, RFC 4180 quoting): the proposal as three parallel columns,
  `proposed_tags`, `proposed_kinds`, `proposed_confidences`, each joined with "; ".
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from app.playlists import atomic_write
from app.states import TrackStatus
from zsl_core.tags import join_values

if TYPE_CHECKING:  # app.library imports this module
    from app.library import Library

__all__ = ["records", "write_export", "CSV_COLUMNS"]

CSV_COLUMNS = (
    "path",
    "title",
    "artist",
    "album",
    "genre",
    "mood",
    "duration",
    "status",
    "proposed_tags",
    "proposed_kinds",
    "proposed_confidences",
)


def records(
    library: Library,
    top_k: int = 5,
    min_confidence: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[dict]:
    """One dict per track in path order (see the module doc)."""
    tracks = [t for t in library.tracks() if t.status in (TrackStatus.OK, TrackStatus.FAILED)]
    for done, track in enumerate(tracks, 1):
        proposed = []
        if track.status == TrackStatus.OK:
            proposed = [
                t.to_dict()
                for t in library.proposals(track.id, top_k=top_k, min_confidence=min_confidence)
            ]
        yield {
            "id": track.id,
            "path": track.display_path,
            "title": track.title,
            "artist": track.artist,
            "album": track.album,
            "genre": track.genre,
            "mood": track.mood,
            "duration": None if track.duration is None else round(float(track.duration), 3),
            "status": track.status,
            "error": track.error,
            "proposed": proposed,
        }
        if progress is not None:
            progress(done, len(tracks))


def _csv_row(record: dict) -> list[str]:
    proposed = record["proposed"]
    values = {
        **record,
        "proposed_tags": join_values(t["tag"] for t in proposed),
        "proposed_kinds": join_values(t["kind"] for t in proposed),
        "proposed_confidences": join_values(f"{t['confidence']:.3f}" for t in proposed),
    }
    return ["" if values.get(c) is None else str(values[c]) for c in CSV_COLUMNS]


def write_export(
    library: Library,
    target: str | Path,
    fmt: str | None = None,
    top_k: int = 5,
    min_confidence: float | None = None,
) -> int:
    """Write every track to `target` as CSV or JSON (`fmt` None: by the suffix); atomic.
    Returns the number of tracks written."""
    target = Path(target)
    fmt = (fmt or target.suffix.lstrip(".")).lower()
    if fmt not in ("csv", "json"):
        raise ValueError(f"{target}: export writes .csv or .json (or give the format)")
    rows = list(records(library, top_k=top_k, min_confidence=min_confidence))
    if fmt == "json":
        data = (
            json.dumps(rows, indent=2, ensure_ascii=False).encode("utf-8", "surrogateescape")
            + b"\n"
        )
    else:
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        for record in rows:
            writer.writerow(_csv_row(record))
        data = buffer.getvalue().encode("utf-8", "surrogateescape")
    atomic_write(target, data)
    return len(rows)
