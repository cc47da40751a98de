"""`zsl-tagger` end to end through main([...]): scan a folder of short generated clips with the
real default model, search, show tags, dry-run, write, history, undo; checked with mutagen."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import audio_factory
import numpy as np
import pytest

from app.cli import main
from app.library import Library
from app.routing import DEFAULT_ROUTES
from app.tagformats import open_tags
from app.tagwriter import read_field
from zsl_core.tags import display_form


def all_tags(path: Path) -> list[str]:
    tags = open_tags(path).audio.tags
    return sorted(repr(item) for item in tags.items()) if tags is not None else []


@pytest.fixture
def music(tmp_path: Path) -> list[Path]:
    """Four 3-second clips in four containers; one starts with a genre already set."""
    folder = tmp_path / "music"
    folder.mkdir()
    sr = 22050
    files = [
        audio_factory.write_signal(folder / "tone.wav", audio_factory.tone(3, sr, (220, 330)), sr),
        audio_factory.write_signal(folder / "sweep.flac", audio_factory.chirp(3, sr), sr),
        audio_factory.write_signal(
            folder / "noise.mp3", np.random.default_rng(0).uniform(-0.3, 0.3, 3 * sr), sr
        ),
        audio_factory.write_tone(folder / "high.m4a", 3.0, sr, (880.0, 1320.0)),
    ]
    flac = open_tags(files[1]).audio
    flac["GENRE"] = ["Jazz"]
    flac.save()
    return files


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_scan_search_tags_write_history_undo(
    tmp_path: Path, music: list[Path], capsys: pytest.CaptureFixture
) -> None:
    db = ["--db", str(tmp_path / "lib.sqlite3"), "--device", "cpu"]
    folder = str(music[0].parent)
    before = {p: all_tags(p) for p in music}

    code, out, err = run(capsys, *db, "scan", folder, "--windows", "2", "--workers", "1")
    assert code == 0, err
    assert "4 scanned" in out and "0 failed" in out

    code, out, _ = run(capsys, *db, "search", "ambient electronic", "--top", "3", "--json")
    assert code == 0
    hits = json.loads(out)
    assert 1 <= len(hits) <= 3 and {h["path"] for h in hits} <= {str(p) for p in music}
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    assert all(set(h["matched"]) == {"ambient", "electronic"} for h in hits)
    code, out, _ = run(capsys, *db, "search", "ambient")
    assert code == 0 and out.splitlines()[0].lstrip().startswith("1")

    code, out, _ = run(capsys, *db, "tags", folder, "--top", "2", "--json")
    assert code == 0
    shown = {item["path"]: item for item in json.loads(out)}
    assert set(shown) == {str(p) for p in music}
    # What the panel lists (`Library.listing`), at most --top of each; the proposals are what a
    # default `write` adds (the rule and budget the GUI ticks: 3 per field, genres and moods).
    assert all(len(i["seen"]) == 2 and len(i["unseen"]) <= 2 for i in shown.values())
    assert all(len(i["proposed"]) <= 6 for i in shown.values())
    assert all(t["kind"] in ("genre", "mood") for i in shown.values() for t in i["proposed"])
    with Library(Path(db[1]), device="cpu") as library:
        for item in shown.values():
            rule = [t.tag for t in library.proposals(item["id"], 3, routes=DEFAULT_ROUTES)]
            assert [t["tag"] for t in item["proposed"]] == rule
    code, out, _ = run(capsys, *db, "tags", str(music[0]))
    assert code == 0 and str(music[0]) in out and "new:      *" in out and "proposed:" in out
    # --why: a line per proposed tag saying where its confidence comes from; a new word names
    # the trained words it is read off, as in the JSON's basis
    code, out, _ = run(capsys, *db, "tags", str(music[0]), "--why")
    why = [line.strip() for line in out.splitlines() if line.startswith("    ")]
    assert code == 0 and why and all(": " in line for line in why)
    new_words = [t for t in shown[str(music[0])]["proposed"] if not t["seen"]]
    for tag in new_words:
        assert tag["basis"] and any(
            line.startswith(f"*{tag['tag']}: Read off the trained words {tag['basis'][0]['tag']}")
            for line in why
        )

    code, out, _ = run(
        capsys,
        *db,
        "write",
        folder,
        "--field",
        "genre",
        "--top",
        "2",
        "--min-score",
        "0",
        "--dry-run",
    )
    assert code == 0 and "nothing written" in out
    assert sum(line.startswith("  genre: ") and " -> " in line for line in out.splitlines()) == 4
    assert {p: all_tags(p) for p in music} == before

    code, out, err = run(
        capsys, *db, "write", folder, "--field", "genre", "--top", "2", "--min-score", "0"
    )
    assert code == 0, err
    assert "4 files written" in out
    with Library(tmp_path / "lib.sqlite3", device="cpu") as library:
        for path in music:
            # Everything forced into Genre: the track's best two (the one picking rule), spelt as
            # listeners write them.
            track_id = library.track_id(path)
            assert track_id is not None, path
            picked = library.proposals(track_id, top_k=2, min_confidence=0)
            expected = [display_form(t.tag, t.kind) for t in picked]
            genres = read_field(path, "genre")
            assert len(expected) == 2 and {e.casefold() for e in expected} <= {
                g.casefold() for g in genres
            }, (path, genres)
    assert read_field(music[1], "genre")[0] == "Jazz"  # merge keeps what was there

    code, out, _ = run(
        capsys,
        *db,
        "write",
        str(music[2]),
        "--field",
        "custom:ZSL",
        "--top",
        "1",
        "--include",
        "unseen",
        "--mode",
        "replace",
        "--id3",
        "v2.3",
        "--min-score",
        "0",
    )
    assert code == 0 and "1 file written" in out
    with Library(Path(db[1]), device="cpu") as library:  # the one rule, new words only
        item = shown[str(music[2])]
        best_new = library.proposals(item["id"], top_k=1, min_confidence=0, include="unseen")[0]
    assert read_field(music[2], "custom:ZSL") == [display_form(best_new.tag, best_new.kind)]

    code, out, _ = run(capsys, *db, "history", "--json")
    batches = json.loads(out)
    assert [(b["field"], b["files"], b["undone"]) for b in batches] == [
        ("custom:ZSL", 1, False),
        ("genre", 4, False),
    ]
    code, out, _ = run(capsys, *db, "history")
    assert code == 0 and "genre" in out and "custom:ZSL" in out

    code, out, _ = run(capsys, *db, "undo")
    assert code == 0 and "1 restored" in out
    code, out, _ = run(capsys, *db, "undo", str(batches[1]["batch"]))
    assert code == 0 and "4 restored" in out
    for path in music:
        assert read_field(path, "genre") == ([] if path != music[1] else ["Jazz"])
    assert read_field(music[2], "custom:ZSL") == []
    assert {p: all_tags(p) for p in music} == before
    code, _, err = run(capsys, *db, "undo")
    assert code == 2 and err.count("\n") == 1 and "nothing to undo" in err

    code, _, err = run(capsys, *db, "tags", str(tmp_path / "elsewhere.wav"))
    assert code == 2 and "not in the index" in err


def test_bad_db_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bogus = tmp_path / "not-a-db.sqlite3"
    bogus.write_bytes(b"this is not an SQLite database" * 100)
    code, out, err = run(capsys, "--db", str(bogus), "history")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("zsl-tagger: error:") and str(bogus) in err
    code, _, err = run(capsys, "history", "--db", str(tmp_path))  # a folder, option after
    assert code == 2 and err.count("\n") == 1


def test_missing_vectors_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code, out, err = run(
        capsys,
        "--db",
        str(tmp_path / "lib.sqlite3"),
        "--vectors",
        str(tmp_path / "nope.txt"),
        "search",
        "sad piano",
    )
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "nope.txt" in err and "Traceback" not in err


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    db = ["--db", str(tmp_path / "lib.sqlite3")]
    with pytest.raises(SystemExit) as exc:
        main([*db, "write", "--field", "title"])
    assert exc.value.code == 2
    assert "unknown field" in capsys.readouterr().err
    code, _, err = run(capsys, *db, "write", "--field", "genre")
    assert code == 2 and "scan" in err  # empty index
    code, _, err = run(capsys, *db, "scan", str(tmp_path / "missing"))
    assert code == 2 and "no such file" in err
    code, out, _ = run(capsys, *db, "history")
    assert code == 0 and "no tag writes yet" in out


def test_no_arguments_without_gui_is_one_line_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "app.gui", None)  # as if Qt could not be imported
    assert main([]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "desktop app" in err


def test_ctrl_c_cancels_the_scan_cleanly(
    tmp_path: Path,
    music: list[Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    """The first Ctrl-C (a real SIGINT, sent at the first progress report) sets the cancel
    event: the scan stops, prints its summary, exits 130, and the next scan finishes the job."""
    import app.cli

    report = app.cli._Progress.__call__

    def interrupt_once(self, progress) -> None:
        if not getattr(self, "sent", False):
            self.sent = True
            os.kill(os.getpid(), signal.SIGINT)
        report(self, progress)

    monkeypatch.setattr(app.cli._Progress, "__call__", interrupt_once)
    previous = signal.getsignal(signal.SIGINT)
    db = ["--db", str(tmp_path / "lib.sqlite3"), "--device", "cpu"]
    code, out, err = run(capsys, *db, "scan", str(music[0].parent), "--workers", "0")
    assert code == 130, (out, err)
    assert "scan cancelled" in out and "cancelling" in err and "Traceback" not in err
    assert signal.getsignal(signal.SIGINT) is previous  # handler restored
    monkeypatch.undo()
    code, out, _ = run(capsys, *db, "scan", "--workers", "0")  # the remembered folder
    assert code == 0 and "failed" in out
    code, out, _ = run(capsys, *db, "tags", "--json")
    assert len(json.loads(out)) == 4


def test_gui_subcommand_passes_its_options_to_the_window(monkeypatch):
    import app.gui

    seen: list[list[str]] = []

    def gui_main(argv: list[str]) -> int:
        seen.append(list(argv))
        return 0

    monkeypatch.setattr(app.gui, "main", gui_main)
    assert main(["gui", "--db", "/tmp/lib.sqlite3", "/music"]) == 0
    assert main([]) == 0
    assert seen == [["--db", "/tmp/lib.sqlite3", "/music"], []]


def test_the_built_in_word_spaces_are_named_not_files(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    for space in ("glove", "minilm"):
        code, _, err = run(
            capsys, "--db", str(tmp_path / "lib.sqlite3"), "--vectors", space, "history"
        )
        assert code == 0, err
