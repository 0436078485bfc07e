"""Code snapshots: what a run's snapshot holds, what it leaves out, and what it costs."""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tmt import TmtManager, tmt_recorder
from tmt.snapshot import SnapshotReport, collect_garbage, take_snapshot


def snapshot_of_new_run(name: str = "snap", config_path: str | None = None) -> Path:
    tmt_recorder(name=name, config_path=config_path)(lambda: None)()
    manager = TmtManager(config=config_path)
    manager.set_entry_by_name(name)
    return Path(manager.code_snapshot_path())


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def make_old(path: Path, seconds: float = 60) -> None:
    """Backdate a file, as files are when a run starts long after they were written."""
    old = path.stat().st_mtime - seconds
    os.utime(path, (old, old))


class TestContents:
    def test_copies_the_source_tree(self, project: Path) -> None:
        (project / "pkg").mkdir()
        (project / "pkg" / "model.py").write_text("x = 1\n")
        snap = snapshot_of_new_run()
        assert (snap / "pkg" / "model.py").read_text() == "x = 1\n"
        assert (snap / "train.py").read_text() == "print('training')\n"

    def test_nested_gitignore_directory_patterns_and_negation(self, project: Path) -> None:
        (project / ".gitignore").write_text("data/\n*.log\n!keep.log\n")
        for path in [
            "data/big.bin",
            "a.log",
            "keep.log",
            "src/.gitignore",
            "src/tmp.txt",
            "src/code.py",
            "src/data/nested.bin",
        ]:
            (project / path).parent.mkdir(parents=True, exist_ok=True)
            (project / path).write_text("x")
        (project / "src" / ".gitignore").write_text("*.txt\n")
        snap = snapshot_of_new_run()
        assert tree(snap) == {
            ".gitignore",
            "keep.log",
            "train.py",
            "src",
            "src/.gitignore",
            "src/code.py",
        }

    def test_a_negated_file_in_a_nested_folder(self, project: Path) -> None:
        (project / ".gitignore").write_text("*.csv\n")
        (project / "data").mkdir()
        (project / "data" / ".gitignore").write_text("!labels.csv\n")
        (project / "data" / "labels.csv").write_text("a")
        (project / "data" / "big.csv").write_text("b")
        assert "data/labels.csv" in tree(snapshot_of_new_run())
        assert "data/big.csv" not in tree(snapshot_of_new_run("again"))

    def test_tmtignore_leaves_out_what_git_keeps(self, project: Path) -> None:
        (project / "notebook.ipynb").write_text("{}")
        (project / ".tmtignore").write_text("*.ipynb\n")
        assert "notebook.ipynb" not in tree(snapshot_of_new_run())

    def test_gitignore_path_adds_patterns(self, project: Path) -> None:
        (project / "secret.key").write_text("k")
        (project / "ignore.txt").write_text("*.key\n")
        (project / "c.json").write_text('{"gitignore_path": "ignore.txt"}')
        assert "secret.key" not in tree(snapshot_of_new_run(config_path="c.json"))

    def test_without_ignore_files_caches_and_environments_stay_out(self, project: Path) -> None:
        for folder in ["__pycache__", ".venv", "myenv", ".pytest_cache", "conda", "venv"]:
            (project / folder).mkdir()
            (project / folder / "f").write_text("x")
        (project / ".venv" / "pyvenv.cfg").write_text("home = /usr")
        (project / "myenv" / "pyvenv.cfg").write_text("home = /usr")
        (project / "conda" / "conda-meta").mkdir()
        (project / "mod.pyc").write_bytes(b"\0")
        # a folder named venv without an environment in it is code, like any other
        assert tree(snapshot_of_new_run()) == {"train.py", "venv", "venv/f"}

    def test_git_folder_and_the_store_are_never_copied(self, project: Path) -> None:
        (project / ".git").mkdir()
        (project / ".git" / "HEAD").write_text("ref")
        snapshot_of_new_run()
        assert tree(snapshot_of_new_run("second")) == {"train.py"}

    def test_an_absolute_tmt_dir_inside_the_source_is_not_copied_into_itself(
        self, project: Path
    ) -> None:
        (project / "c.json").write_text(json.dumps({"tmt_dir": str(project / "store")}))
        for i in range(3):
            snap = snapshot_of_new_run(f"abs{i}", config_path="c.json")
        assert tree(snap) == {"train.py", "c.json"}

    def test_new_and_deleted_folders(self, project: Path) -> None:
        (project / "old").mkdir()
        (project / "old" / "a.py").write_text("a")
        snapshot_of_new_run("one")
        (project / "old" / "a.py").unlink()
        (project / "old").rmdir()
        (project / "new" / "deeper").mkdir(parents=True)
        (project / "new" / "deeper" / "b.py").write_text("b")
        assert tree(snapshot_of_new_run("two")) == {
            "train.py",
            "new",
            "new/deeper",
            "new/deeper/b.py",
        }

    def test_symlinks_stay_symlinks_and_empty_folders_are_kept(self, project: Path) -> None:
        (project / "empty").mkdir()
        (project / "link.py").symlink_to("train.py")
        (project / "outside").symlink_to("/etc")
        snap = snapshot_of_new_run()
        assert (snap / "empty").is_dir()
        assert os.readlink(snap / "link.py") == "train.py"
        assert os.readlink(snap / "outside") == "/etc"  # kept, never followed

    def test_the_executable_bit_is_kept(self, project: Path) -> None:
        script = project / "run.sh"
        script.write_text("#!/bin/sh\n")
        script.chmod(0o755)
        snap = snapshot_of_new_run()
        assert os.access(snap / "run.sh", os.X_OK)
        assert not os.stat(snap / "train.py").st_mode & stat.S_IXUSR


