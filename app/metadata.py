"""What the table view shows about a file: title, artist, album, album artist, track and disc
number, year, genre, mood, duration, cover.

Read with mutagen, through `app.tagformats` where we write tags (ID3 in MP3/WAV/AIFF, Vorbis
comments in FLAC/Ogg/Opus, MP4), so genre and mood are read by exactly the rules the tag
writer uses (TCON, TMOO or TXXX:MOOD, GENRE/MOOD, ©gen and the freeform MOOD atom). Other
containers mutagen knows (WMA/ASF, raw AAC) are read directly for display only.

Bad tags never raise: `read_metadata` returns whatever it could read and says what went wrong
in `Metadata.error` (one line), because one broken file must not stop a library scan.
`Metadata.parse_failed` tells the one error that is about the file rather than its tags: mutagen
itself could not parse the container (corrupt, truncated, not audio), so no tag can be written
to it either; the scanner counts such a file as damaged (`app.scanner.probe_file`). A format
mutagen does not know, or a file with no tags at all (a plain WAV), is not that.

Multi-valued fields (genre, mood, and the rare multi-artist) are kept as lists (`genres`,
`moods`) and offered joined with "; " (`genre`, `mood`): the same separator the tag writer
uses for ID3v2.3, chosen because "/" occurs inside real genre names ("Drum/Bass").

The year is the first four-digit number of the recording date (ID3 TDRC, else TYER; Vorbis
DATE, else YEAR; MP4 \xa9day; ASF WM/Year): "1999-05-01", "1999" and "May 1999" are all 1999.

The album artist (ID3 TPE2, Vorbis ALBUMARTIST or "ALBUM ARTIST", MP4 aART, ASF WM/AlbumArtist)
and the track and disc numbers (TRCK/TPOS "3/12", TRACKNUMBER/DISCNUMBER, MP4 trkn/disk pairs,
WM/TrackNumber/WM/PartOfSet) are what groups and orders tracks into albums (`app.albums`); a
number is its first run of digits ("3/12" is 3), None when there is none or it is 0.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mutagen

from app.tagformats import TagError, TagFormat, one_line, open_tags
from zsl_core.audio import audio_info
from zsl_core.errors import AudioError
from zsl_core.tag_fields import CONTAINERS, FIELD_KEYS, META_FIELDS
from zsl_core.tags import VALUE_SEPARATOR, join_values

__all__ = [
    "Metadata",
    "SEPARATOR",
    "read_metadata",
    "read_with_tags",
    "cover_art",
    "file_digest",
    "file_format",
]

SEPARATOR = VALUE_SEPARATOR  # the one multi-value rule's (zsl_core.tags.join_values)
FRONT_COVER = 3  # the picture type ID3 and FLAC use for the front cover

# Display fields per container family: (ID3 frame, Vorbis key, MP4 atom, ASF attribute), as
# declared in zsl_core.tag_fields.
_TEXT_KEYS = {name: tuple(FIELD_KEYS[name].keys(c)[0] for c in CONTAINERS) for name in META_FIELDS}
# Where the year is, per family, in order of preference (ID3 v2.3 files keep TYER; mutagen
# translates it to TDRC on load, but a file it could not translate still has TYER).
_YEAR_KEYS = (("TDRC", "TYER"), ("DATE", "YEAR"), ("\xa9day",), ("WM/Year",))
_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")
# (ID3 frame, Vorbis keys, MP4 atom, ASF attribute) of the album artist and the numbers
_ALBUM_ARTIST_KEYS = (("TPE2",), ("ALBUMARTIST", "ALBUM ARTIST"), ("aART",), ("WM/AlbumArtist",))
_NUMBER_KEYS = {
    "track_no": ("TRCK", "TRACKNUMBER", "trkn", "WM/TrackNumber"),
    "disc_no": ("TPOS", "DISCNUMBER", "disk", "WM/PartOfSet"),
}
_NUMBER = re.compile(r"\d+")


@dataclass
class Metadata:
    """A file's descriptive tags; every text field is None when absent."""

    title: str | None = None
    artist: str | None = None
    album: str | None = None
    year: int | None = None  # the first four-digit year of the date tag
    album_artist: str | None = None
    track_no: int | None = None  # position on its disc ("3/12" -> 3)
    disc_no: int | None = None
    genres: list[str] = field(default_factory=list)
    moods: list[str] = field(default_factory=list)
    duration: float | None = None  # seconds
    has_cover: bool = False
    error: str | None = None  # one line when some tags could not be read
    parse_failed: bool = False  # the error is mutagen failing to parse the file itself

    @property
    def genre(self) -> str | None:
        """Genres joined with "; " (None when there is none): what the index caches."""
        return join_values(self.genres) or None

    @property
    def mood(self) -> str | None:
        return join_values(self.moods) or None


