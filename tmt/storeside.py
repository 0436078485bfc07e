"""The store's side of ``tmt pull`` and ``tmt push``: what a store holds, and putting runs into it.

This module imports nothing from tmt and nothing outside Python's standard library, so that its
source can be sent over ssh and run by any ``python3`` (3.7 or later) on a host where tmt is not
installed: ``python3 -c BOOT ACTION`` reads the source, then a JSON request, from its standard
input, and answers after a line :data:`MARKER` (what a login script prints before is skipped).
The side that runs tmt decides what moves (:mod:`tmt.transfer`); this side only describes a
store and installs into one, in an order that keeps every reader's view whole:

1. snapshot objects, each verified against its hash and published with a hardlink, never
   replacing one already there (content-addressed: same name, same bytes);
2. snapshot trees, built from their manifests (checked against the tree's id, every path
   inside the tree) in a private folder, then renamed into place;
3. a new run's folder, whole but for its record, renamed into place (a folder without
   ``run.json`` is what a run just starting looks like: not listed, not collected);
4. its snapshot link, results and package list; then its ``run.json`` last, atomically,
   unless the store holds a record as new or newer; then its id in ``changes.log``.

A transfer killed at any point leaves no half-copied run listed, only a folder the next
transfer completes, and temporary files named as tmt names them (``tmt gc`` collects them).
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
import tarfile

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Any

#: The version of the requests and answers exchanged with this module.
PROTOCOL = 1
#: The line before an answer: what a shell's start-up files print before it is skipped.
MARKER = b"TMT-STORESIDE-1\n"
#: Run on the other host: reads this module's source (its length on the first line), then runs it.
BOOT = (
    "import sys;n=int(sys.stdin.buffer.readline());"
    "exec(compile(sys.stdin.buffer.read(n),'tmt-storeside','exec'))"
)
RECORD = "run.json"
ANNOTATIONS = "annotations.json"
ORIGIN = "origin.json"
#: The largest record or annotations file sent with a store's description.
MAX_RECORD = 64 * 1024 * 1024
_RUN_ID = re.compile(r"[0-9a-f]{12}")
_TREE_ID = re.compile(r"[0-9a-f]{32}")
_OBJECT = re.compile(r"[0-9a-f]{64}(?:x|m[0-5][0-5][0-5])?")  # never writable: 0555 at most
_ENV = re.compile(r"envs/[0-9a-f]{16}\.json")
_TREE_LINK = re.compile(r"\.trees/([0-9a-f]{32})")
_COMMENT = re.compile(r'"(?:\\.|[^"\\])*"|//[^\n]*|/\*.*?\*/', re.DOTALL)
_DIR_MODE = 0o555


class StoreSideError(Exception):
    """A store cannot be described or written; the message names it and says why."""


# Where a store keeps things ------------------------------------------------------------------
def locate(path: str) -> dict[str, Any]:
    """The folders of the store at ``path``: ``root``, ``runs``, ``results``, ``snapshots``.
    ``path`` is a project (holding ``.tmt``, placed as its ``.tmt/config.json`` says), or a
    store's own folder (named ``.tmt``, or holding ``runs/`` or a 0.1.x ``tmt_db.json``),
    read with the default layout, as ``TmtManager(path=...)`` reads one."""
    path = os.path.abspath(os.path.expanduser(path))
    if not os.path.isdir(path):
        raise StoreSideError(f"no folder {path}")
    config: dict[str, Any] = {}
    if os.path.basename(path) == ".tmt" or any(
        os.path.exists(os.path.join(path, name)) for name in ("runs", "tmt_db.json")
    ):
        root = path
    elif os.path.isdir(os.path.join(path, ".tmt")):
        config = _read_config(os.path.join(path, ".tmt", "config.json"))
        root = os.path.join(path, config.get("tmt_dir") or ".tmt")
    else:
        raise StoreSideError(
            f"no tmt store in {path} (no .tmt folder in it; to start one: mkdir {path}/.tmt)"
        )

    def place(key: str, default: str) -> str:
        value = config.get(key) or default
        return os.path.normpath(os.path.join(root, os.path.expanduser(value)))

    return {
        "root": os.path.normpath(root),
        "runs": os.path.join(os.path.dirname(place("json_db_path", "tmt_db.json")), "runs"),
        "results": place("results_path", "results"),
        "snapshots": place("snapshot_target", "snapshots"),
    }


def _read_config(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read(1024 * 1024)
    except OSError:
        return {}
    text = _COMMENT.sub(lambda m: m.group(0) if m.group(0)[0] == '"' else "", text)
    try:
        data = json.loads(text)
    except ValueError:
        raise StoreSideError(f"{path}: not a JSON configuration") from None
    if not isinstance(data, dict):
        raise StoreSideError(f"{path}: not a JSON configuration")
    return {k: v for k, v in data.items() if isinstance(v, str) and "\0" not in v}


# Describing a store ------------------------------------------------------------------------
def describe(
    layout: dict[str, Any], known: dict[str, Any] | None, only: list[str] | None = None
) -> dict[str, Any]:
    """Every run of the store (or those ``only`` names), by id, with the size and modification
    time of its ``run.json`` and ``annotations.json``. Unless ``known`` is ``None``, runs whose
    files ``known`` gives with other sizes or times (or not at all) come with the records' text
    and the files to copy: the run folder's, its results (relative paths), its snapshot's tree
    and its package list."""
    runs = []
    names = _listdir(layout["runs"]) if only is None else only
    for name in names:
        if not _RUN_ID.fullmatch(name):
            continue
        run_dir = os.path.join(layout["runs"], name)
        if os.path.islink(run_dir):
            continue  # only the store's own folders are read
        sign = signature(run_dir)
        if sign[0] is None:
            continue  # a run starting (or not a run): left for the next transfer
        if known is None or known.get(name) == sign:
            runs.append({"id": name, "signature": sign})
            continue
        record = _read_small(os.path.join(run_dir, RECORD))
        if record is None:
            continue
        notes = _read_small(os.path.join(run_dir, ANNOTATIONS))
        run: dict[str, Any] = {
            "id": name,
            "signature": sign,
            "stat": record[1],
            "annotations_stat": notes[1] if notes else None,
        }
        run["record"] = record[0]
        run["annotations"] = notes[0] if notes else None
        run.update(_run_files(layout, name, run_dir, record[0]))
        runs.append(run)
    return {"runs": runs}


#: The files of a run folder that grow while it runs, besides its record.
_GROWING = ("metrics.csv", "stdout.txt", "stderr.txt")


def signature(run_dir: str) -> list[Any]:
    """What tells whether a run changed, by ``stat`` alone: ``[size, mtime_ns]`` of its
    ``run.json`` and ``annotations.json``, and the sizes of the files a running run appends
    to (its curves and output), ``None`` for each one missing."""
    sign: list[Any] = [_stat(os.path.join(run_dir, RECORD))]
    sign.append(_stat(os.path.join(run_dir, ANNOTATIONS)))
    for name in _GROWING:
        info = _stat(os.path.join(run_dir, name))
        sign.append(None if info is None else info[0])
    return sign


def _run_files(layout: dict[str, Any], run_id: str, run_dir: str, text: str) -> dict[str, Any]:
    try:
        record = json.loads(text)
    except ValueError:
        record = {}
    if not isinstance(record, dict):
        record = {}
    files = []
    for entry in _scandir(run_dir):
        name = entry.name
        if name.startswith(".") or name in (RECORD, ANNOTATIONS, ORIGIN):
            continue
        info = _regular_stat(entry)
        if info is not None:
            files.append([name, entry.path, info.st_size, info.st_mtime_ns])
    results = []
    results_dir = os.path.join(layout["results"], run_id)
    for rel, full, info in [] if os.path.islink(results_dir) else _walk(results_dir):
        results.append([rel, full, info.st_size, info.st_mtime_ns])
    tree = None
    snapshot = record.get("snapshot")
    if isinstance(snapshot, str) and snapshot:
        link = os.path.join(layout["root"], snapshot)
        try:
            target = os.readlink(link)
        except OSError:
            target = ""
        match = _TREE_LINK.fullmatch(target)
        if match and os.path.isdir(os.path.join(os.path.dirname(link), ".trees", match[1])):
            tree = match[1]
    env = None
    environment = record.get("environment")
    packages = environment.get("packages") if isinstance(environment, dict) else None
    if isinstance(packages, str) and _ENV.fullmatch(packages):
        full = os.path.join(layout["root"], packages)
        if os.path.isfile(full) and not os.path.islink(full):
            env = [packages, full, os.path.getsize(full)]
    return {"files": files, "results": results, "tree": tree, "env": env}


def manifests(layout: dict[str, Any], trees: list[str]) -> dict[str, Any]:
    """The manifests of ``trees`` (``[path, kind, payload]``: ``d`` a folder, ``l`` a symlink
    and its target, ``f`` a file and its object), and where each object is, with its size."""
    objects_dir = os.path.join(layout["snapshots"], ".objects")
    by_inode: dict[tuple[int, int], str] = {}
    for bucket in _scandir(objects_dir):
        for entry in _scandir(bucket.path):
            digest = bucket.name + entry.name
            if _OBJECT.fullmatch(digest):
                info = _regular_stat(entry)
                if info is not None:
                    by_inode[(info.st_dev, info.st_ino)] = digest
    found: dict[str, Any] = {}
    objects: dict[str, Any] = {}
    for tree in trees:
        if not _TREE_ID.fullmatch(tree):
            continue
        root = os.path.join(layout["snapshots"], ".trees", tree)
        if not os.path.isdir(root) or os.path.islink(root):
            continue
        manifest = []
        for rel, full, kind, info in _walk_tree(root):
            if kind != "f":
                manifest.append([rel, kind, full])
                continue
            digest = by_inode.get((info.st_dev, info.st_ino))
            if digest is None:  # a copy (a file with too many links): hashed, sent itself
                digest = _hash_file(full) + _mode_suffix(info.st_mode)
            manifest.append([rel, "f", digest])
            objects.setdefault(digest, [full, info.st_size])
        manifest.sort()
        if tree_id(manifest) == tree:
            found[tree] = manifest
    return {"trees": found, "objects": objects}


def present(
    layout: dict[str, Any], trees: list[str], objects: list[str], envs: list[str] | None = None
) -> dict[str, Any]:
    """Which of ``trees``, ``objects`` and package lists ``envs`` the store already holds."""
    snapshots = layout["snapshots"]
    return {
        "trees": [t for t in trees if os.path.isdir(os.path.join(snapshots, ".trees", t))],
        "objects": [o for o in objects if os.path.isfile(_object_path(snapshots, o))],
        "envs": [
            e
            for e in envs or ()
            if _ENV.fullmatch(e) and os.path.isfile(os.path.join(layout["root"], e))
        ],
    }


def tree_id(manifest: list[Any]) -> str:
    """A tree's id: the hash of its sorted manifest (as :mod:`tmt.snapshot` names trees)."""
    hasher = hashlib.sha256()
    for rel, kind, payload in manifest:
        hasher.update(f"{kind} {payload} {rel}\0".encode("utf-8", "surrogateescape"))
    return hasher.hexdigest()[:32]


