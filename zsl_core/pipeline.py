"""The research pipeline glued from files on disk: what each `zsl-core` subcommand runs.

Each function reads the files a user has (manifest, split, feature cache, vectors, model
folder), calls the modules that hold the science, and writes its result. Keeping this out of
cli.py lets tests and the app run exactly what the command line runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from zsl_core import datasets, features, splits
from zsl_core.resources import resource_path
from zsl_core.errors import DatasetError, ModelError, VectorsError
from zsl_core.vectors import SideInformation, WordVectors, attribute_vectors, attributes_from_csv, \
    word_side_information

VOCAB_DIR = resource_path("vocab")

if TYPE_CHECKING:
    from zsl_core.tagger import Tagger


# --- dataset, features and split ---------------------------------------------------------

def track_tags(tracks: Sequence[datasets.Track]) -> dict[str, list[str]]:
    return {t.id: list(t.tags) for t in tracks}


def build_features(manifest: str | Path, cache_dir: str | Path, workers: int | None = None,
                   max_seconds: float | None = None, progress: bool = True) -> features.CacheReport:
    """Mel spectrograms of every manifest track into a resumable cache (failures reported, not fatal)."""
    tracks = datasets.read_manifest(manifest)
    return features.build_feature_cache([(t.id, t.path) for t in tracks], cache_dir, workers=workers,
                                         max_seconds=max_seconds, progress=progress)


def make_split_file(manifest: str | Path, out: str | Path, seen_fraction: float = 0.8,
                    valid_fraction: float = 0.1, seed: int = 0) -> splits.Split:
    """The paper's split of a manifest, saved so every later step reads the same one."""
    tracks = datasets.read_manifest(manifest)
    split = splits.make_split(track_tags(tracks), seen_fraction=seen_fraction,
                              valid_fraction=valid_fraction, seed=seed)
    split.save(out)
    return split


# --- side information --------------------------------------------------------------------

def side_information(spec: str, labels: Sequence[str], tracks: Sequence[datasets.Track],
                     seed: int = 0) -> SideInformation:
    """Side-information vectors for `labels` from a spec string.

    word:PATH      word vectors (GloVe, word2vec, fastText, our .npz); labels must all embed
    attributes     OpenMIC-style instrument likelihoods stored in the manifest (paper's Exp. 1)
    csv:PATH       a label,attribute,value table
    random:DIM     random Gaussian vectors: the control that shows whether side information matters
    """
    kind, _, arg = spec.partition(":")
    if kind == "word":
        vectors = WordVectors.load(arg)
        side, missing = word_side_information(vectors, list(labels))
        if missing:
            raise VectorsError(f"{arg}: cannot embed {len(missing)} label(s): {', '.join(missing[:10])}"
                               " (filter them out when importing, e.g. `import msd --vectors`)")
        return side
    if kind == "attributes":
        names = sorted({a for t in tracks for a in t.attributes})
        if not names:
            raise DatasetError("the manifest has no attributes: use word:PATH or csv:PATH side information")
        wanted = set(labels)
        side = attribute_vectors({t.id: [x for x in t.tags if x in wanted] for t in tracks},
                                 {t.id: dict(t.attributes) for t in tracks}, _attribute_order(names))
        return _reorder(side, labels, "attributes")
    if kind == "csv":
        return _reorder(attributes_from_csv(arg), labels, arg)
    if kind == "random":
        dim = int(arg or 40)
        rng = np.random.default_rng(seed)
        matrix = rng.standard_normal((len(labels), dim)).astype(np.float32)
        return SideInformation(labels=list(labels), matrix=matrix, kind="random", source=f"random:{dim}:{seed}")
    raise VectorsError(f"unknown side information '{spec}' (use word:PATH, attributes, csv:PATH or random:DIM)")


def _attribute_order(names: Sequence[str]) -> list[str]:
    from zsl_core.vectors import OPENMIC_INSTRUMENTS

    known = [n for n in OPENMIC_INSTRUMENTS if n in names]
    return known + [n for n in sorted(names) if n not in known]


