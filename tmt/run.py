"""A run in progress: its record, kept current on disk, and how code finds the run it is in.

Code inside a recorded function finds its run through a context variable (per thread and per
asyncio task), so nested and concurrent runs each get their own; threads the function starts,
which do not inherit context variables, fall back to the process's innermost active run when
the active runs form one chain (a run and the runs nested in it). A finished run is never
found again, nor is a run found, or written, from a child process of the one running it.

A run's life: ``live`` (it takes results, logged values and output) until it ends; then
``done`` (no change is taken any more) while its final record is written; then ``ended``.
Ending is idempotent (a signal handler may complete an ending already under way) and never
raises: what could not be written (a full disk) is said in one warning.
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from contextvars import ContextVar

from . import output, termination
from .errors import NotInRunError
from .jsonvalue import to_json
from .liveness import HEARTBEAT_INTERVAL
from .record import stored_path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import FrameType
    from typing import Any

    from .store import Store

_current: ContextVar[ActiveRun | None] = ContextVar("tmt_current_run", default=None)
_active: dict[str, ActiveRun] = {}
_unended: dict[str, ActiveRun] = {}  # active, or ending: what a fatal signal must complete
# Reentrant: a signal handler runs in the main thread, perhaps while it holds the lock.
_active_lock = threading.RLock()
_fallback: list[ActiveRun | None] = [None]  # the innermost active run, if they form one chain
_heartbeat: threading.Thread | None = None
# A result saved within this many seconds of the last one is listed by the next tick instead:
# saving in a tight loop then costs one record write a tick, not one a save.
_COALESCE = 0.05
_LISTED_AT_ONCE = 100  # results a run lists at once, however fast it saves them


class ActiveRun:
    """The live state of one run; every change to its record is written through atomically."""

    disabled = False

    def __init__(
        self, store: Store, record: dict[str, Any], parent: ActiveRun | None = None
    ) -> None:
        self.store = store
        self.record = record
        self.id: str = record["id"]
        self.pid = os.getpid()
        self.parent_run = parent  # the enclosing run of this process, if any
        self.lock = threading.RLock()
        self.live = True  # takes results, values and output; False once ending, and in a fork
        self.done = False  # the record takes no more changes
        self.ended = False  # the final record is written
        self.reserved: set[str] = set()  # result paths being written by tmt_save
        self.result_names: set[str] = set()  # the names of the results saved
        self.suffixes: dict[tuple[str, str], int] = {}  # the next _N of a name saved again
        self._pending = False  # the record has changes not written yet (see add_result)
        self._listed_at = 0.0  # when a result was last listed at once (monotonic)
        self.series: Any = None  # a SeriesWriter, set by the recorder
        self.output: output.RunOutput | None = None  # set by the recorder, with the tee started
        self.on_end: list[Any] = []  # called (with no arguments) just before the final write
        self.stop_signal: str | None = None  # SIGTERM or SIGHUP, if one came
        self._ending: Any = None  # redoes the ending under way (finish or fail), if any
        self.losses: list[str] = []  # what could not be kept, said in one warning at the end
        self.unrecorded: OSError | None = None  # why the store could not take this run at all
        self._token: Any = None
        self._write_error: OSError | None = None

    @property
    def results_dir(self) -> str:
        return self.store.results_dir(self.id)

    # Writes ------------------------------------------------------------------------------
    def write(self, durable: bool = True) -> bool:
        """Write the record as it is now; a failure is kept for the run's final report and
        never raised. True if it was written."""
        if self.unrecorded is not None:
            return False
        self._pending = False
        try:
            self.store.write_record(self.record, durable)
        except (OSError, ValueError) as exc:
            if self._write_error is None:
                self._write_error = exc if isinstance(exc, OSError) else OSError(str(exc))
            return False
        return True

    def update(self, durable: bool = True, **fields: Any) -> None:
        with self.lock:
            if not self.done:
                self.record.update(fields)
                self.write(durable)

    def beat(self) -> None:
        """Refresh the heartbeat, by which other machines tell this run is alive."""
        with self.lock:
            if not self.done:
                self.record["heartbeat_time"] = time.time()
                self.write(durable=False)

    def add_result(self, name: str, path: str, saved_with: str) -> None:
        """List a saved result in the record: at once, unless the run has saved many and a
        result was listed in the last few milliseconds (a run saving in a tight loop, whose
        record would be rewritten whole for each), when the next tick does."""
        with self.lock:
            self.record["results"].append(
                {"name": name, "path": stored_path(path, self.store.root), "saved_with": saved_with}
            )
            self.result_names.add(name)
            now = time.monotonic()
            many = len(self.record["results"]) > _LISTED_AT_ONCE
            if many and now - self._listed_at < _COALESCE:
                self._pending = True
            else:  # atomic, not flushed: the result file is not either (the end is)
                self._listed_at = now
                self.write(durable=False)

    def tick(self) -> None:
        """Write the logged values queued so far, and the record if results were listed in
        it since it was written (called about once a second)."""
        if self.series is not None and not self.done:
            self.series.flush()
        if self._pending:
            with self.lock:
                if self._pending and not self.done:
                    self.write(durable=False)

    # Endings -----------------------------------------------------------------------------
    def finish(self, returned: Any) -> None:
        """Complete the record of a run that returned ``returned``; a dict is its metrics.

        A metric logged with ``tmt_log`` and not returned takes its series' last value.
        Nothing the function returned can keep the run from ending: what cannot be stored
        is stored as its repr, with a warning.
        """
        self._ending = lambda: self.finish(returned)
        problems: list[str] = []
        extra = returned if isinstance(returned, dict) else {}
        metrics = self._metrics(extra, problems)
        if problems:
            warnings.warn(
                f"tmt: run {self.id} ({self.record['name']}): " + "; ".join(problems), stacklevel=3
            )
        if self.stop_signal is not None:  # a signal came, and the program went on to return
            self._end("terminated", metrics=metrics, error=_signal_error(self.stop_signal))
        else:
            self._end("finished", metrics=metrics)

    def fail(self, exc: BaseException) -> None:
        """Complete the record of a run that raised ``exc``."""
        self._ending = lambda: self.fail(exc)
        metrics = self._metrics({}, [])
        if isinstance(exc, SystemExit) and exc.code in (0, None) and self.stop_signal is None:
            self._end("finished", metrics=metrics)
            return
        status = "failed"
        if isinstance(exc, KeyboardInterrupt) or type(exc).__name__ == "CancelledError":
            status = "interrupted"
        error = _exception_error(exc)
        if self.stop_signal is not None:
            status = "terminated"
            error["message"] = f"{error['message']} (after {self.stop_signal})"
        self._end(status, metrics=metrics, error=error)

    def terminate(self, signal_name: str, frame: FrameType | None = None) -> None:
        """Complete the record of a run whose process was told to stop by ``signal_name``;
        a run already ending (it returned, or raised) is ended as it was going to be."""
        import traceback

        if self.ended:
            return
        if self._ending is not None:
            self._ending()
            return
        self.stop_signal = signal_name
        error = _signal_error(signal_name)
        if frame is not None:
            error["traceback"] = "".join(traceback.format_stack(frame))
        self._end("terminated", metrics=self._metrics({}, []), error=error)

    def _close_series(self) -> str | None:
        if self.series is None:
            return None
        self.record["series"] = sorted(self.series.last)
        return self.series.close()

    def _close_output(self) -> list[str]:
        capturing, self.output = self.output, None
        if capturing is None:
            return []
        try:
            return capturing.close()
        finally:
            output.stop()

    def _metrics(self, returned: dict, problems: list[str]) -> dict:
        """The metrics to record: the series' last values, then what was returned."""
        metrics = {}
        if self.series is not None:
            self.series.flush()  # the last values are known once written
            metrics.update(to_json(dict(self.series.last), "metrics", problems))
        try:
            metrics.update(to_json(returned, "metrics", problems))
        except Exception as exc:  # a value whose conversion breaks in a way not foreseen
            problems.append(f"returned metrics not stored ({type(exc).__name__}: {exc})")
        return metrics

    def _end(self, status: str, **fields: Any) -> None:
        if self.ended or os.getpid() != self.pid:
            return  # ended already, or a forked child's copy of the run: never written here
        self.live = False
        lost = list(self.losses)
        for step in (*self.on_end, self._close_series, self._close_output):
            try:
                described = step()
            except Exception as exc:  # nothing here may cost the run its record
                described = f"a step of its ending ({type(exc).__name__}: {exc})"
            if isinstance(described, str):
                lost.append(described)
            elif described:
                lost += described
        now = round(time.time(), 6)
        with self.lock:
            if self.ended:
                return
            self.done = True
            self.record.update(fields)
            self.record.update(
                status=status,
                ended=iso_time(now),
                end_time=now,
                duration=round(now - self.record["start_time"], 6),
                heartbeat_time=now,
            )
            written = self.write()
            self.ended = True
        with _active_lock:
            _unended.pop(self.id, None)
            last = not _unended
        if last:  # the signal handlers are tmt's only while a run has not ended
            termination.uninstall()
        if self.unrecorded is not None:
            return  # said when it started: nothing of it could be kept
        if not written:
            error = self._write_error
            lost.append(f"its final record ({getattr(error, 'strerror', None) or error})")
        if lost:
            warnings.warn(
                f"tmt: run {self.id} ({self.record['name']}) could not keep everything: "
                f"lost {'; '.join(lost)}",
                stacklevel=4,
            )


