"""The terminal app's widgets and screens, rendered to text; every key on every screen."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest
import urwid

from tmt import TmtManager, tmt_log, tmt_recorder
from tmt.tui.app import App
from tmt.tui.keys import KEY_BINDINGS
from tmt.tui.model import RunsModel
from tmt.tui.views import CompareView, DetailView, DiffView, EmptyView, HelpView, RunsView
from tmt.tui.widgets import END_GLYPH, Chart, LazyWalker


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


class TestChart:
    """Marks where each curve ends, so a run that stopped early among longer ones shows."""

    SERIES = (
        ("long", tuple(range(100)), tuple(1 / (1 + s) for s in range(100))),
        ("short", tuple(range(30)), tuple(1 / (1 + s) for s in range(30))),
    )

    def test_each_curve_ends_in_a_dot_of_its_colour(self) -> None:
        chart = Chart("loss", self.SERIES)
        canvas = chart.render((60,))
        ends = [
            attr
            for row in canvas.content()
            for attr, _, text in row
            for _ in range(text.decode().count(END_GLYPH))
        ]
        assert sorted(ends) == ["series0", "series1"]

    def test_the_short_curve_ends_left_of_the_long_one(self) -> None:
        rows = text(Chart("loss", self.SERIES), (60,)).splitlines()
        (row,) = [line for line in rows if line.count(END_GLYPH) == 2]  # both end lowest
        plot = row.split("┤")[1]
        assert plot.rstrip().endswith(END_GLYPH) and plot.index(END_GLYPH) < len(plot) // 2

    def test_the_stats_say_at_which_step_each_ends(self) -> None:
        out = text(Chart("loss", self.SERIES), (80,))
        assert "━━ long  last 0.01  min 0.01  max 1  ends at step 99" in out
        assert "━━ short  last 0.03333  min 0.03333  max 1  ends at step 29" in out

    def test_a_lone_curve_is_marked_too(self) -> None:
        out = text(Chart("loss", self.SERIES[1:]), (60,))
        assert out.count(END_GLYPH) == 1 and "ends at step 29" in out


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
            assert binding.help[:30] in out


def screen(app: App, size: tuple[int, int] = (110, 30)) -> str:
    return text(app.body, size)


def focused_name(app: App) -> str:
    assert app.runs is not None and app.runs.focused is not None
    return app.runs.focused.id


def press(app: App, *keys: str) -> None:
    for key in keys:
        app.handle_key(key)


class TestEveryKey:
    """What each command of the key table does on the screen it is meant for."""

    def test_every_binding_has_its_effect_specified_here(self) -> None:
        specified = {n[len("test_") :].upper() for n in dir(self) if n.startswith("test_")}
        assert set(KEY_BINDINGS) <= specified

    def test_help(self, store: Path) -> None:
        app = App(RunsModel())
        press(app, "?")
        assert isinstance(app.view, HelpView) and "show all keys" in screen(app)

    def test_quit(self, store: Path) -> None:
        app = App(RunsModel())
        press(app, "enter", "q")
        assert app.view is app.runs  # q on a screen above the list goes back
        with pytest.raises(urwid.ExitMainLoop):
            press(app, "q")

    def test_back(self, store: Path) -> None:
        app = App(RunsModel())
        press(app, "enter", "?", "esc")
        assert isinstance(app.view, DetailView)
        press(app, "backspace")
        assert app.view is app.runs
        press(app, "esc")  # nothing to go back to: stays
        assert app.view is app.runs

    def test_open(self, store: Path) -> None:
        app = App(RunsModel())
        newest = TmtManager().last()
        press(app, "enter")
        assert isinstance(app.view, DetailView) and f"run {newest.id}" in screen(app)

    def test_search(self, store: Path) -> None:
        app = App(RunsModel())
        press(app, "/")
        assert app.runs is not None and app.runs.prompt is not None
        assert "/" in screen(app).splitlines()[-1]

    def test_apply(self, store: Path) -> None:
        app = App(RunsModel())
        press(app, "/")
        assert app.runs is not None and app.runs.prompt is not None
        app.runs.prompt.set_edit_text("status:failed")
        press(app, "enter")
        assert app.runs.prompt is None and "1 of 3 runs" in screen(app)
        press(app, "/")
        app.runs.prompt.set_edit_text("since:soon")
        press(app, "enter")  # a query that cannot be read keeps the prompt open, explained
        assert app.runs.prompt is not None and "cannot read" in screen(app)

    def test_the_query_is_checked_as_it_is_typed(self, store: Path) -> None:
        app = App(RunsModel())
        press(app, "/")
        assert app.runs is not None and app.runs.prompt is not None
        for key in "status:failed":  # typed into the prompt, as urwid hands it keys
            app.body.keypress((110, 30), key)
        assert "1 runs match; Enter applies" in screen(app)
        app.body.keypress((110, 30), "x")  # "status:failedx"
        assert "cannot search: 'status:failedx': no status 'failedx'" in screen(app, (200, 30))
        assert app.runs.prompt is not None

    def test_cancel(self, store: Path) -> None:
        app = App(RunsModel())
        press(app, "/")
        assert app.runs is not None and app.runs.prompt is not None
        app.runs.prompt.set_edit_text("status:failed")
        press(app, "esc")
        assert app.runs.prompt is None and "3 of 3 runs" in screen(app)
        assert app.view is app.runs  # Esc in the prompt leaves the prompt, not the screen

    def test_clear(self, store: Path) -> None:
        app = App(RunsModel())
        app.model.search("status:failed")
        press(app, "x")
        assert app.model.query == "" and "3 of 3 runs" in screen(app)

    def test_sort(self, store: Path) -> None:
        app = App(RunsModel())
        assert "sort: started ↓" in screen(app)
        press(app, "s")
        assert "sort: name ↓" in screen(app)
        press(app, "s", "s")  # the metrics, most common first: loss, then acc
        assert "sort: acc ↓" in screen(app)
        best = max(TmtManager().runs(status="finished"), key=lambda e: e.metrics["acc"])
        assert app.model.visible[0].id == best.id

    def test_sort_reverse(self, store: Path) -> None:
        app = App(RunsModel())
        oldest = TmtManager().runs()[-1]
        press(app, "S")
        assert "sort: started ↑" in screen(app) and app.model.visible[0].id == oldest.id

    def test_group(self, store: Path) -> None:
        app = App(RunsModel())
        press(app, "g")
        assert "grouped" in screen(app)
        names = [e.name for e in app.model.visible]
        assert names == sorted(names, key=names.index)  # each experiment's runs together
        assert names[0] == names[1]

    def test_mark(self, store: Path) -> None:
        app = App(RunsModel())
        first = focused_name(app)
        press(app, " ")
        assert "1 marked" in screen(app) and app.model.marked == [first]
        assert focused_name(app) != first  # on to the next run, to mark several in a row
        press(app, "k", " ")
        assert "marked" not in screen(app).splitlines()[-1]
        press(app, "end", " ")  # the last run: marked, and the focus stays on it
        assert app.model.marked == [app.model.visible[-1].id]

    def test_compare(self, store: Path) -> None:
        app = App(RunsModel())
        press(app, "c")
        assert app.view is app.runs and "mark two runs or more" in screen(app)
        press(app, " ", " ", "c")
        assert isinstance(app.view, CompareView) and "comparing 2 runs" in screen(app)

    def test_diff(self, store: Path) -> None:
        app = App(RunsModel())
        press(app, "j", "d")  # the only run of its name, and none marked: explained
        assert app.view is app.runs and "mark two runs" in screen(app)
        press(app, " ", " ", "d")  # two marked runs
        assert isinstance(app.view, DiffView) and "@@" in screen(app)
        press(app, "esc", "x", "home", "d")  # the newest run, and the one before it of its name
        assert isinstance(app.view, DiffView) and "-LR = 0.1" in screen(app)
        app = App(RunsModel())
        press(app, " ", " ", " ", "d")  # three marked: which two, said
        assert isinstance(app.view, DiffView)
        assert "3 runs marked: the last two marked are diffed" in screen(app)

    def test_reload(self, store: Path) -> None:
        app = App(RunsModel())
        tmt_recorder(name="newcomer")(lambda: None)()
        assert "newcomer" not in screen(app)
        press(app, "r")
        assert "newcomer" in screen(app) and "reloaded" in screen(app)

    def test_copy(self, store: Path, capsys: pytest.CaptureFixture[str]) -> None:
        app = App(RunsModel())
        newest = TmtManager().last()
        press(app, "y")
        assert f"copied the rerun command tmt rerun {newest.id}" in screen(app, (400, 30))
        encoded = base64.b64encode(f"tmt rerun {newest.id}".encode()).decode()
        assert f"\033]52;c;{encoded}\a" in capsys.readouterr().out
        press(app, "enter", "y")  # from the run's screen too, said on that screen
        assert isinstance(app.view, DetailView)
        assert f"copied the rerun command tmt rerun {newest.id}" in screen(app, (400, 30))

    def test_copy_of_a_run_that_cannot_be_run_again(
        self, store: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        newest = TmtManager().last()
        path = Path(newest.run_dir) / "run.json"
        record = json.loads(path.read_text())
        record["command"]["script"] = record["command"]["module"] = None
        record["argv"] = ["-c"]
        path.write_text(json.dumps(record))
        (store / ".tmt" / "changes.log").open("a").write(f"\n{newest.id}\n")
        app = App(RunsModel())
        press(app, "y")
        assert "cannot be run again: it was started with python -c" in screen(app, (400, 30))
        assert "\033]52" not in capsys.readouterr().out

    def test_copy_path(self, store: Path, capsys: pytest.CaptureFixture[str]) -> None:
        app = App(RunsModel())
        newest = TmtManager().last()
        press(app, "Y")
        assert newest.snapshot_path is not None
        encoded = base64.b64encode(newest.snapshot_path.encode()).decode()
        assert f"\033]52;c;{encoded}\a" in capsys.readouterr().out
        press(app, "enter", "Y")
        assert f"copied the snapshot path {newest.snapshot_path}" in screen(app, (400, 30))

    def test_down(self, store: Path) -> None:
        app = App(RunsModel())
        ids = [e.id for e in app.model.visible]
        press(app, "j")
        assert focused_name(app) == ids[1]
        press(app, "down")
        assert focused_name(app) == ids[2]

    def test_up(self, store: Path) -> None:
        app = App(RunsModel())
        ids = [e.id for e in app.model.visible]
        press(app, "end", "k")
        assert focused_name(app) == ids[1]
        press(app, "up")
        assert focused_name(app) == ids[0]

    def test_top(self, store: Path) -> None:
        app = App(RunsModel())
        ids = [e.id for e in app.model.visible]
        press(app, "j", "j", "home")
        assert focused_name(app) == ids[0]

    def test_bottom(self, store: Path) -> None:
        app = App(RunsModel())
        ids = [e.id for e in app.model.visible]
        press(app, "end")
        assert focused_name(app) == ids[-1]


@pytest.mark.parametrize("size", [(100, 30), (60, 15), (20, 5)])
@pytest.mark.parametrize("command", list(KEY_BINDINGS))
def test_every_key_on_every_screen_draws(store: Path, command: str, size) -> None:
    """Each binding, pressed on each screen, at a roomy, a tiny and an absurd size, leaves a
    screen that draws at that size, and one of tmt's screens on top."""
    app = App(RunsModel())
    press(app, " ", " ")  # mark two runs, so compare and diff have something to show
    screens = [lambda: None, *(lambda k=k: press(app, k) for k in ("enter", "c", "d", "?"))]
    for open_screen in screens:
        while app.stack:
            press(app, "esc")
        open_screen()
        for key in KEY_BINDINGS[command].keys:
            if key == "q" and app.view is app.runs:
                with pytest.raises(urwid.ExitMainLoop):
                    press(app, key)
                continue
            press(app, key)
            if app.runs is not None and app.runs.prompt is not None:
                press(app, "esc")
            canvas = app.body.render(size, focus=True)
            assert (canvas.cols(), canvas.rows()) == size
            assert isinstance(app.view, (RunsView, DetailView, CompareView, DiffView, HelpView))


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


