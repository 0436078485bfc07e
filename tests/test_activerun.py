"""A run in progress: STARTING, LIVE while its function runs, then ENDING and ENDED; in a
child forked meanwhile, FORKED. Its ending never raises into the program and never loses the
record silently: on a full disk (no space, or no inodes) the run keeps what it could and says
what it lost, once."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import os
import subprocess
import sys
import textwrap
import threading
import warnings
from pathlib import Path

import pytest

from tmt import ArgumentTypeError, NotInRunError, tmt_log, tmt_recorder, tmt_save
from tmt.activerun import (
    ActiveRun,
    DisabledRun,
    State,
    activate,
    checked_run,
    run_to_nest_in,
    unchecked_run,
)

from conftest import REPO, records


def the_run() -> ActiveRun:
    """The recorded run the calling code is in."""
    run = unchecked_run()
    assert isinstance(run, ActiveRun)
    return run


class TestContract:
    def test_the_moves_the_docstring_lists_are_the_moves_allowed(self) -> None:
        """The module's docstring is its contract: it cannot drift from the code."""
        import re

        import tmt.activerun

        documented = set()
        for line in (tmt.activerun.__doc__ or "").splitlines():
            move = re.match(r"    ([A-Z][A-Z, or]*?) +-> +([A-Z]+)", line)
            if move:
                documented |= {(a, move[2]) for a in re.findall(r"[A-Z]+", move[1])}
        allowed = {(a.name, b.name) for a, to in tmt.activerun._TRANSITIONS.items() for b in to}
        assert documented == allowed

    def test_the_docstring_says_what_each_state_takes(self) -> None:
        import tmt.activerun

        lines = (tmt.activerun.__doc__ or "").splitlines()
        for state in State:
            assert any(line.startswith(f"    {state.name}   ") for line in lines), state


class TestLifecycle:
    def test_a_run_is_live_while_its_function_runs_and_ended_after(self, project: Path) -> None:
        seen = []
        tmt_recorder(name="x")(lambda: seen.append((the_run(), the_run().state)))()
        ((run, state),) = seen
        assert state is State.LIVE
        assert run.state is State.ENDED
        assert unchecked_run() is None

    def test_while_ending_it_takes_no_values_but_takes_record_writes(self, project) -> None:
        """An ending step sees the run ENDING: tmt_log from its context says the run ended;
        the record still takes changes, which the final record keeps."""
        seen = []

        def step() -> None:
            run = seen[0]
            seen.append(run.state)
            try:
                seen[1].run(tmt_log, "late", 1.0)  # in the run's own context
            except NotInRunError as exc:
                seen.append(str(exc))
            run.update(description="noted while ending")

        @tmt_recorder(name="x")
        def train() -> None:
            seen.extend([the_run(), contextvars.copy_context()])
            the_run().gathering.append(step)

        train()
        assert seen[2] is State.ENDING
        assert "tmt_log() was called after run" in seen[3] and "had finished" in seen[3]
        (record,) = records(project)
        assert record["description"] == "noted while ending"
        assert record["series"] == [] and record["status"] == "finished"

    def test_the_gathering_step_comes_before_the_series_and_the_output_close(
        self, project: Path
    ) -> None:
        seen = []

        @tmt_recorder(name="x")
        def train() -> None:
            run = the_run()
            tmt_log("loss", 0.5)
            run.gathering.append(lambda: seen.append((run.series.closed, run.output is None)))
            seen.append(run)

        train()
        run, (series_closed, output_closed) = seen
        assert not series_closed and not output_closed
        assert run.series.closed and run.output is None

    def test_a_step_of_the_ending_that_raises_costs_only_itself(self, project: Path) -> None:
        def broken() -> None:
            raise RuntimeError("probe gone")

        @tmt_recorder(name="x")
        def train() -> dict:
            the_run().gathering.append(broken)
            tmt_log("loss", 0.5)
            return {"acc": 1}

        with pytest.warns(UserWarning, match=r"a step of its ending \(RuntimeError: probe gone"):
            train()
        (record,) = records(project)
        assert record["status"] == "finished"
        assert record["metrics"] == {"loss": 0.5, "acc": 1} and record["series"] == ["loss"]

    def test_ending_again_does_nothing_more_and_never_raises(self, project: Path) -> None:
        """However it is asked to end again (returned, raised, signalled), an ended run's
        record stays as it was."""
        runs = []
        tmt_recorder(name="x")(lambda: runs.append(the_run()) or {"acc": 1})()
        (run,) = runs
        path = Path(run.store.run_dir(run.id)) / "run.json"
        before = path.read_text()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            run.finish({"acc": 2})
            run.fail(ValueError("late"))
            run.terminate("SIGTERM")
        assert path.read_text() == before
        assert run.state is State.ENDED
        assert json.loads(before)["metrics"] == {"acc": 1}

    def test_a_move_the_contract_does_not_allow_is_refused(self, project: Path) -> None:
        """An ended run activated again stays ended, and is not made current."""
        runs = []
        tmt_recorder(name="x")(lambda: runs.append(the_run()))()
        activate(runs[0])
        assert runs[0].state is State.ENDED
        assert unchecked_run() is None


