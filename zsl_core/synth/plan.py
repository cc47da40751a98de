"""One corpus track planned: composed, its MIDI bytes written, every label derived; a pure
function of (seed, index, seconds, soundfont presets)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from zsl_core.synth.compose import DEFAULT_SECONDS, compose, song_midi
from zsl_core.synth.instruments import INSTRUMENTS
from zsl_core.synth.labels import genre_labels, instrument_attributes, mood_labels, song_character
from zsl_core.synth.recipes import GENRES
from zsl_core.synth.rng import Rng
from zsl_core.synth.song import Song


@dataclass
class TrackPlan:
    """Everything about one corpus track except its audio."""

    id: str
    song: Song
    midi: bytes
    genres: list[str]
    moods: list[str]
    instruments: list[str]
    attributes: dict[str, float]
    character: dict[str, float]

    def meta(self) -> dict[str, Any]:
        s = self.song
        return {
            "title": f"{self.id} ({s.genre.name})",
            "artist": "zsl-core synth",
            "album": s.genre.name,
            "genres": self.genres,
            "moods": self.moods,
            "instruments": self.instruments,
            "tempo": s.tempo,
            "metre": s.metre,
            "key": _KEY_NAMES[s.key],
            "mode": s.mode,
            "progression": s.progression,
            "character": {k: round(v, 2) for k, v in self.character.items()},
        }


_KEY_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def plan_track(
    seed: int,
    index: int,
    seconds: float = DEFAULT_SECONDS,
    presets: frozenset[tuple[int, int]] | None = None,
) -> TrackPlan:
    """Compose track `index` and derive all its labels; a pure function of its arguments."""
    song = compose(seed, index, seconds, presets)
    audible = song.audible(max(0.5, seconds - 0.5))
    playing = [i for i in INSTRUMENTS if i in audible]
    rng = Rng(seed, index, "labels")
    character = song_character(song, audible)
    return TrackPlan(
        id=f"{index:06d}",
        song=song,
        midi=song_midi(song),
        genres=genre_labels(song, playing, rng),
        moods=mood_labels(character, rng),
        instruments=playing,
        attributes=instrument_attributes(playing, rng),
        character=character,
    )


def genre_attribute_rows() -> list[tuple[str, str, float]]:
    """(genre, instrument, recipe probability) for every genre and every OpenMIC instrument."""
    return [
        (g.name, inst, g.probability(inst))
        for g in sorted(GENRES.values(), key=lambda g: g.name)
        for inst in INSTRUMENTS
    ]
