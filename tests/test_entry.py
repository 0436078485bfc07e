"""A run as read back: the record's fields, paths made absolute, values decoded, files read."""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from tmt.entry import Entry, Metric, Result, Series
from tmt.errors import ArgumentError, SeriesNotFound
from tmt.liveness import machine, process_start, this_host

RUN = "0123abcd4567"
START = 1_600_000_000.75
END = 1_600_000_060.5
GIT = {"commit": "abc", "branch": "main", "dirty": True, "untracked": 2, "diff": "git.diff"}


def record(**fields: object) -> dict:
    """A finished run's record, with ``fields`` set."""
    data: dict = {
        "schema": 1,
        "id": RUN,
        "name": "train",
        "description": "a description",
        "status": "finished",
        "start_time": START,
        "end_time": END,
        "duration": END - START,
        "host": "lab",
        "pid": 4242,
        "argv": ["train.py", "--lr", "0.1"],
        "parent": None,
        "tags": ["best"],
        "params": {"lr": 0.1},
        "metrics": {"acc": 0.9},
    }
    data.update(fields)
    return data


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A store's folder (``tmt_dir``) holding an empty folder for the run."""
    (tmp_path / ".tmt" / "runs" / RUN).mkdir(parents=True)
    return tmp_path / ".tmt"


def entry(store: Path, snapshots: Path | None = None, **fields: object) -> Entry:
    run_dir = store / "runs" / RUN
    return Entry(record(**fields), str(store), str(run_dir), snapshots and str(snapshots))


class TestFields:
    """Attributes mirror the record's fields, with a default where one is missing."""

    def test_identity_and_description(self, store: Path) -> None:
        found = entry(store, parent="fedcba987654")
        assert found.id == RUN
        assert found.name == "train"
        assert found.description == "a description"
        assert found.parent == "fedcba987654"
        assert found.status == "finished"
        assert found.host == "lab"
        assert found.pid == 4242
        assert found.argv == ["train.py", "--lr", "0.1"]
        assert found.tags == ["best"]

    def test_defaults_when_fields_are_missing(self, store: Path) -> None:
        found = Entry({"id": RUN}, str(store))
        assert found.name == ""
        assert found.description == ""
        assert found.parent is None
        assert found.status == "unknown"
        assert found.host == ""
        assert found.pid is None
        assert found.argv == []
        assert found.tags == []
        assert found.note == ""
        assert found.error is None
        assert found.params == {}
        assert found.metrics == {}
        assert found.results == []
        assert found.environment == {}
        assert found.git is None
        assert found.snapshot_path is None
        assert found.run_dir is None
        assert found.legacy is False

    def test_null_text_fields_read_as_empty(self, store: Path) -> None:
        found = Entry({"id": RUN, "description": None, "note": None, "tags": None}, str(store))
        assert found.description == "" and found.note == "" and found.tags == []

    def test_lists_are_copies(self, store: Path) -> None:
        found = entry(store)
        found.argv.append("more")
        found.tags.append("more")
        found.environment["user"] = "someone"
        assert found.argv == ["train.py", "--lr", "0.1"] and found.tags == ["best"]
        assert found.environment == {}

    def test_note_and_error(self, store: Path) -> None:
        error = {"type": "ValueError", "message": "bad", "traceback": "Traceback ..."}
        found = entry(store, note="use this one", status="failed", error=error)
        assert found.note == "use this one"
        assert found.error == error
        assert found.status == "failed"

    @pytest.mark.parametrize(("value", "expected"), [(True, True), (None, False), (0, False)])
    def test_legacy(self, store: Path, value: object, expected: bool) -> None:
        assert entry(store, legacy=value).legacy is expected


class TestStatus:
    """The status is the record's, except that a running run whose process is gone crashed."""

    def test_a_running_run_of_a_live_process(self, store: Path) -> None:
        pid = os.getpid()
        alive = dict(host=this_host(), pid=pid, process_start=process_start(pid), **machine())
        found = entry(store, status="running", end_time=None, **alive)
        assert found.status == "running"
        assert repr(found) == f"<Entry {RUN} 'train' running>"

    def test_a_running_run_whose_heartbeat_stopped_long_ago_crashed(self, store: Path) -> None:
        found = entry(store, status="running", end_time=None, host="elsewhere")
        assert found.status == "crashed"
        assert found.to_dict()["status"] == "crashed"
        assert repr(found) == f"<Entry {RUN} 'train' crashed>"