class TestLeftOut:
    @pytest.mark.parametrize("cap", [100, "100b", "0.1KB"])
    def test_files_over_the_size_cap_are_left_out_and_recorded(self, project, cap) -> None:
        (project / "c.json").write_text(json.dumps({"snapshot_max_file_size": cap}))
        (project / "weights.bin").write_bytes(b"x" * 101)
        (project / "small.bin").write_bytes(b"x" * 100)
        with pytest.warns(UserWarning, match=r"too large for the code snapshot.*: weights\.bin$"):
            snap = snapshot_of_new_run(config_path="c.json")
        assert tree(snap) == {"train.py", "small.bin", "c.json"}
        entry = TmtManager(config="c.json").set_entry_by_name("snap")
        assert entry.to_dict()["snapshot_left_out"] == {"too_large": ["weights.bin"]}

    def test_the_default_cap_is_a_few_megabytes(self, project: Path) -> None:
        (project / "big.bin").write_bytes(b"\0" * (6 * 1024 * 1024))
        with pytest.warns(UserWarning, match="big.bin"):
            assert "big.bin" not in tree(snapshot_of_new_run())

    def test_a_bad_cap_is_a_config_error(self, project: Path) -> None:
        from tmt import ConfigError

        (project / "c.json").write_text('{"snapshot_max_file_size": "huge"}')
        with pytest.raises(ConfigError, match="'snapshot_max_file_size' must be a size"):
            snapshot_of_new_run(config_path="c.json")

    @pytest.mark.parametrize(
        ("error", "reason"),
        [
            (PermissionError(errno.EACCES, "Permission denied"), "Permission denied"),
            (
                FileNotFoundError(errno.ENOENT, "No such file"),
                "vanished while the snapshot was taken",
            ),
        ],
    )
    def test_an_unreadable_or_vanished_file_is_skipped_with_a_warning(
        self, project, monkeypatch, error, reason
    ) -> None:
        """(Root reads everything, so the failure is simulated at the open call.)"""
        import tmt.snapshot

        (project / "locked.py").write_text("secret")

        def refuse(path, *args, **kwargs):
            if str(path).endswith("locked.py"):
                raise error
            return open(path, *args, **kwargs)

        monkeypatch.setattr(tmt.snapshot, "open", refuse, raising=False)
        with pytest.warns(UserWarning, match=f"locked.py: {reason}"):
            snap = snapshot_of_new_run()
        assert tree(snap) == {"train.py"}
        entry = TmtManager().set_entry_by_name("snap")
        assert entry.to_dict()["snapshot_left_out"] == {"skipped": [f"locked.py: {reason}"]}

    def test_a_snapshot_that_fails_half_way_leaves_nothing_behind(
        self, project: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import tmt.snapshot

        def broken(*args, **kwargs):
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(tmt.snapshot, "_make_folders", broken)
        (project / "pkg").mkdir()
        with pytest.warns(UserWarning, match=r"lost its code snapshot \(No space left"):
            tmt_recorder(name="full", description="")(lambda: {"ok": 1})()
        entry = TmtManager().set_entry_by_name("full")
        assert entry.status == "finished" and entry.snapshot_path is None
        snapshots = project / ".tmt" / "snapshots"
        assert [p.name for p in snapshots.iterdir() if not p.name.startswith(".")] == []
        assert list((snapshots / ".tmp").iterdir()) == []

    def test_a_snapshot_problem_never_costs_the_run_its_record(self, project: Path) -> None:
        (project / "c.json").write_text('{"snapshot_source": "does-not-exist"}')
        with pytest.warns(UserWarning, match="could not read"):
            tmt_recorder(name="nosrc", config_path="c.json")(lambda: {"ok": 1})()
        entry = TmtManager(config="c.json").set_entry_by_name("nosrc")
        assert entry.status == "finished" and entry.metrics == {"ok": 1}


class TestHistory:
    def test_an_unchanged_tree_is_the_same_tree(self, project: Path) -> None:
        """A second snapshot of an unchanged project adds one symlink and no data."""
        make_old(project / "train.py")
        first = snapshot_of_new_run("one")
        second = snapshot_of_new_run("two")
        assert first.resolve() == second.resolve()
        assert os.path.islink(second)

    def test_an_unchanged_old_file_is_not_read_again(self, project, monkeypatch) -> None:
        """The stat cache vouches for files modified long before it was written."""
        import tmt.snapshot

        make_old(project / "train.py")
        snapshot_of_new_run("one")
        opened = []

        def spy(path, *args, **kwargs):
            opened.append(str(path))
            return open(path, *args, **kwargs)

        monkeypatch.setattr(tmt.snapshot, "open", spy, raising=False)
        snapshot_of_new_run("two")
        assert not [p for p in opened if p.endswith("train.py")]

    def test_a_changed_file_is_stored_and_the_rest_linked(self, project: Path) -> None:
        (project / "other.py").write_text("same\n")
        first = snapshot_of_new_run("one")
        (project / "train.py").write_text("print('changed a lot')\n")
        second = snapshot_of_new_run("two")
        assert (first / "train.py").read_text() == "print('training')\n"
        assert (second / "train.py").read_text() == "print('changed a lot')\n"
        assert os.stat(first / "other.py").st_ino == os.stat(second / "other.py").st_ino

    def test_reverting_a_file_to_an_old_version_costs_nothing(self, project: Path) -> None:
        """Content seen in any earlier snapshot, not only the last, is linked, not copied."""
        first = snapshot_of_new_run("v1")
        (project / "train.py").write_text("version two\n")
        snapshot_of_new_run("v2")
        (project / "train.py").write_text("print('training')\n")
        third = snapshot_of_new_run("v3")
        assert os.stat(first / "train.py").st_ino == os.stat(third / "train.py").st_ino

    def test_a_same_size_edit_with_the_same_mtime_is_seen(self, project: Path) -> None:
        """Size and mtime alone would call this unchanged; the snapshot must not."""
        path = project / "train.py"
        path.write_text("aaaa\n")
        make_old(path)
        mtime = path.stat().st_mtime_ns
        snapshot_of_new_run("one")
        path.write_text("bbbb\n")
        os.utime(path, ns=(mtime, mtime))
        assert (snapshot_of_new_run("two") / "train.py").read_text() == "bbbb\n"

    def test_an_edit_within_timestamp_granularity_is_seen(self, project: Path) -> None:
        """A file modified right after it was cached is hashed again (racy-git rule)."""
        path = project / "train.py"
        path.write_text("aaaa\n")
        snapshot_of_new_run("one")  # train.py is "racy": modified just now
        path.write_text("bbbb\n")
        assert (snapshot_of_new_run("two") / "train.py").read_text() == "bbbb\n"

    def test_snapshot_files_are_read_only(self, project: Path) -> None:
        snap = snapshot_of_new_run()
        assert not os.stat(snap / "train.py").st_mode & (stat.S_IWUSR | stat.S_IWGRP)
        (project / "train.py").write_text("editing the working tree\n")
        assert (snap / "train.py").read_text() == "print('training')\n"

    def test_last_points_to_the_newest_snapshot_relatively(self, project: Path) -> None:
        snapshot_of_new_run("one")
        second = snapshot_of_new_run("two")
        last = project / ".tmt" / "snapshots" / "last"
        assert os.readlink(last) == second.name
        assert not os.path.isabs(os.readlink(second))

    def test_the_project_can_be_moved(self, project: Path, tmp_path: Path) -> None:
        snapshot_of_new_run()
        moved = tmp_path / "moved"
        project.rename(moved)
        os.chdir(moved)
        snap = Path(TmtManager().set_entry_by_name("snap").snapshot_path)
        assert (snap / "train.py").read_text() == "print('training')\n"
        assert (moved / ".tmt" / "snapshots" / "last" / "train.py").exists()

    def test_a_dangling_last_link_does_not_break_later_runs(self, project: Path) -> None:
        (project / ".tmt" / "snapshots").mkdir(parents=True)
        (project / ".tmt" / "snapshots" / "last").symlink_to("gone")
        snap = snapshot_of_new_run()
        assert (snap / "train.py").exists()
        assert (project / ".tmt" / "snapshots" / "last").resolve() == snap.resolve()

    def test_the_snapshot_is_taken_when_the_run_starts(self, project: Path) -> None:
        """Edits made while a run trains do not leak into its snapshot."""

        @tmt_recorder(name="long")
        def train():
            (project / "train.py").write_text("edited during the run\n")

        train()
        snap = Path(TmtManager().set_entry_by_name("long").snapshot_path)
        assert (snap / "train.py").read_text() == "print('training')\n"

    def test_the_hardlink_limit_falls_back_to_a_copy(self, project, monkeypatch) -> None:
        """EMLINK (too many links to one inode) gives a fresh copy, never an error."""
        import tmt.snapshot

        real_link = os.link

        def full(src, dst, *args, **kwargs):
            if f"{os.sep}.objects{os.sep}" in str(src):
                raise OSError(errno.EMLINK, "Too many links")
            return real_link(src, dst, *args, **kwargs)

        snapshot_of_new_run("one")
        (project / "new.py").write_text("a new tree must link train.py's object again\n")
        monkeypatch.setattr(tmt.snapshot.os, "link", full)
        snap = snapshot_of_new_run("two")
        assert (snap / "train.py").read_text() == "print('training')\n"
        assert os.stat(snap / "train.py").st_nlink == 1
        assert not os.stat(snap / "train.py").st_mode & stat.S_IWUSR


class TestGarbage:
    def test_deleting_a_snapshot_frees_exactly_what_nothing_else_uses(self, project) -> None:
        (project / "shared.py").write_text("shared by both\n")
        snapshot_of_new_run("one")
        (project / "train.py").write_text("only in the second\n")
        snapshot_of_new_run("two")
        snapshots = project / ".tmt" / "snapshots"
        first_id = TmtManager().set_entry_by_name("one").id
        (snapshots / first_id).unlink()
        files, size = collect_garbage(str(snapshots))
        assert (files, size) == (1, len("print('training')\n"))  # the first train.py only
        second = Path(TmtManager().set_entry_by_name("two").snapshot_path)
        assert (second / "shared.py").read_text() == "shared by both\n"
        assert collect_garbage(str(snapshots)) == (0, 0)

    def test_a_collected_object_is_stored_again_when_needed(self, project: Path) -> None:
        """The stat cache may name data collected since; the next snapshot restores it."""
        (project / "keep.py").write_text("kept\n")
        make_old(project / "keep.py")
        snapshot_of_new_run("one")
        snapshots = project / ".tmt" / "snapshots"
        (snapshots / TmtManager().set_entry_by_name("one").id).unlink()
        collect_garbage(str(snapshots))
        (project / "train.py").write_text("a new tree is needed\n")
        snap = snapshot_of_new_run("two")
        assert (snap / "keep.py").read_text() == "kept\n"


def engine_snapshot(project: Path, name: str) -> SnapshotReport:
    """A snapshot of the project taken by the engine alone, into ``.tmt/snapshots``."""
    target = project / ".tmt" / "snapshots"
    target.mkdir(parents=True, exist_ok=True)
    return take_snapshot(str(project), str(target), name, [str(project / ".tmt")])


def write(root: Path, sizes: dict[str, int]) -> None:
    """Files of the given sizes, each with content of its own."""
    for rel, size in sizes.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rel.encode().ljust(size, b".")[:size])


