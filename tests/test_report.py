"""What ``tmt show`` and the terminal app's run screen show of a run, as plain text sections."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tmt.display import when
from tmt.entry import Entry, Series
from tmt.report import Report, Section, run_report

START = 1_600_000_000.0
END = 1_600_000_060.0
ERROR = {
    "type": "ValueError",
    "message": "bad value",
    "traceback": 'Traceback (most recent call last):\n  File "train.py"\nValueError: bad\n\n',
}
STARTED = f"started {when(START)}, ended {when(END)} (1m00s) on lab"


class Store:
    """A store's folder, and runs written into it by hand."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "runs" / "r1").mkdir(parents=True)
        self.run_dir = root / "runs" / "r1"

    def entry(self, **fields: object) -> Entry:
        record = {
            "schema": 1,
            "id": "r1",
            "name": "train",
            "status": "finished",
            "start_time": START,
            "end_time": END,
            "duration": END - START,
            "host": "lab",
        }
        record.update(fields)
        return Entry(record, str(self.root), str(self.run_dir))

    def write(self, name: str, text: str) -> None:
        (self.run_dir / name).write_text(text)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / ".tmt")


def titles(report: Report) -> list[str]:
    return [s.title for s in report.sections]


def section(report: Report, title: str) -> Section:
    (found,) = [s for s in report.sections if s.title.split(" (")[0] == title]
    return found


class TestHeading:
    """A run's name, id and status head its report, safe to print."""

    def test_name_id_and_status(self, store: Store) -> None:
        report = run_report(store.entry(status="failed"))
        assert (report.name, report.id, report.status) == ("train", "r1", "failed")

    def test_control_characters_are_escaped(self, store: Store) -> None:
        report = run_report(store.entry(name="evil\x1b]52;c;aGk=\x07\rname"))
        assert report.name == "evil\\x1b]52;c;aGk=\\x07\\rname"

    def test_a_crashed_run_shows_as_crashed(self, store: Store) -> None:
        report = run_report(store.entry(status="running", end_time=None, host="elsewhere"))
        assert report.status == "crashed"


class TestSummary:
    """Under the heading: description, note, tags, when and where it ran, its parent."""

    def test_a_plain_run(self, store: Store) -> None:
        assert run_report(store.entry()).summary == [STARTED]

    def test_everything(self, store: Store) -> None:
        entry = store.entry(
            description="first line\nsecond line",
            note="use this one\nit is the best",
            tags=["best", "paper"],
            parent="p0",
        )
        assert run_report(entry).summary == [
            "first line",
            "second line",
            "note: use this one",
            "      it is the best",
            "tags: best, paper",
            STARTED,
            "child of p0",
        ]

    def test_a_run_not_ended(self, store: Store) -> None:
        entry = store.entry(status="failed", end_time=None, duration=None)
        assert run_report(entry).summary == [f"started {when(START)} on lab"]

    def test_a_run_that_took_no_time(self, store: Store) -> None:
        entry = store.entry(end_time=START, duration=0.0)
        assert run_report(entry).summary == [
            f"started {when(START)}, ended {when(START)} (0.00s) on lab"
        ]

    def test_an_unknown_host(self, store: Store) -> None:
        assert run_report(store.entry(host="")).summary == [STARTED.replace("on lab", "on ?")]

    def test_control_characters_are_escaped(self, store: Store) -> None:
        entry = store.entry(
            description="a\x1bb", note="c\x07d", tags=["e\x00"], host="h\x9b", parent="p\rq"
        )
        assert run_report(entry).summary == [
            "a\\x1bb",
            "note: c\\x07d",
            "tags: e\\x00",
            STARTED.replace("on lab", "on h\\x9b"),
            "child of p\\rq",
        ]


class TestError:
    """A run that raised: its error in one line, and its traceback first of all sections."""

    def test_the_error_line(self, store: Store) -> None:
        assert run_report(store.entry(status="failed", error=ERROR)).error == (
            "ValueError: bad value"
        )

    def test_no_error(self, store: Store) -> None:
        report = run_report(store.entry(error=None))
        assert report.error == ""
        assert "traceback" not in titles(report)

    def test_the_traceback_comes_first(self, store: Store) -> None:
        store.write("stdout.txt", "out\n")
        report = run_report(store.entry(status="failed", error=ERROR, params={"lr": 1}))
        first = report.sections[0]
        assert first.title == "traceback"
        assert first.lines == [
            "Traceback (most recent call last):",
            '  File "train.py"',
            "ValueError: bad",
        ]
        assert first.alert
        assert [s.title for s in report.sections if s.alert] == ["traceback"]

    def test_a_part_the_record_lost_is_left_out(self, store: Store) -> None:
        error = {"message": "bad value", "traceback": ""}  # its type dropped as the wrong type
        assert run_report(store.entry(status="failed", error=error)).error == "bad value"

    def test_an_error_without_a_traceback(self, store: Store) -> None:
        error = {"type": "KeyboardInterrupt", "message": "", "traceback": ""}
        report = run_report(store.entry(status="interrupted", error=error))
        assert report.error == "KeyboardInterrupt: "
        assert "traceback" not in titles(report)

    def test_control_characters_are_escaped(self, store: Store) -> None:
        error = {"type": "E\x1b", "message": "m\rn", "traceback": "line\x1b[2J\n\tindented"}
        report = run_report(store.entry(status="failed", error=error))
        assert report.error == "E\\x1b: m\\rn"
        assert section(report, "traceback").lines == ["line\\x1b[2J", "\tindented"]


