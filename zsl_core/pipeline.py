"""The research pipeline glued from files on disk: what each `zsl-core` subcommand runs.

Each function reads the files a user has (manifest, split, feature cache, vectors, model
folder), calls the modules that hold the science, and writes its result. Keeping this out of
cli.py lets tests and the app run exactly what the command line runs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from zsl_core import datasets, features, splits
from zsl_core.errors import DatasetError, ModelError, VectorsError
from zsl_core.resources import resource_path
from zsl_core.tags import Vocabulary, read_vocabulary_file
from zsl_core.vectors import (
    SideInformation,
    attribute_vectors,
    attributes_from_csv,
    normalise_tag,
    word_side_information,
)
from zsl_core.word_space import WORD_SPACE_CHOICES, load_word_space

VOCAB_DIR = resource_path("vocab")
DEFAULT_MODEL_KEY = "default-2"

if TYPE_CHECKING:
    from zsl_core.tagger import Tagger


# --- dataset, features and split ---------------------------------------------------------


def track_tags(tracks: Sequence[datasets.Track]) -> dict[str, list[str]]:
    return {t.id: list(t.tags) for t in tracks}


def build_features(
    manifest: str | Path,
    cache_dir: str | Path,
    workers: int | None = None,
    max_seconds: float | None = None,
    progress: bool = True,
) -> features.CacheReport:
    """Mel spectrograms of every manifest track into a resumable cache (failures reported, not fatal)."""
    tracks = datasets.read_manifest(manifest)
    return features.build_feature_cache(
        [(t.id, t.path) for t in tracks],
        cache_dir,
        workers=workers,
        max_seconds=max_seconds,
        progress=progress,
    )


def make_split_file(
    manifest: str | Path,
    out: str | Path,
    seen_fraction: float = 0.8,
    valid_fraction: float = 0.1,
    seed: int = 0,
) -> splits.Split:
    """The paper's split of a manifest, saved so every later step reads the same one."""
    tracks = datasets.read_manifest(manifest)
    split = splits.make_split(
        track_tags(tracks), seen_fraction=seen_fraction, valid_fraction=valid_fraction, seed=seed
    )
    split.save(out)
    return split


# --- side information --------------------------------------------------------------------


def side_information(
    spec: str, labels: Sequence[str], tracks: Sequence[datasets.Track], seed: int = 0
) -> SideInformation:
    """Side-information vectors for `labels` from a spec string.

    word:PATH      word vectors (GloVe, word2vec, fastText, our .npz; or `minilm`, the built-in
                   sentence encoder, or `glove`, the built-in GloVe); labels must all embed
    attributes     OpenMIC-style instrument likelihoods stored in the manifest (paper's Exp. 1)
    csv:PATH       a label,attribute,value table
    random:DIM     random Gaussian vectors: the control that shows whether side information matters
    """
    kind, _, arg = spec.partition(":")
    if kind == "word":
        vectors = load_word_space(arg, strict=False)
        side, missing = word_side_information(vectors, list(labels))
        if missing:
            raise VectorsError(
                f"{arg}: cannot embed {len(missing)} label(s): {', '.join(missing[:10])}"
                " (filter them out when importing, e.g. `import msd --vectors`)"
            )
        return side
    if kind == "attributes":
        names = sorted({a for t in tracks for a in t.attributes})
        if not names:
            raise DatasetError(
                "the manifest has no attributes: use word:PATH or csv:PATH side information"
            )
        wanted = set(labels)
        side = attribute_vectors(
            {t.id: [x for x in t.tags if x in wanted] for t in tracks},
            {t.id: dict(t.attributes) for t in tracks},
            _attribute_order(names),
        )
        return _reorder(side, labels, "attributes")
    if kind == "csv":
        return _reorder(attributes_from_csv(arg), labels, arg)
    if kind == "random":
        dim = int(arg or 40)
        rng = np.random.default_rng(seed)
        matrix = rng.standard_normal((len(labels), dim)).astype(np.float32)
        return SideInformation(
            labels=list(labels), matrix=matrix, kind="random", source=f"random:{dim}:{seed}"
        )
    raise VectorsError(
        f"unknown side information '{spec}' (use word:PATH, attributes, csv:PATH or random:DIM)"
    )


def _attribute_order(names: Sequence[str]) -> list[str]:
    from zsl_core.vectors import OPENMIC_INSTRUMENTS

    known = [n for n in OPENMIC_INSTRUMENTS if n in names]
    return known + [n for n in sorted(names) if n not in known]


