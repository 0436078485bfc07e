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

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_lock = threading.Lock()
_packages: dict[str, str] | None = None
_written: dict[str, str] = {}  # tmt_dir -> the packages file already there
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
    """Write the package list under ``tmt_dir/envs`` (once per distinct list); its path there."""
    listing = packages()
    cached = _written.get(tmt_dir)
    if cached is not None:
        return cached
    text = jsonfile.dumps({"schema": 1, "packages": listing})
    name = hashlib.sha256(text.encode()).hexdigest()[:16]
    relative = f"envs/{name}.json"
    path = os.path.join(tmt_dir, "envs", f"{name}.json")
    try:
        if not os.path.exists(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            jsonfile.write_text_atomic(path, text, durable=False)
    except OSError:
        return None
    _written[tmt_dir] = relative
    return relative


class PackagesProbe:
    """Stores the package list in a background thread; :meth:`result` waits for its path."""

    def __init__(self, tmt_dir: str) -> None:
        self.path: str | None = _written.get(tmt_dir)
        self.thread: threading.Thread | None = None
        if self.path is None:
            self.thread = threading.Thread(
                target=self._run, args=(tmt_dir,), name="tmt-packages", daemon=True
            )
            self.thread.start()

    def _run(self, tmt_dir: str) -> None:
        try:
            self.path = store_packages(tmt_dir)
        except Exception:
            self.path = None

    def result(self, timeout: float = 30.0) -> str | None:
        if self.thread is not None:
            self.thread.join(timeout)
        return self.path


def _user() -> str | None:
    try:
        import getpass

        return getpass.getuser()
    except Exception:  # no user name in a bare container
        return None
