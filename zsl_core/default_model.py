"""The built-in zero-shot tagger: musicnn (MSD + MTT) probabilities, new words read off them in a word space.

Why it exists: a user who installs the app must get sensible tags and search at once, with no
data set and no training. Pretrained networks of musicnn (Pons & Serra 2019, ISC) give real
tag probabilities for 100 tags (Last.fm top-50 on the Million Song Dataset, MagnaTagATune
top-50): genre, era, mood, instrument and voice. We run both tag lists on the same patches,
because neither alone covers what listeners ask for (MSD knows eras and moods, MTT knows
instruments), and each with two networks (`ENSEMBLE`): musicnn and the package's VGG baseline,
whose probabilities are averaged; the pair ranks real music better than musicnn alone
(docs/RESULTS.md, "Fourth version") for about 1.4x the network time.

How a track gets tags:

1. musicnn front end on 16 kHz audio -> 3-second patches -> the four networks -> the taggram
   (one probability per tag and patch), averaged over every patch of every segment and over
   the two networks of each tag list.
2. The 100 raw tags are *cleaned* into `SEEN_LABELS` (70 labels, each with a kind: genre, mood,
   instrument, era, character): duplicates merged ("female vocalists", "female voice", "woman"
   ... -> "female vocals"), a merged label's probability being the max of its members'.
   Negations ("no vocals", "no vocal", "no voice") are merged into "instrumental" and so carry
   the *instrumental* vector: averaging "no" + "vocals" would place them next to "vocals".
3. A 71st label, "spoken word", comes from the speech detector (`zsl_core.speech`) on the same
   patches; every music label is scaled by 1 - P(speech), since musicnn's numbers mean
   "given that this is music".
4. A word that is not a seen label (a *new* word: "orchestral", "melancholic") gets a
   probability too: the similarity-weighted mean of the probabilities of its nearest seen labels
   in the word space (`word_affinities`; all-MiniLM-L6-v2 by default, `zsl_core.word_space`).
   So trained and new words share one 0-1 scale: they are ranked, thresholded and combined in
   phrases together. The library stores only the 71 probabilities per track.
5. ConSE (Norouzi et al. 2013, the paper's ref. [19]; `zsl_core.conse`) is kept for what
   needs a point in word space (`track_embeddings`): the convex combination of the word vectors
   of the `top_t` most probable seen labels, weighted by their renormalised probabilities, in
   the space re-centred on the mean of the seen labels' vectors (`to_space`), unit-normalised.

Each seen label has *anchor* words: the words whose unit vectors are averaged to place it.
Usually the label itself; a few labels get better anchors because a word vector for the plain
word means something else ("chill" is cold weather, "party" is politics in GloVe) or because
the joined token ("new-age", "heavy-metal") is too rare to have a good vector.

The same networks also give the frozen pretrained backbone for `zsl-core train --backbone
musicnn`: `musicnn_features` (the MSD network's 200-d penultimate layer, averaged over patches).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from zsl_core import dsp, musicnn
from zsl_core.conse import DEFAULT_TOP_T, conse, conse_weights
from zsl_core.devices import resolve_device
from zsl_core.errors import AudioError, ModelError, ZslError
from zsl_core.speech import low_energy_share, speech_probability
from zsl_core.tagger import Analysis, InputSpec, PayloadKind, Prediction, Tagger, TagScore
from zsl_core.tags import (
    KIND_FAMILIES,
    ScoreKind,
    TagKind,
    Vocabulary,
    Words,
    load_vocabulary,
    tag_key,
    word_kind,
)
from zsl_core.vectors import normalise_tag
from zsl_core.word_space import GLOVE_VECTORS, WordSpace, load_word_space

DEFAULT_VECTORS = (
    GLOVE_VECTORS  # the classic word vectors (`--vectors glove`); the default space is MiniLM
)
# The frozen backbone of `zsl-core train --backbone musicnn` (and `musicnn_features`).
BACKBONE_MODEL = musicnn.BACKBONE_MODEL
FEATURE_DIM = 200
MSD, MTT = "MSD_musicnn", "MTT_musicnn"  # the tag lists the labels' members name
# The ensemble: each tag list's musicnn network averaged with musicnn's VGG network of the same
# tag list (`DefaultTagger(ensemble=...)`).
ENSEMBLE = {MSD: (MSD, "MSD_vgg"), MTT: (MTT, "MTT_vgg")}


def cue_key(tag_list: str) -> str:
    """Where `average_networks` keeps a tag list's musicnn probabilities for the speech cue."""
    return f"{tag_list}:speech-cue"


@dataclass(frozen=True)
class SeenLabel:
    """One cleaned seen label: the name users see, its kind, the musicnn tags it merges (or the
    detector that scores it), its anchor words."""

    name: str
    members: tuple[
        tuple[str, str], ...
    ]  # (model name, tag exactly as the model's config spells it)
    anchors: tuple[str, ...]
    kind: TagKind = TagKind.OTHER