class TestEndings:
    """How a run ends decides its status; an ending never raises into the program."""

    @pytest.mark.parametrize(
        ("raised", "status"),
        [
            (None, "finished"),
            (SystemExit(0), "finished"),
            (SystemExit(1), "failed"),
            (ValueError("bad"), "failed"),
            (KeyboardInterrupt(), "interrupted"),
            (asyncio.CancelledError(), "interrupted"),
        ],
        ids=["returned", "exit 0", "exit 1", "error", "ctrl-c", "cancelled"],
    )
    def test_the_status_says_how_it_ended(self, project: Path, raised, status) -> None:
        def train() -> dict:
            if raised is not None:
                raise raised
            return {"acc": 1}

        with pytest.raises(type(raised)) if raised is not None else contextlib.nullcontext():
            tmt_recorder(name="x")(train)()
        (record,) = records(project)
        assert record["status"] == status
        duration = record["end_time"] - record["start_time"]
        assert record["duration"] == pytest.approx(duration, abs=1e-5)
        if status == "finished":
            assert record["error"] is None
        else:
            assert record["error"]["type"].endswith(type(raised).__name__)

    def test_a_stop_signal_ends_it_as_terminated_with_where_it_was(self, project) -> None:
        """What the signal handler calls; the function's own return then changes nothing."""

        @tmt_recorder(name="x")
        def train() -> dict:
            tmt_log("loss", 0.5)
            the_run().terminate("SIGTERM", sys._getframe())
            return {"acc": 1}

        train()
        (record,) = records(project)
        assert record["status"] == "terminated" and record["metrics"] == {"loss": 0.5}
        assert record["error"]["type"] == "SIGTERM"
        assert "in train" in record["error"]["traceback"]

    def test_what_several_steps_lost_is_said_in_one_warning(self, project: Path) -> None:
        def broken() -> None:
            raise RuntimeError("gone")

        @tmt_recorder(name="x")
        def train() -> None:
            the_run().gathering.extend([broken, broken])

        with pytest.warns(UserWarning) as caught:
            train()
        (warning,) = caught
        step = "a step of its ending (RuntimeError: gone)"
        assert str(warning.message).endswith(f"could not keep everything: lost {step}; {step}")


class TestFindingTheRun:
    def test_checked_run_is_the_live_run_and_says_why_there_is_none(self, project) -> None:
        found = []
        tmt_recorder(name="x")(lambda: found.append((checked_run("f"), the_run())))()
        ((checked, run),) = found
        assert checked is run
        with pytest.raises(NotInRunError, match=r"f\(\) must be called inside a run"):
            checked_run("f")

    def test_a_thread_finds_the_innermost_of_nested_runs(self, project: Path) -> None:
        """Threads do not inherit the context: they fall back to the innermost active run
        when the active runs form one chain."""
        found = []

        def in_a_thread() -> None:
            thread = threading.Thread(target=lambda: found.append(checked_run("f")))
            thread.start()
            thread.join()
            found.append(the_run())

        tmt_recorder(name="outer")(tmt_recorder(name="inner")(in_a_thread))()
        from_thread, inner = found
        assert from_thread is inner and inner.record["name"] == "inner"

    def test_a_new_run_nests_in_the_run_of_its_context(self, project: Path) -> None:
        found = []

        @tmt_recorder(name="outer")
        def outer() -> None:
            found.append((run_to_nest_in(), the_run()))

        outer()
        ((nest_in, run),) = found
        assert nest_in is run
        assert run_to_nest_in() is None  # after it ended

    def test_in_a_forked_child_the_run_is_forked_and_still_nested_in(self, run_python) -> None:
        """The child's copy takes nothing and is never written; a run the child records is a
        child of it."""
        out = run_python(
            """
            import os
            from tmt import NotInRunError, tmt_recorder
            from tmt.activerun import checked_run, run_to_nest_in, unchecked_run

            @tmt_recorder(name="parent")
            def train():
                pid = os.fork()
                if pid == 0:
                    try:
                        checked_run("tmt_save")
                    except NotInRunError as exc:
                        print("refused:", exc)
                    print("state:", unchecked_run().state.name)
                    print("nests in:", run_to_nest_in() is unchecked_run(), flush=True)
                    os._exit(0)
                os.waitpid(pid, 0)
                print("parent:", unchecked_run().state.name)

            train()
            """
        ).stdout.splitlines()
        assert out[0].startswith("refused: tmt_save() was called in a child process of run")
        assert out[1:] == ["state: FORKED", "nests in: True", "parent: LIVE"]


