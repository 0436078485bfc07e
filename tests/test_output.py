"""Output: what a run prints is shown live and kept in its folder."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

from tmt import TmtManager, tmt_recorder


def entry(name: str):
    return TmtManager().set_entry_by_name(name)


class TestCapture:
    def test_stdout_and_stderr_are_kept_and_still_shown(self, project, capsys) -> None:
        @tmt_recorder(name="o")
        def train():
            print("epoch 1")
            print("warning!", file=sys.stderr)

        train()
        shown = capsys.readouterr()
        assert shown.out == "epoch 1\n" and shown.err == "warning!\n"
        assert entry("o").output() == "epoch 1\n"
        assert entry("o").output("stderr") == "warning!\n"

    def test_prints_from_threads_are_kept(self, project: Path) -> None:
        """(print writes text and newline separately, so lines from threads may interleave,
        in the live stream as in the copy; every word is there.)"""

        @tmt_recorder(name="o")
        def train():
            workers = [threading.Thread(target=print, args=(f"worker{i}",)) for i in range(4)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()

        train()
        kept = entry("o").output()
        assert sorted(kept.replace("worker", " worker").split()) == [f"worker{i}" for i in range(4)]

    def test_streams_are_restored_even_if_the_run_fails(self, project: Path) -> None:
        before = sys.stdout, sys.stderr

        @tmt_recorder(name="o")
        def train():
            print("about to fail")
            raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            train()
        assert (sys.stdout, sys.stderr) == before
        assert entry("o").output() == "about to fail\n"

    def test_output_after_the_run_is_not_kept(self, project: Path) -> None:
        tmt_recorder(name="o")(lambda: print("inside"))()
        print("outside")
        assert entry("o").output() == "inside\n"

    def test_a_silent_run_leaves_no_files(self, project: Path) -> None:
        tmt_recorder(name="o")(lambda: None)()
        run_dir = Path(entry("o").run_dir)
        assert not (run_dir / "stdout.txt").exists()
        assert entry("o").output() == ""

    def test_the_copy_is_cut_at_the_cap(self, project: Path, monkeypatch, capsys) -> None:
        import tmt.output

        monkeypatch.setattr(tmt.output, "MAX_OUTPUT", 10)
        tmt_recorder(name="o")(lambda: print("0123456789abcdef"))()
        assert capsys.readouterr().out == "0123456789abcdef\n"  # shown whole
        kept = entry("o").output()
        assert kept.startswith("0123456789\n[tmt: output cut here, after 10 characters]")

    def test_a_child_runs_output_is_also_in_its_parents(self, project: Path) -> None:
        child = tmt_recorder(name="child")(lambda: print("from child"))

        @tmt_recorder(name="parent")
        def parent():
            print("from parent")
            child()

        parent()
        assert entry("child").output() == "from child\n"
        assert entry("parent").output() == "from parent\nfrom child\n"


class TestConcurrentRuns:
    """Runs in concurrent threads each keep their own output, and print() stays cheap."""

    def test_each_run_of_a_thread_pool_keeps_exactly_its_own_lines(self, project: Path) -> None:
        from concurrent.futures import ThreadPoolExecutor

        original = sys.stdout, sys.stderr

        @tmt_recorder(name="pool")
        def work(i: int) -> dict:
            print(f"line {i}")
            print(f"error {i}", file=sys.stderr)
            return {"i": i}

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(work, range(800)))
        assert (sys.stdout, sys.stderr) == original  # nothing left wrapped
        runs = TmtManager().runs(name="pool")
        assert len(runs) == 800
        for run in runs:
            assert run.output() == f"line {run.metrics['i']}\n"
            assert run.output("stderr") == f"error {run.metrics['i']}\n"

    def test_a_thread_the_run_starts_writes_to_that_run(self, project: Path) -> None:
        @tmt_recorder(name="o")
        def train():
            worker = threading.Thread(target=print, args=("from a worker",))
            worker.start()
            worker.join()

        train()
        assert entry("o").output() == "from a worker\n"

    def test_a_stream_replaced_during_the_run_is_left_in_place(self, project: Path) -> None:
        import io

        original = sys.stdout
        mine = io.StringIO()

        @tmt_recorder(name="o")
        def train():
            print("before")
            sys.stdout = mine  # the program's own redirection
            print("to my buffer")

        try:
            train()
            assert sys.stdout is mine
        finally:
            sys.stdout = original
        assert mine.getvalue() == "to my buffer\n"
        assert entry("o").output() == "before\n"

    def test_a_program_that_wraps_stdout_itself_gets_each_line_once(self, project: Path) -> None:
        """colorama.init() wraps sys.stdout once, inside a run; later runs still copy once."""

        class Wrapper:
            def __init__(self, stream):
                self.stream = stream

            def write(self, text):
                return self.stream.write(text)

            def flush(self):
                self.stream.flush()

        original = sys.stdout
        try:
            tmt_recorder(name="a")(lambda: setattr(sys, "stdout", Wrapper(sys.stdout)))()
            tmt_recorder(name="b")(lambda: print("in second"))()
            tmt_recorder(name="c")(lambda: print("in third"))()
        finally:
            sys.stdout = original
        assert entry("b").output() == "in second\n"
        assert entry("c").output() == "in third\n"

    def test_a_forked_child_never_writes_the_parents_copy(self, project: Path, run_python) -> None:
        """Buffered output is not written twice, and the child's prints are its own."""
        run_python(
            """
            import os, sys
            from tmt import tmt_recorder

            @tmt_recorder(name="forker")
            def train():
                print("parent before")
                pid = os.fork()
                if pid == 0:
                    print("child")
                    sys.stdout.flush()
                    os._exit(0)
                os.waitpid(pid, 0)
                print("parent after")
                return {"ok": 1}

            train()
            """
        )
        assert entry("forker").output() == "parent before\nparent after\n"

    def test_a_forked_child_returning_through_the_run_does_not_write_it(
        self, project: Path, run_python
    ) -> None:
        out = run_python(
            """
            import glob, json, os
            from tmt import tmt_recorder

            @tmt_recorder(name="forker")
            def train():
                pid = os.fork()
                if pid == 0:
                    return {"who": "child"}  # the child leaves through the wrapper too
                os.waitpid(pid, 0)
                (path,) = glob.glob(".tmt/runs/*/run.json")
                with open(path) as f:
                    print(json.load(f)["status"])
                return {"who": "parent"}

            if train() == {"who": "parent"}:
                print("parent")
            """
        )
        (run,) = TmtManager().runs()
        assert run.metrics == {"who": "parent"} and run.status == "finished"
        assert out.stdout.split() == ["running", "parent"]  # the child wrote nothing
