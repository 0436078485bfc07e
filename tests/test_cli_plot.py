"""``tmt plot``: the curves of several runs overlaid, in the terminal and in figure files."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from tmt import TmtManager, tmt_log, tmt_recorder
from tmt.cli.plotting import END_GLYPH, NEEDS_MATPLOTLIB, RUN_COLOURS, Curve, terminal_chart

from conftest import REPO, ok, tmt, tmt_on_a_terminal


@pytest.fixture
def runs(project: Path) -> dict[str, str]:
    """Three runs: "long" logs loss and acc for 100 steps; "short" logs both for 30 steps,
    then fails; "other" logs only acc. Their ids, by name."""

    def train(steps: int, fail: bool = False, loss: bool = True) -> None:
        for step in range(steps):
            if loss:
                tmt_log("loss", 1.0 / (1 + step))
            tmt_log("acc", step / steps)
        if fail:
            raise ValueError("diverged")

    ids = {}
    for name, kwargs in (
        ("long", {"steps": 100}),
        ("short", {"steps": 30, "fail": True}),
        ("other", {"steps": 10, "loss": False}),
    ):
        try:
            tmt_recorder(name=name)(train)(**kwargs)
        except ValueError:
            pass
        ids[name] = TmtManager().last().id
        time.sleep(0.01)
    return ids


def chart_rows(out: str) -> list[str]:
    """The rows of the plot area of a chart (those with a y axis)."""
    return [line.split("┤", 1)[1] for line in out.splitlines() if "┤" in line]


class TestTerminal:
    """Draws the curves overlaid in braille, with a legend naming each run."""

    def test_overlaid_with_a_legend_and_axis_labels(self, runs) -> None:
        out = ok("plot", "long", "short", "--metric", "loss")
        lines = out.splitlines()
        assert lines[0] == "loss"
        assert any(0x2800 < ord(c) <= 0x28FF for c in "".join(chart_rows(out)))
        assert lines[-4].lstrip().startswith("└")
        assert lines[-3].split() == ["0", "step", "99"]
        assert lines[-2].startswith(f"━━ long {runs['long'][:8]}  ")
        assert lines[-1].startswith(f"━━ short {runs['short'][:8]} (failed)  ")

    def test_a_run_that_ended_early_has_its_end_marked(self, runs) -> None:
        out = ok("plot", "long", "short", "--metric", "loss")
        assert "".join(chart_rows(out)).count(END_GLYPH) == 1
        assert out.splitlines()[-1].endswith(f"{END_GLYPH} ended at step 29, last 0.03333")
        assert out.splitlines()[-2].endswith("last 0.01 at step 99")  # finished: no mark

    def test_the_runs_a_query_selects(self, runs) -> None:
        """As a sweep's runs are plotted: tmt plot --where sweep:ID."""
        data = json.loads(ok("plot", "--where", "status:failed name:s", "-m", "acc", "--json"))
        assert list(data) == [runs["short"]]
        data = json.loads(
            ok("plot", "long", "short", "--where", "status:finished", "-m", "acc", "--json")
        )
        assert list(data) == [runs["long"]]

    def test_no_runs_named_nor_selected(self, runs) -> None:
        done = tmt("plot")
        assert done.returncode == 2 and "name the runs (REF...) or select them with --where" in (
            done.stderr
        )
        done = tmt("plot", "--where", "name=nothing")
        assert done.returncode == 1 and "no runs match --where" in done.stderr

    def test_piped_it_is_plain(self, runs) -> None:
        assert "\033" not in ok("plot", "long", "short", "--metric", "loss")

    def test_on_a_colour_terminal_each_run_has_its_colour(self, runs) -> None:
        out = tmt_on_a_terminal("plot", "long", "short", "--metric", "loss")
        legend = out.splitlines()[-2:]
        assert legend[0].startswith("\033[36m━━\033[0m long")  # cyan, then yellow
        assert legend[1].startswith("\033[33m━━\033[0m short")
        assert f"\033[33m{END_GLYPH}" in out

    def test_never_coloured_with_no_color(self, runs) -> None:
        out = tmt_on_a_terminal("plot", "long", "short", "--metric", "loss", NO_COLOR="1")
        assert "\033" not in out and END_GLYPH in out

    def test_a_log_scale_and_a_title(self, runs) -> None:
        out = ok("plot", "long", "--metric", "loss", "--logy", "--title", "Figure 2")
        lines = out.splitlines()
        assert lines[0] == "Figure 2  (loss by step, log scale)"
        assert lines[1].lstrip().startswith("1 ┤") and lines[-4].startswith("0.01 ┤")
        assert chart_rows(out) != chart_rows(ok("plot", "long", "--metric", "loss"))

    def test_a_run_named_twice_is_drawn_once(self, runs) -> None:
        out = ok("plot", "long", runs["long"], "--metric", "loss")
        assert out.count("━━ long") == 1


