"""Code snapshots: a read-only copy of the source tree, taken when a run starts.

A file unchanged since the previous snapshot is hardlinked to it instead of copied, so an
unchanged tree costs folder entries, not file data. Symlinks are kept as symlinks, never
followed; empty folders are kept; the store itself and ``.git`` are never copied.
"""

from __future__ import annotations

import os
import shutil
import stat

from .ignore import folder_layer, is_ignored, root_layers

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .ignore import Layer

#: Files larger than this many bytes are left out of snapshots (and named in a warning).
MAX_FILE_SIZE = 10 * 1024 * 1024
_READ_ONLY = ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


class SnapshotReport:
    """What a snapshot holds and what it left out, with why."""

    __slots__ = ("copied", "linked", "skipped", "too_large")

    def __init__(self) -> None:
        self.copied = 0
        self.linked = 0
        self.too_large: list[str] = []
        self.skipped: list[str] = []  # "path: reason", for unreadable or vanished files


def take_snapshot(
    source: str,
    dest: str,
    previous: str | None,
    exclude: list[str],
    extra_ignore_file: str | None = None,
    max_file_size: int | None = None,
) -> SnapshotReport:
    """Copy ``source`` to the new folder ``dest``, linking files unchanged since ``previous``.

    ``exclude`` lists absolute folders never to enter (the store's folders). Files larger
    than ``max_file_size`` bytes (default :data:`MAX_FILE_SIZE`) are left out.
    """
    report = SnapshotReport()
    excluded = {os.path.normcase(os.path.abspath(p)) for p in exclude}
    os.makedirs(dest)
    walker = _Walker(report, excluded, MAX_FILE_SIZE if max_file_size is None else max_file_size)
    walker.copy_tree(source, dest, previous, "", root_layers(extra_ignore_file))
    return report


def previous_snapshot(last_link: str) -> str | None:
    """The folder ``last_link`` points to, if it points to one (a dangling link gives ``None``)."""
    return last_link if os.path.isdir(last_link) else None


def point_last_link(last_link: str, dest: str) -> None:
    """Make ``last_link`` a relative symlink to ``dest``, replacing any old one atomically."""
    directory = os.path.dirname(last_link)
    os.makedirs(directory, exist_ok=True)
    target = os.path.relpath(dest, directory)
    name = f".{os.path.basename(last_link)}.{os.getpid()}.{os.urandom(4).hex()}"
    tmp = os.path.join(directory, name)
    os.symlink(target, tmp)
    try:
        os.replace(tmp, last_link)
    except OSError:
        os.unlink(tmp)
        raise


class _Walker:
    def __init__(self, report: SnapshotReport, excluded: set[str], max_file_size: int) -> None:
        self.report = report
        self.excluded = excluded
        self.max_file_size = max_file_size

    def copy_tree(
        self, src: str, dst: str, prev: str | None, base: str, layers: list[Layer]
    ) -> None:
        try:
            entries = list(os.scandir(src))
        except OSError as exc:
            self.report.skipped.append(f"{base or '.'}: {exc.strerror or exc}")
            return
        layer = folder_layer(src, base, {e.name for e in entries})
        if layer is not None:
            layers = [*layers, layer]
        for entry in entries:
            name = entry.name
            rel = base + name
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
                if is_dir and (
                    name == ".git"
                    or os.path.normcase(entry.path) in self.excluded
                    or os.path.exists(os.path.join(entry.path, "pyvenv.cfg"))
                ):
                    continue
                if is_ignored(layers, rel, is_dir):
                    continue
                target = os.path.join(dst, name)
                previous = None if prev is None else os.path.join(prev, name)
                if is_dir:
                    os.mkdir(target)
                    self.copy_tree(entry.path, target, previous, rel + "/", layers)
                elif entry.is_symlink():
                    os.symlink(os.readlink(entry.path), target)
                elif entry.is_file(follow_symlinks=False):
                    self.copy_file(entry, target, previous, rel)
            except FileNotFoundError:
                self.report.skipped.append(f"{rel}: vanished while the snapshot was taken")
            except OSError as exc:
                self.report.skipped.append(f"{rel}: {exc.strerror or exc}")

    def copy_file(self, entry: os.DirEntry, target: str, previous: str | None, rel: str) -> None:
        st = entry.stat(follow_symlinks=False)
        if st.st_size > self.max_file_size:
            self.report.too_large.append(rel)
            return
        if previous is not None:
            try:
                old = os.lstat(previous)
            except OSError:
                old = None
            if (
                old is not None
                and stat.S_ISREG(old.st_mode)
                and old.st_size == st.st_size
                and old.st_mtime_ns == st.st_mtime_ns
            ):
                try:
                    os.link(previous, target)
                    self.report.linked += 1
                    return
                except OSError:
                    pass  # too many links, another filesystem: copy instead
        shutil.copyfile(entry.path, target, follow_symlinks=False)
        os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
        os.chmod(target, stat.S_IMODE(st.st_mode) & _READ_ONLY)
        self.report.copied += 1