def _reorder(side: SideInformation, labels: Sequence[str], source: str) -> SideInformation:
    row = {label: i for i, label in enumerate(side.labels)}
    missing = [label for label in labels if label not in row]
    if missing:
        raise VectorsError(f"{source}: no side information for {len(missing)} label(s): {', '.join(missing[:10])}")
    matrix = side.matrix[[row[label] for label in labels]]
    return SideInformation(labels=list(labels), matrix=matrix, kind=side.kind, source=side.source)


# --- vocabulary --------------------------------------------------------------------------

def load_vocabulary(path: str | Path | None = None) -> list[str]:
    """Candidate unseen words: a user file, or every shipped resources/vocab/*.txt (one word a line)."""
    files = [Path(path)] if path else sorted(VOCAB_DIR.glob("*.txt"))
    words: list[str] = []
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise DatasetError(f"{file}: cannot read vocabulary ({exc.strerror})") from None
        words += [w.strip() for w in text.splitlines() if w.strip() and not w.startswith("#")]
    return list(dict.fromkeys(words))


# --- taggers: the built-in default or a trained model ------------------------------------

def load_tagger(model: str | Path | None = "default", vectors: str | Path | None = None,
                device: str = "auto") -> "Tagger":
    """The model named on the command line: 'default' (built in) or a `zsl-core train` folder."""
    if model is None or str(model) == "default":
        from zsl_core.default_model import load_default_tagger

        return load_default_tagger(device=device, vectors_path=vectors)
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


def embed_to_index(files: Sequence[str] = (), manifest: str | Path | None = None,
                   model: str | Path = "default", out: str | Path = "index.npz",
                   shard: str | None = None, n_windows: int | None = None,
                   vectors: str | Path | None = None, progress: bool = True) -> str:
    """Embed files (or a manifest's tracks, or one shard of them) and save a search index.

    Shards are taken by position (every n-th track), so any job runner can fan a catalogue
    out as `--shard 0/8` ... `--shard 7/8` and `TrackIndex.merge` joins the results.
    """
    from tqdm import tqdm

    from zsl_core.errors import AudioError
    from zsl_core.index import TrackIndex

    if manifest:
        entries = [(t.id, str(t.path)) for t in datasets.read_manifest(manifest)]
    else:
        entries = [(str(f), str(f)) for f in files]
    if not entries:
        raise DatasetError("nothing to embed: give audio files or --manifest")
    index, count = parse_shard(shard)
    entries = entries[index::count]
    tagger = load_tagger(model, vectors=vectors)
    ids, paths, rows, failures = [], [], [], []
    for track_id, path in tqdm(entries, disable=not progress, unit="track", desc="embedding"):
        try:
            rows.append(tagger.embed_file(path, n_windows=n_windows))
        except AudioError as exc:
            failures.append(str(exc))
            continue
        ids.append(track_id)
        paths.append(path)
    dim = rows[0].shape[-1] if rows else 1
    matrix = np.stack(rows) if rows else np.zeros((0, dim), np.float32)
    TrackIndex(ids, paths, matrix, model=_model_name(model)).save(out)
    lines = [f"wrote {len(ids)} track embeddings to {out}"]
    if failures:
        lines.append(f"skipped {len(failures)} file(s):")
        lines += [f"  {reason}" for reason in failures]
    return "\n".join(lines)


def _model_name(model: str | Path | None) -> str:
    if model is None or str(model) == "default":
        return "default"
    return str(Path(model).resolve())


def search_index(query: str, index_paths: Sequence[str | Path], model: str | Path | None = None,
                 top_k: int = 10, vectors: str | Path | None = None):
    """Rank the tracks of one or more index files by relevance to `query`."""
    from zsl_core.index import TrackIndex

    index = TrackIndex.merge([TrackIndex.load(p) for p in index_paths])
    tagger = load_tagger(model or index.model or "default", vectors=vectors)
    vector, missing = tagger.query_embedding(query)
    if vector is None:
        raise VectorsError(f"no word of '{query}' is known to the model's word vectors")
    if vector.shape[-1] != index.dim:
        raise ModelError(f"the index was made by another model ({index.model}); pass --model")
    return index.search(vector, top_k=top_k), missing
