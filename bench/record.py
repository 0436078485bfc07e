"""How much tmt costs a training script: per-run recording overhead and `import tmt`.

Prints, all measured in this one run (these machines are noisy; compare ratios, not runs):

- the overhead of recording one run, snapshot excluded (an empty snapshot source), with 10
  and with 10,000 runs already in the store: target <= 5 ms at both, flat in the number of
  runs; beside it, one atomic JSON write (write, fsync, rename) as a yardstick;
- listing every run of the 10,000-run store through TmtManager, with a cold and a warm index;
- the ``tmt list`` command on that store (all rows, and ``--limit 20``), printed to a pipe,
  against ``python -c pass``: target well under a second;
- ``python -c "import tmt"`` against ``python -c pass``: target <= 2x.

Usage: python bench/record.py [--runs 10000] [--samples 200]
"""

from __future__ import annotations

import argparse
import json
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


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def make_project(root: Path) -> None:
    (root / "empty_source").mkdir(parents=True)
    (root / ".tmt").mkdir()
    (root / ".tmt" / "config.json").write_text(json.dumps({"snapshot_source": "empty_source"}))


def record_overhead(samples: int) -> float:
    """Median seconds a recorded no-op call costs over a bare call."""
    from tmt import tmt_recorder

    def bare() -> dict:
        return {"loss": 0.1, "accuracy": 0.9}

    recorded = tmt_recorder(name="bench")(bare)
    recorded()  # warm-up: first-call imports
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        recorded()
        t1 = time.perf_counter()
        bare()
        t2 = time.perf_counter()
        times.append((t1 - t0) - (t2 - t1))
    return statistics.median(times)


def fill(count: int) -> None:
    from tmt import tmt_recorder

    recorded = tmt_recorder(name="filler")(lambda i: {"i": i, "loss": 1.0 / (i + 1)})
    for i in range(count):
        recorded(i)


def atomic_write_cost(directory: Path, samples: int) -> float:
    from tmt import jsonfile

    record = json.loads(next((directory / ".tmt" / "runs").glob("*/run.json")).read_text())
    path = str(directory / "yardstick.json")
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        jsonfile.write_atomic(path, record)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def listing(directory: Path) -> tuple[float, float, int]:
    from tmt import TmtManager

    shutil.rmtree(os.environ["TMT_CACHE_DIR"], ignore_errors=True)  # the index: cold
    t0 = time.perf_counter()
    count = len(TmtManager().db.get_all_entries())
    cold = time.perf_counter() - t0
    # Records written in the last 2 s are re-read every time (the index cannot yet trust their
    # timestamps); wait that out and settle the index once, to time the steady state.
    time.sleep(2.5)
    TmtManager().db.get_all_entries()
    warm = []
    for _ in range(5):
        t0 = time.perf_counter()
        TmtManager().db.get_all_entries()
        warm.append(time.perf_counter() - t0)
    return cold, statistics.median(warm), count


def command_cost(directory: Path, repeats: int = 5) -> dict[str, float]:
    """Median seconds of ``tmt list`` variants on the store in ``directory``, output piped."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "tmt list": [sys.executable, "-m", "tmt", "list"],
        "tmt list --limit 20": [sys.executable, "-m", "tmt", "list", "--limit", "20"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeats):
        for name, cmd in commands.items():
            t0 = time.perf_counter()
            subprocess.run(cmd, cwd=directory, env=env, check=True, stdout=subprocess.DEVNULL)
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


def import_cost(repeats: int = 30) -> tuple[float, float]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    bare, tmt = [], []
    for _ in range(repeats):  # interleaved, so drift hits both alike
        for cmd, out in (("pass", bare), ("import tmt", tmt)):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", cmd], env=env, check=True)
            out.append(time.perf_counter() - t0)
    return statistics.median(bare), statistics.median(tmt)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000, help="runs in the big store")
    parser.add_argument("--samples", type=int, default=200, help="timed runs per store size")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(dir=os.environ.get("TMT_BENCH_DIR")) as tmp:
        project = Path(tmp) / "project"
        os.environ["TMT_CACHE_DIR"] = str(Path(tmp) / "cache")  # never the user's own
        make_project(project)
        os.chdir(project)
        fill(10)
        small = record_overhead(args.samples)
        yardstick = atomic_write_cost(project, args.samples)
        stored = len(os.listdir(project / ".tmt" / "runs"))
        t0 = time.perf_counter()
        fill(args.runs - stored)
        fill_seconds = (time.perf_counter() - t0) / max(1, args.runs - stored)
        big = record_overhead(args.samples)
        cold, warm, count = listing(project)
        commands = command_cost(project)
        os.chdir(REPO)

    bare, tmt = import_cost()
    print(f"recording overhead per run (snapshot excluded), median of {args.samples}:")
    print(f"  with 10 runs stored        {small * 1000:7.2f} ms   target <= 5 ms")
    print(f"  with {args.runs:,} runs stored  {big * 1000:7.2f} ms   target <= 5 ms")
    print(f"  ratio big/small            {big / small:7.2f}x     target ~1 (flat)")
    print(
        f"  yardstick: one atomic JSON write (fsync) {yardstick * 1000:.2f} ms; "
        f"overhead = {small / yardstick:.1f} writes"
    )
    print(f"  (filling the store: {fill_seconds * 1000:.2f} ms a run, everything included)")
    print(
        f"listing {count:,} runs with TmtManager: cold index {cold * 1000:.0f} ms, "
        f"warm {warm * 1000:.0f} ms"
    )
    base = commands.pop("python -c pass")
    for name, seconds in commands.items():
        print(
            f"{name:<20} on {count:,} runs: {seconds * 1000:.0f} ms "
            f"(python -c pass: {base * 1000:.0f} ms; target: well under a second)"
        )
    print(
        f"import: python -c pass {bare * 1000:.1f} ms, python -c 'import tmt' {tmt * 1000:.1f} ms"
        f", ratio {tmt / bare:.2f}x   target <= 2x"
    )


if __name__ == "__main__":
    main()
