"""The README documents every command of the CLI and every one of their options, and every
argument explains itself in ``--help``."""

from __future__ import annotations

import argparse
import re

import pytest

from tmt.cli import build_parser

from conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def commands() -> dict[str, argparse.ArgumentParser]:
    """Every command by name, and the actions of those that have some (``sweep start``)."""
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    found = {}
    for name, command in sub.choices.items():
        actions = [a for a in command._actions if isinstance(a, argparse._SubParsersAction)]
        for action in actions:
            found.update({f"{name} {n}": p for n, p in action.choices.items()})
        if not actions:
            found[name] = command
    return found


def arguments(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [
        a
        for a in parser._actions
        if not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction))
    ]


def readme_row(command: str) -> str:
    """The row of the README's command table that documents ``tmt COMMAND``."""
    for line in README.splitlines():
        first = line.split("|")[1] if line.startswith("|") else ""
        if re.search(rf"`tmt {re.escape(command)}\b", first):
            return line
    raise AssertionError(f"the README's command table has no row for tmt {command}")


class TestTheReadme:
    """Documents each command in its table, with every option the command takes."""

    @pytest.mark.parametrize("command", sorted(commands()))
    def test_every_option_of_every_command(self, command: str) -> None:
        row = readme_row(command)
        for action in arguments(commands()[command]):
            longest = max(action.option_strings, key=len, default=None)
            if longest is not None:
                assert f"`{longest}" in row or f"{longest}`" in row or f"{longest} " in row, (
                    f"tmt {command} {longest} is not in its README row"
                )

    def test_the_options_every_command_takes(self) -> None:
        for action in arguments(build_parser()):
            for option in action.option_strings:
                if option != "--version":
                    assert f"`{option} " in README or f"`{option}`" in README, option


class TestHelp:
    """Every argument and option of every command says what it is for."""

    @pytest.mark.parametrize("command", sorted(commands()))
    def test_every_argument_has_help(self, command: str) -> None:
        parser = commands()[command]
        assert parser.description, f"tmt {command} has no description"
        for action in arguments(parser):
            assert action.help and action.help != argparse.SUPPRESS, (
                f"tmt {command} {action.dest} has no help text"
            )

    def test_the_global_options_have_help(self) -> None:
        for action in arguments(build_parser()):
            assert action.help, action.dest
