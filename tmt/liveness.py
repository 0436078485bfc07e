"""Whether the process behind a run, or behind a temporary file, is still alive.

A run recorded as ``running`` whose process is gone crashed without a word (kill -9, power).
On the same machine the process is checked directly; "the same machine" means the same host
name, boot and PID namespace, since a container sharing the host's name sees other pids. A run
of another machine sharing the store is judged by its heartbeat instead.

Temporary files carry the same facts in their names (:func:`temp_name`), so that what a dead
process left half-written can be told apart from a write in progress (:func:`is_debris`).
"""

from __future__ import annotations

import hashlib
import os
import re
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: How often a running run rewrites its heartbeat, in seconds.
HEARTBEAT_INTERVAL = 30.0
#: A run on another machine whose heartbeat is older than this is reported as crashed.
STALE_AFTER = 10 * HEARTBEAT_INTERVAL
#: A temporary file of another machine untouched for this long is debris.
DEBRIS_AGE = 3600.0

_HOST = os.uname().nodename if hasattr(os, "uname") else os.environ.get("COMPUTERNAME", "")


def _read_boot_id() -> str | None:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            return f.read().strip() or None
    except (OSError, ValueError):
        return None


def _read_pid_namespace() -> str | None:
    try:
        link = os.readlink("/proc/self/ns/pid")  # "pid:[4026531836]"
    except OSError:
        return None
    return link[link.find("[") + 1 : -1] if link.endswith("]") else link


_BOOT_ID = _read_boot_id()
_PID_NAMESPACE = _read_pid_namespace()
# The machine in eight hex digits: host, boot and PID namespace (what makes a pid meaningful).
_MACHINE = hashlib.sha256(f"{_HOST}\0{_BOOT_ID}\0{_PID_NAMESPACE}".encode()).hexdigest()[:8]
_TEMP = re.compile(r"\.tmt-([0-9a-f]{8})-(\d+)-(\d+)\.[0-9a-f]{8}\.tmp")
# The names temporary files had before they said who owned them (a record's, a result's, the
# last link's): judged by age alone.
_OLD_TEMP = re.compile(r".+\.\d+\.[0-9a-f]{8}\.tmp|\.[^.]+\.\d+\.[0-9a-f]{8}")
_owner: list[Any] = [0, ""]  # [pid, "<machine>-<pid>-<start>"] of this process, made on first use


def this_host() -> str:
    """The name of this machine, as recorded in runs."""
    return _HOST


def machine() -> dict[str, str | None]:
    """The facts that make a pid of this process meaningful, as runs record them."""
    return {"boot_id": _BOOT_ID, "pid_namespace": _PID_NAMESPACE}


def process_start(pid: int) -> str | None:
    """An opaque token for when process ``pid`` started, to tell it from a later reuse of its pid.

    ``None`` where the system does not say (anywhere but Linux).
    """
    fields = _stat_fields(pid)
    return fields[19].decode() if fields is not None and len(fields) > 19 else None


def pid_alive(pid: int, started: str | None = None) -> bool:
    """Whether process ``pid`` of this machine still runs, and is the one that began at
    ``started``."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, it is someone else's
    except (OSError, OverflowError):
        return False
    fields = _stat_fields(pid)
    if fields is None:
        return True  # no /proc: the signal said it exists
    if fields and fields[0] in (b"Z", b"X"):  # a zombie has finished running
        return False
    return started is None or len(fields) <= 19 or fields[19].decode() == started


def _stat_fields(pid: int) -> list[bytes] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    # Fields after the command name (which may hold spaces and parentheses): state is the
    # first, the start time the 20th.
    return stat[stat.rfind(b")") + 2 :].split()


def same_machine(record: dict[str, Any]) -> bool:
    """Whether the run of ``record`` ran on this machine, in this PID namespace: only then
    does its pid say anything. Records written before namespaces were recorded are taken to
    be of this machine when their host name is."""
    if record.get("host") != _HOST:
        return False
    for key, mine in (("boot_id", _BOOT_ID), ("pid_namespace", _PID_NAMESPACE)):
        theirs = record.get(key)
        if theirs is not None and theirs != mine:
            return False
    return True


def effective_status(record: dict[str, Any], now: float | None = None) -> str:
    """The status to show for ``record``: ``crashed`` for a running run whose process is gone.

    On this machine the process is checked directly; a run of another machine (or of another
    PID namespace of this one) is judged by its heartbeat, which goes stale ``STALE_AFTER``
    seconds after the process stops.
    """
    status = record.get("status") or "unknown"
    if status != "running":
        return status
    if same_machine(record):
        pid = record.get("pid")
        alive = isinstance(pid, int) and pid_alive(pid, record.get("process_start"))
        return "running" if alive else "crashed"
    beat = record.get("heartbeat_time") or record.get("start_time")
    if not isinstance(beat, (int, float)):
        return status
    return "crashed" if (now or time.time()) - beat > STALE_AFTER else "running"


def temp_name() -> str:
    """A hidden name for a temporary file or folder that says which process made it."""
    pid = os.getpid()
    if _owner[0] != pid:  # first use, or a forked child
        _owner[:] = [pid, f"{_MACHINE}-{pid}-{process_start(pid) or 0}"]
    return f".tmt-{_owner[1]}.{os.urandom(4).hex()}.tmp"


def is_temp_name(name: str) -> bool:
    """Whether ``name`` was made by :func:`temp_name`."""
    return _TEMP.fullmatch(name) is not None


def is_debris(name: str, mtime: float, now: float | None = None, old_names: bool = True) -> bool:
    """Whether a temporary file or folder named ``name`` (last modified at ``mtime``) is left
    over by a process that died: its maker is gone from this machine, or, made elsewhere, it
    has not been touched for ``DEBRIS_AGE``. Names tmt does not make are never debris; the
    names of older versions (``old_names``) are judged by age alone."""
    match = _TEMP.fullmatch(name)
    now = time.time() if now is None else now
    if match is None:
        return old_names and _OLD_TEMP.fullmatch(name) is not None and now - mtime > DEBRIS_AGE
    maker, pid, started = match.groups()
    if maker == _MACHINE:
        return not pid_alive(int(pid), started if started != "0" else None)
    return now - mtime > DEBRIS_AGE
