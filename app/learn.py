"""Learn from my library, guarded: what the library can teach, training with honest progress,
and a comparison with the built-in model on the same held-out tracks.

Why guarded: a library whose tracks all carry one genre cannot teach anything (there is nothing
to tell apart), yet training still "succeeds" with chance-level figures and a model that then
tags every track with that one genre. So before training `library_offer` says what the library
offers (how many tracks carry how many distinct genres/moods) and refuses, with a plain reason,
when the paper's training cannot work on it; after training `compare` scores the new model and
the built-in one on the same held-out tracks and recommends the better, so switching is a
choice made on evidence.

No Qt here: the window's Learn dialog and `zsl-tagger learn` run the same functions. The
training itself runs as `python -m app.learn WORK` (a child process, so Cancel can end it at
once, pool workers included); it reports progress as `progress_line`s.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from app.states import TrackStatus
from zsl_core.options import DEVICE, add_to_parser
from zsl_core.tags import split_values
from zsl_core.vectors import normalise_tag

if TYPE_CHECKING:  # the library and the dataset modules load with what uses them
    from app.library import TrackRow
    from zsl_core.datasets import Track
    from zsl_core.splits import Split

LEARN_FIELDS = ("genre", "mood")
MIN_TRACKS_PER_LABEL = 3  # a value on fewer tracks can be neither learned nor tested
MIN_LABELS = 2  # two values to tell apart
# From this many values on, one is held out, as in the paper (floor(0.8 x n) seen): the model
# is also tested on a word it never learned. With two, the paper's split would keep one word to
# learn, whose tracks all carry every learned word (no negative), so nothing could be trained:
# both are learned (zsl_core.splits.make_learned_split) and only tracks are held out.
HOLD_OUT_LABELS = 3
LEARNED_VALID = 0.3  # the share of each value's tracks held out when no value is
MIN_TRACKS = 10
DOMINANT_SHARE = 0.8  # one value on more of the tagged tracks than this: warn
CLEAR_MARGIN = 0.02  # ROC-AUC the new model must win by to be recommended (2 points)
CHANCE_MARGIN = 0.05  # within this of 0.5 the model has learned nothing useful
SEED = 0
SETUP = "A-X"

REFUSE, WARN, OK = "refuse", "warn", "ok"
FEATURES, TRAIN, BUILTIN = "features", "train", "builtin"
STAGE_TITLES = {
    FEATURES: "Listening to your tracks",
    TRAIN: "Training",
    BUILTIN: "Scoring the built-in model on the held-out tracks",
}
STAGE_UNITS = {FEATURES: "tracks", TRAIN: "rounds", BUILTIN: "tracks"}

Report = Callable[[str, int, int], None]  # (stage, done, total)


# --- what the library offers -----------------------------------------------------------------


@dataclass
class LibraryOffer:
    """What a library can teach: its tagged tracks, their distinct values and the verdict."""

    fields: tuple[str, ...]
    looked_at: int  # analysed (ok) tracks
    tagged: int  # of those, tracks with at least one value in `fields`
    counts: dict[str, int]  # every normalised value -> tracks carrying it, most first
    usable: list[str]  # values on at least MIN_TRACKS_PER_LABEL tracks, sorted
    tracks: list[Track] = field(default_factory=list)  # manifest Tracks (usable values only)
    split: Split | None = None  # the split of `tracks`, when there is one
    verdict: str = REFUSE
    reasons: list[str] = field(default_factory=list)

    @property
    def can_learn(self) -> bool:
        return self.verdict != REFUSE

    @property
    def train_ids(self) -> list[str]:
        return list(self.split.train["A"]) if self.split is not None else []

    @property
    def held_out(self) -> list[str]:
        return held_out_ids(self.split) if self.split is not None else []

    def summary(self) -> str:
        """Plain words: how many tracks carry how many distinct values, the commonest ones."""
        kinds = "/".join(self.fields) or "tag"
        if not self.tagged:
            return f"None of the {self.looked_at} tracks has a {kinds} tag yet."
        top = ", ".join(f"{label} {n}" for label, n in list(self.counts.items())[:8])
        more = f" and {len(self.counts) - 8} more" if len(self.counts) > 8 else ""
        lines = [
            f"{self.tagged} of {self.looked_at} tracks carry {len(self.counts)} distinct "
            f"{kinds} value(s): {top}{more}.",
            f"{len(self.usable)} of them are on at least {MIN_TRACKS_PER_LABEL} tracks and can "
            "be learned.",
        ]
        if self.split is not None and self.can_learn and not self.split.unseen:
            lines.append(
                f"Both values are learned (with two, none can be held out to test the model on "
                f"a new word): {len(self.train_ids)} tracks would teach the model; "
                f"{len(self.held_out)} are held out to test it and the built-in model on the "
                "same tracks."
            )
        elif self.split is not None and self.can_learn:
            lines.append(
                f"{len(self.train_ids)} tracks would teach the model; {len(self.held_out)} are "
                "held out to test it and the built-in model on the same tracks."
            )
        return "\n".join(lines)


def held_out_ids(split: Split) -> list[str]:
    """Tracks the A-X model never learns from: A's validation part (used only to pick the best
    epoch) and every B and C track (they carry words held out from training)."""
    return sorted(set(split.valid["A"]) | set(split.B) | set(split.C))


def track_values(row: TrackRow, fields: Sequence[str]) -> list[str]:
    """A library row's normalised values of `fields`, each once (the one multi-value rule)."""
    values: list[str] = []
    for name in fields:
        values += [normalise_tag(v) for v in split_values(getattr(row, name, None))]
    return [v for v in dict.fromkeys(values) if v]


