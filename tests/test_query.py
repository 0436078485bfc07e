"""The query language of --where, runs(where=...) and the terminal app's search."""

from __future__ import annotations

import time

import pytest

from tmt import TmtError, UnknownFieldError
from tmt.entry import Entry
from tmt.fields import Fields
from tmt.query import QueryError, exact_name, needs_fields, parse

NOW = time.time()
RUNS = [
    Entry(
        {
            "id": "1",
            "name": "resnet50",
            "status": "finished",
            "start_time": NOW - 3600,
            "tags": ["baseline"],
            "metrics": {"acc": 0.95},
            "params": {"lr": 0.1},
            "sweep": {"id": "3fa2c1e0", "trial": 4},
        },
        "/",
    ),
    Entry(
        {
            "id": "2",
            "name": "ResNet18",
            "status": "failed",
            "start_time": NOW - 10 * 86400,
            "tags": [],
            "metrics": {"acc": 0.5},
            "params": {"lr": 0.01},
        },
        "/",
    ),
    Entry(
        {
            "id": "3",
            "name": "vit",
            "status": "failed",
            "start_time": NOW - 60,
            "tags": ["baseline"],
            "metrics": {},
            "params": {"opt": "adam"},
        },
        "/",
    ),
]


def ids(query: str) -> list[str]:
    test = parse(query)
    return [e.id for e in RUNS if test(e)]


class TestQueries:
    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("", ["1", "2", "3"]),
            ("resnet", ["1", "2"]),  # names, ignoring case
            ("^res.*50$", ["1"]),  # regular expressions
            ("status:failed", ["2", "3"]),
            ("status:failed since:7d", ["3"]),  # last week's failed runs
            ("until:7d", ["2"]),
            ("tag:baseline", ["1", "3"]),
            ("sweep:3fa2", ["1"]),  # a sweep's trials, by its id or the start of it
            ("sweep:3fa2c1e0 acc>0.9", ["1"]),
            ("sweep:ff", []),
            ("acc>0.9", ["1"]),
            ("acc<=0.5", ["2"]),
            ("lr=0.01", ["2"]),  # params too
            ("opt=adam", ["3"]),
            ("lr!=0.1", ["2"]),
            ("name:vit status:failed", ["3"]),
            ("(", []),  # not a valid regex: matched as text
        ],
    )
    def test_terms(self, query: str, expected: list[str]) -> None:
        assert ids(query) == expected

    @pytest.mark.parametrize(
        ("query", "message"),
        [
            ("since:someday", "cannot read 'someday' as a date"),
            ("status:", "give a value"),
            ('"open', "cannot read the query"),
        ],
    )
    def test_mistakes_are_explained(self, query: str, message: str) -> None:
        with pytest.raises(QueryError, match=message):
            parse(query)


SWEEP = [
    Entry(
        {
            "id": str(i),
            "name": "digits",
            "status": status,
            "start_time": NOW - i,
            "params": {"args": {"lr": lr, "opt": opt, "amp": amp, "seed": "7"}},
            "metrics": {"val_acc": acc} if acc is not None else {},
        },
        "/",
    )
    for i, (lr, opt, amp, acc, status) in enumerate(
        [
            (0.3, "adam", True, 0.97, "finished"),
            (0.1, "sgd", False, 0.91, "finished"),
            (0.3, "sgd", False, None, "crashed"),
        ]
    )
]


def sweep_ids(query: str) -> list[str]:
    test = parse(query, Fields(SWEEP, live=True))
    return [e.id for e in SWEEP if test(e)]


class TestParametersByName:
    """With the runs' fields, a parameter is reached by its full, dotted or leaf name."""

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("lr=0.3", ["0", "2"]),
            ("args.lr=0.3", ["0", "2"]),
            ("params.args.lr=0.3", ["0", "2"]),
            ("lr=0.3 val_acc>0.9", ["0"]),
            ("lr=0.3 status:finished", ["0"]),
            ("opt=sgd", ["1", "2"]),
            ("opt!=sgd", ["0"]),
            ("amp=true", ["0"]),
            ("amp=False", ["1", "2"]),
            ("seed=7", ["0", "1", "2"]),  # a flag parsed without type= is text: still a number
            ("seed>6.5", ["0", "1", "2"]),
            ("val_acc!=0.97", ["1"]),  # a run without the metric has no value to compare
        ],
    )
    def test_terms(self, query: str, expected: list[str]) -> None:
        assert sweep_ids(query) == expected

    def test_without_fields_each_run_is_asked_on_its_own(self) -> None:
        test = parse("lr=0.1")
        assert [e.id for e in SWEEP if test(e)] == ["1"]


class TestExactNames:
    """``name=X`` is the run's own name, exactly; the index finds such runs directly."""

    def test_equal_and_different(self) -> None:
        assert ids("name=vit") == ["3"]
        assert ids("name==resnet50") == ["1"]
        assert ids("name=resnet") == []  # exact, unlike the name:resnet search
        assert ids("name!=vit") == ["1", "2"]

    def test_names_are_not_ordered(self) -> None:
        with pytest.raises(QueryError, match="compare names with = or !="):
            parse("name>a")

    @pytest.mark.parametrize(
        ("query", "name", "fields"),
        [
            ("name=vit", "vit", False),
            ("name = vit acc>0.5", "vit", True),
            ("status:failed name:res", None, False),
            ("name!=vit", None, False),
            ("lr=0.1", None, True),
            ("", None, False),
        ],
    )
    def test_what_the_index_is_told(self, query: str, name: str | None, fields: bool) -> None:
        assert (exact_name(query), needs_fields(query)) == (name, fields)


class TestMistakes:
    """A query that cannot mean what it says is explained, never read another way."""

    @pytest.mark.parametrize(
        ("query", "error", "message"),
        [
            ("val_acc>0.965lr=0.3", QueryError, "cannot read '0.965lr=0.3' as a value"),
            ("val_ac>0.9", UnknownFieldError, "did you mean val_acc"),
            ("lr>", QueryError, "give a value after >"),
            ("opt>adam", QueryError, "> compares numbers, and 'adam' is not one"),
            ("stat:failed", QueryError, r"no filter 'stat:' \(filters: status:, tag:"),
            ("status:faild", QueryError, "no status 'faild'"),
        ],
    )
    def test_explained(self, query: str, error: type, message: str) -> None:
        with pytest.raises(error, match=message):
            parse(query, Fields(SWEEP, live=True))

    def test_errors_are_tmt_errors_and_value_errors(self) -> None:
        assert issubclass(QueryError, TmtError) and issubclass(QueryError, ValueError)


class TestWriting:
    """Queries are read as people write them."""

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("val_acc > 0.9", ["0", "1"]),
            ("val_acc >0.95", ["0"]),
            ("val_acc> 0.95", ["0"]),
            ("lr = 0.3 opt = sgd", ["2"]),
            ("opt != sgd", ["0"]),
            (r"name:dig\w+", ["0", "1", "2"]),  # backslashes are kept, for regular expressions
            (r"^d\w+s$", ["0", "1", "2"]),
        ],
    )
    def test_spaces_around_operators_and_backslashes(self, query: str, expected: list[str]) -> None:
        assert sweep_ids(query) == expected

    @pytest.mark.parametrize("query", [">3", "= 3", "val_acc >"])
    def test_an_operator_without_its_name_or_value_is_explained(self, query: str) -> None:
        with pytest.raises(QueryError, match="give a"):
            parse(query, Fields(SWEEP, live=True))
