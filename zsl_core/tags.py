"""What a tag is, everywhere in the project: a word, its kind, and a score that says what it is.

Why one module: the model proposes words of very different sorts (a genre, a mood, an instrument,
a decade, a description such as "fast") with two very different kinds of score (a network's
probability for a word it was trained on, a similarity in word space for one it was not). Each
consumer (the command line, the library's search, the tag writer, the GUI) must agree on which
word is which kind, which field it belongs in, how sure the model is, and how a field's text is
split into values. They all import these definitions; none keeps its own.

* `TagKind`: genre, mood, instrument, era, character, other. Every word of the shipped
  vocabulary has one (from the file it is listed in, `resources/vocab/<kind>s.txt`), every seen
  label has one, and a user's vocabulary can declare them (`# kind: mood` lines).
* `ScoreKind`: probability (0-1, the network's calibrated output, or a probability estimated for
  a new word from the seen labels' probabilities) or similarity (cosine, -1..1).
* `TagScore`: one proposed tag. `confidence` is on the 0-1 probability scale for every tag a
  probability model proposes, so one threshold and one sort serve seen and new words alike.
* `split_values` / `join_values`: the one rule for turning "Rock; Pop" into values and back.
* `display_form`: how a word is written into a file (genres and moods as listeners write them:
  "Hip-Hop", "R&B", "Drum and Bass", "Sad").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Literal, TypeAlias, get_args

from zsl_core.errors import DatasetError
from zsl_core.resources import resource_path

__all__ = [
    "Include",
    "INCLUDE",
    "KIND_FAMILIES",
    "PROPOSE_FLOOR",
    "TagKind",
    "ScoreKind",
    "TagScore",
    "Vocabulary",
    "Words",
    "word_kind",
    "split_values",
    "join_values",
    "VALUE_SEPARATOR",
    "display_form",
    "tag_key",
    "STOP_WORDS",
    "load_vocabulary",
    "VOCAB_FILE_KINDS",
]


Include = Literal["both", "seen", "unseen"]  # which tags a proposal may hold: seen, new words, both
INCLUDE: tuple[Include, ...] = get_args(Include)
PROPOSE_FLOOR = 0.15  # confidence below which a tag is not proposed


class TagKind(str, Enum):
    """What sort of word a tag is; decides which file field it may be written to."""

    GENRE = "genre"
    MOOD = "mood"
    INSTRUMENT = "instrument"
    ERA = "era"
    CHARACTER = "character"
    OTHER = "other"

    @classmethod
    def parse(cls, text: str) -> TagKind:
        """'moods', 'Mood', 'mood' -> MOOD (plural and case forgiven); ValueError names the choices."""
        word = str(text).strip().lower()
        for kind in cls:
            if word in (kind.value, kind.value + "s"):
                return kind
        raise ValueError(
            f"unknown tag kind {text!r}; choose from {', '.join(k.value for k in cls)}"
        )


class ScoreKind(str, Enum):
    """What a tag's number means, so no caller compares a cosine with a probability."""

    PROBABILITY = "probability"
    SIMILARITY = "similarity"


@dataclass(frozen=True)
class TagScore:
    """One tag proposed for a track.

    `seen`: the model was trained on this word. `score` is the model's own number, of kind
    `score_kind`. `confidence` is the number to sort and threshold by: the probability itself
    for probability scores, a similarity mapped to 0-1 otherwise (see `confidence_of`).
    `basis`: for a new word, the seen labels its probability is read from, with their shares
    ("heavy metal" -> (("metal", 0.9), ("hard rock", 0.1))): a new word whose basis is mostly
    tags already proposed repeats them. `grounding`: how much of that basis is of the word's own
    kind family (`KIND_FAMILIES`), and 0 when the trained word nearest to it is of another kind:
    a genre read off "fast" ("speed garage"), off "drums" ("drum and bass") or mostly off
    "violin" ("reggae", 49% violin, the rest spread over four genres) is a guess from the sound
    of its name, not from the music.
    """

    tag: str
    score: float
    seen: bool
    kind: TagKind = TagKind.OTHER
    score_kind: ScoreKind = ScoreKind.PROBABILITY
    confidence: float | None = None
    basis: tuple[tuple[str, float], ...] = ()
    grounding: float = 1.0  # share of a new word's basis on trained words of its own kind family

    def __post_init__(self) -> None:
        if self.confidence is None:
            object.__setattr__(self, "confidence", confidence_of(self.score, self.score_kind))

    def to_dict(self) -> dict:
        """The tag as JSON; a new word read off trained words also lists them (`basis`)."""
        out = {
            "tag": self.tag,
            "score": round(float(self.score), 4),
            "kind": self.kind.value,
            "score_kind": self.score_kind.value,
            "confidence": round(float(self.confidence or 0), 4),
            "seen": self.seen,
        }
        if self.basis:
            out["basis"] = [{"tag": label, "share": share} for label, share in self.basis]
        return out

    def origin(self) -> str:
        """Where the confidence comes from, in one sentence a listener can judge: a new word
        "read off the trained words violin 49%, jazz 20%" is a guess the listener can see
        through, where the bare number looks as sure as a trained word's."""
        if self.seen:
            return "A trained word: the networks' own probability."
        if self.basis:
            shares = ", ".join(f"{label} {share:.0%}" for label, share in self.basis)
            return f"Read off the trained words {shares}."
        if self.score_kind is ScoreKind.SIMILARITY:
            return "Its similarity to the track in the joint space."
        return "Read off the trained words nearest to it in meaning."