class TestTimes:
    """Times are seconds since the epoch; 0.1.x's dates are whole seconds, cut, not rounded."""

    def test_start_end_and_duration(self, store: Path) -> None:
        found = entry(store)
        assert found.start_time == START and type(found.start_time) is float
        assert found.end_time == END
        assert found.duration == END - START

    def test_dates_are_whole_seconds(self, store: Path) -> None:
        found = entry(store)
        assert found.date_created == 1_600_000_000 and type(found.date_created) is int
        assert found.date_saved == 1_600_000_060 and type(found.date_saved) is int

    def test_a_run_not_ended_has_no_end(self, store: Path) -> None:
        found = entry(store, end_time=None, duration=None)
        assert found.end_time is None
        assert found.date_saved is None
        assert found.duration is None

    def test_an_int_start_time_is_a_float(self, store: Path) -> None:
        found = entry(store, start_time=1_600_000_000)
        assert found.start_time == 1_600_000_000.0 and type(found.start_time) is float

    def test_a_missing_start_time_is_the_epoch(self, store: Path) -> None:
        found = Entry({"id": RUN}, str(store))
        assert found.start_time == 0.0 and found.date_created == 0

    def test_started_is_an_aware_local_datetime(self, store: Path) -> None:
        started = entry(store).started
        assert started.tzinfo is not None
        assert started.timestamp() == START
        assert started == datetime.fromtimestamp(START).astimezone()

    def test_short_str(self, store: Path) -> None:
        shown = f"{datetime.fromtimestamp(START):%Y-%m-%d %H:%M:%S}"
        assert entry(store).short_str() == f"Entry with id {RUN}, name train, started {shown}"


class TestValues:
    """Metrics and parameters are decoded: NaN, infinities and decimals come back as such."""

    def test_metrics_are_decoded(self, store: Path) -> None:
        stored = {"acc": 0.9, "nan": {"$float": "nan"}, "inf": {"$float": "-inf"}}
        stored["price"] = {"$decimal": "1.10"}
        metrics = entry(store, metrics=stored).metrics
        assert metrics["acc"] == 0.9
        assert metrics["nan"] != metrics["nan"]
        assert metrics["inf"] == float("-inf")
        assert metrics["price"] == Decimal("1.10") and str(metrics["price"]) == "1.10"

    def test_metrics_are_read_once(self, store: Path) -> None:
        found = entry(store)
        assert found.metrics is found.metrics

    def test_params_are_decoded(self, store: Path) -> None:
        found = entry(store, params={"lr": {"$decimal": "0.1"}, "opt": {"name": "adam"}})
        assert found.params == {"lr": Decimal("0.1"), "opt": {"name": "adam"}}

    @pytest.mark.parametrize("value", [{"$float": "nan"}, [1, 2], "text", 5])
    def test_a_value_that_is_not_an_object_reads_as_none(self, store: Path, value) -> None:
        found = entry(store, metrics=value, params=value)
        assert found.metrics == {} and found.params == {}

    def test_a_metric_unpacks_as_name_and_value(self) -> None:
        name, value = Metric("acc", 0.9)
        assert (name, value) == ("acc", 0.9)

    @pytest.mark.parametrize(
        ("kind", "unpacking"),
        [(Metric, "``name, value``"), (Result, "``name, path``"), (Series, "steps, values")],
    )
    def test_the_named_tuples_say_how_they_unpack(self, kind: type, unpacking: str) -> None:
        assert unpacking in kind.__doc__


