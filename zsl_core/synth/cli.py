"""`zsl-core synth` on the command line: progress lines on stderr, the summary on stdout."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zsl_core.synth.compose import DEFAULT_SECONDS
from zsl_core.synth.corpus import make_corpus
from zsl_core.synth.render import DEFAULT_GAIN
from zsl_core.synth.soundfont import SOUNDFONT_CANDIDATES


def cmd_synth(args: argparse.Namespace) -> int:
    report = make_corpus(
        args.out,
        args.tracks,
        seed=args.seed,
        seconds=args.seconds,
        soundfont=args.soundfont,
        workers=args.workers,
        gain=args.gain,
        progress=None if args.quiet else (lambda line: print(line, file=sys.stderr)),
    )
    print(report.summary())
    print(f"wrote {Path(args.out) / 'manifest.jsonl'}")
    if report.failed:
        return 2 if len(report.failed) == report.tracks else 1
    return 0


def add_command(sub: Any, add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Register `zsl-core synth` on the CLI's subparsers."""
    p = sub.add_parser(
        "synth",
        help="render a synthetic labelled corpus (FluidSynth + General MIDI soundfont): "
        "genres, moods, OpenMIC-style instruments",
    )
    p.add_argument("--out", required=True, help="corpus folder to write (resumable)")
    p.add_argument("--tracks", type=int, required=True, help="number of tracks")
    p.add_argument(
        "--seed", type=int, default=0, help="same seed -> same labels and MIDI (default 0)"
    )
    p.add_argument(
        "--soundfont", default=None, help=f"SF2 file (default: {SOUNDFONT_CANDIDATES[0]})"
    )
    p.add_argument(
        "--seconds",
        type=float,
        default=DEFAULT_SECONDS,
        help="clip length (default 10, like OpenMIC)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="parallel FluidSynth processes (default: CPU count)",
    )
    p.add_argument(
        "--gain", type=float, default=DEFAULT_GAIN, help="FluidSynth master gain (default 0.6)"
    )
    p.add_argument("--quiet", action="store_true")
    add_common(p)
    p.set_defaults(func=cmd_synth)
