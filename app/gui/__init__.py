"""The zsl-tagger desktop app (PySide6). `main(argv)` opens the window; `zsl-tagger` with no
arguments calls it (app/cli.py).

    zsl-tagger                     the app, with the library index in the user data folder
    python -m app.gui --db FILE    another index (and --settings FILE for another settings file)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import cast

__all__ = ["main", "create_app"]

DESKTOP_ID = "org.zsltagger.ZslTagger"


def create_app():
    """The QApplication, named so the desktop entry (StartupWMClass=zsl-tagger) matches the window."""
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from zsl_core.resources import resource_path

    existing = QApplication.instance()
    if existing is None:
        app = QApplication([sys.argv[0] if sys.argv else "zsl-tagger"])
    else:
        app = cast(QApplication, existing)  # this program makes only a QApplication
    app.setApplicationName("zsl-tagger")
    app.setOrganizationName("zsl-tagger")
    app.setApplicationDisplayName("zsl-tagger")
    app.setDesktopFileName(DESKTOP_ID)
    icon = resource_path("icons", "zsl-tagger.svg")
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))
    return app


def main(argv: Sequence[str] | None = None) -> int:
    """Open the main window and run until it closes; returns the exit code."""
    parser = argparse.ArgumentParser(prog="zsl-tagger", description="the zsl-tagger desktop app")
    parser.add_argument(
        "--db", help="library index file (default: $ZSL_TAGGER_DB or the user data folder)"
    )
    parser.add_argument("--settings", help="settings file (INI) instead of the user's")
    parser.add_argument("folder", nargs="?", help="a music folder to add and scan")
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))

    app = create_app()
    from app.gui.main_window import MainWindow
    from app.gui.settings import Settings

    window = MainWindow(Settings(args.settings), db_path=args.db)
    window.show()
    if args.folder:
        window.add_folder(args.folder)
    return int(app.exec())
