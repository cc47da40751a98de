"""The real-music benchmark's labelling rules (no download: only the tables and label_music).

A benchmark is only as honest as its labels: these checks keep the reserved packages out, keep
every package's evidence written down, and keep a sample from being marked wrong for its own
instrument or its own family's words."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_real_music", HERE / "bench_real_music.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


RESERVED = (
    "wesnoth",
    "fretsonfire",
    "nexuiz",
    "noiz2sa",
    "warzone2100",
    "hyperrogue",
    "singularity",
    "mrrescue",
)


def test_no_reserved_package_and_every_package_says_why(bench) -> None:
    for package in bench.PACKAGES:
        assert not any(name in package.name for name in RESERVED), package.name
        assert len(package.why) > 40, package.label
    labels = [p.label for p in bench.PACKAGES]
    assert len(labels) == len(set(labels)), "two records report under one source name"


def test_world_music_clip_labelled_from_its_text(bench) -> None:
    package = next(p for p in bench.PACKAGES if p.label == "gcompris-world-music")
    correct, wrong, evidence = bench.label_music(package, Path("ireland.ogg"), {})
    assert {"celtic", "folk"} <= correct
    assert "speech" in wrong and not (correct & wrong)
    assert any("celtic" in e for e in evidence)


@pytest.mark.parametrize(
    ("stem", "right", "not_wrong", "wrong_words"),
    [
        ("violin", {"violin", "strings"}, {"cello"}, {"piano", "trumpet", "techno"}),
        ("guitar", {"guitar"}, {"strings", "banjo"}, {"piano", "vocals"}),
        ("electric_guitar", {"electric guitar", "guitar"}, {"metal"}, {"flute"}),
        ("drum_kit", {"drums", "percussion"}, {"cymbal"}, {"piano", "violin"}),
    ],
)
def test_instrument_sample_never_wrong_for_its_own_family(
    bench, stem: str, right: set[str], not_wrong: set[str], wrong_words: set[str]
) -> None:
    package = next(p for p in bench.PACKAGES if p.label == "gcompris-instruments")
    correct, wrong, _ = bench.label_music(package, Path(f"{stem}.ogg"), {})
    assert right <= correct
    assert not (not_wrong & wrong)
    assert wrong_words <= wrong
    assert not (correct & wrong)


def test_widelands_and_freedink_labelled_from_their_tags_and_readme(bench) -> None:
    widelands = next(p for p in bench.PACKAGES if p.label == "widelands-data")
    correct, wrong, evidence = bench.label_music(
        widelands, Path("ingame_15.ogg"), {"genre": "Trash Metal", "title": "Widelands_01"}
    )
    assert {"metal", "rock"} <= correct and "calm" in wrong
    assert evidence == ["GENRE=Trash Metal"]
    correct, _, _ = bench.label_music(widelands, Path("ingame_28.ogg"), {"genre": "folk"})
    assert correct == {"folk"}
    freedink = next(p for p in bench.PACKAGES if p.label == "freedink-data")
    correct, wrong, _ = bench.label_music(freedink, Path("106.ogg"), {})
    assert {"classical", "violin", "strings"} <= correct and "metal" in wrong
    correct, _, _ = bench.label_music(freedink, Path("5.ogg"), {})
    assert not correct  # no style stated for it


def test_zip_audio_copied_out_once_and_the_archive_removed(bench, tmp_path: Path) -> None:
    import zipfile

    archive = tmp_path / "data" / "public.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("audio/music/Taiko_1.ogg", b"ogg")
        bundle.writestr("audio/music/readme.txt", b"text")
        bundle.writestr("audio/sfx/boom.ogg", b"ogg")
    note = bench.unpack_zip_audio(tmp_path, [("data/public.zip", "audio/music")])
    assert note == "unzipped 1 files"
    assert (tmp_path / "zip/audio/music/Taiko_1.ogg").read_bytes() == b"ogg"
    assert not (tmp_path / "zip/audio/sfx").exists() and not archive.exists()
    assert bench.unpack_zip_audio(tmp_path, [("data/public.zip", "audio/music")]) == (
        "unzipped (cached)"
    )


def test_berusky2_titles_state_piano_and_relax(bench) -> None:
    package = next(p for p in bench.PACKAGES if p.label == "berusky2-data")
    tags = {"genre": "SoundTrack", "title": "Relax 3"}
    correct, wrong, evidence = bench.label_music(package, Path("Relax3.ogg"), tags)
    assert {"relaxing", "calm", "soundtrack"} <= correct
    assert {"metal", "aggressive", "speech"} <= wrong and not (correct & wrong)
    assert "TITLE=Relax 3" in evidence
    correct, _, _ = bench.label_music(package, Path("Piano1.ogg"), {"title": "Piano 1"})
    assert "piano" in correct and "calm" not in correct
