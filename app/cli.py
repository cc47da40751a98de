"""The `zsl-tagger` command line: the desktop tagger's library without the window.

    zsl-tagger scan ~/Music            analyse new and changed files into the index
    zsl-tagger search "sad piano"      rank indexed tracks by words
    zsl-tagger tags ~/Music/album      the seen and unseen tags the model proposes
    zsl-tagger write --field genre --top 3 --dry-run      show, then write (journaled)
    zsl-tagger history / undo          list the write batches, put the old tags back
    zsl-tagger failed                  the files scans could not read, with their reasons
    zsl-tagger import part-*.npz       take `zsl-core embed --shard` parts in without decoding

Without arguments it starts the GUI. Everything goes through app.library.Library and
app.journal, the same code the GUI calls. Exit codes: 0 ok, 1 some files failed, 2 usage or
setup error (one line on stderr; --debug shows the traceback), 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from app import db, export, journal, playlists
from app.learn import LEARN_FIELDS
from app.library import Library, TrackRow
from app.options import (
    DEVICE,
    EXPORT_FORMAT,
    FIELD,
    ID3,
    INCLUDE_OPTION,
    MIN_CONFIDENCE,
    MIN_SCORE,
    MODEL,
    PRECISION,
    SEPARATOR,
    TOP_HITS,
    TOP_TAGS,
    TOP_WRITE,
    VECTORS,
    WINDOWS,
    WRITE_MODE,
    add_to_parser,
)
from app.routing import DEFAULT_ROUTES, parse_routes, routes_to_text
from app.states import TrackStatus
from app.tagformats import WriteOptions, check_field, id3_version_choice
from zsl_core.errors import ModelError, ZslError
from zsl_core.tags import join_values
from zsl_core.word_space import WORD_SPACE_CHOICES

PROG = "zsl-tagger"
EXIT_OK, EXIT_PARTIAL, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """A problem with what the user typed or set up (exit 2, one line)."""


T = TypeVar("T")


def err(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr)


# --- opening the library --------------------------------------------------------------------


def open_library(args: argparse.Namespace) -> Library:
    """The Library named by the global options, after cheap checks that give clear errors
    (the model and word vectors themselves load lazily, on first use)."""
    if (
        args.vectors
        and args.vectors not in WORD_SPACE_CHOICES
        and not Path(args.vectors).expanduser().is_file()
    ):
        raise UsageError(
            f"--vectors {args.vectors}: no such file (or use {' or '.join(WORD_SPACE_CHOICES)})"
        )
    if args.model != "default" and not Path(args.model).expanduser().is_dir():
        raise UsageError(f"--model {args.model}: not 'default' and not a model folder")
    if args.db and Path(args.db).expanduser().is_dir():
        raise UsageError(f"--db {args.db}: is a folder; give the index file's name")
    check_device(args.device)
    return Library(
        db_path=args.db,
        model=args.model,
        vectors=args.vectors,
        device=args.device,
        precision=args.precision,
    )


def check_device(device: str) -> None:
    """`--device cuda` on a machine without a usable CUDA GPU: one line (exit 2) before
    anything is opened, instead of a traceback from deep inside PyTorch on first use."""
    if device != "cuda":
        return
    from zsl_core.devices import cuda_available  # torch: only when a GPU is asked for

    if not cuda_available():
        raise ModelError(
            "--device cuda: no CUDA GPU is available here (no NVIDIA driver or "
            "device); use --device auto or --device cpu"
        )


def failed_tracks(library: Library, roots: Sequence[str | Path] = ()) -> list[tuple[str, str]]:
    """(display path, reason) of every track whose last scan failed (under `roots` if given):
    the index remembers them until the file changes or is removed."""
    rows = library.conn.execute(
        "SELECT path, display_path, error FROM tracks WHERE status = 'failed' ORDER BY path"
    ).fetchall()
    keys = [db.path_key(r) for r in roots]
    sep = os.sep.encode()
    out = []
    for key, shown, error in rows:
        key = bytes(key)
        if keys and not any(key == k or key.startswith(k.rstrip(sep) + sep) for k in keys):
            continue
        out.append((shown, error or "failed (no reason recorded)"))
    return out


def resolve_tracks(
    library: Library, paths: Sequence[str], ok_only: bool = True
) -> tuple[list[TrackRow], int]:
    """The indexed tracks that the given files or folders name (all when none are given),
    and how many of the arguments matched nothing in the index (reported on stderr)."""
    rows = [t for t in library.tracks() if not ok_only or t.status == TrackStatus.OK]
    if not paths:
        return rows, 0
    by_key = {os.fsencode(str(t.path)): t for t in rows}
    chosen: dict[int, Any] = {}
    missing = 0
    for arg in paths:
        key = db.path_key(arg)
        if key in by_key:
            found = [by_key[key]]
        else:  # a folder: every indexed track under it
            prefix = key.rstrip(os.sep.encode()) + os.sep.encode()
            found = [t for k, t in by_key.items() if k.startswith(prefix)]
        if not found:
            missing += 1
            err(f"not in the index: {arg} (run `{PROG} scan` on its folder first)")
        for track in found:
            chosen.setdefault(track.id, track)
    ordered = sorted(chosen.values(), key=lambda t: os.fsencode(str(t.path)))
    return ordered, missing


# --- subcommands ------------------------------------------------------------------------------


class _Progress:
    """Scan/import progress on stderr: one rewritten line on a terminal, a line every 10 s otherwise."""

    def __init__(self, verb: str = "scanning") -> None:
        self.verb = verb
        self.tty = sys.stderr.isatty()
        self.last = 0.0
        self.finished = False

    def __call__(self, p: Any) -> None:
        now = time.monotonic()
        final = p.total > 0 and p.done >= p.total  # 0/0 is the start (nothing counted yet)
        if final and self.finished or not final and now - self.last < (0.2 if self.tty else 10.0):
            return
        self.finished = final
        self.last = now
        eta = f"  eta {_duration(p.eta)}" if p.eta else ""
        rate = f"  {p.rate:.1f} files/s" if p.rate else ""
        current = Path(str(p.current)).name if p.current else ""
        line = f"{self.verb} {p.done}/{p.total}{rate}{eta}  {current}"
        if self.tty:
            sys.stderr.write("\r\x1b[K" + line[:150] + ("\n" if final else ""))
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self.tty and not self.finished:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class _CancelOnInterrupt:
    """First Ctrl-C sets the cancel event (the scan stops after the files in flight and keeps
    what it stored); a second one interrupts at once."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.previous: Any = None

    def __enter__(self) -> threading.Event:
        try:
            self.previous = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread: no handler, the event still works
            self.previous = None
        return self.event

    def _handle(self, signum: int, frame: Any) -> None:
        if self.event.is_set():
            raise KeyboardInterrupt
        self.event.set()
        err("cancelling after the files in flight (Ctrl-C again to stop at once)")

    def __exit__(self, *exc: Any) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


