"""Manifest format and dataset importers, on tiny copies of each published layout built here."""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import stat
from pathlib import Path
from typing import Any

import audio_factory
import mutagen
import numpy as np
import pytest
from mutagen.id3 import TALB, TCON, TIT1, TIT2, TMOO, TPE1, TXXX
from mutagen.mp4 import MP4FreeForm

from zsl_core import datasets
from zsl_core.datasets import (
    ImportReport,
    Track,
    clean_tag,
    import_fma,
    import_folder,
    import_msd,
    load_openmic,
    read_file_tags,
    read_manifest,
    squash_tag,
    write_manifest,
)
from zsl_core.errors import DatasetError
from zsl_core.vectors import OPENMIC_INSTRUMENTS, WordVectors

# --- manifest ----------------------------------------------------------------------------


def _tracks(root: Path) -> list[Track]:
    return [
        Track(
            "000002",
            root / "audio" / "000" / "000002.mp3",
            ["hip-hop"],
            {"voice": 0.91, "piano": 0.12},
            {"title": "Food", "artist": "AWOL"},
        ),
        Track("é/ü 3", root / "elsewhere" / "b.flac", ["rock", "drum & bass"]),
        Track("outside", Path("/somewhere/else/c.wav"), []),
    ]


def test_manifest_round_trip_keeps_everything_and_writes_relative_paths(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.jsonl"
    tracks = _tracks(tmp_path)
    write_manifest(manifest, tracks)

    assert read_manifest(manifest) == tracks
    records = [json.loads(line) for line in manifest.read_text(encoding="utf-8").splitlines()]
    assert [r["path"] for r in records] == [
        "audio/000/000002.mp3",
        "elsewhere/b.flac",
        str(Path("/somewhere/else/c.wav")),
    ]
    assert records[0] == {
        "id": "000002",
        "path": "audio/000/000002.mp3",
        "tags": ["hip-hop"],
        "attributes": {"voice": 0.91, "piano": 0.12},
        "meta": {"title": "Food", "artist": "AWOL"},
    }
    assert "attributes" not in records[1] and "meta" not in records[1]
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.jsonl"]  # no temporary left behind


def test_manifest_paths_resolve_against_the_manifest_folder_not_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "data").mkdir()
    manifest = tmp_path / "data" / "m.jsonl"
    manifest.write_text(
        '\ufeff{"id": "a", "path": "../audio/x.mp3", "tags": ["jazz", "jazz"]}\n', encoding="utf-8"
    )
    monkeypatch.chdir("/")
    [track] = read_manifest(manifest)
    assert track.path == tmp_path / "audio" / "x.mp3"
    assert track.tags == ["jazz"]  # duplicates dropped
    assert track.attributes == {} and track.meta == {}


def test_manifest_skips_blank_and_comment_lines(tmp_path: Path) -> None:
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(
        '# a comment\n\n   \n{"id": "a", "path": "a.mp3", "tags": []}\r\n'
        '  # indented comment\n{"id": "b", "path": "/x/b.mp3", "tags": ["pop"]}',
        encoding="utf-8",
    )
    tracks = read_manifest(manifest)
    assert [t.id for t in tracks] == ["a", "b"]
    assert tracks[1].path == Path("/x/b.mp3")


@pytest.mark.parametrize(
    "line, reason",
    [
        ('{"id": "x", "path": "x.mp3", "tags": [}', "malformed JSON"),
        ('["x", "x.mp3"]', "expected a JSON object"),
        ('{"path": "x.mp3", "tags": []}', "missing key 'id'"),
        ('{"id": "x", "tags": []}', "missing key 'path'"),
        ('{"id": "x", "path": "x.mp3"}', "missing key 'tags'"),
        ('{"id": 3, "path": "x.mp3", "tags": []}', "'id' must be"),
        ('{"id": "", "path": "x.mp3", "tags": []}', "'id' must be"),
        ('{"id": "x", "path": null, "tags": []}', "'path' must be"),
        ('{"id": "x", "path": "x.mp3", "tags": "rock"}', "'tags' must be"),
        ('{"id": "x", "path": "x.mp3", "tags": ["rock", 1]}', "'tags' must be"),
        ('{"id": "x", "path": "x.mp3", "tags": [], "attributes": [0.5]}', "'attributes' must be"),
        ('{"id": "x", "path": "x.mp3", "tags": [], "attributes": {"piano": 1.5}}', "in [0, 1]"),
        ('{"id": "x", "path": "x.mp3", "tags": [], "attributes": {"piano": true}}', "in [0, 1]"),
        ('{"id": "x", "path": "x.mp3", "tags": [], "attributes": {"piano": NaN}}', "in [0, 1]"),
        ('{"id": "x", "path": "x.mp3", "tags": [], "meta": "Food"}', "'meta' must be"),
        ('{"id": "a", "path": "y.mp3", "tags": []}', "duplicate track id 'a' (first on line 2)"),
    ],
)
def test_malformed_manifest_line_names_file_and_line(
    tmp_path: Path, line: str, reason: str
) -> None:
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(
        '# header\n{"id": "a", "path": "a.mp3", "tags": []}\n\n' + line + "\n", encoding="utf-8"
    )
    with pytest.raises(DatasetError) as error:
        read_manifest(manifest)
    assert str(error.value).startswith(f"{manifest}:4: ")
    assert reason in str(error.value)


