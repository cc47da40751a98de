"""Side information: the vectors that describe each label, seen or unseen.

Zero-shot tagging works because a label is not just an index but a point in a space that
also holds labels never trained on (paper, section 3). This module produces those points:

- word vectors (paper's Exp. 2): GloVe, word2vec, fastText or our own `.npz`, read into a
  read-only `WordVectors`; `embed(phrase)` turns a tag as users write it into one vector;
- attribute vectors (paper's Exp. 1): the OpenMIC instrument recipe of section 5.1, or any
  `label,attribute,value` table.

Both end up as a `SideInformation` (labels + one row per label), which is all a model reads.

Safety: vectors come from files users download, so nothing here unpickles. Foreign formats go
through gensim's plain-text/binary readers (`load_word2vec_format`, never gensim's pickle
`.load`), and our format is an `.npz` read with `allow_pickle=False`.

Tag lookup rule (why it looks the way it does): music tags are written many ways ("Classic
Rock", "classic-rock", "classic_rock", "classicrock"), while a word-vector vocabulary has one
token per concept at best. `normalise_tag` lower-cases and turns separators into single
spaces; `WordVectors.embed` then tries, first hit wins:

1. the words joined with nothing ("classicrock"): how the paper's authors looked MSD tags up;
2. joined with '-' ("hip-hop", GloVe's own token) and with '_' (word2vec phrase tokens);
3. joined with every non-alphanumeric character removed ("80's" -> "80s");
4. several words: the mean of the words' vectors, only if EVERY word is known (a vector for
   "xyzzy rock" that is just "rock" would be a silent lie);
5. one unknown token: a split into two known words ("classicrock" -> "classic" + "rock"),
   preferring the split whose rarer half is most frequent (vocabularies are stored in
   frequency order, so that is the lowest row index);
6. otherwise None. Callers report unknown tags (`embed_many` returns them); nothing is dropped
   silently.

Lookups are exact first, then case-insensitive (to the most frequent casing), so
case-sensitive vectors such as word2vec GoogleNews work with lower-cased tags.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from zsl_core.cosine import unit_rows
from zsl_core.errors import VectorsError

if TYPE_CHECKING:
    from zsl_core.word_space import WordSpace

# The 20 OpenMIC-2018 classes, in the dataset's column order (its class-map.json).
OPENMIC_INSTRUMENTS: tuple[str, ...] = (
    "accordion",
    "banjo",
    "bass",
    "cello",
    "clarinet",
    "cymbals",
    "drums",
    "flute",
    "guitar",
    "mallet_percussion",
    "mandolin",
    "organ",
    "piano",
    "saxophone",
    "synthesizer",
    "trombone",
    "trumpet",
    "ukulele",
    "violin",
    "voice",
)

FORMATS = ("auto", "glove", "word2vec", "word2vec-binary", "fasttext", "npz")

# Characters that separate the words of a tag. '&', '.', "'" and '+' are kept: they live
# inside tokens ("r&b", "80's", "c++").
_SEPARATORS = re.compile(r"[\s\-_/\\,;:|\u2010-\u2015\u2212]+")
_NON_ALNUM = re.compile(r"[\W_]+")
_MIN_SPLIT_PART = 2  # "dj" + "set" is a real split; one-letter halves are mostly noise
_SNIFF_BYTES = 1 << 20


# --- tag normalisation --------------------------------------------------------------------


def normalise_tag(tag: str) -> str:
    """The canonical spelling of a tag: "Classic-Rock " -> "classic rock".

    NFKC folds look-alike Unicode (full-width letters, ligatures) so two spellings of one tag
    compare equal; every separator run becomes one space, so a tag's words are `.split()`.
    """
    text = unicodedata.normalize("NFKC", tag).lower()
    return _SEPARATORS.sub(" ", text).strip()


def _joined_forms(words: Sequence[str]) -> list[str]:
    """Single-token spellings of a phrase, in the order `embed` tries them (rules 1-3)."""
    forms = ["".join(words), "-".join(words), "_".join(words), _NON_ALNUM.sub("", "".join(words))]
    return [f for f in dict.fromkeys(forms) if f]


# --- word vectors -------------------------------------------------------------------------


class WordVectors:
    """Read-only keyed word vectors with the tag lookup rule of the module docstring.

    The matrix is kept as float32 whatever the file stored, so arithmetic (means, cosines)
    never happens in float16.
    """

    def __init__(self, words: Sequence[str], matrix: np.ndarray, source: str = "") -> None:
        matrix = np.asarray(matrix)
        if matrix.ndim != 2 or matrix.shape[0] != len(words):
            raise VectorsError(
                f"{source or 'vectors'}: {len(words)} words but a matrix of shape {matrix.shape}"
            )
        if matrix.shape[0] == 0 or matrix.shape[1] == 0:
            raise VectorsError(f"{source or 'vectors'}: no vectors")
        if not np.issubdtype(matrix.dtype, np.floating):
            raise VectorsError(f"{source or 'vectors'}: vectors are {matrix.dtype}, not floats")
        matrix = matrix.astype(np.float32, copy=False)
        if not np.isfinite(matrix).all():
            raise VectorsError(f"{source or 'vectors'}: vectors contain NaN or infinity")
        self.words: list[str] = [str(w) for w in words]
        self.matrix: np.ndarray = (
            matrix.view()
        )  # a read-only view: the caller's array stays writable
        self.matrix.setflags(write=False)
        self.dim: int = int(matrix.shape[1])
        self.source = str(source)
        self._index: dict[str, int] = {}
        for row, word in enumerate(self.words):
            self._index.setdefault(word, row)  # duplicates: the first (most frequent) wins
        self._folded = self._case_folded_index()
        self._unit: np.ndarray | None = None

    def _case_folded_index(self) -> dict[str, int]:
        """lower-case form -> row of its most frequent casing, only where the exact form is absent."""
        folded: dict[str, int] = {}
        for row, word in enumerate(self.words):
            lower = word.lower()
            if lower != word and lower not in self._index:
                folded.setdefault(lower, row)
        return folded

    # -- loading and saving ----------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path, format: str = "auto", limit: int | None = None) -> WordVectors:
        """Read word vectors; `format` is one of FORMATS ("fasttext" means a `.vec` text file).

        `limit` keeps only the first (most frequent) words of a foreign file, for huge
        vocabularies such as GoogleNews' 3 million.
        """
        path = Path(path)
        if format not in FORMATS:
            raise VectorsError(
                f"{path}: unknown vector format '{format}' (use one of {', '.join(FORMATS)})"
            )
        if not path.exists():
            raise VectorsError(f"{path}: no such word-vector file")
        if not path.is_file():
            raise VectorsError(f"{path}: not a file")
        if format == "auto":
            format = detect_format(path)
        if format == "npz":
            return cls._load_npz(path, limit)
        return cls._load_gensim(path, format, limit)

    @classmethod
    def _load_npz(cls, path: Path, limit: int | None) -> WordVectors:
        if not zipfile.is_zipfile(path):  # else numpy would talk about pickles
            raise VectorsError(f"{path}: not an .npz archive")
        try:
            with np.load(path, allow_pickle=False) as data:
                if "words" not in data or "vectors" not in data:
                    raise VectorsError(
                        f"{path}: an .npz of word vectors needs 'words' and 'vectors' arrays"
                    )
                words, matrix = data["words"], data["vectors"]
        except VectorsError:
            raise
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
            raise VectorsError(
                f"{path}: not a readable .npz of word vectors ({_reason(exc)})"
            ) from None
        if words.ndim != 1 or words.dtype.kind != "U":
            raise VectorsError(
                f"{path}: 'words' must be a 1-d unicode array, not {words.dtype} {words.shape}"
            )
        if limit is not None:
            words, matrix = words[:limit], matrix[:limit]
        return cls(words.tolist(), matrix, source=str(path))

    @classmethod
    def _load_gensim(cls, path: Path, format: str, limit: int | None) -> WordVectors:
        from gensim.models import KeyedVectors  # slow import; only foreign formats need it

        try:
            keyed = KeyedVectors.load_word2vec_format(
                str(path),
                binary=format == "word2vec-binary",
                no_header=format == "glove",
                limit=limit,
            )
        except (
            Exception
        ) as exc:  # gensim reports bad files with many types (ValueError, EOFError...)
            raise VectorsError(
                f"{path}: not a valid {format} word-vector file ({_reason(exc)})"
            ) from None
        return cls(list(keyed.index_to_key), keyed.vectors, source=str(path))

    def save_npz(self, path: str | Path, dtype: str = "float32") -> None:
        """Write our safe format: `words` (unicode) and `vectors` (float16 or float32), compressed.

        float16 halves the file and loses nothing that matters for cosine ranking.
        """
        if dtype not in ("float16", "float32"):
            raise VectorsError(f"{path}: vectors can be saved as float16 or float32, not {dtype}")
        with open(path, "wb") as handle:  # a handle, so numpy does not append ".npz" to the name
            np.savez_compressed(
                handle, words=np.array(self.words, dtype=str), vectors=self.matrix.astype(dtype)
            )

    def subset(self, words: Iterable[str]) -> WordVectors:
        """Only the given (known) words, in this vocabulary's order: for shipping a small file."""
        rows = sorted({r for w in words if (r := self._row(w)) is not None})
        if not rows:
            raise VectorsError(f"{self.source or 'vectors'}: none of the requested words is known")
        return WordVectors([self.words[r] for r in rows], self.matrix[rows], source=self.source)

    # -- lookup ----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        """True when `word` is one token of the vocabulary (exact or case-insensitive)."""
        return isinstance(word, str) and self._row(word) is not None

    def _row(self, token: str) -> int | None:
        row = self._index.get(token)
        if row is None:
            row = self._index.get(token.lower())
        if row is None:
            row = self._folded.get(token.lower())
        return row

    def vector(self, token: str) -> np.ndarray | None:
        """The stored vector of one token, no normalisation (use `embed` for tags)."""
        row = self._row(token)
        return None if row is None else self.matrix[row].copy()

    def embed(self, phrase: str) -> np.ndarray | None:
        """One float32 vector for a tag or phrase by the module's lookup rule; None if unknown."""
        words = normalise_tag(phrase).split()
        if not words:
            return None
        for form in _joined_forms(words):
            row = self._row(form)
            if row is not None:
                return self.matrix[row].copy()
        if len(words) > 1:
            rows = [r for w in words if (r := self._row(w)) is not None]
            if len(rows) == len(words):
                return self.matrix[rows].mean(axis=0)
            return None
        return self._split_embed(_NON_ALNUM.sub("", words[0]) or words[0])

    def _split_embed(self, token: str) -> np.ndarray | None:
        """Rule 5: mean of two known halves of an unknown token, the most frequent pair."""
        best: tuple[int, int, int] | None = None
        for cut in range(_MIN_SPLIT_PART, len(token) - _MIN_SPLIT_PART + 1):
            left, right = self._row(token[:cut]), self._row(token[cut:])
            if left is not None and right is not None:
                candidate = (max(left, right), left, right)
                if best is None or candidate < best:
                    best = candidate
        if best is None:
            return None
        return self.matrix[[best[1], best[2]]].mean(axis=0)

    def embed_many(self, phrases: Iterable[str]) -> tuple[np.ndarray, list[str], list[str]]:
        """(matrix [n_found, dim], found, missing): rows follow `found`, in input order."""
        return embed_each(self.embed, self.dim, phrases)

    def most_similar(
        self,
        vector: np.ndarray,
        topn: int = 10,
        restrict: Iterable[str] | None = None,
        exclude: Iterable[str] = (),
    ) -> list[tuple[str, float]]:
        """The `topn` words (or `restrict` phrases) nearest to `vector` by cosine, best first.

        With `restrict`, candidates are phrases embedded by `embed` (unknown ones are left
        out, as they have no place in the space); `exclude` drops e.g. the query word itself.
        """
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        if query.shape[0] != self.dim:
            raise VectorsError(
                f"{self.source or 'vectors'}: query has {query.shape[0]} dimensions, "
                f"vectors have {self.dim}"
            )
        query = unit_rows(query)
        if restrict is None:
            names, unit = self.words, self._unit_matrix()
        else:
            matrix, names, _ = self.embed_many(dict.fromkeys(restrict))
            unit = unit_rows(matrix)
        skip = {normalise_tag(w) for w in exclude}
        scores = unit @ query
        order = np.argsort(-scores, kind="stable")
        result: list[tuple[str, float]] = []
        for i in order:
            if len(result) >= topn:
                break
            if skip and normalise_tag(names[i]) in skip:
                continue
            result.append((names[i], float(scores[i])))
        return result

    def _unit_matrix(self) -> np.ndarray:
        if self._unit is None:
            self._unit = unit_rows(self.matrix)
        return self._unit


