"""The examples run as a new user runs them: a fresh interpreter, in a folder of their own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

EXAMPLES = sorted((REPO / "examples").glob("*.py"))


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(example: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONWARNINGS": "error"}
    proc = subprocess.run(
        [sys.executable, str(example)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / ".tmt" / "runs").is_dir()


def test_quickstart_shows_the_runs_it_recorded(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, str(REPO / "examples" / "quickstart.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert out.count("logistic_regression   finished") == 3
    assert "best run:" in out and "code snapshot:" in out


def test_rerun_reproduces_the_example_after_its_code_changed(tmp_path: Path) -> None:
    """The README's tmt rerun walk-through, step by step."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    script = tmp_path / "rerun.py"
    script.write_text((REPO / "examples" / "rerun.py").read_text())

    def run(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, *argv], cwd=tmp_path, env=env, capture_output=True, text=True
        )

    first = run("rerun.py", "--lr", "0.1")
    assert first.returncode == 0, first.stderr
    script.write_text(script.read_text().replace("w = b = 0.0", "w = b = 1.0"))
    check = run("-m", "tmt", "rerun", "last", "--check")
    assert check.returncode == 0, check.stderr
    assert "all 3 metrics reproduced (exactly)" in check.stderr
    assert check.stdout.splitlines()[0] == first.stdout.splitlines()[0]  # its own output
    current = run("-m", "tmt", "rerun", "last", "--current-code", "--check")
    assert current.returncode == 1 and "differs" in current.stdout
    assert run("-m", "tmt", "rerun", "last", "lr=0.2").returncode == 0
    shown = json.loads(run("-m", "tmt", "show", "last", "--json").stdout)
    assert shown["command"]["args"] == ["--lr", "0.2"]
    assert shown["params"]["args"]["lr"] == 0.2 and shown["rerun_of"] is not None


def test_the_sweep_example_runs_from_the_readme(tmp_path: Path) -> None:
    """examples/sweep: 2 workers and early stopping, end to end."""
    pytest.importorskip("optuna")
    import shutil

    demo = tmp_path / "sweep-demo"
    shutil.copytree(REPO / "examples" / "sweep", demo)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "tmt", "sweep", "start", "--workers", "2"],
        cwd=demo,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "12/12 done" in done.stderr.splitlines()[-1]
    shown = subprocess.run(
        [sys.executable, "-m", "tmt", "sweep", "show", done.stdout.strip(), "--json"],
        cwd=demo,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    trials = json.loads(shown.stdout)["trials"]
    assert len(trials) == 12 and trials[0]["best"]
    assert {t["status"] for t in trials} <= {"finished", "pruned"}
    assert any(t["status"] == "pruned" for t in trials)
