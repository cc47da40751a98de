"""A small genre/mood/instrument corpus for the reproduce tests: each track sounds its
instruments as tones, with OpenMIC-style likelihoods, genres.csv and corpus.json."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile as sf

from zsl_core.datasets import Track, write_manifest

GENRES = {  # genre -> instruments it is usually played with
    "rock": ("guitar", "drums", "bass"),
    "jazz": ("saxophone", "piano", "bass"),
    "folk": ("guitar", "violin", "flute"),
    "techno": ("synthesizer", "drums"),
    "blues": ("guitar", "piano", "voice"),
    "classical": ("violin", "cello", "flute"),
}
MOODS = ("happy", "sad", "calm")
PITCH = {
    "guitar": 330,
    "drums": 80,
    "bass": 55,
    "saxophone": 440,
    "piano": 262,
    "violin": 659,
    "flute": 880,
    "synthesizer": 1200,
    "voice": 220,
    "cello": 131,
}


def make_corpus(folder: Path, n_tracks: int = 60, seconds: float = 4.0, seed: int = 0) -> Path:
    """A small genre/mood/instrument corpus: each track sounds its instruments as tones."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "audio").mkdir(exist_ok=True)
    sr = 16000
    t = np.arange(int(sr * seconds)) / sr
    names = list(GENRES)
    tracks = []
    for i in range(n_tracks):
        genres = list(rng.choice(names, size=int(rng.integers(1, 3)), replace=False))
        playing = sorted({x for g in genres for x in GENRES[g] if rng.random() < 0.85})
        audio = 0.01 * rng.standard_normal(len(t))
        for name in playing:
            audio += (
                0.2
                * np.sin(2 * np.pi * PITCH[name] * t)
                * (0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.5, 3) * t))
            )
        path = folder / "audio" / f"t{i:03d}.wav"
        sf.write(path, (audio / max(1.0, np.abs(audio).max())).astype(np.float32), sr)
        attributes = {name: 0.9 for name in playing}
        for name in PITCH:
            if name not in playing and rng.random() < 0.5:
                attributes[name] = 0.1
        mood = str(rng.choice(MOODS))
        tracks.append(
            Track(
                id=f"t{i:03d}",
                path=path,
                tags=genres + [mood],
                attributes=attributes,
                meta={"title": f"Track {i}"},
            )
        )
    write_manifest(folder / "manifest.jsonl", tracks)
    (folder / "genres.csv").write_text(
        "genre,attribute,value\n" + "".join(f"{g},{x},1\n" for g, xs in GENRES.items() for x in xs),
        encoding="utf-8",
    )
    (folder / "corpus.json").write_text(
        json.dumps({"manifest": "manifest.jsonl", "genres": names, "moods": list(MOODS)}),
        encoding="utf-8",
    )
    return folder
