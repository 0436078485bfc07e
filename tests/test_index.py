"""The index: a cache of the run records, rebuilt from the runs' own files whenever they change."""

from __future__ import annotations

import json
import linecache
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

import tmt.index
from tmt import TmtManager
from tmt.index import SCHEMA, Index, cache_folder
from tmt.runfolder import read_annotations, read_run

# Times are set by hand, in nanoseconds: folders older than OLD are outside the racy window.
SECOND = 1_000_000_000
OLD = 60 * SECOND


class Store:
    """A store's ``runs`` folder, written by hand, and its index."""

    def __init__(self, root: Path) -> None:
        self.runs = root / "runs"
        self.runs.mkdir(parents=True)
        self.index = Index(str(self.runs))

    def load(self) -> list[dict]:
        """What the index gives of each run: its summary, with its cells."""
        self.index.refresh()
        return [
            {**record, **json.loads(others), "cells": json.loads(cells)}
            for record, others, cells in self.index.rows()
        ]

    def ids(self) -> set[str]:
        return {r["id"] for r in self.load()}

    def write(self, run_id: str, **fields: object) -> Path:
        """A run's record, written (atomically, as tmt writes it) into its folder."""
        folder = self.runs / run_id
        folder.mkdir(exist_ok=True)
        record = {"schema": 1, "id": run_id, "name": "r", "status": "finished"}
        record["start_time"] = 1_600_000_000.0
        record.update(fields)
        replace(folder / "run.json", json.dumps(record))
        return folder

    def cached(self) -> dict[str, tuple]:
        """The index's file, read directly: ``{id: (inode, mtime, name, tags)}``."""
        with sqlite3.connect(self.index.path) as db:
            rows = db.execute("SELECT id, ino, mtime, name, tags FROM runs").fetchall()
        return {
            i: (ino, mtime, name, tags and json.loads(tags)) for i, ino, mtime, name, tags in rows
        }


def replace(path: Path, text: str) -> None:
    """Write ``path`` as tmt does: a new file renamed over the old (so its folder changes)."""
    tmp = path.with_name(".new.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def age(folder: Path, ns: int = OLD) -> int:
    """Make ``folder`` look last changed ``ns`` nanoseconds ago; returns its new mtime."""
    mtime = time.time_ns() - ns
    os.utime(folder, ns=(mtime, mtime))
    return mtime


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / ".tmt")


