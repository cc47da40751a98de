"""ConSE (Norouzi et al. 2014), the zero-shot baseline built on the classification model.

Everything reproduce computes for ConSE goes through `conse_scores`: a classifier's seen-label
probabilities in, one score per (track, label) out, seen and unseen labels alike.
"""

from __future__ import annotations

import numpy as np

from zsl_core.conse import conse
from zsl_core.reproduce.scoring import cosine

CONSE_TOP_T = 10


def conse_embeddings(
    probabilities: np.ndarray, seen_side: np.ndarray, top_t: int = CONSE_TOP_T
) -> np.ndarray:
    """ConSE: each row's top-T seen-label probabilities, renormalised to sum to 1, weigh the
    unit-length side vectors of those labels; the result lives in the side-information space,
    where any label (seen or unseen) is then scored by cosine."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    side = np.asarray(seen_side, dtype=np.float64)
    if probabilities.ndim != 2 or side.ndim != 2 or probabilities.shape[1] != side.shape[0]:
        raise ValueError(
            f"probabilities {probabilities.shape} and seen side vectors {side.shape} do not match"
        )
    return conse(probabilities, side, top_t, unit=False).astype(np.float32)


def conse_scores(
    probabilities: np.ndarray,
    side: np.ndarray,
    n_seen: int,
    top_t: int = CONSE_TOP_T,
) -> np.ndarray:
    """ConSE relevance of every label to every track: the cosine between each track's ConSE
    embedding (from its seen-label `probabilities` [tracks, n_seen]) and each label's side
    vector. `side` holds every label's vector [labels, dim], the n_seen seen labels first."""
    side = np.asarray(side)
    return cosine(conse_embeddings(probabilities, side[:n_seen], top_t), side)
