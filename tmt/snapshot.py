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
- What a snapshot stored anew is counted, by folder, from sizes the walk already knows: a
  project that starts holding a data folder is noticed (see :data:`LARGE_SNAPSHOT`).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import stat
import sys
import time

from . import jsonfile
from .ignore import (
    IGNORED,
    IGNORED_FINAL,
    KEEP,
    PatternList,
    Rules,
    byte_view,
    default_list,
    is_environment,
    read_ignore_file,
)
from .liveness import DEBRIS_AGE, is_debris, is_temp_name, temp_name
from .worktree import WorkTree

#: Files larger than this many bytes are left out of snapshots (and named in a warning).
MAX_FILE_SIZE = 5 * 1024 * 1024
#: A snapshot that stores more than this many bytes of new files is warned about, naming the
#: folders that took them: a data folder nobody meant to snapshot, usually.
LARGE_SNAPSHOT = 50 * 1000**2
#: A file modified this close to when its stat was cached is hashed again (racy-git rule).
RACY_NS = 2_000_000_000
CACHE_SCHEMA = 3
_READ_ONLY = 0o444
_EXECUTABLE = 0o555
_TREE_FOLDER = 0o555
_BIG_FILE = 64 * 1024 * 1024  # hashed in chunks rather than read whole
# Creating files and folders runs in parallel on most filesystems (hardlinking does not);
# a few threads store new files and make a new tree's folders when there are many.
_THREADS = min(4, os.cpu_count() or 1)
_PARALLEL_FROM = 32
# A folder holding this share of another's new bytes is named in its place: the more precise
# name, which still accounts for (nearly) all of them.
_NEARLY_ALL = 0.9


def mode_suffix(mode: int) -> str:
    """How an object's name says its permissions: the source's read and execute bits, never
    write (``""`` for the usual 0444, ``"x"`` for 0555, ``"m440"`` for others)."""
    mode &= 0o555
    if mode == _READ_ONLY:
        return ""
    if mode == _EXECUTABLE:
        return "x"
    return f"m{mode:03o}"


def object_mode(digest: str) -> int:
    """The permissions of the object named ``digest`` (see :func:`mode_suffix`)."""
    suffix = digest[64:]
    if not suffix:
        return _READ_ONLY
    if suffix == "x":
        return _EXECUTABLE
    return int(suffix[1:], 8)


def _shown(rel: str) -> str:
    """A path as text for a report: bytes that are not UTF-8 as ``\\xNN`` escapes."""
    if rel.isascii():
        return rel
    return rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


