"""A training script to sweep: `tmt sweep start --workers 2` in this folder.

It needs nothing of the sweep but what tmt always asks: an argparse parser with a flag for each
hyperparameter of experiment_cfg.json, and `tmt_log` of the metric the sweep optimises. Its
learning curve is made up (no data, no numpy), so a sweep of it takes seconds: the accuracy
climbs towards a ceiling set by the hyperparameters, at a speed set by the learning rate, and
then stays flat, where early stopping ends the run.
"""

from __future__ import annotations

import argparse
import math
import time

from tmt import tmt_log, tmt_recorder


@tmt_recorder(name="sweep-demo")
def train(args: argparse.Namespace) -> dict[str, float]:
    # Best near learning_rate 3e-3, and with larger batches.
    ceiling = 0.95 - 0.08 * abs(math.log10(args.learning_rate / 3e-3)) - 16 / args.batch_size / 10
    accuracy = 0.1
    for step in range(args.train_steps // 25):
        accuracy += (ceiling - accuracy) * min(1.0, args.learning_rate * 60)
        tmt_log("Accuracy", round(accuracy, 3), step=step)
        time.sleep(0.02)  # a step of training
    return {"Accuracy": round(accuracy, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description="A made-up training run.")
    parser.add_argument("--learning_rate", type=float, default=1e-3)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--train_steps", type=int, default=1000)
    train(parser.parse_args())


if __name__ == "__main__":
    main()
