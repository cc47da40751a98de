"""The tag fields we read and write, declared once for the tag writer, the desktop app's
display and `zsl-core import folder`.

Field names are the same in every container: "genre", "mood", "grouping", "comment" and
"custom:NAME" (a field of the user's own).
"""

from __future__ import annotations

__all__ = ["STANDARD_FIELDS", "CUSTOM_PREFIX", "FOLDER_FIELDS", "META_FIELDS"]

STANDARD_FIELDS: tuple[str, ...] = ("genre", "mood", "grouping", "comment")
CUSTOM_PREFIX = "custom:"
FOLDER_FIELDS: tuple[str, ...] = ("genre", "mood", "grouping")  # what a folder import takes as tags
META_FIELDS: tuple[str, ...] = ("title", "artist", "album")  # what it keeps as a track's names
