"""JSON files that are never seen half-written: write a temporary file, fsync it, rename it."""

from __future__ import annotations

import json
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def dumps(data: Any) -> str:
    """The text tmt writes for ``data``: indented, UTF-8, strict JSON (no NaN)."""
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def dumps_compact(data: Any) -> str:
    """Compact JSON for caches, which are read by programs only."""
    return json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def write_atomic(path: str, data: Any, durable: bool = True) -> None:
    """Replace ``path`` with ``data`` as JSON, so that readers see the old file or the new one.

    With ``durable``, the file and the rename are flushed to disk before returning, so a power
    cut cannot leave an empty file behind. The temporary file lives beside ``path`` (a rename
    is atomic only within one filesystem) and is hidden and removed on any failure.
    """
    write_text_atomic(path, dumps(data), durable)


def write_text_atomic(path: str, text: str, durable: bool = True) -> None:
    """Replace ``path`` with ``text`` atomically; see :func:`write_atomic`."""
    directory, name = os.path.split(path)
    tmp = os.path.join(directory, f".{name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        try:
            view = memoryview(text.encode("utf-8"))
            while view:
                view = view[os.write(fd, view) :]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if durable:
        _fsync_directory(directory)


def read(path: str) -> Any:
    """The JSON data in ``path``; raises ``OSError`` or ``ValueError`` as ``json`` does."""
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _fsync_directory(directory: str) -> None:
    try:
        fd = os.open(directory or ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some filesystems refuse fsync on a directory; the data is already safe
        pass
    finally:
        os.close(fd)
