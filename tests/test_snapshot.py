"""Code snapshots: what a run's snapshot holds, and what it leaves out."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tmt import TmtManager, tmt_recorder


def snapshot_of_new_run(name: str = "snap", config_path: str | None = None) -> Path:
    tmt_recorder(name=name, config_path=config_path)(lambda: None)()
    manager = TmtManager(config=config_path)
    manager.set_entry_by_name(name)
    return Path(manager.code_snapshot_path())


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


class TestContents:
    def test_copies_the_source_tree(self, project: Path) -> None:
        (project / "pkg").mkdir()
        (project / "pkg" / "model.py").write_text("x = 1\n")
        snap = snapshot_of_new_run()
        assert (snap / "pkg" / "model.py").read_text() == "x = 1\n"
        assert (snap / "train.py").exists()

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

    def test_tmtignore_leaves_out_what_git_keeps(self, project: Path) -> None:
        (project / "notebook.ipynb").write_text("{}")
        (project / ".tmtignore").write_text("*.ipynb\n")
        assert "notebook.ipynb" not in tree(snapshot_of_new_run())

    def test_gitignore_path_adds_patterns(self, project: Path) -> None:
        (project / "secret.key").write_text("k")
        (project / "ignore.txt").write_text("*.key\n")
        (project / "c.json").write_text('{"gitignore_path": "ignore.txt"}')
        assert "secret.key" not in tree(snapshot_of_new_run(config_path="c.json"))

    def test_git_folder_store_and_virtualenvs_are_never_copied(self, project: Path) -> None:
        (project / ".git").mkdir()
        (project / ".git" / "HEAD").write_text("ref")
        (project / "myenv").mkdir()
        (project / "myenv" / "pyvenv.cfg").write_text("home = /usr")
        snap = snapshot_of_new_run()
        snapshot_of_new_run("second")
        assert tree(snap) == {"train.py"}

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
        (project / "new").mkdir()
        (project / "new" / "b.py").write_text("b")
        assert tree(snapshot_of_new_run("two")) == {"train.py", "new", "new/b.py"}

    def test_symlinks_stay_symlinks_and_empty_folders_are_kept(self, project: Path) -> None:
        (project / "empty").mkdir()
        (project / "link.py").symlink_to("train.py")
        (project / "outside").symlink_to("/etc")
        snap = snapshot_of_new_run()
        assert (snap / "empty").is_dir()
        assert os.readlink(snap / "link.py") == "train.py"
        assert os.readlink(snap / "outside") == "/etc"
        assert not (snap / "outside" / "passwd").is_file() or (snap / "outside").is_symlink()

    def test_files_over_the_size_cap_are_left_out_and_recorded(
        self, project: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import tmt.snapshot

        monkeypatch.setattr(tmt.snapshot, "MAX_FILE_SIZE", 100)
        (project / "weights.bin").write_bytes(b"x" * 101)
        with pytest.warns(UserWarning, match="too large for the code snapshot.*weights.bin"):
            snap = snapshot_of_new_run()
        assert not (snap / "weights.bin").exists()
        entry = TmtManager().set_entry_by_name("snap")
        assert entry.to_dict()["snapshot_left_out"] == {"too_large": ["weights.bin"]}


class TestHistory:
    def test_unchanged_files_are_hardlinked_to_the_previous_snapshot(self, project) -> None:
        first = snapshot_of_new_run("one")
        second = snapshot_of_new_run("two")
        assert os.stat(first / "train.py").st_ino == os.stat(second / "train.py").st_ino

    def test_a_changed_file_is_copied(self, project: Path) -> None:
        first = snapshot_of_new_run("one")
        (project / "train.py").write_text("print('changed a lot')\n")
        second = snapshot_of_new_run("two")
        assert (first / "train.py").read_text() == "print('training')\n"
        assert (second / "train.py").read_text() == "print('changed a lot')\n"

    def test_snapshot_files_are_read_only(self, project: Path) -> None:
        snap = snapshot_of_new_run()
        assert not os.stat(snap / "train.py").st_mode & (stat.S_IWUSR | stat.S_IWGRP)
        assert os.access(project / "train.py", os.W_OK)

    def test_last_points_to_the_newest_snapshot_relatively(self, project: Path) -> None:
        snapshot_of_new_run("one")
        second = snapshot_of_new_run("two")
        last = project / ".tmt" / "snapshots" / "last"
        assert not os.path.isabs(os.readlink(last))
        assert last.resolve() == second.resolve()

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

    def test_a_snapshot_problem_never_costs_the_run_its_record(self, project: Path) -> None:
        (project / "c.json").write_text('{"snapshot_source": "does-not-exist"}')
        with pytest.warns(UserWarning, match="could not read"):
            tmt_recorder(name="nosrc", config_path="c.json")(lambda: {"ok": 1})()
        entry = TmtManager(config="c.json").set_entry_by_name("nosrc")
        assert entry.status == "finished" and entry.metrics == {"ok": 1}
