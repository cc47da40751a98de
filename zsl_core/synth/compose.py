"""Composing one song from a genre recipe: instruments and roles, then every part's notes
(drums and cymbals, bass line, accompaniment, phrased melody, pads), and its MIDI bytes."""

from __future__ import annotations

import math

from zsl_core.synth.drums import CYMBAL_PIECES, DRUM_NOTES, GROOVES, METRE_GROOVE
from zsl_core.synth.instruments import DISTORTED_GUITARS, INSTRUMENTS, VOICES, Voice
from zsl_core.synth.midi import TICKS_PER_QUARTER, MidiTrack, clip7, write_midi
from zsl_core.synth.recipes import GENRES, Genre
from zsl_core.synth.rng import Rng
from zsl_core.synth.song import Part, Song
from zsl_core.synth.theory import (
    METRES,
    SCALES,
    pitch_near,
    progression_chords,
    progression_mode,
    voicing,
)

DEFAULT_SECONDS = 10.0  # OpenMIC-2018 clips are 10 s


class _Composer:
    """Writes the notes of every part of a song from a genre recipe and one seeded Rng."""

    def __init__(
        self, song: Song, rng: Rng, chords: list[tuple[int, tuple[int, ...]]], bars: int
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
        return clip7(base + accent + self.rng.integer(-6, 6))

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
            r = pitch_near(root, 38, voice.low, voice.high)
            fifth = r + 7 if r + 7 <= voice.high else r - 5
            start = bar * self.bar_ticks
            if style == "walking":  # root, third, fifth, a step off the next root
                approach = pitch_near(nxt, r, voice.low, voice.high) + self.rng.choice((-1, 1))
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
                low = pitch_near(root, 45, 40, 57)
                notes = [low, low + 7, low + 12]
            else:
                notes = voicing(root, intervals, centre, voice.low, voice.high)
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
                low = pitch_near(root, voice.low + 4, voice.low, voice.high)
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
            pitch = pitch_near(tone, centre, voice.low, voice.high)
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
    rng = Rng(seed, index)
    names = sorted(GENRES)
    genre = GENRES[rng.choice(names)]
    metre = rng.choice(genre.metres)
    tempo = rng.integer(*genre.tempo)
    if metre == "6/8":  # same eighth-note rate; the beat is a dotted quarter
        tempo = max(30, round(tempo * 2 / 3))
    majors = [p for p in genre.progressions if progression_mode(p) == "major"]
    minors = [p for p in genre.progressions if progression_mode(p) == "minor"]
    mode = "major" if (rng.chance(genre.major) and majors) or not minors else "minor"
    progression = rng.choice(majors if mode == "major" else minors)
    key = rng.integer(0, 11)
    loudness = clip7(genre.loudness + rng.integer(-10, 10))
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
        reverb=clip7(
            40 + (100 - loudness) + (30 if genre.family in ("classical", "electronic") else 0)
        ),
    )
    chords = progression_chords(progression, key, mode, genre.sevenths)
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
