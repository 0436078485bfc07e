"""Atomic JSON files: a reader sees the old file or the new one, never a torn one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tmt import jsonfile


class TestWriteAtomic:
    def test_writes_readable_indented_json(self, tmp_path: Path) -> None:
        path = tmp_path / "r.json"
        jsonfile.write_atomic(str(path), {"a": [1, 2], "é": "ü"})
        assert jsonfile.read(str(path)) == {"a": [1, 2], "é": "ü"}
        assert '\n  "a": [' in path.read_text(encoding="utf-8")
        assert "ü" in path.read_text(encoding="utf-8")

    def test_a_failed_write_leaves_the_old_file_and_no_temporary(self, tmp_path: Path) -> None:
        """If the data cannot be written, the previous file is intact and nothing is left over."""
        path = tmp_path / "r.json"
        jsonfile.write_atomic(str(path), {"v": 1})
        with pytest.raises(ValueError):
            jsonfile.write_atomic(str(path), {"v": float("nan")})  # strict JSON refuses NaN
        assert jsonfile.read(str(path)) == {"v": 1}
        assert os.listdir(tmp_path) == ["r.json"]

    def test_replaces_with_a_new_inode(self, tmp_path: Path) -> None:
        """Every write is a rename of a new file: readers holding the old one keep it whole."""
        path = tmp_path / "r.json"
        jsonfile.write_atomic(str(path), {"v": 1})
        with open(path) as old:
            jsonfile.write_atomic(str(path), {"v": 2})
            assert old.read().strip().endswith("}")
        assert jsonfile.read(str(path)) == {"v": 2}
