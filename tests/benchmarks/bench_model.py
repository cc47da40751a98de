"""Benchmark: the paper's model, training throughput and batched inference, on CPU and/or CUDA.

Not part of the test run (no test_ prefix). Prints one JSON line per measurement so figures
can be compared within one run (machines are shared and noisy: quote ratios, not absolutes).

    python tests/benchmarks/bench_model.py --device cpu --steps 20
    python tests/benchmarks/bench_model.py --device cuda --steps 200 --tracks 2000

Training: chunks/s through the real trainer (zsl_core.train.train: random 130-frame chunks,
positive/negative sampling, hinge loss, SGD Nesterov) on synthetic mels held in memory.
Inference: tracks/s through zsl_core.chunks.embed_tracks (all non-overlapping chunks of 30-s
tracks, batched), the path evaluation and search indexing use.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import numpy as np
import torch

from zsl_core.chunks import embed_tracks
from zsl_core.models import DeepEmbeddingModel
from zsl_core.train import TrainConfig, TrainData, train


def synthetic_data(
    n_tracks: int, frames: int, n_labels: int, side_dim: int, seed: int = 0
) -> TrainData:
    rng = np.random.default_rng(seed)
    features = {
        f"t{i}": rng.random((128, frames), dtype=np.float32).astype(np.float16)
        for i in range(n_tracks)
    }
    positives = {t: sorted(rng.choice(n_labels, size=2, replace=False).tolist()) for t in features}
    ids = list(features)
    n_valid = max(1, n_tracks // 10)
    return TrainData(
        features=features,
        mean=0.5,
        std=0.29,
        train_ids=ids[n_valid:],
        valid_ids=ids[:n_valid],
        track_positive=positives,
        seen_labels=[f"l{i}" for i in range(n_labels)],
        side_matrix=rng.standard_normal((n_labels, side_dim)).astype(np.float32),
    )


def bench_training(device: str, steps: int, batch: int, workers: int = 0) -> dict:
    # one epoch of exactly `steps` full batches (+10% validation tracks); 260-frame mels keep memory small
    n_tracks = int(steps * batch / 0.9) + 2
    data = synthetic_data(n_tracks, frames=260, n_labels=50, side_dim=300)
    config = TrainConfig(
        device=device,
        epochs=1,
        steps_per_epoch=steps,
        batch_size=batch,
        seed=0,
        num_workers=workers,
    )
    with tempfile.TemporaryDirectory() as out:
        # warm-up epoch (CUDA context, cuDNN autotune), then the timed one
        train(
            TrainConfig(**{**config.__dict__, "steps_per_epoch": 3}),
            data,
            out + "/warm",
            progress=False,
        )
        started = time.perf_counter()
        result = train(config, data, out + "/run", progress=False)
        seconds = time.perf_counter() - started
    epoch_seconds = result.history["seconds"][0]  # training and validation of one epoch
    chunks = steps * batch + len(data.valid_ids)
    return {
        "what": "training",
        "device": device,
        "steps": steps,
        "batch": batch,
        "workers": workers,
        "chunks_per_s": round(chunks / epoch_seconds, 1),
        "epoch_seconds": round(epoch_seconds, 3),
        "with_checkpointing_seconds": round(seconds, 3),
        "train_loss": round(result.history["train_loss"][0], 4),
    }


def bench_inference(device: str, n_tracks: int, batch: int) -> dict:
    rng = np.random.default_rng(1)
    frames = 1292  # 30 s at 22,050 Hz, hop 512
    features = {
        f"t{i}": rng.random((128, frames), dtype=np.float32).astype(np.float16)
        for i in range(n_tracks)
    }
    model = DeepEmbeddingModel(None, side_dim=300).to(device).eval()
    embed_tracks(model, features, list(features)[:8], 0.5, 0.29, batch_size=batch)  # warm-up
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    started = time.perf_counter()
    out = embed_tracks(model, features, list(features), 0.5, 0.29, batch_size=batch)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    return {
        "what": "inference",
        "device": device,
        "tracks": n_tracks,
        "batch": batch,
        "tracks_per_s": round(n_tracks / seconds, 1),
        "seconds": round(seconds, 3),
        "dim": int(out.shape[1]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--device", action="append", help="cpu, cuda (repeatable); default: cpu and cuda if present"
    )
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--tracks", type=int, default=200)
    parser.add_argument("--infer-batch", type=int, default=256)
    parser.add_argument(
        "--workers", type=int, default=0, help="DataLoader worker processes for training"
    )
    args = parser.parse_args()
    devices = args.device or (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"])
    print(
        json.dumps(
            {
                "torch": torch.__version__,
                "cuda": torch.cuda.is_available(),
                "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
                "cpu_threads": torch.get_num_threads(),
            }
        )
    )
    for device in devices:
        print(json.dumps(bench_training(device, args.steps, args.batch, args.workers)), flush=True)
        print(json.dumps(bench_inference(device, args.tracks, args.infer_batch)), flush=True)


if __name__ == "__main__":
    main()