def _label(
    kind: TagKind,
    name: str,
    msd: Iterable[str] = (),
    mtt: Iterable[str] = (),
    anchors: Iterable[str] | None = None,
) -> SeenLabel:
    members = tuple((MSD, t) for t in msd) + tuple((MTT, t) for t in mtt)
    return SeenLabel(name, members, tuple(anchors) if anchors else (name,), kind)


GENRE, MOOD, INSTRUMENT, ERA, CHARACTER = (
    TagKind.GENRE,
    TagKind.MOOD,
    TagKind.INSTRUMENT,
    TagKind.ERA,
    TagKind.CHARACTER,
)
SPEECH = "spoken word"  # the label the speech detector scores (`zsl_core.speech`), not musicnn


# The cleaning rules, one line per label (MSD order first, then MTT-only labels).
# Merges: every voice tag by gender; vocal/vocals/voice/singing; the three negations with
# "instrumental"; chill/chillout; classic/classical (MTT's "classic" tags classical music;
# MSD's "classic rock" stays apart); electronic/electronica (the same thing on Last.fm) but
# not "electro", a distinct dance genre; alternative/alternative rock; metal/heavy metal;
# beat/beats; choir/choral. Tags in both models (rock, pop, dance, ...) merge by name.
SEEN_LABELS: tuple[SeenLabel, ...] = (
    _label(GENRE, "rock", ["rock"], ["rock"]),
    _label(GENRE, "pop", ["pop"], ["pop"]),
    _label(
        GENRE,
        "alternative rock",
        ["alternative", "alternative rock"],
        anchors=["alternative", "rock"],
    ),
    _label(GENRE, "indie", ["indie"]),
    _label(
        GENRE,
        "electronic",
        ["electronic", "electronica"],
        ["electronic"],
        anchors=["electronic", "electronica"],
    ),
    _label(
        INSTRUMENT,
        "female vocals",
        ["female vocalists", "female vocalist"],
        ["female", "woman", "female vocal", "female voice"],
        anchors=["female", "vocals"],
    ),
    _label(GENRE, "dance", ["dance"], ["dance"]),
    _label(ERA, "00s", ["00s"]),
    _label(GENRE, "jazz", ["jazz"]),
    _label(MOOD, "beautiful", ["beautiful"]),
    _label(GENRE, "metal", ["metal", "heavy metal"], ["metal"], anchors=["heavy", "metal"]),
    _label(MOOD, "chill", ["chillout", "chill"], anchors=["chill", "relaxing", "mellow"]),
    _label(
        INSTRUMENT,
        "male vocals",
        ["male vocalists"],
        ["male", "man", "male vocal", "male voice"],
        anchors=["male", "vocals"],
    ),
    _label(GENRE, "classic rock", ["classic rock"], anchors=["classic", "rock"]),
    _label(GENRE, "soul", ["soul"]),
    _label(GENRE, "indie rock", ["indie rock"], anchors=["indie", "rock"]),
    _label(MOOD, "mellow", ["Mellow"]),
    _label(ERA, "80s", ["80s"]),
    _label(GENRE, "folk", ["folk"]),
    _label(ERA, "90s", ["90s"]),
    _label(CHARACTER, "instrumental", ["instrumental"], ["no vocals", "no vocal", "no voice"]),
    _label(GENRE, "punk", ["punk"]),
    _label(ERA, "oldies", ["oldies"]),
    _label(GENRE, "blues", ["blues"]),
    _label(GENRE, "hard rock", ["hard rock"], anchors=["hard", "rock"]),
    _label(GENRE, "ambient", ["ambient"], ["ambient"]),
    _label(CHARACTER, "acoustic", ["acoustic"]),
    _label(GENRE, "experimental", ["experimental"]),
    _label(INSTRUMENT, "guitar", ["guitar"], ["guitar"]),
    _label(GENRE, "hip-hop", ["Hip-Hop"]),
    _label(ERA, "70s", ["70s"]),
    _label(MOOD, "party", ["party"], anchors=["party", "dancing", "fun"]),
    _label(GENRE, "country", ["country"], ["country"]),
    _label(GENRE, "easy listening", ["easy listening"], anchors=["easy", "listening", "soft"]),
    _label(MOOD, "sexy", ["sexy"]),
    _label(CHARACTER, "catchy", ["catchy"]),
    _label(GENRE, "funk", ["funk"]),
    _label(GENRE, "electro", ["electro"]),
    _label(GENRE, "progressive rock", ["Progressive rock"], anchors=["progressive", "rock"]),
    _label(ERA, "60s", ["60s"]),
    _label(GENRE, "r&b", ["rnb"]),
    _label(GENRE, "indie pop", ["indie pop"], anchors=["indie", "pop"]),
    _label(MOOD, "sad", ["sad"]),
    _label(GENRE, "house", ["House"]),
    _label(MOOD, "happy", ["happy"]),
    _label(GENRE, "classical", mtt=["classical", "classic"]),
    _label(CHARACTER, "slow", mtt=["slow"]),
    _label(GENRE, "techno", mtt=["techno"]),
    _label(INSTRUMENT, "strings", mtt=["strings"]),
    _label(INSTRUMENT, "drums", mtt=["drums"]),
    _label(CHARACTER, "fast", mtt=["fast"]),
    _label(INSTRUMENT, "piano", mtt=["piano"]),
    _label(CHARACTER, "beats", mtt=["beat", "beats"], anchors=["beats", "drums"]),
    _label(INSTRUMENT, "violin", mtt=["violin"]),
    _label(
        INSTRUMENT,
        "vocals",
        mtt=["vocal", "vocals", "voice", "singing"],
        anchors=["vocals", "singing"],
    ),
    _label(INSTRUMENT, "synth", mtt=["synth"]),
    _label(GENRE, "indian", mtt=["indian"], anchors=["indian", "raga"]),
    _label(GENRE, "opera", mtt=["opera"]),
    _label(INSTRUMENT, "harpsichord", mtt=["harpsichord"]),
    _label(CHARACTER, "loud", mtt=["loud"]),
    _label(CHARACTER, "quiet", mtt=["quiet"]),
    _label(INSTRUMENT, "flute", mtt=["flute"]),
    _label(CHARACTER, "soft", mtt=["soft"]),
    _label(INSTRUMENT, "sitar", mtt=["sitar"]),
    _label(CHARACTER, "solo", mtt=["solo"]),
    _label(INSTRUMENT, "choir", mtt=["choir", "choral"], anchors=["choir", "choral"]),
    _label(GENRE, "new age", mtt=["new age"], anchors=["meditative", "relaxing", "ambient"]),
    _label(INSTRUMENT, "harp", mtt=["harp"]),
    _label(INSTRUMENT, "cello", mtt=["cello"]),
    _label(CHARACTER, "weird", mtt=["weird"]),
    # Not a musicnn tag: scored by the speech detector (zsl_core.speech) from the same patches.
    SeenLabel(SPEECH, ((SPEECH, SPEECH),), ("spoken word", "speech", "talking"), GENRE),
)

