"""The product's inference path outside a library: files in, track analyses out.

`analyse_files` decodes files on threads while the model runs (what `zsl-core embed` and the
benchmarks use; a library scan does the same with worker processes, `app.scanner`), and
`embed_to_index` / `search_index` write and rank the index files `zsl-core embed` shards a
catalogue into. Every model is driven through the `Tagger` interface alone: its input spec
says how to decode, `analyse` turns a batch of decoded tracks into analyses. The research glue
(datasets, splits, training, evaluation) is `zsl_core.pipeline`.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from zsl_core import datasets
from zsl_core.errors import AudioError, DatasetError, ModelError, VectorsError
from zsl_core.index import SearchHit, TrackIndex
from zsl_core.model_spec import ModelSpec, is_default
from zsl_core.search import parse_query, rank_tracks
from zsl_core.tagger import Analysis, PayloadKind, Tagger
from zsl_core.tags import load_vocabulary
from zsl_core.vectors import normalise_tag
from zsl_core.walk import walk_audio

__all__ = [
    "analyse_files",
    "expand_audio_paths",
    "read_path_list",
    "parse_shard",
    "embed_to_index",
    "search_index",
]


def analyse_files(
    tagger: Tagger,
    paths: Sequence[str | Path],
    n_windows: int | None = None,
    threads: int = 2,
    batch_patches: int = 256,
) -> Iterator[tuple[int, Analysis | AudioError]]:
    """The analysis of many files, in order: yields (index, Analysis) or (index, AudioError).

    Why not one file at a time: the next files are decoded on `threads` threads while the
    networks run (decoders, resampling and the STFT release the GIL), and a model that takes
    patches (the built-in one) runs the patches of several tracks per forward pass, up to
    `batch_patches`. Results equal the tagger's own `analyse_file`, file by file.
    """
    spec = tagger.input_spec
    batched = spec.payload is PayloadKind.PATCHES

    def run(pending: list[tuple[int, Any]]) -> Iterator[tuple[int, Analysis]]:
        if pending:
            results = tagger.analyse([payload for _, payload in pending])
            yield from zip((index for index, _ in pending), results, strict=True)

    ahead = max(1, threads) * 2
    with cf.ThreadPoolExecutor(max(1, threads)) as pool:
        futures = {
            i: pool.submit(spec.decode, paths[i], n_windows) for i in range(min(ahead, len(paths)))
        }
        pending: list[tuple[int, Any]] = []
        size = 0
        for index in range(len(paths)):
            future = futures.pop(index)
            following = index + ahead
            if following < len(paths):
                futures[following] = pool.submit(spec.decode, paths[following], n_windows)
            try:
                payload = future.result()
            except AudioError as exc:
                yield from run(pending)
                pending, size = [], 0
                yield index, exc
                continue
            pending.append((index, payload))
            size += len(payload)
            if size >= batch_patches or not batched:
                yield from run(pending)
                pending, size = [], 0
        yield from run(pending)


def expand_audio_paths(items: Sequence[str | Path]) -> list[str]:
    """Absolute paths of the given files, and of every audio file under the given folders.

    Folders are walked by the scan's walker (`zsl_core.walk`: symlinked folders entered once,
    each file once, resource forks skipped) and listed sorted, so every job of a sharded run
    that names the same folder sees the same list and `--shard i/n` splits it without overlap.
    A missing path stays in the list: it fails later with its own reason.
    """
    out: list[str] = []
    for item in items:
        path = Path(item).expanduser().absolute()
        if not path.is_dir():
            out.append(str(path))
            continue
        found = walk_audio([os.fsencode(path)])
        out += sorted(os.fsdecode(entry.path) for entry in found.files)
    return out


def read_path_list(path: str | Path) -> list[str]:
    """One path per line (blank lines and '#' comments skipped), e.g. the output of `find`;
    relative paths are taken against the list's folder, as in a manifest."""
    source = Path(path).expanduser()
    try:
        lines = source.read_text(encoding="utf-8", errors="surrogateescape").splitlines()
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read the file list ({exc.strerror or exc})") from None
    base = source.absolute().parent
    return [
        str(base / line.strip())
        for line in lines
        if line.strip() and not line.lstrip().startswith("#")
    ]


def parse_shard(shard: str | None) -> tuple[int, int]:
    """'i/n' -> (i, n), 0-based; None -> (0, 1)."""
    if not shard:
        return 0, 1
    try:
        index, count = (int(x) for x in shard.split("/"))
    except ValueError:
        raise DatasetError(f"--shard must look like i/n, got '{shard}'") from None
    if count < 1 or not 0 <= index < count:
        raise DatasetError(f"--shard {shard}: need 0 <= i < n")
    return index, count