def _exception_error(exc: BaseException) -> dict[str, str]:
    import traceback

    kind = type(exc)
    module = kind.__module__
    try:
        text = "".join(traceback.format_exception(kind, exc, exc.__traceback__))
    except Exception:  # a broken __str__ deep in a chain of exceptions
        text = f"{kind.__name__} (its traceback could not be formatted)"
    return {
        "type": kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}",
        "message": _safe_str(exc),
        "traceback": text,
    }


def _signal_error(signal_name: str) -> dict[str, str]:
    return {"type": signal_name, "message": f"terminated by {signal_name}", "traceback": ""}


class _NoSeries:
    """Takes logged values and keeps none (a deque of length 0 drops what is appended)."""

    def __init__(self) -> None:
        from collections import deque

        self.steps: dict[str, int] = {}
        self.queue: deque = deque(maxlen=0)

    def log(self, *args: Any) -> None:
        pass


class DisabledRun:
    """Stands in for a run while recording is disabled: saving and logging do nothing; what
    is printed still goes to the run it is nested in, if any."""

    live = True
    done = False
    disabled = True
    id = "disabled"
    output = None

    def __init__(self, parent: ActiveRun | None) -> None:
        self.pid = os.getpid()
        self.series = _NoSeries()
        self.parent_run = parent


