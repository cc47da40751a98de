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

Shards: the per-track files are the resumable unit of a build, but a trainer that opens
100,000 small files and copies one chunk at a time spends its time in Python, not on the
model. So a finished build packs every cached track into a few large raw float16 files
(`pack_shards`):
    shards/shard-<pack>-000.f16   the [C, T] arrays of many tracks back to back, <= 1 GiB each
    shards/shards.json            track id -> shard, element offset, frames; what it was packed from
`FeatureCache` maps each shard once (np.memmap) and hands out views; a track the shards do
not hold, or shards older than the index (a later build added tracks), falls back to the
per-track file. Packing is one sequential copy, written under temporary names and renamed
into place, the index last: a killed pack leaves only files no reader looks at, and the next
pack removes them. The shards double the disk use of the cache; deleting `shards/` is safe.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from zsl_core.audio import N_MELS, SAMPLE_RATE, load_audio, mel_spectrogram
from zsl_core.errors import AudioError, DatasetError

INDEX_NAME = "index.jsonl"
META_NAME = "cache.json"
SHARD_DIR = "shards"
SHARD_INDEX = "shards.json"
SHARD_FORMAT = 1
MAX_SHARD_BYTES = 1 << 30
_SHARD_DTYPE = np.dtype("<f2")
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
        return (
            f"{len(self.computed)} computed, {len(self.skipped)} already cached, "
            f"{len(self.failed)} failed"
        )


def feature_file_name(track_id: str) -> str:
    """Relative file name of a track's mel: readable prefix + hash, in a 2-character folder."""
    digest = hashlib.sha1(track_id.encode("utf-8")).hexdigest()
    readable = re.sub(r"[^A-Za-z0-9_-]+", "_", track_id)[:40].strip("_") or "track"
    return f"{digest[:2]}/{readable}-{digest[:16]}.npy"


# --------------------------------------------------------------------------- building


def build_feature_cache(
    tracks: list[tuple[str, Path]],
    cache_dir: str | Path,
    workers: int | None = None,
    max_seconds: float | None = None,
    progress: bool = True,
    kind: str = "mel",
    pack: bool = True,
    on_track: Callable[[int, int], None] | None = None,
) -> CacheReport:
    """Compute the mel of every (track_id, audio_path) not yet in `cache_dir`.

    `workers` processes (default: all cores; 0 or 1 runs in this process) decode in
    parallel; `max_seconds` keeps only the start of each track (the authors used 30 s
    clips). Files that fail to decode are listed in the report's `failed` with the reason,
    and the build goes on. `pack` then packs the cache into shards (`pack_shards`; a no-op
    when the shards are already current). `on_track(done, total)` is called once before the
    first track and after each one (counting only the tracks left to compute), so a caller can
    show progress and an ETA measured from real throughput.
    """
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    _claim_kind(cache_dir, kind)
    _remove_stale_temporaries(cache_dir)
    _check_unique_ids(tracks)
    report = CacheReport()
    cache = FeatureCache(cache_dir, use_shards=False)
    indexed = set(cache.ids())
    todo = []
    for track_id, path in tracks:
        if (cache_dir / feature_file_name(track_id)).is_file():
            report.skipped.append(track_id)
            if track_id not in indexed:
                _append_index(cache_dir, [track_id])
        else:
            todo.append((track_id, str(path)))
    if on_track is not None:
        on_track(0, len(todo))
    with tqdm(total=len(todo), disable=not progress, unit="track", desc=f"{kind} features") as bar:
        for done, (track_id, reason) in enumerate(
            _run(todo, cache_dir, workers, max_seconds, kind), 1
        ):
            if reason is None:
                report.computed.append(track_id)
                _append_index(cache_dir, [track_id])
            else:
                report.failed[track_id] = reason
            bar.update(1)
            if on_track is not None:
                on_track(done, len(todo))
    if (
        pack and os.environ.get("RANK", "0") == "0"
    ):  # under torchrun one process packs; see pack_shards
        pack_shards(cache_dir, progress=progress)
    return report


