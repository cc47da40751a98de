"""Saved track embeddings, so a library is decoded once and searched many times.

An index is one `.npz` file (loaded with allow_pickle=False): track ids, paths, float16 unit
embeddings, and a JSON header naming the model that made them. Search is a matrix-vector
product over the unit rows, which stays fast well past a million tracks. Several index files
made from shards of one manifest (`zsl-core embed --shard i/n`) can be merged, by
`zsl-core search` or into the desktop library (`zsl-tagger import`).

Format 2 (written now) adds what a library needs to take the rows over without decoding
again: the seen-label scores per track, each file's size and modification time when it was
analysed (so a file changed since is not trusted), the number of windows analysed, and the
model's full identity (`model_key`: model, word vectors and precision). Format 1 files still
load and search.
"""

from __future__ import annotations

import json
import math
import os
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from zsl_core.cosine import unit_rows
from zsl_core.errors import DatasetError

FORMAT_VERSION = 2
_READABLE_FORMATS = (1, 2)
# What `load` checks from the members' headers before it reads any array: see `check_members`.
_HEADER_LIMIT = 16 << 20  # the JSON header member
_DEFLATE_FREE = 16 << 20  # compressed members may expand this much freely...
_DEFLATE_RATIO = 64  # ...and beyond that at most this many times their stored size
_COLUMNS = ("ids", "paths", "embeddings", "seen_scores", "sizes", "mtimes_ns")
# the errors numpy, zipfile and zlib raise for a damaged file
_READ_ERRORS = (
    OSError,
    ValueError,
    KeyError,
    EOFError,
    json.JSONDecodeError,
    zipfile.BadZipFile,
    zlib.error,
    MemoryError,
    TypeError,
    IndexError,
)


