"""Playlists: M3U8 and XSPF files from any list of tracks, readers for both, instant playlists.

Written the way players read them (Strawberry, VLC, mpv, MPD, Navidrome, Jellyfin):

* **M3U8**: UTF-8, `#EXTM3U`, then per track `#EXTINF:<whole seconds>,<Artist> - <Title>` and the
  path, absolute or relative to the playlist's folder. A file name that is not valid UTF-8 is
  written as its raw bytes (what a player on the same machine opens); `read_m3u8` reads it back.
* **XSPF**: XML 1.0 in UTF-8 (`http://xspf.org/ns/0/`), `<location>` a `file://` URI whose path
  bytes are percent-encoded (RFC 3986; any name survives, non-UTF-8 included), or a relative URI
  reference with `relative=True`; `<title>`, `<creator>`, `<album>`, `<duration>` (milliseconds).

Both writers replace the target atomically. `instant_playlist` turns a phrase into a playlist
through `Library.search`, with variety: at most `per_album` tracks of one album (or, for files
without an album tag, one folder), unless that rule is switched off, and never two copies of one
recording.
"""

from __future__ import annotations

import os
import re
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote, unquote_to_bytes, urlsplit

if TYPE_CHECKING:  # app.library imports this module
    from app.library import SearchResult, TrackRow

__all__ = [
    "PlaylistEntry",
    "write_m3u8",
    "read_m3u8",
    "write_xspf",
    "read_xspf",
    "write_playlist",
    "read_playlist",
    "entries_for",
    "instant_playlist",
    "XSPF_NS",
    "DEFAULT_PER_ALBUM",
]

XSPF_NS = "http://xspf.org/ns/0/"
DEFAULT_PER_ALBUM = 2  # tracks of one album (or folder) in an instant playlist


@dataclass
class PlaylistEntry:
    """One line of a playlist. `path` absolute (readers resolve relative entries)."""

    path: Path
    title: str | None = None
    artist: str | None = None
    album: str | None = None
    duration: float | None = None  # seconds

    @property
    def label(self) -> str:
        """'Artist - Title' (or what of it is known; the file name when nothing is)."""
        title = self.title or self.path.stem
        return f"{self.artist} - {title}" if self.artist else title


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def atomic_write(target: str | Path, data: bytes) -> None:
    """Write a file the user asked for in one step (temp copy, fsync, rename): an interrupted
    save never leaves half a playlist or export behind."""
    target = Path(target)
    folder = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _relative(path: Path, base: Path) -> str:
    try:
        return os.path.relpath(os.path.abspath(path), os.path.abspath(base))
    except ValueError:  # another drive (Windows): only an absolute path reaches it
        return os.path.abspath(path)


# --- M3U8 -------------------------------------------------------------------------------------


def write_m3u8(target: str | Path, entries: Iterable[PlaylistEntry], relative: bool = False) -> int:
    """Write an extended M3U in UTF-8; returns the number of tracks."""
    target = Path(target)
    base = target.parent.resolve() if str(target.parent) else Path.cwd()
    lines = ["#EXTM3U"]
    count = 0
    for entry in entries:
        seconds = -1 if entry.duration is None else int(round(float(entry.duration)))
        lines.append(f"#EXTINF:{seconds},{_one_line(entry.label)}")
        lines.append(_relative(entry.path, base) if relative else os.path.abspath(entry.path))
        count += 1
    data = ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape")
    atomic_write(target, data)
    return count


_EXTINF = re.compile(r"^#EXTINF:\s*(-?\d+(?:\.\d+)?)\s*(?:[^,]*)?,(.*)$")


