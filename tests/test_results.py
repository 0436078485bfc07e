"""tmt_save: objects saved inside a run land in its results folder and in its record."""

from __future__ import annotations

import os
import pickle
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tmt import (
    DuplicatedNameError,
    NotInRunError,
    ResultNameError,
    TmtManager,
    tmt_recorder,
    tmt_save,
)

from conftest import records


class TestSaving:
    def test_pickles_into_the_runs_results_folder(self, project: Path) -> None:
        @tmt_recorder(name="some_experiment_with_data")
        def train():
            return tmt_save(np.arange(4), name="lr_predictions")

        path = train()
        (r,) = records(project)
        assert path == str(project / ".tmt" / "results" / r["id"] / "lr_predictions.pkl")
        with open(path, "rb") as f:
            assert pickle.load(f).tolist() == [0, 1, 2, 3]
        assert r["results"] == [
            {
                "name": "lr_predictions",
                "path": f"results/{r['id']}/lr_predictions.pkl",
                "saved_with": "pickle",
            }
        ]

    def test_from_code_the_function_calls(self, project: Path) -> None:
        def helper():
            tmt_save([1], name="deep")

        @tmt_recorder(name="x")
        def train():
            helper()

        train()
        assert [r["name"] for r in records(project)[0]["results"]] == ["deep"]

    def test_from_a_thread_the_run_starts(self, project: Path) -> None:
        """Threads do not inherit the run's context; the process's only run is used."""

        @tmt_recorder(name="x")
        def train():
            t = threading.Thread(target=tmt_save, args=([1], "threaded"))
            t.start()
            t.join()

        train()
        assert [r["name"] for r in records(project)[0]["results"]] == ["threaded"]

    def test_a_save_begun_while_the_run_was_live_is_listed_when_it_completes(
        self, project: Path
    ) -> None:
        """Even after the run ended: its file is there, and an unlisted one would be deleted
        by a clean-up."""
        started, release = threading.Event(), threading.Event()

        def slow_save(obj, path: str) -> None:
            started.set()
            release.wait(30)
            Path(path).write_text("late")

        saver = threading.Thread(
            target=tmt_save, args=(1, "late"), kwargs={"custom_save": slow_save}
        )

        @tmt_recorder(name="x")
        def train():
            saver.start()
            started.wait(30)
            return {"acc": 1}

        train()
        assert records(project)[0]["results"] == []
        release.set()
        saver.join(30)
        (record,) = records(project)
        assert [r["name"] for r in record["results"]] == ["late"]
        assert record["status"] == "finished" and record["metrics"] == {"acc": 1}

    def test_the_record_lists_a_result_as_soon_as_it_is_saved(self, project: Path) -> None:
        """A run that dies after saving still lists what it saved."""
        seen = []

        @tmt_recorder(name="x")
        def train():
            tmt_save(1, name="early")
            seen.extend(records(project))

        train()
        assert [r["name"] for r in seen[0]["results"]] == ["early"]


class TestManySaves:
    def test_a_short_burst_is_listed_at_once(self, project: Path) -> None:
        """Only a run that has saved many results has later ones listed by the next tick."""
        seen = []

        @tmt_recorder(name="x")
        def train():
            for i in range(20):
                tmt_save(i, name=f"step{i}")
            seen.extend(records(project))

        train()
        assert len(seen[0]["results"]) == 20

    def test_saves_in_a_tight_loop_are_all_listed_within_a_second(self, project: Path) -> None:
        """Each save is not a rewrite of the record: a burst is listed by the next tick."""
        seen = []

        @tmt_recorder(name="x")
        def train():
            for i in range(300):
                tmt_save(i, name=f"step{i}")
            time.sleep(1.5)
            seen.extend(records(project))

        train()
        assert len(seen[0]["results"]) == 300
        assert [r.name for r in TmtManager().last().results] == [f"step{i}" for i in range(300)]


class TestCustomSave:
    def test_custom_save_receives_the_path_with_extension(self, project: Path) -> None:
        def my_save_fn(obj, path):
            np.save(path, obj)

        @tmt_recorder(name="custom")
        def train():
            tmt_save(np.ones(2), name="lr_predictions", custom_save=my_save_fn, extension=".npy")

        train()
        manager = TmtManager()
        manager.set_entry_by_name("custom")
        ((_, path),) = manager.results_paths()
        assert path.endswith("lr_predictions.npy")
        assert np.load(path).tolist() == [1.0, 1.0]
        assert records(project)[0]["results"][0]["saved_with"] == "custom"
        # a custom-saved result cannot be unpickled: load_results yields its path
        assert list(manager.load_results()) == [("lr_predictions", path)]

    def test_a_returned_path_is_recorded_instead(self, project: Path) -> None:
        def save_fn_path(obj, path):
            new_path = "custom_path.npy"
            np.save(new_path, obj)
            return new_path

        @tmt_recorder(name="custom")
        def train():
            return tmt_save(np.ones(2), name="p", custom_save=save_fn_path, extension=".npy")

        assert train() == str(project / "custom_path.npy")
        manager = TmtManager()
        manager.set_entry_by_name("custom")
        assert list(manager.results_paths()) == [("p", str(project / "custom_path.npy"))]

    def test_extension_without_a_dot_gets_one(self, project: Path) -> None:
        @tmt_recorder(name="x")
        def train():
            return tmt_save(1, name="n", extension="bin")

        assert train().endswith("n.bin")


