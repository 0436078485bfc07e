"""A run in progress: its record, kept current on disk, and how code finds the run it is in.

Code inside a recorded function finds its run through a context variable (per thread and per
asyncio task), so nested and concurrent runs each get their own; threads the function starts,
which do not inherit context variables, fall back to the process's only active run. A finished
run is never found again, nor is a run found from a child process of the one running it.
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
        self.live = True  # False once done, and in a forked child
        self.disabled = False
        self.series: Any = None  # a SeriesWriter, set by the recorder
        self.on_end: list[Any] = []  # called (with no arguments) just before the final write
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
        """Complete the record of a run that returned ``returned``; a dict is its metrics.

        A metric logged with ``tmt_log`` and not returned takes its series' last value.
        """
        self._stop_series()
        problems: list[str] = []
        metrics = dict(self.series.last) if self.series is not None else {}
        if isinstance(returned, dict):
            metrics.update(returned)
        metrics = to_json(metrics, "metrics", problems)
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

        self._stop_series()
        if self.series is not None and self.series.last:
            self.record["metrics"] = to_json(dict(self.series.last), "metrics", [])
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

    def _stop_series(self) -> None:
        if self.series is not None:
            try:
                self.series.close()
            except (OSError, ValueError) as exc:
                warnings.warn(f"tmt: cannot write the series of run {self.id}: {exc}", stacklevel=3)
            self.record["series"] = sorted(self.series.last)

    def tick(self) -> None:
        """Write the logged values queued so far (called about once a second)."""
        if self.series is not None and not self.done:
            try:
                self.series.flush()
            except (OSError, ValueError):
                pass  # reported when the run ends

    def _end(self, status: str, **fields: Any) -> None:
        self.live = False
        for callback in self.on_end:
            try:
                callback()
            except Exception:
                pass  # capturing context must never cost the run its record
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


class _NoSeries:
    """Takes logged values and keeps none (a deque of length 0 drops what is appended)."""

    def __init__(self) -> None:
        from collections import deque

        self.steps: dict[str, int] = {}
        self.queue: deque = deque(maxlen=0)

    def log(self, *args: Any) -> None:
        pass


class DisabledRun:
    """Stands in for a run while recording is disabled: saving and logging do nothing."""

    live = True
    done = False
    disabled = True
    id = "disabled"

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.series = _NoSeries()


#: The run of this context, whatever its state: the fast path of ``tmt_log``.
current_context_run = _current.get


def enter_disabled() -> object:
    return _current.set(DisabledRun())  # type: ignore[arg-type]


def leave_disabled(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]


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
    """Each second, write the runs' logged values; every ``HEARTBEAT_INTERVAL``, beat."""
    wake = threading.Event()
    last_beat = time.monotonic()
    while not wake.wait(min(1.0, HEARTBEAT_INTERVAL)):
        with _active_lock:
            runs = list(_active.values())
        beat = time.monotonic() - last_beat >= HEARTBEAT_INTERVAL
        if beat:
            last_beat = time.monotonic()
        for run in runs:
            run.tick()
            if beat:
                run.beat()


def _forget_runs_in_child() -> None:
    """After a fork, the child's copies of the active runs are not its to write."""
    global _active_lock
    _active_lock = threading.Lock()  # another thread may have held it at the fork
    for run in list(_active.values()):
        run.live = False
    _active.clear()


def enclosing_run() -> ActiveRun | None:
    """The run a new run starts inside of, if any: the current one of this context, or, in
    a process forked by a run, that run."""
    run = _current.get()
    if run is None or run.done or run.disabled:
        return None
    return run


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_runs_in_child)


def _safe_str(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:
        return f"<{type(exc).__name__} whose str() failed>"
