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


class TestSafeReading:
    """Reading a file of the store can never hang, nor read without end."""

    def test_a_fifo_is_refused_without_blocking(self, tmp_path: Path) -> None:
        os.mkfifo(tmp_path / "run.json")
        with pytest.raises(OSError, match=r"not a regular file \(a FIFO\)"):
            jsonfile.read(str(tmp_path / "run.json"))

    def test_a_link_to_a_device_is_refused(self, tmp_path: Path) -> None:
        os.symlink("/dev/zero", tmp_path / "stdout.txt")
        with pytest.raises(OSError, match="symbolic link"):
            jsonfile.read_bytes(str(tmp_path / "stdout.txt"), 100)
        with pytest.raises(OSError, match="character device"):
            jsonfile.read_bytes(str(tmp_path / "stdout.txt"), 100, follow_symlinks=True)

    def test_a_file_over_the_cap_is_refused(self, tmp_path: Path) -> None:
        (tmp_path / "big").write_bytes(b"x" * 101)
        assert jsonfile.read_bytes(str(tmp_path / "big"), 101) == b"x" * 101
        with pytest.raises(OSError, match="larger than 100 bytes"):
            jsonfile.read_bytes(str(tmp_path / "big"), 100)

    def test_json_nested_past_the_recursion_limit_is_a_value_error(self, tmp_path: Path) -> None:
        (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
        with pytest.raises(ValueError, match="nested too deeply"):
            jsonfile.read(str(tmp_path / "deep.json"))

    def test_text_that_is_not_utf8_is_read_with_replacements(self, tmp_path: Path) -> None:
        (tmp_path / "out.txt").write_bytes(b"ok \xff\xfe end")
        assert jsonfile.read_text(str(tmp_path / "out.txt"), 100) == "ok \ufffd\ufffd end"


class TestNames:
    def test_a_file_name_that_is_not_utf8_round_trips(self, tmp_path: Path) -> None:
        """Paths from os.listdir may hold lone surrogates; they are kept, as JSON escapes."""
        name = os.fsdecode(b"caf\xe9.py")
        jsonfile.write_atomic(str(tmp_path / "r.json"), {"left_out": [name]})
        assert jsonfile.read(str(tmp_path / "r.json")) == {"left_out": [name]}

    def test_temporary_files_are_hidden_and_name_their_writer(self, tmp_path: Path) -> None:
        from tmt.liveness import is_debris, is_temp_name

        seen = []
        real_replace = os.replace

        def spy(src, dst):
            seen.append(os.path.basename(src))
            real_replace(src, dst)

        os.replace = spy
        try:
            jsonfile.write_atomic(str(tmp_path / ("r" * 240 + ".json")), {"v": 1})
        finally:
            os.replace = real_replace
        (name,) = seen
        assert name.startswith(".") and is_temp_name(name) and len(name) < 60
        assert not is_debris(name, 0.0)  # its writer, this process, is alive


class TestCompactJson:
    """Caches are written as compact, strict JSON."""

    def test_no_spaces_between_items(self) -> None:
        assert jsonfile.dumps_compact({"a": [1, 2], "é": "ü"}) == '{"a":[1,2],"é":"ü"}'

    def test_nan_is_refused(self) -> None:
        with pytest.raises(ValueError):
            jsonfile.dumps_compact({"v": float("nan")})


class TestDurability:
    """By default a write reaches the disk (file and folder) before it returns."""

    def test_the_file_and_its_folder_are_flushed(self, tmp_path: Path, monkeypatch) -> None:
        flushed: list[int] = []
        real_fsync = os.fsync
        monkeypatch.setattr(os, "fsync", lambda fd: (flushed.append(fd), real_fsync(fd))[1])
        jsonfile.write_atomic(str(tmp_path / "r.json"), {"v": 1})
        assert len(flushed) == 2
        flushed.clear()
        jsonfile.write_atomic(str(tmp_path / "r.json"), {"v": 2}, durable=False)
        assert flushed == []


class TestSymbolicLinks:
    """A symbolic link is refused unless ``follow_symlinks``, even one to a regular file."""

    @pytest.fixture
    def link(self, tmp_path: Path) -> str:
        (tmp_path / "real.json").write_text('{"v": 1}')
        os.symlink(tmp_path / "real.json", tmp_path / "link.json")
        return str(tmp_path / "link.json")

    def test_refused_by_default_with_the_reason(self, link: str) -> None:
        for read in (jsonfile.read, lambda p: jsonfile.read_text(p, 100)):
            with pytest.raises(OSError, match="a symbolic link, not a file tmt wrote"):
                read(link)
        with pytest.raises(OSError, match="a symbolic link, not a file tmt wrote"):
            jsonfile.open_regular(link)

    def test_followed_on_request(self, link: str) -> None:
        assert jsonfile.read(link, follow_symlinks=True) == {"v": 1}
        assert jsonfile.read_bytes(link, 100, follow_symlinks=True) == b'{"v": 1}'
        assert jsonfile.read_text(link, 100, follow_symlinks=True) == '{"v": 1}'
        os.close(jsonfile.open_regular(link, follow_symlinks=True))


class TestKinds:
    def test_a_folder_is_named_in_the_refusal(self, tmp_path: Path) -> None:
        """The error says what the path is instead of a file."""
        with pytest.raises(OSError, match=r"not a regular file \(a folder\)"):
            jsonfile.read(str(tmp_path))


class TestCapWhileReading:
    """The cap holds for files whose size is not known in advance (it counts what is read)."""

    def test_a_file_reporting_no_size_is_capped(self) -> None:
        path = "/proc/self/status"  # a regular file whose st_size is 0
        assert os.stat(path).st_size == 0
        content = jsonfile.read_bytes(path, 1 << 20)
        assert content.startswith(b"Name:")
        with pytest.raises(OSError, match="larger than 10 bytes"):
            jsonfile.read_bytes(path, 10)

    def test_one_byte_over_the_cap_is_refused(self) -> None:
        path = "/proc/self/cmdline"  # stable for this process, st_size 0
        size = len(jsonfile.read_bytes(path, 1 << 20))
        assert jsonfile.read_bytes(path, size) != b""
        with pytest.raises(OSError, match=f"larger than {size - 1:,} bytes"):
            jsonfile.read_bytes(path, size - 1)
