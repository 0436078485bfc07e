"""SIGTERM and SIGHUP (SLURM, Kubernetes, a closed SSH session): the runs are recorded as
terminated, and the process then ends as it would have without tmt. Ctrl-C, even twice, and
in a process with forked workers, records interrupted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tmt import TmtManager

from conftest import REPO, records


def start(project: Path, code: str, **kwargs) -> subprocess.Popen:
    """Start ``code`` in a fresh interpreter in the project; it prints READY when it is in
    its run."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def wait_ready(proc: subprocess.Popen) -> None:
    for line in proc.stdout:
        if line.strip() == "READY":
            return
    raise AssertionError(f"never ready: {proc.stderr.read()}")


SLEEPER = """
    import sys, time
    from tmt import tmt_log, tmt_recorder

    @tmt_recorder(name="job")
    def train():
        for step in range(3):
            tmt_log("loss", 1.0 / (step + 1))
        print("epoch 1 done")
        print("READY", flush=True)
        time.sleep(60)

    train()
"""


class TestStopSignals:
    @pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
    def test_the_run_is_terminated_and_the_process_ends_by_the_signal(
        self, project: Path, signum: int
    ) -> None:
        proc = start(project, SLEEPER)
        wait_ready(proc)
        proc.send_signal(signum)
        assert proc.wait(timeout=30) == -signum  # as if tmt were not there
        (record,) = records(project)
        name = signal.Signals(signum).name
        assert record["status"] == "terminated"
        assert record["error"]["type"] == name and name in record["error"]["message"]
        assert "in train" in record["error"]["traceback"]  # where it was
        assert record["end_time"] is not None and record["duration"] > 0
        assert record["metrics"] == {"loss": 1 / 3}
        entry = TmtManager().last()
        assert entry.status == "terminated"
        assert entry.output() == "epoch 1 done\nREADY\n"
        assert entry.series("loss").values == [1.0, 0.5, 1 / 3]

    def test_a_handler_of_the_programs_is_still_called(self, project: Path) -> None:
        """The program's own SIGTERM handler (a checkpoint, a requeue) runs after tmt's."""
        proc = start(
            project,
            """
            import signal, sys, time
            from tmt import tmt_recorder

            def checkpoint(signum, frame):
                print("checkpoint saved", flush=True)
                sys.exit(3)

            signal.signal(signal.SIGTERM, checkpoint)

            @tmt_recorder(name="job")
            def train():
                print("READY", flush=True)
                time.sleep(60)

            train()
            """,
        )
        wait_ready(proc)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 3
        assert "checkpoint saved" in proc.stdout.read()
        (record,) = records(project)
        assert record["status"] == "terminated"
        assert "SIGTERM" in record["error"]["message"]

    def test_a_program_that_carries_on_keeps_logging_and_ends_terminated(
        self, project: Path
    ) -> None:
        """A handler that asks the loop to stop early: the run goes on to return, its
        values are kept, and it is recorded as cut short by the signal."""
        proc = start(
            project,
            """
            import signal, time
            from tmt import tmt_log, tmt_recorder

            stop = []
            signal.signal(signal.SIGTERM, lambda signum, frame: stop.append(signum))

            @tmt_recorder(name="job")
            def train():
                print("READY", flush=True)
                step = 0
                while not stop:
                    time.sleep(0.01)
                tmt_log("loss", 0.5)
                return {"acc": 0.9}

            train()
            print("after", signal.getsignal(signal.SIGTERM).__name__)
            """,
        )
        wait_ready(proc)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert "after <lambda>" in proc.stdout.read()  # the program's handler is back
        (record,) = records(project)
        assert record["status"] == "terminated"
        assert record["metrics"] == {"acc": 0.9, "loss": 0.5}

    def test_an_ignored_signal_stays_ignored(self, project: Path) -> None:
        proc = start(
            project,
            """
            import signal, time
            from tmt import tmt_recorder

            signal.signal(signal.SIGTERM, signal.SIG_IGN)

            @tmt_recorder(name="job")
            def train():
                print("READY", flush=True)
                time.sleep(1)
                return {"acc": 1}

            train()
            """,
        )
        wait_ready(proc)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert records(project)[0]["status"] == "finished"

    def test_the_handlers_are_tmts_only_while_a_run_is_active(self, run_python) -> None:
        out = run_python(
            """
            import signal
            from tmt import tmt_recorder

            during = []
            tmt_recorder(name="a")(lambda: during.append(signal.getsignal(signal.SIGTERM)))()
            after = signal.getsignal(signal.SIGTERM)
            print(during[0] is not signal.SIG_DFL, after is signal.SIG_DFL)
            """
        ).stdout.split()
        assert out == ["True", "True"]

    def test_runs_in_threads_are_terminated_too(self, project: Path) -> None:
        proc = start(
            project,
            """
            import threading, time
            from tmt import tmt_recorder

            worker = tmt_recorder(name="worker")(lambda: time.sleep(60))

            @tmt_recorder(name="main")
            def main():
                threads = [threading.Thread(target=worker, daemon=True) for _ in range(3)]
                for t in threads:
                    t.start()
                time.sleep(0.5)
                print("READY", flush=True)
                time.sleep(60)

            main()
            """,
        )
        wait_ready(proc)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == -signal.SIGTERM
        statuses = sorted((r["name"], r["status"]) for r in records(project))
        assert statuses == [("main", "terminated")] + [("worker", "terminated")] * 3


