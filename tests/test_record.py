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


# Every typed field of a record, with a value of a type it must not have. Written out rather
# than read from tmt.record, so that the schema is stated here.
WRONG_TYPES = {
    "schema": "1",
    "name": 1,
    "description": 1,
    "status": None,
    "started": 1,
    "ended": 1,
    "duration": "1",
    "start_time": None,
    "end_time": "1",
    "heartbeat_time": "1",
    "host": None,
    "pid": 1.0,
    "process_start": 1,
    "boot_id": 1,
    "pid_namespace": 1,
    "cwd": None,
    "parent": 1,
    "snapshot": 1,
    "snapshot_left_out": [],
    "tmt_version": 1,
    "note": None,
    "params": [],
    "metrics": "x",
    "argv": {},
    "tags": "a",
    "series": "a",
    "results": {},
    "git": [],
    "environment": "x",
    "error": [],
}
WRONG_SUBFIELDS = {
    "git": {
        "commit": 1,
        "branch": 1,
        "dirty": 0,
        "untracked": False,
        "diff": 1,
        "diff_truncated": 0,
    },
    "environment": {
        "python": 3,
        "implementation": 1,
        "executable": 1,
        "platform": 1,
        "user": 1,
        "packages": 1,
    },
    "error": {"type": 1, "message": 1, "traceback": None},
}


class TestSchema:
    """Each documented field is checked for its type."""

    @pytest.mark.parametrize(("field", "value"), sorted(WRONG_TYPES.items()))
    def test_every_field_is_checked(self, field: str, value) -> None:
        record = good_record()
        record[field] = value
        assert len(check(record)) == 1
        assert field not in record

    @pytest.mark.parametrize(
        ("field", "sub", "value"),
        [(f, s, v) for f, subs in sorted(WRONG_SUBFIELDS.items()) for s, v in subs.items()],
    )
    def test_every_field_of_an_object_is_checked(self, field: str, sub: str, value) -> None:
        record = good_record()
        record[field] = {sub: value, "extra": "kept"}
        assert check(record) == [repr(f"{field}.{sub}")]
        assert record[field] == {"extra": "kept"}

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("started", None),
            ("ended", None),
            ("note", ""),
            ("process_start", None),
            ("duration", None),
        ],
    )
    def test_fields_that_may_be_empty(self, field: str, value) -> None:
        record = good_record()
        record[field] = value
        assert check(record) == [] and record[field] == value

    def test_statuses(self) -> None:
        from tmt.record import STATUSES

        assert STATUSES == (
            "running",
            "finished",
            "failed",
            "interrupted",
            "terminated",
            "crashed",
            "pruned",
        )


class TestTimes:
    """Times are kept between the epoch and MAX_TIME; durations up to MAX_TIME either way."""

    @pytest.mark.parametrize("field", ["start_time", "end_time", "heartbeat_time"])
    def test_a_time_out_of_range_is_dropped(self, field: str) -> None:
        from tmt.record import MAX_TIME

        for value in (0, MAX_TIME):
            record = good_record()
            record[field] = value
            assert check(record) == [] and record[field] == value
        for value in (-1, MAX_TIME + 1, float("inf"), float("nan")):
            record = good_record()
            record[field] = value
            assert len(check(record)) == 1 and field not in record

    def test_a_duration_out_of_range_is_dropped(self) -> None:
        from tmt.record import MAX_TIME

        record = good_record()
        record["duration"] = -MAX_TIME
        assert check(record) == []
        record["duration"] = -MAX_TIME - 1
        assert check(record) == [f"'duration' ({-MAX_TIME - 1})"]


class TestDescriptions:
    """A dropped field is described by its value, briefly."""

    def test_a_short_value_by_its_repr(self) -> None:
        record = good_record()
        record["name"] = 5
        assert check(record) == ["'name' (5)"]

    def test_a_long_value_is_cut_to_40_characters(self) -> None:
        record = good_record()
        record["status"] = 10**45
        assert check(record) == [f"'status' ({str(10**45)[:39]}…)"]
        record = good_record()
        record["status"] = 10**39
        assert check(record) == [f"'status' ({10**39})"]  # 40 digits: kept whole

    def test_a_container_by_its_size(self) -> None:
        record = good_record()
        record["metrics"] = [1, 2, 3]
        record["git"] = ["a"]
        assert sorted(check(record)) == ["'git' (a list of 1)", "'metrics' (a list of 3)"]

    def test_data_nested_too_deeply(self) -> None:
        record = good_record()
        record["params"] = nested(MAX_DEPTH + 1)
        assert check(record) == ["'params' (nested too deeply)"]

    def test_dropped_list_items_are_counted(self) -> None:
        record = good_record()
        record["argv"] = ["a", 1, 2]
        assert check(record) == ["2 of the items of 'argv'"]


class TestDataThatReadsAsAValue:
    """Params and metrics must be objects, not one-key objects a reader takes for a value."""

    @pytest.mark.parametrize("marker", ["$float", "$decimal", "$repr"])
    def test_a_marker_is_dropped(self, marker: str) -> None:
        record = good_record()
        record["metrics"] = {marker: "1"}
        assert len(check(record)) == 1 and "metrics" not in record

    @pytest.mark.parametrize(
        "metrics", [{"$dict": {"a": 1}}, {"$float": "1", "b": 2}, {"a": "$float"}]
    )
    def test_other_objects_are_kept(self, metrics: dict) -> None:
        record = good_record()
        record["metrics"] = metrics
        assert check(record) == [] and record["metrics"] == metrics


class TestResults:
    def test_a_result_needs_a_name_and_a_path_but_not_saved_with(self) -> None:
        record = good_record()
        record["results"] = [{"name": "a", "path": "p"}, {"name": "b"}, {"path": "p"}]
        check(record)
        assert record["results"] == [{"name": "a", "path": "p"}]


class TestPaths:
    """Records store paths inside the store relative to it, others absolute."""

    def test_inside_and_outside(self, tmp_path: Path) -> None:
        from tmt.record import absolute_path, stored_path

        root = str(tmp_path / ".tmt")
        assert stored_path(str(tmp_path / ".tmt" / "results" / "x"), root) == "results/x"
        assert stored_path(str(tmp_path / "elsewhere"), root) == str(tmp_path / "elsewhere")
        assert stored_path(str(tmp_path / ".tmt2"), root) == str(tmp_path / ".tmt2")
        assert absolute_path("results/x", root) == str(tmp_path / ".tmt" / "results" / "x")
        assert absolute_path("/abs/x/../y", root) == "/abs/y"


class TestTags:
    def test_tags_are_kept_once_in_order(self) -> None:
        from tmt.record import check_tags

        assert check_tags(["b", "a", "b"], "f") == ["b", "a"]
        assert check_tags("a", "f") == ["a"]

    @pytest.mark.parametrize("tag", ["", "  ", 3])
    def test_a_blank_or_non_string_tag_is_refused(self, tag) -> None:
        from tmt.errors import ArgumentError
        from tmt.record import check_tags

        with pytest.raises(ArgumentError, match=r"^tmt_f: tags must be non-empty strings, got "):
            check_tags(["ok", tag], "tmt_f")
