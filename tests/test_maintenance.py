"""Clean-up (tmt gc, tmt rm, TmtManager.delete/collect_garbage) removes only garbage: nothing
outside the store, nothing of a run that exists, nothing whose name is not tmt's own."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
import warnings
from contextlib import nullcontext
from pathlib import Path

import pytest

from tmt import TmtManager, tmt_recorder, tmt_save
from tmt.maintenance import GRACE

from conftest import REPO, records, tmt


def record(n: int = 1, name: str = "exp") -> list[str]:
    """Record ``n`` runs that each save a result; their ids."""

    def train(i: int) -> dict:
        tmt_save({"i": i}, name="model")
        print("run", i)
        return {"i": i}

    for i in range(n):
        tmt_recorder(name=name)(train)(i)
    return [e.id for e in TmtManager().runs(name=name)]


def tree_of(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its content (links as their targets)."""
    found = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        if path.is_symlink():
            found[rel] = b"-> " + os.readlink(path).encode()
        elif path.is_file():
            found[rel] = path.read_bytes()
    return found


def bait(folder: Path) -> None:
    """Files named as tmt names its own, that tmt must still never delete outside its store."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "0123456789ab").mkdir()  # a run id
    (folder / "0123456789ab" / "thesis.tex").write_text("months of work")
    (folder / ("ab" * 16)).mkdir()  # a tree id
    (folder / ("ab" * 16) / "data.csv").write_text("1,2,3")
    (folder / "ab").mkdir()  # an object bucket
    (folder / "ab" / ("c" * 62)).write_text("an object-named file")
    (folder / "0123456789abcdef.json").write_text("{}")  # a package list
    (folder / ".tmt-00000000-1-1.0123abcd.tmp").write_text("debris-named")
    old = time.time() - 10 * 86400
    for path in folder.rglob("*"):
        os.utime(path, (old, old), follow_symlinks=False)


class TestNothingOutsideTheStore:
    @pytest.mark.parametrize(
        "linked",
        [
            "results",
            "envs",
            "runs",
            "snapshots",
            "snapshots/.trees",
            "snapshots/.objects",
            "snapshots/.objects/ab",
            "snapshots/.tmp",
            "snapshots/.cache",
        ],
    )
    def test_a_folder_of_the_store_that_is_a_link_is_never_followed(
        self, project: Path, tmp_path: Path, linked: str
    ) -> None:
        """A store unpacked from a colleague's archive may hold links to folders elsewhere:
        gc and rm leave what they point to alone."""
        record(3)
        elsewhere = tmp_path / "colleague"
        bait(elsewhere)
        bait(elsewhere / "ab")
        before = tree_of(elsewhere)
        link = project / ".tmt" / linked
        if link.exists():
            os.rename(link, tmp_path / "moved-away")
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(elsewhere, link)
        quiet = linked == "snapshots/.objects/ab"  # a bucket: skipped, as any odd entry is
        with nullcontext() if quiet else pytest.warns(UserWarning, match="not cleaned up"):
            TmtManager().collect_garbage()
        assert tmt("gc", cwd=project).returncode == 0
        for entry in TmtManager().runs():  # none when runs/ itself was replaced
            proc = tmt("rm", "--yes", entry.id, cwd=project)
            assert proc.returncode == 0, proc.stderr
        assert tree_of(elsewhere) == before

    def test_rm_deletes_nothing_when_it_cannot_delete_the_record(
        self, project: Path, tmp_path: Path
    ) -> None:
        """With runs/ a link to elsewhere, rm refuses before touching the run's results."""
        (victim,) = record(1)
        runs = project / ".tmt" / "runs"
        os.rename(runs, tmp_path / "runs")
        os.symlink(tmp_path / "runs", runs)
        proc = tmt("rm", "--yes", victim, cwd=project)
        assert proc.returncode == 1 and "nothing deleted" in proc.stderr
        assert (project / ".tmt" / "results" / victim).is_dir()

    def test_links_inside_what_is_deleted_are_removed_not_followed(
        self, project: Path, tmp_path: Path
    ) -> None:
        (victim,) = record(1)
        elsewhere = tmp_path / "precious"
        bait(elsewhere)
        before = tree_of(elsewhere)
        results = project / ".tmt" / "results" / victim
        os.symlink(elsewhere, results / "shortcut")
        os.symlink(elsewhere / "0123456789ab" / "thesis.tex", results / "file-link")
        os.symlink(elsewhere, project / ".tmt" / "results" / "fedcba987654")  # an orphan's name
        TmtManager().delete([victim])
        TmtManager().collect_garbage()
        assert tree_of(elsewhere) == before
        assert not (project / ".tmt" / "results" / "fedcba987654").exists()  # the link went

    def test_a_configured_location_holding_the_project_is_refused(self, project: Path) -> None:
        record(2)
        before = tree_of(project)
        (project / ".tmt" / "config.json").write_text('{"results_path": ".."}')
        proc = tmt("gc", cwd=project)
        assert proc.returncode == 1
        assert proc.stderr.count("\n") == 1 and "'results_path'" in proc.stderr
        (project / ".tmt" / "config.json").unlink()
        after = tree_of(project)
        assert {k: v for k, v in after.items() if k != "index.json"} == {
            k: v for k, v in before.items() if k != "index.json"
        }

    def test_the_index_of_earlier_versions_is_collected(self, project: Path) -> None:
        record(1)
        old = project / ".tmt" / "index.json"
        old.write_text('{"schema": 3, "runs": {}}')
        size = old.stat().st_size
        assert TmtManager().collect_garbage() >= size
        assert not old.exists()
        old.mkdir()  # a folder of that name is not tmt's
        TmtManager().collect_garbage()
        assert old.is_dir()

    def test_names_that_are_not_tmts_own_are_left_alone(self, project: Path) -> None:
        record(1)
        store = project / ".tmt"
        mine = [
            store / "results" / "notes.txt",
            store / "results" / "my-analysis" / "plot.png",
            store / "envs" / "README",
            store / "snapshots" / ".trees" / "not-a-tree" / "x.py",
            store / "snapshots" / ".objects" / "zz" / "file",
            store / "snapshots" / ".objects" / "ab" / "short",
            store / "snapshots" / "my-notes.txt",
        ]
        old = time.time() - 10 * 86400
        for path in mine:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("mine")
            os.utime(path, (old, old))
        TmtManager().collect_garbage()
        assert all(path.read_text() == "mine" for path in mine)

    def test_the_last_link_never_replaces_a_file(self, project: Path) -> None:
        """A last_snapshot_link configured onto an existing file leaves the file as it was."""
        (project / ".tmt").mkdir()
        (project / "notes").mkdir()
        (project / "notes" / "last").write_text("keep me")
        (project / ".tmt" / "config.json").write_text(
            '{"last_snapshot_link": "../notes/last", "snapshot_source": "src"}'
        )
        (project / "src").mkdir()
        with pytest.warns(UserWarning, match="is not tmt's link; not replaced"):
            (run_id,) = record(1)
        assert (project / "notes" / "last").read_text() == "keep me"
        assert Path(TmtManager().run(run_id).snapshot_path).is_dir()  # the snapshot is whole

    def test_a_link_of_the_users_by_the_last_links_name_is_left_alone(
        self, project: Path, tmp_path: Path
    ) -> None:
        """Even a dangling one (a mount point not mounted now) is never replaced by rm."""
        (project / ".tmt").mkdir()
        (project / "outside").mkdir()
        os.symlink("/mnt/usb/photos", project / "outside" / "photos")
        (project / ".tmt" / "config.json").write_text(
            '{"last_snapshot_link": "../outside/photos", "snapshot_source": "src"}'
        )
        (project / "src").mkdir()
        with pytest.warns(UserWarning, match="not tmt's link"):
            record(2)
        assert tmt("rm", "--yes", "last", cwd=project).returncode == 0
        assert os.readlink(project / "outside" / "photos") == "/mnt/usb/photos"