class TestReading:
    """Every run folder holding a record of its own id is a run; nothing else is."""

    def test_no_runs_folder(self, tmp_path: Path) -> None:
        index = Index(str(tmp_path / "runs"))
        index.refresh()
        assert list(index.rows()) == []
        assert not (tmp_path / "runs").exists()

    def test_an_empty_store(self, store: Store) -> None:
        assert store.load() == []

    def test_records_are_read(self, store: Store) -> None:
        store.write("a", name="first")
        store.write("b", name="second", metrics={"acc": 0.5})
        found = {r["id"]: r for r in store.load()}
        assert set(found) == {"a", "b"}
        assert found["a"]["name"] == "first"
        assert found["b"]["cells"] == {"metrics.acc": 0.5}

    def test_hidden_folders_are_not_runs(self, store: Store) -> None:
        store.write("a")
        store.write(".partial")  # a run folder being created, say
        assert store.ids() == {"a"}

    def test_files_and_symlinks_are_not_runs(self, store: Store, tmp_path: Path) -> None:
        store.write("a")
        (store.runs / "notes.txt").write_text("{}")
        elsewhere = Store(tmp_path / "other")
        (elsewhere.runs / "b").mkdir()
        (elsewhere.runs / "b" / "run.json").write_text(json.dumps({"id": "b"}))
        (store.runs / "b").symlink_to(elsewhere.runs / "b")
        (store.runs / "c").symlink_to(store.runs / "a")
        assert store.ids() == {"a"}

    def test_a_folder_without_a_record_is_skipped_quietly(self, store: Store, recwarn) -> None:
        store.write("a")
        (store.runs / "b").mkdir()  # a run a moment before its first record
        assert store.ids() == {"a"}
        assert len(recwarn) == 0

    def test_an_unreadable_record_is_skipped_with_a_warning_naming_it(self, store: Store) -> None:
        store.write("a")
        bad = store.write("b") / "run.json"
        bad.write_text("{ not json")
        with pytest.warns(UserWarning) as caught:
            assert store.ids() == {"a"}
        (warning,) = caught
        assert str(warning.message).startswith(f"{bad}: unreadable run record skipped: ")

    def test_a_record_over_64_mib_is_skipped_with_a_warning(self, store: Store) -> None:
        bad = store.write("b") / "run.json"
        with open(bad, "wb") as f:
            f.truncate(64 * 1024 * 1024 + 1)  # sparse: costs no disk
        with pytest.warns(UserWarning) as caught:
            assert store.load() == []
        (warning,) = caught
        message = str(warning.message)
        assert message.startswith(f"{bad}: unreadable run record skipped: ")
        assert "larger than 67,108,864 bytes" in message

    @pytest.mark.parametrize("content", [{"id": "other"}, {"name": "no id"}, [1], "b", None])
    def test_a_record_of_another_id_is_not_a_run(self, store: Store, content: object) -> None:
        store.write("a")
        path = store.write("b") / "run.json"
        replace(path, json.dumps(content))
        with pytest.warns(UserWarning) as caught:
            assert store.ids() == {"a"}
        assert [str(w.message) for w in caught] == [
            f"{path}: not a run record (no matching 'id'); skipped"
        ]

    def test_fields_of_the_wrong_type_are_dropped_with_a_warning(self, store: Store) -> None:
        path = store.write("a", name=5, status=None, tags=["ok", 3]) / "run.json"
        with pytest.warns(UserWarning) as caught:
            (found,) = store.load()
        assert found["name"] == "" and "status" not in found  # as if absent
        assert found["tags"] == ["ok"]
        (warning,) = caught
        assert str(warning.message) == (
            f"{path}: fields of the wrong type ignored: "
            "'name' (5), 'status' (None), 1 of the items of 'tags'"
        )

    def test_a_good_record_gives_no_warning(self, store: Store, recwarn) -> None:
        store.write("a", tags=["x"], note="n")
        store.load()
        store.load()
        assert len(recwarn) == 0


class TestWarnings:
    """A warning points at the code that asked the store for runs, not into tmt."""

    @pytest.mark.parametrize(
        ("name", "content"),
        [
            ("run.json", "{ not json"),
            ("run.json", json.dumps({"id": "other"})),
            ("run.json", json.dumps({"id": "a", "name": 5})),
            ("annotations.json", "{ not json"),
        ],
    )
    def test_at_the_stores_caller(self, store: Store, name: str, content: str) -> None:
        (store.write("a") / name).write_text(content)
        with pytest.warns(UserWarning) as caught:
            store.load()
        (warning,) = caught
        assert warning.filename == __file__
        assert linecache.getline(warning.filename, warning.lineno).strip() == "self.index.refresh()"


