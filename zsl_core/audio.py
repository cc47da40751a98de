"""Audio in: decode any common music file to mono float32, and the paper's mel front end.

Two decoders cover the formats people keep music in:
- soundfile (libsndfile) for wav, flac, aiff, ogg/vorbis and opus: fast and sample-exact;
- PyAV (its own FFmpeg) for m4a/mp4/aac/alac/wma, for mp3 (libsndfile 1.2.2 seeks inside
  mp3 to the wrong samples, so windows would not match the full decode), and for anything
  soundfile refuses.
Whatever goes wrong inside a decoder comes out as one `AudioError(path, reason)`, so a
library scan can skip and count bad files instead of crashing.

Long tracks are never decoded whole just to look at a few seconds: `load_windows` seeks to
each window. Resampling (`zsl_core.dsp.resample`, torchaudio's windowed-sinc definition in
numpy) happens per window on a grid aligned with the full decode, so a window equals the same
slice of `load_audio(path)` up to codec seek effects.

This module imports no torch at import time: the library scan's decode workers use it, and
torch would cost each of them ~335 MB (issue 7). Only the paper's mel front end
(`mel_spectrogram`, `MelFrontEnd`) needs torch, and loads it when first used.

The mel front end reproduces the authors' librosa pipeline (kunimi00/ZSL_music_tagging,
scripts/preprocess_audio*.py): `librosa.stft` (n_fft 1024, periodic Hann, hop 512, centred
with reflect padding), magnitude, `librosa.filters.mel` defaults (Slaney mel scale,
Slaney area normalisation, 0 to 11,025 Hz, 128 bins), then log10(1 + 10 * mel).
"""

from __future__ import annotations

import math
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import soundfile as sf

from zsl_core import dsp
from zsl_core.errors import AudioError

if TYPE_CHECKING:
    import torch

AUDIO_EXTENSIONS: frozenset[str] = frozenset(
    {
        ".mp3",
        ".flac",
        ".ogg",
        ".oga",
        ".opus",
        ".wav",
        ".aiff",
        ".aif",
        ".m4a",
        ".mp4",
        ".aac",
        ".alac",
        ".wma",
    }
)
SAMPLE_RATE = 22050
N_FFT = 1024
HOP = 512
N_MELS = 128
F_MAX = SAMPLE_RATE / 2
CHUNK_FRAMES = 130  # the paper's 3-second training chunk

# Extensions soundfile decodes (and seeks) exactly; everything else goes to PyAV first.
_SOUNDFILE_EXTENSIONS = frozenset({".wav", ".flac", ".aiff", ".aif", ".ogg", ".oga", ".opus"})
# Samples decoded before a seek target and thrown away: lossy decoders need the previous
# frame (MDCT overlap, mp3 bit reservoir, Opus pre-roll of 80 ms) to produce exact output.
_PREROLL_SECONDS = 0.25
# Extra samples read around a window before resampling, so the resampler's filter sees the
# same neighbours as in a full decode.
_RESAMPLE_MARGIN_SECONDS = 0.05
# A decode may come up this much short of the header's length before we call it truncated
# (lossy codecs' priming and padding, estimated durations).
_TRUNCATION_TOLERANCE_SECONDS = 0.5
_TRUNCATION_TOLERANCE_FRACTION = 0.02


@dataclass(frozen=True)
class AudioInfo:
    """What the file's header says, at the file's own sample rate."""

    sample_rate: int
    channels: int
    frames: int
    duration: float


# --------------------------------------------------------------------------- public API


def audio_info(path: str | Path) -> AudioInfo:
    """Sample rate, channels and length from the header, without decoding the audio."""
    with _open_source(path) as source:
        return AudioInfo(
            source.sample_rate, source.channels, source.frames, source.frames / source.sample_rate
        )


