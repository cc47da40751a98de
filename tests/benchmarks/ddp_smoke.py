"""Smoke run of the trainer under torchrun (DistributedDataParallel): NCCL on GPUs, gloo on CPU.

torchrun --standalone --nproc_per_node N tests/benchmarks/ddp_smoke.py OUT_DIR [cpu|cuda]
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__)))
from bench_model import synthetic_data

from zsl_core.train import TrainConfig, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="folder the trained model goes to")
    parser.add_argument("device", nargs="?", default="auto", help="cpu, cuda or auto")
    args = parser.parse_args()
    out, device = args.out, args.device
    data = synthetic_data(600, frames=260, n_labels=20, side_dim=40)
    result = train(
        TrainConfig(device=device, epochs=3, batch_size=32, optimizer="adam", seed=0),
        data,
        out,
        progress=False,
    )
    if os.environ.get("RANK", "0") == "0":
        print(
            json.dumps(
                {
                    "world_size": int(os.environ.get("WORLD_SIZE", 1)),
                    "device": device,
                    "train_loss": [round(x, 4) for x in result.history["train_loss"]],
                    "val_loss": [round(x, 4) for x in result.history["val_loss"]],
                }
            )
        )


if __name__ == "__main__":
    main()
