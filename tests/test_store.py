"""The store: one atomic record per run, a derived index, and tmt 0.1.x databases still read."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import warnings
from pathlib import Path

import pytest

from tmt import Configs, TmtManager, tmt_log, tmt_recorder
from tmt.store import Store

from conftest import records, tmt


def record_runs(n: int, name: str = "r") -> None:
    for i in range(n):
        tmt_recorder(name=name)(lambda i=i: {"i": i})()


class TestLayout:
    def test_documented_layout(self, project: Path) -> None:
        record_runs(1)
        (r,) = records(project)
        tmt = project / ".tmt"
        assert (tmt / "runs" / r["id"] / "run.json").is_file()
        assert (tmt / "snapshots" / r["id"]).is_dir()
        assert os.readlink(tmt / "snapshots" / "last") == r["id"]
        assert not (tmt / "tmt_db.json").exists()  # only read, for 0.1.x stores

    def test_nothing_is_written_outside_the_store(self, project: Path) -> None:
        before = set(os.listdir(project))
        record_runs(2)
        assert set(os.listdir(project)) - before == {".tmt"}

    def test_no_temporary_files_are_left(self, project: Path) -> None:
        record_runs(3)
        tmt = project / ".tmt"
        assert [p for p in tmt.rglob("*.tmp") if p.is_file()] == []
        assert list((tmt / "snapshots" / ".tmp").iterdir()) == []


class TestIndex:
    def test_index_is_derived_and_can_be_deleted(self, project: Path) -> None:
        record_runs(3)
        manager = TmtManager()
        assert len(manager.db.get_all_entries()) == 3
        index = Path(manager.store.index.path)
        index.unlink()
        assert len(TmtManager().db.get_all_entries()) == 3
        assert index.exists()

    def test_a_changed_record_is_seen_through_the_index(self, project: Path) -> None:
        """An edit to a run.json (a rewrite, as tmt does) shows up on the next read."""
        record_runs(1)
        store = Store(Configs())
        store.records()  # builds the index
        (r,) = records(project)
        r["description"] = "edited later"
        store.write_record(r)
        assert store.records()[0]["description"] == "edited later"

    def test_a_new_run_is_seen_after_the_index_was_built(self, project: Path) -> None:
        record_runs(2)
        store = Store(Configs())
        assert len(store.records()) == 2
        record_runs(1)
        assert len(store.records()) == 3

    def test_an_old_cached_record_is_trusted_without_rereading(self, project: Path) -> None:
        """Records older than the racy window are served from the index."""
        record_runs(1)
        (r,) = records(project)
        path = project / ".tmt" / "runs" / r["id"]
        old = path.stat().st_mtime - 60
        os.utime(path, (old, old))
        store = Store(Configs())
        store.records()
        with sqlite3.connect(store.index.path) as db:
            (key,) = db.execute("SELECT ino, mtime FROM runs WHERE id = ?", (r["id"],))
        assert key == (path.stat().st_ino, path.stat().st_mtime_ns)

    def test_annotations_are_merged_and_seen_through_the_index(self, project: Path) -> None:
        """Tags and notes added later live apart from run.json, and show up on reading."""
        record_runs(1)
        store = Store(Configs())
        store.records()
        (r,) = records(project)
        assert store.annotate(r["id"], add=["best"], note="use this one") == ["best"]
        (merged,) = store.records()
        assert merged["tags"] == ["best"] and merged["note"] == "use this one"
        assert records(project)[0]["tags"] == []  # run.json itself is untouched
        assert store.record(r["id"])["note"] == "use this one"

    def test_a_deleted_run_disappears(self, project: Path) -> None:
        record_runs(2)
        store = Store(Configs())
        store.records()
        victim = records(project)[0]["id"]
        shutil.rmtree(project / ".tmt" / "runs" / victim)
        assert [r["id"] for r in store.records()] != [] and victim not in {
            r["id"] for r in store.records()
        }

    def test_an_unreadable_record_is_skipped_with_a_warning(self, project: Path) -> None:
        record_runs(2)
        bad = project / ".tmt" / "runs" / records(project)[0]["id"] / "run.json"
        bad.write_text("{ not json")
        with pytest.warns(UserWarning, match=r"run\.json: unreadable run record skipped"):
            entries = TmtManager().db.get_all_entries()
        assert len(entries) == 1


class TestDamagedIndex:
    @pytest.mark.parametrize(
        ("facts", "cells"),
        [("5", "{}"), ("null", "{}"), ("x", "x"), ("{", "{"), (None, None), ("{}", 5)],
    )
    def test_a_damaged_row_is_read_again_from_the_run(self, project: Path, facts, cells) -> None:
        record_runs(2)
        manager = TmtManager()
        expected = [(e.id, e.name, e.cells()) for e in manager.runs()]
        with sqlite3.connect(manager.store.index.path) as db:
            db.execute("UPDATE runs SET facts = ?, cells = ?", (facts, cells))
        assert [(e.id, e.name, e.cells()) for e in TmtManager().runs()] == expected
        assert tmt("list", cwd=project).returncode == 0

    @pytest.mark.parametrize("column", ["cells", "facts"])
    def test_damaged_json_is_read_from_the_run(self, project: Path, column: str) -> None:
        record_runs(1)
        manager = TmtManager()
        last = manager.last()
        expected = (last.cells(), last.description, last.series_names(), last.status)
        with sqlite3.connect(manager.store.index.path) as db:
            db.execute(f"UPDATE runs SET {column} = '{{[1'")
        last = TmtManager().last()
        assert (last.cells(), last.description, last.series_names(), last.status) == expected


class TestFilesThatAreNotFiles:
    """A FIFO, a folder or a link to a device where the store has a file hangs nothing."""

    @pytest.mark.parametrize("name", ["run.json", "annotations.json", "stdout.txt", "metrics.csv"])
    @pytest.mark.parametrize("kind", ["fifo", "devzero", "folder"])
    def test_in_a_run_folder(self, project: Path, name: str, kind: str) -> None:

        record_runs(2)
        victim = project / ".tmt" / "runs" / records(project)[0]["id"] / name
        if victim.exists():
            victim.unlink()
        {"fifo": os.mkfifo, "folder": os.mkdir}.get(kind, lambda p: os.symlink("/dev/zero", p))(
            victim
        )
        listed = tmt("list", "--json", cwd=project)  # a hang is the test's timeout
        assert listed.returncode == 0, listed.stderr
        expected = 1 if name == "run.json" else 2
        assert len(json.loads(listed.stdout)) == expected
        for ref in ("last", "last~1") if expected == 2 else ("last",):
            shown = tmt("show", ref, cwd=project)
            assert shown.returncode == 0, shown.stderr

    def test_garbled_files_of_a_run_are_shown_as_far_as_they_go(self, project: Path) -> None:
        @tmt_recorder(name="g")
        def run():
            tmt_log("loss", 0.5)
            print("hello")

        run()
        run_dir = project / ".tmt" / "runs" / records(project)[0]["id"]
        (run_dir / "metrics.csv").write_bytes(
            b'name,step,value,time\nloss,0,0.5,1.0\n\x00\xff,x\n"unterminated,1,2\n'
        )
        (run_dir / "stdout.txt").write_bytes(b"caf\xe9 \xff\xfe\n")
        shown = tmt("show", cwd=project)
        assert shown.returncode == 0, shown.stderr
        assert "caf\ufffd" in shown.stdout and "loss" in shown.stdout
        assert TmtManager().last().series("loss").values == [0.5]

    def test_a_run_whose_series_file_is_gone_still_shows(self, project: Path) -> None:
        """A full disk, or a hand, can leave run.json naming series metrics.csv lacks."""

        @tmt_recorder(name="g")
        def run():
            tmt_log("loss", 0.5)

        run()
        run_dir = project / ".tmt" / "runs" / records(project)[0]["id"]
        (run_dir / "metrics.csv").unlink()
        assert tmt("show", cwd=project).returncode == 0
        from tmt.tui.views import DetailView

        DetailView(TmtManager().last())
        assert TmtManager().last().all_series() == {}

    def test_the_index_the_changes_log_and_the_package_list(self, project: Path) -> None:

        record_runs(2)
        os.mkfifo(project / ".tmt" / "changes.log")
        index = TmtManager().store.index.path
        os.makedirs(os.path.dirname(index), exist_ok=True)
        os.mkfifo(index)
        for env in (project / ".tmt" / "envs").iterdir():
            env.unlink()
            os.symlink("/dev/zero", env)
        assert tmt("list", cwd=project).returncode == 0
        assert tmt("show", cwd=project).returncode == 0
        assert TmtManager().last().packages() == {}


LEGACY_DB = {
    "data": [
        {
            "id": "6b1c3f0e-0000-4000-8000-000000000001",
            "name": "old_experiment",
            "args": "train.py --lr 0.1",
            "date_created": 1600000000,
            "local_results_path": ".tmt/results",
            "local_snapshot_path": ".tmt/snapshots/6b1c3f0e-0000-4000-8000-000000000001",
            "description": "from 2020",
            "date_saved": 1600000060,
            "metrics": [
                {"entry_id": "6b1c3f0e-0000-4000-8000-000000000001", "name": "f1", "value": 0.7}
            ],
            "other_runs": [
                {
                    "id": "6b1c3f0e-0000-4000-8000-000000000002",
                    "name": "old_experiment",
                    "args": "train.py",
                    "date_created": 1600000100,
                    "local_results_path": ".tmt/results",
                    "metrics": [],
                    "other_runs": [],
                    "results": [],
                }
            ],
            "results": [
                {
                    "entry_id": "6b1c3f0e-0000-4000-8000-000000000001",
                    "name": "preds",
                    "path": ".tmt/results/6b1c3f0e-0000-4000-8000-000000000001/preds.pkl",
                }
            ],
            "version": "0.1.8",
        }
    ]
}


class TestLegacyDatabase:
    @pytest.fixture
    def legacy(self, project: Path) -> Path:
        (project / ".tmt").mkdir()
        (project / ".tmt" / "tmt_db.json").write_text(json.dumps(LEGACY_DB))
        results = project / ".tmt" / "results" / "6b1c3f0e-0000-4000-8000-000000000001"
        results.mkdir(parents=True)
        import pickle

        (results / "preds.pkl").write_bytes(pickle.dumps([1, 2]))
        return project

    def test_old_runs_show_up_in_every_query(self, legacy: Path) -> None:
        record_runs(1, name="old_experiment")
        db = TmtManager().db
        assert len(db.get_all_entries()) == 3
        assert len(db.get_entries_by_name("old")) == 3
        assert len(db.get_entries_lower_than_date(1600000050)) == 1
        old = db.get_entry_by_id("6b1c3f0e-0000-4000-8000-000000000001")
        assert old.metrics == {"f1": 0.7}
        assert old.description == "from 2020"
        assert old.date_created == 1600000000 and old.date_saved == 1600000060
        assert old.legacy

    def test_old_results_load(self, legacy: Path) -> None:
        manager = TmtManager()
        manager.set_entry_by_id("6b1c3f0e-0000-4000-8000-000000000001")
        assert list(manager.load_results()) == [("preds", [1, 2])]
        assert manager.code_snapshot_path() == str(
            legacy / ".tmt" / "snapshots" / "6b1c3f0e-0000-4000-8000-000000000001"
        )

    def test_sub_entries_become_child_runs(self, legacy: Path) -> None:
        child = TmtManager().db.get_entry_by_id("6b1c3f0e-0000-4000-8000-000000000002")
        assert child.parent == "6b1c3f0e-0000-4000-8000-000000000001"

    def test_the_old_database_is_never_written(self, legacy: Path) -> None:
        before = (legacy / ".tmt" / "tmt_db.json").read_bytes()
        record_runs(2, name="old_experiment")
        TmtManager().db.get_all_entries()
        assert (legacy / ".tmt" / "tmt_db.json").read_bytes() == before

    def test_odd_entries_are_skipped_and_the_others_read(self, project: Path) -> None:
        """One odd entry of a 0.1.x database costs that entry, with a warning, not the rest."""
        odd = [
            {"id": "s", "date_created": "2020-09-13"},
            {"id": "m", "date_created": 1, "metrics": [{"name": ["x"], "value": 1}, 5]},
            {"id": "r", "date_created": 1, "results": [{"name": "a", "path": 3}, "junk"]},
            {"name": "no id"},
            "not an entry",
            {"id": "d", "date_created": 1, "description": 5, "args": ["a"], "other_runs": "x"},
            {"id": "t", "date_created": True},
            {"id": "inf", "date_created": float("inf")},
            {"id": "far", "date_created": 1e20},
        ]
        db = {"data": [*LEGACY_DB["data"], *odd]}
        (project / ".tmt").mkdir()
        (project / ".tmt" / "tmt_db.json").write_text(json.dumps(db))
        with pytest.warns(UserWarning, match=r"tmt_db\.json: entries skipped: entry 1 \(s\)"):
            ids = {e.id for e in TmtManager().db.get_all_entries()}
        assert ids == {
            "6b1c3f0e-0000-4000-8000-000000000001",
            "6b1c3f0e-0000-4000-8000-000000000002",
            "m",
            "r",
            "d",
        }

        for args in (["list"], ["export"], ["show", "m"], ["timeline", "old_experiment"]):
            proc = tmt(*args, cwd=project)
            assert proc.returncode == 0, proc.stderr

    def test_times_no_tool_can_show_are_left_out(self, project: Path) -> None:
        record_runs(2)
        run_json = project / ".tmt" / "runs" / records(project)[0]["id"] / "run.json"
        data = json.loads(run_json.read_text())
        data["start_time"], data["end_time"] = 1e20, -1e15
        run_json.write_text(json.dumps(data))
        with pytest.warns(UserWarning, match="'start_time'.*'end_time'"):
            assert len(TmtManager().to_dataframe()) == 2
        for args in (["list"], ["show", data["id"]], ["timeline", "r"]):
            assert tmt(*args, cwd=project).returncode == 0

    def test_a_corrupt_old_database_is_skipped_with_a_warning(self, project: Path) -> None:
        (project / ".tmt").mkdir()
        (project / ".tmt" / "tmt_db.json").write_text('{"data": [')
        record_runs(1)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            entries = TmtManager().db.get_all_entries()
        assert len(entries) == 1
        assert any("unreadable tmt 0.1.x database" in str(w.message) for w in caught)


class TestManyProcesses:
    def test_eight_processes_recording_at_once_lose_nothing(self, project: Path) -> None:
        """8 processes x 15 runs into one store, at the same time, leave all 120 runs."""
        import subprocess
        import sys

        from conftest import REPO

        code = (
            "import sys\n"
            "from tmt import tmt_recorder, tmt_save\n"
            "@tmt_recorder(name='worker' + sys.argv[1])\n"
            "def run(i):\n"
            "    tmt_save(i, name='i')\n"
            "    return {'i': i, 'worker': int(sys.argv[1])}\n"
            "for i in range(15):\n"
            "    run(i)\n"
        )
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        procs = [
            subprocess.Popen([sys.executable, "-c", code, str(w)], cwd=project, env=env)
            for w in range(8)
        ]
        assert [p.wait(timeout=120) for p in procs] == [0] * 8
        entries = TmtManager().db.get_all_entries()
        assert len(entries) == 120
        assert {e.status for e in entries} == {"finished"}
        seen = {(e.metrics["worker"], e.metrics["i"]) for e in entries}
        assert seen == {(w, i) for w in range(8) for i in range(15)}
        assert all(len(e.results) == 1 for e in entries)


class TestRunFolders:
    """Each run reserves a folder named by a fresh 12-hex-digit id."""

    def test_ids_are_twelve_hex_digits(self, project: Path) -> None:
        store = Store(Configs())
        ids = {store.create_run_dir() for _ in range(3)}
        assert len(ids) == 3
        for run_id in ids:
            assert len(run_id) == 12 and int(run_id, 16) >= 0
            assert os.path.isdir(store.run_dir(run_id))

    def test_a_store_that_cannot_be_made_says_why(self, project: Path) -> None:
        from tmt.errors import StoreError

        (project / ".tmt").mkdir()
        (project / ".tmt" / "runs").write_text("in the way")
        with pytest.raises(StoreError, match=r"cannot create the run store .*runs: File exists$"):
            Store(Configs()).create_run_dir()


class TestRecordById:
    """Only a plain id names a run: one with a slash, a leading dot or none is no run."""

    @pytest.mark.parametrize("bad", ["", ".", "..", ".hidden", "x/../{id}", "../runs/{id}"])
    def test_ids_that_are_paths_find_nothing(self, project: Path, bad: str) -> None:
        record_runs(1)
        (r,) = records(project)
        store = Store(Configs())
        assert store.record(r["id"])["id"] == r["id"]
        assert store.record(bad.format(id=r["id"])) is None

    def test_a_hidden_folder_with_a_record_is_no_run(self, project: Path) -> None:
        record_runs(1)
        (r,) = records(project)
        hidden = project / ".tmt" / "runs" / ".hidden"
        shutil.copytree(project / ".tmt" / "runs" / r["id"], hidden)
        record = json.loads((hidden / "run.json").read_text())
        record["id"] = ".hidden"
        (hidden / "run.json").write_text(json.dumps(record))
        assert Store(Configs()).record(".hidden") is None


class TestAnnotations:
    """Tags and notes added later live in annotations.json, beside the run's own record."""

    def test_the_file_has_a_schema_and_starts_from_the_recorded_tags(self, project: Path) -> None:
        tmt_recorder(name="a", tags=["x", "y"])(lambda: None)()
        (r,) = records(project)
        store = Store(Configs())
        assert store.annotate(r["id"], add=["z", "z"], remove=["x"], note="hi") == ["y", "z"]
        path = project / ".tmt" / "runs" / r["id"] / "annotations.json"
        assert json.loads(path.read_text()) == {"schema": 1, "tags": ["y", "z"], "note": "hi"}
        assert store.annotate(r["id"], add=["x"]) == ["y", "z", "x"]
        assert json.loads(path.read_text())["note"] == "hi"

    def test_the_lock_file_is_not_executable(self, project: Path) -> None:
        record_runs(1)
        (r,) = records(project)
        Store(Configs()).annotate(r["id"], add=["t"])
        lock = project / ".tmt" / "runs" / r["id"] / ".annotations.lock"
        assert lock.stat().st_mode & 0o111 == 0

    def test_a_run_that_does_not_exist_cannot_be_annotated(self, project: Path) -> None:
        from tmt.errors import StoreError

        with pytest.raises(StoreError, match="no run folder"):
            Store(Configs()).annotate("0123456789ab", add=["t"])

    def test_tags_already_added_survive_an_unreadable_record(self, project: Path) -> None:
        """Once annotated, a run's tags come from its annotations alone."""
        record_runs(1)
        (r,) = records(project)
        store = Store(Configs())
        store.annotate(r["id"], add=["kept"])
        (project / ".tmt" / "runs" / r["id"] / "run.json").write_text("not json")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert store.annotate(r["id"], add=["new"]) == ["kept", "new"]


class TestOrder:
    """Records are listed oldest first, by when the run started, whatever the folders' order."""

    def test_oldest_first(self, project: Path) -> None:
        runs = project / ".tmt" / "runs"
        for name, start in (("b", 30.0), ("a", 10.0), ("c", 20.0), ("d", 5.0)):
            folder = runs / f"{name * 12}"
            folder.mkdir(parents=True)
            record = {"schema": 1, "id": name * 12, "name": name, "status": "finished"}
            (folder / "run.json").write_text(json.dumps({**record, "start_time": start}))
        assert [r["name"] for r in Store(Configs()).records()] == ["d", "a", "c", "b"]
