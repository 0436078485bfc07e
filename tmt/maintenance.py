"""Deleting runs, collecting what no run uses any more, and restoring a run's code.

Clean-up removes only garbage, and only tmt's own:

- It works only in the store's own folders, reached without a symbolic link; a link where tmt
  expects a folder is left alone (with a warning), and a link among what it deletes is removed
  itself, never followed.
- It removes only entries named as tmt names them: run ids, tree ids, object hashes, package
  list hashes, and temporary files whose maker is gone (see :func:`tmt.liveness.is_debris`).
- It never removes what belongs to a run folder that exists, readable or not, however late
  the run started; nor a package list touched shortly before it began (a run starting
  meanwhile may be about to name it).
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import time
import warnings

from . import jsonfile
from .errors import ReadOnlyRunError, RunningRunError, StoreError
from .liveness import is_debris, temp_name
from .snapshot import collect_garbage, is_last_link, point_last_link, remove_counted

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .entry import Entry
    from .store import Store

#: A package list touched less than this many seconds before a clean-up began is kept.
GRACE = 600.0
RUN_ID = re.compile(r"[0-9a-f]{12}")
_ENV_NAME = re.compile(r"[0-9a-f]{16}\.json")
_ENV_REFERENCE = re.compile(rb"envs/([0-9a-f]{16}\.json)")


def delete_runs(store: Store, entries: list[Entry], force: bool = False) -> int:
    """Delete runs: their records, output, results and snapshot links; then the snapshot data
    no remaining run shares. Returns the bytes freed. Running runs need ``force``."""
    running = [e for e in entries if e.status == "running"]
    if running and not force:
        names = ", ".join(f"{e.id} ({e.name})" for e in running)
        raise RunningRunError(f"refusing to delete running runs without force: {names}")
    for entry in entries:
        if entry.legacy:
            raise ReadOnlyRunError(
                f"run {entry.id} lives in a tmt 0.1.x database and cannot be deleted"
            )
    folders = _Folders(store)
    if entries and folders.runs is None:
        raise StoreError(f"{store.runs_dir} is not a folder of the store; nothing deleted")
    freed = 0
    for entry in entries:
        # The record first: the run is gone at once, and its leftovers are garbage from then.
        freed += folders.remove("runs", entry.id)
        freed += folders.remove("results", entry.id)
        freed += folders.remove("snapshots", entry.id, links_only=True)
    _repoint_last(store)
    return freed + collect(store)


def collect(store: Store) -> int:
    """Remove what no run refers to: results and snapshot links of deleted runs, snapshot
    data no snapshot uses, package lists no run names, and what killed processes left
    half-written. Returns the bytes freed."""
    began = time.time()
    folders = _Folders(store)
    records = store.records()
    ids = {r["id"] for r in records}

    def gone(run_id: str) -> bool:  # asked at the last moment: a run may have just started
        return run_id not in ids and not os.path.lexists(os.path.join(store.runs_dir, run_id))

    # Elsewhere, a folder may be shared by several projects' stores: what looks orphaned here
    # may be another store's. Only rm, naming the run, deletes there.
    orphans = [w for w in ("results", "snapshots") if folders.inside(w)]
    saved = {
        r["id"]: {os.path.basename(x["path"]) for x in r.get("results") or ()} for r in records
    }
    freed = 0
    for name in folders.names("results"):
        if RUN_ID.fullmatch(name) and gone(name):
            if "results" in orphans:
                freed += folders.remove("results", name)
        elif name in saved:  # never what the run's record lists, whatever its name
            freed += folders.collect_debris("results", name, keep=saved[name])
        else:  # a run whose record cannot be read: only files named as tmt names them now
            freed += folders.collect_debris("results", name, old_names=False)
    for name in folders.names("snapshots") if "snapshots" in orphans else ():
        if RUN_ID.fullmatch(name) and gone(name):
            freed += folders.remove("snapshots", name, links_only=True)
    if folders.snapshots is not None:
        freed += collect_garbage(folders.snapshots)[1]
    for name in folders.names("runs"):
        freed += folders.collect_debris("runs", name)
    freed += folders.collect_debris("root", "")
    if folders.db != folders.root:
        freed += folders.collect_debris("db", "")
    # Earlier versions cached every record in index.json: now an index outside the store.
    freed += folders.remove("db", "index.json", files_only=True)
    freed += _collect_package_lists(store, folders, records, began)
    return freed


def _collect_package_lists(store: Store, folders: _Folders, records: list, began: float) -> int:
    envs = folders.envs
    if envs is None:
        return 0
    used = {(r.get("environment") or {}).get("packages") for r in records}
    used = {os.path.basename(p) for p in used if isinstance(p, str)}
    ids = {r["id"] for r in records}
    for name in folders.names("runs"):  # records that could not be read may name lists too
        if name not in ids and not name.startswith("."):
            try:
                raw = jsonfile.read_bytes(os.path.join(store.runs_dir, name, "run.json"), 1 << 26)
            except OSError:
                continue
            used.update(m.decode() for m in _ENV_REFERENCE.findall(raw))
    freed = 0
    for name in folders.names("envs"):
        path = os.path.join(envs, name)
        if not _ENV_NAME.fullmatch(name) or name in used:
            freed += folders.collect_debris("envs", name, inside=False)
            continue
        try:
            if os.lstat(path).st_mtime >= began - GRACE:
                continue
            # Moved aside first, then checked again: a run that starts now touches the list
            # (or, finding it gone, writes it anew), and either way it stays.
            aside = os.path.join(envs, temp_name())
            os.rename(path, aside)
            info = os.lstat(aside)
            if info.st_mtime >= began - GRACE:
                try:
                    os.link(aside, path)
                except FileExistsError:
                    pass
            else:
                freed += info.st_size
            os.unlink(aside)
        except OSError:
            continue
    return freed


def restore_snapshot(entry: Entry, dest: str) -> int:
    """Copy the run's code snapshot to ``dest`` (which must not exist), writable; the number
    of files copied. Only files and symbolic links are copied (never a FIFO or a device)."""
    source = entry.snapshot_path
    if not source or not os.path.isdir(source):
        raise FileNotFoundError(f"run {entry.id} has no code snapshot")
    if os.path.lexists(dest):
        raise FileExistsError(f"{dest} already exists; name a new folder")

    def copy(src: str, dst: str) -> None:
        if not stat.S_ISREG(os.lstat(src).st_mode):
            raise StoreError(f"{src}: not a regular file; not copied")
        shutil.copy2(src, dst)

    shutil.copytree(source, dest, symlinks=True, copy_function=copy)
    count = 0
    for folder, _, files in os.walk(dest):
        # snapshot folders are read-only; the copy is the user's to edit
        os.chmod(folder, stat.S_IMODE(os.stat(folder).st_mode) | stat.S_IRWXU)
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, os.stat(path).st_mode | stat.S_IWUSR)
                count += 1
    return count


def _repoint_last(store: Store) -> None:
    """Point ``last`` at the newest remaining snapshot, or remove it if there is none."""
    link = store.config.last_snapshot_link
    if not is_last_link(link, store.config.snapshot_target) or os.path.exists(link):
        return  # still points at a snapshot that exists, or is not tmt's link
    for record in reversed(store.records()):
        target = os.path.join(store.config.snapshot_target, record["id"])
        if os.path.isdir(target):
            try:
                point_last_link(link, target)
            except OSError:
                pass
            return
    try:
        os.unlink(link)
    except OSError:
        pass


class _Folders:
    """The store's folders that clean-up may work in: each only if it is a real folder,
    reached from the store without a symbolic link (or configured outside the store)."""

    def __init__(self, store: Store) -> None:
        config = store.config
        self.store_root = config.tmt_dir
        self.root = self._own(config.tmt_dir, "the store")
        self.runs = self._own(store.runs_dir, "runs")
        self.results = self._own(store.results_root, "results_path")
        self.snapshots = self._own(config.snapshot_target, "snapshot_target")
        self.envs = self._own(os.path.join(config.tmt_dir, "envs"), "envs")
        db = os.path.dirname(store.runs_dir)  # index.json is written there
        self.db = self.root if db == config.tmt_dir else self._own(db, "json_db_path")

    def _own(self, path: str, what: str) -> str | None:
        try:
            info = os.lstat(path) if path != self.store_root else os.stat(path)
        except OSError:
            return None  # nothing there to clean
        # The store itself may be a link to where it lives (a scratch disk): that is its place.
        if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
            kind = "a symbolic link" if stat.S_ISLNK(info.st_mode) else "not a folder"
            warnings.warn(f"tmt: {path} ({what}) is {kind}; not cleaned up", stacklevel=4)
            return None
        root = self.store_root
        if path != root and _within(path, root):
            expected = os.path.join(os.path.realpath(root), os.path.relpath(path, root))
            if os.path.realpath(path) != expected:
                warnings.warn(
                    f"tmt: {path} ({what}) is reached through a symbolic link; not cleaned up",
                    stacklevel=4,
                )
                return None
        return path

    def inside(self, which: str) -> bool:
        """Whether one of the folders is inside the store (not configured elsewhere)."""
        folder = getattr(self, which)
        return folder is not None and _within(folder, self.store_root)

    def names(self, which: str) -> list[str]:
        folder = getattr(self, which)
        if folder is None:
            return []
        try:
            return os.listdir(folder)
        except OSError:
            return []

    def remove(
        self, which: str, name: str, links_only: bool = False, files_only: bool = False
    ) -> int:
        """Remove ``name`` from one of the folders (a link itself, never what it points to;
        only a link, or only a regular file, if asked); the bytes freed."""
        folder = getattr(self, which)
        if folder is None or not name or "/" in name or name in (".", ".."):
            return 0
        path = os.path.join(folder, name)
        try:
            info = os.lstat(path)
        except OSError:
            return 0
        if links_only and not stat.S_ISLNK(info.st_mode):
            return 0
        if files_only and not stat.S_ISREG(info.st_mode):
            return 0
        return remove_counted(path)[1]

    def collect_debris(
        self,
        which: str,
        name: str,
        inside: bool = True,
        keep: set[str] = frozenset(),  # type: ignore[assignment]
        old_names: bool = True,
    ) -> int:
        """Remove what dead processes left half-written: ``name`` itself if it is debris, or,
        with ``inside``, the debris in the folder ``name`` (never a name in ``keep``)."""
        folder = getattr(self, which)
        if folder is None:
            return 0
        path = os.path.join(folder, name) if name else folder
        now = time.time()
        if not inside:
            try:
                info = os.lstat(path)
            except OSError:
                return 0
            return remove_counted(path)[1] if is_debris(name, info.st_mtime, now) else 0
        freed = 0
        try:
            if not stat.S_ISDIR(os.lstat(path).st_mode):
                return 0  # a file, or a link: nothing of tmt's inside
            with os.scandir(path) as entries:
                found = list(entries)
        except OSError:
            return 0
        for entry in found:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if entry.name not in keep and is_debris(entry.name, info.st_mtime, now, old_names):
                freed += remove_counted(entry.path)[1]
        return freed


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)
