"""The whole research pipeline through the command line, on a tiny labelled audio set.

Tags are audible: each of 6 tags adds a tone band, so a model can learn them in a few steps.
The side information is built so that unseen tags are related to seen ones (word vectors
written by the test), which is the premise of zero-shot learning.
"""

import json

import numpy as np
import pytest
import soundfile as sf

from zsl_core.cli import main
from zsl_core.datasets import Track, write_manifest

TAGS = ["low", "bass", "middle", "mid", "high", "treble"]
FREQ = {"low": 110, "bass": 150, "middle": 700, "mid": 900, "high": 3000, "treble": 4000}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    rng = np.random.default_rng(0)
    sr, seconds = 22050, 4.0
    t = np.arange(int(sr * seconds)) / sr
    tracks = []
    for i in range(48):
        tags = sorted(set(rng.choice(TAGS, size=rng.integers(1, 3), replace=False)))
        signal = 0.02 * rng.standard_normal(len(t))
        for tag in tags:
            signal += 0.2 * np.sin(2 * np.pi * FREQ[tag] * t + rng.uniform(0, 6))
        path = root / "audio" / f"{i:02d}.wav"
        path.parent.mkdir(exist_ok=True)
        sf.write(path, signal.astype(np.float32), sr)
        tracks.append(Track(id=f"t{i:02d}", path=path, tags=tags))
    write_manifest(root / "manifest.jsonl", tracks)
    # word vectors: synonyms share a direction (low~bass, middle~mid, high~treble)
    base = {"low": [1, 0, 0], "middle": [0, 1, 0], "high": [0, 0, 1]}
    lines = []
    for word, twin in [("low", "bass"), ("middle", "mid"), ("high", "treble")]:
        vec = np.array(base[word], float)
        lines.append(f"{word} " + " ".join(f"{x + rng.normal(0, 0.05):.4f}" for x in vec))
        lines.append(f"{twin} " + " ".join(f"{x + rng.normal(0, 0.05):.4f}" for x in vec))
    (root / "vectors.txt").write_text("\n".join(lines) + "\n")
    return root


def run(*args):
    code = main([str(a) for a in args])
    assert code == 0, f"zsl-core {' '.join(map(str, args))} exited {code}"


def test_split_train_evaluate_predict_search(dataset, capsys):
    root = dataset
    manifest, split, cache = root / "manifest.jsonl", root / "split.json", root / "cache"
    run("features", manifest, "--cache", cache, "--workers", "1", "--quiet")
    run("split", manifest, "--out", split, "--seen-fraction", "0.67", "--seed", "3")
    saved = json.loads(split.read_text())
    assert len(saved["seen"]) == 4 and len(saved["unseen"]) == 2

    for model in ("embedding", "classification"):
        out = root / f"run-{model}"
        run(
            "train",
            manifest,
            "--split",
            split,
            "--setup",
            "(A+B)-X",
            "--side",
            f"word:{root / 'vectors.txt'}",
            "--model",
            model,
            "--cache",
            cache,
            "--out",
            out,
            "--epochs",
            "6",
            "--batch-size",
            "8",
            "--optimizer",
            "adam",
            "--lr",
            "0.003",
            "--seed",
            "0",
            "--quiet",
        )
        history = json.loads((out / "history.json").read_text())
        losses = [epoch["train_loss"] for epoch in history["epochs"]]
        assert losses[-1] < losses[0], f"{model} loss did not go down: {losses}"

        capsys.readouterr()
        run("evaluate", out, "--json", out / "results.json")
        text = capsys.readouterr().out
        results = json.loads((out / "results.json").read_text())
        assert "Table 4" in text
        assert results["seen_labels"][0]["setup"] == "B-X"
        if model == "embedding":
            assert [r["setup"] for r in results["annotation"]] == [
                "B-Y",
                "C-Y",
                "(B+C)-Y",
                "B-(X+Y)",
                "C-(X+Y)",
                "(B+C)-(X+Y)",
            ]
            assert [r["setup"] for r in results["retrieval"]] == ["(B+C)-Y", "(A+B+C)-Y"]

    out = root / "run-embedding"
    capsys.readouterr()
    run("predict", root / "audio" / "00.wav", "--model", out, "--json", "--top", "2")
    prediction = json.loads(capsys.readouterr().out)[0]
    assert len(prediction["seen"]) == 2

    run("embed", "--manifest", manifest, "--model", out, "--out", root / "ix.npz", "--quiet")
    capsys.readouterr()
    unseen = saved["unseen"][0]
    run("search", unseen, "--index", root / "ix.npz", "--json", "--top", "5")
    hits = json.loads(capsys.readouterr().out)
    assert len(hits) == 5


def test_train_resume_and_bad_inputs(dataset, capsys):
    root = dataset
    assert (
        main(
            [
                "train",
                str(root / "manifest.jsonl"),
                "--split",
                str(root / "missing.json"),
                "--cache",
                str(root / "cache"),
                "--out",
                str(root / "x"),
                "--side",
                "random:8",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "missing.json" in err
    assert main(["evaluate", str(root / "no-such-model")]) == 2
    assert (
        main(["predict", str(root / "audio" / "00.wav"), "--model", str(root / "no-such-model")])
        == 2
    )


def test_musicnn_backbone_trains_heads_on_cached_features(dataset, capsys):
    root = dataset
    manifest, split = root / "manifest.jsonl", root / "split-mn.json"
    run("split", manifest, "--out", split, "--seen-fraction", "0.67", "--seed", "3")
    out = root / "run-musicnn"
    run(
        "train",
        manifest,
        "--split",
        split,
        "--setup",
        "(A+B)-X",
        "--side",
        f"word:{root / 'vectors.txt'}",
        "--backbone",
        "musicnn",
        "--cache",
        root / "cache-musicnn",
        "--out",
        out,
        "--epochs",
        "8",
        "--batch-size",
        "8",
        "--optimizer",
        "adam",
        "--lr",
        "0.003",
        "--quiet",
    )
    config = json.loads((out / "config.json").read_text())
    assert config["features"] == "musicnn" and config["audio"]["kind"] == "mlp"
    losses = [e["train_loss"] for e in json.loads((out / "history.json").read_text())["epochs"]]
    assert losses[-1] < losses[0]
    capsys.readouterr()
    run("evaluate", out)
    assert "Table 2" in capsys.readouterr().out
    run("predict", root / "audio" / "01.wav", "--model", out, "--json", "--top", "2")
    assert len(json.loads(capsys.readouterr().out)[0]["seen"]) == 2
    # a mel cache cannot be reused for musicnn features, and says so in one line
    run("features", manifest, "--cache", root / "cache", "--workers", "1", "--quiet")
    assert (
        main(
            [
                "train",
                str(manifest),
                "--split",
                str(split),
                "--backbone",
                "musicnn",
                "--side",
                "random:3",
                "--cache",
                str(root / "cache"),
                "--out",
                str(root / "x"),
            ]
        )
        == 2
    )