class TestAnnotations:
    """Tags and notes added later live in ``annotations.json`` and win over the record's."""

    def test_merged(self, store: Store) -> None:
        folder = store.write("a", tags=["old"], note="old note")
        replace(folder / "annotations.json", json.dumps({"tags": ["best"], "note": "use this"}))
        (found,) = store.load()
        assert found["tags"] == ["best"] and found["note"] == "use this"
        assert json.loads((folder / "run.json").read_text())["tags"] == ["old"]

    def test_only_the_fields_given_are_replaced(self, store: Store) -> None:
        folder = store.write("a", tags=["old"], note="old note")
        replace(folder / "annotations.json", json.dumps({"note": "new"}))
        (found,) = store.load()
        assert found["tags"] == ["old"] and found["note"] == "new"
        replace(folder / "annotations.json", json.dumps({"tags": []}))
        (found,) = store.load()
        assert found.get("tags", []) == [] and found["note"] == "old note"

    def test_values_of_the_wrong_type_are_ignored(self, store: Store) -> None:
        folder = store.write("a", tags=["old"], note="old note")
        replace(folder / "annotations.json", json.dumps({"tags": ["ok", 5, None], "note": 3}))
        (found,) = store.load()
        assert found["tags"] == ["ok"] and found["note"] == "old note"
        assert read_annotations(str(folder)) == {"tags": ["ok"]}
        replace(folder / "annotations.json", json.dumps({"tags": "best", "note": ["n"]}))
        assert read_annotations(str(folder)) == {}
        replace(folder / "annotations.json", json.dumps(["best"]))
        assert read_annotations(str(folder)) == {}

    def test_none(self, store: Store) -> None:
        folder = store.write("a")
        assert read_annotations(str(folder)) == {}
        assert "note" not in read_run(str(folder), "a")

    def test_an_unreadable_file_is_ignored_with_a_warning(self, store: Store) -> None:
        folder = store.write("a", tags=["old"])
        (folder / "annotations.json").write_text("{ not json")
        with pytest.warns(UserWarning) as caught:
            (found,) = store.load()
        assert found["tags"] == ["old"]
        (warning,) = caught
        assert str(warning.message).startswith(
            f"{folder / 'annotations.json'}: unreadable annotations ignored: "
        )

    def test_read_run(self, store: Store) -> None:
        folder = store.write("a", tags=["old"])
        replace(folder / "annotations.json", json.dumps({"tags": ["new"]}))
        assert read_run(str(folder), "a")["tags"] == ["new"]
        with pytest.warns(UserWarning, match="no matching 'id'"):
            assert read_run(str(folder), "b") is None
        assert read_run(str(store.runs / "missing"), "missing") is None


