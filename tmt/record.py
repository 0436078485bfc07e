"""The run record, ``run.json``: its schema version, its fields and their types.

A record is written by tmt, but it is a plain file: it may be edited by hand, truncated by a
tool, or crafted. Readers pass every record through :func:`check`, which drops a field that
does not have its documented type (so the run is still listed, with that field missing)
rather than let one bad value break every listing.
"""

from __future__ import annotations

import math

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

#: Version of the run record format; bumped on any incompatible change.
SCHEMA_VERSION = 1
#: Every status a run can be shown with (``crashed`` is never written: readers infer it).
STATUSES = ("running", "finished", "failed", "interrupted", "terminated", "crashed", "pruned")
#: Metrics and parameters nested deeper than this are not kept (nor read back).
MAX_DEPTH = 64


def _string(value: Any) -> bool:
    return isinstance(value, str)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _boolean(value: Any) -> bool:
    return isinstance(value, bool)


def _optional(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda value: value is None or check(value)


def _object(fields: dict[str, Callable[[Any], bool]] | None = None) -> Callable[[Any], bool]:
    """An object whose listed fields, where present, have their type."""

    def check(value: Any) -> bool:
        if not isinstance(value, dict):
            return False
        return fields is None or all(
            key not in value or test(value[key]) for key, test in fields.items()
        )

    return check


def _shallow(value: Any) -> bool:
    """An object of JSON data nested at most ``MAX_DEPTH`` deep."""
    if not isinstance(value, dict):
        return False
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return False
        children = item.values() if type(item) is dict else item
        stack.extend((c, depth + 1) for c in children if type(c) in (dict, list))
    return True


_optional_string = _optional(_string)
_RESULT = _object({"name": _string, "path": _string, "saved_with": _string})

# Each field, and the test its value must pass. Fields not listed are kept as they are.
FIELDS: dict[str, Callable[[Any], bool]] = {
    "schema": _integer,
    "name": _string,
    "description": _string,
    "status": _string,
    "started": _optional_string,
    "ended": _optional_string,
    "duration": _optional(_number),
    "start_time": _number,
    "end_time": _optional(_number),
    "heartbeat_time": _optional(_number),
    "host": _string,
    "pid": _integer,
    "process_start": _optional_string,
    "boot_id": _optional_string,
    "pid_namespace": _optional_string,
    "cwd": _string,
    "parent": _optional_string,
    "params": _shallow,
    "metrics": _shallow,
    "snapshot": _optional_string,
    "snapshot_left_out": _optional(_object()),
    "git": _optional(
        _object(
            {
                "commit": _optional_string,
                "branch": _optional_string,
                "dirty": _boolean,
                "untracked": _integer,
                "diff": _optional_string,
                "diff_truncated": _boolean,
            }
        )
    ),
    "environment": _optional(
        _object(
            {
                "python": _optional_string,
                "implementation": _optional_string,
                "executable": _optional_string,
                "platform": _optional_string,
                "user": _optional_string,
                "packages": _optional_string,
            }
        )
    ),
    "error": _optional(
        _object({"type": _optional_string, "message": _optional_string, "traceback": _string})
    ),
    "tmt_version": _optional_string,
    "note": _string,
}
# Fields that are lists: items that fail the test are dropped, the rest kept.
LISTS: dict[str, Callable[[Any], bool]] = {
    "argv": _string,
    "tags": _string,
    "series": _string,
    "results": _RESULT,
}


def check(record: dict[str, Any]) -> list[str]:
    """Make ``record`` safe to read: drop, in place, each field (or list item) that does not
    have its documented type. Returns a description of what was dropped, if anything."""
    problems = []
    record.pop("legacy", None)  # only tmt 0.1.x databases hold legacy runs
    for key, test in FIELDS.items():
        if key in record and not test(record[key]):
            value = record.pop(key)
            nested = test is _shallow and isinstance(value, dict)
            problems.append(f"{key!r} ({'nested too deeply' if nested else _describe(value)})")
    for key, test in LISTS.items():
        if key not in record:
            continue
        value = record[key]
        if not isinstance(value, list):
            problems.append(f"{key!r} ({_describe(record.pop(key))})")
            continue
        kept = [item for item in value if test(item)]
        if len(kept) != len(value):
            problems.append(f"{len(value) - len(kept)} of the items of {key!r}")
            record[key] = kept
    return problems


def _describe(value: Any) -> str:
    if isinstance(value, (dict, list)) and value:
        return f"a {type(value).__name__} of {len(value)}"
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"
