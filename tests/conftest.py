"""Shared fixtures: every test runs in a fresh project folder of its own."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    """Indexes in a cache folder of the run's own, from the start: fixtures shared by a module
    run before any test's own folder is set, and must not write into the user's."""
    os.environ["TMT_CACHE_DIR"] = tempfile.mkdtemp(prefix="tmt-tests-cache-")


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(os.environ.get("TMT_CACHE_DIR", ""), ignore_errors=True)


@pytest.fixture(autouse=True)
def cache_folder(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's indexes in a cache folder of its own (never the user's), inherited by the
    processes it starts."""
    folder = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("TMT_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project folder with one source file, made the working folder."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "train.py").write_text("print('training')\n")
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def run_python(project: Path):
    """Run a Python snippet in a fresh interpreter inside the project; returns the process."""

    def run(code: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
        env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONWARNINGS": "default"}
        proc = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            cwd=kwargs.pop("cwd", project),
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            **kwargs,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"snippet failed ({proc.returncode}):\n{proc.stderr}")
        return proc

    return run


def records(project: Path, tmt_dir: str = ".tmt") -> list[dict]:
    """The run records on disk, read directly (not through tmt)."""
    import json

    runs = project / tmt_dir / "runs"
    if not runs.exists():
        return []
    found = []
    for folder in runs.iterdir():
        try:  # a run's folder exists a moment before its first record
            found.append(json.loads((folder / "run.json").read_text()))
        except FileNotFoundError:
            continue
    return found


def tmt(
    *args: str, cwd: Path | None = None, env: dict | None = None
) -> subprocess.CompletedProcess:
    """Run ``tmt ARGS`` in this process, as ``tmt.cli.main`` (what the installed script
    runs), in ``cwd`` with ``env`` added to the environment and stdout and stderr captured
    (so not a terminal). See :func:`tmt_process` for a real process."""
    import contextlib
    import io
    import warnings

    from tmt.cli import main

    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()
    saved = dict(os.environ)
    try:
        os.environ.update(env or {})
        if cwd is not None:
            os.chdir(cwd)
        # Each call warns as a fresh process would: every warning once.
        with (
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("default")
            try:
                code = main(list(args))
            except SystemExit as exc:  # --help, --version
                code = exc.code if isinstance(exc.code, int) else 0
    finally:
        os.chdir(here)
        os.environ.clear()
        os.environ.update(saved)
    return subprocess.CompletedProcess(["tmt", *args], code, out.getvalue(), err.getvalue())


def tmt_process(
    *args: str, cwd: Path | None = None, env: dict | None = None
) -> subprocess.CompletedProcess:
    """Run ``tmt ARGS`` as its own process (``python -m tmt``), with no standard input."""
    environment = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "tmt", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def ok(*args: str, **kwargs) -> str:
    proc = tmt(*args, **kwargs)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def tmt_on_a_terminal(*args: str, columns: int = 80, **env: str) -> str:
    """What ``tmt ARGS`` writes on a colour terminal ``columns`` wide (a pseudo-terminal, so
    tmt sees a tty), stdout and stderr as the screen shows them; ``env`` is added to the
    environment (``NO_COLOR="1"``, say). The command must succeed."""
    import pty

    leader, follower = pty.openpty()
    environment = {**os.environ, "PYTHONPATH": str(REPO), "TERM": "xterm", "COLUMNS": str(columns)}
    environment.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tmt", *args],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env={**environment, **env},
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the other end closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    assert proc.wait(timeout=60) == 0
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")
