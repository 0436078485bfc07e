"""Another tool, installed in a venv of the bench's own, run to compare tmt against it.

Competitors are never dependencies of tmt: each bench installs what it compares with in a
throwaway venv, and talks to it through a script that prints one line of JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def install(folder: Path, requirement: str) -> Path | None:
    """A venv in ``folder`` with ``requirement`` installed: its python, or None (said why)."""
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    pip = subprocess.run(
        [str(folder / "bin" / "pip"), "install", "-q", requirement], capture_output=True, text=True
    )
    if pip.returncode != 0:
        print(f"({requirement} not installable here, comparison skipped: {pip.stderr[-200:]})")
        return None
    return folder / "bin" / "python"


def run_json(
    python: str | Path, code: str, *args: str, cwd: Path, env: dict[str, str] | None = None
) -> Any:
    """Run ``code`` with ``python`` and return the JSON on its last line; None (said why) if it
    failed. ``PYTHONPATH`` is dropped unless ``env`` sets it, so tools never see each other."""
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    environment.update(env or {})
    out = subprocess.run(
        [str(python), "-c", code, *args], cwd=cwd, env=environment, capture_output=True, text=True
    )
    if out.returncode != 0:
        print(f"({Path(python).parent.parent.name} failed: {out.stderr.strip()[-300:]})")
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])
