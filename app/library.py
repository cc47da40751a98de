"""The library facade the CLI and the GUI use: scan folders, list tracks, tags, search.

One `Library` is one open index (`app.db`) plus one model. Opening it is instant: the model
loads on first use (a scan, a prediction or a search), so the GUI window appears at once and a
`zsl-tagger history` never touches the networks.

Everything shown after a scan comes from the index, never from audio: predictions are made from
the stored embedding and seen-label scores (`Tagger.predict_scores`), and search ranks a cached
float16 matrix of every analysed track's embedding (`zsl_core.index.rank`), rebuilt only when a
scan (here or in another process) changed the index.
"""

from __future__ import annotations

import concurrent.futures
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from app import db, importer, scanner, similarity
from app.options import TOP_WEAK
from app.query import TEXT_COLUMNS, Filter, split_query, sql_condition
from app.scanner import DEFAULT_N_WINDOWS, ScanProgress, ScanSummary
from app.states import TrackStatus
from zsl_core.cosine import unit_rows
from zsl_core.errors import ZslError
from zsl_core.model_spec import ModelSpec
from zsl_core.search import Query, Ranking, parse_query, rank_tracks
from zsl_core.tagger import Prediction, Tagger
from zsl_core.tags import Include, ScoreKind, TagKind, TagScore, Vocabulary, Words, load_vocabulary
from zsl_core.vectors import normalise_tag

if TYPE_CHECKING:
    from app.routing import Routes

__all__ = [
    "Library",
    "LibraryError",
    "TrackRow",
    "Hit",
    "SearchResult",
    "ScanProgress",
    "ScanSummary",
    "DEFAULT_N_WINDOWS",
]

PRIOR_MIN_TRACKS = (
    20  # below this, a library's average track says little: tags rank by confidence alone
)
PRIOR_CANDIDATES = 40  # seen and new words considered per track when proposing
LISTED = 20  # candidates a tag panel lists for a track or an album (`Library.listing`)
LIST_FLOOR = 0.02  # ... down to this confidence: below it the model hears no sign of the word
EVERY_TAG = 1_000_000  # a prediction's top_k that holds every seen label and vocabulary word


class LibraryError(ZslError):
    """A library request that cannot be met (unknown track id...), with a one-line reason."""


@dataclass
class TrackRow:
    """One file as the index knows it. `path` round-trips any OS name (undecodable bytes as
    surrogates); `display_path` is printable. genre and mood are joined with "; "."""

    id: int
    path: Path
    display_path: str
    title: str | None
    artist: str | None
    album: str | None
    genre: str | None
    mood: str | None
    duration: float | None
    has_cover: bool
    status: TrackStatus  # ok | failed | gone (compares equal to the stored word)
    error: str | None
    year: int | None = None  # the first four-digit year of the file's date tag
    album_artist: str | None = None
    track_no: int | None = None
    disc_no: int | None = None


@dataclass
class Hit:
    """One search result: `score` is its relevance (a probability for the built-in model);
    `matched` each query term with this track's score for it; `tags` the terms alone."""

    track_id: int
    display_path: str
    score: float
    tags: list[str] = field(default_factory=list)
    matched: list[tuple[str, float]] = field(default_factory=list)


@dataclass
class SearchResult:
    """Hits best first; `missing_words` the typed words the model could not use;
    `below_floor` how many tracks scored too low to be called a match."""

    hits: list[Hit]
    missing_words: list[str]
    query: str = ""
    parsed: Query | None = None
    below_floor: int = 0
    score_kind: ScoreKind = ScoreKind.PROBABILITY
    # With no hits: the best of the tracks under the floor (at most TOP_WEAK), best first. Not
    # matches; shown as weak so a library with nothing that "sad" still finds its saddest pieces.
    closest: list[Hit] = field(default_factory=list)

    @property
    def message(self) -> str | None:
        """One line for the user when there is nothing to show, or words were not used."""
        parts = []
        if self.missing_words:
            parts.append(
                f"not a word the model knows nor in any track's text, ignored: "
                f"{', '.join(self.missing_words)}"
            )
        if not self.hits:
            parts.append("no good match" if self.query.strip() else "nothing to search for")
        return "; ".join(parts) or None


_TRACK_COLUMNS = (
    "id, path, display_path, title, artist, album, genre, mood, duration, has_cover,"
    " status, error, year, album_artist, track_no, disc_no"
)


def _row(values: Sequence[Any]) -> TrackRow:
    (
        track_id,
        path,
        shown,
        title,
        artist,
        album,
        genre,
        mood,
        duration,
        cover,
        status,
        error,
        year,
        album_artist,
        track_no,
        disc_no,
    ) = values
    return TrackRow(
        int(track_id),
        db.path_from_key(bytes(path)),
        shown,
        title,
        artist,
        album,
        genre,
        mood,
        duration,
        bool(cover),
        TrackStatus(status),
        error,
        None if year is None else int(year),
        album_artist,
        None if track_no is None else int(track_no),
        None if disc_no is None else int(disc_no),
    )


