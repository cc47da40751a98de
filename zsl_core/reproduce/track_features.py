"""Track features for a run: computed once into the run's cache (parallel, resumable), then
handed out by track id."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from zsl_core.reproduce.corpus import Corpus
from zsl_core.reproduce.presets import Preset

log = logging.getLogger(__name__)


def load_features(
    corpus: Corpus, cache_dir: Path, preset: Preset, progress: bool
) -> tuple[Mapping[str, np.ndarray], dict]:
    """Compute missing features once (parallel, resumable) and hand back track id -> features.

    musicnn features are small ([200, patches]) and are held in memory as float32; mels stay
    memory-mapped float16 in the cache (the trainer converts each chunk).
    """
    from zsl_core import (
        features,
    )  # imports torch: only when a run starts, not for `zsl-core --help`

    started = time.monotonic()
    report = features.build_feature_cache(
        [(t.id, t.path) for t in corpus.tracks],
        cache_dir,
        workers=preset.workers,
        max_seconds=preset.max_seconds,
        progress=progress,
        kind=preset.feature_kind,
    )
    cache = features.FeatureCache(cache_dir)
    if report.failed:
        log.warning("features: %s; failed tracks are left out:", report.summary())
        for track_id, reason in list(report.failed.items())[:10]:
            log.warning("  %s: %s", track_id, reason)
    ids = [t.id for t in corpus.tracks if t.id in cache]
    loaded: Mapping[str, np.ndarray]
    if preset.feature_kind == "musicnn":
        loaded = {t: np.asarray(cache[t], dtype=np.float32) for t in ids}
    else:
        loaded = _CachedFeatures(cache, ids)
    info = {
        "kind": preset.feature_kind,
        "computed": len(report.computed),
        "already_cached": len(report.skipped),
        "failed": len(report.failed),
        "seconds": round(time.monotonic() - started, 1),
    }
    return loaded, info


class _CachedFeatures(Mapping):
    """Read-only track id -> mel view of a feature cache, opened on access (a dict of open
    memory maps would hit the kernel's map limit on a large corpus)."""

    def __init__(self, cache: Any, ids: Sequence[str]) -> None:
        self._cache, self._ids, self._known = cache, list(ids), set(ids)

    def __getitem__(self, track_id: str) -> np.ndarray:
        if track_id not in self._known:
            raise KeyError(track_id)
        return self._cache[track_id]

    def __iter__(self):
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, track_id: object) -> bool:
        return track_id in self._known