class SnapshotReport:
    """What a snapshot holds, what it left out (with why), and what it stored anew."""

    __slots__ = (
        "new_by_folder",
        "new_bytes",
        "new_objects",
        "reused_tree",
        "skipped",
        "too_large",
        "tree",
    )

    def __init__(self) -> None:
        self.tree = ""
        self.reused_tree = False
        self.new_objects = 0
        self.new_bytes = 0  # of objects not in the store before: what the snapshot cost
        # those bytes by the folder holding the files ("a/b/"); a file at the top by its name
        self.new_by_folder: dict[str, int] = {}
        self.too_large: list[str] = []
        self.skipped: list[str] = []  # "path: reason", for unreadable or vanished files

    def stored(self, rel: str, size: int) -> None:
        """Count file ``rel`` (``size`` bytes) as stored in a new object."""
        self.new_objects += 1
        self.new_bytes += size
        cut = rel.rfind("/") + 1
        key = rel[:cut] if cut else rel
        self.new_by_folder[key] = self.new_by_folder.get(key, 0) + size

    def largest_new(self, count: int = 3) -> list[tuple[str, int]]:
        """The ``count`` top-level folders (or files) that took the most new bytes, largest
        first, as ``(path, bytes)``. A folder is named by the folder inside it that holds nearly
        all of its share, if one does (``data/raw/images/`` rather than ``data/``): the most
        precise name that still accounts for it. Folders end in ``/``; names that are not UTF-8
        are escaped (other characters are the caller's to make safe to show)."""
        totals: dict[str, int] = {}
        for key, size in self.new_by_folder.items():
            end = key.find("/") + 1
            if not end:  # a file at the top
                totals[key] = totals.get(key, 0) + size
            while end:  # "a/b/" counts for "a/" and "a/b/"
                totals[key[:end]] = totals.get(key[:end], 0) + size
                end = key.find("/", end) + 1
        top = sorted(
            (key for key in totals if key.find("/") in (-1, len(key) - 1)),
            key=lambda key: (-totals[key], key),
        )[:count]
        largest = []
        for path in top:
            while path.endswith("/"):
                depth = path.count("/") + 1
                inside = [k for k in totals if k.startswith(path) and k.count("/") == depth]
                biggest = max(inside, key=totals.__getitem__, default=None)
                if biggest is None or totals[biggest] < _NEARLY_ALL * totals[path]:
                    break
                path = biggest
            largest.append((_shown(path), totals[path]))
        return largest


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
    worktree = WorkTree.find(source)
    if worktree is not None:
        worktree.start()  # git answers while the stat cache loads and the tree is walked
    walker = _Walker(
        store,
        {os.path.normcase(os.path.abspath(p)) for p in exclude},
        MAX_FILE_SIZE if max_file_size is None else max_file_size,
        _StatCache.load(target_root, source),
        worktree,
    )
    try:
        walker.walk_root(source, extra_ignore_file)
        walker.store_pending()
    except BaseException:
        if walker.worktree is not None:
            walker.worktree.close()
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
            _build_tree(store, tree_dir, manifest, source, walker.staging, report)
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
        os.chmod(staged, object_mode(digest))
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
            # ASCII, so that names which are not UTF-8 survive the round trip as escapes
            text = json.dumps(data, ensure_ascii=True, separators=(",", ":"))
            jsonfile.write_text_atomic(self.path, text, durable=False)
        except (OSError, ValueError):
            pass  # only a cache: the next snapshot hashes more