class TestPaths:
    """Paths in a record are relative to the store's folder; an entry's are absolute."""

    def test_resolve(self, store: Path) -> None:
        found = entry(store)
        assert found.resolve("results/x/a.pkl") == str(store / "results" / "x" / "a.pkl")
        assert found.resolve("runs/../envs/a.json") == str(store / "envs" / "a.json")
        assert found.resolve("/elsewhere/a.pkl") == "/elsewhere/a.pkl"

    def test_results_in_the_order_saved(self, store: Path) -> None:
        results = [
            {"name": "b", "path": "results/r/b.pkl", "saved_with": "pickle"},
            {"name": "a", "path": "/abs/a.pkl"},
        ]
        found = entry(store, results=results).results
        assert found == [
            Result("b", str(store / "results" / "r" / "b.pkl")),
            Result("a", "/abs/a.pkl"),
        ]
        name, path = found[0]
        assert (name, path) == ("b", str(store / "results" / "r" / "b.pkl"))

    def test_results_without_a_name_or_a_path_are_left_out(self, store: Path) -> None:
        results = [{"name": "a"}, {"path": "p"}, "junk", {"name": "ok", "path": "p"}]
        assert entry(store, results=results).results == [Result("ok", str(store / "p"))]


class TestSnapshotPath:
    """A snapshot is inside the store (or the snapshots folder configured): a record naming
    any other folder has none, so that nothing reads or copies outside the store."""

    def test_inside_the_store(self, store: Path) -> None:
        assert entry(store, snapshot="snapshots/abc").snapshot_path == str(
            store / "snapshots" / "abc"
        )

    def test_none_recorded(self, store: Path) -> None:
        assert entry(store).snapshot_path is None
        assert entry(store, snapshot=5).snapshot_path is None

    @pytest.mark.parametrize(
        "path", ["..", ".", "", "../elsewhere", "/", "/etc", "snapshots/../..", "../.tmt-x/s"]
    )
    def test_outside_the_store_or_the_store_itself(self, store: Path, path: str) -> None:
        assert entry(store, snapshot=path).snapshot_path is None

    def test_a_sibling_folder_whose_name_starts_like_the_stores(self, store: Path) -> None:
        sibling = store.parent / ".tmt-old" / "snapshots" / "abc"
        sibling.mkdir(parents=True)
        assert entry(store, snapshot=str(sibling)).snapshot_path is None

    def test_a_symlink_out_of_the_store_is_outside(self, store: Path, tmp_path: Path) -> None:
        (tmp_path / "outside").mkdir()
        (store / "snapshots").mkdir()
        (store / "snapshots" / "abc").symlink_to(tmp_path / "outside")
        assert entry(store, snapshot="snapshots/abc").snapshot_path is None

    def test_the_path_is_given_as_the_store_names_it(self, store: Path, tmp_path: Path) -> None:
        """A store reached through a symlink keeps the symlink in the path (not its target)."""
        (store / "snapshots" / "abc").mkdir(parents=True)
        link = tmp_path / "link"
        link.symlink_to(store)
        found = Entry(record(snapshot="snapshots/abc"), str(link))
        assert found.snapshot_path == str(link / "snapshots" / "abc")

    def test_in_the_snapshots_folder_configured(self, store: Path, tmp_path: Path) -> None:
        elsewhere = tmp_path / "big-disk" / "snapshots"
        elsewhere.mkdir(parents=True)
        path = str(elsewhere / "abc")
        assert entry(store, elsewhere, snapshot=path).snapshot_path == path
        assert entry(store, elsewhere, snapshot="snapshots/abc").snapshot_path == str(
            store / "snapshots" / "abc"
        )
        assert entry(store, elsewhere, snapshot=str(elsewhere)).snapshot_path is None
        assert entry(store, elsewhere, snapshot=str(tmp_path)).snapshot_path is None

    def test_a_store_at_the_root_of_the_filesystem(self) -> None:
        found = Entry(record(snapshot="snapshots/abc"), "/")
        assert found.snapshot_path == "/snapshots/abc"


