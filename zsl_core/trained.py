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
from zsl_core import musicnn
from zsl_core.chunks import embed_track
from zsl_core.conse import DEFAULT_TOP_T, conse
from zsl_core.devices import resolve_device
from zsl_core.errors import ModelError
from zsl_core.models import load_model
from zsl_core.tagger import Analysis, Tagger
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


class TrainedTagger(Tagger):
    """A trained deep embedding or classification model as a Tagger."""

    sample_rate = audio_io.SAMPLE_RATE
    window_seconds = audio_io.CHUNK_FRAMES * audio_io.HOP / audio_io.SAMPLE_RATE

    def __init__(
        self, model_dir: str | Path, vectors: str | Path | None = None, device: str = "auto"
    ) -> None:
        self.model_dir = Path(model_dir)
        if not self.model_dir.is_dir():
            raise ModelError(f"{model_dir}: no such model folder")
        self.device = resolve_device(device)
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
            self.sample_rate, self.window_seconds = musicnn.SAMPLE_RATE, 3.0
        vectors = vectors or self.config.get("vectors")
        self.vectors = (
            load_word_space(vectors)
            if vectors and (vectors in WORD_SPACE_CHOICES or Path(vectors).exists())
            else None
        )
        self._side_row = (
            {normalise_tag(label): i for i, label in enumerate(self.side.labels)}
            if self.side
            else {}
        )

    # --- audio --------------------------------------------------------------------------
    def embed_mels(self, mels: Sequence[np.ndarray]) -> np.ndarray:
        """Track vector from unstandardised mels: the mean of its 130-frame chunk outputs."""
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

    def _model_outputs(self, segments: Sequence[np.ndarray]) -> np.ndarray:
        """The network's track vector: an embedding, or a classifier's seen-label probabilities."""
        if self.features == "musicnn":
            net = musicnn.shared_model(musicnn.BACKBONE_MODEL, str(self.device))
            inputs = [net.extract(s)["penultimate"].T for s in segments]
        else:
            inputs = [audio_io.mel_spectrogram(s) for s in segments]
        return self.embed_mels(inputs)

    def embed_segments(self, segments: Sequence[np.ndarray]) -> np.ndarray:
        return self.analyse_track(segments).embedding

    def analyse_track(self, segments: Sequence[np.ndarray]) -> Analysis:
        """An embedding model: its embedding and the seen labels' cosines. A classifier: its own
        probabilities, and their ConSE embedding in the side-information space."""
        output = np.asarray(self._model_outputs(segments), np.float32)
        if self.model_type == "embedding":
            return Analysis(
                output, np.asarray(self.seen_scores(output), np.float32), self.seen_score_kind
            )
        return Analysis(self._conse(output), output, self.seen_score_kind)

    # --- classification model: ConSE into the side-information space ---------------------
    def _conse(self, probabilities: np.ndarray, top_t: int = DEFAULT_TOP_T) -> np.ndarray:
        """ConSE of the seen-label probabilities over their side vectors (`zsl_core.conse`)."""
        if self.side is None:
            raise ModelError(
                f"{self.model_dir}: a classification model needs side information for "
                "zero-shot tags (train it with --side)"
            )
        seen_side = np.asarray(self.side.select(self.seen_labels).matrix, np.float32)
        return conse(np.asarray(probabilities, np.float32), seen_side, top_t).astype(np.float32)

    # --- words --------------------------------------------------------------------------
    def _side_vector(self, word: str) -> np.ndarray | None:
        row = self._side_row.get(normalise_tag(word))
        if row is not None and self.side is not None:  # rows exist only with side information
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
        from zsl_core.models import DeepEmbeddingModel

        side = torch.from_numpy(np.stack(rows)).to(self.device)
        with torch.no_grad():
            if isinstance(self.model, DeepEmbeddingModel):  # model_type "embedding"
                embedded = self.model.embed_labels(side).cpu().numpy()
            else:
                embedded = side.cpu().numpy()  # ConSE lives in the side-information space itself
        return embedded, found, missing


def load_trained_tagger(
    model_dir: str | Path, vectors: str | Path | None = None, device: str = "auto"
) -> TrainedTagger:
    return TrainedTagger(model_dir, vectors=vectors, device=device)
