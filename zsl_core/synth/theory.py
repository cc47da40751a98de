"""Music theory the composer reads: scales, chord progressions as Roman numerals, metres,
and the small pitch helpers (nearest pitch of a class, chord voicings)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from zsl_core.synth.midi import TICKS_PER_QUARTER

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
SCALES: dict[str, tuple[int, ...]] = {
    "major": MAJOR,
    "minor": MINOR,
    "harmonic": (0, 2, 3, 5, 7, 8, 11),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "phrygian": (0, 1, 4, 5, 7, 8, 10),  # phrygian dominant (flamenco, klezmer)
    "blues": (0, 3, 5, 6, 7, 10),
    "pentatonic": (0, 2, 4, 7, 9),
    "minorpenta": (0, 3, 5, 7, 10),
}

# One chord per bar, looped. Upper case = major chord, lower case = minor; degrees are read in
# the key's own scale (so VII is a flat seventh in minor), b/# alter them.
PROGRESSIONS: dict[str, str] = {
    "pop": "I V vi IV",
    "doowop": "I vi IV V",
    "rhythm": "I vi ii7 V7",
    "rock": "I IV V IV",
    "mixo": "I bVII IV I",
    "punk": "I IV V V",
    "blues": "I7 I7 I7 I7 IV7 IV7 I7 I7 V7 IV7 I7 V7",
    "jazz": "ii7 V7 Imaj7 Imaj7",
    "turnaround": "Imaj7 vi7 ii7 V7",
    "folk": "I IV I V",
    "country": "I I IV I V V I I",
    "oompah": "I V V I",
    "cadence": "I IV V I",
    "canon": "I V vi iii IV I IV V",
    "classic": "I ii V I",
    "gospel": "I IV I V IV I",
    "minor": "i iv v i",
    "aeolian": "i VI III VII",
    "epic": "i VI VII i",
    "andalusian": "i VII VI V",
    "minorblues": "i7 i7 iv7 i7 v7 iv7 i7 i7",
    "vamp": "i7 i7 IV7 IV7",
    "dark": "i i VI V",
    "descent": "i iv VII III",
    "harmonic": "i iv V i",
    "drone": "i i VI VI",
    "soulful": "Imaj7 IVmaj7",
}


@dataclass(frozen=True)
class Metre:
    beats: int  # beats a bar
    ticks_per_beat: int
    steps_per_beat: int  # the groove grid
    numerator: int
    denominator: int


METRES = {
    "4/4": Metre(4, TICKS_PER_QUARTER, 4, 4, 4),
    "3/4": Metre(3, TICKS_PER_QUARTER, 4, 3, 4),
    "6/8": Metre(2, TICKS_PER_QUARTER * 3 // 2, 3, 6, 8),
}


def progression_chords(
    progression: str, key: int, mode: str, sevenths: bool
) -> list[tuple[int, tuple[int, ...]]]:
    """Roman numerals -> (root pitch class, chord intervals) per bar."""
    scale = MAJOR if mode == "major" else MINOR
    numerals = ("VII", "III", "VI", "IV", "II", "V", "I")
    out: list[tuple[int, tuple[int, ...]]] = []
    for symbol in PROGRESSIONS[progression].split():
        shift = 0
        while symbol[0] in "b#":
            shift += -1 if symbol[0] == "b" else 1
            symbol = symbol[1:]
        numeral = next(n for n in numerals if symbol.upper().startswith(n))
        upper = symbol[: len(numeral)].isupper()
        suffix = symbol[len(numeral) :]
        degree = ("I", "II", "III", "IV", "V", "VI", "VII").index(numeral)
        root = (key + scale[degree] + shift) % 12
        intervals: tuple[int, ...]
        if suffix == "maj7":
            intervals = (0, 4, 7, 11)
        elif suffix == "7":
            intervals = (0, 4, 7, 10) if upper else (0, 3, 7, 10)
        elif suffix in ("dim", "o"):
            intervals = (0, 3, 6)
        else:
            intervals = (0, 4, 7) if upper else (0, 3, 7)
            if sevenths:
                intervals += ((11 if degree in (0, 3) else 10) if upper else 10,)
        out.append((root, intervals))
    return out


def progression_mode(name: str) -> str:
    first = PROGRESSIONS[name].split()[0].lstrip("b#")
    return "major" if first[0].isupper() else "minor"


def pitch_near(pitch_class: int, target: int, low: int, high: int) -> int:
    """The pitch of `pitch_class` closest to `target`, kept inside [low, high]."""
    best = target - ((target - pitch_class) % 12)
    if target - best > 6:
        best += 12
    while best < low:
        best += 12
    while best > high:
        best -= 12
    return best


def voicing(root: int, intervals: Sequence[int], centre: int, low: int, high: int) -> list[int]:
    base = pitch_near(root, centre - 5, low, high)
    notes = sorted({base + i for i in intervals})
    return [n if n <= high else n - 12 for n in notes]
