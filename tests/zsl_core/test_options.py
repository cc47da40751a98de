"""zsl_core.options: every declared option reaches the `zsl-core` command line with its declared
default and choices, and stored values are read back as their type or the default."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from zsl_core.cli import build_parser
from zsl_core.options import (
    DEVICE,
    DEVICES,
    MODEL,
    PRECISION,
    PRECISIONS,
    PREDICT_TOP,
    SEARCH_TOP,
    VECTORS,
    WINDOWS,
    Option,
    add_to_parser,
    boolean,
)


def walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple]:
    """(command path, action) for every option of the parser and its subcommands."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from walk(sub, (*path, name))
        else:
            yield path, action


def actions(flag: str) -> dict[tuple[str, ...], argparse.Action]:
    return {path: a for path, a in walk(build_parser()) if flag in a.option_strings}


def test_literal_choices_are_the_declared_tuples():
    assert DEVICES == ("auto", "cpu", "cuda")
    assert PRECISIONS == ("fp32", "bf16", "auto")
    assert DEVICE.choices == DEVICES and PRECISION.choices == PRECISIONS


def test_every_device_option_has_the_declared_choices():
    found = actions("--device")
    assert {("predict",), ("embed",), ("train",)} <= set(found)
    for path, action in found.items():
        assert action.choices is not None, path
        assert list(action.choices) == list(DEVICES), path
        # train leaves it to the training config (None); everything else defaults to auto
        assert action.default == (None if path == ("train",) else DEVICE.default), path


def test_precision_option_is_declared_once():
    found = actions("--precision")
    assert set(found) == {("embed",)}
    choices = found[("embed",)].choices
    assert choices is not None and list(choices) == list(PRECISIONS)
    assert found[("embed",)].default == PRECISION.default == "fp32"


@pytest.mark.parametrize(
    "command, option, default",
    [
        (("predict",), PREDICT_TOP, 10),
        (("search",), SEARCH_TOP, 10),
        (("predict",), WINDOWS, None),
        (("embed",), WINDOWS, None),
        (("predict",), MODEL, "default"),
        (("embed",), MODEL, "default"),
        (("predict",), VECTORS, None),
        (("embed",), VECTORS, None),
        (("search",), VECTORS, None),
    ],
)
def test_declared_defaults_reach_the_parser(command, option, default):
    action = actions(option.cli_flag)[command]
    assert option.default == default
    assert action.default == default
    args = build_parser().parse_args(
        {
            ("predict",): ["predict", "a.wav"],
            ("embed",): ["embed", "a.wav", "--out", "x.npz"],
            ("search",): ["search", "q", "--index", "x.npz"],
        }[command]
    )
    assert getattr(args, action.dest) == default


def test_search_model_default_is_the_index_model():
    assert actions("--model")[("search",)].default is None


def test_bad_choice_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["embed", "a.wav", "--out", "x.npz", "--precision", "fp16"])
    assert exc.value.code == 2
    assert "fp32" in capsys.readouterr().err


def test_top_parses_as_int():
    args = build_parser().parse_args(["predict", "a.wav", "--top", "7"])
    assert args.top == 7


@pytest.mark.parametrize(
    "stored, expected",
    [(None, "auto"), ("cpu", "cpu"), ("cuda", "cuda"), ("gpu", "auto"), ("", "auto"), (3, "auto")],
)
def test_coerce_choice_falls_back_to_default(stored, expected):
    assert DEVICE.coerce(stored) == expected


def test_coerce_numbers_clamps_and_falls_back():
    top = Option("top_k", int, 5, low=1, high=50)
    assert top.coerce("7") == 7
    assert top.coerce(7) == 7
    assert top.coerce("0") == 1
    assert top.coerce("999") == 50
    assert top.coerce("seven") == 5
    assert top.coerce("5.5") == 5  # not a whole number: the default, as the old reader did
    assert top.coerce(["1", "2"]) == 5
    assert top.coerce(None) == 5
    rate = Option("rate", float, 0.5, low=0.0, high=1.0)
    assert rate.coerce("nan") == 0.5
    assert rate.coerce("2") == 1.0


def test_coerce_clamps_before_checking_choices():
    version = Option("id3_version", int, 4, (4, 3), low=3, high=4)
    assert version.coerce("2") == 3
    assert version.coerce("9") == 4
    assert version.coerce("x") == 4


def test_parse_raises_on_bad_values():
    with pytest.raises(ValueError, match="not one of"):
        PRECISION.parse("fp16")
    assert PRECISION.parse("bf16") == "bf16"


@pytest.mark.parametrize(
    "value, expected", [("true", True), ("1", True), (True, True), ("false", False), ("0", False)]
)
def test_boolean(value, expected):
    assert boolean(value) is expected


def test_boolean_rejects_other_text():
    with pytest.raises(ValueError):
        boolean("maybe")
    flag = Option("flag", boolean, False)
    assert flag.coerce("maybe") is False
    assert flag.coerce("TRUE") is True


def test_add_to_parser_overrides():
    parser = argparse.ArgumentParser()
    add_to_parser(parser, DEVICE, default=argparse.SUPPRESS)
    add_to_parser(parser, PREDICT_TOP, help="custom")
    assert not hasattr(parser.parse_args([]), "device")
    assert parser.parse_args([]).top == 10
    assert parser.parse_args(["--device", "cpu", "--top", "3"]).device == "cpu"
    helps = {a.dest: a.help for a in parser._actions}
    assert helps["top"] == "custom"
    assert helps["device"] == DEVICE.help
