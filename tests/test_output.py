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
