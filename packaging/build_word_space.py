"""Encode the shipped vocabulary with the sentence encoder once, at build time.

Output: resources/vectors/minilm-l6-v2-words.npz in our numpy word-vector format (`words`,
`vectors` float16, read by `zsl_core.vectors.WordVectors.load`). It holds every word and phrase
of resources/vocab/*.txt, every seen label of the built-in model, its anchors and the raw musicnn
tags it merges, each encoded as `zsl_core.word_space.TEMPLATE` ("<phrase> music") and keyed by
its normalised form. So tagging a library never runs the encoder; only typed queries that are
not in this table are encoded live.

Rebuild after changing the vocabulary, the labels, the template or the encoder (about 10 s):

    python packaging/build_word_space.py
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from zsl_core.default_model import SEEN_LABELS  # noqa: E402
from zsl_core.resources import resource_path  # noqa: E402
from zsl_core.tags import load_vocabulary  # noqa: E402
from zsl_core.text_encoder import load_text_encoder  # noqa: E402
from zsl_core.vectors import normalise_tag  # noqa: E402
from zsl_core.word_space import SENTENCE_TABLE, TEMPLATE  # noqa: E402


def phrases() -> list[str]:
    """Every phrase the built-in tagger embeds without a user typing it, normalised, sorted."""
    words = list(load_vocabulary(sorted(resource_path("vocab").glob("*.txt"))))
    for label in SEEN_LABELS:
        words += [label.name, *label.anchors, *(tag for _, tag in label.members)]
    return sorted({normalise_tag(w) for w in words if normalise_tag(w)})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(SENTENCE_TABLE))
    args = parser.parse_args(argv)
    keys = phrases()
    vectors = load_text_encoder().encode([TEMPLATE.format(k) for k in keys], batch_size=128)
    out = Path(args.out)
    # np.savez (not _compressed): zip entries carry no timestamps that change between runs.
    np.savez(out, words=np.array(keys), vectors=vectors.astype(np.float16))
    print(
        f"wrote {len(keys)} phrases x {vectors.shape[1]} to {out} ({out.stat().st_size / 1e6:.1f} MB)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