def _run_long(verb: str, work: Callable[..., T]) -> T:
    """`work(progress=..., cancel=...)` with a progress line on stderr and Ctrl-C as Cancel."""
    progress = _Progress(verb)
    with _CancelOnInterrupt() as cancel:
        try:
            return work(progress=progress, cancel=cancel)
        finally:
            progress.close()


def cmd_scan(args: argparse.Namespace, library: Library) -> int:
    for folder in args.folders:
        if not Path(folder).expanduser().exists():
            raise UsageError(f"{folder}: no such file or folder")
    n_windows = 0 if args.full else args.windows
    summary = _run_long(
        "scanning",
        lambda **kw: library.scan(args.folders, n_windows=n_windows, workers=args.workers, **kw),
    )
    state = "cancelled" if summary.cancelled else "done"
    print(
        f"scan {state} in {summary.seconds:.1f} s: {summary.scanned} scanned, "
        f"{summary.unchanged} unchanged, {summary.moved} moved, {summary.gone} gone, "
        f"{len(summary.failed)} failed"
    )
    for shown, reason in summary.failed:
        print(f"  failed: {shown}: {reason}")
    # files that failed in an earlier scan and have not changed since still fail: say so
    new_failures = {shown for shown, _ in summary.failed}
    earlier = [
        row
        for row in failed_tracks(library, args.folders or library.folders())
        if row[0] not in new_failures
    ]
    if earlier:
        print(
            f"{len(earlier)} failed in an earlier scan and unchanged since (`{PROG} failed` "
            f"lists them):"
        )
        for shown, reason in earlier[:20]:
            print(f"  still failed: {shown}: {reason}")
        if len(earlier) > 20:
            print(f"  ... and {len(earlier) - 20} more")
    if summary.cancelled:
        return EXIT_INTERRUPTED
    return EXIT_PARTIAL if summary.failed or earlier else EXIT_OK


