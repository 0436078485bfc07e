"""Step-wise metrics: tmt_log appends to a run's series, kept in a plain CSV file."""

from __future__ import annotations

import csv
import math
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tmt import ArgumentTypeError, NotInRunError, TmtError, TmtManager, tmt_log, tmt_recorder
from tmt.series import SeriesWriter

from conftest import REPO


def entry(name: str):
    return TmtManager().set_entry_by_name(name)


class TestLogging:
    def test_steps_count_per_metric_by_default(self, project: Path) -> None:
        @tmt_recorder(name="s")
        def train():
            for i in range(3):
                tmt_log("loss", 1.0 / (i + 1))
            tmt_log("acc", 0.5)

        train()
        assert entry("s").series("loss").steps == [0, 1, 2]
        assert entry("s").series("loss").values == [1.0, 0.5, 1 / 3]
        assert entry("s").series("acc").steps == [0]

    def test_explicit_steps_and_several_metrics_at_once(self, project: Path) -> None:
        @tmt_recorder(name="s")
        def train():
            for epoch in (10, 20):
                tmt_log({"loss": 0.1, "acc": 0.9}, step=epoch)
            tmt_log("loss", 0.05)  # continues after the last explicit step

        train()
        assert entry("s").series("loss").steps == [10, 20, 21]
        assert entry("s").series("acc").steps == [10, 20]

    def test_wall_times_are_kept(self, project: Path) -> None:
        before = time.time()
        tmt_recorder(name="s")(lambda: tmt_log("x", 1))()
        (when,) = entry("s").series("x").times
        assert before <= when <= time.time()

    @pytest.mark.parametrize(
        "value", [1, 0.5, np.float32(0.25), np.int64(2), np.array(3.0), 10**300]
    )
    def test_python_and_numpy_numbers_and_zero_d_arrays(self, project, value) -> None:
        tmt_recorder(name="s")(lambda: tmt_log("x", value))()
        assert entry("s").series("x").values == [float(value)]

    def test_nan_and_inf(self, project: Path) -> None:
        tmt_recorder(name="s")(lambda: [tmt_log("x", v) for v in (math.nan, math.inf)])()
        values = entry("s").series("x").values
        assert math.isnan(values[0]) and values[1] == math.inf

    def test_a_non_number_is_a_clear_error_naming_the_metric(self, project: Path) -> None:
        @tmt_recorder(name="s")
        def train():
            tmt_log("loss", "low")

        with pytest.raises(TypeError, match="the value of 'loss' must be a number"):
            train()

    @pytest.mark.parametrize(
        ("value", "what"),
        [
            ("0.5", "must be a number, got str"),
            (b"1", "must be a number, got bytes"),
            (True, "must be a number, got bool"),
            (np.bool_(True), "must be a number, got bool"),
            (np.str_("1"), "must be a number, got str"),
            pytest.param(10**400, "is an int too large for a float", id="big int"),
            pytest.param(10**5000, "is an int too large for a float", id="huge int"),
            (1 + 2j, "must be a number, got complex"),
        ],
    )
    def test_what_is_not_a_number_is_refused_naming_the_metric(self, project, value, what):
        """A string, a bool or bytes is a mistake (a float of it would hide it)."""

        @tmt_recorder(name="s")
        def train():
            tmt_log({"acc": value})

        with pytest.raises(TypeError, match=f"tmt_log: the value of 'acc' {what}"):
            train()
        with pytest.raises(TypeError, match="the value of 'acc'"):
            tmt_recorder(name="s")(lambda: tmt_log("acc", value))()

    @pytest.mark.parametrize("key", [1, None, ("a",)])
    def test_a_metric_name_that_is_not_a_string_is_refused_at_the_call(self, project, key):
        """Not later, in the background, where it would stop the run's heartbeat."""
        import sys

        original = sys.stdout

        @tmt_recorder(name="s")
        def train():
            tmt_log({key: 0.5})

        with pytest.raises(TypeError, match="metric names must be strings"):
            train()
        assert sys.stdout is original
        assert TmtManager().last().status == "failed"

    @pytest.mark.parametrize("how", ["one", "several"])
    def test_a_step_given_as_a_numpy_int_or_a_whole_float_is_an_int(self, project, how) -> None:
        """Counted on from there, and written as a whole number."""

        def log(value: float, step=None) -> None:
            if how == "one":
                tmt_log("x", value, step=step)
            else:
                tmt_log({"x": value}, step=step)

        tmt_recorder(name="s")(lambda: [log(1, np.int64(5)), log(2), log(3, 7.0), log(4)])()
        assert entry("s").series("x").steps == [5, 6, 7, 8]
        lines = (Path(entry("s").run_dir) / "metrics.csv").read_text().splitlines()
        assert [line.split(",")[1] for line in lines[1:]] == ["5", "6", "7", "8"]

    def test_a_fractional_step_is_refused(self, project: Path) -> None:
        with pytest.raises(TypeError, match="must be a whole number"):
            tmt_recorder(name="s")(lambda: tmt_log("x", 1, step=1.5))()

    @pytest.mark.parametrize(
        "call",
        [
            lambda: tmt_log("x", "1"),
            lambda: tmt_log("x", 1, step="2"),
            lambda: tmt_log({1: 1}),
            lambda: tmt_log({"x": 1}, 2),
            lambda: tmt_log(["x"], 1),
        ],
        ids=["value", "step", "name", "dict and value", "list"],
    )
    def test_a_bad_argument_is_a_tmt_error_and_a_type_error(self, project, call) -> None:
        with pytest.raises(ArgumentTypeError) as caught:
            tmt_recorder(name="s")(call)()
        assert isinstance(caught.value, TmtError) and isinstance(caught.value, TypeError)

    def test_outside_a_run(self, project: Path) -> None:
        with pytest.raises(NotInRunError, match=r"tmt_log\(\) must be called inside a run"):
            tmt_log("x", 1)


