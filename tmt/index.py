"""The index of a store's runs: what listing them needs, cached on the local disk, so that reading
100,000 runs costs a query, not 100,000 files.

The runs' folders stay the truth. The index is derived from them, and rebuilt from them when it
is missing, damaged or of another version. It lives in the user's cache folder
(``$TMT_CACHE_DIR``, else ``$XDG_CACHE_HOME/tmt``, else ``~/.cache/tmt``), one SQLite file a
store, and never in the store: a store may sit on NFS or Lustre, where SQLite's locking cannot
be trusted, may be read-only, and is copied with rsync. Recording never touches it, so a run
costs the same however many runs the store holds. Without a usable cache folder, each process
keeps the index in memory (correct, only slower).

Each read brings the index up to date without reading everything again (:meth:`Index.refresh`):

- runs added or deleted change the modification time of ``runs/``: its names are listed again;
- runs that have not ended (running, or crashed) are checked one by one, one ``stat`` each;
- tags and notes change under tmt's lock, which also appends the run's id to ``changes.log``
  beside ``runs/``: the runs named there since the last read are checked;
- a folder is read again when its identity (inode, modification time) changed: replacing its
  ``run.json`` or ``annotations.json`` (atomically, by a rename into it) changes it.

A folder modified within two seconds of a read may change again unnoticed within the
filesystem's timestamp resolution: it is read again until it has settled.
"""

from __future__ import annotations

import gc
import json
import os
import sqlite3
import stat
import sys
import threading
import time
import warnings
import zlib
from contextlib import contextmanager

from .jsonvalue import flatten
from .runfolder import read_run, warn

TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess
    from collections.abc import Iterable, Iterator
    from typing import Any

    # A run to check: its id, its folder's inode and mtime when read, whether it had a record.
    _Row = tuple[str, int | None, int | None, bool]
    # A process reading folders, and the thread sending it their names.
    _Worker = tuple[subprocess.Popen[bytes], threading.Thread]
    # Rows for the index, and names of folders gone.
    _Rows = tuple[list[tuple[object, ...]], list[tuple[object, ...]]]