#: The run of this context, whatever its state: the fast path of ``tmt_log``.
current_context_run = _current.get


def enter_disabled() -> object:
    return _current.set(DisabledRun(_current.get()))  # type: ignore[arg-type]


def leave_disabled(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]


def register(run: ActiveRun) -> None:
    """Count ``run`` among the runs of this process that have not ended, from the moment it
    exists: a SIGTERM while it starts (taking its snapshot, say) records it as terminated."""
    with _active_lock:
        _unended[run.id] = run
    termination.install(_on_stop_signal)


def activate(run: ActiveRun) -> None:
    """Make ``run`` the current run of this context, taking its results, values and output."""
    with _active_lock:
        _active[run.id] = run
        _unended[run.id] = run
        _fallback[0] = _innermost()
    _ensure_heartbeat()
    termination.install(_on_stop_signal)
    run._token = _current.set(run)


def deactivate(run: ActiveRun) -> None:
    """Undo :func:`activate`; doing it twice is harmless."""
    with _active_lock:
        _active.pop(run.id, None)
        _fallback[0] = _innermost()
    token, run._token = run._token, None
    if token is not None:
        try:
            _current.reset(token)
        except (ValueError, RuntimeError):  # made in another context (a task that moved)
            pass


def _innermost() -> ActiveRun | None:
    """The innermost active run of this process, if the active runs form one chain."""
    if not _active:
        return None
    parents = {id(r.parent_run) for r in _active.values()}
    leaves = [r for r in _active.values() if id(r) not in parents]
    if len(leaves) != 1:
        return None
    chain, run = 0, leaves[0]
    while run is not None:
        chain += 1
        run = run.parent_run
    return leaves[0] if chain >= len(_active) else None


