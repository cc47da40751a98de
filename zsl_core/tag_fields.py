"""The tag fields we read and write, and where each lives in every tag container: declared once
for the tag writer (`app/tagformats/`), the desktop app's display (`app/metadata.py`) and
`zsl-core import folder` (`zsl_core.datasets.read_file_tags`).

Field names are the same in every container: "genre", "mood", "grouping", "comment" and
"custom:NAME" (a field of the user's own), plus the names a track is shown by (title, artist,
album).

Grouping in ID3 is TIT1. Two conventions exist: MusicBrainz Picard, Mp3tag and foobar2000 write
grouping to TIT1 (the ID3 standard's "content group"), iTunes 12.5+ writes GRP1 and shows TIT1
as "Work". The tag writer has always written TIT1, so files tagged by earlier versions keep
being read and replaced the same way; GRP1 and TXXX:GROUPING (and Vorbis CONTENTGROUP) are
`also_read`: a folder import takes their values as tags, the writer neither reads nor replaces
them, because it shows exactly what a write would replace (a "replace" that left values it had
shown would look like it failed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args

__all__ = [
    "STANDARD_FIELDS",
    "CUSTOM_PREFIX",
    "FOLDER_FIELDS",
    "META_FIELDS",
    "Container",
    "CONTAINERS",
    "FieldKeys",
    "FIELD_KEYS",
    "MP4_FREEFORM",
]

STANDARD_FIELDS: tuple[str, ...] = ("genre", "mood", "grouping", "comment")
CUSTOM_PREFIX = "custom:"
FOLDER_FIELDS: tuple[str, ...] = ("genre", "mood", "grouping")  # what a folder import takes as tags
META_FIELDS: tuple[str, ...] = ("title", "artist", "album")  # what it keeps as a track's names

Container = Literal["id3", "vorbis", "mp4", "asf"]  # ID3v2; Vorbis comments (and APE); MP4; ASF
CONTAINERS: tuple[Container, ...] = get_args(Container)
MP4_FREEFORM = "----:com.apple.iTunes:"  # MP4 freeform atoms: mood, custom:NAME


@dataclass(frozen=True)
class FieldKeys:
    """The keys one field has in each container (mutagen's names; compared without case where
    the container ignores case). The tag writer writes the first key (ID3 mood: where the file
    already keeps it, TMOO and/or TXXX:MOOD), and reads and replaces all of them; `also_read`
    holds other taggers' keys for the same field, read by a folder import only. An empty tuple:
    the container has no such field (ASF is read, never written). The ID3 comment is a COMM
    frame: which one (language, description) is `WriteOptions`' choice."""

    id3: tuple[str, ...]
    vorbis: tuple[str, ...]
    mp4: tuple[str, ...]
    asf: tuple[str, ...] = ()
    also_read: Mapping[Container, tuple[str, ...]] = field(default_factory=dict)

    def keys(self, container: Container) -> tuple[str, ...]:
        """The keys the tag writer reads and replaces in `container`."""
        keys: tuple[str, ...] = getattr(self, container)
        return keys

    def read_keys(self, container: Container) -> tuple[str, ...]:
        """Every key a reader of other taggers' files looks at: ours, then `also_read`."""
        return self.keys(container) + tuple(self.also_read.get(container, ()))


FIELD_KEYS: dict[str, FieldKeys] = {
    "genre": FieldKeys(id3=("TCON",), vorbis=("GENRE",), mp4=("\xa9gen",), asf=("WM/Genre",)),
    "mood": FieldKeys(
        id3=("TMOO", "TXXX:MOOD"),  # v2.3 has no TMOO; players read one or the other
        vorbis=("MOOD",),
        mp4=(MP4_FREEFORM + "MOOD",),  # what Picard and Mp3tag write
        asf=("WM/Mood",),
    ),
    "grouping": FieldKeys(
        id3=("TIT1",),
        vorbis=("GROUPING",),
        mp4=("\xa9grp",),
        asf=("WM/ContentGroupDescription",),
        also_read={"id3": ("GRP1", "TXXX:GROUPING"), "vorbis": ("CONTENTGROUP",)},
    ),
    "comment": FieldKeys(
        id3=("COMM",), vorbis=("COMMENT",), mp4=("\xa9cmt",), asf=("Description",)
    ),
    "title": FieldKeys(id3=("TIT2",), vorbis=("TITLE",), mp4=("\xa9nam",), asf=("Title",)),
    "artist": FieldKeys(id3=("TPE1",), vorbis=("ARTIST",), mp4=("\xa9ART",), asf=("Author",)),
    "album": FieldKeys(id3=("TALB",), vorbis=("ALBUM",), mp4=("\xa9alb",), asf=("WM/AlbumTitle",)),
}
