"""A sweep's configuration: ML Tracking Ops's ``experiment_cfg.json`` read unchanged, tmt's own
keys, and one line naming the key for every mistake."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tmt.errors import ConfigError
from tmt.sweepconfig import SweepConfig

# ML Tracking Ops's README example, verbatim (blank line and trailing space included).
ML_TRACKING_OPS = """
{
    "main_script_name": "train_script.py",
    "hyperparameters": {
        "learning_rate": {
            "type": "uniform",
            "min": 1e-5,
            "max": 1e-2
        },
        "batch_size": {
            "type": "choice",
            "candidates": [32, 64, 128]
        },
        "train_steps": {
            "type": "choice",
            "candidates": [700, 850, 1000]
        }
    },
    "max_runs": 100,
    "early_stopping": true,

    "early_stopping_patience": 5,\x20
    "optimization_metric": "Accuracy",
    "optimization_goal": "max"
}
"""


def config(**changes: object) -> dict:
    data = json.loads(ML_TRACKING_OPS)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


class TestMLTrackingOps:
    """Its configuration works unchanged."""

    def test_its_example(self, tmp_path: Path) -> None:
        path = tmp_path / "experiment_cfg.json"
        path.write_text(ML_TRACKING_OPS)
        sweep = SweepConfig.read(str(path))
        assert sweep.command == ["python", "train_script.py"]
        assert [p.name for p in sweep.hyperparameters] == [
            "learning_rate",
            "batch_size",
            "train_steps",
        ]
        assert sweep.hyperparameters[0].to_dict() == {"type": "uniform", "min": 1e-5, "max": 1e-2}
        assert sweep.hyperparameters[1].candidates == [32, 64, 128]
        assert sweep.max_runs == 100
        assert (sweep.early_stopping, sweep.patience) == (True, 5)
        assert (sweep.metric, sweep.goal) == ("Accuracy", "max")
        assert (sweep.sampler, sweep.pruner) == ("random", "patience")

    def test_its_flags(self) -> None:
        sweep = SweepConfig(config())
        values = {"learning_rate": 0.0031, "batch_size": 64, "train_steps": 700}
        assert sweep.flags(values) == [
            "--learning_rate",
            "0.0031",
            "--batch_size",
            "64",
            "--train_steps",
            "700",
        ]

    def test_no_early_stopping(self) -> None:
        sweep = SweepConfig(config(early_stopping=False, early_stopping_patience=None))
        assert (sweep.pruner, sweep.patience) == (None, None)


class TestTmtsKeys:
    def test_a_command(self) -> None:
        data = config(main_script_name=None, command=["python", "-m", "pkg.train", "--quick"])
        assert SweepConfig(data).command == ["python", "-m", "pkg.train", "--quick"]

    def test_every_type(self) -> None:
        data = config(
            hyperparameters={
                "lr": {"type": "loguniform", "min": 1e-5, "max": 1e-1},
                "layers": {"type": "int", "min": 1, "max": 8},
                "opt": {"type": "choice", "candidates": ["adam", "sgd", True, 0.5]},
                "dropout": {"type": "uniform", "min": 0, "max": 0.5},
            }
        )
        kinds = {p.name: p.kind for p in SweepConfig(data).hyperparameters}
        assert kinds == {"lr": "loguniform", "layers": "int", "opt": "choice", "dropout": "uniform"}

    @pytest.mark.parametrize("sampler", ["random", "tpe", "grid"])
    def test_samplers(self, sampler: str) -> None:
        hyperparameters = {"bs": {"type": "choice", "candidates": [1, 2]}}
        data = config(sampler=sampler, hyperparameters=hyperparameters, seed=7)
        sweep = SweepConfig(data)
        assert (sweep.sampler, sweep.seed) == (sampler, 7)

    @pytest.mark.parametrize("pruner", ["patience", "median", "asha"])
    def test_pruners(self, pruner: str) -> None:
        assert SweepConfig(config(pruner=pruner)).pruner == pruner

    def test_a_pruner_other_than_patience_needs_no_patience(self) -> None:
        sweep = SweepConfig(config(pruner="median", early_stopping_patience=None))
        assert (sweep.pruner, sweep.patience) == ("median", None)

    def test_flags_of_other_values(self) -> None:
        data = config(hyperparameters={"amp": {"type": "choice", "candidates": [True, False]}})
        assert SweepConfig(data).flags({"amp": False}) == ["--amp", "false"]


class TestMistakes:
    """Each is one line naming the key."""

    @pytest.mark.parametrize(
        ("changes", "said"),
        [
            ({"max_run": 5}, "unknown key 'max_run'"),
            ({"main_script_name": None}, "key 'main_script_name' is missing"),
            ({"command": ["python", "t.py"]}, "'main_script_name' and 'command' both given"),
            ({"max_runs": 0}, "key 'max_runs' must be a whole number of 1 or more"),
            ({"max_runs": None}, "key 'max_runs' is missing"),
            ({"max_runs": True}, "key 'max_runs' must be a whole number"),
            ({"hyperparameters": {}}, "key 'hyperparameters' must map each name"),
            ({"hyperparameters": {"lr": {"type": "normal"}}}, "hyperparameters.lr.type must be"),
            ({"hyperparameters": {"lr": {"type": "uniform", "min": 1}}}, "hyperparameters.lr.max"),
            (
                {"hyperparameters": {"lr": {"type": "uniform", "min": 2, "max": 1}}},
                "hyperparameters.lr: min (2) is above max (1)",
            ),
            (
                {"hyperparameters": {"lr": {"type": "loguniform", "min": 0, "max": 1}}},
                "hyperparameters.lr.min must be above 0",
            ),
            (
                {"hyperparameters": {"n": {"type": "int", "min": 1.5, "max": 3}}},
                "hyperparameters.n.min must be a whole number",
            ),
            ({"hyperparameters": {"b": {"type": "choice"}}}, "hyperparameters.b.candidates"),
            (
                {"hyperparameters": {"b": {"type": "choice", "candidates": [[1]]}}},
                "hyperparameters.b.candidates: [1] is not",
            ),
            (
                {"hyperparameters": {"b": {"type": "choice", "candidates": [1], "min": 0}}},
                "hyperparameters.b: unknown key 'min'",
            ),
            ({"hyperparameters": {"a b": {"type": "int", "min": 1, "max": 2}}}, "--NAME"),
            ({"early_stopping": "yes"}, "key 'early_stopping' must be true or false"),
            ({"early_stopping_patience": None}, "key 'early_stopping_patience' is missing"),
            ({"optimization_goal": "maximise"}, "key 'optimization_goal' must be 'max' or 'min'"),
            ({"optimization_goal": None}, "key 'optimization_goal' is missing"),
            (
                {"optimization_metric": None, "optimization_goal": None},
                "key 'optimization_metric' is missing: early stopping watches it",
            ),
            ({"sampler": "bayes"}, "key 'sampler' must be one of random, tpe, grid"),
            ({"pruner": "hyperband"}, "key 'pruner' must be one of patience, median, asha"),
            ({"early_stopping": False, "pruner": "median"}, "'pruner' is set but"),
            ({"sampler": "grid"}, "hyperparameters.learning_rate: a grid takes"),
            ({"seed": -1}, "key 'seed' must be a whole number of 0 or more"),
            ({"command": [], "main_script_name": None}, "key 'command' must be a list of words"),
        ],
    )
    def test_mistake(self, changes: dict, said: str) -> None:
        with pytest.raises(ConfigError) as caught:
            SweepConfig(config(**changes), "experiment_cfg.json")
        message = str(caught.value)
        assert message.startswith("experiment_cfg.json: ") and said in message
        assert "\n" not in message

    def test_tpe_needs_a_metric(self) -> None:
        data = config(
            early_stopping=False,
            optimization_metric=None,
            optimization_goal=None,
            sampler="tpe",
        )
        with pytest.raises(ConfigError, match="'optimization_metric' is missing: tpe"):
            SweepConfig(data)

    def test_not_an_object(self) -> None:
        with pytest.raises(ConfigError, match="expected a JSON object, got list"):
            SweepConfig([1])

    def test_a_file(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match="sweep configuration not found"):
            SweepConfig.read(str(tmp_path / "missing.json"))
        (tmp_path / "bad.json").write_text('{"max_runs": 1,}')
        with pytest.raises(ConfigError, match="not valid JSON at line 1, column 16"):
            SweepConfig.read(str(tmp_path / "bad.json"))