class TestNames:
    def test_allow_exist_false_refuses_a_second_save(self, project: Path) -> None:
        @tmt_recorder(name="x")
        def train():
            tmt_save(1, name="model")
            tmt_save(2, name="model")

        with pytest.raises(DuplicatedNameError, match="'model' was already saved"):
            train()

    def test_allow_exist_keeps_both(self, project: Path) -> None:
        @tmt_recorder(name="x")
        def train():
            return [tmt_save(i, name="model", allow_exist=True) for i in range(3)]

        paths = train()
        assert [Path(p).name for p in paths] == ["model.pkl", "model_1.pkl", "model_2.pkl"]
        manager = TmtManager()
        manager.set_entry_by_name("x")
        assert list(manager.load_results()) == [("model", 0), ("model", 1), ("model", 2)]

    @pytest.mark.parametrize(
        "name", ["../escape", "/etc/passwd", "a/b", "a\\b", "..", ".", "", "nul\0byte"]
    )
    def test_names_cannot_leave_the_results_folder(self, project: Path, name: str) -> None:
        @tmt_recorder(name="x")
        def train():
            tmt_save(1, name=name)

        with pytest.raises(ResultNameError, match="must be a plain file name"):
            train()
        assert not (project / "escape.pkl").exists()
        assert not (project / ".tmt" / "escape.pkl").exists()

    @pytest.mark.parametrize("extension", ["/../../x", ".a/b", ".a\\b", ".pkl\0"])
    def test_extensions_cannot_leave_the_results_folder(self, project, extension) -> None:
        @tmt_recorder(name="x")
        def train():
            tmt_save(1, name="n", extension=extension)

        with pytest.raises(ResultNameError):
            train()


class TestOutsideARun:
    def test_a_name_of_240_characters_works(self, project: Path) -> None:
        """The temporary file is short whatever the name: it is never the longer one."""
        name = "r" * 240

        @tmt_recorder(name="long")
        def run():
            return tmt_save([1], name=name)

        path = Path(run())
        assert path.name == name + ".pkl" and pickle.loads(path.read_bytes()) == [1]
        assert os.listdir(path.parent) == [path.name]

    def test_a_name_too_long_for_the_filesystem_is_a_clear_error(self, project: Path) -> None:
        @tmt_recorder(name="long")
        def run():
            tmt_save([1], name="r" * 300)

        with pytest.raises(ResultNameError, match="file name of 304 bytes"):
            run()

    def test_outside_any_run_is_a_clear_error(self, project: Path) -> None:
        with pytest.raises(NotInRunError, match=r"must be called inside a run.*@tmt_recorder"):
            tmt_save(1, name="x")

    def test_is_still_a_value_error_as_in_0_1(self, project: Path) -> None:
        with pytest.raises(ValueError):
            tmt_save(1, name="x")

    def test_never_writes_into_an_earlier_run(self, project: Path) -> None:
        """After a run ends, tmt_save does not reach back into it."""

        @tmt_recorder(name="x")
        def train():
            return None

        train()
        with pytest.raises(NotInRunError):
            tmt_save(1, name="late")
        assert records(project)[0]["results"] == []
        assert not (project / ".tmt" / "results").exists()


class TestConcurrentRuns:
    def test_runs_in_two_threads_each_get_their_own_results(self, project: Path) -> None:
        """The current run is per thread: concurrent runs never receive each other's saves."""
        barrier = threading.Barrier(2)

        @tmt_recorder(name="threaded")
        def train(tag):
            barrier.wait()  # both runs are active at once
            tmt_save(tag, name=tag)
            barrier.wait()
            return {"tag": tag}

        threads = [threading.Thread(target=train, args=(t,)) for t in ("a", "b")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        by_tag = {r["metrics"]["tag"]: [x["name"] for x in r["results"]] for r in records(project)}
        assert by_tag == {"a": ["a"], "b": ["b"]}

    def test_a_stray_thread_with_two_runs_active_is_told_which_is_ambiguous(
        self, project: Path
    ) -> None:
        barrier = threading.Barrier(3)
        errors = []

        @tmt_recorder(name="busy")
        def train():
            barrier.wait()
            barrier.wait()

        def stray():
            barrier.wait()
            try:
                tmt_save(1, name="x")
            except NotInRunError as exc:
                errors.append(str(exc))
            barrier.wait()

        threads = [threading.Thread(target=f) for f in (train, train, stray)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(errors) == 1 and "none of the 2 runs active" in errors[0]
