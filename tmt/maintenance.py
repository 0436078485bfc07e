"""Deleting runs and collecting what no run uses any more; restoring a run's code."""

from __future__ import annotations

import os
import shutil
import stat

from .snapshot import collect_garbage

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .entry import Entry
    from .store import Store


class RunningRunError(Exception):
    """Deleting a run that is still running needs ``force``."""


def delete_runs(store: Store, entries: list[Entry], force: bool = False) -> int:
    """Delete runs: their records, output, results and snapshot links; then the snapshot data
    no remaining run shares. Returns the bytes freed. Running runs need ``force``."""
    running = [e for e in entries if e.status == "running"]
    if running and not force:
        names = ", ".join(f"{e.id} ({e.name})" for e in running)
        raise RunningRunError(f"refusing to delete running runs without force: {names}")
    freed = 0
    for entry in entries:
        if entry.legacy:
            raise ValueError(f"run {entry.id} lives in a tmt 0.1.x database and cannot be deleted")
    config = store.config
    for entry in entries:
        freed += _remove(store.run_dir(entry.id))  # the record first: the run is gone at once
        freed += _remove(store.results_dir(entry.id))
        link = os.path.join(config.snapshot_target, entry.id)
        if os.path.islink(link):
            os.unlink(link)
    _repoint_last(store)
    return freed + collect(store)


def collect(store: Store) -> int:
    """Remove what no run refers to: results and snapshot links of deleted runs, snapshot
    data no snapshot uses, package lists no run names. Returns the bytes freed."""
    config = store.config
    ids = {r["id"] for r in store.records()}
    freed = 0
    for folder in _listdir(store.results_root):
        if folder not in ids and not folder.startswith("."):
            freed += _remove(os.path.join(store.results_root, folder))
    last = os.path.basename(config.last_snapshot_link)
    for name in _listdir(config.snapshot_target):
        path = os.path.join(config.snapshot_target, name)
        if name not in ids and name != last and not name.startswith(".") and os.path.islink(path):
            os.unlink(path)
    freed += collect_garbage(config.snapshot_target)[1]
    used = {(r.get("environment") or {}).get("packages") for r in store.records()}
    envs = os.path.join(store.root, "envs")
    for name in _listdir(envs):
        if f"envs/{name}" not in used:
            freed += _remove(os.path.join(envs, name))
    return freed


def restore_snapshot(entry: Entry, dest: str) -> int:
    """Copy the run's code snapshot to ``dest`` (which must not exist), writable; the number
    of files copied."""
    source = entry.snapshot_path
    if not source or not os.path.isdir(source):
        raise FileNotFoundError(f"run {entry.id} has no code snapshot")
    if os.path.lexists(dest):
        raise FileExistsError(f"{dest} already exists; name a new folder")
    shutil.copytree(source, dest, symlinks=True)
    count = 0
    for folder, _, files in os.walk(dest):
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, os.stat(path).st_mode | stat.S_IWUSR)
                count += 1
    return count


def _repoint_last(store: Store) -> None:
    """Point ``last`` at the newest remaining snapshot, or remove it if there is none."""
    from .snapshot import point_last_link

    link = store.config.last_snapshot_link
    if os.path.exists(link):
        return  # still points at a snapshot that exists
    for record in reversed(store.records()):
        target = os.path.join(store.config.snapshot_target, record["id"])
        if os.path.isdir(target):
            point_last_link(link, target)
            return
    if os.path.islink(link):
        os.unlink(link)


def _remove(path: str) -> int:
    """Delete a file or folder; the bytes it held (files with no other link)."""
    if not os.path.lexists(path):
        return 0
    size = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                st = os.lstat(os.path.join(folder, name))
                if st.st_nlink == 1:
                    size += st.st_size
            except OSError:
                pass
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        os.unlink(path)
    return size


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []
