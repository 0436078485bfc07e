"""Moving runs between stores: ``tmt pull SRC`` and ``tmt push DEST``.

A store is another project (or its ``.tmt``) on this machine, or ``[user@]host:path`` reached
with ssh. Nothing of tmt need be installed there: :mod:`tmt.storeside`, which describes a store
and installs runs into one, is sent to the host's ``python3`` with each request. Files move
with ``rsync`` where both ends have it, else as a tar stream over the same ssh connection; on
one machine they are copied directly (never hardlinked across stores, so another filesystem
is no different).

A transfer is worked out before anything moves: the runs the receiving store lacks, or holds
an older record of (by :func:`tmt.storeside.verdict`: only a running run's record is ever
replaced, and only by one of the same run), those whose tags or note changed later on the
sending side, and, of their snapshots, the trees and then the objects it lacks (so the code of
many runs moves once). Everything is keyed by ids and content hashes, so
transfers need no lock, repeat safely, and a second one moves nothing.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time
import warnings
from collections import namedtuple
from dataclasses import dataclass, field

from . import storeside
from .errors import StoreError
from .record import check

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from .config import Configs
    from .entry import Entry

    #: Told the bytes moved so far, and how many will be: ``progress(done, total)``.
    Progress = Callable[[int, int], None] | None

#: The environment variable naming the ssh command (options included), as rsync's RSYNC_RSH.
SSH_ENV = "TMT_SSH"
_REMOTE = re.compile(r"(?P<host>[^/:]+):(?P<path>.*)", re.DOTALL)


class Endpoint:
    """One side of a transfer: a store on this machine, or on a host reached with ssh."""

    def __init__(
        self,
        spec: str,
        host: str | None,
        path: str,
        layout: dict[str, Any] | None = None,
        python: str = "python3",
    ) -> None:
        self.spec = spec
        self.host = host
        self.path = path
        self.python = python
        self._layout = layout
        self.rsync = host is None or bool(layout and layout.get("rsync"))
        self._ssh: list[str] | None = None
        self._control: str | None = None

    @classmethod
    def parse(cls, spec: str, python: str = "python3") -> Endpoint:
        """``[user@]host:path`` (a colon before any slash, as scp and rsync read it), or a path."""
        if not spec:
            raise StoreError("no store named (a folder, or [user@]host:path)")
        match = _REMOTE.fullmatch(spec)
        if match and not spec.startswith(("./", "/", "~")):
            if match["host"].startswith("-"):
                raise StoreError(f"not a host: {match['host']!r}")
            return cls(spec, match["host"], match["path"] or ".", python=python)
        return cls(os.path.abspath(os.path.expanduser(spec)), None, spec, python=python)

    @classmethod
    def of_config(cls, config: Configs) -> Endpoint:
        """The store a configuration names (the current project's)."""
        db_dir = os.path.dirname(config.json_db_path)
        layout = {
            "root": config.tmt_dir,
            "runs": os.path.join(db_dir, "runs"),
            "results": config.results_path,
            "snapshots": config.snapshot_target,
        }
        return cls(config.tmt_dir, None, config.tmt_dir, layout)

    @property
    def layout(self) -> dict[str, Any]:
        if self._layout is None:
            found = self.call("locate", {"path": self.path})
            self.rsync = self.host is None or bool(found.pop("rsync", False))
            found.pop("host", None)
            self._layout = found
        return self._layout

    def where(self) -> str:
        """The store, as its origin is recorded in runs copied from it."""
        if self.host is None:
            return self.layout["root"]
        return f"{self.host}:{self.layout['root']}"

    # Requests ------------------------------------------------------------------------------
    def call(self, action: str, request: dict[str, Any]) -> dict[str, Any]:
        """Ask the store's side to do ``action`` (see :func:`tmt.storeside.serve`)."""
        if self.host is None:
            try:
                return storeside.answer(action, request)
            except storeside.StoreSideError as exc:
                raise StoreError(f"{self.spec}: {exc}") from None
        line = json.dumps(request).encode() + b"\n"
        completed = subprocess.run(self._command(action), input=_boot() + line, capture_output=True)
        return self._decode(self._answer(completed.returncode, completed.stdout, completed.stderr))

    def _command(self, action: str) -> list[str]:
        remote = f"{shlex.quote(self.python)} -c {shlex.quote(storeside.BOOT)} {action}"
        return [*self.ssh, "--", self.host or "", remote]

    @property
    def ssh(self) -> list[str]:
        """The ssh command for this host. OpenSSH shares one connection among a transfer's
        requests (a password or a second factor is asked once), closed by :meth:`close`."""
        if self._ssh is None:
            self._ssh = ssh_command()
            if os.path.basename(self._ssh[0]) == "ssh":
                # A short folder: a socket's path may not be longer than about 100 bytes.
                short = "/tmp" if os.access("/tmp", os.W_OK) else None
                self._control = tempfile.mkdtemp(prefix="tmt-ssh-", dir=short)
                self._ssh += [
                    "-o", "ControlMaster=auto",
                    "-o", f"ControlPath={self._control}/%C",
                    "-o", "ControlPersist=60",  # ends by itself, should close() never be called
                ]  # fmt: skip
        return self._ssh

    def close(self) -> None:
        """End the shared ssh connection, if one was opened."""
        if self._control is None:
            return
        if any(os.scandir(self._control)):
            subprocess.run(
                [*self.ssh, "-O", "exit", "--", self.host or ""],
                capture_output=True,
                stdin=subprocess.DEVNULL,
            )
        shutil.rmtree(self._control, ignore_errors=True)
        self._control = None
        self._ssh = None

    def _answer(self, code: int, out: bytes, err: bytes) -> bytes:
        at = out.find(storeside.MARKER)
        if at < 0:
            said = err.decode(errors="replace").strip().splitlines()
            why = said[-1] if said else f"exit status {code}"
            if "SyntaxError" in why:
                why = f"{self.python} there is older than Python 3.7 (see --remote-python)"
            elif code == 127 or "not found" in why:
                why += f" (is {self.python} installed there? see --remote-python)"
            raise StoreError(f"{self.host}: {why}")
        return out[at + len(storeside.MARKER) :]

    def _decode(self, answer: bytes) -> dict[str, Any]:
        try:
            decoded = json.loads(answer)
        except ValueError:
            raise StoreError(f"{self.spec}: an answer that is not JSON") from None
        if not isinstance(decoded, dict):
            raise StoreError(f"{self.spec}: an answer that is not JSON")
        if decoded.pop("protocol", None) != storeside.PROTOCOL:
            raise StoreError(f"{self.spec}: another version of tmt's transfer protocol")
        if "error" in decoded:
            raise StoreError(f"{self.spec}: {decoded['error']}")
        return decoded

    # Files ---------------------------------------------------------------------------------
    def fetch(self, paths: list[str], into: str, total: int, progress: Progress) -> None:
        """Copy this remote store's ``paths`` (absolute) to ``into`` + path."""
        if shutil.which("rsync") and self.rsync:
            _rsync([*self._rsync(), f"{self.host}:/", into + "/"], paths, total, progress)
            return
        with tempfile.TemporaryFile() as err:
            process = subprocess.Popen(
                self._command("pack"), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err
            )
            assert process.stdin is not None and process.stdout is not None
            process.stdin.write(_boot() + json.dumps({"paths": paths}).encode() + b"\n")
            process.stdin.close()
            with process.stdout:
                found = _skip_to_marker(process.stdout)
                if found:
                    stream = _Counting(process.stdout, total, progress)
                    storeside.unpack(stream, into, set(paths))
            code = process.wait()
            if not found or code != 0:
                err.seek(0)
                self._answer(code, b"", err.read())

    def _rsync(self) -> list[str]:
        """rsync, reading NUL-separated names from its input, over this host's ssh, saying the
        size of each file as it arrives (for the progress bar)."""
        ssh = " ".join(shlex.quote(word) for word in self.ssh)
        return ["rsync", "-a", "-s", "--from0", "--files-from=-", "--out-format=%l", "-e", ssh]

    def send(self, paths: list[str], staging: str, total: int, progress: Progress) -> None:
        """Copy ``paths`` (absolute, on this machine) to this remote store's ``staging``."""
        if shutil.which("rsync") and self.rsync:
            _rsync([*self._rsync(), "/", f"{self.host}:{staging}/"], paths, total, progress)
            return
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            process = subprocess.Popen(
                self._command("receive"), stdin=subprocess.PIPE, stdout=out, stderr=err
            )
            assert process.stdin is not None
            request = {"into": staging, "paths": paths}
            try:
                with process.stdin:
                    process.stdin.write(_boot() + json.dumps(request).encode() + b"\n")
                    storeside.pack(paths, _Counting(process.stdin, total, progress))
            except BrokenPipeError:
                pass  # the other side ended: its answer says why
            code = process.wait()
            out.seek(0)
            err.seek(0)
            self._decode(self._answer(code, out.read(), err.read()))


def ssh_command() -> list[str]:
    """The ssh command: ``$TMT_SSH`` (say ``ssh -p 2222 -i key``), else ``ssh``."""
    return shlex.split(os.environ.get(SSH_ENV) or "ssh")


#: A run a transfer moved: its id, name and status.
MovedRun = namedtuple("MovedRun", "id name status")


@dataclass
class Moved:
    """What a transfer moved (or, in a dry run, would move): the runs new to the receiving
    store, those it held older, those whose tags or note only were newer (each a
    :data:`MovedRun`); how many it had already, were left out by the filters, or had a
    record that could not be read; the ids of runs refused because the receiving store holds
    another run by that id (``conflicts``); the runs left for a later transfer, each with why
    (``skipped``); and the snapshot trees, objects, files and bytes copied."""

    source: str
    dest: str
    new: list[MovedRun] = field(default_factory=list)
    updated: list[MovedRun] = field(default_factory=list)
    annotated: list[MovedRun] = field(default_factory=list)
    unchanged: int = 0
    left_out: int = 0
    unreadable: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    trees: int = 0
    objects: int = 0
    files: int = 0
    bytes: int = 0

    @property
    def runs(self) -> list[MovedRun]:
        return [*self.new, *self.updated, *self.annotated]


@dataclass
class Filters:
    """Which runs to move, as ``tmt list`` selects them."""

    name: re.Pattern[str] | None = None
    since: Any = None
    until: Any = None
    status: list[str] | None = None
    tags: list[str] | None = None
    where: str | None = None

    def active(self) -> bool:
        """Whether any filter is set."""
        return any(
            value not in (None, [], "")
            for value in (self.name, self.since, self.until, self.status, self.tags, self.where)
        )

    def select(self, entries: list[Entry]) -> list[Entry]:
        from .dates import parse_when
        from .query import select

        since = None if self.since is None else parse_when(self.since)
        until = None if self.until is None else parse_when(self.until)
        wanted = set(self.tags or ())
        found = [
            e
            for e in entries
            if (self.name is None or self.name.search(e.name))
            and (since is None or e.start_time >= since)
            and (until is None or e.start_time <= until)
            and (not self.status or e.status in self.status)
            and wanted.issubset(e.tags)
        ]
        return select(found, self.where) if self.where and self.where.strip() else found


def transfer(
    source: Endpoint,
    dest: Endpoint,
    filters: Filters | None = None,
    dry_run: bool = False,
    progress: Progress = None,
) -> Moved:
    """Copy the runs of ``source`` that ``dest`` lacks or holds older, with what they need."""
    moved = Moved(source.where(), dest.where())
    plan_runs = _choose(source, dest, filters, moved)
    objects, trees = _snapshots_to_send(source, dest, plan_runs)
    paths: dict[str, int] = {path: size for path, size in objects.values()}
    for run in plan_runs:
        for _name, path, size, _mtime in (*run.get("files", ()), *run.get("results", ())):
            paths[path] = size
        if run.get("env"):
            paths[run["env"][1]] = run["env"][2]
    moved.trees, moved.objects = len(trees), len(objects)
    moved.files, moved.bytes = len(paths), sum(paths.values())
    if dry_run or not plan_runs:
        return moved
    plan = {
        "origin": {"from": source.where(), "pulled": time.strftime("%Y-%m-%dT%H:%M:%S%z")},
        "objects": [[digest, path] for digest, (path, _size) in sorted(objects.items())],
        "trees": trees,
        "runs": plan_runs,
    }
    try:
        storeside.check_paths(plan)  # what the other side said, before anything is read
    except storeside.StoreSideError as exc:
        raise StoreError(f"{source.spec}: {exc}") from None
    done = _move(source, dest, plan, sorted(paths), moved.bytes, progress)
    _as_installed(moved, done)
    return moved


def _choose(
    source: Endpoint, dest: Endpoint, filters: Filters | None, moved: Moved
) -> list[dict[str, Any]]:
    """The runs of ``source`` to install into ``dest`` (as :func:`tmt.storeside.install`
    takes them), each counted in ``moved`` by what it will be: new, updated, annotated; and
    those left: unchanged, left out by the filters, unreadable, conflicting."""
    from .entry import Entry
    from .liveness import effective_status

    theirs = dest.call("describe", {"layout": dest.layout, "known": None})["runs"]
    known = {r["id"]: r["signature"] for r in theirs}
    offered = source.call("describe", {"layout": source.layout, "known": known})["runs"]
    changed = {r["id"]: r for r in offered if "record" in r}
    moved.unchanged = len(offered) - len(changed)
    selected = list(changed)
    if filters is not None and filters.active():
        entries = []
        for run in changed.values():
            record = _record(run, source)
            if record is not None:
                entries.append(Entry(_annotated(record, run), source.layout["root"]))
        selected = [e.id for e in filters.select(entries)]
        moved.left_out = len(entries) - len(selected)
        del entries
    shared = [run_id for run_id in selected if run_id in known]
    ours = {}
    if shared:
        request = {"layout": dest.layout, "known": {}, "only": shared}
        ours = {r["id"]: r for r in dest.call("describe", request)["runs"]}
    plan_runs = []
    for run_id in selected:  # one record parsed at a time: 100,000 runs fit in memory
        run = changed[run_id]
        record = _record(run, source)
        if record is None:
            moved.unreadable.append(run_id)
            continue
        mine = ours.get(run_id)
        here = None if mine is None else (storeside._parse(mine["record"]), mine["stat"][1])
        action = storeside.verdict((record, run["stat"][1]), here)
        later_notes = (
            mine is not None
            and run["annotations"] is not None
            and run["annotations"] != mine.get("annotations")
            and run["annotations_stat"][1] > (mine["annotations_stat"] or [0, 0])[1]
        )
        summary = MovedRun(run_id, _text(record.get("name")), effective_status(record))
        planned = _planned(run, record, source.layout, dest.layout)
        if action in ("take", "refresh") and mine is not None:
            _leave_out_unchanged(planned, mine)
            if action == "refresh" and not (planned["files"] or planned["results"]):
                action = "keep"
        if action == "conflict":
            moved.conflicts.append(run_id)
        elif action in ("new", "take", "refresh"):
            (moved.new if action == "new" else moved.updated).append(summary)
            plan_runs.append(planned)
        elif later_notes:
            moved.annotated.append(summary)
            plan_runs.append(
                {"id": run["id"], "annotations": [run["annotations"], run["annotations_stat"]]}
            )
        else:
            moved.unchanged += 1
    return plan_runs


def _snapshots_to_send(
    source: Endpoint, dest: Endpoint, plan_runs: list[dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """What ``dest`` lacks of the runs' snapshots: the objects (digest -> [path, size]) and the
    trees (id -> manifest). Package lists it has already are taken off the runs, as they are
    named by their content too."""
    trees = sorted({r["tree"] for r in plan_runs if r.get("tree")})
    envs = sorted({r["env"][0] for r in plan_runs if r.get("env")})
    if not trees and not envs:
        return {}, {}
    there = dest.call(
        "present", {"layout": dest.layout, "trees": trees, "objects": [], "envs": envs}
    )
    for run in plan_runs:
        if run.get("env") and run["env"][0] in there["envs"]:
            run["env"] = None
    trees = sorted(set(trees) - set(there["trees"]))
    if not trees:
        return {}, {}
    manifests = source.call("manifests", {"layout": source.layout, "trees": trees})
    objects = manifests["objects"]
    if objects:
        request = {"layout": dest.layout, "trees": [], "objects": sorted(objects)}
        have = set(dest.call("present", request)["objects"])
        objects = {k: v for k, v in objects.items() if k not in have}
    return objects, manifests["trees"]


def _as_installed(moved: Moved, done: dict[str, Any]) -> None:
    """Make ``moved`` say what the receiving store's side did, not what was planned (another
    transfer may have installed some of the runs meanwhile)."""
    planned = {r.id: r for r in moved.runs}
    annotated = {r.id for r in moved.annotated}
    moved.new = [planned[i] for i in done["new"] if i in planned]
    moved.updated = [planned[i] for i in done["updated"] if i in planned and i not in annotated]
    moved.annotated = [planned[i] for i in done["updated"] if i in annotated]
    moved.conflicts += [i for i in done["conflicts"] if i not in moved.conflicts]
    moved.skipped = dict(done.get("skipped") or {})
    moved.unchanged += len(planned) - len(moved.runs) - len(done["conflicts"]) - len(moved.skipped)
    moved.trees, moved.objects = done["trees"], done["objects"]
    moved.files, moved.bytes = done["files"], done["bytes"]


def _leave_out_unchanged(planned: dict[str, Any], mine: dict[str, Any]) -> None:
    """Keep in ``planned`` only the files that differ from the receiving store's copies
    (by size and modification time, which copies keep)."""
    for key in ("files", "results"):
        have = {entry[0]: (entry[2], entry[3]) for entry in mine.get(key) or ()}
        planned[key] = [e for e in planned[key] if have.get(e[0]) != (e[2], e[3])]


def _record(run: dict[str, Any], source: Endpoint) -> dict[str, Any] | None:
    """The record a store's answer gives for ``run``, if it is one (an object, of that id),
    without the fields that do not have their type (each run's named in a warning, as
    reading a store does)."""
    text = run["record"]
    if not isinstance(text, str) or len(text) > storeside.MAX_RECORD:
        return None
    record = storeside._parse(text)
    if not isinstance(record, dict) or record.get("id") != run["id"]:
        return None
    problems = check(record)
    if problems:
        warnings.warn(
            f"{source.spec}: run {run['id']}: fields of the wrong type ignored: "
            f"{', '.join(problems)}",
            stacklevel=2,
        )
    return record


def _annotated(record: dict[str, Any], run: dict[str, Any]) -> dict[str, Any]:
    """``record`` with the tags and note of the run's annotations."""
    notes = storeside._parse(run["annotations"][0]) if run["annotations"] else None
    if isinstance(notes, dict):
        record = {**record, **{k: notes[k] for k in ("tags", "note") if k in notes}}
    return record


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _planned(
    run: dict[str, Any], parsed: dict[str, Any], source: dict[str, Any], dest: dict[str, Any]
) -> dict[str, Any]:
    """A run as it will be installed. Its record's paths are rewritten where ``dest`` keeps
    things elsewhere, and where they lead out of what is copied (a crafted record must not
    send readers elsewhere on this machine): the snapshot to the run's link in ``dest``, each
    result into the run's results folder there, the git diff to its file in the run's folder,
    the package list to ``envs/``, or else to nothing."""
    planned = {key: run[key] for key in ("id", "stat", "record", "files", "results", "tree", "env")}
    if run["annotations"] is not None:
        planned["annotations"] = [run["annotations"], run["annotations_stat"]]
    record = dict(parsed)
    changes: dict[str, Any] = {}
    snapshot = record.get("snapshot")
    there = _stored_path(os.path.join(dest["snapshots"], run["id"]), dest["root"])
    if snapshot is not None and snapshot != (there if run["tree"] else snapshot):
        changes["snapshot"] = there
    elif snapshot is not None and not run["tree"] and not _inside(snapshot, source, "snapshots"):
        changes["snapshot"] = None
    results = record.get("results")
    if isinstance(results, list):
        old_dir = os.path.join(source["results"], run["id"])
        new_dir = os.path.join(dest["results"], run["id"])
        placed = []
        for result in results:
            path = result.get("path") if isinstance(result, dict) else None
            if isinstance(path, str):
                full = os.path.normpath(os.path.join(source["root"], path))
                if full.startswith(old_dir + os.sep):
                    rel = full[len(old_dir) + 1 :]
                else:  # outside the run's results: not copied, and never followed
                    rel = os.path.basename(full)
                moved = _stored_path(os.path.join(new_dir, rel), dest["root"])
                if moved != path:
                    result = {**result, "path": moved}
            placed.append(result)
        if placed != results:
            changes["results"] = placed
    files = {name for name, *_ in run["files"]}
    git = record.get("git")
    if isinstance(git, dict) and git.get("diff") is not None and git["diff"] not in files:
        changes["git"] = {**git, "diff": None}  # not a file of the run's folder
    environment = record.get("environment")
    packages = environment.get("packages") if isinstance(environment, dict) else None
    copied = run["env"][0] if run["env"] else None  # the package list of envs/ copied
    if isinstance(environment, dict) and packages is not None and packages != copied:
        changes["environment"] = {**environment, "packages": None}
    if changes:
        from .jsonfile import dumps

        planned["record"] = dumps({**record, **changes})
    return planned


def _inside(path: Any, layout: dict[str, Any], key: str) -> bool:
    """Whether a record's ``path`` is inside the store's folder ``key``."""
    if not isinstance(path, str):
        return False
    full = os.path.normpath(os.path.join(layout["root"], path))
    return full.startswith(layout[key].rstrip(os.sep) + os.sep)


def _stored_path(path: str, root: str) -> str:
    """``path`` as records keep it: relative to the store when inside it."""
    rel = os.path.relpath(path, root)
    return path if rel.startswith("..") else rel.replace(os.sep, "/")


def _move(
    source: Endpoint, dest: Endpoint, plan: dict[str, Any], paths: list[str], total: int,
    progress: Progress,
) -> dict[str, Any]:  # fmt: skip
    """Bring the files ``paths`` where ``dest`` can read them, and install ``plan`` there;
    returns what its side did."""
    if dest.host is None:  # into this machine's store: progress as it is installed
        staging = ""
        if source.host is not None:  # files come into a folder of this store first
            staging = os.path.join(dest.layout["root"], storeside.temp_name())
            os.makedirs(staging)
        records = sum(len(run.get("record") or "") for run in plan["runs"])
        tell = None
        if progress is not None:
            tell = lambda done: progress(min(done, total + records), total + records)  # noqa: E731
        try:
            if staging:
                source.fetch(paths, staging, total, progress)
            return storeside.install(dest.layout, plan, staging, tell)
        except storeside.StoreSideError as exc:
            raise StoreError(f"{dest.spec}: {exc}") from None
        finally:
            if staging:
                storeside._remove(staging)
    staging = dest.call("staging", {"layout": dest.layout})["path"]
    try:
        dest.send(paths, staging, total, progress)
        return dest.call("install", {"layout": dest.layout, "plan": plan, "staged": staging})
    except BaseException:
        try:
            dest.call("remove", {"path": staging})
        except StoreError:
            pass
        raise


def _boot() -> bytes:
    """The source of :mod:`tmt.storeside`, preceded by its length, for ``BOOT`` to read."""
    with open(storeside.__file__, "rb") as f:
        source = f.read()
    return str(len(source)).encode() + b"\n" + source


def _skip_to_marker(stream: Any) -> bool:
    """Read ``stream`` up to and including :data:`tmt.storeside.MARKER`; False if it ended."""
    marker = storeside.MARKER
    while True:
        line = stream.readline()
        if not line:
            return False
        if line.endswith(marker):
            return True


def _rsync(command: list[str], paths: list[str], total: int, progress: Progress) -> None:
    """Run rsync with ``paths`` on its standard input (names as the filesystem has them, even
    those that are not UTF-8), reporting bytes as files arrive."""
    import threading

    with tempfile.TemporaryFile() as err:
        process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err
        )
        assert process.stdin is not None and process.stdout is not None
        names = b"".join(os.fsencode(p.lstrip("/")) + b"\0" for p in paths)

        def feed() -> None:  # in a thread: rsync reads the names as it goes
            try:
                with process.stdin:  # type: ignore[union-attr]
                    process.stdin.write(names)  # type: ignore[union-attr]
            except BrokenPipeError:
                pass

        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        done = 0
        for line in process.stdout:
            if line.strip().isdigit():
                done += int(line)
                if progress is not None:
                    progress(min(done, total), total)
        feeder.join()
        code = process.wait()
        if code in (0, 24):  # 24: some files vanished meanwhile (runs removed): left out
            return
        err.seek(0)
        said = [line for line in err.read().decode(errors="replace").splitlines() if line]
        # The line naming the file that failed, rather than rsync's closing summary.
        named = [line for line in said if not line.startswith("rsync error:")]
        why = (named or said or [f"exit status {code}"])[-1]
        raise StoreError(f"rsync failed: {why}")


class _Counting:
    """A stream that reports the bytes that pass through it."""

    def __init__(self, stream: Any, total: int, progress: Progress) -> None:
        self.stream = stream
        self.total = total
        self.progress = progress
        self.count = 0

    def read(self, n: int = -1) -> bytes:
        data: bytes = self.stream.read(n)
        self._add(len(data))
        return data

    def write(self, data: bytes) -> int:
        self.stream.write(data)
        self._add(len(data))
        return len(data)

    def flush(self) -> None:
        self.stream.flush()

    def _add(self, n: int) -> None:
        self.count += n
        if self.progress is not None and n:
            self.progress(min(self.count, self.total), self.total)
