"""The run record, ``run.json``: its schema version, its fields and their types.

A record is written by tmt, but it is a plain file: it may be edited by hand, truncated by a
tool, or crafted. Readers pass every record through :func:`check`, which drops a field that
does not have its documented type (so the run is still listed, with that field missing)
rather than let one bad value break every listing.
"""

from __future__ import annotations

import math
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

#: Version of the run record format; bumped on any incompatible change.
SCHEMA_VERSION = 1
#: Versions of the other files a run folder holds: ``annotations.json`` (tags and notes added
#: later) and the package list (``packages/<hash>.json``).
ANNOTATIONS_SCHEMA = 1
PACKAGES_SCHEMA = 1
#: Every status a run can be shown with (``crashed`` is never written: readers infer it).
STATUSES = ("running", "finished", "failed", "interrupted", "terminated", "crashed", "pruned")
#: Metrics and parameters nested deeper than this are not kept (nor read back).
MAX_DEPTH = 64
#: Times (seconds since the epoch) a record may hold: up to the year 2255, which every tool
#: that turns them into dates can show (pandas stops in 2262).
MAX_TIME = 9_000_000_000
TIMES = ("start_time", "end_time", "heartbeat_time")


_NONE = type(None)
_TEXT = (str,)
_TEXT_OR_NONE = (str, _NONE)
_NUMBER = (int, float)
_NUMBER_OR_NONE = (int, float, _NONE)

# Fields whose value must be of one of these exact types (what ``json`` gives: a bool is not
# an int there). Fields not listed anywhere are kept as they are.
SIMPLE: dict[str, tuple[type, ...]] = {
    "schema": (int,),
    "name": _TEXT,
    "description": _TEXT,
    "status": _TEXT,
    "started": _TEXT_OR_NONE,
    "ended": _TEXT_OR_NONE,
    "duration": _NUMBER_OR_NONE,
    "start_time": _NUMBER,
    "end_time": _NUMBER_OR_NONE,
    "heartbeat_time": _NUMBER_OR_NONE,
    "host": _TEXT,
    "pid": (int,),
    "process_start": _TEXT_OR_NONE,
    "boot_id": _TEXT_OR_NONE,
    "pid_namespace": _TEXT_OR_NONE,
    "cwd": _TEXT,
    "parent": _TEXT_OR_NONE,
    "rerun_of": _TEXT_OR_NONE,
    "snapshot": _TEXT_OR_NONE,
    "snapshot_left_out": (dict, _NONE),
    "tmt_version": _TEXT_OR_NONE,
    "note": _TEXT,
}
# Objects whose listed fields, where present, must be of these types.
OBJECTS: dict[str, dict[str, tuple[type, ...]]] = {
    "git": {
        "commit": _TEXT_OR_NONE,
        "branch": _TEXT_OR_NONE,
        "dirty": (bool,),
        "untracked": (int,),
        "diff": _TEXT_OR_NONE,
        "diff_truncated": (bool,),
    },
    "environment": {
        "python": _TEXT_OR_NONE,
        "implementation": _TEXT_OR_NONE,
        "executable": _TEXT_OR_NONE,
        "platform": _TEXT_OR_NONE,
        "user": _TEXT_OR_NONE,
        "packages": _TEXT_OR_NONE,
    },
    "error": {"type": _TEXT_OR_NONE, "message": _TEXT_OR_NONE, "traceback": _TEXT},
    "sweep": {"id": _TEXT, "trial": (int,)},
    "command": {
        "python": (list,),
        "script": _TEXT_OR_NONE,
        "module": _TEXT_OR_NONE,
        "args": (list,),
        "source": _TEXT_OR_NONE,
        "paths": (list,),
        "parser": (dict, _NONE),
    },
}
# Lists: items of the wrong type are dropped, the rest kept.
LISTS: dict[str, Any] = {
    "argv": _TEXT,
    "tags": _TEXT,
    "series": _TEXT,
    "results": {"name": _TEXT, "path": _TEXT, "saved_with": _TEXT},  # objects
}
#: Objects of JSON data, kept if nested at most ``MAX_DEPTH`` deep.
DATA = ("params", "metrics")


