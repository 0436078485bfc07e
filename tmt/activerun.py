"""The runs in progress in this process: each one's lifecycle, its record kept current on disk,
and how code finds the run it belongs to.

The lifecycle
-------------
This is the contract of the module: a run is in one :class:`State` at a time and moves only as
``_TRANSITIONS`` allows (:meth:`ActiveRun._move` refuses any other move, returning False,
never raising)::

    STARTING -> LIVE      activate: its record is written and its snapshot taken
    STARTING -> ENDING    an exception (a Ctrl-C) or a stop signal while it starts
    LIVE     -> ENDING    end_run (the function returned or raised), a stop signal, or the
                          process's exit while it is not ended
    ENDING   -> ENDING    an ending called again (a second Ctrl-C, a signal) completes it
    ENDING   -> ENDED     its final record is written
    STARTING, LIVE or ENDING -> FORKED: in a child forked meanwhile, the child's copy

    state      takes results, logged values, output    takes record writes   moved on by
    ---------  --------------------------------------  --------------------  --------------------
    STARTING   no: code cannot find it yet              yes                   recorder, signal
    LIVE       yes                                      yes                   recorder, signal
    ENDING     no: tmt_save and tmt_log say it ended    yes                   its ending
    ENDED      no                                       no (*)                nothing: final
    FORKED     no: tmt_save and tmt_log say so          never                 nothing: final

(*) Except a result whose ``tmt_save`` began while the run was LIVE: it is listed whenever it
completes (its file exists; left unlisted, a clean-up would delete it).

Who moves a run:

- **the recorder** (:mod:`tmt.recorder`): :func:`register` counts a new STARTING run among
  those a stop signal must complete (its first record says ``running``; its snapshot is being
  taken); :func:`activate` makes it LIVE and current; ``end_run`` calls :func:`deactivate`, then
  :meth:`ActiveRun.finish` (it returned) or :meth:`ActiveRun.fail` (it raised): ENDING, then
  ENDED once the final record is written;
- **the signal handler** (:mod:`tmt.termination`): a SIGTERM or SIGHUP that will end the process
  calls :meth:`ActiveRun.terminate` on every run not ended, innermost first: a run STARTING or
  LIVE ends as ``terminated``, a run ENDING is ended as it was going to end. One the program
  handles itself only marks the runs, which end as ``terminated`` whenever they end;
- **the heartbeat** (a thread of tmt's) never moves a run: about once a second it writes the
  values logged and the results listed since the last write, and every ``HEARTBEAT_INTERVAL``
  refreshes ``heartbeat_time``, in the states that take record writes;
- **the fork hook**: in a child forked by this process, every run not ENDED becomes FORKED. A
  run started in the child still nests in it (by id), but the child never writes it;
- **the process's exit** (an ``atexit`` hook): a run still not ended (a daemon thread's, or one
  a burst of Ctrl-C kept from its ending) is ended by :meth:`ActiveRun.cut_off` as
  ``interrupted``, innermost first, rather than left to be read as crashed.

Ending is idempotent and never raises. Whatever ends a run (:meth:`~ActiveRun.finish`,
:meth:`~ActiveRun.fail`, :meth:`~ActiveRun.terminate`) moves it to ENDING, then runs the steps
of :meth:`ActiveRun._run_ending_steps`, in the order written there, then writes the final record.
Called again while it is ENDING (a signal handler, a second Ctrl-C), the ending under way is
completed; once ENDED, nothing happens. What could not be kept (a full disk) is said in one
warning.

Finding the run
---------------
Code inside a recorded function finds its run through a context variable (per thread and per
asyncio task), so nested and concurrent runs each get their own: :func:`unchecked_run` reads it
as it is (``tmt_log``'s hot path, which checks the state itself), :func:`checked_run` returns
the LIVE run or raises :class:`~tmt.errors.NotInRunError` saying why there is none (for
``tmt_save`` and ``tmt_log``), :func:`run_to_nest_in` is the run a new run nests in. Threads the
function starts, which do not inherit context variables, fall back to the process's innermost
active run when the active runs form one chain (a run and the runs nested in it).

While recording is disabled, the current run is a :class:`DisabledRun`: always LIVE, it checks
logged values like a recorded run and keeps none; what is printed goes to the run it is nested
in, if any.
"""

from __future__ import annotations

import enum
import os
import threading
import time
import warnings
from contextvars import ContextVar

