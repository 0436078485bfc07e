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

INDEX_SCHEMA = 2
RECORD_NAME = "run.json"
ANNOTATIONS_NAME = "annotations.json"
# A record modified this recently may be modified again within the filesystem's timestamp
# granularity, unnoticed; such records are re-read every time rather than trusted from cache.
_RACY_NS = 2_000_000_000


def load_records(runs_dir: str, index_path: str) -> list[dict]:
    """Every readable run record under ``runs_dir``, in no particular order.

    Refreshes the index at ``index_path`` when anything changed, if the store is writable.
    A record that cannot be read is skipped with a warning naming its file.
    """
    try:
        entries = list(os.scandir(runs_dir))
    except FileNotFoundError:
        return []
    cache = _read_index(index_path)
    fresh: dict[str, dict] = {}
    changed = False
    now_ns = time.time_ns()
    for entry in entries:
        name = entry.name
        if name.startswith("."):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        key = [st.st_ino, st.st_mtime_ns]
        racy = st.st_mtime_ns >= now_ns - _RACY_NS
        cached = cache.get(name)
        if not racy and cached is not None and cached.get("key") == key:
            fresh[name] = cached
            continue
        record = read_run(entry.path, name)
        if record is None:
            continue  # a run being created, or not a run folder
        stored_key = None if racy else key
        if cached is None or cached.get("key") != stored_key:
            changed = True
        fresh[name] = {"key": stored_key, "record": record}
    if changed or len(fresh) != len(cache):
        _write_index(index_path, fresh)
    return [item["record"] for item in fresh.values()]


def read_run(run_dir: str, name: str) -> dict | None:
    """The record of the run in ``run_dir``, with its annotations applied; None if unreadable."""
    record = _read_record(os.path.join(run_dir, RECORD_NAME), name)
    if record is None:
        return None
    try:
        notes = jsonfile.read(os.path.join(run_dir, ANNOTATIONS_NAME))
    except FileNotFoundError:
        return record
    except (OSError, ValueError) as exc:
        warnings.warn(f"{run_dir}: unreadable {ANNOTATIONS_NAME} ignored: {exc}", stacklevel=4)
        return record
    if isinstance(notes, dict):
        if isinstance(notes.get("tags"), list):
            record["tags"] = [t for t in notes["tags"] if isinstance(t, str)]
        if isinstance(notes.get("note"), str):
            record["note"] = notes["note"]
    return record


def _read_record(path: str, name: str) -> dict | None:
    try:
        record = jsonfile.read(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, ValueError) as exc:
        warnings.warn(f"{path}: unreadable run record skipped: {exc}", stacklevel=4)
        return None
    if not isinstance(record, dict) or record.get("id") != name:
        warnings.warn(f"{path}: not a run record (no matching 'id'); skipped", stacklevel=4)
        return None
    return record


def _read_index(path: str) -> dict[str, dict]:
    try:
        data = jsonfile.read(path)
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("schema") != INDEX_SCHEMA:
        return {}
    runs = data.get("runs")
    return runs if isinstance(runs, dict) else {}


def _write_index(path: str, runs: dict[str, dict]) -> None:
    # Not fsynced: losing the index only costs one slower listing.
    try:
        text = jsonfile.dumps_compact({"schema": INDEX_SCHEMA, "runs": runs})
        jsonfile.write_text_atomic(path, text, durable=False)
    except OSError:
        pass  # a read-only store is still readable, only slower
