"""Runs of a tmt 0.1.x database (``tmt_db.json``: ``{"data": [...]}``) as tmt run records."""

from __future__ import annotations

import os
import warnings

from . import jsonfile


def read_legacy_db(path: str, tmt_dir: str) -> list[dict]:
    """The runs in the 0.1.x database at ``path`` as records, oldest first; none if it is absent.

    Sub-entries (0.1.x's ``other_runs``) become runs of their own, whose ``parent`` is the
    entry they were attached to. Result paths were stored relative to the working folder of
    the time; they are kept relative to the folder holding ``tmt_dir``, where that was.
    """
    try:
        data = jsonfile.read(path)
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
    records: list[dict] = []
    for entry in entries:
        _convert(entry, None, project, tmt_dir, records)
    records.sort(key=lambda r: r["start_time"])
    return records


def _convert(entry: object, parent: str | None, project: str, tmt_dir: str, out: list) -> None:
    if not isinstance(entry, dict) or "id" not in entry:
        return
    created = entry.get("date_created") or 0
    saved = entry.get("date_saved")
    metrics = {
        m["name"]: m.get("value")
        for m in entry.get("metrics") or ()
        if isinstance(m, dict) and "name" in m
    }
    results = [
        {"name": r["name"], "path": _relative(r["path"], project, tmt_dir), "saved_with": "pickle"}
        for r in entry.get("results") or ()
        if isinstance(r, dict) and "name" in r and "path" in r
    ]
    snapshot = entry.get("local_snapshot_path")
    out.append(
        {
            "schema": 1,
            "legacy": True,
            "id": str(entry["id"]),
            "name": str(entry.get("name", "")),
            "description": entry.get("description") or "",
            "status": "finished",
            "start_time": float(created),
            "end_time": None if saved is None else float(saved),
            "duration": None if saved is None else float(saved) - float(created),
            "argv": str(entry.get("args", "")).split(),
            "parent": parent,
            "metrics": metrics,
            "results": results,
            "snapshot": _relative(snapshot, project, tmt_dir) if snapshot else None,
            "tmt_version": entry.get("version"),
        }
    )
    for child in entry.get("other_runs") or ():
        _convert(child, str(entry["id"]), project, tmt_dir, out)


def _relative(path: str, project: str, tmt_dir: str) -> str:
    """A path for the record: relative to ``tmt_dir`` (as records store them) where possible."""
    absolute = path if os.path.isabs(path) else os.path.join(project, path)
    return os.path.relpath(absolute, tmt_dir)