class TestSharedFolders:
    def test_results_configured_outside_the_store_are_never_taken_as_orphans(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Two projects that share a results folder: gc in one leaves the other's results."""
        shared = tmp_path / "shared"
        ids = {}
        for name in ("a", "b"):
            folder = tmp_path / name
            (folder / ".tmt").mkdir(parents=True)
            (folder / ".tmt" / "config.json").write_text(json.dumps({"results_path": str(shared)}))
            monkeypatch.chdir(folder)
            (ids[name],) = record(1, name=name)
        monkeypatch.chdir(tmp_path / "a")
        TmtManager().collect_garbage()
        assert (shared / ids["b"]).is_dir()
        assert TmtManager().delete([ids["a"]]) > 0  # rm, naming the run, still deletes there
        assert not (shared / ids["a"]).exists() and (shared / ids["b"]).is_dir()


class TestNothingOfARunThatExists:
    def test_a_result_named_like_a_temporary_file_is_kept(self, project: Path) -> None:
        @tmt_recorder(name="keep")
        def train():
            tmt_save({"w": 1}, name="checkpoint.3.deadbeef", extension=".tmp")
            tmt_save({"w": 2}, name="checkpoint.3", extension=".20241130")

        train()
        folder = Path(TmtManager().last().results[0].path).parent
        old = time.time() - 86400
        for path in folder.iterdir():
            os.utime(path, (old, old))
        TmtManager().collect_garbage()
        assert sorted(p.name for p in folder.iterdir()) == [
            "checkpoint.3.20241130",
            "checkpoint.3.deadbeef.tmp",
        ]

    def test_a_record_with_one_bad_environment_field_keeps_its_package_list(
        self, project: Path
    ) -> None:
        record(1)
        (run,) = (project / ".tmt" / "runs").iterdir()
        data = json.loads((run / "run.json").read_text())
        data["environment"]["python"] = 3.11
        (run / "run.json").write_text(json.dumps(data))
        old = time.time() - GRACE - 60
        for path in (project / ".tmt" / "envs").iterdir():
            os.utime(path, (old, old))
        with pytest.warns(UserWarning, match="environment.python"):
            TmtManager().collect_garbage()
            assert TmtManager().last().packages()

    def test_a_run_with_an_unreadable_record_keeps_everything(self, project: Path) -> None:
        """One stray comma in run.json does not make the run's results garbage."""
        (victim, _) = record(2)
        run_json = project / ".tmt" / "runs" / victim / "run.json"
        good = run_json.read_text()
        run_json.write_text(good.replace('"name"', ',"name"', 1))
        with pytest.warns(UserWarning, match="unreadable run record"):
            TmtManager().collect_garbage()
        run_json.write_text(good)
        manager = TmtManager()
        manager.set_entry_by_id(victim)
        assert dict(manager.load_results()) == {"model": {"i": manager.entry.metrics["i"]}}
        assert (Path(manager.code_snapshot_path()) / "train.py").exists()
        assert manager.entry.packages()

    def test_a_package_list_just_written_is_kept(self, project: Path) -> None:
        """A run writes its package list as it starts; gc meanwhile must not take it."""
        record(1)
        envs = project / ".tmt" / "envs"
        (name,) = os.listdir(envs)
        for run in (project / ".tmt" / "runs").iterdir():
            data = json.loads((run / "run.json").read_text())
            data["environment"]["packages"] = None  # as if not yet named
            (run / "run.json").write_text(json.dumps(data))
        TmtManager().collect_garbage()
        assert os.listdir(envs) == [name]
        old = time.time() - GRACE - 60
        os.utime(envs / name, (old, old))
        TmtManager().collect_garbage()
        assert os.listdir(envs) == []

    def test_a_running_run_names_its_package_list_long_before_it_ends(
        self, project: Path, run_python
    ) -> None:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import time\nfrom tmt import tmt_recorder\n"
                "tmt_recorder(name='long')(time.sleep)(60)\n",
            ],
            cwd=project,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        try:
            deadline = time.monotonic() + 30
            while not any((r.get("environment") or {}).get("packages") for r in records(project)):
                assert time.monotonic() < deadline, "the package list was never named"
                time.sleep(0.05)
        finally:
            proc.kill()
            proc.wait()