def load_audio(
    path: str | Path,
    sample_rate: int = SAMPLE_RATE,
    offset: float = 0.0,
    duration: float | None = None,
) -> np.ndarray:
    """Mono float32 audio at `sample_rate`, from `offset` seconds for `duration` seconds.

    A part that runs past the end comes back shorter (never padded). Reading a part seeks;
    reading the whole file also checks it against the header's length (truncation).
    """
    if offset < 0 or (duration is not None and duration < 0):
        raise ValueError("offset and duration must not be negative")
    with _open_source(path) as source:
        if offset == 0 and duration is None:
            return _resample(source.read_all(), source.sample_rate, sample_rate)
        total = _length_at(source, sample_rate)
        start = int(round(offset * sample_rate))
        count = total - start if duration is None else int(round(duration * sample_rate))
        count = max(0, min(count, total - start))
        return _read_resampled(source, start, count, sample_rate)


def load_windows(
    path: str | Path, n_windows: int, window_seconds: float, sample_rate: int = SAMPLE_RATE
) -> np.ndarray:
    """`n_windows` evenly spaced windows of `window_seconds`, float32 [n_windows, n].

    Window i is centred on (i + 0.5) / n_windows of the track, so the windows tile the track
    without touching its very first and last samples unless they have to. Each window is read
    with a seek, not by decoding the whole file. The layout uses the header's length (for
    lossy files it can differ from a full decode's by a few codec frames).

    Short tracks: when the windows do not fit side by side they overlap (starts are clipped
    into the track); when the track is shorter than one window every window is the whole
    track, zero-padded at the end.
    """
    if n_windows < 1 or window_seconds <= 0:
        raise ValueError("n_windows must be >= 1 and window_seconds > 0")
    width = int(round(window_seconds * sample_rate))
    out = np.zeros((n_windows, width), dtype=np.float32)
    with _open_source(path) as source:
        total = _length_at(source, sample_rate)
        for i, start in enumerate(window_starts(total, n_windows, width)):
            window = _read_resampled(source, start, min(width, total - start), sample_rate)
            _check_not_truncated(
                source, start + len(window), start + min(width, total - start), sample_rate
            )
            out[i, : len(window)] = window[:width]
    return out


def window_starts(total: int, n_windows: int, width: int) -> list[int]:
    """Start sample of each of `n_windows` windows of `width` in a track of `total` samples."""
    if total <= width:
        return [0] * n_windows
    starts = []
    for i in range(n_windows):
        centre = (i + 0.5) * total / n_windows
        starts.append(int(min(max(round(centre - width / 2), 0), total - width)))
    return starts


