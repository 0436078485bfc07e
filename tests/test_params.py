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


class TestBounds:
    """Summaries have exact limits: what is at the limit is kept, one more is summarised."""

    def test_a_string_of_1000_characters_is_kept_and_a_longer_one_cut(self) -> None:
        assert summarise("x" * 1000) == "x" * 1000
        assert summarise("x" * 1001) == "x" * 1000 + "…"

    @pytest.mark.parametrize("kind", [list, tuple])
    def test_a_sequence_of_100_items_is_kept(self, kind) -> None:
        assert summarise(kind(range(100))) == list(range(100))
        assert summarise(kind(range(101))) == {"$type": kind.__name__, "len": 101}

    def test_a_dict_of_100_items_is_kept_and_a_larger_one_counted(self) -> None:
        small = {str(i): i for i in range(100)}
        assert summarise(small) == small
        assert summarise({str(i): i for i in range(101)}) == {"$type": "dict", "len": 101}

    def test_nesting_is_kept_four_levels_deep(self) -> None:
        """Containers below the fourth level are kept as their repr."""
        assert summarise([[[[1]]]]) == [[[[1]]]]
        assert summarise([[[[[1]]]]]) == [[[[{"$type": "list", "$repr": "[1]"}]]]]
        deep_dict = {"a": {"b": {"c": {"d": {"e": 1}}}}}
        assert summarise(deep_dict) == {
            "a": {"b": {"c": {"d": {"$type": "dict", "$repr": "{'e': 1}"}}}}
        }

    def test_namespaces_and_dataclasses_count_as_a_level(self) -> None:
        args = argparse.Namespace(a=[[[[1]]]])
        assert summarise(args) == {"a": [[[{"$type": "list", "$repr": "[1]"}]]]}
        assert summarise(Config(layers=[[[[1]]]])) == {
            "lr": 0.1,
            "layers": [[[{"$type": "list", "$repr": "[1]"}]]],
        }

    def test_a_repr_of_120_characters_is_kept_and_a_longer_one_cut(self) -> None:
        class Sized:
            def __init__(self, n: int) -> None:
                self.n = n

            def __repr__(self) -> str:
                return "r" * self.n

        assert summarise(Sized(120))["$repr"] == "r" * 120
        assert summarise(Sized(121))["$repr"] == "r" * 119 + "…"


class TestValues:
    """Plain values of other types are stored as their plain JSON form."""

    def test_paths_dates_and_none(self) -> None:
        from datetime import date, datetime

        assert summarise(Path("a/b")) == "a/b"
        assert summarise(date(2026, 1, 2)) == "2026-01-02"
        assert summarise(datetime(2026, 1, 2, 3, 4)) == "2026-01-02T03:04:00"
        assert summarise(None) is None
        assert summarise(True) is True

    def test_a_long_path_is_cut_like_a_string(self) -> None:
        assert summarise(Path("p" * 2000)) == "p" * 1000 + "…"

    def test_a_zero_dimensional_array_is_its_value(self) -> None:
        assert summarise(np.array(2.5)) == 2.5

    def test_non_string_keys_become_text(self) -> None:
        assert summarise({1: "a", 2.5: "b", None: "c"}) == {"1": "a", "2.5": "b", "None": "c"}

    def test_a_dict_that_looks_like_a_marker_is_escaped(self) -> None:
        assert summarise({"$float": "inf"}) == {"$dict": {"$float": "inf"}}

    def test_sets_are_lists(self) -> None:
        assert summarise({3}) == [3]
        assert summarise(frozenset({4})) == [4]

    def test_an_object_of_the_main_module_is_named_plainly(self) -> None:
        kind = type("Thing", (), {"__module__": "__main__", "__repr__": lambda self: "T"})
        assert summarise(kind()) == {"$type": "Thing", "$repr": "T"}

    def test_an_object_of_a_module_is_named_with_it(self) -> None:
        class Model:
            def __repr__(self) -> str:
                return "M"

        assert summarise(Model()) == {
            "$type": f"{__name__}.{Model.__qualname__}",
            "$repr": "M",
        }
        assert Model.__module__ == __name__ != "builtins"

    def test_an_object_with_a_shape_that_is_not_a_sequence(self) -> None:
        class Odd:
            shape = 3

            def __repr__(self) -> str:
                return "Odd"

        assert summarise(Odd())["$repr"] == "Odd"

    def test_a_failing_repr_is_described(self) -> None:
        class Broken:
            def __repr__(self) -> str:
                raise RuntimeError("boom")

        assert summarise(Broken())["$repr"] == "<repr failed: RuntimeError('boom')>"

    def test_a_data_frame_lists_at_most_20_columns(self) -> None:
        frame = pd.DataFrame({f"c{i}": [i] for i in range(25)})
        assert summarise(frame)["columns"] == [f"c{i}" for i in range(20)]


class TestFailedSummary:
    """A value whose summary raises is stored as its type and the error, cut to 120 characters."""

    def test_type_and_error(self) -> None:
        class Hostile:
            @property
            def shape(self):
                raise RuntimeError("no")

        assert summarise(Hostile()) == {
            "$type": "Hostile",
            "$error": "cannot summarise: RuntimeError('no')",
        }

    def test_a_long_error_is_cut(self) -> None:
        class Hostile:
            @property
            def shape(self):
                raise RuntimeError("n" * 500)

        assert len(summarise(Hostile())["$error"]) == 120


class TestUnboundCalls:
    def test_a_function_without_a_signature_keeps_arguments_by_position(self) -> None:
        assert call_params(None, (1, "a"), {"k": 2}) == {"arg0": 1, "arg1": "a", "k": 2}

    def test_cls_is_left_out(self) -> None:
        def build(cls, size=3):
            pass

        assert params_of(build, object) == {"size": 3}
