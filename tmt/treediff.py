"""The differences between two code snapshots, as a unified diff."""

from __future__ import annotations

import difflib
import os
import stat

from .jsonfile import read_bytes

_MAX_TEXT = 2 * 1024 * 1024


def files_of(root: str | None) -> dict[str, str]:
    """Relative path -> absolute path of every file (and symlink) under ``root``."""
    found: dict[str, str] = {}
    if not root or not os.path.isdir(root):
        return found
    root = os.path.realpath(root)
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files) + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            path = os.path.join(folder, name)
            found[os.path.relpath(path, root)] = path
    return found


def tree_diff(a: str | None, b: str | None, a_label: str = "a", b_label: str = "b") -> list[str]:
    """Unified diff lines from tree ``a`` to tree ``b`` (files that are the same file, as
    hardlinked snapshot files are, are skipped without being read)."""
    left, right = files_of(a), files_of(b)
    lines: list[str] = []
    for rel in sorted(set(left) | set(right)):
        pa, pb = left.get(rel), right.get(rel)
        if pa and pb and _same(pa, pb):
            continue
        old, new = _lines(pa), _lines(pb)
        if old is None or new is None:
            lines.append(f"Binary files {a_label}/{rel} and {b_label}/{rel} differ")
            continue
        lines.extend(
            line.rstrip("\n")
            for line in difflib.unified_diff(
                old,
                new,
                f"{a_label}/{rel}" if pa else "/dev/null",
                f"{b_label}/{rel}" if pb else "/dev/null",
            )
        )
    return lines


def _same(a: str, b: str) -> bool:
    try:
        sa, sb = os.lstat(a), os.lstat(b)
    except OSError:
        return False
    if (sa.st_ino, sa.st_dev) == (sb.st_ino, sb.st_dev):
        return True
    if os.path.islink(a) or os.path.islink(b):
        return os.path.islink(a) and os.path.islink(b) and os.readlink(a) == os.readlink(b)
    if sa.st_size != sb.st_size or not (stat.S_ISREG(sa.st_mode) and stat.S_ISREG(sb.st_mode)):
        return False
    try:
        return read_bytes(a, _MAX_TEXT) == read_bytes(b, _MAX_TEXT)
    except OSError:  # too large to compare here: shown as differing binaries
        return False


def _lines(path: str | None) -> list[str] | None:
    """The text lines of ``path`` (none for a missing file), or None for a binary file."""
    if path is None:
        return []
    if os.path.islink(path):
        return [f"symlink -> {os.readlink(path)}\n"]
    try:  # a snapshot holds regular files; anything else (a FIFO) is never opened
        data = read_bytes(path, _MAX_TEXT)
    except OSError:
        return None
    if b"\0" in data[:8192]:
        return None
    try:
        return data.decode("utf-8").splitlines(keepends=True)
    except UnicodeDecodeError:
        return None