def output_targets() -> list[output.RunOutput]:
    """The outputs a write of this thread is copied to: its run's and its enclosing runs'."""
    run = _current.get()
    if run is None:
        run = _fallback[0]
    targets = []
    while run is not None:
        if run.live and run.output is not None:
            targets.append(run.output)
        run = run.parent_run
    return targets


def current_run(caller: str) -> ActiveRun:
    """The run that code here belongs to; ``caller`` names the function asking, for errors."""
    run = _current.get()
    if run is None:
        run = _fallback[0]
        if run is None and _active:
            raise NotInRunError(
                f"{caller}() was called from a thread that belongs to none of the "
                f"{len(_active)} runs active in this process; call it from the recorded "
                "function's own thread"
            )
    if run is None:
        raise NotInRunError(
            f"{caller}() must be called inside a run: from a function decorated with "
            "@tmt_recorder(name=...), or from code it calls"
        )
    if run.done or (not run.live and run.pid == os.getpid()):
        raise NotInRunError(f"{caller}() was called after run {run.id} had finished")
    if run.pid != os.getpid():
        raise NotInRunError(
            f"{caller}() was called in a child process of run {run.id}; "
            "call it in the process that runs the recorded function"
        )
    return run


def enclosing_run() -> ActiveRun | None:
    """The run a new run starts inside of, if any: the current one of this context, or, in
    a process forked by a run, that run."""
    run = _current.get()
    if run is None or run.done or run.disabled:
        return None
    return run


def iso_time(timestamp: float) -> str:
    """``timestamp`` as ISO 8601 local time with its UTC offset, to the millisecond."""
    from datetime import datetime

    return datetime.fromtimestamp(timestamp).astimezone().isoformat(timespec="milliseconds")


def _on_stop_signal(signal_name: str, frame: FrameType | None, fatal: bool) -> None:
    """SIGTERM or SIGHUP came. If it will end the process, every run not yet ended is recorded
    now, innermost first: as terminated, or, if it was already ending, as it was going to end.
    If a handler of the program's takes the signal, the runs are marked, and recorded as
    terminated whenever they end."""
    with _active_lock:
        runs = list(_unended.values())
    runs.sort(key=_depth, reverse=True)
    for run in runs:
        if fatal:
            run.terminate(signal_name, frame)
        else:
            run.stop_signal = signal_name


def _depth(run: ActiveRun) -> int:
    depth = 0
    while run.parent_run is not None:
        depth, run = depth + 1, run.parent_run
    return depth


def _ensure_heartbeat() -> None:
    global _heartbeat
    if _heartbeat is not None and _heartbeat.is_alive():
        return
    with _active_lock:
        if _heartbeat is None or not _heartbeat.is_alive():
            _heartbeat = threading.Thread(target=_beat_forever, name="tmt-heartbeat", daemon=True)
            termination.start_quiet(_heartbeat)


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
            try:
                run.tick()
                if beat:
                    run.beat()
            except Exception:  # one run's trouble must not stop the others' heartbeats
                pass


def _forget_runs_in_child() -> None:
    """After a fork, the child's copies of the active runs are not its to write."""
    global _active_lock
    _active_lock = threading.RLock()  # another thread may have held it at the fork
    for run in list(_unended.values()):
        run.live = False
    _active.clear()
    _unended.clear()
    _fallback[0] = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_runs_in_child)


def _safe_str(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:
        return f"<{type(exc).__name__} whose str() failed>"
