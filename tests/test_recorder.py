"""tmt_recorder: every call of a decorated function becomes a run with a complete record."""

from __future__ import annotations

import asyncio
import warnings
from pathlib import Path

import numpy as np
import pytest

from tmt import (
    ArgumentError,
    ArgumentTypeError,
    DuplicatedNameError,
    DuplicatePolicy,
    DuplicateStrategy,
    TmtError,
    TmtManager,
    tmt_recorder,
)

from conftest import records


class TestRecording:
    def test_return_value_passes_through_and_dict_becomes_metrics(self, project: Path) -> None:
        @tmt_recorder(name="some_experiment")
        def train(a, b=2):
            return {"f1": 0.5, "accuracy": a + b}

        assert train(1) == {"f1": 0.5, "accuracy": 3}
        (record,) = records(project)
        assert record["name"] == "some_experiment"
        assert record["status"] == "finished"
        assert record["metrics"] == {"f1": 0.5, "accuracy": 3}

    @pytest.mark.parametrize("returned", [None, {}, 42, "text", [1, 2]])
    def test_none_empty_or_non_dict_returns_mean_no_metrics(self, project, returned) -> None:
        """None or {} mean no metrics; any other return value passes through unrecorded."""

        @tmt_recorder(name="x")
        def train():
            return returned

        assert train() == returned
        assert records(project)[0]["metrics"] == {}

    def test_the_record_says_when_where_and_how_long(self, project: Path) -> None:
        @tmt_recorder(name="x", description="first try")
        def train():
            return None

        train()
        (r,) = records(project)
        assert r["schema"] == 1
        assert r["description"] == "first try"
        assert r["end_time"] >= r["start_time"] > 0
        assert r["duration"] == pytest.approx(r["end_time"] - r["start_time"], abs=1e-5)
        assert r["started"].startswith(r["started"][:4]) and "T" in r["started"]
        assert isinstance(r["pid"], int) and r["host"] and r["cwd"] == str(project)
        assert r["error"] is None

    def test_same_name_again_is_a_new_run_of_the_timeline(self, project: Path) -> None:
        """Recording a name again adds a run: no error, as 0.1.x's default raised."""

        @tmt_recorder(name="again")
        def train(i):
            return {"i": i}

        for i in range(3):
            train(i)
        entries = TmtManager().db.get_entries_by_name("again")
        assert [e.metrics["i"] for e in entries] == [0, 1, 2]
        assert len({e.id for e in entries}) == 3

    def test_record_exists_while_the_run_is_running(self, project: Path) -> None:
        """The record is written at the start, so a run in progress is visible."""
        seen = []

        @tmt_recorder(name="live")
        def train():
            seen.extend(records(project))

        train()
        assert [r["status"] for r in seen] == ["running"]

    def test_metrics_keep_numpy_values_and_nan(self, project: Path) -> None:
        @tmt_recorder(name="np")
        def train():
            return {"acc": np.float32(0.5), "n": np.int64(3), "loss": float("nan")}

        train()
        metrics = TmtManager().set_entry_by_name("np").metrics
        assert metrics["acc"] == 0.5 and metrics["n"] == 3
        assert metrics["loss"] != metrics["loss"]

    def test_an_unstorable_metric_is_named_and_the_run_still_recorded(self, project) -> None:
        @tmt_recorder(name="odd")
        def train():
            return {"acc": 0.9, "model": object()}

        with pytest.warns(UserWarning, match=r"metrics\['model'\]: a object has no JSON form"):
            train()
        (r,) = records(project)
        assert r["status"] == "finished"
        assert r["metrics"]["acc"] == 0.9
        assert r["metrics"]["model"]["$repr"].startswith("<object object")