def model_key(
    model: str | Path = "default", vectors: str | Path | None = None, precision: str = "fp32"
) -> str:
    """The name a model's results are stored under (`zsl_core.model_spec.ModelSpec.key`, shared
    with `zsl-core embed`, so index parts made elsewhere can be imported)."""
    return ModelSpec(model, vectors, precision=precision).key


class Library:
    """scan, tracks, track, prediction, search, refresh, close (see docs/ARCHITECTURE.md)."""

    def __init__(
        self,
        db_path: str | Path | None = None,
        model: str | Path = "default",
        vectors: str | Path | None = None,
        device: str = "auto",
        precision: str = "fp32",
    ) -> None:
        # Checked before opening anything; fp32 and bf16 without importing PyTorch (a scan's
        # first progress waits for nothing).
        self.spec = ModelSpec(model, vectors, device, precision).resolved()
        self.conn: sqlite3.Connection = db.connect(db_path)
        self.model = model
        self.vectors = vectors
        self.device = device
        self.precision = self.spec.precision
        self.model_name = self.spec.key
        self._tagger: Tagger | None = None
        self._vocabulary: Vocabulary | None = None
        self._lock = threading.RLock()  # the GUI may search while a prediction loads the model
        self._generation = 0  # bumped by our own writes that change what search ranks
        self._matrix: (
            tuple[tuple[int, int], tuple[np.ndarray, np.ndarray, np.ndarray | None]] | None
        ) = None
        self._rank_cache: (
            tuple[tuple[int, int], tuple[np.ndarray, np.ndarray, np.ndarray | None]] | None
        ) = None
        self._phrase_set: set[str] | None = None
        self._name_cache: tuple[tuple[int, int], dict[str, frozenset[str]]] | None = None
        self._prior: tuple[Any, dict[str, float]] | None = None
        self._sound_cache: tuple[Any, dict[str, Any]] | None = None

    # --- the model, loaded on first use --------------------------------------------------------
    @property
    def tagger(self) -> Tagger:
        """The model (loads it on first access: about a second for the default)."""
        with self._lock:
            if self._tagger is None:
                self._tagger = self.spec.load()
            return self._tagger

    @property
    def vocabulary(self) -> Vocabulary:
        """Candidate new words with their kinds: the shipped vocabulary (resources/vocab/*.txt)."""
        if self._vocabulary is None:
            self._vocabulary = load_vocabulary()
        return self._vocabulary

    def model_id(self) -> int | None:
        """This model's row in `models`, or None before it analysed anything."""
        row = self.conn.execute(
            "SELECT id FROM models WHERE name = ?", (self.model_name,)
        ).fetchone()
        return int(row[0]) if row else None

    def other_models(self) -> dict[str, int]:
        """Tracks analysed per model other than this one ({model key: tracks}): why a library
        that was scanned shows nothing after an upgrade of the built-in model ("default-2")
        or a change of --model/--precision, so a caller can say "scan again" instead of
        "scan first"."""
        rows = self.conn.execute(
            "SELECT m.name, COUNT(r.track_id) FROM models m JOIN results r ON r.model_id = m.id "
            "WHERE m.name != ? GROUP BY m.id ORDER BY m.name",
            (self.model_name,),
        ).fetchall()
        return {str(name): int(n) for name, n in rows}

    # --- scanning -------------------------------------------------------------------------------
    def scan(
        self,
        folders: Iterable[str | Path | bytes] | None = None,
        *,
        n_windows: int | None = None,
        workers: int | None = None,
        progress: Callable[[ScanProgress], None] | None = None,
        cancel: threading.Event | None = None,
        on_track: Callable[[int], None] | None = None,
    ) -> ScanSummary:
        """Scan folders (None or empty: the folders scanned before) incrementally.

        n_windows: None -> DEFAULT_N_WINDOWS 3-s windows per track, 0 -> the whole track.
        workers: decode processes (None -> `scanner.default_workers`: 2 on a CPU, up to 8 on a
        GPU; 0 -> in this process).
        """
        roots = list(folders or []) or self.folders()
        if not roots:
            raise LibraryError("nothing to scan: give a folder (no folder was scanned before)")
        try:
            return scanner.scan(
                self.conn,
                self._tagger_or_loading(),
                self.model_name,
                roots,
                n_windows=n_windows,
                workers=workers,
                progress=progress,
                cancel=cancel,
                on_track=on_track,
                on_gpu=scanner.gpu_hint(self.device),
            )
        finally:
            self._generation += 1

    def _tagger_or_loading(self) -> Tagger | concurrent.futures.Future[Tagger]:
        """The model, or a Future of it loading on a thread: a scan walks, counts and probes
        files meanwhile (its first progress comes at once, not after PyTorch and the model load)."""
        with self._lock:
            if self._tagger is not None:
                return self._tagger
        future: concurrent.futures.Future = concurrent.futures.Future()

        def load() -> None:
            try:
                future.set_result(self.tagger)
            except (
                BaseException
            ) as exc:  # handed to the scan, which raises it where it needs the model
                future.set_exception(exc)

        threading.Thread(target=load, name="zsl-model-load").start()
        return future

    def import_indexes(
        self,
        index_paths: Sequence[str | Path],
        *,
        path_map: Sequence[str] = (),
        progress: Callable[[ScanProgress], None] | None = None,
        cancel: threading.Event | None = None,
        on_track: Callable[[int], None] | None = None,
    ) -> importer.ImportSummary:
        """Take `zsl-core embed` parts made by this library's model into the index, without
        decoding (see app/importer.py). `path_map`: 'OLD=NEW' path prefix rewrites."""
        pairs = importer.parse_path_map(path_map)
        try:
            return importer.import_indexes(
                self.conn,
                self._tagger_or_loading(),
                self.model_name,
                index_paths,
                path_map=pairs,
                progress=progress,
                cancel=cancel,
                on_track=on_track,
            )
        finally:
            self._generation += 1

    def folders(self) -> list[Path]:
        """The scan roots remembered in the index, in the order they were first added."""
        rows = self.conn.execute("SELECT path FROM folders ORDER BY added_at, path").fetchall()
        return [db.path_from_key(bytes(r[0])) for r in rows]

    # --- tracks ---------------------------------------------------------------------------------
    def tracks(self, include_gone: bool = False) -> list[TrackRow]:
        """Every track (ok and failed; gone too when asked), in path order."""
        where = (
            "status IN ('ok', 'failed', 'gone')" if include_gone else "status IN ('ok', 'failed')"
        )
        rows = self.conn.execute(f"SELECT {_TRACK_COLUMNS} FROM tracks WHERE {where} ORDER BY path")
        return [_row(r) for r in rows]

    def track(self, track_id: int) -> TrackRow:
        row = self.conn.execute(
            f"SELECT {_TRACK_COLUMNS} FROM tracks WHERE id = ?", (int(track_id),)
        ).fetchone()
        if row is None:
            raise LibraryError(f"no track with id {track_id} in the library")
        return _row(row)

    def track_id(self, path: str | Path | bytes) -> int | None:
        """The id of the track at `path`, or None if the index does not know the file."""
        row = self.conn.execute(
            "SELECT id FROM tracks WHERE path = ?", (db.path_key(path),)
        ).fetchone()
        return int(row[0]) if row else None

    # --- tags -----------------------------------------------------------------------------------
    def analysis(self, track_id: int) -> tuple[np.ndarray, np.ndarray] | None:
        """The stored (embedding, seen-label scores) of a track for this model, float32."""
        model_id = self.model_id()
        if model_id is None:
            return None
        row = self.conn.execute(
            "SELECT embedding, seen_scores FROM results WHERE track_id = ? AND model_id = ?",
            (int(track_id), model_id),
        ).fetchone()
        return (db.from_blob(row[0]), db.from_blob(row[1])) if row else None

    def prediction(
        self, track_id: int, top_k: int = 10, vocabulary: Words | None = None
    ) -> Prediction | None:
        """Seen and unseen tags from the stored analysis (no audio); None if not analysed.

        `vocabulary`: candidate unseen words (default: the shipped vocabulary).
        """
        stored = self.analysis(track_id)
        if stored is None:
            return None
        shown = self.track(track_id).display_path
        words = self.vocabulary if vocabulary is None else vocabulary
        with self._lock:
            return self.tagger.predict_scores(
                stored[0], stored[1], top_k=top_k, vocabulary=words, path=shown
            )

    def proposals(
        self,
        track_id: int,
        top_k: int = 5,
        min_confidence: float | None = None,
        include: Include = "both",
        kinds: Sequence[TagKind] | None = None,
        vocabulary: Words | None = None,
        routes: Routes | None = None,
        field: str | None = None,
    ) -> list[TagScore]:
        """The tags to propose for one track, best first (`Prediction.pick`: the one rule), ranked
        against the library's own average track (`tag_prior`). With `routes` (and a forced
        `field`): what a write adds, `top_k` per field (`app.routing.pick_routed`)."""
        prediction = self.prediction(
            track_id, top_k=max(top_k * 8, PRIOR_CANDIDATES), vocabulary=vocabulary
        )
        return self._pick(
            prediction, top_k, min_confidence, include, kinds, vocabulary, routes, field
        )

    def listing(
        self,
        track_id: int,
        top_k: int = 5,
        vocabulary: Words | None = None,
        routes: Routes | None = None,
        field: str | None = None,
    ) -> tuple[Prediction | None, list[TagScore]]:
        """What a tag panel lists for one track, and the proposals among it (`_listing`)."""
        prediction = self.prediction(
            track_id, top_k=max(top_k * 8, PRIOR_CANDIDATES), vocabulary=vocabulary
        )
        return self._listing(prediction, top_k, vocabulary, routes, field)

    def album_listing(
        self,
        track_ids: Sequence[int],
        top_k: int = 5,
        vocabulary: Words | None = None,
        routes: Routes | None = None,
        field: str | None = None,
    ) -> tuple[Prediction | None, list[TagScore]]:
        """`listing` for an album, from its prediction (the mean of its tracks' analyses)."""
        prediction = self.album_prediction(
            track_ids, top_k=max(top_k * 8, PRIOR_CANDIDATES), vocabulary=vocabulary
        )
        return self._listing(prediction, top_k, vocabulary, routes, field)

    def ticked_tags(
        self,
        track_ids: Sequence[int],
        words: Sequence[str],
        top_k: int = 5,
        vocabulary: Words | None = None,
        album: bool = False,
    ) -> list[TagScore]:
        """The tags a user's ticked `words` stand for (their kinds route them), for one track or
        (`album`) an album: looked up in what the panel lists, and a word not there (ticked while
        the library's prior ranked it higher) among every word the model scores, which costs
        twenty times more and is only needed then. [] when nothing is analysed."""
        ids = list(track_ids)
        if not ids or not words:
            return []

        def predicted(top: int) -> Prediction | None:
            if album:
                return self.album_prediction(ids, top_k=top, vocabulary=vocabulary)
            return self.prediction(ids[0], top_k=top, vocabulary=vocabulary)

        listed = (
            self.album_listing(ids, top_k, vocabulary)
            if album
            else self.listing(ids[0], top_k, vocabulary)
        )[0]
        if listed is None:
            return []
        found = {t.tag: t for t in [*listed.seen, *listed.unseen]}
        if any(w not in found for w in words):
            every = predicted(EVERY_TAG)
            for tag in [] if every is None else [*every.seen, *every.unseen]:
                found.setdefault(tag.tag, tag)
        return [found[w] for w in words if w in found]

    def _listing(
        self,
        prediction: Prediction | None,
        top_k: int,
        vocabulary: Words | None,
        routes: Routes | None = None,
        field: str | None = None,
    ) -> tuple[Prediction | None, list[TagScore]]:
        """The candidates worth showing beside the proposals: the one rule (`Prediction.pick`)
        with the floor lowered to `LIST_FLOOR`, `LISTED` of them, the proposals (the rule with
        its own floor, `top_k`; per field with `routes`) always among them.

        Why not the model's raw top words: those hold what the rule never proposes and a
        listener should not be offered as "likely": new words that only echo a trained one
        ("Acid Techno", "Detroit Techno" at the confidence of "techno"), new words read off
        trained words of another kind, and genres for a spoken text."""
        if prediction is None:
            return None, []
        proposed = self._pick(prediction, top_k, None, "both", None, vocabulary, routes, field)
        listed = self._pick(prediction, max(LISTED, top_k), LIST_FLOOR, "both", None, vocabulary)
        shown = {t.tag for t in listed}
        listed += [t for t in proposed if t.tag not in shown]
        panel = Prediction(
            prediction.path,
            seen=[t for t in listed if t.seen],
            unseen=[t for t in listed if not t.seen],
            missing_words=list(prediction.missing_words),
        )
        return panel, proposed

    def _pick(
        self,
        prediction: Prediction | None,
        top_k: int,
        min_confidence: float | None,
        include: Include,
        kinds: Sequence[TagKind] | None,
        vocabulary: Words | None,
        routes: Routes | None = None,
        field: str | None = None,
    ) -> list[TagScore]:
        """`Prediction.pick` against the library's average track: one step for tracks and albums;
        with `routes`, `app.routing.pick_routed` (what a write adds, `top_k` per field)."""
        if prediction is None:
            return []
        if routes is not None:
            from app.routing import pick_routed

            return pick_routed(
                prediction,
                top_k,
                routes,
                field,
                prior=self.tag_prior(vocabulary),
                min_confidence=min_confidence,
                include=include,
            )
        return prediction.pick(
            top_k,
            min_confidence=min_confidence,
            include=include,
            kinds=kinds,
            prior=self.tag_prior(vocabulary),
        )

    def album_prediction(
        self, track_ids: Sequence[int], top_k: int = 10, vocabulary: Words | None = None
    ) -> Prediction | None:
        """Seen and unseen tags for an album: the model's prediction from the mean of its
        analysed tracks' stored analyses (`app.albums.aggregate`); None if none is analysed."""
        from app.albums import aggregate

        analyses = [a for a in (self.analysis(t) for t in dict.fromkeys(track_ids)) if a]
        if not analyses:
            return None
        embedding, seen = aggregate(analyses)
        words = self.vocabulary if vocabulary is None else vocabulary
        with self._lock:
            return self.tagger.predict_scores(
                embedding, seen, top_k=top_k, vocabulary=words, path=f"{len(analyses)} tracks"
            )

    def album_proposals(
        self,
        track_ids: Sequence[int],
        top_k: int = 5,
        min_confidence: float | None = None,
        include: Include = "both",
        kinds: Sequence[TagKind] | None = None,
        vocabulary: Words | None = None,
        routes: Routes | None = None,
        field: str | None = None,
    ) -> list[TagScore]:
        """The tags to propose for a whole album, by the same rule and prior as `proposals`."""
        prediction = self.album_prediction(
            track_ids, top_k=max(top_k * 8, PRIOR_CANDIDATES), vocabulary=vocabulary
        )
        return self._pick(
            prediction, top_k, min_confidence, include, kinds, vocabulary, routes, field
        )

    def albums(self) -> list[Any]:
        """Every ok and failed track grouped into albums (`app.albums.group_albums`)."""
        from app.albums import group_albums

        return group_albums(self.tracks())

    def tag_prior(self, vocabulary: Words | None = None) -> dict[str, float] | None:
        """Every candidate word's mean confidence over the library's analysed tracks, or None for
        a library too small to say what is typical (under PRIOR_MIN_TRACKS) or a model whose
        scores are not probabilities. Cached until the index changes."""
        ids, seen, _ = self._search_matrix()
        with self._lock:
            tagger = self.tagger
        if len(ids) < PRIOR_MIN_TRACKS or tagger.seen_score_kind is not ScoreKind.PROBABILITY:
            return None
        words = self.vocabulary if vocabulary is None else vocabulary
        key = (self._matrix[0] if self._matrix else None, id(words))
        if self._prior is None or self._prior[0] != key:
            mean_seen = seen.mean(axis=0)
            prior = {
                label: float(v) for label, v in zip(tagger.seen_labels, mean_seen, strict=True)
            }
            candidates = [w for w in dict.fromkeys(words) if not tagger.is_seen(w)]
            with self._lock:
                affinities = tagger.vocabulary_affinities(
                    candidates, words.bases if isinstance(words, Vocabulary) else None
                )
            if affinities is None:  # scores are probabilities, but new words are not read off them
                return None
            affinity, found, _ = affinities
            prior.update((w, float(v)) for w, v in zip(found, mean_seen @ affinity, strict=True))
            self._prior = (key, prior)
        return self._prior[1]

    # --- search ---------------------------------------------------------------------------------
    def search(self, query: str, top_k: int = 20, floor: float | None = None) -> SearchResult:
        """Tracks for a query of text and sound (`app.query`): `field:value` filters, quoted
        phrases and words the model does not know match the tracks' text (title, artist, album,
        genre, mood, path); '-' excludes; the other words are sound words, ranked by relevance
        (`zsl_core.search`: seen words by the networks' probability, new words by a probability
        read off the seen labels, a phrase by the geometric mean), above a relevance floor. A
        query of text alone lists its tracks by artist, album and title.

        Raises EmptyQueryError for a query with no word in it, QueryError for a bad filter.
        """
        split = split_query(query)
        name = self._names_an_artist_or_album(split.free)
        if name is not None:  # "Sean Hawk": common words, but together the name of an artist
            split.filters.append(name)
            split.free = ""
        with self._lock:
            tagger = self.tagger
            if split.free.strip() or not split.filters:
                parsed = parse_query(split.free, tagger, self._phrases())
            else:
                parsed = Query(query)
        filters = list(split.filters)
        missing = []
        for word in parsed.unknown:  # names and other words the model cannot place: text
            text = Filter(TEXT_COLUMNS, word)
            if self._count_matching([text]):
                filters.append(text)
            else:
                missing.append(word)
        parsed.unknown = []
        result = SearchResult([], missing, query, parsed=parsed)
        if top_k <= 0:
            return result
        allowed = self._matching_ids(filters) if filters else None
        if not parsed.terms:
            if filters:
                result.hits = self._text_hits(filters, top_k)
            return result
        _, (ids, seen_matrix, embeddings) = self._ranking_matrix()
        if allowed is not None:
            keep = np.isin(ids, np.fromiter(allowed, np.int64, len(allowed)))
            ids = ids[keep]
            seen_matrix = seen_matrix[keep]
            embeddings = None if embeddings is None else embeddings[keep]
        if len(ids) == 0:
            return result
        with self._lock:
            ranking = rank_tracks(tagger, seen_matrix, embeddings, parsed, top_k=top_k, floor=floor)
        result.missing_words += [w for w in parsed.unknown if w not in result.missing_words]
        result.below_floor = ranking.below_floor
        result.score_kind = ranking.score_kind
        result.hits = self._hits(ids, ranking, parsed.terms)
        if not result.hits and ranking.below_floor:
            with self._lock:
                weak = rank_tracks(
                    tagger,
                    seen_matrix,
                    embeddings,
                    parsed,
                    top_k=min(top_k, TOP_WEAK),
                    floor=float("-inf"),
                )
            result.closest = self._hits(ids, weak, parsed.terms)
        return result

    def _hits(self, ids: np.ndarray, ranking: Ranking, terms: Sequence[str]) -> list[Hit]:
        """A ranking's rows as hits: track, shown path, relevance, each term's score."""
        hit_ids = [int(ids[row]) for row in ranking.rows.tolist()]
        paths = self._display_paths(hit_ids)
        hits = []
        for track_id, score, per_term in zip(
            hit_ids, ranking.scores.tolist(), ranking.term_scores, strict=True
        ):
            matched = [(term, float(value)) for term, value in zip(terms, per_term, strict=True)]
            hits.append(
                Hit(
                    track_id,
                    paths.get(track_id, ""),
                    float(score),
                    [term for term, _ in matched],
                    matched,
                )
            )
        return hits

    def _names_an_artist_or_album(self, text: str) -> Filter | None:
        """A filter when the free words are an artist's or album's name (the whole name, or two
        words or more inside one), else None: a name is text even when its words are sound words.
        Looked up in the distinct names, cached until the index changes (not a scan of every
        track per keystroke: at 1M tracks that cost 440 ms)."""
        words = text.casefold().split()
        if not words:
            return None
        phrase = " ".join(words)
        for column, names in self._names().items():
            if phrase in names or (len(words) > 1 and any(phrase in name for name in names)):
                return Filter((column,), " ".join(text.split()))
        return None

    def _names(self) -> dict[str, frozenset[str]]:
        """Distinct artist and album names, case-folded, cached with the index's data version."""
        key = (self._generation, int(self.conn.execute("PRAGMA data_version").fetchone()[0]))
        if self._name_cache is None or self._name_cache[0] != key:
            names = {
                column: frozenset(
                    " ".join(str(r[0]).casefold().split())
                    for r in self.conn.execute(
                        f"SELECT DISTINCT {column} FROM tracks WHERE status = 'ok' AND {column} IS NOT NULL"
                    )
                )
                for column in ("artist", "album")
            }
            self._name_cache = (key, names)
        return self._name_cache[1]

    def _count_matching(self, filters: list[Filter]) -> int:
        where, params = sql_condition(filters)
        return int(
            self.conn.execute(
                f"SELECT COUNT(*) FROM tracks WHERE status = 'ok' AND {where}", params
            ).fetchone()[0]
        )

    def _matching_ids(self, filters: list[Filter]) -> set[int]:
        where, params = sql_condition(filters)
        return {
            int(r[0])
            for r in self.conn.execute(
                f"SELECT id FROM tracks WHERE status = 'ok' AND {where}", params
            )
        }

    def _text_hits(self, filters: list[Filter], top_k: int) -> list[Hit]:
        """Tracks matching text alone, in artist, album, title order, every one a full match."""
        where, params = sql_condition(filters)
        rows = self.conn.execute(
            f"SELECT id, display_path FROM tracks WHERE status = 'ok' AND {where}"
            " ORDER BY artist IS NULL, artist COLLATE NOCASE, album COLLATE NOCASE, title COLLATE NOCASE,"
            " display_path LIMIT ?",
            [*params, int(top_k)],
        ).fetchall()
        return [
            Hit(int(i), shown, 1.0, [f.value for f in filters if not f.negated])
            for i, shown in rows
        ]

    def _phrases(self) -> set[str]:
        """Normalised vocabulary entries: the phrases a query is read as whole ("rainy day")."""
        if self._phrase_set is None:
            self._phrase_set = {normalise_tag(w) for w in self.vocabulary}
        return self._phrase_set

    def _display_paths(self, track_ids: list[int]) -> dict[int, str]:
        """Display paths of the hits (in chunks under SQLite's limit on bound parameters)."""
        paths: dict[int, str] = {}
        for start in range(0, len(track_ids), 500):
            chunk = track_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            paths.update(
                (int(i), p)
                for i, p in self.conn.execute(
                    f"SELECT id, display_path FROM tracks WHERE id IN ({marks})", chunk
                )
            )
        return paths

    def _search_matrix(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(track ids, seen-label scores [n, n_seen] float32, stored embeddings or None) of every
        ok track analysed by this model, cached until the index changes (our scans bump
        `_generation`; other connections' commits change SQLite's data_version).

        The float32 matrix (what similarity and the tag prior read) is made from the ranking
        cache on first request; search itself ranks the float16 copy (`_ranking_matrix`)."""
        key, (ids, seen16, embeddings) = self._ranking_matrix()
        if self._matrix is not None and self._matrix[0] == key:
            return self._matrix[1]
        seen = np.ascontiguousarray(seen16, dtype=np.float32)  # the stored float16 values, exactly
        self._matrix = (key, (ids, seen, embeddings))
        return ids, seen, embeddings

    def _ranking_matrix(
        self,
    ) -> tuple[tuple[int, int], tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
        """(cache key, (track ids, seen-label scores [n, n_seen] float16 in column-major order,
        stored embeddings or None)): what `search` ranks. float16 is what the index stores, so
        nothing is lost (142 bytes a track at 71 labels), and column-major makes each seen label
        one contiguous column: a one-word query reads 2 MB at a million tracks, not 142 MB
        (`zsl_core.search.rank_tracks`; measured in docs/PERFORMANCE.md)."""
        key = (self._generation, int(self.conn.execute("PRAGMA data_version").fetchone()[0]))
        cached = self._rank_cache
        if cached is not None and cached[0] == key:
            return cached
        model_id = self.model_id()
        rows = (
            []
            if model_id is None
            else self.conn.execute(
                "SELECT r.track_id, r.seen_scores, r.embedding FROM results r JOIN tracks t ON t.id = r.track_id"
                " WHERE r.model_id = ? AND t.status = 'ok' ORDER BY r.track_id",
                (model_id,),
            ).fetchall()
        )
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        seen = _stack_blobs(
            [r[1] for r in rows], np.float16, order="F"
        )  # [n, labels], columns contiguous
        embeddings = None
        if rows and self.tagger.stored_dim() > 0:
            embeddings = _stack_blobs([r[2] for r in rows])
            embeddings = unit_rows(embeddings)
        del rows
        self._rank_cache = (key, (ids, seen, embeddings))
        return self._rank_cache

    # --- more like this, duplicates (app/similarity.py) -------------------------------------
    def similar(self, track_ids: Sequence[int], top_k: int = 20) -> list[Hit]:
        """The tracks that sound most like `track_ids` (one or several: their mean), best first,
        from the stored analysis (no audio). The query tracks and their duplicates (identical
        audio, or the same recording by `duplicates`' rule) are left out. `Hit.score` is the
        cosine (-1..1); `Hit.matched` the hit's three most probable seen labels.

        Raises LibraryError for a track that is unknown or not analysed by this model."""
        index = self._sound_index()
        ids, vectors, seen = index["ids"], index["vectors"], index["seen"]
        rows = []
        for track_id in dict.fromkeys(int(t) for t in track_ids):
            row = index["row_of"].get(track_id)
            if row is None:
                self.track(track_id)  # LibraryError for an unknown id
                raise LibraryError(
                    f"not analysed yet: {self.track(track_id).display_path} (scan its folder first)"
                )
            rows.append(row)
        if not rows or top_k <= 0 or len(ids) == 0:
            return []
        twins = similarity.duplicate_pairs(
            seen, index["durations"], index["fingerprints"], rows=rows
        )
        exclude = sorted({x for i, j, *_ in twins for x in (i, j)} - set(rows))
        hit_rows, scores = similarity.similar_rows(vectors, rows, top_k=top_k, exclude=exclude)
        hit_ids = [int(ids[r]) for r in hit_rows.tolist()]
        paths = self._display_paths(hit_ids)
        labels = list(self.tagger.seen_labels)
        hits = []
        for track_id, row, score in zip(hit_ids, hit_rows.tolist(), scores.tolist(), strict=True):
            matched: list[tuple[str, float]] = []
            if seen is not None and seen.shape[1] == len(labels) and labels:
                top = np.argsort(-seen[row], kind="stable")[:3]
                matched = [(labels[k], float(seen[row, k])) for k in top.tolist()]
            hits.append(
                Hit(
                    track_id,
                    paths.get(track_id, ""),
                    float(score),
                    [t for t, _ in matched],
                    matched,
                )
            )
        return hits

    def duplicates(self) -> list[Any]:
        """Groups of tracks that are the same recording (`app.similarity.DuplicateGroup`):
        identical audio (same fingerprint), or another format / bitrate / a trimmed or louder
        copy (durations agree, label distributions nearly the same). Largest groups first;
        members in path order. Reads the index only; nothing is deleted or changed."""
        index = self._sound_index()
        pairs = similarity.duplicate_pairs(index["seen"], index["durations"], index["fingerprints"])
        groups = []
        for rows, lowest, identical in similarity.duplicate_groups(len(index["ids"]), pairs):
            member_ids = [int(index["ids"][r]) for r in rows]
            paths = self._display_paths(member_ids)
            ordered = sorted(zip(member_ids, rows, strict=True), key=lambda m: paths.get(m[0], ""))
            groups.append(
                similarity.DuplicateGroup(
                    [m for m, _ in ordered],
                    identical,
                    float(lowest),
                    [paths.get(m, "") for m, _ in ordered],
                    [index["durations"][r] for _, r in ordered],
                )
            )
        return groups

    def copies(self, track_ids: Sequence[int]) -> dict[int, set[int]]:
        """For each given track, the other tracks that are the same recording (the `duplicates`
        rule, checked only against these tracks: cheap for a playlist's worth). Unknown or
        unanalysed ids map to an empty set."""
        index = self._sound_index()
        wanted = {int(t): index["row_of"].get(int(t)) for t in track_ids}
        rows = [r for r in wanted.values() if r is not None]
        out: dict[int, set[int]] = {t: set() for t in wanted}
        if not rows:
            return out
        ids = index["ids"]
        for i, j, *_ in similarity.duplicate_pairs(
            index["seen"], index["durations"], index["fingerprints"], rows=rows
        ):
            a, b = int(ids[i]), int(ids[j])
            if a in out:
                out[a].add(b)
            if b in out:
                out[b].add(a)
        return out

    def _sound_index(self) -> dict[str, Any]:
        """What similarity and duplicates read, built from `_search_matrix` (same cache key):
        ids, seen scores, sound vectors, durations, fingerprints, row_of (id -> row)."""
        ids, seen, embeddings = self._search_matrix()
        key = self._matrix[0] if self._matrix is not None else None
        cached = self._sound_cache
        if cached is not None and cached[0] == key and key is not None:
            return cached[1]
        meta: dict[int, tuple[Any, Any]] = {}
        id_list = [int(i) for i in ids.tolist()]
        for start in range(0, len(id_list), 500):
            chunk = id_list[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for track_id, duration, fingerprint in self.conn.execute(
                f"SELECT id, duration, fingerprint FROM tracks WHERE id IN ({marks})", chunk
            ):
                meta[int(track_id)] = (duration, fingerprint)
        if embeddings is None and seen is not None and len(seen) and seen.shape[1] == 0:
            embeddings = None
        index = {
            "ids": ids,
            "seen": seen if seen is not None and np.size(seen) else None,
            "vectors": similarity.sound_vectors(seen if np.size(seen) else None, embeddings),
            "durations": [meta.get(i, (None, None))[0] for i in id_list],
            "fingerprints": [meta.get(i, (None, None))[1] for i in id_list],
            "row_of": {i: r for r, i in enumerate(id_list)},
        }
        self._sound_cache = (key, index)
        return index

    # --- after writes -----------------------------------------------------------------------
    def refresh(self, track_ids: Iterable[int]) -> None:
        """Re-read tags (and size/mtime) of files we just wrote, so the table shows the new
        values and the next scan sees them unchanged. The audio fingerprint is checked: if the
        audio itself changed, size/mtime are left alone so the next scan re-analyses the file."""
        for track_id in track_ids:
            row = self.conn.execute(
                "SELECT path, fingerprint, status FROM tracks WHERE id = ?", (int(track_id),)
            ).fetchone()
            if row is None:
                continue
            path, fingerprint, status = bytes(row[0]), row[1], row[2]
            try:
                info = os.stat(path)
            except OSError:
                if status != TrackStatus.GONE:
                    self.conn.execute(
                        "UPDATE tracks SET status = 'gone', gone_at = ? WHERE id = ?",
                        (time.time(), int(track_id)),
                    )
                    self._generation += 1
                continue
            probe = scanner.probe_file(path)
            meta = probe.metadata
            with db.transaction(self.conn):
                self.conn.execute(
                    "UPDATE tracks SET title = ?, artist = ?, album = ?, year = ?, album_artist = ?,"
                    " track_no = ?, disc_no = ?, genre = ?, mood = ?, duration = ?, has_cover = ?"
                    " WHERE id = ?",
                    (
                        meta.title,
                        meta.artist,
                        meta.album,
                        meta.year,
                        meta.album_artist,
                        meta.track_no,
                        meta.disc_no,
                        meta.genre,
                        meta.mood,
                        meta.duration,
                        int(meta.has_cover),
                        int(track_id),
                    ),
                )
                if probe.fingerprint is not None and probe.fingerprint == fingerprint:
                    self.conn.execute(
                        "UPDATE tracks SET size = ?, mtime_ns = ? WHERE id = ?",
                        (info.st_size, info.st_mtime_ns, int(track_id)),
                    )

    def close(self) -> None:
        """Close the index (the model stays cached in the process for the next Library)."""
        try:
            self.conn.close()
        except sqlite3.Error:
            pass

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _stack_blobs(
    blobs: Sequence[bytes], dtype: Any = np.float32, order: Literal["C", "F"] = "C"
) -> np.ndarray:
    """float16 blobs of one length -> a matrix of `dtype` (one join + one frombuffer: ~2x faster
    than a copy per row at 1M tracks); mixed lengths are stacked one by one."""
    if not blobs:
        return np.zeros((0, 0), dtype)
    sizes = {len(b) for b in blobs}
    if len(sizes) == 1:
        return (
            np.frombuffer(b"".join(blobs), dtype="<f2")
            .reshape(len(blobs), -1)
            .astype(dtype, order=order)
        )
    return np.stack([db.from_blob(b) for b in blobs]).astype(dtype, order=order)