class _Walker:
    """Walks the source tree and lists what the snapshot holds, storing what is new."""

    def __init__(
        self,
        store: _ObjectStore,
        excluded: set[str],
        max_file_size: int,
        cache: _StatCache,
        worktree: WorkTree | None,
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
        # what git's rules or the defaults leave out, kept after the walk if git tracks it:
        # (rel, entry, byte-view path, rules)
        self.deferred: list[tuple[str, os.DirEntry, str, Rules]] = []
        self.worktree = worktree

    def walk_root(self, source: str, extra_ignore_file: str | None) -> None:
        try:
            entries = list(os.scandir(source))
        except OSError as exc:
            self.report.skipped.append(f".: {exc.strerror or exc}")
            return
        own = []
        if extra_ignore_file:
            own.append(PatternList("", read_ignore_file(extra_ignore_file, follow_symlinks=True)))
        git = self.worktree.lists() if self.worktree is not None else []
        prefix = self.worktree.prefix if self.worktree is not None else ""
        rules = Rules(own, git, default_list())
        names = {e.name for e in entries}
        # A source in a folder git ignores holds only what git tracks there, as git sees it.
        nothing = PatternList("", [])
        inside_ignored = any(
            Rules([], [lst for lst in git if folder.startswith(lst.base)], nothing).verdict(
                folder, folder.rpartition("/")[2], True
            )
            != KEEP
            for folder in _folders_of(prefix)
        )
        self.visit_all(entries, "", prefix, rules.below(source, prefix, names), inside_ignored)
        self.keep_tracked()

    def walk(self, entry: os.DirEntry, rel: str, view: str, rules: Rules, tracked: bool) -> None:
        """Walk the folder ``entry`` (at ``rel``, byte view ``view``, both ending in ``/``);
        ``tracked``: keep only what git tracks (the folder is ignored, or an environment)."""
        try:
            entries = list(os.scandir(entry.path))
        except OSError as exc:
            self.report.skipped.append(f"{_shown(rel)}: {exc.strerror or exc}")
            return
        names = {e.name for e in entries}
        if not tracked and is_environment(names):
            self.deferred.append((rel[:-1], entry, view[:-1], rules))
            return
        self.manifest.append((rel[:-1], "d", ""))
        self.visit_all(entries, rel, view, rules.below(entry.path, view, names), tracked)

    def visit_all(
        self, entries: list[os.DirEntry], base: str, view: str, rules: Rules, tracked: bool
    ) -> None:
        # The loop every entry of the tree goes through: kept flat, for speed.
        verdict, file_verdict = rules.verdict, rules.file_verdict(view)
        add = self.add
        for entry in entries:
            name = entry.name
            if name == ".git":
                continue
            rel = base + name
            name_view = name if name.isascii() else byte_view(name)
            path_view = view + name_view
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
                if is_dir:
                    outcome = verdict(path_view, name_view, True)
                else:
                    outcome = file_verdict(path_view, name_view)
                if outcome == IGNORED_FINAL:
                    continue
                if tracked:  # inside what git's rules leave out: only what git tracks
                    if not self.is_tracked(rel, is_dir):
                        continue
                elif outcome == IGNORED:
                    self.deferred.append((rel, entry, path_view, rules))
                    continue
                if is_dir:
                    if os.path.normcase(entry.path) not in self.excluded:
                        self.walk(entry, rel + "/", path_view + "/", rules, tracked)
                else:
                    add(entry, rel)
            except FileNotFoundError:
                self.report.skipped.append(f"{_shown(rel)}: vanished while the snapshot was taken")
            except OSError as exc:
                self.report.skipped.append(f"{_shown(rel)}: {exc.strerror or exc}")

    def keep_tracked(self) -> None:
        """Bring back what git's rules or the defaults left out but git tracks."""
        if self.worktree is None:
            return
        try:
            if not self.deferred or not self.worktree.tracked():
                return
            deferred, self.deferred = self.deferred, []
            for rel, entry, path_view, rules in deferred:
                try:
                    is_dir = entry.is_dir(follow_symlinks=False)
                    if not self.is_tracked(rel, is_dir):
                        continue
                    if not is_dir:
                        self.add(entry, rel)
                    elif os.path.normcase(entry.path) not in self.excluded:
                        self.walk(entry, rel + "/", path_view + "/", rules, True)
                except OSError as exc:
                    self.report.skipped.append(f"{_shown(rel)}: {exc.strerror or exc}")
        finally:
            self.worktree.close()

    def is_tracked(self, rel: str, is_dir: bool) -> bool:
        """Whether git tracks file ``rel`` (or, for a folder, a file inside it)."""
        if self.worktree is None:
            return False
        if is_dir:
            return rel + "/" in self.worktree.tracked_dirs()
        return rel in self.worktree.tracked()

    def add(self, entry: os.DirEntry, rel: str) -> None:
        """Put a file or a symlink in the manifest (a file the stat cache cannot vouch for is
        hashed after the walk)."""
        if entry.is_symlink():
            self.manifest.append((rel, "l", os.readlink(entry.path)))
            return
        if not entry.is_file(follow_symlinks=False):
            return  # a FIFO, a socket, a device: not code
        st = entry.stat(follow_symlinks=False)
        if st.st_size > self.max_file_size:
            self.report.too_large.append(_shown(rel))
            return
        key = f"{st.st_size} {st.st_mtime_ns} {st.st_ctime_ns} {st.st_ino} {st.st_mode} "
        known = self.cache.old.get(rel)
        if (
            known is not None
            and known.startswith(key)
            and st.st_mtime_ns < self.cache.old_taken_ns - RACY_NS
        ):
            self.cache.new[rel] = known
            self.manifest.append((rel, "f", known[len(key) :]))
        else:
            self.pending.append((rel, entry.path, st, key))

    def store_pending(self) -> None:
        """Hash (and store, where new) the files the stat cache could not vouch for."""
        pending, self.pending = self.pending, []
        if len(pending) >= _PARALLEL_FROM:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(_THREADS) as pool:
                outcomes = list(pool.map(self.hash_and_store, pending))
        else:
            outcomes = [self.hash_and_store(job) for job in pending]
        for (rel, _, st, key), outcome in zip(pending, outcomes):
            if isinstance(outcome, str):
                self.report.skipped.append(outcome)
                continue
            digest, changed, new = outcome
            if new:
                self.report.stored(rel, st.st_size)
            self.manifest.append((rel, "f", digest))
            if changed:  # the file changed while it was read: hash it again next time
                self.cache.dirty = True
            else:
                self.cache.store(rel, key, digest)

    def hash_and_store(self, job: tuple) -> tuple[str, bool, bool] | str:
        """(digest, changed while read, stored anew) for one file, or why it was skipped."""
        rel, path, st, _ = job
        try:
            suffix = mode_suffix(st.st_mode)
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
            return f"{_shown(rel)}: vanished while the snapshot was taken"
        except OSError as exc:
            return f"{_shown(rel)}: {exc.strerror or exc}"
        # Storing it: a failure here is the store's (a full disk), and fails the snapshot.
        new = False
        if not os.path.exists(self.store.path(digest)):
            new = self.store.add(content, digest, path, st.st_mtime_ns, self.staging.place(rel))
        return digest, changed, new


def _folders_of(prefix: str) -> list[str]:
    """``"a/b/"`` -> ``["a", "a/b"]``: the folders of a path from the work tree's root."""
    parts = prefix.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


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
    report: SnapshotReport,
) -> None:
    """Complete the staging tree from ``manifest``, then move it into place as ``tree_dir``
    (an object collected meanwhile is stored again, and counted in ``report``)."""
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
            restored = _link_object(store, payload, f"{root}/{rel}", f"{source}/{rel}")
            if restored is not None:
                report.stored(rel, restored)
    # Trees are read-only like their files: a tree is shared by every run whose code was the
    # same, so an edit in one (``sed -i`` replaces a file) must not change the others.
    for rel, kind, _ in manifest:
        if kind == "d":
            os.chmod(f"{root}/{rel}", _TREE_FOLDER)
    try:
        os.rename(root, tree_dir)  # (a read-only folder cannot move to another parent)
    except OSError as exc:
        if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
            raise
        _remove_tree(root)  # another process built the same tree first
        return
    os.chmod(tree_dir, _TREE_FOLDER)


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


