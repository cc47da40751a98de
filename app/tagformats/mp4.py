"""MP4 / M4A tags (AAC and ALAC): the iTunes "ilst" atoms.

    field        atom
    genre        ©gen (mutagen reads a legacy numeric `gnre` atom as ©gen; saving writes ©gen)
    mood         ----:com.apple.iTunes:MOOD (freeform, UTF-8; what Picard and Mp3tag write)
    grouping     ©grp
    comment      ©cmt
    custom:NAME  ----:com.apple.iTunes:NAME

Multi-values are several data atoms under one key (mutagen's native form; Mp3tag and Picard
read them as separate values, iTunes shows the first).

A save *splices* the ilst: only our field's atoms are rendered by mutagen (in the place of the
first one the file had, else at the end); every other atom is copied byte for byte, in order.
mutagen alone would re-render every atom it parses: it zeroes a text atom's locale bytes,
widens a one-byte `tmpo`, folds a numeric `gnre` into `©gen` and sorts the atoms into its own
order. The write's check compares those atoms as raw bytes, so any such change is caught.

Saving moves atoms and mutagen rewrites the chunk offset tables, so the file's raw bytes are no
proof of anything beyond the ilst. The audio payload we fingerprint is what a player gets from the demuxer: every audio
packet's bytes, timestamps and duration, plus the codec configuration (PyAV demuxes only,
nothing is decoded, so this stays fast on long files).
"""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path
from typing import Any

from mutagen.mp4 import MP4, AtomDataType, MP4FreeForm
from mutagen.mp4._atom import AtomError, Atoms

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
        self._set_fields: set[str] = set()  # what a save splices in

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
        self._set_fields.add(field)
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
        """Every ilst atom except the field's, as raw bytes in their order."""
        skip = _key(field)
        return [
            hashlib.sha256(raw).hexdigest() for key, raw in _ilst_atoms(self.path) if key != skip
        ]

    def save(self) -> None:
        """mutagen writes the file (moving atoms, fixing chunk offsets, padding), but the ilst
        it writes is ours: the old atoms' bytes with only our field's atoms replaced."""
        payload = self._spliced_ilst()
        tags = self.tags
        failed = tags._failed_atoms
        # mutagen's save renders each item and appends the atoms it could not parse; here its
        # one item renders to the whole spliced ilst, and the raw atoms are already in it
        setattr(tags, "items", lambda: [(_SPLICED, payload)])  # noqa: B010
        setattr(tags, "_render", lambda key, value: value)  # noqa: B010
        tags._failed_atoms = {}
        try:
            self.audio.save()
        finally:
            tags.__dict__.pop("items", None)
            tags.__dict__.pop("_render", None)
            tags._failed_atoms = failed

    def _spliced_ilst(self) -> bytes:
        """The ilst children: the file's own atoms, byte for byte, with the atoms of the
        fields we set replaced by mutagen's rendering of their new values."""
        changed = {_key(field) for field in self._set_fields}
        new = {key: self.tags._render(key, self.tags[key]) for key in changed if key in self.tags}
        out: list[bytes] = []
        for key, raw in _ilst_atoms(self.path):
            if key not in changed:
                out.append(raw)
            elif key in new:  # the first atom of a changed key: the new atoms go here
                out.append(new.pop(key))
        out.extend(new.values())
        return b"".join(out)

    def audio_digest(self) -> str:
        return _packets_digest(self.path)


def _key(field: str) -> str:
    return _ATOMS[field] if field in _ATOMS else _FREEFORM + custom_name(field)


_SPLICED = "\x00spliced"  # the one item mutagen's save sees while we save (never in a file)


def _ilst_atoms(path: Path) -> list[tuple[str | None, bytes]]:
    """The children of moov/udta/meta/ilst as (mutagen's key, raw bytes with the header), in
    file order; empty without an ilst. The key is what mutagen files the atom under: a
    freeform atom's "----:mean:name", "©gen" for a numeric `gnre` too; None for a freeform
    atom too short to name."""
    with open(path, "rb") as f:
        try:
            ilst = Atoms(f).path(b"moov", b"udta", b"meta", b"ilst")[-1]
        except KeyError:
            return []
        except AtomError as exc:
            raise TagError(path, f"malformed MP4 atoms: {one_line(exc)}") from None
        out: list[tuple[str | None, bytes]] = []
        for atom in ilst.children or []:
            f.seek(atom.offset)
            raw = f.read(atom.length)
            ok, data = atom.read(f)
            if not ok or len(raw) != atom.length:
                raise TagError(path, "an MP4 tag atom runs past the end of the file")
            out.append((_atom_key(atom.name, data), raw))
        return out


def _atom_key(name: bytes, data: bytes) -> str | None:
    """mutagen's key for an ilst atom with payload `data` (its freeform parser: the first
    child is the mean, the second the name)."""
    if name == b"gnre":
        return "\xa9gen"
    if name != b"----":
        return name.decode("latin-1")
    if len(data) < 8:
        return None
    length = int.from_bytes(data[:4], "big")
    mean = data[12:length]
    second = int.from_bytes(data[length : length + 4], "big")
    if length < 12 or second < 12 or length + second > len(data):
        return None
    label = data[length + 12 : length + second]
    return (name + b":" + mean + b":" + label).decode("latin-1")


HANDLED: dict[type, type[TagFormat]] = {MP4: Mp4Format}


def _packets_digest(path: Path) -> str:
    import av  # local: only MP4 needs PyAV here, and it is slow to import

    digest = hashlib.sha256()
    try:
        # tags are no concern of the fingerprint: an atom that is not UTF-8 (a Latin-1
        # freeform value) must not make the demuxer's metadata decoding fail
        with av.open(str(path), metadata_errors="replace") as container:
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
