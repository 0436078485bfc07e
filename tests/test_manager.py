"""TmtManager: the README's way of reading runs back, and what it promises not to do."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from tmt import EntryNotFound, TmtManager, tmt_recorder, tmt_save
from tmt.manager import FRAME_COLUMNS


@pytest.fixture
def recorded(project: Path) -> str:
    """One run of "example" that saved two arrays; returns its id."""

    @tmt_recorder(name="example")
    def train():
        tmt_save(np.arange(3), name="preds")
        tmt_save(np.ones(2), name="probs")
        return {"f1": 0.8, "accuracy": 0.9}

    train()
    return TmtManager().set_entry_by_name("example").id


class TestReadmeUsage:
    def test_the_readme_snippet(self, recorded: str) -> None:
        """The README's TmtManager snippet, as written."""
        manager = TmtManager()
        manager.set_entry_by_id(recorded)

        paths = []
        for name, path in manager.results_paths():
            with open(path, "rb") as f:
                res = pickle.load(f)
            paths.append((name, res.tolist()))
        assert paths == [("preds", [0, 1, 2]), ("probs", [1.0, 1.0])]

        means = [(name, res.mean()) for name, res in manager.load_results()]
        assert means == [("preds", 1.0), ("probs", 1.0)]

        printed = [f"{name}: {val}" for name, val in manager.get_metrics()]
        assert printed == ["f1: 0.8", "accuracy: 0.9"]

    def test_metrics_have_names_and_values(self, recorded: str) -> None:
        manager = TmtManager()
        manager.set_entry_by_id(recorded)
        assert [(m.name, m.value) for m in manager.get_metrics()] == [
            ("f1", 0.8),
            ("accuracy", 0.9),
        ]

    def test_code_snapshot_path(self, project: Path, recorded: str) -> None:
        manager = TmtManager()
        manager.set_entry_by_id(recorded)
        snapshot = Path(manager.code_snapshot_path())
        assert snapshot == project / ".tmt" / "snapshots" / recorded
        assert (snapshot / "train.py").read_text() == "print('training')\n"

    def test_set_entry_by_name_picks_the_newest_run(self, project: Path) -> None:
        @tmt_recorder(name="timeline")
        def train(i):
            return {"i": i}

        for i in range(3):
            train(i)
        assert TmtManager().set_entry_by_name("timeline").metrics == {"i": 2}

    def test_entry_converts_to_a_dict(self, recorded: str) -> None:
        entry = TmtManager().set_entry_by_id(recorded)
        data = entry.to_dict()
        assert data["id"] == recorded and data["name"] == "example"
        assert data["metrics"] == {"f1": 0.8, "accuracy": 0.9}
        assert isinstance(entry.date_created, int) and isinstance(entry.date_saved, int)
        assert entry.date_saved >= entry.date_created
        assert [r.name for r in entry.results] == ["preds", "probs"]
        assert entry.description == ""

    def test_an_entry_can_be_given_directly(self, recorded: str) -> None:
        entry = TmtManager().db.get_entry_by_id(recorded)
        assert dict(TmtManager(entry=entry).get_metrics())["f1"] == 0.8


