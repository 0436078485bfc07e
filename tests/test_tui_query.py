"""The terminal app's search language."""

from __future__ import annotations

import time

import pytest

from tmt.entry import Entry
from tmt.tui.query import QueryError, parse

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
