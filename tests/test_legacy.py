"""tmt 0.1.x's ``tmt_db.json`` read as run records: every entry and sub-entry, odd ones skipped."""

from __future__ import annotations

import json
import linecache
import warnings
from pathlib import Path

import pytest

from tmt.legacy import read_legacy_db

PARENT = "6b1c3f0e-0000-4000-8000-000000000001"
CHILD = "6b1c3f0e-0000-4000-8000-000000000002"

# An entry as tmt 0.1.8 wrote it (paths relative to the working folder of the time).
ENTRY = {
    "id": PARENT,
    "name": "old_experiment",
    "args": "train.py --lr 0.1",
    "date_created": 1600000000,
    "local_results_path": ".tmt/results",
    "local_snapshot_path": f".tmt/snapshots/{PARENT}",
    "description": "from 2020",
    "date_saved": 1600000060,
    "metrics": [
        {"entry_id": PARENT, "name": "f1", "value": 0.7},
        {"entry_id": PARENT, "name": "acc", "value": 0.9},
    ],
    "other_runs": [
        {
            "id": CHILD,
            "name": "old_experiment",
            "args": "train.py",
            "date_created": 1600000100,
            "local_results_path": ".tmt/results",
            "metrics": [],
            "other_runs": [],
            "results": [],
        }
    ],
    "results": [{"entry_id": PARENT, "name": "preds", "path": f".tmt/results/{PARENT}/preds.pkl"}],
    "version": "0.1.8",
}


@pytest.fixture
def tmt_dir(tmp_path: Path) -> Path:
    """A 0.1.x store's folder, ``.tmt`` in the project."""
    (tmp_path / "project" / ".tmt").mkdir(parents=True)
    return tmp_path / "project" / ".tmt"


def read(tmt_dir: Path, entries: list, **kwargs) -> list[dict]:
    """The records of a database holding ``entries``, asserting it warns of nothing."""
    (tmt_dir / "tmt_db.json").write_text(json.dumps({"data": entries}))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return read_legacy_db(str(tmt_dir / "tmt_db.json"), str(tmt_dir), **kwargs)


def skipped(tmt_dir: Path, entries: list) -> tuple[list[dict], str]:
    """The records of a database holding ``entries``, and the one warning it gave."""
    (tmt_dir / "tmt_db.json").write_text(json.dumps({"data": entries}))
    with pytest.warns(UserWarning) as caught:
        records = read_legacy_db(str(tmt_dir / "tmt_db.json"), str(tmt_dir))
    (warning,) = caught
    return records, str(warning.message)