def embed_to_index(
    files: Sequence[str] = (),
    manifest: str | Path | None = None,
    model: str | Path = "default",
    out: str | Path = "index.npz",
    shard: str | None = None,
    n_windows: int | None = None,
    vectors: str | Path | None = None,
    progress: bool = True,
    device: str = "auto",
    precision: str = "fp32",
) -> str:
    """Embed files (or a manifest's tracks, or one shard of them) and save a search index.

    Shards are taken by position (every n-th track), so any job runner can fan a catalogue
    out as `--shard 0/8` ... `--shard 7/8`; `zsl-core search` merges the parts, and
    `zsl-tagger import` takes them into a desktop library. Each row keeps the seen-label
    scores and the file's size and mtime, so the library can trust it without decoding again.
    """
    named: list[str] = []
    if manifest:
        entries = [(t.id, str(t.path)) for t in datasets.read_manifest(manifest)]
    else:
        entries = [(f, f) for f in expand_audio_paths(files)]
        # The folder the user named (not just the deepest one holding this shard's files), so an
        # importer remembers the whole catalogue folder.
        named = [
            str(Path(f).expanduser().absolute())
            if Path(f).expanduser().is_dir()
            else str(Path(f).expanduser().absolute().parent)
            for f in files
        ]
    if not entries:
        raise DatasetError("nothing to embed: give audio files, folders, --list or --manifest")
    index, count = parse_shard(shard)
    entries = entries[index::count]
    spec = ModelSpec(model, vectors, device, precision).resolved()
    precision = spec.precision
    tagger = spec.load()
    ids, paths, rows, scores, sizes, mtimes, failures = [], [], [], [], [], [], []
    stats: dict[int, os.stat_result] = {}
    readable = []
    for i, (_, path) in enumerate(entries):
        try:
            stats[i] = os.stat(path)  # before decoding: a file changed later will not match it
            readable.append(i)
        except OSError as exc:
            failures.append(f"{path}: {exc.strerror or exc}")
    analysed = analyse_files(tagger, [entries[i][1] for i in readable], n_windows)
    for position, outcome in tqdm(
        analysed, total=len(readable), disable=not progress, unit="track", desc="embedding"
    ):
        track_id, path = entries[readable[position]]
        if isinstance(outcome, AudioError):
            failures.append(str(outcome))
            continue
        before = stats[readable[position]]
        ids.append(track_id)
        paths.append(path)
        rows.append(outcome.embedding)
        scores.append(outcome.seen_scores)
        sizes.append(before.st_size)
        mtimes.append(before.st_mtime_ns)
    dim = rows[0].shape[-1] if rows else tagger.stored_dim()
    n_seen = len(tagger.seen_labels)
    matrix = np.stack(rows) if rows else np.zeros((0, dim), np.float32)
    info = {
        "model_key": spec.key,
        "vectors": _absolute(vectors),
        "precision": precision,
        "n_windows": n_windows or 0,
        "seen_labels": list(tagger.seen_labels),
        "shard": f"{index}/{count}",
        "root": _common_folder(named if not manifest else paths),
    }
    TrackIndex(
        ids,
        paths,
        matrix,
        model=_model_name(model),
        seen_scores=np.stack(scores) if scores else np.zeros((0, n_seen), np.float32),
        sizes=sizes,
        mtimes_ns=mtimes,
        info=info,
    ).save(out)
    lines = [f"wrote {len(ids)} track embeddings to {out}"]
    if failures:
        lines.append(f"skipped {len(failures)} file(s):")
        lines += [f"  {reason}" for reason in failures]
    return "\n".join(lines)


def _common_folder(paths: Sequence[str]) -> str | None:
    """The deepest folder holding every path (what an importer maps to where the files are now).
    Paths that are folders count as themselves, files as their folder."""
    folders = [p if os.path.isdir(p) else os.path.dirname(p) for p in paths]
    try:
        return os.path.commonpath(folders) if folders else None
    except ValueError:  # a mix of absolute and relative paths, or of drives
        return None


def _absolute(path: str | Path | None) -> str | None:
    return None if path is None else str(Path(path).expanduser().resolve())


def _model_name(model: str | Path | None) -> str:
    return "default" if model is None or is_default(model) else str(Path(model).resolve())


def search_index(
    query: str,
    index_paths: Sequence[str | Path],
    model: str | Path | None = None,
    top_k: int = 10,
    vectors: str | Path | None = None,
    floor: float | None = None,
):
    """Rank the tracks of one or more index files by relevance to `query`.

    Without `model`/`vectors`, the index's own model, word vectors and precision are used."""
    index = TrackIndex.merge([TrackIndex.load(p) for p in index_paths])
    precision = "fp32"
    if model is None:
        vectors = vectors or index.info.get("vectors")
        precision = str(index.info.get("precision") or "fp32")
    tagger = ModelSpec(model or index.model or "default", vectors, precision=precision).load()
    parsed = parse_query(query, tagger, {normalise_tag(w) for w in load_vocabulary()})
    if not parsed.terms:
        raise VectorsError(f"no word of '{query}' is known to the model")
    seen = None if index.seen_scores is None else index.seen_scores.astype(np.float32)
    if seen is not None and len(index) and seen.shape[1] != len(tagger.seen_labels):
        raise ModelError(f"the index was made by another model ({index.model_key}); pass --model")
    embeddings = index.embeddings.astype(np.float32) if index.dim else None
    if embeddings is not None and tagger.stored_dim() and index.dim != tagger.stored_dim():
        raise ModelError(f"the index was made by another model ({index.model_key}); pass --model")
    ranking = rank_tracks(tagger, seen, embeddings, parsed, top_k=top_k, floor=floor)
    hits = [
        SearchHit(index.ids[i], index.paths[i], float(s))
        for i, s in zip(ranking.rows, ranking.scores, strict=True)
    ]
    return hits, parsed.unknown
