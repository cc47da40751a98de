"""The mel feature cache the trainer reads: one float16 `.npy` [128, T] per track.

Decoding and the STFT cost far more than a training step, so every track's mel is computed
once (`build_feature_cache`, in parallel worker processes) and memory-mapped from then on
(`FeatureCache`). Values are the paper's log10(1 + 10 * mel), not standardised: the
global mean and std depend on the training split, so they are computed separately
(`standardisation_stats`) and stored with the model.

Layout of a cache folder:
    index.jsonl                one {"id": ..., "file": ...} line per cached track (append-only)
    ab/<readable>-<hash>.npy   the mel; the name comes from the id alone

File names are derived from a hash of the track id, because ids may hold '/', spaces or
characters a file system rejects, and two ids differing only in case must not collide on
macOS or Windows. A killed build never leaves a half-written `.npy`: each is written to a
temporary name and renamed into place; the next build skips what is already there.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import re
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
from tqdm import tqdm

from zsl_core.audio import N_MELS, SAMPLE_RATE, load_audio, mel_spectrogram
from zsl_core.errors import AudioError, DatasetError

INDEX_NAME = "index.jsonl"
META_NAME = "cache.json"
_TMP_MARK = ".tmp-"

# What a cache can hold: the paper's mel spectrogram ([128, frames] at 22,050 Hz), or the
# frozen pretrained backbone's features (musicnn's 200-d penultimate layer per 3-s patch).
KINDS = {"mel": N_MELS, "musicnn": 200}


@dataclass
class CacheReport:
    """What a build did: computed now, already there, and failed with the reason why."""

    computed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        return (f"{len(self.computed)} computed, {len(self.skipped)} already cached, "
                f"{len(self.failed)} failed")


def feature_file_name(track_id: str) -> str:
    """Relative file name of a track's mel: readable prefix + hash, in a 2-character folder."""
    digest = hashlib.sha1(track_id.encode("utf-8")).hexdigest()
    readable = re.sub(r"[^A-Za-z0-9_-]+", "_", track_id)[:40].strip("_") or "track"
    return f"{digest[:2]}/{readable}-{digest[:16]}.npy"


# --------------------------------------------------------------------------- building


def build_feature_cache(tracks: list[tuple[str, Path]], cache_dir: str | Path,
                        workers: int | None = None, max_seconds: float | None = None,
                        progress: bool = True, kind: str = "mel") -> CacheReport:
    """Compute the mel of every (track_id, audio_path) not yet in `cache_dir`.

    `workers` processes (default: all cores; 0 or 1 runs in this process) decode in
    parallel; `max_seconds` keeps only the start of each track (the authors used 30 s
    clips). Files that fail to decode are listed in the report's `failed` with the reason,
    and the build goes on.
    """
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    _claim_kind(cache_dir, kind)
    _remove_stale_temporaries(cache_dir)
    _check_unique_ids(tracks)
    report = CacheReport()
    cache = FeatureCache(cache_dir)
    indexed = set(cache.ids())
    todo = []
    for track_id, path in tracks:
        if (cache_dir / feature_file_name(track_id)).is_file():
            report.skipped.append(track_id)
            if track_id not in indexed:
                _append_index(cache_dir, [track_id])
        else:
            todo.append((track_id, str(path)))
    with tqdm(total=len(todo), disable=not progress, unit="track", desc=f"{kind} features") as bar:
        for track_id, reason in _run(todo, cache_dir, workers, max_seconds, kind):
            if reason is None:
                report.computed.append(track_id)
                _append_index(cache_dir, [track_id])
            else:
                report.failed[track_id] = reason
            bar.update(1)
    return report


def _claim_kind(cache_dir: Path, kind: str) -> None:
    """Record what the cache holds; refuse to mix kinds in one folder."""
    if kind not in KINDS:
        raise DatasetError(f"unknown feature kind {kind!r} (known: {', '.join(KINDS)})")
    existing = cache_kind(cache_dir)
    if (cache_dir / META_NAME).exists() and existing != kind:
        raise DatasetError(f"{cache_dir}: holds {existing} features, not {kind}; use another --cache folder")
    if not (cache_dir / META_NAME).exists():
        (cache_dir / META_NAME).write_text(json.dumps({"kind": kind}) + "\n", encoding="utf-8")


def cache_kind(cache_dir: str | Path) -> str:
    """'mel' or 'musicnn' (a cache made before kinds existed holds mels)."""
    try:
        return json.loads((Path(cache_dir) / META_NAME).read_text(encoding="utf-8"))["kind"]
    except (OSError, ValueError, KeyError):
        return "mel"


def _run(todo: list[tuple[str, str]], cache_dir: Path, workers: int | None,
         max_seconds: float | None, kind: str = "mel") -> Iterator[tuple[str, str | None]]:
    """Yield (track_id, failure reason or None) as tracks finish, in a pool or inline."""
    workers = (os.cpu_count() or 1) if workers is None else workers
    if workers <= 1 or len(todo) <= 1:
        for track_id, path in todo:
            yield _compute_one(track_id, path, str(cache_dir), max_seconds, kind)
        return
    # spawn, not fork: forking a process that has started torch's thread pools can hang.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=context,
                             initializer=_init_worker) as pool:
        futures = [pool.submit(_compute_one, track_id, path, str(cache_dir), max_seconds, kind)
                   for track_id, path in todo]
        for future in as_completed(futures):
            yield future.result()


def _init_worker() -> None:
    """One torch thread per worker: the parallelism is across processes."""
    import torch

    torch.set_num_threads(1)


