"""What a sweep costs and what early stopping saves, all measured in this one run (these
machines are noisy: compare ratios, not runs).

- **Overhead per trial**: a sweep of N trials of a small training script (one worker), against
  launching the same script N times bare (``python train.py --lr X``, tmt disabled with
  ``TMT_DISABLE=1``): the difference per trial, and as a share of a bare trial. Target:
  <= 10% of a trial, or <= 50 ms.
- **Early stopping**: the same sweep of synthetic learning curves (each climbs at a speed and
  to a ceiling set by its hyperparameters, a step costing ``--step-ms`` of compute, then stays
  at its ceiling) with and without the patience pruner, with the same seed, so the same trials: the
  steps computed, the time taken, and the best value found by each. Target: less compute at
  an equal best value.

Usage: python bench/sweep.py [--trials 20] [--step-ms 10]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tmt.sweeps import Sweep, run_workers  # noqa: E402

TRAIN = """\
import argparse, math, time
from tmt import tmt_log, tmt_recorder

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.01)
parser.add_argument("--width", type=int, default=64)
parser.add_argument("--steps", type=int, default=60)
parser.add_argument("--step-ms", type=float, default=10)

@tmt_recorder(name="curve")
def train(args):
    ceiling = 0.95 - 0.1 * abs(math.log10(args.lr / 0.01)) - 4 / args.width
    acc = 0.1
    for step in range(args.steps):
        deadline = time.perf_counter() + args.step_ms / 1000
        while time.perf_counter() < deadline:  # a step of compute
            pass
        acc = min(ceiling, acc + args.lr * 2)  # climbs, then stays at its ceiling
        tmt_log("acc", round(acc, 3), step=step)
    return {"acc": round(acc, 3)}

train(parser.parse_args())
"""


def config(trials: int, step_ms: float, early: bool) -> dict:
    return {
        "command": ["python", "train.py", "--step-ms", str(step_ms)],
        "hyperparameters": {
            "lr": {"type": "loguniform", "min": 0.001, "max": 0.1},
            "width": {"type": "choice", "candidates": [16, 64, 256]},
        },
        "max_runs": trials,
        "early_stopping": early,
        **({"early_stopping_patience": 3} if early else {}),
        "optimization_metric": "acc",
        "optimization_goal": "max",
        "seed": 7,
    }


def project(root: Path, name: str) -> Path:
    folder = root / name
    folder.mkdir()
    (folder / "train.py").write_text(TRAIN)
    (folder / ".tmt").mkdir()
    return folder


def sweep(folder: Path, data: dict) -> tuple[float, list[dict]]:
    made = Sweep.create(str(folder / ".tmt"), data, str(folder))
    ended: list[dict] = []
    started = time.perf_counter()
    run_workers(made, 1, ended.append)
    return time.perf_counter() - started, ended


def steps_run(folder: Path) -> int:
    """The steps the trials computed: the values they logged."""
    total = 0
    for metrics in (folder / ".tmt" / "runs").glob("*/metrics.csv"):
        total += metrics.read_text().count("\n") - 1
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--step-ms", type=float, default=10.0)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="tmt-bench-sweep-"))
    os.environ["TMT_CACHE_DIR"] = str(root / "cache")
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    # As installed: Python's compiled modules kept, not compiled again by every trial.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    warm = project(root, "warm")
    for disabled in ("1", ""):
        env = {**os.environ, "TMT_DISABLE": disabled}
        subprocess.run([sys.executable, "train.py", "--steps", "1"], cwd=warm, env=env, check=True)
    try:
        # Overhead: the same trials, with and without the sweep (and tmt).
        data = config(args.trials, args.step_ms, early=False)
        swept = project(root, "overhead")
        took, ended = sweep(swept, data)
        bare = project(root, "bare")
        env = {**os.environ, "TMT_DISABLE": "1"}
        started = time.perf_counter()
        for outcome in ended:
            flags = [
                f"--{k}={v!r}" if isinstance(v, float) else f"--{k}={v}"
                for k, v in outcome["params"].items()
            ]
            command = [sys.executable, "train.py", "--step-ms", str(args.step_ms), *flags]
            subprocess.run(command, cwd=bare, env=env, check=True)
        bare_took = time.perf_counter() - started
        per_trial = (took - bare_took) / len(ended) * 1000
        share = (took / bare_took - 1) * 100
        print(f"overhead per trial ({len(ended)} trials, one worker):")
        print(f"  bare script      {bare_took / len(ended) * 1000:8.1f} ms a trial")
        print(f"  tmt sweep        {took / len(ended) * 1000:8.1f} ms a trial")
        verdict = "met" if per_trial <= 50 or share <= 10 else "missed"
        print(
            f"  overhead         {per_trial:8.1f} ms = {share:.1f}%   "
            f"target <= 50 ms or <= 10%: {verdict}"
        )

        # Early stopping: the same sweep with and without the pruner.
        results = {}
        for early in (False, True):
            folder = project(root, f"early-{early}")
            took, ended = sweep(folder, config(args.trials, args.step_ms, early))
            best = max(e["value"] for e in ended if e["value"] is not None)
            pruned = sum(e["status"] == "pruned" for e in ended)
            results[early] = (took, steps_run(folder), best, pruned)
        (t0, s0, b0, _), (t1, s1, b1, p1) = results[False], results[True]
        print(f"early stopping ({args.trials} trials, {args.step_ms:g} ms a step, seed 7):")
        print(f"  without          {s0:6d} steps  {t0:6.2f} s   best acc {b0}")
        print(f"  with patience 3  {s1:6d} steps  {t1:6.2f} s   best acc {b1}   ({p1} stopped)")
        equal = "equal" if b1 == b0 else f"NOT equal ({b1} vs {b0})"
        print(
            f"  saved            {(1 - s1 / s0) * 100:5.1f}% of steps, "
            f"{(1 - t1 / t0) * 100:5.1f}% of time; best value {equal}"
        )
        print(
            json.dumps(
                {
                    "overhead_ms": round(per_trial, 1),
                    "overhead_share": round(share, 1),
                    "steps_saved": round(1 - s1 / s0, 3),
                    "best_equal": b1 == b0,
                }
            )
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
