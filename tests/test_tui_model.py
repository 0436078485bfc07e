"""What the terminal app shows, tested without a terminal."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tmt import tmt_recorder
from tmt.tui.model import RunsModel


@pytest.fixture
def model(project: Path) -> RunsModel:
    for name, acc in (("b", 0.5), ("a", 0.9), ("b", 0.7)):
        tmt_recorder(name=name)(lambda acc=acc: {"acc": acc})()
        time.sleep(0.01)
    m = RunsModel()
    m.reload()
    return m


def names_accs(m: RunsModel) -> list[tuple[str, float]]:
    return [(e.name, e.metrics["acc"]) for e in m.visible]


class TestModel:
    def test_newest_first(self, model: RunsModel) -> None:
        assert names_accs(model) == [("b", 0.7), ("a", 0.9), ("b", 0.5)]

    def test_sort_cycles_date_name_metrics_and_reverses(self, model: RunsModel) -> None:
        # Then the metrics, then the parameters that vary (here the lambdas' default "acc").
        assert model.sort_keys() == ["started", "name", "metrics.acc", "params.acc"]
        model.next_sort()
        assert [n for n, _ in names_accs(model)] == ["a", "b", "b"]
        model.next_sort()
        assert names_accs(model) == [("a", 0.9), ("b", 0.7), ("b", 0.5)]
        model.reverse_sort()
        assert names_accs(model) == [("b", 0.5), ("b", 0.7), ("a", 0.9)]

    def test_grouping_keeps_each_experiments_runs_together(self, model: RunsModel) -> None:
        model.toggle_group()
        assert names_accs(model) == [("b", 0.7), ("b", 0.5), ("a", 0.9)]

    def test_search(self, model: RunsModel) -> None:
        model.search("acc>0.6")
        assert names_accs(model) == [("b", 0.7), ("a", 0.9)]
        model.search("")
        assert len(model.visible) == 3

    def test_marks_and_the_diff_pair(self, model: RunsModel) -> None:
        newest, middle, oldest = model.visible
        assert model.diff_pair(newest) == (oldest, newest)  # its predecessor of the same name
        assert model.diff_pair(middle) is None
        model.toggle_mark(newest)
        model.toggle_mark(middle)
        assert model.marked_entries() == [newest, middle]
        assert model.diff_pair(oldest) == (middle, newest)  # marked ones, older first
        model.toggle_mark(newest)
        assert model.marked_entries() == [middle]

    def test_no_store_creates_nothing(self, project: Path) -> None:
        m = RunsModel()
        assert not m.store_exists
        assert not (project / ".tmt").exists()