class TestSummary:
    def test_the_last_value_is_the_metric(self, project: Path) -> None:
        tmt_recorder(name="s")(lambda: [tmt_log("loss", v) for v in (3, 2, 1)] and None)()
        assert entry("s").metrics == {"loss": 1.0}

    def test_a_returned_value_wins(self, project: Path) -> None:
        @tmt_recorder(name="s")
        def train():
            tmt_log("loss", 1.0)
            return {"loss": 0.5, "acc": 0.9}

        train()
        assert entry("s").metrics == {"loss": 0.5, "acc": 0.9}

    def test_a_failed_run_keeps_what_it_logged(self, project: Path) -> None:
        @tmt_recorder(name="s")
        def train():
            tmt_log("loss", 2.0)
            raise ValueError

        with pytest.raises(ValueError):
            train()
        assert entry("s").series("loss").values == [2.0]
        assert entry("s").metrics == {"loss": 2.0}
        assert entry("s").series_names() == ["loss"]


class TestFile:
    def test_plain_csv_readable_by_any_tool(self, project: Path) -> None:
        tmt_recorder(name="s")(lambda: tmt_log({"a,b": 1, 'say "hi"': 2}))()
        path = Path(entry("s").run_dir) / "metrics.csv"
        rows = list(csv.DictReader(path.open()))
        assert [(r["name"], r["step"], r["value"]) for r in rows] == [
            ("a,b", "0", "1.0"),
            ('say "hi"', "0", "2.0"),
        ]

    def test_written_within_about_a_second_while_running(self, project: Path) -> None:
        """A crash loses at most the last second of logged values."""
        code = (
            "import time\n"
            "from tmt import tmt_recorder, tmt_log\n"
            "@tmt_recorder(name='slow')\n"
            "def run():\n"
            "    tmt_log('loss', 1.0)\n"
            "    print('logged', flush=True)\n"
            "    time.sleep(60)\n"
            "run()\n"
        )
        proc = subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=project,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        try:
            assert proc.stdout.readline() == "logged\n"
            time.sleep(2.0)
            files = list((project / ".tmt" / "runs").glob("*/metrics.csv"))
            assert len(files) == 1 and "loss,0,1.0," in files[0].read_text()
        finally:
            proc.kill()
            proc.wait()


class TestReading:
    def test_manager_gives_lists_and_a_data_frame(self, project: Path) -> None:
        tmt_recorder(name="s")(lambda: [tmt_log("loss", v) for v in (3, 2)] and None)()
        manager = TmtManager()
        manager.set_entry_by_name("s")
        steps, values, _ = manager.get_series("loss")
        assert (steps, values) == ([0, 1], [3.0, 2.0])
        frame = manager.get_series_dataframe()
        assert list(frame.columns) == ["name", "step", "value", "time"]
        assert frame["value"].tolist() == [3.0, 2.0]

    def test_an_unknown_series_names_the_known_ones(self, project: Path) -> None:
        tmt_recorder(name="s")(lambda: tmt_log("loss", 1))()
        with pytest.raises(KeyError, match="logged: loss"):
            entry("s").series("acc")


