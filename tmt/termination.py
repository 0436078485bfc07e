"""SIGTERM and SIGHUP: what SLURM, Kubernetes and a closed SSH session send to stop a program.

While a run is active, tmt handles both (installed from the main thread only, which is the
only thread Python lets set handlers), so that the runs are recorded as ``terminated``, with
the signal's name, their end time and their streams restored. Then the process goes on as it
would have without tmt: a handler the program had set is called; otherwise the signal's
default action ends the process, with the status a shell reports for that signal. A signal
the program ignores stays ignored.
"""

from __future__ import annotations

import os
import signal
import threading

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import FrameType
    from typing import Any, Callable

    #: Called as ``callback(signal name, frame, fatal)``; ``fatal`` if the process will end.
    Callback = Callable[[str, "FrameType | None", bool], None]

SIGNALS = ("SIGTERM", "SIGHUP")
# Signals sent to a process from outside: the kernel hands each to any one of its threads
# that does not block it. Python only runs handlers in the main thread, and one that lands on
# a background thread does not wake a main thread that is sleeping or waiting.
_FROM_OUTSIDE = {
    getattr(signal, name)
    for name in (
        "SIGINT",
        "SIGTERM",
        "SIGHUP",
        "SIGQUIT",
        "SIGUSR1",
        "SIGUSR2",
        "SIGALRM",
        "SIGCHLD",
        "SIGWINCH",
        "SIGTSTP",
        "SIGCONT",
        "SIGTTIN",
        "SIGTTOU",
        "SIGXCPU",
        "SIGVTALRM",
        "SIGPROF",
    )
    if hasattr(signal, name)
}

_previous: dict[int, Any] = {}  # signal number -> the handler tmt's replaced
_callback: list[Callback] = []


def hold_interrupts() -> Any:
    """Hold Ctrl-C (SIGINT) back while tmt writes what must be whole (a run's first record,
    its ending); :func:`release_interrupts` then lets it through. Returns a token for it
    (``None`` outside the main thread, where Python never raises KeyboardInterrupt)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    try:
        previous = signal.getsignal(signal.SIGINT)
        if previous in (signal.SIG_IGN, None):
            return None
        held: list[FrameType | None] = []
        signal.signal(signal.SIGINT, lambda signum, frame: held.append(frame))
    except (OSError, ValueError):
        return None
    return [previous, held]


def release_interrupts(token: Any) -> None:
    """Undo :func:`hold_interrupts` (once; again does nothing); each Ctrl-C that came
    meanwhile acts now, as it would have (with Python's default handler, the first raises
    ``KeyboardInterrupt`` here)."""
    if not token:  # None, or released already (releasing twice does nothing)
        return
    previous, held = token
    token.clear()
    signal.signal(signal.SIGINT, previous)
    for frame in held:
        if callable(previous):
            previous(signal.SIGINT, frame)
        elif previous == signal.SIG_DFL:
            os.kill(os.getpid(), signal.SIGINT)


def start_quiet(thread: threading.Thread) -> None:
    """Start one of tmt's own threads with the signals from outside blocked, so that they
    always reach the program's threads (a Ctrl-C that landed on tmt's heartbeat thread would
    not interrupt a main thread asleep in ``time.sleep``)."""
    if not hasattr(signal, "pthread_sigmask"):
        thread.start()
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _FROM_OUTSIDE)
    try:
        thread.start()  # the new thread inherits the mask
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def install(callback: Callback) -> None:
    """Handle the stop signals by calling ``callback``, then as before. Does nothing outside
    the main thread. Safe to interrupt at any point: what is installed is read back from the
    signal module, never assumed."""
    if threading.current_thread() is not threading.main_thread():
        return
    _callback[:] = [callback]
    for name in SIGNALS:
        signum = getattr(signal, name, None)
        if signum is None:
            continue
        try:
            current = signal.getsignal(signum)
            if current is _handle:
                continue  # installed already
            if current in (signal.SIG_IGN, None):  # ignored, or a handler set outside Python
                _previous.pop(signum, None)
                continue
            _previous[signum] = current  # first: the handler must always know what it replaced
            signal.signal(signum, _handle)
        except (OSError, ValueError):
            continue


def uninstall() -> None:
    """Put back the handlers :func:`install` replaced (from the main thread; elsewhere they
    stay until the next run of the main thread ends, harmlessly)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in list(_previous):
        try:
            if signal.getsignal(signum) is _handle:
                signal.signal(signum, _previous[signum])
        except (OSError, ValueError, KeyError):
            pass
        _previous.pop(signum, None)


def _handle(signum: int, frame: FrameType | None) -> None:
    previous = _previous.get(signum, signal.SIG_DFL)
    fatal = not callable(previous)
    name = signal.Signals(signum).name
    for callback in _callback:
        try:
            callback(name, frame, fatal)
        except Exception:
            pass  # recording the ending must never change how the process ends
    if callable(previous):
        previous(signum, frame)
        return
    uninstall()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)  # ends the process as the signal would have
