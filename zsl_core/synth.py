"""A synthetic, fully labelled music corpus: `zsl-core synth`.

Why: the paper's Experiment 1 (FMA genres + OpenMIC-2018 instrument likelihoods) needs tens of
gigabytes of audio and two datasets. This module writes a small corpus with the same *shape* on
any machine with FluidSynth and a General MIDI soundfont, so the whole pipeline (import ->
features -> split -> train -> evaluate) can be run end to end, and zero-shot transfer can be
checked on data whose ground truth is known exactly.

How a track is made (everything from one `random.Random` per (seed, track), so the corpus does
not depend on the number of workers and a longer corpus starts with the shorter one):

1. a primary genre is drawn; its recipe (`GENRES`) gives each of the 20 OpenMIC instruments a
   probability of playing, a tempo range, metres, a drum groove, a bass style, accompaniment
   styles, chord progressions, major/minor odds, melodic density and loudness;
2. a song is composed from it (chords, bass line, drums and cymbals, accompaniment, a phrased
   melody) and written as a Standard MIDI File by our own writer (`MidiFile`);
3. labels: the genre tags are the primary genre plus 0-2 related genres whose recipes explain
   the realised music well (same instruments, tempo, metre, mode, family), like FMA's
   multi-genre tracks; mood words follow from what was played (tempo, mode, density,
   loudness, register, pads, groove), several synonyms per concept; instrument attributes are
   OpenMIC-style likelihoods of the instruments that really play, with annotation noise and
   unannotated (missing) instruments;
4. FluidSynth renders the MIDI file (one process per track, `workers` at a time); the audio
   is mixed to mono at 22,050 Hz (the paper's front end), cut or padded to `seconds`, and
   written as 16-bit FLAC.

Outputs under DIR: audio/NNN/ID.flac, midi/NNN/ID.mid, manifest.jsonl (tags = genres + moods),
genres.jsonl (tags = genres only: Experiment 1), genres.csv (label,attribute,value: each
genre's recipe instrument probabilities, the "human-labelled attributes" usable as
`--side csv:genres.csv`) and corpus.json (seed, parameters, versions, soundfont hash).
Labels and MIDI bytes depend only on the seed, the parameters and the soundfont's preset list.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zsl_core.errors import ZslError

FORMAT_VERSION = 1
SAMPLE_RATE = 22050
DEFAULT_SECONDS = 10.0  # OpenMIC-2018 clips are 10 s
DEFAULT_GAIN = 0.6
TICKS_PER_QUARTER = 480
SOUNDFONT_CANDIDATES = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/soundfonts/default.sf2",
)
INSTALL_HINT = "Debian/Ubuntu: apt-get install fluidsynth fluid-soundfont-gm"

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


class SynthError(ZslError):
    """The corpus cannot be made: no FluidSynth, no soundfont, bad parameters, foreign folder."""


# --- a minimal Standard MIDI File writer ----------------------------------------------------


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
        self.events.append((tick, 1, bytes([0xB0 | channel, controller & 0x7F, _clip7(value)])))

    def program(self, tick: int, channel: int, program: int, bank: int = 0) -> None:
        """Bank select (CC0, as FluidSynth's default "gs" mode reads it) then program change."""
        self.control(tick, channel, 0, bank)
        self.events.append((tick, 2, bytes([0xC0 | channel, program & 0x7F])))

    def note(self, tick: int, channel: int, pitch: int, velocity: int, duration: int) -> None:
        pitch, velocity = _clip7(pitch), max(1, _clip7(velocity))
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


def _clip7(value: int) -> int:
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


# --- instruments, progressions, grooves -----------------------------------------------------


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

# Drum grooves: one character per step (16ths in 3/4 and 4/4, eighths in 6/8): X accent,
# x normal, o ghost. Pieces: kick snare rim clap tom hat ohat ride crash shaker clave conga cowbell.
DRUM_NOTES = {
    "kick": 36,
    "snare": 38,
    "rim": 37,
    "clap": 39,
    "tom": 45,
    "hat": 42,
    "ohat": 46,
    "ride": 51,
    "crash": 49,
    "shaker": 70,
    "clave": 75,
    "conga": 63,
    "cowbell": 56,
    "pedal": 44,
}
CYMBAL_PIECES = frozenset({"hat", "ohat", "ride", "crash", "pedal"})
GROOVES: dict[str, dict[str, str]] = {
    "rock": {"kick": "X.......x.x.....", "snare": "....X.......X...", "hat": "x.x.x.x.x.x.x.x."},
    "pop": {"kick": "X.....x.x.......", "snare": "....X.......X...", "hat": "x.x.x.x.x.x.x.x."},
    "punk": {"kick": "X.x.x.x.X.x.x.x.", "snare": "....X.......X...", "ohat": "x.x.x.x.x.x.x.x."},
    "metal": {
        "kick": "xxxxxxxxxxxxxxxx",
        "snare": "....X.......X...",
        "ride": "x.x.x.x.x.x.x.x.",
        "crash": "X.......X.......",
    },
    "four": {
        "kick": "X...x...X...x...",
        "clap": "....x.......x...",
        "ohat": "..x...x...x...x.",
        "hat": "x.x.x.x.x.x.x.x.",
    },
    "techno": {
        "kick": "X...X...X...X...",
        "clap": "....x.......x...",
        "ohat": "..x...x...x...x.",
        "hat": "xxxxxxxxxxxxxxxx",
    },
    "funk": {"kick": "X..x..x...x..x..", "snare": "....X..o.o..X..o", "hat": "xxxxxxxxxxxxxxxx"},
    "hiphop": {"kick": "X......x.xx.....", "snare": "....X.......X...", "hat": "x.x.x.x.x.x.x.x."},
    "halftime": {
        "kick": "X.........x.....",
        "snare": "........X.......",
        "hat": "x.xxx.x.x.xxx.x.",
    },
    "onedrop": {"kick": "........X.......", "rim": "........x.......", "hat": "..x...x...x...x."},
    "ska": {"kick": "X.......x.......", "snare": "....X.......X...", "hat": "..x...x...x...x."},
    "swing": {
        "ride": "x...x.xxx...x.xx",
        "pedal": "....x.......x...",
        "kick": "o...o...o...o...",
        "snare": "..........o.....",
    },
    "shuffle": {"kick": "X.......x.......", "snare": "....X.......X...", "hat": "x.xxx.xxx.xxx.xx"},
    "train": {"kick": "X.......x.......", "snare": "o.x.o.X.o.x.o.X.", "hat": "x.x.x.x.x.x.x.x."},
    "march": {"kick": "X.......x.......", "snare": "x.xxx.x.x.xxx.x.", "crash": "x..............."},
    "polka": {"kick": "X.......X.......", "snare": "....x.......x...", "hat": "..x...x...x...x."},
    "bossa": {"kick": "X..xx..xX..xx..x", "rim": "x..x..x...x..x..", "hat": "x.x.x.x.x.x.x.x."},
    "salsa": {
        "clave": "x..x..x...x.x...",
        "conga": "...x..xx...x..xx",
        "cowbell": "x.x.x.x.x.x.x.x.",
        "kick": "...x.......x....",
    },
    "latin": {
        "kick": "X.......x.......",
        "rim": "..x...x...x...x.",
        "shaker": "xxxxxxxxxxxxxxxx",
        "conga": "x..x..x.x..x..x.",
    },
    "habanera": {
        "kick": "X..xx...X..xx...",
        "snare": "....x.......x...",
        "hat": "x...x...x...x...",
    },
    "soul": {"kick": "X......xx.......", "snare": "....X.......X...", "hat": "x.x.x.x.x.x.x.x."},
    "ballad": {"kick": "X.......x.......", "rim": "....x.......x...", "hat": "x...x...x...x..."},
    "samba": {
        "kick": "X..xX..xX..xX..x",
        "rim": "x.x..x.x.x..x.x.",
        "shaker": "xxxxxxxxxxxxxxxx",
        "hat": "..x...x...x...x.",
    },
    "waltz": {"kick": "X...........", "snare": "....x...x...", "hat": "x...x...x..."},
    "sixeight": {"kick": "X.....", "snare": "...x..", "hat": "xxxxxx"},
    "jig": {"kick": "X..x..", "tom": "x.xx.x", "hat": "x..x.."},
}
METRE_GROOVE = {"3/4": "waltz", "6/8": "sixeight"}
DISTORTED_GUITARS = frozenset({29, 30})  # GM overdriven and distortion guitar
DANCE_GROOVES = frozenset(
    {"four", "techno", "funk", "hiphop", "soul", "samba", "salsa", "latin", "bossa"}
)


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


# --- genres ---------------------------------------------------------------------------------


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


def _genre(
    name: str,
    family: str,
    instruments: str,
    tempo: str,
    metres: str,
    groove: str,
    bass: str,
    comp: str,
    progressions: str,
    major: float,
    density: float,
    loudness: int,
    swing: float = 0.0,
    scale: str = "",
    sevenths: bool = False,
    sounds: str = "",
) -> Genre:
    """Compact recipe notation: "drums .9 bass .95" and "guitar=0:29,0:30" (bank:program)."""
    words = instruments.split()
    probs = {words[i]: float(words[i + 1]) for i in range(0, len(words), 2)}
    unknown = set(probs) - set(INSTRUMENTS)
    if unknown:
        raise ValueError(f"genre {name}: unknown instruments {sorted(unknown)}")
    low, high = (int(x) for x in tempo.split("-"))
    overrides = {}
    for item in sounds.split():
        inst, presets = item.split("=")
        overrides[inst] = tuple(tuple(int(v) for v in p.split(":")) for p in presets.split(","))
    return Genre(
        name,
        family,
        probs,
        (low, high),
        tuple(metres.split()),
        groove,
        bass,
        tuple(comp.split()),
        tuple(progressions.split()),
        major,
        density,
        loudness,
        swing,
        scale,
        sevenths,
        overrides,
    )


_G = _genre
GENRES: dict[str, Genre] = {
    g.name: g
    for g in (
        _G(
            "rock",
            "rock",
            "drums .95 cymbals .9 bass .95 guitar .95 voice .55 piano .15 organ .15",
            "100-140",
            "4/4",
            "rock",
            "eighths",
            "strum block",
            "rock mixo pop aeolian",
            0.65,
            1.2,
            100,
            sounds="guitar=0:29,0:30,0:27",
        ),
        _G(
            "pop",
            "pop",
            "drums .9 cymbals .85 bass .9 piano .6 synthesizer .45 guitar .5 voice .8 violin .1",
            "95-125",
            "4/4",
            "pop",
            "root",
            "strum block arp",
            "pop doowop aeolian",
            0.75,
            1.3,
            88,
            sounds="bass=0:33,0:38",
        ),
        _G(
            "punk",
            "rock",
            "drums .98 cymbals .95 bass .95 guitar .98 voice .6",
            "160-200",
            "4/4",
            "punk",
            "eighths",
            "strum",
            "punk rock mixo",
            0.7,
            1.5,
            118,
            sounds="guitar=0:30,0:29",
        ),
        _G(
            "grunge",
            "rock",
            "drums .95 cymbals .9 bass .95 guitar .98 voice .6",
            "85-120",
            "4/4",
            "rock",
            "eighths",
            "strum block",
            "aeolian descent dark",
            0.25,
            1.0,
            110,
            sounds="guitar=0:30,0:29",
        ),
        _G(
            "metal",
            "rock",
            "drums .98 cymbals .95 bass .95 guitar .99 voice .4 organ .05",
            "130-190",
            "4/4",
            "metal",
            "eighths",
            "strum",
            "dark epic andalusian",
            0.1,
            2.0,
            122,
            scale="minor",
            sounds="guitar=0:30",
        ),
        _G(
            "blues",
            "blues",
            "drums .7 cymbals .6 bass .85 guitar .9 piano .5 organ .3 saxophone .3 voice .5 "
            "trumpet .1",
            "60-110",
            "4/4 6/8",
            "shuffle",
            "walking",
            "strum stabs",
            "blues",
            0.8,
            1.3,
            90,
            swing=0.8,
            scale="blues",
        ),
        _G(
            "jazz",
            "jazz",
            "drums .85 cymbals .85 bass .95 piano .8 saxophone .6 trumpet .45 trombone .2 "
            "guitar .35 clarinet .15 voice .25 mallet_percussion .15",
            "90-180",
            "4/4 3/4",
            "swing",
            "walking",
            "stabs block",
            "jazz turnaround",
            0.7,
            2.0,
            80,
            swing=0.9,
            sevenths=True,
            sounds="bass=0:32 guitar=0:26 mallet_percussion=0:11",
        ),
        _G(
            "bebop",
            "jazz",
            "drums .95 cymbals .95 bass .98 piano .85 saxophone .9 trumpet .6 guitar .1",
            "190-260",
            "4/4",
            "swing",
            "walking",
            "stabs",
            "jazz turnaround",
            0.7,
            3.0,
            88,
            swing=0.8,
            sevenths=True,
            sounds="bass=0:32",
        ),
        _G(
            "swing",
            "jazz",
            "drums .95 cymbals .95 bass .95 piano .7 saxophone .75 trumpet .75 trombone .7 "
            "clarinet .4 guitar .35 voice .3",
            "120-180",
            "4/4",
            "swing",
            "walking",
            "strum stabs",
            "turnaround rhythm",
            0.9,
            1.6,
            95,
            swing=1.0,
            sevenths=True,
            sounds="bass=0:32 guitar=0:26",
        ),
        _G(
            "dixieland",
            "jazz",
            "drums .75 cymbals .7 bass .5 banjo .8 trumpet .9 trombone .85 clarinet .9 piano .4",
            "160-220",
            "4/4",
            "train",
            "rootfifth",
            "strum oompah",
            "rhythm classic cadence",
            0.95,
            2.0,
            100,
            swing=0.6,
            sounds="bass=0:32",
        ),
        _G(
            "ragtime",
            "jazz",
            "piano .99 banjo .15 drums .1 cymbals .05",
            "90-130",
            "4/4",
            "polka",
            "rootfifth",
            "oompah",
            "rhythm classic",
            0.9,
            3.0,
            85,
        ),
        _G(
            "soul",
            "soul",
            "drums .9 cymbals .85 bass .95 voice .9 organ .45 piano .5 guitar .5 trumpet .35 "
            "saxophone .4 trombone .2",
            "70-110",
            "4/4 6/8",
            "soul",
            "octaves",
            "stabs block",
            "soulful pop gospel doowop",
            0.7,
            1.2,
            88,
            swing=0.2,
            sevenths=True,
            sounds="piano=0:4,0:0",
        ),
        _G(
            "gospel",
            "soul",
            "voice .98 organ .85 piano .75 drums .6 cymbals .55 bass .7",
            "65-120",
            "4/4 6/8",
            "soul",
            "root",
            "block strum",
            "gospel cadence soulful",
            0.85,
            1.2,
            92,
            swing=0.4,
            sounds="organ=0:16,0:17",
        ),
        _G(
            "funk",
            "soul",
            "drums .98 cymbals .95 bass .98 guitar .85 organ .3 synthesizer .2 trumpet .45 "
            "saxophone .45 trombone .3 voice .4",
            "95-120",
            "4/4",
            "funk",
            "octaves",
            "stabs",
            "vamp",
            0.3,
            2.0,
            98,
            scale="dorian",
            sevenths=True,
            sounds="bass=0:33,0:36 guitar=0:27,0:28",
        ),
        _G(
            "disco",
            "electronic",
            "drums .98 cymbals .98 bass .98 violin .5 guitar .45 piano .4 voice .7 "
            "synthesizer .3 trumpet .2",
            "110-130",
            "4/4",
            "four",
            "octaves",
            "stabs strum",
            "pop aeolian vamp",
            0.6,
            1.5,
            98,
            sounds="bass=0:33,0:38",
        ),
        _G(
            "house",
            "electronic",
            "drums .98 cymbals .95 bass .95 piano .6 synthesizer .8 organ .2 voice .4",
            "118-128",
            "4/4",
            "four",
            "octaves",
            "stabs pad",
            "soulful aeolian pop",
            0.5,
            1.0,
            95,
            sounds="bass=0:38,0:39 piano=0:0,0:4",
        ),
        _G(
            "techno",
            "electronic",
            "drums .99 cymbals .97 bass .9 synthesizer .98",
            "125-140",
            "4/4",
            "techno",
            "octaves",
            "arp pad stabs",
            "drone minor",
            0.2,
            2.0,
            100,
            scale="minor",
            sounds="bass=0:38,0:39 synthesizer=0:81,0:87,0:80",
        ),
        _G(
            "trance",
            "electronic",
            "drums .95 cymbals .95 bass .9 synthesizer .99 piano .25 voice .25",
            "128-140",
            "4/4",
            "techno",
            "octaves",
            "arp pad",
            "epic aeolian",
            0.3,
            2.0,
            98,
            sounds="bass=0:38,0:39 synthesizer=0:81,0:90,0:89",
        ),
        _G(
            "dubstep",
            "electronic",
            "drums .98 cymbals .9 bass .95 synthesizer .98 voice .15",
            "135-145",
            "4/4",
            "halftime",
            "sub",
            "stabs pad",
            "dark drone",
            0.1,
            1.5,
            112,
            sounds="bass=0:38,0:39 synthesizer=0:87,0:81",
        ),
        _G(
            "electronic",
            "electronic",
            "drums .85 cymbals .8 bass .85 synthesizer .97 piano .2 voice .2",
            "100-135",
            "4/4",
            "four",
            "octaves",
            "arp pad stabs",
            "aeolian pop drone",
            0.45,
            1.5,
            92,
            sounds="bass=0:38,0:39",
        ),
        _G(
            "synthpop",
            "electronic",
            "drums .95 cymbals .9 bass .9 synthesizer .98 voice .75 guitar .1",
            "105-130",
            "4/4",
            "pop",
            "eighths",
            "stabs arp pad",
            "pop aeolian doowop",
            0.6,
            1.4,
            92,
            sounds="bass=0:38,0:39",
        ),
        _G(
            "hip-hop",
            "hiphop",
            "drums .99 cymbals .9 bass .95 piano .45 synthesizer .4 voice .7 saxophone .1 "
            "violin .1",
            "80-100",
            "4/4",
            "hiphop",
            "sparse",
            "stabs pad",
            "minor aeolian vamp soulful",
            0.35,
            1.5,
            96,
            swing=0.4,
            sounds="bass=0:38,0:33 piano=0:0,0:4",
        ),
        _G(
            "ambient",
            "electronic",
            "synthesizer .98 piano .35 mallet_percussion .25 flute .15 voice .2 cello .1",
            "50-80",
            "4/4 3/4",
            "ballad",
            "sub",
            "pad arp",
            "drone soulful aeolian",
            0.5,
            0.4,
            55,
            sounds="synthesizer=0:88,0:89,0:91,0:95",
        ),
        _G(
            "new age",
            "electronic",
            "synthesizer .85 piano .6 flute .5 mallet_percussion .3 violin .15 voice .2",
            "55-85",
            "4/4 3/4",
            "ballad",
            "sub",
            "pad arp",
            "soulful pop canon",
            0.8,
            0.6,
            60,
            scale="pentatonic",
            sounds="synthesizer=0:88,0:89,0:91",
        ),
        _G(
            "lounge",
            "jazz",
            "piano .8 bass .85 drums .6 cymbals .65 saxophone .4 mallet_percussion .35 "
            "guitar .4 voice .3 organ .2",
            "80-115",
            "4/4",
            "bossa",
            "walking",
            "block stabs",
            "turnaround soulful jazz",
            0.7,
            1.0,
            70,
            swing=0.5,
            sevenths=True,
            sounds="bass=0:32 piano=0:4,0:0 mallet_percussion=0:11",
        ),
        _G(
            "classical",
            "classical",
            "piano .45 violin .7 cello .65 flute .4 clarinet .35 trumpet .15 trombone .1",
            "60-130",
            "4/4 3/4",
            "none",
            "root",
            "arp block",
            "classic cadence canon minor harmonic",
            0.6,
            1.5,
            75,
        ),
        _G(
            "baroque",
            "classical",
            "organ .35 violin .8 cello .8 flute .5 piano .35 trumpet .15",
            "80-130",
            "4/4 3/4",
            "none",
            "walking",
            "arp",
            "canon classic cadence harmonic",
            0.65,
            2.5,
            78,
            sounds="organ=0:19,0:20 piano=0:6",
        ),
        _G(
            "chamber",
            "classical",
            "violin .95 cello .9 piano .5 clarinet .3 flute .3",
            "60-120",
            "4/4 3/4",
            "none",
            "root",
            "arp pad",
            "classic canon minor harmonic",
            0.55,
            1.3,
            70,
        ),
        _G(
            "orchestral",
            "classical",
            "violin .95 cello .9 flute .7 clarinet .6 trumpet .6 trombone .6 "
            "cymbals .3 mallet_percussion .2 piano .1",
            "60-120",
            "4/4 3/4",
            "none",
            "root",
            "pad arp",
            "epic classic cadence minor",
            0.5,
            1.2,
            90,
        ),
        _G(
            "soundtrack",
            "classical",
            "violin .8 cello .8 piano .5 synthesizer .5 trombone .4 trumpet .35 "
            "flute .3 cymbals .3 drums .2 voice .2",
            "60-110",
            "4/4 3/4",
            "ballad",
            "sub",
            "pad arp",
            "epic dark aeolian drone",
            0.35,
            0.9,
            85,
        ),
        _G(
            "opera",
            "classical",
            "voice .99 violin .85 cello .8 flute .4 clarinet .35 trumpet .3 trombone .25 piano .2",
            "60-120",
            "4/4 3/4",
            "none",
            "root",
            "pad arp block",
            "classic cadence minor harmonic",
            0.55,
            1.0,
            88,
            sounds="voice=0:52",
        ),
        _G(
            "choral",
            "classical",
            "voice .99 organ .45 piano .25",
            "55-90",
            "4/4 3/4",
            "none",
            "root",
            "pad block",
            "cadence classic gospel minor",
            0.65,
            0.7,
            70,
            sounds="voice=0:52",
        ),
        _G(
            "march",
            "classical",
            "drums .95 cymbals .8 trumpet .9 trombone .9 clarinet .6 flute .5 "
            "mallet_percussion .3 bass .3",
            "105-125",
            "4/4",
            "march",
            "rootfifth",
            "oompah block",
            "cadence classic oompah",
            0.9,
            1.5,
            105,
            sounds="bass=0:58",
        ),
        _G(
            "waltz",
            "classical",
            "violin .7 piano .6 accordion .3 cello .5 flute .3 clarinet .2 bass .3",
            "85-110",
            "3/4",
            "waltz",
            "root",
            "oompah",
            "classic cadence oompah",
            0.75,
            1.0,
            75,
        ),
        _G(
            "lullaby",
            "classical",
            "piano .5 mallet_percussion .5 flute .3 voice .55 guitar .25",
            "55-75",
            "3/4 6/8",
            "none",
            "root",
            "arp pad",
            "cadence folk",
            0.9,
            0.6,
            50,
            scale="pentatonic",
            sounds="mallet_percussion=0:9,0:8,0:10 guitar=0:24",
        ),
        _G(
            "country",
            "country",
            "guitar .95 bass .9 drums .75 cymbals .7 violin .55 voice .8 piano .3 "
            "banjo .3 mandolin .15",
            "80-130",
            "4/4 3/4",
            "train",
            "rootfifth",
            "strum arp",
            "country folk cadence",
            0.9,
            1.2,
            88,
            sounds="guitar=0:25 violin=0:110 bass=0:33,0:32",
        ),
        _G(
            "bluegrass",
            "country",
            "banjo .95 mandolin .8 guitar .9 violin .85 bass .8 voice .5",
            "120-180",
            "4/4",
            "none",
            "rootfifth",
            "strum arp",
            "country folk cadence",
            0.92,
            2.5,
            92,
            sounds="guitar=0:25 violin=0:110 bass=0:32",
        ),
        _G(
            "folk",
            "country",
            "guitar .95 voice .75 violin .3 flute .2 accordion .15 mandolin .2 banjo .15 "
            "ukulele .1 bass .3",
            "70-120",
            "4/4 3/4 6/8",
            "none",
            "root",
            "strum arp",
            "folk cadence country aeolian",
            0.75,
            1.0,
            72,
            sounds="guitar=0:25,0:24",
        ),
        _G(
            "celtic",
            "country",
            "violin .85 flute .7 accordion .4 guitar .6 mandolin .35 banjo .25 drums .2",
            "100-140",
            "6/8 4/4",
            "jig",
            "root",
            "strum arp",
            "folk mixo cadence aeolian",
            0.7,
            2.5,
            85,
            scale="mixolydian",
            sounds="violin=0:110 guitar=0:25 drums=128:0",
        ),
        _G(
            "cajun",
            "country",
            "accordion .95 violin .85 guitar .75 voice .5 drums .4 cymbals .3 bass .5",
            "110-150",
            "4/4 3/4",
            "train",
            "rootfifth",
            "strum oompah",
            "country folk oompah",
            0.85,
            2.0,
            92,
            sounds="violin=0:110",
        ),
        _G(
            "zydeco",
            "country",
            "accordion .98 drums .85 cymbals .7 bass .8 guitar .6 voice .55",
            "110-150",
            "4/4",
            "train",
            "rootfifth",
            "strum oompah",
            "blues country folk",
            0.8,
            2.0,
            98,
            swing=0.3,
            sounds="accordion=0:21",
        ),
        _G(
            "polka",
            "world",
            "accordion .95 clarinet .5 trumpet .55 trombone .3 drums .6 cymbals .5 bass .6 "
            "banjo .1",
            "110-150",
            "4/4",
            "polka",
            "rootfifth",
            "oompah",
            "oompah cadence",
            0.92,
            2.0,
            95,
        ),
        _G(
            "klezmer",
            "world",
            "clarinet .95 violin .8 accordion .7 bass .5 trumpet .3 trombone .25 drums .35 "
            "cymbals .25",
            "90-160",
            "4/4",
            "polka",
            "rootfifth",
            "oompah stabs",
            "harmonic",
            0.1,
            2.5,
            88,
            scale="phrygian",
        ),
        _G(
            "tango",
            "latin",
            "accordion .95 violin .8 piano .75 bass .8 cello .3",
            "110-130",
            "4/4",
            "none",
            "rootfifth",
            "stabs oompah",
            "harmonic minor andalusian",
            0.15,
            1.5,
            90,
            scale="harmonic",
            sounds="accordion=0:23 bass=0:32",
        ),
        _G(
            "bossa nova",
            "latin",
            "guitar .98 voice .7 drums .6 cymbals .55 bass .7 flute .35 piano .35 saxophone .2",
            "120-145",
            "4/4",
            "bossa",
            "rootfifth",
            "stabs strum",
            "jazz soulful turnaround",
            0.65,
            1.2,
            68,
            sevenths=True,
            sounds="guitar=0:24 bass=0:32",
        ),
        _G(
            "samba",
            "latin",
            "drums .98 guitar .7 ukulele .35 voice .6 flute .3 trumpet .3 bass .5 cymbals .4",
            "90-110",
            "4/4",
            "samba",
            "rootfifth",
            "strum stabs",
            "pop rhythm folk",
            0.75,
            2.0,
            95,
            sounds="guitar=0:24",
        ),
        _G(
            "salsa",
            "latin",
            "drums .98 piano .85 bass .9 trumpet .75 trombone .7 voice .7 saxophone .25 cymbals .4",
            "160-210",
            "4/4",
            "salsa",
            "sparse",
            "arp stabs",
            "harmonic folk minor",
            0.45,
            2.0,
            100,
            sounds="bass=0:32,0:33",
        ),
        _G(
            "cumbia",
            "latin",
            "accordion .8 drums .95 bass .85 guitar .5 voice .6 flute .3 trumpet .2",
            "85-105",
            "4/4",
            "latin",
            "rootfifth",
            "offbeat strum",
            "folk oompah minor",
            0.55,
            1.5,
            90,
        ),
        _G(
            "mariachi",
            "latin",
            "trumpet .95 violin .95 guitar .95 voice .7 bass .6",
            "90-180",
            "3/4 6/8 4/4",
            "none",
            "rootfifth",
            "oompah strum",
            "cadence oompah harmonic",
            0.8,
            1.8,
            98,
            sounds="guitar=0:24,0:25 bass=0:32",
        ),
        _G(
            "flamenco",
            "latin",
            "guitar .99 voice .6 drums .25",
            "90-160",
            "3/4 6/8",
            "none",
            "root",
            "strum",
            "andalusian",
            0.0,
            3.0,
            90,
            scale="phrygian",
            sounds="guitar=0:24 drums=128:0",
        ),
        _G(
            "reggae",
            "reggae",
            "drums .95 cymbals .85 bass .98 guitar .85 organ .6 voice .7 piano .2 trumpet .15",
            "65-90",
            "4/4",
            "onedrop",
            "sparse",
            "offbeat",
            "pop folk aeolian minor",
            0.55,
            0.9,
            85,
            swing=0.3,
            sounds="bass=0:33",
        ),
        _G(
            "ska",
            "reggae",
            "drums .95 cymbals .9 bass .95 guitar .9 trumpet .6 trombone .55 saxophone .5 "
            "organ .3 voice .55",
            "140-180",
            "4/4",
            "ska",
            "walking",
            "offbeat",
            "pop cadence folk",
            0.8,
            1.6,
            100,
        ),
        _G(
            "hawaiian",
            "world",
            "ukulele .95 guitar .7 voice .6 bass .4 mallet_percussion .2",
            "70-110",
            "4/4 3/4",
            "none",
            "rootfifth",
            "strum arp",
            "folk pop cadence",
            0.95,
            1.0,
            70,
            sounds="guitar=0:25,0:24",
        ),
    )
}

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


# --- seeded randomness (stable across Python versions: only random() is used) ---------------


class _Rng:
    """Every draw comes from random.Random.random(), whose sequence Python guarantees stable."""

    def __init__(self, seed: int, index: int, salt: str = "") -> None:
        self._r = random.Random(f"zsl-synth:{seed}:{index}:{salt}")

    def random(self) -> float:
        return self._r.random()

    def chance(self, p: float) -> bool:
        return self._r.random() < p

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self._r.random()

    def integer(self, low: int, high: int) -> int:
        """Uniform in [low, high], both included."""
        return low + min(high - low, int(self._r.random() * (high - low + 1)))

    def choice(self, items: Sequence[Any]) -> Any:
        return items[min(len(items) - 1, int(self._r.random() * len(items)))]

    def weighted(self, items: Sequence[Any], weights: Sequence[float]) -> Any:
        total = sum(weights)
        point, acc = self._r.random() * total, 0.0
        for item, weight in zip(items, weights):
            acc += weight
            if point < acc:
                return item
        return items[-1]


# --- composing one song ---------------------------------------------------------------------


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


def _chords(
    progression: str, key: int, mode: str, sevenths: bool
) -> list[tuple[int, tuple[int, ...]]]:
    """Roman numerals -> (root pitch class, chord intervals) per bar."""
    scale = MAJOR if mode == "major" else MINOR
    numerals = ("VII", "III", "VI", "IV", "II", "V", "I")
    out = []
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


def _progression_mode(name: str) -> str:
    first = PROGRESSIONS[name].split()[0].lstrip("b#")
    return "major" if first[0].isupper() else "minor"


def _pitch_near(pitch_class: int, target: int, low: int, high: int) -> int:
    """The pitch of `pitch_class` closest to `target`, kept inside [low, high]."""
    best = target - ((target - pitch_class) % 12)
    if target - best > 6:
        best += 12
    while best < low:
        best += 12
    while best > high:
        best -= 12
    return best


def _voicing(root: int, intervals: Sequence[int], centre: int, low: int, high: int) -> list[int]:
    base = _pitch_near(root, centre - 5, low, high)
    notes = sorted({base + i for i in intervals})
    return [n if n <= high else n - 12 for n in notes]


class _Composer:
    """Writes the notes of every part of a song from a genre recipe and one seeded Rng."""

    def __init__(
        self, song: Song, rng: _Rng, chords: list[tuple[int, tuple[int, ...]]], bars: int
    ) -> None:
        self.song, self.rng, self.chords, self.bars = song, rng, chords, bars
        self.m = METRES[song.metre]
        self.bar_ticks = self.m.beats * self.m.ticks_per_beat
        self.step = self.m.ticks_per_beat // self.m.steps_per_beat
        self.human = 0 if song.genre.family == "electronic" else 8

    def chord(self, bar: int) -> tuple[int, tuple[int, ...]]:
        return self.chords[bar % len(self.chords)]

    def at(self, bar: int, step: int) -> int:
        """Tick of a grid step in a bar, with swing on the off-beat eighths (simple metres)."""
        tick = bar * self.bar_ticks + step * self.step
        if self.m.steps_per_beat == 4 and step % 4 == 2:
            tick += int(self.song.genre.swing * self.m.ticks_per_beat / 6)
        elif self.m.steps_per_beat == 4 and step % 2 == 1:
            tick += int(self.song.genre.swing * self.m.ticks_per_beat / 12)
        return tick

    def jitter(self, tick: int) -> int:
        return max(0, tick + (self.rng.integer(-self.human, self.human) if self.human else 0))

    def velocity(self, base: int, accent: int = 0) -> int:
        return _clip7(base + accent + self.rng.integer(-6, 6))

    # each role
    def drums(self, part: Part, cymbals: bool) -> None:
        name = self.song.groove
        pattern = GROOVES.get(name, {})
        steps = self.m.beats * self.m.steps_per_beat
        if not pattern or len(next(iter(pattern.values()))) != steps:
            pattern = GROOVES[METRE_GROOVE.get(self.song.metre, "rock")]
        base = self.song.loudness
        for bar in range(self.bars):
            fill = bar % 4 == 3 and not cymbals and self.rng.chance(0.5)
            for piece, row in pattern.items():
                if (piece in CYMBAL_PIECES) != cymbals:
                    continue
                for step, mark in enumerate(row):
                    if mark == "." or (fill and step >= steps - self.m.steps_per_beat):
                        continue
                    if piece == "crash" and bar % 4 and step == 0:
                        continue
                    accent = {"X": 15, "x": 0, "o": -35}[mark]
                    part.notes.append(
                        (
                            self.jitter(self.at(bar, step)),
                            DRUM_NOTES[piece],
                            self.velocity(base, accent),
                            self.step,
                        )
                    )
            if fill:
                for i, step in enumerate(range(steps - self.m.steps_per_beat, steps)):
                    part.notes.append(
                        (
                            self.at(bar, step),
                            (50, 47, 45, 41)[i % 4],
                            self.velocity(base, 5),
                            self.step,
                        )
                    )
            if cymbals and bar % 4 == 0 and "crash" not in pattern:
                part.notes.append(
                    (self.at(bar, 0), DRUM_NOTES["crash"], self.velocity(base, 5), self.bar_ticks)
                )

    def bass(self, part: Part, voice: Voice) -> None:
        style, beat = self.song.genre.bass, self.m.ticks_per_beat
        base = self.song.loudness + 5
        for bar in range(self.bars):
            root, intervals = self.chord(bar)
            nxt = self.chord(bar + 1)[0]
            r = _pitch_near(root, 38, voice.low, voice.high)
            fifth = r + 7 if r + 7 <= voice.high else r - 5
            start = bar * self.bar_ticks
            if style == "walking":  # root, third, fifth, a step off the next root
                approach = _pitch_near(nxt, r, voice.low, voice.high) + self.rng.choice((-1, 1))
                line = [r, r + intervals[1], fifth, approach]
                for i in range(self.m.beats):
                    part.notes.append(
                        (self.jitter(start + i * beat), line[i % 4], self.velocity(base), beat - 20)
                    )
            elif style == "rootfifth":  # root/fifth on the beats; a waltz bass only on the downbeat
                for i in range(1 if self.song.metre == "3/4" else self.m.beats):
                    pitch = r if i % 2 == 0 else fifth
                    velocity = self.velocity(base, 5 if i == 0 else 0)
                    part.notes.append((self.jitter(start + i * beat), pitch, velocity, beat // 2))
            elif style == "eighths":
                for i in range(self.m.beats * 2):
                    velocity = self.velocity(base, 8 if i % 2 == 0 else 0)
                    part.notes.append(
                        (self.jitter(start + i * beat // 2), r, velocity, beat // 2 - 20)
                    )
            elif style == "octaves":
                for i in range(self.m.beats * 2):
                    pitch = r + 12 if i % 2 else r
                    part.notes.append(
                        (
                            self.jitter(self.at(bar, i * 2)),
                            pitch,
                            self.velocity(base),
                            beat // 2 - 30,
                        )
                    )
            elif style == "sparse":
                for step in (0, 3, 6, 10):
                    if step < self.m.beats * self.m.steps_per_beat and (
                        step == 0 or self.rng.chance(0.6)
                    ):
                        pitch = r if step in (0, 10) else self.rng.choice((r, fifth, r + 12))
                        part.notes.append(
                            (
                                self.jitter(self.at(bar, step)),
                                pitch,
                                self.velocity(base),
                                self.step * 3,
                            )
                        )
            elif style == "sub":
                part.notes.append((start, r, self.velocity(base - 10), self.bar_ticks - 10))
            else:  # root: one note a beat pair
                half = max(1, self.m.beats // 2)
                for i in range(0, self.m.beats, half):
                    part.notes.append(
                        (self.jitter(start + i * beat), r, self.velocity(base), half * beat - 30)
                    )

    def comp(self, part: Part, voice: Voice, style: str) -> None:
        beat, base = self.m.ticks_per_beat, self.song.loudness - 12
        centre = (voice.low + voice.high) // 2
        power = part.instrument == "guitar" and part.program in DISTORTED_GUITARS
        for bar in range(self.bars):
            root, intervals = self.chord(bar)
            if power:  # distorted guitar plays power chords (root, fifth, octave), low
                low = _pitch_near(root, 45, 40, 57)
                notes = [low, low + 7, low + 12]
            else:
                notes = _voicing(root, intervals, centre, voice.low, voice.high)
            start = bar * self.bar_ticks
            if style == "block":
                for n in notes:
                    part.notes.append(
                        (self.jitter(start), n, self.velocity(base), self.bar_ticks - 40)
                    )
            elif style == "pad":
                for n in notes:
                    part.notes.append((start, n, self.velocity(base - 15), self.bar_ticks))
            elif style == "strum":
                for i in range(self.m.beats * 2):
                    if i % 2 and self.rng.chance(0.4):
                        continue
                    t = self.at(bar, i * self.m.steps_per_beat // 2)
                    v = self.velocity(base, 8 if i % 2 == 0 else -8)
                    for k, n in enumerate(notes if i % 2 == 0 else reversed(notes)):
                        part.notes.append((self.jitter(t) + 12 * k, n, v, beat // 2))
            elif style == "arp":
                steps = self.m.beats * self.m.steps_per_beat
                every = 2 if self.song.tempo > 100 or self.m.steps_per_beat == 3 else 1
                order = notes + [notes[-2]] if len(notes) > 2 else notes
                for j, step in enumerate(range(0, steps, every)):
                    part.notes.append(
                        (
                            self.jitter(self.at(bar, step)),
                            order[j % len(order)],
                            self.velocity(base),
                            self.step * every + 20,
                        )
                    )
            elif style == "offbeat":
                for i in range(self.m.beats):
                    t = start + i * beat + beat // 2
                    for n in notes:
                        part.notes.append((self.jitter(t), n, self.velocity(base), beat // 4))
            elif style == "oompah":  # low note on the strong beats, chord on the weak ones
                low = _pitch_near(root, voice.low + 4, voice.low, voice.high)
                fifth = low + 7 if low + 7 <= voice.high else low - 5
                for i in range(self.m.beats):
                    t = start + i * beat
                    strong = i == 0 if self.m.beats == 3 else i % 2 == 0
                    if strong:
                        pitch = low if i == 0 else fifth
                        part.notes.append(
                            (self.jitter(t), pitch, self.velocity(base, 5), beat // 2)
                        )
                    else:
                        for n in notes:
                            part.notes.append((self.jitter(t), n, self.velocity(base), beat // 3))
            else:  # stabs: short syncopated chords
                for step in (0, 3, 6, 10, 14):
                    if step < self.m.beats * self.m.steps_per_beat and self.rng.chance(
                        0.7 if step else 1
                    ):
                        t = self.at(bar, step)
                        for n in notes:
                            part.notes.append(
                                (self.jitter(t), n, self.velocity(base), self.step * 2)
                            )

    def melody(self, part: Part, voice: Voice, density: float, velocity: int) -> None:
        """Phrased melody: 2-bar motifs A and B in an A A B A pattern, fitted to each bar's chord."""
        genre, song = self.song.genre, self.song
        scale_name = genre.scale or song.mode
        if song.mode == "major" and scale_name in (
            "minor",
            "harmonic",
            "dorian",
            "phrygian",
            "minorpenta",
        ):
            scale_name = "major"
        if song.mode == "minor" and scale_name in ("major", "mixolydian", "pentatonic"):
            scale_name = "minorpenta" if scale_name == "pentatonic" else "minor"
        scale = SCALES[scale_name]
        pitches = [p for p in range(voice.low, voice.high + 1) if (p - song.key) % 12 in scale]
        steps = self.m.beats * self.m.steps_per_beat
        p_onset = min(0.95, density / self.m.steps_per_beat)

        def motif() -> list[tuple[int, int]]:  # (step in 2 bars, scale move)
            out = []
            for s in range(steps * 2):
                strong = s % self.m.steps_per_beat == 0
                if self.rng.chance(p_onset * (1.6 if strong else 0.7)) or s == 0:
                    out.append((s, self.rng.weighted((-2, -1, 0, 1, 2, 3), (1, 3, 1, 3, 1.2, 0.5))))
            return out

        motifs = [motif(), motif()]
        form = (0, 0, 1, 0)
        index = len(pitches) // 2
        for phrase in range(0, self.bars, 2):
            shape = motifs[form[(phrase // 2) % 4]]
            for j, (s, move) in enumerate(shape):
                bar = phrase + s // steps
                if bar >= self.bars:
                    break
                index = max(0, min(len(pitches) - 1, index + move))
                pitch = pitches[index]
                root, intervals = self.chord(bar)
                if s % self.m.steps_per_beat == 0 and self.rng.chance(0.7):
                    tones = [(root + i) % 12 for i in intervals]
                    near = [p for p in pitches if p % 12 in tones]
                    if near:
                        pitch = min(near, key=lambda p: abs(p - pitch))
                        index = pitches.index(pitch)
                nxt = shape[j + 1][0] if j + 1 < len(shape) else steps * 2
                length = (nxt - s) * self.step - 15
                accent = 8 if s % (steps // max(1, self.m.beats // 2 or 1)) == 0 else 0
                part.notes.append(
                    (
                        self.jitter(self.at(phrase, s)),
                        pitch,
                        self.velocity(velocity, accent),
                        max(self.step // 2, length),
                    )
                )
            if self.rng.chance(0.25):
                index = len(pitches) // 2 + self.rng.integer(-2, 2)

    def pad(self, part: Part, voice: Voice) -> None:
        """Sustained chord tones, one voice of the chord, changing per bar (strings, choir, brass)."""
        centre = (voice.low + voice.high) // 2
        pick = self.rng.integer(0, 2)
        for bar in range(self.bars):
            root, intervals = self.chord(bar)
            tone = (root + intervals[pick % len(intervals)]) % 12
            pitch = _pitch_near(tone, centre, voice.low, voice.high)
            velocity = self.velocity(self.song.loudness - 20)
            part.notes.append((bar * self.bar_ticks, pitch, velocity, self.bar_ticks - 10))


def _available(
    voice: Voice, genre: Genre, instrument: str, presets: frozenset[tuple[int, int]] | None
) -> tuple[tuple[int, int], ...]:
    options = genre.sounds.get(instrument, voice.presets)
    if presets is None:
        return options
    found = tuple(p for p in options if p in presets) or tuple(
        p for p in voice.presets if p in presets
    )
    return found


def _lead_weight(instrument: str, genre: Genre) -> float:
    """Distorted guitar is the rhythm section (power-chord riffs), never the melody."""
    heavy = instrument == "guitar" and all(
        p[1] in DISTORTED_GUITARS for p in genre.sounds.get("guitar", ((0, 0),))
    )
    return 0.0 if heavy else VOICES[instrument].lead_weight


def compose(
    seed: int,
    index: int,
    seconds: float = DEFAULT_SECONDS,
    presets: frozenset[tuple[int, int]] | None = None,
) -> Song:
    """Track `index` of the corpus made with `seed`: genre, arrangement and every note.

    `presets` is the soundfont's (bank, program) list; instruments it cannot play are not
    used (None: assume a complete General MIDI soundfont such as FluidR3_GM).
    """
    rng = _Rng(seed, index)
    names = sorted(GENRES)
    genre = GENRES[rng.choice(names)]
    metre = rng.choice(genre.metres)
    tempo = rng.integer(*genre.tempo)
    if metre == "6/8":  # same eighth-note rate; the beat is a dotted quarter
        tempo = max(30, round(tempo * 2 / 3))
    majors = [p for p in genre.progressions if _progression_mode(p) == "major"]
    minors = [p for p in genre.progressions if _progression_mode(p) == "minor"]
    mode = "major" if (rng.chance(genre.major) and majors) or not minors else "minor"
    progression = rng.choice(majors if mode == "major" else minors)
    key = rng.integer(0, 11)
    loudness = _clip7(genre.loudness + rng.integer(-10, 10))
    groove = genre.groove if genre.groove in GROOVES else "ballad"

    # which instruments play: each by its genre probability, at most 8 melodic ones, at least one
    playing = [
        i
        for i in INSTRUMENTS
        if rng.chance(genre.probability(i)) and _available(VOICES[i], genre, i, presets)
    ]
    melodic = [i for i in playing if i not in ("drums", "cymbals")]
    if not melodic:
        candidates = [
            i
            for i in INSTRUMENTS
            if i not in ("drums", "cymbals")
            and genre.probability(i) > 0
            and _available(VOICES[i], genre, i, presets)
        ]
        if candidates:
            pick = rng.weighted(candidates, [genre.probability(i) for i in candidates])
            playing.append(pick)
            melodic = [pick]
    if len(melodic) > 8:
        ranked = sorted(melodic, key=lambda i: -genre.probability(i) * rng.uniform(0.5, 1.0))
        drop = set(ranked[8:])
        playing = [i for i in playing if i not in drop]
        melodic = [i for i in melodic if i not in drop]
    playing = [i for i in INSTRUMENTS if i in playing]

    # roles: one lead (a second with some chance), bass plays bass, the rest accompany
    leads: list[str] = []
    for _ in range(2 if rng.chance(0.35) else 1):
        options = [
            i
            for i in melodic
            if "lead" in VOICES[i].roles and i not in leads and _lead_weight(i, genre) > 0
        ]
        if options:
            leads.append(rng.weighted(options, [_lead_weight(i, genre) for i in options]))
    parts: list[Part] = []
    channels = iter([c for c in range(16) if c != 9])
    for inst in playing:
        voice = VOICES[inst]
        bank, program = rng.choice(_available(voice, genre, inst, presets))
        if inst in ("drums", "cymbals"):
            parts.append(Part(inst, inst, 9, bank, program, 100))
            continue
        if inst in leads:
            role = "lead" if inst == leads[0] else "counter"
        elif inst == "bass":
            role = "bass"
        else:
            roles = [r for r in voice.roles if r in ("comp", "pad")] or ["pad"]
            role = rng.choice(roles)
            if role == "comp":
                styles = [
                    s for s in genre.comp if not (s == "oompah" and inst in ("guitar", "ukulele"))
                ]
                role = "comp:" + rng.choice(styles or ["block"])
        volume = {"lead": 110, "counter": 90, "bass": 105, "pad": 72}.get(role, 85)
        parts.append(Part(inst, role, next(channels), bank, program, volume))

    song = Song(
        genre,
        tempo,
        metre,
        key,
        mode,
        progression,
        groove,
        seconds,
        parts,
        loudness,
        reverb=_clip7(
            40 + (100 - loudness) + (30 if genre.family in ("classical", "electronic") else 0)
        ),
    )
    chords = _chords(progression, key, mode, genre.sevenths)
    bar_seconds = METRES[metre].beats * 60.0 / tempo
    bars = int(math.ceil(seconds / bar_seconds)) + 1
    composer = _Composer(song, rng, chords, bars)
    density = genre.density * rng.uniform(0.7, 1.3)
    for part in parts:
        voice = VOICES[part.instrument]
        if part.role in ("drums", "cymbals"):
            composer.drums(part, cymbals=part.role == "cymbals")
        elif part.role == "bass":
            composer.bass(part, voice)
        elif part.role == "lead":
            composer.melody(part, voice, density, loudness + 5)
        elif part.role == "counter":
            composer.melody(part, voice, density * 0.5, loudness - 5)
        elif part.role == "pad":
            composer.pad(part, voice)
        else:
            composer.comp(part, voice, part.role.split(":", 1)[1])
    return song


def song_midi(song: Song) -> bytes:
    """The song as a format 1 Standard MIDI File (track 1: tempo map; one track per part)."""
    metre = METRES[song.metre]
    us_per_quarter = round(60_000_000 / song.tempo * TICKS_PER_QUARTER / metre.ticks_per_beat)
    conductor = MidiTrack(name=f"{song.genre.name} {song.tempo} bpm {song.metre}")
    conductor.tempo(0, us_per_quarter)
    conductor.time_signature(0, metre.numerator, metre.denominator)
    sharps = (
        ((song.key * 7 + 6) % 12) - 6
        if song.mode == "major"
        else (((song.key + 3) * 7 + 6) % 12) - 6
    )
    conductor.key_signature(0, sharps, song.mode == "minor")
    end = int(math.ceil((song.seconds + 0.5) / song.seconds_per_tick))
    tracks = [conductor]
    for part in song.parts:
        track = MidiTrack(name=part.instrument)
        if part.channel != 9:
            track.program(0, part.channel, part.program, part.bank)
        track.control(0, part.channel, 7, part.volume)
        track.control(0, part.channel, 91, song.reverb)
        for tick, pitch, velocity, duration in part.notes:
            if tick < end:
                track.note(tick, part.channel, pitch, velocity, min(duration, end - tick))
        tracks.append(track)
    return write_midi(tracks, TICKS_PER_QUARTER, end_tick=end)


# --- labels -----------------------------------------------------------------------------------


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


def genre_labels(song: Song, playing: Iterable[str], rng: _Rng) -> list[str]:
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


def mood_labels(character: dict[str, float], rng: _Rng) -> list[str]:
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
    playing: Iterable[str], rng: _Rng, annotated: float = 0.6, noise: float = 0.05
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
    rng = _Rng(seed, index, "labels")
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


# --- soundfont and FluidSynth --------------------------------------------------------------------


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


def find_fluidsynth() -> str:
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise SynthError(f"fluidsynth not found on PATH ({INSTALL_HINT})")
    return exe


def fluidsynth_version(exe: str) -> str:
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise SynthError(f"cannot run {exe}: {exc}") from None
    return out.splitlines()[0].strip() if out.strip() else "unknown"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def render(
    midi_path: Path,
    out_path: Path,
    soundfont: Path,
    seconds: float,
    exe: str,
    gain: float = DEFAULT_GAIN,
    sample_rate: int = SAMPLE_RATE,
) -> None:
    """Render one MIDI file with FluidSynth to mono FLAC of exactly `seconds` (atomic write)."""
    import numpy as np
    import soundfile

    with tempfile.TemporaryDirectory(prefix="zsl-synth-") as tmp:
        raw = Path(tmp) / "out.raw"
        cmd = [
            exe,
            "-ni",
            "-q",
            "-o",
            "synth.dynamic-sample-loading=1",
            "-T",
            "raw",
            "-O",
            "s16",
            "-E",
            "little",
            "-r",
            str(sample_rate),
            "-g",
            f"{gain:g}",
            "-F",
            str(raw),
            str(soundfont),
            str(midi_path),
        ]
        try:
            done = subprocess.run(cmd, capture_output=True, timeout=max(60.0, seconds * 10))
        except subprocess.TimeoutExpired:
            raise SynthError(f"{midi_path.name}: fluidsynth timed out") from None
        if done.returncode != 0 or not raw.is_file():
            message = (done.stderr or done.stdout).decode("utf-8", "replace").strip().splitlines()
            raise SynthError(
                f"{midi_path.name}: fluidsynth failed ({message[-1] if message else done.returncode})"
            )
        stereo = np.fromfile(raw, dtype="<i2")
    stereo = stereo[: len(stereo) // 2 * 2].reshape(-1, 2).astype(np.float32)
    mono = stereo.mean(axis=1) / 32768.0
    length = int(round(seconds * sample_rate))
    audio = np.zeros(length, np.float32)
    audio[: min(length, len(mono))] = mono[:length]
    fade = min(len(audio), int(0.05 * sample_rate))
    if fade:
        audio[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    peak = float(np.abs(audio).max()) if len(audio) else 0.0
    if peak < 1e-4:
        raise SynthError(f"{midi_path.name}: fluidsynth rendered silence")
    # a light "mastering": lift very soft clips to -30 dBFS RMS (soft playing still sounds soft),
    # and never clip
    rms = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2)))
    gain_up = min(10 ** (-30 / 20) / max(rms, 1e-9), 0.99 / peak) if rms < 10 ** (-30 / 20) else 1.0
    audio *= max(gain_up, 1.0)
    peak = float(np.abs(audio).max())
    if peak > 0.99:
        audio *= 0.99 / peak
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = out_path.with_name(f".{out_path.name}.tmp")
    soundfile.write(tmp_out, audio, sample_rate, format="FLAC", subtype="PCM_16")
    os.replace(tmp_out, out_path)


# --- the corpus ------------------------------------------------------------------------------------


@dataclass
class CorpusReport:
    out: Path
    tracks: int = 0
    rendered: int = 0
    reused: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> str:
        rate = self.tracks / self.seconds * 60 if self.seconds else 0.0
        text = (
            f"synth: {self.tracks - len(self.failed)} of {self.tracks} track(s) in {self.out} "
            f"({self.rendered} rendered, {self.reused} already there) in {self.seconds:.1f} s "
            f"({rate:.0f} tracks/min)"
        )
        if self.failed:
            first = next(iter(self.failed.items()))
            text += f"; failed {len(self.failed)} (e.g. {first[0]}: {first[1]})"
        return text


def _parameters(
    seed: int, tracks: int, seconds: float, sample_rate: int, gain: float
) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "seed": seed,
        "tracks": tracks,
        "seconds": seconds,
        "sample_rate": sample_rate,
        "gain": gain,
    }


def _check_folder(out: Path, params: dict[str, Any], soundfont_hash: str) -> None:
    """Refuse to mix two different corpora in one folder; same parameters = resume."""
    info = out / "corpus.json"
    if not info.is_file():
        if out.is_dir() and any(p for p in (out / "audio", out / "manifest.jsonl") if p.exists()):
            raise SynthError(
                f"{out}: holds audio or a manifest but no corpus.json; choose an empty --out folder"
            )
        return
    try:
        old = json.loads(info.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SynthError(f"{info}: unreadable ({exc}); choose another --out folder") from None
    same = {k: old.get("parameters", {}).get(k) for k in params if k != "tracks"} == {
        k: v for k, v in params.items() if k != "tracks"
    }
    if not same or old.get("soundfont", {}).get("sha256") != soundfont_hash:
        raise SynthError(
            f"{out}: holds a corpus made with other parameters or another soundfont "
            f"({info.name}); choose another --out folder"
        )


def _valid_audio(path: Path, seconds: float, sample_rate: int) -> bool:
    import soundfile

    try:
        info = soundfile.info(str(path))
    except Exception:  # noqa: BLE001 - any unreadable file is simply rendered again
        return False
    return info.samplerate == sample_rate and info.frames == int(round(seconds * sample_rate))


def make_corpus(
    out: str | Path,
    tracks: int,
    seed: int = 0,
    seconds: float = DEFAULT_SECONDS,
    soundfont: str | Path | None = None,
    workers: int | None = None,
    gain: float = DEFAULT_GAIN,
    progress: Callable[[str], None] | None = None,
) -> CorpusReport:
    """Compose, label and render `tracks` tracks into `out` (resumable; see the module docstring).

    A track whose rendering fails is left out of the manifests and counted in the report; the
    corpus as a whole only fails (SynthError) when FluidSynth or the soundfont is unusable.
    """
    from zsl_core.datasets import Track, write_manifest

    if tracks < 1:
        raise SynthError("--tracks must be at least 1")
    if not 1.0 <= seconds <= 600.0:
        raise SynthError("--seconds must be between 1 and 600")
    if not 0.0 < gain <= 10.0:
        raise SynthError("--gain must be in (0, 10]")
    exe = find_fluidsynth()
    sf2 = find_soundfont(soundfont)
    presets = soundfont_presets(sf2)
    out = Path(out)
    started = time.monotonic()
    sf_hash = file_sha256(sf2)
    params = _parameters(seed, tracks, seconds, SAMPLE_RATE, gain)
    _check_folder(out, params, sf_hash)
    out.mkdir(parents=True, exist_ok=True)
    report = CorpusReport(out=out, tracks=tracks)
    workers = max(1, workers or os.cpu_count() or 1)

    def one(index: int) -> tuple[TrackPlan, str | None, bool]:
        plan = plan_track(seed, index, seconds, presets)
        midi = out / "midi" / plan.id[:3] / f"{plan.id}.mid"
        audio = out / "audio" / plan.id[:3] / f"{plan.id}.flac"
        midi.parent.mkdir(parents=True, exist_ok=True)
        if not midi.is_file() or midi.read_bytes() != plan.midi:
            midi.write_bytes(plan.midi)
        elif _valid_audio(audio, seconds, SAMPLE_RATE):
            return plan, None, True
        try:
            render(midi, audio, sf2, seconds, exe, gain)
        except SynthError as exc:
            return plan, str(exc), False
        return plan, None, False

    plans: list[TrackPlan] = []
    step = max(1, tracks // 10)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for done, (plan, error, reused) in enumerate(pool.map(one, range(tracks)), 1):
            if error:
                report.failed[plan.id] = error
            else:
                plans.append(plan)
                report.reused += reused
                report.rendered += not reused
            if progress and (done % step == 0 or done == tracks):
                progress(f"synth: {done}/{tracks} tracks")

    def manifest(with_moods: bool) -> list[Track]:
        return [
            Track(
                id=p.id,
                path=out / "audio" / p.id[:3] / f"{p.id}.flac",
                tags=p.genres + ([m for m in p.moods if m not in p.genres] if with_moods else []),
                attributes=p.attributes,
                meta=p.meta(),
            )
            for p in plans
        ]

    write_manifest(out / "manifest.jsonl", manifest(True))
    write_manifest(out / "genres.jsonl", manifest(False))
    rows = "".join(f"{g},{i},{v:g}\n" for g, i, v in genre_attribute_rows())
    (out / "genres.csv").write_text("label,attribute,value\n" + rows, encoding="utf-8")
    report.seconds = time.monotonic() - started
    _write_info(out, params, sf2, sf_hash, exe, presets, report)
    return report


def _write_info(
    out: Path,
    params: dict[str, Any],
    sf2: Path,
    sf_hash: str,
    exe: str,
    presets: frozenset[tuple[int, int]],
    report: CorpusReport,
) -> None:
    import numpy as np
    import soundfile

    try:
        from importlib.metadata import version

        zsl_version = version("zsl-tagger")
    except Exception:  # noqa: BLE001 - running from a source tree that was not installed
        zsl_version = "unknown"

    unplayable = sorted(i for i in INSTRUMENTS if not any(p in presets for p in VOICES[i].presets))
    info = {
        "generator": "zsl-core synth",
        "parameters": params,
        "soundfont": {
            "path": str(sf2),
            "sha256": sf_hash,
            "bytes": sf2.stat().st_size,
            "unplayable_instruments": unplayable,
        },
        "versions": {
            "zsl_core": zsl_version,
            "fluidsynth": fluidsynth_version(exe),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "soundfile": soundfile.__version__,
            "libsndfile": soundfile.__libsndfile_version__,
        },
        "files": {
            "audio": "audio/NNN/ID.flac (mono, 16-bit FLAC)",
            "midi": "midi/NNN/ID.mid",
            "manifest": "manifest.jsonl (tags: genres + moods)",
            "genres_manifest": "genres.jsonl (tags: genres only)",
            "attributes": "genres.csv (label,attribute,value: recipe instrument probabilities)",
        },
        "instruments": list(INSTRUMENTS),
        "genres": {
            g.name: {
                "family": g.family,
                "instruments": g.instruments,
                "tempo": list(g.tempo),
                "metres": list(g.metres),
                "groove": g.groove,
                "major": g.major,
                "progressions": list(g.progressions),
            }
            for g in GENRES.values()
        },
        "moods": {k: list(v) for k, v in MOODS.items()},
        "result": {
            "rendered": report.rendered,
            "reused": report.reused,
            "failed": report.failed,
            "elapsed_s": round(report.seconds, 2),
        },
    }
    text = json.dumps(info, indent=1, sort_keys=False) + "\n"
    tmp = out / ".corpus.json.tmp"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, out / "corpus.json")


# --- command line ------------------------------------------------------------------------------


def cmd_synth(args: argparse.Namespace) -> int:
    report = make_corpus(
        args.out,
        args.tracks,
        seed=args.seed,
        seconds=args.seconds,
        soundfont=args.soundfont,
        workers=args.workers,
        gain=args.gain,
        progress=None if args.quiet else (lambda line: print(line, file=sys.stderr)),
    )
    print(report.summary())
    print(f"wrote {Path(args.out) / 'manifest.jsonl'}")
    if report.failed:
        return 2 if len(report.failed) == report.tracks else 1
    return 0


def add_command(sub: Any, add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Register `zsl-core synth` on the CLI's subparsers."""
    p = sub.add_parser(
        "synth",
        help="render a synthetic labelled corpus (FluidSynth + General MIDI soundfont): "
        "genres, moods, OpenMIC-style instruments",
    )
    p.add_argument("--out", required=True, help="corpus folder to write (resumable)")
    p.add_argument("--tracks", type=int, required=True, help="number of tracks")
    p.add_argument(
        "--seed", type=int, default=0, help="same seed -> same labels and MIDI (default 0)"
    )
    p.add_argument(
        "--soundfont", default=None, help=f"SF2 file (default: {SOUNDFONT_CANDIDATES[0]})"
    )
    p.add_argument(
        "--seconds",
        type=float,
        default=DEFAULT_SECONDS,
        help="clip length (default 10, like OpenMIC)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="parallel FluidSynth processes (default: CPU count)",
    )
    p.add_argument(
        "--gain", type=float, default=DEFAULT_GAIN, help="FluidSynth master gain (default 0.6)"
    )
    p.add_argument("--quiet", action="store_true")
    add_common(p)
    p.set_defaults(func=cmd_synth)
