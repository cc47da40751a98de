"""Is it speech? A small detector on the musicnn patches, for the seen label "spoken word".

Why: musicnn was trained on music only, so it calls a spoken text "techno, electronic, hip-hop"
with confidence, and every word derived from those probabilities follows. Listeners' libraries
hold audiobooks, podcasts, interviews and radio plays; those must be told apart and get no
genre proposals.

How: two classic speech/music cues (Scheirer & Slaney 1997; Saunders 1996), measured on the
log-mel patches the tagger already computes, so no extra decoding and no extra network:

* low-energy frames: speech stops between syllables, words and phrases, so many 16-ms frames
  are far below the window's mean energy; most music keeps sounding.
* syllable-rate modulation: the energy envelope of speech swings at 2-8 Hz (the syllable rate);
  music's envelope follows its beat and sustained notes instead.

A logistic model over the two cues, averaged over the track's 3-s patches, gives a probability.
Its four numbers were fitted once on synthesised speech (espeak-ng, several voices, languages
and speeds) against real music of several styles (`tests/benchmarks/bench_real_music.py`), see
docs/RESULTS.md; they are not learnt from any user's files.
"""

from __future__ import annotations

import numpy as np

FRAME_RATE = 16000 / 256  # musicnn's mel frames per second
_LOW_ENERGY = 0.5  # a frame is "low" below half the window's mean RMS
_BAND = (2.0, 8.0)  # syllable-rate band of the energy envelope, Hz

# Logistic model: z = W_LOW * (low - LOW_0) + W_MOD * (modulation - MOD_0).
W_LOW, LOW_0 = 18.0, 0.30
W_MOD, MOD_0 = 10.0, 0.45


def frame_energy(patches: np.ndarray) -> np.ndarray:
    """Mel power per frame [n_patches, frames] from musicnn log-mel patches [n, frames, 96]
    (which hold log10(10000 * mel + 1))."""
    mel = (np.power(10.0, np.asarray(patches, np.float64)) - 1.0) / 10000.0
    return np.maximum(mel, 0.0).sum(axis=-1)


def speech_cues(patches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per patch: the share of low-energy frames, and the share of the energy envelope's
    modulation power that lies at syllable rate."""
    energy = frame_energy(patches)
    rms = np.sqrt(energy)
    mean = rms.mean(axis=1, keepdims=True)
    low = (rms < _LOW_ENERGY * np.maximum(mean, 1e-9)).mean(axis=1)
    envelope = np.log10(energy + 1e-7)
    envelope = envelope - envelope.mean(axis=1, keepdims=True)
    spectrum = np.abs(np.fft.rfft(envelope * np.hanning(envelope.shape[1]), axis=1)) ** 2
    freqs = np.fft.rfftfreq(envelope.shape[1], d=1.0 / FRAME_RATE)
    band = (freqs >= _BAND[0]) & (freqs <= _BAND[1])
    total = spectrum[:, freqs > 0.5].sum(axis=1)
    modulation = spectrum[:, band].sum(axis=1) / np.maximum(total, 1e-12)
    silent = mean[:, 0] < 1e-6  # digital silence: no cue at all
    return np.where(silent, 0.0, low), np.where(silent, 0.0, modulation)


def speech_probability(patches: np.ndarray) -> float:
    """Probability that the patches of one track are speech rather than music (0-1)."""
    patches = np.asarray(patches)
    if patches.ndim != 3 or len(patches) == 0:
        return 0.0
    low, modulation = speech_cues(patches)
    z = W_LOW * (float(np.median(low)) - LOW_0) + W_MOD * (float(np.median(modulation)) - MOD_0)
    return float(1.0 / (1.0 + np.exp(-z)))