def rank(
    embeddings: np.ndarray, query: np.ndarray, top_k: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """Row indices and cosine scores of the `top_k` rows most relevant to `query`, best first.

    `embeddings` are unit rows, float16 (half the memory of float32: 100 bytes per track at 50-d).
    Why torch and not numpy: numpy has no float16 matrix product (it would copy every row to
    float32 first, ~100 ms at a million tracks), torch multiplies float16 directly, and `topk`
    avoids sorting all scores. Two measured details (tests/benchmarks/bench_search.py): the
    matrix-matrix product with a one-column query runs torch's GEMM kernel, 1.5x faster than
    `torch.mv` on float16; and `topk` runs on the float16 scores, because converting a million
    of them to float32 first cost more than the top-k itself.
    """
    n = len(embeddings)
    if n == 0 or top_k <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    query = np.asarray(query, dtype=np.float32).ravel()
    query = unit_rows(query)
    matrix = torch.from_numpy(np.ascontiguousarray(embeddings))
    column = torch.from_numpy(query).to(matrix.dtype).unsqueeze(1)
    with torch.inference_mode():
        scores = torch.mm(matrix, column).squeeze(1)
        top = torch.topk(scores, min(top_k, n))
    return top.indices.numpy(), top.values.float().numpy()


@dataclass
class SearchHit:
    id: str
    path: str
    score: float


class TrackIndex:
    """Unit-normalised track embeddings of one model, with their ids and paths.

    Optional per-track columns (None when absent, e.g. in a format-1 file):
    `seen_scores` [n, labels] the model's seen-label scores; `sizes` and `mtimes_ns` of each file
    when it was analysed (-1 where unknown). `info` holds the header's other facts
    (`model_key`, `vectors`, `precision`, `n_windows`, `seen_labels`).
    """

    def __init__(
        self,
        ids: Sequence[str],
        paths: Sequence[str],
        embeddings: npt.ArrayLike,
        model: str,
        seen_scores: npt.ArrayLike | None = None,
        sizes: Sequence[int] | np.ndarray | None = None,
        mtimes_ns: Sequence[int] | np.ndarray | None = None,
        info: dict[str, Any] | None = None,
    ) -> None:
        embeddings = np.asarray(embeddings, dtype=np.float32)
        # A 0-d embedding is legal: the built-in model keeps only seen scores (embeddings are derived).
        n = len(ids)
        embeddings = embeddings.reshape(
            n, embeddings.shape[-1] if embeddings.ndim == 2 else (-1 if n else 0)
        )
        if len(ids) != len(paths):
            raise ValueError("ids and paths differ in length")
        self.ids = list(ids)
        self.paths = list(paths)
        self.embeddings = unit_rows(embeddings).astype(np.float16)
        self.model = model
        if seen_scores is None:
            self.seen_scores = None
        else:
            scores = np.asarray(seen_scores, np.float16)
            labels = (
                scores.shape[-1]
                if scores.ndim == 2
                else (-1 if n else len((info or {}).get("seen_labels") or []))
            )
            self.seen_scores = scores.reshape(n, labels)
        self.sizes = _int_column(sizes, len(self.ids), "sizes")
        self.mtimes_ns = _int_column(mtimes_ns, len(self.ids), "mtimes_ns")
        self.info: dict[str, Any] = dict(info or {})

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def dim(self) -> int:
        return int(self.embeddings.shape[1]) if len(self) else 0

    @property
    def model_key(self) -> str:
        """The model's full identity (what a library stores results under); `model` for old files."""
        return str(self.info.get("model_key") or self.model)

    def search(self, query: np.ndarray, top_k: int = 10) -> list[SearchHit]:
        """Tracks ranked by cosine relevance to `query` (a vector in the model's space)."""
        if not len(self):
            return []
        best, scores = rank(self.embeddings, query, top_k)
        return [
            SearchHit(self.ids[i], self.paths[i], float(s))
            for i, s in zip(best, scores, strict=True)
        ]

    def save(self, path: str | Path) -> None:
        """Write atomically, so an interrupted run never leaves a broken index behind."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        header = json.dumps(
            {**self.info, "format": FORMAT_VERSION, "model": self.model, "tracks": len(self)}
        )
        arrays: dict[str, Any] = {  # Any: np.savez's stubs would take a key for allow_pickle
            "header": np.array(header),
            # Bytes, not numpy str (4 bytes a character): ids as UTF-8, paths as the OS's bytes, so
            # any file name round-trips; a million 100-character paths take 100 MB, not 400.
            "ids": np.array([i.encode("utf-8", "surrogatepass") for i in self.ids], dtype=bytes)
            if self.ids
            else np.zeros(0, dtype="S1"),
            "paths": _encode_paths(self.paths),
            "embeddings": self.embeddings,
        }
        if self.seen_scores is not None:
            arrays["seen_scores"] = self.seen_scores
        if self.sizes is not None:
            arrays["sizes"] = self.sizes
        if self.mtimes_ns is not None:
            arrays["mtimes_ns"] = self.mtimes_ns
        np.savez(tmp, **arrays)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | Path) -> TrackIndex:
        """Read an index file; DatasetError with a one-line reason if it is missing, not an
        index, or damaged. The members' headers (shapes, types, sizes) are checked against
        each other and the file before any array is read, so a small crafted file cannot make
        this allocate more memory than its own size (see `check_members`)."""
        path = Path(path)
        try:
            members = check_members(path)
            with np.load(path, allow_pickle=False) as data:
                header = json.loads(str(data["header"]))
                if not isinstance(header, dict):
                    raise ValueError("header is not an object")
                _check_shapes(members, header)
                raw_ids = data["ids"]
                ids = (
                    [bytes(x).decode("utf-8", "surrogatepass") for x in raw_ids]
                    if raw_ids.dtype.kind == "S"
                    else [str(x) for x in raw_ids]
                )
                paths = _decode_paths(data["paths"])
                embeddings = data["embeddings"]
                columns = {
                    name: data[name]
                    for name in ("seen_scores", "sizes", "mtimes_ns")
                    if name in data
                }
        except FileNotFoundError:
            raise DatasetError(f"{path}: index file not found") from None
        except DatasetError:
            raise
        except _READ_ERRORS as exc:
            raise DatasetError(f"{path}: not a zsl-core index ({_one_line(exc)})") from None
        if header.get("format") not in _READABLE_FORMATS:
            raise DatasetError(f"{path}: unsupported index format {header.get('format')}")
        n = len(ids)
        try:
            derived = (
                "seen_scores" in columns and embeddings.ndim == 2
            )  # [n, 0]: derived embeddings
            if (
                len(paths) != n
                or embeddings.size == 0
                and n
                and not derived
                or len(embeddings) != n
            ):
                raise ValueError("column lengths differ")
            for name, column in columns.items():
                if len(column) != n:
                    raise ValueError(f"{name} has {len(column)} rows for {n} tracks")
        except (ValueError, TypeError) as exc:
            raise DatasetError(f"{path}: damaged zsl-core index ({exc})") from None
        index = cls.__new__(cls)
        index.ids, index.paths, index.model = ids, paths, str(header.get("model", ""))
        width = embeddings.shape[-1] if embeddings.ndim == 2 else (-1 if n else 0)
        index.embeddings = embeddings.astype(np.float16).reshape(n, width)
        if "seen_scores" in columns:
            scores = columns["seen_scores"]
            labels = (
                scores.shape[-1]
                if scores.ndim == 2
                else (-1 if n else len(header.get("seen_labels") or []))
            )
            index.seen_scores = scores.astype(np.float16).reshape(n, labels)
        else:
            index.seen_scores = None
        index.sizes = columns["sizes"].astype(np.int64) if "sizes" in columns else None
        index.mtimes_ns = columns["mtimes_ns"].astype(np.int64) if "mtimes_ns" in columns else None
        index.info = {k: v for k, v in header.items() if k not in ("format", "model", "tracks")}
        return index

    @staticmethod
    def read_info(path: str | Path) -> dict[str, Any]:
        """The header of an index file, without reading its rows (cheap enough for a dialog)."""
        try:
            check_members(Path(path))
            with np.load(Path(path), allow_pickle=False) as data:
                header = json.loads(str(data["header"]))
        except FileNotFoundError:
            raise DatasetError(f"{path}: index file not found") from None
        except DatasetError:
            raise
        except _READ_ERRORS as exc:
            raise DatasetError(f"{path}: not a zsl-core index ({_one_line(exc)})") from None
        if not isinstance(header, dict):
            raise DatasetError(f"{path}: not a zsl-core index (header is not an object)")
        return header

    @classmethod
    def merge(cls, indexes: Sequence[TrackIndex]) -> TrackIndex:
        """Join shards made by the same model; a track id seen twice keeps its last row.

        Optional columns survive only when every shard has them."""
        if not indexes:
            raise DatasetError("no index to merge")
        models = {ix.model_key for ix in indexes}
        if len(models) > 1:
            raise DatasetError(f"cannot merge indexes of different models: {sorted(models)}")
        dims = {ix.dim for ix in indexes if len(ix)}
        if len(dims) > 1:
            raise DatasetError(
                f"cannot merge indexes of different sizes: {sorted(dims)} dimensions"
            )
        last: dict[str, tuple[int, int]] = {}  # id -> (shard, row)
        for s, ix in enumerate(indexes):
            for row, track_id in enumerate(ix.ids):
                last.pop(track_id, None)  # keep first-seen order of the final rows stable
                last[track_id] = (s, row)
        picks = list(last.values())

        def gather(column: str) -> np.ndarray | None:
            parts = [getattr(ix, column) for ix in indexes]
            if any(p is None for p in parts):
                return None
            return np.stack([parts[s][row] for s, row in picks]) if picks else None

        dim = dims.pop() if dims else 1
        matrix = (
            np.stack([indexes[s].embeddings[row] for s, row in picks])
            if picks
            else np.zeros((0, dim), np.float16)
        )
        merged = cls(
            list(last),
            [indexes[s].paths[row] for s, row in picks],
            matrix.astype(np.float32),
            indexes[-1].model,
            seen_scores=gather("seen_scores"),
            sizes=gather("sizes"),
            mtimes_ns=gather("mtimes_ns"),
            info=indexes[-1].info,
        )
        if not picks:
            merged.seen_scores = merged.sizes = merged.mtimes_ns = None
        return merged


def check_members(path: Path) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """The (shape, dtype) of every array in an index file, read from the members' own npy
    headers without reading any data; DatasetError when they cannot be trusted:

    - every member's declared data size (shape x item size) must equal what the member holds,
      and a stored member cannot be larger than the file: a crafted header cannot make numpy
      allocate more than the file's size;
    - a compressed member may expand at most `_DEFLATE_RATIO` times beyond 16 MB (our files
      are never compressed; np.savez_compressed ones of real embeddings expand < 2x);
    - no Python objects (pickles), no header member over 16 MB.
    """
    file_size = os.path.getsize(path)  # FileNotFoundError passes through
    members: dict[str, tuple[tuple[int, ...], np.dtype]] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                if info.compress_type == zipfile.ZIP_STORED:
                    if info.file_size > file_size:
                        raise ValueError(f"member {name!r} is larger than the file")
                elif info.file_size > max(_DEFLATE_FREE, _DEFLATE_RATIO * info.compress_size):
                    raise ValueError(
                        f"member {name!r} would expand {info.file_size} bytes from "
                        f"{info.compress_size}"
                    )
                if name == "header" and info.file_size > _HEADER_LIMIT:
                    raise ValueError("header member too large")
                with archive.open(info) as f:
                    version = np.lib.format.read_magic(f)
                    if version == (1, 0):
                        shape, _, dtype = np.lib.format.read_array_header_1_0(f)
                    elif version == (2, 0):
                        shape, _, dtype = np.lib.format.read_array_header_2_0(f)
                    else:
                        raise ValueError(f"member {name!r}: npy format {version} not supported")
                    offset = f.tell()
                if dtype.hasobject:
                    raise ValueError(f"member {name!r} holds Python objects")
                declared = math.prod(shape) * dtype.itemsize
                if declared != info.file_size - offset:
                    raise ValueError(
                        f"member {name!r} declares {declared} bytes of data but "
                        f"holds {info.file_size - offset}"
                    )
                members[name] = (tuple(int(d) for d in shape), dtype)
    except _READ_ERRORS as exc:
        raise DatasetError(f"{path}: not a zsl-core index ({_one_line(exc)})") from None
    return members


def _check_shapes(members: dict[str, tuple[tuple[int, ...], np.dtype]], header: dict) -> None:
    """Column shapes agree with each other and with the header, before the columns are read."""
    for name in ("header", "ids", "paths", "embeddings"):
        if name not in members:
            raise KeyError(f"{name} is not a file in the archive")
    n = members["ids"][0][0] if members["ids"][0] else 0
    if len(members["ids"][0]) != 1 or len(members["paths"][0]) != 1:
        raise ValueError("ids and paths must be one-dimensional")
    tracks = header.get("tracks")
    if isinstance(tracks, int) and tracks != n:
        raise ValueError(f"the header says {tracks} tracks, the ids column has {n}")
    for name in _COLUMNS:
        if name not in members:
            continue
        shape = members[name][0]
        if len(shape) > 2 or (shape and shape[0] != n) or (not shape and n):
            raise ValueError(f"{name} has shape {shape} for {n} tracks")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


def _int_column(values: Sequence[int] | np.ndarray | None, n: int, name: str) -> np.ndarray | None:
    if values is None:
        return None
    column = np.asarray(values, dtype=np.int64).reshape(-1)
    if len(column) != n:
        raise ValueError(f"{name} has {len(column)} values for {n} tracks")
    return column


def _encode_paths(paths: Sequence[str]) -> np.ndarray:
    """Paths as a bytes array: numpy's str arrays cannot hold the surrogate escapes of non-UTF-8 names."""
    return (
        np.array([os.fsencode(p) for p in paths], dtype=bytes) if paths else np.zeros(0, dtype="S1")
    )


def _decode_paths(column: np.ndarray) -> list[str]:
    if column.dtype.kind == "S":  # format 2: bytes
        return [os.fsdecode(bytes(p)) for p in column]
    return [str(p) for p in column]  # format 1: str