class TestErrors:
    def test_unknown_id(self, recorded: str) -> None:
        with pytest.raises(EntryNotFound, match="no run with id 'nope'"):
            TmtManager().set_entry_by_id("nope")

    def test_unknown_name(self, recorded: str) -> None:
        with pytest.raises(EntryNotFound, match="no run named 'nope'"):
            TmtManager().set_entry_by_name("nope")

    @pytest.mark.parametrize("method", ["get_metrics", "code_snapshot_path"])
    def test_no_run_selected(self, project: Path, method: str) -> None:
        with pytest.raises(EntryNotFound, match="no run selected"):
            getattr(TmtManager(), method)()

    def test_no_run_selected_for_results(self, project: Path) -> None:
        with pytest.raises(EntryNotFound, match="no run selected"):
            list(TmtManager().results_paths())

    def test_a_missing_result_file_yields_its_path_with_a_warning(self, recorded) -> None:
        manager = TmtManager()
        manager.set_entry_by_id(recorded)
        first = next(manager.results_paths())[1]
        Path(first).unlink()
        with pytest.warns(UserWarning, match="could not be unpickled"):
            loaded = dict(manager.load_results())
        assert loaded["preds"] == first

    def test_a_result_whose_class_is_gone_warns_and_the_next_loads(self, run_python) -> None:
        """Unpickling needs the class; renamed or deleted since, it costs only that result."""
        run_python(
            """
            from tmt import tmt_recorder, tmt_save

            class Model:
                pass

            @tmt_recorder(name="gone")
            def train():
                tmt_save(Model(), name="model")
                tmt_save([1, 2], name="preds")

            train()
            """
        )
        manager = TmtManager()
        manager.set_entry_by_name("gone")
        with pytest.warns(UserWarning, match=r"'model'.*could not be unpickled.*AttributeError"):
            loaded = dict(manager.load_results())
        assert loaded["model"].endswith("model.pkl") and loaded["preds"] == [1, 2]


class TestReadOnly:
    def test_a_manager_creates_nothing(self, project: Path) -> None:
        """Reading where nothing was recorded finds no runs and leaves no .tmt behind."""
        manager = TmtManager()
        assert manager.db.get_all_entries() == []
        assert not (project / ".tmt").exists()


class TestSubEntries:
    def test_results_of_sub_entries_come_with_the_parent(self, project: Path) -> None:
        """As in 0.1.x, a parent's results include those of runs attached to it."""
        from tmt import DuplicatePolicy, DuplicateStrategy

        @tmt_recorder(name="p")
        def parent():
            tmt_save(1, name="a")

        @tmt_recorder(name="p", duplicate_strategy=DuplicateStrategy(DuplicatePolicy.AS_SUB_ENTRY))
        def child():
            tmt_save(2, name="b")

        parent()
        parent_id = TmtManager().set_entry_by_name("p").id
        child()
        manager = TmtManager()
        manager.set_entry_by_id(parent_id)
        assert list(manager.load_results()) == [("a", 1), ("b", 2)]


class TestManyRuns:
    @pytest.fixture
    def three(self, project: Path) -> list[str]:
        import time

        ids = []
        for name, tags in (("a", ["x"]), ("b", ["x", "y"]), ("a", [])):
            tmt_recorder(name=name, tags=tags)(lambda: {"acc": 0.5, "cfg": {"lr": 0.1}})()
            ids.append(TmtManager().last().id)
            time.sleep(0.01)
        return ids

    def test_runs_newest_first_with_filters(self, three) -> None:
        import re

        m = TmtManager()
        assert [e.id for e in m.runs()] == three[::-1]
        assert [e.id for e in m.runs(name="a")] == [three[2], three[0]]
        assert [e.id for e in m.runs(name=re.compile("^[ab]$"), tags="x")] == three[1::-1]
        assert [e.id for e in m.runs(tags=["x", "y"])] == [three[1]]
        assert m.runs(since="1h", status="finished")[0].id == three[2]
        assert m.runs(until="2000-01-01") == []

    def test_the_newest_few(self, three) -> None:
        m = TmtManager()
        assert [e.id for e in m.runs(limit=2)] == [three[2], three[1]]
        assert [e.id for e in m.runs(name="a", limit=1)] == [three[2]]
        assert [e.id for e in m.runs(where="name=a", limit=5)] == [three[2], three[0]]
        assert [e.id for e in m.runs(where="name!=a")] == [three[1]]
        assert m.runs(limit=0) == []
        assert m.runs(name="a", where="name=b") == []

    def test_a_listed_run_reads_the_rest_of_its_record_when_asked(self, three) -> None:
        listed = TmtManager().runs()[0]
        assert listed.environment["python"] and listed.argv == TmtManager().last().argv
        assert listed.to_dict()["id"] == three[2] and listed == TmtManager().last()

    def test_a_run_deleted_after_listing_keeps_what_was_listed(self, project, three) -> None:
        import shutil

        listed = TmtManager().runs()[0]
        shutil.rmtree(project / ".tmt" / "runs" / listed.id)
        assert (listed.name, listed.status, listed.cells()["metrics.acc"]) == ("a", "finished", 0.5)
        assert listed.environment == {}

    def test_last_and_references(self, three) -> None:
        m = TmtManager()
        assert m.last().id == three[2] and m.last("b").id == three[1]
        assert m.run("last~2").id == three[0]
        assert m.set_entry(three[1][:5]).id == three[1]
        assert m.set_entry_by_id(three[1][:5]).id == three[1]
        with pytest.raises(EntryNotFound, match="no run named 'zz'"):
            m.last("zz")

    def test_to_dataframe(self, three) -> None:
        df = TmtManager().to_dataframe()
        assert list(df["id"]) == three[::-1]
        assert {
            "name",
            "status",
            "started",
            "duration",
            "tags",
            "metrics.acc",
            "metrics.cfg.lr",
        } <= set(df.columns)
        assert df["metrics.cfg.lr"].tolist() == [0.1, 0.1, 0.1]

    def test_to_dataframe_without_pandas_names_the_extra(self, three, monkeypatch) -> None:
        import builtins

        real_import = builtins.__import__

        def no_pandas(name, *args, **kwargs):
            if name == "pandas":
                raise ImportError("no pandas")
            return real_import(name, *args, **kwargs)

        monkeypatch.setattr(builtins, "__import__", no_pandas)
        with pytest.raises(ImportError, match=r"ThatMetricTimeline\[pandas\]"):
            TmtManager().to_dataframe()