class TestSections:
    """Sections in a fixed order; empty ones are left out (the code one never is)."""

    def test_a_bare_run(self, store: Store) -> None:
        report = run_report(store.entry())
        assert titles(report) == ["code"]
        assert section(report, "code").rows == [("snapshot", "(none)")]

    def test_every_section_in_order(self, store: Store) -> None:
        store.write("stdout.txt", "out\n")
        store.write("stderr.txt", "err\n")
        error = {"type": "E", "message": "m", "traceback": "tb"}
        entry = store.entry(
            error=error,
            params={"lr": 0.1},
            metrics={"acc": 0.9},
            results=[{"name": "preds", "path": "results/r1/preds.pkl"}],
            environment={"python": "3.11"},
        )
        assert titles(run_report(entry)) == [
            "traceback",
            "params",
            "metrics",
            "results",
            "code",
            "environment",
            "stdout (last 1 of 1 lines)",
            "stderr (last 1 of 1 lines)",
        ]

    def test_only_metrics_are_numbers(self, store: Store) -> None:
        entry = store.entry(params={"lr": 0.1}, metrics={"acc": 0.9})
        assert [s.title for s in run_report(entry).sections if s.numbers] == ["metrics"]


class TestParams:
    def test_flattened_and_shown_compactly(self, store: Store) -> None:
        entry = store.entry(params={"lr": 0.123456, "opt": {"name": "adam", "betas": [0.9, 0.99]}})
        assert section(run_report(entry), "params").rows == [
            ("lr", "0.1235"),
            ("opt.name", "adam"),
            ("opt.betas", "[0.9, 0.99]"),
        ]

    def test_control_characters_are_escaped(self, store: Store) -> None:
        entry = store.entry(params={"k\x1b": "v\nw"})
        assert section(run_report(entry), "params").rows == [("k\\x1b", "v\\nw")]


class TestMetrics:
    """Final metrics; beside them, each logged series; a series without a final metric (a
    run still going, or one that crashed) shows its last value and step."""

    CSV = "name,step,value,time\nloss,0,0.5,1.0\nloss,1,0.25,2.0\nacc,4,0.75,3.0\n"

    def test_final_metrics(self, store: Store) -> None:
        entry = store.entry(metrics={"acc": 0.987654, "f1": {"macro": 0.5}, "n": 3})
        metrics = section(run_report(entry), "metrics")
        assert metrics.rows == [("acc", "0.9877"), ("f1.macro", "0.5"), ("n", "3")]
        assert metrics.series == {}
        assert metrics.numbers and not metrics.alert

    def test_a_logged_series_without_a_final_metric(self, store: Store) -> None:
        store.write("metrics.csv", self.CSV)
        entry = store.entry(status="running", end_time=None, host="elsewhere")
        metrics = section(run_report(entry), "metrics")
        assert metrics.rows == [("loss", "0.25 (step 1, logged)"), ("acc", "0.75 (step 4, logged)")]
        assert metrics.series == {
            "loss": Series([0, 1], [0.5, 0.25], [1.0, 2.0]),
            "acc": Series([4], [0.75], [3.0]),
        }

    def test_a_series_with_a_final_metric_is_shown_once(self, store: Store) -> None:
        store.write("metrics.csv", self.CSV)
        metrics = section(run_report(store.entry(metrics={"loss": 0.2})), "metrics")
        assert metrics.rows == [("loss", "0.2"), ("acc", "0.75 (step 4, logged)")]
        assert list(metrics.series) == ["loss", "acc"]

    def test_a_nested_metric_and_its_series(self, store: Store) -> None:
        store.write("metrics.csv", "name,step,value,time\nf1.macro,0,0.1,1.0\n")
        metrics = section(run_report(store.entry(metrics={"f1": {"macro": 0.5}})), "metrics")
        assert metrics.rows == [("f1.macro", "0.5")]
        assert list(metrics.series) == ["f1.macro"]

    def test_no_metrics_and_no_series(self, store: Store) -> None:
        assert "metrics" not in titles(run_report(store.entry(metrics={})))

    def test_control_characters_in_names_are_escaped(self, store: Store) -> None:
        store.write("metrics.csv", 'name,step,value,time\n"a\x1bb",0,1.0,1.0\n')
        metrics = section(run_report(store.entry()), "metrics")
        assert metrics.rows == [("a\\x1bb", "1 (step 0, logged)")]
        assert list(metrics.series) == ["a\\x1bb"]