def read_m3u8(source: str | Path) -> list[PlaylistEntry]:
    """Entries of an M3U/M3U8 (relative paths resolved against its folder; file:// URIs taken).
    `title`/`artist` come from #EXTINF ('Artist - Title'; without ' - ' it is the title)."""
    source = Path(source)
    base = source.parent
    text = source.read_bytes().decode("utf-8", "surrogateescape")
    if text.startswith("\ufeff"):
        text = text[1:]
    entries: list[PlaylistEntry] = []
    pending: tuple[float | None, str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            match = _EXTINF.match(line)
            if match:
                seconds = float(match.group(1))
                pending = (None if seconds < 0 else seconds, match.group(2).strip())
            continue
        path = _uri_to_path(line) if line.lower().startswith("file:") else Path(line)
        if not path.is_absolute():
            path = base / path
        entry = PlaylistEntry(Path(os.path.normpath(path)))
        if pending is not None:
            entry.duration = pending[0]
            artist, sep, title = pending[1].partition(" - ")
            entry.artist, entry.title = (artist, title) if sep else (None, pending[1] or None)
        entries.append(entry)
        pending = None
    return entries


# --- XSPF -------------------------------------------------------------------------------------

_SAFE = "/-._~!$&'()*+,;=:@"  # RFC 3986 pchar and '/', minus '%'


def path_to_uri(path: str | Path) -> str:
    """An absolute path as a file:// URI, every byte outside the unreserved set percent-encoded."""
    raw = os.fsencode(os.path.abspath(path))
    return "file://" + quote(raw, safe=_SAFE)


def _uri_to_path(uri: str) -> Path:
    parts = urlsplit(uri)
    raw = unquote_to_bytes(parts.path)
    return Path(os.fsdecode(raw))


def write_xspf(
    target: str | Path,
    entries: Iterable[PlaylistEntry],
    relative: bool = False,
    title: str | None = None,
) -> int:
    """Write an XSPF playlist; returns the number of tracks."""
    target = Path(target)
    base = target.parent.resolve() if str(target.parent) else Path.cwd()
    ET.register_namespace("", XSPF_NS)
    root = ET.Element(f"{{{XSPF_NS}}}playlist", {"version": "1"})
    if title:
        ET.SubElement(root, f"{{{XSPF_NS}}}title").text = _xml_text(title)
    tracks = ET.SubElement(root, f"{{{XSPF_NS}}}trackList")
    count = 0
    for entry in entries:
        track = ET.SubElement(tracks, f"{{{XSPF_NS}}}track")
        if relative:
            location = quote(os.fsencode(_relative(entry.path, base)), safe=_SAFE)
        else:
            location = path_to_uri(entry.path)
        ET.SubElement(track, f"{{{XSPF_NS}}}location").text = location
        for tag, value in (
            ("title", entry.title),
            ("creator", entry.artist),
            ("album", entry.album),
        ):
            if value:
                ET.SubElement(track, f"{{{XSPF_NS}}}{tag}").text = _xml_text(value)
        if entry.duration is not None and entry.duration >= 0:
            ET.SubElement(track, f"{{{XSPF_NS}}}duration").text = str(
                int(round(entry.duration * 1000))
            )
        count += 1
    ET.indent(root)
    data = ET.tostring(root, encoding="UTF-8", xml_declaration=True) + b"\n"
    atomic_write(target, data)
    return count


_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(text: str) -> str:
    """Characters XML 1.0 cannot hold (controls, lone surrogates) as U+FFFD."""
    return _XML_BAD.sub("\ufffd", str(text))


def read_xspf(source: str | Path) -> list[PlaylistEntry]:
    """Entries of an XSPF file (relative locations resolved against its folder)."""
    source = Path(source)
    tree = ET.parse(source)
    ns = {"x": XSPF_NS}
    entries = []
    for track in tree.getroot().iterfind("x:trackList/x:track", ns):
        location = (track.findtext("x:location", default="", namespaces=ns) or "").strip()
        if location.lower().startswith("file:"):
            path = _uri_to_path(location)
        else:
            path = Path(os.fsdecode(unquote_to_bytes(location)))
            if not path.is_absolute():
                path = source.parent / path
        duration = track.findtext("x:duration", default=None, namespaces=ns)
        entries.append(
            PlaylistEntry(
                Path(os.path.normpath(path)),
                track.findtext("x:title", default=None, namespaces=ns),
                track.findtext("x:creator", default=None, namespaces=ns),
                track.findtext("x:album", default=None, namespaces=ns),
                None if duration is None else int(duration) / 1000.0,
            )
        )
    return entries


# --- either, by the file's suffix ------------------------------------------------------------------


def write_playlist(
    target: str | Path,
    entries: Sequence[PlaylistEntry],
    relative: bool = False,
    xspf: bool | None = None,
    title: str | None = None,
) -> int:
    """M3U8, or XSPF when `xspf` is true (None: by the suffix, .xspf)."""
    if xspf is None:
        xspf = Path(target).suffix.lower() == ".xspf"
    if xspf:
        return write_xspf(target, entries, relative=relative, title=title)
    return write_m3u8(target, entries, relative=relative)


def read_playlist(source: str | Path) -> list[PlaylistEntry]:
    return read_xspf(source) if Path(source).suffix.lower() == ".xspf" else read_m3u8(source)


# --- from the library -------------------------------------------------------------------------------


class TrackSource(Protocol):
    """What playlists read of a library: its track rows (`Library.track`)."""

    def track(self, track_id: int) -> TrackRow: ...


class SearchSource(TrackSource, Protocol):
    """What `instant_playlist` reads: search, track rows and which tracks are copies of one
    recording (`Library.search`, `Library.copies`)."""

    def search(self, query: str, top_k: int = ..., floor: float | None = ...) -> SearchResult: ...
    def copies(self, track_ids: Sequence[int]) -> dict[int, set[int]]: ...


def entries_for(library: TrackSource, track_ids: Iterable[int]) -> list[PlaylistEntry]:
    """Playlist entries of library tracks, in the given order (unknown ids skipped)."""
    entries = []
    for track_id in track_ids:
        try:
            row = library.track(int(track_id))
        except Exception:  # LibraryError: a track removed since the list was made
            continue
        entries.append(
            PlaylistEntry(Path(row.path), row.title, row.artist, row.album, row.duration)
        )
    return entries


def _group_key(row: Any) -> tuple[str, str]:
    """The album a track belongs to for variety: (album artist-less tag, case-folded) or its folder."""
    if getattr(row, "album", None):
        return ("album", str(row.album).casefold().strip())
    return ("folder", str(Path(row.path).parent))


def instant_playlist(
    library: SearchSource,
    phrase: str,
    count: int = 30,
    per_album: int | None = DEFAULT_PER_ALBUM,
    floor: float | None = None,
) -> tuple[list[PlaylistEntry], SearchResult]:
    """The best `count` tracks for `phrase` (Library.search), at most `per_album` from one album or
    folder (None: no limit), each recording once (`Library.copies`: another format or a trimmed
    copy of a track already chosen is skipped). Returns (entries, the SearchResult)."""
    wanted = max(int(count), 0)
    result = library.search(phrase, top_k=max(wanted * 20, 200), floor=floor)
    hit_ids = [int(h.track_id) for h in result.hits]
    copies_of = library.copies(hit_ids)
    chosen: list[int] = []
    skip: set[int] = set()  # copies of a recording already in the playlist
    taken: dict[tuple[str, str], int] = {}
    for track_id in hit_ids:
        if len(chosen) >= wanted:
            break
        if track_id in skip:
            continue
        try:
            row = library.track(track_id)
        except Exception:
            continue
        key = _group_key(row)
        if per_album is not None and taken.get(key, 0) >= per_album:
            continue
        taken[key] = taken.get(key, 0) + 1
        chosen.append(track_id)
        skip |= copies_of.get(track_id, set())
    return entries_for(library, chosen), result