# Installing runs ---------------------------------------------------------------------------
def install(
    layout: dict[str, Any], plan: dict[str, Any], staged: str = "", progress: Any = None
) -> dict[str, Any]:
    """Put the runs of ``plan`` into the store (see the module's docstring for the order);
    files are read from ``staged`` + their path on the sending side (which must be absolute
    and plain: no ``..``). ``progress(bytes)`` is told the bytes of files and records
    written so far, as they grow. Returns counts (``objects``, ``trees``, ``files``,
    ``bytes``), the ids of the runs ``new`` here, ``updated``, and refused as ``conflicts``
    (see :func:`verdict`), and ``skipped``: the runs left for a later transfer, each with why
    (a snapshot file that does not match its hash, or that vanished from the other store, a
    name refused): one bad run never stops the others."""
    check_paths(plan)
    done = _Done(progress)
    snapshots = layout["snapshots"]
    scratch = os.path.join(snapshots, ".tmp")
    failed: dict[str, str] = {}  # object or tree -> why it could not be stored
    for digest, source in plan.get("objects", ()):
        try:
            if _add_object(snapshots, scratch, digest, staged + source, done):
                done["objects"] += 1
        except (StoreSideError, FileNotFoundError) as exc:
            failed[digest] = str(exc)
    for tree, manifest in plan.get("trees", {}).items():
        lost = [failed[e[2]] for e in manifest if e[1] == "f" and e[2] in failed]
        if lost:
            failed[tree] = f"its code snapshot could not be copied: {lost[0]}"
            continue
        try:
            if _build_tree(snapshots, scratch, tree, manifest):
                done["trees"] += 1
        except (StoreSideError, FileNotFoundError) as exc:
            failed[tree] = f"its code snapshot could not be copied: {exc}"
    changed = []
    ids: dict[str, list[str]] = {"runs": [], "updated": [], "conflict": []}
    skipped: dict[str, str] = {}
    if plan.get("runs"):
        os.makedirs(layout["runs"], exist_ok=True)
    for run in plan.get("runs", ()):
        if run.get("tree") in failed:
            skipped[run["id"]] = failed[run["tree"]]
            continue
        try:
            outcome = _install_run(layout, run, staged, plan.get("origin", {}), done)
        except StoreSideError as exc:
            skipped[str(run.get("id"))] = str(exc)
            continue
        if outcome:
            ids[outcome].append(run["id"])
            if outcome != "conflict":
                changed.append(run["id"])
    if changed:
        note_changes(os.path.join(os.path.dirname(layout["runs"]), "changes.log"), changed)
    return {
        **done,
        "new": ids["runs"],
        "updated": ids["updated"],
        "conflicts": ids["conflict"],
        "skipped": skipped,
    }


