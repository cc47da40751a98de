"""Benchmark: which stored representation makes "More like this" find tracks that belong together.

Not part of the test run. Real music: the soundtracks of Debian game packages (free licences),
fetched at benchmark time with `apt-get download` into a cache folder (or taken from one that
already holds the .deb files), unpacked with `dpkg-deb -x`, scanned into a fresh library with the
built-in model exactly as the app scans (8 three-second windows). Tracks of one package are one
game's soundtrack: one composer or a few, one style; that is the ground truth "belong together".

For every track as the query, every other track is ranked by each candidate representation, and
we report precision@5 and mean average precision of "same package" (and the chance level):

    python tests/benchmarks/bench_similar.py --cache /tmp/zsl-real-music/debs --per-package 8 \
        --out tests/benchmarks/results/similar.json

Candidates, all from what the library stores for the built-in model (71 seen-label probabilities
per track, `results.seen_scores`):

* `probs`            cosine of the raw probability vectors
* `sqrt`             cosine of sqrt(p) (the Hellinger affinity of the two label distributions)
* `sqrt-centred`     sqrt(p) minus the library's mean, cosine
* `logit-z`          logit(p) standardised per label over the library, cosine
* `conse`            the ConSE embeddings in word space (`tagger.track_embeddings`, 384-d), cosine
* `conse-centred`    the same minus the library's mean embedding
* `sqrt-c+conse-c`   both centred ones, each unit length, concatenated
* `library`          what `Library.similar` returns (the representation the app uses; it also
                     leaves out each query's duplicates, so a same-package track that the
                     duplicate rule takes for a copy is not counted)

None of these tracks is a copy of another, so every group `Library.duplicates()` finds here is a
false positive; they are listed too.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

# Game soundtracks in Debian main. The packages other benchmarks keep for themselves are not used.
RESERVED = (
    "wesnoth-1.16-music",
    "fretsonfire-songs",
    "nexuiz-music",
    "noiz2sa-data",
    "warzone2100-music",
    "hyperrogue-music",
    "singularity-music",
    "mrrescue",
)
PACKAGES = (
    "colobot-common-sounds",
    "extremetuxracer-data",
    "fillets-ng-data",
    "flare-game",
    "freedroidrpg-data",
    "hedgewars-data",
    "marsshooter-data",
    "megaglest-data",
    "naev-data",
    "planetblupi-music-ogg",
    "plee-the-bear-data",
    "starfighter-data",
    "supertux-data",
    "trackballs-data",
    "warmux-data",
    "wizznic-data",
    "xmoto-data",
    "drascula-music",
)
AUDIO = (".ogg", ".mp3", ".flac", ".opus", ".wav")
MIN_SECONDS = 30.0


def fetch_debs(packages: list[str], cache: Path) -> dict[str, Path]:
    """package -> its .deb in `cache`, downloading (apt-get download) the ones not there yet."""
    cache.mkdir(parents=True, exist_ok=True)
    found: dict[str, Path] = {}
    for name in packages:
        assert not any(name.startswith(r) for r in RESERVED), name
        debs = sorted(cache.glob(f"{name}_*.deb"))
        if not debs:
            done = subprocess.run(
                ["apt-get", "download", name], cwd=cache, capture_output=True, text=True
            )
            if done.returncode != 0:
                print(f"skipped {name}: {done.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
                continue
            debs = sorted(cache.glob(f"{name}_*.deb"))
        if debs:
            found[name] = debs[-1]
    return found


def music_files(package: str, deb: Path, into: Path, per_package: int) -> list[Path]:
    """Up to `per_package` soundtrack files of one package (at least MIN_SECONDS long), evenly
    spread over its sorted list, moved to `into/package/`."""
    from zsl_core.audio import audio_info

    tree = into / f".{package}-tree"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(tree)], check=True)
    candidates, targets = [], set()
    for p in sorted(tree.rglob("*")):  # symlinked copies (drascula-music) counted once
        if (
            p.suffix.lower() in AUDIO
            and p.is_file()
            and p.resolve() not in targets
            and ("music" in str(p.relative_to(tree)).lower() or "music" in package)
        ):
            targets.add(p.resolve())
            candidates.append(p)
    long_enough = []
    for path in candidates:
        try:
            if audio_info(path).duration >= MIN_SECONDS:
                long_enough.append(path)
        except Exception:  # a file the decoders do not read is not part of the benchmark
            continue
    if len(long_enough) > per_package:
        picks = np.linspace(0, len(long_enough) - 1, per_package).round().astype(int)
        long_enough = [long_enough[i] for i in sorted(set(picks.tolist()))]
    out = into / package
    out.mkdir(parents=True, exist_ok=True)
    kept = []
    for i, path in enumerate(long_enough):
        target = out / f"{i:02d}-{path.name}"
        shutil.copyfile(path.resolve(), target)
        kept.append(target)
    shutil.rmtree(tree, ignore_errors=True)
    return kept


# --- the candidates ------------------------------------------------------------------------------


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def representations(seen: np.ndarray, tagger) -> dict[str, np.ndarray]:
    p = np.clip(seen.astype(np.float64), 1e-4, 1 - 1e-4)
    root = np.sqrt(p)
    logit = np.log(p / (1 - p))
    conse = tagger.track_embeddings(None, seen).astype(np.float64)
    reps = {
        "probs": p,
        "sqrt": root,
        "sqrt-centred": root - root.mean(axis=0),
        "logit-centred": logit - logit.mean(axis=0),
        "logit-z": (logit - logit.mean(axis=0)) / np.maximum(logit.std(axis=0), 1e-6),
        "sqrt-z": (root - root.mean(axis=0)) / np.maximum(root.std(axis=0), 1e-6),
        "conse": conse,
        "conse-centred": unit(conse) - unit(conse).mean(axis=0),
    }
    reps["sqrt-c+conse-c"] = np.hstack([unit(reps["sqrt-centred"]), unit(reps["conse-centred"])])
    return {name: unit(m) for name, m in reps.items()}


def per_query(sims: np.ndarray, groups: np.ndarray, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """(P@k, AP) of 'same group' per query track, itself left out."""
    n = len(groups)
    p_at_k, aps = [], []
    for q in range(n):
        scores = sims[q].copy()
        scores[q] = -np.inf
        order = np.argsort(-scores, kind="stable")[: n - 1]
        rel = (groups[order] == groups[q]).astype(np.float64)
        if rel.sum() == 0:
            continue
        p_at_k.append(rel[:k].mean())
        hits = np.cumsum(rel)
        aps.append(float((hits / np.arange(1, len(rel) + 1) * rel).sum() / rel.sum()))
    return np.array(p_at_k), np.array(aps)


def evaluate(
    sims: np.ndarray,
    groups: np.ndarray,
    k: int = 5,
    reference: np.ndarray | None = None,
    seed: int = 0,
) -> dict:
    """P@k and MAP, a 95 % bootstrap interval of the MAP (queries resampled), and the MAP
    difference to `reference` (per-query APs of another representation) with its interval."""
    p, ap = per_query(sims, groups, k)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(ap), size=(2000, len(ap)))
    out = {
        f"p@{k}": round(float(p.mean()), 4),
        "map": round(float(ap.mean()), 4),
        "map_95": [round(float(x), 4) for x in np.percentile(ap[draws].mean(axis=1), [2.5, 97.5])],
    }
    if reference is not None:
        diff = ap - reference
        out["map_minus_sqrt_centred"] = round(float(diff.mean()), 4)
        out["diff_95"] = [
            round(float(x), 4) for x in np.percentile(diff[draws].mean(axis=1), [2.5, 97.5])
        ]
    return out


def chance(groups: np.ndarray, k: int = 5) -> dict[str, float]:
    """The expected P@k (and about the MAP) of a random ranking."""
    sizes = np.array([(groups == g).sum() - 1 for g in groups], np.float64)
    base = float(np.mean(sizes / (len(groups) - 1)))
    return {f"p@{k}": round(base, 4), "map": round(base, 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path("/tmp/zsl-real-music/debs"),
        help="folder of .deb files (missing packages are downloaded into it)",
    )
    parser.add_argument(
        "--work", type=Path, default=None, help="keep the unpacked tracks and library here"
    )
    parser.add_argument("--packages", nargs="*", default=list(PACKAGES))
    parser.add_argument("--per-package", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    from app.library import Library

    work = args.work or Path(tempfile.mkdtemp(prefix="zsl-bench-similar-"))
    music = work / "music"
    music.mkdir(parents=True, exist_ok=True)
    debs = fetch_debs(args.packages, args.cache)
    files: dict[str, list[Path]] = {}
    for package, deb in debs.items():
        existing = sorted((music / package).glob("*")) if (music / package).is_dir() else []
        files[package] = existing or music_files(package, deb, music, args.per_package)
    files = {p: f for p, f in files.items() if len(f) >= 2}
    print(f"{sum(map(len, files.values()))} tracks from {len(files)} packages", file=sys.stderr)

    library = Library(work / "library.sqlite3", device="cpu")
    start = time.monotonic()
    summary = library.scan([music], n_windows=8, workers=args.workers)
    scan_seconds = time.monotonic() - start
    ids, seen, _ = library._search_matrix()
    package_of = {t.id: t.path.parent.name for t in library.tracks()}
    groups = np.array([package_of[int(i)] for i in ids])
    reps = representations(seen, library.tagger)
    result: dict[str, Any] = {
        "tracks": int(len(ids)),
        "packages": len(set(groups.tolist())),
        "per_package": {p: int((groups == p).sum()) for p in sorted(set(groups.tolist()))},
        "scan": {
            "scanned": summary.scanned,
            "failed": len(summary.failed),
            "seconds": round(scan_seconds, 1),
        },
        "chance": chance(groups),
        "representations": {},
    }
    reference = per_query(reps["sqrt-centred"] @ reps["sqrt-centred"].T, groups)[1]
    for name, matrix in reps.items():
        result["representations"][name] = evaluate(matrix @ matrix.T, groups, reference=reference)

    # What the app itself returns: Library.similar for each track, top n-1.
    if hasattr(library, "similar"):
        row_of = {int(t): r for r, t in enumerate(ids)}
        sims = np.full((len(ids), len(ids)), -np.inf)
        for r, track_id in enumerate(ids.tolist()):
            for hit in library.similar([track_id], top_k=len(ids)):
                sims[r, row_of[hit.track_id]] = hit.score
        result["representations"]["library"] = evaluate(sims, groups, reference=reference)
    from app.similarity import SIMILARITY_REPRESENTATION

    result["library_representation"] = SIMILARITY_REPRESENTATION
    # No track here is a copy of another: whatever `duplicates()` groups is a false positive.
    result["duplicates_false_positives"] = [
        {
            "similarity": round(g.similarity, 4),
            "tracks": [str(Path(p).relative_to(music)) for p in g.paths],
            "durations": [None if d is None else round(d, 1) for d in g.durations],
        }
        for g in library.duplicates()
    ]
    result["pairs_compared_for_duplicates"] = len(ids) * (len(ids) - 1) // 2
    library.close()
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