class TestResultsAndCode:
    def test_results_with_their_paths(self, store: Store) -> None:
        results = [{"name": "preds", "path": "results/r1/preds.pkl"}, {"name": "m", "path": "/m"}]
        rows = section(run_report(store.entry(results=results)), "results").rows
        assert rows == [("preds", str(store.root / "results" / "r1" / "preds.pkl")), ("m", "/m")]

    def test_the_snapshot(self, store: Store) -> None:
        rows = section(run_report(store.entry(snapshot="snapshots/r1")), "code").rows
        assert rows == [("snapshot", str(store.root / "snapshots" / "r1"))]

    def test_git(self, store: Store) -> None:
        git = {"commit": "abc123", "branch": "main", "dirty": True, "diff": "git.diff"}
        rows = section(run_report(store.entry(git=git)), "code").rows
        assert rows == [
            ("snapshot", "(none)"),
            ("git", "abc123 on main, dirty"),
            ("uncommitted diff", str(store.run_dir / "git.diff")),
        ]

    def test_git_without_a_commit_or_a_branch(self, store: Store) -> None:
        git = {"commit": None, "branch": None, "dirty": False, "diff": None}
        rows = section(run_report(store.entry(git=git)), "code").rows
        assert rows == [("snapshot", "(none)"), ("git", "(no commit) on (detached), clean")]


class TestEnvironment:
    def test_everything(self, store: Store) -> None:
        (store.root / "envs").mkdir()
        packages = {"schema": 1, "packages": {"numpy": "2.0", "tmt": "0.2"}}
        (store.root / "envs" / "p.json").write_text(json.dumps(packages))
        environment = {
            "python": "3.11.7",
            "executable": "/usr/bin/python3",
            "platform": "Linux",
            "user": "ada",
            "packages": "envs/p.json",
        }
        entry = store.entry(environment=environment, argv=["train.py", "--lr", "0.1"])
        assert section(run_report(entry), "environment").rows == [
            ("python", "3.11.7 (/usr/bin/python3)"),
            ("platform", "Linux"),
            ("user", "ada"),
            ("packages", "2 installed"),
            ("command", "train.py --lr 0.1"),
        ]

    def test_what_is_not_known(self, store: Store) -> None:
        entry = store.entry(environment={"platform": None, "user": ""})
        assert section(run_report(entry), "environment").rows == [
            ("python", "? (?)"),
            ("platform", "?"),
            ("user", "?"),
            ("packages", "0 installed"),
        ]

    def test_only_a_command(self, store: Store) -> None:
        entry = store.entry(argv=["train.py", "\x1b[2J"])
        assert section(run_report(entry), "environment").rows == [("command", "train.py \\x1b[2J")]


class TestOutput:
    """The last 15 lines of what the run printed, each stream a section of its own."""

    @pytest.mark.parametrize(("count", "shown"), [(1, 1), (3, 3), (15, 15), (16, 15), (40, 15)])
    def test_the_tail(self, store: Store, count: int, shown: int) -> None:
        lines = [f"line {i}" for i in range(1, count + 1)]
        store.write("stdout.txt", "\n".join(lines) + "\n")
        output = section(run_report(store.entry()), "stdout")
        assert output.title == f"stdout (last {shown} of {count} lines)"
        assert output.lines == lines[-shown:]
        assert not output.alert and not output.numbers

    def test_stderr(self, store: Store) -> None:
        store.write("stderr.txt", "warning: x\n")
        report = run_report(store.entry())
        assert titles(report) == ["code", "stderr (last 1 of 1 lines)"]
        assert report.sections[-1].lines == ["warning: x"]

    def test_final_newlines_are_not_lines(self, store: Store) -> None:
        store.write("stdout.txt", "a\n\nb\n\n\n")
        output = section(run_report(store.entry()), "stdout")
        assert output.title == "stdout (last 3 of 3 lines)"
        assert output.lines == ["a", "", "b"]

    def test_a_line_without_a_newline(self, store: Store) -> None:
        store.write("stdout.txt", "a\nb")
        assert section(run_report(store.entry()), "stdout").lines == ["a", "b"]

    @pytest.mark.parametrize("text", ["", "\n", "\n\n\n"])
    def test_no_output_no_section(self, store: Store, text: str) -> None:
        store.write("stdout.txt", text)
        assert titles(run_report(store.entry())) == ["code"]

    def test_a_progress_bar_shows_as_a_terminal_left_it(self, store: Store) -> None:
        store.write("stdout.txt", "start\n 10%\r 50%\r100%\ndone\n")
        assert section(run_report(store.entry()), "stdout").lines == ["start", "100%", "done"]

    def test_control_characters_are_escaped_and_tabs_kept(self, store: Store) -> None:
        store.write("stdout.txt", "\x1b[31mred\x1b[0m\n\tindented\x07\n")
        lines = section(run_report(store.entry()), "stdout").lines
        assert lines == ["\\x1b[31mred\\x1b[0m", "\tindented\\x07"]
