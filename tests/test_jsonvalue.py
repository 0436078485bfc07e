"""Faithful JSON: what a run stores reads back as the same value, in strict JSON."""

from __future__ import annotations

import json
import math
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from tmt.jsonvalue import MAX_ARRAY_ELEMENTS, from_json, to_json


def roundtrip(value):
    problems: list[str] = []
    text = json.dumps(to_json(value, "v", problems), allow_nan=False)
    return from_json(json.loads(text)), problems


class TestFaithful:
    @pytest.mark.parametrize(
        "value", [None, True, 0, -3, 2**80, 0.1, 1e-300, "ünïcode", [1, [2]], {"a": {"b": 1}}]
    )
    def test_plain_values_are_unchanged(self, value) -> None:
        assert roundtrip(value) == (value, [])

    @pytest.mark.parametrize("value", [math.inf, -math.inf])
    def test_infinities(self, value: float) -> None:
        """Infinities survive, and the JSON stays strict (json.dumps with allow_nan=False)."""
        assert roundtrip(value)[0] == value

    def test_nan(self) -> None:
        assert math.isnan(roundtrip(math.nan)[0])

    def test_decimal_digit_for_digit(self) -> None:
        back, _ = roundtrip(Decimal("0.100000000000000000001"))
        assert back == Decimal("0.100000000000000000001")
        assert isinstance(back, Decimal)

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (np.float32(0.5), 0.5),
            (np.float64(0.25), 0.25),
            (np.int64(7), 7),
            (np.bool_(True), True),
            (np.array(3.5), 3.5),
            (np.array([[1, 2], [3, 4]]), [[1, 2], [3, 4]]),
        ],
    )
    def test_numpy_values_become_python_values(self, value, expected) -> None:
        back, problems = roundtrip(value)
        assert back == expected
        assert type(back) is type(expected)
        assert problems == []

    def test_numpy_nan(self) -> None:
        assert math.isnan(roundtrip(np.float32("nan"))[0])

    def test_tuples_and_sets_become_lists(self) -> None:
        assert roundtrip((1, 2))[0] == [1, 2]
        assert roundtrip({3, 1, 2})[0] == [1, 2, 3]

    def test_numeric_keys_become_strings(self) -> None:
        assert roundtrip({1: "a", np.int64(2): "b"})[0] == {"1": "a", "2": "b"}

    def test_dates_and_paths_become_strings(self) -> None:
        assert roundtrip(datetime(2026, 1, 2, 3, 4))[0] == "2026-01-02T03:04:00"
        assert roundtrip(Path("/a/b"))[0] == "/a/b"


class TestUnstorable:
    def test_an_object_is_kept_as_its_repr_and_reported_by_name(self) -> None:
        """A value with no JSON form is reported by where it was, and never raises."""

        class Model:
            def __repr__(self) -> str:
                return "<Model>"

        back, problems = roundtrip({"model": Model()})
        assert back == {"model": "<Model>"}
        assert problems == ["v['model']: a Model has no JSON form; stored as its repr"]

    def test_a_huge_array_is_summarised(self) -> None:
        back, problems = roundtrip(np.zeros(MAX_ARRAY_ELEMENTS + 1, dtype=np.float32))
        assert back == f"ndarray(shape=({MAX_ARRAY_ELEMENTS + 1},), dtype=float32)"
        assert "larger than" in problems[0]

    def test_a_broken_repr_does_not_raise(self) -> None:
        class Broken:
            def __repr__(self) -> str:
                raise RuntimeError("boom")

        back, problems = roundtrip(Broken())
        assert "failing repr" in back
        assert len(problems) == 1


class TestValuesThatLookLikeMarkers:
    """A dict of the program's own that looks like a marker is read back as that dict."""

    @pytest.mark.parametrize(
        "value",
        [
            {"$float": "inf"},
            {"$decimal": "abc"},
            {"$repr": "hi"},
            {"$dict": {"$float": "nan"}},
            {"loss": {"$float": "inf"}},
            [{"$repr": "x"}],
        ],
    )
    def test_round_trip(self, value) -> None:
        stored = to_json(value, "v", [])
        assert json.loads(json.dumps(stored)) == stored
        assert from_json(stored) == value

    def test_keys_that_become_the_same_text_are_both_kept(self) -> None:
        stored = to_json({1: "a", "1": "b", 2.5: "c", "2.5": "d"}, "m", [])
        assert stored == {"1 (int)": "a", "1": "b", "2.5 (float)": "c", "2.5": "d"}


class TestSubclassesOfPlainValues:
    """Enums of ints and strings, and other subclasses, are stored as the plain value."""

    def test_an_int_enum_metric_is_its_number(self) -> None:
        import enum

        class Phase(enum.IntEnum):
            WARMUP = 3

        class Colour(str, enum.Enum):
            RED = "red"

        problems: list[str] = []
        stored = to_json(
            {"phase": Phase.WARMUP, "colour": Colour.RED, "flag": np.bool_(True)}, "m", problems
        )
        assert stored == {"phase": 3, "colour": "red", "flag": True} and problems == []
        assert type(stored["phase"]) is int and type(stored["colour"]) is str

    def test_metrics_and_params_share_one_encoder(self) -> None:
        from tmt.params import summarise

        for value in (Decimal("0.10"), math.nan, -math.inf, 2**20000, np.float32(0.5), Path("a/b")):
            assert summarise(value) == to_json(value, "v", [])
