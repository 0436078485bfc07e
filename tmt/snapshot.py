"""Code snapshots: a read-only, browsable copy of the source tree, taken when a run starts.

Snapshots are content-addressed, so they cost almost nothing when little changed::

    <snapshot_target>/
        <run id> -> .trees/<tree id>   what a run sees: a relative symlink to its tree
        last -> <run id>               the newest snapshot
        .trees/<tree id>/...           a browsable tree of hardlinks into .objects
        .objects/ab/cdef...            each distinct file content once (read-only)
        .cache/<source id>.json        what each source file hashed to, by its stat

- A file whose content exists in any earlier snapshot is a hardlink to it: reverting a file to
  last week's version takes no space. A tree identical to an earlier one is that tree: an
  unchanged project costs one symlink.
- Whether a file changed is decided as git decides it: by its size, modification and change
  times and inode, trusted only if it was last modified well before those were recorded (a
  "racy" file is hashed again), so a same-size edit within the filesystem's timestamp
  granularity is never taken for no change.
- Hitting the filesystem's limit of hardlinks on one object falls back to a plain copy.
- Deleting a snapshot frees its data once nothing else links to it: an object with a single
  link, and a tree no run points to, are garbage.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import stat
import time

from . import jsonfile
from .ignore import file_checker, folder_layer, is_ignored, root_layer
from .liveness import DEBRIS_AGE, is_debris, is_temp_name, temp_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .ignore import Layer

#: Files larger than this many bytes are left out of snapshots (and named in a warning).
MAX_FILE_SIZE = 5 * 1024 * 1024
#: A file modified this close to when its stat was cached is hashed again (racy-git rule).
RACY_NS = 2_000_000_000
CACHE_SCHEMA = 2
_READ_ONLY = 0o444
_EXECUTABLE = 0o555
_BIG_FILE = 64 * 1024 * 1024  # hashed in chunks rather than read whole
# Creating files and folders runs in parallel on most filesystems (hardlinking does not);
# a few threads store new files and make a new tree's folders when there are many.
_THREADS = min(4, os.cpu_count() or 1)
_PARALLEL_FROM = 32


class SnapshotReport:
    """What a snapshot holds and what it left out, with why."""

    __slots__ = ("new_objects", "reused_tree", "skipped", "too_large", "tree")

    def __init__(self) -> None:
        self.tree = ""
        self.reused_tree = False
        self.new_objects = 0
        self.too_large: list[str] = []
        self.skipped: list[str] = []  # "path: reason", for unreadable or vanished files


def take_snapshot(
    source: str,
    target_root: str,
    name: str,
    exclude: list[str],
    extra_ignore_file: str | None = None,
    max_file_size: int | None = None,
) -> SnapshotReport:
    """Snapshot ``source`` as ``<target_root>/<name>``; return what it holds and left out.

    ``exclude`` lists absolute folders never to enter (the store's own). Files larger than
    ``max_file_size`` bytes (default :data:`MAX_FILE_SIZE`) are left out.
    """
    store = _ObjectStore(target_root)
    walker = _Walker(
        store,
        {os.path.normcase(os.path.abspath(p)) for p in exclude},
        MAX_FILE_SIZE if max_file_size is None else max_file_size,
        _StatCache.load(target_root, source),
    )
    try:
        walker.walk_root(source, extra_ignore_file)
        walker.store_pending()
    except BaseException:
        if walker.staging.root is not None:
            _remove_tree(walker.staging.root)
        raise
    report = walker.report
    manifest = sorted(walker.manifest)
    report.tree = _tree_id(manifest)
    tree_dir = os.path.join(store.trees, report.tree)
    # The run's link is made first, so that garbage collection, which keeps what links point
    # to, does not take a tree this snapshot is about to use (checked again just below).
    link = os.path.join(target_root, name)
    os.symlink(os.path.join(".trees", report.tree), link)
    try:
        if os.path.isdir(tree_dir):
            report.reused_tree = True
            if walker.staging.root is not None:  # another process built it meanwhile
                _remove_tree(walker.staging.root)
        else:
            _build_tree(store, tree_dir, manifest, source, walker.staging)
    except BaseException:
        os.unlink(link)  # no snapshot rather than a dangling one
        if walker.staging.root is not None:
            _remove_tree(walker.staging.root)
        raise
    walker.cache.save()
    return report


def point_last_link(last_link: str, dest: str) -> None:
    """Make ``last_link`` a relative symlink to ``dest``, replacing any old link atomically.

    Anything else already there (a file, a folder) is never replaced: ``FileExistsError``.
    """
    directory = os.path.dirname(last_link)
    os.makedirs(directory, exist_ok=True)
    if os.path.lexists(last_link) and not is_last_link(last_link, os.path.dirname(dest)):
        raise FileExistsError(f"{last_link} exists and is not tmt's link; not replaced")
    target = os.path.relpath(dest, directory)
    tmp = os.path.join(directory, temp_name())
    os.symlink(target, tmp)
    try:
        os.replace(tmp, last_link)
    except OSError:
        os.unlink(tmp)
        raise


def is_last_link(path: str, target_root: str) -> bool:
    """Whether ``path`` is a link tmt made to a snapshot in ``target_root`` (a link of the
    user's by that name is never replaced nor removed)."""
    try:
        target = os.readlink(path)
    except OSError:
        return False
    resolved = os.path.normpath(os.path.join(os.path.dirname(path), target))
    return os.path.dirname(resolved) == os.path.normpath(target_root)


class _ObjectStore:
    """The content-addressed files under ``.objects``, and the trees built from them."""

    def __init__(self, root: str) -> None:
        self.objects = os.path.join(root, ".objects")
        self.trees = os.path.join(root, ".trees")
        self.tmp = os.path.join(root, ".tmp")
        for folder in (self.objects, self.trees, self.tmp):
            os.makedirs(folder, exist_ok=True)

    def path(self, digest: str) -> str:
        return f"{self.objects}/{digest[:2]}/{digest[2:]}"

    def add(
        self, content: bytes | None, digest: str, source: str, mtime_ns: int, staged: str
    ) -> bool:
        """Store a file as object ``digest``; True unless another process stored it first.

        The content is written to ``staged`` (its place in the tree being built, so no
        temporary file is ever deleted) and published with one hardlink. ``content`` is the
        file's bytes, or ``None`` to copy it from ``source`` (for files too big to hold).
        """
        final = self.path(digest)
        if content is None:
            shutil.copyfile(source, staged)
        else:
            fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                view = memoryview(content)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
        os.chmod(staged, _EXECUTABLE if digest.endswith("x") else _READ_ONLY)
        os.utime(staged, ns=(mtime_ns, mtime_ns))
        # link, not rename: an object another process published first is kept, never replaced
        try:
            try:
                os.link(staged, final)
            except FileNotFoundError:
                os.makedirs(os.path.dirname(final), exist_ok=True)
                os.link(staged, final)
        except FileExistsError:
            return False  # published meanwhile; this tree keeps its own copy
        return True

    def temporary(self) -> str:
        return os.path.join(self.tmp, temp_name())


class _Staging:
    """The private folder a new tree is built in; created only if a new file must be stored."""

    def __init__(self, store: _ObjectStore) -> None:
        import threading

        self.lock = threading.Lock()
        self.store = store
        self.root: str | None = None
        self.folders: set[str] = set()  # folders made so far, relative
        self.files: set[str] = set()  # files already written, relative

    def place(self, rel: str) -> str:
        """The path for file ``rel`` in the staging tree, its folders made."""
        with self.lock:
            if self.root is None:
                self.root = self.store.temporary()
                os.mkdir(self.root)
            folder = rel.rpartition("/")[0]
            if folder and folder not in self.folders:
                os.makedirs(os.path.join(self.root, folder), exist_ok=True)
                parts = folder.split("/")
                self.folders.update("/".join(parts[: i + 1]) for i in range(len(parts)))
            self.files.add(rel)
            return f"{self.root}/{rel}"


class _StatCache:
    """What each file of one source hashed to, keyed by its stat, as of one moment.

    An entry is ``"<size> <mtime_ns> <ctime_ns> <inode> <digest>"``: flat strings make the
    file quick to read and write.
    """

    def __init__(self, path: str, source: str, taken_ns: int, files: dict[str, str]) -> None:
        self.path = path
        self.source = source
        self.old_taken_ns = taken_ns
        self.old = files
        self.taken_ns = time.time_ns()
        self.new: dict[str, str] = {}
        self.dirty = False

    @classmethod
    def load(cls, root: str, source: str) -> _StatCache:
        source = os.path.abspath(source)
        key = hashlib.sha256(source.encode("utf-8", "surrogateescape")).hexdigest()[:16]
        path = os.path.join(root, ".cache", f"{key}.json")
        try:
            data = jsonfile.read(path)
            if data.get("schema") == CACHE_SCHEMA and data.get("source") == source:
                return cls(path, source, int(data["taken_ns"]), dict(data["files"]))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass
        return cls(path, source, 0, {})

    def store(self, rel: str, key: str, digest: str) -> None:
        self.new[rel] = key + digest
        self.dirty = True

    def save(self) -> None:
        if not self.dirty and len(self.new) == len(self.old):
            return
        data = {
            "schema": CACHE_SCHEMA,
            "source": self.source,
            "taken_ns": self.taken_ns,
            "files": self.new,
        }
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            jsonfile.write_text_atomic(self.path, jsonfile.dumps_compact(data), durable=False)
        except OSError:
            pass  # only a cache: the next snapshot hashes more


class _Walker:
    """Walks the source tree and lists what the snapshot holds, storing what is new."""

    def __init__(
        self, store: _ObjectStore, excluded: set[str], max_file_size: int, cache: _StatCache
    ) -> None:
        self.store = store
        self.excluded = excluded
        self.max_file_size = max_file_size
        self.cache = cache
        self.report = SnapshotReport()
        self.staging = _Staging(store)
        # (path, kind, payload): kind "d" folder, "l" symlink (target), "f" file (digest)
        self.manifest: list[tuple[str, str, str]] = []
        # files the stat cache cannot vouch for: (rel, path, stat, key), hashed after the walk
        self.pending: list[tuple[str, str, os.stat_result, str]] = []

    def walk_root(self, source: str, extra_ignore_file: str | None) -> None:
        try:
            entries = list(os.scandir(source))
        except OSError as exc:
            self.report.skipped.append(f".: {exc.strerror or exc}")
            return
        layer = root_layer(source, {e.name for e in entries}, extra_ignore_file)
        self.visit_all(entries, "", [layer])

    def walk(self, folder: str, base: str, layers: list[Layer]) -> None:
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            self.report.skipped.append(f"{base}: {exc.strerror or exc}")
            return
        layer = folder_layer(folder, base, {e.name for e in entries})
        self.visit_all(entries, base, layers if layer is None else [*layers, layer])

    def visit_all(self, entries: list[os.DirEntry], base: str, layers: list[Layer]) -> None:
        # The loop every entry of the tree goes through: kept flat, for speed.
        ignored_file = file_checker(layers)
        cached = self.cache.old.get
        trusted_before = self.cache.old_taken_ns - RACY_NS
        manifest = self.manifest
        for entry in entries:
            name = entry.name
            rel = base + name
            try:
                if entry.is_dir(follow_symlinks=False):
                    if (
                        name == ".git"
                        or os.path.normcase(entry.path) in self.excluded
                        or is_ignored(layers, rel, True)
                        or os.path.exists(entry.path + "/pyvenv.cfg")
                    ):
                        continue
                    manifest.append((rel, "d", ""))
                    self.walk(entry.path, rel + "/", layers)
                elif ignored_file(rel, name):
                    continue
                elif entry.is_symlink():
                    manifest.append((rel, "l", os.readlink(entry.path)))
                elif entry.is_file(follow_symlinks=False):
                    st = entry.stat(follow_symlinks=False)
                    if st.st_size > self.max_file_size:
                        self.report.too_large.append(rel)
                        continue
                    key = f"{st.st_size} {st.st_mtime_ns} {st.st_ctime_ns} {st.st_ino} "
                    known = cached(rel)
                    if (
                        known is not None
                        and known.startswith(key)
                        and st.st_mtime_ns < trusted_before
                    ):
                        self.cache.new[rel] = known
                        manifest.append((rel, "f", known[len(key) :]))
                    else:
                        self.pending.append((rel, entry.path, st, key))
            except FileNotFoundError:
                self.report.skipped.append(f"{rel}: vanished while the snapshot was taken")
            except OSError as exc:
                self.report.skipped.append(f"{rel}: {exc.strerror or exc}")

    def store_pending(self) -> None:
        """Hash (and store, where new) the files the stat cache could not vouch for."""
        pending, self.pending = self.pending, []
        if len(pending) >= _PARALLEL_FROM:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(_THREADS) as pool:
                outcomes = list(pool.map(self.hash_and_store, pending))
        else:
            outcomes = [self.hash_and_store(job) for job in pending]
        for (rel, _, _, key), outcome in zip(pending, outcomes):
            if isinstance(outcome, str):
                self.report.skipped.append(outcome)
                continue
            digest, changed, new = outcome
            self.report.new_objects += new
            self.manifest.append((rel, "f", digest))
            if changed:  # the file changed while it was read: hash it again next time
                self.cache.dirty = True
            else:
                self.cache.store(rel, key, digest)

    def hash_and_store(self, job: tuple) -> tuple[str, bool, bool] | str:
        """(digest, changed while read, stored anew) for one file, or why it was skipped."""
        rel, path, st, _ = job
        try:
            suffix = "x" if st.st_mode & stat.S_IXUSR else ""
            with open(path, "rb") as f:
                if st.st_size <= _BIG_FILE:
                    content = f.read()
                    digest = hashlib.sha256(content).hexdigest() + suffix
                else:
                    content = None
                    hasher = hashlib.sha256()
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        hasher.update(chunk)
                    digest = hasher.hexdigest() + suffix
                after = os.fstat(f.fileno())
            changed = (after.st_size, after.st_mtime_ns, after.st_ctime_ns) != (
                st.st_size,
                st.st_mtime_ns,
                st.st_ctime_ns,
            )
        except FileNotFoundError:
            return f"{rel}: vanished while the snapshot was taken"
        except OSError as exc:
            return f"{rel}: {exc.strerror or exc}"
        # Storing it: a failure here is the store's (a full disk), and fails the snapshot.
        new = False
        if not os.path.exists(self.store.path(digest)):
            new = self.store.add(content, digest, path, st.st_mtime_ns, self.staging.place(rel))
        return digest, changed, new


def _tree_id(manifest: list[tuple[str, str, str]]) -> str:
    hasher = hashlib.sha256()
    for rel, kind, payload in manifest:
        hasher.update(f"{kind} {payload} {rel}\0".encode("utf-8", "surrogateescape"))
    return hasher.hexdigest()[:32]


def _build_tree(
    store: _ObjectStore,
    tree_dir: str,
    manifest: list[tuple[str, str, str]],
    source: str,
    staging: _Staging,
) -> None:
    """Complete the staging tree from ``manifest``, then move it into place as ``tree_dir``."""
    if staging.root is None:
        staging.root = store.temporary()
        os.mkdir(staging.root)
    root = staging.root
    levels: dict[int, list[str]] = {}
    for rel, kind, _ in manifest:
        if kind == "d" and rel not in staging.folders:
            levels.setdefault(rel.count("/"), []).append(f"{root}/{rel}")
    _make_folders([levels[depth] for depth in sorted(levels)])
    for rel, kind, payload in manifest:
        if kind == "l":
            os.symlink(payload, f"{root}/{rel}")
        elif kind == "f" and rel not in staging.files:
            _link_object(store, payload, f"{root}/{rel}", f"{source}/{rel}")
    try:
        os.rename(root, tree_dir)
    except OSError as exc:
        if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
            raise
        _remove_tree(root)  # another process built the same tree first


def _make_folders(levels: list[list[str]]) -> None:
    """Make the folders, a level at a time (parents first), in parallel when there are many."""
    if sum(map(len, levels)) < _PARALLEL_FROM:
        for level in levels:
            for folder in level:
                os.mkdir(folder)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(_THREADS) as pool:
        for level in levels:
            list(pool.map(os.mkdir, level))


def _link_object(store: _ObjectStore, digest: str, target: str, source_file: str) -> None:
    obj = store.path(digest)
    try:
        os.link(obj, target)
        return
    except FileNotFoundError:
        # The object was collected since the stat cache named it: store the file anew, if it
        # still holds that content.
        with open(source_file, "rb") as f:
            content = f.read()
            mtime_ns = os.fstat(f.fileno()).st_mtime_ns
        if hashlib.sha256(content).hexdigest() != digest.rstrip("x"):
            raise OSError(f"{source_file} changed while the snapshot was taken") from None
        store.add(content, digest, source_file, mtime_ns, target)
        return
    except OSError as exc:
        if exc.errno not in (errno.EMLINK, errno.EXDEV, errno.EPERM):
            raise
        shutil.copy2(obj, target)  # too many links to one inode: a fresh copy
    os.chmod(target, _EXECUTABLE if digest.endswith("x") else _READ_ONLY)


def _remove_tree(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)


def collect_garbage(target_root: str, keep: set[str] | None = None) -> tuple[int, int]:
    """Delete the snapshot data that no snapshot uses any more; return (files, bytes) freed.

    A tree is kept while a symlink in ``target_root`` points to it (or its id is in ``keep``);
    an object is kept while a tree links to it. What snapshots killed half-way left behind is
    removed once its maker is gone. Safe beside snapshots being taken: a tree is first moved
    aside, then removed only if no link has come to point to it meanwhile (a snapshot that
    finds its tree gone builds it anew). Only tmt's own names are ever removed, and nothing
    is reached through a symbolic link.
    """
    trees = _own_folder(target_root, ".trees")
    used = set(keep or ()) | _linked_trees(target_root)
    freed_files = freed_bytes = 0
    if trees is not None:
        aside: dict[str, str] = {}
        for entry in _scandir(trees):
            parked = _PARKED.fullmatch(entry.name)
            if parked is not None:  # left by a clean-up that died: put back, or let go
                tree, maker = parked.groups()
                try:
                    if is_debris(maker, entry.stat(follow_symlinks=False).st_mtime):
                        aside[tree] = entry.path
                except OSError:
                    pass
            elif _TREE_ID.fullmatch(entry.name) and entry.name not in used:
                path = os.path.join(trees, f".parked-{entry.name}{temp_name()}")
                try:
                    os.rename(entry.path, path)
                except OSError:
                    continue
                aside[entry.name] = path
        linked = _linked_trees(target_root)  # links made while trees were being moved aside
        for tree, path in aside.items():
            if tree in linked:
                try:
                    os.rename(path, os.path.join(trees, tree))
                    continue
                except OSError:
                    pass  # built anew meanwhile: this copy is not needed
            files, size = remove_counted(path)
            freed_files += files
            freed_bytes += size
    staging = _own_folder(target_root, ".tmp")
    for entry in _scandir(staging):  # everything here is temporary
        try:
            mtime = entry.stat(follow_symlinks=False).st_mtime
            if is_debris(entry.name, mtime) or (
                not is_temp_name(entry.name) and time.time() - mtime > DEBRIS_AGE
            ):
                remove_counted(entry.path)
        except OSError:
            pass
    for folder in (target_root, _own_folder(target_root, ".cache")):
        for entry in _scandir(folder):  # temporary links and caches of killed processes
            try:
                if not entry.is_dir(follow_symlinks=False) and is_debris(
                    entry.name, entry.stat(follow_symlinks=False).st_mtime
                ):
                    os.unlink(entry.path)
            except OSError:
                pass
    for bucket in _scandir(_own_folder(target_root, ".objects")):
        if not _BUCKET.fullmatch(bucket.name) or not bucket.is_dir(follow_symlinks=False):
            continue
        for entry in _scandir(bucket.path):
            if not _OBJECT.fullmatch(entry.name):
                continue
            try:
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISREG(st.st_mode) and st.st_nlink == 1:  # no tree links to it
                    os.unlink(entry.path)
                    freed_files += 1
                    freed_bytes += st.st_size
            except OSError:
                pass
    return freed_files, freed_bytes


_TREE_ID = re.compile(r"[0-9a-f]{32}")
_PARKED = re.compile(r"\.parked-([0-9a-f]{32})(\.tmt-.+\.tmp)")
_BUCKET = re.compile(r"[0-9a-f]{2}")
_OBJECT = re.compile(r"[0-9a-f]{62}x?")


def _linked_trees(target_root: str) -> set[str]:
    """The trees the symlinks in ``target_root`` point to."""
    linked = set()
    for entry in _scandir(target_root):
        if entry.is_symlink():
            try:
                target = os.readlink(entry.path)
            except OSError:
                continue
            if target.startswith(".trees" + os.sep):
                linked.add(target[len(".trees") + 1 :])
    return linked


def _own_folder(root: str, name: str) -> str | None:
    """``root/name`` if it is a real folder (a link to one elsewhere is never cleaned)."""
    path = os.path.join(root, name)
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return None
    if stat.S_ISLNK(mode):
        import warnings

        warnings.warn(f"tmt: {path} is a symbolic link; not cleaned up", stacklevel=3)
    return path if stat.S_ISDIR(mode) else None


def remove_counted(path: str) -> tuple[int, int]:
    """Remove a file, a link (itself) or a folder (links inside it are removed, never
    followed); the files and bytes freed, counting files that had no other link."""
    files = size = 0
    if not os.path.isdir(path) or os.path.islink(path):
        try:
            st = os.lstat(path)
            os.unlink(path)
        except OSError:
            return 0, 0
        return (1, st.st_size) if stat.S_ISREG(st.st_mode) and st.st_nlink == 1 else (0, 0)
    for folder, _, names in os.walk(path):
        for name in names:
            try:
                st = os.lstat(os.path.join(folder, name))
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode) and st.st_nlink == 1:
                files += 1
                size += st.st_size
    _remove_tree(path)
    return files, size


def _scandir(path: str | None) -> list[os.DirEntry]:
    if path is None:
        return []
    try:
        with os.scandir(path) as entries:
            return list(entries)
    except OSError:
        return []
