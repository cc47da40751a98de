"""zsl-core reproduce end to end: a tiny quick run, the full preset, a model that cannot
train, and the command line (registration, argument errors, what it prints)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from corpus_factory import make_corpus

from zsl_core import reproduce
from zsl_core.reproduce import experiments
from zsl_core.splits import ANNOTATION_SETUPS, RETRIEVAL_SETUPS, TRAIN_SETUPS


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


def test_an_unknown_preset_is_one_clear_error_before_any_work(tmp_path, capsys):
    from zsl_core import cli
    from zsl_core.errors import ZslError

    with pytest.raises(ZslError) as raised:
        reproduce.reproduce(tmp_path / "no corpus", tmp_path / "out", preset="nope")
    assert str(raised.value) == "unknown preset 'nope' (choose quick, full)"
    assert not (tmp_path / "out").exists()  # refused before anything was read or written
    # The command line refuses it while parsing: exit status 2 and the choices on one line.
    with pytest.raises(SystemExit) as exited:
        cli.main(["reproduce", str(tmp_path), "--out", str(tmp_path / "o"), "--preset", "nope"])
    assert exited.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "--preset" in error and "'nope'" in error and "quick" in error and "full" in error


def test_a_model_that_cannot_train_is_reported_and_the_rest_runs(tmp_path, monkeypatch):
    from zsl_core.errors import DatasetError

    corpus = reproduce.load_corpus(make_corpus(tmp_path / "c", n_tracks=40, seconds=0.5))
    rng = np.random.default_rng(0)
    feats = {t.id: rng.standard_normal((200, 2)).astype(np.float32) for t in corpus.tracks}
    data = reproduce.experiment1_data(corpus, feats)
    real_train = experiments._train

    def refuse_classifier(*args, **kwargs):
        if args[6] is None:  # no side matrix: the classification model
            raise DatasetError("nothing to train on: 0 usable training tracks")
        return real_train(*args, **kwargs)

    monkeypatch.setattr(experiments, "_train", refuse_classifier)
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


def test_the_command_prints_progress_on_stdout_and_quiet_silences_it(tmp_path, capsys):
    from zsl_core import cli

    corpus = make_corpus(tmp_path / "c", n_tracks=12, seconds=0.5)
    (corpus / "genres.csv").unlink()  # so exp1-recipe is skipped, with a line saying why
    args = ["reproduce", str(corpus), "--out", str(tmp_path / "o"), "--experiments", "exp1-recipe"]
    assert cli.main(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert f"exp1-recipe: skipped, {corpus / 'genres.csv'} does not exist" in out
    assert out[-1].startswith(f"wrote {tmp_path / 'o' / 'results.json'}, tables.md")
    assert cli.main(args + ["--quiet"]) == 0
    out = capsys.readouterr().out
    assert "skipped" not in out and "wrote" in out