def library_offer(rows: Sequence[TrackRow], fields: Sequence[str] = LEARN_FIELDS) -> LibraryOffer:
    """Summarise what `rows` (library TrackRows) can teach and decide: refuse, warn or ok.

    Refused: fewer than MIN_LABELS values on MIN_TRACKS_PER_LABEL tracks each (one genre
    everywhere teaches nothing), fewer than MIN_TRACKS tagged tracks, or a split that leaves
    nothing to train, validate or test on. Split: the paper's (one value in five held out) from
    HOLD_OUT_LABELS values on, else every value learned and only tracks held out. Warned: one
    value on most tagged tracks (the model may learn to say it of everything). Cheap: no
    audio, no torch.
    """
    from zsl_core.datasets import Track
    from zsl_core.errors import DatasetError
    from zsl_core.splits import make_learned_split, make_split

    fields = tuple(fields)
    ok_rows = [r for r in rows if getattr(r, "status", TrackStatus.OK) == TrackStatus.OK]
    per_track = [(row, track_values(row, fields)) for row in ok_rows]
    per_track = [(row, values) for row, values in per_track if values]
    counts = Counter(v for _, values in per_track for v in values)
    ordered = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    usable = sorted(v for v, n in counts.items() if n >= MIN_TRACKS_PER_LABEL)
    keep = set(usable)
    tracks = []
    for row, values in per_track:
        kept = [v for v in values if v in keep]
        if kept:
            tracks.append(Track(id=str(row.id), path=Path(row.path), tags=kept, attributes={}))
    offer = LibraryOffer(fields, len(ok_rows), len(per_track), ordered, usable, tracks)
    kinds = "/".join(fields) or "tag"
    reasons = offer.reasons
    if not fields:
        reasons.append("Choose at least one tag field to learn from.")
    elif not per_track:
        reasons.append(
            f"None of your tracks has a {kinds} tag: there is nothing to learn from. Tag some "
            "tracks first (or write the proposed tags), then try again."
        )
    elif len(counts) == 1:
        (only,) = counts
        reasons.append(
            f"Every tagged track has the same {kinds} ({only}): there is nothing to tell "
            f"apart, so a model would only learn to say {only} of everything. Learning needs "
            f"at least {MIN_LABELS} different values on {MIN_TRACKS_PER_LABEL} tracks each."
        )
    elif len(usable) < MIN_LABELS:
        have = ", ".join(usable) if usable else "none"
        reasons.append(
            f"Only {len(usable)} {kinds} value(s) are on at least {MIN_TRACKS_PER_LABEL} tracks "
            f"({have}); learning needs {MIN_LABELS}, to learn to tell them apart."
        )
    elif len(tracks) < MIN_TRACKS:
        reasons.append(
            f"Only {len(tracks)} tracks carry the usable values; learning needs at least "
            f"{MIN_TRACKS}."
        )
    if reasons:
        return offer
    try:
        track_tags = {t.id: t.tags for t in tracks}
        if len(usable) < HOLD_OUT_LABELS:  # two values: both learned, only tracks held out
            split = make_learned_split(
                track_tags, valid_fraction=LEARNED_VALID, seed=SEED, labels=usable
            )
        else:
            split = make_split(track_tags, seed=SEED, labels=usable)
    except DatasetError as exc:
        reasons.append(f"Cannot split the tracks for training and testing: {exc}.")
        return offer
    offer.split = split
    trainable = split.train["A"]  # A: a seen word, not every seen word (what training draws)
    if not trainable or not split.valid["A"] or len(offer.held_out) < 2:
        reasons.append(
            f"Too few tracks to both train and test: {len(trainable)} to learn from, "
            f"{len(split.valid['A'])} to check training, {len(offer.held_out)} held out. Tag "
            "more tracks with the values you have."
        )
        return offer
    share = max(counts[v] for v in usable) / len(tracks)
    offer.verdict = OK
    if share > DOMINANT_SHARE:
        top = max(usable, key=lambda v: counts[v])
        offer.verdict = WARN
        reasons.append(
            f"{top} is on {share:.0%} of the tagged tracks: the model may learn to say {top} "
            "of almost everything. The comparison after training will tell."
        )
    return offer