def confidence_of(score: float, score_kind: ScoreKind) -> float:
    """A score on the 0-1 scale: probabilities as they are, cosines (-1..1) mapped linearly."""
    if score_kind is ScoreKind.PROBABILITY:
        return min(max(float(score), 0.0), 1.0)
    return min(max((float(score) + 1.0) / 2.0, 0.0), 1.0)


# --- words and their kinds --------------------------------------------------------------------

# Which trained words can ground a new word of a kind: moods and descriptions ("calm", "quiet",
# "loud") describe each other; genres, instruments and eras stand alone.
KIND_FAMILIES: Mapping[TagKind, frozenset[TagKind]] = {
    TagKind.GENRE: frozenset({TagKind.GENRE}),
    TagKind.MOOD: frozenset({TagKind.MOOD, TagKind.CHARACTER}),
    TagKind.CHARACTER: frozenset({TagKind.CHARACTER, TagKind.MOOD}),
    TagKind.INSTRUMENT: frozenset({TagKind.INSTRUMENT}),
    TagKind.ERA: frozenset({TagKind.ERA}),
    TagKind.OTHER: frozenset(TagKind),
}

VOCAB_FILE_KINDS: Mapping[str, TagKind] = {
    "genres": TagKind.GENRE,
    "moods": TagKind.MOOD,
    "instruments": TagKind.INSTRUMENT,
    "eras": TagKind.ERA,
    "character": TagKind.CHARACTER,
}
_KIND_LINE = re.compile(r"^#\s*kind\s*:\s*(\w+)\s*$", re.IGNORECASE)


def tag_key(word: str) -> str:
    """The form two spellings of one tag share: case, spaces, '-' and '_' ignored ("Hip-Hop" ==
    "hip hop" == "hiphop" is not claimed: only separators and case)."""
    return re.sub(r"[\s_\-]+", " ", str(word).strip().casefold()).strip()


@dataclass
class Vocabulary:
    """Words with their kinds, in file order; a word is listed once (first kind wins).

    `bases`: for some words, the trained words their confidence is to be read off, declared by
    hand (`energetic = fast, loud, dance, party` in a vocabulary file): human-labelled side
    information where the word space is wrong. A sentence encoder places "energetic music" next
    to "meditative music" and "relaxing music" (both are about energy), so read off the word
    space "energetic" ranked ambient pieces first."""

    words: list[str]
    kinds: dict[str, TagKind]
    bases: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def kind(self, word: str, default: TagKind = TagKind.OTHER) -> TagKind:
        return self.kinds.get(tag_key(word), default)

    def __iter__(self) -> Iterator[str]:
        return iter(self.words)

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and tag_key(word) in self.kinds

    @classmethod
    def from_words(cls, words: Iterable[str], kind: TagKind = TagKind.OTHER) -> Vocabulary:
        vocab = cls([], {})
        for word in words:
            vocab.add(word, kind)
        return vocab

    def add(self, word: str, kind: TagKind, basis: Sequence[str] = ()) -> None:
        word = word.strip()
        if word and tag_key(word) not in self.kinds:
            self.words.append(word)
            self.kinds[tag_key(word)] = kind
            if basis:
                self.bases[tag_key(word)] = tuple(basis)

    def basis(self, word: str) -> tuple[str, ...]:
        """The trained words declared for `word` (empty: read it off the word space)."""
        return self.bases.get(tag_key(word), ())


# Candidate words for unseen tags: plain words, or a Vocabulary that also says each one's kind.
Words: TypeAlias = Vocabulary | Sequence[str]


def word_kind(words: Words, word: str) -> TagKind:
    """A candidate's kind: the Vocabulary's, OTHER for plain words (no kind known)."""
    return words.kind(word) if isinstance(words, Vocabulary) else TagKind.OTHER


def read_vocabulary_file(path: str | Path, vocab: Vocabulary | None = None) -> Vocabulary:
    """One word or phrase a line, '#' comments. The kind comes from the file's name
    (`moods.txt` -> mood) and can be set for the lines below by a `# kind: instrument` line.
    `word = trained, words` declares what the word is read off (`Vocabulary.bases`).
    OSError propagates (callers word it for the user)."""
    path = Path(path)
    vocab = vocab if vocab is not None else Vocabulary([], {})
    kind = VOCAB_FILE_KINDS.get(path.stem.lower(), TagKind.OTHER)
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        text = line.strip()
        directive = _KIND_LINE.match(text)
        if directive:
            kind = TagKind.parse(directive.group(1))
        elif text and not text.startswith("#"):
            word, _, declared = text.partition("=")
            vocab.add(word, kind, [w.strip() for w in declared.split(",") if w.strip()])
    return vocab


