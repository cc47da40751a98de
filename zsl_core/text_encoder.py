"""all-MiniLM-L6-v2 in plain PyTorch: an offline sentence encoder, the app's stronger word space.

Why it is here: GloVe gives a vector to a single word it knows; a sentence encoder gives one to
any phrase ("music for a rainy day", "Sigur Rós", a misspelt genre). The weights are
sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), converted by
`packaging/build_text_encoder.py` into `resources/models/minilm-l6-v2/`
{model.safetensors, config.json, tokenizer.json, LICENSE}; this module runs them with no
`transformers` or `sentence-transformers` installed. It computes what sentence-transformers
computes for this model:

    text -> WordPiece ids (tokenizer.json, lower-cased, [CLS] ... [SEP], at most max_seq_length)
         -> word + position + token-type embeddings -> LayerNorm
         -> 6 x post-LN transformer layer:
                x = LN(x + Wo * attention(Wq x, Wk x, Wv x, padding masked))
                x = LN(x + W2 * gelu(W1 x))             (gelu: the exact, erf form)
         -> mean of the last layer's vectors over the real (unpadded) tokens
         -> divided by its L2 norm

tests/zsl_core/test_text_encoder.py checks the output against vectors computed by
`transformers`' BertModel on the original float32 weights (tests/data/minilm-golden/).

Public entry point: `load_text_encoder().encode(["jazz", "music for a rainy day"])` ->
float32 [2, 384], unit rows.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file
from tokenizers import Tokenizer
from torch import nn
from torch.nn import functional as F

from zsl_core.errors import ModelError
from zsl_core.resources import resource_path

MODEL_NAME = "minilm-l6-v2"
ARCHITECTURE = "bert"
FILES = ("config.json", "model.safetensors", "tokenizer.json")
# Keys config.json must hold, with the type each must have.
CONFIG_KEYS: dict[str, type[int] | type[float]] = {
    "hidden_size": int,
    "num_layers": int,
    "num_heads": int,
    "intermediate_size": int,
    "vocab_size": int,
    "max_position_embeddings": int,
    "type_vocab_size": int,
    "layer_norm_eps": float,
    "max_seq_length": int,
}


# --- network ---------------------------------------------------------------------------------


class TransformerLayer(nn.Module):
    """One post-LN BERT layer: self-attention and a GELU feed-forward, each added back and normalised."""

    def __init__(
        self,
        hidden: int,
        heads: int,
        intermediate: int,
        eps: float,
        device: str | torch.device | None = None,
    ) -> None:
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(hidden, hidden, device=device)
        self.key = nn.Linear(hidden, hidden, device=device)
        self.value = nn.Linear(hidden, hidden, device=device)
        self.attention_out = nn.Linear(hidden, hidden, device=device)
        self.attention_norm = nn.LayerNorm(hidden, eps=eps, device=device)
        self.ffn_in = nn.Linear(hidden, intermediate, device=device)
        self.ffn_out = nn.Linear(intermediate, hidden, device=device)
        self.ffn_norm = nn.LayerNorm(hidden, eps=eps, device=device)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """x [B, T, hidden]; keep [B, 1, 1, T] bool, True for the keys a query may look at."""
        batch, length, hidden = x.shape

        def split_heads(
            t: torch.Tensor,
        ) -> torch.Tensor:  # [B, T, hidden] -> [B, heads, T, hidden/heads]
            return t.view(batch, length, self.heads, hidden // self.heads).transpose(1, 2)

        # softmax(q k^T / sqrt(head size), padded keys excluded) v, per head
        attended = F.scaled_dot_product_attention(
            split_heads(self.query(x)),
            split_heads(self.key(x)),
            split_heads(self.value(x)),
            attn_mask=keep,
        )
        attended = attended.transpose(1, 2).reshape(batch, length, hidden)
        x = self.attention_norm(x + self.attention_out(attended))
        return self.ffn_norm(x + self.ffn_out(F.gelu(self.ffn_in(x))))


class TextEncoderNet(nn.Module):
    """BERT encoder (no pooler head) + mean pooling + L2 normalisation: token ids -> unit vectors.

    Built only to receive trained weights (`load_state_dict`): the embedding tables are left
    uninitialised. `device="meta"` builds it without allocating anything (the loader does so).
    """

    def __init__(self, config: dict, device: str | torch.device | None = None) -> None:
        super().__init__()
        hidden, eps = config["hidden_size"], config["layer_norm_eps"]

        def table(
            rows: int,
        ) -> nn.Embedding:  # no random init: on "meta" it would import half of torch
            return nn.Embedding(rows, hidden, _weight=torch.empty(rows, hidden, device=device))

        self.word_embeddings = table(config["vocab_size"])
        self.position_embeddings = table(config["max_position_embeddings"])
        self.token_type_embeddings = table(config["type_vocab_size"])
        self.embedding_norm = nn.LayerNorm(hidden, eps=eps, device=device)
        self.layers = nn.ModuleList(
            TransformerLayer(hidden, config["num_heads"], config["intermediate_size"], eps, device)
            for _ in range(config["num_layers"])
        )

    def token_vectors(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """ids, mask [B, T] (mask True on real tokens) -> last layer's vectors [B, T, hidden]."""
        positions = torch.arange(ids.shape[1], device=ids.device)
        # One sentence per input, so every token has token type 0.
        x = (
            self.word_embeddings(ids)
            + self.position_embeddings(positions)
            + self.token_type_embeddings.weight[0]
        )
        x = self.embedding_norm(x)
        keep = mask[:, None, None, :]
        for layer in self.layers:
            x = layer(x, keep)
        return x

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """ids, mask [B, T] -> sentence vectors [B, hidden], unit length."""
        x = self.token_vectors(ids, mask)
        weights = mask.unsqueeze(-1).to(x.dtype)
        mean = (x * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
        return F.normalize(mean, p=2, dim=1)


# --- loading and running ---------------------------------------------------------------------


class TextEncoder:
    """A loaded sentence encoder: tokenizer + network; `encode` turns strings into unit vectors."""

    def __init__(
        self, net: TextEncoderNet, tokenizer, config: dict, device: str | torch.device = "cpu"
    ) -> None:
        self.config = config
        self.max_seq_length = int(config["max_seq_length"])
        self.device = torch.device(device)
        self.net = net.to(self.device).eval()
        self.tokenizer = tokenizer
        # tokenizer.json carries its own truncation (128) and fixed padding (128); the model is used
        # with sentence-transformers' max_seq_length instead, and we pad each batch ourselves.
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=self.max_seq_length)
        self.pad_id = int(config.get("pad_token_id", 0))

    @property
    def dim(self) -> int:
        return int(self.config["hidden_size"])

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """WordPiece ids of each text, [CLS] ... [SEP], truncated to max_seq_length."""
        return [encoding.ids for encoding in self.tokenizer.encode_batch(list(texts))]

    @torch.inference_mode()
    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """float32 [len(texts), dim], one unit-length row per text, in the order given."""
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of strings, not one string: encode([text])")
        texts = list(texts)
        if not all(isinstance(text, str) for text in texts):
            raise TypeError("encode() takes strings only")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        ids = self.token_ids(texts)
        # Batches of similar lengths waste little on padding (sentence-transformers does the same).
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            length = max(len(ids[i]) for i in rows)
            batch = torch.full((len(rows), length), self.pad_id, dtype=torch.long)
            mask = torch.zeros((len(rows), length), dtype=torch.bool)
            for row, i in enumerate(rows):
                batch[row, : len(ids[i])] = torch.tensor(ids[i], dtype=torch.long)
                mask[row, : len(ids[i])] = True
            vectors = self.net(batch.to(self.device), mask.to(self.device))
            out[rows] = vectors.float().cpu().numpy()
        return out