def cmd_failed(args: argparse.Namespace, library: Library) -> int:
    rows = failed_tracks(library, args.paths)
    if args.json:
        print(json.dumps([{"path": shown, "reason": reason} for shown, reason in rows], indent=2))
    elif not rows:
        print("no failed files")
    else:
        for shown, reason in rows:
            print(f"{shown}: {reason}")
        print(f"{len(rows)} failed (a scan tries each again once the file changes)")
    return EXIT_PARTIAL if rows else EXIT_OK


def cmd_import(args: argparse.Namespace, library: Library) -> int:
    for part in args.parts:
        if not Path(part).expanduser().is_file():
            raise UsageError(f"{part}: no such index file")
    summary = _run_long(
        "importing", lambda **kw: library.import_indexes(args.parts, path_map=args.map or (), **kw)
    )
    state = "cancelled" if summary.cancelled else "done"
    print(
        f"import {state} in {summary.seconds:.1f} s from {summary.parts} part(s): "
        f"{summary.imported} imported, {summary.unchanged} unchanged, {len(summary.changed)} changed "
        f"since analysed, {len(summary.missing)} not found, {len(summary.failed)} failed"
    )
    if summary.folders:
        print(f"remembered for `{PROG} scan`: {', '.join(summary.folders)}")
    for shown, reason in summary.bad_parts:
        err(f"part not imported: {shown}: {reason}")
    for label, rows in (
        ("changed", summary.changed),
        ("not found", summary.missing),
        ("failed", summary.failed),
    ):
        for shown, reason in rows[: args.show]:
            print(f"  {label}: {shown}: {reason}")
        if len(rows) > args.show:
            print(f"  ... and {len(rows) - args.show} more {label}")
    if summary.skipped:
        print(f"(`{PROG} scan` on their folders analyses the files not imported)")
    if summary.cancelled:
        return EXIT_INTERRUPTED
    if summary.bad_parts and not summary.parts:
        return EXIT_ERROR
    return EXIT_PARTIAL if summary.bad_parts or summary.skipped else EXIT_OK


def rescan_advice(library: Library) -> str:
    """What to do for tracks this model has not analysed: scan them, or scan again when they
    were analysed with another model (an older built-in model after an upgrade, another
    --model or --precision): "scan first" alone reads as if the scan never happened."""
    others = library.other_models()
    if not others:
        return f"scan first (`{PROG} scan` with the same --model, --vectors and --precision)"
    names = ", ".join(f"{name} ({n} tracks)" for name, n in others.items())
    return f"the library holds analyses by {names}: run `{PROG} scan` to analyse them again"


def not_analysed_hint(library: Library) -> str:
    """The line a search prints when this model has analysed nothing."""
    if not library.other_models():
        return f"no tracks analysed yet: run `{PROG} scan FOLDER` first"
    return (
        f"no tracks analysed with this model ({library.model_name}) yet; {rescan_advice(library)}"
    )


def cmd_search(args: argparse.Namespace, library: Library) -> int:
    result = library.search(args.query, top_k=args.top)
    if result.missing_words:
        err(
            f"not a word the model knows nor in any track's text, ignored: {', '.join(result.missing_words)}"
        )
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "id": h.track_id,
                        "path": h.display_path,
                        "score": round(h.score, 4),
                        "matched": {t: round(v, 4) for t, v in h.matched},
                    }
                    for h in result.hits
                ],
                indent=2,
            )
        )
        return EXIT_OK
    for rank, hit in enumerate(result.hits, 1):
        matched = (
            "  [" + ", ".join(f"{t} {v:.2f}" for t, v in hit.matched) + "]"
            if len(hit.matched) > 1
            else ""
        )
        print(f"{rank:3d}  {hit.score:.3f}  {hit.display_path}{matched}")
    if not result.hits:
        if library.model_id() is None:
            print(not_analysed_hint(library))
        elif result.parsed is not None and result.parsed.terms:
            print(f"no good match for {', '.join(result.parsed.terms)}")
            if result.closest:
                print("closest, but weak (under the relevance floor, not matches):")
                for rank, hit in enumerate(result.closest, 1):
                    print(f"{rank:3d}  {hit.score:.3f}  {hit.display_path}")
        else:
            print("no track matches")
    return EXIT_OK


