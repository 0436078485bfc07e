"""A run in progress: its record, kept current on disk, and how code finds the run it is in.

Code inside a recorded function finds its run through a context variable (per thread and per
asyncio task); threads the function starts, which do not inherit context variables, fall back
to the process's only active run. A finished run is never found again.
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from contextvars import ContextVar

from .errors import NotInRunError
from .jsonvalue import to_json
from .liveness import HEARTBEAT_INTERVAL

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .store import Store

_current: ContextVar[ActiveRun | None] = ContextVar("tmt_current_run", default=None)
_active: dict[str, ActiveRun] = {}
_active_lock = threading.Lock()
_heartbeat: threading.Thread | None = None


class ActiveRun:
    """The live state of one run; every change to its record is written through atomically."""

    def __init__(self, store: Store, record: dict[str, Any]) -> None:
        self.store = store
        self.record = record
        self.id: str = record["id"]
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.done = False
        self.reserved: set[str] = set()  # result paths being written by tmt_save
        self._warned_write = False

    @property
    def results_dir(self) -> str:
        return self.store.results_dir(self.id)

    # Writes ------------------------------------------------------------------------------
    def write(self, durable: bool = True) -> None:
        """Write the record as it is now; a failure is warned about once and never raised."""
        try:
            self.store.write_record(self.record, durable)
        except (OSError, ValueError) as exc:
            if not self._warned_write:
                self._warned_write = True
                warnings.warn(f"tmt: cannot write the record of run {self.id}: {exc}", stacklevel=2)

    def update(self, durable: bool = True, **fields: Any) -> None:
        with self.lock:
            self.record.update(fields)
            self.write(durable)

    def beat(self) -> None:
        """Refresh the heartbeat, by which other hosts tell this run is alive."""
        with self.lock:
            if not self.done:
                self.record["heartbeat_time"] = time.time()
                self.write(durable=False)

    def add_result(self, name: str, path: str, saved_with: str) -> None:
        with self.lock:
            self.record["results"].append(
                {"name": name, "path": self.store.relative(path), "saved_with": saved_with}
            )
            self.write()

    # Endings -----------------------------------------------------------------------------
    def finish(self, returned: Any) -> None:
        """Complete the record of a run that returned ``returned``; a dict is its metrics."""
        problems: list[str] = []
        metrics = {}
        if isinstance(returned, dict):
            metrics = to_json(returned, "metrics", problems)
        if problems:
            warnings.warn(
                f"tmt: run {self.id} ({self.record['name']}): " + "; ".join(problems), stacklevel=3
            )
        self._end("finished", metrics=metrics)

    def fail(self, exc: BaseException) -> None:
        """Complete the record of a run that raised ``exc``."""
        if isinstance(exc, SystemExit) and exc.code in (0, None):
            self._end("finished")
            return
        import traceback

        status = "failed"
        if isinstance(exc, KeyboardInterrupt) or type(exc).__name__ == "CancelledError":
            status = "interrupted"
        kind = type(exc)
        module = kind.__module__
        error = {
            "type": kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}",
            "message": _safe_str(exc),
            "traceback": "".join(traceback.format_exception(kind, exc, exc.__traceback__)),
        }
        self._end(status, error=error)

    def _end(self, status: str, **fields: Any) -> None:
        now = round(time.time(), 6)
        with self.lock:
            self.done = True
            self.record.update(fields)
            self.record.update(
                status=status,
                ended=iso_time(now),
                end_time=now,
                duration=round(now - self.record["start_time"], 6),
                heartbeat_time=now,
            )
            self.write()


def activate(run: ActiveRun) -> object:
    """Make ``run`` the current run of this context; returns a token for :func:`deactivate`."""
    with _active_lock:
        _active[run.id] = run
    _ensure_heartbeat()
    return _current.set(run)


def deactivate(run: ActiveRun, token: object) -> None:
    with _active_lock:
        _active.pop(run.id, None)
    _current.reset(token)  # type: ignore[arg-type]


def current_run(caller: str) -> ActiveRun:
    """The run that code here belongs to; ``caller`` names the function asking, for errors."""
    run = _current.get()
    if run is None:
        with _active_lock:
            runs = list(_active.values())
        if len(runs) > 1:
            raise NotInRunError(
                f"{caller}() was called from a thread that belongs to none of the {len(runs)} "
                "runs active in this process; call it from the recorded function's own thread"
            )
        run = runs[0] if runs else None
    if run is None:
        raise NotInRunError(
            f"{caller}() must be called inside a run: from a function decorated with "
            "@tmt_recorder(name=...), or from code it calls"
        )
    if run.done:
        raise NotInRunError(f"{caller}() was called after run {run.id} had finished")
    if run.pid != os.getpid():
        raise NotInRunError(
            f"{caller}() was called in a child process of run {run.id}; "
            "call it in the process that runs the recorded function"
        )
    return run


def iso_time(timestamp: float) -> str:
    """``timestamp`` as ISO 8601 local time with its UTC offset, to the millisecond."""
    from datetime import datetime

    return datetime.fromtimestamp(timestamp).astimezone().isoformat(timespec="milliseconds")


def _ensure_heartbeat() -> None:
    global _heartbeat
    if _heartbeat is not None and _heartbeat.is_alive():
        return
    with _active_lock:
        if _heartbeat is None or not _heartbeat.is_alive():
            _heartbeat = threading.Thread(target=_beat_forever, name="tmt-heartbeat", daemon=True)
            _heartbeat.start()


def _beat_forever() -> None:
    wake = threading.Event()
    while not wake.wait(HEARTBEAT_INTERVAL):
        with _active_lock:
            runs = list(_active.values())
        for run in runs:
            run.beat()


def _safe_str(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:
        return f"<{type(exc).__name__} whose str() failed>"