SLOW_SNAPSHOT = """
    import time, tmt.recorder
    from tmt import tmt_recorder

    def slow(run, config):  # as a first snapshot of a big project would be
        print("READY", flush=True)
        time.sleep(30)
        return {}

    tmt.recorder._snapshot = slow
    tmt_recorder(name="job")(lambda: None)()
"""


class TestWhileARunStarts:
    """Taking a snapshot can take seconds: it stays interruptible, and is recorded."""

    def test_ctrl_c_stops_it_at_once_and_the_run_is_interrupted(self, project: Path) -> None:
        proc = start(project, SLOW_SNAPSHOT)
        wait_ready(proc)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        assert time.monotonic() - sent < 5
        assert records(project)[0]["status"] == "interrupted"

    def test_sigterm_records_it_as_terminated(self, project: Path) -> None:
        proc = start(project, SLOW_SNAPSHOT)
        wait_ready(proc)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == -signal.SIGTERM
        assert records(project)[0]["status"] == "terminated"


class TestCtrlC:
    def test_every_press_held_back_reaches_the_programs_handler(self, project: Path) -> None:
        """A "press twice to quit" handler still sees two presses made while tmt wrote."""
        proc = start(
            project,
            """
            import signal, time
            import tmt.activerun
            from tmt import tmt_recorder

            presses = []
            signal.signal(signal.SIGINT, lambda s, f: presses.append(s))
            real_end = tmt.activerun.ActiveRun._end

            def slow_end(self, *args, **kwargs):
                print("ENDING", flush=True)
                time.sleep(1.5)
                return real_end(self, *args, **kwargs)

            tmt.activerun.ActiveRun._end = slow_end

            @tmt_recorder(name="job")
            def train():
                print("READY", flush=True)

            train()
            print("PRESSES", len(presses), flush=True)
            """,
        )
        wait_ready(proc)
        assert proc.stdout.readline().strip() == "ENDING"
        for _ in range(3):
            proc.send_signal(signal.SIGINT)
            time.sleep(0.2)
        out, _ = proc.communicate(timeout=30)
        assert "PRESSES 3" in out
        assert records(project)[0]["status"] == "finished"

    def test_a_second_ctrl_c_while_the_run_is_ending_still_records_interrupted(
        self, project: Path
    ) -> None:
        proc = start(
            project,
            """
            import time
            import tmt.activerun
            from tmt import tmt_recorder

            describe = tmt.activerun._exception_error

            def slowly(exc):  # as if formatting a long traceback took a while
                print("ENDING", flush=True)
                time.sleep(1)
                return describe(exc)

            tmt.activerun._exception_error = slowly

            @tmt_recorder(name="job")
            def train():
                print("READY", flush=True)
                time.sleep(60)

            train()
            """,
        )
        wait_ready(proc)
        proc.send_signal(signal.SIGINT)
        assert proc.stdout.readline().strip() == "ENDING"
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        (record,) = records(project)
        assert record["status"] == "interrupted"
        assert record["error"]["type"] == "KeyboardInterrupt"
        assert TmtManager().last().status == "interrupted"

    def test_ctrl_c_with_forked_workers_records_interrupted_once(self, project: Path) -> None:
        """Ctrl-C reaches the whole process group: the workers stop, and only the run's own
        process writes its record."""
        proc = start(
            project,
            """
            import multiprocessing as mp, time
            from tmt import tmt_recorder

            @tmt_recorder(name="trial")
            def slow(i):
                print("worker", i, flush=True)
                time.sleep(60)

            @tmt_recorder(name="sweep")
            def sweep():
                with mp.get_context("fork").Pool(3) as pool:
                    result = pool.map_async(slow, range(3))
                    time.sleep(0.5)
                    print("READY", flush=True)
                    result.get(60)

            sweep()
            """,
            start_new_session=True,
        )
        wait_ready(proc)
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=60)
        statuses = {e.name: set() for e in TmtManager().runs()}
        for e in TmtManager().runs():
            statuses[e.name].add(e.status)
        assert statuses["sweep"] == {"interrupted"}
        assert statuses["trial"] <= {"interrupted", "terminated"}  # never crashed


