"""Diffs between code snapshots."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tmt.treediff import tree_diff

from conftest import REPO


def make(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


class TestTreeDiff:
    def test_changed_added_removed_and_binary(self, tmp_path: Path) -> None:
        a = make(
            tmp_path / "a", {"same.py": b"x\n", "m.py": b"1\n", "gone.py": b"g\n", "w.bin": b"\0\1"}
        )
        b = make(
            tmp_path / "b", {"same.py": b"x\n", "m.py": b"2\n", "new.py": b"n\n", "w.bin": b"\0\2"}
        )
        lines = tree_diff(str(a), str(b))
        text = "\n".join(lines)
        assert "same.py" not in text
        assert "-1" in lines and "+2" in lines
        assert "--- a/gone.py" in text and "+++ /dev/null" in text
        assert "+++ b/new.py" in text
        assert "Binary files a/w.bin and b/w.bin differ" in text

    def test_hardlinked_files_are_the_same_without_reading(self, tmp_path: Path) -> None:
        a = make(tmp_path / "a", {"f.py": b"x\n"})
        (tmp_path / "b").mkdir()
        os.link(a / "f.py", tmp_path / "b" / "f.py")
        assert tree_diff(str(a), str(tmp_path / "b")) == []

    def test_a_missing_snapshot_is_empty(self, tmp_path: Path) -> None:
        b = make(tmp_path / "b", {"f.py": b"x\n"})
        assert "+x" in tree_diff(None, str(b))


def test_a_fifo_in_a_tree_is_never_opened(tmp_path: Path) -> None:
    """A crafted snapshot may hold a FIFO: the diff says it differs instead of waiting on it."""
    for side in ("a", "b"):
        (tmp_path / side).mkdir()
        os.mkfifo(tmp_path / side / "pipe")
    code = "import sys; from tmt.treediff import tree_diff; print(tree_diff(*sys.argv[1:]))"
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "a"), str(tmp_path / "b")],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=True,
    ).stdout
    assert "Binary files a/pipe and b/pipe differ" in out
