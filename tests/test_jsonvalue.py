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


def nested_lists(depth: int) -> list:
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


class TestLimits:
    """What a reader would not read back is stored as its repr, and reported."""

    def test_nesting_up_to_the_limit_is_kept(self) -> None:
        from tmt.record import MAX_DEPTH

        assert roundtrip(nested_lists(MAX_DEPTH - 1)) == (nested_lists(MAX_DEPTH - 1), [])

    def test_nesting_past_the_limit_is_a_repr(self) -> None:
        from tmt.record import MAX_DEPTH

        problems: list[str] = []
        stored = to_json(nested_lists(MAX_DEPTH), "v", problems)
        innermost = stored
        for _ in range(MAX_DEPTH - 2):
            innermost = innermost[0]
        assert innermost == [{"$repr": "[]"}]
        assert problems == [
            f"v{'[0]' * (MAX_DEPTH - 1)}: nested more than 64 deep; stored as its repr"
        ]

    def test_a_container_that_contains_itself_is_a_repr(self) -> None:
        loop: list = [1]
        loop.append(loop)
        problems: list[str] = []
        assert to_json(loop, "v", problems) == [1, {"$repr": "[1, [...]]"}]
        assert problems == ["v[1]: contains itself; stored as its repr"]

    def test_a_repr_is_cut_to_200_characters(self) -> None:
        class Sized:
            def __init__(self, n: int) -> None:
                self.n = n

            def __repr__(self) -> str:
                return "r" * self.n

        assert to_json(Sized(200), "v", []) == {"$repr": "r" * 200}
        assert to_json(Sized(201), "v", []) == {"$repr": "r" * 199 + "…"}

    def test_a_huge_int_is_its_size(self) -> None:
        problems: list[str] = []
        assert to_json(2**13_000, "v", problems) == {"$repr": "<an int of 13001 bits>"}
        assert problems == ["v: an int of 13001 bits is too long; stored as its size"]
        assert to_json(2**12_999, "v", []) == 2**12_999


class TestArrayLikes:
    """Values of any array library are read through shape, item and tolist."""

    def test_a_zero_dimensional_value_with_only_item(self) -> None:
        class Scalar:
            shape = ()

            def item(self) -> float:
                return 1.5

        assert to_json(Scalar(), "v", []) == 1.5

    def test_a_huge_array_without_a_dtype(self) -> None:
        class Big:
            shape = (MAX_ARRAY_ELEMENTS + 1,)

            def size(self) -> int:  # torch's size is a method
                return MAX_ARRAY_ELEMENTS + 1

            def tolist(self) -> list:
                raise AssertionError("a huge array is never converted")

        problems: list[str] = []
        assert to_json(Big(), "v", problems) == {
            "$repr": f"Big(shape=({MAX_ARRAY_ELEMENTS + 1},), dtype=?)"
        }
        assert problems == [
            f"v: array of {MAX_ARRAY_ELEMENTS + 1} elements is larger than {MAX_ARRAY_ELEMENTS}; "
            "stored as a summary"
        ]

    def test_an_array_of_exactly_the_limit_is_kept(self) -> None:
        back, problems = roundtrip(np.zeros(MAX_ARRAY_ELEMENTS, dtype=np.int8))
        assert back == [0] * MAX_ARRAY_ELEMENTS and problems == []

    def test_a_broken_tolist_is_a_repr(self) -> None:
        class Broken:
            shape = (2,)

            def tolist(self) -> list:
                raise RuntimeError("no")

            def __repr__(self) -> str:
                return "Broken"

        assert to_json(Broken(), "v", []) == {"$repr": "Broken"}


class TestDuckTypes:
    def test_a_date_needs_both_isoformat_and_year(self) -> None:
        """Only dates are stored as their ISO text; an object with an isoformat is a repr."""

        class Stamp:
            def isoformat(self) -> str:
                return "2026"

            def __repr__(self) -> str:
                return "Stamp"

        class Yearly:
            year = 2026

            def __repr__(self) -> str:
                return "Yearly"

        assert to_json(Stamp(), "v", []) == {"$repr": "Stamp"}
        assert to_json(Yearly(), "v", []) == {"$repr": "Yearly"}

    def test_a_key_that_is_not_a_number_is_its_repr_and_reported(self) -> None:
        problems: list[str] = []
        assert to_json({("a", 1): 1}, "m", problems) == {"('a', 1)": 1}
        assert problems == ["m: key ('a', 1) is not a string; stored as its repr"]

    def test_a_set_that_cannot_be_sorted_is_kept_in_any_order(self) -> None:
        back, problems = roundtrip({1, "a"})
        assert sorted(back, key=str) == [1, "a"] and problems == []


class TestReadingMarkers:
    """Only a one-key object with a marker's key and a value of its type is a marker."""

    @pytest.mark.parametrize(
        "stored",
        [
            {"name": "x"},
            {"$repr": 5},
            {"$float": "one"},
            {"$decimal": 1},
            {"$dict": "x"},
            {"$repr": "x", "other": 1},
        ],
    )
    def test_other_objects_read_as_themselves(self, stored) -> None:
        assert from_json(stored) == stored

    def test_a_decimal_that_is_not_a_number_reads_as_its_text(self) -> None:
        assert from_json({"$decimal": "abc"}) == "abc"

    def test_markers_inside_a_wrapped_dict_are_read(self) -> None:
        assert from_json({"$dict": {"$float": {"$float": "inf"}}}) == {"$float": math.inf}
