"""The one error `zsl-core synth` raises on purpose (its message is the command's one line)."""

from __future__ import annotations

from zsl_core.errors import ZslError


class SynthError(ZslError):
    """The corpus cannot be made: no FluidSynth, no soundfont, bad parameters, foreign folder,
    or a malformed recipe file."""
