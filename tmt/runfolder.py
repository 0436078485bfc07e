"""A run's folder as readers see it: its record, ``run.json``, written by the run, with the
tags and note people added later, ``annotations.json`` (kept apart so the two never overwrite
each other), both read so that a damaged or crafted file costs a warning, never a listing."""

from __future__ import annotations

import os
import sys
import warnings

from . import jsonfile
from .record import check

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import FrameType
    from typing import Any

RECORD_NAME = "run.json"
ANNOTATIONS_NAME = "annotations.json"
#: Where a run copied from another store (``tmt pull``) says which, and when.
ORIGIN_NAME = "origin.json"
#: The largest ``run.json`` or ``annotations.json`` read.
MAX_RECORD = 64 * 1024 * 1024


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
    if not os.access(path, os.F_OK):  # the usual case, told without the cost of an error
        return {}
    try:
        notes = jsonfile.read(path, MAX_RECORD)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        warn(f"{path}: unreadable annotations ignored: {exc}")
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
        warn(f"{path}: unreadable run record skipped: {exc}")
        return None
    if not isinstance(record, dict) or record.get("id") != name:
        warn(f"{path}: not a run record (no matching 'id'); skipped")
        return None
    problems = check(record)
    if problems:
        warn(f"{path}: fields of the wrong type ignored: {', '.join(problems)}")
    return record


_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def warn(message: str) -> None:
    """Warn, about the store, at the code that asked tmt for runs: the first caller outside
    tmt, however deep in tmt the reading happened."""
    frame: FrameType | None = sys._getframe(1)
    level = 2
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, stacklevel=level)
