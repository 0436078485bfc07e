"""A run's output: what it prints to stdout and stderr, copied to files in the run's folder
while still shown live.

One tee per stream stands in for ``sys.stdout`` and ``sys.stderr`` while any run of the process
is active, and the original streams are put back when the last one ends (unless something
replaced the tee meanwhile, in which case it stays and only passes writes through). Each
write is copied to the runs its thread belongs to, as ``route`` says (the LIVE runs of the
thread: :func:`tmt.activerun.output_targets`), so runs in concurrent threads each keep their
own output. Copies are cut at ``MAX_OUTPUT`` characters; a copy that cannot be written (a full
disk) stops, and says what it lost, and never raises into the program. Output written to the
file descriptors directly (C extensions, subprocesses) is not captured.
"""

from __future__ import annotations

import os
import sys
import threading
import time

from .forking import hold_locks_across_fork

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any, TextIO

#: Each stream's copy is cut after this many characters (the live output never is).
MAX_OUTPUT = 10 * 1024 * 1024
STREAMS = ("stdout", "stderr")

_lock = threading.RLock()  # reentrant: a signal handler may end a run in the middle of a write
_users = 0  # active runs capturing
_tees: dict[str, _Tee] = {}
# Copies with a file open. A plain set, kept by hand: a weak one's callbacks run at random
# moments, and a Ctrl-C landing in one is swallowed by Python.
_open_copies: set[_Copy] = set()
_copying = threading.local()  # set while a tee passes a copied write down the chain


class _Copy:
    """One run's copy of one stream: a file made on the first write (a silent run leaves
    none), up to a cap."""

    def __init__(self, path: str, cap: int) -> None:
        self.path = path
        self.cap = cap
        self.left = cap
        self.file: Any = None
        self.open = True
        self.lock = threading.RLock()
        self.flushed = time.monotonic()
        self.lost = 0  # characters that could not be written
        self.error: OSError | None = None
        self.pid = os.getpid()

    def write(self, text: str) -> None:
        with self.lock:
            if not self.open or self.left <= 0:
                return
            try:
                if self.file is None:
                    self.file = open(self.path, "w", encoding="utf-8", errors="replace")  # noqa: SIM115
                    _open_copies.add(self)
                chunk = text if len(text) <= self.left else text[: self.left]
                self.file.write(chunk)
                self.left -= len(chunk)
                if self.left <= 0:
                    self.file.write(f"\n[tmt: output cut here, after {self.cap:,} characters]\n")
                now = time.monotonic()
                if now - self.flushed > 1.0:
                    self.file.flush()
                    self.flushed = now
            except (OSError, ValueError) as exc:
                self._give_up(exc, len(text))

    def _give_up(self, exc: Exception, pending: int) -> None:
        self.open = False
        self.lost += pending
        if isinstance(exc, OSError) and self.error is None:
            self.error = exc
        _open_copies.discard(self)
        file, self.file = self.file, None
        if file is not None:
            try:
                file.close()
            except (OSError, ValueError):
                pass  # what was buffered is lost too; the copy says so

    def flush(self) -> None:
        with self.lock:
            if self.file is not None:
                try:
                    self.file.flush()
                except (OSError, ValueError) as exc:
                    self._give_up(exc, 0)

    def close(self) -> None:
        with self.lock:
            if self.file is not None and self.pid == os.getpid():
                try:
                    self.file.close()
                except (OSError, ValueError) as exc:
                    self._give_up(exc, 0)
            self.file = None
            self.open = False
            _open_copies.discard(self)


class RunOutput:
    """The copies of one run's stdout and stderr, as ``<run dir>/stdout.txt`` and
    ``stderr.txt``."""

    def __init__(self, run_dir: str, cap: int | None = None) -> None:
        cap = MAX_OUTPUT if cap is None else cap
        self.copies = {name: _Copy(os.path.join(run_dir, f"{name}.txt"), cap) for name in STREAMS}

    def close(self) -> list[str]:
        """Finish the copies; what could not be written, if anything, described."""
        lost = []
        for name, copy in self.copies.items():
            copy.close()
            if copy.error is not None:
                reason = copy.error.strerror or copy.error
                lost.append(f"{name} after {copy.cap - copy.left:,} characters ({reason})")
        return lost


class _Tee:
    """Stands in for ``sys.stdout`` or ``sys.stderr``: writes to the copies of the writing
    thread's runs, then to the stream it replaced (in that order, so the copy holds all that
    was shown, even when a signal ends the process at once, or the terminal is gone)."""

    def __init__(self, stream: TextIO, name: str, route: Callable[[], Iterable[RunOutput]]) -> None:
        self._stream = stream
        self._name = name
        self._route = route

    def write(self, text: str) -> int:
        if not (_users and text and isinstance(text, str)) or getattr(_copying, "on", False):
            return self._stream.write(text)
        for output in self._route():
            output.copies[self._name].write(text)
        # A program that wrapped the stream itself (colorama does) may hold an older tee
        # inside its wrapper: that one must not copy the same text again.
        _copying.on = True
        try:
            return self._stream.write(text)
        finally:
            _copying.on = False

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding, buffer, ...
        return getattr(self._stream, name)


def start(route: Callable[[], Iterable[RunOutput]]) -> None:
    """A run begins capturing: install the tees if they are not in place."""
    global _users
    with _lock:
        _users += 1
        for name in STREAMS:
            current = getattr(sys, name, None)
            if current is None:  # no console (pythonw)
                continue
            if isinstance(current, _Tee):
                _tees[name] = current
                continue
            tee = _Tee(current, name, route)
            _tees[name] = tee
            setattr(sys, name, tee)


def stop() -> None:
    """A run stops capturing; with the last one, put the original streams back (where the tee
    is still what ``sys`` holds)."""
    global _users
    with _lock:
        _users = max(0, _users - 1)
        if _users:
            return
        for name, tee in _tees.items():
            try:
                tee.flush()
            except (OSError, ValueError):
                pass
            if getattr(sys, name, None) is tee:
                setattr(sys, name, tee._stream)
        _tees.clear()


def _flush(copy: _Copy) -> None:
    if copy.file is not None:
        try:
            copy.file.flush()
        except (OSError, ValueError):
            pass


def _disown(copy: _Copy) -> None:
    copy.open = False  # the parent's; its buffer, emptied at the fork, is all a child could flush


def _reset_in_child() -> None:
    global _lock, _users
    _lock = threading.RLock()
    _users = 0


# A forked child must never write the parent's copies: their buffers are emptied, and held
# empty, across the fork.
hold_locks_across_fork(lambda: list(_open_copies), before=_flush, in_child=_disown)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_in_child)
