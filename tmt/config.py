"""Where tmt keeps things: the ``config.json`` of tmt 0.1.x, with its defaults and its checks."""

from __future__ import annotations

import json
import os
import re
import warnings

from .errors import ArgumentTypeError, ConfigError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: Where tmt looks for a configuration file when none is named, relative to the working folder.
CONFIG_PATH = os.path.join(".tmt", "config.json")

# Every key, its default, and whether it is joined onto ``tmt_dir`` (the 0.1.x rules).
_DEFAULTS: dict[str, tuple[str | None, bool]] = {
    "tmt_dir": (".tmt", False),
    "snapshot_source": (".", False),
    "snapshot_target": ("snapshots", True),
    "last_snapshot_link": (os.path.join("snapshots", "last"), True),
    "gitignore_path": (None, False),
    "json_db_path": ("tmt_db.json", True),
    "results_path": ("results", True),
}
# Settings that are sizes in bytes, with their defaults.
_SIZES = {"snapshot_max_file_size": 5 * 1024 * 1024}
_KEYS = (*_DEFAULTS, *_SIZES)
_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
}
_MAX_CONFIG = 1024 * 1024
_SIZE = re.compile(r"\s*(\d+(?:\.\d*)?)\s*([kmg]i?b|b)?\s*", re.IGNORECASE)


class Configs:
    """The paths tmt uses, all absolute, resolved from a configuration file or the defaults.

    Relative paths are taken from the working folder at the time the configuration is read,
    as in tmt 0.1.x; ``snapshot_target``, ``last_snapshot_link``, ``json_db_path`` and
    ``results_path`` are joined onto ``tmt_dir``. ``gitignore_path`` names one extra file of
    ignore patterns for code snapshots (the ``.gitignore`` files in the source are always read).
    ``snapshot_max_file_size`` is the size (bytes, or a string such as ``"20MB"``) above which
    files are left out of snapshots. ``source`` is the file the configuration came from, or
    ``None`` for the defaults.
    """

    __slots__ = (*_KEYS, "source")

    tmt_dir: str
    snapshot_source: str
    snapshot_target: str
    last_snapshot_link: str
    gitignore_path: str | None
    json_db_path: str
    results_path: str
    snapshot_max_file_size: int

    def __init__(
        self, source: str | None = None, *, base: str | None = None, **values: Any
    ) -> None:
        unknown = set(values) - set(_KEYS)
        if unknown:
            raise ArgumentTypeError(f"Configs() got unknown keys: {', '.join(sorted(unknown))}")
        where = source or "configuration"
        for key, value in values.items():
            if value is None:
                raise ConfigError(f"{where}: key {key!r} is null; leave it out to use its default")
            if isinstance(value, str) and "\0" in value:
                raise ConfigError(f"{where}: key {key!r} holds a NUL character")
        for key, default in _SIZES.items():
            value = values.pop(key, None)
            setattr(self, key, default if value is None else _size(value, key, where))
        for key, value in values.items():
            if not isinstance(value, str):
                raise ConfigError(
                    f"{where}: key {key!r} must be a string path, "
                    f"got {type(value).__name__} {value!r:.60}"
                )
            if key != "gitignore_path" and not value.strip():
                raise ConfigError(f"{where}: key {key!r} must not be empty")
        self.source = source
        cwd = os.path.abspath(base) if base else os.getcwd()
        tmt_dir = _absolute(values.get("tmt_dir") or str(_DEFAULTS["tmt_dir"][0]), cwd)
        for key, (fallback, under_tmt_dir) in _DEFAULTS.items():
            path: str | None = values.get(key, fallback)
            if path is None:
                setattr(self, key, None)
            elif key == "tmt_dir":
                setattr(self, key, tmt_dir)
            else:
                setattr(self, key, _absolute(path, tmt_dir if under_tmt_dir else cwd))
        _check_locations(self, cwd, where)

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], source: str | None = None, base: str | None = None
    ) -> Configs:
        """A configuration from a mapping of keys; unknown keys are ignored with a warning.
        Relative paths are taken from ``base`` (default: the working folder)."""
        where = source or "configuration"
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: expected a JSON object, got {type(data).__name__}")
        known = {}
        for key, value in data.items():
            if key in _KEYS:
                known[key] = value
            else:
                warnings.warn(
                    f"{where}: unknown key {key!r} ignored (known keys: {', '.join(_KEYS)})",
                    stacklevel=3,
                )
        return cls(source=source, base=base, **known)

    @classmethod
    def from_config(cls, path: str = CONFIG_PATH, base: str | None = None) -> Configs:
        """Read the configuration file at ``path``; ``//`` and ``/* */`` comments are allowed.
        Relative paths in it are taken from ``base`` (default: the working folder)."""
        path = os.fspath(path)
        data = read_commented_json(path, "configuration file")
        return cls.from_dict(data, source=path, base=base)

    @classmethod
    def from_default_path_or_default_config(cls) -> Configs:
        """``.tmt/config.json`` of the working folder if there is one, else the defaults."""
        if os.path.isfile(CONFIG_PATH):
            return cls.from_config(CONFIG_PATH)
        return cls.default_config()

    @classmethod
    def default_config(cls) -> Configs:
        """The defaults: everything under ``.tmt`` in the working folder."""
        return cls()

    @classmethod
    def load(cls, path: str | None = None) -> Configs:
        """The configuration at ``path`` if given, else the default file or the defaults."""
        if path is None:
            return cls.from_default_path_or_default_config()
        return cls.from_config(path)

    @classmethod
    def find(cls, start: str | None = None) -> Configs:
        """The configuration of the project ``start`` (default: the working folder) is in,
        for reading its runs: the nearest folder at or above ``start`` that holds a
        ``.tmt`` folder, as git finds ``.git`` (without crossing into another file
        system); its ``.tmt/config.json`` if there is one, relative paths taken from that
        folder. Where no folder up holds one, the defaults of ``start``."""
        start = os.path.abspath(start or os.getcwd())
        project = find_project(start)
        if project is None:
            return cls(base=start)
        config = os.path.join(project, CONFIG_PATH)
        if os.path.isfile(config):
            return cls.from_config(config, base=project)
        return cls(base=project)

    def to_dict(self) -> dict[str, Any]:
        """The settings by key: paths resolved (absolute), sizes in bytes."""
        return {key: getattr(self, key) for key in _KEYS}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Configs) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items())
        return f"Configs({fields})"


