"""Convert musicnn's TensorFlow checkpoints into the safetensors + JSON models we ship.

Why: the default tagger needs a network trained on real music, and the only such weights we
may redistribute come inside the `musicnn` wheel (ISC licence) as TF1 checkpoints. We never
install TensorFlow: `tf_checkpoint.py` reads the checkpoint with numpy, this script renames
and transposes each tensor into `zsl_core.musicnn.MusicnnNet`'s layout, and writes

    resources/models/MSD_musicnn/{model.safetensors,config.json}
    resources/models/MTT_musicnn/{model.safetensors,config.json}
    resources/models/MSD_vgg/{model.safetensors,config.json}   (musicnn's VGG baselines)
    resources/models/MTT_vgg/{model.safetensors,config.json}
    resources/models/LICENSE-musicnn.txt      (the ISC notice from the wheel)

The output is committed, so users and CI never run this. To rebuild:

    python packaging/convert_musicnn.py                 # pip-downloads musicnn==0.1.0
    python packaging/convert_musicnn.py --wheel /tmp/mn/musicnn-0.1.0-py3-none-any.whl
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tf_checkpoint  # our numpy reader, next to this script

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from zsl_core import musicnn  # noqa: E402

PACKAGE, VERSION = "musicnn", "0.1.0"
MSD_DATASET = "Million Song Dataset (Last.fm top-50 tags)"
MTT_DATASET = "MagnaTagATune (top-50 tags)"
MODELS = {
    # name: (architecture, dataset, published test ROC-AUC: the musicnn README for musicnn, the
    # wheel's <name>/experiment.result for the VGG models: 0.8768 MSD, 0.9030 MTT)
    "MSD_musicnn": ("musicnn", MSD_DATASET, 0.880),
    "MTT_musicnn": ("musicnn", MTT_DATASET, 0.907),
    "MSD_vgg": ("vgg", MSD_DATASET, 0.877),
    "MTT_vgg": ("vgg", MTT_DATASET, 0.903),
}
# Tag order of each model's output layer (musicnn/configuration.py of the wheel).
TAG_LISTS = {name: f"{name[:3]}_LABELS" for name in MODELS}

# TF layer names follow the order in which the original graph created them.
BN_LAYERS = {
    "input_bn": "batch_normalization",
    "timbral.0.bn": "batch_normalization_1",
    "timbral.1.bn": "batch_normalization_2",
    "temporal.0.bn": "batch_normalization_3",
    "temporal.1.bn": "batch_normalization_4",
    "temporal.2.bn": "batch_normalization_5",
    "midend.0.bn": "batch_normalization_6",
    "midend.1.bn": "batch_normalization_7",
    "midend.2.bn": "batch_normalization_8",
    "pool_bn": "batch_normalization_9",
    "dense_bn": "batch_normalization_10",
}
CONV2D_LAYERS = {
    "timbral.0.conv": "conv2d",
    "timbral.1.conv": "conv2d_1",
    "temporal.0.conv": "conv2d_2",
    "temporal.1.conv": "conv2d_3",
    "temporal.2.conv": "conv2d_4",
}
CONV1D_LAYERS = {
    "midend.0.conv": "conv2d_5",
    "midend.1.conv": "conv2d_6",
    "midend.2.conv": "conv2d_7",
}
DENSE_LAYERS = {"dense": "dense", "output": "dense_1"}
# The VGG graph: input BN, then per block a named conv ("1CNN" ... "5CNN") and a BN; one dense.
VGG_BN_LAYERS = {"input_bn": "batch_normalization"} | {
    f"bns.{i}": f"batch_normalization_{i + 1}" for i in range(5)
}
VGG_CONV_LAYERS = {f"convs.{i}": f"{i + 1}CNN" for i in range(5)}
VGG_DENSE_LAYERS = {"output": "dense"}


def download_wheel(dest: Path) -> Path:
    """Fetch the wheel with pip (no dependencies: we only unzip it, never install TensorFlow)."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            f"{PACKAGE}=={VERSION}",
            "-d",
            str(dest),
        ],
        check=True,
    )
    wheels = sorted(dest.glob(f"{PACKAGE}-{VERSION}-*.whl"))
    if not wheels:
        raise SystemExit(f"{dest}: pip did not leave a {PACKAGE} {VERSION} wheel")
    return wheels[0]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tag_list(wheel: zipfile.ZipFile, name: str) -> list[str]:
    """The tag names, read from the wheel's configuration.py as data (never imported or executed)."""
    import ast

    source = wheel.read(f"{PACKAGE}/configuration.py").decode("utf-8")
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == TAG_LISTS[name]:
            return list(ast.literal_eval(node.value))
    raise SystemExit(f"{PACKAGE}/configuration.py: {TAG_LISTS[name]} not found")


def _bn_state(state: dict[str, np.ndarray], variables: dict[str, np.ndarray], layers: dict) -> None:
    for module, tf_name in layers.items():
        state[f"{module}.weight"] = variables[f"{tf_name}/gamma"]
        state[f"{module}.bias"] = variables[f"{tf_name}/beta"]
        state[f"{module}.running_mean"] = variables[f"{tf_name}/moving_mean"]
        state[f"{module}.running_var"] = variables[f"{tf_name}/moving_variance"]
        state[f"{module}.num_batches_tracked"] = np.array(0, dtype=np.int64)