def prepare_work(offer: LibraryOffer, work: str | Path) -> Path:
    """Write the offer's manifest and split into `work` (what `run_learning` reads)."""
    from zsl_core.datasets import write_manifest

    if not offer.can_learn or offer.split is None:  # an offer that can teach has its split
        raise ValueError(offer.reasons[0] if offer.reasons else "nothing to learn")
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    write_manifest(work / "manifest.jsonl", offer.tracks)
    offer.split.save(work / "split.json")
    return work


# --- the comparison ---------------------------------------------------------------------------


@dataclass
class LabelResult:
    label: str
    learned: bool  # a seen word (trained on) or one held out from training
    positives: int
    yours: float
    builtin: float | None


@dataclass
class Comparison:
    """Both models on the same held-out tracks: mean per-word ROC-AUC (0.5 is chance)."""

    tracks: int
    labels: list[LabelResult]
    yours: float
    builtin: float | None
    recommended: str  # "yours" | "builtin"
    reason: str
    model_dir: str = ""

    def sentence(self) -> str:
        """The result in one plain line, e.g. "Your model: 81%, built-in: 74% on 40 tracks it
        never learned from (6 words) - recommended: yours" (`percent` says what 81% means)."""
        choice = "yours" if self.recommended == "yours" else "the built-in model"
        return (
            f"Your model: {percent(self.yours)}, built-in: {percent(self.builtin)} on "
            f"{self.tracks} tracks it never learned from ({len(self.labels)} words) - "
            f"recommended: {choice}"
        )

    def details(self) -> str:
        """Learned words and held-out words apart, then the reason for the recommendation."""
        lines = []
        for learned, title in ((True, "words it learned"), (False, "words held out from it")):
            group = [r for r in self.labels if r.learned == learned]
            if not group:
                continue
            yours = float(np.mean([r.yours for r in group]))
            scored = [r.builtin for r in group if r.builtin is not None]
            builtin = percent(float(np.mean(scored))) if scored else "not available"
            names = ", ".join(r.label for r in group[:6]) + (" …" if len(group) > 6 else "")
            lines.append(f"On {title} ({names}): yours {percent(yours)}, built-in {builtin}.")
        lines.append(self.reason)
        lines.append(SCORE_MEANING)
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "tracks": self.tracks,
            "labels": [r.__dict__ for r in self.labels],
            "yours": self.yours,
            "builtin": self.builtin,
            "recommended": self.recommended,
            "reason": self.reason,
            "model_dir": self.model_dir,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Comparison:
        return cls(
            tracks=int(data["tracks"]),
            labels=[LabelResult(**r) for r in data["labels"]],
            yours=float(data["yours"]),
            builtin=None if data["builtin"] is None else float(data["builtin"]),
            recommended=str(data["recommended"]),
            reason=str(data["reason"]),
            model_dir=str(data.get("model_dir", "")),
        )

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Comparison:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


SCORE_MEANING = (
    "The percentage is how often a model ranks a track that has the word above one that has "
    "not: 100% every time, 50% is guessing."
)


def percent(value: float | None) -> str:
    """A comparison score as it is shown everywhere (dialog, `zsl-tagger learn`, docs): the
    mean per-word ROC-AUC, which is the chance that a track with the word is ranked above one
    without it, as a whole percentage ("81%"); "not available" when there is none."""
    if value is None or value != value:
        return "not available"
    return f"{round(100 * float(value))}%"


def _auc(truth: np.ndarray, scores: np.ndarray) -> float:
    from zsl_core import metrics

    return float(metrics.auc_l(truth[:, None], scores[:, None]).value)


