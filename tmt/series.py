"""Step-wise metrics: ``tmt_log`` appends to a run's series, written to ``metrics.csv``.

A call only queues the value (a few hundred nanoseconds) with :meth:`SeriesWriter.log`, the one
way values enter a run's series, and only while the run is LIVE (see :mod:`tmt.activerun`). The
heartbeat writes the queue to ``<run dir>/metrics.csv`` (see :mod:`tmt.seriesfile`) at least once
a second, and the run's ending writes the rest, so a crash loses at most the last second. A
forked child never writes its parent's file.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections import deque

from .activerun import State, checked_run, unchecked_run
from .errors import ArgumentTypeError
from .forking import hold_locks_across_fork
from .seriesfile import HEADER, SERIES_FILE, csv_field

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, TextIO

_now = time.time
_LIVE = State.LIVE  # a global of this module: tmt_log's hot path compares with it


def tmt_log(name: str | dict[str, Any], value: Any = None, step: int | None = None) -> None:
    """Append ``value`` to the series ``name`` of the current run, at ``step``.

    ``tmt_log({"loss": l, "acc": a}, step=s)`` logs several at once. ``step`` defaults to a
    counter per metric (0, 1, 2, ...). Values are numbers: Python's, numpy's, or anything with
    ``.item()`` (a 0-d tensor). The last value of each series becomes that metric's value in the
    run's metrics, unless the function returns one itself.

    Raises ``NotInRunError`` outside a LIVE run, ``ArgumentTypeError`` (a ``TypeError``) for a
    value that is not a number, a step that is not a whole number or a name that is not a string.
    """
    # The hot path of a training loop: kept to the essentials (see bench/log_metrics.py).
    run = unchecked_run()
    if run is None or run.state is not _LIVE:
        run = checked_run("tmt_log")
    if type(name) is str:  # SeriesWriter.log, inlined: a call would cost a fifth more
        series = run.series
        if type(value) is not float:
            value = _number(name, value)
        steps = series.steps
        if step is None:
            step = steps.get(name, 0)
        elif type(step) is not int:
            step = _step(name, step)
        steps[name] = step + 1
        series.append((name, step, value, _now()))
        return
    if not isinstance(name, dict):
        raise ArgumentTypeError(
            f"tmt_log: name must be a string or a dict, got {type(name).__name__}"
        )
    if value is not None:
        raise ArgumentTypeError("tmt_log: pass either a name and a value, or a dict of values")
    now = _now()
    for key, item in name.items():
        if type(key) is not str:
            raise ArgumentTypeError(
                f"tmt_log: metric names must be strings, got {type(key).__name__} {_short(key)}"
            )
        run.series.log(key, item, step, now)


class SeriesWriter:
    """The logged values of one run, and the file they are written to.

    Three calls, from three places: :meth:`log` queues a value (``tmt_log``, in the run's
    threads), :meth:`flush` writes the queue (the heartbeat, about once a second) and
    :meth:`close` writes the rest and closes the file (the run's ending). ``tmt_log``'s hot
    path does what :meth:`log` does inline, with the two members kept for it: ``steps`` and
    ``append``. A writer made with no folder checks and counts values as any other, and keeps
    none (a disabled run's).
    """

    def __init__(self, run_dir: str | None) -> None:
        self.path = os.path.join(run_dir, SERIES_FILE) if run_dir is not None else ""
        # A deque of length 0 drops what is appended to it.
        self._queue: deque[tuple[str, int, float, float]] = deque(
            maxlen=None if run_dir is not None else 0
        )
        #: Queues one ``(name, step, value, time)`` whose value and step are checked already.
        self.append: Callable[[tuple[str, int, float, float]], None] = self._queue.append
        self.steps: dict[str, int] = {}  #: the next step of each series, by name
        self.last: dict[str, float] = {}  # the last value written, by name
        self.names: dict[str, str] = {}  # name -> its CSV field
        self.lock = threading.RLock()  # reentrant: a signal handler may end the run mid-flush
        self.file: TextIO | None = None
        self.closed = False
        self.lost = 0  # values that could not be written
        self.error: OSError | None = None
        self.pid = os.getpid()

    def watch(self, name: str, callback: Callable[[int, float], None]) -> None:
        """Call ``callback(step, value)`` once each value of the series ``name`` is queued:
        a sweep's trial reports its metric so (and the callback may raise to stop the run).
        Writers not watched keep ``append`` as the queue's own, the fast path."""
        queued = self._queue.append

        def append(item: tuple[str, int, float, float]) -> None:
            queued(item)
            if item[0] == name:
                callback(item[1], item[2])

        self.append = append

    def log(self, name: str, value: Any, step: int | None, when: float) -> None:
        """Queue ``value`` of the series ``name`` at ``step`` (by default the step after its
        last), logged at ``when``: ``tmt_log``'s hot path. A value that is not a number, or a
        step that is not a whole number, is refused here (``ArgumentTypeError``, naming the
        metric), never later in the background."""
        if type(value) is not float:
            value = _number(name, value)
        steps = self.steps
        if step is None:
            step = steps.get(name, 0)
        elif type(step) is not int:
            step = _step(name, step)
        steps[name] = step + 1
        self.append((name, step, value, when))

    def flush(self) -> None:
        """Write what is queued; safe from any thread. What cannot be written (a full disk)
        is counted as lost, never raised. Nothing once closed, nor in a forked child."""
        if not self._queue or self.pid != os.getpid():
            return
        with self.lock:
            if self.closed:
                return
            lines = []
            popleft = self._queue.popleft
            last = self.last
            names = self.names
            stamp_ms, stamp = -1, ""
            for _ in range(len(self._queue)):
                name, step, value, when = popleft()
                last[name] = value
                field = names.get(name)
                if field is None:
                    field = names[name] = csv_field(name)
                ms = int(when * 1000)
                if ms != stamp_ms:  # times are kept to the millisecond: one string per ms
                    stamp_ms, stamp = ms, f"{ms // 1000}.{ms % 1000:03d}"
                lines.append(f"{field},{step},{value!r},{stamp}\n")
            if self.error is not None:  # the file stopped taking values
                self.lost += len(lines)
                return
            values = len(lines)
            try:
                if self.file is None:
                    new = not os.path.exists(self.path)
                    self.file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
                    _writers.add(self)
                    if new:
                        lines.insert(0, HEADER)
                self.file.write("".join(lines))
                self.file.flush()
            except (OSError, ValueError) as exc:
                self.lost += values
                self.error = exc if isinstance(exc, OSError) else OSError(str(exc))
                self._drop_file()

    def close(self) -> str | None:
        """Write the rest and close the file; what could not be written, if anything. Again,
        it writes nothing more and says the same."""
        self.flush()
        with self.lock:
            self.closed = True
            if self.pid == os.getpid():
                self._drop_file()
        error = self.error
        if self.lost and error is not None:  # values are lost once the file failed, only
            return f"{self.lost:,} logged values ({error.strerror or error})"
        return None

    def _drop_file(self) -> None:
        _writers.discard(self)
        file, self.file = self.file, None
        if file is not None:
            try:
                file.close()
            except (OSError, ValueError):
                pass


# Writers with a file open (a plain set, kept by hand, for the reason output.py gives).
_writers: set[SeriesWriter] = set()
# A forked child must never write the parent's file: no write is under way at the fork (and
# every write is flushed at once), so the child's copy of the file holds nothing buffered; and
# the values queued at the fork are written by the parent alone (flush checks the process).
hold_locks_across_fork(lambda: list(_writers))


def _number(name: str, value: Any) -> float:
    """``value`` as a float: an int, a float, a numpy number or anything whose ``.item()`` is
    one. Strings, bytes and booleans are refused (an ``ArgumentTypeError`` naming the metric),
    as is an int too large for a float."""
    kind = type(value)
    if kind is bool or isinstance(value, (str, bytes, bytearray, bool)):
        raise ArgumentTypeError(
            f"tmt_log: the value of {name!r} must be a number, got {kind.__name__} {_short(value)}"
        )
    try:
        if hasattr(value, "item") and not isinstance(value, (int, float)):
            item = value.item()  # numpy scalars, 0-d arrays and tensors
            if isinstance(item, (str, bytes, bool)):
                raise TypeError
            value = item
        number = float(value)
    except OverflowError:
        bits = value.bit_length() if isinstance(value, int) else "too many"
        raise ArgumentTypeError(
            f"tmt_log: the value of {name!r} is an int too large for a float ({bits} bits)"
        ) from None
    except (TypeError, ValueError):
        raise ArgumentTypeError(
            f"tmt_log: the value of {name!r} must be a number, got {kind.__name__} {_short(value)}"
        ) from None
    return number if not math.isnan(number) else math.nan


def _short(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:  # a broken __repr__, or an int with too many digits to print
        return "(unprintable)"
    return text if len(text) <= 60 else text[:59] + "…"


def _step(name: str, step: Any) -> int:
    """``step`` as an int: an int, a whole float, or anything whose ``.item()`` is one."""
    try:
        if hasattr(step, "item"):
            step = step.item()
        if isinstance(step, float) and step.is_integer():
            step = int(step)
        if isinstance(step, int) and not isinstance(step, bool):
            return step
    except (TypeError, ValueError):
        pass
    raise ArgumentTypeError(f"tmt_log: the step of {name!r} must be a whole number, got {step!r}")