@pytest.fixture
def sweep(project: Path) -> list[str]:
    """Three runs of "digits" with argparse-style nested parameters, one logging a series."""
    import argparse
    import time

    from tmt import tmt_log

    @tmt_recorder(name="digits")
    def train(args):
        for step in range(3):
            tmt_log("loss", 1.0 / (step + 1) / args.lr, step)
        return {"val_acc": 1 - args.lr}

    ids = []
    for lr in (0.3, 0.1, 0.2):
        train(argparse.Namespace(lr=lr, epochs=3))
        ids.append(TmtManager().last().id)
        time.sleep(0.01)
    return ids


class TestQueries:
    def test_runs_where(self, sweep) -> None:
        m = TmtManager()
        assert [e.id for e in m.runs(where="lr>=0.2")] == [sweep[2], sweep[0]]
        assert [e.id for e in m.runs(where="args.lr=0.1 val_acc>0.8")] == [sweep[1]]

    def test_a_typo_in_where_names_the_closest(self, sweep) -> None:
        from tmt import UnknownFieldError

        with pytest.raises(UnknownFieldError, match="did you mean val_acc"):
            TmtManager().runs(where="val_ac>0.5")

    def test_fields_resolve_leaf_names(self, sweep) -> None:
        assert TmtManager().fields().resolve("lr") == "params.args.lr"


class TestDataFrames:
    def test_columns_by_any_name(self, sweep) -> None:
        df = TmtManager().to_dataframe(where="lr<0.25", columns=["lr", "val_acc"])
        assert list(df.columns)[-2:] == ["lr", "val_acc"]
        assert df["lr"].tolist() == [0.2, 0.1]
        assert df["val_acc"].tolist() == pytest.approx([0.8, 0.9])

    def test_an_empty_store_has_the_documented_columns(self, project: Path) -> None:
        df = TmtManager().to_dataframe()
        assert len(df) == 0
        assert list(df.columns) == list(FRAME_COLUMNS)
        assert df.status.tolist() == [] and str(df.started.dtype).startswith("datetime64")

    def test_series_of_many_runs_as_one_long_frame(self, sweep) -> None:
        m = TmtManager()
        df = m.series_dataframe(names="loss")
        assert list(df.columns) == ["id", "name", "step", "value", "time"]
        assert len(df) == 9 and set(df["id"]) == set(sweep)
        first = df[df["id"] == sweep[0]]
        assert first["step"].tolist() == [0, 1, 2]
        assert first["value"].tolist() == pytest.approx([1 / 0.3, 0.5 / 0.3, 1 / 0.9])
        merged = df.merge(m.to_dataframe(columns=["lr"]), on="id")
        assert set(merged["lr"]) == {0.1, 0.2, 0.3}

    def test_series_of_chosen_runs(self, sweep) -> None:
        m = TmtManager()
        df = m.series_dataframe(m.runs(where="lr=0.1"))
        assert set(df["id"]) == {sweep[1]} and set(df["name"]) == {"loss"}