def compare(
    truth: np.ndarray,
    yours: np.ndarray,
    builtin: np.ndarray | None,
    labels: Sequence[str],
    learned: Sequence[str],
) -> Comparison:
    """Mean per-word ROC-AUC of both score matrices [tracks, labels] on the words both can
    score (no NaN column) that have positive and negative tracks, and the recommendation:
    yours only when it beats the built-in model by CLEAR_MARGIN and is clearly above chance."""
    truth = np.asarray(truth)
    results = []
    for j, label in enumerate(labels):
        column = truth[:, j]
        if column.min() == column.max():
            continue  # every held-out track has it (or none): no ranking to judge
        if np.isnan(yours[:, j]).any() or (builtin is not None and np.isnan(builtin[:, j]).any()):
            continue
        results.append(
            LabelResult(
                label=str(label),
                learned=label in set(learned),
                positives=int(column.sum()),
                yours=_auc(column, yours[:, j]),
                builtin=None if builtin is None else _auc(column, builtin[:, j]),
            )
        )
    if not results:
        return Comparison(
            len(truth),
            [],
            math.nan,
            None,
            "builtin",
            "No word could be tested: every held-out track carries the same words. Keep the "
            "built-in model.",
        )
    mine = float(np.mean([r.yours for r in results]))
    theirs = None if builtin is None else float(np.mean([r.builtin for r in results]))
    if mine < 0.5 + CHANCE_MARGIN:
        choice, reason = (
            "builtin",
            (
                f"Your model ranks the held-out tracks about as well as guessing "
                f"({percent(mine)}): it learned nothing it can use. Keep the built-in model."
            ),
        )
    elif theirs is None:
        choice, reason = (
            "yours",
            (
                "The built-in model could not be scored on these tracks; yours is clearly better "
                "than guessing."
            ),
        )
    elif mine >= theirs + CLEAR_MARGIN:
        choice, reason = (
            "yours",
            (
                f"Your model finds your own words better than the built-in model "
                f"({percent(mine)} vs {percent(theirs)})."
            ),
        )
    else:
        choice, reason = (
            "builtin",
            (
                f"The built-in model does as well or better ({percent(theirs)} vs "
                f"{percent(mine)}). Keep it."
            ),
        )
    return Comparison(len(truth), results, mine, theirs, choice, reason)


def builtin_scores(
    ids: Sequence[str],
    paths: Sequence[str | Path],
    labels: Sequence[str],
    db_path: str | Path | None = None,
    report: Report | None = None,
    device: str = "auto",
) -> np.ndarray:
    """The built-in model's probability [tracks, labels] of each label word: from the library's
    stored analysis when it has one (no audio read), else analysed from the file now. A label
    the built-in model cannot read is NaN; a track that cannot be decoded is a NaN row."""
    from zsl_core.inference import analyse_files
    from zsl_core.model_spec import load_tagger

    seen: list[np.ndarray | None] = [None] * len(ids)
    if db_path is not None and Path(db_path).is_file():
        from app.library import Library

        for precision in ("fp32", "bf16"):
            library = Library(db_path, model="default", precision=precision)
            try:
                for i, track_id in enumerate(ids):
                    if seen[i] is None and str(track_id).isdigit():
                        stored = library.analysis(int(track_id))
                        if stored is not None:
                            seen[i] = stored[1]
            finally:
                library.close()
    tagger = load_tagger("default", device=device)
    missing = [i for i, s in enumerate(seen) if s is None]
    if report is not None:
        report(BUILTIN, 0, len(missing))
    if missing:
        from app.scanner import DEFAULT_N_WINDOWS

        for done, (k, result) in enumerate(
            analyse_files(tagger, [paths[i] for i in missing], n_windows=DEFAULT_N_WINDOWS), 1
        ):
            if not isinstance(result, Exception):
                seen[missing[k]] = result.seen_scores
            if report is not None:
                report(BUILTIN, done, len(missing))
    n_seen = len(tagger.seen_labels)
    matrix = np.stack([s if s is not None else np.full(n_seen, np.nan) for s in seen])
    scores, found, _, _ = tagger.score_words(None, matrix, list(labels))
    out = np.full((len(ids), len(labels)), np.nan)
    column = {w: j for j, w in enumerate(found)}
    for j, label in enumerate(labels):
        if label in column:
            out[:, j] = scores[:, column[label]]
    return out


# --- training ------------------------------------------------------------------------------


