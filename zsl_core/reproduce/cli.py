"""`zsl-core reproduce` on the command line: progress lines and the tables on stdout."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from zsl_core.errors import DatasetError
from zsl_core.options import DEVICE, add_to_parser
from zsl_core.reproduce.design import EXPERIMENTS
from zsl_core.reproduce.presets import PRESETS
from zsl_core.reproduce.run import reproduce
from zsl_core.reproduce.tables import markdown_tables

PACKAGE_LOGGER = "zsl_core.reproduce"  # every module's logger is a child of this one


def parse_seeds(text: str | None) -> list[int] | None:
    if not text:
        return None
    try:
        seeds = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise DatasetError(f"--seeds must be comma-separated integers, got {text!r}") from None
    if any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise DatasetError(f"--seeds must be distinct non-negative integers, got {text!r}")
    return seeds


@contextmanager
def progress_on_stdout() -> Iterator[None]:
    """While a command runs, the package's log lines (progress, skipped experiments, failed
    tracks and models) are printed bare on stdout, as the command always printed them."""
    logger = logging.getLogger(PACKAGE_LOGGER)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    old_level, old_propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        logger.propagate = old_propagate


def cmd_reproduce(args: argparse.Namespace) -> int:
    overrides = {"epochs": args.epochs} if args.epochs is not None else {}
    experiments = tuple(x.strip() for x in args.experiments.split(",") if x.strip())
    unknown = [x for x in experiments if x not in EXPERIMENTS]
    if unknown or not experiments:
        raise DatasetError(
            f"--experiments takes {','.join(EXPERIMENTS)} (comma-separated), got {args.experiments!r}"
        )
    with progress_on_stdout():
        results = reproduce(
            args.corpus,
            args.out,
            preset=args.preset,
            seeds=parse_seeds(args.seeds),
            device=args.device,
            overrides=overrides,
            experiments=experiments,
            progress=not args.quiet,
        )
    print(markdown_tables(results))
    print(
        f"wrote {Path(args.out) / 'results.json'}, tables.md, case_studies.md, figures/ "
        f"in {results['timing']['total']:.0f} s"
    )
    return 0


def register(sub: Any) -> None:
    """Add `reproduce` to the zsl-core subcommands (called from cli.build_parser)."""
    p = sub.add_parser(
        "reproduce", help="run the paper's experiments, controls and case studies on a corpus"
    )
    p.add_argument(
        "corpus",
        help="corpus folder (manifest + genres.csv/corpus.json, e.g. from `zsl-core synth`)",
    )
    p.add_argument(
        "--out", required=True, help="folder for results.json, tables.md, case_studies.md, figures/"
    )
    p.add_argument(
        "--preset",
        default="quick",
        choices=sorted(PRESETS),
        help="quick: frozen musicnn features + trained heads (CPU minutes); full: the paper's CNN "
        "and recipe on mel spectrograms (hours on a CPU, use a GPU)",
    )
    p.add_argument("--seeds", default=None, help="comma-separated seeds (default 0,1,2)")
    add_to_parser(p, DEVICE)
    p.add_argument("--epochs", type=int, default=None, help="override the preset's maximum epochs")
    p.add_argument(
        "--experiments",
        default=",".join(EXPERIMENTS),
        help="which experiments to run: exp1 (genres + instrument attributes from the manifest), "
        "exp1-recipe (genres + the corpus's genres.csv table), exp2 (tags + GloVe)",
    )
    p.add_argument("--quiet", action="store_true")
    p.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the full traceback on errors",
    )
    p.set_defaults(func=cmd_reproduce)
