"""A synthetic, fully labelled music corpus: `zsl-core synth`.

Why: the paper's Experiment 1 (FMA genres + OpenMIC-2018 instrument likelihoods) needs tens of
gigabytes of audio and two datasets. This package writes a small corpus with the same *shape* on
any machine with FluidSynth and a General MIDI soundfont, so the whole pipeline (import ->
features -> split -> train -> evaluate) can be run end to end, and zero-shot transfer can be
checked on data whose ground truth is known exactly.

How a track is made (everything from one `random.Random` per (seed, track), so the corpus does
not depend on the number of workers and a longer corpus starts with the shorter one):

1. a primary genre is drawn; its recipe (`GENRES`, read from recipes.json) gives each of the
   20 OpenMIC instruments a probability of playing, a tempo range, metres, a drum groove, a bass
   style, accompaniment styles, chord progressions, major/minor odds, melodic density and
   loudness;
2. a song is composed from it (chords, bass line, drums and cymbals, accompaniment, a phrased
   melody) and written as a Standard MIDI File by our own writer (`midi.write_midi`);
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

Modules, in the order a track passes through them: `recipes` (+ recipes.json), `instruments`,
`theory`, `drums`, `rng`, `compose` (+ `song`, `midi`), `labels`, `plan`, `soundfont`,
`render`, `corpus`, `cli`. Importing the package does not import numpy (the command line
builds its parser from it).
"""

from __future__ import annotations

from zsl_core.synth.cli import add_command, cmd_synth
from zsl_core.synth.compose import DEFAULT_SECONDS, compose, song_midi
from zsl_core.synth.corpus import FORMAT_VERSION, CorpusReport, file_sha256, make_corpus
from zsl_core.synth.drums import CYMBAL_PIECES, DANCE_GROOVES, DRUM_NOTES, GROOVES, METRE_GROOVE
from zsl_core.synth.errors import SynthError
from zsl_core.synth.instruments import DISTORTED_GUITARS, INSTRUMENTS, VOICES, Voice
from zsl_core.synth.labels import (
    MOODS,
    genre_fit,
    genre_labels,
    instrument_attributes,
    mood_labels,
    mood_scores,
    song_character,
)
from zsl_core.synth.midi import TICKS_PER_QUARTER, MidiTrack, write_midi
from zsl_core.synth.plan import TrackPlan, genre_attribute_rows, plan_track
from zsl_core.synth.recipes import GENRES, RECIPES_FILE, Genre, load_recipes
from zsl_core.synth.render import (
    DEFAULT_GAIN,
    SAMPLE_RATE,
    find_fluidsynth,
    fluidsynth_version,
    render,
)
from zsl_core.synth.rng import Rng
from zsl_core.synth.song import Part, Song
from zsl_core.synth.soundfont import (
    INSTALL_HINT,
    SOUNDFONT_CANDIDATES,
    find_soundfont,
    soundfont_presets,
)
from zsl_core.synth.theory import MAJOR, METRES, MINOR, PROGRESSIONS, SCALES, Metre

__all__ = [
    "CYMBAL_PIECES",
    "DANCE_GROOVES",
    "DEFAULT_GAIN",
    "DEFAULT_SECONDS",
    "DISTORTED_GUITARS",
    "DRUM_NOTES",
    "FORMAT_VERSION",
    "GENRES",
    "GROOVES",
    "INSTALL_HINT",
    "INSTRUMENTS",
    "MAJOR",
    "METRES",
    "METRE_GROOVE",
    "MINOR",
    "MOODS",
    "PROGRESSIONS",
    "RECIPES_FILE",
    "SAMPLE_RATE",
    "SCALES",
    "SOUNDFONT_CANDIDATES",
    "TICKS_PER_QUARTER",
    "VOICES",
    "CorpusReport",
    "Genre",
    "Metre",
    "MidiTrack",
    "Part",
    "Rng",
    "Song",
    "SynthError",
    "TrackPlan",
    "Voice",
    "add_command",
    "cmd_synth",
    "compose",
    "file_sha256",
    "find_fluidsynth",
    "find_soundfont",
    "fluidsynth_version",
    "genre_attribute_rows",
    "genre_fit",
    "genre_labels",
    "instrument_attributes",
    "load_recipes",
    "make_corpus",
    "mood_labels",
    "mood_scores",
    "plan_track",
    "render",
    "song_character",
    "song_midi",
    "soundfont_presets",
    "write_midi",
]
