"""What the terminal app shows, tested without a terminal."""

from __future__ import annotations

import json
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

    def test_grouping_by_sweep_comes_next_where_runs_came_from_sweeps(
        self, model: RunsModel, project: Path
    ) -> None:
        newest, middle, oldest = model.visible  # b (0.7), a, b (0.5)
        for entry, sweep in ((newest, "s1"), (middle, "s2"), (oldest, "s1")):
            path = Path(entry.run_dir) / "run.json"
            record = json.loads(path.read_text())
            record["sweep"] = {"id": sweep, "trial": 0}
            path.write_text(json.dumps(record))
            with open(project / ".tmt" / "changes.log", "a") as log:
                log.write(f"\n{entry.id}\n")
        model.reload()
        model.toggle_group()
        assert model.grouped == "experiment"
        model.toggle_group()
        assert model.grouped == "sweep"
        assert [e.id for e in model.visible] == [newest.id, oldest.id, middle.id]
        model.toggle_group()
        assert model.grouped is None

    def test_no_grouping_by_sweep_without_sweeps(self, model: RunsModel) -> None:
        model.toggle_group()
        model.toggle_group()
        assert model.grouped is None

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


class TestBigStores:
    """A big store's first screen is drawn from its newest runs; the rest is looked at after."""

    def test_columns_first_from_the_newest_then_from_all(
        self, project: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr("tmt.tui.model.FIRST_SCREEN_RUNS", 2)
        tmt_recorder(name="old")(lambda: {"loss": 0.1})()
        for _ in range(2):
            time.sleep(0.01)
            tmt_recorder(name="new")(lambda: {"acc": 0.9})()
        m = RunsModel()
        m.reload(quick=True)
        assert m.columns == ["metrics.acc"] and not m.complete_columns
        assert len(m.visible) == 3
        assert m.complete() is True
        assert m.columns == ["metrics.acc", "metrics.loss"] and m.complete_columns
        assert m.complete() is False

    def test_searching_first_looks_at_every_run(
        self, project: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr("tmt.tui.model.FIRST_SCREEN_RUNS", 1)
        tmt_recorder(name="old")(lambda: {"loss": 0.1})()
        time.sleep(0.01)
        tmt_recorder(name="new")(lambda: {"acc": 0.9})()
        m = RunsModel()
        m.reload(quick=True)
        assert m.check("loss<1") == 1  # a metric only the older run has
        m.search("loss<1")
        assert [e.name for e in m.visible] == ["old"]