from . import output, termination
from .errors import EarlyStopped, NotInRunError
from .jsonvalue import to_json
from .liveness import HEARTBEAT_INTERVAL
from .record import stored_path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from contextvars import Token
    from types import FrameType
    from typing import Any, Callable, Union

    from .output import RunOutput
    from .series import SeriesWriter
    from .store import Store

    #: What a step of an ending returns: what it lost, described, if anything.
    Lost = Union[str, list[str], None]


class State(enum.Enum):
    """Where a run is in its life; what each state takes is the module's contract."""

    STARTING = "starting"  # exists, its record written; not yet found by code
    LIVE = "live"  # takes results, logged values and output
    ENDING = "ending"  # returned, raised or signalled: its ending steps run
    ENDED = "ended"  # its final record is written
    FORKED = "forked"  # a forked child's copy of a run of its parent: never written


#: The moves a run can make (the table of the module's docstring); ENDING to ENDING is an
#: ending called again, which completes the one under way.
_TRANSITIONS: dict[State, frozenset[State]] = {
    State.STARTING: frozenset({State.LIVE, State.ENDING, State.FORKED}),
    State.LIVE: frozenset({State.ENDING, State.FORKED}),
    State.ENDING: frozenset({State.ENDING, State.ENDED, State.FORKED}),
    State.ENDED: frozenset(),
    State.FORKED: frozenset(),
}
#: The states whose run takes record writes; results, logged values and output: LIVE only.
_WRITABLE = frozenset({State.STARTING, State.LIVE, State.ENDING})

_current: ContextVar[Run | None] = ContextVar("tmt_current_run", default=None)
_active: dict[str, ActiveRun] = {}  # made current and not yet ended by end_run: the heartbeat's
_unended: dict[str, ActiveRun] = {}  # not ENDED: what a fatal signal ends, a fork makes FORKED
# Reentrant: a signal handler runs in the main thread, perhaps while it holds the lock. A
# forked child gets a new one: another thread may have held it at the fork.
_active_lock = threading.RLock()
_fallback: list[ActiveRun | None] = [None]  # the innermost active run, if they form one chain
_heartbeat: threading.Thread | None = None
# A result saved within this many seconds of the last one is listed by the next tick instead:
# saving in a tight loop then costs one record write a tick, not one a save.
_COALESCE = 0.05
_LISTED_AT_ONCE = 100  # results a run lists at once, however fast it saves them


class Run:
    """A run as the code inside it sees it: what ``tmt_log``, ``tmt_save`` and the output tee
    use. Either an :class:`ActiveRun` (recorded) or a :class:`DisabledRun` (recording is off)."""

    id: str
    pid: int  # the process running it; in any other, it is never written
    state: State
    series: SeriesWriter  # takes the values of tmt_log, while LIVE
    output: RunOutput | None  # takes a copy of what its threads print, while LIVE
    parent_run: Run | None  # the run of this process it is nested in, if any


