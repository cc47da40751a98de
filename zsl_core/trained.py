"""Taggers for models trained with `zsl-core train`, behind the same interface as the default.

A deep embedding model scores any label whose side-information vector it can build: the
labels of its training data (seen and unseen, stored with the model) and, for word-vector
models, any word the vectors know. A classification model scores its seen labels with its
own probabilities and reaches other words through ConSE when word vectors are available.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import load_file, save_file

from zsl_core import audio as audio_io
from zsl_core.errors import ModelError
from zsl_core.tagger import Tagger
from zsl_core.vectors import SideInformation, normalise_tag
from zsl_core.word_space import WORD_SPACE_CHOICES, load_word_space

SIDE_FILE = "side_information.safetensors"
SIDE_META = "side_information.json"


def save_side_information(model_dir: str | Path, side: SideInformation) -> None:
    """Store every label's side vector (seen and unseen) beside the weights, so the model can
    tag its unseen labels without the original vectors or attribute files."""
    model_dir = Path(model_dir)
    arrays, meta = side.to_arrays()
    save_file(
        {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in arrays.items()},
        str(model_dir / SIDE_FILE),
    )
    (model_dir / SIDE_META).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def load_side_information(model_dir: str | Path) -> SideInformation | None:
    model_dir = Path(model_dir)
    if not (model_dir / SIDE_FILE).exists():
        return None
    try:
        meta = json.loads((model_dir / SIDE_META).read_text(encoding="utf-8"))
        return SideInformation.from_arrays(load_file(str(model_dir / SIDE_FILE)), meta)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"{model_dir}: unreadable side information ({exc})") from None


def _device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class TrainedTagger(Tagger):
    """A trained deep embedding or classification model as a Tagger."""

    sample_rate = audio_io.SAMPLE_RATE
    window_seconds = audio_io.CHUNK_FRAMES * audio_io.HOP / audio_io.SAMPLE_RATE

    def __init__(
        self, model_dir: str | Path, vectors: str | Path | None = None, device: str = "auto"
    ) -> None:
        from zsl_core.models import load_model

        self.model_dir = Path(model_dir)
        if not self.model_dir.is_dir():
            raise ModelError(f"{model_dir}: no such model folder")
        self.device = _device(device)
        self.model, self.config = load_model(self.model_dir, device=self.device)
        self.model.eval()
        self.name = str(self.model_dir)
        self.model_type = self.config["model_type"]
        self.seen_labels = list(self.config["seen_labels"])
        self.mean = float(self.config["mean"])
        self.std = float(self.config["std"])
        self.side = load_side_information(self.model_dir)
        self.chunk_frames = int(self.config.get("chunk_frames", audio_io.CHUNK_FRAMES))
        self.features = self.config.get("features", "mel")
        if self.features == "musicnn":
            from zsl_core import musicnn

            self.sample_rate, self.window_seconds = musicnn.SAMPLE_RATE, 3.0
        vectors = vectors or self.config.get("vectors")
        self.vectors = (
            load_word_space(vectors)
            if vectors and (vectors in WORD_SPACE_CHOICES or Path(vectors).exists())
            else None
        )
        self._probabilities: dict[bytes, np.ndarray] = {}
        self._side_row = (
            {normalise_tag(l): i for i, l in enumerate(self.side.labels)} if self.side else {}
        )

    # --- audio --------------------------------------------------------------------------
    def embed_mels(self, mels: Sequence[np.ndarray]) -> np.ndarray:
        """Track vector from unstandardised mels: the mean of its 130-frame chunk outputs."""
        from zsl_core.train import embed_track

        chunks = [
            embed_track(
                self.model,
                m,
                self.mean,
                self.std,
                chunk_frames=self.chunk_frames,
                return_chunks=True,
            )
            for m in mels
        ]
        return np.concatenate(chunks).mean(axis=0)

    def embed_segments(self, segments: Sequence[np.ndarray]) -> np.ndarray:
        if self.features == "musicnn":
            from zsl_core.default_model import BACKBONE_MODEL, _musicnn_model

            net = _musicnn_model(BACKBONE_MODEL, str(self.device))
            inputs = [net.extract(s)["penultimate"].T for s in segments]
        else:
            inputs = [audio_io.mel_spectrogram(s) for s in segments]
        output = self.embed_mels(inputs)
        if self.model_type == "embedding":
            return output
        return self._conse(output)

    # --- classification model: ConSE into the side-information space ---------------------
    def _conse(self, probabilities: np.ndarray, top_t: int = 10) -> np.ndarray:
        """Convex combination of the most probable seen labels' side vectors (Norouzi et al.)."""
        if self.side is None:
            raise ModelError(
                f"{self.model_dir}: a classification model needs side information for "
                "zero-shot tags (train it with --side)"
            )
        seen_side = self.side.select(self.seen_labels).matrix
        unit = seen_side / np.maximum(np.linalg.norm(seen_side, axis=1, keepdims=True), 1e-12)
        top = np.argsort(-probabilities)[:top_t]
        weights = probabilities[top] / max(float(probabilities[top].sum()), 1e-12)
        embedding = (weights[:, None] * unit[top]).sum(axis=0).astype(np.float32)
        self._probabilities[embedding.tobytes()] = probabilities.astype(np.float32)
        return embedding

    def seen_scores(self, track_embedding: np.ndarray) -> np.ndarray:
        """A classifier's own probabilities for the tracks it embedded; cosines otherwise."""
        known = self._probabilities.get(np.asarray(track_embedding, np.float32).tobytes())
        return known if known is not None else super().seen_scores(track_embedding)

    # --- words --------------------------------------------------------------------------
    def _side_vector(self, word: str) -> np.ndarray | None:
        row = self._side_row.get(normalise_tag(word))
        if row is not None:
            return self.side.matrix[row]
        if self.vectors is not None and (self.side is None or self.side.kind == "word"):
            return self.vectors.embed(word)
        return None

    def embed_words(self, words: Sequence[str]) -> tuple[np.ndarray, list[str], list[str]]:
        found, missing, rows = [], [], []
        for word in words:
            vector = self._side_vector(word)
            if vector is None:
                missing.append(word)
            else:
                found.append(word)
                rows.append(np.asarray(vector, dtype=np.float32))
        if not rows:
            return np.zeros((0, 1), np.float32), found, missing
        side = torch.from_numpy(np.stack(rows)).to(self.device)
        with torch.no_grad():
            if self.model_type == "embedding":
                embedded = self.model.embed_labels(side).cpu().numpy()
            else:
                embedded = side.cpu().numpy()  # ConSE lives in the side-information space itself
        return embedded, found, missing


def load_trained_tagger(
    model_dir: str | Path, vectors: str | Path | None = None, device: str = "auto"
) -> TrainedTagger:
    return TrainedTagger(model_dir, vectors=vectors, device=device)