def test_manifest_not_utf8_or_missing(tmp_path: Path) -> None:
    manifest = tmp_path / "m.jsonl"
    manifest.write_bytes(b'{"id": "a", "path": "a.mp3", "tags": []}\n{"id": "\xff"}\n')
    with pytest.raises(DatasetError, match=r"m\.jsonl:2: not UTF-8"):
        read_manifest(manifest)
    with pytest.raises(DatasetError, match="manifest not found"):
        read_manifest(tmp_path / "absent.jsonl")


def test_write_manifest_refuses_bad_tracks_and_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = tmp_path / "m.jsonl"
    write_manifest(manifest, _tracks(tmp_path)[:1])
    os.chmod(manifest, 0o640)
    before = manifest.read_bytes()
    with pytest.raises(DatasetError, match="share the id 'a'"):
        write_manifest(
            manifest, [Track("a", tmp_path / "1.mp3", []), Track("a", tmp_path / "2.mp3", [])]
        )
    with pytest.raises(DatasetError, match="in \\[0, 1\\]"):
        write_manifest(manifest, [Track("a", tmp_path / "1.mp3", [], {"piano": 2.0})])
    with pytest.raises(DatasetError, match="tags must be"):
        write_manifest(manifest, [Track("a", tmp_path / "1.mp3", "rock")])  # type: ignore[arg-type]
    with pytest.raises(DatasetError, match="meta is not plain JSON"):
        write_manifest(manifest, [Track("a", tmp_path / "1.mp3", [], meta={"bpm": float("nan")})])
    with pytest.raises(DatasetError, match="meta is not plain JSON"):
        write_manifest(manifest, [Track("a", tmp_path / "1.mp3", [], meta={"cover": b"\x89PNG"})])

    def crash(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(datasets.os, "replace", crash)
    with pytest.raises(OSError):
        write_manifest(manifest, _tracks(tmp_path))
    monkeypatch.undo()
    assert manifest.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.jsonl"]

    write_manifest(manifest, _tracks(tmp_path))  # replacing keeps the file's permissions
    assert stat.S_IMODE(manifest.stat().st_mode) == 0o640
    write_manifest(tmp_path / "new" / "deeper" / "m.jsonl", [])  # creates folders, empty manifest
    assert read_manifest(tmp_path / "new" / "deeper" / "m.jsonl") == []


def test_tag_spellings() -> None:
    assert clean_tag("  Hip-Hop \t Rap ") == "hip-hop rap"
    assert clean_tag("Ｒ＆Ｂ") == "r&b"  # full-width letters folded
    assert (
        squash_tag("Classic Rock")
        == squash_tag("classic-rock")
        == squash_tag("ClassicRock")
        == "classicrock"
    )
    assert squash_tag("Rock 'n' Roll") == "rocknroll"


def test_audio_extensions_match_the_audio_module() -> None:
    from zsl_core.audio import AUDIO_EXTENSIONS

    assert datasets.AUDIO_EXTENSIONS == AUDIO_EXTENSIONS


# --- FMA + OpenMIC -----------------------------------------------------------------------

GENRES_CSV = [
    ["genre_id", "#tracks", "parent", "title", "top_level"],
    ["12", "32923", "0", "Rock", "12"],
    ["21", "8389", "0", "Hip-Hop", "21"],
    ["25", "9261", "12", "Punk", "12"],
    ["76", "1042", "15", "Experimental Pop", "10"],
]
# FMA's tracks.csv: pandas two-level columns, so three header rows.
TRACKS_HEADER = [
    ["", "album", "album", "artist", "artist", "set", "track", "track", "track", "track", "track"],
    [
        "",
        "id",
        "title",
        "id",
        "name",
        "subset",
        "bio",
        "genre_top",
        "genres",
        "genres_all",
        "title",
    ],
    ["track_id", "", "", "", "", "", "", "", "", "", ""],
]
TRACKS_ROWS = [
    ["2", "1", "AWOL - A Way Of Life", "1", "AWOL", "small", "", "Hip-Hop", "[21]", "[21]", "Food"],
    [
        "5",
        "1",
        "AWOL - A Way Of Life",
        "1",
        "AWOL",
        "small",
        'line one\nline two, "quoted"',
        "Hip-Hop",
        "[21, 76]",
        "[21, 76, 10]",
        "This World",
    ],
    [
        "10",
        "6",
        "Constant Hitmaker",
        "6",
        "Kurt Vile",
        "small",
        "",
        "Rock",
        "[25]",
        "[12, 25]",
        "Freeway",
    ],
    ["20", "4", "", "2", "Nicky Cook", "large", "", "", "[]", "[]", "Spiritual Level"],
    ["46", "7", "Album", "3", "Someone", "medium", "", "Rock", "[12]", "[12]", "No Audio"],
]


def _write_csv(path: Path, rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


@pytest.fixture
def fma(tmp_path: Path) -> tuple[Path, Path]:
    """fma_metadata/{tracks,genres}.csv and fma_audio/000/000002.mp3 ... (46 has no audio)."""
    metadata = tmp_path / "fma_metadata"
    _write_csv(metadata / "genres.csv", GENRES_CSV)
    _write_csv(metadata / "tracks.csv", TRACKS_HEADER + TRACKS_ROWS)
    audio = tmp_path / "fma_audio"
    for number in (2, 5, 10, 20):
        (audio / "000").mkdir(parents=True, exist_ok=True)
        audio_factory.write_tone(audio / "000" / f"{number:06d}.mp3", 0.2, fmt="mp3")
    return metadata, audio


def _openmic(path: Path, keys: list[str], y_true: np.ndarray, y_mask: np.ndarray) -> Path:
    np.savez(
        path,
        Y_true=y_true.astype(np.float32),
        Y_mask=y_mask,
        sample_key=np.array(keys),
        X=np.zeros((len(keys), 10, 128), np.uint8),
    )
    return path


def test_fma_genres_become_tags_and_missing_audio_is_counted(fma: tuple[Path, Path]) -> None:
    metadata, audio = fma
    report = ImportReport()
    tracks = import_fma(metadata, audio, report=report)

    assert [(t.id, t.tags) for t in tracks] == [
        ("000002", ["hip-hop"]),
        ("000005", ["hip-hop", "experimental pop"]),
        ("000010", ["punk"]),
    ]
    assert tracks[0].path == audio / "000" / "000002.mp3"
    assert tracks[0].meta == {"title": "Food", "artist": "AWOL", "album": "AWOL - A Way Of Life"}
    assert tracks[0].attributes == {}
    assert report.kept == 3
    assert report.skipped == {"no genre": 1, "audio file missing": 1}
    assert report.examples["no genre"] == ["000020"]
    assert "000046.mp3" in report.examples["audio file missing"][0]
    assert "kept 3 track(s)" in report.summary()


def test_fma_other_genre_fields_and_parent_folder(
    fma: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    metadata, audio = fma
    with pytest.raises(DatasetError, match=r"tracks\.csv:6: genre id 10 is not in genres\.csv"):
        import_fma(metadata, audio, genre_field="genres_all")  # "[21, 76, 10]": no genre 10 yet
    _write_csv(metadata / "genres.csv", GENRES_CSV + [["10", "13845", "0", "Pop", "10"]])
    monkeypatch.chdir(audio.parent)
    tracks = import_fma(
        metadata.parent, "fma_audio", genre_field="genres_all"
    )  # folder holding fma_metadata
    assert (
        tracks[0].path == audio / "000" / "000002.mp3"
    )  # a relative audio folder still gives absolute paths
    assert {t.id: t.tags for t in tracks} == {
        "000002": ["hip-hop"],
        "000005": ["hip-hop", "experimental pop", "pop"],
        "000010": ["rock", "punk"],
    }
    tracks = import_fma(metadata, audio, genre_field="genre_top")
    assert [(t.id, t.tags) for t in tracks] == [
        ("000002", ["hip-hop"]),
        ("000005", ["hip-hop"]),
        ("000010", ["rock"]),
    ]
    with pytest.raises(DatasetError, match="no column \\('track', 'genre'\\)"):
        import_fma(metadata, audio, genre_field="genre")


def test_fma_with_openmic_keeps_annotated_tracks_and_averages_clips(
    fma: tuple[Path, Path], tmp_path: Path
) -> None:
    metadata, audio = fma
    n = len(OPENMIC_INSTRUMENTS)
    piano, voice, drums = (OPENMIC_INSTRUMENTS.index(x) for x in ("piano", "voice", "drums"))
    y_true = np.full((4, n), 0.5)
    y_mask = np.zeros((4, n), bool)
    # track 2: one clip, piano and voice annotated
    y_true[0, [piano, voice]] = [0.2, 0.9]
    y_mask[0, [piano, voice]] = True
    # track 10: two clips; drums annotated in both (mean), voice in one only
    y_true[1, [drums, voice]] = [1.0, 0.25]
    y_mask[1, [drums, voice]] = True
    y_true[2, drums] = 0.6
    y_mask[2, drums] = True
    y_true[2, voice] = 0.99  # not annotated in this clip: ignored
    # track 99999: not in tracks.csv
    y_mask[3, piano] = True
    npz = _openmic(
        tmp_path / "openmic-2018.npz",
        ["000002_0", "000010_3840", "000010_30000", "099999_0"],
        y_true,
        y_mask,
    )

    report = ImportReport()
    tracks = import_fma(metadata, audio, openmic_npz=npz, out=tmp_path / "fma.jsonl", report=report)

    assert [t.id for t in tracks] == ["000002", "000010"]
    assert tracks[0].attributes == {"piano": 0.2, "voice": 0.9}
    assert tracks[1].attributes == {"drums": 0.8, "voice": 0.25}
    assert report.skipped == {
        "no genre": 1,
        "no OpenMIC annotation": 2,
    }  # 5 has none; 46 has no audio either
    assert "1 OpenMIC track(s) are not in tracks.csv" in report.notes
    assert read_manifest(tmp_path / "fma.jsonl") == tracks
    assert list(load_openmic(npz)) == [2, 10, 99999]


def test_openmic_archive_problems_are_clear(tmp_path: Path) -> None:
    n = len(OPENMIC_INSTRUMENTS)
    pickled = tmp_path / "pickled.npz"
    np.savez(
        pickled,
        Y_true=np.zeros((1, n)),
        Y_mask=np.ones((1, n), bool),
        sample_key=np.array(["000002_0"], dtype=object),
    )
    with pytest.raises(DatasetError, match="pickled object array.*never unpickles"):
        load_openmic(pickled)
    wrong = _openmic(tmp_path / "wrong.npz", ["000002_0"], np.zeros((1, 5)), np.ones((1, 5), bool))
    with pytest.raises(DatasetError, match="expected Y_true and Y_mask"):
        load_openmic(wrong)
    out_of_range = _openmic(
        tmp_path / "range.npz", ["000002_0"], np.full((1, n), 1.5), np.ones((1, n), bool)
    )
    with pytest.raises(DatasetError, match="outside \\[0, 1\\]"):
        load_openmic(out_of_range)
    bad_key = _openmic(tmp_path / "key.npz", ["track_0"], np.zeros((1, n)), np.ones((1, n), bool))
    with pytest.raises(DatasetError, match="does not start with an FMA track id"):
        load_openmic(bad_key)
    np.savez(tmp_path / "partial.npz", Y_true=np.zeros((1, n)))
    with pytest.raises(DatasetError, match="missing array\\(s\\) Y_mask, sample_key"):
        load_openmic(tmp_path / "partial.npz")
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(DatasetError, match="text.npz"):
        load_openmic(tmp_path / "text.npz")
    with pytest.raises(DatasetError, match="not found"):
        load_openmic(tmp_path / "absent.npz")


def test_fma_malformed_files(fma: tuple[Path, Path]) -> None:
    metadata, audio = fma
    _write_csv(metadata / "tracks.csv", TRACKS_HEADER[:2] + TRACKS_ROWS)  # pandas index row lost
    with pytest.raises(DatasetError, match="3-row header"):
        import_fma(metadata, audio)
    _write_csv(
        metadata / "tracks.csv", TRACKS_HEADER + [["7", "", "", "", "", "", "", "", "[21", "", ""]]
    )
    with pytest.raises(DatasetError, match=r"tracks\.csv:4: genre list '\[21' is not like"):
        import_fma(metadata, audio)
    _write_csv(
        metadata / "tracks.csv",
        TRACKS_HEADER + [["x7", "", "", "", "", "", "", "", "[21]", "", ""]],
    )
    with pytest.raises(DatasetError, match="track_id 'x7' is not a number"):
        import_fma(metadata, audio)
    _write_csv(metadata / "genres.csv", [["id", "name"], ["1", "Rock"]])
    with pytest.raises(DatasetError, match="genres.csv: expected FMA's genres.csv"):
        import_fma(metadata, audio)
    with pytest.raises(DatasetError, match="file not found"):
        import_fma(metadata / "nowhere", audio)


# --- MSD + Last.fm -----------------------------------------------------------------------

# track id -> [(tag, score)]: Last.fm spells one genre many ways.
LASTFM = {
    "TRAAAAW128F429D538": [
        ("Classic Rock", "100"),
        ("classic-rock", "40"),
        ("Hip Hop", "10"),
        ("favourites", "90"),
    ],
    "TRAAABD128F429CF47": [("classicrock", "30"), ("Jazz", "100"), ("seen live", "100")],
    "TRBIJYB128F14AE326": [("jazz", "0"), ("Zydeco", "100")],
    "TRAAAEF128F4273421": [("rock", "100")],  # no audio file
    "TRAAAFD128F92F423A": [("favourites", "100")],  # only a tag the filter drops
}
AUDIO_LAYOUT = {  # nested 7digital layout for two tracks, flat for one
    "TRAAAAW128F429D538": "A/A/A/TRAAAAW128F429D538.mp3",
    "TRAAABD128F429CF47": "TRAAABD128F429CF47.mp3",
    "TRBIJYB128F14AE326": "B/I/J/TRBIJYB128F14AE326.mp3",
    "TRAAAFD128F92F423A": "A/A/A/TRAAAFD128F92F423A.mp3",
}


@pytest.fixture
def msd_audio(tmp_path: Path) -> Path:
    root = tmp_path / "msd_audio"
    for relative in AUDIO_LAYOUT.values():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(b"ID3")  # the importer only checks that the file exists
    return root


@pytest.fixture
def lastfm_db(tmp_path: Path) -> Path:
    """lastfm_tags.db: tids(tid), tags(tag), tid_tag(tid, tag, val) linked by ROWID.

    Tags are inserted in reverse order and some rows deleted first, so that ROWIDs differ
    from list positions and a wrong join would show.
    """
    path = tmp_path / "lastfm_tags.db"
    connection = sqlite3.connect(path)
    connection.executescript(
        "CREATE TABLE tids (tid TEXT); CREATE TABLE tags (tag TEXT);"
        "CREATE TABLE tid_tag (tid INT, tag INT, val FLOAT);"
    )
    connection.execute("INSERT INTO tags (tag) VALUES ('placeholder')")
    connection.execute("INSERT INTO tids (tid) VALUES ('TRPLACEHOLDER00000')")
    all_tags = sorted({tag for pairs in LASTFM.values() for tag, _ in pairs}, reverse=True)
    tag_row = {
        tag: connection.execute("INSERT INTO tags (tag) VALUES (?)", (tag,)).lastrowid
        for tag in all_tags
    }
    for tid, pairs in LASTFM.items():
        tid_row = connection.execute("INSERT INTO tids (tid) VALUES (?)", (tid,)).lastrowid
        connection.executemany(
            "INSERT INTO tid_tag VALUES (?, ?, ?)",
            [(tid_row, tag_row[tag], float(score)) for tag, score in pairs],
        )
    connection.commit()
    connection.close()
    return path


@pytest.fixture
def lastfm_json(tmp_path: Path) -> Path:
    """The Last.fm JSON folder: lastfm_train/A/A/A/TRAAAAW128F429D538.json ..."""
    root = tmp_path / "lastfm_train"
    for tid, pairs in LASTFM.items():
        folder = root / tid[2] / tid[3] / tid[4]
        folder.mkdir(parents=True, exist_ok=True)
        record = {
            "artist": f"Artist {tid[-3:]}",
            "timestamp": "2011-08-15",
            "similars": [],
            "tags": [[tag, score] for tag, score in pairs],
            "track_id": tid,
            "title": f"Song {tid[-3:]}",
        }
        (folder / f"{tid}.json").write_text(json.dumps(record), encoding="utf-8")
    return root


def _genre_filter(tmp_path: Path) -> Path:
    path = tmp_path / "genres.txt"
    path.write_text(
        "# Tagtraum-style genre names\nClassic Rock\nJazz\nHip-Hop\tRap\nRock\n\nZydeco\n",
        encoding="utf-8",
    )
    return path


def test_msd_from_sqlite_without_filters(lastfm_db: Path, msd_audio: Path) -> None:
    report = ImportReport()
    tracks = import_msd(lastfm_db, msd_audio, report=report)
    by_id = {t.id: t for t in tracks}
    assert list(by_id) == [
        "TRAAAAW128F429D538",
        "TRAAABD128F429CF47",
        "TRAAAFD128F92F423A",
        "TRBIJYB128F14AE326",
    ]
    # ordered by score; two spellings stay two tags without a genre filter
    assert by_id["TRAAAAW128F429D538"].tags == [
        "classic rock",
        "favourites",
        "classic-rock",
        "hip hop",
    ]
    assert (
        by_id["TRAAAAW128F429D538"].path == msd_audio / "A" / "A" / "A" / "TRAAAAW128F429D538.mp3"
    )
    assert by_id["TRAAABD128F429CF47"].path == msd_audio / "TRAAABD128F429CF47.mp3"
    assert (
        by_id["TRBIJYB128F14AE326"].path == msd_audio / "B" / "I" / "J" / "TRBIJYB128F14AE326.mp3"
    )
    assert report.skipped == {"audio file missing": 1}
    assert report.examples["audio file missing"] == ["TRAAAEF128F4273421"]


def test_msd_genre_filter_merges_spellings_and_min_score(
    lastfm_db: Path, msd_audio: Path, tmp_path: Path
) -> None:
    report = ImportReport()
    tracks = import_msd(
        lastfm_db, msd_audio, genre_filter=_genre_filter(tmp_path), min_score=1, report=report
    )
    assert {t.id: t.tags for t in tracks} == {
        "TRAAAAW128F429D538": ["classic rock", "hip-hop"],  # "Classic Rock" + "classic-rock" merged
        "TRAAABD128F429CF47": ["jazz", "classic rock"],
        "TRBIJYB128F14AE326": ["zydeco"],  # "jazz" at score 0 is below min_score
    }
    assert report.skipped == {"audio file missing": 1, "no kept tag": 1}
    assert (
        "2 distinct Last.fm tag(s) dropped: not in the genre filter" in report.notes
    )  # favourites, seen live


def test_msd_word_vectors_and_min_tag_count(
    lastfm_db: Path, msd_audio: Path, tmp_path: Path
) -> None:
    rng = np.random.default_rng(0)
    words = ["classic", "rock", "jazz", "hip-hop"]  # no "zydeco"
    vectors = WordVectors(words, rng.standard_normal((len(words), 8)).astype(np.float32))
    tracks = import_msd(lastfm_db, msd_audio, genre_filter=_genre_filter(tmp_path), vectors=vectors)
    assert {t.id: t.tags for t in tracks} == {
        "TRAAAAW128F429D538": ["classic rock", "hip-hop"],
        "TRAAABD128F429CF47": ["jazz", "classic rock"],
        "TRBIJYB128F14AE326": ["jazz"],
    }
    # a plain set works too (membership only)
    tracks = import_msd(
        lastfm_db, msd_audio, genre_filter=_genre_filter(tmp_path), vectors={"jazz", "zydeco"}
    )
    assert {t.id: t.tags for t in tracks} == {
        "TRAAABD128F429CF47": ["jazz"],
        "TRBIJYB128F14AE326": ["zydeco", "jazz"],
    }  # by score

    report = ImportReport()
    tracks = import_msd(
        lastfm_db,
        msd_audio,
        genre_filter=_genre_filter(tmp_path),
        min_tag_count=2,
        out=tmp_path / "msd.jsonl",
        report=report,
    )
    assert {t.id: t.tags for t in tracks} == {
        "TRAAAAW128F429D538": ["classic rock"],
        "TRAAABD128F429CF47": ["jazz", "classic rock"],
        "TRBIJYB128F14AE326": ["jazz"],
    }
    assert "2 tag(s) on fewer than 2 tracks dropped" in report.notes  # hip-hop, zydeco
    assert read_manifest(tmp_path / "msd.jsonl") == tracks


def test_msd_json_folder_matches_the_database(
    lastfm_db: Path, lastfm_json: Path, msd_audio: Path, tmp_path: Path
) -> None:
    from_db = import_msd(lastfm_db, msd_audio, genre_filter=_genre_filter(tmp_path))
    from_json = import_msd(lastfm_json, msd_audio, genre_filter=_genre_filter(tmp_path))
    assert [(t.id, t.path, t.tags) for t in from_json] == [(t.id, t.path, t.tags) for t in from_db]
    assert from_json[0].meta == {"title": "Song 538", "artist": "Artist 538"}


def test_msd_malformed_sources(tmp_path: Path, msd_audio: Path, lastfm_json: Path) -> None:
    not_db = tmp_path / "tags.db"
    not_db.write_text("hello")
    with pytest.raises(DatasetError, match="not an SQLite database"):
        import_msd(not_db, msd_audio)
    wrong = tmp_path / "wrong.db"
    sqlite3.connect(wrong).executescript(
        "CREATE TABLE songs (x); INSERT INTO songs VALUES (1);"
    ).close()
    with pytest.raises(DatasetError, match="expected tables tids, tags and tid_tag"):
        import_msd(wrong, msd_audio)
    with pytest.raises(DatasetError, match="no such Last.fm"):
        import_msd(tmp_path / "absent.db", msd_audio)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no Last.fm .json files"):
        import_msd(tmp_path / "empty", msd_audio)
    (lastfm_json / "A" / "A" / "A" / "TRAAAAW128F429D538.json").write_text('{"tags": "rock"}')
    with pytest.raises(
        DatasetError, match="TRAAAAW128F429D538.json: expected an object with 'tags'"
    ):
        import_msd(lastfm_json, msd_audio)
    empty_filter = tmp_path / "none.txt"
    empty_filter.write_text("# nothing\n")
    with pytest.raises(DatasetError, match="lists no genre"):
        import_msd(not_db, msd_audio, genre_filter=empty_filter)


# --- folder of tagged files --------------------------------------------------------------


def _id3v1(title: str, genre: int) -> bytes:
    """A 128-byte ID3v1 tag: 'TAG', title, artist, album (30 each), year, comment, genre byte."""
    field = lambda text, size: text.encode("latin-1").ljust(size, b"\0")  # noqa: E731
    return (
        b"TAG"
        + field(title, 30)
        + field("Old Artist", 30)
        + field("", 30)
        + b"1999"
        + field("", 30)
        + bytes([genre])
    )


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """A small music library: one file per tag container, some oddities."""
    root = tmp_path / "music"
    (root / "Artist" / "Album").mkdir(parents=True)
    (root / "misc").mkdir()

    def tone(relative: str, fmt: str | None = None) -> Path:
        return audio_factory.write_tone(root / relative, 0.3, 22050, fmt=fmt)

    id3_file = mutagen.File(tone("Artist/Album/01 multi.mp3"))
    id3_file.add_tags()
    id3_file.tags.add(TCON(encoding=3, text=["Rock", "Electronic"]))  # ID3v2.4 multi-value
    id3_file.tags.add(TMOO(encoding=3, text=["Happy"]))
    id3_file.tags.add(TIT1(encoding=3, text=["Workout"]))
    id3_file.tags.add(TIT2(encoding=3, text=["Song One"]))
    id3_file.tags.add(TPE1(encoding=3, text=["The Artist"]))
    id3_file.tags.add(TALB(encoding=3, text=["The Album"]))
    id3_file.save()

    id3_file = mutagen.File(tone("Artist/Album/02 numeric.MP3", "mp3"))
    id3_file.add_tags()
    id3_file.tags.add(TCON(encoding=3, text=["(17)Indie Rock/Punk"]))
    id3_file.tags.add(TXXX(encoding=3, desc="mood", text=["Angry; Loud"]))
    id3_file.save()

    with tone("misc/v1.mp3").open("ab") as handle:
        handle.write(_id3v1("Old Song", 8))  # 8 = Jazz

    flac = mutagen.File(tone("misc/a.flac"))
    flac["GENRE"] = "Jazz; Blues"
    flac["Mood"] = ["Calm"]
    flac["GROUPING"] = "Late Night"
    flac["TITLE"] = "Flac Song"
    flac.save()

    vorbis = mutagen.File(tone("misc/b.ogg"))
    vorbis["genre"] = ["Folk / Country", "Indie Folk"]  # two values: not split further
    vorbis.save()

    opus = mutagen.File(tone("misc/c.opus"))
    opus["genre"] = ["(8)"]
    opus.save()

    mp4 = mutagen.File(tone("misc/d.m4a"))
    mp4.tags["©gen"] = ["Hip-Hop/Rap"]
    mp4.tags["----:com.apple.iTunes:MOOD"] = [MP4FreeForm(b"Energetic")]
    mp4.tags["©grp"] = ["Party"]
    mp4.tags["©nam"] = ["Mp4 Song"]
    mp4.tags["©ART"] = ["Mp4 Artist"]
    mp4.save()

    wma = mutagen.File(tone("misc/e.wma"))
    wma.tags["WM/Genre"] = ["Reggae"]
    wma.tags["WM/Mood"] = ["Chill"]
    wma.tags["Title"] = ["Wma Song"]
    wma.save()

    for name in ("misc/f.wav", "misc/g.aiff"):
        chunked = mutagen.File(tone(name))
        chunked.add_tags()
        chunked.tags.add(TCON(encoding=3, text=["Ambient"]))
        chunked.save()

    tone("misc/untagged.wav")
    (root / "misc" / "broken.flac").write_bytes(b"fLaC" + b"\x00" * 40)  # truncated header
    (root / "misc" / "notes.txt").write_text("not audio")
    (root / "misc" / "loop").symlink_to(root, target_is_directory=True)
    return root


EXPECTED_LIBRARY = {
    "Artist/Album/01 multi.mp3": ["rock", "electronic", "happy", "workout"],
    "Artist/Album/02 numeric.MP3": ["rock", "indie rock/punk", "angry", "loud"],
    "misc/a.flac": ["jazz", "blues", "calm", "late night"],
    "misc/b.ogg": ["folk / country", "indie folk"],
    "misc/c.opus": ["jazz"],
    "misc/d.m4a": ["hip-hop", "rap", "energetic", "party"],
    "misc/e.wma": ["reggae", "chill"],
    "misc/f.wav": ["ambient"],
    "misc/g.aiff": ["ambient"],
    "misc/v1.mp3": ["jazz"],
}


def test_folder_reads_every_container(library: Path, tmp_path: Path) -> None:
    report = ImportReport()
    tracks = import_folder(library, out=tmp_path / "lib.jsonl", report=report)

    assert {t.id: t.tags for t in tracks} == EXPECTED_LIBRARY
    by_id = {t.id: t for t in tracks}
    assert by_id["Artist/Album/01 multi.mp3"].meta == {
        "title": "Song One",
        "artist": "The Artist",
        "album": "The Album",
    }
    assert by_id["Artist/Album/01 multi.mp3"].path == library / "Artist" / "Album" / "01 multi.mp3"
    assert by_id["misc/v1.mp3"].meta == {"title": "Old Song", "artist": "Old Artist"}
    assert by_id["misc/d.m4a"].meta == {"title": "Mp4 Song", "artist": "Mp4 Artist"}
    assert by_id["misc/e.wma"].meta == {"title": "Wma Song"}
    assert report.skipped == {"unreadable metadata": 1, "no genre/mood/grouping tag": 1}
    assert report.examples["unreadable metadata"][0].startswith("misc/broken.flac (")
    assert report.examples["no genre/mood/grouping tag"] == ["misc/untagged.wav"]
    assert any("symbolic link loop" in note for note in report.notes)
    assert read_manifest(tmp_path / "lib.jsonl") == tracks


def test_folder_fields_and_untagged(library: Path) -> None:
    tracks = import_folder(library, fields=("genre",), keep_untagged=True)
    by_id = {t.id: t.tags for t in tracks}
    assert by_id["misc/a.flac"] == ["jazz", "blues"]
    assert by_id["misc/untagged.wav"] == []
    assert "misc/broken.flac" not in by_id
    tracks = import_folder(library, fields=("mood",))
    assert {t.id: t.tags for t in tracks} == {
        "Artist/Album/01 multi.mp3": ["happy"],
        "Artist/Album/02 numeric.MP3": ["angry", "loud"],
        "misc/a.flac": ["calm"],
        "misc/d.m4a": ["energetic"],
        "misc/e.wma": ["chill"],
    }


def test_folder_custom_field(tmp_path: Path) -> None:
    path = audio_factory.write_tone(tmp_path / "x.mp3", 0.3, fmt="mp3")
    tagged = mutagen.File(path)
    tagged.add_tags()
    tagged.tags.add(TXXX(encoding=3, desc="STYLE", text=["Dub, Roots"]))
    tagged.save()
    assert read_file_tags(path, ("style",)) == (["dub", "roots"], {})


def test_folder_survives_unreadable_folders(library: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_scandir = os.scandir
    locked = library / "Artist"

    def scandir(path: Any) -> Any:  # os.scandir, refused for one folder
        if Path(str(path)) == locked:
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(datasets.os, "scandir", scandir)  # running as root makes chmod useless here
    report = ImportReport()
    tracks = import_folder(library, report=report)
    assert {t.id for t in tracks} == {k for k in EXPECTED_LIBRARY if not k.startswith("Artist/")}
    assert report.skipped["unreadable folder"] == 1
    assert "Permission denied" in report.examples["unreadable folder"][0]


def test_folder_that_is_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not a folder"):
        import_folder(tmp_path / "absent")
    with pytest.raises(DatasetError, match="not an audio format"):
        read_file_tags(Path(__file__))
