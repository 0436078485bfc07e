"""How fast ``tmt_tui`` opens a big store: time to its first screen, in a real terminal.

Fills a store with 10,000 runs, then starts the app under tmux and polls the screen until the
runs list is drawn; against the same for ``python -c`` printing one line (the floor of starting
Python in that terminal). Target: the first screen in under a second.

Usage: python bench/tui.py [--runs 10000] [--repeat 5]      (needs tmux)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def fill(project: Path, count: int) -> None:
    code = (
        "import sys\nfrom tmt import tmt_recorder\n"
        "run = tmt_recorder(name='sweep')(lambda i: {'acc': i / 1e4, 'loss': 1 / (i + 1)})\n"
        f"for i in range({count}):\n    run(i)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-c", code], cwd=project, env=env, check=True)
    env_list = [sys.executable, "-m", "tmt", "list", "--limit", "1"]
    subprocess.run(env_list, cwd=project, env=env, check=True, stdout=subprocess.DEVNULL)


def time_to_screen(project: Path, command: str, marker: str) -> float:
    """Seconds from starting ``command`` in a fresh tmux session until ``marker`` shows."""
    # A fresh socket each time: a server just killed may still hold its old one.
    name = f"tmt-bench-{os.getpid()}-{time.monotonic_ns()}"
    env = f"PYTHONPATH={REPO}"
    t0 = time.perf_counter()
    started = subprocess.run(
        [
            "tmux",
            "-L",
            name,
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            "120",
            "-y",
            "40",
            "-c",
            str(project),
            "-e",
            env,
            command,
        ],
        capture_output=True,
        text=True,
    )
    if started.returncode != 0:
        raise RuntimeError(f"tmux would not start: {started.stderr.strip()}")
    try:
        while True:
            screen = subprocess.run(
                ["tmux", "-L", name, "capture-pane", "-p", "-t", name],
                capture_output=True,
                text=True,
            ).stdout
            if marker in screen:
                return time.perf_counter() - t0
            if time.perf_counter() - t0 > 30:
                raise RuntimeError(f"{marker!r} never appeared:\n{screen}")
            time.sleep(0.005)
    finally:
        subprocess.run(["tmux", "-L", name, "kill-server"], capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        sys.exit("bench/tui.py needs tmux (apt-get install tmux)")
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMT_BENCH_DIR")) as tmp:
        project = Path(tmp)
        (project / "empty").mkdir()
        (project / ".tmt").mkdir()
        (project / ".tmt" / "config.json").write_text('{"snapshot_source": "empty"}')
        fill(project, args.runs)
        app, floor = [], []
        marker = f"{args.runs:,} of {args.runs:,} runs".replace(",", "")
        for _ in range(args.repeat):
            floor.append(
                time_to_screen(project, f"{sys.executable} -c \"print('ready')\"; sleep 5", "ready")
            )
            app.append(time_to_screen(project, f"{sys.executable} -m tmt.tui", marker))
    shown, base = statistics.median(app), statistics.median(floor)
    print(
        f"tmt_tui on {args.runs:,} runs: first screen in {shown * 1000:.0f} ms "
        f"(median of {args.repeat}; target < 1000 ms)"
    )
    print(f"  python printing one line in the same terminal: {base * 1000:.0f} ms")


if __name__ == "__main__":
    main()