class TestDisabledRun:
    def test_it_is_live_takes_values_and_keeps_nothing(self, project: Path) -> None:
        found = []

        @tmt_recorder(name="x", enabled=False)
        def train() -> None:
            tmt_log("loss", 0.5)
            tmt_log({"acc": 1}, step=3)
            found.append((checked_run("f"), tmt_save(1, name="m"), run_to_nest_in()))

        train()
        ((run, saved, nest_in),) = found
        assert isinstance(run, DisabledRun) and run.state is State.LIVE
        assert saved == "" and nest_in is None
        assert run.series.steps == {"loss": 1, "acc": 4}
        assert not (project / ".tmt").exists()

    @pytest.mark.parametrize("logged", [("loss", "low"), ({"loss": "low"},)])
    def test_it_checks_values_as_a_recorded_run_does(self, project: Path, logged) -> None:
        """A mistake found with recording off is the mistake found with it on."""
        train = tmt_recorder(name="x", enabled=False)(lambda: tmt_log(*logged))
        with pytest.raises(ArgumentTypeError, match="the value of 'loss' must be a number"):
            train()


FILL = {
    # Fill the space with one file: os.write, unbuffered, so closing it cannot raise.
    "space": """
        fd = os.open("../filler", os.O_WRONLY | os.O_CREAT)
        try:
            while True:
                os.write(fd, b"x" * 65536)
        except OSError:
            pass
        os.close(fd)
        fillers = ["../filler"]
    """,
    # Use up the inodes with empty files.
    "inodes": """
        os.mkdir("../fill")
        fillers = []
        try:
            while True:
                path = f"../fill/{len(fillers)}"
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT))
                fillers.append(path)
        except OSError:
            pass
    """,
}

PROGRAM = """
import os, sys, time, warnings
from tmt import tmt_log, tmt_recorder
from tmt.activerun import checked_run

os.mkdir("project")
os.chdir("project")
with open("train.py", "w") as f:
    f.write("print('training')\\n")

@tmt_recorder(name="full")
def train():
{fill}
    for i in range(5000):
        tmt_log("loss", float(i))
    # Values are written about once a second, by a thread a loaded machine may delay past
    # the freeing below: written now, while the disk is full.
    checked_run("test").series.flush()
    print("x" * 100_000)
    if {free}:
        for path in fillers:
            os.unlink(path)
    return {{"acc": 0.5}}

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    got = train()
print()
print("RETURNED", got)
for w in caught:
    print("WARNING", w.message)
"""


FULL_FROM_THE_START = """
import os, warnings
from tmt import tmt_recorder, tmt_save

os.mkdir("project")
os.chdir("project")
{fill}
@tmt_recorder(name="full")
def train(i):
    print("training", i)
    return {{"acc": i}}

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    got = [train(i) for i in range(3)]
print("RETURNED", got)
for w in caught:
    print("WARNING", w.message)
"""


