"""Finding a General MIDI soundfont and reading which presets it really holds."""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any

from zsl_core.synth.errors import SynthError

SOUNDFONT_CANDIDATES = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/soundfonts/default.sf2",
)
INSTALL_HINT = "Debian/Ubuntu: apt-get install fluidsynth fluid-soundfont-gm"


def find_soundfont(path: str | Path | None = None) -> Path:
    """The soundfont to use: `path`, else $ZSL_SOUNDFONT, else the Debian/Fedora GM locations."""
    if path is None:
        path = os.environ.get("ZSL_SOUNDFONT") or next(
            (p for p in SOUNDFONT_CANDIDATES if Path(p).is_file()), None
        )
        if path is None:
            raise SynthError(
                f"no General MIDI soundfont found (looked in {SOUNDFONT_CANDIDATES[0]} and others); "
                f"pass --soundfont FILE.sf2 ({INSTALL_HINT})"
            )
    path = Path(path)
    if not path.is_file():
        raise SynthError(
            f"soundfont not found: {path} ({INSTALL_HINT}, or pass --soundfont FILE.sf2)"
        )
    return path


def soundfont_presets(path: str | Path) -> frozenset[tuple[int, int]]:
    """(bank, program) of every preset in an SF2 file, read from its pdta/phdr chunk.

    FluidSynth renders silence (and exits 0) for a file that is not a soundfont, and silently
    substitutes missing presets, so we check ourselves: a track must never be labelled with an
    instrument that the soundfont cannot play.
    """
    path = Path(path)
    try:
        with path.open("rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"sfbk":
                raise SynthError(f"{path}: not a SoundFont 2 file")
            end = 8 + struct.unpack("<I", head[4:8])[0]
            pos = 12
            while pos + 8 <= end:
                f.seek(pos)
                chunk = f.read(12)
                if len(chunk) < 8:
                    break
                ident, size = chunk[:4], struct.unpack("<I", chunk[4:8])[0]
                if ident == b"LIST" and chunk[8:12] == b"pdta":
                    return _read_phdr(f, pos + 12, pos + 8 + size, path)
                pos += 8 + size + (size & 1)
    except OSError as exc:
        raise SynthError(f"{path}: cannot read soundfont ({exc.strerror or exc})") from None
    raise SynthError(f"{path}: soundfont has no preset list (pdta/phdr)")


def _read_phdr(f: Any, pos: int, end: int, path: Path) -> frozenset[tuple[int, int]]:
    while pos + 8 <= end:
        f.seek(pos)
        ident, size = struct.unpack("<4sI", f.read(8))
        if ident == b"phdr":
            data = f.read(size)
            records = len(data) // 38 - 1  # the last record is the terminal "EOP"
            presets = set()
            for off in range(0, records * 38, 38):
                program, bank = struct.unpack("<HH", data[off + 20 : off + 24])
                presets.add((bank, program))
            return frozenset(presets)
        pos += 8 + size + (size & 1)
    raise SynthError(f"{path}: soundfont has no preset list (pdta/phdr)")