class _Done(dict):
    """Counts of what was installed, telling ``progress`` the bytes as they grow."""

    def __init__(self, progress: Any) -> None:
        super().__init__(objects=0, trees=0, files=0, bytes=0, record_bytes=0)
        self.progress = progress

    def __setitem__(self, key: str, value: int) -> None:
        super().__setitem__(key, value)
        if key in ("bytes", "record_bytes") and self.progress is not None:
            self.progress(self["bytes"] + self["record_bytes"])


def check_paths(plan: dict[str, Any]) -> None:
    """Refuse a plan naming a file to copy by a path that is not absolute and plain (a
    crafted answer could otherwise make a transfer read, or write, outside its folders)."""
    paths = [path for _digest, path in plan.get("objects", ())]
    for run in plan.get("runs", ()):
        paths += [entry[1] for entry in (*run.get("files", ()), *run.get("results", ()))]
        if run.get("env"):
            paths.append(run["env"][1])
    for path in paths:
        plain_path(path)


def plain_path(path: Any) -> str:
    """``path`` if it is absolute and plain (normalised: no ``..``, no ``//``, no NUL)."""
    if (
        not isinstance(path, str)
        or not path.startswith("/")
        or "\0" in path
        or os.path.normpath(path) != path
        or path.startswith("//")
    ):
        raise StoreSideError(f"refused a path: {path!r}")
    return path


