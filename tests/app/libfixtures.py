"""Real, tagged test tracks for the library tests (metadata, scanner, Library).

Audio comes from `audio_factory` (soundfile / PyAV encoders); tags and pictures are written
with mutagen's own classes, independently of the code under test, so a reader bug cannot be
hidden by a matching writer bug.
"""

from __future__ import annotations

import base64
import os
import struct
import zlib
from pathlib import Path
from typing import TypeVar

import audio_factory
import numpy as np


def png_bytes(rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A valid 1x1 PNG, so cover bytes are a real image the GUI could show."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    raw = b"\x00" + bytes(rgb)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def music(
    seconds: float, sample_rate: int = 22050, kind: str = "tone", seed: int = 0
) -> np.ndarray:
    """Short signals that sound different to a tagger: 'tone' (sustained chord), 'noise'
    (bright, loud, percussive bursts), 'chirp'."""
    if kind == "tone":
        return audio_factory.tone(seconds, sample_rate, (220.0, 277.2, 329.6), amplitude=0.4)
    if kind == "chirp":
        return audio_factory.chirp(seconds, sample_rate)
    rng = np.random.default_rng(seed)
    n = int(seconds * sample_rate)
    noise = rng.standard_normal(n).astype(np.float32) * 0.3
    beat = (np.arange(n) % (sample_rate // 2)) < sample_rate // 20  # a burst every half second
    return np.clip(noise * (0.2 + 0.8 * beat), -1, 1).astype(np.float32)


PathT = TypeVar("PathT", str, Path, bytes)


def write_track(
    path: PathT,
    seconds: float = 6.0,
    kind: str = "tone",
    fmt: str | None = None,
    seed: int = 0,
    **tags,
) -> PathT:
    """Write audio to `path` (bytes paths allowed, for non-UTF-8 names) and tag it; `path`.

    Keyword tags: title, artist, album, genre (list), mood (list), cover (image bytes),
    album_artist, track and disc (text as a tagger writes it, "3/12", or a number), date.
    """
    if isinstance(path, bytes):  # encoders take str; write beside, then rename to the raw name
        suffix = os.path.splitext(path)[1].decode("ascii")
        written = Path(os.fsdecode(os.path.dirname(path))) / ("_tmp_write" + suffix)
    else:
        written = Path(path)
    audio_factory.write_signal(written, music(seconds, kind=kind, seed=seed), 22050, fmt)
    if tags:
        tag_file(written, **tags)
    if isinstance(path, bytes):
        os.replace(os.fsencode(written), path)
    return path


def tag_file(
    path: str | Path,
    title: str | None = None,
    artist: str | None = None,
    album: str | None = None,
    genre: list[str] | None = None,
    mood: list[str] | None = None,
    cover: bytes | None = None,
    album_artist: str | None = None,
    track: str | int | None = None,
    disc: str | int | None = None,
    date: str | None = None,
) -> None:
    """Write tags with mutagen in the file's native tag format."""
    import mutagen

    audio = mutagen.File(str(path))
    if audio is None:
        raise ValueError(f"{path}: mutagen does not know this file")
    if audio.tags is None:
        audio.add_tags()
    name = type(audio).__name__
    if name in ("MP3", "WAVE", "AIFF"):
        _tag_id3(audio.tags, title, artist, album, genre, mood, cover)
    elif name in ("FLAC", "OggVorbis", "OggOpus"):
        _tag_vorbis(audio, title, artist, album, genre, mood, cover)
    elif name == "MP4":
        _tag_mp4(audio.tags, title, artist, album, genre, mood, cover)
    else:
        raise ValueError(f"{path}: no tag writer for {name} in the fixtures")
    extra = (album_artist, track, disc, date)
    if any(v is not None for v in extra):
        {"MP3": _extra_id3, "WAVE": _extra_id3, "AIFF": _extra_id3, "MP4": _extra_mp4}.get(
            name, _extra_vorbis
        )(audio, *extra)
    audio.save()


def _extra_id3(audio, album_artist, track, disc, date) -> None:
    from mutagen.id3 import TDRC, TPE2, TPOS, TRCK

    for frame, value in ((TPE2, album_artist), (TRCK, track), (TPOS, disc), (TDRC, date)):
        if value is not None:
            audio.tags.add(frame(encoding=3, text=[str(value)]))


def _extra_vorbis(audio, album_artist, track, disc, date) -> None:
    for key, value in (
        ("ALBUMARTIST", album_artist),
        ("TRACKNUMBER", track),
        ("DISCNUMBER", disc),
        ("DATE", date),
    ):
        if value is not None:
            audio.tags[key] = [str(value)]


def _extra_mp4(audio, album_artist, track, disc, date) -> None:
    def pair(value):
        number, _, total = str(value).partition("/")
        return [(int(number), int(total or 0))]

    if album_artist is not None:
        audio.tags["aART"] = [album_artist]
    if track is not None:
        audio.tags["trkn"] = pair(track)
    if disc is not None:
        audio.tags["disk"] = pair(disc)
    if date is not None:
        audio.tags["\xa9day"] = [date]


def _tag_id3(tags, title, artist, album, genre, mood, cover) -> None:
    from mutagen.id3 import APIC, TALB, TCON, TIT2, TMOO, TPE1

    for frame, value in ((TIT2, title), (TPE1, artist), (TALB, album)):
        if value:
            tags.add(frame(encoding=3, text=[value]))
    if genre:
        tags.add(TCON(encoding=3, text=list(genre)))
    if mood:
        tags.add(TMOO(encoding=3, text=list(mood)))
    if cover:
        tags.add(APIC(encoding=3, mime="image/png", type=3, desc="cover", data=cover))


def _tag_vorbis(audio, title, artist, album, genre, mood, cover) -> None:
    from mutagen.flac import FLAC, Picture

    for key, value in (("TITLE", title), ("ARTIST", artist), ("ALBUM", album)):
        if value:
            audio.tags[key] = [value]
    if genre:
        audio.tags["GENRE"] = list(genre)
    if mood:
        audio.tags["MOOD"] = list(mood)
    if cover:
        picture = Picture()
        picture.type, picture.mime, picture.data = 3, "image/png", cover
        picture.width = picture.height = 1
        picture.depth = 24
        if isinstance(audio, FLAC):
            audio.add_picture(picture)
        else:
            audio.tags["METADATA_BLOCK_PICTURE"] = [
                base64.b64encode(picture.write()).decode("ascii")
            ]


def _tag_mp4(tags, title, artist, album, genre, mood, cover) -> None:
    from mutagen.mp4 import AtomDataType, MP4Cover, MP4FreeForm

    for key, value in (("\xa9nam", title), ("\xa9ART", artist), ("\xa9alb", album)):
        if value:
            tags[key] = [value]
    if genre:
        tags["\xa9gen"] = list(genre)
    if mood:
        tags["----:com.apple.iTunes:MOOD"] = [
            MP4FreeForm(m.encode("utf-8"), dataformat=AtomDataType.UTF8) for m in mood
        ]
    if cover:
        tags["covr"] = [MP4Cover(cover, imageformat=MP4Cover.FORMAT_PNG)]


def corrupt_files(folder: Path) -> dict[str, str]:
    """Files with audio extensions that cannot be decoded; name -> what is wrong with it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.mp3").write_bytes(b"")
    rng = np.random.default_rng(7)
    (folder / "random.flac").write_bytes(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    (folder / "text.wav").write_bytes(b"this is not a wav file at all\n" * 20)
    good = write_track(folder / "_whole.wav", seconds=4.0)
    data = Path(good).read_bytes()
    (folder / "truncated.wav").write_bytes(data[: len(data) // 3])
    Path(good).unlink()
    return {
        "empty.mp3": "empty",
        "random.flac": "random bytes",
        "text.wav": "text",
        "truncated.wav": "truncated",
    }


def cut_ogg(path: Path, seconds: float = 20.0, keep: float = 0.4, **tags) -> tuple[Path, bytes]:
    """A tagged Ogg Vorbis file cut to its first `keep` share of bytes, as a download or copy
    that stopped early leaves it (the demo folder's broken/truncated.ogg): mutagen reads its
    headers and tags, its first seconds decode, but its last page is cut short. Returns the
    path and the whole file's bytes (to put a good copy back)."""
    whole = write_track(path.with_name("_whole_" + path.name), seconds, kind="chirp", **tags)
    data = Path(whole).read_bytes()
    Path(whole).unlink()
    path.write_bytes(data[: int(len(data) * keep)])
    return path, data


def crashing_probe(path: bytes):
    """Stands in for app.scanner.probe_file in spawned workers: dies like a decoder segfault
    on files named crash*, works normally otherwise (module level, so the pool can pickle it)."""
    from app import scanner

    if os.path.basename(path).startswith(b"crash"):
        os._exit(139)
    return scanner.probe_file(path)
