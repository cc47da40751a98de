"""Options declared once: name, type, default, choices and help, read by every front end.

Why: the same choice (device, precision, how many tags, which word space) is offered by the
`zsl-core` and `zsl-tagger` command lines, kept in the desktop app's QSettings and shown in its
Settings dialog. Each used to carry its own copy of the list and the default, and copies drift.
An `Option` is the one declaration; `add_to_parser` puts it on an argparse parser and
`Option.coerce` turns a stored value (QSettings hands back strings, or junk from an edited INI
file) into the declared type, or the default when it is not a valid value: a bad stored value
never stops the program.

The core's options live here; the desktop program's own (write routing, ID3 version, ...) are
in `app/options.py`, made of the same `Option`. zsl_core never imports app.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar, get_args

__all__ = [
    "Device",
    "Precision",
    "DEVICES",
    "PRECISIONS",
    "Option",
    "add_to_parser",
    "boolean",
    "DEVICE",
    "PRECISION",
    "MODEL",
    "VECTORS",
    "WINDOWS",
    "PREDICT_TOP",
    "SEARCH_TOP",
]

T = TypeVar("T")

Device = Literal["auto", "cpu", "cuda"]  # auto: a CUDA GPU when there is one, else the CPU
Precision = Literal["fp32", "bf16", "auto"]  # auto: bf16 where the CPU multiplies bf16 natively
DEVICES: tuple[Device, ...] = get_args(Device)
PRECISIONS: tuple[Precision, ...] = get_args(Precision)

_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0", ""})


def boolean(value: object) -> bool:
    """A stored flag as a bool: QSettings' INI backend returns "true"/"false" strings."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"not a yes/no value: {value!r}")


@dataclass(frozen=True)
class Option(Generic[T]):
    """One user-facing option.

    name: the key it is stored under (QSettings) and the Python name it stands for.
    type: turns a typed or stored value into the option's type (raises ValueError/TypeError).
    default: the value when nothing (or nothing valid) is given.
    choices: the only values allowed, in the order menus show them (None: any value of `type`).
    low / high: numbers are clamped into [low, high] when read back from storage; on a command
        line they are the caller's argparse type's business (friendlier errors).
    flag: the command-line flag (default: "--" + name with dashes).
    """

    name: str
    type: Callable[[Any], T]
    default: T
    choices: tuple[T, ...] | None = None
    help: str = ""
    low: float | None = None
    high: float | None = None
    flag: str | None = None
    metavar: str | None = None

    @property
    def cli_flag(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")

    def parse(self, value: object) -> T:
        """`value` as the option's type; ValueError when it is not a valid value."""
        try:
            parsed = self.type(value)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{self.name}: {exc}") from None
        if self.choices is not None and parsed not in self.choices:
            shown = ", ".join(str(c) for c in self.choices)
            raise ValueError(f"{self.name}: {value!r} is not one of {shown}")
        return parsed

    def coerce(self, value: object) -> T:
        """A stored value as the option's type: numbers clamped into [low, high], anything
        that does not parse (or, clamped, is not a choice) replaced by the default. Never
        raises: what an edited or old settings file holds must not stop the program."""
        if value is None:
            return self.default
        try:
            parsed = self.type(value)
        except (TypeError, ValueError, OverflowError):
            return self.default
        if isinstance(parsed, (int, float)) and not isinstance(parsed, bool):
            if parsed != parsed:  # NaN
                return self.default
            if self.low is not None and parsed < self.low:
                parsed = type(parsed)(self.low)
            if self.high is not None and parsed > self.high:
                parsed = type(parsed)(self.high)
        if self.choices is not None and parsed not in self.choices:
            return self.default
        return parsed


_UNSET: Any = object()


def add_to_parser(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    option: Option[Any],
    *,
    default: Any = _UNSET,
    help: str | None = None,
    **extra: Any,
) -> argparse.Action:
    """Add `option` to an argparse parser with its declared flag, choices, default and help.

    `default` overrides the declared default where a command means something else by leaving
    the option out (None: "the model's own", argparse.SUPPRESS: "keep what a parent parser
    set"); `extra` goes to `add_argument` as it is (type=, metavar=, dest=...)."""
    kwargs: dict[str, Any] = {
        "default": option.default if default is _UNSET else default,
        "help": option.help if help is None else help,
    }
    if option.choices is not None:
        kwargs["choices"] = list(option.choices)
    elif option.type not in (str, boolean):
        kwargs["type"] = option.type
    if option.metavar is not None:
        kwargs["metavar"] = option.metavar
    kwargs.update(extra)
    if not kwargs["help"]:
        del kwargs["help"]
    return parser.add_argument(option.cli_flag, **kwargs)


# --- the core's options -----------------------------------------------------------------------

DEVICE: Option[str] = Option(
    "device",
    str,
    "auto",
    DEVICES,
    help="where the model runs: auto (a CUDA GPU when there is one, else the CPU), cpu, cuda",
)
PRECISION: Option[str] = Option(
    "precision",
    str,
    "fp32",
    PRECISIONS,
    help="the built-in model's arithmetic: fp32 (default), bf16 (~1.5x faster scans on CPUs "
    "with native bf16), auto; results are stored per precision, and a library imports only "
    "parts made with its own",
)
MODEL: Option[str] = Option(
    "model", str, "default", help="'default' (built in) or a folder written by `zsl-core train`"
)
VECTORS: Option[str | None] = Option(
    "vectors",
    str,
    None,
    help="the word space for new words and search: minilm (built in), glove (built-in GloVe "
    "6B 50-d), or a word-vectors file (GloVe, word2vec, fastText); default: the model's own "
    "(minilm for the built-in model)",
    metavar="PATH",
)
WINDOWS: Option[int | None] = Option(
    "windows",
    int,
    None,
    help="analyse N evenly spaced 3-s windows per track (faster); default: the whole track",
    low=1,
    metavar="N",
)
PREDICT_TOP: Option[int] = Option(
    "top", int, 10, help="seen and unseen tags shown per file", low=1, metavar="K"
)
SEARCH_TOP: Option[int] = Option("top", int, 10, help="tracks listed", low=1, metavar="K")