class ActiveRun(Run):
    """One recorded run of this process: its record, written through atomically at each
    change, and its state (see the module's docstring)."""

    parent_run: ActiveRun | None

    def __init__(
        self,
        store: Store,
        record: dict[str, Any],
        series: SeriesWriter,
        parent: ActiveRun | None = None,
    ) -> None:
        self.store = store
        self.record = record
        self.id = record["id"]
        self.pid = os.getpid()
        self.parent_run = parent
        self.state = State.STARTING
        self.series = series
        self.output = None  # set by the recorder once the tee is started
        self.lock = threading.RLock()
        # The first step of the ending: facts gathered in the background that the final
        # record must name (the recorder adds the wait for the list of installed packages).
        self.gathering: list[Callable[[], Lost]] = []
        self.reserved: set[str] = set()  # result paths being written by tmt_save
        self.result_names: set[str] = set()  # the names of the results saved
        self.suffixes: dict[tuple[str, str], int] = {}  # the next _N of a name saved again
        self.stop_signal: str | None = None  # SIGTERM or SIGHUP, if one came
        self.losses: list[str] = []  # what could not be kept, said in one warning at the end
        self.unrecorded: OSError | None = None  # why the store could not take this run at all
        self._redo: Callable[[], None] | None = None  # completes the ending under way
        self._token: Token[Run | None] | None = None  # makes it current; undone by deactivate
        self._write_error: OSError | None = None
        self._pending = False  # the record has changes not written yet (see add_result)
        self._listed_at = 0.0  # when a result was last listed at once (monotonic)

    @property
    def results_dir(self) -> str:
        return self.store.results_dir(self.id)

    def _move(self, to: State) -> bool:
        """Move to ``to`` if ``_TRANSITIONS`` allows it from the state now: the one place a
        run changes state. False, and no move, if not."""
        if to not in _TRANSITIONS[self.state]:
            return False
        self.state = to
        return True

    # Writes ------------------------------------------------------------------------------
    def write(self, durable: bool = True) -> bool:
        """Write the record as it is now; a failure is kept for the run's final report and
        never raised. True if it was written. Never from a forked child: the record is its
        parent's."""
        if self.unrecorded is not None or self.state is State.FORKED or self.pid != os.getpid():
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
        """Set ``fields`` of the record and write it, if the run still takes record writes."""
        with self.lock:
            if self.state in _WRITABLE:
                self.record.update(fields)
                self.write(durable)

    def beat(self) -> None:
        """Refresh the heartbeat, by which other machines tell this run is alive."""
        with self.lock:
            if self.state in _WRITABLE:
                self.record["heartbeat_time"] = time.time()
                self.write(durable=False)

    def add_result(self, name: str, path: str, saved_with: str) -> None:
        """List a saved result in the record: at once, unless the run has saved many and a
        result was listed in the last few milliseconds (a run saving in a tight loop, whose
        record would be rewritten whole for each), when the next tick, or the final record,
        does."""
        with self.lock:
            self.record["results"].append(
                {"name": name, "path": stored_path(path, self.store.root), "saved_with": saved_with}
            )
            self.result_names.add(name)
            now = time.monotonic()
            many = len(self.record["results"]) > _LISTED_AT_ONCE
            if many and now - self._listed_at < _COALESCE and self.state in _WRITABLE:
                self._pending = True
            else:  # atomic, not flushed: the result file is not either (the end is)
                self._listed_at = now
                self.write(durable=False)

    def tick(self) -> None:
        """Write the logged values queued so far, and the record if results were listed in
        it since it was written (the heartbeat, about once a second)."""
        if self.state not in _WRITABLE:
            return
        self.series.flush()
        if self._pending:
            with self.lock:
                if self._pending and self.state in _WRITABLE:
                    self.write(durable=False)

    # Endings -----------------------------------------------------------------------------
    def finish(self, returned: Any) -> None:
        """End a run that returned ``returned``; a dict is its metrics.

        A metric logged with ``tmt_log`` and not returned takes its series' last value.
        Nothing the function returned can keep the run from ending: what cannot be stored
        is stored as its repr, with a warning.
        """
        if not self._begin_ending(lambda: self.finish(returned)):
            return
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
        """End a run that raised ``exc``."""
        if not self._begin_ending(lambda: self.fail(exc)):
            return
        metrics = self._metrics({}, [])
        if isinstance(exc, SystemExit) and exc.code in (0, None) and self.stop_signal is None:
            self._end("finished", metrics=metrics)
            return
        status = "failed"
        if isinstance(exc, KeyboardInterrupt) or type(exc).__name__ == "CancelledError":
            status = "interrupted"
        elif isinstance(exc, EarlyStopped):
            status = "pruned"
        error = _exception_error(exc)
        if self.stop_signal is not None:
            status = "terminated"
            error["message"] = f"{error['message']} (after {self.stop_signal})"
        self._end(status, metrics=metrics, error=error)

    def terminate(self, signal_name: str, frame: FrameType | None = None) -> None:
        """End a run whose process was told to stop by ``signal_name``; a run already ending
        (it returned, or raised) is ended as it was going to be."""
        import traceback

        if self.state is State.ENDING and self._redo is not None:
            self._redo()
            return
        if State.ENDING not in _TRANSITIONS[self.state]:
            return  # ENDED, or FORKED
        self.stop_signal = signal_name
        error = _signal_error(signal_name)
        if frame is not None:
            error["traceback"] = "".join(traceback.format_stack(frame))

        def end() -> None:
            self._end("terminated", metrics=self._metrics({}, []), error=error)

        if self._begin_ending(end):
            end()

    def cut_off(self) -> None:
        """End a run its process left behind as it exited: one whose function never came
        back to record its end (a daemon thread's, or one a burst of Ctrl-C kept from it).
        Recorded as interrupted, rather than left to be read as crashed."""
        if self.state is State.ENDING and self._redo is not None:
            self._redo()
            return
        if State.ENDING not in _TRANSITIONS[self.state]:
            return  # ENDED, or FORKED
        error = {
            "type": "ProcessExit",
            "message": "the process ended before the run did",
            "traceback": "",
        }

        def end() -> None:
            self._end("interrupted", metrics=self._metrics({}, []), error=error)

        if self._begin_ending(end):
            end()

    def _begin_ending(self, redo: Callable[[], None]) -> bool:
        """Move to ENDING: from STARTING or LIVE, or again from ENDING (then this ending
        completes the one under way). ``redo`` is what a stop signal calls to complete it.
        False if the run is not this process's to end: ENDED, or a forked child's copy."""
        if self.pid != os.getpid():
            return False
        self._redo = redo
        return self._move(State.ENDING)

    def _end(self, status: str, **fields: Any) -> None:
        """Run the ending steps, then write the final record with ``status`` and ``fields``:
        ENDING to ENDED. Once, however often it is called, and only in the run's process."""
        if self.state is not State.ENDING or self.pid != os.getpid():
            return
        lost = self._run_ending_steps()
        now = round(time.time(), 6)
        with self.lock:
            if self.state is not State.ENDING:
                return  # ended meanwhile: by a signal handler, in this thread
            self.record.update(fields)
            self.record.update(
                status=status,
                ended=iso_time(now),
                end_time=now,
                duration=round(now - self.record["start_time"], 6),
                heartbeat_time=now,
            )
            written = self.write()
            self._move(State.ENDED)
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

    def _run_ending_steps(self) -> list[str]:
        """Run the steps of an ending, in this order, the only place it is set:

        1. ``gathering``: the facts gathered in the background that the record must name are
           waited for (the list of installed packages, for up to 10 s);
        2. the series: the values still queued are written and the file closed, and the
           record lists the series' names;
        3. the output: the copies are closed, and the streams given back once no run
           captures them (a run ENDING takes no output already).

        Each step completes the record or says what it lost, and none needs another: a step
        that raises costs only what it would have kept. Returns what was lost, described;
        the caller then writes the final record.
        """
        lost = list(self.losses)
        for step in (*self.gathering, self._close_series, self._close_output):
            try:
                described = step()
            except Exception as exc:  # nothing here may cost the run its record
                described = f"a step of its ending ({type(exc).__name__}: {exc})"
            if isinstance(described, str):
                lost.append(described)
            elif described:
                lost += described
        return lost

    def _close_series(self) -> str | None:
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

    def _metrics(self, returned: dict[str, Any], problems: list[str]) -> dict[str, Any]:
        """The metrics to record: the series' last values, then what was returned."""
        metrics: dict[str, Any] = {}
        self.series.flush()  # the last values are known once written
        metrics.update(to_json(dict(self.series.last), "metrics", problems))
        try:
            metrics.update(to_json(returned, "metrics", problems))
        except Exception as exc:  # a value whose conversion breaks in a way not foreseen
            problems.append(f"returned metrics not stored ({type(exc).__name__}: {exc})")
        return metrics