class TestFailures:
    def test_a_failed_run_is_recorded_and_the_exception_propagates(self, project) -> None:
        @tmt_recorder(name="boom")
        def train():
            raise ValueError("bad shape")

        with pytest.raises(ValueError, match="bad shape"):
            train()
        (r,) = records(project)
        assert r["status"] == "failed"
        assert r["error"]["type"] == "ValueError"
        assert r["error"]["message"] == "bad shape"
        assert 'raise ValueError("bad shape")' in r["error"]["traceback"]
        assert r["end_time"] is not None

    def test_keyboard_interrupt_is_interrupted(self, project: Path) -> None:
        @tmt_recorder(name="ctrl-c")
        def train():
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            train()
        assert records(project)[0]["status"] == "interrupted"

    def test_exception_types_outside_builtins_are_qualified(self, project: Path) -> None:
        @tmt_recorder(name="custom")
        def train():
            raise DuplicatedNameError("x")

        with pytest.raises(DuplicatedNameError):
            train()
        assert records(project)[0]["error"]["type"] == "tmt.errors.DuplicatedNameError"

    def test_save_on_exception_is_accepted(self, project: Path) -> None:
        """0.1.x's save_on_exception is still accepted; failed runs are always recorded."""

        @tmt_recorder("legacy", None, True, "desc")
        def train():
            raise RuntimeError

        with pytest.raises(RuntimeError):
            train()
        assert records(project)[0]["status"] == "failed"


