"""zsl_core.synth.corpus and the command: one-line errors, and a small real render."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from zsl_core import synth
from zsl_core.cli import main as cli_main

# --- errors -------------------------------------------------------------------------------------


def test_missing_soundfont_is_a_one_line_error(tmp_path, capsys):
    if shutil.which("fluidsynth") is None:
        pytest.skip(f"fluidsynth is not installed ({synth.INSTALL_HINT})")
    code = cli_main(
        [
            "synth",
            "--out",
            str(tmp_path / "c"),
            "--tracks",
            "2",
            "--soundfont",
            str(tmp_path / "missing.sf2"),
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "soundfont not found" in err and "missing.sf2" in err
    assert not (tmp_path / "c").exists()


def test_a_file_that_is_not_a_soundfont_is_refused(tmp_path):
    fake = tmp_path / "fake.sf2"
    fake.write_bytes(b"RIFF\x04\x00\x00\x00WAVE")
    with pytest.raises(synth.SynthError, match="not a SoundFont 2 file"):
        synth.soundfont_presets(fake)


def test_missing_fluidsynth_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    code = cli_main(["synth", "--out", str(tmp_path / "c"), "--tracks", "2"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "fluidsynth not found" in err


# --- a real render --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    if shutil.which("fluidsynth") is None:
        pytest.skip(f"fluidsynth is not installed ({synth.INSTALL_HINT})")
    try:
        synth.find_soundfont()
    except synth.SynthError as exc:
        pytest.skip(str(exc))
    out = tmp_path_factory.mktemp("synth") / "corpus"
    assert (
        cli_main(
            [
                "synth",
                "--out",
                str(out),
                "--tracks",
                "30",
                "--seed",
                "3",
                "--seconds",
                "4",
                "--workers",
                "2",
                "--quiet",
            ]
        )
        == 0
    )
    return out


def test_render_writes_decodable_audio_and_loadable_manifests(corpus):
    import numpy as np
    import soundfile

    from zsl_core.datasets import read_manifest
    from zsl_core.vectors import attributes_from_csv

    tracks = read_manifest(corpus / "manifest.jsonl")
    genres_only = read_manifest(corpus / "genres.jsonl")
    assert len(tracks) == len(genres_only) == 30
    for track, plain in zip(tracks, genres_only, strict=True):
        plan = synth.plan_track(3, int(track.id), 4.0)
        assert plain.tags == plan.genres and track.tags == plan.genres + plan.moods
        assert track.attributes == plan.attributes and track.meta["instruments"] == plan.instruments
        audio, rate = soundfile.read(track.path, dtype="float32")
        assert rate == synth.SAMPLE_RATE and audio.ndim == 1 and len(audio) == 4 * synth.SAMPLE_RATE
        assert 0.001 < float(np.sqrt(np.mean(audio**2))) and float(np.abs(audio).max()) <= 1.0
        assert (corpus / "midi" / track.id[:3] / f"{track.id}.mid").read_bytes() == plan.midi
    side = attributes_from_csv(corpus / "genres.csv")
    assert len(side.labels) == len(synth.GENRES) and side.matrix.shape[1] == 20
    info = json.loads((corpus / "corpus.json").read_text())
    assert info["parameters"]["seed"] == 3 and len(info["soundfont"]["sha256"]) == 64
    assert info["result"]["failed"] == {} and "fluidsynth" in info["versions"]


def test_the_project_decoder_reads_the_audio(corpus):
    from zsl_core.audio import load_audio

    audio = load_audio(corpus / "audio" / "000" / "000000.flac")
    assert len(audio) == 4 * synth.SAMPLE_RATE


def test_rerun_resumes_and_another_corpus_is_refused(corpus, capsys):
    before = (corpus / "manifest.jsonl").read_bytes()
    report = synth.make_corpus(corpus, 30, seed=3, seconds=4.0, workers=2)
    assert report.reused == 30 and report.rendered == 0 and not report.failed
    assert (corpus / "manifest.jsonl").read_bytes() == before
    with pytest.raises(synth.SynthError, match="other parameters"):
        synth.make_corpus(corpus, 30, seed=4, seconds=4.0)


def test_rendering_the_same_midi_again_gives_the_same_samples(corpus, tmp_path):
    import numpy as np
    import soundfile

    again = tmp_path / "again.flac"
    synth.render(
        corpus / "midi" / "000" / "000001.mid",
        again,
        synth.find_soundfont(),
        4.0,
        synth.find_fluidsynth(),
    )
    first, _ = soundfile.read(corpus / "audio" / "000" / "000001.flac", dtype="int16")
    second, _ = soundfile.read(again, dtype="int16")
    assert np.array_equal(first, second)
