"""Short synthetic test tracks in every format the app reads, written inside the tests.

Plain module (no pytest fixtures) so any test can `import audio_factory`: pytest puts
tests/ on sys.path because tests/conftest.py lives there.

soundfile (libsndfile 1.2) writes wav, flac, ogg/vorbis, opus, mp3 and aiff; PyAV (its own
FFmpeg) writes the containers libsndfile cannot: m4a/aac, alac, raw ADTS aac and wma.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import soundfile as sf

# fmt name -> (soundfile format, soundfile subtype, default suffix)
SOUNDFILE_FORMATS: dict[str, tuple[str, str | None, str]] = {
    "wav": ("WAV", "PCM_16", ".wav"),
    "flac": ("FLAC", "PCM_16", ".flac"),
    "ogg": ("OGG", "VORBIS", ".ogg"),
    "opus": ("OGG", "OPUS", ".opus"),
    "mp3": ("MP3", "MPEG_LAYER_III", ".mp3"),
    "aiff": ("AIFF", "PCM_16", ".aiff"),
}
# fmt name -> (FFmpeg muxer, codec, sample format the encoder takes, default suffix)
PYAV_FORMATS: dict[str, tuple[str, str, str, str]] = {
    "m4a": ("ipod", "aac", "fltp", ".m4a"),
    "aac": ("adts", "aac", "fltp", ".aac"),
    "alac": ("ipod", "alac", "s16p", ".m4a"),
    "wma": ("asf", "wmav2", "fltp", ".wma"),
}
_SUFFIX_FORMATS = {".aif": "aiff", ".oga": "ogg", ".mp4": "m4a"}
ALL_FORMATS: tuple[str, ...] = tuple(SOUNDFILE_FORMATS) + tuple(PYAV_FORMATS)
LOSSLESS_FORMATS = frozenset({"wav", "flac", "aiff", "alac"})
# Opus only runs at these rates; other rates are written at 48 kHz (see write_signal).
OPUS_RATES = (8000, 12000, 16000, 24000, 48000)


def suffix_for(fmt: str) -> str:
    """The usual file suffix for a format name of this module."""
    if fmt in SOUNDFILE_FORMATS:
        return SOUNDFILE_FORMATS[fmt][2]
    return PYAV_FORMATS[fmt][3]


def tone(
    seconds: float,
    sample_rate: int,
    freqs: Iterable[float] = (440.0,),
    amplitude: float = 0.5,
    channels: int = 1,
) -> np.ndarray:
    """Sum of sines, float32 [n] (mono) or [n, channels]; peak at most `amplitude`."""
    freqs = list(freqs)
    t = np.arange(int(round(seconds * sample_rate))) / sample_rate
    mono = sum(np.sin(2 * np.pi * f * t) for f in freqs) * (amplitude / max(len(freqs), 1))
    mono = np.asarray(mono, dtype=np.float32)
    if channels == 1:
        return mono
    return np.repeat(mono[:, None], channels, axis=1)


def chirp(
    seconds: float, sample_rate: int, f0: float = 200.0, f1: float = 4000.0, amplitude: float = 0.5
) -> np.ndarray:
    """Exponential sweep, float32 [n]: every instant sounds different, so misplaced windows show."""
    t = np.arange(int(round(seconds * sample_rate))) / sample_rate
    k = np.log(f1 / f0) / seconds
    phase = 2 * np.pi * f0 * (np.exp(k * t) - 1) / k
    return (amplitude * np.sin(phase)).astype(np.float32)


def write_signal(
    path: str | Path, signal: np.ndarray, sample_rate: int, fmt: str | None = None
) -> Path:
    """Write `signal` ([n] or [n, channels], float in [-1, 1]) to `path` in format `fmt`.

    `fmt` defaults to the path's suffix. Opus supports only 8/12/16/24/48 kHz, so an Opus
    file at any other rate is written at 48 kHz after resampling with numpy interpolation.
    """
    path = Path(path)
    fmt = fmt or _SUFFIX_FORMATS.get(path.suffix.lower(), path.suffix.lstrip(".").lower())
    signal = np.asarray(signal, dtype=np.float32)
    if fmt == "opus" and sample_rate not in OPUS_RATES:
        signal, sample_rate = _interp_resample(signal, sample_rate, 48000), 48000
    if fmt in SOUNDFILE_FORMATS:
        container, subtype, _ = SOUNDFILE_FORMATS[fmt]
        sf.write(str(path), signal, sample_rate, format=container, subtype=subtype)
    elif fmt in PYAV_FORMATS:
        _write_pyav(path, signal, sample_rate, *PYAV_FORMATS[fmt][:3])
    else:
        raise ValueError(f"unknown test format {fmt!r}; known: {', '.join(ALL_FORMATS)}")
    return path


def write_tone(
    path: str | Path,
    seconds: float,
    sample_rate: int = 22050,
    freqs: Iterable[float] = (440.0,),
    fmt: str | None = None,
    channels: int = 1,
    amplitude: float = 0.5,
) -> Path:
    """Write a tone (sum of sines at `freqs`) of `seconds` to `path`; returns the path."""
    return write_signal(
        path, tone(seconds, sample_rate, freqs, amplitude, channels), sample_rate, fmt
    )


def _interp_resample(signal: np.ndarray, rate: int, new_rate: int) -> np.ndarray:
    n_new = int(round(len(signal) * new_rate / rate))
    t_old = np.arange(len(signal)) / rate
    t_new = np.arange(n_new) / new_rate
    if signal.ndim == 1:
        return np.interp(t_new, t_old, signal).astype(np.float32)
    return np.stack([np.interp(t_new, t_old, c) for c in signal.T], axis=1).astype(np.float32)


def _write_pyav(
    path: Path, signal: np.ndarray, sample_rate: int, muxer: str, codec: str, sample_format: str
) -> None:
    import av  # local: only the PyAV formats need it

    planar = signal.reshape(len(signal), -1).T  # [channels, n]
    channels = planar.shape[0]
    layout = "mono" if channels == 1 else "stereo"
    if sample_format == "s16p":
        planar = np.round(np.clip(planar, -1, 1) * 32767).astype(np.int16)
    planar = np.ascontiguousarray(planar)
    with av.open(str(path), "w", format=muxer) as container:
        stream = container.add_stream(codec, rate=sample_rate, layout=layout)
        assert isinstance(stream, av.AudioStream)
        if codec == "wmav2":
            stream.bit_rate = 128_000  # the WMA encoder refuses to open without one
        block = 4096
        for start in range(0, planar.shape[1], block):
            frame = av.AudioFrame.from_ndarray(
                planar[:, start : start + block], format=sample_format, layout=layout
            )
            frame.sample_rate = sample_rate
            frame.pts = start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