def _claim_kind(cache_dir: Path, kind: str) -> None:
    """Record what the cache holds; refuse to mix kinds in one folder."""
    if kind not in KINDS:
        raise DatasetError(f"unknown feature kind {kind!r} (known: {', '.join(KINDS)})")
    existing = cache_kind(cache_dir)
    if (cache_dir / META_NAME).exists() and existing != kind:
        raise DatasetError(
            f"{cache_dir}: holds {existing} features, not {kind}; use another --cache folder"
        )
    if not (cache_dir / META_NAME).exists():
        (cache_dir / META_NAME).write_text(json.dumps({"kind": kind}) + "\n", encoding="utf-8")


def cache_kind(cache_dir: str | Path) -> str:
    """'mel' or 'musicnn' (a cache made before kinds existed holds mels)."""
    try:
        return json.loads((Path(cache_dir) / META_NAME).read_text(encoding="utf-8"))["kind"]
    except (OSError, ValueError, KeyError):
        return "mel"


def _run(
    todo: list[tuple[str, str]],
    cache_dir: Path,
    workers: int | None,
    max_seconds: float | None,
    kind: str = "mel",
) -> Iterator[tuple[str, str | None]]:
    """Yield (track_id, failure reason or None) as tracks finish, in a pool or inline."""
    workers = (os.cpu_count() or 1) if workers is None else workers
    if workers <= 1 or len(todo) <= 1:
        for track_id, path in todo:
            yield _compute_one(track_id, path, str(cache_dir), max_seconds, kind)
        return
    # spawn, not fork: forking a process that has started torch's thread pools can hang.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=min(workers, len(todo)), mp_context=context, initializer=_init_worker
    ) as pool:
        futures = [
            pool.submit(_compute_one, track_id, path, str(cache_dir), max_seconds, kind)
            for track_id, path in todo
        ]
        for future in as_completed(futures):
            yield future.result()


def _init_worker() -> None:
    """One torch thread per worker: the parallelism is across processes."""
    import torch  # torch: the workers run it; importing this module does not load it

    torch.set_num_threads(1)


def _compute_one(
    track_id: str, path: str, cache_dir: str, max_seconds: float | None, kind: str = "mel"
) -> tuple[str, str | None]:
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
    from zsl_core import musicnn  # torch: only the musicnn feature cache runs the network

    audio = load_audio(path, musicnn.SAMPLE_RATE, duration=max_seconds)
    if len(audio) == 0:
        raise AudioError(path, "no audio samples decoded")
    model = musicnn.shared_model(musicnn.BACKBONE_MODEL, "cpu")
    return model.extract(audio)["penultimate"].T.astype(np.float16)


def _check_unique_ids(tracks: Iterable[tuple[str, Path]]) -> None:
    seen: dict[str, str] = {}
    for track_id, path in tracks:
        if track_id in seen and seen[track_id] != str(path):
            raise DatasetError(
                f"track id {track_id!r} is used for two files: {seen[track_id]} and {path}"
            )
        seen[track_id] = str(path)


def _remove_stale_temporaries(cache_dir: Path) -> None:
    """Half-written files of a killed build; they never carry the final name."""
    for stale in cache_dir.glob(f"*/*{_TMP_MARK}*.npy"):
        stale.unlink(missing_ok=True)


def _append_index(cache_dir: Path, track_ids: list[str]) -> None:
    lines = "".join(
        json.dumps({"id": t, "file": feature_file_name(t)}, ensure_ascii=False) + "\n"
        for t in track_ids
    )
    index = cache_dir / INDEX_NAME
    with open(index, "ab+") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() > 0:  # a killed build may have left a torn line: end it first
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":
                lines = "\n" + lines
        handle.write(lines.encode("utf-8"))


# --------------------------------------------------------------------------- shards


@dataclass
class PackReport:
    """What `pack_shards` did: `packed` is False when the shards were already current."""

    packed: bool
    tracks: int
    shards: int
    bytes: int

    def summary(self) -> str:
        verb = "packed" if self.packed else "already packed"
        return (
            f"{verb}: {self.tracks} tracks in {self.shards} shard(s), {self.bytes / 2**20:.1f} MiB"
        )