class TestEntries:
    """An entry becomes a finished run's record, marked as coming from 0.1.x."""

    def test_an_entry(self, tmt_dir: Path) -> None:
        parent, _ = read(tmt_dir, [ENTRY])
        assert parent == {
            "schema": 1,
            "id": PARENT,
            "name": "old_experiment",
            "description": "from 2020",
            "status": "finished",
            "start_time": 1600000000.0,
            "end_time": 1600000060.0,
            "duration": 60.0,
            "argv": ["train.py", "--lr", "0.1"],
            "parent": None,
            "metrics": {"f1": 0.7, "acc": 0.9},
            "results": [
                {"name": "preds", "path": f"results/{PARENT}/preds.pkl", "saved_with": "pickle"}
            ],
            "snapshot": f"snapshots/{PARENT}",
            "tmt_version": "0.1.8",
            "legacy": True,
        }
        assert type(parent["start_time"]) is float and type(parent["end_time"]) is float

    def test_sub_entries_become_child_runs(self, tmt_dir: Path) -> None:
        _, child = read(tmt_dir, [ENTRY])
        assert child["id"] == CHILD
        assert child["parent"] == PARENT
        assert child["legacy"] is True
        assert child["argv"] == ["train.py"]
        assert child["end_time"] is None and child["duration"] is None
        assert child["snapshot"] is None
        assert child["metrics"] == {} and child["results"] == []

    def test_sub_entries_of_sub_entries(self, tmt_dir: Path) -> None:
        grandchild = {"id": "g", "date_created": 3}
        child = {"id": "c", "date_created": 2, "other_runs": [grandchild]}
        records = read(tmt_dir, [{"id": "p", "date_created": 1, "other_runs": [child]}])
        assert [(r["id"], r["parent"]) for r in records] == [("p", None), ("c", "p"), ("g", "c")]

    def test_oldest_first(self, tmt_dir: Path) -> None:
        entries = [
            {"id": "late", "date_created": 30, "other_runs": [{"id": "early", "date_created": 5}]},
            {"id": "middle", "date_created": 20},
            {"id": "half a second", "date_created": 0.5},
            {"id": "undated"},
        ]
        assert [r["id"] for r in read(tmt_dir, entries)] == [
            "undated",
            "half a second",
            "early",
            "middle",
            "late",
        ]

    def test_a_minimal_entry(self, tmt_dir: Path) -> None:
        (record,) = read(tmt_dir, [{"id": 7}])
        assert record["id"] == "7"
        assert record["name"] == "" and record["description"] == ""
        assert record["start_time"] == 0.0 and record["end_time"] is None
        assert record["argv"] == [] and record["metrics"] == {} and record["results"] == []
        assert record["snapshot"] is None and record["tmt_version"] is None

    @pytest.mark.parametrize(
        ("field", "value", "expected"),
        [
            ("name", None, ""),
            ("name", 5, "5"),
            ("description", 5, ""),
            ("description", None, ""),
            ("args", ["a", "b"], []),
            ("args", "", []),
            ("args", "  a   b ", ["a", "b"]),
            ("version", 18, None),
            ("version", "", None),
            ("local_snapshot_path", 5, None),
        ],
    )
    def test_odd_values_of_fields(self, tmt_dir: Path, field: str, value, expected) -> None:
        key = {"args": "argv", "version": "tmt_version", "local_snapshot_path": "snapshot"}
        (record,) = read(tmt_dir, [{"id": "x", field: value}])
        assert record[key.get(field, field)] == expected

    def test_metrics_and_results_that_are_not_understood_are_left_out(self, tmt_dir) -> None:
        entry = {
            "id": "x",
            "metrics": [{"name": "ok", "value": 1}, {"name": ["x"], "value": 2}, 5, {"value": 3}],
            "results": [
                {"name": "ok", "path": "out/a.pkl"},
                {"name": "a", "path": 3},
                {"name": 3, "path": "p"},
                "junk",
            ],
        }
        (record,) = read(tmt_dir, [entry])
        assert record["metrics"] == {"ok": 1}
        assert [r["name"] for r in record["results"]] == ["ok"]

    @pytest.mark.parametrize("value", ["x", 5, {"name": "acc"}])
    def test_metrics_or_results_that_are_not_lists(self, tmt_dir: Path, value) -> None:
        (record,) = read(tmt_dir, [{"id": "x", "metrics": value, "results": value}])
        assert record["metrics"] == {} and record["results"] == []

    def test_a_metric_without_a_value(self, tmt_dir: Path) -> None:
        (record,) = read(tmt_dir, [{"id": "x", "metrics": [{"name": "acc"}]}])
        assert record["metrics"] == {"acc": None}

    def test_a_float_date(self, tmt_dir: Path) -> None:
        (record,) = read(tmt_dir, [{"id": "x", "date_created": 10.5, "date_saved": 12.25}])
        assert record["start_time"] == 10.5 and record["end_time"] == 12.25
        assert record["duration"] == 1.75


