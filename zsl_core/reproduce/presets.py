"""Presets: how much compute a run spends (backbone, optimiser, epochs, seeds)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    """How much compute a run spends; everything else is the same code path."""

    name: str
    backbone: str  # "musicnn" (frozen features, MLP heads) | "cnn" (paper's CNN on mels)
    optimizer: str
    lr: float
    epochs: int
    patience: int
    batch_size: int = 64
    max_seconds: float | None = 30.0
    seeds: tuple[int, ...] = (0, 1, 2)
    workers: int | None = None  # feature processes (None: all cores)

    @property
    def feature_kind(self) -> str:
        return "musicnn" if self.backbone == "musicnn" else "mel"


PRESETS = {
    # Adam, not the paper's SGD: the heads see ~10 batches per epoch, SGD at lr 1e-3 barely moves
    # them in a CPU-minutes budget. Early stopping on validation loss as in the paper.
    "quick": Preset("quick", backbone="musicnn", optimizer="adam", lr=1e-3, epochs=60, patience=10),
    # The paper's recipe (section 4.3 and the authors' code): SGD Nesterov 1e-3, decay 1e-6,
    # up to 100 epochs, early stopping 20, plateau LR; 30-s clips like MSD's.
    "full": Preset("full", backbone="cnn", optimizer="sgd", lr=1e-3, epochs=100, patience=20),
}
