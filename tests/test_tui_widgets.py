"""The terminal app's widgets and screens, rendered to text; every key on every screen."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import urwid

from tmt import TmtManager, tmt_log, tmt_recorder
from tmt.tui.app import App
from tmt.tui.keys import KEY_BINDINGS
from tmt.tui.model import RunsModel
from tmt.tui.views import CompareView, DetailView, DiffView, EmptyView, HelpView, RunsView
from tmt.tui.widgets import Chart, LazyWalker


def text(widget: urwid.Widget, size: tuple[int, ...]) -> str:
    canvas = widget.render(size, focus=True)
    return "\n".join(line.decode("utf-8") for line in canvas.text)


@pytest.fixture
def store(project: Path) -> Path:
    def train(lr):
        for step in range(20):
            tmt_log("loss", 1.0 / (1 + lr * step))
        if lr > 1:
            raise ValueError("exploded — 爆発")
        return {"acc": 1 - 1 / (1 + lr)}

    for i, lr in enumerate((0.1, 0.5, 2.0)):
        (project / "train.py").write_text(f"LR = {lr}\n")
        name = "a-very-long-experiment-name-" + "x" * 40 if i == 1 else "résumé-run"
        try:
            tmt_recorder(name=name)(train)(lr)
        except ValueError:
            pass
        time.sleep(0.01)
    return project


class TestWidgets:
    def test_the_walker_builds_only_what_is_shown(self) -> None:
        built = []
        walker = LazyWalker(range(10_000), lambda i: built.append(i) or urwid.Text(str(i)))
        listbox = urwid.ListBox(walker)
        assert "0" in text(listbox, (20, 5))
        assert len(built) <= 10

    def test_a_chart_has_axes_dots_and_last_min_max(self) -> None:
        out = text(Chart("loss", [("loss", [0, 1, 2], [3.0, 2.0, 1.5])], height=6), (40,))
        assert out.startswith("loss") and "┤" in out and "└" in out
        assert any(0x2800 < ord(c) <= 0x28FF for c in out)
        assert "last 1.5  min 1.5  max 3" in out

    def test_an_overlaid_chart_has_a_legend(self) -> None:
        out = text(Chart("loss", [("run a", [0, 1], [1, 2]), ("run b", [0, 1], [2, 1])]), (50,))
        assert "━━ run a" in out and "━━ run b" in out


class TestScreens:
    def test_runs(self, store: Path) -> None:
        model = RunsModel()
        model.reload()
        out = text(RunsView(model), (100, 10))
        assert "résumé-run" in out and "failed" in out and "acc" in out
        assert "3 of 3 runs" in out

    def test_detail_shows_the_traceback_and_curves(self, store: Path) -> None:
        entry = TmtManager().last()
        out = text(DetailView(entry), (90, 80))
        assert "ValueError: exploded" in out and "Traceback" in out
        assert "metrics" in out and "last " in out  # a chart of each logged series

    def test_compare_and_diff(self, store: Path) -> None:
        a, b = TmtManager().runs()[1:]
        out = text(CompareView([a, b]), (90, 40))
        assert "comparing 2 runs" in out and "metrics.acc" in out
        diff = text(DiffView(b, a), (90, 20))
        assert "-LR = 0.1" in diff and "+LR = 0.5" in diff

    def test_no_store_says_so(self, project: Path) -> None:
        assert "No runs recorded here yet" in text(EmptyView(str(project)), (60, 15))

    def test_help_lists_every_binding(self) -> None:
        out = text(HelpView(), (100, 40))
        for binding in KEY_BINDINGS.values():
            assert str(binding["help"])[:30] in out


@pytest.mark.parametrize("size", [(100, 30), (60, 15), (20, 5)])
@pytest.mark.parametrize("command", list(KEY_BINDINGS))
def test_every_key_on_every_screen_never_crashes(store: Path, command: str, size) -> None:
    """Each binding, pressed on each screen, at a roomy, a tiny and an absurd size."""
    app = App(RunsModel())
    app.handle_key(" ")  # mark two runs, so compare and diff have something to show
    app.handle_key(" ")
    screens = [
        lambda: None,
        lambda: app.handle_key("enter"),
        lambda: app.handle_key("c"),
        lambda: app.handle_key("d"),
        lambda: app.handle_key("?"),
    ]
    for open_screen in screens:
        while app.stack:
            app.handle_key("esc")
        open_screen()
        for key in KEY_BINDINGS[command]["keys"]:
            if key == "q" and app.view is app.runs:
                with pytest.raises(urwid.ExitMainLoop):
                    app.handle_key(key)
                continue
            app.handle_key(key)
            if app.prompt is not None:
                app.handle_key("esc")
            app.body.render(size, focus=True)


class FakeLoop:
    """Stands in for urwid's MainLoop: only its timer is used."""

    def __init__(self) -> None:
        self.alarms = []

    def set_alarm_in(self, seconds, callback) -> None:
        self.alarms.append((seconds, callback))


def test_the_list_refreshes_itself_while_runs_are_running(project: Path) -> None:
    import os
    import subprocess
    import sys

    from conftest import REPO

    code = "import time\nfrom tmt import tmt_recorder\ntmt_recorder(name='long')(time.sleep)(60)\n"
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=project, env={**os.environ, "PYTHONPATH": str(REPO)}
    )
    try:
        deadline = time.monotonic() + 30
        while not (project / ".tmt" / "runs").exists() or not TmtManager().runs():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        app = App(RunsModel())
        assert app.model.any_running()
        tmt_recorder(name="meanwhile")(lambda: None)()  # a run the app has not seen yet
        loop = FakeLoop()
        app._tick(loop, None)
        assert "meanwhile" in text(app.body, (100, 10))
        assert loop.alarms  # and it keeps ticking
    finally:
        proc.kill()
        proc.wait()
