"""The direction of every dependency, checked on the source (docs/ARCHITECTURE.md, "Module map").

Data flows one way: files -> audio -> embeddings -> scores -> tags -> metadata, and so do imports:
the science (`zsl_core`) knows nothing of the app, the app's library layer knows nothing of Qt, and
the GUI's controllers know nothing of widgets. A rule broken here is an architecture change, so it
fails the suite rather than drifting. Every import counts, also the ones inside functions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, root: Path = ROOT) -> set[str]:
    """Every module `path` imports, relative imports resolved to absolute names."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _module_name(path, root).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            found.add(stem)
            found.update(f"{stem}.{alias.name}" for alias in node.names)
    return found


def _sources(*folders: str, skip: tuple[str, ...] = ()) -> list[Path]:
    files: list[Path] = []
    for folder in folders:
        files.extend(sorted((ROOT / folder).rglob("*.py")))
    return [f for f in files if not any(f.relative_to(ROOT).as_posix().startswith(s) for s in skip)]


def _offenders(files: list[Path], forbidden: tuple[str, ...], root: Path = ROOT) -> list[str]:
    bad = []
    for path in files:
        for name in sorted(_imports(path, root)):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                bad.append(f"{path.relative_to(root).as_posix()} imports {name}")
    return bad


# the Qt-free library layer: every module and package directly under app/ but the GUI
_FACADE = tuple(
    f"app.{p.stem}"
    for p in sorted((ROOT / "app").iterdir())
    if p.stem not in ("__init__", "__pycache__", "gui") and (p.suffix == ".py" or p.is_dir())
)

# (who, what they must never import, why)
RULES = [
    (
        _sources("zsl_core"),
        ("app", "PySide6", "zsl_tagger_resources.gui"),
        "the science runs without the app and without Qt (researchers, the CLI, CI)",
    ),
    (
        # app/cli.py is the one entry point: `zsl-tagger gui` opens the window (a lazy import).
        _sources("app", skip=("app/gui/", "app/cli.py")),
        ("app.gui", "PySide6"),
        "the library layer (scan, write, undo, search) runs headless",
    ),
    (
        _sources("app/gui/controllers"),
        (
            "PySide6.QtWidgets",
            "PySide6.QtGui",
            "app.gui.main_window",
            "app.gui.track_panel",
            "app.gui.views",
            "app.gui.bindings",
        ),
        "controllers hold behaviour, views hold widgets: a controller is testable without a window",
    ),
    (
        _sources("app/gui/views"),
        (
            "app.gui.controllers",
            "app.gui.bindings",
            "app.gui.main_window",
            "app.gui.workers",
            "app.gui.settings",
            "zsl_core",
            *_FACADE,
        ),
        "views only assemble widgets: what they show is handed to them, they decide nothing",
    ),
    (
        _sources("app"),
        ("zsl_core.reproduce", "zsl_core.synth"),
        "the product never depends on the paper's research tooling",
    ),
]


@pytest.mark.parametrize(
    "files, forbidden, why", RULES, ids=["core", "app", "controllers", "views", "product"]
)
def test_no_import_against_the_grain(
    files: list[Path], forbidden: tuple[str, ...], why: str
) -> None:
    assert files, "the rule must look at some files"
    assert _offenders(files, forbidden) == [], why


def test_the_views_rule_names_the_facade():
    assert {"app.library", "app.journal", "app.scanner", "app.tagformats"} <= set(_FACADE)
    assert "app.gui" not in _FACADE


def test_the_checker_sees_imports_inside_functions_and_relative_ones(tmp_path: Path) -> None:
    probe = tmp_path / "app" / "probe.py"
    probe.parent.mkdir()
    probe.write_text(
        "import json\ndef f():\n    from .gui import main_window\n    import PySide6.QtWidgets\n",
        encoding="utf-8",
    )
    assert _offenders([probe], ("app.gui", "PySide6"), root=tmp_path) == [
        "app/probe.py imports PySide6.QtWidgets",
        "app/probe.py imports app.gui",
        "app/probe.py imports app.gui.main_window",
    ]
