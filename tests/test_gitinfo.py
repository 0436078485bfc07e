"""Git: the commit, branch and uncommitted changes a run started from, when there is git."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tmt import TmtManager, tmt_recorder
from tmt.gitinfo import parse_status

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def git(project: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        cwd=project,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@pytest.fixture
def repo(project: Path) -> Path:
    git(project, "init", "-q", "-b", "main")
    (project / ".gitignore").write_text(".tmt/\n")
    git(project, "add", ".")
    git(project, "commit", "-qm", "first")
    return project


def recorded_git() -> dict | None:
    tmt_recorder(name="g")(lambda: None)()
    return TmtManager().set_entry_by_name("g").git


class TestInARepository:
    def test_commit_and_branch_of_a_clean_tree(self, repo: Path) -> None:
        info = recorded_git()
        assert info["commit"] == git(repo, "rev-parse", "HEAD")
        assert info["branch"] == "main"
        assert info["dirty"] is False and info["diff"] is None

    def test_uncommitted_changes_are_kept_as_a_diff(self, repo: Path) -> None:
        (repo / "train.py").write_text("print('edited')\n")
        (repo / "new.py").write_text("x = 1\n")
        info = recorded_git()
        assert info["dirty"] is True and info["untracked"] == 1
        diff = Path(info["diff"]).read_text()
        assert "+print('edited')" in diff and not info["diff_truncated"]

    def test_a_huge_diff_is_cut(self, repo: Path, monkeypatch) -> None:
        import tmt.gitinfo

        monkeypatch.setattr(tmt.gitinfo, "MAX_DIFF", 50)
        (repo / "train.py").write_text("x\n" * 1000)
        info = recorded_git()
        assert info["diff_truncated"] is True
        assert len(Path(info["diff"]).read_bytes()) == 50

    def test_a_subfolder_of_the_repository(self, repo: Path) -> None:
        (repo / "sub").mkdir()
        os.chdir(repo / "sub")
        assert recorded_git()["commit"] == git(repo, "rev-parse", "HEAD")

    def test_a_detached_head(self, repo: Path) -> None:
        git(repo, "checkout", "-q", "--detach")
        assert recorded_git()["branch"] is None


class TestWithoutGit:
    def test_outside_a_repository_nothing_and_no_error(self, project: Path) -> None:
        assert recorded_git() is None

    def test_without_git_installed_nothing_and_no_error(self, repo: Path, monkeypatch) -> None:
        monkeypatch.setenv("PATH", "")
        assert recorded_git() is None
        assert TmtManager().set_entry_by_name("g").status == "finished"


class TestParseStatus:
    def test_porcelain_v2(self) -> None:
        text = (
            "# branch.oid abc123\n# branch.head dev\n"
            "1 .M N... 100644 100644 100644 a b train.py\n? scratch.txt\n"
        )
        assert parse_status(text) == {
            "commit": "abc123",
            "branch": "dev",
            "dirty": True,
            "untracked": 1,
        }

    def test_a_repository_without_commits(self) -> None:
        assert parse_status("# branch.oid (initial)\n# branch.head main\n")["commit"] is None
