"""A composed song: its parts (instrument, role, MIDI channel and program, notes) and the
facts about it that the labels are derived from."""

from __future__ import annotations

from dataclasses import dataclass, field

from zsl_core.synth.recipes import Genre
from zsl_core.synth.theory import METRES


@dataclass
class Part:
    instrument: str
    role: str
    channel: int
    bank: int
    program: int
    volume: int
    notes: list[tuple[int, int, int, int]] = field(
        default_factory=list
    )  # tick, pitch, velocity, duration


@dataclass
class Song:
    """A composed track: enough to write MIDI and to derive labels from what was played."""

    genre: Genre
    tempo: int
    metre: str
    key: int
    mode: str
    progression: str
    groove: str
    seconds: float
    parts: list[Part]
    loudness: int
    reverb: int

    @property
    def seconds_per_tick(self) -> float:
        return 60.0 / self.tempo / METRES[self.metre].ticks_per_beat

    def audible(self, until: float) -> dict[str, list[tuple[int, int, int, int]]]:
        """Notes per instrument that start before `until` seconds."""
        limit = until / self.seconds_per_tick
        out: dict[str, list] = {}
        for part in self.parts:
            notes = [n for n in part.notes if n[0] < limit]
            if notes:
                out.setdefault(part.instrument, []).extend(notes)
        return out
