"""Torch-free signal processing for the scan's decode workers: resampling and musicnn's log-mel.

Why it exists: a library scan decodes in spawned worker processes, and importing torch costs
each of them ~335 MB (issue 7: four workers put a 100k-track scan over its 2 GB budget). The
two pieces of DSP a worker needs, resampling a decoded window to the model's rate and cutting
musicnn's log-mel patches, are small linear algebra, so they live here with numpy only. They
compute the same mathematics as the torch code they replace (tests/zsl_core/test_dsp.py
compares them to torchaudio.functional.resample and torch.stft to ~1e-6).

* `resample`: band-limited windowed-sinc interpolation, the definition torchaudio's
  `functional.resample` uses with its defaults (Hann-windowed sinc, 6 zero crossings either
  side, cut-off at 0.99 of the lower Nyquist rate, rates reduced by their gcd, output length
  ceil(n * new / orig)). After reducing the rates to `orig` and `new`, the output is periodic:
  every `orig` input samples give `new` output samples, each the dot product of a stretch of
  input with one of `new` fixed filters ("phases"). So the whole call is one matrix product:
  overlapping input frames (stride `orig`) times the [taps, new] filter matrix.
* `musicnn_mel` / `to_patches` / `segments_to_patches`: musicnn's front end (see
  zsl_core/musicnn.py for the why of each step) with numpy's real FFT.
"""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from zsl_core.errors import AudioError

# torchaudio.functional.resample's defaults, which the rest of the project was built with.
LOWPASS_FILTER_WIDTH = 6  # zero crossings of the sinc kept on each side
ROLLOFF = 0.99  # cut-off as a fraction of the lower rate's Nyquist frequency

# musicnn's front end (zsl_core/musicnn.py re-exports these).
MUSICNN_RATE = 16000
MUSICNN_N_FFT = 512
MUSICNN_HOP = 256
MUSICNN_N_MELS = 96
MUSICNN_F_MAX = 8000.0
PATCH_FRAMES = 187  # 3 seconds


# --- resampling --------------------------------------------------------------------------------


@functools.lru_cache(maxsize=32)
def _sinc_kernel(orig: int, new: int) -> tuple[np.ndarray, int]:
    """Filter matrix [taps, new] (float32) and the half-width in input samples, for reduced rates.

    Output sample j of a period sits at input time j * orig / new. Its filter weighs the input
    sample at offset i (relative to the period's first input sample) by the ideal low-pass
    impulse response at the time difference, measured in periods of the cut-off frequency
    `cutoff` (in units where the reduced input rate is `orig`):
        t = (i / orig - j / new) * cutoff, clipped to +-LOWPASS_FILTER_WIDTH,
        h = sinc(t) * hann(t) * cutoff / orig, hann(t) = cos(pi t / (2 * width))^2.
    The window ends exactly where the clip starts, so weights outside +-width zero crossings
    vanish.

    Why float32: torchaudio evaluates this in the waveform's dtype, and every analysis stored
    so far was made that way. t's rounding error grows with the reduced rates (441/320 for
    22.05 -> 16 kHz), so a float64 kernel, though closer to the ideal filter, would move the
    output by up to ~2e-5 (~3e-4 at odd rates) from the torchaudio results; the same float32
    steps agree with them to ~2e-7.
    """
    f32 = np.float32
    cutoff = min(orig, new) * ROLLOFF
    half = math.ceil(LOWPASS_FILTER_WIDTH * orig / cutoff)  # taps either side, in input samples
    offsets = np.arange(-half, half + orig, dtype=f32) / f32(orig)  # [taps]
    phases = np.arange(new, dtype=f32) / f32(new)  # [new]
    t = (offsets[:, None] - phases[None, :]) * f32(cutoff)
    t = np.clip(t, f32(-LOWPASS_FILTER_WIDTH), f32(LOWPASS_FILTER_WIDTH))
    window = np.cos(t * f32(np.pi / (2 * LOWPASS_FILTER_WIDTH))) ** 2
    angle = t * f32(np.pi)
    with np.errstate(divide="ignore", invalid="ignore"):
        sinc = np.where(angle == 0, f32(1.0), np.sin(angle) / angle)
    kernel = sinc * (window * f32(cutoff / orig))
    return np.ascontiguousarray(kernel, dtype=f32), half


