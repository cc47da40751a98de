"""Benchmark: the trainer's data path (chunks/s) against the model step it has to feed.

Not part of the test run (no test_ prefix). Writes synthetic 30-s float16 mels to a temporary
feature cache (per-track files, then packed shards), then measures in one run, so the
figures compare (machines are shared and noisy: quote ratios, not absolutes):

  data only, no model (iterating the trainer's own DataLoader, `_Run._loader`):
    per-item / files     the old path: one DataLoader item per chunk, each from its .npy file
    per-item / shards    one item per chunk, views into the memory-mapped shards
    batched / files      whole batches (ChunkDataset.batch) from the .npy files
    batched / shards     whole batches from the shards: the default now
  model step only: forward + backward + SGD step of the paper's model on prepared batches
  trainer: `_Run.train_epoch` (data and model together), per-item/files vs batched/shards

    python tests/benchmarks/bench_data.py                      # CPU, 0 loader workers
    python tests/benchmarks/bench_data.py --device cuda --workers 8 --batches 400

Every measurement is repeated round-robin (--repeats) and the best kept. The cache sits in the
page cache after the first pass, so this measures the CPU cost of the data path, not disk reads.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from zsl_core.features import INDEX_NAME, FeatureCache, feature_file_name, pack_shards
from zsl_core.train import DistInfo, TrainConfig, TrainData, _Run


def write_cache(
    cache_dir: Path, n_tracks: int, frames: int, n_labels: int, side_dim: int
) -> TrainData:
    """Per-track .npy files and index lines as a build leaves them, plus the labels to train on."""
    rng = np.random.default_rng(0)
    lines = []
    for i in range(n_tracks):
        track_id = f"track{i:06d}"
        target = cache_dir / feature_file_name(track_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        np.save(target, rng.random((128, frames), dtype=np.float32).astype(np.float16))
        lines.append(json.dumps({"id": track_id, "file": feature_file_name(track_id)}) + "\n")
    (cache_dir / INDEX_NAME).write_text("".join(lines), encoding="utf-8")
    ids = [f"track{i:06d}" for i in range(n_tracks)]
    positives = {t: sorted(rng.choice(n_labels, size=2, replace=False).tolist()) for t in ids}
    n_valid = max(1, n_tracks // 10)
    return TrainData(
        features={},
        mean=0.5,
        std=0.29,
        train_ids=ids[n_valid:],
        valid_ids=ids[:n_valid],
        track_positive=positives,
        seen_labels=[f"l{i}" for i in range(n_labels)],
        side_matrix=rng.standard_normal((n_labels, side_dim)).astype(np.float32),
    )


def make_run(data: TrainData, features, config: TrainConfig, out: Path, batched: bool) -> _Run:
    _Run.batched_chunks = batched
    return _Run(
        config,
        TrainData(**{**data.__dict__, "features": features}),
        out,
        DistInfo(),
        progress=False,
    )


def data_rate(run: _Run, n_batches: int) -> float:
    """Chunks/s of iterating the trainer's loader (fresh epochs as needed), after one warm-up batch."""

    def batches():
        epoch = 0
        while True:
            run.epoch = epoch
            run.train_set.set_epoch(epoch)
            run.sampler.set_epoch(epoch)
            yield from run._loader(run.train_set, run.sampler, run.train_set)
            epoch += 1

    stream = batches()
    next(stream)
    chunks, started = 0, time.perf_counter()
    for _ in range(n_batches):
        chunks += len(next(stream)[0])
    return chunks / (time.perf_counter() - started)


def model_rate(run: _Run, n_steps: int) -> float:
    """Chunks/s of the training step alone, on batches built beforehand."""
    run.train_set.set_epoch(0)
    run.sampler.set_epoch(0)
    loader = iter(run._loader(run.train_set, run.sampler, run.train_set))
    batch = next(loader)
    model = run.model.train()

    def step():
        loss, _ = run.batch_loss(model, batch, reduce_for_backward=True)
        run.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        run.optimizer.step()

    for _ in range(3):
        step()  # warm-up (cuDNN autotune, allocator)
    if run.device.type == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(n_steps):
        step()
    if run.device.type == "cuda":
        torch.cuda.synchronize()
    return n_steps * len(batch[0]) / (time.perf_counter() - started)


