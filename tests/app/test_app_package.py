"""Importing the app package limits numpy's BLAS pool (it starved torch's search; PERFORMANCE.md)."""

import os
import subprocess
import sys


def _blas_setting(env: dict) -> str:
    code = "import app, os; print(os.environ.get('OPENBLAS_NUM_THREADS'))"
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout.strip()


def test_importing_app_sets_one_blas_thread_unless_the_user_chose():
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    assert _blas_setting(env) == "1"
    assert _blas_setting({**env, "OPENBLAS_NUM_THREADS": "3"}) == "3"