#: Version of the index's tables; an index of another version is rebuilt.
SCHEMA = 4  # 2: an index of child runs; 3: rerun_of; 4: sweep
#: The file beside ``runs/`` naming, one id a line, runs whose tags or note changed.
CHANGES_NAME = "changes.log"
#: The fields of a record the index keeps; the others are read from ``run.json`` when asked for.
SUMMARY = (
    "id",
    "name",
    "description",
    "status",
    "started",
    "ended",
    "start_time",
    "end_time",
    "duration",
    "heartbeat_time",
    "host",
    "pid",
    "process_start",
    "boot_id",
    "pid_namespace",
    "parent",
    "rerun_of",
    "sweep",
    "tags",
    "note",
    "series",
)
#: The SUMMARY fields kept in columns of their own (read for every run listed, they are
#: read without parsing any JSON); the others are kept as JSON.
COLUMNS = ("id", "name", "start_time", "status", "end_time", "duration", "tags", "note", "parent")
_OTHERS = tuple(key for key in SUMMARY if key not in COLUMNS)
_LIVENESS = ("heartbeat_time", "process_start", "boot_id", "pid_namespace")
_OTHERS_ENDED = tuple(key for key in _OTHERS if key not in _LIVENESS)
_EMPTY: tuple[object, ...] = (None, "", [])
# A folder that could not be looked at: kept, unread, to be looked at again.
_UNKNOWN = -1
_UNREADABLE = os.stat_result((stat.S_IFDIR, _UNKNOWN, 0, 0, 0, 0, 0, 0, 0, 0))
# A folder modified this recently may be modified again within the filesystem's timestamp
# granularity, unnoticed: it is read again at every refresh until it is older.
_RACY_NS = 2_000_000_000
# The most of changes.log read at once; more than this unread, every run is checked instead.
_MAX_CHANGES = 16 * 1024 * 1024
# A FIFO or a link where changes.log should be must not block nor lead elsewhere.
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
# Runs read again in batches of this many, a transaction each.
_BATCH = 2000
# From how many new folders reading them is shared among processes, and among how many more.
_PARALLEL = 5000
_MAX_WORKERS = 3
_HEAD_START = 1500
_WRITE = "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
# What a summary is made of, in the order _record() takes it.
_READ = "id, name, start, status, end_time, duration, tags, note, parent, facts, cells"
# What deciding to read a run's folder again needs.
_ROWS = "SELECT id, ino, mtime, facts IS NOT NULL FROM runs"
_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT NOT NULL UNIQUE,
    ino INTEGER,            -- the folder's identity when read (NULL: read it again)
    mtime INTEGER,
    name TEXT NOT NULL,
    start REAL NOT NULL,
    status TEXT,            -- as recorded (a run recorded running may have crashed since)
    open INTEGER NOT NULL,  -- checked at every refresh: not ended, not settled, or no record
    end_time REAL,
    duration REAL,
    tags TEXT,              -- as JSON
    note TEXT,
    parent TEXT,
    facts TEXT,             -- the other SUMMARY fields, as JSON (NULL: no record in the folder)
    cells TEXT,             -- its params.* and metrics.* cells, flat, as stored, as JSON
    PRIMARY KEY (start, id)  -- kept in the order runs are listed in: read in one sweep
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS runs_by_name ON runs (name, start, id);
CREATE INDEX IF NOT EXISTS runs_open ON runs (open) WHERE open;
CREATE INDEX IF NOT EXISTS runs_by_parent ON runs (parent) WHERE parent IS NOT NULL;
"""


def cache_folder() -> str | None:
    """Where indexes are kept: ``$TMT_CACHE_DIR``, else ``$XDG_CACHE_HOME/tmt``, else
    ``~/.cache/tmt``; ``None`` if there is no home folder to put it in."""
    explicit = os.environ.get("TMT_CACHE_DIR")
    if explicit:
        return os.path.abspath(explicit)
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # the XDG rule: a relative path is ignored
        home = os.path.expanduser("~")
        if not os.path.isabs(home):
            return None
        base = os.path.join(home, ".cache")
    return os.path.join(base, "tmt")


def summary(record: dict[str, Any]) -> tuple[str, str]:
    """What the index keeps of a (checked) record as JSON, besides its columns: the other
    SUMMARY fields, and the cells."""
    # Empty fields are left out (readers take them as absent), and what tells whether a
    # run's process lives is kept only for a run recorded running: listing parses less.
    keep = _OTHERS if record.get("status") == "running" else _OTHERS_ENDED
    facts = {key: record[key] for key in keep if record.get(key) not in _EMPTY}
    cells: dict[str, Any] = {}
    for part in ("params", "metrics"):
        values = record.get(part)
        if isinstance(values, dict):
            cells.update({f"{part}.{k}": v for k, v in flatten(values).items()})
    return _dumps(facts), _dumps(cells)


class Index:
    """The index of the runs in ``runs_dir``; safe to share between threads."""

    def __init__(self, runs_dir: str) -> None:
        self.runs_dir = runs_dir
        self.changes_path = os.path.join(os.path.dirname(runs_dir), CHANGES_NAME)
        self._db: sqlite3.Connection | None = None
        self._file: str | None = None  # the index's file, None while kept in memory
        self._pid = 0
        self._lock = threading.RLock()

    @property
    def path(self) -> str | None:
        """The index's file (``None``: no cache folder, the index is kept in memory)."""
        folder = cache_folder()
        if folder is None:
            return None
        # Two checksums of the path name the file (hashlib would load OpenSSL at every
        # command); two stores sharing one by chance would only rebuild it in turn.
        store = os.fsencode(os.path.realpath(self.runs_dir))
        key = f"{zlib.crc32(store):08x}{zlib.adler32(store):08x}"
        return os.path.join(folder, "index", f"{key}.sqlite3")

    # Bringing it up to date ---------------------------------------------------------------
    def refresh(self) -> None:
        """Bring the index up to date with the store's folders (see the module's docstring)."""
        with self._lock:
            for _ in range(2):
                try:
                    self._refresh(self._connect())
                    return
                except sqlite3.OperationalError:
                    break  # locked too long by another reader, a full disk, a read-only file
                except sqlite3.DatabaseError:  # damaged: made again from the runs
                    self._close()
                    if self.path is not None:
                        _remove(self.path)
            self._close()  # this process reads the store into memory instead
            self._db, self._file, self._pid = _open(":memory:"), None, os.getpid()
            self._refresh(self._db)

    def _refresh(self, db: sqlite3.Connection) -> None:
        now = time.time_ns()
        try:
            info = os.stat(self.runs_dir)
        except OSError:
            info = None
        store = None if info is None else f"{info.st_dev}:{info.st_ino}"
        done: set[str] = set()  # each folder is read at most once a refresh
        with _no_collection():
            with _transaction(db):
                meta = dict(db.execute("SELECT key, value FROM meta"))
                if meta.get("store") != store:  # another store now lives here: forget all
                    db.execute("DELETE FROM runs")
                    db.execute("DELETE FROM meta WHERE key != 'schema'")
                    db.execute("INSERT INTO meta VALUES ('store', ?)", (store,))
                # A folder added or removed changes the time of runs/ and, on most
                # filesystems, its count of links (which a copy setting times back keeps).
                listed = None if info is None else f"{info.st_mtime_ns}:{info.st_nlink}"
                listing = info is not None and meta.get("listed") != listed
                new = self._list(db) if listing else None
                if new is None:  # not listed (or it could not be): nothing new or gone
                    new, listing = [], False
            # New folders are read outside any transaction (by several processes when there
            # are many), and written a batch a transaction, so that other readers waiting for
            # a big first reading get in between.
            for rows, gone in read_new(self.runs_dir, new, now, self._file):
                write(db, rows, gone)
            done.update(new)
            with _transaction(db):
                meta = dict(db.execute("SELECT key, value FROM meta"))
                if info is not None:
                    if listing:
                        settled = info.st_mtime_ns < now - _RACY_NS
                        meta["listed"] = listed if settled else None
                    named = self._changed(db, meta)
                    # Read again even if read above as new: they may have changed since.
                    self._check(db, named, now, set(), force=True)
                    done.update(row[0] for row in named)
                    self._check(db, db.execute(_ROWS + " WHERE open").fetchall(), now, done)
                db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", meta.items())

    def _list(self, db: sqlite3.Connection) -> list[str] | None:
        """Drop the runs whose folder is gone from ``runs/``; the names of new folders.
        ``None`` if ``runs/`` cannot be listed now (out of file descriptors, no permission):
        then nothing is taken as gone, and it is listed again next time."""
        names = set()
        try:
            with os.scandir(self.runs_dir) as found:
                for entry in found:
                    name = entry.name
                    if name.startswith(".") or _storable(name) != name:
                        continue  # no run (bytes that are not UTF-8): tmt names them in hex
                    try:
                        if not entry.is_dir(follow_symlinks=False):
                            continue
                    except OSError:
                        pass  # looked at closely when read
                    names.add(name)
        except OSError:
            return None
        known = {run_id for (run_id,) in db.execute("SELECT id FROM runs")}
        db.executemany("DELETE FROM runs WHERE id = ?", ((i,) for i in known - names))
        return sorted(names - known)

    def _changed(self, db: sqlite3.Connection, meta: dict[str, Any]) -> list[_Row]:
        """The runs ``changes.log`` names since the last refresh (all it names if it was
        replaced or cut short), as rows to read again. Only whole lines are read: one being
        written is read next time."""
        try:
            fd = os.open(self.changes_path, _READ_FLAGS)
        except OSError:
            meta.pop("log", None)
            return []
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                return []
            log = f"{info.st_dev}:{info.st_ino}"
            offset = meta.get("log_offset") if meta.get("log") == log else 0
            if not isinstance(offset, int) or offset > info.st_size:
                offset = 0
            meta["log"] = log
            if offset == info.st_size:
                return []
            if info.st_size - offset > _MAX_CHANGES:  # too much to read: check every run
                meta["log_offset"] = info.st_size
                rows: list[_Row] = db.execute(_ROWS).fetchall()
                return rows
            os.lseek(fd, offset, os.SEEK_SET)
            data = os.read(fd, info.st_size - offset)
        finally:
            os.close(fd)
        whole = data[: data.rfind(b"\n") + 1]
        meta["log_offset"] = offset + len(whole)
        found: list[_Row] = []
        for line in set(whole.split()):
            run_id = line.decode("ascii", "replace")
            found += db.execute(_ROWS + " WHERE id = ?", (run_id,)).fetchall()
        return found

    def _check(
        self,
        db: sqlite3.Connection,
        rows: Iterable[_Row],
        now: int,
        done: set[str],
        force: bool = False,
    ) -> None:
        """Read again the folders of ``rows`` (id, inode, mtime, has a record) that changed
        (or all of them, with ``force``), unless ``done`` already."""
        deleted: list[tuple[str]] = []
        unsure: list[tuple[str]] = []
        written: list[tuple[object, ...]] = []
        for run_id, ino, mtime, readable in list(rows):
            if run_id in done:
                continue
            done.add(run_id)
            folder = os.path.join(self.runs_dir, run_id)
            info = _lstat(folder)
            if info is None or not stat.S_ISDIR(info.st_mode):
                deleted.append((run_id,))
                continue
            if info is _UNREADABLE:  # kept as it was, and looked at again next time
                unsure.append((run_id,))
                continue
            key = (_signed(info.st_ino), info.st_mtime_ns)
            if not force and readable and mtime is not None and (ino, mtime) == key:
                continue
            written.append(_read(folder, run_id, info, now))
        db.executemany("DELETE FROM runs WHERE id = ?", deleted)
        db.executemany("UPDATE runs SET ino = NULL, mtime = NULL, open = 1 WHERE id = ?", unsure)
        db.executemany(_WRITE, written)

    # Reading ------------------------------------------------------------------------------
    def rows(
        self,
        name: str | None = None,
        since: float | None = None,
        until: float | None = None,
        statuses: Iterable[str] | None = None,
        prefix: str | None = None,
        parent: str | None = None,
        run_id: str | None = None,
    ) -> Iterator[tuple[dict[str, Any], str, str]]:
        """``(summary, others, cells)`` of each run, newest first: the summary's fields kept in
        columns, its others and its cells as JSON (to be parsed when needed); those of
        experiment ``name`` (exactly), started from ``since`` to ``until``, recorded with one
        of ``statuses``, whose id starts with ``prefix`` or is ``run_id``, or child runs of
        ``parent``. Read page by page, so that stopping early is cheap."""
        where: list[str] = ["facts IS NOT NULL"]
        args: list[object] = []
        equal = {"name = ?": name, "start >= ?": since, "start <= ?": until}
        equal.update({"parent = ?": parent, "id = ?": run_id})
        for clause, value in equal.items():
            if value is not None:
                where.append(clause)
                args.append(value)
        if statuses is not None:
            wanted = sorted(set(statuses))
            where.append(f"status IN ({', '.join('?' * len(wanted))})")
            args += wanted
        if prefix is not None:
            where.append("substr(id, 1, ?) = ?")
            args += [len(prefix), prefix]
        query = f"SELECT {_READ} FROM runs WHERE {' AND '.join(where)}"
        page, after = 64, None
        while True:
            sql, page_args = query, list(args)
            if after is not None:
                sql += " AND (start, id) < (?, ?)"
                page_args += after
            sql += f" ORDER BY start DESC, id DESC LIMIT {page}"
            found = self._query(sql, page_args)
            for row in found:
                record = _record(row)
                if record is None:
                    record = self._repair(row[0])  # a damaged row: read again from the run
                    if record is None:
                        continue
                yield record
            if len(found) < page:
                return
            after = [found[-1][2], found[-1][0]]
            page = min(page * 4, 16384)

    def _repair(self, run_id: str) -> tuple[dict[str, Any], str, str] | None:
        with self._lock:
            db = self._connect()
            with _transaction(db):
                self._check(db, [(run_id, None, None, False)], time.time_ns(), set())
                row = db.execute(f"SELECT {_READ} FROM runs WHERE id = ?", (run_id,))
                found = row.fetchone()
        return None if found is None else _record(found)

    def ids(self) -> list[str]:
        """The id of every run, newest first."""
        sql = "SELECT id FROM runs WHERE facts IS NOT NULL ORDER BY start DESC, id DESC"
        return [run_id for (run_id,) in self._query(sql, [])]

    def _query(self, sql: str, args: list[object]) -> list[tuple[Any, ...]]:
        """The rows of a query; an index found damaged on the way is made again first."""
        with self._lock:
            try:
                return self._connect().execute(sql, args).fetchall()
            except sqlite3.OperationalError:
                raise
            except sqlite3.DatabaseError:  # damaged where it was read: made again from the runs
                self._close()
                if self._file is not None:
                    _remove(self._file)
                self.refresh()
                return self._connect().execute(sql, args).fetchall()

    # The file -----------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        if self._db is not None and self._pid == os.getpid():
            return self._db
        self._db = None  # a connection inherited through fork() must not be used
        path = self.path
        db = None
        if path is not None:
            try:
                db = _open(path)
            except sqlite3.OperationalError:
                db = None  # locked too long, no room, no cache folder: kept in memory
            except sqlite3.DatabaseError:  # damaged, or not an index: made again
                _remove(path)
                try:
                    db = _open(path)
                except (sqlite3.Error, OSError):
                    db = None
            except (sqlite3.Error, OSError):
                db = None  # no cache folder can be made: kept in memory
        self._file = path if db is not None else None
        self._db, self._pid = db or _open(":memory:"), os.getpid()
        return self._db

    def _close(self) -> None:
        if self._db is not None and self._pid == os.getpid():
            try:
                self._db.close()
            except sqlite3.Error:
                pass
        self._db = None


