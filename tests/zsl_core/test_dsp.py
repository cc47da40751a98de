"""zsl_core.dsp (numpy, no torch) against the torch code it stands in for in the decode workers.

Tolerances: resampled audio within 2e-6 of torchaudio.functional.resample (measured ~2.5e-7:
same float32 filter, products summed in another order). Log-mel (values 0 to ~5): within 1e-5
of an exact float64 evaluation of the same definition (measured ~2.3e-6), and within 5e-5 of
zsl_core.musicnn's torch.stft path. The latter is looser because torch's float32 FFT is itself
up to ~1.3e-5 off the float64 value in near-silent bands, where log10(10000 * mel + 1) magnifies
rounding of the power (measured on a chirp: torch 1.3e-5 off, numpy 2.3e-6 off, apart 1.4e-5).
"""

from __future__ import annotations

import subprocess
import sys

import audio_factory
import numpy as np
import pytest
import torch
import torchaudio.functional as AF

from zsl_core import audio, dsp, musicnn
from zsl_core.errors import AudioError

RESAMPLE_ATOL = 2e-6
MEL_ATOL = 5e-5  # against the torch float32 path
MEL_ATOL_EXACT = 1e-5  # against float64

RATES = [
    (44100, 16000),
    (48000, 16000),
    (22050, 16000),
    (32000, 16000),
    (11025, 16000),
    (96000, 16000),
    (8000, 16000),
    (16000, 22050),
    (44100, 22050),
    (12345, 16000),
]
LENGTHS = [1, 2, 3, 17, 440, 441, 442, 1001, 4801, 44101]


def _noise(n: int, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(n) * 0.3).astype(np.float32)


def _torchaudio(x: np.ndarray, rate: int, new_rate: int) -> np.ndarray:
    return AF.resample(torch.from_numpy(x), rate, new_rate).numpy()


@pytest.mark.parametrize("rate,new_rate", RATES)
def test_resample_matches_torchaudio(rate, new_rate):
    for n in LENGTHS:
        x = _noise(n, seed=n)
        ours, theirs = dsp.resample(x, rate, new_rate), _torchaudio(x, rate, new_rate)
        assert ours.dtype == np.float32 and ours.shape == theirs.shape, (
            n,
            ours.shape,
            theirs.shape,
        )
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=RESAMPLE_ATOL, err_msg=f"n={n}")


def test_resample_music_like_signal_three_seconds():
    for rate in (44100, 48000, 22050):
        x = audio_factory.chirp(3.1, rate, 50, 15000) + audio_factory.tone(
            3.1, rate, (110, 3000), 0.4
        )
        np.testing.assert_allclose(
            dsp.resample(x, rate, 16000), _torchaudio(x, rate, 16000), rtol=0, atol=RESAMPLE_ATOL
        )