def resample(audio: np.ndarray, rate: int, new_rate: int) -> np.ndarray:
    """Mono float32 `audio` at `rate` Hz resampled to `new_rate` Hz, length ceil(n * new / rate).

    Same definition as torchaudio.functional.resample(audio, rate, new_rate) with its
    defaults; the input is taken as zero outside its ends.
    """
    signal = np.asarray(audio, dtype=np.float32)
    if signal.ndim != 1:
        raise ValueError(f"expected mono audio [n], got shape {signal.shape}")
    if rate <= 0 or new_rate <= 0 or int(rate) != rate or int(new_rate) != new_rate:
        raise ValueError(f"sample rates must be positive whole numbers, got {rate} and {new_rate}")
    if rate == new_rate or signal.size == 0:
        return np.ascontiguousarray(signal)
    g = math.gcd(int(rate), int(new_rate))
    orig, new = int(rate) // g, int(new_rate) // g
    banded, half, block = _banded_kernel(orig, new)
    n = signal.size
    length = -(-n * new // orig)  # ceil(n * new / orig)
    n_rows = -(-(n // orig + 1) // block)  # rows of `block` periods; the last period may be partial
    step = block * orig  # input samples per row
    width = banded.shape[0]  # step + 2 * half
    # Zero-pad so row r covers inputs [r * step - half, r * step + step + half).
    padded = np.zeros((n_rows - 1) * step + width, dtype=np.float32)
    padded[half : half + n] = signal
    rows = np.lib.stride_tricks.as_strided(
        padded, (n_rows, width), (step * padded.itemsize, padded.itemsize), writeable=False
    )
    out = np.empty(
        (n_rows, block * new), dtype=np.float32
    )  # row r, column c -> r * block * new + c
    chunk = max(1, _CHUNK_SAMPLES // width)  # bounded copies, whatever the track's length
    for first in range(0, n_rows, chunk):
        _product(
            np.ascontiguousarray(rows[first : first + chunk]), banded, out[first : first + chunk]
        )
    return out.reshape(-1)[:length]


_CHUNK_SAMPLES = 1 << 16  # input samples copied per matrix product in `resample`


@functools.lru_cache(maxsize=32)
def _banded_kernel(orig: int, new: int) -> tuple[np.ndarray, int, int]:
    """`block` periods' filters side by side: [block * orig + 2 * half, block * new], half, block.

    One period alone makes a poor matrix product when the filter is much longer than the
    period (48 -> 16 kHz: 41 taps, 3 inputs, 1 output per period): the overlapping input frames
    would copy the audio 14 times into a one-column product. A row of `block` periods, with
    each period's filters shifted down by `orig` inputs, copies it at most twice and gives a
    proper matrix product, at the price of multiplying the band's zeros.
    """
    kernel, half = _sinc_kernel(orig, new)
    taps = kernel.shape[0]  # 2 * half + orig
    block = max(1, -(-(taps - orig) // orig))  # a row's overlap with the next <= its own length
    banded = np.zeros((block * orig + taps - orig, block * new), dtype=np.float32)
    for b in range(block):
        banded[b * orig : b * orig + taps, b * new : (b + 1) * new] = kernel
    return banded, half, block  # private: callers must not write to it


def _product(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """out = a @ b (float32, C-contiguous), on the BLAS the process already runs.

    Why: in a process that has torch loaded (the main process, which runs the networks), a
    numpy product wakes OpenBLAS's own thread pool, whose threads keep spinning after the call
    and take the cores from torch's pool: windowed analysis measured ~16% slower in
    bench_scan.py unless OPENBLAS_NUM_THREADS=1 (which app/__init__.py sets, but plain zsl_core
    users may not). So where torch is already imported the product runs in torch (same sums,
    another order: ~1e-7 apart); a decode worker never imports torch and uses numpy. This
    never imports torch itself.
    """
    torch = sys.modules.get("torch")
    if torch is None or not hasattr(torch, "from_numpy"):  # absent, or still being imported
        np.matmul(a, b, out=out)
    else:
        a, b = (x if x.flags.writeable else x.copy() for x in (a, b))  # torch wants writable arrays
        torch.matmul(torch.from_numpy(a), torch.from_numpy(b), out=torch.from_numpy(out))


# --- musicnn log-mel ---------------------------------------------------------------------------


def _hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz (3 bands per 200 Hz), logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / (200.0 / 3)
    log_part = 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(hz >= 1000.0, log_part, linear)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    linear = mel * (200.0 / 3)
    log_part = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0))
    return np.where(mel >= 15.0, log_part, linear)


def mel_filterbank(
    sample_rate: int = MUSICNN_RATE,
    n_fft: int = MUSICNN_N_FFT,
    n_mels: int = MUSICNN_N_MELS,
    f_max: float = MUSICNN_F_MAX,
) -> np.ndarray:
    """Triangular Slaney-normalised mel filters [n_mels, n_fft // 2 + 1], float32.

    Computed in float64 and rounded once, as librosa does, so our mel matches the one the
    network was trained on.
    """
    fft_freqs = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(f_max), n_mels + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_freqs[None, :]
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]  # equal area per band
    return weights.astype(np.float32)


FILTERBANK = mel_filterbank()  # [96, 257] float32, read-only
FILTERBANK.flags.writeable = False
_FILTERBANK_T = np.ascontiguousarray(FILTERBANK.T)  # [257, 96], writable for torch.from_numpy


@functools.lru_cache(maxsize=4)
def _periodic_hann(n: int) -> np.ndarray:
    """Hann window of length n that is periodic (the first n points of an n + 1 window)."""
    window = (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)).astype(np.float32)
    window.flags.writeable = False
    return window


def musicnn_mel(audio: npt.ArrayLike) -> np.ndarray:
    """Log-mel spectrogram [frames, 96] float32 of 16 kHz mono audio, exactly as musicnn expects.

    STFT (n_fft 512, hop 256, periodic Hann, centred with zero padding) -> power -> Slaney mel
    -> log10(10000 * mel + 1); frames = 1 + n // 256.
    """
    signal = np.asarray(audio, dtype=np.float32).squeeze()
    if signal.ndim > 1:
        raise AudioError("<audio>", f"expected mono audio, got an array of shape {signal.shape}")
    signal = signal.reshape(-1)
    if signal.size == 0:
        raise AudioError("<audio>", "no samples to tag")
    half = MUSICNN_N_FFT // 2
    n_frames = 1 + signal.size // MUSICNN_HOP
    padded = np.zeros((n_frames - 1) * MUSICNN_HOP + MUSICNN_N_FFT, dtype=np.float32)
    padded[half : half + signal.size] = signal
    frames = np.lib.stride_tricks.as_strided(
        padded,
        (n_frames, MUSICNN_N_FFT),
        (MUSICNN_HOP * padded.itemsize, padded.itemsize),
        writeable=False,
    )
    window = _periodic_hann(MUSICNN_N_FFT)
    mel = np.empty((n_frames, MUSICNN_N_MELS), dtype=np.float32)
    for first in range(0, n_frames, _MEL_CHUNK_FRAMES):  # in cache-sized pieces: ~2x faster
        spectrum = np.fft.rfft(frames[first : first + _MEL_CHUNK_FRAMES] * window, axis=1)
        power = spectrum.real.astype(np.float32) ** 2 + spectrum.imag.astype(np.float32) ** 2
        _product(power, _FILTERBANK_T, mel[first : first + _MEL_CHUNK_FRAMES])
    mel *= np.float32(10000.0)
    mel += np.float32(1.0)
    return np.log10(mel, out=mel)


_MEL_CHUNK_FRAMES = 256


def to_patches(spectrogram: np.ndarray, patch_frames: int = PATCH_FRAMES) -> np.ndarray:
    """Non-overlapping patches [n, patch_frames, bands]; a short clip is repeated to fill one.

    The incomplete tail is dropped, as the original musicnn does.
    """
    frames = spectrogram.shape[0]
    if frames == 0:
        raise AudioError("<audio>", "no frames to tag")
    if frames < patch_frames:
        spectrogram = np.tile(spectrogram, (patch_frames // frames + 1, 1))[:patch_frames]
        frames = patch_frames
    n_patches = frames // patch_frames
    used = spectrogram[: n_patches * patch_frames]
    return np.ascontiguousarray(used.reshape(n_patches, patch_frames, spectrogram.shape[1]))


def segments_to_patches(segments: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
    """musicnn input patches [n, 187, 96] of every 16 kHz mono segment, concatenated.

    Each segment is cut on its own so a short window is repeat-padded like a short track,
    never glued to the next one.
    """
    if isinstance(segments, np.ndarray) and segments.ndim == 1:
        segments = [segments]
    if len(segments) == 0:
        raise AudioError("<audio>", "no audio segments to tag")
    return np.concatenate([to_patches(musicnn_mel(s)) for s in segments])