def test_the_list_shows_runs_other_processes_started(store: Path) -> None:
    app = App(RunsModel())
    loop = FakeLoop()
    app._tick(loop, None)
    assert "newcomer" not in text(app.body, (100, 10))
    tmt_recorder(name="newcomer")(lambda: None)()  # nothing is running: only the store changed
    app._tick(loop, None)
    assert "newcomer" in text(app.body, (100, 10))


class TestColumns:
    """The runs screen: the name gets what it needs, then metrics and varying parameters."""

    def test_the_name_column_does_not_take_all_the_rest(self, store: Path) -> None:
        model = RunsModel()
        model.reload()
        header = text(RunsView(model), (100, 6)).splitlines()[0]
        assert header.split()[-3:] == ["loss", "acc", "lr"]  # every column, beside a long name
        # Too narrow for them all: the 68-character name gets a quarter of the width (and
        # what is left beside the columns shown), not all of it.
        header = text(RunsView(model), (70, 6)).splitlines()[0]
        assert "loss" in header and header.index("id") <= 2 + 70 // 4 + 14

    def test_columns_that_do_not_fit_are_counted(self, store: Path) -> None:
        model = RunsModel()
        model.reload()
        out = text(RunsView(model), (70, 6))
        assert "more columns: widen" in out

    def test_wide_names_stay_aligned(self, project: Path) -> None:
        for name in ("実験", "plain"):
            tmt_recorder(name=name)(lambda: {"acc": 0.5})()
        model = RunsModel()
        model.reload()
        rows = text(RunsView(model), (100, 5)).splitlines()[1:3]
        import unicodedata

        def columns(line: str) -> int:
            return sum(2 if unicodedata.east_asian_width(c) == "W" else 1 for c in line)

        starts = [columns(line[: line.index(line.split()[1])]) for line in rows]
        assert starts[0] == starts[1]  # the id column starts at the same column
