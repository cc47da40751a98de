"""Every benchmark script still imports and parses its options (`--help`), against today's code.

The suite never runs the benchmarks themselves (minutes each, some need real music, a GPU or
root), so a refactor that renames what one imports went unnoticed until someone ran it. These
checks catch that at once: each script is imported and its `main()` run with `--help` (argparse
prints the usage and exits 0 before any work). What a script calls after parsing is checked by
mypy (the benchmarks are in the type gate). One fresh interpreter holds them all: the scripts
put folders on sys.path and bench_gui holds a large ballast list, which must not leak into the
suite's process; torch is imported once for all of them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SCRIPTS = sorted(p.stem for p in HERE.glob("*.py") if not p.name.startswith("test_"))

# Imports each module named on the command line, runs its main() with --help and prints
# {name: "ok" | what went wrong} as JSON on the last line.
DRIVER = r"""
import contextlib, importlib, io, json, sys

outcome = {}
for name in sys.argv[1:]:
    shown = io.StringIO()
    try:
        module = importlib.import_module(name)
        sys.argv = [name + ".py", "--help"]
        with contextlib.redirect_stdout(shown):
            module.main()
        outcome[name] = "main() ran instead of printing its usage"
    except SystemExit as exc:
        usage = "usage:" in shown.getvalue()
        outcome[name] = "ok" if exc.code in (0, None) and usage else f"exit {exc.code!r}"
    except BaseException as exc:
        outcome[name] = f"{type(exc).__name__}: {exc}"
print(json.dumps(outcome))
"""


def test_the_benchmark_scripts_are_found():
    assert {"bench_library", "bench_gui", "bench_gpu_scan", "ddp_smoke", "plot_scaling"} <= set(
        SCRIPTS
    )


def test_every_benchmark_script_imports_and_shows_its_usage():
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT)]),
        "QT_QPA_PLATFORM": "offscreen",
    }
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER, *SCRIPTS],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    outcome = json.loads(proc.stdout.strip().splitlines()[-1])
    assert outcome == dict.fromkeys(SCRIPTS, "ok"), proc.stderr[-2000:]


def test_gpu_check_parses_and_shows_its_usage():
    syntax = subprocess.run(
        ["bash", "-n", str(HERE / "gpu_check.sh")], capture_output=True, text=True
    )
    assert syntax.returncode == 0, syntax.stderr
    usage = subprocess.run(
        ["bash", str(HERE / "gpu_check.sh"), "--help"], capture_output=True, text=True, timeout=30
    )
    assert usage.returncode == 0, usage.stderr
    assert "gpu_check.sh --device cpu --quick" in usage.stdout