class TestGit:
    """The git state, its diff file found in the run's folder."""

    def test_the_diff_is_in_the_run_folder(self, store: Path) -> None:
        git = entry(store, git=GIT).git
        assert git == {**GIT, "diff": str(store / "runs" / RUN / "git.diff")}

    def test_a_child_runs_diff_is_its_parents(self, store: Path) -> None:
        git = entry(store, git={**GIT, "diff": "../parent1/git.diff"}).git
        assert git["diff"] == str(store / "runs" / "parent1" / "git.diff")

    def test_no_diff(self, store: Path) -> None:
        assert entry(store, git={**GIT, "diff": None}).git["diff"] is None

    def test_a_run_without_a_folder_keeps_the_diff_as_recorded(self, store: Path) -> None:
        assert Entry(record(git=GIT), str(store)).git["diff"] == "git.diff"

    @pytest.mark.parametrize("value", [None, {}])
    def test_none(self, store: Path, value: object) -> None:
        assert entry(store, git=value).git is None

    def test_the_record_is_not_changed(self, store: Path) -> None:
        found = entry(store, git=dict(GIT))
        found.git["commit"] = "changed"
        assert found.git["commit"] == "abc"
        assert found.to_dict()["git"]["diff"] == "git.diff"


class TestPackages:
    """The package list is a file of the store, named by the record: name -> version."""

    def write(self, store: Path, data: object, name: str = "envs/p.json") -> Entry:
        (store / name).parent.mkdir(parents=True, exist_ok=True)
        (store / name).write_text(json.dumps(data))
        return entry(store, environment={"python": "3.11", "packages": name})

    def test_read(self, store: Path) -> None:
        found = self.write(store, {"schema": 1, "packages": {"numpy": "2.0", "tmt": "0.2"}})
        assert found.packages() == {"numpy": "2.0", "tmt": "0.2"}
        assert found.environment == {"python": "3.11", "packages": "envs/p.json"}

    def test_versions_that_are_not_text_are_left_out(self, store: Path) -> None:
        found = self.write(store, {"packages": {"a": "1", "b": 2, "c": None}})
        assert found.packages() == {"a": "1"}

    @pytest.mark.parametrize("data", [[1, 2], {"packages": ["a"]}, {"other": 1}, "text"])
    def test_a_list_of_another_shape_is_empty(self, store: Path, data: object) -> None:
        assert self.write(store, data).packages() == {}

    def test_an_unreadable_list_is_empty(self, store: Path) -> None:
        found = self.write(store, {})
        (store / "envs" / "p.json").write_text("{ not json")
        assert found.packages() == {}
        (store / "envs" / "p.json").unlink()
        assert found.packages() == {}

    def test_none_recorded(self, store: Path) -> None:
        assert entry(store).packages() == {}
        assert entry(store, environment={"packages": None}).packages() == {}

    def test_a_list_over_16_mib_is_not_read(self, store: Path) -> None:
        found = self.write(store, {})
        text = json.dumps({"packages": {"a": "1"}})
        with open(store / "envs" / "p.json", "w") as f:
            f.write(text + " " * (16 * 1024 * 1024 + 1 - len(text)))
        assert found.packages() == {}
        os.truncate(store / "envs" / "p.json", 16 * 1024 * 1024)
        assert found.packages() == {"a": "1"}


class TestOutput:
    """What the run printed, as captured in its folder."""

    def test_stdout_and_stderr(self, store: Path) -> None:
        (store / "runs" / RUN / "stdout.txt").write_text("out\n")
        (store / "runs" / RUN / "stderr.txt").write_text("err\n")
        found = entry(store)
        assert found.output() == "out\n"
        assert found.output("stdout") == "out\n"
        assert found.output("stderr") == "err\n"

    def test_bytes_that_are_not_utf8_are_replaced(self, store: Path) -> None:
        (store / "runs" / RUN / "stdout.txt").write_bytes(b"caf\xe9\n")
        assert entry(store).output() == "caf\ufffd\n"

    def test_nothing_captured(self, store: Path) -> None:
        assert entry(store).output() == ""
        assert entry(store).output("stderr") == ""
        assert Entry(record(), str(store)).output() == ""

    @pytest.mark.parametrize("stream", ["stdin", "", "STDOUT"])
    def test_another_stream_is_an_error(self, store: Path, stream: str) -> None:
        with pytest.raises(ArgumentError) as caught:
            entry(store).output(stream)
        assert str(caught.value) == f"stream must be 'stdout' or 'stderr', got {stream!r}"

    def test_output_over_64_mib_is_not_read(self, store: Path) -> None:
        path = store / "runs" / RUN / "stdout.txt"
        with open(path, "wb") as f:
            f.truncate(64 * 1024 * 1024 + 1)  # sparse: costs no disk
        assert entry(store).output() == ""


