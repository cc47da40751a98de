"""Entry point of the PyInstaller bundle: the same `zsl-tagger` command the pip install gives."""

import multiprocessing
import sys

from app.cli import main

if __name__ == "__main__":
    # The scanner decodes in 'spawn' worker processes; in a frozen bundle each worker re-runs this
    # executable, and freeze_support() turns that run into the worker instead of a second app.
    multiprocessing.freeze_support()
    sys.exit(main())
