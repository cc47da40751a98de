"""app.options: the `zsl-tagger` command line takes every declared option with its declared
default and choices, and agrees with `zsl-core` on the options the two trees share."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from app import journal, tagwriter
from app.cli import build_parser
from app.options import (
    BY_KIND,
    DEVICE,
    DEVICES,
    EXPORT_FORMAT,
    FIELD,
    ID3,
    INCLUDE,
    INCLUDE_OPTION,
    MIN_CONFIDENCE,
    MIN_SCORE,
    MODEL,
    PRECISION,
    PRECISIONS,
    SEPARATOR,
    TOP_HITS,
    TOP_TAGS,
    TOP_WRITE,
    VECTORS,
    WRITE_MODE,
    WRITE_MODES,
    field_setting,
)
from zsl_core.cli import build_parser as build_core_parser
from zsl_core.tags import PROPOSE_FLOOR


def walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from walk(sub, (*path, name))
        else:
            yield path, action


def actions(parser: argparse.ArgumentParser, flag: str) -> dict[tuple[str, ...], argparse.Action]:
    return {path: a for path, a in walk(parser) if flag in a.option_strings}


GLOBALS = (MODEL, VECTORS, DEVICE, PRECISION)


@pytest.mark.parametrize("option", GLOBALS, ids=lambda o: o.name)
def test_globals_have_the_declared_default_and_choices_everywhere(option):
    found = actions(build_parser(), option.cli_flag)
    commands = {path for path in found if path}
    assert {("scan",), ("search",), ("write",), ("export",)} <= commands
    for path, action in found.items():
        if option.choices is not None:
            assert action.choices is not None, path
            assert list(action.choices) == list(option.choices), path
        # top level: the declared default; after the subcommand: SUPPRESS (keeps the first)
        assert action.default == (option.default if not path else argparse.SUPPRESS), path
    assert getattr(build_parser().parse_args(["scan"]), option.name) == option.default


def test_global_given_before_or_after_the_command():
    assert build_parser().parse_args(["--device", "cpu", "scan"]).device == "cpu"
    assert build_parser().parse_args(["scan", "--precision", "bf16"]).precision == "bf16"


@pytest.mark.parametrize(
    "command, option, default",
    [
        (["search", "q"], TOP_HITS, 20),
        (["similar", "a.mp3"], TOP_HITS, 20),
        (["tags"], TOP_TAGS, 5),
        (["export", "--out", "x.csv"], TOP_TAGS, 5),
        (["write"], TOP_WRITE, 3),
        (["write"], MIN_SCORE, None),
        (["write"], INCLUDE_OPTION, "both"),
        (["write"], WRITE_MODE, "merge"),
        (["write"], ID3, "keep"),
        (["write"], SEPARATOR, "; "),
        (["export", "--out", "x.csv"], EXPORT_FORMAT, None),
        (["export", "--out", "x.csv"], MIN_CONFIDENCE, None),
    ],
)
def test_command_options_have_the_declared_default(command, option, default):
    assert option.default == default
    action = actions(build_parser(), option.cli_flag)[(command[0],)]
    assert action.default == default
    if option.choices is not None:
        assert action.choices is not None
        assert list(action.choices) == list(option.choices)
    assert getattr(build_parser().parse_args(command), action.dest) == default


def test_write_field_defaults_to_routing_by_kind():
    action = actions(build_parser(), FIELD.cli_flag)[("write",)]
    assert action.default is None  # None: each kind to its own field (app.routing)
    assert build_parser().parse_args(["write", "--field", "custom:Energy"]).field == "custom:Energy"


def test_top_must_be_positive(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["search", "q", "--top", "0"])
    assert "at least 1" in capsys.readouterr().err


def test_choice_lists_are_shared_with_the_code_that_checks_them():
    assert WRITE_MODES == ("merge", "replace") == tagwriter.MODES == journal.MODES
    assert INCLUDE == ("both", "seen", "unseen")
    assert f"{PROPOSE_FLOOR:g}" in MIN_SCORE.help


@pytest.mark.parametrize("flag", ["--device", "--precision", "--model", "--vectors"])
def test_both_trees_agree_on_shared_options(flag):
    app_actions = list(actions(build_parser(), flag).values())
    # `zsl-core train --model` is another option (embedding or classification) under that flag
    core = actions(build_core_parser(), flag)
    core_actions = [a for path, a in core.items() if (flag, path) != ("--model", ("train",))]
    assert app_actions and core_actions
    for action in app_actions + core_actions:
        choices = None if action.choices is None else tuple(action.choices)
        assert choices == {"--device": DEVICES, "--precision": PRECISIONS}.get(flag)


def test_field_setting():
    assert field_setting("") == BY_KIND
    assert field_setting("grouping") == "grouping"
    assert field_setting("custom:Energy") == "custom:Energy"
    with pytest.raises(ValueError):
        field_setting("colour")
    assert FIELD.coerce("colour") == BY_KIND
