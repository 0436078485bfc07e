"""Moving runs between stores: ``tmt pull SRC`` and ``tmt push DEST``.

A store is another project (or its ``.tmt``) on this machine, or ``[user@]host:path`` reached
with ssh. Nothing of tmt need be installed there: :mod:`tmt.storeside`, which describes a store
and installs runs into one, is sent to the host's ``python3`` with each request. Files move
with ``rsync`` where both ends have it, else as a tar stream over the same ssh connection; on
one machine they are copied directly (never hardlinked across stores, so another filesystem
is no different).

A transfer is worked out before anything moves: the runs the receiving store lacks, or holds
an older record of (by :func:`tmt.storeside.freshness`), those whose tags or note changed
later on the sending side, and, of their snapshots, the trees and then the objects it lacks
(so the code of many runs moves once). Everything is keyed by ids and content hashes, so
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
from collections import namedtuple
from dataclasses import dataclass, field

from . import storeside
from .errors import StoreError

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
                import tempfile

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
            command = [
                "rsync", "-a", "-s", "--from0", "--files-from=-", "--out-format=%l", "-e", " ".join(
                    shlex.quote(w) for w in self.ssh
                ), f"{self.host}:/", into + "/",
            ]  # fmt: skip
            _rsync(command, paths, total, progress)
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

    def send(self, paths: list[str], staging: str, total: int, progress: Progress) -> None:
        """Copy ``paths`` (absolute, on this machine) to this remote store's ``staging``."""
        if shutil.which("rsync") and self.rsync:
            command = [
                "rsync", "-a", "-s", "--from0", "--files-from=-", "--out-format=%l", "-e", " ".join(
                    shlex.quote(w) for w in self.ssh
                ), "/", f"{self.host}:{staging}/",
            ]  # fmt: skip
            _rsync(command, paths, total, progress)
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
    record that could not be read; and the snapshot trees, objects, files and bytes copied."""

    source: str
    dest: str
    new: list[MovedRun] = field(default_factory=list)
    updated: list[MovedRun] = field(default_factory=list)
    annotated: list[MovedRun] = field(default_factory=list)
    unchanged: int = 0
    left_out: int = 0
    unreadable: int = 0
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
    from .entry import Entry
    from .liveness import effective_status

    theirs = dest.call("describe", {"layout": dest.layout, "known": None})["runs"]
    known = {r["id"]: [r["stat"], r["annotations_stat"]] for r in theirs}
    offered = source.call("describe", {"layout": source.layout, "known": known})["runs"]
    moved = Moved(source.where(), dest.where())
    changed = {r["id"]: r for r in offered if "record" in r}
    moved.unchanged = len(offered) - len(changed)
    selected = list(changed)
    if filters is not None and filters.active():
        entries = []
        for run in changed.values():
            record = _record(run)
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
        record = _record(run)
        if record is None:
            moved.unreadable += 1
            continue
        mine = ours.get(run_id)
        fresher = mine is None or storeside.freshness(record) > storeside.freshness(
            storeside._parse(mine["record"])
        )
        later_notes = (
            mine is not None
            and run["annotations"] is not None
            and run["annotations"] != mine.get("annotations")
            and run["annotations_stat"][1] > (mine["annotations_stat"] or [0, 0])[1]
        )
        summary = MovedRun(run_id, _text(record.get("name")), effective_status(record))
        if fresher:
            (moved.new if mine is None else moved.updated).append(summary)
            plan_runs.append(_planned(run, record, source.layout, dest.layout))
        elif later_notes:
            moved.annotated.append(summary)
            plan_runs.append(
                {"id": run["id"], "annotations": [run["annotations"], run["annotations_stat"]]}
            )
        else:
            moved.unchanged += 1
    trees = sorted({r["tree"] for r in plan_runs if r.get("tree")})
    if trees:
        trees = sorted(set(trees) - set(dest.call("present", _ask(dest, trees, []))["trees"]))
    manifests: dict[str, Any] = {"trees": {}, "objects": {}}
    if trees:
        manifests = source.call("manifests", {"layout": source.layout, "trees": trees})
    objects = manifests["objects"]
    if objects:
        there = set(dest.call("present", _ask(dest, [], sorted(objects)))["objects"])
        objects = {k: v for k, v in objects.items() if k not in there}
    paths: dict[str, int] = {path: size for path, size in objects.values()}
    for run in plan_runs:
        for _name, path, size, _mtime in (*run.get("files", ()), *run.get("results", ())):
            paths[path] = size
        if run.get("env"):
            paths[run["env"][1]] = run["env"][2]
    moved.trees = len(manifests["trees"])
    moved.objects = len(objects)
    moved.files = len(paths)
    moved.bytes = sum(paths.values())
    if dry_run or not plan_runs:
        return moved
    plan = {
        "origin": {
            "from": source.where(),
            "pulled": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        },
        "objects": [[digest, path] for digest, (path, _size) in sorted(objects.items())],
        "trees": manifests["trees"],
        "runs": plan_runs,
    }
    try:
        storeside.check_paths(plan)  # what the other side said, before anything is read
    except storeside.StoreSideError as exc:
        raise StoreError(f"{source.spec}: {exc}") from None
    _move(source, dest, plan, sorted(paths), moved.bytes, progress)
    return moved


def _record(run: dict[str, Any]) -> dict[str, Any] | None:
    """The record a store's answer gives for ``run``, if it is one (an object, of that id)."""
    text = run["record"]
    if not isinstance(text, str) or len(text) > storeside.MAX_RECORD:
        return None
    record = storeside._parse(text)
    return record if isinstance(record, dict) and record.get("id") == run["id"] else None


