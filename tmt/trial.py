"""A sweep's trial, seen from the script it runs: which trial this process is, and reporting
the sweep's metric so that the sweep's pruner can stop the run early.

``tmt sweep`` starts each trial's command with :data:`SWEEP_ENV` set and two pipes open. The run
the script records carries ``sweep: {id, trial}`` and sends its id, then each value it logs of
the sweep's metric, down the first pipe; the sweep reports them to Optuna and, when the pruner
says the trial will not catch up, writes to the second. The next ``tmt_log`` of the metric
then raises :class:`tmt.EarlyStopped`, and the run ends ``pruned``. The script never imports
Optuna (a tenth of a second a trial saved), and never waits for the sweep: a value the pipe
cannot take at once is not reported, and a sweep gone away stops nothing.
"""

from __future__ import annotations

import os

from .errors import EarlyStopped
from .sweepconfig import SWEEP_ENV

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# SWEEP_ENV holds ``{"id", "trial", "metric", "report", "stop"}`` (the last two: the pipes' fds).


def sweep_request() -> dict[str, Any] | None:
    """What ``tmt sweep`` told this process, or ``None`` if it did not start it. Raises
    ``ValueError`` for a value of :data:`SWEEP_ENV` that tmt did not write."""
    from .command import read_word

    return read_word(
        SWEEP_ENV,
        "tmt sweep",
        lambda r: (
            isinstance(r.get("id"), str)
            and all(type(r.get(k)) is int for k in ("trial", "report", "stop"))
            and isinstance(r.get("metric"), (str, type(None)))
        ),
    )


def quiet_when_stopped() -> None:
    """A trial's script that ends because the pruner stopped it says so in one line, not
    with a traceback; any other exception is shown as before."""
    import sys

    shown = sys.excepthook
    if getattr(shown, "tmt_quiet", False):
        return  # once a process

    def hook(kind: type[BaseException], exc: BaseException, tb: Any) -> None:
        if isinstance(exc, EarlyStopped):
            sys.stderr.write(f"tmt: {exc}\n")
        else:
            shown(kind, exc, tb)

    hook.tmt_quiet = True  # type: ignore[attr-defined]
    sys.excepthook = hook


class Reporter:
    """The script's end of a trial's pipes: :meth:`started` sends the run's id, and each call
    sends a value of the metric, then raises :class:`EarlyStopped` if the sweep said stop."""

    def __init__(self, request: dict[str, Any]) -> None:
        self.metric = request.get("metric")
        self.report, self.stop = request["report"], request["stop"]
        self.stopped = False
        for fd in (self.report, self.stop):
            try:
                os.set_blocking(fd, False)
                # Not left to processes the script starts: one that outlived it would keep
                # the sweep waiting for the end of the pipe.
                os.set_inheritable(fd, False)
            except OSError:  # not open here (a process the script started): nothing to say
                pass

    def started(self, run_id: str) -> None:
        self._send(f"run {run_id}\n")

    def __call__(self, step: int, value: float) -> None:
        if not self.stopped:
            self._send(f"{step} {value!r}\n")
            try:
                said = os.read(self.stop, 16)
            except OSError:  # nothing said (EAGAIN), or no pipe
                return
            self.stopped = said.startswith(b"p")
        if self.stopped:
            raise EarlyStopped(
                f"stopped early at step {step} by the sweep's pruner, watching {self.metric}",
                step=step,
            )

    def _send(self, line: str) -> None:
        try:
            os.write(self.report, line.encode())
        except OSError:  # full (the sweep is behind: this value goes unreported) or closed
            pass