class TestFindingTheStore:
    """Reading finds the project's store from any folder inside it, as git finds .git."""

    def test_from_a_subfolder(self, sweep, project: Path, monkeypatch) -> None:
        notebooks = project / "notebooks" / "deep"
        notebooks.mkdir(parents=True)
        monkeypatch.chdir(notebooks)
        m = TmtManager()
        assert m.root == str(project / ".tmt")
        assert len(m.runs()) == 3

    def test_the_projects_configuration_is_used_from_a_subfolder(
        self, project: Path, monkeypatch
    ) -> None:
        (project / ".tmt").mkdir()
        (project / ".tmt" / "config.json").write_text('{"tmt_dir": "elsewhere"}')
        (project / "sub").mkdir()
        monkeypatch.chdir(project / "sub")
        assert TmtManager().root == str(project / "elsewhere")

    def test_a_path_opens_any_store(self, sweep, project: Path, tmp_path, monkeypatch) -> None:
        monkeypatch.chdir(tmp_path)
        for path in (project, project / ".tmt", str(project)):
            assert len(TmtManager(path=path).runs()) == 3

    def test_a_path_without_a_store_is_an_error(self, project: Path, tmp_path) -> None:
        from tmt import ConfigError

        empty = tmp_path / "empty"
        empty.mkdir()
        with pytest.raises(ConfigError, match="no tmt store there"):
            TmtManager(path=empty)
        with pytest.raises(ConfigError, match="no such folder"):
            TmtManager(path=tmp_path / "missing")

    def test_config_and_path_together_are_an_error(self, project: Path) -> None:
        from tmt import ArgumentError

        with pytest.raises(ArgumentError, match="config or path"):
            TmtManager(config="x.json", path=project)

    def test_recording_keeps_the_working_folder(self, sweep, project: Path, monkeypatch) -> None:
        sub = project / "sub"
        sub.mkdir()
        monkeypatch.chdir(sub)
        tmt_recorder(name="here")(lambda: {"x": 1})()
        assert (sub / ".tmt").is_dir()
        assert [e.name for e in TmtManager().runs()] == ["here"]  # the nearest store

    def test_the_stamp_changes_when_a_run_is_added(self, sweep) -> None:
        m = TmtManager()
        before = m.stamp()
        assert m.stamp() == before
        tmt_recorder(name="new")(lambda: {"x": 1})()
        assert m.stamp() != before


class TestReviewedEdges:
    def test_a_store_folder_is_read_as_it_lies_whatever_its_config_says(
        self, sweep, project: Path, tmp_path, monkeypatch
    ) -> None:
        import shutil

        copy = tmp_path / "archive" / "mystore"
        shutil.copytree(project / ".tmt", copy, symlinks=True)
        (copy / "config.json").write_text('{"tmt_dir": "/nowhere/.tmt"}')
        monkeypatch.chdir(tmp_path)
        assert len(TmtManager(path=copy).runs()) == 3

    def test_names_are_not_checked_against_no_runs(self, sweep) -> None:
        m = TmtManager()
        assert m.runs(where="status:pruned val_acc>0.9") == []
        assert m.runs(status="pruned", where="val_acc>0.9") == []
        df = m.to_dataframe(where="status:pruned", columns=["val_acc"])
        assert list(df.columns)[-1] == "val_acc" and len(df) == 0

    def test_the_frame_holds_stored_values_whichever_columns_are_asked(self, sweep) -> None:
        m = TmtManager()
        whole = m.to_dataframe()
        picked = m.to_dataframe(columns=["metrics.val_acc"])
        assert whole["metrics.val_acc"].tolist() == picked["metrics.val_acc"].tolist()
