"""Runs of a tmt 0.1.x database (``tmt_db.json``: ``{"data": [...]}``) as tmt run records."""

from __future__ import annotations

import os
import warnings

from . import jsonfile
from .record import MAX_TIME, SCHEMA_VERSION, check, stored_path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: The largest 0.1.x database read, in bytes.
MAX_LEGACY_DB = 1024 * 1024 * 1024


def read_legacy_db(path: str, tmt_dir: str) -> list[dict[str, Any]]:
    """The runs in the 0.1.x database at ``path`` as records, oldest first; none if it is absent.

    Sub-entries (0.1.x's ``other_runs``) become runs of their own, whose ``parent`` is the
    entry they were attached to. Result paths were stored relative to the working folder of
    the time; they are kept relative to the folder holding ``tmt_dir``, where that was. An
    entry that cannot be understood is skipped with a warning; the others are still read.
    """
    try:
        data = jsonfile.read(path, MAX_LEGACY_DB)
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        warnings.warn(f"{path}: unreadable tmt 0.1.x database skipped: {exc}", stacklevel=3)
        return []
    entries = data.get("data") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        warnings.warn(f"{path}: not a tmt 0.1.x database (no 'data' list); skipped", stacklevel=3)
        return []
    project = os.path.dirname(os.path.normpath(tmt_dir))
    records: list[dict[str, Any]] = []
    skipped: list[str] = []
    for number, entry in enumerate(entries):
        _convert(entry, None, project, tmt_dir, records, f"entry {number}", skipped)
    if skipped:
        more = f"; and {len(skipped) - 5} more" if len(skipped) > 5 else ""
        shown = "; ".join(skipped[:5]) + more
        warnings.warn(f"{path}: entries skipped: {shown}", stacklevel=3)
    records.sort(key=lambda r: r.get("start_time") or 0.0)
    return records


def _convert(
    entry: object,
    parent: str | None,
    project: str,
    tmt_dir: str,
    out: list[Any],
    where: str,
    skipped: list[str],
) -> None:
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), (str, int)):
        skipped.append(f"{where}: no id")
        return
    try:
        record = _record(entry, parent, project, tmt_dir)
    except (TypeError, ValueError, OverflowError) as exc:
        skipped.append(f"{where} ({entry['id']}): {exc}")
        return
    problems = check(record)
    if problems:
        skipped.append(f"{where} ({record['id']}): wrong types ignored: {', '.join(problems)}")
    record["legacy"] = True
    out.append(record)
    children = entry.get("other_runs")
    for number, child in enumerate(children if isinstance(children, list) else ()):
        child_where = f"{where}.other_runs {number}"
        _convert(child, record["id"], project, tmt_dir, out, child_where, skipped)


def _record(
    entry: dict[str, Any], parent: str | None, project: str, tmt_dir: str
) -> dict[str, Any]:
    created = _seconds(entry.get("date_created"), "date_created") or 0.0
    saved = _seconds(entry.get("date_saved"), "date_saved")
    metrics = {
        m["name"]: m.get("value")
        for m in _list(entry.get("metrics"))
        if isinstance(m, dict) and isinstance(m.get("name"), str)
    }
    results = [
        {"name": r["name"], "path": _relative(r["path"], project, tmt_dir), "saved_with": "pickle"}
        for r in _list(entry.get("results"))
        if isinstance(r, dict) and isinstance(r.get("name"), str) and isinstance(r.get("path"), str)
    ]
    snapshot = entry.get("local_snapshot_path")
    args = entry.get("args")
    return {
        "schema": SCHEMA_VERSION,
        "id": str(entry["id"]),
        "name": str(entry.get("name") or ""),
        "description": _text(entry.get("description")),
        "status": "finished",
        "start_time": created,
        "end_time": saved,
        "duration": None if saved is None else saved - created,
        "argv": args.split() if isinstance(args, str) else [],
        "parent": parent,
        "metrics": metrics,
        "results": results,
        "snapshot": _relative(snapshot, project, tmt_dir) if isinstance(snapshot, str) else None,
        "tmt_version": _text(entry.get("version")) or None,
    }


def _seconds(value: object, key: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{key} is not a number of seconds: {value!r:.40}")
    if not 0 <= value <= MAX_TIME:  # NaN fails this too
        raise ValueError(f"{key} is not a time tmt can show: {value!r:.40}")
    return float(value)


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _relative(path: str, project: str, tmt_dir: str) -> str:
    """A path of 0.1.x's (absolute, or relative to the project) as records store it."""
    return stored_path(os.path.join(project, path), tmt_dir)
