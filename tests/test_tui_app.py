"""The terminal app end to end, in a real terminal: tmux types the keys and reads the screen."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")

TRAIN = """
import sys
from tmt import tmt_recorder, tmt_log

@tmt_recorder(name="train")
def train(lr):
    for step in range(30):
        tmt_log("loss", 1.0 / (1 + lr * step))
    if lr > 1:
        raise RuntimeError("loss went to nan at step 12")
    return {{"acc": round(1 - 1 / (1 + lr), 3)}}

train(float(sys.argv[1]))
"""


class Terminal:
    """A tmux session running one program; keys in, screen text out."""

    def __init__(self, name: str, command: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.name = name
        self.socket = ["-L", name]
        subprocess.run(
            [
                "tmux",
                *self.socket,
                "new-session",
                "-d",
                "-s",
                name,
                "-x",
                "100",
                "-y",
                "30",
                "-c",
                str(cwd),
                *_env_args(env),
                " ".join(command),
            ],
            check=True,
        )

    def screen(self) -> str:
        return subprocess.run(
            ["tmux", *self.socket, "capture-pane", "-p", "-t", self.name],
            capture_output=True,
            text=True,
        ).stdout

    def keys(self, *keys: str) -> None:
        for key in keys:  # one at a time: Esc followed at once by a key reads as Alt+key
            subprocess.run(["tmux", *self.socket, "send-keys", "-t", self.name, key], check=True)
            time.sleep(0.15)

    def type(self, text: str) -> None:
        subprocess.run(["tmux", *self.socket, "send-keys", "-t", self.name, "-l", text], check=True)
        time.sleep(0.15)

    def wait_for(self, text: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never appeared; the screen was:\n{screen}")
            time.sleep(0.1)

    def alive(self) -> bool:
        return (
            subprocess.run(
                ["tmux", *self.socket, "has-session", "-t", self.name], capture_output=True
            ).returncode
            == 0
        )

    def close(self) -> None:
        subprocess.run(["tmux", *self.socket, "kill-server"], capture_output=True)


def _env_args(env: dict[str, str]) -> list[str]:
    args = []
    for key in ("PYTHONPATH", "PATH", "HOME", "LANG", "TERM"):
        if key in env:
            args += ["-e", f"{key}={env[key]}"]
    return args


@pytest.fixture
def terminal(project: Path):
    env = {**os.environ, "PYTHONPATH": str(REPO), "LANG": "C.UTF-8", "TERM": "xterm-256color"}
    (project / "train.py").write_text(TRAIN.format())
    for lr in ("0.5", "2.0"):
        subprocess.run([sys.executable, "train.py", lr], cwd=project, env=env, capture_output=True)
    (project / "train.py").write_text(
        TRAIN.format().replace("1.0 / (1 + lr * step)", "1.0 / (1 + 2 * lr * step)")
    )
    subprocess.run(
        [sys.executable, "train.py", "0.3"], cwd=project, env=env, check=True, capture_output=True
    )
    session = Terminal(
        f"tmt-tui-test-{os.getpid()}", [sys.executable, "-m", "tmt.tui"], project, env
    )
    yield session
    session.close()


def test_a_person_finds_reads_compares_and_diffs(terminal: Terminal) -> None:
    """Find last week's failed runs, open one and read its traceback, compare two runs'
    curves, and see their code diff: all without docs beyond ?."""
    t = terminal
    t.wait_for("3 of 3 runs")
    t.keys("?")
    assert "search" in t.wait_for("keys") and "compare" in t.screen()
    t.keys("Escape")

    t.keys("/")
    t.type("status:failed since:7d")
    t.keys("Enter")
    screen = t.wait_for("1 of 3 runs")
    assert "failed" in screen and "finished" not in screen

    t.keys("Enter")
    screen = t.wait_for("Traceback")
    assert "RuntimeError: loss went to nan at step 12" in screen
    t.keys("Escape", "x")
    t.wait_for("3 of 3 runs")

    # Clearing the search keeps the focus on the run being looked at; go to the top, and mark
    # the two newest runs (the new code's, and the failed one on the old code).
    t.keys("Home", "Space", "Space")
    t.wait_for("2 marked")
    t.keys("c")
    screen = t.wait_for("comparing 2 runs")
    assert "loss" in screen and "━━" in screen
    assert any(0x2800 < ord(c) <= 0x28FF for c in screen)  # the curves, overlaid

    t.keys("Escape", "d")
    screen = t.wait_for("@@")
    assert '-        tmt_log("loss", 1.0 / (1 + lr * step))' in screen
    assert '+        tmt_log("loss", 1.0 / (1 + 2 * lr * step))' in screen

    t.keys("Escape", "q")
    deadline = time.monotonic() + 10
    while t.alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not t.alive()


def test_no_store_says_so_and_creates_nothing(project: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "LANG": "C.UTF-8", "TERM": "xterm-256color"}
    t = Terminal(f"tmt-tui-empty-{os.getpid()}", [sys.executable, "-m", "tmt.tui"], project, env)
    try:
        t.wait_for("No runs recorded here yet")
        t.keys("q")
    finally:
        t.close()
    assert not (project / ".tmt").exists()
