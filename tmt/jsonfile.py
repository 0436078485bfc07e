"""The store's files, written so they are never seen half-written and read so that no file can
hang or exhaust a reader.

Writes go to a temporary file beside the target, are flushed to disk and renamed over it.
Reads open regular files only, never through a symbolic link, a FIFO or a device (a FIFO named
``run.json`` would block forever, a link to ``/dev/zero`` would fill memory), and refuse files
larger than a cap.
"""

from __future__ import annotations

import errno
import json
import os
import stat

from .liveness import temp_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: The largest JSON file tmt reads, in bytes (a run record of this size is not one tmt wrote).
MAX_JSON = 256 * 1024 * 1024
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


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
    is atomic only within one filesystem), is named after the process writing it (so the debris
    of a killed writer can be collected) and is removed on any failure.
    """
    write_text_atomic(path, dumps(data), durable)


def write_text_atomic(path: str, text: str, durable: bool = True) -> None:
    """Replace ``path`` with ``text`` atomically; see :func:`write_atomic`."""
    directory = os.path.dirname(path)
    tmp = os.path.join(directory, temp_name())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
    try:
        try:
            view = memoryview(_encode(text))
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


def open_regular(path: str, follow_symlinks: bool = False) -> int:
    """A file descriptor for reading the regular file ``path``; ``OSError`` if it is anything
    else (a FIFO, a device, a folder, a symbolic link unless ``follow_symlinks``). Opening
    never blocks."""
    return _open_regular(path, follow_symlinks)[0]


def _open_regular(path: str, follow_symlinks: bool) -> tuple[int, os.stat_result]:
    try:
        fd = os.open(path, _READ_FLAGS | (0 if follow_symlinks else _NOFOLLOW))
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow_symlinks:
            raise OSError(errno.ELOOP, "a symbolic link, not a file tmt wrote", path) from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, f"not a regular file ({_kind(info.st_mode)})", path)
    except BaseException:
        os.close(fd)
        raise
    return fd, info


def read_bytes(path: str, limit: int, follow_symlinks: bool = False) -> bytes:
    """The content of the regular file ``path``; ``OSError`` if it is anything else (see
    :func:`open_regular`) or larger than ``limit`` bytes."""
    fd, info = _open_regular(path, follow_symlinks)
    try:
        if info.st_size > limit:
            raise OSError(errno.EFBIG, f"larger than {limit:,} bytes", path)
        chunks = []
        left = limit + 1
        # One read usually does: asked for a byte more than the file holds, a read that gives
        # less, having reached its size, has reached its end (no second read to learn that).
        want = min(left, info.st_size + 1)
        while left > 0:
            chunk = os.read(fd, want)
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
            if len(chunk) < want and limit + 1 - left >= info.st_size:
                break
            want = min(left, 1 << 20)
        if left <= 0:  # it grew past the cap while being read
            raise OSError(errno.EFBIG, f"larger than {limit:,} bytes", path)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_text(path: str, limit: int, follow_symlinks: bool = False) -> str:
    """:func:`read_bytes` decoded as UTF-8, undecodable bytes replaced (never an error)."""
    return read_bytes(path, limit, follow_symlinks).decode("utf-8", "replace")


def read(path: str, limit: int = MAX_JSON, follow_symlinks: bool = False) -> Any:
    """The JSON data in the regular file ``path``; raises ``OSError`` (missing, not a regular
    file, too large) or ``ValueError`` (not UTF-8, not JSON, nested too deeply)."""
    data = read_bytes(path, limit, follow_symlinks)
    try:
        return json.loads(data.decode("utf-8"))
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def _encode(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (a file name that is not UTF-8) can only be inside a JSON string,
        # where its \udcxx escape is valid JSON that reads back as the same text.
        return text.encode("utf-8", "backslashreplace")


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a folder"),
    ):
        if test(mode):
            return name
    return "not a file"


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
