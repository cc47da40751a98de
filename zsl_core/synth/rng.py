"""Seeded randomness, stable across Python versions (only random() is used), one stream per
(seed, track, purpose): the corpus does not depend on the number of workers."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any


class Rng:
    """Every draw comes from random.Random.random(), whose sequence Python guarantees stable."""

    def __init__(self, seed: int, index: int, salt: str = "") -> None:
        self._r = random.Random(f"zsl-synth:{seed}:{index}:{salt}")

    def random(self) -> float:
        return self._r.random()

    def chance(self, p: float) -> bool:
        return self._r.random() < p

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self._r.random()

    def integer(self, low: int, high: int) -> int:
        """Uniform in [low, high], both included."""
        return low + min(high - low, int(self._r.random() * (high - low + 1)))

    def choice(self, items: Sequence[Any]) -> Any:
        return items[min(len(items) - 1, int(self._r.random() * len(items)))]

    def weighted(self, items: Sequence[Any], weights: Sequence[float]) -> Any:
        total = sum(weights)
        point, acc = self._r.random() * total, 0.0
        for item, weight in zip(items, weights, strict=True):
            acc += weight
            if point < acc:
                return item
        return items[-1]