@functools.lru_cache(maxsize=4)
def load_text_encoder(folder: Path | None = None, device: str = "cpu") -> TextEncoder:
    """The sentence encoder in `folder` (default: the shipped resources/models/minilm-l6-v2),
    loaded once per process and device. Raises ModelError (one line) for a missing or damaged folder."""
    folder = Path(folder) if folder is not None else resource_path("models", MODEL_NAME)
    if not folder.is_dir():
        raise ModelError(f"{folder}: text encoder folder not found")
    for name in FILES:
        if not (folder / name).is_file():
            raise ModelError(f"{folder / name}: text encoder file not found")
    config = _read_config(folder / "config.json")
    try:
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    except Exception as exc:  # tokenizers raises a bare Exception for a malformed file
        raise ModelError(
            f"{folder / 'tokenizer.json'}: unreadable tokenizer ({_one_line(exc)})"
        ) from None
    if tokenizer.get_vocab_size() != config["vocab_size"]:
        raise ModelError(
            f"{folder / 'tokenizer.json'}: {tokenizer.get_vocab_size()} tokens but config.json "
            f"says vocab_size {config['vocab_size']}"
        )
    weights = folder / "model.safetensors"
    try:
        state = load_file(str(weights))
    except Exception as exc:  # safetensors raises several types for a damaged file
        raise ModelError(f"{weights}: unreadable weights ({_one_line(exc)})") from None
    net = TextEncoderNet(
        config, device="meta"
    )  # no memory, no random init: the file replaces it all
    expected = {key: tuple(value.shape) for key, value in net.state_dict().items()}
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = [key for key in expected if key in state and tuple(state[key].shape) != expected[key]]
    if missing or unexpected or wrong:
        detail = (
            f"{len(missing)} missing, e.g. {missing[0]}"
            if missing
            else f"{len(unexpected)} unexpected, e.g. {unexpected[0]}"
            if unexpected
            else f"{wrong[0]} is {tuple(state[wrong[0]].shape)}, config.json needs {expected[wrong[0]]}"
        )
        raise ModelError(f"{weights}: weights do not fit config.json ({detail})")
    # Weights may be stored as float16; the network computes in float32.
    net.load_state_dict(
        {key: value.float() for key, value in state.items()}, strict=True, assign=True
    )
    return TextEncoder(net, tokenizer, config, device)