def _install_run(
    layout: dict[str, Any], run: dict[str, Any], staged: str, origin: dict[str, Any], done: Any
) -> str | None:
    run_id = run["id"]
    if not _RUN_ID.fullmatch(run_id):
        raise StoreSideError(f"not a run id: {run_id!r}")
    run_dir = os.path.join(layout["runs"], run_id)
    for folder in (run_dir, os.path.join(layout["results"], run_id)):
        if os.path.islink(folder):  # nothing is written through a link, out of the store
            raise StoreSideError(f"{folder} is a symbolic link; not written through")
    try:
        os.mkdir(run_dir)  # as a run starting makes it: not listed until its record is there
        new = True
    except FileExistsError:
        new = False
    record_text = run.get("record")
    ours = None if new else _read_small(os.path.join(run_dir, RECORD))
    action = "keep"
    if record_text is not None:
        theirs = (_parse(record_text), run["stat"][1])
        action = verdict(theirs, None if ours is None else (_parse(ours[0]), ours[1][1]))
    if action == "conflict":
        return "conflict"
    copied = done["files"]
    if action in ("new", "take", "refresh"):
        for name, source, size, mtime_ns in run.get("files", ()):
            _update(staged + source, run_dir, _safe_name(name), size, mtime_ns, done)
        results_dir = os.path.join(layout["results"], run_id)
        for rel, source, size, mtime_ns in run.get("results", ()):
            parts = [_safe_name(p) for p in rel.split("/")]
            folder = os.path.join(results_dir, *parts[:-1])
            os.makedirs(folder, exist_ok=True)
            _update(staged + source, folder, parts[-1], size, mtime_ns, done)
    if action in ("new", "take"):
        _link_snapshot(layout, run_id, run.get("tree"))
        env = run.get("env")
        if env and _ENV.fullmatch(env[0]):
            path = os.path.join(layout["root"], env[0])
            if not os.path.exists(path):
                os.makedirs(os.path.dirname(path), exist_ok=True)
                _copy_in(staged + env[1], os.path.dirname(path), os.path.basename(path), None, done)
    notes = run.get("annotations")
    took_notes = False
    if notes is not None:
        mine = _read_small(os.path.join(run_dir, ANNOTATIONS))
        if mine is None or (mine[0] != notes[0] and notes[1][1] > mine[1][1]):
            _write(run_dir, ANNOTATIONS, notes[0], notes[1][1])
            took_notes = True
    if action not in ("new", "take"):
        return "updated" if took_notes or done["files"] > copied else None
    _write(run_dir, ORIGIN, json.dumps(origin, indent=2) + "\n", None)
    record_text = str(record_text)
    _write(run_dir, RECORD, record_text, run["stat"][1])
    done["record_bytes"] += len(record_text)
    return "runs" if ours is None else "updated"


