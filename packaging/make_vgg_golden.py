"""Make the golden outputs of musicnn's original VGG models (MSD_vgg, MTT_vgg) for our port's tests.

Why: `zsl_core.musicnn.VggNet` is our own PyTorch port of the VGG checkpoints in the musicnn
0.1.0 wheel; to know it is exact we need what the ORIGINAL TensorFlow model outputs for known
input. This script builds the original graph with the wheel's own `musicnn/models.py` (imported
from the unzipped wheel, not copied), restores the checkpoint, feeds it the `batch` patches of
the four test signals of tests/data/musicnn-golden/ (the input the musicnn goldens use), and
writes tests/data/musicnn-vgg-golden/ref_<MODEL>_<signal>.npz with float32 `logits`,
`taggram` (sigmoid) and `pool5` (the flattened 256-d last pooling, TF's (time, freq, channel)
order). tests/zsl_core/test_musicnn_vgg.py compares our port against these files.

It runs only in a scratch virtual environment with TensorFlow, never in the app's (the suite
does not import it). How the committed files were made (TensorFlow 2.21 CPU, tf_keras for the
TF1 layers API the wheel uses):

    python3 -m venv /tmp/tfvenv
    /tmp/tfvenv/bin/pip install tensorflow-cpu tf_keras numpy
    mkdir -p /tmp/mn/x && cd /tmp/mn/x && unzip -o ../musicnn-0.1.0-py3-none-any.whl
    TF_USE_LEGACY_KERAS=1 /tmp/tfvenv/bin/python packaging/make_vgg_golden.py --wheel-dir /tmp/mn/x
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
INPUTS = Path("/work/shared/reference/musicnn-golden")  # all four signals' musicnn goldens
OUT = REPO / "tests" / "data" / "musicnn-vgg-golden"
SIGNALS = ("noise", "synth_mix", "synth_mix_quiet", "loud_tone")
REBUILT = ("synth_mix", "loud_tone")  # their musicnn `batch` holds the float16 overflow
MODELS = ("MSD_vgg", "MTT_vgg")


def input_batches(inputs: Path) -> dict[str, np.ndarray]:
    """signal -> the patches [n, 187, 96] fed to the original, float32.

    The musicnn goldens' own `batch` where it is finite (noise, synth_mix_quiet; the repo's
    tests/data/musicnn-golden/ has those files). synth_mix's and loud_tone's `batch` hold the
    original's float16 overflow (inf), so theirs are cut from `spec_np1` (the float32-log mel)
    into whole 187-frame patches as the original does; they go to `inputs.npz` beside the
    goldens, since the repo does not hold them otherwise.
    """
    batches = {}
    for signal in SIGNALS:
        with np.load(inputs / f"ref_MSD_musicnn_{signal}.npz", allow_pickle=False) as data:
            batch = data["batch"].astype(np.float32)
            if signal in REBUILT:
                assert not np.isfinite(batch).all()
                spec = data["spec_np1"].astype(np.float32)
                n = len(spec) // 187
                batch = spec[: n * 187].reshape(n, 187, spec.shape[1])
        batches[signal] = batch
    return batches


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel-dir", type=Path, required=True, help="the unzipped musicnn wheel")
    parser.add_argument("--inputs", type=Path, default=INPUTS, help="musicnn goldens (4 signals)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    sys.path.insert(0, str(args.wheel_dir))
    import tensorflow as tf  # the scratch venv's; not a dependency of this project
    from musicnn import models  # the wheel's own graph code

    tf.compat.v1.disable_eager_execution()
    args.out.mkdir(parents=True, exist_ok=True)
    batches = input_batches(args.inputs)
    rebuilt: dict[str, Any] = {signal: batches[signal] for signal in REBUILT}
    np.savez_compressed(args.out / "inputs.npz", **rebuilt)
    for name in MODELS:
        graph = tf.Graph()
        with graph.as_default():
            with tf.name_scope("model"):
                x = tf.compat.v1.placeholder(tf.float32, [None, 187, 96])
                is_training = tf.compat.v1.placeholder(tf.bool)
                logits, *_, pool5 = models.define_model(x, is_training, name, 50)
                taggram = tf.nn.sigmoid(logits)
                flat = tf.reshape(pool5, [-1, 256])
            session = tf.compat.v1.Session(graph=graph)
            tf.compat.v1.train.Saver().restore(
                session, str(args.wheel_dir / "musicnn" / name) + "/"
            )
            for signal in SIGNALS:
                batch = batches[signal]
                out = session.run(
                    {"logits": logits, "taggram": taggram, "pool5": flat},
                    {x: batch, is_training: False},
                )
                path = args.out / f"ref_{name}_{signal}.npz"
                arrays: dict[str, Any] = {k: np.asarray(v, np.float32) for k, v in out.items()}
                np.savez_compressed(path, **arrays)
                print(f"{path.name}: {len(batch)} patches, taggram max {out['taggram'].max():.4f}")
            session.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