# The raw tags that say "this is absent"; they live inside "instrumental" (see above).
NEGATION_TAGS = frozenset({"no vocals", "no vocal", "no voice"})


# --- precision and patches ----------------------------------------------------------------------

WINDOW_SECONDS = 3.0  # musicnn's patch length: a window shorter than it is repeat-padded
INPUT = InputSpec(musicnn.SAMPLE_RATE, WINDOW_SECONDS, PayloadKind.PATCHES)


def resolve_precision(precision: str = "fp32", device: str | torch.device = "auto") -> str:
    """'fp32' or 'bf16' for the musicnn front end; 'auto' is bf16 only on a CPU that multiplies
    bf16 natively (AVX512-BF16/AMX). Resolved here so an index can record which one made its scores."""
    if precision not in musicnn.PRECISIONS:
        raise ModelError(
            f"precision must be one of {', '.join(musicnn.PRECISIONS)}, got {precision!r}"
        )
    if precision == "auto":
        on_cpu = resolve_device(device).type == "cpu"
        return "bf16" if on_cpu and musicnn.cpu_has_fast_bf16() else "fp32"
    return precision


def segments_to_patches(segments: Sequence[np.ndarray]) -> np.ndarray:
    """musicnn input patches [n, 187, 96] of every 16 kHz mono segment, concatenated.

    Each segment is cut on its own so a short window is repeat-padded like a short track,
    never glued to the next one. Computed by `zsl_core.dsp` (numpy), the same code the scan's
    torch-free decode workers run, so a track gets the same patches in either place.
    """
    return dsp.segments_to_patches(segments)


# --- the tagger -------------------------------------------------------------------------------