def _reorder(side: SideInformation, labels: Sequence[str], source: str) -> SideInformation:
    row = {label: i for i, label in enumerate(side.labels)}
    missing = [label for label in labels if label not in row]
    if missing:
        raise VectorsError(
            f"{source}: no side information for {len(missing)} label(s): {', '.join(missing[:10])}"
        )
    matrix = side.matrix[[row[label] for label in labels]]
    return SideInformation(labels=list(labels), matrix=matrix, kind=side.kind, source=side.source)


# --- vocabulary --------------------------------------------------------------------------


def load_vocabulary(path: str | Path | None = None) -> Vocabulary:
    """Candidate unseen words with their kinds: a user file, or every shipped
    resources/vocab/*.txt (one word a line; see `zsl_core.tags.read_vocabulary_file`)."""
    files = [Path(path)] if path else sorted(VOCAB_DIR.glob("*.txt"))
    vocabulary = Vocabulary([], {})
    for file in files:
        try:
            read_vocabulary_file(file, vocabulary)
        except OSError as exc:
            raise DatasetError(f"{file}: cannot read vocabulary ({exc.strerror})") from None
        except (UnicodeDecodeError, ValueError) as exc:
            raise DatasetError(f"{file}: not a vocabulary file ({exc})") from None
    return vocabulary


# --- taggers: the built-in default or a trained model ------------------------------------


def load_tagger(
    model: str | Path | None = "default",
    vectors: str | Path | None = None,
    device: str = "auto",
    precision: str = "fp32",
) -> Tagger:
    """The model named on the command line: 'default' (built in) or a `zsl-core train` folder.
    `precision` applies to the built-in model's musicnn networks."""
    if model is None or str(model) == "default":
        from zsl_core.default_model import load_default_tagger

        return load_default_tagger(device=device, vectors_path=vectors, precision=precision)
    from zsl_core.trained import load_trained_tagger

    return load_trained_tagger(model, vectors=vectors, device=device)


# --- index and search --------------------------------------------------------------------


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


def model_key(
    model: str | Path | None = "default", vectors: str | Path | None = None, precision: str = "fp32"
) -> str:
    """A model's full identity, the name its results are stored under: 'default' (with the bundled
    vectors and fp32), or a resolved folder / vectors path and the precision, so results of
    different embedding spaces or arithmetic never mix (in a library or across index shards)."""
    if model is None or str(model) == "default":
        # The built-in model stores only its seen-label probabilities (its embeddings are derived
        # from them in whatever word space is chosen), so the word space is not part of its key.
        # "-2": 71 labels (the speech detector's "spoken word" joined musicnn's 70).
        return DEFAULT_MODEL_KEY if precision == "fp32" else f"{DEFAULT_MODEL_KEY}+{precision}"
    name = str(Path(model).expanduser().resolve())
    return name if not vectors else f"{name}+vectors:{Path(vectors).expanduser().resolve()}"


