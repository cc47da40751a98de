"""Decoding every format, seeking windows, resampling, bad input, and the mel front end."""

from __future__ import annotations

import math
import os
from pathlib import Path

import audio_factory as af
import numpy as np
import pytest
import torch

from zsl_core import audio
from zsl_core.audio import (
    AUDIO_EXTENSIONS,
    CHUNK_FRAMES,
    HOP,
    N_FFT,
    N_MELS,
    SAMPLE_RATE,
    MelFrontEnd,
    audio_info,
    load_audio,
    load_windows,
    mel_spectrogram,
    window_starts,
)
from zsl_core.errors import AudioError


def _path(tmp_path: Path, fmt: str, stem: str = "track") -> Path:
    return tmp_path / f"{stem}_{fmt}{af.suffix_for(fmt)}"


def _dominant_hz(signal: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
    return float(np.argmax(spectrum) * rate / len(signal))


# ----------------------------------------------------------------------------- formats


def test_constants_match_the_paper():
    assert (SAMPLE_RATE, N_FFT, HOP, N_MELS, CHUNK_FRAMES) == (22050, 1024, 512, 128, 130)
    assert {".mp3", ".flac", ".ogg", ".opus", ".wav", ".aiff", ".m4a", ".wma"} <= AUDIO_EXTENSIONS


@pytest.mark.parametrize("fmt", af.ALL_FORMATS)
def test_every_format_decodes_to_the_right_length_and_pitch(tmp_path, fmt):
    path = af.write_tone(_path(tmp_path, fmt), 2.0, 44100, (1000.0,), fmt, channels=2)
    info = audio_info(path)
    assert abs(info.duration - 2.0) < 0.06
    assert info.channels == 2
    decoded = load_audio(path)
    assert decoded.dtype == np.float32 and decoded.ndim == 1
    # lossy codecs add priming/padding (AAC in raw ADTS, WMA): a few frames at most
    assert abs(len(decoded) - 2 * SAMPLE_RATE) <= (0 if fmt in af.LOSSLESS_FORMATS else 2200)
    middle = decoded[SAMPLE_RATE // 2 : SAMPLE_RATE + SAMPLE_RATE // 2]
    assert abs(_dominant_hz(middle, SAMPLE_RATE) - 1000.0) < 5
    assert 0.3 < np.abs(middle).max() < 0.7  # stereo averaged to mono keeps the level


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 48000])
def test_resampling_to_any_rate(tmp_path, rate):
    path = af.write_tone(tmp_path / "t.wav", 1.5, 44100, (440.0,))
    decoded = load_audio(path, sample_rate=rate)
    assert len(decoded) == int(1.5 * rate)
    assert abs(_dominant_hz(decoded, rate) - 440.0) < 3


def test_mean_of_channels_is_mono(tmp_path):
    left_right = np.stack([np.full(4410, 0.5), np.full(4410, -0.1)], axis=1)
    path = af.write_signal(tmp_path / "lr.flac", left_right, 22050)
    assert np.allclose(load_audio(path), 0.2, atol=1e-4)


def test_offset_and_duration(tmp_path):
    signal = af.chirp(4.0, 22050)
    path = af.write_signal(tmp_path / "c.flac", signal, 22050)
    part = load_audio(path, offset=1.25, duration=0.5)
    assert np.allclose(part, signal[27562 : 27562 + 11025], atol=1e-4)
    assert len(load_audio(path, offset=3.9, duration=1.0)) == 2205  # clipped at the end
    assert len(load_audio(path, offset=5.0)) == 0


# ----------------------------------------------------------------------------- windows


@pytest.mark.parametrize("fmt", ["wav", "flac", "ogg", "opus", "mp3", "m4a", "alac", "wma"])
def test_windows_equal_slices_of_the_full_decode(tmp_path, fmt):
    path = af.write_signal(_path(tmp_path, fmt), af.chirp(12.0, 44100), 44100, fmt)
    full = load_audio(path)
    windows = load_windows(path, 4, 1.0)
    assert windows.shape == (4, SAMPLE_RATE) and windows.dtype == np.float32
    info = audio_info(path)  # windows are laid out over the header's length
    starts = window_starts(math.ceil(info.duration * SAMPLE_RATE - 1e-6), 4, SAMPLE_RATE)
    for window, start in zip(windows, starts, strict=True):
        np.testing.assert_allclose(window, full[start : start + SAMPLE_RATE], atol=1e-3)