class TestDebris:
    def test_what_a_killed_tmt_save_left_is_collected_and_counted(self, project: Path) -> None:
        code = (
            "import os, pickle, signal\n"
            "from tmt import tmt_recorder, tmt_save\n"
            "class Slow:\n"
            "    def __reduce__(self):\n"
            "        os.kill(os.getpid(), signal.SIGKILL)\n"
            "@tmt_recorder(name='killed')\n"
            "def run():\n"
            "    tmt_save([b'x' * 1_000_000, Slow()], name='big')\n"
            "run()\n"
        )
        proc = subprocess.run(
            [sys.executable, "-c", code],
            cwd=project,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            check=False,
        )
        assert proc.returncode == -signal.SIGKILL
        (run,) = records(project)
        folder = project / ".tmt" / "results" / run["id"]
        (leftover,) = os.listdir(folder)
        assert leftover.startswith(".tmt-")
        size = (folder / leftover).stat().st_size
        assert size > 1_000_000
        freed = TmtManager().collect_garbage()
        assert os.listdir(folder) == []
        assert freed >= size

    def test_half_written_records_and_staging_folders_of_dead_processes(
        self, project: Path
    ) -> None:
        (run_id,) = record(1)
        dead = subprocess.run(
            [sys.executable, "-c", "from tmt.liveness import temp_name; print(temp_name())"],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        ).stdout.strip()
        store = project / ".tmt"
        leftovers = [
            store / "runs" / run_id / dead,
            store / dead,
            store / "envs" / dead,
            store / "snapshots" / ".cache" / dead,
        ]
        for path in leftovers:
            path.write_text("half")
        staging = store / "snapshots" / ".tmp" / dead
        staging.mkdir()
        (staging / "a.py").write_text("x" * 1000)
        TmtManager().collect_garbage()
        assert not any(p.exists() for p in [*leftovers, staging])

    def test_what_a_live_process_is_writing_is_kept(self, project: Path) -> None:
        from tmt.liveness import temp_name

        (run_id,) = record(1)
        mine = project / ".tmt" / "runs" / run_id / temp_name()
        mine.write_text("being written")
        TmtManager().collect_garbage()
        assert mine.exists()


