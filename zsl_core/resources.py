"""Where the shipped resources (default models, word vectors, vocabulary, icons) live.

In a source checkout or an editable install they are the repository's `resources/` folder;
in a normal install setuptools ships that folder as the `zsl_tagger_resources` package
(see pyproject.toml). Every module asks here instead of guessing paths.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path


def resources_dir() -> Path:
    """The folder holding models/, vectors/, vocab/ and icons/."""
    checkout = Path(__file__).resolve().parent.parent / "resources"
    if (checkout / "models").is_dir():
        return checkout
    # resources/ has no __init__.py, so the installed copy is a namespace package: ask the
    # import system where it lives rather than importlib.resources (which wraps the path).
    spec = importlib.util.find_spec("zsl_tagger_resources")
    if spec is None or not spec.submodule_search_locations:
        return checkout
    return Path(list(spec.submodule_search_locations)[0])


def resource_path(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)