def _link_snapshot(layout: dict[str, Any], run_id: str, tree: Any) -> None:
    """Point the run's snapshot link at its tree, unless it has one."""
    if not isinstance(tree, str) or not _TREE_ID.fullmatch(tree):
        return
    snapshots = layout["snapshots"]
    link = os.path.join(snapshots, run_id)
    if os.path.lexists(link) or not os.path.isdir(os.path.join(snapshots, ".trees", tree)):
        return
    try:
        os.symlink(f".trees/{tree}", link)
    except FileExistsError:
        pass  # made by another transfer meanwhile


def verdict(theirs: tuple[Any, int], ours: tuple[Any, int] | None) -> str:
    """What to do with a run the other store offers, given its record and the modification
    time of its ``run.json`` (``theirs``), and this store's (``ours``; ``None`` if it has
    none, or only a folder without a record): ``new``; ``take`` (ours is of the same run,
    still running, and theirs is further on); ``refresh`` (the same running run, its record
    no further on: its curves and output may be); ``keep`` (ours ended, or is further on: an
    ended record is final); ``conflict`` (another run by that id: a different start, host or
    process; never taken)."""
    if ours is None or not isinstance(ours[0], dict):
        return "new" if isinstance(theirs[0], dict) else "keep"
    record, mine = theirs[0], ours[0]
    if not isinstance(record, dict):
        return "keep"
    if _identity(record) != _identity(mine):
        return "conflict"
    if _ended(mine):
        return "keep"
    if _ended(record):
        return "take"
    further = (_number(record.get("heartbeat_time")), theirs[1])
    here = (_number(mine.get("heartbeat_time")), ours[1])
    return "take" if further > here else "refresh" if further == here else "keep"


def _identity(record: dict[str, Any]) -> tuple[Any, ...]:
    """What makes a run itself: when it started, where, and which process it was."""
    return (record.get("start_time"), record.get("host"), record.get("pid"))


def _ended(record: dict[str, Any]) -> bool:
    return record.get("status") not in ("running", None)


def _number(value: Any) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    return float(value) if ok else 0.0


def _add_object(snapshots: str, scratch: str, digest: str, source: str, done: Any) -> bool:
    if not _OBJECT.fullmatch(digest):
        raise StoreSideError(f"not a snapshot object: {digest!r}")
    final = _object_path(snapshots, digest)
    if os.path.exists(final):
        return False
    os.makedirs(scratch, exist_ok=True)
    temporary = os.path.join(scratch, temp_name())
    try:
        hasher = hashlib.sha256()
        with open(source, "rb") as src, open(temporary, "xb") as dst:
            for chunk in iter(lambda: src.read(1 << 20), b""):
                hasher.update(chunk)
                dst.write(chunk)
        if hasher.hexdigest() != digest[:64]:
            raise StoreSideError(f"{source}: its content does not match its hash {digest[:12]}")
        os.chmod(temporary, _object_mode(digest))
        os.makedirs(os.path.dirname(final), exist_ok=True)
        try:
            os.link(temporary, final)
        except FileExistsError:
            return False
        done["files"] += 1
        done["bytes"] += os.path.getsize(final)
        return True
    finally:
        try:
            os.unlink(temporary)
        except OSError:
            pass


def _build_tree(snapshots: str, scratch: str, tree: str, manifest: list[Any]) -> bool:
    if not _TREE_ID.fullmatch(tree) or tree_id(manifest) != tree:
        raise StoreSideError(f"the manifest of snapshot tree {tree} does not match its id")
    final = os.path.join(snapshots, ".trees", tree)
    if os.path.isdir(final):
        return False
    os.makedirs(scratch, exist_ok=True)
    root = os.path.join(scratch, temp_name())
    os.mkdir(root)
    try:
        folders = [root]
        links = []
        for rel, kind, payload in manifest:
            parts = [_safe_name(p) for p in rel.split("/")]
            path = os.path.join(root, *parts)
            if kind == "d":
                os.makedirs(path, exist_ok=True)
                folders.append(path)
            elif kind == "l":
                links.append((payload, path))  # made last: nothing is ever written through one
            elif kind == "f":
                os.makedirs(os.path.dirname(path), exist_ok=True)
                _link_object(_object_path(snapshots, payload), path, payload)
            else:
                raise StoreSideError(f"snapshot tree {tree}: unknown entry {kind!r}")
        for target, path in links:
            os.symlink(target, path)
        for folder in reversed(folders):
            os.chmod(folder, _DIR_MODE)
        os.makedirs(os.path.dirname(final), exist_ok=True)
        try:
            os.rename(root, final)
        except OSError as exc:
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
            _remove(root)
            return False
        return True
    except BaseException:
        _remove(root)
        raise