class TestInterruptedStart:
    def test_a_ctrl_c_while_the_first_record_is_written_ends_the_run(
        self, project: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The record exists from its first write: whatever stops the start, it is ended."""
        import tmt.jsonfile

        real, calls = tmt.jsonfile._fsync_directory, []

        def interrupted(directory: str) -> None:
            real(directory)
            calls.append(directory)
            if len(calls) == 1:
                raise KeyboardInterrupt

        monkeypatch.setattr(tmt.jsonfile, "_fsync_directory", interrupted)
        with pytest.raises(KeyboardInterrupt):
            tmt_recorder(name="c")(lambda: 1)()
        (record,) = records(project)
        assert record["status"] == "interrupted"


class TestDecoratedCallables:
    def test_wraps_keeps_name_and_docstring(self, project: Path) -> None:
        @tmt_recorder(name="x")
        def train_model(a):
            """Train it."""

        assert train_model.__name__ == "train_model"
        assert train_model.__doc__ == "Train it."
        assert train_model.__wrapped__ is not None

    def test_methods(self, project: Path) -> None:
        class Trainer:
            def __init__(self) -> None:
                self.lr = 0.1

            @tmt_recorder(name="method")
            def fit(self, epochs):
                return {"lr": self.lr, "epochs": epochs}

        assert Trainer().fit(3) == {"lr": 0.1, "epochs": 3}
        assert records(project)[0]["metrics"] == {"lr": 0.1, "epochs": 3}

    def test_async_functions(self, project: Path) -> None:
        @tmt_recorder(name="async")
        async def train(x):
            await asyncio.sleep(0)
            return {"x": x}

        assert asyncio.iscoroutinefunction(train)
        assert asyncio.run(train(4)) == {"x": 4}
        (r,) = records(project)
        assert r["status"] == "finished" and r["metrics"] == {"x": 4}

    def test_async_failure(self, project: Path) -> None:
        @tmt_recorder(name="async-fail")
        async def train():
            raise OSError("disk")

        with pytest.raises(OSError):
            asyncio.run(train())
        assert records(project)[0]["status"] == "failed"

    def test_bare_decorator_is_a_clear_error(self) -> None:
        with pytest.raises(TypeError, match=r"use @tmt_recorder\(name='...'\)"):

            @tmt_recorder
            def train():
                pass

    @pytest.mark.parametrize("name", ["", "   ", 3])
    def test_name_must_be_a_non_empty_string(self, name) -> None:
        with pytest.raises(ValueError, match="name must be a non-empty string"):
            tmt_recorder(name=name)


class TestArguments:
    """A bad argument is refused when the function is decorated, as a TmtError that is also
    the ValueError or TypeError Python would raise."""

    @pytest.mark.parametrize(
        ("arguments", "error", "message"),
        [
            ({"name": print}, ArgumentTypeError, "needs an experiment name"),
            ({"name": ""}, ArgumentError, "name must be a non-empty string"),
            ({"name": "x", "description": 3}, ArgumentTypeError, "description must be a string"),
            (
                {"name": "x", "duplicate_strategy": DuplicatePolicy.DONT_ALLOW},
                ArgumentTypeError,
                "duplicate_strategy must be a DuplicateStrategy, got <DuplicatePolicy.DONT",
            ),
            ({"name": "x", "config_path": 3}, ArgumentTypeError, "config_path must be a path"),
            ({"name": "x", "tags": [""]}, ArgumentError, "tags must be non-empty strings"),
        ],
        ids=["bare", "name", "description", "duplicate_strategy", "config_path", "tags"],
    )
    def test_refused_with_a_tmt_error(self, arguments: dict, error: type, message: str) -> None:
        with pytest.raises(error, match=message) as caught:
            tmt_recorder(**arguments)
        assert isinstance(caught.value, TmtError)


class TestDuplicateStrategy:
    def test_as_new_entry(self, project: Path) -> None:
        strategy = DuplicateStrategy(DuplicatePolicy.AS_NEW_ENTRY)

        @tmt_recorder(name="d", duplicate_strategy=strategy)
        def train():
            return None

        train()
        train()
        assert len(records(project)) == 2

    def test_dont_allow_refuses_a_used_name_before_running(self, project: Path) -> None:
        calls = []

        @tmt_recorder(name="d", duplicate_strategy=DuplicateStrategy(DuplicatePolicy.DONT_ALLOW))
        def train():
            calls.append(1)

        train()
        with pytest.raises(DuplicatedNameError, match="'d' already has 1 run"):
            train()
        assert calls == [1]
        assert len(records(project)) == 1

    def test_as_sub_entry_attaches_to_the_newest_run(self, project: Path) -> None:
        @tmt_recorder(name="d")
        def first():
            return None

        @tmt_recorder(name="d", duplicate_strategy=DuplicateStrategy(DuplicatePolicy.AS_SUB_ENTRY))
        def sub():
            return None

        first()
        first()
        newest = TmtManager().set_entry_by_name("d").id
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sub()
        assert any("attaching this run to the newest" in str(w.message) for w in caught)
        children = [r for r in records(project) if r["parent"]]
        assert [c["parent"] for c in children] == [newest]


class TestNestedRuns:
    def test_a_recorded_call_inside_a_run_is_its_child(self, project: Path) -> None:
        from tmt import tmt_save

        @tmt_recorder(name="trial")
        def trial(i):
            tmt_save(i, name="model")
            return {"i": i}

        @tmt_recorder(name="sweep")
        def sweep():
            for i in range(2):
                trial(i)
            tmt_save("summary", name="report")

        sweep()
        manager = TmtManager()
        parent = manager.db.get_entry_by_exact_name("sweep")
        children = manager.db.get_entries_by_name("trial")
        assert [c.parent for c in children] == [parent.id, parent.id]
        assert [r.name for c in children for r in c.results] == ["model", "model"]
        assert [r.name for r in parent.results] == ["report"]  # never a child's

    def test_a_child_shares_its_parents_snapshot_and_git_facts(self, project: Path) -> None:
        child = tmt_recorder(name="child")(lambda: None)
        tmt_recorder(name="parent")(child)()
        db = TmtManager().db
        parent, kid = db.get_entry_by_exact_name("parent"), db.get_entry_by_exact_name("child")
        assert Path(kid.snapshot_path).resolve() == Path(parent.snapshot_path).resolve()
        assert kid.git == parent.git

    def test_a_run_in_a_thread_of_another_is_not_its_child(self, project: Path) -> None:
        import threading

        inner = tmt_recorder(name="inner")(lambda: None)

        @tmt_recorder(name="outer")
        def outer():
            t = threading.Thread(target=inner)
            t.start()
            t.join()

        outer()
        assert TmtManager().db.get_entry_by_exact_name("inner").parent is None


class TestDisabled:
    @pytest.mark.parametrize("value", ["1", "true", "yes"])
    def test_tmt_disable_runs_the_function_and_records_nothing(
        self, project: Path, monkeypatch, value
    ) -> None:
        from tmt import tmt_log, tmt_save

        monkeypatch.setenv("TMT_DISABLE", value)

        @tmt_recorder(name="debugging")
        def train():
            tmt_log("loss", 1.0)
            assert tmt_save([1], name="x") == ""
            return {"acc": 1}

        assert train() == {"acc": 1}
        assert not (project / ".tmt").exists()

    def test_tmt_disable_zero_records(self, project: Path, monkeypatch) -> None:
        monkeypatch.setenv("TMT_DISABLE", "0")
        tmt_recorder(name="x")(lambda: None)()
        assert len(records(project)) == 1

    def test_enabled_false(self, project: Path) -> None:
        assert tmt_recorder(name="x", enabled=False)(lambda: 5)() == 5
        assert not (project / ".tmt").exists()

    def test_disabled_async(self, project: Path, monkeypatch) -> None:
        monkeypatch.setenv("TMT_DISABLE", "1")

        @tmt_recorder(name="x")
        async def train():
            return 3

        assert asyncio.run(train()) == 3
        assert not (project / ".tmt").exists()


class TestWorkerProcesses:
    def test_a_run_in_a_forked_worker_is_a_child_of_the_run_that_forked_it(
        self, project: Path, run_python
    ) -> None:
        run_python(
            """
            import multiprocessing as mp
            from tmt import tmt_recorder, tmt_save

            @tmt_recorder(name="trial")
            def trial(i):
                tmt_save(i, name="value")
                return {"i": i}

            @tmt_recorder(name="sweep")
            def sweep():
                with mp.get_context("fork").Pool(2) as pool:
                    return pool.map(trial, range(3))

            sweep()
            """
        )
        db = TmtManager().db
        sweep = db.get_entry_by_exact_name("sweep")
        trials = db.get_entries_by_name("trial")
        assert sorted(t.metrics["i"] for t in trials) == [0, 1, 2]
        assert {t.parent for t in trials} == {sweep.id}
        assert all(t.status == "finished" and len(t.results) == 1 for t in trials)
        assert sweep.status == "finished"


class TestReturnedValues:
    """Whatever the function returns passes through, and the run ends finished."""

    def test_a_dict_that_contains_itself(self, project: Path) -> None:
        returned = {"acc": 0.9}
        returned["self"] = returned
        with pytest.warns(UserWarning, match=r"metrics\['self'\]: contains itself"):
            got = tmt_recorder(name="cyclic")(lambda: returned)()
        assert got is returned
        entry = TmtManager().last()
        assert entry.status == "finished"
        assert entry.metrics["acc"] == 0.9 and "{...}" in entry.metrics["self"]

    def test_a_dict_nested_past_the_recursion_limit(self, project: Path) -> None:
        deep: dict = {}
        for _ in range(100_000):
            deep = {"a": deep}
        with pytest.warns(UserWarning, match="nested more than"):
            got = tmt_recorder(name="deep")(lambda: {"acc": 1, "deep": deep})()
        assert got["deep"] is deep
        entry = TmtManager().last()
        assert entry.status == "finished" and entry.metrics["acc"] == 1
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # what was written is read back without complaint
            assert TmtManager().last().metrics["acc"] == 1

    def test_ints_too_long_to_write_as_text(self, project: Path) -> None:
        """Python will not print an int of more than 4,300 digits: it is kept as its size."""
        huge = 10**5000
        with pytest.warns(UserWarning, match="an int of 16610 bits is too long"):
            got = tmt_recorder(name="big")(lambda n: {"x": huge, "y": 2})(huge)
        assert got["x"] is huge
        entry = TmtManager().last()
        assert entry.status == "finished" and entry.metrics["y"] == 2
        assert "16610 bits" in entry.metrics["x"] and "16610 bits" in str(entry.params["n"])

    def test_a_value_whose_repr_fails_too(self, project: Path) -> None:
        class Broken:
            def __repr__(self) -> str:
                raise RuntimeError("no repr")

        with pytest.warns(UserWarning, match="has no JSON form"):
            got = tmt_recorder(name="odd")(lambda: {"model": Broken()})()
        assert isinstance(got["model"], Broken)
        assert "failing repr" in TmtManager().last().metrics["model"]


def snapshot_warnings(func) -> list[str]:
    """The warnings a recorded call of ``func`` gives that are about its snapshot's size."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        func()
    return [str(w.message) for w in caught if "new files" in str(w.message)]


def fill(root: Path, sizes: dict[str, int]) -> None:
    """Files of the given sizes, each with content of its own."""
    for rel, size in sizes.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(rel.encode().ljust(size, b".")[:size])


ADVICE = (
    "if they are not code, add them to .tmtignore (or to .gitignore, if git should not see "
    "them either)"
)


class TestLargeSnapshots:
    """A snapshot that stores much new data says so, once, naming where it is."""

    @pytest.fixture(autouse=True)
    def small_threshold(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import tmt.snapshot

        monkeypatch.setattr(tmt.snapshot, "LARGE_SNAPSHOT", 1000)

    def test_one_warning_names_the_total_and_the_three_largest_folders(self, project) -> None:
        sizes = {"images/a.png": 2000, "images/b.png": 1000, "data/x.csv": 200}
        fill(project, {**sizes, "src/model.py": 10})  # the fourth largest: not named
        (message,) = snapshot_warnings(tmt_recorder(name="x")(lambda: None))
        run_id = records(project)[0]["id"]
        assert message == (
            f"tmt: the code snapshot of run {run_id} stored 3.2 KB of new files "
            f"(images/ 3.0 KB, data/ 200 B, train.py 18 B); {ADVICE}"
        )

    def test_a_second_run_of_the_same_tree_does_not_warn(self, project: Path) -> None:
        fill(project, {"images/a.png": 2000})
        train = tmt_recorder(name="x")(lambda: None)
        assert len(snapshot_warnings(train)) == 1
        assert snapshot_warnings(train) == []

    @pytest.mark.parametrize(("threshold", "warned"), [(1000, 0), (999, 1)])
    def test_only_more_than_the_threshold_warns(
        self, project, monkeypatch, threshold, warned
    ) -> None:
        import tmt.snapshot

        monkeypatch.setattr(tmt.snapshot, "LARGE_SNAPSHOT", threshold)
        fill(project, {"data/x.csv": 1000 - len("print('training')\n")})  # 1000 B in all
        assert len(snapshot_warnings(tmt_recorder(name="x")(lambda: None))) == warned

    def test_the_warning_points_at_the_call_of_the_recorded_function(self, project) -> None:
        import linecache

        fill(project, {"images/a.png": 2000})
        train = tmt_recorder(name="x")(lambda: None)
        with pytest.warns(UserWarning, match="new files") as caught:
            train()
        (warning,) = [w for w in caught if "new files" in str(w.message)]
        assert warning.filename == __file__
        assert linecache.getline(warning.filename, warning.lineno).strip() == "train()"

    def test_a_folder_name_cannot_drive_the_terminal(self, project: Path) -> None:
        fill(project, {"evil\x1b]0;pwned\x07\n/a.bin": 2000})
        (message,) = snapshot_warnings(tmt_recorder(name="x")(lambda: None))
        assert "(evil\\x1b]0;pwned\\x07\\n/ 2.0 KB, " in message
        assert message.isprintable()

    def test_a_child_run_sharing_its_parents_snapshot_does_not_warn_again(
        self, project: Path
    ) -> None:
        fill(project, {"images/a.png": 2000})
        child = tmt_recorder(name="child")(lambda: None)
        assert len(snapshot_warnings(tmt_recorder(name="parent")(child))) == 1


class TestLargeSnapshotsForReal:
    """The threshold is 50 MB of new files, with the default configuration."""

    def test_a_snapshot_storing_over_50_mb_warns(self, project: Path) -> None:
        from tmt.snapshot import remove_counted

        (project / "images").mkdir()
        for i in range(11):  # 52.8 MB of sparse files, each under the 5 MiB file cap
            with open(project / "images" / f"{i}.png", "wb") as f:
                f.write(bytes([i]))
                f.truncate(4_800_000)
        (message,) = snapshot_warnings(tmt_recorder(name="x")(lambda: None))
        assert "stored 52.8 MB of new files (images/ 52.8 MB, train.py 18 B)" in message
        remove_counted(str(project / ".tmt"))  # not left for pytest to keep
