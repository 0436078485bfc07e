"""Whether a run recorded as running is still alive, or crashed without a word (kill -9, power)."""

from __future__ import annotations

import os
import time

#: How often a running run rewrites its heartbeat, in seconds.
HEARTBEAT_INTERVAL = 30.0
#: A run on another host whose heartbeat is older than this is reported as crashed.
STALE_AFTER = 10 * HEARTBEAT_INTERVAL

_HOST = os.uname().nodename if hasattr(os, "uname") else os.environ.get("COMPUTERNAME", "")


def this_host() -> str:
    """The name of this machine, as recorded in runs."""
    return _HOST


def process_start(pid: int) -> str | None:
    """An opaque token for when process ``pid`` started, to tell it from a later reuse of its pid.

    ``None`` where the system does not say (anywhere but Linux).
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    # Fields after the command name (which may hold spaces and parentheses): state is the
    # first, the start time the 20th.
    fields = stat[stat.rfind(b")") + 2 :].split()
    return fields[19].decode() if len(fields) > 19 else None


def pid_alive(pid: int, started: str | None = None) -> bool:
    """Whether process ``pid`` of this host still runs, and is the one that began at ``started``."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, it is someone else's
    except OSError:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return True  # no /proc: the signal said it exists
    fields = stat[stat.rfind(b")") + 2 :].split()
    if fields and fields[0] in (b"Z", b"X"):  # a zombie has finished running
        return False
    return started is None or len(fields) <= 19 or fields[19].decode() == started


def effective_status(record: dict, now: float | None = None) -> str:
    """The status to show for ``record``: ``crashed`` for a running run whose process is gone.

    On this host the process is checked directly; a run of another host sharing the store is
    judged by its heartbeat, which goes stale ``STALE_AFTER`` seconds after the process stops.
    """
    status = record.get("status") or "unknown"
    if status != "running":
        return status
    if record.get("host") == _HOST:
        return "running" if pid_alive(record.get("pid"), record.get("process_start")) else "crashed"
    beat = record.get("heartbeat_time") or record.get("start_time")
    if not isinstance(beat, (int, float)):
        return status
    return "crashed" if (now or time.time()) - beat > STALE_AFTER else "running"