class TestTmtsOwnThreads:
    def test_they_never_take_the_programs_signals(self, project: Path) -> None:
        """A signal from outside goes to any thread that does not block it, and Python runs
        handlers only in the main thread: one taken by tmt's heartbeat thread would not wake
        a main thread asleep in time.sleep. tmt's threads block them all."""
        import threading

        from tmt import tmt_recorder

        def blocked(thread: threading.Thread) -> set[int]:
            status = Path(f"/proc/self/task/{thread.native_id}/status").read_text()
            mask = int(
                next(ln for ln in status.splitlines() if ln.startswith("SigBlk:")).split()[1], 16
            )
            return {n for n in range(1, 64) if mask & (1 << (n - 1))}

        if not Path("/proc/self/task").is_dir():
            pytest.skip("no /proc here")
        seen = {}

        @tmt_recorder(name="job")
        def train() -> None:
            for thread in threading.enumerate():
                if thread.name.startswith("tmt-"):
                    seen[thread.name] = blocked(thread)

        train()
        assert "tmt-heartbeat" in seen
        for name, mask in seen.items():
            assert {signal.SIGINT, signal.SIGTERM, signal.SIGHUP} <= mask, name
        assert signal.SIGINT not in blocked(threading.main_thread())


STORM = """
import signal, sys
from tmt import tmt_log, tmt_recorder
import tmt.output, tmt.activerun

stop = []

def enough(signum, frame):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stop.append(1)

signal.signal(signal.SIGUSR1, enough)

@tmt_recorder(name="storm")
def step(i):
    print("line", i)
    tmt_log("x", i)
    return {"i": i}

print("READY", flush=True)
runs = 0
while not stop:
    try:
        try:
            runs += 1
            step(runs)
        except KeyboardInterrupt:
            pass
    except KeyboardInterrupt:  # one that came right after the inner handler
        pass
left = (tmt.output._users, list(tmt.activerun._unended), list(tmt.activerun._active))
default = signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
print("STATE", runs, type(sys.stdout).__name__, *left, default, file=sys.stderr)
"""


class TestCtrlCStorm:
    def test_no_run_is_left_crashed_and_nothing_leaks(self, project: Path) -> None:
        """Ctrl-C every millisecond or two, for seconds, into a loop of short runs that goes
        on after each: every run is recorded finished or interrupted, none crashed."""
        import random

        proc = start(project, STORM)
        wait_ready(proc)
        # Into the loop, not the program's own first lines (where an interrupt ends it before
        # any run): the storm begins once runs are being recorded.
        while len(records(project)) < 5 and proc.poll() is None:
            time.sleep(0.01)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            proc.send_signal(signal.SIGINT)
            time.sleep(random.uniform(0.0005, 0.003))
        proc.send_signal(signal.SIGUSR1)
        # The program's own loop may be where an interrupt lands, outside its try (it then
        # dies of it, as any program would): tmt's records must be whole either way.
        assert proc.wait(timeout=60) in (0, -signal.SIGINT)
        statuses = {e.status for e in TmtManager().runs()}
        assert statuses <= {"finished", "interrupted"}
        if proc.returncode == 0:  # it went through the whole storm
            state = proc.stderr.read().split("STATE")[-1].split()
            assert state[1:] == ["TextIOWrapper", "0", "[]", "[]", "True"], state
            assert "interrupted" in statuses