def run_on_a_small_disk(
    tmp_path: Path, fill: str, free: bool, program: str = PROGRAM
) -> subprocess.CompletedProcess:
    mount = tmp_path / "disk"
    mount.mkdir()
    indent = "" if program is FULL_FROM_THE_START else "    "
    code = program.format(fill=textwrap.indent(textwrap.dedent(FILL[fill]), indent), free=free)
    options = "size=4m,nr_inodes=200" if fill == "inodes" else "size=4m"
    script = f'mount -t tmpfs -o {options} tmpfs "$1" && cd "$1" && exec "$2" -c "$3"'
    probe = subprocess.run(
        ["unshare", "-Urm", "sh", "-c", script, "sh", str(mount), sys.executable, "pass"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {probe.stderr.strip()}")
    return subprocess.run(
        ["unshare", "-Urm", "sh", "-c", script, "sh", str(mount), sys.executable, code],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


@pytest.mark.parametrize("fill", ["space", "inodes"])
class TestFullDisk:
    def test_the_program_goes_on_and_one_warning_says_what_was_lost(
        self, tmp_path: Path, fill: str
    ) -> None:
        proc = run_on_a_small_disk(tmp_path, fill, free=True)
        assert proc.returncode == 0, proc.stderr
        lines = proc.stdout.splitlines()
        assert "RETURNED {'acc': 0.5}" in lines
        warned = [line for line in lines if line.startswith("WARNING tmt:")]
        assert len(warned) == 1, warned
        (warning,) = warned
        assert "could not keep everything" in warning
        assert "stdout" in warning and "logged values" in warning
        assert "No space left on device" in warning
        assert "final record" not in warning  # space was freed before the end

    def test_a_record_that_cannot_be_completed_is_said_too(self, tmp_path: Path, fill: str) -> None:
        proc = run_on_a_small_disk(tmp_path, fill, free=False)
        assert proc.returncode == 0, proc.stderr
        lines = proc.stdout.splitlines()
        assert "RETURNED {'acc': 0.5}" in lines
        (warning,) = [line for line in lines if line.startswith("WARNING tmt:")]
        assert "its final record" in warning

    def test_a_store_full_before_the_run_does_not_stop_the_function(
        self, tmp_path: Path, fill: str
    ) -> None:
        """Not even a run folder can be made: the function runs, unrecorded, and says so."""
        proc = run_on_a_small_disk(tmp_path, fill, free=False, program=FULL_FROM_THE_START)
        assert proc.returncode == 0, proc.stderr
        lines = proc.stdout.splitlines()
        assert "RETURNED [{'acc': 0}, {'acc': 1}, {'acc': 2}]" in lines
        warned = [line for line in lines if line.startswith("WARNING tmt:")]
        said = "is not recorded" if fill == "inodes" else "its final record (No space left"
        assert len(warned) == 3 and all(said in w for w in warned), warned  # one a run


class TestUnrecorded:
    def test_a_store_that_cannot_take_the_run_lets_the_function_run(
        self, project: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Printing and logging work; saving says it cannot keep the object."""
        import sys

        from tmt import StoreError, tmt_log, tmt_recorder, tmt_save
        from tmt.store import Store

        def refuse(self):
            raise StoreError("cannot create a run folder in .tmt/runs: Read-only file system")

        monkeypatch.setattr(Store, "create_run_dir", refuse)
        original = sys.stdout

        @tmt_recorder(name="ro")
        def train():
            print("still printing")
            tmt_log("loss", 0.5)
            with pytest.raises(StoreError, match=r"'model' not saved: run .* is not recorded"):
                tmt_save([1], name="model")
            return 7

        with pytest.warns(UserWarning, match="a run of 'ro' is not recorded: .*Read-only"):
            assert train() == 7
        assert sys.stdout is original
        assert not (project / ".tmt" / "results").exists()


class TestRunsLeftAtExit:
    """A run its process leaves behind as it exits is recorded interrupted, not crashed."""

    def test_a_daemon_threads_run_cut_off_by_the_exit(self, run_python, project) -> None:
        run_python(
            """
            import threading, time
            from tmt import tmt_recorder

            started = threading.Event()

            @tmt_recorder(name="background")
            def forever():
                started.set()
                time.sleep(60)

            threading.Thread(target=forever, daemon=True).start()
            started.wait(30)
            """
        )
        (path,) = (project / ".tmt" / "runs").glob("*/run.json")
        record = json.loads(path.read_text())
        assert record["status"] == "interrupted" and record["end_time"] is not None
        assert record["error"]["message"] == "the process ended before the run did"
