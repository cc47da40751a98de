"""`zsl-core embed --shard` parts imported into a library (`zsl-tagger import`, app/importer.py).

The parts are made by the real `zsl-core embed` with the built-in model, so the test checks what a
user gets: imported rows equal what the library's own scan stores, a later scan decodes nothing,
and every row that cannot be trusted (changed, missing, another model, older format) is reported
and left for a scan.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from libfixtures import write_track

from app import db
from app.cli import main as tagger_main
from app.importer import map_path, parse_path_map
from app.library import Library
from zsl_core.cli import main as core_main
from zsl_core.default_model import load_default_tagger
from zsl_core.index import TrackIndex

WINDOWS = 2


@pytest.fixture(scope="module")
def music(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("catalogue")
    write_track(root / "beat.mp3", 8.0, kind="noise", title="Beat", artist="DJ", genre=["Techno"])
    write_track(root / "sweep.ogg", 8.0, kind="chirp", title="Sweep")
    write_track(root / "pad.flac", 8.0, kind="tone", title="Pad")
    (root / "sub").mkdir()
    write_track(root / "sub" / "more.wav", 8.0, kind="noise", seed=3, title="More")
    return root


@pytest.fixture(scope="module")
def parts(music: Path, tmp_path_factory) -> list[Path]:
    """Two shards of a manifest, embedded by the real command line."""
    load_default_tagger(device="cpu")
    out = tmp_path_factory.mktemp("parts")
    files = sorted(str(p) for p in music.rglob("*.*"))
    made = []
    for i in range(2):
        target = out / f"part-{i}.npz"
        assert (
            core_main(
                [
                    "embed",
                    *files,
                    "--shard",
                    f"{i}/2",
                    "--windows",
                    str(WINDOWS),
                    "--device",
                    "cpu",
                    "--out",
                    str(target),
                    "--quiet",
                ]
            )
            == 0
        )
        made.append(target)
    return made


def _results(library: Library) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every track's stored analysis (each track here is analysed)."""
    results = {}
    for track in library.tracks():
        analysis = library.analysis(track.id)
        assert analysis is not None, track.display_path
        results[track.path.name] = analysis
    return results


def test_parts_carry_scores_sizes_and_the_model_key(parts, music):
    part = TrackIndex.load(parts[0])
    assert part.model_key == "default-3"
    assert part.info["n_windows"] == WINDOWS and part.info["shard"] == "0/2"
    assert part.info["root"] == str(music)
    assert part.seen_scores is not None and part.seen_scores.shape == (len(part), 71)
    first = Path(part.paths[0])
    assert part.sizes is not None and part.mtimes_ns is not None
    assert part.sizes[0] == first.stat().st_size and part.mtimes_ns[0] == first.stat().st_mtime_ns
    merged = TrackIndex.merge([TrackIndex.load(p) for p in parts])
    assert sorted(Path(p).name for p in merged.paths) == [
        "beat.mp3",
        "more.wav",
        "pad.flac",
        "sweep.ogg",
    ]
    assert merged.seen_scores is not None and merged.seen_scores.shape == (4, 71)


def test_import_equals_a_scan_and_a_later_scan_decodes_nothing(parts, music, tmp_path):
    with Library(tmp_path / "scanned.sqlite3", device="cpu") as scanned:
        assert scanned.scan([music], n_windows=WINDOWS, workers=0).scanned == 4
        expected = _results(scanned)
    with Library(tmp_path / "imported.sqlite3", device="cpu") as library:
        summary = library.import_indexes(parts)
        assert (summary.imported, summary.unchanged, summary.skipped, summary.bad_parts) == (
            4,
            0,
            0,
            [],
        )
        got = _results(library)
        assert set(got) == set(expected)
        for name, (embedding, scores) in got.items():
            assert embedding.size == expected[name][0].size == 0  # derived from the scores
            np.testing.assert_allclose(scores, expected[name][1], atol=2e-3)
        beat = next(t for t in library.tracks() if t.path.name == "beat.mp3")
        assert (beat.title, beat.artist, beat.genre, beat.status) == ("Beat", "DJ", "Techno", "ok")
        assert library.search("techno", top_k=4, floor=0).hits
        prediction = library.prediction(beat.id)
        assert prediction is not None and prediction.seen
        # Importing again changes nothing; scanning the folder finds every file unchanged.
        again = library.import_indexes(parts)
        assert (again.imported, again.unchanged) == (0, 4)
        rescan = library.scan([music], n_windows=WINDOWS, workers=0)
        assert (rescan.scanned, rescan.unchanged, rescan.failed) == (0, 4, [])


def test_changed_missing_and_moved_roots_are_reported(parts, music, tmp_path):
    moved = tmp_path / "moved"
    shutil.copytree(music, moved)  # copytree keeps mtimes (copy2), like rsync -a
    stamp = time.time() - 100
    os.utime(moved / "pad.flac", (stamp, stamp))  # "edited" since the parts were made
    (moved / "sweep.ogg").unlink()
    with Library(tmp_path / "lib.sqlite3", device="cpu") as library:
        summary = library.import_indexes(parts, path_map=[f"{music}={moved}"])
        assert summary.imported == 2  # beat.mp3 and sub/more.wav
        assert [Path(p).name for p, _ in summary.changed] == ["pad.flac"]
        assert [Path(p).name for p, _ in summary.missing] == ["sweep.ogg"]
        assert {t.path.parent for t in library.tracks()} == {moved, moved / "sub"}
        # The parts' root, as mapped here, is remembered: a scan with no folder covers it, and
        # what it analyses is exactly the files not imported.
        assert summary.folders == [str(moved)] and library.folders() == [moved]
        rescan = library.scan(n_windows=WINDOWS, workers=0)
        assert (rescan.scanned, rescan.unchanged) == (1, 2)