def read_new(
    runs_dir: str, names: list[str], now: int, index: str | None = None
) -> Iterator[_Rows]:
    """The index's rows for the folders ``names`` of ``runs_dir``, and the names of those gone
    (as 1-tuples), a batch at a time. Given the ``index``'s file, many folders are shared
    with worker processes, one a processor, which write their rows into it themselves:
    reading is bound by the processor, and a first reading of a big store takes seconds."""
    workers = min((os.cpu_count() or 1) - 1, _MAX_WORKERS)
    # A frozen program's executable is the program, not Python: it would run again.
    python = not getattr(sys, "frozen", False) and os.path.basename(sys.executable).lower()
    if not python or not python.startswith(("python", "pypy")):
        workers = 0
    if len(names) < _PARALLEL or workers < 1 or index is None:
        for i in range(0, len(names), _BATCH):
            yield _read_folders(runs_dir, names[i : i + _BATCH], now)
        return
    # This process starts at once; a worker first starts Python: it gets a little less.
    mine = -(-len(names) // (workers + 1)) + _HEAD_START
    share = -(-(len(names) - mine) // workers)
    slices = [names[:mine]] + [names[i : i + share] for i in range(mine, len(names), share)]
    started = [_start_worker((runs_dir, part, now, index)) for part in slices[1:]]
    for i in range(0, mine, _BATCH):
        yield _read_folders(runs_dir, slices[0][i : i + _BATCH], now)
    for part, worker in zip(slices[1:], started):
        if not _finish_worker(worker):  # it failed: its share is read here
            for i in range(0, len(part), _BATCH):
                yield _read_folders(runs_dir, part[i : i + _BATCH], now)


def write(
    db: sqlite3.Connection, rows: list[tuple[object, ...]], gone: list[tuple[object, ...]]
) -> None:
    """Write ``rows`` into the index, and drop the runs ``gone``, in one transaction."""
    rows.sort(key=_by_start)  # in the table's order: appended, not inserted
    with _transaction(db):
        db.executemany("DELETE FROM runs WHERE id = ?", gone)
        db.executemany(_WRITE, rows)


def _read_folders(
    runs_dir: str, names: list[str], now: int
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    rows: list[tuple[object, ...]] = []
    gone: list[tuple[object, ...]] = []
    for name in names:
        folder = os.path.join(runs_dir, name)
        info = _lstat(folder)
        if info is None or not stat.S_ISDIR(info.st_mode):
            gone.append((name,))
        else:
            rows.append(_read(folder, name, info, now))
    return rows, gone


def _read(folder: str, run_id: str, info: os.stat_result, now: int) -> tuple[object, ...]:
    """The index's row for the run in ``folder``, whose ``lstat`` (taken before reading, so
    that a change while reading shows as a change) is ``info``."""
    settled = info.st_ino != _UNKNOWN and info.st_mtime_ns < now - _RACY_NS
    key = (_signed(info.st_ino), info.st_mtime_ns) if settled else (None, None)
    record = read_run(folder, run_id) if info.st_ino != _UNKNOWN else None
    if record is None:  # being created, or no run: looked at again each time
        return (run_id, *key, "", 0.0, None, 1, None, None, None, None, None, None, None)
    facts, cells = summary(record)
    start = record.get("start_time")
    start = float(start) if isinstance(start, (int, float)) else 0.0
    end = record.get("end_time")
    tags = record.get("tags")
    return (
        run_id,
        *key,
        _storable(record.get("name") or ""),
        start,
        _storable(record.get("status")),
        int(end is None or not settled),
        end,
        record.get("duration"),
        _dumps(tags) if tags else None,
        _storable(record.get("note") or None),
        _storable(record.get("parent")),
        facts,
        cells,
    )


def _lstat(folder: str) -> os.stat_result | None:
    """The folder's ``lstat``; ``None`` if it is gone. One that cannot be looked at now (out of
    file descriptors, no permission) is not gone: it is kept, and looked at again next time."""
    try:
        return os.lstat(folder)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError:
        return _UNREADABLE


def _signed(number: int) -> int:
    """A 64-bit inode number as SQLite keeps integers (signed: Lustre's go past 2**63)."""
    return number - (1 << 64) if number >= 1 << 63 else number


def _storable(text: Any) -> Any:
    """Text SQLite can keep: a string that is not valid Unicode (a lone surrogate, from bytes
    that were not UTF-8) with those characters replaced; anything else as it is."""
    if type(text) is not str:
        return text
    try:
        text.encode()
    except UnicodeEncodeError:
        return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text)
    return text


def _by_start(row: tuple[Any, ...]) -> tuple[float, str]:
    return row[4], row[0]


def _record(row: tuple[Any, ...]) -> tuple[dict[str, Any], str, str] | None:
    """The summary of a run from its row (the fields in columns; the others as JSON, and its
    cells as JSON, parsed when first asked for); ``None`` if the row is damaged."""
    run_id, name, start, status, end, duration, tags, note, parent, facts, cells = row
    if not (
        type(name) is str
        and type(start) is float
        and type(facts) is str
        and type(cells) is str
        and facts[:1] == "{"
        and cells[:1] == "{"
    ):
        return None
    record = {"id": run_id, "name": name, "start_time": start, "end_time": end}
    if status is not None:
        record["status"] = status
    if duration is not None:
        record["duration"] = duration
    if tags is not None:
        try:
            record["tags"] = _loads(tags)
        except ValueError:
            return None
    if note is not None:
        record["note"] = note
    if parent is not None:
        record["parent"] = parent
    return record, facts, cells


def _start_worker(work: tuple[str, list[str], int, str]) -> _Worker | None:
    """A process reading folders into the index, given ``work``: (runs_dir, names, now, the
    index's file). A fresh interpreter importing this tmt: not a fork, which a program with
    threads may not survive, nor multiprocessing, which would run the program's main module
    again."""
    import subprocess

    # Started beside this tmt's package, which it then imports first.
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        worker = subprocess.Popen(
            [sys.executable, "-c", "from tmt.index import _serve; _serve()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=package,
        )
    except OSError:
        return None
    runs_dir, names, now, index = work
    work = (os.path.abspath(runs_dir), names, now, index)
    sending = threading.Thread(target=_send, args=(worker, work), daemon=True)
    sending.start()
    return worker, sending


def _send(worker: subprocess.Popen[bytes], work: object) -> None:
    import pickle

    try:
        assert worker.stdin is not None
        with worker.stdin:
            pickle.dump(work, worker.stdin)
    except OSError:
        pass  # the worker died: its share is read in the parent


def _finish_worker(worker: _Worker | None) -> bool:
    """Wait for ``worker``, and give its warnings here; whether it did all its work."""
    import pickle

    if worker is None:
        return False
    process, sending = worker
    try:
        assert process.stdout is not None
        with process.stdout:
            out = process.stdout.read()
        sending.join()
        if process.wait() != 0:
            return False
        said = pickle.loads(out)
    except Exception:  # whatever went wrong there, the share is read again here
        return False
    for message in said:
        warn(str(message))
    return True


def _serve() -> None:
    """A worker's whole life: read the folders it is sent into the index, a batch at a time;
    send back the warnings that gave."""
    import pickle

    runs_dir, names, now, index = pickle.load(sys.stdin.buffer)
    gc.disable()
    db = _open(index)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i in range(0, len(names), _BATCH):
            write(db, *_read_folders(runs_dir, names[i : i + _BATCH], now))
    said = [str(w.message) for w in caught]
    pickle.dump(said, sys.stdout.buffer, protocol=pickle.HIGHEST_PROTOCOL)


def _open(path: str) -> sqlite3.Connection:
    """The index database at ``path``, its tables made, of this version (another version's
    are dropped)."""
    if path != ":memory:":
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        try:
            if not stat.S_ISREG(os.lstat(path).st_mode):  # SQLite would follow it, or block
                raise sqlite3.DatabaseError(f"{path} is not a file")
        except FileNotFoundError:
            pass
    db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    try:
        if path != ":memory:":
            db.execute("PRAGMA journal_mode = WAL")  # reading never waits for a refresh
            db.execute("PRAGMA synchronous = OFF")  # a lost refresh is only done again
        with _transaction(db):
            try:
                found = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            except sqlite3.OperationalError:  # no such table: a new file
                found = None
            if found is None or found[0] != SCHEMA:  # made anew: its tables may differ
                db.execute("DROP TABLE IF EXISTS runs")
                db.execute("DROP TABLE IF EXISTS meta")
                for statement in _TABLES.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA,))
    except BaseException:
        db.close()
        raise
    return db


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


@contextmanager
def _no_collection() -> Iterator[None]:
    """Reading thousands of records makes millions of objects and no cycles: the garbage
    collector would only slow it down (by half)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _remove(path: str) -> None:
    for name in (path, path + "-wal", path + "-shm", path + "-journal"):
        try:
            os.unlink(name)
        except OSError:
            pass


_loads = json.loads
# One encoder for all: json.dumps() with options makes a new one at every call.
# ASCII: text that is not valid Unicode (a lone surrogate) is kept, escaped, as SQLite could not.
_dumps = json.JSONEncoder(separators=(",", ":")).encode