class DefaultTagger(Tagger):
    """musicnn (MSD + MTT) + word vectors through ConSE, behind the shared `Tagger` interface.

    Build it with `load_default_tagger()`; the constructor is public for tests and for users who
    bring their own vectors or label rules.
    """

    name = "default"
    precision = "fp32"  # of the musicnn front end; load_default_tagger sets what it loaded
    sample_rate = INPUT.sample_rate
    window_seconds = INPUT.window_seconds
    payload = INPUT.payload  # musicnn patches: the scan's workers cut them, the networks batch them
    seen_score_kind = ScoreKind.PROBABILITY

    def __init__(
        self,
        models: dict[str, musicnn.MusicnnModel],
        vectors: WordSpace,
        labels: Sequence[SeenLabel] = SEEN_LABELS,
        top_t: int = DEFAULT_TOP_T,
        batch_size: int = 64,
        ensemble: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        """`models`: the networks by name. `ensemble`: tag list (the name the labels' members
        use, MSD or MTT) -> the networks whose probabilities are averaged for it, all with that
        tag list; by default each network is its own."""
        if top_t < 1:
            raise ValueError(f"top_t must be at least 1, got {top_t}")
        self.models = dict(models)
        self.ensemble = self._check_ensemble(ensemble or {name: (name,) for name in self.models})
        self.vectors = vectors
        self.labels = tuple(labels)
        self.seen_labels = [label.name for label in self.labels]
        self.top_t = top_t
        self.batch_size = batch_size
        self._members = self._member_indices()
        self._aliases = self._alias_index()
        # words whose trained words are declared by hand (`Vocabulary.bases`, resources/vocab)
        self.declared: dict[str, tuple[str, ...]] = dict(load_vocabulary().bases)
        raw = self._anchor_vectors()
        placed = np.any(raw != 0, axis=1)
        if not placed.any():
            raise ModelError("default model: the word vectors know none of the seen labels' words")
        self.center = raw[placed].mean(axis=0)
        self.label_vectors = np.zeros_like(raw)
        for row in np.flatnonzero(placed):
            self.label_vectors[row] = self.to_space(raw[row])
        self._seen_cache = self.label_vectors
        devices = [model.device for model in self.models.values()]
        self.device = devices[0] if devices else torch.device("cpu")

    # --- construction helpers ---------------------------------------------------------------
    def _check_ensemble(self, ensemble: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
        """Refuses an ensemble naming a network not loaded, or networks of different tag lists."""
        checked = {}
        for key, names in ensemble.items():
            names = tuple(names)
            missing = [n for n in names if n not in self.models]
            if not names or missing:
                raise ModelError(f"ensemble {key}: networks {missing or 'none'} not loaded")
            if any(self.models[n].tags != self.models[names[0]].tags for n in names):
                raise ModelError(f"ensemble {key}: {', '.join(names)} have different tag lists")
            checked[key] = names
        return checked

    def average_networks(self, per_network: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Per tag list, the mean of its networks' probabilities (their taggrams or patch means).

        Where a tag list has several networks, its first one's probabilities are kept too,
        under `cue_key(tag list)`: the speech detector's total-probability cue reads them, the
        numbers it was calibrated on (see `merge_probabilities`).
        """
        out = {}
        for key, names in self.ensemble.items():
            if len(names) == 1:
                out[key] = per_network[names[0]]
                continue
            out[key] = np.asarray(
                np.mean([per_network[n] for n in names], axis=0, dtype=np.float32)
            )
            out[cue_key(key)] = per_network[names[0]]
        return out

    def _member_indices(self) -> list[list[tuple[str, int]]]:
        """For each label, (model name, tag column) of its members; refuses tags a model lacks."""
        indices = []
        for label in self.labels:
            rows = []
            for model_name, tag in label.members:
                if model_name == SPEECH:  # scored by the speech detector, one number
                    rows.append((SPEECH, 0))
                    continue
                names = self.ensemble.get(model_name)
                model = self.models[names[0]] if names else None
                if model is None or tag not in model.tags:
                    raise ModelError(f"{model_name}: no tag '{tag}' for seen label '{label.name}'")
                rows.append((model_name, model.tags.index(tag)))
            if not rows:
                raise ModelError(f"seen label '{label.name}' has no musicnn tag")
            indices.append(rows)
        return indices

    def _alias_index(self) -> dict[str, int]:
        """Normalised label names and raw member tags -> label row, so "chillout" means "chill"."""
        aliases: dict[str, int] = {}
        for row, label in enumerate(self.labels):
            for form in (label.name, *(tag for _, tag in label.members)):
                aliases.setdefault(normalise_tag(form), row)
        return aliases

    def _anchor_vectors(self) -> np.ndarray:
        """Unit vector per seen label in raw word-vector space: mean of its anchors' unit vectors.

        With user vectors an anchor may be unknown; then the label name and member tags are
        tried; a label nothing can place gets a zero row and drops out of ConSE.
        """
        rows = np.zeros((len(self.labels), self.vectors.dim), np.float32)
        for row, label in enumerate(self.labels):
            for attempt in (label.anchors, (label.name,), tuple(t for _, t in label.members)):
                vector = _mean_unit([self.vectors.embed(w) for w in attempt])
                if vector is not None:
                    rows[row] = vector
                    break
        return rows

    def to_space(self, vector: np.ndarray | None) -> np.ndarray | None:
        """A raw word vector in the joint space: unit length, minus the music centroid, unit again.

        Every music word shares one direction in GloVe; left in, it makes averaged phrases
        ("bass guitar") outscore precise words ("clarinet") for every track. Removing the
        centroid of the seen labels (fixed, so stored embeddings stay valid) fixes that.
        """
        unit = _mean_unit([vector])
        if unit is None:
            return None
        return _mean_unit([unit - self.center])

    # --- musicnn -----------------------------------------------------------------------------
    def mean_taggrams(self, segments: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
        """Per tag list (MSD, MTT), the taggram averaged over every patch of every segment and
        over the tag list's networks (`ensemble`); plus 'penultimate'."""
        patches = segments_to_patches(segments)
        per_network: dict[str, np.ndarray] = {}
        penultimate = None
        for name, model in self.models.items():
            out = model.extract_patches(patches, self.batch_size)
            per_network[name] = out["taggram"].mean(axis=0)
            if name == BACKBONE_MODEL:
                penultimate = out["penultimate"].mean(axis=0)
        means = self.average_networks(per_network)
        if penultimate is not None:
            means["penultimate"] = penultimate
        means[SPEECH] = np.array([low_energy_share(patches)], np.float32)
        return means

    def merge_probabilities(self, mean_taggrams: dict[str, np.ndarray]) -> np.ndarray:
        """Seen-label probabilities [n_seen]: each label takes the max of its members' probabilities.

        `mean_taggrams[SPEECH]` holds the patches' low-energy share (`zsl_core.speech`); with the
        networks' total it gives P(speech), the "spoken word" label. musicnn's outputs are
        probabilities *given that it is music*, so every music label is then scaled by
        (1 - P(speech)): a spoken text keeps no "techno" that would be searched and proposed.

        With an ensemble the total is taken over the musicnn networks alone (`cue_key`), the
        values the detector's numbers were set on: the VGG networks call speech more musical,
        and averaged in they took "spoken word" from 11 of the benchmark's 14 speech clips.
        """

        def merged(key_of: Callable[[str], str]) -> np.ndarray:
            return np.array(
                [
                    0.0
                    if rows[0][0] == SPEECH
                    else max(float(mean_taggrams[key_of(m)][i]) for m, i in rows)
                    for rows in self._members
                ],
                dtype=np.float32,
            )

        music = merged(lambda m: m)
        cue = merged(lambda m: cue_key(m) if cue_key(m) in mean_taggrams else m)
        low = float(np.asarray(mean_taggrams.get(SPEECH, [0.0])).reshape(-1)[0])
        speech = speech_probability(low, float(cue.sum()))
        return np.array(
            [
                speech if rows[0][0] == SPEECH else (1.0 - speech) * music[row]
                for row, rows in enumerate(self._members)
            ],
            dtype=np.float32,
        )

    def musicnn_analysis(self, segments: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
        """One track, unbatched: seen-label probabilities [n_seen] ("probabilities", what a
        library stores) and the MSD network's features [200] ("penultimate").

        Everything else (embedding, tags, search) is computed from the probabilities without audio.
        """
        means = self.mean_taggrams(segments)
        penultimate = means.get("penultimate")
        if penultimate is None:  # a tagger built without the MSD network
            penultimate = np.zeros(FEATURE_DIM, np.float32)
        return {
            "probabilities": self.merge_probabilities(means),
            "penultimate": np.asarray(penultimate, np.float32),
        }

    def musicnn_analysis_file(
        self, path: str | Path, n_windows: int | None = None
    ) -> dict[str, np.ndarray]:
        """`musicnn_analysis` of a file: the whole track, or `n_windows` 3-s windows (AudioError if undecodable)."""
        return self.musicnn_analysis(INPUT.read_segments(path, n_windows))

    def analyse_track(self, segments: Sequence[np.ndarray]) -> Analysis:
        return Analysis(
            np.zeros(0, np.float32),
            np.asarray(self.musicnn_analysis(segments)["probabilities"], np.float32),
            ScoreKind.PROBABILITY,
        )

    def analyse(self, payloads: Sequence[Any]) -> list[Analysis]:
        """One analysis per track from musicnn patches [n, 187, 96] per track, every track's
        patches through each network in shared batches (the scan and `zsl-core embed`). The
        embedding is empty: the built-in model keeps none, it is derived from the
        probabilities on demand (`track_embeddings`)."""
        if not payloads:
            return []
        joined = np.concatenate(list(payloads))
        taggrams = self.average_networks(
            {
                name: model.extract_patches(joined, self.batch_size)["taggram"]
                for name, model in self.models.items()
            }
        )
        out, start = [], 0
        for payload in payloads:
            stop = start + len(payload)
            means = {n: t[start:stop].mean(axis=0) for n, t in taggrams.items()}
            means[SPEECH] = np.array([low_energy_share(payload)], np.float32)
            probabilities = np.asarray(self.merge_probabilities(means), np.float32)
            start = stop
            out.append(Analysis(np.zeros(0, np.float32), probabilities, ScoreKind.PROBABILITY))
        return out

    # --- ConSE -------------------------------------------------------------------------------
    def conse_weights(self, probabilities: np.ndarray, top_t: int | None = None) -> np.ndarray:
        """Convex weights [n_seen]: the top-T probabilities renormalised to sum to 1, zero
        elsewhere; labels without a vector are skipped (`zsl_core.conse.conse_weights`)."""
        p = self._check_probabilities(probabilities)
        return conse_weights(p, self.label_vectors, top_t or self.top_t)

    def track_embedding_from_probabilities(
        self, probabilities: np.ndarray, top_t: int | None = None
    ) -> np.ndarray:
        """The ConSE embedding [dim], unit length, of seen-label probabilities (e.g. cached ones)."""
        p = self._check_probabilities(probabilities)
        return conse(p, self.label_vectors, top_t or self.top_t).astype(np.float32)

    def embed_segments(self, segments: Sequence[np.ndarray]) -> np.ndarray:
        return self.track_embedding_from_probabilities(
            self.musicnn_analysis(segments)["probabilities"]
        )

    def _check_probabilities(self, probabilities: np.ndarray) -> np.ndarray:
        p = np.asarray(probabilities, dtype=np.float32).reshape(-1)
        if p.shape[0] != len(self.labels) or not np.all(np.isfinite(p)):
            raise ModelError(
                f"default model: expected {len(self.labels)} finite probabilities, "
                f"got shape {np.shape(probabilities)}"
            )
        return p

    # --- words -------------------------------------------------------------------------------
    def embed_words(self, words: Sequence[str]) -> tuple[np.ndarray, list[str], list[str]]:
        """Unit vectors of the words the vectors know; a seen label or raw musicnn tag
        ("chillout", "no vocals") maps to its label's vector, so queries and tags agree."""
        rows, found, missing = [], [], []
        for word in words:
            row = self._aliases.get(normalise_tag(word))
            if row is not None and np.any(self.label_vectors[row]):
                unit = self.label_vectors[row]
            else:
                unit = self.to_space(self.vectors.embed(word))
            if unit is None:
                missing.append(word)
            else:
                rows.append(unit)
                found.append(word)
        matrix = np.stack(rows) if rows else np.zeros((0, self.vectors.dim), np.float32)
        return matrix, found, missing

    def seen_label_embeddings(self) -> np.ndarray:
        return self.label_vectors

    def is_seen(self, word: str) -> bool:
        """True for a seen label's name or any raw musicnn tag merged into one."""
        return normalise_tag(word) in self._aliases

    # --- prediction --------------------------------------------------------------------------
    def predict_probabilities(
        self,
        probabilities: np.ndarray,
        top_k: int = 10,
        vocabulary: Words | None = None,
        path: str = "",
    ) -> Prediction:
        """Tags from cached seen-label probabilities: seen with probabilities, unseen with cosines."""
        p = self._check_probabilities(probabilities)
        embedding = self.track_embedding_from_probabilities(p)
        return self._prediction(embedding, p, top_k, vocabulary, path)

    def predict_scores(
        self,
        track_embedding: np.ndarray,
        seen_scores: np.ndarray,
        top_k: int = 10,
        vocabulary: Words | None = None,
        path: str = "",
    ) -> Prediction:
        """Tags from a stored embedding and stored seen-label probabilities (the library's cache)."""
        return self._prediction(
            np.asarray(track_embedding, np.float32).reshape(-1),
            self._check_probabilities(seen_scores),
            top_k,
            vocabulary,
            path,
        )

    def predict(
        self,
        path: str | Path,
        top_k: int = 10,
        vocabulary: Words | None = None,
        n_windows: int | None = None,
    ) -> Prediction:
        analysis = self.musicnn_analysis_file(path, n_windows)
        return self.predict_probabilities(analysis["probabilities"], top_k, vocabulary, str(path))

    def _prediction(
        self,
        embedding: np.ndarray,
        seen_scores: np.ndarray,
        top_k: int,
        vocabulary: Words | None,
        path: str,
    ) -> Prediction:
        order = np.argsort(-seen_scores, kind="stable")[:top_k]
        seen = [
            TagScore(self.seen_labels[i], float(seen_scores[i]), True, self.labels[i].kind)
            for i in order
        ]
        unseen, missing = self._unseen(seen_scores, vocabulary or (), top_k)
        return Prediction(path=path, seen=seen, unseen=unseen, missing_words=missing)

    def _unseen(
        self, seen_scores: np.ndarray, vocabulary: Words, top_k: int
    ) -> tuple[list[TagScore], list[str]]:
        """Best vocabulary words that are not seen labels (nor raw tags merged into one), each
        with the probability read off the seen labels' (`word_affinities`)."""
        candidates = list(dict.fromkeys(w for w in vocabulary if not self.is_seen(w)))
        if not candidates:
            return [], []
        declared = vocabulary.bases if isinstance(vocabulary, Vocabulary) else None
        affinity, found, missing = self.vocabulary_affinities(candidates, declared)
        if not found:
            return [], missing
        scores = np.asarray(seen_scores, np.float32) @ affinity
        order = np.argsort(-scores, kind="stable")[:top_k]
        tags = []
        for i in order:
            kind = word_kind(vocabulary, found[i])
            family = KIND_FAMILIES[kind]
            grounding = float(
                sum(affinity[r, i] for r, label in enumerate(self.labels) if label.kind in family)
            )
            if self.labels[int(np.argmax(affinity[:, i]))].kind not in family:
                grounding = 0.0  # nearest to a word of another kind: "reggae" read off "violin"
            tags.append(
                TagScore(
                    found[i],
                    float(scores[i]),
                    False,
                    kind,
                    basis=self._basis(affinity[:, i]),
                    grounding=round(grounding, 3),
                )
            )
        return tags, missing

    def _basis(self, column: np.ndarray) -> tuple[tuple[str, float], ...]:
        """The seen labels a new word's probability comes from (shares of 5% and more)."""
        rows = np.argsort(-column, kind="stable")[: self.AFFINITY_K]
        return tuple(
            (self.seen_labels[r], round(float(column[r]), 3)) for r in rows if column[r] >= 0.05
        )

    # --- new words on the probability scale ----------------------------------------------------
    AFFINITY_K = 5  # a new word is read off its 5 nearest seen labels
    AFFINITY_TAU = 0.1  # softmax temperature over their cosines: the nearest one dominates

    def word_affinities(
        self, words: Sequence[str], declared: Mapping[str, Sequence[str]] | None = None
    ) -> tuple[np.ndarray, list[str], list[str]]:
        """Weights [n_seen, m] (each column sums to 1) that read a word's probability off the
        seen labels' probabilities: a seen label (or a raw musicnn tag merged into one) is its own
        column; any other word spreads over its `AFFINITY_K` nearest seen labels in word space,
        by a softmax of their cosines.

        Why this and not the track's cosine with the word (classic ConSE): a probability is
        what a seen word is ranked and shown by, so a new word on the same scale can be ranked
        with it, thresholded with it and combined with it in a phrase, and a word that is equally
        near to everything gets an average probability instead of topping every track (the
        "hub" words of cosine ranking). Returns (weights, found, missing).

        A word whose trained words are declared (`self.declared`, the shipped vocabulary's
        `word = trained, words` lines, and `declared`, a user vocabulary's) is read off them
        instead, the first weighing most (4:3:2:1 for four): human-labelled side information,
        where the word space confuses a word with its opposite ("energetic" placed beside
        "meditative").
        """
        bases = {**self.declared, **{tag_key(w): tuple(b) for w, b in (declared or {}).items()}}
        n = len(self.labels)
        usable = np.any(self.label_vectors != 0, axis=1)
        columns, found, missing = [], [], []
        for word in words:
            column = np.zeros(n, np.float32)
            row = self._aliases.get(normalise_tag(word))
            named = (self._aliases.get(normalise_tag(b)) for b in bases.get(tag_key(word), ()))
            rows = list(dict.fromkeys(r for r in named if r is not None))
            if row is not None:
                column[row] = 1.0
            elif rows:  # in the order declared, the first weighing most: n, n-1, ..., 1
                weights = np.arange(len(rows), 0, -1, dtype=np.float32)
                column[rows] = weights / weights.sum()
            else:
                vector = self.to_space(self.vectors.embed(word))
                if vector is None:
                    missing.append(word)
                    continue
                sims = np.where(usable, self.label_vectors @ vector, -np.inf)
                top = np.argsort(-sims, kind="stable")[: self.AFFINITY_K]
                weights = np.exp((sims[top] - sims[top[0]]) / self.AFFINITY_TAU)
                column[top] = weights / weights.sum()
            columns.append(column)
            found.append(word)
        matrix = np.stack(columns, axis=1) if columns else np.zeros((n, 0), np.float32)
        return matrix, found, missing

    def vocabulary_affinities(
        self, words: Sequence[str], declared: Mapping[str, Sequence[str]] | None = None
    ) -> tuple[np.ndarray, list[str], list[str]]:
        """`word_affinities` of a vocabulary, remembered (the same 1,200 words score every track)."""
        cache = self.__dict__.setdefault("_affinity_cache", {})
        key = (tuple(words), tuple(sorted((w, tuple(b)) for w, b in (declared or {}).items())))
        if key not in cache:
            while len(cache) >= self._VOCABULARY_CACHE_SIZE:
                cache.pop(next(iter(cache)), None)
            cache[key] = self.word_affinities(words, declared)
        matrix, found, missing = cache[key]
        return matrix, list(found), list(missing)

    def score_words(
        self, embeddings: np.ndarray | None, seen_scores: np.ndarray | None, words: Sequence[str]
    ) -> tuple[np.ndarray, list[str], list[str], ScoreKind]:
        """Every track's probability [n, m] for each word (seen or new) from stored seen scores."""
        affinity, found, missing = self.word_affinities(words)
        scores = np.atleast_2d(np.asarray(seen_scores, np.float32)) @ affinity
        return scores, found, missing, ScoreKind.PROBABILITY

    def stored_dim(self) -> int:
        return (
            0  # a library keeps only the probabilities; embeddings are derived (`track_embeddings`)
        )

    def track_embeddings(self, stored: np.ndarray, seen_scores: np.ndarray) -> np.ndarray:
        """ConSE embeddings [n, dim] of stored seen-label probabilities [n, n_seen]."""
        p = np.atleast_2d(np.asarray(seen_scores, np.float32))
        if not len(p):
            return np.zeros((0, self.vectors.dim), np.float32)
        if p.shape[1] != len(self.labels) or not np.all(np.isfinite(p)):
            raise ModelError(
                f"default model: expected {len(self.labels)} finite probabilities per track, "
                f"got shape {p.shape}"
            )
        return conse(p, self.label_vectors, self.top_t).astype(np.float32)

    def knows_word(self, word: str) -> bool:
        return normalise_tag(word) in self._aliases or self.vectors.embed(word) is not None

    def kind_of(self, word: str) -> TagKind | None:
        """The kind of a seen label (or a raw tag merged into one); None for other words."""
        row = self._aliases.get(normalise_tag(word))
        return None if row is None else self.labels[row].kind


def _mean_unit(vectors: Sequence[np.ndarray | None]) -> np.ndarray | None:
    """Unit-length mean of the unit versions of the known, non-zero vectors; None if there are none."""
    known = [np.asarray(v, np.float32) for v in vectors if v is not None and np.any(v)]
    if not known:
        return None
    mean = np.mean([v / np.linalg.norm(v) for v in known], axis=0)
    norm = float(np.linalg.norm(mean))
    return (mean / norm).astype(np.float32) if norm > 1e-12 else None


@functools.lru_cache(maxsize=4)
def _cached_tagger(device: str, vectors: str, top_t: int, precision: str = "fp32") -> DefaultTagger:
    names = [name for group in ENSEMBLE.values() for name in group]
    models = {name: musicnn.shared_model(name, device, precision) for name in names}
    tagger = DefaultTagger(models, load_word_space(vectors), top_t=top_t, ensemble=ENSEMBLE)
    tagger.precision = precision
    return tagger


def load_default_tagger(
    device: str | torch.device = "auto",
    vectors_path: str | Path | None = None,
    top_t: int = DEFAULT_TOP_T,
    precision: str = "fp32",
) -> DefaultTagger:
    """The default tagger, loaded once per process and settings (loading costs about a second).

    `vectors_path` swaps in the user's own word vectors (any format WordVectors.load reads).
    `precision`: 'fp32' (default: scores independent of the CPU), 'bf16' (about 1.5x faster scans
    end to end, top tags unchanged on our benchmark) or 'auto' (see `resolve_precision`).
    """
    return _cached_tagger(
        str(resolve_device(device)),
        word_space_name(vectors_path),
        top_t,
        resolve_precision(precision, device),
    )


def word_space_name(vectors: str | Path | None) -> str:
    """'minilm' (None too), 'glove', or a resolved vectors file path: one name per word space."""
    if vectors is None or str(vectors) in ("", "minilm"):
        return "minilm"
    if str(vectors) == "glove":
        return "glove"
    return str(Path(vectors).expanduser().resolve())


# --- frozen backbone for `zsl-core train --backbone musicnn` ---------------------------------


def musicnn_features(
    segments: Sequence[np.ndarray], device: str | torch.device = "auto", batch_size: int = 64
) -> np.ndarray:
    """Pretrained audio features [200] of 16 kHz segments: MSD musicnn's penultimate layer, patch mean."""
    model = musicnn.shared_model(BACKBONE_MODEL, str(resolve_device(device)))
    return model.extract_patches(segments_to_patches(segments), batch_size)["penultimate"].mean(
        axis=0
    )


def musicnn_features_many(
    paths: Sequence[str | Path],
    n_windows: int | None = None,
    device: str | torch.device = "auto",
    batch_size: int = 64,
    progress: bool = False,
) -> tuple[np.ndarray, list[int], list[ZslError]]:
    """Features [n_ok, 200] of many files, patches of several files batched together.

    Returns the features of the files that decoded, their indices into `paths`, and one
    AudioError per file that did not (skipped, not fatal, so a big library still trains).
    """
    model = musicnn.shared_model(BACKBONE_MODEL, str(resolve_device(device)))
    features: list[np.ndarray] = []
    ok: list[int] = []
    errors: list[ZslError] = []
    pending: list[tuple[int, np.ndarray]] = []

    def flush() -> None:
        if not pending:
            return
        penultimate = model.extract_patches(np.concatenate([p for _, p in pending]), batch_size)[
            "penultimate"
        ]
        start = 0
        for index, patches in pending:
            features.append(penultimate[start : start + len(patches)].mean(axis=0))
            ok.append(index)
            start += len(patches)
        pending.clear()

    iterator: Iterable[int] = range(len(paths))
    if progress:
        iterator = tqdm(iterator, desc="musicnn features", unit="file")
    for index in iterator:
        try:
            patches = INPUT.decode(paths[index], n_windows)
        except AudioError as exc:
            errors.append(AudioError(paths[index], exc.reason))
            continue
        pending.append((index, patches))
        if sum(len(p) for _, p in pending) >= 4 * batch_size:
            flush()
    flush()
    matrix = (
        np.stack(features).astype(np.float32)
        if features
        else np.zeros((0, FEATURE_DIM), np.float32)
    )
    return matrix, ok, errors