def trainer_rate(run: _Run, n_steps: int) -> float:
    """Chunks/s of `_Run.train_epoch` capped at n_steps batches (data and model together)."""
    run.config.steps_per_epoch = 2
    run.train_epoch(run.model)  # warm-up
    run.config.steps_per_epoch = n_steps
    chunks = min(
        n_steps * run.config.batch_size, len(run.sampler)
    )  # an epoch may hold fewer batches
    if run.device.type == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    run.train_epoch(run.model)
    if run.device.type == "cuda":
        torch.cuda.synchronize()
    return chunks / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=400)
    parser.add_argument(
        "--frames", type=int, default=1292, help="mel frames per track (1292 = 30 s)"
    )
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--batches", type=int, default=40, help="batches per data-only measurement")
    parser.add_argument(
        "--steps", type=int, default=10, help="training steps per model / trainer measurement"
    )
    parser.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)"
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="round-robin repeats; the best of each is kept"
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    args.tracks = max(
        args.tracks, int(args.steps * args.batch / 0.9) + 2
    )  # one epoch holds every timed step
    print(
        json.dumps(
            {
                "torch": torch.__version__,
                "device": args.device,
                "cpu_threads": torch.get_num_threads(),
                "gpu": torch.cuda.get_device_name(0) if args.device.startswith("cuda") else None,
                "tracks": args.tracks,
                "frames": args.frames,
                "batch": args.batch,
                "workers": args.workers,
            }
        )
    )
    config = dict(
        device=args.device, epochs=1, batch_size=args.batch, seed=0, num_workers=args.workers
    )
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        cache_dir = Path(tmp) / "cache"
        started = time.perf_counter()
        data = write_cache(cache_dir, args.tracks, args.frames, n_labels=50, side_dim=300)
        written = time.perf_counter() - started
        started = time.perf_counter()
        report = pack_shards(cache_dir)
        print(
            json.dumps(
                {
                    "what": "cache",
                    "write_seconds": round(written, 2),
                    "pack_seconds": round(time.perf_counter() - started, 2),
                    "pack": report.summary(),
                }
            )
        )
        files, shards = FeatureCache(cache_dir, use_shards=False), FeatureCache(cache_dir)
        data_paths = (
            ("per-item/files", files, False),
            ("per-item/shards", shards, False),
            ("batched/files", files, True),
            ("batched/shards", shards, True),
        )
        trainer_paths = (
            ("trainer per-item/files", files, False),
            ("trainer batched/shards", shards, True),
        )
        # round-robin repeats, best of each: a shared machine's noise hits every path alike
        for _repeat in range(args.repeats):
            for name, features, batched in data_paths:
                run = make_run(data, features, TrainConfig(**config), Path(tmp) / "out", batched)
                results[name] = max(results.get(name, 0.0), data_rate(run, args.batches))
            run = make_run(data, shards, TrainConfig(**config), Path(tmp) / "out", True)
            results["model step"] = max(results.get("model step", 0.0), model_rate(run, args.steps))
            for name, features, batched in trainer_paths:
                run = make_run(data, features, TrainConfig(**config), Path(tmp) / "out", batched)
                results[name] = max(results.get(name, 0.0), trainer_rate(run, args.steps))
        for name, _, _ in data_paths:
            print(
                json.dumps(
                    {"what": "data only", "path": name, "chunks_per_s": round(results[name])}
                )
            )
        print(json.dumps({"what": "model step only", "chunks_per_s": round(results["model step"])}))
        for name, _, _ in trainer_paths:
            print(
                json.dumps({"what": "trainer", "path": name, "chunks_per_s": round(results[name])})
            )
    _Run.batched_chunks = True
    old, new, model = results["per-item/files"], results["batched/shards"], results["model step"]
    print(
        json.dumps(
            {
                "what": "ratios",
                "batched/shards over per-item/files (data)": round(new / old, 2),
                "old data path over model step": round(old / model, 2),
                "new data path over model step": round(new / model, 2),
                "trainer new over old": round(
                    results["trainer batched/shards"] / results["trainer per-item/files"], 2
                ),
            }
        )
    )


if __name__ == "__main__":
    main()
