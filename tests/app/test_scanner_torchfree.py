"""The scan's decode workers never import torch, and their patches are the main process's (issue 7).

Runs the real `app.scanner.decode_file` in a spawned worker with the scanner's initializer, as a
scan does, on generated 44.1 kHz mp3 and 48 kHz flac files. The reference is the pipeline the
workers ran before (torchaudio resampling + zsl_core.musicnn's torch.stft log-mel), computed
here in the main process. This module imports no torch at its top: the worker imports it to
run `_torch_modules`.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import sys
from pathlib import Path

import audio_factory
import numpy as np
import pytest

from app import scanner
from zsl_core.tagger import InputSpec, PayloadKind

PATCHES = InputSpec(16000, 3.0, PayloadKind.PATCHES)  # the built-in model's input spec
SEGMENTS = InputSpec(16000, 3.0, PayloadKind.SEGMENTS)

# Log-mel patches: torch's float32 FFT is itself up to ~1.3e-5 off the exact values in
# near-silent bands (tests/zsl_core/test_dsp.py), resampling differs by ~2.5e-7.
PATCH_ATOL = 5e-5


def _torch_modules() -> list[str]:
    """Runs in the worker: the torch modules it has loaded."""
    return sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "torchaudio"))


@pytest.fixture(scope="module")
def tracks(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("torchfree")
    music = audio_factory.chirp(9.0, 44100, 80, 9000) + audio_factory.tone(
        9.0, 44100, (110, 660, 2500), 0.4
    )
    return {
        "mp3": audio_factory.write_signal(folder / "song.mp3", music, 44100),
        "flac": audio_factory.write_signal(
            folder / "song.flac", audio_factory.chirp(7.5, 48000, 60, 12000), 48000
        ),
    }


def _reference_patches(path: Path, n_windows: int, monkeypatch) -> np.ndarray:
    """What the main process computes with the torch pipeline the workers used to run."""
    import torch
    import torchaudio.functional as AF

    from zsl_core import audio, musicnn

    def torchaudio_resample(x, rate, new_rate):
        if rate == new_rate or len(x) == 0:
            return np.ascontiguousarray(x, dtype=np.float32)
        return AF.resample(
            torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), rate, new_rate
        ).numpy()

    with monkeypatch.context() as patch:
        patch.setattr(audio, "_resample", torchaudio_resample)
        if n_windows:
            segments = list(audio.load_windows(path, n_windows, 3.0, musicnn.SAMPLE_RATE))
        else:
            segments = [audio.load_audio(path, musicnn.SAMPLE_RATE)]
    return np.concatenate([musicnn.to_patches(musicnn.musicnn_mel(s)) for s in segments])


def test_decode_worker_never_imports_torch_and_matches_main_process(tracks, monkeypatch):
    context = multiprocessing.get_context("spawn")
    jobs = [(fmt, n) for fmt in ("mp3", "flac") for n in (2, 0)]
    with cf.ProcessPoolExecutor(
        max_workers=1, mp_context=context, initializer=scanner._worker_init
    ) as pool:
        results = {
            job: pool.submit(
                scanner.decode_file, os.fsencode(tracks[job[0]]), job[1], PATCHES
            ).result()
            for job in jobs
        }
        segments = pool.submit(
            scanner.decode_file, os.fsencode(tracks["mp3"]), 2, SEGMENTS
        ).result()
        assert pool.submit(_torch_modules).result() == []
    assert segments[0] == "segments" and len(segments[1]) == 2
    for (fmt, n_windows), (kind, patches) in results.items():
        assert kind == "patches", (fmt, n_windows, patches)
        reference = _reference_patches(tracks[fmt], n_windows, monkeypatch)
        assert patches.shape == reference.shape, (fmt, n_windows)
        assert patches.shape[1:] == (187, 96)
        np.testing.assert_allclose(
            patches, reference, rtol=0, atol=PATCH_ATOL, err_msg=f"{fmt}, n_windows={n_windows}"
        )


def test_decode_worker_reports_a_bad_file_without_torch(tmp_path):
    bad = tmp_path / "broken.mp3"
    bad.write_bytes(b"not audio at all" * 64)
    context = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(
        max_workers=1, mp_context=context, initializer=scanner._worker_init
    ) as pool:
        kind, reason = pool.submit(scanner.decode_file, os.fsencode(bad), 2, PATCHES).result()
        assert pool.submit(_torch_modules).result() == []
    assert kind == "error" and reason


TORCH_FREE_MODULES = (
    "app.scanner",
    "app.library",
    "app.db",
    "zsl_core.audio",
    "zsl_core.tagger",
    "zsl_core.model_spec",
    "zsl_core.walk",
    "zsl_core.search",
)


def test_importing_the_scan_path_leaves_torch_out():
    """The scanner, the library, the audio module and the inference interface they import at
    their top: a fresh interpreter that imports them has not loaded torch (the decode workers
    and a library's first progress depend on it)."""
    import subprocess

    code = (
        "import sys\n"
        + "".join(f"import {name}\n" for name in TORCH_FREE_MODULES)
        + "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'torchaudio')))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout


def test_decode_follows_the_input_spec_a_model_declares(tracks):
    kind, segments = scanner.decode_file(os.fsencode(tracks["flac"]), 3, SEGMENTS)
    assert kind == "segments" and len(segments) == 3
    assert all(len(s) == 3 * 16000 for s in segments)
    kind, patches = scanner.decode_file(os.fsencode(tracks["flac"]), 3, PATCHES)
    assert kind == "patches" and patches.shape[1:] == (187, 96)
    np.testing.assert_array_equal(patches, PATCHES.payload_of(segments))
