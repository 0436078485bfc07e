"""New values for the flags of a recorded command line (``tmt rerun NAME=VALUE``)."""

from __future__ import annotations

import pytest

from tmt.errors import ArgumentError
from tmt.flags import is_flag, options, override

PARSER = {
    "options": [
        {"flags": ["-l", "--lr"], "dest": "lr", "values": 1},
        {"flags": ["--batch-size"], "dest": "batch_size", "values": 1},
        {"flags": ["--layers"], "dest": "layers", "values": "+"},
        {"flags": ["--size"], "dest": "size", "values": 2},
        {"flags": ["--amp"], "dest": "amp", "values": 0, "sets": True},
        {"flags": ["--no-cache"], "dest": "cache", "values": 0, "sets": False},
        {"flags": ["--shuffle", "--no-shuffle"], "dest": "shuffle", "values": 0, "sets": True},
        {"flags": ["-v"], "dest": "verbose", "values": 0},
        {"flags": ["--eps"], "dest": "eps", "values": "?"},
    ],
    "positionals": ["data"],
}


class TestReplacing:
    """A value given on the command line is replaced where it was, in the form it was given."""

    def test_flag_then_value(self) -> None:
        assert override(["--lr", "0.1", "--epochs", "3"], {"lr": "0.2"}) == [
            "--lr",
            "0.2",
            "--epochs",
            "3",
        ]

    def test_flag_equals_value(self) -> None:
        assert override(["--lr=0.1", "x"], {"lr": "0.2"}) == ["--lr=0.2", "x"]

    def test_every_occurrence_becomes_one(self) -> None:
        assert override(["--lr", "1", "--lr=2", "a"], {"lr": "3"}) == ["--lr", "3", "a"]

    def test_a_negative_number_is_a_value(self) -> None:
        assert override(["--shift", "-1.5", "--x", "-2"], {"shift": "-3"}) == [
            "--shift",
            "-3",
            "--x",
            "-2",
        ]

    def test_dashes_and_underscores_are_one_name(self) -> None:
        args = ["--batch-size", "32"]
        for name in ("batch_size", "batch-size", "--batch-size"):
            assert override(args, {name: "64"}) == ["--batch-size", "64"]

    def test_the_parsers_name_for_a_flag(self) -> None:
        assert override(["-l", "0.1"], {"lr": "0.2"}, PARSER) == ["-l", "0.2"]

    def test_values_after_a_double_dash_are_not_flags(self) -> None:
        assert override(["--lr", "1", "--", "--lr", "9"], {"lr": "2"}) == [
            "--lr",
            "2",
            "--",
            "--lr",
            "9",
        ]

    def test_several_values(self) -> None:
        args = ["--layers", "64", "64", "--lr", "1"]
        assert override(args, {"layers": "128 32 8"}, PARSER) == [
            "--layers",
            "128",
            "32",
            "8",
            "--lr",
            "1",
        ]

    def test_a_fixed_number_of_values(self) -> None:
        assert override(["--size", "1", "2"], {"size": "3 4"}, PARSER) == ["--size", "3", "4"]
        with pytest.raises(ArgumentError, match="--size takes 2 values"):
            override(["--size", "1", "2"], {"size": "3"}, PARSER)

    def test_an_optional_value(self) -> None:
        assert override(["--eps", "--lr", "1"], {"eps": "0.1"}, PARSER) == [
            "--eps",
            "0.1",
            "--lr",
            "1",
        ]


class TestAdding:
    """A flag of the run's argparse parser that the command line did not give is added."""

    def test_added_at_the_end(self) -> None:
        assert override(["data.csv"], {"lr": "0.3"}, PARSER) == ["data.csv", "--lr", "0.3"]

    def test_added_before_a_double_dash(self) -> None:
        assert override(["--", "x"], {"batch_size": "8"}, PARSER) == [
            "--batch-size",
            "8",
            "--",
            "x",
        ]

    def test_not_without_a_parser(self) -> None:
        with pytest.raises(ArgumentError, match="'lr' is not a flag"):
            override(["data.csv"], {"lr": "0.3"})


class TestSwitches:
    """Switches take true or false, whichever flag sets what."""

    @pytest.mark.parametrize(
        ("args", "values", "expected"),
        [
            ([], {"amp": "true"}, ["--amp"]),
            (["--amp"], {"amp": "false"}, []),
            (["--amp", "x"], {"amp": "yes"}, ["--amp", "x"]),
            ([], {"cache": "false"}, ["--no-cache"]),
            (["--no-cache"], {"cache": "true"}, []),
            (["--no-shuffle"], {"shuffle": "on"}, ["--shuffle"]),
            ([], {"shuffle": "0"}, ["--no-shuffle"]),
            ([], {"v": "2"}, ["-v", "-v"]),
        ],
    )
    def test_switch(self, args: list[str], values: dict, expected: list[str]) -> None:
        assert override(args, values, PARSER) == expected

    def test_a_switch_seen_only_on_the_command_line(self) -> None:
        assert override(["--amp", "--lr", "1"], {"amp": "false"}) == ["--lr", "1"]

    def test_anything_else_is_an_error(self) -> None:
        with pytest.raises(ArgumentError, match="--amp is a switch: give it true or false"):
            override([], {"amp": "maybe"}, PARSER)


class TestUnknownNames:
    """A name that is no flag of the command says which flags it has, and why it is none."""

    def test_lists_the_flags(self) -> None:
        with pytest.raises(ArgumentError) as caught:
            override(["--lr", "1", "--epochs", "2"], {"momentum": "0.9"})
        message = str(caught.value)
        assert "'momentum' is not a flag of the recorded command" in message
        assert "(its flags: --epochs, --lr)" in message
        assert "set in code, not on the command line, cannot be overridden" in message

    def test_a_parameter_set_in_code(self) -> None:
        with pytest.raises(ArgumentError, match="'seed' is a parameter set in code"):
            override(["--lr", "1"], {"seed": "1"}, None, {"seed": 0, "lr": 1})

    def test_a_positional_argument(self) -> None:
        with pytest.raises(ArgumentError, match="'data' is a positional argument"):
            override(["x.csv"], {"data": "y.csv"}, PARSER)


class TestFlags:
    def test_numbers_are_not_flags(self) -> None:
        assert not any(is_flag(a) for a in ("-1", "-0.5", "-.5", "-1e-3", "-", "--", "x"))
        assert all(is_flag(a) for a in ("-v", "--lr", "--lr=1", "-e5x"))

    def test_the_flags_of_a_command(self) -> None:
        found = options(["--lr", "1", "--x=2", "-v", "--", "--after"], PARSER)
        shown = {o.shown for o in found}
        assert {"--lr", "--x", "--batch-size"} <= shown and "--after" not in shown

    def test_a_crafted_parser_record_is_ignored_where_wrong(self) -> None:
        crafted = {"options": [{"flags": "--lr", "dest": 3}, {"dest": "x", "flags": [1]}, "no"]}
        assert options(["--lr", "1"], crafted)[0].values is None