def cmd_tags(args: argparse.Namespace, library: Library) -> int:
    tracks, missing = resolve_tracks(library, args.paths)
    if missing and not tracks:
        return EXIT_ERROR
    out, failed = [], missing
    for track in tracks:
        # What the app's panel lists and proposes (`Library.listing`: the one rule, the
        # library's prior, `TOP_WRITE` per field of the default routes), so `tags` says what
        # `write` and the GUI would pick.
        listing, proposed = library.listing(track.id, TOP_WRITE.default, routes=DEFAULT_ROUTES)
        if listing is None:
            failed += 1
            err(f"not analysed yet: {track.display_path}")
            continue
        seen, unseen = (
            sorted(tags, key=lambda t: -(t.confidence or 0.0))[: args.top]
            for tags in (listing.seen, listing.unseen)
        )
        if args.json:
            out.append(
                {
                    "id": track.id,
                    "path": track.display_path,
                    "proposed": [t.to_dict() for t in proposed],
                    "seen": [t.to_dict() for t in seen],
                    "unseen": [t.to_dict() for t in unseen],
                }
            )
            continue
        print(track.display_path)
        print("  proposed: " + (", ".join(_tag_text(t) for t in proposed) or "-"))
        if args.why:
            for tag in proposed:
                print(f"    {'' if tag.seen else '*'}{tag.tag}: {tag.origin()}")
        print("  seen:     " + (", ".join(f"{t.tag} {t.confidence:.2f}" for t in seen) or "-"))
        print("  new:      " + (", ".join(f"*{t.tag} {t.confidence:.2f}" for t in unseen) or "-"))
    if args.json:
        print(json.dumps(out, indent=2))
    elif tracks:
        print(
            "(confidence 0-1; * = a new word: one the model was never trained on, its confidence "
            "read off the trained words nearest to it)"
        )
    return EXIT_PARTIAL if failed else EXIT_OK


def _tag_text(tag: Any) -> str:
    return f"{'' if tag.seen else '*'}{tag.tag} ({tag.kind.value}) {tag.confidence:.2f}"


def cmd_write(args: argparse.Namespace, library: Library) -> int:
    try:
        routes = parse_routes(args.route or [])
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    options = WriteOptions(id3_version=id3_version_choice(args.id3), id3_separator=args.separator)
    tracks, missing = resolve_tracks(library, args.paths)
    if missing and not tracks:
        return EXIT_ERROR
    if not tracks:
        raise UsageError("no analysed tracks in the index; run `zsl-tagger scan FOLDER` first")
    ids = [t.id for t in tracks]
    proposals = {
        tid: journal.propose(
            library,
            tid,
            top_k=args.top,
            min_score=args.min_score,
            include=args.include,
            routes=routes,
            field=args.field,
        )
        for tid in ids
    }
    not_analysed = [t for t in tracks if not proposals[t.id] and library.analysis(t.id) is None]
    if not_analysed:
        how = rescan_advice(library)
        if len(not_analysed) == len(tracks):
            raise UsageError(
                f"none of the {len(tracks)} tracks is analysed with this model "
                f"({library.model_name}); {how}"
            )
        err(
            f"{len(not_analysed)} of {len(tracks)} tracks are not analysed with this model "
            f"({library.model_name}); they are left out; {how}"
        )
    planned = journal.plan_routed(library, proposals, mode=args.mode, options=options)
    if args.dry_run:
        shown = None
        for item in planned:
            if item.display_path != shown:
                print(item.display_path)
                shown = item.display_path
            if item.error:
                print(f"  {item.field}: cannot write: {item.error}")
            elif item.changed:
                print(f"  {item.field}: {_values(item.old)} -> {_values(item.new)}")
            else:
                print(f"  {item.field}: unchanged ({_values(item.old)})")
        files = {item.track_id for item in planned}
        n_changed = len({item.track_id for item in planned if item.changed and not item.error})
        n_errors = len({item.track_id for item in planned if item.error})
        print(
            f"dry run: {n_changed} of {len(ids)} files would change ({n_errors} cannot be written, "
            f"{len(ids) - len(files)} with nothing to propose); nothing written"
        )
        return EXIT_PARTIAL if n_errors or missing else EXIT_OK
    fields = args.field or ", ".join(r for r in routes_to_text(routes) if not r.endswith("=none"))
    kinds = {"both": "seen+new"}.get(args.include, args.include)
    description = (
        f"{fields} {args.mode}: top {args.top} {kinds}"
        + (f" >= {args.min_score:g}" if args.min_score is not None else "")
        + f" on {len(ids)} files"
    )
    result = journal.write_batch(library, planned, description, options=options)
    batch = f"batch {result.batch_id}" if result.batch_id is not None else "no batch"
    fields = f" ({result.written} fields)" if result.written != len(result.files) else ""
    n_files = len(result.files)
    print(
        f"{batch}: {n_files} file{'' if n_files == 1 else 's'} written{fields}, {result.unchanged} unchanged, "
        f"{len(result.failed)} failed"
    )
    for shown, reason in result.failed:
        print(f"  failed: {shown}: {reason}")
    if result.batch_id is not None:
        print(f"undo with: {PROG} undo {result.batch_id}")
    return EXIT_PARTIAL if result.failed or missing else EXIT_OK


