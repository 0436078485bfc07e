"""The run record's schema: a record with a field of the wrong type is read without that field,
and every reader (the library, the command line, the terminal app) still lists the run."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from tmt import TmtManager, tmt_log, tmt_recorder
from tmt.record import MAX_DEPTH, check
from tmt.tui.model import RunsModel

from conftest import records, tmt


def good_record() -> dict:
    return {
        "schema": 1,
        "id": "0123456789ab",
        "name": "exp",
        "status": "finished",
        "start_time": 1795379108.0,
        "end_time": 1795379109.0,
        "duration": 1.0,
        "pid": 12,
        "argv": ["train.py"],
        "tags": ["a"],
        "params": {"lr": 0.1},
        "metrics": {"acc": 0.9},
        "results": [{"name": "m", "path": "results/x/m.pkl", "saved_with": "pickle"}],
        "git": {"commit": "abc", "branch": "main", "dirty": False, "untracked": 0},
        "environment": {"python": "3.11.7", "packages": "envs/0123456789abcdef.json"},
        "error": None,
    }


def nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth):
        value = {"a": value}
    return value


class TestCheck:
    def test_a_good_record_is_left_alone(self) -> None:
        record = good_record()
        assert check(record) == []
        assert record == good_record()

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("metrics", [1, 2, 3]),
            ("params", "lr=0.1"),
            ("start_time", "yesterday"),
            ("start_time", True),
            ("name", None),
            ("status", 3),
            ("pid", "12"),
            ("git", "abc"),
            ("environment", ["python"]),
            ("error", "boom"),
            ("parent", ["x"]),
            ("snapshot", 7),
            ("argv", "train.py --lr 1"),
            ("metrics", nested(MAX_DEPTH + 1)),
        ],
    )
    def test_a_field_of_the_wrong_type_is_dropped_and_named(self, field: str, value) -> None:
        record = good_record()
        record[field] = value
        problems = check(record)
        assert field not in record
        assert len(problems) == 1 and repr(field) in problems[0]
        assert record["id"] == "0123456789ab"  # the rest is kept

    def test_a_bad_field_of_an_object_costs_only_that_field(self) -> None:
        """environment.packages survives a bad environment.python (gc keeps what it names)."""
        record = good_record()
        record["environment"]["python"] = 3.11
        record["git"]["commit"] = 5
        problems = check(record)
        assert record["environment"] == {"packages": "envs/0123456789abcdef.json"}
        assert "commit" not in record["git"] and record["git"]["branch"] == "main"
        assert sorted(problems) == ["'environment.python'", "'git.commit'"]

    def test_bad_items_of_lists_are_dropped_and_the_rest_kept(self) -> None:
        record = good_record()
        record["tags"] = ["ok", 3, None, "fine"]
        record["results"] = [{"name": "m", "path": "p"}, "junk", {"name": 1, "path": "p"}]
        problems = check(record)
        assert record["tags"] == ["ok", "fine"]
        assert record["results"] == [{"name": "m", "path": "p"}]
        assert len(problems) == 2

    def test_a_run_record_cannot_pretend_to_be_a_0_1_run(self) -> None:
        """Only 0.1.x databases hold legacy runs (which cannot be deleted)."""
        record = good_record()
        record["legacy"] = True
        check(record)
        assert "legacy" not in record

    def test_metrics_a_program_returned_looking_like_a_marker_are_its_own(
        self, project: Path
    ) -> None:
        tmt_recorder(name="marker")(lambda: {"$float": "inf"})()
        tmt_recorder(name="marker")(lambda: {"loss": {"$repr": "hi"}})()
        assert [e.metrics for e in TmtManager().runs()] == [
            {"loss": {"$repr": "hi"}},
            {"$float": "inf"},
        ]
        assert tmt("list", cwd=project).returncode == 0

    def test_nesting_up_to_the_limit_is_kept(self) -> None:
        record = good_record()
        record["metrics"] = nested(MAX_DEPTH - 1)
        assert check(record) == []


DAMAGE = {
    "metrics a list": {"metrics": [1, 2]},
    "start_time a string": {"start_time": "2026-11-01"},
    "name null": {"name": None},
    "bad $decimal": {"metrics": {"acc": {"$decimal": "not a number"}}},
    "git, environment, error of the wrong type": {
        "git": "main",
        "environment": [1],
        "error": "boom",
        "status": "failed",
    },
    "params deeply nested": {"params": nested(500)},
    "tags and results with junk": {"tags": ["x", 1], "results": ["junk"], "series": [None]},
    "metrics that read as a value": {"metrics": {"$float": "nan"}},
}


@pytest.fixture(params=sorted(DAMAGE))
def damaged(request, project: Path) -> dict:
    """Three good runs, and a fourth whose run.json was damaged as the parameter says."""
    for acc in (0.1, 0.2, 0.3):
        tmt_recorder(name="good")(lambda acc=acc: {"acc": acc})()

    @tmt_recorder(name="bad")
    def bad() -> dict:
        tmt_log("loss", 0.5)
        return {"acc": 0.4}

    bad()
    (record,) = [r for r in records(project) if r["name"] == "bad"]
    record.update(DAMAGE[request.param])
    path = project / ".tmt" / "runs" / record["id"] / "run.json"
    path.write_text(json.dumps(record))
    return record


class TestCraftedPaths:
    def test_a_snapshot_outside_the_store_is_no_snapshot(self, project: Path) -> None:
        """A crafted record must not make tmt diff read, nor tmt restore copy, the disk."""
        for _ in range(2):
            tmt_recorder(name="r")(lambda: None)()
        (record,) = [r for r in records(project) if r["id"] == TmtManager().last().id]
        record["snapshot"] = "/"
        (project / ".tmt" / "runs" / record["id"] / "run.json").write_text(json.dumps(record))
        assert TmtManager().last().snapshot_path is None
        assert TmtManager().last().id == record["id"]
        assert TmtManager().runs()[1].snapshot_path is not None
        diff = tmt("diff", "last~1", "last", cwd=project)
        assert diff.returncode == 0 and len(diff.stdout) < 10_000


class TestEveryReaderSurvivesADamagedRecord:
    def test_the_library_lists_every_run_and_warns_once_naming_the_file(self, damaged) -> None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            entries = TmtManager().runs()
        assert len(entries) == 4
        about = [w for w in caught if damaged["id"] in str(w.message)]
        assert len(about) <= 1  # the record may be fine once decoded (a bad $decimal)
        for entry in entries:  # every attribute can be read
            entry.to_dict(), entry.metrics, entry.params, entry.git, entry.environment
            entry.error, entry.results, entry.tags, entry.series_names(), entry.started

    @pytest.mark.filterwarnings("ignore:.*fields of the wrong type")  # checked above
    def test_the_data_frame(self, damaged) -> None:
        frame = TmtManager().to_dataframe()
        assert len(frame) == 4

    @pytest.mark.parametrize(
        "args",
        [
            ["list"],
            ["list", "--sort", "acc"],
            ["list", "--json"],
            ["export"],
            ["export", "--format", "json"],
            ["timeline", "good"],
            ["show", "BAD"],
            ["show", "BAD", "--json"],
            ["compare", "BAD", "good"],
            ["diff", "BAD", "good"],
        ],
    )
    def test_the_command_line(self, damaged, project: Path, args: list[str]) -> None:
        proc = tmt(*(damaged["id"] if a == "BAD" else a for a in args), cwd=project)
        assert proc.returncode == 0, proc.stderr
        assert "Traceback" not in proc.stderr

    @pytest.mark.filterwarnings("ignore:.*fields of the wrong type")
    def test_the_terminal_app_model(self, damaged) -> None:
        model = RunsModel()
        model.reload()
        assert len(model.visible) == 4
        for _ in model.sort_keys():
            model.next_sort()
        model.toggle_group()
        model.search("acc>0.1")