@pytest.mark.parametrize("fmt", ["flac", "mp3", "m4a"])
def test_windows_are_read_with_seeks(tmp_path, fmt, monkeypatch):
    """Only a little more than the windows themselves is decoded, not the whole track."""
    path = af.write_signal(_path(tmp_path, fmt), af.chirp(30.0, 22050), 22050, fmt)
    decoded = []
    real_sf_read, real_to_mono = audio._SoundFileSource.read, audio._frame_to_mono

    def counting_sf_read(self, start, count):
        out = real_sf_read(self, start, count)
        decoded.append(len(out))
        return out

    def counting_to_mono(frame):
        out = real_to_mono(frame)
        decoded.append(len(out))
        return out

    monkeypatch.setattr(audio._SoundFileSource, "read", counting_sf_read)
    monkeypatch.setattr(audio, "_frame_to_mono", counting_to_mono)
    load_windows(path, 3, 1.0)
    assert 3 * 22050 <= sum(decoded) < 6 * 22050  # 3 s of windows + pre-roll, of a 30 s track


def test_window_layout_for_long_and_short_tracks():
    assert window_starts(1000, 4, 100) == [75, 325, 575, 825]
    assert window_starts(250, 4, 100) == [0, 44, 106, 150]  # overlapping, inside the track
    assert window_starts(80, 3, 100) == [0, 0, 0]


def test_short_track_windows_are_zero_padded(tmp_path):
    path = af.write_tone(tmp_path / "short.wav", 0.5, 22050)
    windows = load_windows(path, 2, 1.0)
    assert windows.shape == (2, 22050)
    assert np.abs(windows[:, :11000]).max() > 0.3
    assert not windows[:, 11025:].any()
    assert np.array_equal(windows[0], windows[1])


# ----------------------------------------------------------------------------- bad input


def _assert_audio_error(path: Path, words: str) -> None:
    for read in (audio_info, load_audio, lambda p: load_windows(p, 2, 1.0)):
        with pytest.raises(AudioError) as caught:
            read(path)
        assert caught.value.path == str(path)
        assert words in caught.value.reason, caught.value.reason
        assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_missing_file(tmp_path):
    _assert_audio_error(tmp_path / "nope.mp3", "not found")


def test_directory(tmp_path):
    (tmp_path / "album.flac").mkdir()
    _assert_audio_error(tmp_path / "album.flac", "directory")


