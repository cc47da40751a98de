"""zsl-core reproduce: a tiny end-to-end run, and the controls/calibration pieces on their own."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from zsl_core import reproduce
from zsl_core.datasets import Track, write_manifest
from zsl_core.splits import ANNOTATION_SETUPS, RETRIEVAL_SETUPS, TRAIN_SETUPS
from zsl_core.vectors import SideInformation

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


def test_reproduce_end_to_end(tmp_path):
    corpus = make_corpus(tmp_path / "corpus")
    out = tmp_path / "out"
    results = reproduce.reproduce(
        corpus,
        out,
        preset="quick",
        seeds=[0],
        device="cpu",
        overrides={"epochs": 2},
        progress=False,
    )
    saved = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert saved["seeds"] == [0]
    for exp in ("exp1", "exp1-recipe", "exp2"):
        agg = saved["experiments"][exp]["aggregate"]
        for setup in TRAIN_SETUPS:
            for test in ANNOTATION_SETUPS:
                for method in reproduce.METHODS:
                    assert set(agg["annotation"][setup][test][method]) == {
                        "AUC-i",
                        "MAP-i",
                        "P@1",
                        "P@5",
                        "P@10",
                    }
            for test in RETRIEVAL_SETUPS:
                for method in reproduce.METHODS:
                    assert set(agg["retrieval"][setup][test][method]) == {"AUC-l", "MAP-l"}
            assert set(agg["table4"][setup]) == {"side", "random", "shuffled", "classifier"}
            for test in reproduce.GZSL_SETUPS:
                assert set(agg["calibration"][setup]["side"][test]) == {
                    "uncalibrated",
                    "calibrated_valid",
                    "calibrated_fold",
                }
        # a real number came out for the key zero-shot cell
        cell = agg["annotation"]["(A+B)-X"]["(B+C)-Y"]["side"]["AUC-i"]
        assert cell["mean"] is not None and 0.0 <= cell["mean"] <= 1.0
    assert saved["experiments"]["exp1"]["side_kind"] == "attribute"
    assert saved["experiments"]["exp2"]["side_kind"] == "word"
    assert (
        saved["experiments"]["exp1-recipe"]["side_dim"] == 10
    )  # the 10 instruments named in genres.csv
    assert "mood" not in saved["experiments"]["exp1"]["labels"]
    assert {"happy", "rock", "guitar"} <= set(saved["experiments"]["exp2"]["labels"])
    tables = (out / "tables.md").read_text(encoding="utf-8")
    assert (
        "Table 2" in tables and "Table 3" in tables and "Table 4" in tables and "0.8736" in tables
    )
    studies = (out / "case_studies.md").read_text(encoding="utf-8")
    assert "Table 5" in studies and "Table 6" in studies
    assert results["figures"] and all(
        (out / "figures" / f).read_text().startswith("<svg") for f in results["figures"]
    )
    # features are cached: a second run computes none
    again = reproduce.reproduce(
        corpus,
        out,
        preset="quick",
        seeds=[0],
        device="cpu",
        overrides={"epochs": 1},
        experiments=("exp1",),
        progress=False,
    )
    assert again["features"]["computed"] == 0


def test_calibrated_stacking_moves_only_seen_labels():
    scores = np.array([[0.9, 0.8, 0.3], [0.2, 0.7, 0.6]])
    seen = np.array([True, True, False])
    out = reproduce.calibrated_stacking(scores, seen, 0.5)
    np.testing.assert_allclose(out, [[0.4, 0.3, 0.3], [-0.3, 0.2, 0.6]])
    np.testing.assert_allclose(reproduce.calibrated_stacking(scores, seen, 0.0), scores)
    with pytest.raises(ValueError):
        reproduce.calibrated_stacking(scores, np.array([True, False]), 0.1)


def test_tune_gamma_finds_the_penalty_that_lets_unseen_labels_through():
    # seen labels always score 0.5 higher than they deserve: the right gamma is about 0.5
    rng = np.random.default_rng(0)
    truth = np.zeros((40, 6), dtype=int)
    truth[np.arange(40), rng.integers(0, 6, 40)] = 1
    base = truth * 0.4 + rng.uniform(0, 0.3, truth.shape)
    seen = np.array([True, True, True, False, False, False])
    biased = base + 0.5 * seen
    gamma, value = reproduce.tune_gamma(truth, biased, seen)
    assert 0.2 <= gamma <= 0.8
    assert value == pytest.approx(1.0)
    gamma0, _ = reproduce.tune_gamma(truth, base, seen)
    assert abs(gamma0) <= 0.2  # no bias: little or no calibration


def test_conse_is_the_weighted_mean_of_top_t_unit_vectors():
    side = np.array([[2.0, 0.0], [0.0, 3.0], [1.0, 1.0]])
    probs = np.array([[0.6, 0.2, 0.1], [0.1, 0.1, 0.9]])
    out = reproduce.conse_embeddings(probs, side, top_t=2)
    np.testing.assert_allclose(
        out[0], (0.6 * np.array([1, 0]) + 0.2 * np.array([0, 1])) / 0.8, atol=1e-6
    )
    unit3 = np.array([1, 1]) / np.sqrt(2)
    # row 2: top-2 = label 2 (0.9) and label 0 (first of the 0.1 tie, stable order)
    np.testing.assert_allclose(out[1], (0.9 * unit3 + 0.1 * np.array([1, 0])) / 1.0, atol=1e-6)
    # top_t = 1 is the single best label's direction
    np.testing.assert_allclose(
        reproduce.conse_embeddings(probs, side, top_t=1)[1], unit3, atol=1e-6
    )
    with pytest.raises(ValueError):
        reproduce.conse_embeddings(probs, side[:2])


def test_random_control_has_the_same_shape_and_labels():
    side = SideInformation(
        ["rock", "jazz", "folk"], np.arange(120, dtype=np.float32).reshape(3, 40), "attribute"
    )
    control = reproduce.random_side_like(side, seed=3)
    assert control.matrix.shape == side.matrix.shape and control.labels == side.labels
    assert control.kind == "random"
    assert not np.allclose(control.matrix, side.matrix)
    np.testing.assert_array_equal(control.matrix, reproduce.random_side_like(side, seed=3).matrix)
    assert not np.allclose(control.matrix, reproduce.random_side_like(side, seed=4).matrix)


def test_load_corpus_reads_genres_and_moods(tmp_path):
    corpus = reproduce.load_corpus(make_corpus(tmp_path / "c", n_tracks=12, seconds=0.5))
    assert set(corpus.genres) <= set(GENRES) and set(corpus.moods) <= set(MOODS)
    assert "guitar" in corpus.instruments
    with pytest.raises(Exception, match="no such corpus"):
        reproduce.load_corpus(tmp_path / "missing")


def test_command_line_registration_and_argument_errors(tmp_path, capsys):
    from zsl_core import cli

    args = cli.build_parser().parse_args(
        [
            "reproduce",
            str(tmp_path),
            "--out",
            str(tmp_path / "o"),
            "--seeds",
            "0,2",
            "--experiments",
            "exp1",
        ]
    )
    assert args.func is reproduce.cmd_reproduce and args.preset == "quick"
    assert reproduce.parse_seeds("0,2") == [0, 2]
    assert (
        cli.main(["reproduce", str(tmp_path / "missing"), "--out", str(tmp_path / "o")])
        == cli.EXIT_ERROR
    )
    assert "no such corpus folder" in capsys.readouterr().err
    assert (
        cli.main(["reproduce", str(tmp_path), "--out", str(tmp_path / "o"), "--seeds", "a"])
        == cli.EXIT_ERROR
    )
    assert (
        cli.main(
            ["reproduce", str(tmp_path), "--out", str(tmp_path / "o"), "--experiments", "exp9"]
        )
        == cli.EXIT_ERROR
    )


def test_a_model_that_cannot_train_is_reported_and_the_rest_runs(tmp_path, monkeypatch):
    from zsl_core.errors import DatasetError

    corpus = reproduce.load_corpus(make_corpus(tmp_path / "c", n_tracks=40, seconds=0.5))
    rng = np.random.default_rng(0)
    feats = {t.id: rng.standard_normal((200, 2)).astype(np.float32) for t in corpus.tracks}
    data = reproduce.experiment1_data(corpus, feats)
    real_train = reproduce._train

    def refuse_classifier(*args, **kwargs):
        if args[6] is None:  # no side matrix: the classification model
            raise DatasetError("nothing to train on: 0 usable training tracks")
        return real_train(*args, **kwargs)

    monkeypatch.setattr(reproduce, "_train", refuse_classifier)
    out = reproduce.run_experiment(
        data,
        feats,
        reproduce.PRESETS["quick"],
        0,
        "cpu",
        tmp_path,
        {"epochs": 1},
        progress_errors=False,
    )
    for run in out["runs"].values():
        assert run["classifier"] == {"error": "nothing to train on: 0 usable training tracks"}
        assert "conse" not in run and run["side"]["annotation"] and run["shuffled"]["annotation"]
    agg = reproduce.aggregate({0: out})
    assert agg["table4"]["A-X"]["classifier"]["AUC-l"]["mean"] is None
    assert agg["annotation"]["A-X"]["(B+C)-Y"]["conse"]["AUC-i"]["mean"] is None


def test_shuffled_control_keeps_the_vectors_but_moves_every_one():
    side = SideInformation(
        [f"g{i}" for i in range(7)], np.arange(21, dtype=np.float32).reshape(7, 3), "attribute"
    )
    control = reproduce.shuffled_side_like(side, seed=1)
    assert control.labels == side.labels and control.matrix.shape == side.matrix.shape
    rows = {tuple(r) for r in side.matrix.tolist()}
    assert {tuple(r) for r in control.matrix.tolist()} == rows  # same vectors
    assert not any(
        np.array_equal(a, b) for a, b in zip(control.matrix, side.matrix)
    )  # none kept its own
    np.testing.assert_array_equal(control.matrix, reproduce.shuffled_side_like(side, seed=1).matrix)


def test_full_preset_runs_the_paper_cnn_on_mels(tmp_path):
    corpus = make_corpus(tmp_path / "corpus", n_tracks=36, seconds=3.5, seed=2)
    results = reproduce.reproduce(
        corpus,
        tmp_path / "out",
        preset="full",
        seeds=[0],
        device="cpu",
        overrides={"epochs": 1},
        experiments=("exp1",),
        progress=False,
    )
    assert results["features"]["kind"] == "mel"
    run = results["experiments"]["exp1"]["per_seed"]["0"]["runs"]["A-X"]
    assert run["side"]["training"]["epochs_run"] == 1 and run["classifier"]["seen_labels"]
