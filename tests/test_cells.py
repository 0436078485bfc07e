"""Run data as table cells: flat keys, numbers to sort by, values to compare."""

from __future__ import annotations

import math

import pytest

from tmt.cells import (
    compare,
    fields,
    flatten,
    number,
    ordered,
    ranked,
    same,
    shown,
    shown_duration,
)
from tmt.entry import Entry


def run(run_id: str, metrics: dict | None = None, params: dict | None = None) -> Entry:
    """A run read back from a record holding ``metrics`` and ``params`` (as stored)."""
    record = {"schema": 1, "id": run_id, "name": "r", "status": "finished"}
    record.update(metrics=metrics or {}, params=params or {})
    return Entry(record, "/store")


class TestFlatten:
    """Nested objects become ``a.b.c`` keys; summaries of values (``$type``) stay whole."""

    def test_nested(self) -> None:
        data = {"opt": {"lr": 0.1, "betas": {"b1": 0.9}}, "epochs": 3}
        assert flatten(data) == {"opt.lr": 0.1, "opt.betas.b1": 0.9, "epochs": 3}

    def test_order_is_kept(self) -> None:
        assert list(flatten({"b": 1, "a": {"z": 2, "y": 3}, "c": 4})) == ["b", "a.z", "a.y", "c"]

    def test_a_summary_stays_whole(self) -> None:
        summary = {"$type": "ndarray", "shape": [3, 4]}
        assert flatten({"weights": summary}) == {"weights": summary}

    def test_any_key_starting_with_a_dollar_marks_a_summary(self) -> None:
        data = {"a": {"x": 1, "$repr": "<thing>"}}
        assert flatten(data) == {"a": {"x": 1, "$repr": "<thing>"}}

    def test_an_empty_object_stays_a_value(self) -> None:
        assert flatten({"a": {}, "b": []}) == {"a": {}, "b": []}

    def test_lists_are_values(self) -> None:
        assert flatten({"sizes": [{"a": 1}]}) == {"sizes": [{"a": 1}]}

    def test_a_prefix(self) -> None:
        assert flatten({"a": {"b": 1}}, "params.") == {"params.a.b": 1}

    def test_nothing(self) -> None:
        assert flatten({}) == {}


class TestFields:
    """A run's cells: ``params.*`` then ``metrics.*``."""

    def test_params_and_metrics(self) -> None:
        entry = run("a", metrics={"acc": 0.9, "f1": {"macro": 0.5}}, params={"lr": 0.1})
        assert fields(entry) == {"params.lr": 0.1, "metrics.acc": 0.9, "metrics.f1.macro": 0.5}
        assert list(fields(entry)) == ["params.lr", "metrics.acc", "metrics.f1.macro"]

    def test_the_same_name_in_both(self) -> None:
        entry = run("a", metrics={"x": 1}, params={"x": 2})
        assert fields(entry) == {"params.x": 2, "metrics.x": 1}

    def test_values_are_decoded(self) -> None:
        cells = fields(run("a", metrics={"loss": {"$float": "nan"}}))
        assert math.isnan(cells["metrics.loss"])

    def test_a_run_with_neither(self) -> None:
        assert fields(run("a")) == {}


class TestNumber:
    """A cell as a number to sort by: ints and floats only, NaN and bools are not numbers."""

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (3, 3.0),
            (-2, -2.0),
            (0, 0.0),
            (0.5, 0.5),
            (math.inf, math.inf),
            (-math.inf, -math.inf),
            (10**400, math.inf),  # too large for a float: infinitely large
            (-(10**400), -math.inf),
            (2**53 + 1, float(2**53 + 1)),
        ],
    )
    def test_numbers(self, value: float, expected: float) -> None:
        found = number(value)
        assert found == expected and type(found) is float

    @pytest.mark.parametrize(
        "value", [math.nan, True, False, None, "3", "nan", b"1", [1], {"$float": "nan"}]
    )
    def test_not_numbers(self, value: object) -> None:
        assert number(value) is None


class TestRankedByMetric:
    """Runs in order of a metric, best first; those without a number for it last, as given."""

    def test_highest_first(self) -> None:
        runs = [run("a", {"acc": 0.5}), run("b", {"acc": 0.9}), run("c", {"acc": 0.7})]
        assert [e.id for e in ranked(runs, "metrics.acc")] == ["b", "c", "a"]

    def test_lowest_first(self) -> None:
        runs = [run("a", {"loss": 0.5}), run("b", {"loss": 0.9}), run("c", {"loss": 0.1})]
        assert [e.id for e in ranked(runs, "metrics.loss", highest_first=False)] == ["c", "a", "b"]

    @pytest.mark.parametrize("highest_first", [True, False])
    def test_runs_without_a_number_come_last_in_the_order_given(self, highest_first) -> None:
        runs = [
            run("none"),
            run("nan", {"acc": {"$float": "nan"}}),
            run("mid", {"acc": 0.5}),
            run("text", {"acc": "high"}),
            run("bool", {"acc": True}),
            run("low", {"acc": -1}),
            run("high", {"acc": 10**400}),
        ]
        order = ["high", "mid", "low"] if highest_first else ["low", "mid", "high"]
        found = [e.id for e in ranked(runs, "metrics.acc", highest_first)]
        assert found == [*order, "none", "nan", "text", "bool"]

    @pytest.mark.parametrize("highest_first", [True, False])
    def test_ties_keep_the_order_given(self, highest_first: bool) -> None:
        runs = [run("a", {"acc": 1}), run("b", {"acc": 1.0}), run("c", {"acc": 1})]
        assert [e.id for e in ranked(runs, "metrics.acc", highest_first)] == ["a", "b", "c"]

    def test_any_iterable(self) -> None:
        runs = (r for r in [run("a", {"acc": 1}), run("b", {"acc": 2})])
        assert [e.id for e in ranked(runs, "metrics.acc")] == ["b", "a"]

    def test_no_runs(self) -> None:
        assert ranked([], "metrics.acc") == []