def check_tags(tags: Iterable[str] | str, caller: str) -> list[str]:
    """``tags`` as a run keeps them: a list of non-empty strings, each once, in the order
    given (one string is one tag). ``caller`` names the function asking, for errors."""
    from .errors import ArgumentError

    if isinstance(tags, str):
        tags = [tags]
    kept: list[str] = []
    for tag in tags:
        if not isinstance(tag, str) or not tag.strip():
            raise ArgumentError(f"{caller}: tags must be non-empty strings, got {tag!r}")
        if tag not in kept:
            kept.append(tag)
    return kept


def stored_path(path: str, root: str) -> str:
    """``path`` as records store it: relative to ``root`` (the store's ``tmt_dir``) when
    inside it, so that a store moved whole still finds its files; else absolute."""
    path = os.path.abspath(path)
    try:
        inside = os.path.commonpath([path, root]) == root
    except ValueError:  # different drives
        inside = False
    return os.path.relpath(path, root) if inside else path


def absolute_path(path: str, root: str) -> str:
    """The absolute path of a ``path`` as records store it (the inverse of :func:`stored_path`)."""
    return os.path.normpath(os.path.join(root, path))


def check(record: dict[str, Any]) -> list[str]:
    """Make ``record`` safe to read: drop, in place, each field (or list item) that does not
    have its documented type. Returns a description of what was dropped, if anything."""
    record.pop("legacy", None)  # only tmt 0.1.x databases hold legacy runs
    problems = []
    subfields: list[str] = []
    for key, value in record.items():
        allowed = SIMPLE.get(key)
        if allowed is not None:
            if type(value) not in allowed or (type(value) is float and not math.isfinite(value)):
                problems.append(key)
        elif key in OBJECTS and value is not None:
            if type(value) is not dict:
                problems.append(key)
            elif not _fits(value, OBJECTS[key]):  # keep the object, less its bad fields
                bad = [
                    k
                    for k, allowed in OBJECTS[key].items()
                    if k in value and type(value[k]) not in allowed
                ]
                subfields.extend(f"{key}.{k}" for k in bad)
                record[key] = {k: v for k, v in value.items() if k not in bad}
        elif key in DATA:
            if type(value) is not dict or _is_marker(value) or _too_deep(value):
                problems.append(key)
        elif key in LISTS and type(value) is not list:
            problems.append(key)
    for key in TIMES:
        value = record.get(key)
        if value is not None and key not in problems and not 0 <= value <= MAX_TIME:
            problems.append(key)
    duration = record.get("duration")
    if duration is not None and "duration" not in problems and abs(duration) > MAX_TIME:
        problems.append("duration")
    described = [f"{key!r} ({_describe(record.pop(key))})" for key in problems]
    described += [f"{name!r}" for name in subfields]
    for key, item_type in LISTS.items():
        items = record.get(key)
        if not items:
            continue
        if isinstance(item_type, dict):
            kept = [i for i in items if _fits(i, item_type, required=True)]
        elif set(map(type, items)) <= set(item_type):  # the usual case, checked in C
            continue
        else:
            kept = [i for i in items if type(i) in item_type]
        if len(kept) != len(items):
            described.append(f"{len(items) - len(kept)} of the items of {key!r}")
            record[key] = kept
    return described


def _fits(value: Any, fields: dict[str, tuple[type, ...]], required: bool = False) -> bool:
    """Whether ``value`` is an object whose listed fields have their types (and, if
    ``required``, are all there)."""
    if type(value) is not dict:
        return False
    for key, allowed in fields.items():
        if key in value:
            if type(value[key]) not in allowed:
                return False
        elif required and key != "saved_with":
            return False
    return True


def _is_marker(value: dict[str, Any]) -> bool:
    """Whether an object would read back as a value (a marker), not as an object."""
    return len(value) == 1 and next(iter(value)) in ("$float", "$decimal", "$repr")


def _too_deep(value: dict[str, Any]) -> bool:
    """Whether JSON data nests more than ``MAX_DEPTH`` levels of objects and lists."""
    level: list[Any] = [value]
    for _ in range(MAX_DEPTH):  # one level of containers at a time
        level = [
            child
            for item in level
            for child in (item.values() if type(item) is dict else item)
            if type(child) is dict or type(child) is list
        ]
        if not level:
            return False
    return True


def _describe(value: Any) -> str:
    if isinstance(value, dict) and value and _too_deep(value):
        return "nested too deeply"
    if isinstance(value, (dict, list)) and value:
        return f"a {type(value).__name__} of {len(value)}"
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"
