"""Entry point of the PyInstaller bundle: the same `zsl-tagger` command the pip install gives."""

import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())
