"""A run's output: what it prints to stdout and stderr, copied to files in the run's folder
while still shown live, from any thread, up to a size cap. C extensions and subprocesses that
write to the file descriptors directly are not captured."""

from __future__ import annotations

import os
import sys
import threading
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO

#: Each stream's copy is cut after this many characters (the live output never is).
MAX_OUTPUT = 10 * 1024 * 1024
STREAMS = ("stdout", "stderr")


class _Tee:
    """A text stream that writes to the stream it replaces and to a file (created on the first
    write, so a silent run leaves none); once closed, it only passes writes through (it may
    outlive its run inside another run's tee)."""

    def __init__(self, stream: TextIO, path: str, cap: int) -> None:
        self._stream = stream
        self._path = path
        self._file: Any = None
        self._open = True
        self._left = cap
        self._cap = cap
        self._lock = threading.Lock()
        self._flushed = time.monotonic()

    def write(self, text: str) -> int:
        written = self._stream.write(text)
        if self._open and self._left > 0 and text:
            with self._lock:
                if self._open and self._left > 0:
                    self._copy(text)
        return written

    def _copy(self, text: str) -> None:
        if self._file is None:
            try:
                self._file = open(self._path, "w", encoding="utf-8", errors="replace")  # noqa: SIM115
            except OSError:
                self._open = False
                return
        chunk = text if len(text) <= self._left else text[: self._left]
        self._file.write(chunk)
        self._left -= len(chunk)
        if self._left <= 0:
            self._file.write(f"\n[tmt: output cut here, after {self._cap:,} characters]\n")
        now = time.monotonic()
        if now - self._flushed > 1.0:
            self._file.flush()
            self._flushed = now

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._stream.flush()
        with self._lock:
            if self._file is not None:
                self._file.flush()

    def close_copy(self) -> None:
        with self._lock:
            self._open = False
            if self._file is not None:
                self._file.close()
                self._file = None

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding, buffer, ...
        return getattr(self._stream, name)


class OutputCapture:
    """Copies stdout and stderr to ``<run dir>/stdout.txt`` and ``stderr.txt`` until stopped."""

    def __init__(self, run_dir: str, cap: int | None = None) -> None:
        cap = MAX_OUTPUT if cap is None else cap
        self.tees: dict[str, _Tee] = {}
        for name in STREAMS:
            stream = getattr(sys, name)
            if stream is None:  # no console (pythonw)
                continue
            tee = _Tee(stream, os.path.join(run_dir, f"{name}.txt"), cap)
            self.tees[name] = tee
            setattr(sys, name, tee)

    def stop(self) -> None:
        """Stop copying; put the original streams back if nobody replaced them since."""
        for name, tee in self.tees.items():
            try:
                tee.flush()
            except (OSError, ValueError):
                pass
            if getattr(sys, name) is tee:
                setattr(sys, name, tee._stream)
            tee.close_copy()