def read_metadata(path: str | Path | bytes) -> Metadata:
    """Title, artist, album, year, genre, mood, duration and cover presence of one file; never raises."""
    return read_with_tags(path)[0]


def read_with_tags(path: str | Path | bytes) -> tuple[Metadata, TagFormat | None]:
    """`read_metadata` plus the parsed `TagFormat` (None for formats we do not write), so the
    scanner fingerprints the audio from the same parse instead of reading the file twice."""
    path = _as_path(path)
    meta = Metadata()
    tags: TagFormat | None = None
    audio: Any = None
    try:
        tags = open_tags(path)
        audio = tags.audio
    except TagError as exc:
        audio, problem, parse_failed = _plain_parse(path)
        if audio is None:
            meta.error = problem or exc.reason  # no problem: a format mutagen does not know
            meta.parse_failed = parse_failed
    except Exception as exc:  # a mutagen bug on a hostile file must not stop a scan
        meta.error = f"cannot read tags: {one_line(exc)}"
        meta.parse_failed = not isinstance(exc, OSError)
    if audio is not None:
        try:
            _fill(meta, audio, tags)
        except Exception as exc:
            meta.error = f"malformed tags: {one_line(exc)}"
    if meta.duration is None:
        meta.duration = _decoder_duration(path)
    return meta, tags


def cover_art(path: str | Path | bytes) -> bytes | None:
    """The image bytes of the file's cover (the front cover when several), or None.

    For the GUI's detail pane; never raises (an unreadable file has no cover to show).
    """
    path = _as_path(path)
    try:
        audio = mutagen.File(str(path))
    except Exception:
        return None
    if audio is None:
        return None
    try:
        pictures = _pictures(audio)
    except Exception:
        return None
    if not pictures:
        return None
    front = [data for kind, data in pictures if kind == FRONT_COVER]
    return (front or [data for _, data in pictures])[0]


def file_digest(path: str | Path | bytes, block: int = 1 << 20) -> str:
    """SHA-256 of the whole file: the fingerprint of files whose audio payload we cannot
    isolate (WMA, raw AAC, files mutagen refuses). Prefixed so it never equals a payload digest."""
    digest = hashlib.sha256()
    with open(_as_path(path), "rb") as f:
        while chunk := f.read(block):
            digest.update(chunk)
    return "file:" + digest.hexdigest()


def file_format(path: str | Path) -> str:
    """The file's format as its name says it, lower case without the dot ("ogg", "flac"); "" if
    none. What the Format columns show: the name, not a probe (cheap for 100,000 rows)."""
    name = str(path).replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, suffix = name.rpartition(".")
    return suffix.casefold() if dot and stem and suffix else ""


# --- reading ------------------------------------------------------------------------------


def _as_path(path: str | Path | bytes) -> Path:
    return Path(os.fsdecode(path)) if isinstance(path, bytes) else Path(path)


def _plain_parse(path: Path) -> tuple[Any, str | None, bool]:
    """mutagen on its own, for containers the tag writer does not handle: (parsed file or None,
    why not, whether mutagen failed on the content; a file it cannot open is not damaged)."""
    try:
        audio = mutagen.File(str(path))
    except Exception as exc:
        io_error = isinstance(exc, OSError) or isinstance(exc.__context__, OSError)
        return None, f"cannot read tags: {one_line(exc)}", not io_error
    return audio, None, False


def _fill(meta: Metadata, audio: Any, tags: TagFormat | None) -> None:
    info = getattr(audio, "info", None)
    length = getattr(info, "length", None)
    if length and length > 0:
        meta.duration = float(length)
    family = _family(audio)
    if family is not None and audio.tags is not None:
        # Vorbis comments as the tag format decodes them (a value that is not UTF-8 reads as
        # Latin-1, "Apnée" rather than mutagen's "Apn\ufffde"), mutagen's reading otherwise
        comments = tags.comments() if tags is not None else None
        source = audio.tags if comments is None else comments
        for name, keys in _TEXT_KEYS.items():
            values = _texts(source, family, keys[family])
            setattr(meta, name, join_values(values) or None)
        meta.year = _year(source, family)
        meta.album_artist = _first_text(source, family, _ALBUM_ARTIST_KEYS[family])
        for name, keys in _NUMBER_KEYS.items():
            setattr(meta, name, _number(source, family, keys[family]))
    if tags is not None:
        meta.genres = _clean(tags.read("genre"))
        meta.moods = _clean(tags.read("mood"))
    elif family == 3 and audio.tags is not None:
        meta.genres = _texts(audio.tags, 3, FIELD_KEYS["genre"].asf[0])
        meta.moods = _texts(audio.tags, 3, FIELD_KEYS["mood"].asf[0])
    meta.has_cover = bool(_pictures(audio))


