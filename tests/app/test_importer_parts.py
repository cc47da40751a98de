"""Index parts that must not stop an import: empty shards, damaged and crafted files (issue 13).

Uses a stand-in tagger (the importer only needs the model's seen labels and embedding size), so
these tests need no model and run in a second.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import audio_factory
import numpy as np

from app import db
from app.importer import import_indexes
from zsl_core.index import TrackIndex

LABELS = ["rock", "jazz", "piano"]
MODEL = "stand-in"


class StandIn:
    seen_labels = LABELS

    def seen_label_embeddings(self) -> np.ndarray:
        return np.eye(len(LABELS), 4, dtype=np.float32)

    def stored_dim(self) -> int:
        return 4


def part_for(paths: list[Path], out: Path) -> Path:
    stats = [os.stat(p) for p in paths]
    rng = np.random.default_rng(0)
    TrackIndex(
        [p.name for p in paths],
        [str(p) for p in paths],
        rng.standard_normal((len(paths), 4)),
        "default",
        seen_scores=rng.random((len(paths), len(LABELS))),
        sizes=[s.st_size for s in stats],
        mtimes_ns=[s.st_mtime_ns for s in stats],
        info={"model_key": MODEL, "seen_labels": LABELS, "n_windows": 2},
    ).save(out)
    return out


def crafted(good: Path, out: Path) -> Path:
    """`good` with its embeddings header claiming 100 million rows (a 2.65 GB allocation once)."""
    with zipfile.ZipFile(good) as z:
        members = {i.filename: z.read(i.filename) for i in z.infolist()}
    header = members["embeddings.npy"]
    members["embeddings.npy"] = header.replace(b"(1, 4)", b"(100000000, 4)", 1)
    with zipfile.ZipFile(out, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return out


def test_empty_damaged_and_crafted_parts_are_reported_and_the_others_imported(tmp_path: Path):
    music = tmp_path / "music"
    music.mkdir()
    a = audio_factory.write_tone(music / "a.flac", 1.0)
    b = audio_factory.write_tone(music / "b.wav", 1.0)
    good_a = part_for([a], tmp_path / "part-a.npz")
    good_b = part_for([b], tmp_path / "part-b.npz")
    empty = part_for([], tmp_path / "part-empty.npz")
    big = crafted(good_a, tmp_path / "part-big.npz")
    truncated = tmp_path / "part-cut.npz"
    truncated.write_bytes(good_b.read_bytes()[:300])
    zero = tmp_path / "part-zero.npz"
    zero.write_bytes(b"")
    conn = db.connect(tmp_path / "lib.sqlite3")
    summary = import_indexes(conn, StandIn(), MODEL, [good_a, empty, big, truncated, zero, good_b])
    assert summary.imported == 2, summary
    assert summary.parts == 3 and summary.empty_parts == [str(empty)]
    refused = dict(summary.bad_parts)
    assert set(refused) == {str(big), str(truncated), str(zero)}
    assert "declares" in refused[str(big)]
    assert all("\n" not in reason for reason in refused.values())
    stored = {bytes(r[0]) for r in conn.execute("SELECT path FROM tracks")}
    assert stored == {db.path_key(a), db.path_key(b)}


def test_a_library_with_only_an_empty_part_imports_nothing_without_error(tmp_path: Path):
    empty = part_for([], tmp_path / "part-empty.npz")
    conn = db.connect(tmp_path / "lib.sqlite3")
    summary = import_indexes(conn, StandIn(), MODEL, [empty])
    assert (summary.imported, summary.bad_parts, summary.empty_parts) == (0, [], [str(empty)])
