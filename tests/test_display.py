"""Text from the store never drives the terminal: what people read shows control characters
escaped, in every command and in the terminal app; JSON stays exact."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest
import urwid

from tmt import TmtManager, tmt_log, tmt_recorder
from tmt.display import fit, json_text, printable, printable_lines, width
from tmt.tui.model import RunsModel
from tmt.tui.views import CompareView, DetailView, DiffView, RunsView

from conftest import REPO, tmt, tmt_on_a_terminal

OSC52 = "\x1b]52;c;cm0gLXJmIH4=\x07"  # writes "rm -rf ~" into the clipboard
TITLE = "\x1b]0;pwned\x07"
HOSTILE = f"run{OSC52}{TITLE}\x9b2J\u202eevil\rhidden\nnext"
# What must never reach a terminal raw: ESC, BEL, CSI (C1), the bidi override, CR.
RAW = re.compile("[\x07\x9b\u202e\r]|\x1b(?!\\[[0-9;]*m)")


class TestPrintable:
    @pytest.mark.parametrize(
        ("text", "shown"),
        [
            ("plain résumé 日本 👍🏽", "plain résumé 日本 👍🏽"),
            ("a\x1b[2Jb", "a\\x1b[2Jb"),
            ("bell\x07", "bell\\x07"),
            ("two\nlines", "two\\nlines"),
            ("tab\there", "tab\\there"),
            ("csi\x9b31m", "csi\\x9b31m"),
            ("rtl\u202eevil", "rtl\\u202eevil"),
            ("nul\x00", "nul\\x00"),
            ("zero\u200bwidth", "zero\\u200bwidth"),
            ("bom\ufeff", "bom\\ufeff"),
            ("family 👨\u200d👩\u200d👧", "family 👨\u200d👩\u200d👧"),
        ],
    )
    def test_controls_are_escaped_and_the_rest_kept(self, text: str, shown: str) -> None:
        assert printable(text) == shown

    def test_blocks_keep_their_lines_and_tabs_and_show_progress_bars_as_a_terminal_does(
        self,
    ) -> None:
        text = "\tindented\x1b[31m\n 10%|#  |\r 50%|## |\r100%|###|\n"
        assert printable_lines(text, overwrite=True) == ["\tindented\\x1b[31m", "100%|###|", ""]
        assert printable_lines("+++ b/src\r.py") == ["+++ b/src\\r.py"]  # nothing hidden

    def test_json_stays_exact_and_safe(self) -> None:
        data = {HOSTILE: [HOSTILE, "résumé"]}
        text = json_text(data)
        assert json.loads(text) == data
        assert not RAW.search(text) and "\n" not in text and "résumé" in text


ROCKET, FAMILY = "🚀", "👨\u200d👩\u200d👧"  # FAMILY: three emoji joined (ZWJ) into one


class TestWidth:
    @pytest.mark.parametrize(
        ("text", "columns"),
        [
            ("", 0),
            ("plain", 5),
            ("実験", 4),
            (ROCKET, 2),
            (FAMILY, 2),
            ("cafe\u0301", 4),  # a combining accent takes no column
            ("👍🏽", 2),
            ("run\x1b[2J", 10),  # as shown: escaped
            ("実験\x1b", 8),
        ],
    )
    def test_counts_the_columns_a_terminal_shows(self, text: str, columns: int) -> None:
        assert width(text) == columns

    def test_import_tmt_does_not_load_wcwidth(self, run_python) -> None:
        proc = run_python("import sys, tmt, tmt.display; print('wcwidth' in sys.modules)")
        assert proc.stdout.strip() == "False"


class TestFit:
    @pytest.mark.parametrize(
        ("text", "columns", "shown"),
        [
            ("abc", 5, "abc  "),
            ("abcdef", 5, "abcd…"),
            ("実験", 6, "実験  "),
            ("実験です", 6, "実験… "),  # cut before a wide character, not through it
            ("実験です", 4, "実… "),
            (f"{ROCKET} launch", 5, f"{ROCKET} l…"),
            (f"{FAMILY} family", 4, f"{FAMILY} …"),  # the ZWJ sequence is kept whole
            (f"{FAMILY} family", 2, "… "),
            ("cafe\u0301s", 5, "cafe\u0301s"),
            ("cafe\u0301s", 4, "caf…"),
            ("e\u0301e\u0301e\u0301", 3, "e\u0301e\u0301e\u0301"),
            ("e\u0301e\u0301e\u0301", 2, "e\u0301…"),  # accents stay on their letter
            ("a\x1bb", 8, "a\\x1bb  "),
            ("abc", 0, ""),
            ("abc", 1, "…"),
        ],
    )
    def test_pads_or_cuts_to_exactly_the_columns(self, text: str, columns: int, shown: str) -> None:
        assert fit(text, columns) == shown
        assert width(fit(text, columns)) == columns

    @pytest.mark.parametrize(
        ("text", "columns", "shown"),
        [("ab", 5, "   ab"), ("実験", 5, " 実験"), ("実験です", 4, " 実…"), ("abcdef", 4, "abc…")],
    )
    def test_right_aligned_pads_on_the_left(self, text: str, columns: int, shown: str) -> None:
        assert fit(text, columns, right=True) == shown


@pytest.fixture
def hostile(project: Path) -> dict:
    """Two runs of an experiment whose every text is hostile, one failed."""

    def train(x):
        tmt_log(f"loss{OSC52}", 0.5)
        print(f"progress{TITLE}\r100%\x1b[2J done")
        if x:
            raise ValueError(HOSTILE)
        return {f"acc{OSC52}": 0.9, "note": HOSTILE}

    recorder = tmt_recorder(name=HOSTILE, description=HOSTILE, tags=[HOSTILE])
    ids = []
    for x in (0, 1):
        (project / "train.py").write_text(f"print('{x}')  # {OSC52}\n")
        try:
            recorder(train)({"lr\x1b": HOSTILE, "x": x})
        except ValueError:
            pass
        ids.append(TmtManager().last().id)
    TmtManager().note(ids[0], HOSTILE)
    TmtManager().tag(ids[0], TITLE)
    return {"ids": ids}


COMMANDS = [
    ["list"],
    ["list", "--json"],
    ["show", "IDA"],
    ["show", "IDB"],
    ["show", "IDA", "--json"],
    ["diff", "IDA", "IDB"],
    ["diff", "IDA", "IDB", "--json"],
    ["compare", "IDA", "IDB", "--all"],
    ["compare", "IDA", "IDB", "--json"],
    ["timeline", HOSTILE],
    ["timeline", HOSTILE, "--json"],
    ["export", "--format", "json"],
    ["tag", "IDA", "more"],
    ["untag", "IDA", "more"],
    ["rm", "IDA", "IDB"],  # refused off a terminal: the error names nothing raw
    ["show", "no-such-run\x1b]52;c;x\x07"],
]


def expand(args: list[str], ids: list[str]) -> list[str]:
    return [{"IDA": ids[0], "IDB": ids[1]}.get(a, a) for a in args]


class TestCommandLine:
    @pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a)[:30])
    def test_piped_output_holds_no_raw_control(self, hostile: dict, args: list[str]) -> None:
        proc = tmt(*expand(args, hostile["ids"]))
        for stream in (proc.stdout, proc.stderr):
            assert not RAW.search(stream), stream
            assert "\x1b" not in stream  # piped: no colours either
        if "--json" in args or "json" in args:
            json.loads(proc.stdout)

    @pytest.mark.parametrize("args", [["list"], ["show", "IDA"], ["compare", "IDA", "IDB"]])
    def test_on_a_terminal_only_tmts_own_colours_are_sent(
        self, hostile: dict, args: list[str]
    ) -> None:
        out = tmt_on_a_terminal(*expand(args, hostile["ids"]), columns=200)
        assert "\x1b[" in out  # coloured
        assert not RAW.search(out.replace("\r\n", "\n")), out

    def test_a_newline_in_a_name_never_breaks_a_row(self, hostile: dict) -> None:
        rows = tmt("list").stdout.splitlines()
        assert len(rows) == 3  # the header and two runs

    def test_csv_is_exact_when_piped(self, hostile: dict) -> None:
        import csv
        import io
        import subprocess

        out = subprocess.run(
            [sys.executable, "-m", "tmt", "export"],
            capture_output=True,
            check=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        ).stdout.decode("utf-8")
        rows = list(csv.DictReader(io.StringIO(out, newline="")))
        assert {row["name"] for row in rows} == {HOSTILE}


class TestJsonOutput:
    def test_values_json_cannot_hold_keep_their_markers(self, project: Path) -> None:
        from decimal import Decimal

        for value in (float("nan"), 1.0, float("inf")):
            tmt_recorder(name="n")(lambda v=value: {"m": v, "d": Decimal("0.10")})()
        for args in (["diff", "n~1", "n"], ["compare", "n~2", "n~1", "n"], ["timeline", "n"]):
            proc = tmt(*args, "--json")
            assert proc.returncode == 0, proc.stderr
            constants = []
            json.loads(proc.stdout, parse_constant=constants.append)
            assert constants == [], args  # no NaN or Infinity: strict JSON
        diff = json.loads(tmt("diff", "n~1", "n", "--json").stdout)
        assert diff["metrics"]["m"] == [1.0, {"$float": "inf"}]


class TestTerminalApp:
    def test_warnings_are_listed_escaped_when_the_app_ends(
        self, hostile: dict, project: Path, monkeypatch: pytest.MonkeyPatch, capsys
    ) -> None:
        import tmt.tui
        from tmt.tui.app import App

        bad = project / ".tmt" / "runs" / f"evil{TITLE}"
        bad.mkdir()
        (bad / "run.json").write_text("{ not json")
        monkeypatch.setattr(App, "run", lambda self: None)
        assert tmt.tui.main([]) == 0
        err = capsys.readouterr().err
        assert "tmt_tui: warning:" in err and "\\x1b]0;pwned" in err
        assert not RAW.search(err)

    def rendered(self, widget: urwid.Widget, size: tuple[int, ...]) -> list[str]:
        canvas = widget.render(size, focus=True)
        return [line.decode("utf-8") for line in canvas.text]

    def test_every_screen_shows_the_text_escaped(self, hostile: dict) -> None:
        model = RunsModel()
        model.reload()
        runs = RunsView(model)
        lines = self.rendered(runs, (160, 10))
        assert sum("run\\x1b]52" in line for line in lines) == 2  # one row each
        a, b = model.all
        for view in (DetailView(a), DetailView(b), CompareView([a, b]), DiffView(b, a)):
            screen = "\n".join(self.rendered(view, (160, 200)))
            assert not RAW.search(screen), screen
            assert "\\x1b" in screen


def test_counted_says_a_count_with_its_noun():
    from tmt.display import counted

    assert [counted(n, "run") for n in (0, 1, 2)] == ["0 runs", "1 run", "2 runs"]