class TestPaths:
    """0.1.x paths were relative to the project: they become relative to ``tmt_dir`` where
    they are inside it, and absolute where they are not."""

    def test_inside_the_store(self, tmt_dir: Path) -> None:
        parent, _ = read(tmt_dir, [ENTRY])
        assert parent["results"][0]["path"] == f"results/{PARENT}/preds.pkl"
        assert parent["snapshot"] == f"snapshots/{PARENT}"

    def test_outside_the_store(self, tmt_dir: Path) -> None:
        entry = {
            "id": "x",
            "results": [{"name": "a", "path": "out/a.pkl"}, {"name": "b", "path": "/data/b.pkl"}],
            "local_snapshot_path": "../elsewhere/snap",
        }
        (record,) = read(tmt_dir, [entry])
        project = tmt_dir.parent
        assert [r["path"] for r in record["results"]] == [
            str(project / "out" / "a.pkl"),
            "/data/b.pkl",
        ]
        assert record["snapshot"] == str(project.parent / "elsewhere" / "snap")

    def test_the_project_is_the_folder_holding_tmt_dir(self, tmt_dir: Path) -> None:
        entry = {"id": "x", "results": [{"name": "a", "path": "out/a.pkl"}]}
        (tmt_dir / "tmt_db.json").write_text(json.dumps({"data": [entry]}))
        for given in (str(tmt_dir), str(tmt_dir) + "/"):
            (record,) = read_legacy_db(str(tmt_dir / "tmt_db.json"), given)
            assert record["results"][0]["path"] == str(tmt_dir.parent / "out" / "a.pkl")


class TestSkipped:
    """An entry that cannot be understood is skipped, with its reason, and the rest read."""

    @pytest.mark.parametrize(
        ("entry", "reason"),
        [
            ({"name": "no id"}, "entry 0: no id"),
            ("not an entry", "entry 0: no id"),
            ({"id": None}, "entry 0: no id"),
            ({"id": 1.5}, "entry 0: no id"),
            (
                {"id": "s", "date_created": "2020-09-13"},
                "entry 0 (s): date_created is not a number of seconds: '2020-09-13'",
            ),
            (
                {"id": "t", "date_created": True},
                "entry 0 (t): date_created is not a number of seconds: True",
            ),
            (
                {"id": "u", "date_saved": "later"},
                "entry 0 (u): date_saved is not a number of seconds: 'later'",
            ),
            (
                {"id": "n", "date_created": -1},
                "entry 0 (n): date_created is not a time tmt can show: -1",
            ),
            (
                {"id": "f", "date_created": 1e20},
                "entry 0 (f): date_created is not a time tmt can show: 1e+20",
            ),
            (
                {"id": "i", "date_saved": float("inf")},
                "entry 0 (i): date_saved is not a time tmt can show: inf",
            ),
            (
                {"id": "q", "date_saved": float("nan")},
                "entry 0 (q): date_saved is not a time tmt can show: nan",
            ),
        ],
    )
    def test_the_reason_is_given(self, tmt_dir: Path, entry: object, reason: str) -> None:
        records, message = skipped(tmt_dir, [entry, {"id": "good"}])
        assert [r["id"] for r in records] == ["good"]
        assert message == f"{tmt_dir / 'tmt_db.json'}: entries skipped: {reason}"

    @pytest.mark.parametrize("seconds", [0, 9_000_000_000, 0.0, 1])
    def test_times_tmt_can_show(self, tmt_dir: Path, seconds: float) -> None:
        (record,) = read(tmt_dir, [{"id": "x", "date_created": seconds, "date_saved": seconds}])
        assert record["start_time"] == seconds == record["end_time"]

    def test_a_time_past_the_year_2255(self, tmt_dir: Path) -> None:
        _, message = skipped(tmt_dir, [{"id": "x", "date_created": 9_000_000_001}])
        assert message.endswith("entry 0 (x): date_created is not a time tmt can show: 9000000001")

    def test_a_sub_entry_is_named_by_its_place(self, tmt_dir: Path) -> None:
        entry = {"id": "p", "other_runs": [{"id": "c"}, {"id": "d", "date_created": "x"}]}
        records, message = skipped(tmt_dir, [entry])
        assert [r["id"] for r in records] == ["p", "c"]
        assert message.endswith(
            "entries skipped: entry 0.other_runs 1 (d): "
            "date_created is not a number of seconds: 'x'"
        )

    def test_a_skipped_entry_takes_its_sub_entries_with_it(self, tmt_dir: Path) -> None:
        entry = {"id": "p", "date_created": "x", "other_runs": [{"id": "c"}]}
        records, _ = skipped(tmt_dir, [entry, {"id": "q"}])
        assert [r["id"] for r in records] == ["q"]

    def test_other_runs_that_is_not_a_list(self, tmt_dir: Path) -> None:
        assert [r["id"] for r in read(tmt_dir, [{"id": "p", "other_runs": "x"}])] == ["p"]

    def test_values_of_the_wrong_type_are_dropped_and_the_entry_kept(self, tmt_dir) -> None:
        entry = {"id": "m", "metrics": [{"name": "$float", "value": "nan"}]}
        (record,), message = skipped(tmt_dir, [entry])
        assert "metrics" not in record
        assert record["legacy"] is True
        assert message.endswith("entry 0 (m): wrong types ignored: 'metrics' (a dict of 1)")

    def test_five_reasons_are_shown_and_the_rest_counted(self, tmt_dir: Path) -> None:
        entries = [{"name": f"no id {i}"} for i in range(7)]
        _, message = skipped(tmt_dir, entries)
        reasons = "; ".join(f"entry {i}: no id" for i in range(5))
        assert message == f"{tmt_dir / 'tmt_db.json'}: entries skipped: {reasons}; and 2 more"

    @pytest.mark.parametrize(("count", "more"), [(5, ""), (6, "; and 1 more")])
    def test_up_to_five_reasons(self, tmt_dir: Path, count: int, more: str) -> None:
        _, message = skipped(tmt_dir, [{"name": "no id"}] * count)
        assert message.endswith("entry 4: no id" + more)


