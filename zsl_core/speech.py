"""Is it speech? A small detector for the seen label "spoken word", from what the tagger already has.

Why: musicnn was trained on music only, so it calls a spoken text "techno, electronic, hip-hop"
with some confidence, and every word derived from those probabilities follows. Listeners'
libraries hold audiobooks, podcasts, interviews and radio plays; those must be told apart and
get no genre proposals.

How: two cues, no extra decoding and no extra network.

* Low-energy frames (Scheirer & Slaney 1997): speech stops between syllables, words and phrases,
  so many 16-ms frames lie far below the window's mean energy, while most music keeps sounding.
  Measured on the log-mel patches the tagger computes anyway.
* The networks' total probability: on speech, musicnn finds little of the music it knows and the
  sum of its 70 label probabilities stays low (1.4-1.8 on our speech clips, 2.4 and more on 99%
  of real music tracks).

Either cue alone fails on some music: gated chiptune and sparse ambient pieces have many quiet
frames; very plain music has a low total. So both must say "speech": the probability is the
product of one logistic per cue. That separated 14 synthesised speech clips (espeak-ng, 8
languages, several voices and speeds) from 104 tracks of real game music of several styles
(`tests/benchmarks/bench_real_music.py`): speech >= 0.87, music <= 0.001. The four numbers
below were set by hand on that run, not learnt from any user's files; a rhythm cue
(syllable-rate modulation) was tried and dropped: rhythmic music has more of it than speech.
"""

from __future__ import annotations

import numpy as np

_LOW_ENERGY = 0.5  # a frame is "low" below half its window's mean RMS

# P = sigmoid(W_LOW * (low-energy share - LOW_0)) * sigmoid(W_TOTAL * (TOTAL_0 - total music probability))
W_LOW, LOW_0 = 30.0, 0.28
W_TOTAL, TOTAL_0 = 8.0, 2.2


def frame_energy(patches: np.ndarray) -> np.ndarray:
    """Mel power per frame [n_patches, frames] from musicnn log-mel patches [n, frames, 96]
    (which hold log10(10000 * mel + 1))."""
    mel = (np.power(10.0, np.asarray(patches, np.float64)) - 1.0) / 10000.0
    return np.maximum(mel, 0.0).sum(axis=-1)


def low_energy_share(patches: np.ndarray) -> float:
    """The median over a track's patches of the share of frames below half the patch's mean RMS
    (0 for silence or no patches)."""
    patches = np.asarray(patches)
    if patches.ndim != 3 or len(patches) == 0:
        return 0.0
    rms = np.sqrt(frame_energy(patches))
    mean = rms.mean(axis=1, keepdims=True)
    low = (rms < _LOW_ENERGY * np.maximum(mean, 1e-9)).mean(axis=1)
    low = np.where(mean[:, 0] < 1e-6, 0.0, low)  # digital silence: no cue at all
    return float(np.median(low))


def speech_probability(low_share: float, music_total: float) -> float:
    """Probability that a track is speech (0-1) from its low-energy share and the sum of the
    networks' music-label probabilities. Silence (no low-energy cue) is never speech."""
    if low_share <= 0.0:
        return 0.0
    quiet_frames = 1.0 / (1.0 + np.exp(-W_LOW * (float(low_share) - LOW_0)))
    not_music = 1.0 / (1.0 + np.exp(-W_TOTAL * (TOTAL_0 - float(music_total))))
    return float(quiet_frames * not_music)
