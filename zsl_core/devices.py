"""Where the networks run: the one rule that turns a `--device` value into a torch device.

Declared once because the built-in tagger, a trained model, the trainer and the experiments
all take `--device`, and four copies had drifted apart (one checked that the GPU exists, the
others failed later inside PyTorch). The choices themselves ("auto", "cpu", "cuda", "cuda:N")
are declared with the other options; this module only resolves them.
"""

from __future__ import annotations

import torch

from zsl_core.errors import ModelError

__all__ = ["cuda_available", "resolve_device"]


def cuda_available() -> bool:
    """A usable CUDA GPU is here (a broken CUDA install counts as none)."""
    try:
        return bool(torch.cuda.is_available()) and torch.cuda.device_count() > 0
    except Exception:  # a driver that fails to initialise is "no GPU", not a crash
        return False


def resolve_device(
    device: str | torch.device = "auto", local_rank: int | None = None
) -> torch.device:
    """'auto' -> CUDA when there is a GPU, else the CPU; anything else as torch spells it.

    A CUDA device that is not there is refused here with one line (ModelError), not deep
    inside PyTorch on first use. Under torchrun `local_rank` picks each process's GPU for a
    plain 'cuda'; an index beyond the GPUs visible is refused too.
    """
    if str(device) == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    resolved = torch.device(device)
    if resolved.type != "cuda":
        return resolved
    if not torch.cuda.is_available():
        raise ModelError(f"device {str(device)!r} asked for, but no CUDA GPU is available")
    if resolved.index is None and local_rank is not None:
        resolved = torch.device("cuda", local_rank)
    if resolved.index is not None and resolved.index >= torch.cuda.device_count():
        raise ModelError(
            f"device {resolved} asked for, but only {torch.cuda.device_count()} GPU(s) are "
            "visible (start no more torchrun processes per node than GPUs)"
        )
    return resolved
