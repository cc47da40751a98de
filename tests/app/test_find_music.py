"""More like this, duplicates, instant playlists and export: app.similarity, the Library methods
and the `zsl-tagger similar|duplicates|playlist|export` commands, on generated tracks analysed by
the real default model (and the pure functions on hand-made matrices)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import audio_factory
import numpy as np
import pytest
from libfixtures import music as signal_of
from libfixtures import tag_file

from app import similarity
from app.cli import main
from app.library import Library, LibraryError
from app.playlists import read_m3u8, read_xspf
from zsl_core.default_model import load_default_tagger

SR = 22050
WINDOWS = 2


# --- pure functions ------------------------------------------------------------------------------


def test_similar_rows_ranks_by_cosine_and_leaves_out_query_and_excluded() -> None:
    vectors = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.7, 0.7], [-1, 0]], np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    rows, scores = similarity.similar_rows(vectors, [0], top_k=3)
    assert rows.tolist() == [1, 3, 2] and np.all(np.diff(scores) <= 0)
    rows, _ = similarity.similar_rows(vectors, [0], top_k=10, exclude=[1])
    assert rows.tolist() == [3, 2, 4]
    rows, _ = similarity.similar_rows(vectors, [0, 2], top_k=2)  # the mean of two queries
    assert rows.tolist() == [3, 1]


def test_sound_vectors_are_centred_unit_rows() -> None:
    seen = np.random.default_rng(0).uniform(0, 1, (20, 71)).astype(np.float32)
    v = similarity.sound_vectors(seen)
    assert v.shape == (20, 71)
    assert np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    one = similarity.sound_vectors(seen[:1])  # a library of one track is not centred to zero
    assert np.allclose(np.linalg.norm(one, axis=1), 1, atol=1e-5)


def test_duplicate_rule_needs_close_durations_and_near_identical_labels() -> None:
    rng = np.random.default_rng(1)
    base = rng.uniform(0, 1, 71).astype(np.float32)
    other = rng.uniform(0, 1, 71).astype(np.float32)
    seen = np.stack([base, base * 0.999, base, other, base, base])
    durations = [200.0, 198.0, 240.0, 200.5, None, 200.0]
    prints = [None, None, None, None, None, "abc"]
    pairs = similarity.duplicate_pairs(seen, durations, prints)
    assert [(i, j) for i, j, *_ in pairs] == [
        (0, 1),
        (0, 5),
        (1, 5),
    ]  # 2: too long, 3: other sound, 4: no length
    prints = ["same", None, "x", None, "same", None]
    pairs = similarity.duplicate_pairs(seen, durations, prints)
    assert (0, 4, 1.0, True) in pairs  # identical audio whatever the duration
    groups = similarity.duplicate_groups(len(seen), pairs)
    assert groups[0][0] == [0, 1, 4, 5] and groups[0][2] is False
    only = similarity.duplicate_pairs(seen, durations, prints, rows=[1])
    assert {(i, j) for i, j, *_ in only} == {(0, 1), (1, 5)}


def test_duplicate_pairs_finds_the_one_copy_among_20000_tracks() -> None:
    """At library scale (the sliding window over durations) the rule finds the one planted copy
    and nothing else, over the whole library and for query rows. How long it takes is measured
    by `tests/benchmarks/bench_duplicates.py --scale`, not here."""
    rng = np.random.default_rng(2)
    n = 20_000
    seen = rng.uniform(0, 1, (n, 71)).astype(np.float32)
    durations = rng.uniform(60, 400, n).tolist()
    seen[1] = seen[0]
    durations[1] = durations[0] + 1.0
    pairs = similarity.duplicate_pairs(seen, durations, [None] * n)
    assert [(i, j) for i, j, *_ in pairs] == [(0, 1)]
    queried = similarity.duplicate_pairs(seen, durations, [None] * n, rows=[1, 2, 3])
    assert [(i, j) for i, j, *_ in queried] == [(0, 1)]


# --- a scanned library --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """beat.mp3 and three copies of it (flac, 2 s cut, -6 dB); pad.flac and a byte-identical copy;
    another recording of the pad (other chord, tremolo); a sweep; two more albums for variety."""
    root = tmp_path_factory.mktemp("findmusic")
    beat = signal_of(12.0, kind="noise")
    audio_factory.write_signal(root / "beat.mp3", beat, SR, "mp3")
    tag_file(root / "beat.mp3", title="Beat", artist="DJ", album="Beats", genre=["Techno"])
    (root / "copies").mkdir()
    audio_factory.write_signal(root / "copies" / "beat.flac", beat, SR, "flac")
    audio_factory.write_signal(root / "copies" / "beat-trim.flac", beat[2 * SR :], SR, "flac")
    audio_factory.write_signal(
        root / "copies" / "beat-quiet.ogg", beat * 10 ** (-6 / 20), SR, "ogg"
    )
    pad = audio_factory.tone(12.0, SR, (220.0, 277.2, 329.6), amplitude=0.4)
    audio_factory.write_signal(root / "pad.flac", pad, SR, "flac")
    tag_file(root / "pad.flac", title="Pad", artist="Ambient Person", album="Pads")
    shutil.copyfile(root / "pad.flac", root / "copies" / "pad-copy.flac")
    t = np.arange(len(pad)) / SR
    other = audio_factory.tone(12.0, SR, (196.0, 246.9, 293.7, 392.0), amplitude=0.4)
    other = (other * (0.6 + 0.4 * np.sin(2 * np.pi * 2 * t))).astype(np.float32)
    audio_factory.write_signal(root / "pad-other.flac", other, SR, "flac")
    tag_file(root / "pad-other.flac", title="Pad (live)", artist="Ambient Person", album="Pads")
    audio_factory.write_signal(root / "sweep.ogg", signal_of(12.0, kind="chirp"), SR, "ogg")
    return root


@pytest.fixture(scope="module")
def library(folder: Path, tmp_path_factory):
    load_default_tagger(device="cpu")
    db_path = tmp_path_factory.mktemp("db") / "library.sqlite3"
    lib = Library(db_path, device="cpu")
    summary = lib.scan([folder], n_windows=WINDOWS, workers=0)
    assert summary.scanned == 8 and not summary.failed
    yield lib
    lib.close()


def _id(library: Library, path: Path) -> int:
    track_id = library.track_id(path)
    assert track_id is not None
    return track_id


def test_duplicates_groups_copies_of_one_recording_only(library: Library, folder: Path) -> None:
    groups = library.duplicates()
    by_paths = [{Path(p).relative_to(folder).as_posix() for p in g.paths} for g in groups]
    assert {
        "beat.mp3",
        "copies/beat.flac",
        "copies/beat-trim.flac",
        "copies/beat-quiet.ogg",
    } in by_paths
    assert {"pad.flac", "copies/pad-copy.flac"} in by_paths
    assert len(groups) == 2  # pad-other (another recording of the pad) and the sweep are alone
    pads = groups[by_paths.index({"pad.flac", "copies/pad-copy.flac"})]
    assert pads.identical and pads.similarity == 1.0
    beats = groups[
        by_paths.index(
            {"beat.mp3", "copies/beat.flac", "copies/beat-trim.flac", "copies/beat-quiet.ogg"}
        )
    ]
    assert not beats.identical and similarity.DUPLICATE_SIMILARITY <= beats.similarity <= 1.0
    assert beats.paths == sorted(beats.paths) and len(beats.durations) == 4
    assert all(
        library.track(i).status == "ok" for g in groups for i in g.track_ids
    )  # nothing removed
    assert all(Path(p).is_file() for g in groups for p in g.paths)


def test_similar_leaves_out_the_query_and_its_copies(library: Library, folder: Path) -> None:
    beat = _id(library, folder / "beat.mp3")
    hits = library.similar([beat], top_k=20)
    found = {Path(h.display_path).relative_to(folder).as_posix() for h in hits}
    assert found == {"pad.flac", "copies/pad-copy.flac", "pad-other.flac", "sweep.ogg"}
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert all(-1.0 <= h.score <= 1.0 and len(h.matched) == 3 for h in hits)
    pad = _id(library, folder / "pad.flac")
    hits = library.similar([pad], top_k=2)
    assert len(hits) == 2
    assert "copies/pad-copy.flac" not in {
        Path(h.display_path).relative_to(folder).as_posix() for h in hits
    }
    both = library.similar([beat, pad], top_k=20)
    assert {h.track_id for h in both}.isdisjoint({beat, pad})
    assert library.similar([beat], top_k=0) == []


def test_similar_ranks_the_closest_sound_first(library: Library, folder: Path) -> None:
    sweep = _id(library, folder / "sweep.ogg")
    hits = library.similar([sweep], top_k=3)
    # the pad (sustained tones) is nearer the sweep than the noise beats are
    assert Path(hits[0].display_path).name in {"pad.flac", "pad-copy.flac", "pad-other.flac"}


def test_similar_names_unknown_and_unanalysed_tracks(library: Library) -> None:
    with pytest.raises(LibraryError, match="no track with id 9999"):
        library.similar([9999])


# --- the commands ---------------------------------------------------------------------------------


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def db(library: Library) -> list[str]:
    path = library.conn.execute("PRAGMA database_list").fetchone()[2]
    return ["--db", path, "--device", "cpu"]


def test_cli_similar(db, folder: Path, capsys) -> None:
    code, out, err = run(capsys, *db, "similar", str(folder / "beat.mp3"), "--top", "3", "--json")
    assert code == 0, err
    hits = json.loads(out)
    assert len(hits) == 3 and all(set(h) == {"id", "path", "similarity", "labels"} for h in hits)
    assert not {Path(h["path"]).name for h in hits} & {
        "beat.mp3",
        "beat.flac",
        "beat-trim.flac",
        "beat-quiet.ogg",
    }
    code, out, _ = run(capsys, *db, "similar", str(folder / "sweep.ogg"), str(folder / "pad.flac"))
    assert code == 0 and out.startswith("more like 2 tracks:")
    assert out.splitlines()[1].lstrip().startswith("1  ")
    code, _, err = run(capsys, *db, "similar", str(folder / "nothing.mp3"))
    assert code == 2 and "not in the index" in err


def test_cli_duplicates(db, folder: Path, capsys) -> None:
    code, out, _ = run(capsys, *db, "duplicates", "--json")
    assert code == 0
    groups = json.loads(out)
    assert len(groups) == 2 and sorted(len(g["tracks"]) for g in groups) == [2, 4]
    assert [g["identical"] for g in groups] == [False, True]
    code, out, _ = run(capsys, *db, "duplicates")
    assert (
        "group 1: 4 tracks, same recording" in out and "group 2: 2 tracks, identical audio" in out
    )
    assert out.rstrip().endswith("nothing was changed or deleted")


def test_cli_playlist_m3u8_and_xspf(db, folder: Path, tmp_path: Path, capsys) -> None:
    out_file = tmp_path / "lists" / "mix.m3u8"
    out_file.parent.mkdir()
    code, out, err = run(
        capsys,
        *db,
        "playlist",
        "electronic",
        "--count",
        "30",
        "--out",
        str(out_file),
        "--same-album-ok",
    )
    assert code == 0, err
    assert out.startswith("wrote ")
    entries = read_m3u8(out_file)
    assert entries and all(e.path.is_file() for e in entries)
    text = out_file.read_text("utf-8")
    assert text.startswith("#EXTM3U\n#EXTINF:")
    assert all(Path(line).is_absolute() for line in text.splitlines() if not line.startswith("#"))

    limited = tmp_path / "lists" / "varied.m3u8"
    code, out, _ = run(
        capsys,
        *db,
        "playlist",
        "electronic",
        "--out",
        str(limited),
        "--relative",
        "--per-album",
        "1",
    )
    assert code == 0
    rel = [line for line in limited.read_text("utf-8").splitlines() if not line.startswith("#")]
    assert rel and not any(Path(line).is_absolute() for line in rel)
    assert all((limited.parent / line).resolve().is_file() for line in rel)
    assert [e.path.resolve() for e in read_m3u8(limited)] == [
        (limited.parent / line).resolve() for line in rel
    ]

    xspf = tmp_path / "lists" / "mix.xspf"
    code, _, _ = run(capsys, *db, "playlist", "electronic", "--out", str(xspf), "--same-album-ok")
    assert code == 0
    assert [e.path for e in read_xspf(xspf)] == [e.path for e in read_m3u8(out_file)]

    code, _, err = run(
        capsys, *db, "playlist", "electronic", "--out", str(tmp_path / "no" / "x.m3u8")
    )
    assert code == 2 and "no such folder" in err


def test_cli_playlist_variety_per_album(
    library: Library, db, folder: Path, tmp_path: Path, capsys
) -> None:
    target = tmp_path / "one-per-album.m3u8"
    code, _, _ = run(
        capsys,
        *db,
        "playlist",
        "ambient",
        "--count",
        "30",
        "--out",
        str(target),
        "--per-album",
        "1",
    )
    assert code == 0
    keys = []
    for entry in read_m3u8(target):
        track_id = library.track_id(entry.path)
        assert track_id is not None, entry.path
        row = library.track(track_id)
        keys.append(
            ("album", row.album.casefold()) if row.album else ("folder", str(entry.path.parent))
        )
    assert len(keys) == len(set(keys))  # one track per album (or folder without an album tag)


def test_cli_export_csv_and_json(library: Library, db, tmp_path: Path, capsys) -> None:
    as_json = tmp_path / "tags.json"
    code, out, err = run(capsys, *db, "export", "--out", str(as_json), "--top", "3")
    assert code == 0, err
    assert out.startswith("exported 8 tracks")
    records = json.loads(as_json.read_text("utf-8"))
    assert len(records) == 8
    tracks = {t.display_path: t for t in library.tracks()}
    for record in records:
        track = tracks[record["path"]]
        assert (
            record["title"],
            record["artist"],
            record["album"],
            record["genre"],
            record["mood"],
        ) == (track.title, track.artist, track.album, track.genre, track.mood)
        expected = [t.to_dict() for t in library.proposals(track.id, top_k=3)]
        assert record["proposed"] == expected
        assert all({"tag", "kind", "confidence", "seen"} <= set(t) for t in record["proposed"])

    as_csv = tmp_path / "tags.csv"
    code, _, _ = run(capsys, *db, "export", "--out", str(as_csv))
    assert code == 0
    with open(as_csv, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 8 and list(rows[0]) == [
        "path",
        "title",
        "artist",
        "album",
        "genre",
        "mood",
        "duration",
        "status",
        "proposed_tags",
        "proposed_kinds",
        "proposed_confidences",
    ]
    for row in rows:
        proposed = library.proposals(tracks[row["path"]].id, top_k=5)
        assert row["proposed_tags"] == "; ".join(t.tag for t in proposed)
        assert len(row["proposed_kinds"].split("; ")) == len(
            row["proposed_confidences"].split("; ")
        )
    code, _, err = run(capsys, *db, "export", "--out", str(tmp_path / "tags.txt"))
    assert code == 2 and ".csv or .json" in err


def test_copies_and_instant_playlists_hold_each_recording_once(
    library: Library, folder: Path
) -> None:
    beat = _id(library, folder / "beat.mp3")
    sweep = _id(library, folder / "sweep.ogg")
    copies = library.copies([beat, sweep, 9999])
    assert {Path(library.track(i).path).relative_to(folder).as_posix() for i in copies[beat]} == {
        "copies/beat.flac",
        "copies/beat-trim.flac",
        "copies/beat-quiet.ogg",
    }
    assert copies[sweep] == set() and copies[9999] == set()
    from app.playlists import instant_playlist

    entries, result = instant_playlist(library, "electronic", count=30, per_album=None, floor=0.0)
    assert len(result.hits) == 8  # every track matches with the floor at 0
    names = [e.path.relative_to(folder).as_posix() for e in entries]
    assert (
        len([n for n in names if "beat" in n]) == 1
        and len([n for n in names if "pad" in n and "other" not in n]) == 1
    )
    assert len(entries) == 4  # one beat, one pad, the other pad recording, the sweep