def _compute_one(track_id: str, path: str, cache_dir: str,
                 max_seconds: float | None, kind: str = "mel") -> tuple[str, str | None]:
    """Decode one track and write its features; an AudioError becomes the returned reason."""
    try:
        if kind == "musicnn":
            mel = _musicnn_features(path, max_seconds)
        else:
            audio = load_audio(path, SAMPLE_RATE, duration=max_seconds)
            if len(audio) == 0:
                raise AudioError(path, "no audio samples decoded")
            mel = mel_spectrogram(audio).astype(np.float16)
    except AudioError as exc:
        return track_id, str(exc)
    target = Path(cache_dir) / feature_file_name(track_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f"{target.stem}{_TMP_MARK}{os.getpid()}.npy")
    with open(temporary, "wb") as handle:
        np.save(handle, mel, allow_pickle=False)
    os.replace(temporary, target)
    return track_id, None


def _musicnn_features(path: str, max_seconds: float | None) -> np.ndarray:
    """[200, n_patches] float16: musicnn's penultimate layer for every 3-s patch of the track."""
    from zsl_core import musicnn
    from zsl_core.default_model import BACKBONE_MODEL, _musicnn_model

    audio = load_audio(path, musicnn.SAMPLE_RATE, duration=max_seconds)
    if len(audio) == 0:
        raise AudioError(path, "no audio samples decoded")
    model = _musicnn_model(BACKBONE_MODEL, "cpu")
    return model.extract(audio)["penultimate"].T.astype(np.float16)


def _check_unique_ids(tracks: Iterable[tuple[str, Path]]) -> None:
    seen: dict[str, str] = {}
    for track_id, path in tracks:
        if track_id in seen and seen[track_id] != str(path):
            raise DatasetError(f"track id {track_id!r} is used for two files: "
                               f"{seen[track_id]} and {path}")
        seen[track_id] = str(path)


def _remove_stale_temporaries(cache_dir: Path) -> None:
    """Half-written files of a killed build; they never carry the final name."""
    for stale in cache_dir.glob(f"*/*{_TMP_MARK}*.npy"):
        stale.unlink(missing_ok=True)


def _append_index(cache_dir: Path, track_ids: list[str]) -> None:
    lines = "".join(json.dumps({"id": t, "file": feature_file_name(t)}, ensure_ascii=False)
                    + "\n" for t in track_ids)
    index = cache_dir / INDEX_NAME
    with open(index, "ab+") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() > 0:  # a killed build may have left a torn line: end it first
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":
                lines = "\n" + lines
        handle.write(lines.encode("utf-8"))


# --------------------------------------------------------------------------- reading


class FeatureCache:
    """Read-only view of a cache folder: `cache[track_id]` is a memory-mapped [128, T]."""

    def __init__(self, cache_dir: str | Path) -> None:
        self.cache_dir = Path(cache_dir)
        self.kind = cache_kind(self.cache_dir)
        self.channels = KINDS.get(self.kind, N_MELS)

    def path(self, track_id: str) -> Path:
        return self.cache_dir / feature_file_name(track_id)

    def __getitem__(self, track_id: str) -> np.ndarray:
        path = self.path(track_id)
        try:
            mel = np.load(path, mmap_mode="r", allow_pickle=False)
        except FileNotFoundError:
            raise KeyError(track_id) from None
        except (ValueError, OSError) as exc:
            raise DatasetError(f"{path}: unreadable feature file for track {track_id!r} "
                               f"({exc})") from None
        if mel.ndim != 2 or mel.shape[0] != self.channels:
            raise DatasetError(f"{path}: expected [{self.channels}, T] {self.kind} features, got {mel.shape}")
        return mel

    def __contains__(self, track_id: object) -> bool:
        return isinstance(track_id, str) and self.path(track_id).is_file()

    def ids(self) -> list[str]:
        """Cached track ids, in the order they were added. A torn last line of the index
        (a build killed while writing it) is ignored; that track is re-indexed next build."""
        index = self.cache_dir / INDEX_NAME
        if not index.is_file():
            return []
        found: dict[str, None] = {}
        for line in index.read_text(encoding="utf-8").splitlines():
            try:
                track_id = json.loads(line)["id"]
            except (ValueError, KeyError, TypeError):
                continue
            if track_id not in found and track_id in self:
                found[track_id] = None
        return list(found)

    def __len__(self) -> int:
        return len(self.ids())


# --------------------------------------------------------------------------- statistics


def standardisation_stats(cache: FeatureCache, track_ids: Iterable[str]) -> tuple[float, float]:
    """One global mean and standard deviation over every mel value of `track_ids`.

    The authors standardised with one global pair (0.2262 / 0.2579 on MSD); compute it on
    the training tracks only. Streams track by track (Chan et al.'s pairwise update, in
    float64), so it never holds more than one mel in memory.
    """
    count, mean, m2 = 0, 0.0, 0.0
    for track_id in track_ids:
        if track_id not in cache:
            raise DatasetError(f"{cache.cache_dir}: track {track_id!r} is not in the feature "
                               "cache; build it first")
        values = np.asarray(cache[track_id], dtype=np.float64).ravel()
        if values.size == 0:
            continue
        n, track_mean = values.size, float(values.mean())
        track_m2 = float(((values - track_mean) ** 2).sum())
        delta, total = track_mean - mean, count + n
        mean += delta * n / total
        m2 += track_m2 + delta * delta * count * n / total
        count = total
    if count == 0:
        raise DatasetError(f"{cache.cache_dir}: no mel values to compute statistics from")
    return mean, float(np.sqrt(m2 / count))
