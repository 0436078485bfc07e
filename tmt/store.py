"""The run database: a folder a run, each holding one atomic ``run.json`` record.

Layout, for the default configuration (all under ``tmt_dir``)::

    .tmt/runs/<id>/run.json      the record of one run
    .tmt/changes.log             ids of runs whose tags or note changed (for readers' indexes)
    .tmt/results/<id>/           objects saved with tmt_save
    .tmt/snapshots/<id>/         the code snapshot of the run
    .tmt/tmt_db.json             a tmt 0.1.x database, if any (read, never written)

``runs/`` and ``changes.log`` sit beside ``json_db_path``. Any number of processes, on one
machine or several sharing the folder, may record at once: each writes only its own run's
folder, which it creates exclusively, and no lock is ever taken. Readers list runs through an
index kept outside the store (see :mod:`tmt.index`).
"""

from __future__ import annotations

import os
import threading
import warnings
from contextlib import contextmanager

from . import jsonfile
from .errors import StoreError
from .index import CHANGES_NAME, Index
from .legacy import read_legacy_db
from .record import ANNOTATIONS_SCHEMA
from .runfolder import ANNOTATIONS_NAME, RECORD_NAME, read_annotations, read_run

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from typing import Any

    from .config import Configs

#: The lock file that keeps changes to a run's annotations one at a time.
LOCK_NAME = ".annotations.lock"


class Store:
    """Reads and writes the runs of one configuration's store."""

    def __init__(self, config: Configs) -> None:
        self.config = config
        self.root = config.tmt_dir
        db_dir = os.path.dirname(config.json_db_path)
        self.runs_dir = os.path.join(db_dir, "runs")
        self.changes_path = os.path.join(db_dir, CHANGES_NAME)
        self.index = Index(self.runs_dir)
        self.legacy_path = config.json_db_path
        self.results_root = config.results_path

    # Writing ------------------------------------------------------------------------------
    def create_run_dir(self) -> str:
        """Reserve a new, unique run id by creating its folder; return the id."""
        try:
            os.makedirs(self.runs_dir, exist_ok=True)
        except OSError as exc:
            reason = exc.strerror or exc
            raise StoreError(f"cannot create the run store {self.runs_dir}: {reason}") from None
        while True:
            run_id = os.urandom(6).hex()
            try:
                os.mkdir(os.path.join(self.runs_dir, run_id))
            except FileExistsError:
                continue
            except OSError as exc:
                reason = exc.strerror or exc
                raise StoreError(
                    f"cannot create a run folder in {self.runs_dir}: {reason}"
                ) from None
            return run_id

    def run_dir(self, run_id: str) -> str:
        return os.path.join(self.runs_dir, run_id)

    def results_dir(self, run_id: str) -> str:
        return os.path.join(self.results_root, run_id)

    def write_record(self, record: dict[str, Any], durable: bool = True) -> None:
        """Atomically replace the record of run ``record["id"]``."""
        path = os.path.join(self.runs_dir, record["id"], RECORD_NAME)
        jsonfile.write_atomic(path, record, durable)

    def annotate(
        self,
        run_id: str,
        add: Iterable[str] = (),
        remove: Iterable[str] = (),
        note: str | None = None,
    ) -> list[str]:
        """Add and remove tags of a run and/or set its note; returns its tags.

        Annotations are kept apart from the record the run writes, so the two never overwrite
        each other, and changed under a lock, so that two people tagging one run at once
        both get their tags.
        """
        run_dir = os.path.join(self.runs_dir, run_id)
        path = os.path.join(run_dir, ANNOTATIONS_NAME)
        with _annotations_lock(run_dir):
            current = {"schema": ANNOTATIONS_SCHEMA, **read_annotations(run_dir)}
            tags = current.get("tags")
            if tags is None:  # never annotated: start from the tags the run was recorded with
                record = read_run(run_dir, run_id) or {}
                tags = list(record.get("tags") or ())
            removed = set(remove)
            tags = [t for t in tags if t not in removed]
            tags += [t for t in dict.fromkeys(add) if t not in tags]
            current["tags"] = tags
            if note is not None:
                current["note"] = note
            jsonfile.write_atomic(path, current)
            _note_change(self.changes_path, run_id)
        return tags

    # Reading ------------------------------------------------------------------------------
    def stamp(self) -> tuple[int, ...]:
        """A token that changes when a run folder is added or removed, or a run tagged (the
        modification times of ``runs/`` and of a 0.1.x database, the size of
        ``changes.log``): one stat each, to poll cheaply."""
        stamps = []
        for path in (self.runs_dir, self.legacy_path, self.changes_path):
            try:
                info = os.stat(path)
                stamps += [info.st_mtime_ns, info.st_size]
            except OSError:
                stamps += [0, 0]
        return tuple(stamps)

    def rows(self, **filters: Any) -> Iterator[tuple[dict[str, Any], str, str]]:
        """The runs of the store's folders, newest first, as the index gives them (see
        :meth:`tmt.index.Index.rows` for ``filters``), brought up to date first."""
        self.index.refresh()
        return self.index.rows(**filters)

    def legacy_records(self) -> list[dict[str, Any]]:
        """The runs of a tmt 0.1.x database, oldest first (none without one)."""
        return read_legacy_db(self.legacy_path, self.root)

    def records(self) -> list[dict[str, Any]]:
        """Every run's whole record, 0.1.x ones included, oldest first: one file a run, for
        the rare work that needs all of them (collecting garbage)."""
        self.index.refresh()
        records = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the index warned when it read the runs
            for run_id in self.index.ids():
                record = read_run(os.path.join(self.runs_dir, run_id), run_id)
                if record is not None:
                    records.append(record)
        return sorted(self.legacy_records() + records, key=_start_time)

    def record(self, run_id: str) -> dict[str, Any] | None:
        """The record of run ``run_id``, read straight from its file (or from a 0.1.x
        database); ``None`` if there is no such run."""
        if run_id and "/" not in run_id and not run_id.startswith("."):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a bad id is "not found", not a warning
                record = read_run(os.path.join(self.runs_dir, run_id), run_id)
            if record is not None:
                return record
        for record in read_legacy_db(self.legacy_path, self.root):
            if record["id"] == run_id:
                return record
        return None


_thread_lock = threading.Lock()


@contextmanager
def _annotations_lock(run_dir: str) -> Iterator[None]:
    """Hold the lock of a run's annotations: across processes, a ``flock`` on a small file in
    its folder (a POSIX lock on NFS); across threads, one lock for the process."""
    if not os.path.isdir(run_dir):
        raise StoreError(f"no run folder {run_dir}")
    with _thread_lock:
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(os.path.join(run_dir, LOCK_NAME), flags, 0o666)
        try:
            try:
                import fcntl
            except ImportError:  # not POSIX: threads of one process are still kept apart
                yield
                return
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def _note_change(path: str, run_id: str) -> None:
    """Append ``run_id`` to ``changes.log`` (see :func:`tmt.storeside.note_changes`)."""
    from .storeside import note_changes  # not loaded by recording, which never tags

    note_changes(path, [run_id])


def _start_time(record: dict[str, Any]) -> float:
    value = record.get("start_time")
    return value if isinstance(value, (int, float)) else 0.0