class TestSame:
    """Two cells hold the same value: nested data compared by content, NaN equal to NaN."""

    @pytest.mark.parametrize(
        ("a", "b"),
        [
            (1, 1),
            ("x", "x"),
            (None, None),
            ({"a": 1, "b": [1, 2]}, {"b": [1, 2], "a": 1}),
            (math.nan, math.nan),
            ([1, {"x": None}], [1, {"x": None}]),
        ],
    )
    def test_same(self, a: object, b: object) -> None:
        assert same(a, b)

    @pytest.mark.parametrize(
        ("a", "b"),
        [
            (1, 2),
            (True, 1),  # a bool is not a number
            (None, 0),
            (None, "None"),
            ("1", 1),
            ([1, 2], [2, 1]),
            ({"a": 1}, {"a": 2}),
        ],
    )
    def test_different(self, a: object, b: object) -> None:
        assert not same(a, b)

    def test_values_json_cannot_hold_are_compared_as_text(self) -> None:
        from decimal import Decimal

        assert same(Decimal("1.10"), Decimal("1.10"))
        assert not same(Decimal("1.10"), Decimal("1.1"))


class TestCompare:
    """Runs side by side: every key any of them has, first seen first, and whether they differ."""

    def test_side_by_side(self) -> None:
        a = run("a", metrics={"acc": 0.9}, params={"lr": 0.1, "opt": {"name": "adam"}})
        b = run("b", metrics={"acc": 0.8, "f1": 0.5}, params={"lr": 0.1, "opt": {"name": "sgd"}})
        assert compare([a, b]) == [
            ("params.lr", [0.1, 0.1], False),
            ("params.opt.name", ["adam", "sgd"], True),
            ("metrics.acc", [0.9, 0.8], True),
            ("metrics.f1", [None, 0.5], True),
        ]

    def test_a_key_only_the_later_runs_have(self) -> None:
        a, b, c = run("a", {"x": 1}), run("b", {"y": 2}), run("c", {"y": 2})
        assert compare([a, b, c]) == [
            ("metrics.x", [1, None, None], True),
            ("metrics.y", [None, 2, 2], True),
        ]

    def test_the_first_run_differing_alone(self) -> None:
        runs = [run("a", {"x": 2}), run("b", {"x": 1}), run("c", {"x": 1})]
        assert compare(runs) == [("metrics.x", [2, 1, 1], True)]

    def test_a_run_alone_differs_from_nothing(self) -> None:
        assert compare([run("a", {"x": 1})]) == [("metrics.x", [1], False)]

    def test_nan_does_not_differ_from_nan(self) -> None:
        runs = [run("a", {"x": {"$float": "nan"}}), run("b", {"x": {"$float": "nan"}})]
        ((key, _, differ),) = compare(runs)
        assert key == "metrics.x" and not differ

    def test_no_runs(self) -> None:
        assert compare([]) == []


class TestRanked:
    """Sorting by a metric ranks finished runs first; by a parameter, numbers then text."""

    def test_finished_runs_rank_before_the_others(self) -> None:
        live = Entry(
            {"id": "live", "name": "r", "status": "failed", "metrics": {"acc": 0.99}}, "/store"
        )
        runs = [live, run("low", {"acc": 0.1}), run("high", {"acc": 0.9}), run("none")]
        assert [e.id for e in ranked(runs, "metrics.acc")] == ["high", "low", "live", "none"]
        assert [e.id for e in ranked(runs, "metrics.acc", False)] == ["low", "high", "live", "none"]

    def test_parameters_rank_numbers_then_text(self) -> None:
        runs = [
            run("sgd", params={"opt": "sgd"}),
            run("two", params={"opt": 2}),
            run("adam", params={"opt": "adam"}),
            run("text-number", params={"opt": "10"}),
            run("none"),
        ]
        found = [e.id for e in ranked(runs, "params.opt")]
        assert found == ["text-number", "two", "adam", "sgd", "none"]

    @pytest.mark.parametrize(
        ("key", "expected"),
        [("started", ["new", "old"]), ("name", ["old", "new"]), ("duration", ["new", "old"])],
    )
    def test_facts(self, key: str, expected: list[str]) -> None:
        old = Entry(
            {"id": "old", "name": "a", "status": "finished", "start_time": 1, "duration": 1},
            "/store",
        )
        new = Entry(
            {"id": "new", "name": "b", "status": "finished", "start_time": 2, "duration": 2},
            "/store",
        )
        assert [e.id for e in ordered([old, new], key)] == expected
        assert [e.id for e in ordered([old, new], key, False)] == expected[::-1]


class TestShown:
    """A run not finished shows the last value it logged, with the step."""

    def test_live_value(self, tmp_path) -> None:
        (tmp_path / "metrics.csv").write_text("name,step,value,time\nloss,29,0.25,10.0\n")
        record = {"id": "r", "name": "r", "status": "crashed", "start_time": 1.0}
        entry = Entry(record, str(tmp_path), str(tmp_path))
        assert shown(entry, "metrics.loss") == "0.25 @29"
        assert shown(entry, "metrics.acc") == ""
        assert shown_duration(entry) == "9.00s"  # to its last sign of life

    def test_same_numbers(self) -> None:
        assert same(1, 1.0) and not same(True, 1) and same(math.nan, math.nan)
