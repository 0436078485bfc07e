"""The index: a cache of the run records, rebuilt from the runs' own files whenever they change."""

from __future__ import annotations

import json
import linecache
import os
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from tmt.index import load_records, read_annotations, read_run

# Times are set by hand, in nanoseconds: folders older than OLD are outside the racy window.
SECOND = 1_000_000_000
OLD = 60 * SECOND


class Store:
    """A store's ``runs`` folder and index, written by hand."""

    def __init__(self, root: Path) -> None:
        self.runs = root / "runs"
        self.runs.mkdir(parents=True)
        self.index = root / "index.json"

    def load(self) -> list[dict]:
        return load_records(str(self.runs), str(self.index))

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

    def cached(self) -> dict:
        return json.loads(self.index.read_text())


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
        assert load_records(str(tmp_path / "runs"), str(tmp_path / "index.json")) == []
        assert not (tmp_path / "index.json").exists()

    def test_an_empty_store(self, store: Store) -> None:
        assert store.load() == []

    def test_records_are_read(self, store: Store) -> None:
        store.write("a", name="first")
        store.write("b", name="second", metrics={"acc": 0.5})
        found = {r["id"]: r for r in store.load()}
        assert set(found) == {"a", "b"}
        assert found["a"]["name"] == "first"
        assert found["b"]["metrics"] == {"acc": 0.5}

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
        assert "name" not in found and "status" not in found
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
        assert linecache.getline(warning.filename, warning.lineno).strip() == "store.load()"


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
        assert found["tags"] == [] and found["note"] == "old note"

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
    """The index holds each run's record under the identity of its folder, and is trusted
    only while that identity is unchanged and old enough to be reliable."""

    def test_it_is_written_on_first_reading(self, store: Store) -> None:
        folder = store.write("a")
        mtime = age(folder)
        store.load()
        index = store.cached()
        assert index["schema"] == 3
        assert index["runs"]["a"]["key"] == [folder.stat().st_ino, mtime]
        assert index["runs"]["a"]["record"]["id"] == "a"

    def test_an_old_folder_is_served_from_the_index(self, store: Store) -> None:
        """A record edited in place (as tmt never does) is not seen: its folder is unchanged.
        (The index is read whatever its size: this one holds some 10 kB.)"""
        folder = store.write("a", name="first", description="x" * 10_000)
        mtime = age(folder)
        store.load()
        (folder / "run.json").write_text(json.dumps({"id": "a", "name": "edited in place"}))
        os.utime(folder, ns=(mtime, mtime))
        assert store.load()[0]["name"] == "first"

    def test_a_changed_folder_is_read_again(self, store: Store) -> None:
        folder = store.write("a", name="first")
        age(folder)
        store.load()
        store.write("a", name="second")
        age(folder, 2 * OLD)
        assert store.load()[0]["name"] == "second"
        assert store.cached()["runs"]["a"]["record"]["name"] == "second"

    def test_an_index_entry_of_another_run_is_not_used(self, store: Store) -> None:
        folder = store.write("a", name="first")
        age(folder)
        store.load()
        index = store.cached()
        index["runs"]["a"]["record"] = {"id": "b", "name": "wrong"}
        store.index.write_text(json.dumps(index))
        assert store.load()[0]["name"] == "first"

    @pytest.mark.parametrize(
        "damage", [5, None, "x", [1], {"key": None}, {"record": None}, {"record": 5}]
    )
    def test_a_damaged_entry_is_read_again_from_the_run(self, store: Store, damage) -> None:
        folder = store.write("a", name="first")
        mtime = age(folder)
        store.load()
        index = store.cached()
        entry = index["runs"]["a"]
        if isinstance(damage, dict) and "key" not in damage:
            damage = {"key": entry["key"], **damage}
        index["runs"]["a"] = damage
        store.index.write_text(json.dumps(index))
        assert [r["name"] for r in store.load()] == ["first"]
        assert store.cached()["runs"]["a"]["key"] == [folder.stat().st_ino, mtime]

    @pytest.mark.parametrize("damage", [None, 5, {"id": "b"}, {"name": "no id"}])
    def test_a_damaged_record_of_an_entry_is_repaired(self, store: Store, damage) -> None:
        folder = store.write("a", name="first")
        age(folder)
        store.load()
        index = store.cached()
        index["runs"]["a"]["record"] = damage
        store.index.write_text(json.dumps(index))
        assert [r["name"] for r in store.load()] == ["first"]
        assert store.cached()["runs"]["a"]["record"]["name"] == "first"

    @pytest.mark.parametrize(
        "content",
        [
            "{ not json",
            json.dumps({"schema": 2, "runs": {"a": {"key": None, "record": {"id": "a"}}}}),
            json.dumps({"schema": 3, "runs": [1, 2]}),
            json.dumps([3]),
        ],
    )
    def test_an_unusable_index_is_rebuilt(self, store: Store, content: str) -> None:
        age(store.write("a", name="first"))
        store.index.write_text(content)
        assert [r["name"] for r in store.load()] == ["first"]
        assert store.cached()["schema"] == 3
        assert store.cached()["runs"]["a"]["record"]["name"] == "first"

    def test_an_index_of_an_older_schema_is_not_trusted(self, store: Store) -> None:
        folder = store.write("a", name="first")
        mtime = age(folder)
        stale = {"key": [folder.stat().st_ino, mtime], "record": {"id": "a", "name": "stale"}}
        store.index.write_text(json.dumps({"schema": 2, "runs": {"a": stale}}))
        assert store.load()[0]["name"] == "first"
        store.index.write_text(json.dumps({"schema": 3, "runs": {"a": stale}}))
        assert store.load()[0]["name"] == "stale"

    def test_a_deleted_run_disappears_from_the_index_too(self, store: Store) -> None:
        age(store.write("a"))
        age(store.write("b"))
        store.load()
        (store.runs / "b" / "run.json").unlink()
        (store.runs / "b").rmdir()
        assert store.ids() == {"a"}
        assert set(store.cached()["runs"]) == {"a"}

    def test_a_new_run_is_seen(self, store: Store) -> None:
        age(store.write("a"))
        store.load()
        age(store.write("b"))
        assert store.ids() == {"a", "b"}
        assert set(store.cached()["runs"]) == {"a", "b"}

    def test_an_unchanged_index_is_not_written_again(self, store: Store) -> None:
        age(store.write("a"))
        future = time.time_ns() + 3600 * SECOND
        os.utime(store.write("b"), ns=(future, future))  # racy: read every time, never trusted
        store.load()
        # The same index in another layout than tmt's: a rewrite would show.
        store.index.write_text(json.dumps(store.cached(), indent=1))
        before = store.index.read_bytes()
        store.load()
        assert store.index.read_bytes() == before

    def test_every_run_served_from_the_index_is_listed(self, store: Store) -> None:
        for name in "abcdefgh":
            age(store.write(name))
        assert store.ids() == set("abcdefgh")
        assert store.ids() == set("abcdefgh")  # now every one from the index

    def test_an_index_that_cannot_be_written_costs_nothing(self, tmp_path: Path) -> None:
        runs = Store(tmp_path)
        runs.write("a")
        found = load_records(str(runs.runs), str(tmp_path / "missing" / "index.json"))
        assert [r["id"] for r in found] == ["a"]

    def test_annotations_are_cached_with_the_record(self, store: Store) -> None:
        folder = store.write("a", tags=["old"])
        replace(folder / "annotations.json", json.dumps({"tags": ["best"]}))
        age(folder)
        store.load()
        assert store.cached()["runs"]["a"]["record"]["tags"] == ["best"]
        (folder / "annotations.json").unlink()
        age(folder, 2 * OLD)  # removing a file changes the folder, as replacing one does
        assert store.load()[0]["tags"] == ["old"]


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
        folder = store.write("a", name="first")
        os.utime(folder, ns=(self.NOW - ago, self.NOW - ago))
        store.load()
        key = store.cached()["runs"]["a"]["key"]
        assert key == (None if racy else [folder.stat().st_ino, self.NOW - ago])
        (folder / "run.json").write_text(json.dumps({"id": "a", "name": "edited in place"}))
        os.utime(folder, ns=(self.NOW - ago, self.NOW - ago))
        assert store.load()[0]["name"] == ("edited in place" if racy else "first")

    def test_a_record_that_settles_gets_its_key(self, store: Store, clock) -> None:
        folder = store.write("a")
        os.utime(folder, ns=(self.NOW, self.NOW))
        store.load()
        assert store.cached()["runs"]["a"]["key"] is None
        os.utime(folder, ns=(self.NOW - OLD, self.NOW - OLD))
        store.load()
        assert store.cached()["runs"]["a"]["key"] == [folder.stat().st_ino, self.NOW - OLD]
