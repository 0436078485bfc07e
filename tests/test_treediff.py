"""Diffs between code snapshots."""

from __future__ import annotations

import os
from pathlib import Path

from tmt.treediff import tree_diff


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
