"""The 20 OpenMIC-2018 instrument classes and how each one is played (General MIDI presets,
register, roles)."""

from __future__ import annotations

from dataclasses import dataclass

# The 20 OpenMIC-2018 classes in the dataset's column order (same tuple as
# zsl_core.vectors.OPENMIC_INSTRUMENTS; repeated so this module does not import numpy at start).
INSTRUMENTS: tuple[str, ...] = (
    "accordion",
    "banjo",
    "bass",
    "cello",
    "clarinet",
    "cymbals",
    "drums",
    "flute",
    "guitar",
    "mallet_percussion",
    "mandolin",
    "organ",
    "piano",
    "saxophone",
    "synthesizer",
    "trombone",
    "trumpet",
    "ukulele",
    "violin",
    "voice",
)


@dataclass(frozen=True)
class Voice:
    """How one OpenMIC class is played: GM presets (bank, program), register, possible roles."""

    presets: tuple[tuple[int, int], ...]
    low: int
    high: int
    roles: tuple[str, ...]  # "lead", "comp", "pad", "bass" (drums/cymbals are special)
    lead_weight: float = 1.0


VOICES: dict[str, Voice] = {
    "accordion": Voice(((0, 21), (0, 23)), 55, 81, ("lead", "comp"), 1.2),
    "banjo": Voice(((0, 105),), 55, 79, ("comp", "lead"), 0.6),
    "bass": Voice(((0, 32), (0, 33), (0, 34), (0, 35)), 28, 52, ("bass",)),
    "cello": Voice(((0, 42),), 36, 67, ("lead", "pad"), 1.0),
    "clarinet": Voice(((0, 71),), 52, 84, ("lead", "pad"), 1.6),
    "cymbals": Voice(((128, 0),), 0, 127, ("cymbals",)),
    "drums": Voice(((128, 0),), 0, 127, ("drums",)),
    "flute": Voice(((0, 73), (0, 72)), 67, 93, ("lead", "pad"), 1.6),
    "guitar": Voice(((0, 24), (0, 25), (0, 26), (0, 27)), 48, 76, ("comp", "lead"), 1.0),
    "mallet_percussion": Voice(((0, 11), (0, 12), (0, 13), (0, 9)), 60, 88, ("comp", "lead"), 0.9),
    "mandolin": Voice(((16, 25),), 55, 84, ("comp", "lead"), 0.9),
    "organ": Voice(((0, 16), (0, 17), (0, 18), (0, 19)), 48, 79, ("comp", "pad", "lead"), 0.5),
    "piano": Voice(((0, 0), (0, 1)), 48, 84, ("comp", "lead"), 1.0),
    "saxophone": Voice(((0, 64), (0, 65), (0, 66), (0, 67)), 49, 80, ("lead",), 2.0),
    "synthesizer": Voice(
        ((0, 80), (0, 81), (0, 89), (0, 90), (0, 88)), 48, 84, ("pad", "comp", "lead"), 0.8
    ),
    "trombone": Voice(((0, 57),), 40, 70, ("pad", "lead"), 0.9),
    "trumpet": Voice(((0, 56), (0, 59)), 55, 82, ("lead", "pad"), 1.8),
    "ukulele": Voice(((8, 24),), 60, 79, ("comp",), 0.3),
    "violin": Voice(((0, 40), (0, 110)), 55, 91, ("lead", "pad"), 1.8),
    "voice": Voice(((0, 53), (0, 52)), 55, 77, ("lead", "pad"), 2.5),
}

DISTORTED_GUITARS = frozenset({29, 30})  # GM overdriven and distortion guitar