def torch_state(variables: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """TF variables -> MusicnnNet state dict (TF is NHWC with kernels (H, W, in, out))."""
    state: dict[str, np.ndarray] = {}
    _bn_state(state, variables, BN_LAYERS)
    for module, tf_name in CONV2D_LAYERS.items():
        state[f"{module}.weight"] = variables[f"{tf_name}/kernel"].transpose(3, 2, 0, 1)
        state[f"{module}.bias"] = variables[f"{tf_name}/bias"]
    for module, tf_name in CONV1D_LAYERS.items():
        # The original slid a (7, channels) kernel over a one-channel image: a Conv1d over time.
        state[f"{module}.weight"] = variables[f"{tf_name}/kernel"][:, :, 0, :].transpose(2, 1, 0)
        state[f"{module}.bias"] = variables[f"{tf_name}/bias"]
    for module, tf_name in DENSE_LAYERS.items():
        state[f"{module}.weight"] = variables[f"{tf_name}/kernel"].T
        state[f"{module}.bias"] = variables[f"{tf_name}/bias"]
    return {key: torch.from_numpy(np.ascontiguousarray(value)) for key, value in state.items()}


def vgg_torch_state(variables: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """TF variables -> VggNet state dict. The dense kernel stays in TF's row order: VggNet
    flattens its last pooling in TF's (time, freq, channel) order."""
    state: dict[str, np.ndarray] = {}
    _bn_state(state, variables, VGG_BN_LAYERS)
    for module, tf_name in VGG_CONV_LAYERS.items():
        state[f"{module}.weight"] = variables[f"{tf_name}/kernel"].transpose(3, 2, 0, 1)
        state[f"{module}.bias"] = variables[f"{tf_name}/bias"]
    for module, tf_name in VGG_DENSE_LAYERS.items():
        state[f"{module}.weight"] = variables[f"{tf_name}/kernel"].T
        state[f"{module}.bias"] = variables[f"{tf_name}/bias"]
    return {key: torch.from_numpy(np.ascontiguousarray(value)) for key, value in state.items()}


def convert_model(
    wheel: zipfile.ZipFile, name: str, work: Path, out_dir: Path, source: dict
) -> None:
    checkpoint_dir = work / name
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    for suffix in (".index", ".data-00000-of-00001"):
        (checkpoint_dir / suffix).write_bytes(wheel.read(f"{PACKAGE}/{name}/{suffix}"))
    variables = tf_checkpoint.read_checkpoint(str(checkpoint_dir) + "/")
    architecture, dataset, roc_auc = MODELS[name]
    state = (vgg_torch_state if architecture == "vgg" else torch_state)(variables)
    tags = tag_list(wheel, name)
    net = musicnn.ARCHITECTURES[architecture](n_tags=len(tags))
    net.load_state_dict(state, strict=True)  # shapes and names must all fit
    original = json.loads(wheel.read(f"{PACKAGE}/{name}/config.json"))
    config = {
        "name": name,
        "architecture": architecture,
        "tags": tags,
        "dataset": dataset,
        "published_test_roc_auc": roc_auc,
        "parameters": sum(p.numel() for p in net.parameters()),
        "front_end": {
            "sample_rate": musicnn.SAMPLE_RATE,
            "n_fft": musicnn.N_FFT,
            "hop": musicnn.HOP,
            "window": "hann (periodic)",
            "center": True,
            "pad_mode": "constant",
            "power": 2.0,
            "n_mels": musicnn.N_MELS,
            "f_min": 0.0,
            "f_max": musicnn.F_MAX,
            "mel_scale": "slaney",
            "mel_norm": "slaney",
            "log": "log10(10000 * mel + 1)",
            "patch_frames": musicnn.PATCH_FRAMES,
            "short_clips": original.get("pad_short"),
        },
        "source": {
            **source,
            "checkpoint": f"{PACKAGE}/{name}/",
            "converted_by": "packaging/convert_musicnn.py",
        },
        "license": "ISC (see ../LICENSE-musicnn.txt)",
    }
    target = out_dir / name
    target.mkdir(parents=True, exist_ok=True)
    save_file(
        state,
        str(target / "model.safetensors"),
        metadata={"source": f"{PACKAGE}=={VERSION} {name}"},
    )
    (target / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    print(f"{name}: {len(state)} tensors, {config['parameters']} parameters -> {target}")


def write_license(wheel: zipfile.ZipFile, out_dir: Path) -> None:
    notice = wheel.read(f"{PACKAGE}-{VERSION}.dist-info/LICENSE.md").decode("utf-8").strip()
    header = (
        f"The musicnn weights in this folder (MSD_musicnn, MTT_musicnn, MSD_vgg, MTT_vgg) were converted from the\n"
        f"TensorFlow checkpoints in the PyPI package {PACKAGE} {VERSION} (https://github.com/jordipons/musicnn)\n"
        f"by packaging/convert_musicnn.py. They are redistributed under the package's ISC licence:\n\n"
    )
    (out_dir / "LICENSE-musicnn.txt").write_text(header + notice + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help="an already downloaded musicnn-0.1.0 wheel")
    parser.add_argument("--out", type=Path, default=REPO / "resources" / "models")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        wheel_path = args.wheel or download_wheel(Path(tmp) / "download")
        source = {
            "package": PACKAGE,
            "version": VERSION,
            "wheel": wheel_path.name,
            "sha256": sha256(wheel_path),
        }
        args.out.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheel_path) as wheel:
            for name in MODELS:
                convert_model(wheel, name, Path(tmp) / "checkpoints", args.out, source)
            write_license(wheel, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