TRAIN_PY = len("print('training')\n")


class TestNewData:
    """A snapshot counts the bytes of the objects it stored anew, and where they are."""

    def test_a_first_snapshot_counts_every_file_it_stored(self, project: Path) -> None:
        write(project, {"data/a.bin": 1000, "data/b.bin": 500})
        report = engine_snapshot(project, "one")
        assert (report.new_objects, report.new_bytes) == (3, 1500 + TRAIN_PY)

    def test_an_unchanged_tree_stores_nothing_new(self, project: Path) -> None:
        """Files modified just now are hashed again, and found in the store: nothing is new."""
        write(project, {"images/a.png": 2000})
        engine_snapshot(project, "one")
        report = engine_snapshot(project, "two")
        assert (report.new_objects, report.new_bytes, report.largest_new()) == (0, 0, [])

    def test_content_the_store_holds_costs_nothing(self, project: Path) -> None:
        """A copy of a stored file, or a file reverted to an old version, is not new data."""
        engine_snapshot(project, "one")
        (project / "copy.py").write_text("print('training')\n")
        (project / "train.py").write_text("v2\n")
        assert engine_snapshot(project, "two").new_bytes == len("v2\n")
        (project / "train.py").write_text("print('training')\n")
        assert engine_snapshot(project, "three").new_bytes == 0

    def test_the_same_content_twice_in_one_snapshot_counts_once(self, project: Path) -> None:
        """Even when many files are stored in parallel."""
        for i in range(40):
            (project / f"same{i}.txt").write_text("the same content\n")
        report = engine_snapshot(project, "one")
        assert report.new_bytes == len("the same content\n") + TRAIN_PY

    def test_the_three_largest_top_level_folders_or_files_are_named(self, project: Path) -> None:
        write(
            project,
            {
                "images/a.png": 2000,
                "images/b.png": 1000,
                "weights.pt": 800,
                "data/x.csv": 600,
                "src/model.py": 100,
            },
        )
        assert engine_snapshot(project, "one").largest_new() == [
            ("images/", 3000),
            ("weights.pt", 800),
            ("data/", 600),
        ]

    def test_a_folder_is_named_by_the_one_inside_holding_nearly_all_its_data(
        self, project: Path
    ) -> None:
        """``data/raw/images/``, not ``data/``; a folder split between two is named itself."""
        write(
            project,
            {
                "data/labels.csv": 50,
                "data/raw/notes.txt": 30,
                "data/raw/images/a.png": 1000,
                "data/raw/images/b.png": 1000,
                "assets/train/a.png": 600,
                "assets/val/a.png": 400,
            },
        )
        assert engine_snapshot(project, "one").largest_new() == [
            ("data/raw/images/", 2000),
            ("assets/", 1000),
            ("train.py", TRAIN_PY),
        ]

    def test_names_that_are_not_utf8_are_escaped(self, project: Path) -> None:
        (project / os.fsdecode(b"caf\xe9")).mkdir()
        (project / os.fsdecode(b"caf\xe9") / "a.bin").write_bytes(b"x" * 100)
        assert engine_snapshot(project, "one").largest_new()[0] == ("caf\\xe9/", 100)

    def test_an_object_collected_since_and_stored_again_counts(self, project: Path) -> None:
        (project / "keep.py").write_text("kept\n")
        make_old(project / "keep.py")
        engine_snapshot(project, "one")
        snapshots = project / ".tmt" / "snapshots"
        (snapshots / "one").unlink()
        collect_garbage(str(snapshots))
        (project / "train.py").write_text("a new tree is needed\n")
        report = engine_snapshot(project, "two")
        assert report.new_bytes == len("kept\n") + len("a new tree is needed\n")
        assert report.largest_new() == [("train.py", 21), ("keep.py", 5)]


