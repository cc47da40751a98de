"""Shared fixtures. Test-track writers live in tests/audio_factory.py (importable as
`audio_factory`, because pytest puts this folder on sys.path for conftest.py)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import audio_factory
import pytest

# Qt tests never open a real window: the offscreen platform works without a display (CI).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def make_tone(tmp_path: Path) -> Callable[..., Path]:
    """make_tone(name, seconds=2.0, sample_rate=22050, freqs=(440.0,), fmt=None) -> Path in tmp_path."""

    def make(
        name: str,
        seconds: float = 2.0,
        sample_rate: int = 22050,
        freqs: tuple[float, ...] = (440.0,),
        fmt: str | None = None,
        channels: int = 1,
    ) -> Path:
        return audio_factory.write_tone(
            tmp_path / name, seconds, sample_rate, freqs, fmt, channels=channels
        )

    return make