def read_commented_json(path: str, what: str) -> Any:
    """The JSON in the file ``path``, ``//`` and ``/* */`` comments allowed; a file that is
    not there, cannot be read or is not JSON is a one-line ``ConfigError`` naming ``what``."""
    from .jsonfile import read_bytes

    try:
        text = read_bytes(path, _MAX_CONFIG, follow_symlinks=True).decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: {what} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read {what}: {exc}") from None
    try:
        return json.loads(strip_comments(text))
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise ConfigError(f"{path}: not a {what} (JSON nested too deeply)") from None


def open_path(path: str) -> Configs:
    """The configuration for reading the store at ``path``: a store's own folder (``.tmt``,
    or any folder holding ``runs/`` or a 0.1.x ``tmt_db.json``, read with the default layout
    whatever configuration it holds), or a project folder, or a folder inside one (see
    :meth:`Configs.find`). Raises ``ConfigError`` if there is none."""
    path = os.path.abspath(os.path.expanduser(os.fspath(path)))
    if not os.path.isdir(path):
        raise ConfigError(f"{path}: {'not a folder' if os.path.exists(path) else 'no such folder'}")
    store = os.path.basename(path) == ".tmt" or any(
        os.path.exists(os.path.join(path, name)) for name in ("runs", "tmt_db.json")
    )
    if store:
        # Read as it lies: a configuration inside it names where its project kept the store,
        # which for a copy (an archive, a cluster's store synced here) is somewhere else.
        return Configs(base=os.path.dirname(path), tmt_dir=path)
    if find_project(path) is None:
        raise ConfigError(f"{path}: no tmt store there, nor in a folder above it")
    return Configs.find(path)


def find_project(start: str) -> str | None:
    """The nearest folder at or above ``start`` that holds a ``.tmt`` folder, or ``None``;
    the search stops where the file system changes (a mount point), as git's does."""
    folder = os.path.abspath(start)
    try:
        device = os.stat(folder).st_dev
    except OSError:
        return None
    while True:
        if os.path.isdir(os.path.join(folder, ".tmt")):
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        try:
            if os.stat(parent).st_dev != device:
                return None
        except OSError:
            return None
        folder = parent