class TestTerminalChart:
    """The chart as text, each run painted in its colour by the function it is given."""

    def curves(self) -> list[Curve]:
        done = SimpleNamespace(id="a" * 12, name="done", status="finished")
        crashed = SimpleNamespace(id="b" * 12, name="dead", status="crashed")
        return [
            Curve(done, range(100), [100.0 - s for s in range(100)]),
            Curve(crashed, range(30), [100.0 - 2 * s for s in range(30)]),
        ]

    def test_cells_legend_and_end_mark_in_the_runs_colours(self) -> None:
        lines = terminal_chart(
            self.curves(), "loss", 60, 12, paint=lambda text, colour: f"<{colour}>{text}</>"
        )
        first, second = RUN_COLOURS[:2]
        assert lines[0] == "<bold>loss</>"
        plot = "\n".join(lines[1:-4])
        assert f"<{first}>" in plot and f"<{second}>" in plot
        (painted,) = re.findall(rf"<(\w+)>[^<]*{END_GLYPH}", plot)
        assert painted == second  # the crashed run's end, in its colour
        assert lines[-2].startswith(f"<{first}>━━</> done aaaaaaaa ")
        assert lines[-1].startswith(f"<{second}>━━</> dead bbbbbbbb (crashed)  {END_GLYPH} ended")

    def test_unpainted_it_has_no_markup(self) -> None:
        lines = terminal_chart(self.curves(), "loss", 60, 12)
        assert not any("<" in line for line in lines)
        assert "\n".join(lines).count(END_GLYPH) == 2  # in the chart and in the legend

    def test_a_running_run_is_marked_as_so_far(self) -> None:
        live = SimpleNamespace(id="c" * 12, name="live", status="running")
        lines = terminal_chart([Curve(live, [0, 1], [1.0, 2.0])], "loss", 40, 8)
        assert lines[-1].endswith(f"(running)  {END_GLYPH} at step 1 so far, latest 2")


class TestChoosingTheSeries:
    """``--metric`` names the series; without it, the one the runs share is plotted."""

    def test_the_one_series_the_runs_share_is_the_default(self, runs) -> None:
        out = ok("plot", "long", "other")
        assert out.splitlines()[0] == "acc"

    def test_several_shared_series_are_a_usage_error_listing_them(self, runs) -> None:
        proc = tmt("plot", "long", "short")
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1
        assert "--metric" in proc.stderr and "acc, loss" in proc.stderr
        assert proc.stderr.startswith("tmt plot: ")

    def test_a_series_no_run_logged_names_the_closest(self, runs) -> None:
        proc = tmt("plot", "long", "short", "--metric", "los")
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1
        assert "'los'" in proc.stderr and "closest: loss" in proc.stderr

    def test_a_run_without_the_series_is_named_not_dropped(self, runs) -> None:
        proc = tmt("plot", "long", "other", "--metric", "loss")
        assert proc.returncode == 0
        assert (
            proc.stderr == f"tmt plot: not plotted, no 'loss' series: other {runs['other'][:8]}\n"
        )
        assert "━━ long" in proc.stdout and "━━ other" not in proc.stdout

    def test_runs_that_logged_nothing_are_an_error(self, project: Path) -> None:
        tmt_recorder(name="quiet")(lambda: None)()
        proc = tmt("plot", "quiet")
        assert proc.returncode == 1 and "logged no series" in proc.stderr

    def test_an_unknown_run_is_an_error(self, runs) -> None:
        proc = tmt("plot", "long", "nosuchrun", "--metric", "loss")
        assert proc.returncode == 1 and proc.stderr.startswith("tmt: error: ")


class TestJson:
    """``--json`` gives the plotted points: {run id: {name, status, steps, values}}."""

    def test_the_points_of_each_run(self, runs) -> None:
        data = json.loads(ok("plot", "long", "short", "--metric", "loss", "--json"))
        assert list(data) == [runs["long"], runs["short"]]
        assert data[runs["short"]]["steps"] == list(range(30))
        assert data[runs["short"]]["values"][:2] == [1.0, 0.5]
        assert data[runs["short"]]["status"] == "failed"
        assert data[runs["long"]]["name"] == "long"