class TestSeries:
    """Logged values are read from the run's ``metrics.csv``."""

    CSV = "name,step,value,time\nloss,0,0.5,10.0\nacc,0,0.1,10.5\nloss,1,0.25,11.0\n"

    @pytest.fixture
    def logged(self, store: Path) -> Entry:
        (store / "runs" / RUN / "metrics.csv").write_text(self.CSV)
        return entry(store, series=["loss", "acc"])

    def test_one_series(self, logged: Entry) -> None:
        assert logged.series("loss") == Series([0, 1], [0.5, 0.25], [10.0, 11.0])
        steps, values, times = logged.series("acc")
        assert (steps, values, times) == ([0], [0.1], [10.5])

    def test_all_series(self, logged: Entry) -> None:
        assert logged.all_series() == {
            "loss": Series([0, 1], [0.5, 0.25], [10.0, 11.0]),
            "acc": Series([0], [0.1], [10.5]),
        }

    def test_names_come_from_the_record(self, logged: Entry, store: Path) -> None:
        assert logged.series_names() == ["loss", "acc"]
        (store / "runs" / RUN / "metrics.csv").unlink()
        assert logged.series_names() == ["loss", "acc"]
        assert logged.all_series() == {}

    def test_or_else_from_the_file(self, store: Path) -> None:
        (store / "runs" / RUN / "metrics.csv").write_text(self.CSV)
        assert entry(store).series_names() == ["loss", "acc"]
        assert entry(store, series=[]).series_names() == ["loss", "acc"]

    def test_an_unknown_series_names_the_known_ones(self, logged: Entry) -> None:
        with pytest.raises(SeriesNotFound) as caught:
            logged.series("f1")
        assert str(caught.value) == f"run {RUN} logged no series 'f1' (logged: acc, loss)"
        assert isinstance(caught.value, KeyError)

    def test_a_run_that_logged_nothing(self, store: Path) -> None:
        found = entry(store)
        assert found.series_names() == []
        assert found.all_series() == {}
        with pytest.raises(SeriesNotFound, match=r"logged no series 'loss' \(logged: none\)"):
            found.series("loss")
        assert Entry(record(), str(store)).all_series() == {}

    def test_as_a_data_frame(self, logged: Entry) -> None:
        pytest.importorskip("pandas")
        frame = logged.series_dataframe()
        assert list(frame.columns) == ["name", "step", "value", "time"]
        assert frame.values.tolist() == [
            ["loss", 0, 0.5, 10.0],
            ["loss", 1, 0.25, 11.0],
            ["acc", 0, 0.1, 10.5],
        ]

    def test_as_a_data_frame_without_pandas(self, logged: Entry, monkeypatch) -> None:
        monkeypatch.setitem(sys.modules, "pandas", None)  # as if not installed
        with pytest.raises(ImportError, match=r"pip install 'ThatMetricTimeline\[pandas\]'"):
            logged.series_dataframe()


class TestConversions:
    """An entry is its record: equal records are equal entries, hashed by id."""

    def test_to_dict_is_the_record_with_the_status_shown(self, store: Path) -> None:
        data = record()
        found = Entry(data, str(store))
        assert found.to_dict() == data
        assert found.to_dict() is not data

    def test_to_dict_does_not_change_the_record(self, store: Path) -> None:
        data = record(status="running", end_time=None, host="elsewhere")
        found = Entry(data, str(store))
        assert found.to_dict()["status"] == "crashed"
        assert data["status"] == "running"

    def test_equality(self, store: Path) -> None:
        assert entry(store) == entry(store)
        assert entry(store) == Entry(record(), "/another/root")
        assert entry(store) != entry(store, name="other")
        assert entry(store) != record()
        assert entry(store) != RUN

    def test_hash_is_the_ids(self, store: Path) -> None:
        assert hash(entry(store)) == hash(RUN)
        assert len({entry(store), entry(store)}) == 1

    def test_repr(self, store: Path) -> None:
        assert repr(entry(store)) == f"<Entry {RUN} 'train' finished>"
        assert repr(entry(store, name="it's")) == f'<Entry {RUN} "it\'s" finished>'