def test_parts_of_another_model_old_format_or_damaged_are_refused_alone(parts, tmp_path, music):
    old = TrackIndex.load(parts[0])
    old.seen_scores = old.sizes = old.mtimes_ns = None
    old.embeddings = np.eye(len(old), 50, dtype=np.float16)  # format 1: embeddings only
    old.save(tmp_path / "old.npz")
    other = TrackIndex.load(parts[0])
    other.info["model_key"] = "default+bf16"
    other.save(tmp_path / "bf16.npz")
    (tmp_path / "junk.npz").write_bytes(b"PK not really")
    bad = [
        tmp_path / "old.npz",
        tmp_path / "bf16.npz",
        tmp_path / "junk.npz",
        tmp_path / "gone.npz",
    ]
    with Library(tmp_path / "lib.sqlite3", device="cpu") as library:
        summary = library.import_indexes([*bad, parts[1]])
        reasons = dict(summary.bad_parts)
        assert "older zsl-core embed" in reasons[str(tmp_path / "old.npz")]
        assert "default+bf16" in reasons[str(tmp_path / "bf16.npz")]
        assert "not a zsl-core index" in reasons[str(tmp_path / "junk.npz")]
        assert "not found" in reasons[str(tmp_path / "gone.npz")]
        assert summary.imported == len(TrackIndex.load(parts[1]))


@pytest.mark.permissions
def test_a_file_that_cannot_be_read_is_one_failure(parts, music, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(music, copy)
    target = copy / "beat.mp3"
    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    target.chmod(0)
    try:
        with Library(tmp_path / "lib.sqlite3", device="cpu") as library:
            summary = library.import_indexes(parts, path_map=[f"{music}={copy}"])
            assert summary.imported == 3
            assert [Path(p).name for p, _ in summary.failed] == ["beat.mp3"]
    finally:
        target.chmod(0o644)


def test_a_damaged_file_takes_no_results_from_a_part(parts, music, tmp_path, monkeypatch):
    """The scanner's rule holds for imports too: a file the probe finds damaged (a cut Ogg
    file, app.scanner.probe_file) is one failure with its reason, whoever analysed it."""
    from app import importer, scanner

    reason = "damaged: malformed Ogg stream: unable to read full data"

    def probe(path: bytes):
        found = scanner.probe_file(path)
        if path.endswith(b"sweep.ogg"):
            found.damage = reason
        return found

    monkeypatch.setattr(importer, "probe_file", probe)
    with Library(tmp_path / "lib.sqlite3", device="cpu") as library:
        summary = library.import_indexes(parts)
        assert summary.imported == 3
        assert summary.failed == [(str(music / "sweep.ogg"), reason)]
        assert library.track_id(music / "sweep.ogg") is None


def test_path_map_rewrites_whole_components_only():
    pairs = parse_path_map(["/mnt/music=/home/me/Music", "/mnt/music/live=/srv/live"])
    assert map_path("/mnt/music/live/a.mp3", pairs) == "/srv/live/a.mp3"
    assert map_path("/mnt/music/b.mp3", pairs) == "/home/me/Music/b.mp3"
    assert map_path("/mnt/music2/c.mp3", pairs) == "/mnt/music2/c.mp3"
    from app.importer import ImportError_

    with pytest.raises(ImportError_, match="OLD=NEW"):
        parse_path_map(["no-equals-sign"])


def test_command_line_import(parts, music, tmp_path, capsys):
    db_path = str(tmp_path / "cli.sqlite3")
    code = tagger_main(["--db", db_path, "--device", "cpu", "import", *map(str, parts)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "4 imported, 0 unchanged" in out
    assert (
        tagger_main(["--db", db_path, "--device", "cpu", "search", "electronic", "--top", "2"]) == 0
    )
    ranked = capsys.readouterr().out.splitlines()
    assert len(ranked) == 2, ranked and all(str(music) in line for line in ranked)
    code = tagger_main(["--db", db_path, "--device", "cpu", "import", str(tmp_path / "nope.npz")])
    assert code == 2 and "no such index file" in capsys.readouterr().err
    code = tagger_main(
        ["--db", db_path, "--device", "cpu", "--precision", "bf16", "import", str(parts[0])]
    )
    assert code == 2 and "this library uses 'default-3+bf16'" in capsys.readouterr().err


def test_non_utf8_paths_round_trip_through_a_part(tmp_path):
    if os.name == "nt":
        pytest.skip("POSIX byte file names")
    raw = os.fsdecode(b"/music/caf\xe9.mp3")
    index = TrackIndex(
        ["x"], [raw], np.ones((1, 3)), "m", seen_scores=np.ones((1, 2)), sizes=[1], mtimes_ns=[2]
    )
    index.save(tmp_path / "p.npz")
    back = TrackIndex.load(tmp_path / "p.npz")
    assert back.paths == [raw] and db.path_key(back.paths[0]) == b"/music/caf\xe9.mp3"
