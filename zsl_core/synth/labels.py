"""Labels from what was played: genre tags (the primary genre plus related genres whose
recipes explain the music), mood words from the measured character, and OpenMIC-style
instrument likelihoods with annotation noise."""

from __future__ import annotations

import math
from collections.abc import Iterable

from zsl_core.synth.drums import DANCE_GROOVES
from zsl_core.synth.instruments import DISTORTED_GUITARS, INSTRUMENTS
from zsl_core.synth.recipes import GENRES, Genre
from zsl_core.synth.rng import Rng
from zsl_core.synth.song import Song

# Mood concepts: each word labels tracks whose measured character matches the concept.
MOODS: dict[str, tuple[str, ...]] = {
    "sad": ("sad", "melancholy", "gloomy", "sorrowful"),
    "happy": ("happy", "cheerful", "joyful", "bright"),
    "calm": ("calm", "peaceful", "relaxing", "soothing", "mellow"),
    "energetic": ("energetic", "lively", "upbeat"),
    "dark": ("dark", "ominous", "sinister", "brooding"),
    "aggressive": ("aggressive", "angry", "intense", "heavy"),
    "tender": ("tender", "gentle", "romantic", "sentimental"),
    "dreamy": ("dreamy", "ethereal", "atmospheric"),
    "groovy": ("groovy", "danceable", "funky"),
    "epic": ("epic", "majestic", "triumphant", "heroic"),
    "loud": ("loud",),
    "quiet": ("quiet",),
}


def _log(p: float) -> float:
    return math.log(min(0.97, max(0.03, p)))


def genre_fit(genre: Genre, song: Song, playing: Iterable[str]) -> float:
    """Log-likelihood-like score of a genre recipe for what was played (instruments, tempo, metre, mode)."""
    playing = set(playing)
    score = sum(
        _log(genre.probability(i)) if i in playing else _log(1 - genre.probability(i))
        for i in INSTRUMENTS
    )
    tempo = song.tempo * (1.5 if song.metre == "6/8" else 1.0)
    low, high = genre.tempo
    if not low <= tempo <= high:
        score -= (min(abs(tempo - low), abs(tempo - high)) / 15.0) ** 2
    score += 0.0 if song.metre in genre.metres else -3.0
    score += _log(genre.major if song.mode == "major" else 1 - genre.major)
    return score


def genre_labels(song: Song, playing: Iterable[str], rng: Rng) -> list[str]:
    """The primary genre plus 0-2 related genres that explain the realised music nearly as well."""
    playing = list(playing)
    primary = song.genre
    count = rng.weighted((1, 2, 3), (0.5, 0.35, 0.15))
    base = genre_fit(primary, song, playing)
    scored = []
    for genre in GENRES.values():
        if genre.name == primary.name:
            continue
        score = genre_fit(genre, song, playing) + (2.0 if genre.family == primary.family else 0.0)
        if score > base - 3.0:
            scored.append((score, genre.name))
    scored.sort(key=lambda s: (-s[0], s[1]))
    candidates = scored[:5]
    tags = [primary.name]
    while len(tags) < count and candidates:
        name = rng.weighted([c[1] for c in candidates], [math.exp(c[0] - base) for c in candidates])
        tags.append(name)
        candidates = [c for c in candidates if c[1] != name]
    return tags


def song_character(
    song: Song, audible: dict[str, list[tuple[int, int, int, int]]]
) -> dict[str, float]:
    """Measured facts the mood words are derived from (also stored in meta)."""
    notes = [n for ns in audible.values() for n in ns]
    melodic = [n for inst, ns in audible.items() if inst not in ("drums", "cymbals") for n in ns]
    seconds = max(song.seconds, 1e-6)
    beat_tempo = song.tempo * (1.5 if song.metre == "6/8" else 1.0)  # felt pulse in 6/8
    return {
        "tempo": float(beat_tempo),
        "density": len(notes) / seconds,
        "velocity": sum(n[2] for n in notes) / max(1, len(notes)),
        "pitch": sum(n[1] for n in melodic) / max(1, len(melodic)),
        "drums": float("drums" in audible),
        "pads": float(
            any(
                p.role == "pad" or p.role == "comp:pad"
                for p in song.parts
                if p.instrument in audible
            )
        ),
        "brass": float(bool({"trumpet", "trombone"} & set(audible))),
        "major": float(song.mode == "major"),
        "groove": float(song.groove in DANCE_GROOVES),
        "distortion": float(
            any(
                p.program in DISTORTED_GUITARS
                and p.instrument == "guitar"
                and p.instrument in audible
                for p in song.parts
            )
        ),
    }


def _ramp(value: float, low: float, high: float) -> float:
    """0 below `low`, 1 above `high`, linear between (high < low gives a falling ramp)."""
    if high == low:
        return float(value >= high)
    return max(0.0, min(1.0, (value - low) / (high - low)))


def mood_scores(c: dict[str, float]) -> dict[str, float]:
    slow, fast = _ramp(c["tempo"], 105, 70), _ramp(c["tempo"], 100, 140)
    soft, loud = _ramp(c["velocity"], 85, 60), _ramp(c["velocity"], 90, 112)
    sparse, busy = _ramp(c["density"], 12, 4), _ramp(c["density"], 10, 25)
    major, minor = c["major"], 1 - c["major"]
    low = _ramp(c["pitch"], 62, 52)
    return {
        "sad": minor * min(1.0, 0.6 * slow + 0.3 * soft + 0.2 * (1 - fast)),
        "happy": major * (0.3 + 0.7 * fast) * (1 - 0.5 * soft) * (1 - c["distortion"]),
        "calm": slow * (0.5 * soft + 0.5 * sparse) * (1 - loud),
        "energetic": fast * (0.5 + 0.5 * busy),
        "dark": minor * (0.5 * low + 0.3 * loud + 0.2 * slow + 0.3 * c["distortion"]),
        "aggressive": loud * (0.5 * fast + 0.5 * c["distortion"]) * (0.5 + 0.5 * c["drums"]),
        "tender": major * slow * soft,
        "dreamy": c["pads"] * slow * (1 - c["drums"] * 0.5),
        "groovy": c["groove"] * c["drums"] * (1 - slow) * (1 - _ramp(c["tempo"], 135, 150)),
        "epic": c["brass"] * (0.2 + 0.8 * loud) * (1 - sparse * 0.5),
        "loud": loud,
        "quiet": soft * (1 - c["drums"] * 0.5),
    }


def mood_labels(character: dict[str, float], rng: Rng) -> list[str]:
    """1-3 mood concepts whose score passes 0.45 (always the best one), 1-2 synonyms each."""
    scores = mood_scores(character)
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    chosen = [name for name, score in ranked[:3] if score >= 0.45] or [ranked[0][0]]
    words: list[str] = []
    for concept in chosen:
        synonyms = list(MOODS[concept])
        first = rng.choice(synonyms)
        words.append(first)
        rest = [w for w in synonyms if w != first]
        if rest and rng.chance(0.3):
            words.append(rng.choice(rest))
    return words


def instrument_attributes(
    playing: Iterable[str], rng: Rng, annotated: float = 0.6, noise: float = 0.05
) -> dict[str, float]:
    """OpenMIC-style likelihoods: present ~0.7-1.0, absent ~0-0.3, `noise` flipped, rest unannotated."""
    playing = set(playing)
    out = {}
    for inst in INSTRUMENTS:
        if not rng.chance(annotated):
            continue
        present = (inst in playing) != rng.chance(noise)
        value = rng.uniform(0.7, 1.0) if present else rng.uniform(0.0, 0.3)
        out[inst] = round(value, 3)
    return out
