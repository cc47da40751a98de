"""The desktop program's options, declared once: read by the `zsl-tagger` command line, the
QSettings-backed settings (`app/gui/settings.py`) and the Settings dialog.

The options it shares with `zsl-core` (device, precision, model, word space, windows) are
declared in `zsl_core/options.py`, with the `Option` class and `add_to_parser`; this module
re-exports them so the app has one place to look. Kept free of heavy imports (no mutagen, no
torch, no Qt): the command line builds its parser from it before deciding what to load.

How many tags or tracks: three options, not one, because they answer three questions
(`--top` means "tracks listed" for search, "tags per track" for tags/export and the app,
"values per field" for write); each has one default.
"""

from __future__ import annotations

from typing import Literal, get_args

from zsl_core.options import (
    DEVICE,
    DEVICES,
    MODEL,
    PRECISION,
    PRECISIONS,
    VECTORS,
    WINDOWS,
    Device,
    Option,
    Precision,
    add_to_parser,
    boolean,
)
from zsl_core.tag_fields import CUSTOM_PREFIX, STANDARD_FIELDS
from zsl_core.tags import INCLUDE, PROPOSE_FLOOR, Include

__all__ = [
    "Option",
    "add_to_parser",
    "boolean",
    "Device",
    "Precision",
    "Include",
    "WriteMode",
    "DEVICES",
    "PRECISIONS",
    "INCLUDE",
    "WRITE_MODES",
    "Id3Version",
    "ID3_VERSIONS",
    "ID3_CHOICES",
    "BY_KIND",
    "FIELD_HELP",
    "field_setting",
    "DEVICE",
    "PRECISION",
    "MODEL",
    "VECTORS",
    "WINDOWS",
    "FIELD",
    "INCLUDE_OPTION",
    "WRITE_MODE",
    "ID3",
    "ID3_NEW_VERSION",
    "ID3_CONVERT",
    "SEPARATOR",
    "MIN_SCORE",
    "MIN_CONFIDENCE",
    "TOP_HITS",
    "TOP_WEAK",
    "TOP_TAGS",
    "TOP_WRITE",
    "EXPORT_FORMAT",
    "VOCABULARY",
]

WriteMode = Literal["merge", "replace"]  # merge: keep a field's values and add ours; replace
WRITE_MODES: tuple[WriteMode, ...] = get_args(WriteMode)
Id3Version = Literal[3, 4]  # the ID3v2 versions we write: 2.3 (old players) or 2.4
ID3_VERSIONS: tuple[Id3Version, ...] = (4, 3)  # as offered: the default first
ID3_CHOICES = ("keep", "v2.4", "v2.3")  # `--id3`: each file's own version, or convert to one

BY_KIND = ""  # the "field" value that sends each kind of tag to its own field (app.routing)
FIELD_HELP = "genre, mood, grouping, comment or custom:NAME"


def field_setting(value: object) -> str:
    """A stored "write into" field: BY_KIND (""), a standard field or custom:NAME."""
    text = str(value)
    if text == BY_KIND or text in STANDARD_FIELDS or text.startswith(CUSTOM_PREFIX):
        return text
    raise ValueError(f"unknown field {text!r}; use one of {FIELD_HELP}")


FIELD: Option[str] = Option(
    "field",
    field_setting,
    BY_KIND,
    help=f"write every tag into this one field ({FIELD_HELP}); default: each kind to its own "
    "field (see --route)",
)
INCLUDE_OPTION: Option[str] = Option(
    "include",
    str,
    "both",
    INCLUDE,
    help="trained words, new words, or both (ranked together by confidence)",
)
WRITE_MODE: Option[str] = Option(
    "mode",
    str,
    "merge",
    WRITE_MODES,
    help="merge: keep the existing values; replace: only the new ones",
)
ID3: Option[str] = Option(
    "id3",
    str,
    "keep",
    ID3_CHOICES,
    help="ID3 version for MP3/WAV/AIFF: keep each file's own (default; new tags are v2.4), or "
    "convert every file to v2.4 or v2.3",
)
ID3_NEW_VERSION: Option[int] = Option(
    "id3_version", int, 4, ID3_VERSIONS, help="the ID3 version of tags we create", low=3, high=4
)
ID3_CONVERT: Option[bool] = Option(
    "id3_convert",
    boolean,
    False,
    help="also convert existing ID3 tags to that version (else each file keeps its own)",
)
SEPARATOR: Option[str] = Option(
    "separator", str, "; ", help="joins multiple values in ID3v2.3 (default '; ')", metavar="S"
)
MIN_SCORE: Option[float | None] = Option(
    "min_score",
    float,
    None,
    help=f"skip tags whose confidence (0-1) is below C (default {PROPOSE_FLOOR:g})",
    metavar="C",
)
MIN_CONFIDENCE: Option[float | None] = Option(
    "min_confidence",
    float,
    None,
    help=f"leave out proposals below this confidence (default: the proposal rule's "
    f"{PROPOSE_FLOOR:g})",
    metavar="C",
)
TOP_HITS: Option[int] = Option("top", int, 20, help="tracks listed", low=1, metavar="K")
# When no track clears the relevance floor, a search still names this many of the closest, as
# weak (not as matches): the saddest pieces of a library with nothing sad enough to be "sad".
TOP_WEAK = 5
TOP_TAGS: Option[int] = Option(
    "top_k", int, 5, help="proposed tags per track", low=1, high=50, flag="--top", metavar="K"
)
TOP_WRITE: Option[int] = Option(
    "top", int, 3, help="values per field and track", low=1, high=20, metavar="K"
)
EXPORT_FORMAT: Option[str | None] = Option(
    "format", str, None, ("csv", "json"), help="default: by the file's suffix"
)
VOCABULARY: Option[str] = Option(
    "vocabulary",
    str,
    "",
    help='a text file of candidate words ("" = the shipped vocabulary)',
)