def _link_object(obj: str, path: str, digest: str) -> None:
    try:
        os.link(obj, path)
    except OSError as exc:
        if exc.errno not in (errno.EMLINK, errno.EXDEV, errno.EPERM):
            raise StoreSideError(f"snapshot object {digest[:12]} is missing") from None
        shutil.copyfile(obj, path)
        os.chmod(path, _object_mode(digest))


def _copy_in(source: str, folder: str, name: str, mtime_ns: int | None, done: Any) -> None:
    """Copy ``source`` to ``folder/name`` through a temporary file beside it (atomic, and
    across filesystems), keeping its modification time; a file gone meanwhile is skipped, and
    so is anything but a regular file (never followed through a link)."""
    temporary = os.path.join(folder, temp_name())
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        try:
            fd = os.open(source, flags)
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ELOOP):
                return
            raise
        with open(fd, "rb") as src:
            info = os.fstat(src.fileno())
            if not stat.S_ISREG(info.st_mode):
                return
            with open(temporary, "xb") as dst:
                _copy_data(src, dst, done)
        os.chmod(temporary, stat.S_IMODE(info.st_mode) | stat.S_IRUSR | stat.S_IWUSR)
        mtime = info.st_mtime_ns if mtime_ns is None else mtime_ns
        os.utime(temporary, ns=(mtime, mtime))
        os.replace(temporary, os.path.join(folder, name))
        done["files"] += 1
    finally:
        try:
            os.unlink(temporary)
        except OSError:
            pass


def _copy_data(src: Any, dst: Any, done: Any) -> None:
    """Copy an open file's bytes in the kernel where it can (``sendfile``), counting them into
    ``done`` as they go (a checkpoint of gigabytes moves the progress bar as it copies)."""
    chunk = 64 * 1024 * 1024
    try:
        while True:
            sent = os.sendfile(dst.fileno(), src.fileno(), None, chunk)
            if not sent:
                return
            done["bytes"] += sent
    except (AttributeError, OSError) as exc:
        if isinstance(exc, OSError) and exc.errno not in (errno.EINVAL, errno.ENOSYS):
            raise
    while True:
        data = src.read(1 << 20)
        if not data:
            return
        dst.write(data)
        done["bytes"] += len(data)


def _update(source: str, folder: str, name: str, size: int, mtime_ns: int, done: Any) -> None:
    try:
        info = os.lstat(os.path.join(folder, name))
        if info.st_size == size and info.st_mtime_ns == mtime_ns:
            return
        if not stat.S_ISREG(info.st_mode):
            raise StoreSideError(f"{os.path.join(folder, name)} is not a file; not replaced")
    except FileNotFoundError:
        pass
    _copy_in(source, folder, name, mtime_ns, done)


def _write(folder: str, name: str, text: str, mtime_ns: int | None) -> None:
    """Replace ``folder/name`` with ``text`` atomically. Not flushed to disk (a record a power
    cut damages is replaced by the next transfer, the other store still holding it)."""
    temporary = os.path.join(folder, temp_name())
    try:
        with open(temporary, "x", encoding="utf-8") as f:
            f.write(text)
        if mtime_ns is not None:
            os.utime(temporary, ns=(mtime_ns, mtime_ns))
        os.replace(temporary, os.path.join(folder, name))
    finally:
        try:
            os.unlink(temporary)
        except OSError:
            pass