def embed_each(
    embed: Callable[[str], np.ndarray | None], dim: int, phrases: Iterable[str]
) -> tuple[np.ndarray, list[str], list[str]]:
    """`embed` over phrases -> (matrix [n_found, dim] float32, found, missing), in input order;
    shared by every word space (word vectors, the sentence encoder)."""
    rows: list[np.ndarray] = []
    found: list[str] = []
    missing: list[str] = []
    for phrase in phrases:
        vector = embed(phrase)
        if vector is None:
            missing.append(phrase)
        else:
            rows.append(vector)
            found.append(phrase)
    matrix = np.stack(rows) if rows else np.zeros((0, dim), np.float32)
    return matrix.astype(np.float32, copy=False), found, missing


def _reason(exc: BaseException) -> str:
    """An exception as one short line for an error message."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


# --- format detection ---------------------------------------------------------------------


def detect_format(path: str | Path) -> str:
    """The format of a word-vector file from its extension and first lines.

    `.npz` (or any zip archive) is ours; `.bin` is word2vec binary; anything else is sniffed:
    a first line of two integers is a word2vec/fastText header (then the second line tells
    text from binary), a first line of a word and numbers is GloVe (which has no header).
    """
    path = Path(path)
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes[-1:] == [".npz"] or (suffixes[-1:] != [".gz"] and zipfile.is_zipfile(path)):
        return "npz"
    if ".bin" in suffixes[-2:]:
        return "word2vec-binary"
    try:
        with _open_bytes(path) as handle:
            first = handle.readline(_SNIFF_BYTES)
            second = handle.readline(_SNIFF_BYTES)
    except (OSError, EOFError) as exc:
        raise VectorsError(f"{path}: cannot read word vectors ({_reason(exc)})") from None
    if _is_header(first):
        # any text vector line means text (a wrong length is then gensim's to report)
        return "word2vec" if _is_text_vector_line(second) else "word2vec-binary"
    if _is_text_vector_line(first):
        return "glove"
    raise VectorsError(
        f"{path}: not a recognised word-vector file (GloVe, word2vec, fastText or .npz)"
    )


def _open_bytes(path: Path) -> gzip.GzipFile | io.BufferedReader:
    return gzip.open(path, "rb") if path.suffix.lower() == ".gz" else open(path, "rb")


def _is_header(line: bytes) -> bool:
    """True for a word2vec/fastText header line: "count dim"."""
    parts = line.split()
    return len(parts) == 2 and all(p.isdigit() for p in parts)


def _is_text_vector_line(line: bytes) -> bool:
    """True for "word x1 x2 ..." as UTF-8 text."""
    try:
        parts = line.decode("utf-8").rstrip("\r\n").split(" ")
    except UnicodeDecodeError:
        return False
    parts = [p for p in parts if p]
    if len(parts) < 2:
        return False
    try:
        [float(p) for p in parts[1:]]
    except ValueError:
        return False
    return True


# --- side information ---------------------------------------------------------------------


@dataclass(eq=False)  # arrays have no single truth value; compare .labels and .matrix instead
class SideInformation:
    """Labels and one vector per label: everything the semantic module of a model reads.

    kind: "word" or "attribute" (the paper's two kinds), or "random" for the control run.
    source: where the vectors came from (a file path, "attributes", ...), kept in checkpoints
    so a result can say what it was trained with.
    """

    labels: list[str]
    matrix: np.ndarray
    kind: str
    source: str = ""
    _rows: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.labels = [str(label) for label in self.labels]
        self.matrix = np.asarray(self.matrix, dtype=np.float32)
        if self.matrix.ndim != 2 or self.matrix.shape[0] != len(self.labels):
            raise VectorsError(
                f"{self.source or 'side information'}: {len(self.labels)} labels but a "
                f"matrix of shape {self.matrix.shape}"
            )
        self._rows = {label: i for i, label in enumerate(self.labels)}
        if len(self._rows) != len(self.labels):
            duplicates = sorted({x for x in self.labels if self.labels.count(x) > 1})
            raise VectorsError(
                f"{self.source or 'side information'}: duplicate labels {', '.join(duplicates[:10])}"
            )

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    def select(self, labels: Sequence[str]) -> SideInformation:
        """The rows for `labels`, in that order; every label must be present."""
        missing = [label for label in labels if label not in self._rows]
        if missing:
            raise VectorsError(
                f"{self.source or 'side information'}: no vector for {len(missing)} "
                f"label(s): {', '.join(missing[:10])}"
            )
        matrix = self.matrix[[self._rows[label] for label in labels]].reshape(len(labels), self.dim)
        return SideInformation(list(labels), matrix, self.kind, self.source)

    def to_arrays(
        self, prefix: str = "side_information"
    ) -> tuple[dict[str, np.ndarray], dict[str, object]]:
        """(tensors for safetensors, JSON-able metadata): safetensors cannot hold strings."""
        arrays = {f"{prefix}.matrix": np.ascontiguousarray(self.matrix, dtype=np.float32)}
        meta: dict[str, object] = {
            "labels": list(self.labels),
            "kind": self.kind,
            "source": self.source,
        }
        return arrays, meta

    @classmethod
    def from_arrays(
        cls,
        arrays: Mapping[str, np.ndarray],
        meta: Mapping[str, object],
        prefix: str = "side_information",
    ) -> SideInformation:
        """Inverse of `to_arrays`; a missing or inconsistent part raises VectorsError."""
        key = f"{prefix}.matrix"
        if key not in arrays:
            raise VectorsError(f"side information: no '{key}' array")
        labels, kind = meta.get("labels"), meta.get("kind")
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise VectorsError("side information: 'labels' must be a list of strings")
        if not isinstance(kind, str):
            raise VectorsError("side information: 'kind' must be a string")
        return cls(labels, np.asarray(arrays[key]), kind, str(meta.get("source", "")))


def word_side_information(
    vectors: WordVectors | WordSpace, labels: Sequence[str]
) -> tuple[SideInformation, list[str]]:
    """Word vectors for `labels`: (side information of the found labels, missing labels).

    Missing labels are returned, not dropped: a training run must refuse or report them.
    """
    matrix, found, missing = vectors.embed_many(labels)
    return SideInformation(found, matrix, "word", vectors.source), missing


# --- attribute vectors --------------------------------------------------------------------


def attribute_vectors(
    track_labels: Mapping[str, Sequence[str]],
    track_attributes: Mapping[str, Mapping[str, float]],
    attributes: Sequence[str],
    standardise: bool = True,
) -> SideInformation:
    """The paper's instrument vectors (section 5.1), one 2n-d row per label.

    Every track votes for each of its labels: for each ANNOTATED attribute i (present in the
    track's dict with a likelihood other than 0.5, OpenMIC's "not annotated"), likelihood
    > 0.5 adds 1 to dim i ("has it") and < 0.5 adds 1 to dim i + n ("lacks it"), so a label's
    row counts how often its tracks were heard with and without each instrument. Keeping the
    negatives apart (rather than +1/-1 in one dim) lets "often annotated absent" differ from
    "never annotated".

    Then, with `standardise`, each dimension is z-scored over the labels (mean 0, population
    std 1, like scikit-learn's StandardScaler on a [labels, dims] matrix, which is what the
    authors' "standardized to zero mean and unit variance" did); a dimension that is constant
    over labels is only centred (std 0 would divide by zero), as StandardScaler does.
    Without it the raw counts are returned.

    Labels are sorted; tracks without attributes add nothing, and labels none of whose tracks
    has an annotation keep an all-zero count row.
    """
    n = len(attributes)
    column = {name: i for i, name in enumerate(attributes)}
    if len(column) != n or n == 0:
        raise VectorsError("attribute vectors: attribute names must be non-empty and unique")
    labels = sorted({label for tags in track_labels.values() for label in tags})
    if not labels:
        raise VectorsError("attribute vectors: no track has a label")
    row = {label: i for i, label in enumerate(labels)}
    counts = np.zeros((len(labels), 2 * n), np.float64)
    for track, tags in track_labels.items():
        votes = _track_votes(track, track_attributes.get(track, {}), column, n)
        for label in set(tags):
            counts[row[label]] += votes
    matrix = _zscore(counts) if standardise else counts
    return SideInformation(labels, matrix.astype(np.float32), "attribute", "attributes")


def _track_votes(
    track: str, likelihoods: Mapping[str, float], column: Mapping[str, int], n: int
) -> np.ndarray:
    """One track's 2n-d contribution: 1 at i (present) or i + n (absent) per annotated attribute."""
    votes = np.zeros(2 * n, np.float64)
    for name, value in likelihoods.items():
        i = column.get(name)
        if i is None:
            continue
        value = float(value)
        if not 0.0 <= value <= 1.0:  # also refuses NaN
            raise VectorsError(
                f"attribute vectors: track {track} has {name}={value}, not a likelihood in [0, 1]"
            )
        if value != 0.5:
            votes[i if value > 0.5 else i + n] = 1.0
    return votes


def _zscore(matrix: np.ndarray) -> np.ndarray:
    """Per-column standardisation over rows; constant columns are centred only."""
    mean = matrix.mean(axis=0)
    std = matrix.std(axis=0)
    std[std == 0] = 1.0
    return (matrix - mean) / std


def attributes_from_csv(path: str | Path, standardise: bool = False) -> SideInformation:
    """Side information from a `label,attribute,value` table (header row optional).

    Rows become one vector per label with one column per attribute, both in order of first
    appearance; a (label, attribute) pair not in the file is 0. Blank lines and lines
    starting with '#' are skipped. The values are used as given unless `standardise`
    z-scores each column over labels, as `attribute_vectors` does.
    """
    path = Path(path)
    cells = _read_attribute_rows(path)
    labels = list(dict.fromkeys(label for label, _, _ in cells))
    names = list(dict.fromkeys(name for _, name, _ in cells))
    row = {label: i for i, label in enumerate(labels)}
    col = {name: j for j, name in enumerate(names)}
    matrix = np.zeros((len(labels), len(names)), np.float64)
    for label, name, value in cells:
        matrix[row[label], col[name]] = value
    if standardise:
        matrix = _zscore(matrix)
    return SideInformation(labels, matrix.astype(np.float32), "attribute", str(path))


def _read_attribute_rows(path: Path) -> list[tuple[str, str, float]]:
    """The (label, attribute, value) cells of a CSV, checked line by line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise VectorsError(f"{path}: no such attribute file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise VectorsError(f"{path}: cannot read attribute file ({_reason(exc)})") from None
    cells: list[tuple[str, str, float]] = []
    seen: set[tuple[str, str]] = set()
    reader = csv.reader(io.StringIO(text))
    first_row = True
    try:
        for fields in reader:
            if not "".join(fields).strip() or fields[0].lstrip().startswith("#"):
                continue
            where = f"{path}: line {reader.line_num}"
            cell = _parse_attribute_row(where, fields, header_allowed=first_row)
            first_row = False
            if cell is None:  # the header
                continue
            if cell[:2] in seen:
                raise VectorsError(f"{where}: {cell[0]},{cell[1]} is given twice")
            seen.add(cell[:2])
            cells.append(cell)
    except csv.Error as exc:
        raise VectorsError(
            f"{path}: line {reader.line_num}: malformed CSV ({_reason(exc)})"
        ) from None
    if not cells:
        raise VectorsError(f"{path}: no label,attribute,value rows")
    return cells


def _parse_attribute_row(
    where: str, fields: list[str], header_allowed: bool
) -> tuple[str, str, float] | None:
    """One checked cell, or None for a header row (only allowed before any data)."""
    if len(fields) != 3:
        raise VectorsError(f"{where}: expected 3 fields label,attribute,value, got {len(fields)}")
    label, name, raw = (f.strip() for f in fields)
    try:
        value = float(raw)
    except ValueError:
        if header_allowed:
            return None
        raise VectorsError(f"{where}: value '{raw}' is not a number") from None
    if not label or not name:
        raise VectorsError(f"{where}: empty label or attribute")
    if not math.isfinite(value):
        raise VectorsError(f"{where}: value '{raw}' is not finite")
    return label, name, value