def _link_object(store: _ObjectStore, digest: str, target: str, source_file: str) -> int | None:
    """Put object ``digest`` at ``target``; the bytes stored, if it had to be stored again."""
    obj = store.path(digest)
    try:
        os.link(obj, target)
        return None
    except FileNotFoundError:
        # The object was collected since the stat cache named it: store the file anew, if it
        # still holds that content.
        with open(source_file, "rb") as f:
            content = f.read()
            mtime_ns = os.fstat(f.fileno()).st_mtime_ns
        if hashlib.sha256(content).hexdigest() != digest[:64]:
            raise OSError(f"{source_file} changed while the snapshot was taken") from None
        published = store.add(content, digest, source_file, mtime_ns, target)
        return len(content) if published else None
    except OSError as exc:
        if exc.errno not in (errno.EMLINK, errno.EXDEV, errno.EPERM):
            raise
        shutil.copy2(obj, target)  # too many links to one inode: a fresh copy
    os.chmod(target, object_mode(digest))
    return None


def _remove_tree(path: str) -> None:
    """Remove a folder and everything in it, read-only folders included (never following a
    link); what cannot be removed is left."""

    def allow_and_retry(function, failed: str, _error) -> None:
        try:
            parent = os.path.dirname(failed)
            if not os.path.islink(parent):
                os.chmod(parent, stat.S_IRWXU)
            if function is os.scandir or function is os.open:
                os.chmod(failed, stat.S_IRWXU)
                shutil.rmtree(failed, ignore_errors=True)
            else:
                function(failed)
        except OSError:
            pass

    if os.path.isdir(path) and not os.path.islink(path):
        try:
            os.chmod(path, stat.S_IRWXU)
        except OSError:
            pass
    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=allow_and_retry)
    else:
        shutil.rmtree(path, onerror=allow_and_retry)


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
_OBJECT = re.compile(r"[0-9a-f]{62}(?:x|m[0-7]{3})?")


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
