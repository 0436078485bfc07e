"""The CLI's console: colour only on a terminal and never with NO_COLOR; tables fit."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from tmt.cli.console import Console


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


class TestTable:
    def test_fits_the_terminal_by_dropping_columns_and_cutting_cells(self, monkeypatch) -> None:
        monkeypatch.setenv("NO_COLOR", "1")
        out = FakeTerminal()
        console = Console(out)
        console.width = 20
        console.table(["name", "a", "b"], [["x" * 60, "1", "2"]])
        lines = out.getvalue().splitlines()
        assert all(len(line) <= 20 for line in lines)
        assert lines[1].endswith("…")

    def test_piped_tables_are_never_cut(self) -> None:
        out = io.StringIO()
        Console(out).table(["name", "a"], [["x" * 200, "1"]])
        assert "x" * 200 in out.getvalue()


def test_the_installed_tmt_script_runs() -> None:
    script = Path(sys.executable).parent / "tmt"
    if not script.exists():
        pytest.skip("tmt is not installed as a script in this environment")
    proc = subprocess.run([str(script), "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("tmt ")
