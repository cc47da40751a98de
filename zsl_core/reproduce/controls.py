"""The side-information controls: what is left when the vectors carry no meaning (random) or
when only their link to the labels is broken (shuffled)."""

from __future__ import annotations

import numpy as np

from zsl_core.vectors import SideInformation


def random_side_like(side: SideInformation, seed: int) -> SideInformation:
    """The control: Gaussian vectors with the same labels and shape as the real side information."""
    rng = np.random.default_rng([int(seed), 7919])
    matrix = rng.standard_normal(side.matrix.shape).astype(np.float32)
    return SideInformation(list(side.labels), matrix, "random", f"random:{side.dim}:{seed}")


def shuffled_side_like(side: SideInformation, seed: int) -> SideInformation:
    """The second control: the real vectors, reassigned among the labels by a seeded derangement
    (no label keeps its own). Same values and distribution, only the label -> vector link is gone."""
    n = len(side.labels)
    order = np.random.default_rng([int(seed), 15485863]).permutation(n)
    source = np.empty(n, dtype=np.int64)
    source[order] = np.roll(order, -1)  # label order[i] takes the vector of label order[i+1]
    return SideInformation(list(side.labels), side.matrix[source], "shuffled", f"shuffled:{seed}")
