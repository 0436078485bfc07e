"""Build big run stores for the scale benchmark, fast: records as tmt writes them, no recorder.

Every run looks like one of a real training script's (argparse parameters, three metrics, a
logged series, git and environment facts, about 1.4 kB of ``run.json``); one in a hundred
failed (with a traceback), one in a hundred is tagged, and the newest ten have no end (their
process is gone, so they are shown ``crashed``). Runs are spread over 100 experiments, plus
``probe``, which has 100 runs whatever the store's size, so that reading one experiment can be
timed against stores that grow around it.

Usage: python bench/bigstore.py DIR COUNT      (grows DIR's store to COUNT runs)
"""

from __future__ import annotations

import json
import os
import random
import sys

PROBE = "probe"
PROBE_RUNS = 100
EXPERIMENTS = 100
#: When the runs started: one a minute, back from here, so their folders are never "racy".
EPOCH = 1_700_000_000.0


def record(index: int, run_id: str, name: str, rng: random.Random) -> dict:
    """The record of run number ``index``."""
    start = EPOCH + index * 60
    failed = index % 100 == 37
    lr = rng.choice([0.3, 0.1, 0.03, 0.01, 0.003])
    batch = rng.choice([32, 64, 128, 256])
    acc = round(rng.uniform(0.5, 0.99), 6)
    metrics = {} if failed else {"val_acc": acc, "loss": round(1 - acc, 6), "epochs": 20}
    return {
        "schema": 1,
        "id": run_id,
        "name": name,
        "description": "",
        "status": "failed" if failed else "finished",
        "started": f"2023-11-14T22:{index % 60:02d}:20.000+00:00",
        "ended": f"2023-11-14T22:{index % 60:02d}:50.000+00:00",
        "duration": 30.0,
        "start_time": start,
        "end_time": start + 30.0,
        "heartbeat_time": start + 30.0,
        "host": f"node{index % 16:02d}",
        "pid": 10_000 + index % 50_000,
        "process_start": "2386953",
        "boot_id": "bed70046-8b40-47b2-b108-7e14f3370279",
        "pid_namespace": "4026531836",
        "cwd": "/home/researcher/cifar",
        "argv": ["train.py", "--lr", str(lr), "--batch_size", str(batch), "--seed", str(index)],
        "parent": None,
        "tags": [],
        "params": {"args": {"lr": lr, "batch_size": batch, "optimizer": "adam", "seed": index}},
        "metrics": metrics,
        "series": ["loss", "val_acc"],
        "results": [],
        "snapshot": None,
        "snapshot_left_out": None,
        "git": {
            "commit": "92423a91637a73419936b2c9845714814f822fcd",
            "branch": "main",
            "dirty": False,
            "untracked": 0,
            "diff": None,
            "diff_truncated": False,
        },
        "environment": {
            "python": "3.11.7",
            "implementation": "CPython",
            "executable": "/home/researcher/.venv/bin/python",
            "platform": "Linux-6.1.0-x86_64-with-glibc2.36",
            "user": "researcher",
            "packages": None,
        },
        "error": {
            "type": "RuntimeError",
            "message": "CUDA out of memory",
            "traceback": 'Traceback (most recent call last):\n  File "train.py", line 80\n'
            "RuntimeError: CUDA out of memory\n",
        }
        if failed
        else None,
        "tmt_version": "0.2.0",
    }


def grow(project: str, count: int) -> int:
    """Add runs to the store of ``project`` until it holds ``count``; returns how many it had."""
    runs = os.path.join(project, ".tmt", "runs")
    os.makedirs(runs, exist_ok=True)
    had = len(os.listdir(runs))
    rng = random.Random(had)
    past = EPOCH - 86_400
    for index in range(had, count):
        run_id = f"{rng.getrandbits(48):012x}"
        name = PROBE if index < PROBE_RUNS else f"exp{rng.randrange(EXPERIMENTS):03d}"
        data = record(index, run_id, name, rng)
        if index >= count - 10 and count > had + 10:
            data.update(status="running", ended=None, end_time=None, duration=None)
        folder = os.path.join(runs, run_id)
        os.mkdir(folder)
        with open(os.path.join(folder, "run.json"), "w") as f:
            f.write(json.dumps(data, indent=2) + "\n")
        if index % 100 == 11:
            with open(os.path.join(folder, "annotations.json"), "w") as f:
                f.write(json.dumps({"schema": 1, "tags": ["keep"]}))
        os.utime(folder, (past, past))
    os.utime(runs, (past, past))
    return had


def all_records(project: str, path: str) -> None:
    """Write every record of the store into one JSON file: what a reader of all records
    must parse at least (the floor the benchmark compares with)."""
    runs = os.path.join(project, ".tmt", "runs")
    records = []
    for name in os.listdir(runs):
        with open(os.path.join(runs, name, "run.json")) as f:
            records.append(json.load(f))
    with open(path, "w") as f:
        json.dump(records, f, separators=(",", ":"))


if __name__ == "__main__":
    grow(sys.argv[1], int(sys.argv[2]))