def git(project: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(project), *args], check=True, capture_output=True)


needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


@pytest.fixture
def repo(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The project as a git work tree, with no user or system git configuration."""
    home = project.parent / "home"
    (home / ".config" / "git").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    git(project, "init", "-q")
    return project


@needs_git
class TestAsGitSeesIt:
    def test_a_tracked_file_is_kept_though_a_pattern_matches_it(self, repo: Path) -> None:
        (repo / "pkg" / "venv").mkdir(parents=True)
        (repo / "pkg" / "venv" / "__init__.pyi").write_text("stub\n")
        git(repo, "add", "pkg")
        (repo / "pkg" / "venv" / "untracked.pyi").write_text("not tracked\n")
        (repo / ".gitignore").write_text("venv/\n")
        assert tree(snapshot_of_new_run()) == {
            ".gitignore",
            "train.py",
            "pkg",
            "pkg/venv",
            "pkg/venv/__init__.pyi",
        }

    def test_info_exclude_and_core_excludes_file_are_read(self, repo: Path) -> None:
        (repo / ".git" / "info").mkdir(exist_ok=True)
        (repo / ".git" / "info" / "exclude").write_text("*.local\n")
        (repo.parent / "home" / ".config" / "git" / "ignore").write_text("*.swp\n")
        (repo / "a.local").write_text("x")
        (repo / ".train.py.swp").write_text("x")
        assert tree(snapshot_of_new_run()) == {"train.py"}

    def test_a_gitignore_above_the_source_applies(self, repo: Path) -> None:
        (repo / ".gitignore").write_text("*.log\n/sub/top.txt\n")
        sub = repo / "sub"
        sub.mkdir()
        for name in ["code.py", "out.log", "top.txt"]:
            (sub / name).write_text("x")
        config = repo / "c.json"
        config.write_text(json.dumps({"snapshot_source": "sub"}))
        assert tree(snapshot_of_new_run(config_path="c.json")) == {"code.py"}

    def test_a_source_in_a_folder_git_ignores_holds_only_what_git_tracks(self, repo) -> None:
        (repo / ".gitignore").write_text("experiments/*\n")
        run = repo / "experiments" / "exp1"
        run.mkdir(parents=True)
        (run / "tracked.py").write_text("x")
        git(repo, "add", "-f", "experiments/exp1/tracked.py")
        (run / "scratch.py").write_text("x")
        (repo / "c.json").write_text(json.dumps({"snapshot_source": "experiments/exp1"}))
        assert tree(snapshot_of_new_run(config_path="c.json")) == {"tracked.py"}

    def test_git_hooks_environment_does_not_mislead_it(self, repo, monkeypatch) -> None:
        (repo / ".gitignore").write_text("ign/\n")
        (repo / "ign").mkdir()
        (repo / "ign" / "tracked.py").write_text("x")
        git(repo, "add", "-f", "ign/tracked.py")
        monkeypatch.setenv("GIT_DIR", "elsewhere/.git")
        assert "ign/tracked.py" in tree(snapshot_of_new_run())

    def test_a_symlinked_gitignore_is_not_read_as_git_does_not(self, repo: Path) -> None:
        (repo / "patterns").write_text("train.py\n")
        (repo / ".gitignore").symlink_to("patterns")
        assert "train.py" in tree(snapshot_of_new_run())


class TestNeverLost:
    @pytest.mark.parametrize("line", ["!", "bin\\", "foo\\   ", "[", "[[:nope:]]", "\\", "**/"])
    def test_an_odd_ignore_line_never_costs_the_snapshot(self, project, line) -> None:
        (project / ".gitignore").write_bytes(f"{line}\n*.log\n".encode())
        (project / "x.log").write_text("x")
        assert tree(snapshot_of_new_run()) == {".gitignore", "train.py"}

    def test_a_name_that_is_not_utf8_is_kept(self, project: Path) -> None:
        name = os.fsdecode(b"caf\xe9.py")  # Latin-1, not UTF-8
        (project / name).write_text("x\n")
        snap = snapshot_of_new_run()
        assert (snap / name).read_text() == "x\n"
        assert name in tree(snapshot_of_new_run("again"))  # the stat cache round-trips it


class TestPermissions:
    def test_owner_only_files_stay_owner_only(self, project: Path) -> None:
        (project / "secret.py").write_text("key\n")
        os.chmod(project / "secret.py", 0o600)
        os.chmod(project / "train.py", 0o755)
        snap = snapshot_of_new_run()
        assert stat.S_IMODE(os.stat(snap / "secret.py").st_mode) == 0o400
        assert stat.S_IMODE(os.stat(snap / "train.py").st_mode) == 0o555

    def test_same_content_with_other_permissions_is_another_object(self, project) -> None:
        (project / "a.py").write_text("same\n")
        (project / "b.py").write_text("same\n")
        os.chmod(project / "b.py", 0o600)
        snap = snapshot_of_new_run()
        assert os.stat(snap / "a.py").st_ino != os.stat(snap / "b.py").st_ino
        assert stat.S_IMODE(os.stat(snap / "a.py").st_mode) == 0o444

    def test_trees_are_read_only_and_still_removable(self, project: Path) -> None:
        (project / "pkg").mkdir()
        (project / "pkg" / "m.py").write_text("m\n")
        snap = snapshot_of_new_run()
        for folder in [snap, snap / "pkg"]:
            assert not os.stat(folder).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
        snapshots = project / ".tmt" / "snapshots"
        (snapshots / TmtManager().set_entry_by_name("snap").id).unlink()
        (snapshots / "last").unlink()
        collect_garbage(str(snapshots))
        assert os.listdir(snapshots / ".trees") == []

    def test_a_restored_snapshot_is_writable(self, project: Path, tmp_path: Path) -> None:
        (project / "pkg").mkdir()
        (project / "pkg" / "m.py").write_text("m\n")
        snapshot_of_new_run()
        TmtManager().restore("snap", str(tmp_path / "restored"))
        (tmp_path / "restored" / "pkg" / "new.py").write_text("a folder one can write to\n")
        (tmp_path / "restored" / "pkg" / "m.py").write_text("and files\n")
