"""Tracks that sound alike, and tracks that are the same recording: both from the stored analysis.

No audio is decoded here: everything works on what a scan stored per track (for the built-in
model its 71 seen-label probabilities; for a trained model its embedding), plus the duration and
the audio fingerprint the index keeps.

* **More like this** (`sound_vectors`, `similar_rows`): each track as sqrt(p) minus the library's
  mean, unit length; similarity is the cosine. Chosen by measurement on real soundtracks
  (tests/benchmarks/bench_similar.py, README "Finding music"): the square root evens out labels
  that are always high (the Hellinger affinity of two label distributions) and centring removes
  what every track of the library shares, so the cosine compares what is particular to each.
  Several query tracks: their vectors' mean.
* **Duplicates** (`duplicate_groups`): the same recording stored several times. Identical audio
  (the same fingerprint) always; otherwise two tracks whose durations agree (within
  `DURATION_TOLERANCE` seconds or `DURATION_FRACTION` of the length: a trimmed copy, encoder
  padding) and whose label distributions are nearly the same (`sqrt`-cosine, uncentred so it does
  not move with the library, at least `DUPLICATE_SIMILARITY`): another format or bitrate, a volume
  change. A different recording of one piece (other instruments, another tempo) changes both and
  is not grouped. Groups are connected components of these pairs. Nothing is ever deleted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from zsl_core.cosine import unit_rows

__all__ = [
    "sound_vectors",
    "similar_rows",
    "duplicate_pairs",
    "duplicate_groups",
    "DuplicateGroup",
    "DUPLICATE_SIMILARITY",
    "DURATION_TOLERANCE",
    "DURATION_FRACTION",
    "SIMILARITY_REPRESENTATION",
]

SIMILARITY_REPRESENTATION = "sqrt-centred"
# sqrt-cosine from which two tracks of about one length are one recording. Measured on 16 real and
# composed pieces x 7 copies (tests/benchmarks/bench_duplicates.py): copies down to 0.969 (-6 dB),
# 0.980 (2 s cut), 0.994 (ogg); the closest pair that is not one recording at 0.960.
DUPLICATE_SIMILARITY = 0.97
DURATION_TOLERANCE = (
    2.5  # seconds two copies' durations may differ by (a 2-s trim, encoder padding)
)
DURATION_FRACTION = 0.01  # ...or this fraction of the length, for long tracks


def sqrt_unit(seen_scores: np.ndarray) -> np.ndarray:
    """sqrt of the probabilities, unit rows (what the duplicate rule compares)."""
    p = np.clip(np.asarray(seen_scores, np.float32), 0.0, 1.0)
    return unit_rows(np.sqrt(p)).astype(np.float32)


def sound_vectors(
    seen_scores: np.ndarray | None, embeddings: np.ndarray | None = None
) -> np.ndarray:
    """Unit vectors [n, d] whose dot products are the "sounds like" similarity.

    Seen-label probabilities (a probability model) -> sqrt, centred on the library's mean;
    otherwise (a model that stores embeddings) the embeddings centred the same way.
    """
    if seen_scores is not None and np.size(seen_scores) and np.asarray(seen_scores).shape[1] > 0:
        base = np.sqrt(np.clip(np.asarray(seen_scores, np.float32), 0.0, 1.0))
    elif embeddings is not None and np.size(embeddings):
        base = unit_rows(np.asarray(embeddings, np.float32))
    else:
        return np.zeros((0, 0), np.float32)
    if len(base) > 1:
        base = base - base.mean(axis=0, keepdims=True)
    return unit_rows(base).astype(np.float32)


def similar_rows(
    vectors: np.ndarray, query_rows: Sequence[int], top_k: int = 20, exclude: Sequence[int] = ()
) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cosines) of the `top_k` rows most like the mean of `query_rows`, best first; the
    query rows and `exclude` left out."""
    if len(vectors) == 0 or not len(query_rows) or top_k <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    query = vectors[np.asarray(query_rows, np.int64)].mean(axis=0)
    query = unit_rows(query)
    scores = vectors @ query
    banned = np.zeros(len(vectors), bool)
    banned[np.asarray(query_rows, np.int64)] = True
    if len(exclude):
        banned[np.asarray(exclude, np.int64)] = True
    candidates = np.flatnonzero(~banned)
    if len(candidates) > top_k:
        part = np.argpartition(-scores[candidates], top_k - 1)[:top_k]
        candidates = candidates[part]
    order = candidates[np.argsort(-scores[candidates], kind="stable")]
    return order.astype(np.int64), scores[order].astype(np.float32)


def durations_close(
    a: float, b: float, tolerance: float = DURATION_TOLERANCE, fraction: float = DURATION_FRACTION
) -> bool:
    return abs(a - b) <= max(tolerance, fraction * max(a, b))