def _family(audio: Any) -> int | None:
    """0 = ID3, 1 = Vorbis comments, 2 = MP4, 3 = ASF (index into _TEXT_KEYS rows)."""
    # mutagen's format modules: loaded on the first file read, not by every decode worker's start
    from mutagen._vorbis import VComment
    from mutagen.asf import ASFTags
    from mutagen.id3 import ID3
    from mutagen.mp4 import MP4Tags

    tags = getattr(audio, "tags", None)
    for family, kind in enumerate((ID3, VComment, MP4Tags, ASFTags)):
        if isinstance(tags, kind):
            return family
    return None


def _texts(tags: Any, family: int, key: str) -> list[str]:
    if family == 0:
        frame = tags.get(key)
        values = (
            [str(t) for t in frame.text] if frame is not None and hasattr(frame, "text") else []
        )
    elif family == 1:
        values = list(tags.get(key.lower(), []) or tags.get(key, []))
    else:
        values = [str(v) for v in tags.get(key, [])]
    return _clean(values)


def _year(tags: Any, family: int) -> int | None:
    """The first four-digit year in the family's date fields (None when there is none)."""
    for key in _YEAR_KEYS[family]:
        for value in _texts(tags, family, key):
            match = _YEAR.search(value)
            if match and int(match.group(1)) > 0:  # "0000": a tagger's placeholder
                return int(match.group(1))
    return None


def _first_text(tags: Any, family: int, keys: tuple[str, ...]) -> str | None:
    """The values of the first of `keys` the tags have, joined with "; " (None: none has any)."""
    for key in keys:
        values = _texts(tags, family, key)
        if values:
            return join_values(values)
    return None


def _number(tags: Any, family: int, key: str) -> int | None:
    """A track or disc number: MP4 keeps (number, total) pairs, the others text ("3/12")."""
    if family == 2:
        for pair in tags.get(key, []) or []:
            number = pair[0] if isinstance(pair, tuple) and pair else pair
            if isinstance(number, int) and number > 0:
                return number
        return None
    for value in _texts(tags, family, key):
        match = _NUMBER.search(value)
        if match and 0 < int(match.group(0)) < 100_000:
            return int(match.group(0))
    return None


def _clean(values: list[str]) -> list[str]:
    """Stripped, NUL-free, non-empty values without repeats (order kept)."""
    out = [str(v).replace("\x00", "").strip() for v in values]
    return list(dict.fromkeys(v for v in out if v))


def _decoder_duration(path: Path) -> float | None:
    """Length from the decoder's header when mutagen gave none (raw AAC, odd WAVs)."""
    try:
        seconds = audio_info(path).duration
    except (AudioError, OSError, ValueError, RuntimeError, ZeroDivisionError):
        return None
    return float(seconds) if seconds > 0 else None


# --- pictures ------------------------------------------------------------------------------


def _pictures(audio: Any) -> list[tuple[int, bytes]]:
    """(picture type, image bytes) of every embedded picture, in file order."""
    from mutagen.flac import Picture  # see `_family`

    tags = getattr(audio, "tags", None)
    out: list[tuple[int, bytes]] = []
    for picture in getattr(audio, "pictures", None) or []:  # FLAC picture blocks
        out.append((int(picture.type), bytes(picture.data)))
    if tags is None:
        return out
    family = _family(audio)
    if family == 0:
        out += [(int(f.type), bytes(f.data)) for f in tags.getall("APIC")]
    elif family == 1:
        for encoded in tags.get("metadata_block_picture", []) or tags.get(
            "METADATA_BLOCK_PICTURE", []
        ):
            try:
                picture = Picture(base64.b64decode(encoded))
            except Exception:
                continue
            out.append((int(picture.type), bytes(picture.data)))
    elif family == 2:
        out += [(FRONT_COVER, bytes(c)) for c in tags.get("covr", [])]
    elif family == 3:
        for value in tags.get("WM/Picture", []):
            picture = _asf_picture(bytes(value.value))
            if picture is not None:
                out.append(picture)
    return out


def _asf_picture(blob: bytes) -> tuple[int, bytes] | None:
    """WM/Picture: type byte, data size (LE u32), MIME and description (UTF-16LE, NUL-ended), data."""
    if len(blob) < 5:
        return None
    kind, size = blob[0], struct.unpack("<I", blob[1:5])[0]
    pos = 5
    for _ in range(2):  # skip the two NUL-terminated UTF-16 strings
        while pos + 1 < len(blob) and blob[pos : pos + 2] != b"\x00\x00":
            pos += 2
        pos += 2
    data = blob[pos : pos + size]
    return (kind, data) if data else None
