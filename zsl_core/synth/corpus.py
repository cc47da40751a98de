"""The corpus folder: plan and render every track (resumable, in parallel), then write the
manifests, genres.csv and corpus.json."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zsl_core.synth.compose import DEFAULT_SECONDS
from zsl_core.synth.errors import SynthError
from zsl_core.synth.instruments import INSTRUMENTS, VOICES
from zsl_core.synth.labels import MOODS
from zsl_core.synth.plan import TrackPlan, genre_attribute_rows, plan_track
from zsl_core.synth.recipes import GENRES
from zsl_core.synth.render import (
    DEFAULT_GAIN,
    SAMPLE_RATE,
    find_fluidsynth,
    fluidsynth_version,
    render,
)
from zsl_core.synth.soundfont import find_soundfont, soundfont_presets

FORMAT_VERSION = 1


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class CorpusReport:
    out: Path
    tracks: int = 0
    rendered: int = 0
    reused: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> str:
        rate = self.tracks / self.seconds * 60 if self.seconds else 0.0
        text = (
            f"synth: {self.tracks - len(self.failed)} of {self.tracks} track(s) in {self.out} "
            f"({self.rendered} rendered, {self.reused} already there) in {self.seconds:.1f} s "
            f"({rate:.0f} tracks/min)"
        )
        if self.failed:
            first = next(iter(self.failed.items()))
            text += f"; failed {len(self.failed)} (e.g. {first[0]}: {first[1]})"
        return text


def _parameters(
    seed: int, tracks: int, seconds: float, sample_rate: int, gain: float
) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "seed": seed,
        "tracks": tracks,
        "seconds": seconds,
        "sample_rate": sample_rate,
        "gain": gain,
    }


def _check_folder(out: Path, params: dict[str, Any], soundfont_hash: str) -> None:
    """Refuse to mix two different corpora in one folder; same parameters = resume."""
    info = out / "corpus.json"
    if not info.is_file():
        if out.is_dir() and any(p for p in (out / "audio", out / "manifest.jsonl") if p.exists()):
            raise SynthError(
                f"{out}: holds audio or a manifest but no corpus.json; choose an empty --out folder"
            )
        return
    try:
        old = json.loads(info.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SynthError(f"{info}: unreadable ({exc}); choose another --out folder") from None
    same = {k: old.get("parameters", {}).get(k) for k in params if k != "tracks"} == {
        k: v for k, v in params.items() if k != "tracks"
    }
    if not same or old.get("soundfont", {}).get("sha256") != soundfont_hash:
        raise SynthError(
            f"{out}: holds a corpus made with other parameters or another soundfont "
            f"({info.name}); choose another --out folder"
        )


def _valid_audio(path: Path, seconds: float, sample_rate: int) -> bool:
    import soundfile

    try:
        info = soundfile.info(str(path))
    except Exception:  # any unreadable file is simply rendered again
        return False
    return info.samplerate == sample_rate and info.frames == int(round(seconds * sample_rate))


def make_corpus(
    out: str | Path,
    tracks: int,
    seed: int = 0,
    seconds: float = DEFAULT_SECONDS,
    soundfont: str | Path | None = None,
    workers: int | None = None,
    gain: float = DEFAULT_GAIN,
    progress: Callable[[str], None] | None = None,
) -> CorpusReport:
    """Compose, label and render `tracks` tracks into `out` (resumable; see the module docstring).

    A track whose rendering fails is left out of the manifests and counted in the report; the
    corpus as a whole only fails (SynthError) when FluidSynth or the soundfont is unusable.
    """
    from zsl_core.datasets import Track, write_manifest

    if tracks < 1:
        raise SynthError("--tracks must be at least 1")
    if not 1.0 <= seconds <= 600.0:
        raise SynthError("--seconds must be between 1 and 600")
    if not 0.0 < gain <= 10.0:
        raise SynthError("--gain must be in (0, 10]")
    exe = find_fluidsynth()
    sf2 = find_soundfont(soundfont)
    presets = soundfont_presets(sf2)
    out = Path(out)
    started = time.monotonic()
    sf_hash = file_sha256(sf2)
    params = _parameters(seed, tracks, seconds, SAMPLE_RATE, gain)
    _check_folder(out, params, sf_hash)
    out.mkdir(parents=True, exist_ok=True)
    report = CorpusReport(out=out, tracks=tracks)
    workers = max(1, workers or os.cpu_count() or 1)

    def one(index: int) -> tuple[TrackPlan, str | None, bool]:
        plan = plan_track(seed, index, seconds, presets)
        midi = out / "midi" / plan.id[:3] / f"{plan.id}.mid"
        audio = out / "audio" / plan.id[:3] / f"{plan.id}.flac"
        midi.parent.mkdir(parents=True, exist_ok=True)
        if not midi.is_file() or midi.read_bytes() != plan.midi:
            midi.write_bytes(plan.midi)
        elif _valid_audio(audio, seconds, SAMPLE_RATE):
            return plan, None, True
        try:
            render(midi, audio, sf2, seconds, exe, gain)
        except SynthError as exc:
            return plan, str(exc), False
        return plan, None, False

    plans: list[TrackPlan] = []
    step = max(1, tracks // 10)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for done, (plan, error, reused) in enumerate(pool.map(one, range(tracks)), 1):
            if error:
                report.failed[plan.id] = error
            else:
                plans.append(plan)
                report.reused += reused
                report.rendered += not reused
            if progress and (done % step == 0 or done == tracks):
                progress(f"synth: {done}/{tracks} tracks")

    def manifest(with_moods: bool) -> list[Track]:
        return [
            Track(
                id=p.id,
                path=out / "audio" / p.id[:3] / f"{p.id}.flac",
                tags=p.genres + ([m for m in p.moods if m not in p.genres] if with_moods else []),
                attributes=p.attributes,
                meta=p.meta(),
            )
            for p in plans
        ]

    write_manifest(out / "manifest.jsonl", manifest(True))
    write_manifest(out / "genres.jsonl", manifest(False))
    rows = "".join(f"{g},{i},{v:g}\n" for g, i, v in genre_attribute_rows())
    (out / "genres.csv").write_text("label,attribute,value\n" + rows, encoding="utf-8")
    report.seconds = time.monotonic() - started
    _write_info(out, params, sf2, sf_hash, exe, presets, report)
    return report


def _write_info(
    out: Path,
    params: dict[str, Any],
    sf2: Path,
    sf_hash: str,
    exe: str,
    presets: frozenset[tuple[int, int]],
    report: CorpusReport,
) -> None:
    import numpy as np
    import soundfile

    try:
        from importlib.metadata import version

        zsl_version = version("zsl-tagger")
    except Exception:  # running from a source tree that was not installed
        zsl_version = "unknown"

    unplayable = sorted(i for i in INSTRUMENTS if not any(p in presets for p in VOICES[i].presets))
    info = {
        "generator": "zsl-core synth",
        "parameters": params,
        "soundfont": {
            "path": str(sf2),
            "sha256": sf_hash,
            "bytes": sf2.stat().st_size,
            "unplayable_instruments": unplayable,
        },
        "versions": {
            "zsl_core": zsl_version,
            "fluidsynth": fluidsynth_version(exe),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "soundfile": soundfile.__version__,
            "libsndfile": soundfile.__libsndfile_version__,
        },
        "files": {
            "audio": "audio/NNN/ID.flac (mono, 16-bit FLAC)",
            "midi": "midi/NNN/ID.mid",
            "manifest": "manifest.jsonl (tags: genres + moods)",
            "genres_manifest": "genres.jsonl (tags: genres only)",
            "attributes": "genres.csv (label,attribute,value: recipe instrument probabilities)",
        },
        "instruments": list(INSTRUMENTS),
        "genres": {
            g.name: {
                "family": g.family,
                "instruments": g.instruments,
                "tempo": list(g.tempo),
                "metres": list(g.metres),
                "groove": g.groove,
                "major": g.major,
                "progressions": list(g.progressions),
            }
            for g in GENRES.values()
        },
        "moods": {k: list(v) for k, v in MOODS.items()},
        "result": {
            "rendered": report.rendered,
            "reused": report.reused,
            "failed": report.failed,
            "elapsed_s": round(report.seconds, 2),
        },
    }
    text = json.dumps(info, indent=1, sort_keys=False) + "\n"
    tmp = out / ".corpus.json.tmp"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, out / "corpus.json")
