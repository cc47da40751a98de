"""MP4 / M4A tags (AAC and ALAC): the iTunes "ilst" atoms.

    field        atom
    genre        ©gen (mutagen reads a legacy numeric `gnre` atom as ©gen; saving writes ©gen)
    mood         ----:com.apple.iTunes:MOOD (freeform, UTF-8; what Picard and Mp3tag write)
    grouping     ©grp
    comment      ©cmt
    custom:NAME  ----:com.apple.iTunes:NAME

Multi-values are several data atoms under one key (mutagen's native form; Mp3tag and Picard
read them as separate values, iTunes shows the first).

Saving moves atoms and mutagen rewrites the chunk offset tables, so raw bytes are no proof of
anything. The audio payload we fingerprint is what a player gets from the demuxer: every audio
packet's bytes, timestamps and duration, plus the codec configuration (PyAV demuxes only,
nothing is decoded, so this stays fast on long files).
"""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path
from typing import Any

from mutagen.mp4 import MP4, AtomDataType, MP4FreeForm

from app.tagformats import TagError, TagFormat, WriteOptions, custom_name, one_line
from zsl_core.tag_fields import FIELD_KEYS, MP4_FREEFORM, STANDARD_FIELDS

_ATOMS = {name: FIELD_KEYS[name].mp4[0] for name in STANDARD_FIELDS}  # zsl_core.tag_fields
_FREEFORM = MP4_FREEFORM


class Mp4Format(TagFormat):
    """Our fields in an MP4 ilst (m4a, mp4; AAC or ALAC)."""

    kind = "MP4"

    def __init__(self, path: Path, audio: Any, options: WriteOptions) -> None:
        super().__init__(path, audio, options)
        if audio.tags is None:
            audio.add_tags()
        self.tags = audio.tags

    def field_error(self, field: str) -> str | None:
        # mutagen stores atom names as Latin-1, but FFmpeg and other readers take them for
        # UTF-8 (and fail on the file): only plain ASCII names are safe for everyone
        key = _key(field)
        if key.startswith(_FREEFORM) and any(c < " " or c > "~" for c in key):
            return (
                f"MP4 tag names must be plain ASCII (no accents): cannot hold field "
                f"{field!r}; not written"
            )
        return None

    def read(self, field: str) -> list[str]:
        if self.field_error(field):
            return []  # a name no atom can have: no file holds it
        key = _key(field)
        if key.startswith(_FREEFORM):
            values = [bytes(v).decode("utf-8", "replace") for v in self.tags.get(key, [])]
        else:
            values = [str(v) for v in self.tags.get(key, [])]
        return [v for v in values if v != ""]

    def set(self, field: str, values: list[str]) -> None:
        key = _key(field)
        self.tags.pop(key, None)
        if not values:
            return
        if key.startswith(_FREEFORM):
            self.tags[key] = [
                MP4FreeForm(v.encode("utf-8"), dataformat=AtomDataType.UTF8) for v in values
            ]
        else:
            self.tags[key] = list(values)

    def others(self, field: str) -> Any:
        skip = _key(field)
        return sorted(
            (key, _values_fingerprint(value)) for key, value in self.tags.items() if key != skip
        )

    def save(self) -> None:
        self.audio.save()

    def audio_digest(self) -> str:
        return _packets_digest(self.path)


def _key(field: str) -> str:
    return _ATOMS[field] if field in _ATOMS else _FREEFORM + custom_name(field)


def _values_fingerprint(value: Any) -> str:
    """Hash a tag value with everything that matters (cover format, data type...)."""
    items = value if isinstance(value, list) else [value]
    parts = [
        (type(v).__name__, repr(v), getattr(v, "imageformat", None), getattr(v, "dataformat", None))
        for v in items
    ]
    return hashlib.sha256(repr(parts).encode("utf-8", "surrogatepass")).hexdigest()


HANDLED: dict[type, type[TagFormat]] = {MP4: Mp4Format}


def _packets_digest(path: Path) -> str:
    import av  # local: only MP4 needs PyAV here, and it is slow to import

    digest = hashlib.sha256()
    try:
        with av.open(str(path)) as container:
            streams = [s for s in container.streams if s.type == "audio"]
            if not streams:
                raise TagError(path, "no audio stream in the MP4 file")
            for stream in streams:
                digest.update(bytes(stream.codec_context.extradata or b""))
            for packet in container.demux(*streams):
                if packet.size == 0:  # the demuxer's end-of-stream marker
                    continue
                stamps = (
                    packet.stream.index,
                    packet.pts or 0,
                    packet.dts or 0,
                    packet.duration or 0,
                )
                digest.update(struct.pack("<4q", *stamps))
                digest.update(bytes(packet))
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise TagError(path, f"cannot demux the MP4 audio: {one_line(exc)}") from None
    return digest.hexdigest()
