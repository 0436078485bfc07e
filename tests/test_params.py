"""Parameters: a run keeps its function's arguments by name, bulky ones summarised."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tmt import TmtManager, tmt_recorder
from tmt.params import call_params, signature_of, summarise

from conftest import records


def params_of(func, *args, **kwargs) -> dict:
    return call_params(signature_of(func), args, kwargs)


class TestBinding:
    def test_arguments_are_bound_to_names_with_defaults(self) -> None:
        def train(lr, epochs=10, *, seed=0):
            pass

        assert params_of(train, 0.1, seed=3) == {"lr": 0.1, "epochs": 10, "seed": 3}

    def test_star_args_and_kwargs_keep_their_names(self) -> None:
        def train(*layers, **options):
            pass

        assert params_of(train, 64, 32, dropout=0.5) == {
            "layers": [64, 32],
            "options": {"dropout": 0.5},
        }

    def test_a_call_that_does_not_bind_is_kept_positionally(self) -> None:
        def train(lr):
            pass

        assert params_of(train, 1, 2, x=3) == {"arg0": 1, "arg1": 2, "x": 3}

    def test_methods_leave_self_out(self, project: Path) -> None:
        class Trainer:
            @tmt_recorder(name="m")
            def fit(self, lr=0.01):
                return None

        Trainer().fit()
        assert records(project)[0]["params"] == {"lr": 0.01}


@dataclasses.dataclass
class Config:
    lr: float = 0.1
    layers: tuple = (64, 64)


class TestSummaries:
    def test_argparse_namespaces_are_expanded(self) -> None:
        args = argparse.Namespace(lr=0.1, optimizer="adam")
        assert summarise(args) == {"lr": 0.1, "optimizer": "adam"}

    def test_dataclasses_are_expanded(self) -> None:
        assert summarise(Config()) == {"lr": 0.1, "layers": [64, 64]}

    def test_arrays_by_type_shape_and_dtype(self) -> None:
        assert summarise(np.zeros((1000, 3), dtype=np.float32)) == {
            "$type": "numpy.ndarray",
            "shape": [1000, 3],
            "dtype": "float32",
        }

    def test_numpy_scalars_are_plain_numbers(self) -> None:
        assert summarise(np.float64(0.5)) == 0.5
        assert summarise(np.int32(3)) == 3

    def test_data_frames_by_shape_and_columns(self) -> None:
        frame = pd.DataFrame({"a": [1, 2], "b": [3.0, 4.0]})
        summary = summarise(frame)
        assert summary["$type"].endswith("DataFrame")
        assert summary["shape"] == [2, 2] and summary["columns"] == ["a", "b"]

    def test_long_lists_and_strings_are_bounded(self) -> None:
        assert summarise(list(range(1000))) == {"$type": "list", "len": 1000}
        assert len(summarise("x" * 5000)) == 1001

    def test_other_objects_by_a_short_repr(self) -> None:
        class Model:
            def __repr__(self) -> str:
                return "Model(" + "w" * 500 + ")"

        summary = summarise(Model())
        assert summary["$type"].endswith("Model")
        assert len(summary["$repr"]) <= 120

    def test_nan_is_kept(self) -> None:
        assert summarise(float("nan")) == {"$float": "nan"}

    def test_a_failing_summary_never_fails(self) -> None:
        class Hostile:
            @property
            def shape(self):
                raise RuntimeError("no")

        assert "$error" in summarise(Hostile())


class TestRecorded:
    def test_params_are_in_the_record_and_read_back(self, project: Path) -> None:
        @tmt_recorder(name="p")
        def train(args, data, lr=0.1):
            return None

        train(argparse.Namespace(epochs=3), np.ones((10, 2)))
        params = TmtManager().set_entry_by_name("p").params
        assert params["args"] == {"epochs": 3}
        assert params["data"]["shape"] == [10, 2]
        assert params["lr"] == 0.1

    def test_argv_is_recorded(self, project: Path) -> None:
        tmt_recorder(name="a")(lambda: None)()
        assert isinstance(records(project)[0]["argv"], list)

    @pytest.mark.parametrize("tags", [["baseline", "v2"], "baseline"])
    def test_tags(self, project: Path, tags) -> None:
        tmt_recorder(name="t", tags=tags)(lambda: None)()
        assert TmtManager().set_entry_by_name("t").tags == (
            tags if isinstance(tags, list) else [tags]
        )

    def test_a_blank_tag_is_refused(self) -> None:
        with pytest.raises(ValueError, match="tags must be non-empty strings"):
            tmt_recorder(name="t", tags=[""])