class TestTheDatabase:
    """The file itself: absent, unreadable or of another shape, it gives no runs."""

    def test_absent(self, tmt_dir: Path) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert read_legacy_db(str(tmt_dir / "tmt_db.json"), str(tmt_dir)) == []

    def test_empty(self, tmt_dir: Path) -> None:
        assert read(tmt_dir, []) == []

    def test_a_large_database_is_read(self, tmt_dir: Path) -> None:
        entries = [{**ENTRY, "id": f"run{i}", "other_runs": []} for i in range(50)]
        assert len(read(tmt_dir, entries)) == 50

    def test_unreadable(self, tmt_dir: Path) -> None:
        path = tmt_dir / "tmt_db.json"
        path.write_text('{"data": [')
        with pytest.warns(UserWarning) as caught:
            assert read_legacy_db(str(path), str(tmt_dir)) == []
        (warning,) = caught
        assert str(warning.message).startswith(f"{path}: unreadable tmt 0.1.x database skipped: ")

    @pytest.mark.parametrize("data", [[1, 2], {"data": "x"}, {"entries": []}, "text", None])
    def test_not_a_database(self, tmt_dir: Path, data: object) -> None:
        path = tmt_dir / "tmt_db.json"
        path.write_text(json.dumps(data))
        with pytest.warns(UserWarning) as caught:
            assert read_legacy_db(str(path), str(tmt_dir)) == []
        (warning,) = caught
        assert str(warning.message) == f"{path}: not a tmt 0.1.x database (no 'data' list); skipped"

    def test_the_database_is_never_written(self, tmt_dir: Path) -> None:
        read(tmt_dir, [ENTRY])
        before = (tmt_dir / "tmt_db.json").read_bytes()
        read_legacy_db(str(tmt_dir / "tmt_db.json"), str(tmt_dir))
        assert (tmt_dir / "tmt_db.json").read_bytes() == before


def store_records(tmt_dir: Path) -> list[dict]:
    """As the store asks, for whoever asked it for runs."""
    return read_legacy_db(str(tmt_dir / "tmt_db.json"), str(tmt_dir))


class TestWarnings:
    """A warning points at the code that asked the store for runs, not into tmt."""

    @pytest.mark.parametrize(
        "content", ['{"data": [', "[1]", json.dumps({"data": [{"name": "no id"}]})]
    )
    def test_at_the_stores_caller(self, tmt_dir: Path, content: str) -> None:
        (tmt_dir / "tmt_db.json").write_text(content)
        with pytest.warns(UserWarning) as caught:
            store_records(tmt_dir)
        (warning,) = caught
        assert warning.filename == __file__
        assert linecache.getline(warning.filename, warning.lineno).strip() == (
            "store_records(tmt_dir)"
        )