def test_resample_length_is_ceil_and_edge_cases():
    assert len(dsp.resample(_noise(1000), 44100, 16000)) == -(-1000 * 160 // 441)
    assert dsp.resample(np.zeros(0, np.float32), 44100, 16000).shape == (0,)
    same = _noise(100)
    np.testing.assert_array_equal(dsp.resample(same, 16000, 16000), same)
    assert dsp.resample(np.arange(5, dtype=np.float64), 32000, 16000).dtype == np.float32
    with pytest.raises(ValueError, match="mono"):
        dsp.resample(np.zeros((2, 10), np.float32), 44100, 16000)
    with pytest.raises(ValueError, match="positive whole"):
        dsp.resample(_noise(10), 0, 16000)


def test_resample_is_band_limited():
    """A 10 kHz tone is above the 8 kHz Nyquist of 16 kHz audio: it must be filtered out, not
    folded back (the 6-crossing Hann-windowed sinc leaves it > 40 dB down); a 1 kHz tone
    passes unchanged in level."""
    high = dsp.resample(audio_factory.tone(2.0, 44100, (10000,), 0.5), 44100, 16000)
    low = dsp.resample(audio_factory.tone(2.0, 44100, (1000,), 0.5), 44100, 16000)
    middle = slice(1000, -1000)  # away from the zero-padded ends
    assert np.abs(high[middle]).max() < 0.5 / 100
    assert abs(np.abs(low[middle]).max() - 0.5) < 5e-3


def test_audio_resampler_is_the_numpy_one():
    x = _noise(9000)
    np.testing.assert_array_equal(audio._resample(x, 48000, 16000), dsp.resample(x, 48000, 16000))


def test_filterbank_is_musicnn_filterbank():
    np.testing.assert_array_equal(dsp.FILTERBANK, musicnn._FILTERBANK.numpy())
    np.testing.assert_array_equal(dsp.mel_filterbank(), musicnn.mel_filterbank())
    assert dsp.FILTERBANK.shape == (96, 257)


@pytest.mark.parametrize(
    "n", [1, 2, 255, 256, 257, 511, 512, 1000, 47999, 48000, 48001, 16000 * 7 + 3]
)
def test_musicnn_mel_matches_torch(n):
    x = _noise(n, seed=n)
    ours, theirs = dsp.musicnn_mel(x), musicnn.musicnn_mel(x)
    assert ours.dtype == np.float32 and ours.shape == theirs.shape == (1 + n // 256, 96)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=MEL_ATOL)


def _mel_float64(x: np.ndarray) -> np.ndarray:
    """musicnn's log-mel evaluated in float64 from its definition (the filterbank's float32 values)."""
    n = x.size
    n_frames = 1 + n // 256
    padded = np.zeros((n_frames - 1) * 256 + 512)
    padded[256 : 256 + n] = x
    frames = np.lib.stride_tricks.sliding_window_view(padded, 512)[::256][:n_frames]
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(512) / 512)
    power = np.abs(np.fft.rfft(frames * hann, axis=1)) ** 2
    return np.log10(10000.0 * (power @ dsp.FILTERBANK.T.astype(np.float64)) + 1.0)


@pytest.mark.parametrize("n", [1, 300, 32000, 16000 * 5 + 77])
def test_musicnn_mel_close_to_exact(n):
    for x in (_noise(n, seed=n), audio_factory.chirp(n / 16000, 16000, 100, 7000)):
        np.testing.assert_allclose(
            dsp.musicnn_mel(x), _mel_float64(x.astype(np.float64)), rtol=0, atol=MEL_ATOL_EXACT
        )


def test_musicnn_mel_accepts_what_the_torch_one_accepts():
    x = audio_factory.chirp(2.0, 16000)
    np.testing.assert_allclose(
        dsp.musicnn_mel(torch.from_numpy(x)), musicnn.musicnn_mel(x), atol=MEL_ATOL
    )
    np.testing.assert_allclose(
        dsp.musicnn_mel(x[None, :]), musicnn.musicnn_mel(x[None, :]), atol=MEL_ATOL
    )
    with pytest.raises(AudioError, match="no samples"):
        dsp.musicnn_mel(np.zeros(0, np.float32))
    with pytest.raises(AudioError, match="mono"):
        dsp.musicnn_mel(np.zeros((2, 100), np.float32))


def test_segments_to_patches_match_the_torch_path():
    """Patches of several segments (one shorter than a patch: repeat-padded) as the torch path cuts them."""
    segments = [
        audio_factory.chirp(3.0, 16000),
        _noise(16000 * 7 + 11, 1),
        audio_factory.tone(0.7, 16000, (440, 2000)),
        _noise(1, 2),
    ]
    ours = dsp.segments_to_patches(segments)
    theirs = np.concatenate([musicnn.to_patches(musicnn.musicnn_mel(s)) for s in segments])
    assert ours.shape == theirs.shape == (1 + 2 + 1 + 1, 187, 96)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=MEL_ATOL)
    single = dsp.segments_to_patches(segments[0])  # a bare 1-d array is one segment
    np.testing.assert_array_equal(single, ours[:1])
    with pytest.raises(AudioError, match="no audio segments"):
        dsp.segments_to_patches([])


def test_modules_a_worker_needs_import_no_torch():
    code = (
        "import sys, zsl_core.dsp, zsl_core.audio, app.scanner; "
        "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')"
        " or m.startswith('torchaudio'))[:5])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=str(_repo_root()),
    )
    assert out.stdout.strip() == "[]"


def _repo_root():
    from pathlib import Path

    return Path(__file__).resolve().parents[2]


def test_numpy_products_as_in_a_worker(monkeypatch):
    """`dsp` multiplies on torch where torch is loaded and on numpy where it is not (a decode
    worker); both give the torch pipeline's numbers. Hiding torch from sys.modules makes this
    process take the worker's path."""
    x44, x16 = _noise(44100 * 2 + 3, 5), _noise(16000 * 4 + 9, 6)
    resampled_ref = _torchaudio(x44, 44100, 16000)
    mel_ref = musicnn.musicnn_mel(x16)
    with_torch = dsp.resample(x44, 44100, 16000), dsp.musicnn_mel(x16)
    with monkeypatch.context() as patch:
        patch.delitem(sys.modules, "torch")
        without_torch = dsp.resample(x44, 44100, 16000), dsp.musicnn_mel(x16)
    assert "torch" in sys.modules
    for resampled, mel in (with_torch, without_torch):
        np.testing.assert_allclose(resampled, resampled_ref, rtol=0, atol=RESAMPLE_ATOL)
        np.testing.assert_allclose(mel, mel_ref, rtol=0, atol=MEL_ATOL)
    np.testing.assert_allclose(without_torch[0], with_torch[0], rtol=0, atol=RESAMPLE_ATOL)
