"""Which model a library, an index or a command uses, and the key its results are stored under.

A model is named by four settings: the model ('default', the built-in one, or a `zsl-core
train` folder), its word vectors, the device it runs on and the precision of its arithmetic.
`ModelSpec` holds them once for the library, the GUI and both command lines: it resolves the
precision ('auto' becomes what this machine runs), gives the key (`key`: results of different
embedding spaces or arithmetic never mix, in a library or across index shards) and loads the
tagger (`load`).

Importing this module loads no PyTorch: a library opens, and a scan starts walking, before
the model (and torch) load on a thread.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from zsl_core.tagger import Tagger

__all__ = ["DEFAULT_MODEL", "DEFAULT_MODEL_KEY", "ModelSpec", "load_tagger", "model_key"]

DEFAULT_MODEL = "default"  # the built-in musicnn tagger
# "-2": 71 labels (the speech detector's "spoken word" joined); "-3": musicnn + VGG ensemble
DEFAULT_MODEL_KEY = "default-3"
TORCH_FREE_PRECISIONS = ("fp32", "bf16")  # resolved without asking the CPU (no torch import)


def is_default(model: str | Path | None) -> bool:
    """The built-in model (named 'default', or not named at all)."""
    return model is None or str(model) == DEFAULT_MODEL


def model_key(
    model: str | Path | None = DEFAULT_MODEL,
    vectors: str | Path | None = None,
    precision: str = "fp32",
) -> str:
    """A model's full identity, the name its results are stored under: 'default-3' (with the
    bundled vectors and fp32), or a resolved folder / vectors path and the precision."""
    if model is None or is_default(model):
        # The built-in model stores only its seen-label probabilities (its embeddings are derived
        # from them in whatever word space is chosen), so the word space is not part of its key.
        return DEFAULT_MODEL_KEY if precision == "fp32" else f"{DEFAULT_MODEL_KEY}+{precision}"
    name = str(Path(model).expanduser().resolve())
    return name if not vectors else f"{name}+vectors:{Path(vectors).expanduser().resolve()}"


def load_tagger(
    model: str | Path | None = DEFAULT_MODEL,
    vectors: str | Path | None = None,
    device: str = "auto",
    precision: str = "fp32",
) -> Tagger:
    """The model named: 'default' (built in) or a `zsl-core train` folder. `precision` applies
    to the built-in model's musicnn networks."""
    # torch: the models import it; only loading one pays for it, never opening a library.
    if model is None or is_default(model):
        from zsl_core.default_model import load_default_tagger

        return load_default_tagger(device=device, vectors_path=vectors, precision=precision)
    from zsl_core.trained import load_trained_tagger

    return load_trained_tagger(model, vectors=vectors, device=device)


@dataclass(frozen=True)
class ModelSpec:
    """model, vectors, device, precision: everything that names a model and its results."""

    model: str | Path = DEFAULT_MODEL
    vectors: str | Path | None = None
    device: str = "auto"
    precision: str = "fp32"

    @property
    def is_default(self) -> bool:
        return is_default(self.model)

    def resolved(self) -> ModelSpec:
        """The spec with its precision as it will run: 'auto' resolved for this machine (the
        built-in model; ModelError for an unknown precision), 'fp32' for a trained model."""
        precision = self.precision
        if precision not in TORCH_FREE_PRECISIONS:
            # torch: 'auto' asks the CPU whether it multiplies bf16 natively (musicnn).
            from zsl_core.default_model import resolve_precision

            precision = resolve_precision(precision, self.device)
        if not self.is_default:
            precision = "fp32"  # a trained model runs in float32
        return replace(self, precision=precision)

    @property
    def key(self) -> str:
        """The name results are stored under (give a `resolved()` spec)."""
        return model_key(self.model, self.vectors, self.precision)

    def load(self) -> Tagger:
        """The tagger (loaded once per process and settings)."""
        return load_tagger(self.model, self.vectors, self.device, self.precision)
