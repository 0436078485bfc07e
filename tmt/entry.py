"""A recorded run as read back from the store: its record, paths resolved, values decoded."""

from __future__ import annotations

import json
import os
import warnings
from collections import namedtuple

from . import jsonfile
from .errors import ArgumentError, SeriesNotFound
from .jsonvalue import flatten, from_json
from .liveness import effective_status
from .record import SCHEMA_VERSION, absolute_path
from .runfolder import ORIGIN_NAME, read_run
from .seriesfile import SERIES_FILE, read_series

TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import datetime
    from typing import Any

__all__ = ["SCHEMA_VERSION", "Entry", "Metric", "Result", "Series"]
#: The largest package list, and the largest captured output, read back.
_MAX_PACKAGES = 16 * 1024 * 1024
_MAX_OUTPUT = 64 * 1024 * 1024

Metric = namedtuple("Metric", "name value")
Metric.__doc__ = "A metric of a run: unpacks as ``name, value``."

Result = namedtuple("Result", "name path")
Result.__doc__ = "An object saved with ``tmt_save``: unpacks as ``name, path`` (absolute)."

Series = namedtuple("Series", "steps values times")
Series.__doc__ = "A metric logged with ``tmt_log``: its steps, values and wall times, as lists."


class Entry:
    """One run of an experiment (an "entry" of the database, in tmt 0.1.x's words).

    Attributes mirror the record's fields; paths are absolute and metric values decoded
    (``nan``, ``Decimal``). ``status`` is ``running``, ``finished``, ``failed``, ``interrupted``
    or ``crashed`` (a run whose process is gone without finishing).
    """

    __slots__ = (
        "_cells",
        "_latest",
        "_metrics",
        "_others",
        "_record",
        "_root",
        "_snapshots",
        "_stored_cells",
        "_whole",
        "run_dir",
    )

    def __init__(
        self,
        record: dict[str, Any],
        root: str,
        run_dir: str | None = None,
        snapshots: str | None = None,
        cells: str | None = None,
        others: str | None = None,
    ) -> None:
        # Given ``cells`` (the flat cells as JSON, from the store's index), ``record`` holds
        # only the fields the index keeps (index.SUMMARY), some of them as the JSON text
        # ``others``: each part is parsed when first needed, and the fields the index does
        # not keep are read from the run's ``run.json``, so that listing many runs reads little.
        self._record = record
        self._others = others
        self._stored_cells = cells
        self._whole: dict[str, Any] | None = None if cells is not None else record
        self._root = root
        self._snapshots = snapshots  # where snapshots are, if not in the store's folder
        self._metrics: dict[str, Any] | None = None
        self._cells: dict[str, Any] | None = None
        self._latest: dict[str, tuple[int, float, float]] | None = None
        #: The run's own folder (its record, output, logged series); ``None`` for 0.1.x runs.
        self.run_dir = run_dir

    # Identity and description -------------------------------------------------------------
    @property
    def id(self) -> str:
        run_id: str = self._record["id"]  # record.check keeps only text (read for every row)
        return run_id

    @property
    def name(self) -> str:
        name: str = self._record.get("name", "")
        return name

    @property
    def description(self) -> str:
        return self._summary().get("description") or ""

    @property
    def parent(self) -> str | None:
        """The id of the run this one belongs to (a sub-entry or child run), if any."""
        return self._record.get("parent")

    @property
    def sweep(self) -> dict[str, Any] | None:
        """The sweep and trial this run was (``{"id", "trial"}``), if it was one."""
        sweep = self._summary().get("sweep")
        return dict(sweep) if isinstance(sweep, dict) else None

    @property
    def rerun_of(self) -> str | None:
        """The id of the run this one repeats (``tmt rerun``), if it does."""
        return self._summary().get("rerun_of")

    @property
    def origin(self) -> dict[str, Any] | None:
        """Where this run was copied from (``tmt pull``/``tmt push``): ``{"from", "pulled"}``,
        the store and when; ``None`` for a run recorded here."""
        if not self.run_dir:
            return None
        try:
            origin = jsonfile.read(os.path.join(self.run_dir, ORIGIN_NAME), 64 * 1024)
        except (OSError, ValueError):
            return None
        return origin if isinstance(origin, dict) and isinstance(origin.get("from"), str) else None

    @property
    def status(self) -> str:
        status = self._record.get("status")
        if status == "running":  # has its process died since? (what tells is in the others)
            return effective_status(self._summary())
        return status or "unknown"

    # Time ---------------------------------------------------------------------------------
    @property
    def start_time(self) -> float:
        """When the run started, in seconds since the epoch."""
        return float(self._record.get("start_time") or 0.0)

    @property
    def end_time(self) -> float | None:
        """When the run ended, in seconds since the epoch; ``None`` while running or crashed."""
        return self._record.get("end_time")

    @property
    def date_created(self) -> int:
        """When the run started, in whole seconds since the epoch (as in tmt 0.1.x)."""
        return int(self.start_time)

    @property
    def date_saved(self) -> int | None:
        """When the run's record was completed, in whole seconds since the epoch."""
        end = self.end_time
        return None if end is None else int(end)

    @property
    def started(self) -> datetime:
        """When the run started, as an aware local ``datetime``."""
        from datetime import datetime

        return datetime.fromtimestamp(self.start_time).astimezone()

    @property
    def duration(self) -> float | None:
        """Seconds from start to end; ``None`` until the run ends."""
        return self._record.get("duration")

    @property
    def elapsed(self) -> float:
        """Seconds the run has taken: its duration once ended; while it runs, the time since
        it started; for a run that crashed, the time to its last sign of life (the last value
        it logged, or its last heartbeat)."""
        duration = self.duration
        if duration is not None:
            return float(duration)
        if self.status == "running":
            import time

            return max(0.0, time.time() - self.start_time)
        last = [float(self._summary().get("heartbeat_time") or self.start_time)]
        last += [when for _, _, when in self.latest().values()]
        return max(0.0, max(last) - self.start_time)

    # What it produced ---------------------------------------------------------------------
    @property
    def metrics(self) -> dict[str, Any]:
        """The metrics the run returned, by name."""
        if self._metrics is None:
            metrics = from_json(self._full().get("metrics") or {})
            self._metrics = metrics if isinstance(metrics, dict) else {}
        return self._metrics

    @property
    def results(self) -> list[Result]:
        """The objects saved with ``tmt_save``, in the order they were saved."""
        return [
            Result(r["name"], self.resolve(r["path"]))
            for r in self._full().get("results") or ()
            if isinstance(r, dict) and "name" in r and "path" in r
        ]

    @property
    def snapshot_path(self) -> str | None:
        """The folder holding the snapshot of the code this run was started with; ``None``
        if it has none, or if its record names a folder outside the store (a crafted record
        must not make ``tmt diff`` read, nor ``tmt restore`` copy, the whole disk)."""
        path = self._full().get("snapshot")
        if not isinstance(path, str):
            return None
        path = self.resolve(path)
        real = os.path.realpath(path)
        for root in filter(None, (self._root, self._snapshots)):
            folder = os.path.realpath(root)
            if real != folder and real.startswith(folder.rstrip(os.sep) + os.sep):
                return path
        return None

    @property
    def params(self) -> dict[str, Any]:
        """The recorded function's arguments by name (bulky ones summarised)."""
        params = from_json(self._full().get("params") or {})
        return params if isinstance(params, dict) else {}

    @property
    def tags(self) -> list[str]:
        return list(self._record.get("tags") or ())

    @property
    def note(self) -> str:
        """A note added after the run (``tmt note``), or ``""``."""
        return self._record.get("note") or ""

    @property
    def git(self) -> dict[str, Any] | None:
        """``commit``, ``branch``, ``dirty``, ``untracked``, ``diff`` (a path), or ``None``."""
        git = self._full().get("git")
        if not git:
            return None
        git = dict(git)
        if git.get("diff") and self.run_dir:
            git["diff"] = absolute_path(git["diff"], self.run_dir)
        return git

    @property
    def environment(self) -> dict[str, Any]:
        """Python version and executable, platform, user; ``packages`` names the list's file."""
        return dict(self._full().get("environment") or {})

    def packages(self) -> dict[str, str]:
        """The distributions installed when the run started, name -> version."""
        path = (self._full().get("environment") or {}).get("packages")
        if not path:
            return {}
        try:
            listing = jsonfile.read(self.resolve(path), _MAX_PACKAGES).get("packages")
        except (OSError, ValueError, AttributeError):
            return {}
        if not isinstance(listing, dict):
            return {}
        return {k: v for k, v in listing.items() if isinstance(v, str)}

    def output(self, stream: str = "stdout") -> str:
        """What the run printed to ``stream`` (``"stdout"`` or ``"stderr"``), as captured
        (bytes that are not UTF-8 replaced); ``""`` if nothing, or nothing readable, was."""
        if stream not in ("stdout", "stderr"):
            raise ArgumentError(f"stream must be 'stdout' or 'stderr', got {stream!r}")
        if not self.run_dir:
            return ""
        try:
            return jsonfile.read_text(os.path.join(self.run_dir, f"{stream}.txt"), _MAX_OUTPUT)
        except OSError:
            return ""

    def cells(self) -> dict[str, Any]:
        """The run's parameters and metrics as flat ``params.*`` and ``metrics.*`` cells
        (``{"opt": {"lr": 0.1}}`` as ``params.opt.lr``), in the order recorded."""
        if self._cells is None:
            stored = self._parsed_cells()
            if stored is not None:
                self._cells = {
                    k: from_json(v) if type(v) is dict or type(v) is list else v
                    for k, v in stored.items()
                }
            else:
                cells = {f"params.{k}": v for k, v in flatten(self.params).items()}
                cells.update({f"metrics.{k}": v for k, v in flatten(self.metrics).items()})
                self._cells = cells
        return self._cells

    def stored_cells(self) -> dict[str, Any]:
        """The cells as the record stores them (non-finite floats, decimals and the like as
        their JSON markers: exact, for other tools)."""
        stored = self._parsed_cells()
        if stored is not None:
            return stored
        record = self._full()
        cells: dict[str, Any] = {}
        for part in ("params", "metrics"):
            values = record.get(part)
            if isinstance(values, dict):
                cells.update({f"{part}.{k}": v for k, v in flatten(values).items()})
        return cells

    def _summary(self) -> dict[str, Any]:
        """The record as the index keeps it, every field parsed (the whole record if read)."""
        if self._others is not None:
            try:
                others = json.loads(self._others)
            except ValueError:
                others = None
            self._others = None
            if type(others) is not dict:  # damaged: what the run's own file says
                others = {k: v for k, v in self._full().items() if k not in self._record}
            self._record.update(others)
        return self._record

    def _parsed_cells(self) -> dict[str, Any] | None:
        """The cells the index gave, parsed; ``None`` if it gave none, or none readable."""
        if self._stored_cells is None:
            return None
        try:
            stored = json.loads(self._stored_cells)
        except ValueError:
            stored = None
        if type(stored) is not dict:
            self._stored_cells = None  # damaged: read from the record instead
            return None
        return stored

    def _full(self) -> dict[str, Any]:
        """The whole record: read from ``run.json`` the first time, for a run read from the
        index (a run deleted meanwhile keeps what the index had)."""
        if self._whole is None:
            whole = None
            if self.run_dir is not None:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # the index warned when it read the run
                    whole = read_run(self.run_dir, self.id)
            self._whole = whole if whole is not None else self._summary()
        return self._whole

    @property
    def unended(self) -> bool:
        """Whether the run has no end: still running, or crashed. Only such a run lacks the
        final values of the series it logged (a run that ended has them among its metrics)."""
        return self._record.get("end_time") is None and not self.legacy

    def latest(self) -> dict[str, tuple[int, float, float]]:
        """The last value logged of each series, by name, as ``(step, value, time)``: what a
        run still running, or one that crashed, got to."""
        if self._latest is None:
            self._latest = {
                name: (steps[-1], values[-1], times[-1])
                for name, (steps, values, times) in self._read_series().items()
                if values
            }
        return self._latest

    def series_names(self) -> list[str]:
        """The metrics logged with ``tmt_log``."""
        names = self._summary().get("series")
        return list(names) if names else list(self._read_series())

    def all_series(self) -> dict[str, Series]:
        """Every series the run logged that can be read back, by name (a run whose
        ``metrics.csv`` is gone, or was never written, has none)."""
        return {name: Series(*values) for name, values in self._read_series().items()}

    def series(self, name: str) -> Series:
        """The values of metric ``name`` logged with ``tmt_log``; raises ``KeyError`` if none."""
        found = self._read_series()
        if name not in found:
            known = ", ".join(sorted(found)) or "none"
            raise SeriesNotFound(f"run {self.id} logged no series {name!r} (logged: {known})")
        return Series(*found[name])

    def series_dataframe(self) -> Any:
        """Every logged value as a pandas DataFrame: columns name, step, value, time."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError(
                "series_dataframe() needs pandas: pip install 'ThatMetricTimeline[pandas]'"
            ) from None
        rows = [
            (name, step, value, when)
            for name, (steps, values, times) in self._read_series().items()
            for step, value, when in zip(steps, values, times)
        ]
        return pd.DataFrame(rows, columns=["name", "step", "value", "time"])

    def _read_series(self) -> dict[str, tuple[list[int], list[float], list[float]]]:
        if not self.run_dir:
            return {}
        return read_series(os.path.join(self.run_dir, SERIES_FILE))

    @property
    def error(self) -> dict[str, str] | None:
        """For a failed or interrupted run: the exception's ``type``, ``message``, ``traceback``."""
        return self._full().get("error")

    @property
    def argv(self) -> list[str]:
        return list(self._full().get("argv") or ())

    @property
    def cwd(self) -> str | None:
        """The working folder the run started in."""
        cwd = self._full().get("cwd")
        return cwd if isinstance(cwd, str) else None

    @property
    def command(self) -> dict[str, Any] | None:
        """How the run's process was started (see :mod:`tmt.command`), if it was recorded."""
        command = self._full().get("command")
        return dict(command) if isinstance(command, dict) else None

    @property
    def host(self) -> str:
        host: str = self._summary().get("host", "")
        return host

    @property
    def pid(self) -> int | None:
        return self._summary().get("pid")

    @property
    def legacy(self) -> bool:
        """Whether the run comes from a tmt 0.1.x ``tmt_db.json``."""
        return bool(self._record.get("legacy"))

    # Conversions --------------------------------------------------------------------------
    def resolve(self, path: str) -> str:
        """The absolute path for a path as the record stores it (relative to ``tmt_dir``)."""
        return absolute_path(path, self._root)

    def to_dict(self) -> dict[str, Any]:
        """The record as stored, with the status as shown (``crashed`` where it applies)."""
        data = dict(self._full())
        data["status"] = effective_status(data)
        return data

    def short_str(self) -> str:
        started = f"{self.started:%Y-%m-%d %H:%M:%S}"
        return f"Entry with id {self.id}, name {self.name}, started {started}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Entry) and self._full() == other._full()

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"<Entry {self.id} {self.name!r} {self.status}>"
