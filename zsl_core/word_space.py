"""The word space new words are placed in: a sentence encoder (default) or classic word vectors.

Why a sentence encoder: 50-d GloVe learnt words from Wikipedia and news, where "soundtrack",
"thrash" or "ambient techno" are rare and their neighbours are not musical; all-MiniLM-L6-v2
(`zsl_core.text_encoder`) reads any phrase, knows far more about music words, and places a
whole typed phrase ("music for a rainy day") as one point. GloVe stays available
(`--vectors glove`, or any word-vector file) for users and for the paper's experiments.

What the encoder reads: every word or phrase goes in as "<phrase> music" (`TEMPLATE`), so
"house", "party" and "indian" are read as kinds of music rather than a building, a gathering
and a nationality.

Speed: the shipped vocabulary and the seen labels' anchors are encoded at build time
(`packaging/build_word_space.py` -> `resources/vectors/minilm-l6-v2-words.npz`, our numpy word
vector format), so tagging never runs the encoder; a typed query that is not in that table is
encoded live (about a millisecond once the encoder is loaded) and remembered.

Which words count as known: a sentence encoder gives every string a vector, even a name it has
never seen ("muldjord"), so "known" is decided by a lexicon instead: a word of the shipped
vocabulary, or a word the shipped GloVe vectors know (the 100,000 most frequent English words
plus every vocabulary word). A phrase is known when all its words are.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from zsl_core.errors import ModelError
from zsl_core.resources import resource_path
from zsl_core.vectors import WordVectors, embed_each, normalise_tag

__all__ = [
    "WordSpace",
    "SentenceSpace",
    "load_word_space",
    "DEFAULT_WORD_SPACE",
    "GLOVE_VECTORS",
    "SENTENCE_TABLE",
    "TEMPLATE",
    "WORD_SPACE_CHOICES",
]

TEMPLATE = "{} music"
GLOVE_VECTORS = resource_path("vectors", "glove-6B-50d.npz")
SENTENCE_TABLE = resource_path("vectors", "minilm-l6-v2-words.npz")
DEFAULT_WORD_SPACE = "minilm"
WORD_SPACE_CHOICES = ("minilm", "glove")  # names accepted where a vectors file is, besides a path


class WordSpace(Protocol):
    """What the taggers need of a word space: a vector per phrase (None if unknown), its size."""

    dim: int
    source: str

    def embed(self, phrase: str) -> np.ndarray | None: ...

    def embed_many(self, phrases: Iterable[str]) -> tuple[np.ndarray, list[str], list[str]]: ...


class SentenceSpace:
    """all-MiniLM-L6-v2 as word vectors: a precomputed table, live encoding for anything else."""

    source = "all-MiniLM-L6-v2"
    _MEMO = 4096

    def __init__(
        self,
        table: WordVectors,
        lexicon: frozenset[str] | None,
        template: str = TEMPLATE,
        encoder_folder: Path | None = None,
    ) -> None:
        """`lexicon` None: every non-empty phrase is known (for side information, where the
        labels are the user's own words and each must get a vector)."""
        self.table = table
        self.dim = table.dim
        self.lexicon = lexicon
        self.template = template
        self.encoder_folder = encoder_folder
        self._memo: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def knows(self, phrase: str) -> bool:
        """Every word of the phrase is a word we know (see the module docstring)."""
        key = normalise_tag(phrase)
        if not key:
            return False
        if key in self.table or self.lexicon is None:
            return True
        words = key.replace("-", " ").split()
        return bool(words) and all(w in self.lexicon for w in words)

    def embed(self, phrase: str) -> np.ndarray | None:
        key = normalise_tag(phrase)
        if not key or not self.knows(key):
            return None
        if key in self.table:
            return self.table.vector(key)
        with self._lock:
            hit = self._memo.get(key)
        if hit is None:
            hit = self.encode([key])[0]
            with self._lock:
                self._memo[key] = hit
                while len(self._memo) > self._MEMO:
                    self._memo.popitem(last=False)
        return hit

    def encode(self, phrases: Sequence[str]) -> np.ndarray:
        """Live encoding of phrases through the template (loads the encoder on first use)."""
        from zsl_core.text_encoder import load_text_encoder  # torch: only a live encoding needs it

        encoder = (
            load_text_encoder(self.encoder_folder) if self.encoder_folder else load_text_encoder()
        )
        return encoder.encode([self.template.format(p) for p in phrases])

    def embed_many(self, phrases: Iterable[str]) -> tuple[np.ndarray, list[str], list[str]]:
        return embed_each(self.embed, self.dim, phrases)


@functools.lru_cache(maxsize=1)
def _lexicon() -> frozenset[str]:
    """Words we call known: the shipped GloVe subset's words (read without its vectors)."""
    try:
        with np.load(GLOVE_VECTORS, allow_pickle=False) as data:
            return frozenset(str(w) for w in data["words"])
    except (OSError, KeyError, ValueError) as exc:
        raise ModelError(f"{GLOVE_VECTORS}: cannot read the word list ({exc})") from None


def load_word_space(name_or_path: str | Path | None = None, strict: bool = True) -> WordSpace:
    """'minilm' (default, also None), 'glove' (the shipped 50-d GloVe), or a word-vector file
    (GloVe / word2vec / fastText / our .npz, read by `WordVectors.load`). `strict=False`: the
    sentence space embeds every phrase, known words or not (side information for training)."""
    name = str(name_or_path) if name_or_path is not None else DEFAULT_WORD_SPACE
    if name == "minilm":
        table = WordVectors.load(SENTENCE_TABLE)
        if not strict:
            return SentenceSpace(table, None)
        vocab_words = frozenset(
            w for phrase in table.words for w in phrase.replace("-", " ").split()
        )
        return SentenceSpace(table, _lexicon() | vocab_words)
    if name == "glove":
        return WordVectors.load(GLOVE_VECTORS)
    return WordVectors.load(name)
