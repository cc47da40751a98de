"""The speech detector: speech-like energy (syllables and pauses) gives many low-energy frames,
sustained sound few; with a low total of the networks' music probabilities it is speech, with a
music-like total it is not; silence and bad input are never speech."""

from __future__ import annotations

import numpy as np
import pytest

from zsl_core import dsp
from zsl_core.speech import low_energy_share, speech_probability

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


def test_speech_like_sound_has_many_low_energy_frames_and_sustained_sound_few():
    assert (
        low_energy_share(patches(syllables())) > 0.35 > 0.1 > low_energy_share(patches(sustained()))
    )


@pytest.mark.parametrize(
    "low,total,speech",
    [
        (0.40, 1.6, True),
        (0.36, 1.8, True),
        (0.40, 3.2, False),
        (0.05, 1.6, False),
        (0.29, 2.4, False),
        (0.52, 2.6, False),
    ],
)
def test_both_cues_are_needed(low, total, speech):
    p = speech_probability(low, total)
    assert (p > 0.8) if speech else (p < 0.3), p


def test_silence_and_bad_input_are_not_speech():
    assert low_energy_share(patches(np.zeros(RATE * 4, np.float32))) == 0.0
    assert speech_probability(0.0, 0.5) == 0.0
    assert (
        low_energy_share(np.zeros((0, 187, 96))) == 0.0
        and low_energy_share(np.zeros((187, 96))) == 0.0
    )
