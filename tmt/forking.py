"""What a fork must not copy half-done: objects another thread may be writing at that moment.

A process forked while another of its threads holds a lock gets a copy of that lock held
forever, and of the buffer that thread was filling. Objects registered here have their lock
held across every fork (so no write is under way), and in the child a new lock; the child
never writes what belongs to its parent.
"""

from __future__ import annotations

import os
import threading

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any


def hold_locks_across_fork(
    objects: Callable[[], Iterable[Any]],
    before: Callable[[Any], None] | None = None,
    in_child: Callable[[Any], None] | None = None,
) -> None:
    """Across every fork, hold the ``lock`` of each of ``objects()`` (calling ``before`` on
    each once it is held); in the child, give each a new lock and call ``in_child`` on it."""
    if not hasattr(os, "register_at_fork"):
        return
    held: list[Any] = []

    def acquire() -> None:
        held[:] = list(objects())
        for item in held:
            item.lock.acquire()
            if before is not None:
                before(item)

    def release() -> None:
        for item in held:
            item.lock.release()
        held.clear()

    def renew() -> None:
        for item in held:
            item.lock = threading.RLock()
            if in_child is not None:
                in_child(item)
        held.clear()

    os.register_at_fork(before=acquire, after_in_parent=release, after_in_child=renew)
