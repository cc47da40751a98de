"""One error type per kind of bad input, so callers can skip and count instead of crashing.

Every error carries a one-line message that names the file and the reason; the command
line prints exactly that line (no traceback unless --debug).
"""

from __future__ import annotations

from pathlib import Path


class ZslError(Exception):
    """Base class for every error zsl_core raises on purpose."""


class AudioError(ZslError):
    """A file could not be decoded as audio (truncated, empty, not audio, unreadable)."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class VectorsError(ZslError):
    """A word-vector or attribute file is missing, unreadable or malformed."""


class DatasetError(ZslError):
    """A manifest, split or dataset file is missing or malformed."""


class ModelError(ZslError):
    """A model directory is missing, incomplete or does not match what was asked of it."""