def _values(values: Sequence[str]) -> str:
    return "[" + join_values(values) + "]" if values else "(empty)"


def cmd_undo(args: argparse.Namespace, library: Library) -> int:
    result = journal.undo(library, args.batch)
    state = "undone" if result.marked_undone else "not undone"
    elsewhere = getattr(result, "elsewhere", 0)
    print(
        f"batch {result.batch_id} {state}: {result.restored} restored "
        f"({result.exact} byte for byte), {len(result.refused)} refused"
        + (f", {elsewhere} restored meanwhile by another undo" if elsewhere else "")
    )
    for shown, reason in result.inexact:
        print(f"  values only: {shown}: {reason}")
    for shown, reason in result.refused:
        print(f"  refused: {shown}: {reason}")
    if not result.marked_undone:
        print(
            f"none of its files was found: scan the folders they are in now, then "
            f"`{PROG} undo {result.batch_id}` again"
        )
    return EXIT_PARTIAL if result.refused else EXIT_OK


def cmd_history(args: argparse.Namespace, library: Library) -> int:
    batches = journal.history(library, limit=args.limit)
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "batch": b.batch_id,
                        "time": b.time,
                        "description": b.description,
                        "field": b.field,
                        "mode": b.mode,
                        "files": b.n_files,
                        "undone": b.undone,
                    }
                    for b in batches
                ],
                indent=2,
            )
        )
        return EXIT_OK
    if not batches:
        print("no tag writes yet")
    for b in batches:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(b.time))
        state = "  (undone)" if b.undone else ""
        print(f"{b.batch_id:5d}  {when}  {b.n_files:5d} files  {b.description}{state}")
    return EXIT_OK


# --- finding music: similar, duplicates, playlists, export ------------------------------------


def _track_line(library: Library, track_id: int) -> str:
    row = library.track(track_id)
    who = " - ".join(x for x in (row.artist, row.title) if x)
    return f"{row.display_path}" + (f"  ({who})" if who else "")


def cmd_similar(args: argparse.Namespace, library: Library) -> int:
    tracks, missing = resolve_tracks(library, args.paths)
    if not tracks:
        return EXIT_ERROR
    hits = library.similar([t.id for t in tracks], top_k=args.top)
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "id": h.track_id,
                        "path": h.display_path,
                        "similarity": round(h.score, 4),
                        "labels": [{"tag": t, "probability": round(v, 4)} for t, v in h.matched],
                    }
                    for h in hits
                ],
                indent=2,
            )
        )
        return EXIT_PARTIAL if missing else EXIT_OK
    names = tracks[0].display_path if len(tracks) == 1 else f"{len(tracks)} tracks"
    print(f"more like {names}:")
    for rank, hit in enumerate(hits, 1):
        labels = ", ".join(t for t, _ in hit.matched)
        print(
            f"{rank:3d}  {hit.score:.3f}  {hit.display_path}" + (f"  [{labels}]" if labels else "")
        )
    if not hits:
        print("  (no other analysed track)")
    return EXIT_PARTIAL if missing else EXIT_OK


def cmd_duplicates(args: argparse.Namespace, library: Library) -> int:
    groups = library.duplicates()
    if args.json:
        print(json.dumps([g.to_dict() for g in groups], indent=2))
        return EXIT_OK
    if not groups:
        print("no duplicates found")
        return EXIT_OK
    for number, group in enumerate(groups, 1):
        how = (
            "identical audio"
            if group.identical
            else f"same recording (similarity {group.similarity:.3f})"
        )
        print(f"group {number}: {len(group.track_ids)} tracks, {how}")
        for path, duration in zip(group.paths, group.durations, strict=True):
            length = "" if duration is None else f"  {duration:.1f} s"
            print(f"  {path}{length}")
    n_tracks = sum(len(g.track_ids) for g in groups)
    print(f"{len(groups)} group(s), {n_tracks} tracks; nothing was changed or deleted")
    return EXIT_OK


