"""A researcher's whole day, end to end: a sweep from a shell loop with argparse flags, one run
that diverges, one killed with kill -9, a code change half-way; then the best run, the code and
argument diff of best and worst, the top-3 curves, the failed run's output, clean-up, the
notebook's data frame from a subfolder, and the same in the terminal app."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, tmt_process

TRAIN = """
import argparse, time
from tmt import tmt_recorder, tmt_log

@tmt_recorder(name="digits")
def train(args):
    loss = 2.0
    for epoch in range(args.epochs):
        loss *= 1 - args.lr if args.lr < 1 else 1.7
        tmt_log("loss", loss, epoch)
        tmt_log("val_acc", 1 - loss / 2, epoch)
        print(f"epoch {epoch}: loss {loss:.4f}")
        time.sleep(args.sleep)
    if loss > 10:
        raise FloatingPointError(f"loss diverged to {loss:.1f}")
    return {"final_loss": loss, "val_acc": 1 - loss / 2}

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.1)
parser.add_argument("--epochs", type=int, default=8)
parser.add_argument("--sleep", type=float, default=0.0)
train(parser.parse_args())
"""


def ok(*args: str, cwd: Path) -> str:
    proc = tmt_process(*args, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project after the day's runs: a sweep of six (a code change after the third), one
    diverged (failed), one killed with kill -9 after logging some epochs (crashed)."""
    project = tmp_path_factory.mktemp("journey")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    (project / "train.py").write_text(TRAIN)
    for i, lr in enumerate(("0.05", "0.1", "0.2", "0.3", "0.4", "1.5")):
        if i == 3:
            (project / "train.py").write_text(
                TRAIN.replace("loss *= 1 - args.lr", "loss *= 0.9 - args.lr")
            )
        subprocess.run(
            [sys.executable, "train.py", "--lr", lr], cwd=project, env=env, capture_output=True
        )
    killed = subprocess.Popen(
        [sys.executable, "train.py", "--lr", "0.25", "--epochs", "500", "--sleep", "0.05"],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # until its logged values reached the disk
        runs = json.loads(ok("list", "--json", "--status", "running", cwd=project))
        if runs and (runs[0]["last_logged"] or {}).get("loss", {}).get("step", 0) >= 5:
            break
        time.sleep(0.2)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    return project


def test_the_command_line(day: Path) -> None:
    runs = json.loads(ok("list", "--json", cwd=day))
    assert sorted(r["status"] for r in runs) == ["crashed", "failed"] + ["finished"] * 5

    # The best run, by a metric, finished runs ranked first; its lr read by its leaf name.
    best = json.loads(ok("list", "--sort", "val_acc", "--limit", "1", "--json", cwd=day))[0]
    assert best["params"]["args"]["lr"] == 0.4 and best["status"] == "finished"
    worst = json.loads(
        ok("list", "--sort", "val_acc", "--asc", "--where", "status:finished", "--json", cwd=day)
    )[0]
    assert worst["params"]["args"]["lr"] == 0.05

    # The table: the varying parameters beside the metrics; the crashed run's last values.
    table = ok("list", cwd=day)
    header = table.splitlines()[0].split()
    assert sorted(header[5:8]) == ["final_loss", "loss", "val_acc"]
    assert header[8:] == ["lr", "epochs", "sleep"]
    crashed = next(line for line in table.splitlines() if "crashed" in line)
    assert " @" in crashed  # "0.7754 @12": the last logged value and its step

    chosen = ok("list", "--where", "lr>=0.2 status:finished", "--columns", "lr,val_acc", cwd=day)
    assert [line.split()[-2] for line in chosen.splitlines()[1:]] == ["0.4", "0.3", "0.2"]

    typo = tmt_process("list", "--sort", "val_ac", cwd=day)
    assert typo.returncode == 2 and "did you mean val_acc?" in typo.stderr
    garbage = tmt_process("list", "--where", "val_acc>0.965lr=0.3", cwd=day)
    assert garbage.returncode == 2 and "separate terms with spaces" in garbage.stderr

    # Best against worst: the argument and the code that changed.
    diff = ok("diff", worst["id"], best["id"], cwd=day)
    assert "args.lr" in diff and "0.05" in diff and "0.4" in diff
    assert "-        loss *= 1 - args.lr" in diff and "+        loss *= 0.9 - args.lr" in diff

    # The top three curves, in the terminal and as a figure for the paper.
    top = [
        r["id"]
        for r in json.loads(ok("list", "--sort", "val_acc", "--limit", "3", "--json", cwd=day))
    ]
    chart = ok("plot", *top, "--metric", "loss", cwd=day)
    assert all(run_id[:8] in chart for run_id in top)
    pytest.importorskip("matplotlib")
    ok("plot", *top, "-m", "loss", "-o", str(day / "loss.png"), cwd=day)
    assert (day / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # The failed run: its error first, then its output; the crashed one: what it got to.
    failed = json.loads(ok("list", "--status", "failed", "--json", cwd=day))[0]
    shown = ok("show", failed["id"], cwd=day)
    assert "FloatingPointError: loss diverged" in shown and "epoch 7: loss" in shown
    crash = ok(
        "show", json.loads(ok("list", "--status", "crashed", "--json", cwd=day))[0]["id"], cwd=day
    )
    assert "(step " in crash and "last sign of life" in crash

    # The timeline charts finished runs; clean-up removes the failed run for good.
    assert "across 5 runs (2 other runs left out" in ok(
        "timeline", "digits", "-m", "val_acc", cwd=day
    )


def test_the_notebook_from_a_subfolder(day: Path) -> None:
    notebooks = day / "notebooks"
    notebooks.mkdir(exist_ok=True)
    code = (
        "from tmt import TmtManager\n"
        "m = TmtManager()\n"
        "df = m.to_dataframe(where='status:finished', columns=['lr', 'val_acc'])\n"
        "print(df.sort_values('val_acc').iloc[-1]['lr'])\n"
        "curves = m.series_dataframe(names='loss').merge(df, on='id')\n"
        "print(sorted(curves['lr'].unique().tolist()))\n"
    )
    pytest.importorskip("pandas")
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=notebooks,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:2] == ["0.4", "[0.05, 0.1, 0.2, 0.3, 0.4]"]


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_the_terminal_app_from_a_subfolder(day: Path, tmp_path: Path) -> None:
    from test_tui_app import Terminal

    day = _copy(day, tmp_path)
    notebooks = day / "notebooks"
    notebooks.mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(REPO), "LANG": "C.UTF-8", "TERM": "xterm-256color"}
    t = Terminal(f"tmt-journey-{os.getpid()}", [sys.executable, "-m", "tmt.tui"], notebooks, env)
    try:
        screen = t.wait_for("of 7 runs")
        header = screen.splitlines()[0]
        assert "val_acc" in header and "lr" in header  # the sweep's parameter, as a column
        t.keys("/")
        t.type("lr=0.3 status:finished")
        assert "1 runs match" in t.wait_for("runs match")
        t.keys("Enter")
        t.wait_for("1 of 7 runs")
        t.keys("x")
        t.wait_for("7 of 7 runs")
        # A run started now shows up by itself.
        subprocess.run(
            [sys.executable, "train.py", "--lr", "0.15", "--epochs", "2"],
            cwd=day,
            env=env,
            capture_output=True,
            check=True,
        )
        t.wait_for("of 8 runs", timeout=20)
        t.keys("q")
    finally:
        t.close()


def test_clean_up(day: Path, tmp_path: Path) -> None:
    day = _copy(day, tmp_path)
    failed = json.loads(ok("list", "--status", "failed", "--json", cwd=day))[0]["id"]
    ok("rm", failed, "--yes", cwd=day)
    assert failed not in ok("list", "--json", cwd=day)
    assert tmt_process("gc", cwd=day).returncode == 0


def _copy(project: Path, tmp_path: Path) -> Path:
    """The day's project, copied: a test that adds or removes runs leaves the others theirs."""
    copy = tmp_path / "copy"
    shutil.copytree(project, copy, symlinks=True)
    return copy