def test_zero_length_file(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    _assert_audio_error(tmp_path / "empty.wav", "empty")


@pytest.mark.parametrize("suffix", [".mp3", ".flac", ".wav", ".ogg", ".m4a", ".wma", ".xyz"])
def test_random_bytes_with_an_audio_extension(tmp_path, suffix):
    path = tmp_path / f"noise{suffix}"
    path.write_bytes(np.random.default_rng(0).bytes(6000))
    _assert_audio_error(path, "not a readable audio file")


@pytest.mark.parametrize("fmt", ["wav", "aiff", "flac", "mp3", "m4a", "aac"])
def test_truncated_files(tmp_path, fmt):
    full = af.write_tone(_path(tmp_path, fmt), 6.0, 22050, fmt=fmt)
    cut = tmp_path / f"cut{full.suffix}"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(AudioError) as caught:
        load_audio(cut)
    assert "truncated" in caught.value.reason or "not a readable" in caught.value.reason


def test_header_only_file(tmp_path):
    full = af.write_tone(tmp_path / "t.wav", 2.0, 22050)
    cut = tmp_path / "cut.wav"
    cut.write_bytes(full.read_bytes()[:60])
    _assert_audio_error(cut, "truncated")


@pytest.mark.permissions
@pytest.mark.skipif(
    os.name != "posix" or os.geteuid() == 0, reason="root reads files whatever their permissions"
)
def test_unreadable_file(tmp_path):
    path = af.write_tone(tmp_path / "locked.wav", 0.2, 22050)
    path.chmod(0)
    _assert_audio_error(path, "permission denied")


def test_path_through_a_file(tmp_path):
    """A read that fails for a reason other than permissions (works as root too)."""
    af.write_tone(tmp_path / "t.wav", 0.2, 22050)
    _assert_audio_error(tmp_path / "t.wav" / "inner.wav", "cannot access")


# ----------------------------------------------------------------------------- mel


def _numpy_slaney_filterbank(rate: int, n_fft: int, n_mels: int, fmax: float) -> np.ndarray:
    """Slaney mel filterbank written out from its definition (librosa's default)."""

    def hz_to_mel(f):
        f = np.asarray(f, dtype=np.float64)
        return np.where(
            f < 1000, 3 * f / 200, 15 + np.log(np.maximum(f, 1e-9) / 1000) / (np.log(6.4) / 27)
        )

    def mel_to_hz(m):
        return np.where(m < 15, 200 * m / 3, 1000 * np.exp((m - 15) * np.log(6.4) / 27))

    edges = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(fmax), n_mels + 2))
    bins = np.linspace(0, rate / 2, n_fft // 2 + 1)
    bank = np.zeros((n_mels, len(bins)))
    for m in range(n_mels):
        lo, mid, hi = edges[m], edges[m + 1], edges[m + 2]
        rising = (bins - lo) / (mid - lo)
        falling = (hi - bins) / (hi - mid)
        bank[m] = np.maximum(0, np.minimum(rising, falling)) * 2 / (hi - lo)
    return bank


def _numpy_log_mel(x: np.ndarray) -> np.ndarray:
    padded = np.pad(x.astype(np.float64), N_FFT // 2, mode="reflect")
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)  # periodic Hann
    n_frames = 1 + len(x) // HOP
    frames = np.stack([padded[i * HOP : i * HOP + N_FFT] * window for i in range(n_frames)])
    magnitude = np.abs(np.fft.rfft(frames, axis=1)).T
    mel = _numpy_slaney_filterbank(SAMPLE_RATE, N_FFT, N_MELS, SAMPLE_RATE / 2) @ magnitude
    return np.log10(1 + 10 * mel)


def test_mel_matches_an_independent_numpy_computation():
    rng = np.random.default_rng(1)
    x = (
        0.3 * rng.standard_normal(3 * SAMPLE_RATE) + af.tone(3.0, SAMPLE_RATE, (440, 3000))
    ).astype(np.float32)
    ours = mel_spectrogram(x)
    assert ours.shape == (N_MELS, 1 + len(x) // HOP) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, _numpy_log_mel(x), rtol=1e-4, atol=1e-4)


def test_mel_peaks_at_the_tone():
    mel = mel_spectrogram(af.tone(1.0, SAMPLE_RATE, (1000.0,)))
    expected_bin = np.argmax(
        _numpy_slaney_filterbank(SAMPLE_RATE, N_FFT, N_MELS, 11025)[
            :, int(round(1000 * N_FFT / SAMPLE_RATE))
        ]
    )
    assert abs(int(np.argmax(mel[:, 10])) - int(expected_bin)) <= 1


def test_front_end_batches_give_the_same_numbers():
    rng = np.random.default_rng(2)
    batch = rng.standard_normal((3, SAMPLE_RATE)).astype(np.float32) * 0.2
    out = MelFrontEnd()(torch.from_numpy(batch))
    assert out.shape == (3, N_MELS, 1 + SAMPLE_RATE // HOP)
    for row, x in zip(out, batch, strict=True):
        np.testing.assert_allclose(row.numpy(), mel_spectrogram(x), atol=1e-5)
    assert not list(MelFrontEnd().parameters())  # nothing to train, nothing saved


def test_mel_of_very_short_audio_is_padded():
    assert mel_spectrogram(np.zeros(100, dtype=np.float32)).shape == (N_MELS, 3)


def test_mel_refuses_another_rate():
    with pytest.raises(ValueError):
        mel_spectrogram(np.zeros(22050, dtype=np.float32), sample_rate=16000)