def strip_comments(text: str) -> str:
    """``text`` with its ``//`` and ``/* */`` comments blanked out, outside strings.

    Comments become spaces (newlines are kept), so JSON errors still point at the right
    line and column of the original file.
    """
    out = list(text)
    i, n = 0, len(text)
    in_string = False
    while i < n:
        c = text[i]
        if in_string:
            if c == "\\":
                i += 2
                continue
            if c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end == -1 else end
            out[i:end] = " " * (end - i)
            i = end
            continue
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end == -1 else end + 2
            out[i:end] = [ch if ch == "\n" else " " for ch in text[i:end]]
            i = end
            continue
        i += 1
    return "".join(out)


def _size(value: Any, key: str, where: str) -> int:
    """A size in bytes from a whole number or a string such as ``"20MB"`` or ``"512 KiB"``."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    match = _SIZE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ConfigError(
            f"{where}: key {key!r} must be a size in bytes (a whole number, or a string such "
            f"as '20MB' or '512KiB'), got {value!r}"
        )
    try:
        return int(float(match.group(1)) * _UNITS[(match.group(2) or "").lower()])
    except (OverflowError, ValueError):
        raise ConfigError(f"{where}: key {key!r} is too large a size: {value!r:.40}") from None


_checked: set[tuple] = set()  # configurations found sound by this process (each run reads one)


def _check_locations(config: Configs, cwd: str, where: str) -> None:
    """Refuse locations that would put what tmt writes, and cleans up, among the user's files.

    tmt's clean-up deletes what it does not recognise in the folders it owns, so none of them
    may be, or contain, the working folder, the snapshot source or the configuration file, nor
    share a folder with another of them.
    """
    key = (cwd, config.source, *(getattr(config, k) for k in _DEFAULTS))
    if key in _checked:
        return
    _find_overlaps(config, cwd, where)
    if len(_checked) < 1000:
        _checked.add(key)


def _find_overlaps(config: Configs, cwd: str, where: str) -> None:
    real = os.path.realpath
    protected = [
        ("the working folder", real(cwd)),
        ("the snapshot source", real(config.snapshot_source)),
    ]
    if config.source is not None:
        protected.append(("the configuration file", real(config.source)))
    db_folder = real(os.path.dirname(config.json_db_path))  # index.json and runs/ go there
    owned = [
        ("results_path", real(config.results_path)),
        ("snapshot_target", real(config.snapshot_target)),
        ("json_db_path", os.path.join(db_folder, "runs")),
        # the link itself, not what it points to
        (
            "last_snapshot_link",
            os.path.join(
                real(os.path.dirname(config.last_snapshot_link)),
                os.path.basename(config.last_snapshot_link),
            ),
        ),
    ]
    # Folders that hold the configuration file by default, but must not hold the project.
    holders = [("tmt_dir", real(config.tmt_dir)), ("json_db_path", db_folder)]
    for key, location in holders + owned:
        for what, path in protected:
            if (key, location) in holders and what == "the configuration file":
                continue  # .tmt/config.json lives in the store
            if _within(path, location):
                verb = "is" if path == location else "contains"
                raise ConfigError(
                    f"{where}: key {key!r} ({location}) {verb} {what}; tmt cleans up the "
                    "folders it writes to, so they must be its own"
                )
    store = real(config.tmt_dir)
    folders = [
        ("results_path", real(config.results_path)),
        ("snapshot_target", real(config.snapshot_target)),
        ("json_db_path", os.path.join(db_folder, "runs")),
        ("tmt_dir", real(os.path.join(store, "envs"))),
    ]
    for i, (key, location) in enumerate(folders):
        if _within(store, location):
            raise ConfigError(f"{where}: key {key!r} ({location}) contains the whole store")
        for other_key, other in folders[:i]:
            if _within(other, location) or _within(location, other):
                raise ConfigError(
                    f"{where}: keys {other_key!r} and {key!r} put two of tmt's folders in one "
                    f"place ({location} and {other})"
                )


def _within(path: str, folder: str) -> bool:
    """Whether ``path`` is ``folder`` or inside it."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _absolute(path: str, base: str) -> str:
    return os.path.normpath(os.path.join(base, os.path.expanduser(path)))