def mel_spectrogram(audio: np.ndarray | torch.Tensor, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The paper's log-mel spectrogram of mono audio, float32 [128, T], T = 1 + n // 512.

    Audio shorter than one FFT (1024 samples) is zero-padded to it first, because centred
    reflect padding needs more samples than half an FFT.
    """
    if sample_rate != SAMPLE_RATE:
        raise ValueError(
            f"the mel front end runs at {SAMPLE_RATE} Hz, got {sample_rate} Hz; "
            "resample first (load_audio does)"
        )
    import torch  # torch: only the mel front end needs it; decoding stays torch-free

    tensor = torch.as_tensor(
        np.asarray(audio, dtype=np.float32)
        if not torch.is_tensor(audio)
        else audio.detach().to("cpu", torch.float32)
    )
    if tensor.ndim != 1:
        raise ValueError(f"expected mono audio [n], got shape {tuple(tensor.shape)}")
    with torch.no_grad():
        return _default_front_end()(tensor[None])[0].numpy()


def _mel_front_end_class() -> type:
    """`MelFrontEnd`, defined on first use so that importing this module does not import torch."""
    global _MEL_FRONT_END_CLASS
    if _MEL_FRONT_END_CLASS is not None:
        return _MEL_FRONT_END_CLASS
    import torch  # torch: see the docstring
    import torchaudio.functional as AF

    class MelFrontEnd(torch.nn.Module):
        """Batched, device-aware mel front end: audio [B, n] (or [n]) -> float32 [B, 128, T].

        Same numbers as `mel_spectrogram`; move it with `.to(device)` and it runs on the GPU.
        The filterbank and window are buffers (not parameters), so they follow the module but
        are never trained and are not saved in checkpoints.
        """

        fbank: torch.Tensor  # [mels, freqs] buffer
        window: torch.Tensor  # buffer

        def __init__(
            self,
            sample_rate: int = SAMPLE_RATE,
            n_fft: int = N_FFT,
            hop: int = HOP,
            n_mels: int = N_MELS,
            f_max: float | None = None,
        ) -> None:
            super().__init__()
            self.sample_rate, self.n_fft, self.hop, self.n_mels = sample_rate, n_fft, hop, n_mels
            fbank = AF.melscale_fbanks(
                n_freqs=n_fft // 2 + 1,
                f_min=0.0,
                f_max=float(f_max if f_max is not None else sample_rate / 2),
                n_mels=n_mels,
                sample_rate=sample_rate,
                norm="slaney",
                mel_scale="slaney",
            )
            self.register_buffer("fbank", fbank.T.contiguous(), persistent=False)  # [mels, freqs]
            self.register_buffer(
                "window", torch.hann_window(n_fft, periodic=True), persistent=False
            )

        def forward(self, audio: torch.Tensor) -> torch.Tensor:
            squeeze = audio.ndim == 1
            batch = audio[None] if squeeze else audio
            batch = batch.to(self.window.device, torch.float32)
            if batch.shape[-1] < self.n_fft:
                batch = torch.nn.functional.pad(batch, (0, self.n_fft - batch.shape[-1]))
            spec = torch.stft(
                batch,
                self.n_fft,
                self.hop,
                window=self.window,
                center=True,
                pad_mode="reflect",
                return_complex=True,
            ).abs()
            mel = torch.log10(1 + 10 * torch.matmul(self.fbank, spec))
            return mel[0] if squeeze else mel

    MelFrontEnd.__module__ = __name__
    MelFrontEnd.__qualname__ = "MelFrontEnd"
    _MEL_FRONT_END_CLASS = MelFrontEnd
    return MelFrontEnd


_MEL_FRONT_END_CLASS: type | None = None


def __getattr__(name: str) -> Any:
    """`MelFrontEnd` (a torch.nn.Module) is made on first access (PEP 562): no torch at import."""
    if name == "MelFrontEnd":
        return _mel_front_end_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_FRONT_END: torch.nn.Module | None = None  # a MelFrontEnd, made on first use


def _default_front_end() -> torch.nn.Module:
    global _FRONT_END
    if _FRONT_END is None:
        _FRONT_END = _mel_front_end_class()()
    return _FRONT_END


# --------------------------------------------------------------------------- resampling


def _resample(audio: np.ndarray, rate: int, new_rate: int) -> np.ndarray:
    """torchaudio.functional.resample's windowed sinc, in numpy (agrees to ~2e-7)."""
    return dsp.resample(audio, rate, new_rate)


def _length_at(source: _Source, sample_rate: int) -> int:
    """Track length in samples at `sample_rate`, as a full decode would return it."""
    return math.ceil(source.frames * sample_rate / source.sample_rate)


def _read_resampled(source: _Source, start: int, count: int, sample_rate: int) -> np.ndarray:
    """Samples [start, start + count) of the track resampled to `sample_rate`.

    The native read starts on a sample where the native and target grids coincide, with a
    margin either side, so the resampler produces the very samples of a full decode.
    """
    if count <= 0:
        return np.zeros(0, dtype=np.float32)
    if source.sample_rate == sample_rate:
        return source.read(start, count)
    g = math.gcd(source.sample_rate, sample_rate)
    step_native, step_target = source.sample_rate // g, sample_rate // g
    margin = int(_RESAMPLE_MARGIN_SECONDS * sample_rate)
    first_block = max(0, start - margin) // step_target
    last_block = -(-(start + count + margin) // step_target)
    native = source.read(first_block * step_native, (last_block - first_block) * step_native)
    resampled = _resample(native, source.sample_rate, sample_rate)
    skip = start - first_block * step_target
    return resampled[skip : skip + count]


def _check_not_truncated(
    source: _Source, got: int, expected: int, rate: int, promised: int | None = None
) -> None:
    """AudioError when `got` samples (at `rate`) fall clearly short of `expected`."""
    promised = source.frames if promised is None else promised
    tolerance = max(
        _TRUNCATION_TOLERANCE_SECONDS * rate,
        _TRUNCATION_TOLERANCE_FRACTION * promised * rate / source.sample_rate,
    )
    if expected - got > tolerance:
        raise AudioError(
            source.path,
            f"truncated: the header promises "
            f"{promised / source.sample_rate:.2f} s but the "
            f"audio stops at {got / rate:.2f} s",
        )


# --------------------------------------------------------------------------- decoders


def _open_source(path: str | Path) -> _Source:
    """Open `path` with the decoder that suits it, falling back to the other one."""
    path = Path(path)
    _check_readable(path)
    ext = path.suffix.lower()
    order = (
        [_SoundFileSource, _PyAVSource]
        if ext in _SOUNDFILE_EXTENSIONS
        else [_PyAVSource, _SoundFileSource]
    )
    reasons = []
    for backend in order:
        try:
            return backend(path)
        except AudioError as exc:
            if exc.reason.startswith("truncated"):
                raise  # a diagnosis, not a refusal: the other decoder must not paper over it
            reasons.append(exc.reason)
    raise AudioError(path, f"not a readable audio file ({reasons[0]})")


def _check_readable(path: Path) -> None:
    """The cheap checks, with plain reasons, before any decoder sees the file."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise AudioError(path, "file not found") from None
    except OSError as exc:
        raise AudioError(path, f"cannot access file ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise AudioError(path, "is a directory, not an audio file")
    if not stat.S_ISREG(info.st_mode):
        raise AudioError(path, "not a regular file")
    if info.st_size == 0:
        raise AudioError(path, "empty file (0 bytes)")
    try:
        with open(path, "rb") as handle:
            handle.read(1)
    except PermissionError:
        raise AudioError(path, "permission denied") from None
    except OSError as exc:
        raise AudioError(path, f"cannot read file ({exc.strerror or exc})") from None


def _short(exc: BaseException) -> str:
    """One line from a decoder exception, without the file name it would repeat."""
    text = getattr(exc, "error_string", None) or getattr(exc, "strerror", None) or str(exc)
    text = " ".join(str(text).replace("Error : ", "").split()) or type(exc).__name__
    return text[:200]


def _declared_frames(path: Path, frames: int, log: str) -> int:
    """Frames a wav/aiff header promises, from libsndfile's parse log.

    libsndfile quietly shortens a data chunk that runs past the end of the file and notes
    "data : <declared> (should be <present>)" in its log; we turn that back into an error,
    because a cut-off download should not pass as a shorter song. Streamed files that leave
    the size unknown (0 or 0xFFFFFFFF) are not truncated.
    """
    match = re.search(r"^\s*(?:data|SSND)\s*:\s*(\d+)\s*\(should be (\d+)\)", log, re.M)
    if not match:
        return frames
    declared, present = int(match.group(1)), int(match.group(2))
    if declared == 0 or declared >= 0xFFFFFFF0 or declared <= present:
        return frames
    if present <= 0 or frames <= 0:
        raise AudioError(path, "truncated: no audio data after the header")
    return int(frames * declared / present)


class _Source:
    """A decoder open on one file: native-rate mono reads from any sample."""

    path: Path
    sample_rate: int
    channels: int
    frames: int  # from the header; lossy formats may decode a little more or less

    def read(self, start: int, count: int) -> np.ndarray:
        """Up to `count` mono samples from native sample `start` (shorter at the end)."""
        raise NotImplementedError

    def read_all(self) -> np.ndarray:
        """The whole track, checked against the header's length."""
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self) -> _Source:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _SoundFileSource(_Source):
    """libsndfile. A fresh handle per read: libsndfile 1.2.2 mis-seeks in Ogg Vorbis after a
    read on the same handle, and opening is cheap."""

    def __init__(self, path: Path) -> None:
        self._sf = sf
        self.path = path
        try:
            info = sf.info(str(path))
        except Exception as exc:  # libsndfile reports every failure as its own error type
            raise AudioError(path, f"soundfile: {_short(exc)}") from None
        if info.frames <= 0 or info.samplerate <= 0:
            raise AudioError(path, "soundfile: no audio frames in file (truncated or corrupt)")
        self.sample_rate, self.channels, self.frames = info.samplerate, info.channels, info.frames
        promised = _declared_frames(path, info.frames, info.extra_info)
        _check_not_truncated(self, self.frames, promised, self.sample_rate, promised)

    def read(self, start: int, count: int) -> np.ndarray:
        start = min(max(start, 0), self.frames)
        try:
            with self._sf.SoundFile(str(self.path)) as handle:
                handle.seek(start)
                data = handle.read(count, dtype="float32", always_2d=True)
        except Exception as exc:
            raise AudioError(
                self.path, f"corrupt or truncated audio data ({_short(exc)})"
            ) from None
        return data.mean(axis=1, dtype=np.float32)

    def read_all(self) -> np.ndarray:
        audio = self.read(0, self.frames)
        _check_not_truncated(self, len(audio), self.frames, self.sample_rate)
        return audio


class _PyAVSource(_Source):
    """FFmpeg through PyAV. Sample positions come from frame timestamps, so a read after a
    seek lands on the same samples as a full decode."""

    def __init__(self, path: Path) -> None:
        import av  # slow to import (FFmpeg); only files libsndfile cannot read need it

        self._av = av
        self.path = path
        try:
            self._container = av.open(str(path), metadata_errors="ignore")
        except Exception as exc:
            raise AudioError(path, f"ffmpeg: {_short(exc)}") from None
        try:
            self._setup()
        except AudioError:
            self.close()
            raise

    def _setup(self) -> None:
        if not self._container.streams.audio:
            raise AudioError(self.path, "ffmpeg: no audio stream in file")
        self._stream = stream = self._container.streams.audio[0]
        ctx = stream.codec_context
        self.sample_rate = int(ctx.sample_rate or 0)
        self.channels = int(ctx.channels or 0)
        if self.sample_rate <= 0:
            raise AudioError(self.path, "ffmpeg: no sample rate in the audio stream")
        if stream.time_base is None:
            raise AudioError(self.path, "ffmpeg: no time base in the audio stream")
        self._time_base = stream.time_base
        self._t0 = stream.start_time or 0
        if stream.duration:
            seconds = float(stream.duration * stream.time_base)
        elif self._container.duration:
            seconds = self._container.duration / 1_000_000
        else:
            seconds = 0.0
        self.frames = int(round(seconds * self.sample_rate))
        # Containers with a clock coarser than one sample (ASF/WMA counts milliseconds):
        # place only the first frame by its timestamp, the rest back to back.
        self._coarse_clock = float(self._time_base * self.sample_rate) > 1.0
        # mp4/mov durations come from the edit list and are exact: trim the encoder's padding.
        self._exact_length = "mp4" in (self._container.format.name or "")
        if self.frames <= 0:
            self.frames = len(self.read_all())
            if self.frames == 0:
                raise AudioError(self.path, "ffmpeg: no audio frames in file")

    def close(self) -> None:
        container = getattr(self, "_container", None)
        if container is not None:
            container.close()

    def read(self, start: int, count: int) -> np.ndarray:
        start = max(start, 0)
        preroll = int(_PREROLL_SECONDS * self.sample_rate)
        for attempt in range(4):
            seek_to = 0 if attempt == 3 else max(0, start - preroll * 4**attempt)
            pieces, first = self._decode_from(seek_to, start, start + count)
            if first is None or first <= start or seek_to == 0:
                break
        return _assemble(pieces, start, count)

    def read_all(self) -> np.ndarray:
        pieces, _ = self._decode_from(0, 0, None)
        audio = _assemble(pieces, 0, None)
        if self._exact_length and len(audio) > self.frames > 0:
            audio = audio[: self.frames]
        if getattr(self, "frames", 0):
            _check_not_truncated(self, len(audio), self.frames, self.sample_rate)
        return audio

    def _decode_from(
        self, seek_to: int, start: int, stop: int | None
    ) -> tuple[list[tuple[int, np.ndarray]], int | None]:
        """Decode from about `seek_to` and keep what overlaps [start, stop).

        Returns (position, samples) pieces and the position of the first decoded frame, so
        the caller can tell a seek that overshot its target.
        """
        av, stream = self._av, self._stream
        pieces: list[tuple[int, np.ndarray]] = []
        first = None
        try:
            timestamp = self._t0 + int(seek_to / self.sample_rate / self._time_base)
            self._container.seek(timestamp, stream=stream, backward=True, any_frame=False)
            position = 0
            for frame in self._container.decode(stream):
                samples = _frame_to_mono(frame)
                if frame.pts is not None and (first is None or not self._coarse_clock):
                    position = self._frame_position(frame.pts, len(samples))
                first = position if first is None else first
                if position + len(samples) > start:
                    pieces.append((position, samples))
                position += len(samples)
                if stop is not None and position >= stop:
                    break
        except av.error.FFmpegError as exc:
            raise AudioError(
                self.path, f"corrupt or truncated audio data ({_short(exc)})"
            ) from None
        return pieces, first

    def _frame_position(self, pts: int, n_samples: int) -> int:
        """Sample index of a frame from its timestamp. On a coarse clock the timestamp is
        rounded, so snap to the codec's fixed frame grid (frames start at multiples of
        their size), which keeps seeks and full decodes on the same samples."""
        position = (pts - self._t0) * self._time_base * self.sample_rate
        if self._coarse_clock and n_samples > 0:
            return int(round(position / n_samples)) * n_samples
        return int(round(position))


def _frame_to_mono(frame) -> np.ndarray:
    """One PyAV audio frame as mono float32, whatever its sample format and layout."""
    data = frame.to_ndarray()
    channels = frame.layout.nb_channels or 1
    if not frame.format.is_planar:
        data = data.reshape(-1, channels).T
    name = frame.format.name.rstrip("p")
    scale = {"s16": 32768.0, "s32": 2.0**31, "s64": 2.0**63}.get(name)
    if name == "u8":
        data = (data.astype(np.float32) - 128.0) / 128.0
    elif scale is not None:
        data = data.astype(np.float32) / np.float32(scale)
    return data.mean(axis=0, dtype=np.float32)


def _assemble(pieces: list[tuple[int, np.ndarray]], start: int, count: int | None) -> np.ndarray:
    """Lay decoded frames at their positions into [start, start + count) (or to the end)."""
    if not pieces:
        return np.zeros(0, dtype=np.float32)
    end = max(pos + len(s) for pos, s in pieces)
    stop = end if count is None else min(start + count, end)
    out = np.zeros(max(stop - start, 0), dtype=np.float32)
    for pos, samples in pieces:
        lo, hi = max(pos, start), min(pos + len(samples), stop)
        if hi > lo:
            out[lo - start : hi - start] = samples[lo - pos : hi - pos]
    return out