def analyse_batch(
    tagger: Tagger, payloads: Sequence, patches: bool
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(embedding, seen scores) per track from decoded payloads: musicnn patches [n, 187, 96] per
    track for the built-in model (`patches=True`), lists of audio segments for other models.

    The built-in model runs every track's patches through each network in shared batches (the
    scan and `zsl-core embed` both use this); other models embed track by track.
    """
    if not patches:
        out = []
        for segments in payloads:
            embedding = np.asarray(tagger.embed_segments(segments), np.float32)
            out.append((embedding, np.asarray(tagger.seen_scores(embedding), np.float32)))
        return out
    from zsl_core.default_model import SPEECH
    from zsl_core.speech import low_energy_share

    joined = np.concatenate(list(payloads))
    taggrams = {
        name: model.extract_patches(joined, tagger.batch_size)["taggram"]
        for name, model in tagger.models.items()
    }
    out, start = [], 0
    for payload in payloads:
        stop = start + len(payload)
        means = {n: t[start:stop].mean(axis=0) for n, t in taggrams.items()}
        means[SPEECH] = np.array([low_energy_share(payload)], np.float32)
        probabilities = tagger.merge_probabilities(means)
        start = stop
        # The built-in model keeps no embedding: it is derived from the probabilities on demand.
        out.append((np.zeros(0, np.float32), np.asarray(probabilities, np.float32)))
    return out


def analyse_files(
    tagger: Tagger,
    paths: Sequence[str | Path],
    n_windows: int | None = None,
    threads: int = 2,
    batch_patches: int = 256,
):
    """(embedding, seen scores) of many files, in order: what a library stores per track. Yields (index, (embedding, seen scores)) or
    (index, AudioError) per file.

    Why not one file at a time: the next files are decoded on `threads` threads while
    the networks run (decoders, resampling and the STFT release the GIL), and the built-in
    model runs the patches of several tracks per forward pass. Results equal the tagger's own
    one-file analysis (`DefaultTagger.analyse_file`; `embed_file` + `seen_scores` for others).
    """
    import concurrent.futures as cf

    from zsl_core.audio import load_audio, load_windows
    from zsl_core.default_model import DefaultTagger
    from zsl_core.errors import AudioError

    patches = isinstance(tagger, DefaultTagger)  # musicnn patches, batched across tracks
    rate = getattr(tagger, "sample_rate", 16000)
    seconds = getattr(tagger, "window_seconds", 3.0)

    def decode(path: str | Path):
        if n_windows:
            segments = list(load_windows(path, n_windows, seconds, rate))
        else:
            whole = load_audio(path, rate)
            if whole.size == 0:
                raise AudioError(str(path), "no audio samples")
            segments = [whole]
        if patches:
            from zsl_core.default_model import segments_to_patches

            return segments_to_patches(segments)
        return segments

    def run(pending: list[tuple[int, object]]):
        if pending:
            results = analyse_batch(tagger, [payload for _, payload in pending], patches)
            yield from zip((index for index, _ in pending), results)

    ahead = max(1, threads) * 2
    with cf.ThreadPoolExecutor(max(1, threads)) as pool:
        futures = {i: pool.submit(decode, paths[i]) for i in range(min(ahead, len(paths)))}
        pending: list[tuple[int, object]] = []
        size = 0
        for index in range(len(paths)):
            future = futures.pop(index)
            following = index + ahead
            if following < len(paths):
                futures[following] = pool.submit(decode, paths[following])
            try:
                payload = future.result()
            except AudioError as exc:
                yield from run(pending)
                pending, size = [], 0
                yield index, exc
                continue
            pending.append((index, payload))
            size += len(payload)
            if size >= batch_patches or not patches:
                yield from run(pending)
                pending, size = [], 0
        yield from run(pending)


def expand_audio_paths(items: Sequence[str | Path]) -> list[str]:
    """Absolute paths of the given files, and of every audio file under the given folders.

    Folders are walked in sorted order (symlinked folders entered once), so every job of a
    sharded run that names the same folder sees the same list and `--shard i/n` splits it
    without overlap. A missing path stays in the list: it fails later with its own reason.
    """
    import os

    from zsl_core.audio import AUDIO_EXTENSIONS

    out: list[str] = []
    for item in items:
        path = Path(item).expanduser().absolute()
        if not path.is_dir():
            out.append(str(path))
            continue
        seen: set[tuple[int, int]] = set()
        found = []
        for folder, dirs, names in os.walk(path, followlinks=True):
            info = os.stat(folder)
            if (info.st_dev, info.st_ino) in seen:
                dirs[:] = []
                continue
            seen.add((info.st_dev, info.st_ino))
            dirs.sort()
            found += [
                os.path.join(folder, n) for n in names if Path(n).suffix.lower() in AUDIO_EXTENSIONS
            ]
        out += sorted(found)
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
    import os

    from tqdm import tqdm

    from zsl_core.errors import AudioError
    from zsl_core.index import TrackIndex

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
    if str(model) == "default":
        from zsl_core.default_model import resolve_precision

        precision = resolve_precision(precision, device)
    else:
        precision = "fp32"  # a trained model runs in float32
    tagger = load_tagger(model, vectors=vectors, device=device, precision=precision)
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
        embedding, seen = outcome
        before = stats[readable[position]]
        ids.append(track_id)
        paths.append(path)
        rows.append(embedding)
        scores.append(seen)
        sizes.append(before.st_size)
        mtimes.append(before.st_mtime_ns)
    dim = rows[0].shape[-1] if rows else tagger.stored_dim()
    n_seen = len(tagger.seen_labels)
    matrix = np.stack(rows) if rows else np.zeros((0, dim), np.float32)
    info = {
        "model_key": model_key(model, vectors, precision),
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
    import os

    folders = [p if os.path.isdir(p) else os.path.dirname(p) for p in paths]
    try:
        return os.path.commonpath(folders) if folders else None
    except ValueError:  # a mix of absolute and relative paths, or of drives
        return None


def _absolute(path: str | Path | None) -> str | None:
    return None if path is None else str(Path(path).expanduser().resolve())


def _model_name(model: str | Path | None) -> str:
    if model is None or str(model) == "default":
        return "default"
    return str(Path(model).resolve())


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
    from zsl_core.index import TrackIndex

    index = TrackIndex.merge([TrackIndex.load(p) for p in index_paths])
    precision = "fp32"
    if model is None:
        vectors = vectors or index.info.get("vectors")
        precision = str(index.info.get("precision") or "fp32")
    tagger = load_tagger(model or index.model or "default", vectors=vectors, precision=precision)
    from zsl_core.index import SearchHit
    from zsl_core.search import parse_query, rank_tracks

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
        for i, s in zip(ranking.rows, ranking.scores)
    ]
    return hits, parsed.unknown


# --- training and evaluation from files --------------------------------------------------


def _is_main_process() -> bool:
    import os

    return os.environ.get("RANK", "0") == "0"


def _absolute_side_spec(spec: str) -> str:
    kind, sep, arg = spec.partition(":")
    if kind in ("word", "csv") and arg and arg not in WORD_SPACE_CHOICES:
        return f"{kind}:{Path(arg).resolve()}"
    return spec


def default_side_spec(tracks: Sequence[datasets.Track]) -> str:
    """Instrument attributes when the manifest has them (Experiment 1), else the built-in
    sentence encoder's vectors of the labels (the app's word space; `zsl-core reproduce` uses
    GloVe, as the paper does)."""
    if any(t.attributes for t in tracks):
        return "attributes"
    return "word:minilm"


def ensure_features(
    tracks: Sequence[datasets.Track],
    cache_dir: str | Path,
    progress: bool = True,
    kind: str | None = None,
):
    """The feature cache for these tracks, computing what is missing (resumable).

    kind: "mel" (the paper's input) or "musicnn" (frozen pretrained backbone features);
    None keeps whatever the folder already holds.
    """
    if _world_size() > 1 and not _is_main_process():
        # Under torchrun only rank 0 builds: builds clear each other's temporary files, so
        # several builders in one folder would break each other's renames. The others wait.
        _wait_for_marker(Path(cache_dir) / _build_marker())
        return features.FeatureCache(cache_dir)
    cache = features.FeatureCache(cache_dir) if Path(cache_dir).is_dir() else None
    kind = kind or (cache.kind if cache is not None else "mel")
    if cache is None or any(t.id not in cache for t in tracks):
        report = features.build_feature_cache(
            [(t.id, t.path) for t in tracks], cache_dir, progress=progress, kind=kind
        )
        if report.failed and progress:
            print(report.summary())
        cache = features.FeatureCache(cache_dir)
    if _world_size() > 1:
        (Path(cache_dir) / _build_marker()).write_text("built\n", encoding="utf-8")
    return cache


def _world_size() -> int:
    import os

    return int(os.environ.get("WORLD_SIZE", "1"))


def _build_marker() -> str:
    """A file name unique to this torchrun job, written by rank 0 once the cache is complete."""
    import os

    job = os.environ.get("TORCHELASTIC_RUN_ID") or os.environ.get("MASTER_PORT", "job")
    return f".built-{re.sub(r'[^A-Za-z0-9_.-]', '_', job)}"


def _wait_for_marker(marker: Path, poll_seconds: float = 1.0) -> None:
    import time

    while not marker.exists():
        time.sleep(poll_seconds)


def train_from_files(
    manifest: str | Path,
    split_path: str | Path,
    setup: str,
    side: str | None,
    model_type: str,
    out_dir: str | Path,
    cache_dir: str | Path,
    backbone: str = "cnn",
    overrides: dict | None = None,
    resume: bool = False,
    progress: bool = True,
):
    """`zsl-core train`: read manifest, split and features, build side information, train, save.

    The model folder gets the weights and config (train.py), every label's side vector
    (seen and unseen, so the model can tag its unseen labels on its own) and history.json.
    """
    from zsl_core.train import TrainConfig, TrainData, train
    from zsl_core.trained import save_side_information

    tracks = datasets.read_manifest(manifest)
    tags = track_tags(tracks)
    split = splits.Split.load(split_path)
    kind = "musicnn" if backbone == "musicnn" else "mel"
    cache = ensure_features(tracks, cache_dir, progress=progress and _is_main_process(), kind=kind)
    if cache.kind != kind:
        raise DatasetError(
            f"{cache_dir}: holds {cache.kind} features; the {backbone} backbone needs {kind}"
        )
    train_ids = [t for t in split.train_tracks(setup, "train") if t in cache]
    valid_ids = [t for t in split.train_tracks(setup, "valid") if t in cache]
    if not train_ids:
        raise DatasetError(f"{split_path}: no track of {setup} has features in {cache_dir}")

    spec = _absolute_side_spec(side or default_side_spec(tracks))
    labels = list(split.seen) + list(split.unseen)
    side_all = side_information(spec, labels, tracks, seed=(overrides or {}).get("seed") or 0)
    seen_index = {label: i for i, label in enumerate(split.seen)}
    mean, std = features.standardisation_stats(cache, train_ids)

    settings = {k: v for k, v in (overrides or {}).items() if v is not None}
    if backbone == "musicnn":
        # frozen musicnn features: only the heads train; one 3-s patch is one training chunk
        settings.update(backbone="mlp", chunk_frames=1)
    config = TrainConfig(model=model_type, **settings)
    info = {
        "manifest": str(Path(manifest).resolve()),
        "split": str(Path(split_path).resolve()),
        "setup": setup,
        "cache": str(Path(cache_dir).resolve()),
        "side": spec,
        "features": kind,
        "side_kind": side_all.kind,
        "unseen_labels": list(split.unseen),
        "vectors": spec.partition(":")[2] if spec.startswith("word:") else None,
    }
    data = TrainData(
        features=cache,
        mean=mean,
        std=std,
        train_ids=train_ids,
        valid_ids=valid_ids,
        track_positive={
            t: [seen_index[x] for x in tags[t] if x in seen_index] for t in train_ids + valid_ids
        },
        seen_labels=list(split.seen),
        side_matrix=side_all.matrix[: len(split.seen)] if model_type == "embedding" else None,
        info=info,
    )
    result = train(config, data, out_dir, resume=resume, progress=progress)
    if _is_main_process():
        save_side_information(out_dir, side_all)
        history = [
            {"epoch": i + 1, **{k: v[i] for k, v in result.history.items()}}
            for i in range(len(result.history["train_loss"]))
        ]
        Path(out_dir, "history.json").write_text(
            json.dumps({"summary": result.summary(), "epochs": history}, indent=2) + "\n",
            encoding="utf-8",
        )
    return result


def evaluate_model(
    model_dir: str | Path,
    manifest: str | Path | None = None,
    split_path: str | Path | None = None,
    cache_dir: str | Path | None = None,
    side: str | None = None,
):
    """`zsl-core evaluate`: score every A+B+C track against every label and slice the paper's setups."""
    import torch

    from zsl_core.evaluate import evaluate_scores
    from zsl_core.models import load_config
    from zsl_core.tagger import cosine_matrix
    from zsl_core.train import embed_tracks
    from zsl_core.trained import TrainedTagger

    config = load_config(model_dir)
    manifest = manifest or config.get("manifest")
    split_path = split_path or config.get("split")
    cache_dir = cache_dir or config.get("cache")
    if not (manifest and split_path and cache_dir):
        raise ModelError(
            f"{model_dir}: give --manifest, --split and --cache (the model does not record them)"
        )
    tracks = datasets.read_manifest(manifest)
    split = splits.Split.load(split_path)
    cache = ensure_features(tracks, cache_dir, progress=False)
    tagger = TrainedTagger(model_dir, device="auto")
    ids = [t for t in list(split.A) + list(split.B) + list(split.C) if t in cache]
    labels = list(split.seen) + list(split.unseen)
    if side:
        side_all = side_information(_absolute_side_spec(side), labels, tracks)
    else:
        side_all = tagger.side.select(labels) if tagger.side is not None else None

    if tagger.model_type == "embedding":
        if side_all is None:
            raise ModelError(f"{model_dir}: no side information stored; pass --side")
        audio = embed_tracks(
            tagger.model, cache, ids, tagger.mean, tagger.std, chunk_frames=tagger.chunk_frames
        )
        with torch.no_grad():
            label_vectors = (
                tagger.model.embed_labels(
                    torch.from_numpy(np.asarray(side_all.matrix, np.float32)).to(tagger.device)
                )
                .cpu()
                .numpy()
            )
        scores = cosine_matrix(audio, label_vectors)
    else:
        probabilities = embed_tracks(
            tagger.model,
            cache,
            ids,
            tagger.mean,
            tagger.std,
            chunk_frames=tagger.chunk_frames,
            output="probabilities",
        )
        scores = np.full((len(ids), len(labels)), np.nan)
        scores[:, : len(split.seen)] = probabilities
    return evaluate_scores(
        split,
        track_tags(tracks),
        ids,
        labels,
        scores,
        train_setup=config.get("setup", "?"),
        model_type=tagger.model_type,
    )