def pack_shards(
    cache_dir: str | Path,
    max_shard_bytes: int = MAX_SHARD_BYTES,
    force: bool = False,
    progress: bool = False,
) -> PackReport:
    """Copy every cached track into a few large float16 shard files plus one offsets index.

    A no-op when the shards already hold everything the index lists (unless `force`). One
    sequential pass, in index order; a track larger than `max_shard_bytes` gets a shard of
    its own. Files are written under temporary names and renamed, `shards.json` last, so a
    killed pack is never read; its leftovers and the previous pack's shards are removed.
    One packer at a time per folder (like a build): the trainer packs on rank 0 only.
    """
    cache_dir = Path(cache_dir)
    current = read_shard_index(cache_dir)
    if current is not None and not force:
        return PackReport(
            False,
            len(current["tracks"]),
            len(current["shards"]),
            sum(int(x["bytes"]) for x in current["shards"]),
        )
    index_bytes = _index_bytes(cache_dir)  # before listing: a later append makes these shards stale
    cache = FeatureCache(cache_dir, use_shards=False)
    folder = cache_dir / SHARD_DIR
    folder.mkdir(exist_ok=True)
    _remove_shard_leftovers(folder, keep=())
    pack_id = f"{time.time_ns():x}{os.getpid():x}"
    shards: list[dict] = []
    tracks: list[list] = []
    handle, written, temporaries = None, 0, []
    try:
        for track_id in tqdm(
            cache.ids(), disable=not progress, unit="track", desc="packing shards"
        ):
            try:
                mel = np.ascontiguousarray(cache[track_id], dtype=_SHARD_DTYPE)
            except (KeyError, DatasetError):
                continue  # unreadable: left to the per-track path, which reports it when read
            if handle is None or (written and written + mel.nbytes > max_shard_bytes):
                if handle is not None:
                    handle.close()
                    shards[-1]["bytes"] = written
                name = f"shard-{pack_id}-{len(shards):03d}.f16"
                temporary = folder / f"{name}{_TMP_MARK}{os.getpid()}"
                handle, written = open(temporary, "wb"), 0
                temporaries.append((temporary, folder / name))
                shards.append({"file": name, "bytes": 0})
            tracks.append(
                [track_id, len(shards) - 1, written // _SHARD_DTYPE.itemsize, int(mel.shape[1])]
            )
            handle.write(mel.tobytes())
            written += mel.nbytes
        if handle is not None:
            handle.close()
            shards[-1]["bytes"] = written
            handle = None
    finally:
        if handle is not None:
            handle.close()
    for temporary, final in temporaries:
        os.replace(temporary, final)
    index = {
        "format": SHARD_FORMAT,
        "kind": cache.kind,
        "channels": cache.channels,
        "dtype": _SHARD_DTYPE.str,
        "index_bytes": index_bytes,
        "shards": shards,
        "tracks": tracks,
    }
    temporary_index = folder / f"{SHARD_INDEX}{_TMP_MARK}{os.getpid()}"
    temporary_index.write_text(json.dumps(index, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(temporary_index, folder / SHARD_INDEX)
    _remove_shard_leftovers(folder, keep={x["file"] for x in shards})
    return PackReport(True, len(tracks), len(shards), sum(x["bytes"] for x in shards))


def read_shard_index(cache_dir: str | Path) -> dict | None:
    """The shard index if it is current (same cache index, every shard whole), else None."""
    cache_dir = Path(cache_dir)
    try:
        index = json.loads((cache_dir / SHARD_DIR / SHARD_INDEX).read_text(encoding="utf-8"))
        if (
            index["format"] != SHARD_FORMAT
            or index["dtype"] != _SHARD_DTYPE.str
            or index["kind"] != cache_kind(cache_dir)
            or index["index_bytes"] != _index_bytes(cache_dir)
        ):
            return None
        for shard in index["shards"]:
            if (cache_dir / SHARD_DIR / shard["file"]).stat().st_size != shard["bytes"]:
                return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return index


def _index_bytes(cache_dir: Path) -> int:
    try:
        return (cache_dir / INDEX_NAME).stat().st_size
    except FileNotFoundError:
        return 0


def _remove_shard_leftovers(folder: Path, keep: Iterable[str]) -> None:
    """A killed pack's temporaries and shards no index names; a file another process still
    maps (Windows refuses to delete it) is left for the next pack."""
    keep = set(keep)
    for path in folder.iterdir():
        leftover = _TMP_MARK in path.name or (
            path.name.startswith("shard-") and path.name not in keep
        )
        if leftover:
            try:
                path.unlink()
            except OSError:
                pass


# --------------------------------------------------------------------------- reading


class FeatureCache(Mapping[str, np.ndarray]):
    """Read-only view of a cache folder: `cache[track_id]` is a memory-mapped [128, T].

    With `use_shards` (the default) the arrays come from the packed shards when they are
    current, each shard mapped once; otherwise, and for any track they lack, from the
    per-track files. Pickles as its folder name only (DataLoader workers reopen the maps).
    """

    def __init__(self, cache_dir: str | Path, use_shards: bool = True) -> None:
        self.cache_dir = Path(cache_dir)
        self.kind = cache_kind(self.cache_dir)
        self.channels = KINDS.get(self.kind, N_MELS)
        self.use_shards = use_shards
        self._entries: dict[str, tuple[int, int, int]] | None = None
        self._maps: list[np.ndarray] = []

    def __getstate__(self) -> dict:
        return {"cache_dir": self.cache_dir, "use_shards": self.use_shards}

    def __setstate__(self, state: dict) -> None:
        type(self).__init__(self, state["cache_dir"], state["use_shards"])

    def path(self, track_id: str) -> Path:
        return self.cache_dir / feature_file_name(track_id)

    @property
    def sharded(self) -> bool:
        """True when reads come from current shards."""
        return bool(self._shard_entries())

    def ensure_shards(self, pack: bool = True, progress: bool = False) -> bool:
        """Pack the shards if they are missing or stale (when `pack` and the folder is
        writable), then read from them; False means per-track files are read."""
        if not self.use_shards:
            return False
        if (
            pack
            and read_shard_index(self.cache_dir) is None
            and (self.cache_dir / INDEX_NAME).is_file()
        ):
            try:
                pack_shards(self.cache_dir, progress=progress)
            except OSError:
                pass  # a read-only cache: the per-track files still work
        self._entries, self._maps = None, []
        return self.sharded

    def _shard_entries(self) -> dict[str, tuple[int, int, int]]:
        if self._entries is None:
            self._entries, self._maps = {}, []
            index = read_shard_index(self.cache_dir) if self.use_shards else None
            if index is not None and index["channels"] == self.channels:
                folder = self.cache_dir / SHARD_DIR
                self._maps = [
                    np.memmap(folder / x["file"], dtype=_SHARD_DTYPE, mode="r")
                    if x["bytes"]
                    else np.zeros(0, dtype=_SHARD_DTYPE)
                    for x in index["shards"]
                ]
                self._entries = {t: (int(s), int(o), int(f)) for t, s, o, f in index["tracks"]}
        return self._entries

    def __getitem__(self, track_id: str) -> np.ndarray:
        entry = self._shard_entries().get(track_id)
        if entry is not None:
            shard, offset, frames = entry
            return self._maps[shard][offset : offset + self.channels * frames].reshape(
                self.channels, frames
            )
        path = self.path(track_id)
        try:
            mel = np.load(path, mmap_mode="r", allow_pickle=False)
        except FileNotFoundError:
            raise KeyError(track_id) from None
        except (ValueError, OSError) as exc:
            raise DatasetError(
                f"{path}: unreadable feature file for track {track_id!r} ({exc})"
            ) from None
        if mel.ndim != 2 or mel.shape[0] != self.channels:
            raise DatasetError(
                f"{path}: expected [{self.channels}, T] {self.kind} features, got {mel.shape}"
            )
        return mel

    def __contains__(self, track_id: object) -> bool:
        return isinstance(track_id, str) and (
            track_id in self._shard_entries() or self.path(track_id).is_file()
        )

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

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids())

    # A Mapping (what training reads, as it reads a dict), compared and hashed as itself:
    # Mapping's == would read every array of the folder.
    __eq__ = object.__eq__
    __hash__ = object.__hash__


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
            raise DatasetError(
                f"{cache.cache_dir}: track {track_id!r} is not in the feature cache; build it first"
            )
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
