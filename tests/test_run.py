"""A run's ending never raises into the program and never loses the record silently: on a full
disk (no space, or no inodes) the run keeps what it could and says what it lost, once."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import REPO

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

os.mkdir("project")
os.chdir("project")
with open("train.py", "w") as f:
    f.write("print('training')\\n")

@tmt_recorder(name="full")
def train():
{fill}
    for i in range(5000):
        tmt_log("loss", float(i))
    time.sleep(1.5)  # values are written about once a second: while the disk is full
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