class TestFigure:
    """``-o FILE`` writes a figure through matplotlib, in the format its extension names."""

    @pytest.mark.parametrize(
        ("extension", "magic"),
        [(".png", b"\x89PNG\r\n\x1a\n"), (".svg", b"<?xml"), (".pdf", b"%PDF-")],
    )
    def test_each_format(self, runs, tmp_path: Path, extension: str, magic: bytes) -> None:
        pytest.importorskip("matplotlib")
        path = tmp_path / f"loss{extension}"
        proc = tmt("plot", "long", "short", "--metric", "loss", "-o", str(path), "--logy")
        assert proc.returncode == 0, proc.stderr
        assert path.read_bytes().startswith(magic)
        assert proc.stdout == "" and proc.stderr == f"tmt plot: wrote {path}\n"

    def test_names_with_dollars_are_not_read_as_math(self, project: Path, tmp_path) -> None:
        pytest.importorskip("matplotlib")
        tmt_recorder(name=r"cost $\frac$")(lambda: tmt_log("loss", 1.0))()
        path = tmp_path / "f.png"
        assert tmt("plot", "last", "-o", str(path), "--title", "$\\alpha$").returncode == 0
        assert path.exists()

    def test_with_json_too(self, runs, tmp_path: Path) -> None:
        pytest.importorskip("matplotlib")
        path = tmp_path / "loss.svg"
        data = json.loads(ok("plot", "long", "--metric", "loss", "-o", str(path), "--json"))
        assert list(data) == [runs["long"]] and path.exists()

    def test_an_unknown_extension_is_a_usage_error(self, runs, tmp_path: Path) -> None:
        proc = tmt("plot", "long", "--metric", "loss", "-o", str(tmp_path / "loss.jpg"))
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1
        assert ".png, .svg, .pdf" in proc.stderr and not (tmp_path / "loss.jpg").exists()

    def test_without_matplotlib_says_how_to_get_it(
        self, runs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setitem(sys.modules, "matplotlib", None)  # importing it fails
        path = tmp_path / "loss.png"
        proc = tmt("plot", "long", "--metric", "loss", "-o", str(path))
        assert proc.returncode == 1 and proc.stderr == NEEDS_MATPLOTLIB + "\n"
        assert not path.exists()


class TestARunKilledMidway:
    """kill -9 at step 29 among runs that went to 99: the plot shows where it stopped."""

    def test_its_end_is_marked_and_said(self, project: Path) -> None:
        tmt_recorder(name="full")(lambda: [tmt_log("loss", 1 / (1 + s)) for s in range(100)])()
        code = (
            "import time\n"
            "from tmt import tmt_log, tmt_recorder\n"
            "def train():\n"
            "    for s in range(30):\n"
            "        tmt_log('loss', 1 / (1 + s))\n"
            "    time.sleep(60)\n"
            "tmt_recorder(name='killed')(train)()\n"
        )
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        proc = subprocess.Popen([sys.executable, "-c", code], cwd=project, env=env)
        try:  # the logged values reach the file within about a second
            deadline = time.monotonic() + 30
            while not any(
                e.all_series().get("loss", ([],))[0][-1:] == [29]
                for e in TmtManager().runs(name="killed")
            ):
                assert time.monotonic() < deadline, "the series was never written"
                time.sleep(0.05)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        out = ok("plot", "full", "killed")
        assert out.splitlines()[-1].endswith(f"{END_GLYPH} ended at step 29, last 0.03333")
        assert "killed" in out.splitlines()[-1] and "(crashed)" in out.splitlines()[-1]
        assert "".join(chart_rows(out)).count(END_GLYPH) == 1


class TestNothingToDraw:
    """A plot that would be empty is an error, never a blank figure."""

    def test_only_values_that_cannot_be_drawn(self, project: Path) -> None:
        def nan_run():
            tmt_log("loss", float("nan"), 0)
            tmt_log("loss", float("inf"), 1)
            return {}

        tmt_recorder(name="nan")(nan_run)()
        proc = tmt("plot", "last", "-m", "loss")
        assert proc.returncode == 1 and "nothing to plot" in proc.stderr

    def test_log_scale_of_values_that_are_not_positive(self, project: Path) -> None:
        tmt_recorder(name="neg")(lambda: tmt_log("loss", -1.0, 0) or {})()
        proc = tmt("plot", "last", "-m", "loss", "--logy")
        assert proc.returncode == 1 and "on a log scale" in proc.stderr