class TestAbandoned:
    def test_an_empty_run_folder_is_never_removed(self, project: Path) -> None:
        """It may be a live run whose first record could not be written (a full disk): gc,
        the natural answer to a full disk, must not take its folder."""
        record(1)
        empty = project / ".tmt" / "runs" / "0123456789ab"
        empty.mkdir()
        old = time.time() - 10 * 86400
        os.utime(empty, (old, old))
        TmtManager().collect_garbage()
        assert empty.is_dir()

    def test_a_store_that_is_a_link_to_where_it_lives_is_cleaned_quietly(
        self, project: Path, tmp_path: Path
    ) -> None:
        """A store kept on a scratch disk, linked from the project, is the store."""
        record(1)
        os.rename(project / ".tmt", tmp_path / "scratch")
        os.symlink(tmp_path / "scratch", project / ".tmt")
        orphan = tmp_path / "scratch" / "results" / "0123456789ab"
        orphan.mkdir()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            TmtManager().collect_garbage()
        assert not orphan.exists()


class TestFreedBytes:
    def test_single_files_count(self, project: Path) -> None:
        (a, _) = record(2)
        big = Path(TmtManager().run(a).results[0].path)
        big.write_bytes(b"x" * 100_000)
        assert TmtManager().delete([a]) >= 100_000

    def test_gc_reports_what_it_removed(self, project: Path) -> None:
        record(1)
        orphan = project / ".tmt" / "results" / "0123456789ab"
        orphan.mkdir()
        (orphan / "m.pkl").write_bytes(b"y" * 50_000)
        assert TmtManager().collect_garbage() >= 50_000
        assert not orphan.exists()


