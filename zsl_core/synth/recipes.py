"""Genre recipes: what plays in a genre (OpenMIC instruments) and how (tempo, metre, groove...).

The 53 recipes live in recipes.json beside this module, one object with named fields per
genre, so they can be read and edited without reading code. They are validated when loaded:
a malformed file stops with one line that names the file, the genre and the field.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from zsl_core.synth.drums import GROOVES
from zsl_core.synth.errors import SynthError
from zsl_core.synth.instruments import INSTRUMENTS
from zsl_core.synth.theory import METRES, PROGRESSIONS, SCALES

RECIPES_FILE = Path(__file__).with_name("recipes.json")
BASS_STYLES = ("root", "rootfifth", "walking", "eighths", "octaves", "sparse", "sub")
COMP_STYLES = ("block", "strum", "arp", "offbeat", "oompah", "pad", "stabs")
NO_GROOVE = "none"  # a genre without a drum groove of its own (the composer falls back)
REQUIRED = (
    "name",
    "family",
    "instruments",
    "tempo",
    "metres",
    "groove",
    "bass",
    "comp",
    "progressions",
    "major",
    "density",
    "loudness",
)
OPTIONAL = ("swing", "scale", "sevenths", "sounds")


@dataclass(frozen=True)
class Genre:
    """A genre as a recipe: what plays (OpenMIC instruments) and how (tempo, metre, groove...)."""

    name: str
    family: str
    instruments: dict[str, float]
    tempo: tuple[int, int]
    metres: tuple[str, ...]
    groove: str
    bass: str  # root | rootfifth | walking | eighths | octaves | sparse | sub
    comp: tuple[str, ...]  # block | strum | arp | offbeat | oompah | pad | stabs
    progressions: tuple[str, ...]
    major: float  # probability of a major key
    density: float  # melody notes per beat
    loudness: int  # base MIDI velocity
    swing: float = 0.0  # 0 straight .. 1 triplet swing
    scale: str = ""  # melody scale override
    sevenths: bool = False  # add sevenths to triads (jazz harmony)
    sounds: dict[str, tuple[tuple[int, int], ...]] = field(default_factory=dict)

    def probability(self, instrument: str) -> float:
        return self.instruments.get(instrument, 0.0)


class _Entry:
    """Reads the fields of one recipe, raising SynthError(file: genre N 'name': field: why)."""

    def __init__(self, path: Path, index: int, raw: Any) -> None:
        self.path, self.raw = path, raw
        name = raw.get("name") if isinstance(raw, dict) else None
        self.where = f"genre {index + 1}" + (f" {name!r}" if isinstance(name, str) else "")
        if not isinstance(raw, dict):
            self.fail(None, "must be an object with named fields")

    def fail(self, key: str | None, reason: str) -> NoReturn:
        field_part = f" field {key!r}:" if key else ""
        raise SynthError(f"{self.path}: {self.where}:{field_part} {reason}")

    def text(self, key: str, choices: Any = None, default: str | None = None) -> str:
        value = self.raw.get(key, default)
        if not isinstance(value, str) or (not value and default is None):
            self.fail(key, "must be a non-empty string" if key in self.raw else "is missing")
        if choices is not None and value not in choices:
            self.fail(key, f"{value!r} is not one of {', '.join(sorted(choices))}")
        return value

    def words(self, key: str, choices: Any) -> tuple[str, ...]:
        value = self.raw.get(key)
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            self.fail(
                key, "must be a non-empty list of strings" if key in self.raw else "is missing"
            )
        unknown = [v for v in value if v not in choices]
        if unknown:
            self.fail(
                key,
                f"unknown {', '.join(map(repr, unknown))} (known: {', '.join(sorted(choices))})",
            )
        return tuple(value)

    def number(self, key: str, low: float, high: float, default: float | None = None) -> float:
        value = self.raw.get(key, default)
        if value is None:
            self.fail(key, "is missing")
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
        ):
            self.fail(key, f"must be a number, got {value!r}")
        if not low <= value <= high:
            self.fail(key, f"{value!r} is outside [{low:g}, {high:g}]")
        return float(value)

    def integer(self, key: str, low: int, high: int) -> int:
        value = self.raw.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(
                key, "is missing" if key not in self.raw else f"must be an integer, got {value!r}"
            )
        if not low <= value <= high:
            self.fail(key, f"{value} is outside [{low}, {high}]")
        return value


def _preset(entry: _Entry, key: str, value: Any) -> tuple[int, int]:
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        or not (0 <= value[0] <= 128 and 0 <= value[1] <= 127)
    ):
        entry.fail(key, f"presets are [bank 0-128, program 0-127] pairs, got {value!r}")
    return (value[0], value[1])


def parse_genre(path: Path, index: int, raw: Any) -> Genre:
    """One recipe object -> Genre, every field checked (names, ranges, known styles)."""
    entry = _Entry(path, index, raw)
    unknown = sorted(set(raw) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        entry.fail(unknown[0], f"unknown field (fields: {', '.join(REQUIRED + OPTIONAL)})")
    name = entry.text("name")
    instruments = raw.get("instruments")
    if not isinstance(instruments, dict) or not instruments:
        entry.fail("instruments", "must be an object instrument -> probability")
    probabilities: dict[str, float] = {}
    for instrument, p in instruments.items():
        if instrument not in INSTRUMENTS:
            entry.fail("instruments", f"unknown instrument {instrument!r}")
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            entry.fail("instruments", f"{instrument}: probability must be in [0, 1], got {p!r}")
        probabilities[instrument] = float(p)
    tempo = raw.get("tempo")
    if (
        not isinstance(tempo, list)
        or len(tempo) != 2
        or not all(isinstance(t, int) and not isinstance(t, bool) for t in tempo)
        or not 20 <= tempo[0] <= tempo[1] <= 400
    ):
        entry.fail(
            "tempo", f"must be [low, high] whole bpm with 20 <= low <= high <= 400, got {tempo!r}"
        )
    groove = entry.text("groove", choices=set(GROOVES) | {NO_GROOVE})
    sounds_raw = raw.get("sounds", {})
    if not isinstance(sounds_raw, dict):
        entry.fail("sounds", "must be an object instrument -> [[bank, program], ...]")
    sounds: dict[str, tuple[tuple[int, int], ...]] = {}
    for instrument, presets in sounds_raw.items():
        if instrument not in INSTRUMENTS:
            entry.fail("sounds", f"unknown instrument {instrument!r}")
        if not isinstance(presets, list) or not presets:
            entry.fail("sounds", f"{instrument}: must be a non-empty list of [bank, program]")
        sounds[instrument] = tuple(_preset(entry, "sounds", p) for p in presets)
    sevenths = raw.get("sevenths", False)
    if not isinstance(sevenths, bool):
        entry.fail("sevenths", f"must be true or false, got {sevenths!r}")
    return Genre(
        name=name,
        family=entry.text("family"),
        instruments=probabilities,
        tempo=(tempo[0], tempo[1]),
        metres=entry.words("metres", METRES),
        groove=groove,
        bass=entry.text("bass", choices=BASS_STYLES),
        comp=entry.words("comp", COMP_STYLES),
        progressions=entry.words("progressions", PROGRESSIONS),
        major=entry.number("major", 0.0, 1.0),
        density=entry.number("density", 0.01, 16.0),
        loudness=entry.integer("loudness", 1, 127),
        swing=entry.number("swing", 0.0, 1.0, default=0.0),
        scale=entry.text("scale", choices=set(SCALES) | {""}, default=""),
        sevenths=sevenths,
        sounds=sounds,
    )


def load_recipes(path: str | Path = RECIPES_FILE) -> dict[str, Genre]:
    """Every genre of a recipe file, by name, in file order (the order corpus.json lists)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SynthError(f"{path}: cannot read recipes ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise SynthError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("genres"), list) or not data["genres"]:
        raise SynthError(f'{path}: expected an object with a non-empty "genres" list')
    genres: dict[str, Genre] = {}
    for index, raw in enumerate(data["genres"]):
        genre = parse_genre(path, index, raw)
        if genre.name in genres:
            raise SynthError(f"{path}: genre {index + 1} {genre.name!r}: field 'name': duplicate")
        genres[genre.name] = genre
    return genres


GENRES: dict[str, Genre] = load_recipes()
