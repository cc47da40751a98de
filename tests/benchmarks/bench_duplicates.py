"""Benchmark: precision and recall of `Library.duplicates` on constructed cases.

Not part of the test run. Sources: real soundtrack files (by default the ones bench_similar.py
unpacked from Debian game packages, one or two per package) and pieces composed and rendered
here with FluidSynth (`zsl_core.synth`). For each source we write copies that ARE the same
recording (must be grouped with it):

    mp3 (libsndfile, VBR), ogg/vorbis, m4a/aac (PyAV), flac, a copy with the first 2 s cut,
    a copy at -6 dB, a byte-identical copy

and, for each composed piece, other recordings of the same piece that must NOT be grouped:

    the same notes played by other instruments; the same arrangement 7 % slower

Everything is scanned into a fresh library (8 windows, the app's default) and `duplicates()` is
scored by pairs: a predicted pair is two tracks in one group; precision = predicted pairs that
are one recording, recall = pairs of one recording that are predicted. A threshold sweep of the
rule (`app.similarity.duplicate_pairs`) on the same analysis shows the margin.

    python tests/benchmarks/bench_duplicates.py --sources /tmp/zsl-sim-work/music --real 10 --synth 6 \
        --out tests/benchmarks/results/duplicates.json

`--scale N [N ...]` measures only the cost of the rule at library scale, on no audio: N tracks of
random seen-label probabilities and random lengths of 1-7 minutes, one planted copy (rows 0 and
1): p50 wall and CPU seconds of `duplicate_pairs` over the whole library (View > Duplicates) and for 5 query
rows (`rows=`, what `similar` and `copies` use), and whether exactly the planted pair is found
(what tests/app/test_find_music.py checks at 20,000 tracks, untimed):

    python tests/benchmarks/bench_duplicates.py --scale 20000 100000
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: audio_factory

import audio_factory

AUDIO = (".ogg", ".mp3", ".flac", ".opus", ".wav")


def pick_real(folder: Path, n: int) -> list[Path]:
    """n files, round-robin over the package folders (sorted), so no package dominates."""
    packages = [
        sorted(p for p in d.iterdir() if p.suffix.lower() in AUDIO)
        for d in sorted(folder.iterdir())
        if d.is_dir() and not d.name.startswith(".")
    ]
    picks: list[Path] = []
    for files in itertools.zip_longest(*packages):
        for f in files:
            if f is not None and len(picks) < n:
                picks.append(f)
    return picks


def write_audio(path: Path, signal: np.ndarray, rate: int, fmt: str) -> Path:
    """libsndfile formats in blocks (one huge Vorbis write crashes libsndfile 1.2), others via PyAV."""
    if fmt not in audio_factory.SOUNDFILE_FORMATS:
        return audio_factory.write_signal(path, signal, rate, fmt)
    container, subtype, _ = audio_factory.SOUNDFILE_FORMATS[fmt]
    channels = 1 if signal.ndim == 1 else signal.shape[1]
    with sf.SoundFile(path, "w", rate, channels, subtype=subtype, format=container) as f:
        for start in range(0, len(signal), 65536):
            f.write(signal[start : start + 65536])
    return path


def write_copies(signal: np.ndarray, rate: int, out: Path, stem: str) -> list[Path]:
    """The same recording in other formats, trimmed, quieter."""
    paths = []
    for fmt in ("mp3", "ogg", "flac", "m4a"):
        paths.append(
            write_audio(out / f"{stem}.copy{audio_factory.suffix_for(fmt)}", signal, rate, fmt)
        )
    trimmed = write_audio(out / f"{stem}.trim2s.flac", signal[int(2.0 * rate) :], rate, "flac")
    quiet = write_audio(out / f"{stem}.minus6db.ogg", signal * 10 ** (-6 / 20), rate, "ogg")
    return paths + [trimmed, quiet]


def real_cases(sources: list[Path], out: Path) -> list[list[Path]]:
    cases = []
    for k, source in enumerate(sources):
        signal, rate = sf.read(source, dtype="float32", always_2d=False)
        stem = f"real{k:02d}"
        original = out / f"{stem}{source.suffix.lower()}"
        shutil.copyfile(source, original)
        twin = out / f"{stem}.identical{source.suffix.lower()}"
        shutil.copyfile(source, twin)
        cases.append([original, twin] + write_copies(signal, rate, out, stem))
    return cases


def synth_cases(n: int, out: Path, seconds: float) -> tuple[list[list[Path]], list[list[Path]]]:
    """(groups of one recording, pieces: [original, re-orchestrated, slower]) rendered here."""
    import copy

    from zsl_core import synth

    exe, soundfont = synth.find_fluidsynth(), synth.find_soundfont()
    presets = synth.soundfont_presets(soundfont)
    groups, pieces = [], []
    for i in range(n):
        song = synth.compose(seed=7, index=i, seconds=seconds, presets=presets)
        versions = {"orig": song}
        other = copy.deepcopy(song)
        for part in other.parts:
            if part.channel != 9:  # another instrument family for every melodic part
                part.program = (part.program + 40) % 128
                part.bank = 0
        versions["other-instruments"] = other
        slower = copy.deepcopy(song)
        slower.tempo = max(30, round(song.tempo * 0.93))
        slower.seconds = seconds * song.tempo / slower.tempo
        versions["slower"] = slower
        rendered = {}
        for name, version in versions.items():
            midi = out / f"synth{i:02d}.{name}.mid"
            midi.write_bytes(synth.song_midi(version))
            target = out / f"synth{i:02d}.{name}.flac"
            synth.render(midi, target, soundfont, version.seconds, exe)
            midi.unlink()
            rendered[name] = target
        signal, rate = sf.read(rendered["orig"], dtype="float32")
        copies = write_copies(signal, rate, out, f"synth{i:02d}.orig")
        groups.append([rendered["orig"]] + copies)
        pieces.append([rendered["orig"], rendered["other-instruments"], rendered["slower"]])
    return groups, pieces


def kind_of(path: Path) -> str:
    """'real03.copy.mp3' -> 'copy.mp3', 'synth01.orig.trim2s.flac' -> 'trim2s'."""
    rest = path.name.split(".", 1)[1]
    if rest.startswith("orig."):
        rest = rest[len("orig.") :]
    return rest if rest.startswith("copy") else rest.split(".", 1)[0]


def cases_from_names(
    music: Path,
) -> tuple[list[list[Path]], list[list[Path]], list[list[Path]], list[Path]]:
    """(real groups, synth groups, pieces, others) of a folder made by an earlier run (--reuse)."""
    real: dict[str, list[Path]] = {}
    synth: dict[str, list[Path]] = {}
    pieces: dict[str, dict[str, Path]] = {}
    others = []
    for path in sorted(music.iterdir()):
        name = path.name
        if name.startswith("real"):
            real.setdefault(name.split(".", 1)[0], []).append(path)
        elif name.startswith("synth"):
            stem, version = name.split(".")[:2]
            if version == "orig":
                synth.setdefault(stem, []).append(path)
            if name.count(".") == 2:
                pieces.setdefault(stem, {})[version] = path
        elif name.startswith("other-"):
            others.append(path)

    def original_first(group: list[Path]) -> list[Path]:
        return sorted(
            group,
            key=lambda p: (p.name.count(".") > (2 if p.name.startswith("synth") else 1), p.name),
        )

    return (
        [original_first(g) for g in real.values()],
        [original_first(g) for g in synth.values()],
        [[v["orig"], v["other-instruments"], v["slower"]] for v in pieces.values()],
        others,
    )


def pair_scores(predicted: set[frozenset], truth: set[frozenset]) -> dict:
    tp = len(predicted & truth)
    return {
        "predicted_pairs": len(predicted),
        "true_pairs": len(truth),
        "correct_pairs": tp,
        "precision": round(tp / len(predicted), 4) if predicted else 1.0,
        "recall": round(tp / len(truth), 4) if truth else 1.0,
    }


def group_pairs(groups: list[list]) -> set[frozenset]:
    return {frozenset(p) for g in groups for p in itertools.combinations(g, 2)}


def _timed_pairs(
    seen, durations, rows: list[int] | None, repeats: int
) -> tuple[float, float, list]:
    """p50 wall seconds, p50 CPU seconds of this process (a shared machine's wall time grows with
    its load, the CPU time much less) of `duplicate_pairs`, and its pairs."""
    from app import similarity

    seconds, cpu = [], []
    pairs: list = []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        pairs = similarity.duplicate_pairs(seen, durations, [None] * len(durations), rows=rows)
        seconds.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(seconds), statistics.median(cpu), pairs


def scale_run(sizes: list[int], repeats: int) -> list[dict]:
    """`duplicate_pairs` at library scale (see the module docstring), one result per size."""
    results = []
    for n in sizes:
        rng = np.random.default_rng(2)
        seen = rng.uniform(0, 1, (n, 71)).astype(np.float32)
        durations = rng.uniform(60, 420, n).tolist()
        seen[1] = seen[0]
        durations[1] = durations[0] + 1.0
        whole, whole_cpu, pairs = _timed_pairs(seen, durations, None, repeats)
        queries, queries_cpu, query_pairs = _timed_pairs(seen, durations, [0, 2, 3, 4, 5], repeats)
        results.append(
            {
                "bench": "duplicate_pairs_scale",
                "tracks": n,
                "whole_library_p50_s": round(whole, 3),
                "whole_library_cpu_p50_s": round(whole_cpu, 3),
                "five_queries_p50_s": round(queries, 4),
                "five_queries_cpu_p50_s": round(queries_cpu, 4),
                "repeats": repeats,
                "found_only_the_planted_pair": [(i, j) for i, j, *_ in pairs] == [(0, 1)]
                and [(i, j) for i, j, *_ in query_pairs] == [(0, 1)],
            }
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale",
        type=int,
        nargs="+",
        default=None,
        metavar="N",
        help="only time duplicate_pairs on N random tracks (no audio, no library)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="repeats per size (--scale)")
    parser.add_argument(
        "--sources",
        type=Path,
        default=Path("/tmp/zsl-sim-work/music"),
        help="folder of package folders of real music (bench_similar.py --work W: W/music)",
    )
    parser.add_argument("--real", type=int, default=10, help="real tracks to copy")
    parser.add_argument("--synth", type=int, default=6, help="pieces to compose and render")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the composed pieces")
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--reuse", action="store_true", help="take the cases already in --work (no rewriting)"
    )
    args = parser.parse_args()
    if args.scale:
        results = scale_run(args.scale, max(1, args.repeats))
        text = "\n".join(json.dumps(r) for r in results)
        print(text)
        if args.out:
            args.out.write_text(text + "\n")
        return

    from app.library import Library

    work = args.work or Path(tempfile.mkdtemp(prefix="zsl-bench-dups-"))
    music = work / "music"
    music.mkdir(parents=True, exist_ok=True)
    if args.reuse:
        real, synth_groups, pieces, others = cases_from_names(music)
    else:
        real, synth_groups, pieces, others = make_cases(args, music)
    library = Library(work / "library.sqlite3", device="cpu")
    run_scored(args, library, music, real, synth_groups, pieces, others)


def make_cases(args, music: Path):
    real = real_cases(pick_real(args.sources, args.real), music) if args.real else []
    synth_groups, pieces = synth_cases(args.synth, music, args.seconds) if args.synth else ([], [])
    # other real tracks, untouched: more chances to group what should not be
    others = []
    if args.sources.is_dir():
        used = set(pick_real(args.sources, args.real))
        for f in pick_real(args.sources, args.real + 20):
            if f not in used:
                target = music / f"other-{f.parent.name}-{f.name}"
                shutil.copyfile(f, target)
                others.append(target)
    return real, synth_groups, pieces, others


def run_scored(args, library, music: Path, real, synth_groups, pieces, others) -> None:
    from app import similarity

    start = time.monotonic()
    summary = library.scan([music], n_windows=8, workers=args.workers)
    scan_seconds = time.monotonic() - start
    id_of = {str(t.path): t.id for t in library.tracks()}
    truth_groups = [[id_of[str(p)] for p in g] for g in real + synth_groups]
    truth = group_pairs(truth_groups)
    start = time.monotonic()
    found = library.duplicates()
    dup_seconds = time.monotonic() - start
    predicted = group_pairs([g.track_ids for g in found])

    # per kind of copy: is it in its original's group?
    group_of = {tid: n for n, g in enumerate(found) for tid in g.track_ids}
    per_kind: dict[str, list[bool]] = {}
    for g in real + synth_groups:
        original = id_of[str(g[0])]
        for p in g[1:]:
            kind = kind_of(p)
            same = original in group_of and group_of.get(id_of[str(p)]) == group_of[original]
            per_kind.setdefault(kind, []).append(same)
    piece_errors = []
    for piece in pieces:
        ids = [id_of[str(p)] for p in piece]
        for a, b in itertools.combinations(ids, 2):
            if frozenset((a, b)) in predicted:
                piece_errors.append([library.track(a).display_path, library.track(b).display_path])

    # threshold sweep on the same analysis
    index = library._sound_index()
    rows_id = [int(i) for i in index["ids"].tolist()]
    sweep = {}
    for threshold in (0.95, 0.96, 0.97, 0.98, 0.99, 0.995, 0.999):
        pairs = similarity.duplicate_pairs(
            index["seen"], index["durations"], index["fingerprints"], threshold=threshold
        )
        groups = similarity.duplicate_groups(len(rows_id), pairs)
        sweep[str(threshold)] = pair_scores(
            group_pairs([[rows_id[r] for r in g[0]] for g in groups]), truth
        )
    # how close the real copies and the other recordings are
    vec = similarity.sqrt_unit(index["seen"])
    row = index["row_of"]

    def sim(a, b):
        return float(vec[row[id_of[str(a)]]] @ vec[row[id_of[str(b)]]])

    copy_sims: dict[str, list[float]] = {}
    for g in real + synth_groups:
        for p in g[1:]:
            copy_sims.setdefault(kind_of(p), []).append(sim(g[0], p))
    other_sims = {
        "other-instruments": [sim(p[0], p[1]) for p in pieces],
        "slower": [sim(p[0], p[2]) for p in pieces],
    }
    # the closest pairs that are NOT one recording but pass the duration rule (what the threshold must reject)
    path_of = {i: library.track(i).display_path for i in rows_id}
    truth_rows = {frozenset(row[i] for i in p) for p in truth}
    impostors = []
    durations = index["durations"]
    for a in range(len(rows_id)):
        for b in range(a + 1, len(rows_id)):
            if frozenset((a, b)) in truth_rows or durations[a] is None or durations[b] is None:
                continue
            if similarity.durations_close(durations[a], durations[b]):
                impostors.append(
                    (
                        float(vec[a] @ vec[b]),
                        Path(path_of[rows_id[a]]).name,
                        Path(path_of[rows_id[b]]).name,
                    )
                )
    impostors.sort(reverse=True)

    result = {
        "tracks": len(rows_id),
        "scan": {
            "scanned": summary.scanned,
            "failed": [list(f) for f in summary.failed],
            "seconds": round(scan_seconds, 1),
        },
        "real_sources": len(real),
        "synth_sources": len(synth_groups),
        "other_real_tracks": len(others),
        "groups_found": len(found),
        "duplicates_seconds": round(dup_seconds, 3),
        "pairs": pair_scores(predicted, truth),
        "copies_grouped_with_original": {
            k: f"{sum(v)}/{len(v)}" for k, v in sorted(per_kind.items())
        },
        "other_recordings_grouped": piece_errors,
        "sqrt_cosine_min_of_copies": {k: round(min(v), 5) for k, v in sorted(copy_sims.items())},
        "sqrt_cosine_max_of_other_recordings": {
            k: round(max(v), 5) for k, v in other_sims.items() if v
        },
        "closest_other_pairs_with_close_durations": [
            [round(x, 5), a, b] for x, a, b in impostors[:8]
        ],
        "threshold_sweep": sweep,
        "rule": {
            "similarity": similarity.DUPLICATE_SIMILARITY,
            "duration_tolerance_s": similarity.DURATION_TOLERANCE,
            "duration_fraction": similarity.DURATION_FRACTION,
        },
    }
    library.close()
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
