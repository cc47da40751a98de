"""The speech detector on musicnn patches: speech-like energy (syllables and pauses) scores high,
sustained and rhythmic sound scores low, silence is not speech, bad input is no speech."""

from __future__ import annotations

import numpy as np

from zsl_core import dsp
from zsl_core.speech import speech_cues, speech_probability

RATE = 16000


def syllables(seconds: float = 9.0, rate_hz: float = 4.0, seed: int = 0) -> np.ndarray:
    """A voice-like buzz switched on and off at syllable rate, with pauses between 'words'."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    voice = np.sign(np.sin(2 * np.pi * 140 * t)) * 0.3 + rng.normal(0, 0.02, t.size)
    gate = (np.sin(2 * np.pi * rate_hz * t) > 0.2).astype(np.float32)
    words = (np.sin(2 * np.pi * 0.7 * t) > -0.3).astype(np.float32)  # a pause now and then
    return (voice * gate * words).astype(np.float32)


def sustained(seconds: float = 9.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6)) / 3
    return (0.3 * chord * (1 + 0.1 * np.sin(2 * np.pi * 0.5 * t))).astype(np.float32)


def patches(audio: np.ndarray) -> np.ndarray:
    return dsp.segments_to_patches([audio])


def test_speech_like_sound_scores_high_and_music_like_low():
    speech = speech_probability(patches(syllables()))
    music = speech_probability(patches(sustained()))
    assert speech > 0.8 > 0.2 > music
    low, modulation = speech_cues(patches(syllables()))
    assert np.all(low > 0.3) and np.all(modulation > 0.3)


def test_silence_and_bad_input_are_not_speech():
    assert speech_probability(patches(np.zeros(RATE * 4, np.float32))) < 0.01
    assert speech_probability(np.zeros((0, 187, 96))) == 0.0
    assert speech_probability(np.zeros((187, 96))) == 0.0