class DisabledRun(Run):
    """Stands in for a run while recording is disabled: always LIVE, it takes logged values
    (checked as a recorded run checks them) into a series that keeps none, saves nothing, and
    leaves what is printed to the run it is nested in, if any."""

    def __init__(self, parent: Run | None, series: SeriesWriter) -> None:
        self.id = "disabled"
        self.pid = os.getpid()
        self.state = State.LIVE
        self.series = series
        self.output = None
        self.parent_run = parent


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


# Finding the run -------------------------------------------------------------------------

#: The run of this context in whatever state, or None: the fast, unchecked lookup of
#: ``tmt_log``'s hot path, which checks that the run is LIVE itself and otherwise asks
#: :func:`checked_run` (for the fallback of other threads, and the reason there is none).
unchecked_run = _current.get


def checked_run(caller: str) -> Run:
    """The LIVE run that code here belongs to, for ``tmt_save`` and ``tmt_log``; ``caller``
    names the function asking. Raises :class:`~tmt.errors.NotInRunError` saying why there is
    none: outside any run, in a thread of none of the active runs, after the run ended, in a
    child process of the run."""
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
    ours = run.pid == os.getpid()
    if run.state is State.LIVE and ours:
        return run
    if run.state is not State.ENDED and (run.state is State.FORKED or not ours):
        raise NotInRunError(
            f"{caller}() was called in a child process of run {run.id}; "
            "call it in the process that runs the recorded function"
        )
    raise NotInRunError(f"{caller}() was called after run {run.id} had finished")