def _read_config(path: Path) -> dict:
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: unreadable config ({_one_line(exc)})") from None
    if not isinstance(config, dict) or config.get("architecture") != ARCHITECTURE:
        raise ModelError(
            f"{path}: not a text encoder config (architecture must be {ARCHITECTURE!r})"
        )
    for key, kind in CONFIG_KEYS.items():
        value = config.get(key)
        if isinstance(value, bool) or not isinstance(value, (kind, int)) or value <= 0:
            raise ModelError(f"{path}: {key} must be a positive {kind.__name__}, got {value!r}")
    if config.get("pooling") != "mean" or config.get("normalize") is not True:
        raise ModelError(
            f"{path}: pooling {config.get('pooling')!r}, normalize {config.get('normalize')!r}; "
            f"this encoder computes mean pooling + L2 normalisation only"
        )
    if config["hidden_size"] % config["num_heads"]:
        raise ModelError(
            f"{path}: hidden_size {config['hidden_size']} is not a multiple of "
            f"num_heads {config['num_heads']}"
        )
    if config["max_seq_length"] > config["max_position_embeddings"]:
        raise ModelError(
            f"{path}: max_seq_length {config['max_seq_length']} exceeds "
            f"max_position_embeddings {config['max_position_embeddings']}"
        )
    if not math.isfinite(config["layer_norm_eps"]):
        raise ModelError(f"{path}: layer_norm_eps must be finite")
    return config


def _one_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
