"""The environment a run ran in: Python, platform, user, and the installed distributions.

The list of distributions is the same for every run of a process and of many processes, so it
is read once per process, in a background thread (``importlib.metadata`` takes tens of
milliseconds), and stored once per distinct list, as ``<tmt_dir>/envs/<hash>.json``.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading

from . import jsonfile
from .record import PACKAGES_SCHEMA

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

_lock = threading.Lock()
_packages: dict[str, str] | None = None
_text: str | None = None  # the package list as written, once listed
_described: dict[str, Any] = {}


def describe() -> dict[str, Any]:
    """Python, platform and user of this process (host, pid and cwd are in the record)."""
    if not _described:
        import platform

        _described.update(
            python=platform.python_version(),
            implementation=platform.python_implementation(),
            executable=sys.executable,
            platform=platform.platform(),
            user=_user(),
            packages=None,
        )
    return dict(_described)


def packages() -> dict[str, str]:
    """Installed distributions, name -> version, as ``importlib.metadata`` finds them."""
    global _packages
    with _lock:
        if _packages is None:
            import importlib.metadata as metadata

            found: dict[str, str] = {}
            for dist in metadata.distributions():
                try:
                    name = dist.metadata["Name"]
                except Exception:  # a broken distribution must not cost the run anything
                    continue
                if name and name not in found:
                    found[name] = dist.version
            _packages = dict(sorted(found.items(), key=lambda kv: kv[0].lower()))
        return _packages


def store_packages(tmt_dir: str) -> str | None:
    """Make sure the package list is under ``tmt_dir/envs`` (once per distinct list); its path
    there, or ``None`` if it cannot be written.

    An existing list is touched, so that a clean-up running meanwhile sees it as in use (it
    keeps lists touched recently, and puts back one touched while it was removing it).
    """
    text = _listing_text()
    name = hashlib.sha256(text.encode()).hexdigest()[:16]
    relative = f"envs/{name}.json"
    path = os.path.join(tmt_dir, "envs", f"{name}.json")
    try:
        try:
            os.utime(path, follow_symlinks=False)
        except FileNotFoundError:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            jsonfile.write_text_atomic(path, text, durable=False)
    except OSError:
        return None
    return relative


def _listing_text() -> str:
    global _text
    if _text is None:
        _text = jsonfile.dumps({"schema": PACKAGES_SCHEMA, "packages": packages()})
    return _text


class PackagesProbe:
    """Stores the package list, in a background thread the first time a process does; calls
    ``on_ready`` with its path (relative to ``tmt_dir``) once it is stored."""

    def __init__(self, tmt_dir: str, on_ready: Callable[[str], None] | None = None) -> None:
        self.path: str | None = None
        self.thread: threading.Thread | None = None
        self.on_ready = on_ready
        if _text is not None:  # listed already by this process: only a touch is left
            self.path = store_packages(tmt_dir)
        else:
            self.thread = threading.Thread(
                target=self._run, args=(tmt_dir,), name="tmt-packages", daemon=True
            )
            from .termination import start_quiet

            start_quiet(self.thread)

    def _run(self, tmt_dir: str) -> None:
        try:
            self.path = store_packages(tmt_dir)
            if self.path is not None and self.on_ready is not None:
                self.on_ready(self.path)
        except Exception:
            pass  # the package list is context: it never costs the run anything

    def result(self, timeout: float = 30.0) -> str | None:
        if self.thread is not None:
            self.thread.join(timeout)
        return self.path


def _new_lock_in_child() -> None:
    global _lock
    _lock = threading.Lock()  # the listing thread of the parent may have held it at the fork


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_lock_in_child)


def _user() -> str | None:
    try:
        import getpass

        return getpass.getuser()
    except Exception:  # no user name in a bare container
        return None