def run_to_nest_in() -> ActiveRun | None:
    """The run a new run starts inside of, if any: the recorded run of this context, or, in
    a process forked by a run, that run. Not one that has ended, nor a disabled one."""
    run = _current.get()
    if isinstance(run, ActiveRun) and run.state is not State.ENDED:
        return run
    return None


def output_targets() -> list[RunOutput]:
    """The outputs a write of this thread is copied to: its run's and its enclosing runs'."""
    run = _current.get()
    if run is None:
        run = _fallback[0]
    targets = []
    while run is not None:
        if run.state is State.LIVE and run.output is not None:
            targets.append(run.output)
        run = run.parent_run
    return targets


# The recorder's moves ----------------------------------------------------------------------


def register(run: ActiveRun) -> None:
    """Count the STARTING ``run`` among the runs of this process not ended, from the moment
    it exists: a SIGTERM while it starts (taking its snapshot, say) ends it as terminated,
    and the process's exit ends it if nothing else did (see :meth:`ActiveRun.cut_off`)."""
    with _active_lock:
        _unended[run.id] = run
        if not _exit_hook:
            import atexit

            atexit.register(_end_runs_left_at_exit)
            _exit_hook.append(True)
    termination.install(_on_stop_signal)


_exit_hook: list[bool] = []


def _end_runs_left_at_exit() -> None:
    """At the interpreter's exit, end what this process left unended, innermost first."""
    with _active_lock:
        runs = [run for run in _unended.values() if run.pid == os.getpid()]
    for run in sorted(runs, key=_depth, reverse=True):
        try:
            run.cut_off()
        except Exception:  # the exit goes on whatever one run's ending does
            pass


def activate(run: ActiveRun) -> None:
    """Make ``run`` LIVE and the current run of this context: it takes results, values and
    output. A run that is not STARTING (ended by a signal meanwhile) stays as it is."""
    if not run._move(State.LIVE):
        return
    with _active_lock:
        _active[run.id] = run
        _unended[run.id] = run
        _fallback[0] = _innermost()
    _ensure_heartbeat()
    termination.install(_on_stop_signal)
    run._token = _current.set(run)


def deactivate(run: ActiveRun) -> None:
    """Make ``run`` current no more, before it ends; doing it twice is harmless."""
    with _active_lock:
        _active.pop(run.id, None)
        _fallback[0] = _innermost()
    token, run._token = run._token, None
    if token is not None:
        try:
            _current.reset(token)
        except (ValueError, RuntimeError):  # made in another context (a task that moved)
            pass


def enter_disabled(series: SeriesWriter) -> Token[Run | None]:
    """Make a :class:`DisabledRun` logging into ``series`` (which keeps nothing) the current
    run of this context; returns the token for :func:`leave_disabled`."""
    return _current.set(DisabledRun(_current.get(), series))


def leave_disabled(token: Token[Run | None]) -> None:
    _current.reset(token)


def _innermost() -> ActiveRun | None:
    """The innermost active run of this process, if the active runs form one chain."""
    if not _active:
        return None
    parents = {id(r.parent_run) for r in _active.values()}
    leaves = [r for r in _active.values() if id(r) not in parents]
    if len(leaves) != 1:
        return None
    chain = 0
    run: ActiveRun | None = leaves[0]
    while run is not None:
        chain += 1
        run = run.parent_run
    return leaves[0] if chain >= len(_active) else None


def iso_time(timestamp: float) -> str:
    """``timestamp`` as ISO 8601 local time with its UTC offset, to the millisecond."""
    from datetime import datetime

    return datetime.fromtimestamp(timestamp).astimezone().isoformat(timespec="milliseconds")


# The signal handler's, the heartbeat's and the fork hook's ------------------------------------


def _on_stop_signal(signal_name: str, frame: FrameType | None, fatal: bool) -> None:
    """SIGTERM or SIGHUP came. If it will end the process, every run not yet ended is ended
    now, innermost first: as terminated, or, if it was already ending, as it was going to end.
    If a handler of the program's takes the signal, the runs are marked, and end as
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
    parent = run.parent_run
    while parent is not None:
        depth, parent = depth + 1, parent.parent_run
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
    """After a fork, the child's copies of the runs not ended are FORKED: not its to write."""
    global _active_lock
    _active_lock = threading.RLock()
    for run in list(_unended.values()):
        run._move(State.FORKED)
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