class TestTheIndex:
    """The index holds each run's summary under the identity of its folder, and trusts it
    only while that identity is unchanged and old enough to be reliable."""

    def test_it_lives_in_the_cache_folder_not_in_the_store(
        self, store: Store, cache_folder: Path
    ) -> None:
        folder = store.write("a")
        mtime = age(folder)
        before = sorted(p.name for p in store.runs.parent.rglob("*"))
        store.load()
        assert sorted(p.name for p in store.runs.parent.rglob("*")) == before
        assert Path(store.index.path).parent.parent == cache_folder
        ino, cached_mtime, name, _ = store.cached()["a"]
        assert (ino, cached_mtime, name) == (folder.stat().st_ino, mtime, "r")

    def test_it_keeps_what_listing_needs_not_the_whole_record(self, store: Store) -> None:
        store.write("a", params={"opt": {"lr": 0.1}}, metrics={"acc": 0.9}, git={"commit": "x"})
        (found,) = store.load()
        assert found["cells"] == {"params.opt.lr": 0.1, "metrics.acc": 0.9}
        assert "git" not in found and "params" not in found

    def test_an_old_folder_is_served_from_the_index(self, store: Store) -> None:
        """A record edited in place (as tmt never does) is not seen: its folder is unchanged."""
        folder = store.write("a", name="first", end_time=1_600_000_001.0)
        mtime = age(folder)
        store.load()
        (folder / "run.json").write_text(json.dumps({"id": "a", "name": "edited in place"}))
        os.utime(folder, ns=(mtime, mtime))
        assert store.load()[0]["name"] == "first"

    def test_a_changed_folder_named_in_the_changes_log_is_read_again(self, store: Store) -> None:
        folder = store.write("a", name="first", end_time=1_600_000_001.0)
        age(folder)
        store.load()
        store.write("a", name="second", end_time=1_600_000_001.0)
        age(folder, 2 * OLD)
        with open(store.runs.parent / "changes.log", "a") as log:
            log.write("a\n")
        assert store.load()[0]["name"] == "second"
        assert store.cached()["a"][2] == "second"

    def test_a_run_that_ends_is_seen_though_runs_did_not_change(self, store: Store) -> None:
        folder = store.write("a", status="running")
        age(folder)
        age(store.runs)
        assert store.load()[0]["status"] == "running"
        store.write("a", status="finished", end_time=1_600_000_030.0)
        age(folder, 2 * OLD)
        age(store.runs, 2 * OLD)
        assert store.load()[0]["status"] == "finished"

    @pytest.mark.parametrize("content", ["{ not json", "", "SQLite format 3\x00" + "x" * 200])
    def test_a_damaged_index_is_made_again(self, store: Store, content: str) -> None:
        age(store.write("a", name="first"))
        store.load()
        Index(str(store.runs))  # a second reader, as another process would be
        for suffix in ("-wal", "-shm"):
            Path(store.index.path + suffix).unlink(missing_ok=True)
        Path(store.index.path).write_text(content)
        assert [r["name"] for r in Store.load(_fresh(store))] == ["first"]

    def test_an_index_of_another_version_is_not_trusted(self, store: Store) -> None:
        folder = store.write("a", name="first", end_time=1_600_000_001.0)
        age(folder)
        store.load()
        with sqlite3.connect(store.index.path) as db:
            db.execute('UPDATE runs SET facts = \'{"id": "a", "name": "stale"}\'')
        assert store.load()[0]["name"] == "stale"  # the same version: trusted
        with sqlite3.connect(store.index.path) as db:
            db.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (SCHEMA - 1,))
        assert Store.load(_fresh(store))[0]["name"] == "first"

    def test_an_index_of_another_version_with_other_tables_is_made_anew(self, store: Store) -> None:
        age(store.write("a", name="first"))
        store.load()
        with sqlite3.connect(store.index.path) as db:
            db.execute("DROP TABLE runs")
            db.execute("CREATE TABLE runs (id TEXT PRIMARY KEY, facts TEXT)")
            db.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (SCHEMA - 1,))
        assert [r["name"] for r in Store.load(_fresh(store))] == ["first"]

    def test_a_store_made_anew_at_the_same_place_is_read_anew(self, store: Store) -> None:
        age(store.write("a", name="first", end_time=1_600_000_001.0))
        store.load()
        shutil.rmtree(store.runs)
        store.runs.mkdir()
        age(store.write("b", name="second"))
        assert store.ids() == {"b"}

    def test_a_deleted_run_disappears_from_the_index_too(self, store: Store) -> None:
        age(store.write("a"))
        age(store.write("b"))
        store.load()
        shutil.rmtree(store.runs / "b")
        assert store.ids() == {"a"}
        assert set(store.cached()) == {"a"}

    def test_a_new_run_is_seen(self, store: Store) -> None:
        age(store.write("a"))
        store.load()
        age(store.write("b"))
        assert store.ids() == {"a", "b"}
        assert set(store.cached()) == {"a", "b"}

    def test_every_run_served_from_the_index_is_listed(self, store: Store) -> None:
        for name in "abcdefgh":
            age(store.write(name, end_time=1_600_000_001.0))
        age(store.runs)
        assert store.ids() == set("abcdefgh")
        assert store.ids() == set("abcdefgh")  # now every one from the index

    def test_without_a_cache_folder_it_is_kept_in_memory(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        blocker = tmp_path / "a file"
        blocker.write_text("")
        monkeypatch.setenv("TMT_CACHE_DIR", str(blocker / "cache"))
        runs = Store(tmp_path / ".tmt")
        runs.write("a")
        assert runs.ids() == {"a"}
        runs.write("b")
        assert runs.ids() == {"a", "b"}

    def test_annotations_are_cached_with_the_record(self, store: Store) -> None:
        folder = store.write("a", tags=["old"], end_time=1_600_000_001.0)
        replace(folder / "annotations.json", json.dumps({"tags": ["best"]}))
        age(folder)
        store.load()
        assert store.cached()["a"][3] == ["best"]


class TestCacheFolder:
    """Indexes go to ``$TMT_CACHE_DIR``, else ``$XDG_CACHE_HOME/tmt``, else ``~/.cache/tmt``."""

    def test_the_order(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
        monkeypatch.setenv("TMT_CACHE_DIR", str(tmp_path / "mine"))
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
        assert cache_folder() == str(tmp_path / "mine")
        monkeypatch.delenv("TMT_CACHE_DIR")
        assert cache_folder() == str(tmp_path / "xdg" / "tmt")
        monkeypatch.setenv("XDG_CACHE_HOME", "relative")  # ignored, as the XDG rules say
        assert cache_folder() == str(tmp_path / "home" / ".cache" / "tmt")

    def test_one_index_a_store(self, tmp_path: Path) -> None:
        one, two = Index(str(tmp_path / "a" / "runs")), Index(str(tmp_path / "b" / "runs"))
        assert one.path != two.path
        assert Index(str(tmp_path / "a" / "x" / ".." / "runs")).path == one.path


class TestOtherProcesses:
    """What other processes change shows at the next read, without reading every run."""

    def test_tags_and_notes_added_through_tmt(self, project: Path) -> None:
        runs = _record(project, 3)
        manager = TmtManager()
        assert [e.tags for e in manager.runs()] == [[], [], []]
        _in_another_process(project, f"TmtManager().tag({runs[1]!r}, 'best')")
        _in_another_process(project, f"TmtManager().note({runs[1]!r}, 'use this')")
        (tagged,) = [e for e in manager.runs() if e.tags]
        assert (tagged.id, tagged.tags, tagged.note) == (runs[1], ["best"], "use this")
        assert (project / ".tmt" / "changes.log").read_text().split() == [runs[1]] * 2

    def test_runs_deleted_by_tmt_rm_or_by_hand(self, project: Path) -> None:
        runs = _record(project, 3)
        manager = TmtManager()
        assert len(manager.runs()) == 3
        _in_another_process(project, f"TmtManager().delete([{runs[0]!r}])")
        shutil.rmtree(project / ".tmt" / "runs" / runs[2])
        assert [e.id for e in manager.runs()] == [runs[1]]

    def test_a_new_run(self, project: Path) -> None:
        _record(project, 1)
        manager = TmtManager()
        assert len(manager.runs()) == 1
        _record(project, 1)
        assert len(manager.runs()) == 2

    def test_a_replaced_changes_log_is_read_from_its_start(self, store: Store) -> None:
        folder = store.write("a", name="first", end_time=1_600_000_001.0)
        age(folder)
        age(store.runs)
        log = store.runs.parent / "changes.log"
        log.write_text("a\n")
        store.load()
        store.write("a", name="second", end_time=1_600_000_001.0)
        age(folder, 2 * OLD)
        assert store.load()[0]["name"] == "first"  # nothing says it changed
        replace(log, "a\n")  # another log (as rsync brings one): every run it names is read
        assert store.load()[0]["name"] == "second"

    def test_two_readers_at_once_agree(self, store: Store) -> None:
        for i in range(300):
            store.write(f"r{i:03d}", end_time=1_600_000_001.0)
        found: list[set[str]] = []
        threads = [threading.Thread(target=lambda: found.append(_fresh(store).ids())) for _ in "ab"]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert found == [{f"r{i:03d}" for i in range(300)}] * 2


def _fresh(store: Store) -> Store:
    """Another reader of the same store (a new Index, as another process has)."""
    other = Store.__new__(Store)
    other.runs, other.index = store.runs, Index(str(store.runs))
    return other


def _record(project: Path, count: int) -> list[str]:
    """Record ``count`` runs in another process; their ids, oldest first."""
    code = (
        "from tmt import tmt_recorder\n"
        "import tmt.manager\n"
        "f = tmt_recorder(name='r')(lambda: {'acc': 1})\n"
        f"for _ in range({count}): f()\n"
        f"print(' '.join(e.id for e in tmt.manager.TmtManager().runs(limit={count})[::-1]))"
    )
    return _in_another_process(project, code).split()


def _in_another_process(project: Path, code: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    done = subprocess.run(
        [sys.executable, "-c", "from tmt import TmtManager\n" + code],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


class TestRacyRecords:
    """A folder changed less than two seconds before reading may change again unseen within
    the filesystem's timestamp granularity: it is read every time and cached without a key."""

    NOW = 1_800_000_000 * SECOND

    @pytest.fixture
    def clock(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr("tmt.index.time", SimpleNamespace(time_ns=lambda: self.NOW))

    @pytest.mark.parametrize(
        ("ago", "racy"),
        [
            (0, True),
            (SECOND, True),
            (2 * SECOND, True),
            (2 * SECOND + 1, False),
            (3 * SECOND, False),
            (-SECOND, True),  # a clock set back: later than now
        ],
    )
    def test_the_window_is_two_seconds(self, store: Store, clock, ago: int, racy: bool) -> None:
        folder = store.write("a", name="first", end_time=1_600_000_001.0)
        os.utime(folder, ns=(self.NOW - ago, self.NOW - ago))
        store.load()
        ino, mtime, _, _ = store.cached()["a"]
        assert (ino, mtime) == ((None, None) if racy else (folder.stat().st_ino, self.NOW - ago))
        (folder / "run.json").write_text(json.dumps({"id": "a", "name": "edited in place"}))
        os.utime(folder, ns=(self.NOW - ago, self.NOW - ago))
        assert store.load()[0]["name"] == ("edited in place" if racy else "first")

    def test_a_record_that_settles_gets_its_key(self, store: Store, clock) -> None:
        folder = store.write("a", end_time=1_600_000_001.0)
        os.utime(folder, ns=(self.NOW, self.NOW))
        store.load()
        assert store.cached()["a"][:2] == (None, None)
        os.utime(folder, ns=(self.NOW - OLD, self.NOW - OLD))
        store.load()
        assert store.cached()["a"][:2] == (folder.stat().st_ino, self.NOW - OLD)

    def test_a_racy_runs_folder_is_listed_again(self, store: Store, clock) -> None:
        os.utime(store.runs, ns=(self.NOW, self.NOW))
        store.load()
        folder = store.write("a", end_time=1_600_000_001.0)
        os.utime(folder, ns=(self.NOW - OLD, self.NOW - OLD))
        os.utime(store.runs, ns=(self.NOW, self.NOW))  # a new folder within the same tick
        assert store.ids() == {"a"}


class TestManyNewFolders:
    """Many new folders are read by several processes; what they find is the same."""

    def test_shared_with_workers(
        self, store: Store, monkeypatch: pytest.MonkeyPatch, recwarn
    ) -> None:
        for i in range(40):
            store.write(f"r{i:02d}", metrics={"acc": i})
        bad = store.write("r07") / "run.json"
        bad.write_text("{ not json")
        (store.runs / "r99").mkdir()  # a run a moment before its record
        monkeypatch.setattr("tmt.index._PARALLEL", 10)
        monkeypatch.setattr("tmt.index._HEAD_START", 0)
        monkeypatch.setattr("tmt.index.os.cpu_count", lambda: 3)
        found = {r["id"]: r["cells"] for r in store.load()}
        assert set(found) == {f"r{i:02d}" for i in range(40)} - {"r07"}
        assert found["r33"] == {"metrics.acc": 33}
        messages = [str(w.message) for w in recwarn]
        assert messages == [
            f"{bad}: unreadable run record skipped: " + messages[0].split(": ", 2)[2]
        ]

    def test_a_worker_that_fails_costs_only_time(
        self, store: Store, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        for i in range(30):
            store.write(f"r{i:02d}")
        monkeypatch.setattr("tmt.index._PARALLEL", 10)
        monkeypatch.setattr("tmt.index.os.cpu_count", lambda: 2)
        monkeypatch.setattr("tmt.index.sys.executable", "/nonexistent/python")
        assert store.ids() == {f"r{i:02d}" for i in range(30)}


class TestReviewedEdges:
    """What an adversarial review found, kept fixed."""

    def test_text_that_is_not_valid_unicode_is_kept(self, store: Store) -> None:
        store.write("a", name="caf\udce9", note="n\udcff", tags=["x\udce9"])
        os.mkdir(os.fsencode(store.runs) + b"/bad\xff")  # a folder named in other bytes
        (found,) = store.load()
        assert found["name"] == "caf\ufffd" and found["tags"] == ["x\udce9"]

    def test_a_tag_that_is_not_valid_unicode(self, project: Path) -> None:
        _record(project, 1)
        TmtManager().tag("last", "caf\udce9")
        assert TmtManager().last().tags == ["caf\udce9"]

    def test_runs_that_cannot_be_listed_for_a_moment_are_not_lost(
        self, store: Store, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        for name in "abc":
            age(store.write(name, end_time=1_600_000_001.0))
        assert store.ids() == set("abc")
        age(store.write("d", end_time=1_600_000_001.0))

        def no_descriptors(path: object) -> None:
            raise OSError(24, "Too many open files")

        with monkeypatch.context() as patch:
            patch.setattr("tmt.index.os.scandir", no_descriptors)
            patch.setattr("tmt.index.os.lstat", no_descriptors)
            assert store.ids() == set("abc")  # as known: nothing taken for gone
        assert store.ids() == set("abcd")

    def test_inode_numbers_past_2_to_the_63(self) -> None:
        from tmt.index import _signed

        assert _signed(5) == 5
        assert _signed(2**64 - 1) == -1 and _signed(2**63) == -(2**63)

    def test_a_tag_while_the_run_is_read_as_new_is_not_lost(
        self, project: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        (run_id,) = _record(project, 1)
        monkeypatch.setenv("TMT_CACHE_DIR", str(project / "cold"))  # the run is new there
        age(project / ".tmt" / "runs" / run_id)  # settled: trusted once read
        manager = TmtManager()
        real = tmt.index.read_run

        def slow_read(folder: str, name: str) -> dict | None:
            record = real(folder, name)  # read as new, then tagged before it is written
            TmtManager().store.annotate(name, add=["keepme"])
            return record

        monkeypatch.setattr("tmt.index.read_run", slow_read)
        manager.runs()
        monkeypatch.setattr("tmt.index.read_run", real)
        assert [e.id for e in TmtManager().runs(where="tag:keepme")] == [run_id]

    def test_an_edit_in_place_is_seen_once_its_run_is_named_in_the_log(self, store: Store) -> None:
        folder = store.write("a", name="first", end_time=1_600_000_001.0)
        mtime = age(folder)
        age(store.runs)
        (store.runs.parent / "changes.log").write_text("")
        store.load()
        record = json.loads((folder / "run.json").read_text())
        (folder / "run.json").write_text(json.dumps({**record, "name": "fixed by hand"}))
        os.utime(folder, ns=(mtime, mtime))
        with open(store.runs.parent / "changes.log", "a") as log:
            log.write("a")  # no end of line: then tmt's next line is still read
        assert store.load()[0]["name"] == "first"
        TmtManager(path=store.runs.parent).store.annotate("a", note="n")
        assert store.load()[0]["name"] == "fixed by hand"

    def test_a_run_that_ended_still_says_where_it_ran(self, project: Path) -> None:
        _record(project, 1)
        listed = TmtManager().runs()[0]
        assert listed.host and isinstance(listed.pid, int)

    def test_a_run_without_a_status_is_unknown(self, store: Store) -> None:
        store.write("a", status=None)
        manager = TmtManager(path=store.runs.parent)
        with pytest.warns(UserWarning, match="'status' \\(None\\)"):
            assert [e.id for e in manager.runs(status="unknown")] == ["a"]

    def test_a_frozen_program_reads_alone(
        self, store: Store, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        for i in range(12):
            store.write(f"r{i:02d}")
        monkeypatch.setattr("tmt.index._PARALLEL", 2)
        monkeypatch.setattr("tmt.index.os.cpu_count", lambda: 4)
        monkeypatch.setattr("tmt.index.sys.frozen", True, raising=False)
        monkeypatch.setattr("tmt.index._start_worker", lambda work: pytest.fail("started"))
        assert len(store.ids()) == 12
