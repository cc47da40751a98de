"""Where the shipped resources (default models, word vectors, vocabulary, icons) live.

In a source checkout or an editable install they are the repository's `resources/` folder;
in a normal install setuptools ships that folder as the `zsl_tagger_resources` package
(see pyproject.toml). Every module asks here instead of guessing paths.
"""

from __future__ import annotations

from importlib import resources as importlib_resources
from pathlib import Path


def resources_dir() -> Path:
    """The folder holding models/, vectors/, vocab/ and icons/."""
    checkout = Path(__file__).resolve().parent.parent / "resources"
    if (checkout / "models").is_dir():
        return checkout
    try:
        installed = Path(str(importlib_resources.files("zsl_tagger_resources")))
    except ModuleNotFoundError:
        return checkout
    return installed


def resource_path(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)
