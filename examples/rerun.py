"""A deterministic training script, to run again with ``tmt rerun``.

Copy it into a project folder and record a run, then run it again::

    python rerun.py --lr 0.1           # records a run of "linear-fit"
    tmt rerun last --check             # its code again: the same metrics, to the last digit
    tmt rerun last lr=0.2              # the same, with --lr 0.2
    tmt rerun last --current-code      # with the code as it is now, edits and all

It fits a line to noisy points by gradient descent, in plain Python: the same seed gives the
same numbers on any machine, so ``--check`` passes exactly, whatever the working tree now holds.
"""

from __future__ import annotations

import argparse
import random

from tmt import tmt_log, tmt_recorder


def make_data(seed: int, count: int = 200) -> tuple[list[float], list[float]]:
    rng = random.Random(seed)
    xs = [rng.uniform(-1.0, 1.0) for _ in range(count)]
    ys = [3.0 * x + 0.5 + rng.gauss(0.0, 0.1) for x in xs]
    return xs, ys


@tmt_recorder(name="linear-fit")
def train(args: argparse.Namespace) -> dict[str, float]:
    xs, ys = make_data(args.seed)
    w = b = 0.0
    loss = float("inf")
    for epoch in range(args.epochs):
        errors = [w * x + b - y for x, y in zip(xs, ys)]
        loss = sum(e * e for e in errors) / len(errors)
        w -= args.lr * 2 * sum(e * x for e, x in zip(errors, xs)) / len(xs)
        b -= args.lr * 2 * sum(errors) / len(xs)
        tmt_log("loss", loss, step=epoch)
    return {"loss": loss, "w": w, "b": b}


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description="Fit a line to noisy points.")
    parser.add_argument("--lr", type=float, default=0.1, help="the learning rate")
    parser.add_argument("--epochs", type=int, default=50, help="passes over the data")
    parser.add_argument("--seed", type=int, default=0, help="the seed of the data")
    metrics = train(parser.parse_args(argv))
    print(f"loss {metrics['loss']:.6f}, w {metrics['w']:.4f}, b {metrics['b']:.4f}")
    return metrics


if __name__ == "__main__":
    main()
