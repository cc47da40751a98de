"""A minimal Standard MIDI File writer: just what the composer needs (notes, programs,
controllers, tempo, time and key signatures), so the corpus needs no MIDI library."""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

TICKS_PER_QUARTER = 480


def _vlq(value: int) -> bytes:
    """MIDI variable-length quantity: 7 bits a byte, most significant first, high bit = more."""
    if value < 0 or value > 0x0FFFFFFF:
        raise ValueError(f"delta time {value} out of the MIDI range")
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    return bytes(reversed(out))


@dataclass
class MidiTrack:
    """One MTrk chunk: events as (tick, order, bytes); `order` sorts events of one tick.

    Order at a tick: meta events, then controllers and program changes, then note-offs, then
    note-ons, so a repeated note is released before it is struck again.
    """

    name: str = ""
    events: list[tuple[int, int, bytes]] = field(default_factory=list)

    def meta(self, tick: int, kind: int, payload: bytes) -> None:
        self.events.append((tick, 0, bytes([0xFF, kind]) + _vlq(len(payload)) + payload))

    def tempo(self, tick: int, microseconds_per_quarter: int) -> None:
        self.meta(tick, 0x51, int(microseconds_per_quarter).to_bytes(3, "big"))

    def time_signature(self, tick: int, numerator: int, denominator: int) -> None:
        power = int(math.log2(denominator))
        clocks = 24 * 4 // denominator * (3 if numerator % 3 == 0 and denominator == 8 else 1)
        self.meta(tick, 0x58, bytes([numerator, power, clocks, 8]))

    def key_signature(self, tick: int, sharps: int, minor: bool) -> None:
        self.meta(tick, 0x59, bytes([sharps & 0xFF, 1 if minor else 0]))

    def control(self, tick: int, channel: int, controller: int, value: int) -> None:
        self.events.append((tick, 1, bytes([0xB0 | channel, controller & 0x7F, clip7(value)])))

    def program(self, tick: int, channel: int, program: int, bank: int = 0) -> None:
        """Bank select (CC0, as FluidSynth's default "gs" mode reads it) then program change."""
        self.control(tick, channel, 0, bank)
        self.events.append((tick, 2, bytes([0xC0 | channel, program & 0x7F])))

    def note(self, tick: int, channel: int, pitch: int, velocity: int, duration: int) -> None:
        pitch, velocity = clip7(pitch), max(1, clip7(velocity))
        self.events.append((tick, 4, bytes([0x90 | channel, pitch, velocity])))
        self.events.append((tick + max(1, duration), 3, bytes([0x80 | channel, pitch, 64])))

    def chunk(self, end_tick: int | None = None) -> bytes:
        """The MTrk bytes: name, events in time order, end-of-track at `end_tick` (or last event)."""
        events = sorted(self.events, key=lambda e: (e[0], e[1]))
        body = bytearray()
        if self.name:
            body += _vlq(0) + b"\xff\x03" + _vlq(len(self.name.encode())) + self.name.encode()
        last = 0
        for tick, _, data in events:
            body += _vlq(tick - last) + data
            last = tick
        end = max(last, end_tick or 0)
        body += _vlq(end - last) + b"\xff\x2f\x00"
        return b"MTrk" + struct.pack(">I", len(body)) + bytes(body)


def clip7(value: int) -> int:
    return max(0, min(127, int(value)))


def write_midi(
    tracks: Sequence[MidiTrack],
    ticks_per_quarter: int = TICKS_PER_QUARTER,
    end_tick: int | None = None,
) -> bytes:
    """A Standard MIDI File: format 0 for one track, format 1 (first track = tempo map) otherwise."""
    if not tracks:
        raise ValueError("a MIDI file needs at least one track")
    fmt = 0 if len(tracks) == 1 else 1
    header = b"MThd" + struct.pack(">IHHH", 6, fmt, len(tracks), ticks_per_quarter)
    return header + b"".join(t.chunk(end_tick) for t in tracks)