def run_learning(
    work: str | Path,
    epochs: int = 30,
    device: str = "auto",
    db_path: str | Path | None = None,
    report: Report | None = None,
) -> Comparison:
    """Features -> train (frozen musicnn, only the heads) -> score both models on the held-out
    tracks -> comparison (saved as WORK/comparison.json; the paper's metrics as results.json)."""
    from zsl_core import pipeline
    from zsl_core.evaluate import evaluate_scores, label_matrix

    work = Path(work)
    model_dir = work / "model"
    pipeline.train_from_files(
        manifest=work / "manifest.jsonl",
        split_path=work / "split.json",
        setup=SETUP,
        side=None,
        model_type="embedding",
        out_dir=model_dir,
        cache_dir=work / "cache",
        backbone="musicnn",
        overrides={"epochs": int(epochs), "device": device, "seed": SEED},
        progress=False,
        on_track=None if report is None else (lambda d, t: report(FEATURES, d, t)),
        on_epoch=None if report is None else (lambda d, t: report(TRAIN, d, t)),
    )
    found = pipeline.model_scores(model_dir)
    tags = pipeline.track_tags(found.tracks)
    evaluate_scores(
        found.split, tags, found.ids, found.labels, found.scores, SETUP, found.model_type
    ).save_json(work / "results.json")
    row = {t: i for i, t in enumerate(found.ids)}
    held = [t for t in held_out_ids(found.split) if t in row]
    path_of = {t.id: t.path for t in found.tracks}
    yours = found.scores[[row[t] for t in held]]
    theirs = builtin_scores(held, [path_of[t] for t in held], found.labels, db_path, report, device)
    keep = ~np.isnan(theirs).all(axis=1)  # tracks the built-in model could not decode
    truth = label_matrix([t for t, k in zip(held, keep, strict=True) if k], found.labels, tags)
    result = compare(truth, yours[keep], theirs[keep], found.labels, found.split.seen)
    result.model_dir = str(model_dir)
    result.save(work / "comparison.json")
    return result


# --- progress -----------------------------------------------------------------------------


PROGRESS = "progress"


def progress_line(stage: str, done: int, total: int) -> str:
    """One line of the child process's progress protocol (tab-separated, never shown)."""
    return f"{PROGRESS}\t{stage}\t{int(done)}\t{int(total)}"


def parse_progress_line(line: str) -> tuple[str, int, int] | None:
    parts = line.strip().split("\t")
    if len(parts) != 4 or parts[0] != PROGRESS:
        return None
    try:
        return parts[1], int(parts[2]), int(parts[3])
    except ValueError:
        return None


class StageClock:
    """ETA from measured throughput: the time a stage's finished items took, per item, times
    the items left. None until one item is done (no guess before anything was measured)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.stage: str | None = None
        self.started = 0.0

    def update(self, stage: str, done: int, total: int) -> float | None:
        now = self.clock()
        if stage != self.stage:
            self.stage, self.started = stage, now
        if done <= 0 or total <= 0:
            return None
        return (now - self.started) / done * max(total - done, 0)


def eta_text(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds < 0:
        return "estimating time left…"
    seconds = int(math.ceil(seconds))
    if seconds >= 3600:
        return f"about {seconds // 3600} h {seconds % 3600 // 60:02d} min left"
    if seconds >= 60:
        return f"about {seconds // 60} min {seconds % 60:02d} s left"
    return f"about {seconds} s left"


def progress_text(stage: str, done: int, total: int, eta: float | None) -> str:
    """ "Listening to your tracks: 12 of 40 tracks, about 30 s left"."""
    title = STAGE_TITLES.get(stage, stage)
    unit = STAGE_UNITS.get(stage, "")
    if stage == TRAIN:
        return f"{title}: round {done} of at most {total}, {eta_text(eta)}"
    return f"{title}: {done} of {total} {unit}, {eta_text(eta)}"


def default_work_dir(models_dir: str | Path) -> Path:
    return Path(models_dir) / f"library-{time.strftime('%Y%m%d-%H%M%S')}"


# --- the child process ----------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m app.learn WORK`: run_learning with progress lines on stdout; an error is one
    `error` line and exit code 1."""
    parser = argparse.ArgumentParser(prog="python -m app.learn")
    parser.add_argument("work")
    parser.add_argument("--epochs", type=int, default=30)
    add_to_parser(parser, DEVICE)
    parser.add_argument("--db", default=None)
    args = parser.parse_args(argv)

    def report(stage: str, done: int, total: int) -> None:
        print(progress_line(stage, done, total), flush=True)

    try:
        result = run_learning(args.work, args.epochs, args.device, args.db, report)
    except Exception as exc:  # the parent shows one line; the details are in the log
        text = " ".join(str(exc).split()) or type(exc).__name__
        print(f"error\t{text}", flush=True)
        return 1
    print(f"done\t{result.sentence()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