class TestTagsAndNotes:
    def test_tagging_from_many_threads_loses_nothing(self, project: Path) -> None:
        (run_id,) = record(1)
        manager = TmtManager()

        def tag(thread: int) -> None:
            for i in range(50):
                manager.tag(run_id, f"t{thread}-{i}")

        threads = [threading.Thread(target=tag, args=(t,)) for t in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(TmtManager().run(run_id).tags) == 400

    def test_tagging_from_many_processes_loses_nothing(self, project: Path) -> None:
        (run_id,) = record(1)
        code = (
            "import sys\nfrom tmt import TmtManager\nm = TmtManager()\n"
            "for i in range(40):\n    m.tag(sys.argv[1], f'{sys.argv[2]}-{i}')\n"
        )
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        procs = [
            subprocess.Popen([sys.executable, "-c", code, run_id, f"p{p}"], cwd=project, env=env)
            for p in range(4)
        ]
        cli = [
            subprocess.Popen(
                [sys.executable, "-m", "tmt", "tag", run_id, *(f"c{c}-{i}" for i in range(3))],
                cwd=project,
                env=env,
            )
            for c in range(10)
        ]
        assert all(p.wait(timeout=120) == 0 for p in procs + cli)
        assert len(TmtManager().run(run_id).tags) == 4 * 40 + 10 * 3

    def test_the_lock_file_is_never_followed_out_of_the_store(
        self, project: Path, tmp_path: Path
    ) -> None:
        (run_id,) = record(1)
        os.symlink(tmp_path / "elsewhere", project / ".tmt" / "runs" / run_id / ".annotations.lock")
        proc = tmt("tag", run_id, "x", cwd=project)
        assert proc.returncode == 1 and proc.stderr.count("\n") == 1
        assert not (tmp_path / "elsewhere").exists()

    def test_tags_of_the_record_are_kept_when_tagging(self, project: Path) -> None:
        tmt_recorder(name="t", tags=["baseline"])(lambda: None)()
        assert TmtManager().tag("last", "paper") == ["baseline", "paper"]
        assert TmtManager().untag("last", "baseline") == ["paper"]


RECORDER = """
import os, sys, time
from tmt import tmt_log, tmt_recorder, tmt_save
while not os.path.exists("../cleaning"):  # start together with the clean-up
    time.sleep(0.01)

@tmt_recorder(name="busy")
def train(worker, i):
    for step in range(3):
        tmt_log("loss", 1.0 / (step + 1))
    time.sleep(0.1)  # runs overlap the clean-up's passes
    tmt_save({"worker": worker, "i": i}, name="model")
    print("done", worker, i)
    return {"i": i}

for i in range(int(sys.argv[2])):
    train(sys.argv[1], i)
"""

CLEANER = """
import sys, time, warnings
warnings.simplefilter("ignore")
from tmt import TmtManager, tmt_recorder
open("../cleaning", "w").close()
n = 0
while True:
    tmt_recorder(name="victim")(lambda: None)()
    m = TmtManager()
    m.collect_garbage()
    busy = m.runs(name="busy")
    if busy:
        m.tag(busy[0].id, f"seen-{n}")
    m.delete([m.last("victim").id], force=True)
    n += 1
    print(n, flush=True)
"""


class TestBesideRecordingProcesses:
    def test_gc_rm_and_tag_in_a_loop_lose_nothing(self, project: Path) -> None:
        """8 processes record 20 runs each while gc, rm and tag run in a loop beside them:
        every run keeps its record, results, snapshot and package list."""
        env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONWARNINGS": "ignore"}
        (project / "lib.py").write_text("x = 1\n" * 50)
        workers = [
            subprocess.Popen(
                [sys.executable, "-c", RECORDER, str(w), "20"],
                cwd=project,
                env=env,
                stdout=subprocess.DEVNULL,
            )
            for w in range(8)
        ]
        passes = project.parent / "passes.txt"
        with open(passes, "w") as out:
            cleaner = subprocess.Popen(
                [sys.executable, "-c", CLEANER], cwd=project, env=env, stdout=out
            )
            for w in workers:
                assert w.wait(timeout=300) == 0
            cleaner.kill()
            cleaner.wait()
        assert len(passes.read_text().split()) >= 3  # the clean-up ran while runs recorded
        TmtManager().collect_garbage()
        busy = TmtManager().runs(name="busy")
        assert len(busy) == 8 * 20
        for entry in busy:
            assert entry.status == "finished", entry.id
            (result,) = entry.results
            with open(result.path, "rb") as f:
                assert pickle.load(f)["i"] == entry.metrics["i"]
            assert (Path(entry.snapshot_path) / "lib.py").read_text() == "x = 1\n" * 50
            assert entry.packages(), entry.id
            assert entry.output().startswith("done"), entry.id
            assert entry.series("loss").values == [1.0, 0.5, 1 / 3]
