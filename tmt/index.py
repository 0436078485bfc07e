"""A derived cache of run records, so that listing thousands of runs reads one file, not thousands.

The runs' own files are the truth: ``run.json``, written by the run, and ``annotations.json``,
written by people (tags and notes added later; kept apart so the two never overwrite each
other). The index maps each run to the identity of its folder when it was read (inode and
modification time: replacing either file, atomically, renames into the folder and so changes
its time) and the merged record. Readers refresh it; writers never touch it, so recording a
run costs the same however many runs the store holds. Delete it at any time: it is rebuilt.
"""

from __future__ import annotations

import os
import time
import warnings

from . import jsonfile
from .record import check

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

INDEX_SCHEMA = 3  # 3: records are checked (record.check) before they are cached
RECORD_NAME = "run.json"
ANNOTATIONS_NAME = "annotations.json"
# A record modified this recently may be modified again within the filesystem's timestamp
# granularity, unnoticed; such records are re-read every time rather than trusted from cache.
_RACY_NS = 2_000_000_000
#: The largest ``run.json`` or ``annotations.json`` read, and the largest index.
MAX_RECORD = 64 * 1024 * 1024
MAX_INDEX = 4 * 1024 * 1024 * 1024


def load_records(runs_dir: str, index_path: str) -> list[dict[str, Any]]:
    """Every readable run record under ``runs_dir``, in no particular order.

    Refreshes the index at ``index_path`` when anything changed, if the store is writable.
    A record that cannot be read is skipped with a warning naming its file; one with fields
    of the wrong type is kept without them (see :func:`tmt.record.check`), with a warning.
    Entries that are not real folders (symbolic links among them) are not runs.
    """
    try:
        entries = list(os.scandir(runs_dir))
    except FileNotFoundError:
        return []
    cache = _read_index(index_path)
    fresh: dict[str, dict[str, Any]] = {}
    changed = False
    now_ns = time.time_ns()
    for entry in entries:
        name = entry.name
        if name.startswith("."):
            continue
        try:
            if not entry.is_dir(follow_symlinks=False):
                continue
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        key = [st.st_ino, st.st_mtime_ns]
        racy = st.st_mtime_ns >= now_ns - _RACY_NS
        cached = cache.get(name)
        if not isinstance(cached, dict):  # absent, or an entry damaged by hand
            cached = None
        if (
            not racy
            and cached is not None
            and cached.get("key") == key
            and isinstance(cached.get("record"), dict)
            and cached["record"].get("id") == name
        ):
            fresh[name] = cached
            continue
        record = read_run(entry.path, name)
        if record is None:
            continue  # a run being created, or not a run folder
        stored_key = None if racy else key
        if cached is None or cached.get("key") != stored_key or cached.get("record") != record:
            changed = True  # new, changed, or an entry whose record was damaged: rewritten
        fresh[name] = {"key": stored_key, "record": record}
    if changed or len(fresh) != len(cache):
        _write_index(index_path, fresh)
    return [item["record"] for item in fresh.values()]


def read_run(run_dir: str, name: str) -> dict[str, Any] | None:
    """The record of the run in ``run_dir``, checked, with its annotations applied; ``None`` if
    there is none or it cannot be read (with a warning naming the file)."""
    record = _read_record(os.path.join(run_dir, RECORD_NAME), name)
    if record is None:
        return None
    notes = read_annotations(run_dir)
    if "tags" in notes:
        record["tags"] = notes["tags"]
    if "note" in notes:
        record["note"] = notes["note"]
    return record


def read_annotations(run_dir: str) -> dict[str, Any]:
    """The tags and note people added to the run in ``run_dir`` (``{}`` if none): only the
    fields that have their type; an unreadable file is ignored with a warning."""
    path = os.path.join(run_dir, ANNOTATIONS_NAME)
    try:
        notes = jsonfile.read(path, MAX_RECORD)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        warnings.warn(f"{path}: unreadable annotations ignored: {exc}", stacklevel=5)
        return {}
    found: dict[str, Any] = {}
    if isinstance(notes, dict):
        if isinstance(notes.get("tags"), list):
            found["tags"] = [t for t in notes["tags"] if isinstance(t, str)]
        if isinstance(notes.get("note"), str):
            found["note"] = notes["note"]
    return found


def _read_record(path: str, name: str) -> dict[str, Any] | None:
    try:
        record = jsonfile.read(path, MAX_RECORD)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, ValueError) as exc:
        warnings.warn(f"{path}: unreadable run record skipped: {exc}", stacklevel=5)
        return None
    if not isinstance(record, dict) or record.get("id") != name:
        warnings.warn(f"{path}: not a run record (no matching 'id'); skipped", stacklevel=5)
        return None
    problems = check(record)
    if problems:
        warnings.warn(
            f"{path}: fields of the wrong type ignored: {', '.join(problems)}", stacklevel=5
        )
    return record


def _read_index(path: str) -> dict[str, dict[str, Any]]:
    try:
        data = jsonfile.read(path, MAX_INDEX)
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("schema") != INDEX_SCHEMA:
        return {}
    runs = data.get("runs")
    return runs if isinstance(runs, dict) else {}


def _write_index(path: str, runs: dict[str, dict[str, Any]]) -> None:
    # Not fsynced: losing the index only costs one slower listing.
    try:
        text = jsonfile.dumps_compact({"schema": INDEX_SCHEMA, "runs": runs})
        jsonfile.write_text_atomic(path, text, durable=False)
    except OSError:
        pass  # a read-only store is still readable, only slower
