"""Record a few training runs with tmt, then read them back: the five-minute tour.

Run it from any folder: it records into ``.tmt/`` there. It needs nothing but tmt.
"""

import math
import os
import random
import shutil
import sys

from tmt import TmtManager, tmt_log, tmt_recorder, tmt_save


def _commands() -> tuple[str, str]:
    """``tmt`` and ``tmt_tui`` as they can be typed here: by name when they are on PATH,
    else by their path in this interpreter's environment (a venv not activated)."""
    folder = os.path.dirname(sys.executable)
    names = []
    for name in ("tmt", "tmt_tui"):
        installed = os.path.join(folder, name)
        found = shutil.which(name)
        if found and os.path.realpath(found) == os.path.realpath(installed):
            names.append(name)
        elif os.path.exists(installed):
            names.append(
                os.path.relpath(installed) if installed.startswith(os.getcwd()) else installed
            )
        else:
            names.append(
                f"{sys.executable} -m tmt" if name == "tmt" else f"{sys.executable} -m tmt.tui"
            )
    return names[0], names[1]


def make_data(n=400, seed=0):
    """Two noisy clusters of 2-d points, labelled 0 and 1."""
    rng = random.Random(seed)
    points = []
    for _ in range(n):
        label = rng.random() < 0.5
        centre = 0.6 if label else -0.6
        points.append(((rng.gauss(centre, 1.0), rng.gauss(centre, 1.0)), int(label)))
    return points[: n // 2], points[n // 2 :]


def predict(weights, x):
    z = weights[0] + weights[1] * x[0] + weights[2] * x[1]
    return 1.0 / (1.0 + math.exp(-z))


@tmt_recorder(name="logistic_regression", description="plain SGD on two clusters")
def train(lr, epochs=3):
    """Fit a logistic regression by SGD; return its metrics, save its weights."""
    train_set, test_set = make_data()
    weights = [0.0, 0.0, 0.0]
    for epoch in range(epochs):
        loss = 0.0
        for x, y in train_set:
            p = min(max(predict(weights, x), 1e-9), 1 - 1e-9)
            loss -= y * math.log(p) + (1 - y) * math.log(1 - p)
            error = predict(weights, x) - y
            weights = [
                weights[0] - lr * error,
                weights[1] - lr * error * x[0],
                weights[2] - lr * error * x[1],
            ]
        tmt_log("loss", loss / len(train_set), step=epoch)  # a curve, one point an epoch
    predictions = [int(predict(weights, x) > 0.5) for x, _ in test_set]
    tmt_save(weights, name="weights")
    tmt_save(predictions, name="predictions")
    correct = sum(p == y for p, (_, y) in zip(predictions, test_set))
    return {"accuracy": correct / len(test_set), "lr": lr}


if __name__ == "__main__":
    for lr in (0.0003, 0.003, 0.03):
        train(lr)

    manager = TmtManager()
    print(f"{'run':<14}{'experiment':<22}{'status':<10}{'seconds':>8}{'lr':>8}{'accuracy':>10}")
    for entry in manager.db.get_entries_by_name("logistic_regression"):
        m = entry.metrics
        print(
            f"{entry.id:<14}{entry.name:<22}{entry.status:<10}{entry.duration or 0:>8.3f}"
            f"{m.get('lr', float('nan')):>8}{m.get('accuracy', float('nan')):>10.3f}"
        )

    best = max(
        manager.db.get_entries_by_name("logistic_regression"),
        key=lambda e: e.metrics.get("accuracy", 0),
    )
    manager.set_entry_by_id(best.id)
    print(f"\nbest run: {best.id} (started {best.started:%Y-%m-%d %H:%M:%S})")
    for name, value in manager.get_metrics():
        print(f"  {name}: {value}")
    for name, obj in manager.load_results():
        print(f"  result {name}: {str(obj)[:60]}")
    steps, losses, _ = manager.get_series("loss")
    print("  loss by epoch: " + ", ".join(f"{s}: {v:.4f}" for s, v in zip(steps, losses)))
    print(f"  arguments: {best.params}")
    print(f"  code snapshot: {manager.code_snapshot_path()}")
    tmt, tui = _commands()
    print("\nNow try:")
    for command in (
        f"{tmt} list",
        f"{tmt} show last",
        f"{tmt} diff last~1 last",
        f"{tmt} plot last~2 last~1 last --metric loss",
        f"{tmt} timeline logistic_regression",
        tui,
    ):
        print(f"  {command}")
