"""A writing process killed with SIGKILL at random moments never leaves a half-written file.

A child process rewrites the genre of several files (every format) in a loop, alternating two
tag sets; the parent kills it at a random moment, several rounds. Afterwards every file must
hold exactly the original tags with genre = the original, set A or set B, its audio fingerprint
must be unchanged, it must still decode, and the only leftovers allowed are our named
temporary copies, which `cleanup_temp_files` removes.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import av
import soundfile as sf
from test_id3 import tagged_mp3, tagged_wave
from test_mp4 import tagged_m4a
from test_vorbis import tagged_vorbis

from app.tagformats import open_tags
from app.tagwriter import cleanup_temp_files, is_temp_file, read_field

SET_A = ["Set A", "Sad Piano"]
SET_B = ["Set B " + "x" * 3000]  # long: the tag grows past padding, so the audio moves
ROUNDS = 6

CHILD = textwrap.dedent("""
    import sys
    from pathlib import Path
    from app.tagwriter import restore
    paths = [Path(p) for p in sys.argv[1:]]
    sets = [["Set A", "Sad Piano"], ["Set B " + "x" * 3000]]
    print("ready", flush=True)
    i = 0
    while True:
        for path in paths:
            restore(path, "genre", sets[i % 2], None)
        i += 1
""")


def build_library(folder: Path) -> list[Path]:
    return [
        tagged_mp3(folder / "a.mp3"),
        tagged_vorbis(folder / "a.flac", "flac"),
        tagged_vorbis(folder / "a.ogg", "ogg"),
        tagged_vorbis(folder / "a.opus", "opus"),
        tagged_wave(folder / "a.wav"),
        tagged_m4a(folder / "a.m4a"),
    ]


def snapshot(path: Path) -> tuple[list[str], object, str]:
    tags = open_tags(path)
    return tags.read("genre"), tags.others("genre"), tags.audio_digest()


def decodes(path: Path) -> bool:
    if path.suffix == ".m4a":
        with av.open(str(path)) as container:
            return sum(f.samples for f in container.decode(audio=0)) > 0
    return len(sf.read(path)[0]) > 0


def test_killed_writer_leaves_old_or_new_files(tmp_path: Path) -> None:
    paths = build_library(tmp_path)
    original = {p: snapshot(p) for p in paths}
    rng = random.Random(1234)
    repo = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(repo), os.environ.get("PYTHONPATH", "")])),
    }
    seen_values = set()
    for _ in range(ROUNDS):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, *map(str, paths)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        assert child.stdout is not None  # stdout=PIPE
        assert child.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.02, 0.6))
        child.send_signal(signal.SIGKILL)
        child.wait()
        for path in paths:
            genre, others, digest = snapshot(path)
            assert genre in (original[path][0], SET_A, SET_B), path
            assert others == original[path][1], path
            assert digest == original[path][2], path
            assert decodes(path), path
            seen_values.add(tuple(genre))
    assert {tuple(SET_A), tuple(SET_B)} & seen_values  # the child really wrote

    leftovers = [p for p in tmp_path.iterdir() if p not in paths]
    assert all(is_temp_file(p) for p in leftovers), leftovers
    assert sorted(cleanup_temp_files(tmp_path, min_age_seconds=0)) == sorted(leftovers)
    assert sorted(tmp_path.iterdir()) == sorted(paths)
    assert all(read_field(p, "genre") in (original[p][0], SET_A, SET_B) for p in paths)
