"""The CLI's console: colour only on a terminal and never with NO_COLOR; tables fit."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from tmt.cli.console import Console
from tmt.display import width


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class TestColour:
    def test_on_a_terminal(self, monkeypatch) -> None:
        monkeypatch.delenv("NO_COLOR", raising=False)
        monkeypatch.setenv("TERM", "xterm")
        assert Console(FakeTerminal()).style("x", "red") == "\033[31mx\033[0m"

    def test_never_with_no_color(self, monkeypatch) -> None:
        monkeypatch.setenv("NO_COLOR", "1")
        assert Console(FakeTerminal()).style("x", "red") == "x"

    def test_never_in_a_pipe(self) -> None:
        assert Console(io.StringIO()).style("x", "red") == "x"


def terminal(width: int) -> tuple[Console, io.StringIO, io.StringIO]:
    """A console on a terminal ``width`` columns wide (uncoloured), and its stdout and stderr."""
    out, err = FakeTerminal(), io.StringIO()
    console = Console(out, err)
    console.width, console.color = width, False
    return console, out, err


NAMES = [
    ["実験", "1"],
    ["🚀 launch", "22"],
    ["👨\u200d👩\u200d👧 family", "3"],
    ["cafe\u0301", "4"],
]


class TestTable:
    def test_columns_align_by_the_columns_characters_take(self) -> None:
        piped = io.StringIO()
        for console, out, _ in (terminal(80), (Console(piped), piped, None)):
            console.table(["name", "n"], NAMES, right=[False, True])
            assert out.getvalue().splitlines() == [
                "name        n",
                "実験        1",
                "🚀 launch  22",
                "👨\u200d👩\u200d👧 family   3",
                "cafe\u0301        4",
            ]

    def test_piped_tables_are_never_cut(self) -> None:
        out = io.StringIO()
        Console(out).table(["name", "a"], [["x" * 200, "1"]])
        assert "x" * 200 in out.getvalue()

    def test_on_a_terminal_a_cell_is_cut_at_48_columns(self) -> None:
        console, out, _ = terminal(200)
        console.table(["name", "a"], [["x" * 60, "1"]])
        assert out.getvalue().splitlines()[1] == "x" * 47 + "…  1"

    def test_the_widest_columns_are_cut_to_fit_before_any_is_left_out(self) -> None:
        console, out, err = terminal(40)
        console.table(["name", "note", "n"], [["x" * 40, "y" * 20, "1"], ["実験" * 10, "z", "2"]])
        assert out.getvalue().splitlines() == [
            "name                note               n",
            "xxxxxxxxxxxxxxxxx…  yyyyyyyyyyyyyyyy…  1",
            "実験実験実験実験…   z                  2",
        ]
        assert err.getvalue() == ""

    def test_columns_that_do_not_fit_are_left_out_and_named_on_stderr(self) -> None:
        console, out, err = terminal(40)
        headers = ["name", "accuracy", "loss", "learning_rate", "momentum"]
        console.table(headers, [["x" * 30, "0.9", "0.1", "0.01", "0.9"]])
        assert out.getvalue().splitlines()[0].split() == ["name", "accuracy", "loss"]
        assert err.getvalue() == (
            "tmt: 2 columns did not fit in 40: learning_rate, momentum "
            "(widen the terminal, or pipe the output)\n"
        )

    def test_the_caller_names_the_options_that_show_what_was_left_out(self) -> None:
        console, _, err = terminal(20)
        console.table(["name", "lr"], [["x" * 30, "0.01"]], hint="--json or --csv")
        assert err.getvalue() == (
            "tmt: 1 column did not fit in 20: lr (widen the terminal, or use --json or --csv)\n"
        )

    def test_cut_cells_never_overflow_the_terminal(self) -> None:
        console, out, err = terminal(25)
        console.table(["name", "n"], [["実験" * 20, "1"], ["🚀" * 20, "2"], ["x" * 40, "3"]])
        lines = out.getvalue().splitlines()
        assert {width(line) for line in lines[1:]} == {25} and err.getvalue() == ""

    def test_wrapped_the_columns_that_do_not_fit_follow_in_blocks(self) -> None:
        console, out, err = terminal(40)
        headers = ["", "run one 実験", "run two 🚀", "run three long name"]
        console.table(headers, [["params.lr", "0.1", "0.2", "0.3"]], wrap=True)
        assert out.getvalue() == (
            "           run one 実験  run two 🚀\n"
            "params.lr  0.1           0.2\n"
            "\n"
            "           run three long name\n"
            "params.lr  0.3\n"
        )
        assert err.getvalue() == ""

    def test_wrapped_a_column_too_wide_for_a_block_of_its_own_is_cut(self) -> None:
        console, out, _ = terminal(20)
        console.table(["", "a", "b" * 30], [["key", "1", "2"]], wrap=True)
        assert out.getvalue().splitlines()[3:] == ["     bbbbbbbbbbbbbb…", "key  2"]

    def test_wrapped_and_piped_it_is_one_table(self) -> None:
        out = io.StringIO()
        Console(out).table(["", "a" * 60, "b" * 60], [["key", "1", "2"]], wrap=True)
        assert out.getvalue().splitlines() == [
            " " * 5 + "a" * 60 + "  " + "b" * 60,
            "key  1" + " " * 61 + "2",
        ]


def test_the_installed_tmt_script_runs() -> None:
    script = Path(sys.executable).parent / "tmt"
    if not script.exists():
        pytest.skip("tmt is not installed as a script in this environment")
    proc = subprocess.run([str(script), "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("tmt ")