def cmd_playlist(args: argparse.Namespace, library: Library) -> int:
    out = Path(args.out).expanduser()
    if out.is_dir():
        raise UsageError(f"--out {args.out}: is a folder; give the playlist's file name")
    if not out.parent.exists():
        raise UsageError(f"--out {args.out}: no such folder {out.parent}")
    per_album = None if args.same_album_ok else args.per_album
    entries, result = playlists.instant_playlist(
        library, args.phrase, count=args.count, per_album=per_album
    )
    if result.missing_words:
        err(f"not a word the model knows, ignored: {', '.join(result.missing_words)}")
    if not entries:
        err(f"nothing matches {args.phrase!r}: no playlist written")
        return EXIT_PARTIAL
    xspf = args.xspf or out.suffix.lower() == ".xspf"
    n = playlists.write_playlist(out, entries, relative=args.relative, xspf=xspf, title=args.phrase)
    limit = "" if per_album is None else f", at most {per_album} per album/folder"
    print(
        f"wrote {n} tracks for {args.phrase!r} to {out} ({'XSPF' if xspf else 'M3U8'}"
        f"{', relative paths' if args.relative else ''}{limit})"
    )
    if n < args.count:
        print(
            f"  ({args.count - n} fewer than asked: no more tracks match well enough"
            + ("" if per_album is None else "; --same-album-ok lifts the album limit")
            + ")"
        )
    return EXIT_OK


def cmd_export(args: argparse.Namespace, library: Library) -> int:
    out = Path(args.out).expanduser()
    fmt = args.format or out.suffix.lstrip(".").lower()
    if fmt not in ("csv", "json"):
        raise UsageError(f"--out {args.out}: name a .csv or .json file (or give --format)")
    if not out.parent.exists():
        raise UsageError(f"--out {args.out}: no such folder {out.parent}")
    n = export.write_export(
        library, out, fmt=fmt, top_k=args.top, min_confidence=args.min_confidence
    )
    print(f"exported {n} tracks with up to {args.top} proposed tags each to {out} ({fmt.upper()})")
    return EXIT_OK


def cmd_learn(args: argparse.Namespace, library: Library) -> int:
    """Learn from the library's own tags, guarded as the window's Learn dialog (app.learn):
    the offer first, a refusal when it cannot teach anything, then the comparison."""
    from app import db, learn

    offer = learn.library_offer(library.tracks(), args.fields)
    print(offer.summary())
    if not offer.can_learn:
        err(f"cannot learn: {offer.reasons[0]}")
        return EXIT_ERROR
    for reason in offer.reasons:
        print(f"note: {reason}")
    if args.check:
        return EXIT_OK
    db_path = Path(args.db).expanduser() if args.db else db.default_db_path()
    work = learn.prepare_work(offer, learn.default_work_dir(db_path.parent / "models"))
    clock = learn.StageClock()
    last: list[Any] = [0.0, ""]  # when and which stage was last reported

    def report(stage: str, done: int, total: int) -> None:
        eta = clock.update(stage, done, total)
        now = time.monotonic()
        if stage != last[1] or done >= total or now - last[0] >= 2.0:
            last[:] = [now, stage]
            err(learn.progress_text(stage, done, total, eta))

    result = learn.run_learning(work, args.epochs, args.device, db_path, report)
    print(result.sentence())
    print(result.details())
    print(
        f"{'use it' if result.recommended == 'yours' else 'to use it anyway'}: "
        f"{PROG} --model {result.model_dir} scan"
    )
    return EXIT_OK


# --- parser -----------------------------------------------------------------------------------


