"""zsl_core.synth: our MIDI writer, the label design, determinism, and a small real render."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from zsl_core import synth
from zsl_core.cli import main as cli_main
from zsl_core.vectors import OPENMIC_INSTRUMENTS

# --- a tiny independent SMF reader (only what the tests need) ---------------------------------


def _read_vlq(data: bytes, pos: int) -> tuple[int, int]:
    value = 0
    while True:
        byte = data[pos]
        pos += 1
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, pos


def parse_smf(data: bytes) -> tuple[int, int, list[list[tuple[int, bytes]]]]:
    """(format, division, tracks as [(absolute tick, event bytes)]); asserts the structure."""
    assert data[:4] == b"MThd"
    length, fmt, ntracks, division = struct.unpack(">IHHH", data[4:14])
    assert length == 6
    pos, tracks = 14, []
    for _ in range(ntracks):
        assert data[pos : pos + 4] == b"MTrk", f"chunk at {pos} is {data[pos : pos + 4]!r}"
        size = struct.unpack(">I", data[pos + 4 : pos + 8])[0]
        body, pos = data[pos + 8 : pos + 8 + size], pos + 8 + size
        assert len(body) == size
        events, p, tick = [], 0, 0
        while p < len(body):
            delta, p = _read_vlq(body, p)
            tick += delta
            status = body[p]
            assert status & 0x80, "running status is never written"
            if status == 0xFF:
                length, q = _read_vlq(body, p + 2)
                event, p = body[p : q + length], q + length
            else:
                n = 2 if status & 0xF0 in (0xC0, 0xD0) else 3
                event, p = body[p : p + n], p + n
                assert all(b < 0x80 for b in event[1:]), "data bytes are 7-bit"
            events.append((tick, event))
        assert events and events[-1][1] == b"\xff\x2f\x00", "every track ends with end-of-track"
        assert sum(1 for _, e in events if e == b"\xff\x2f\x00") == 1
        tracks.append(events)
    assert pos == len(data), "no bytes after the last chunk"
    return fmt, division, tracks


# --- the MIDI writer -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, encoded",
    [
        (0, b"\x00"),
        (0x40, b"\x40"),
        (0x7F, b"\x7f"),
        (0x80, b"\x81\x00"),
        (0x2000, b"\xc0\x00"),
        (0x3FFF, b"\xff\x7f"),
        (0x4000, b"\x81\x80\x00"),
        (0x0FFFFFFF, b"\xff\xff\xff\x7f"),
    ],
)
def test_variable_length_quantities_match_the_smf_specification(value, encoded):
    assert synth._vlq(value) == encoded
    assert _read_vlq(encoded, 0) == (value, len(encoded))


def test_midi_writer_writes_a_valid_format_1_file():
    conductor = synth.MidiTrack(name="tempo")
    conductor.tempo(0, 500_000)
    conductor.time_signature(0, 3, 4)
    piano = synth.MidiTrack(name="piano")
    piano.program(0, 0, 0)
    piano.note(0, 0, 60, 100, 480)
    piano.note(480, 0, 60, 80, 480)  # same pitch again: the off must come before the on
    drums = synth.MidiTrack()
    drums.note(240, 9, 36, 127, 120)
    uke = synth.MidiTrack()
    uke.program(0, 1, 24, bank=8)
    uke.note(0, 1, 67, 200, 100)  # velocity clipped to 127
    data = synth.write_midi([conductor, piano, drums, uke], 480, end_tick=1920)
    fmt, division, tracks = parse_smf(data)
    assert (fmt, division, len(tracks)) == (1, 480, 4)
    assert (0, b"\xff\x51\x03\x07\xa1\x20") in tracks[0]  # 500,000 us per quarter
    assert any(e[:3] == b"\xff\x58\x04" and e[3] == 3 and e[4] == 2 for _, e in tracks[0])
    assert all(track[-1][0] == 1920 for track in tracks), "end-of-track at the song's end"
    notes = [(t, e) for t, e in tracks[1] if e[0] & 0xF0 in (0x80, 0x90)]
    assert [(t, e[0] & 0xF0) for t, e in notes] == [
        (0, 0x90),
        (480, 0x80),
        (480, 0x90),
        (960, 0x80),
    ]
    assert (240, b"\x99\x24\x7f") in tracks[2], "drums on channel 10"
    assert (0, b"\xb1\x00\x08") in tracks[3] and (0, b"\xc1\x18") in tracks[3], (
        "bank select then program"
    )
    assert (0, b"\x91\x43\x7f") in tracks[3]


def test_one_track_is_format_0_and_no_track_is_refused():
    track = synth.MidiTrack()
    track.note(0, 0, 60, 90, 10)
    fmt, _, tracks = parse_smf(synth.write_midi([track]))
    assert fmt == 0 and len(tracks) == 1
    with pytest.raises(ValueError):
        synth.write_midi([])


# --- the label design ---------------------------------------------------------------------------


def test_twenty_openmic_instruments_and_at_least_forty_genres():
    assert synth.INSTRUMENTS == OPENMIC_INSTRUMENTS
    assert set(synth.VOICES) == set(OPENMIC_INSTRUMENTS)
    assert len(synth.GENRES) >= 40
    for genre in synth.GENRES.values():
        assert set(genre.instruments) <= set(OPENMIC_INSTRUMENTS)
        assert all(0.0 <= p <= 1.0 for p in genre.instruments.values())
        assert all(p in synth.PROGRESSIONS for p in genre.progressions), genre.name
        assert all(m in synth.METRES for m in genre.metres), genre.name
        assert genre.groove in synth.GROOVES or genre.groove == "none", genre.name
        assert genre.tempo[0] <= genre.tempo[1]
    every_instrument = {i for g in synth.GENRES.values() for i, p in g.instruments.items() if p > 0}
    assert every_instrument == set(OPENMIC_INSTRUMENTS)


def test_genre_and_mood_words_are_known_to_the_shipped_word_vectors():
    from zsl_core.resources import resource_path
    from zsl_core.vectors import WordVectors

    vectors = WordVectors.load(resource_path("vectors", "glove-6B-50d.npz"))
    words = list(synth.GENRES) + [w for ws in synth.MOODS.values() for w in ws]
    assert [w for w in words if vectors.embed(w) is None] == []


def test_the_bundled_soundfont_has_every_preset_we_use():
    sf2 = Path(synth.SOUNDFONT_CANDIDATES[0])
    if not sf2.is_file():
        pytest.skip(f"{sf2} is not installed ({synth.INSTALL_HINT})")
    presets = synth.soundfont_presets(sf2)
    used = {p for v in synth.VOICES.values() for p in v.presets}
    used |= {p for g in synth.GENRES.values() for ps in g.sounds.values() for p in ps}
    assert used <= presets, sorted(used - presets)


def test_labels_follow_the_music():
    plans = [synth.plan_track(7, i, 10.0) for i in range(150)]
    mood_words = {w for ws in synth.MOODS.values() for w in ws}
    cardinality = Counter(len(p.genres) for p in plans)
    assert set(cardinality) <= {1, 2, 3} and cardinality[1] and cardinality[2]
    agree = total = unannotated = 0
    for plan in plans:
        assert plan.genres[0] == plan.song.genre.name and len(set(plan.genres)) == len(plan.genres)
        assert plan.moods and set(plan.moods) <= mood_words
        assert plan.instruments and set(plan.instruments) <= set(OPENMIC_INSTRUMENTS)
        for inst, value in plan.attributes.items():
            assert 0.0 <= value <= 1.0 and value != 0.5
            agree += (value > 0.5) == (inst in plan.instruments)
            total += 1
        unannotated += len(OPENMIC_INSTRUMENTS) - len(plan.attributes)
        # drums and cymbals are on channel 10, every other part on its own channel
        channels = [p.channel for p in plan.song.parts if p.instrument not in ("drums", "cymbals")]
        assert 9 not in channels and len(channels) == len(set(channels))
    assert 0.85 < agree / total < 1.0, "likelihoods mostly right, with annotation noise"
    assert unannotated > 0.2 * len(plans) * len(OPENMIC_INSTRUMENTS)
    # moods are driven by the music: slow minor tracks are the sad ones, fast ones energetic
    sad = [p for p in plans if {"sad", "melancholy", "gloomy", "sorrowful"} & set(p.moods)]
    lively = [p for p in plans if {"energetic", "lively", "upbeat"} & set(p.moods)]
    assert sad and all(p.song.mode == "minor" for p in sad)
    assert lively and min(p.character["tempo"] for p in lively) >= 100


def test_a_secondary_genre_shares_the_music_of_the_primary():
    plans = [synth.plan_track(1, i, 10.0) for i in range(150)]
    multi = [p for p in plans if len(p.genres) > 1]
    assert multi
    for plan in multi:
        for name in plan.genres[1:]:
            genre = synth.GENRES[name]
            base = synth.genre_fit(plan.song.genre, plan.song, plan.instruments)
            bonus = 2.0 if genre.family == plan.song.genre.family else 0.0
            assert synth.genre_fit(genre, plan.song, plan.instruments) + bonus > base - 3.0


def test_same_seed_gives_byte_identical_midi_and_labels():
    def digest(seed: int) -> str:
        h = hashlib.sha256()
        for i in range(12):
            plan = synth.plan_track(seed, i, 10.0)
            h.update(plan.midi)
            h.update(json.dumps([plan.genres, plan.moods, plan.attributes, plan.meta()]).encode())
        return h.hexdigest()

    assert digest(5) == digest(5)
    assert digest(5) != digest(6)
    # no dependence on hash randomisation (set or dict ordering of strings)
    code = (
        "import hashlib, json; from zsl_core import synth; h = hashlib.sha256()\n"
        "for i in range(12):\n"
        "    p = synth.plan_track(5, i, 10.0); h.update(p.midi)\n"
        "    h.update(json.dumps([p.genres, p.moods, p.attributes, p.meta()]).encode())\n"
        "print(h.hexdigest())"
    )
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
        )
        assert out.stdout.strip() == digest(5)


def test_every_generated_song_is_a_valid_midi_file():
    for i in range(40):
        plan = synth.plan_track(11, i, 10.0)
        fmt, division, tracks = parse_smf(plan.midi)
        assert (fmt, division) == (1, synth.TICKS_PER_QUARTER)
        assert len(tracks) == 1 + len(plan.song.parts)
        on = sum(1 for t in tracks for _, e in t if e[0] & 0xF0 == 0x90)
        off = sum(1 for t in tracks for _, e in t if e[0] & 0xF0 == 0x80)
        assert on == off > 0
        if "drums" in plan.instruments:
            assert any(e[0] == 0x99 for t in tracks for _, e in t)


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
    for track, plain in zip(tracks, genres_only):
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
