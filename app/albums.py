"""Albums: the library's tracks grouped as a listener (and beets, Picard) sees them.

Why albums: genres belong to records more than to tracks. Tagged one by one, the tracks of one
record get different genres (the quiet intro "ambient", the single "pop"), and every player then
splits the record across genres. An album's proposals are made from all its tracks at once, and
the same values go to every track, so the record stays together.

Grouping (`group_albums`), the rule taggers use:

* A track with an album title and an album artist belongs to (album artist, album title), so a
  record spread over folders, or a compilation tagged with "Various Artists", is one album.
* A track with an album title but no album artist belongs to (its folder, album title): a
  compilation nobody gave an album artist is still one album (shown as by "Various artists"
  when its artists differ), while two artists' "Greatest Hits" in two folders stay apart. Disc
  folders ("CD1", "Disc 2") count as the folder above them.
* A track without an album title is one of its artist's singles (`Album.title` None, shown as
  "(no album)"); singles are listed together but get no album proposals: they are not a record.

Names are compared case-folded with runs of spaces collapsed ("The  Wall" is "the wall").
Within an album, tracks are in disc, track number, title and path order; albums are sorted by
artist, year and title, singles after an artist's albums.

Album proposals (`aggregate`, used by `app.library.Library.album_prediction`): the mean of the
album's tracks' stored seen-label probabilities (and embeddings, for a trained model), turned
into one `Prediction` by the model and picked by the one rule (`Prediction.pick`), against the
same library prior as a track. The mean keeps the probability scale, so the same floor and
confidence words apply, and a record of mostly speech is speech (no genre).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from app.metadata import file_format

__all__ = [
    "Album",
    "NO_ALBUM",
    "VARIOUS_ARTISTS",
    "UNKNOWN_ARTIST",
    "album_key",
    "group_albums",
    "aggregate",
]

NO_ALBUM = "(no album)"
VARIOUS_ARTISTS = "Various artists"
UNKNOWN_ARTIST = "Unknown artist"
_DISC_FOLDER = re.compile(r"^(cd|disc|disk|part)[\s._-]*\d+$", re.IGNORECASE)


@dataclass
class Album:
    """One record (or one artist's singles, when `title` is None). `key` is stable across
    reloads of the same library: the view keeps its expanded rows and selection by it."""

    key: str
    title: str | None
    artist: str
    track_ids: list[int] = field(default_factory=list)
    year: int | None = None
    duration: float = 0.0
    formats: list[str] = field(default_factory=list)

    @property
    def is_album(self) -> bool:
        """A real record: album proposals and "apply to album" are offered for it."""
        return self.title is not None

    @property
    def display_title(self) -> str:
        return self.title if self.title is not None else NO_ALBUM

    def __len__(self) -> int:
        return len(self.track_ids)


@lru_cache(maxsize=65536)
def _norm_text(text: str) -> str:
    return " ".join(text.casefold().split())


def _norm(text: str | None) -> str:
    """Names as compared: case-folded, runs of spaces collapsed (cached: names repeat)."""
    return _norm_text(str(text)) if text else ""


@lru_cache(maxsize=65536)
def _folder_of(folder: str) -> str:
    return os.path.dirname(folder) if _DISC_FOLDER.match(os.path.basename(folder)) else folder


def _album_folder(track: Any) -> str:
    """The folder an album lives in; a disc subfolder ("CD2") counts as its parent."""
    shown = getattr(track, "display_path", None) or os.fsdecode(os.fspath(track.path))
    return _folder_of(os.path.dirname(str(shown)))


def album_key(track: Any) -> str:
    """The album a track belongs to, as a key (see the module docstring for the rule)."""
    album = _norm(getattr(track, "album", None))
    album_artist = _norm(getattr(track, "album_artist", None))
    if not album:
        return "single\x1f" + (album_artist or _norm(getattr(track, "artist", None)))
    if album_artist:
        return f"artist\x1f{album_artist}\x1f{album}"
    return f"folder\x1f{_album_folder(track)}\x1f{album}"


def _track_order(track: Any) -> tuple:
    disc = getattr(track, "disc_no", None)
    number = getattr(track, "track_no", None)
    return (
        disc is None,
        disc or 0,
        number is None,
        number or 0,
        _norm(getattr(track, "title", None)),
        str(getattr(track, "display_path", "")),
    )


def _most_common(values: Iterable[Any]) -> Any:
    """The most frequent non-empty value (the first seen among equals), or None."""
    counts = Counter(v for v in values if v)
    if not counts:
        return None
    best = max(counts.values())
    return next(v for v in counts if counts[v] == best)


def group_albums(tracks: Iterable[Any]) -> list[Album]:
    """The tracks (`app.library.TrackRow`s, or anything with the same fields) as albums,
    each with its tracks in play order, albums in artist, year, title order."""
    groups: dict[str, list[Any]] = {}
    for track in tracks:
        groups.setdefault(album_key(track), []).append(track)
    albums = []
    for key, members in groups.items():
        members.sort(key=_track_order)
        titled = [t for t in members if getattr(t, "album", None)]
        title = _most_common(str(t.album).strip() for t in titled) if titled else None
        artist = _most_common(getattr(t, "album_artist", None) for t in members)
        if artist is None:
            artists = {_norm(t.artist) for t in members if getattr(t, "artist", None)}
            if len(artists) > 1 and title is not None:
                artist = VARIOUS_ARTISTS
            else:
                artist = _most_common(getattr(t, "artist", None) for t in members)
        albums.append(
            Album(
                key=key,
                title=title,
                artist=str(artist or UNKNOWN_ARTIST),
                track_ids=[int(t.id) for t in members],
                year=_most_common(getattr(t, "year", None) for t in members),
                duration=float(sum(t.duration or 0.0 for t in members)),
                formats=sorted({f for f in (file_format(t.display_path) for t in members) if f}),
            )
        )
    albums.sort(
        key=lambda a: (
            a.artist in (UNKNOWN_ARTIST, VARIOUS_ARTISTS),
            _norm(a.artist),
            a.title is None,
            a.year is None,
            a.year or 0,
            _norm(a.title),
        )
    )
    return albums


def aggregate(analyses: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """One (embedding, seen scores) for an album from its tracks' stored analyses: the mean of
    each (probabilities stay probabilities). Raises ValueError for no analyses."""
    if not analyses:
        raise ValueError("an album needs at least one analysed track")
    embeddings = np.stack([np.asarray(e, np.float32).reshape(-1) for e, _ in analyses])
    seen = np.stack([np.asarray(s, np.float32).reshape(-1) for _, s in analyses])
    return embeddings.mean(axis=0), seen.mean(axis=0)