def load_vocabulary(paths: str | Path | Sequence[str | Path] | None = None) -> Vocabulary:
    """Candidate new words with their kinds: the given file(s) in order, or (None) every
    shipped resources/vocab/*.txt; a word keeps the kind of the first file that lists it.
    A file that cannot be read is a DatasetError with a one-line reason."""
    if not paths:
        files = sorted(resource_path("vocab").glob("*.txt"))
    elif isinstance(paths, str | Path):
        files = [Path(paths)]
    else:
        files = [Path(p) for p in paths]
    vocab = Vocabulary([], {})
    for file in files:
        try:
            read_vocabulary_file(file, vocab)
        except OSError as exc:
            raise DatasetError(f"{file}: cannot read vocabulary ({exc.strerror})") from None
        except (UnicodeDecodeError, ValueError) as exc:
            raise DatasetError(f"{file}: not a vocabulary file ({exc})") from None
    return vocab


# --- multi-value text ---------------------------------------------------------------------------

# ';' and ',' separate values, so does NUL (ID3v2.4's own separator). A slash does too
# ("Hip-Hop/Rap", "Rock / Pop"), unless a side is a short abbreviation ("AC/DC", "R/B"); '&'
# never does ("Drum & Bass", "R&B").
_SEPARATORS = re.compile(r"\s*[;,\x00]\s*")
_SLASH = re.compile(r"\s*/\s*")


def _split_slashes(part: str) -> list[str]:
    pieces = _SLASH.split(part)
    if len(pieces) > 1 and all(len(p.strip()) >= 3 for p in pieces):
        return pieces
    return [part]


def split_values(text: str | Iterable[str] | None) -> list[str]:
    """A field's text (or list of texts) as its values: split, stripped, empty ones and repeats
    (ignoring case) dropped, order kept."""
    if text is None:
        return []
    parts: list[str] = []
    for item in [text] if isinstance(text, str) else list(text):
        for part in _SEPARATORS.split(str(item)):
            parts += _split_slashes(part)
    seen: set[str] = set()
    values = []
    for part in (p.strip() for p in parts):
        if part and part.casefold() not in seen:
            seen.add(part.casefold())
            values.append(part)
    return values


VALUE_SEPARATOR = "; "  # what `join_values` puts between values: `split_values` splits on it


def join_values(values: Iterable[str], separator: str = VALUE_SEPARATOR) -> str:
    """The inverse of `split_values` for display and single-string formats."""
    return separator.join(v for v in values if v)


# --- writing words as listeners do -------------------------------------------------------------

# Spellings that plain title case gets wrong.
_CANONICAL = {
    "r&b": "R&B",
    "rnb": "R&B",
    "hip hop": "Hip-Hop",
    "hip-hop": "Hip-Hop",
    "hiphop": "Hip-Hop",
    "edm": "EDM",
    "idm": "IDM",
    "ebm": "EBM",
    "uk garage": "UK Garage",
    "j-pop": "J-Pop",
    "k-pop": "K-Pop",
    "j-rock": "J-Rock",
    "drum and bass": "Drum and Bass",
    "dnb": "Drum and Bass",
    "drum & bass": "Drum and Bass",
    "lo-fi": "Lo-Fi",
    "lofi": "Lo-Fi",
    "a cappella": "A Cappella",
    "new age": "New Age",
    "00s": "2000s",
    "10s": "2010s",
    "dj": "DJ",
    "mc": "MC",
    "8-bit": "8-bit",
    "r&b/soul": "R&B/Soul",
    "world": "World",
    "synthpop": "Synthpop",
    "trip hop": "Trip-Hop",
    "trip-hop": "Trip-Hop",
}
_CANONICAL = {tag_key(k): v for k, v in _CANONICAL.items()}
_SMALL = {"and", "or", "of", "the", "n", "in", "for", "a", "to"}
_DECADE = re.compile(r"^(\d0)s$")


def display_form(word: str, kind: TagKind) -> str:
    """How a proposed word is written into a file: genres and moods in the capitalisation
    listeners use ("Classic Rock", "Hip-Hop", "R&B", "Sad"), decades as "1980s"; other kinds
    as they are."""
    key = tag_key(word) if word else ""
    if key in _CANONICAL:
        return _CANONICAL[key]
    if kind is TagKind.ERA:
        decade = _DECADE.match(key)
        if decade:
            number = int(decade.group(1))
            return f"{1900 + number if number >= 20 else 2000 + number}s"
        return word
    if kind not in (TagKind.GENRE, TagKind.MOOD):
        return word

    def cap(part: str, first: bool) -> str:
        if not first and part in _SMALL:
            return part
        return "-".join(p[:1].upper() + p[1:] for p in part.split("-"))

    parts = str(word).strip().lower().split()
    return " ".join(cap(p, i == 0) for i, p in enumerate(parts))


# Words a typed query can hold that carry no musical meaning ("music for a rainy day").
STOP_WORDS = frozenset(
    """
a an the and or of for to in on at by with from into about as is are be was were it its this that
these those some any my your our their me i you we they he she songs song music musique track
tracks tune tunes something stuff like kind sort type please play give find show very really
more most less bit little lot lots
""".split()
)
