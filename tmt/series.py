"""Step-wise metrics: ``tmt_log`` appends to a run's series, written to ``metrics.csv``.

Calls only queue the value (a few hundred nanoseconds): a background tick writes the queue to
``<run dir>/metrics.csv`` (see :mod:`tmt.seriesfile`) at least once a second, and the run's end
writes the rest, so a crash loses at most the last second.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections import deque

from .forking import hold_locks_across_fork
from .run import current_context_run, current_run
from .seriesfile import HEADER, SERIES_FILE, csv_field

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_now = time.time


def tmt_log(name: str | dict[str, Any], value: Any = None, step: int | None = None) -> None:
    """Append ``value`` to the series ``name`` of the current run, at ``step``.

    ``tmt_log({"loss": l, "acc": a}, step=s)`` logs several at once. ``step`` defaults to a
    counter per metric (0, 1, 2, ...). Values are numbers: Python's, numpy's, or anything with
    ``.item()`` (a 0-d tensor). The last value of each series becomes that metric's value in the
    run's metrics, unless the function returns one itself.
    """
    # The hot path of a training loop: kept to the essentials (see bench/log_metrics.py).
    run = current_context_run()
    if run is None or not run.live:
        run = current_run("tmt_log")
    if type(name) is str:
        series = run.series
        if type(value) is not float:
            value = _number(name, value)
        steps = series.steps
        if step is None:
            step = steps.get(name, 0)
        elif type(step) is not int:
            step = _step(name, step)
        steps[name] = step + 1
        series.queue.append((name, step, value, _now()))
        return
    now = time.time()
    if isinstance(name, dict):
        if value is not None:
            raise TypeError("tmt_log: pass either a name and a value, or a dict of values")
        for key, item in name.items():
            if type(key) is not str:
                raise TypeError(
                    f"tmt_log: metric names must be strings, got {type(key).__name__} {_short(key)}"
                )
            run.series.log(key, item, step, now)
    else:
        raise TypeError(f"tmt_log: name must be a string or a dict, got {type(name).__name__}")


class SeriesWriter:
    """The queue of a run's logged values, and the file they are written to."""

    def __init__(self, run_dir: str) -> None:
        self.path = os.path.join(run_dir, SERIES_FILE)
        self.queue: deque[tuple[str, int, float, float]] = deque()
        self.steps: dict[str, int] = {}
        self.last: dict[str, float] = {}  # the last value written, by name
        self.names: dict[str, str] = {}  # name -> its CSV field
        self.lock = threading.RLock()  # reentrant: a signal handler may end the run mid-flush
        self.file: Any = None
        self.lost = 0  # values that could not be written
        self.error: OSError | None = None
        self.pid = os.getpid()

    def log(self, name: str, value: Any, step: int | None, now: float) -> None:
        if type(value) is not float:
            value = _number(name, value)
        if step is None:
            step = self.steps.get(name, 0)
        elif type(step) is not int:
            step = _step(name, step)
        self.steps[name] = step + 1
        self.queue.append((name, step, value, now))

    def flush(self) -> None:
        """Write what is queued; safe from any thread. What cannot be written (a full disk)
        is counted as lost, never raised."""
        if not self.queue or self.pid != os.getpid():
            return
        with self.lock:
            lines = []
            popleft = self.queue.popleft
            last = self.last
            names = self.names
            stamp_ms, stamp = -1, ""
            for _ in range(len(self.queue)):
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
        """Write the rest and close the file; what could not be written, if anything."""
        self.flush()
        with self.lock:
            if self.pid == os.getpid():
                self._drop_file()
        if self.lost:
            return f"{self.lost:,} logged values ({self.error.strerror or self.error})"
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
# every write is flushed at once), so the child's copy holds nothing to write.
hold_locks_across_fork(lambda: list(_writers))


def _number(name: str, value: Any) -> float:
    """``value`` as a float: an int, a float, a numpy number or anything whose ``.item()`` is
    one. Strings, bytes and booleans are refused (a ``TypeError`` naming the metric), as is an
    int too large for a float."""
    kind = type(value)
    if kind is bool or isinstance(value, (str, bytes, bytearray, bool)):
        raise TypeError(
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
        raise TypeError(
            f"tmt_log: the value of {name!r} is an int too large for a float ({bits} bits)"
        ) from None
    except (TypeError, ValueError):
        raise TypeError(
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
    try:
        if hasattr(step, "item"):
            step = step.item()
        if isinstance(step, float) and step.is_integer():
            step = int(step)
        if isinstance(step, int) and not isinstance(step, bool):
            return step
    except (TypeError, ValueError):
        pass
    raise TypeError(f"tmt_log: the step of {name!r} must be a whole number, got {step!r}")