def duplicate_pairs(
    seen_scores: np.ndarray,
    durations: Sequence[float | None],
    fingerprints: Sequence[str | bytes | None] = (),
    rows: Sequence[int] | None = None,
    threshold: float = DUPLICATE_SIMILARITY,
    tolerance: float = DURATION_TOLERANCE,
    fraction: float = DURATION_FRACTION,
) -> list[tuple[int, int, float, bool]]:
    """Pairs (i, j, similarity, identical audio) of rows that are the same recording, i < j
    (similarity 1.0 for identical audio). `rows`: only pairs with at least one of these rows (the query tracks of
    "more like this"). Tracks are compared only with tracks of about their length (sorted by
    duration, a sliding window), so a library of 100,000 tracks costs seconds, not hours."""
    n = len(durations)
    wanted = None if rows is None else set(int(r) for r in rows)
    pairs: dict[tuple[int, int], float] = {}
    identical: set[tuple[int, int]] = set()
    by_print: dict[object, list[int]] = {}
    for i, fp in enumerate(list(fingerprints)[:n]):
        if fp:
            by_print.setdefault(fp, []).append(i)
    for members in by_print.values():
        for a in range(len(members)):
            for b in range(a + 1, len(members)):
                i, j = members[a], members[b]
                if wanted is None or i in wanted or j in wanted:
                    pairs[(min(i, j), max(i, j))] = 1.0
                    identical.add((min(i, j), max(i, j)))

    def result() -> list[tuple[int, int, float, bool]]:
        return sorted((i, j, s, (i, j) in identical) for (i, j), s in pairs.items())

    if seen_scores is None or np.size(seen_scores) == 0:
        return result()
    vectors = sqrt_unit(seen_scores)
    length = {i: float(d) for i in range(n) if (d := durations[i]) is not None and d > 0}
    known = sorted(length, key=length.__getitem__)  # stable: equal lengths keep index order
    dur = np.array([length[i] for i in known], np.float64)
    index = np.array(known, np.int64)
    position = {int(i): p for p, i in enumerate(known)}
    queries: Sequence[int]
    if wanted is None:
        queries = range(len(index))
    else:
        queries = sorted(position[r] for r in wanted if r in position)
    for pos in queries:
        i = int(index[pos])
        d = dur[pos]
        high = int(
            np.searchsorted(dur, max(d + tolerance, d / max(1.0 - fraction, 1e-9)), side="right")
        )
        if wanted is None:  # every pair once: look right only
            low = pos + 1
        else:
            low = int(np.searchsorted(dur, min(d - tolerance, d * (1.0 - fraction)), side="left"))
        others = index[low:high]
        others = others[others != i]
        if len(others) == 0:
            continue
        sims = vectors[others] @ vectors[i]
        for j, sim in zip(
            others[sims >= threshold].tolist(), sims[sims >= threshold].tolist(), strict=True
        ):
            if durations_close(d, float(durations[j]), tolerance, fraction):
                key = (min(i, j), max(i, j))
                if key not in identical:
                    pairs[key] = min(float(sim), 1.0)
    return result()


@dataclass
class DuplicateGroup:
    """Tracks that are one recording. `identical`: every member has the same audio bytes;
    `similarity`: the lowest similarity of the pairs that joined the group (1.0 if identical)."""

    track_ids: list[int]
    identical: bool
    similarity: float
    paths: list[str] = field(default_factory=list)
    durations: list[float | None] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "identical": self.identical,
            "similarity": round(self.similarity, 4),
            "tracks": [
                {"id": i, "path": p, "duration": None if d is None else round(d, 2)}
                for i, p, d in zip(self.track_ids, self.paths, self.durations, strict=True)
            ],
        }


def duplicate_groups(
    n: int, pairs: Sequence[tuple[int, int, float, bool]]
) -> list[tuple[list[int], float, bool]]:
    """Connected components of duplicate pairs over rows 0..n-1: (rows sorted, lowest pair
    similarity, all pairs identical audio), largest groups first."""
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j, *_ in pairs:
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    members: dict[int, list[int]] = {}
    lowest: dict[int, float] = {}
    same_bytes: dict[int, bool] = {}
    for i, _j, sim, exact in pairs:
        root = find(i)
        lowest[root] = min(lowest.get(root, 1.0), sim)
        same_bytes[root] = same_bytes.get(root, True) and bool(exact)
    for i in {x for p in pairs for x in p[:2]}:
        members.setdefault(find(i), []).append(i)
    groups = []
    for root, rows in members.items():
        rows.sort()
        groups.append((rows, lowest.get(root, 1.0), same_bytes.get(root, False)))
    groups.sort(key=lambda g: (-len(g[0]), g[0][0]))
    return groups
