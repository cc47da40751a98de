"""Rendering one MIDI file with FluidSynth to a mono 22,050 Hz FLAC clip of exact length."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from zsl_core.synth.errors import SynthError
from zsl_core.synth.soundfont import INSTALL_HINT

SAMPLE_RATE = 22050
DEFAULT_GAIN = 0.6


def find_fluidsynth() -> str:
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise SynthError(f"fluidsynth not found on PATH ({INSTALL_HINT})")
    return exe


def fluidsynth_version(exe: str) -> str:
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise SynthError(f"cannot run {exe}: {exc}") from None
    return out.splitlines()[0].strip() if out.strip() else "unknown"


def render(
    midi_path: Path,
    out_path: Path,
    soundfont: Path,
    seconds: float,
    exe: str,
    gain: float = DEFAULT_GAIN,
    sample_rate: int = SAMPLE_RATE,
) -> None:
    """Render one MIDI file with FluidSynth to mono FLAC of exactly `seconds` (atomic write)."""
    import numpy as np
    import soundfile

    with tempfile.TemporaryDirectory(prefix="zsl-synth-") as tmp:
        raw = Path(tmp) / "out.raw"
        cmd = [
            exe,
            "-ni",
            "-q",
            "-o",
            "synth.dynamic-sample-loading=1",
            "-T",
            "raw",
            "-O",
            "s16",
            "-E",
            "little",
            "-r",
            str(sample_rate),
            "-g",
            f"{gain:g}",
            "-F",
            str(raw),
            str(soundfont),
            str(midi_path),
        ]
        try:
            done = subprocess.run(cmd, capture_output=True, timeout=max(60.0, seconds * 10))
        except subprocess.TimeoutExpired:
            raise SynthError(f"{midi_path.name}: fluidsynth timed out") from None
        if done.returncode != 0 or not raw.is_file():
            message = (done.stderr or done.stdout).decode("utf-8", "replace").strip().splitlines()
            raise SynthError(
                f"{midi_path.name}: fluidsynth failed ({message[-1] if message else done.returncode})"
            )
        stereo = np.fromfile(raw, dtype="<i2")
    stereo = stereo[: len(stereo) // 2 * 2].reshape(-1, 2).astype(np.float32)
    mono = stereo.mean(axis=1) / 32768.0
    length = int(round(seconds * sample_rate))
    audio = np.zeros(length, np.float32)
    audio[: min(length, len(mono))] = mono[:length]
    fade = min(len(audio), int(0.05 * sample_rate))
    if fade:
        audio[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    peak = float(np.abs(audio).max()) if len(audio) else 0.0
    if peak < 1e-4:
        raise SynthError(f"{midi_path.name}: fluidsynth rendered silence")
    # a light "mastering": lift very soft clips to -30 dBFS RMS (soft playing still sounds soft),
    # and never clip
    rms = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2)))
    gain_up = min(10 ** (-30 / 20) / max(rms, 1e-9), 0.99 / peak) if rms < 10 ** (-30 / 20) else 1.0
    audio *= max(gain_up, 1.0)
    peak = float(np.abs(audio).max())
    if peak > 0.99:
        audio *= 0.99 / peak
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = out_path.with_name(f".{out_path.name}.tmp")
    soundfile.write(tmp_out, audio, sample_rate, format="FLAC", subtype="PCM_16")
    os.replace(tmp_out, out_path)