def note_changes(path: str, run_ids: list[str]) -> None:
    """Append ``run_ids`` to ``changes.log`` at ``path``, so that readers' indexes read those
    runs again: under a lock (appends over NFS are not atomic), each on a line of its own even
    after a line someone left without its end. Losing the lines costs nothing worse than a
    stale listing, so failing to write them is not an error; a FIFO put there never hangs."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0)
    flags |= getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o666)
    except OSError:
        return
    try:
        try:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)
        except (ImportError, OSError):
            pass
        os.write(fd, ("\n" + "\n".join(run_ids) + "\n").encode())
    except OSError:
        pass
    finally:
        os.close(fd)


# Moving files as one stream ----------------------------------------------------------------
def pack(paths: list[str], out: Any) -> None:
    """Write the regular files ``paths`` as a tar stream (a file gone meanwhile is left out)."""
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for path in paths:
            try:
                with open(path, "rb") as f:
                    info = os.fstat(f.fileno())
                    if not stat.S_ISREG(info.st_mode):
                        continue
                    member = tarfile.TarInfo(path.lstrip("/"))
                    member.size = info.st_size
                    member.mtime = info.st_mtime
                    member.mode = stat.S_IMODE(info.st_mode)
                    tar.addfile(member, _Exactly(f, info.st_size))
            except OSError:
                continue


def unpack(stream: Any, into: str, wanted: set[str]) -> int:
    """Extract the files ``wanted`` (their paths on the sending side) from a tar stream into
    ``into`` + path; anything else in the stream is refused. Returns the bytes written."""
    written = 0
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            path = "/" + member.name
            if path not in wanted or not member.isfile() or plain_path(path) != path:
                raise StoreSideError(f"unexpected entry in the stream: {member.name!r}")
            source = tar.extractfile(member)
            target = into + path
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as f:
                if source is not None:
                    shutil.copyfileobj(source, f, 1 << 20)
            written += member.size
    return written


class _Exactly:
    """A file read as exactly ``size`` bytes (padded if it shrank while being sent)."""

    def __init__(self, f: IO[bytes], size: int) -> None:
        self.f = f
        self.left = size

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        data = self.f.read(n)
        data += b"\0" * (n - len(data))
        self.left -= n
        return data


# Small helpers -------------------------------------------------------------------------------
def temp_name() -> str:
    """A hidden temporary name that says which process made it, as tmt names them (so that
    ``tmt gc`` collects what a killed transfer left)."""
    if _owner[0] != os.getpid():  # first use, or a forked child
        _owner[:] = [os.getpid(), _owner_name()]
    return f".tmt-{_owner[1]}.{os.urandom(4).hex()}.tmp"


_owner: list[Any] = [0, ""]


def _owner_name() -> str:
    """``<machine>-<pid>-<start>``: this machine (host, boot, PID namespace) and process."""
    host = os.uname().nodename if hasattr(os, "uname") else ""
    boot = _read_line("/proc/sys/kernel/random/boot_id")
    try:
        link = os.readlink("/proc/self/ns/pid")
        namespace = link[link.find("[") + 1 : -1] if link.endswith("]") else link
    except OSError:
        namespace = None
    machine = hashlib.sha256(f"{host}\0{boot}\0{namespace}".encode()).hexdigest()[:8]
    pid = os.getpid()
    started = "0"
    stat_line = _read_line(f"/proc/{pid}/stat")
    if stat_line:
        fields = stat_line[stat_line.rfind(")") + 2 :].split()
        if len(fields) > 19:
            started = fields[19]
    return f"{machine}-{pid}-{started}"


def _read_line(path: str) -> str | None:
    try:
        with open(path, encoding="ascii") as f:
            return f.read().strip() or None
    except (OSError, ValueError):
        return None


def _read_small(path: str) -> tuple[str, list[int]] | None:
    """A record file's text and ``[size, mtime_ns]``, read from one open file (a link, a FIFO,
    a device or a huge file is not a record)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_RECORD:
            return None
        with os.fdopen(os.dup(fd), "rb") as f:
            data = f.read(MAX_RECORD + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    try:
        return data.decode("utf-8"), [info.st_size, info.st_mtime_ns]
    except UnicodeDecodeError:
        return None


def _stat(path: str) -> list[int] | None:
    """``[size, mtime_ns]`` of the regular file ``path``; ``None`` if it is not one."""
    try:
        info = os.lstat(path)
    except OSError:
        return None
    return [info.st_size, info.st_mtime_ns] if stat.S_ISREG(info.st_mode) else None


def _parse(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _safe_name(name: Any) -> str:
    if (
        not isinstance(name, str)
        or name in ("", ".", "..")
        or "/" in name
        or "\0" in name
        or name.startswith(".tmt-")
    ):
        raise StoreSideError(f"refused a file name: {name!r}")
    return name


def _object_path(snapshots: str, digest: str) -> str:
    return os.path.join(snapshots, ".objects", digest[:2], digest[2:])


def _mode_suffix(mode: int) -> str:
    mode &= 0o555
    return "" if mode == 0o444 else "x" if mode == 0o555 else f"m{mode:03o}"


def _object_mode(digest: str) -> int:
    suffix = digest[64:]
    return 0o444 if not suffix else 0o555 if suffix == "x" else int(suffix[1:], 8)


def _hash_file(path: str) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def _scandir(path: str) -> list[os.DirEntry]:
    try:
        with os.scandir(path) as it:
            return list(it)
    except OSError:
        return []


def _regular_stat(entry: os.DirEntry) -> os.stat_result | None:
    try:
        info = entry.stat(follow_symlinks=False)
    except OSError:
        return None
    return info if stat.S_ISREG(info.st_mode) else None


def _walk(root: str, prefix: str = "") -> list[tuple[str, str, os.stat_result]]:
    """The regular files under ``root`` (never through a link), as (relative, full, stat)."""
    found = []
    for entry in _scandir(root):
        if entry.name.startswith(".tmt-"):
            continue  # a file being written
        rel = prefix + entry.name
        if entry.is_dir(follow_symlinks=False):
            found += _walk(entry.path, rel + "/")
        else:
            info = _regular_stat(entry)
            if info is not None:
                found.append((rel, entry.path, info))
    return found


def _walk_tree(root: str, prefix: str = "") -> list[tuple[str, str, str, Any]]:
    """A snapshot tree's entries: (relative path, full path or link target, kind, stat)."""
    found: list[tuple[str, str, str, Any]] = []
    for entry in _scandir(root):
        rel = prefix + entry.name
        if entry.is_symlink():
            found.append((rel, os.readlink(entry.path), "l", None))
        elif entry.is_dir(follow_symlinks=False):
            found.append((rel, "", "d", None))
            found += _walk_tree(entry.path, rel + "/")
        else:
            info = _regular_stat(entry)
            if info is not None:
                found.append((rel, entry.path, "f", info))
    return found


def _remove(path: str) -> None:
    """Remove a folder this module made, read-only folders included."""
    for folder, subfolders, _files in os.walk(path):
        for name in subfolders:
            full = os.path.join(folder, name)
            if not os.path.islink(full):
                try:
                    os.chmod(full, stat.S_IRWXU)
                except OSError:
                    pass
    try:
        os.chmod(path, stat.S_IRWXU)
    except OSError:
        pass
    shutil.rmtree(path, ignore_errors=True)


# Answering requests from the other host ----------------------------------------------------
def serve(action: str, stdin: IO[bytes], stdout: IO[bytes]) -> None:
    """Answer one request from another host: ``action`` with the JSON on the first line of
    ``stdin`` (``receive`` reads a tar stream after it; ``pack`` writes one)."""
    try:
        request = json.loads(stdin.readline() or b"{}")
        if action == "pack":
            stdout.write(MARKER)
            pack(request["paths"], stdout)
            return
        if action == "receive":
            unpack(stdin, request["into"], set(request["paths"]))
            result: dict[str, Any] = {}
        else:
            result = answer(action, request)
    except (StoreSideError, OSError, KeyError, ValueError, tarfile.TarError) as exc:
        result = {"error": str(exc) or type(exc).__name__}
    stdout.write(MARKER)
    stdout.write(json.dumps({"protocol": PROTOCOL, **result}).encode())
    stdout.flush()


def answer(action: str, request: dict[str, Any]) -> dict[str, Any]:
    """Do ``action`` as ``request`` asks; the answer is a dict of JSON values."""
    if action == "locate":
        found = locate(request["path"])
        found["host"] = os.uname().nodename if hasattr(os, "uname") else ""
        found["rsync"] = shutil.which("rsync") is not None
        return found
    if action == "describe":
        return describe(request["layout"], request["known"], request.get("only"))
    if action == "manifests":
        return manifests(request["layout"], request["trees"])
    if action == "present":
        return present(request["layout"], request["trees"], request["objects"], request.get("envs"))
    if action == "staging":
        path = os.path.join(request["layout"]["root"], temp_name())
        os.makedirs(path)
        return {"path": path}
    if action == "install":
        try:
            return install(request["layout"], request["plan"], request.get("staged", ""))
        finally:
            if request.get("staged"):
                _remove(request["staged"])
    if action == "remove":
        if os.path.basename(request["path"]).startswith(".tmt-"):
            _remove(request["path"])
        return {}
    raise StoreSideError(f"unknown action {action!r}")


if __name__ == "__main__" and len(sys.argv) > 1:
    serve(sys.argv[1], sys.stdin.buffer, sys.stdout.buffer)