def _field(value: str) -> str:
    try:
        return check_field(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _whole_number(value: str, minimum: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < minimum:
        raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {number}")
    return number


def _positive(value: str) -> int:
    return _whole_number(value, 1)


def _count(value: str) -> int:
    return _whole_number(value, 0)


def _add_globals(p: argparse.ArgumentParser, top_level: bool) -> None:
    """The global options, accepted before or after the subcommand (SUPPRESS keeps a
    subcommand's unset option from overwriting one given before it)."""

    def default(value: Any) -> Any:
        return value if top_level else argparse.SUPPRESS

    p.add_argument(
        "--db",
        default=default(None),
        metavar="PATH",
        help="library index file (default: $ZSL_TAGGER_DB, else the user data folder)",
    )
    for option in (MODEL, VECTORS, DEVICE, PRECISION):
        add_to_parser(p, option, default=default(option.default))
    p.add_argument(
        "--debug",
        action="store_true",
        default=default(False),
        help="show the full traceback on errors",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Tag a music library from the audio with zero-shot words: scan, search, "
        "propose tags, write them safely with undo. No arguments: the desktop app "
        "(`zsl-tagger gui [--db FILE] [--settings FILE] [FOLDER]` opens it with options).",
        epilog="exit codes: 0 ok, 1 some files failed, 2 usage or setup error, 130 interrupted",
    )
    _add_globals(parser, top_level=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("scan", help="analyse new and changed audio files in folders")
    p.add_argument(
        "folders",
        nargs="*",
        metavar="DIR",
        help="folders or files (default: the folders scanned before)",
    )
    group = p.add_mutually_exclusive_group()
    add_to_parser(
        group,
        WINDOWS,
        type=_positive,
        help="analyse N evenly spaced 3-s windows per track (default 8; --full: all of it)",
    )
    group.add_argument("--full", action="store_true", help="analyse every track in full")
    p.add_argument(
        "--workers",
        type=_count,
        default=None,
        metavar="N",
        help="decoding processes (default: 2 when the model runs on the CPU, up to 8 on a "
        "GPU; 0: decode in this process)",
    )
    p.set_defaults(func=cmd_scan)

    p = sub.add_parser(
        "import",
        help="take `zsl-core embed` index parts (shards) into the library",
        description="Import index files written by `zsl-core embed` (e.g. the shards of a "
        "catalogue analysed on other machines) without decoding: rows whose file "
        "is here, unchanged, and made by this library's model.",
    )
    p.add_argument(
        "parts", nargs="+", metavar="INDEX", help="index files (.npz) from `zsl-core embed`"
    )
    p.add_argument(
        "--map",
        action="append",
        metavar="OLD=NEW",
        help="rewrite a path prefix of the parts to where the files are here (repeatable)",
    )
    p.add_argument(
        "--show",
        type=_count,
        default=20,
        metavar="N",
        help="list at most N files per kind not imported (default 20)",
    )
    p.set_defaults(func=cmd_import)

    p = sub.add_parser(
        "search",
        help="find tracks by text and sound: artist:NAME genre:rock -live calm",
        description="Words the model knows are sound words (ranked by how well the track "
        'sounds like them); other words, "quoted phrases" and field filters '
        "(artist: album: title: genre: mood: path:) match the tracks' text; "
        "-WORD excludes.",
    )
    p.add_argument("query")
    add_to_parser(p, TOP_HITS, type=_positive)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("tags", help="the seen and unseen tags proposed for indexed tracks")
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or folders (default: all)")
    add_to_parser(p, TOP_TAGS, type=_positive)
    p.add_argument(
        "--why",
        action="store_true",
        help="say for each proposed tag where its confidence comes from "
        "(a new word: the trained words it is read off)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_tags)

    p = sub.add_parser("write", help="write proposed tags into the files (journaled, undoable)")
    p.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="indexed files or folders (default: every analysed track)",
    )
    add_to_parser(p, FIELD, type=_field, default=None)
    p.add_argument(
        "--route",
        action="append",
        metavar="KIND=FIELD",
        help="send a kind of tag to a field (repeatable): kinds genre, mood, instrument, "
        "era, character, other; FIELD as for --field, or none. Default: genre=genre, "
        "mood=mood, the other kinds are not written",
    )
    add_to_parser(p, TOP_WRITE, type=_positive)
    for option in (MIN_SCORE, INCLUDE_OPTION, WRITE_MODE, ID3, SEPARATOR):
        add_to_parser(p, option)
    p.add_argument("--dry-run", action="store_true", help="print old -> new; write nothing")
    p.set_defaults(func=cmd_write)

    p = sub.add_parser("undo", help="put back the tags a write batch replaced")
    p.add_argument(
        "batch",
        nargs="?",
        type=int,
        default=None,
        metavar="BATCH",
        help="batch number from `history` (default: the latest not undone)",
    )
    p.set_defaults(func=cmd_undo)

    p = sub.add_parser("failed", help="list the files the scans could not read, with why")
    p.add_argument(
        "paths", nargs="*", metavar="PATH", help="only files under these folders (default: all)"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_failed)

    p = sub.add_parser("history", help="list the write batches, newest first")
    p.add_argument("--limit", type=_positive, default=50, metavar="N")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_history)

    p = sub.add_parser(
        "similar",
        help="tracks that sound like the given ones (more like this)",
        description="The library's tracks most similar by sound to one or several indexed "
        "tracks (from the stored analysis), leaving out their duplicates.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="indexed files or folders")
    add_to_parser(p, TOP_HITS, type=_positive)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_similar)

    p = sub.add_parser(
        "duplicates",
        help="list tracks stored several times (never deletes)",
        description="Groups of tracks that are the same recording: identical audio, or "
        "another format, bitrate, a trimmed or louder copy. Lists only.",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_duplicates)

    p = sub.add_parser(
        "playlist",
        help="an instant playlist from words, as M3U8 or XSPF",
        description="The tracks that best match a phrase (as `search`), with variety: at "
        "most --per-album tracks of one album or folder unless --same-album-ok.",
    )
    p.add_argument("phrase")
    p.add_argument("--count", type=_positive, default=30, metavar="N")
    p.add_argument("--out", required=True, metavar="FILE", help="playlist file (.m3u8, or .xspf)")
    p.add_argument("--xspf", action="store_true", help="write XSPF (also chosen by a .xspf name)")
    p.add_argument(
        "--relative", action="store_true", help="paths relative to the playlist's folder"
    )
    p.add_argument(
        "--per-album",
        type=_positive,
        default=2,
        metavar="N",
        help="at most N tracks of one album (or folder) (default 2)",
    )
    p.add_argument("--same-album-ok", action="store_true", help="no limit per album")
    p.set_defaults(func=cmd_playlist)

    p = sub.add_parser(
        "export",
        help="every track with its proposed tags, as CSV or JSON",
        description="Path, title, artist, album, current genre/mood and the proposed tags "
        "(kind, confidence) of every track, for other tools.",
    )
    p.add_argument("--out", required=True, metavar="FILE", help="a .csv or .json file")
    add_to_parser(p, EXPORT_FORMAT)
    add_to_parser(p, TOP_TAGS, type=_positive)
    add_to_parser(p, MIN_CONFIDENCE)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "learn",
        help="train a model on the library's own genre/mood tags, compared with the built-in one",
        description="Says what the library offers (tracks, distinct values) and refuses when it "
        "cannot teach anything; else trains (frozen musicnn features, only the heads train) and "
        "compares the new model with the built-in one on the same held-out tracks.",
    )
    p.add_argument(
        "--fields",
        type=lambda text: [f.strip() for f in text.split(",") if f.strip()],
        default=list(LEARN_FIELDS),
        metavar="F,F",
        help=f"tag fields to learn from (default {','.join(LEARN_FIELDS)})",
    )
    p.add_argument("--epochs", type=_positive, default=30, metavar="N", help="at most N epochs")
    p.add_argument("--check", action="store_true", help="only say what the library offers")
    p.set_defaults(func=cmd_learn)

    for p in sub.choices.values():
        _add_globals(p, top_level=False)
    return parser


def run_gui(argv: Sequence[str] | None) -> int:
    """No arguments: the desktop app, imported lazily so the CLI works without Qt."""
    try:
        from app.gui import main as gui_main
    except Exception as exc:  # missing Qt libraries raise ImportError or OSError
        err(
            f"cannot start the desktop app ({' '.join(str(exc).split())[:200]}); "
            f"see `{PROG} --help` for the command line"
        )
        return EXIT_ERROR
    return int(gui_main(list(argv) if argv is not None else []) or 0)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        return run_gui(argv)
    if (
        argv[0] == "gui"
    ):  # `zsl-tagger gui [--db FILE] [--settings FILE] [FOLDER]`: the window, with options
        return run_gui(argv[1:])
    args = build_parser().parse_args(argv)
    if args.debug:
        logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    else:  # the commands print their own summaries
        for name in ("zsl_core", "app"):
            logging.getLogger(name).addHandler(logging.NullHandler())
    library = None
    try:
        library = open_library(args)
        return int(args.func(args, library) or 0)
    except (ZslError, UsageError) as exc:
        if args.debug:
            raise
        err(f"error: {exc}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        err("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `zsl-tagger ... | head`: the reader has gone; nothing to report
        sys.stderr.close()
        return EXIT_OK
    except (OSError, ValueError) as exc:
        if args.debug:
            raise
        err(f"error: {' '.join(str(exc).split())}")
        return EXIT_ERROR
    finally:
        if library is not None:
            library.close()


if __name__ == "__main__":
    sys.exit(main())
