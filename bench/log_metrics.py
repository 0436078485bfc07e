"""How much a step-wise metric costs: ``tmt_log`` against ``mlflow.log_metric``, in one run.

Prints:

- ``tmt_log`` per call, amortised over a long loop inside a recorded run, everything included
  (the background writes to ``metrics.csv`` and the final flush), minus the same loop without
  the call: target <= 3 us;
- ``mlflow.log_metric`` per call with MLflow's local stores (the file store and SQLite), run in
  a venv of the bench's own (MLflow is never a dependency of tmt): target >= 100x slower.

Usage: python bench/log_metrics.py [--calls 1000000] [--mlflow-calls 500] [--no-mlflow]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import competitor  # noqa: E402 (beside this script)

MLFLOW_SCRIPT = """
import json, os, sys, tempfile, time, warnings
warnings.filterwarnings("ignore")
import mlflow
calls = int(sys.argv[1])
results = {}
folder = tempfile.mkdtemp()
for store, uri in (("file store", "file://" + folder + "/mlruns"),
                   ("SQLite", "sqlite:///" + folder + "/mlflow.db")):
    try:
        mlflow.set_tracking_uri(uri)
        mlflow.set_experiment("bench")
        with mlflow.start_run():
            mlflow.log_metric("loss", 0.5, step=0)  # warm-up
            t0 = time.perf_counter()
            for i in range(calls):
                mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
            results[store] = (time.perf_counter() - t0) / calls
    except Exception as exc:
        results[store] = str(exc).splitlines()[0][:200]
print(json.dumps({"version": mlflow.__version__, "results": results}))
"""


def tmt_cost(calls: int, repeat: int) -> float:
    """Median seconds per ``tmt_log`` call, net of the bare loop."""
    from tmt import tmt_log, tmt_recorder

    def bare(n: int) -> None:
        for i in range(n):
            1.0 / (i + 1)  # the same work as the logged loop, minus the call

    @tmt_recorder(name="bench")
    def logged(n: int) -> None:
        for i in range(n):
            tmt_log("loss", 1.0 / (i + 1), step=i)

    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        bare(calls)
        t1 = time.perf_counter()
        logged(calls)  # includes the run's start, its flushes and its end
        t2 = time.perf_counter()
        samples.append(((t2 - t1) - (t1 - t0)) / calls)
    return statistics.median(samples)


def mlflow_cost(calls: int, work: Path) -> dict | None:
    python = competitor.install(work / "venv-mlflow", "mlflow")
    if python is None:
        return None
    env = {"MLFLOW_ALLOW_FILE_STORE": "true", "PYTHONWARNINGS": "ignore"}
    return competitor.run_json(python, MLFLOW_SCRIPT, str(calls), cwd=work, env=env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000, help="tmt_log calls a sample")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--mlflow-calls", type=int, default=500)
    parser.add_argument("--no-mlflow", action="store_true", help="skip the MLflow comparison")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(dir=os.environ.get("TMT_BENCH_DIR")) as tmp:
        work = Path(tmp)
        (work / "project").mkdir()
        (work / "project" / "train.py").write_text("print('training')\n")
        os.chdir(work / "project")
        tmt = tmt_cost(args.calls, args.repeat)
        print(
            f"tmt_log: {tmt * 1e6:.2f} us a call, amortised over {args.calls:,} calls "
            f"(median of {args.repeat}; target <= 3 us)"
        )
        if not args.no_mlflow:
            found = mlflow_cost(args.mlflow_calls, work)
            if found:
                for store, result in found["results"].items():
                    if isinstance(result, float):
                        print(
                            f"mlflow {found['version']} log_metric, {store}: "
                            f"{result * 1e6:,.0f} us a call: tmt_log is {result / tmt:,.0f}x "
                            "cheaper (target >= 100x)"
                        )
                    else:
                        print(f"mlflow {found['version']}, {store}: unavailable ({result})")
        os.chdir(REPO)


if __name__ == "__main__":
    main()
