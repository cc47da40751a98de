"""Saved track embeddings, so a library is decoded once and searched many times.

An index is one `.npz` file (loaded with allow_pickle=False): track ids, paths, float16 unit
embeddings and the name of the model that made them. Search is a matrix-vector product over
the unit rows, which stays fast well past a million tracks. Several index files made from
shards of one manifest (`zsl-core embed --shard i/n`) can be merged.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from zsl_core.errors import DatasetError

FORMAT_VERSION = 1


def rank(embeddings: np.ndarray, query: np.ndarray, top_k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Row indices and cosine scores of the `top_k` rows most relevant to `query`, best first.

    `embeddings` are unit rows, float16 (half the memory of float32: 100 bytes per track at 50-d).
    Why torch and not numpy: numpy has no float16 matrix product (it would copy every row to
    float32 first, ~100 ms at a million tracks), torch multiplies float16 directly on every CPU
    core, and `topk` avoids sorting all scores. A million tracks take about 10 ms on 2 cores
    (tests/benchmarks/bench_search.py).
    """
    n = len(embeddings)
    if n == 0 or top_k <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    query = np.asarray(query, dtype=np.float32).ravel()
    query = query / max(float(np.linalg.norm(query)), 1e-12)
    matrix = torch.from_numpy(np.ascontiguousarray(embeddings))
    with torch.inference_mode():
        scores = torch.mv(matrix, torch.from_numpy(query).to(matrix.dtype)).float()
        top = torch.topk(scores, min(top_k, n))
    return top.indices.numpy(), top.values.numpy()


@dataclass
class SearchHit:
    id: str
    path: str
    score: float


class TrackIndex:
    """Unit-normalised track embeddings of one model, with their ids and paths."""

    def __init__(self, ids: Sequence[str], paths: Sequence[str], embeddings: np.ndarray, model: str) -> None:
        embeddings = np.asarray(embeddings, dtype=np.float32).reshape(len(ids), -1)
        if len(ids) != len(paths):
            raise ValueError("ids and paths differ in length")
        norms = np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
        self.ids = list(ids)
        self.paths = list(paths)
        self.embeddings = (embeddings / norms).astype(np.float16)
        self.model = model

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def dim(self) -> int:
        return int(self.embeddings.shape[1]) if len(self) else 0

    def search(self, query: np.ndarray, top_k: int = 10) -> list[SearchHit]:
        """Tracks ranked by cosine relevance to `query` (a vector in the model's space)."""
        if not len(self):
            return []
        best, scores = rank(self.embeddings, query, top_k)
        return [SearchHit(self.ids[i], self.paths[i], float(s)) for i, s in zip(best, scores)]

    def save(self, path: str | Path) -> None:
        """Write atomically, so an interrupted run never leaves a broken index behind."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        header = json.dumps({"format": FORMAT_VERSION, "model": self.model})
        np.savez(
            tmp,
            header=np.array(header),
            ids=np.array(self.ids, dtype=str),
            paths=np.array(self.paths, dtype=str),
            embeddings=self.embeddings,
        )
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | Path) -> "TrackIndex":
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                header = json.loads(str(data["header"]))
                ids = [str(x) for x in data["ids"]]
                paths = [str(x) for x in data["paths"]]
                embeddings = data["embeddings"]
        except FileNotFoundError:
            raise DatasetError(f"{path}: index file not found") from None
        except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
            raise DatasetError(f"{path}: not a zsl-core index ({exc})") from None
        if header.get("format") != FORMAT_VERSION:
            raise DatasetError(f"{path}: unsupported index format {header.get('format')}")
        index = cls.__new__(cls)
        index.ids, index.paths, index.model = ids, paths, header.get("model", "")
        index.embeddings = embeddings.astype(np.float16).reshape(len(ids), -1)
        return index

    @classmethod
    def merge(cls, indexes: Sequence["TrackIndex"]) -> "TrackIndex":
        """Join shards made by the same model; a track id seen twice keeps its last embedding."""
        if not indexes:
            raise DatasetError("no index to merge")
        models = {ix.model for ix in indexes}
        if len(models) > 1:
            raise DatasetError(f"cannot merge indexes of different models: {sorted(models)}")
        rows: dict[str, tuple[str, np.ndarray]] = {}
        for ix in indexes:
            for i, track_id in enumerate(ix.ids):
                rows[track_id] = (ix.paths[i], ix.embeddings[i])
        ids = list(rows)
        dim = indexes[0].dim
        matrix = np.stack([rows[i][1] for i in ids]) if ids else np.zeros((0, dim), np.float16)
        return cls(ids, [rows[i][0] for i in ids], matrix.astype(np.float32), models.pop())