def _annotated(record: dict[str, Any], run: dict[str, Any]) -> dict[str, Any]:
    """``record`` with the tags and note of the run's annotations."""
    notes = storeside._parse(run["annotations"][0]) if run["annotations"] else None
    if isinstance(notes, dict):
        record = {**record, **{k: notes[k] for k in ("tags", "note") if k in notes}}
    return record


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _ask(dest: Endpoint, trees: list[str], objects: list[str]) -> dict[str, Any]:
    return {"layout": dest.layout, "trees": trees, "objects": objects}


def _planned(
    run: dict[str, Any], parsed: dict[str, Any], source: dict[str, Any], dest: dict[str, Any]
) -> dict[str, Any]:
    """A run as it will be installed, its record's paths rewritten for ``dest`` if they differ."""
    planned = {key: run[key] for key in ("id", "stat", "record", "files", "results", "tree", "env")}
    if run["annotations"] is not None:
        planned["annotations"] = [run["annotations"], run["annotations_stat"]]
    record = dict(parsed)  # changed below only where a path differs
    rewritten = False
    snapshot = record.get("snapshot")
    if isinstance(snapshot, str) and snapshot and run["tree"]:
        there = _stored_path(os.path.join(dest["snapshots"], run["id"]), dest["root"])
        if there != snapshot:
            record["snapshot"], rewritten = there, True
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
                    there = _stored_path(new_dir + full[len(old_dir) :], dest["root"])
                    if there != path:
                        result, rewritten = {**result, "path": there}, True
            placed.append(result)
        record["results"] = placed
    if rewritten:
        from .jsonfile import dumps

        planned["record"] = dumps(record)
    return planned


def _stored_path(path: str, root: str) -> str:
    """``path`` as records keep it: relative to the store when inside it."""
    rel = os.path.relpath(path, root)
    return path if rel.startswith("..") else rel.replace(os.sep, "/")


def _move(
    source: Endpoint, dest: Endpoint, plan: dict[str, Any], paths: list[str], total: int,
    progress: Progress,
) -> None:  # fmt: skip
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
            storeside.install(dest.layout, plan, staging, tell)
        except storeside.StoreSideError as exc:
            raise StoreError(f"{dest.spec}: {exc}") from None
        finally:
            if staging:
                storeside._remove(staging)
        return
    staging = dest.call("staging", {"layout": dest.layout})["path"]
    try:
        dest.send(paths, staging, total, progress)
        dest.call("install", {"layout": dest.layout, "plan": plan, "staged": staging})
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
    """Run rsync with ``paths`` on its standard input, reporting bytes as files arrive."""
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write("".join(p.lstrip("/") + "\0" for p in paths))
        process.stdin.close()
    except BrokenPipeError:
        pass
    done = 0
    for line in process.stdout:
        if line.strip().isdigit():
            done += int(line)
            if progress is not None:
                progress(min(done, total), total)
    err = process.stderr.read() if process.stderr else ""
    code = process.wait()
    if code not in (0, 24):  # 24: some files vanished meanwhile (runs removed): left out
        said = [line for line in err.splitlines() if line.strip()]
        raise StoreError(f"rsync failed: {said[-1] if said else f'exit status {code}'}")


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