class TestConcurrentRuns:
    def test_each_thread_logs_into_its_own_run(self, project: Path) -> None:
        barrier = threading.Barrier(2)

        @tmt_recorder(name="t")
        def train(tag, value):
            barrier.wait()
            for _ in range(100):
                tmt_log("v", value)
            return {"tag": tag}

        threads = [threading.Thread(target=train, args=t) for t in (("a", 1), ("b", 2))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for run in TmtManager().db.get_entries_by_name("t"):
            expected = 1.0 if run.metrics["tag"] == "a" else 2.0
            assert run.series("v").values == [expected] * 100


class TestMessages:
    def test_a_name_with_a_value_and_a_dict_is_refused(self, project: Path) -> None:
        with pytest.raises(ArgumentTypeError, match="pass either a name and a value, or a dict"):
            tmt_recorder(name="s")(lambda: tmt_log({"x": 1}, 2))()

    @pytest.mark.parametrize(
        ("value", "shown"), [("a" * 58, repr("a" * 58)), ("a" * 59, repr("a" * 59)[:59] + "…")]
    )
    def test_a_value_is_shown_up_to_60_characters(self, project, value, shown) -> None:
        with pytest.raises(ArgumentTypeError) as refused:
            tmt_recorder(name="s")(lambda: tmt_log("x", value))()
        assert str(refused.value).endswith(f"got str {shown}")

    def test_an_unprintable_value_is_said_so(self, project: Path) -> None:
        class Unprintable:
            def __repr__(self) -> str:
                raise RuntimeError

        with pytest.raises(ArgumentTypeError, match=r"got Unprintable \(unprintable\)$"):
            tmt_recorder(name="s")(lambda: tmt_log("x", Unprintable()))()


class TestSeriesWriter:
    """What the run's ending relies on: close writes the rest, closes the file and says what
    was lost; after it, nothing more is written."""

    def test_close_writes_the_rest_and_closes_the_file(self, tmp_path: Path) -> None:
        writer = SeriesWriter(str(tmp_path))
        writer.log("loss", 1.0, None, 0.0)
        writer.flush()
        file = writer.file
        writer.log("loss", 2.0, None, 0.0)
        assert writer.close() is None  # nothing lost
        assert file is not None and file.closed
        assert (tmp_path / "metrics.csv").read_text().count("loss,") == 2

    def test_after_close_nothing_more_is_written(self, tmp_path: Path) -> None:
        writer = SeriesWriter(str(tmp_path))
        writer.log("loss", 1.0, None, 0.0)
        writer.close()
        writer.log("loss", 2.0, None, 0.0)  # a thread that had not seen the run end
        writer.flush()
        assert writer.file is None
        assert (tmp_path / "metrics.csv").read_text().count("loss,") == 1

    def test_what_cannot_be_written_is_counted_and_said_by_close(self, tmp_path: Path) -> None:
        writer = SeriesWriter(str(tmp_path / "gone"))
        for step in range(3):
            writer.log("loss", 1.0, step, 0.0)
        writer.flush()
        writer.log("loss", 2.0, None, 0.0)
        assert writer.close() == "4 logged values (No such file or directory)"

    def test_a_writer_without_a_folder_checks_and_counts_and_keeps_nothing(self) -> None:
        writer = SeriesWriter(None)
        writer.log("loss", 1, None, 0.0)
        with pytest.raises(ArgumentTypeError):
            writer.log("loss", "1", None, 0.0)
        writer.flush()
        assert writer.steps == {"loss": 1} and writer.last == {} and writer.close() is None


class TestForkedChild:
    """A process forked inside a run (a data loader's worker, a pool's) never writes the run's
    series: only the run's own process does."""

    pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork here")

    def test_tmt_log_in_a_forked_child_is_refused(self, project: Path, run_python) -> None:
        out = run_python(
            """
            import os
            from tmt import NotInRunError, tmt_log, tmt_recorder

            @tmt_recorder(name="forker")
            def train():
                tmt_log("loss", 1.0)
                pid = os.fork()
                if pid == 0:
                    try:
                        tmt_log("loss", 99.0)
                        tmt_log({"loss": 99.0})
                    except NotInRunError as exc:
                        print("refused:", exc, flush=True)
                    os._exit(0)
                os.waitpid(pid, 0)
                tmt_log("loss", 2.0)

            train()
            """
        )
        assert out.stdout.startswith("refused: tmt_log() was called in a child process of run")
        assert entry("forker").series("loss").values == [1.0, 2.0]

    def test_values_queued_at_the_fork_are_written_once(self, project: Path, run_python) -> None:
        """The child, leaving through the recorded function as the parent will, writes none
        of the values the parent had queued, nor the record."""
        run_python(
            """
            import os
            from tmt import tmt_log, tmt_recorder

            @tmt_recorder(name="forker")
            def train():
                for step in range(3):
                    tmt_log("loss", float(step))  # queued: written within the second
                pid = os.fork()
                if pid == 0:
                    return "child"
                os.waitpid(pid, 0)
                return {"who": "parent"}

            if train() == "child":
                os._exit(0)
            """
        )
        run = entry("forker")
        assert run.series("loss").values == [0.0, 1.0, 2.0]
        assert run.metrics == {"loss": 2.0, "who": "parent"} and run.status == "finished"

    def test_a_writer_flushed_in_a_forked_child_writes_nothing(self, project, run_python) -> None:
        out = run_python(
            """
            import os
            from tmt.series import SeriesWriter

            writer = SeriesWriter(".")
            writer.log("loss", 1.0, None, 0.0)
            pid = os.fork()
            if pid == 0:
                writer.log("loss", 2.0, None, 0.0)
                writer.flush()
                writer.close()
                os._exit(0)
            os.waitpid(pid, 0)
            print(os.path.exists("metrics.csv"))
            writer.close()
            print(open("metrics.csv").read().count("loss,"))
            """
        )
        assert out.stdout.split() == ["False", "1"]
