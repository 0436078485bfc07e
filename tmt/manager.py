"""``TmtManager``: read recorded runs back in scripts and notebooks."""

from __future__ import annotations

import os
import re
import warnings

from .config import Configs
from .db import DbManager
from .entry import Entry, Metric, Series
from .errors import EntryNotFound, ReadOnlyRunError
from .jsonfile import open_regular
from .record import check_tags
from .store import Store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from typing import Any


class TmtManager:
    """Pick a run, then read its metrics, results and code snapshot.

    ``config`` names a configuration file; by default ``.tmt/config.json`` of the working
    folder is used when it exists. The manager only reads: it never creates the store.
    ``db`` answers queries over all runs (see :class:`tmt.db.DbManager`).

    >>> manager = TmtManager()
    >>> manager.set_entry_by_name("some_experiment")     # doctest: +SKIP
    >>> for name, value in manager.get_metrics():        # doctest: +SKIP
    ...     print(f"{name}: {value}")
    """

    def __init__(self, entry: Entry | None = None, config: str | None = None) -> None:
        self.config = Configs.load(config)
        self.store = Store(self.config)
        self.db = DbManager(self._entries, self._entry_by_id)
        self.entry = entry

    @property
    def root(self) -> str:
        """The store's folder (the configuration's ``tmt_dir``)."""
        return self.store.root

    def has_runs(self) -> bool:
        """Whether anything was recorded in this store yet (a run, or a 0.1.x database)."""
        store = self.store
        return os.path.isdir(store.runs_dir) or os.path.isfile(store.legacy_path)

    def set_entry_by_id(self, id: str) -> Entry:
        """Select the run with this id (or a unique prefix of it); raises ``EntryNotFound``
        if there is none."""
        entry = self.db.get_entry_by_id(id)
        if entry is None:
            from .refs import by_prefix

            entry = by_prefix(str(id), self._entries())
            if entry is None:
                raise EntryNotFound(f"no run with id {id!r} in {self.store.root}")
        self.entry = entry
        return entry

    def set_entry_by_name(self, name: str) -> Entry:
        """Select the newest run of the experiment ``name``; raises ``EntryNotFound`` if none."""
        entry = self.db.get_entry_by_exact_name(name)
        if entry is None:
            raise EntryNotFound(f"no run named {name!r} in {self.store.root}")
        self.entry = entry
        return entry

    def results_paths(self) -> Iterator[tuple[str, str]]:
        """``(name, path)`` of each object the selected run saved, then of its sub-entries'."""
        for entry in self._with_children():
            for result in entry.results:
                yield result.name, result.path

    def load_results(self) -> Iterator[tuple[str, Any]]:
        """``(name, object)`` of each result, unpickled; see :meth:`results_paths`.

        A result saved with a ``custom_save`` function is yielded as its path, since only that
        function knows how to read it back; so is one that fails to unpickle, whatever the
        reason (a missing file, a class that no longer exists), with a warning.
        """
        import pickle

        for entry in self._with_children():
            for raw in entry.to_dict().get("results") or ():
                name, path = raw["name"], entry.resolve(raw["path"])
                if raw.get("saved_with", "pickle") != "pickle":
                    yield name, path
                    continue
                try:
                    with os.fdopen(open_regular(path, follow_symlinks=True), "rb") as f:
                        obj = pickle.load(f)
                except Exception as exc:  # unpickling runs arbitrary code: anything can fail
                    warnings.warn(
                        f"result {name!r} of run {entry.id} could not be unpickled "
                        f"({type(exc).__name__}: {exc}); yielding its path instead",
                        stacklevel=2,
                    )
                    obj = path
                yield name, obj

    def get_metrics(self) -> list[Metric]:
        """The selected run's metrics as ``(name, value)`` pairs."""
        return [Metric(name, value) for name, value in self._entry().metrics.items()]

    def get_series(self, name: str) -> Series:
        """The selected run's values of metric ``name`` logged with ``tmt_log``:
        ``steps, values, times = manager.get_series("loss")``."""
        return self._entry().series(name)

    def get_series_dataframe(self) -> Any:
        """The selected run's logged values as a pandas DataFrame (name, step, value, time)."""
        return self._entry().series_dataframe()

    def code_snapshot_path(self) -> str | None:
        """The folder holding the selected run's code snapshot (``None`` if it has none)."""
        return self._entry().snapshot_path

    # Many runs at once ---------------------------------------------------------------------
    def runs(
        self,
        name: str | re.Pattern[str] | None = None,
        since: Any = None,
        until: Any = None,
        status: str | Iterable[str] | None = None,
        tags: str | Iterable[str] | None = None,
    ) -> list[Entry]:
        """Runs, newest first, filtered by experiment ``name`` (exact, or a compiled regex,
        searched), start time (``since``/``until``: a datetime, a date, seconds since the
        epoch, or text such as ``2026-11-01``, ``yesterday``, ``3d``), ``status`` (one or
        several) and ``tags`` (runs having them all)."""
        from .dates import parse_when

        low = None if since is None else parse_when(since)
        high = None if until is None else parse_when(until)
        statuses = {status} if isinstance(status, str) else set(status or ())
        wanted = {tags} if isinstance(tags, str) else set(tags or ())
        found = []
        for entry in reversed(self._entries()):
            if name is not None and not (
                name.search(entry.name) if isinstance(name, re.Pattern) else entry.name == name
            ):
                continue
            if low is not None and entry.start_time < low:
                continue
            if high is not None and entry.start_time > high:
                continue
            if statuses and entry.status not in statuses:
                continue
            if wanted and not wanted.issubset(entry.tags):
                continue
            found.append(entry)
        return found

    def last(self, name: str | None = None) -> Entry:
        """The newest run (of experiment ``name``); raises ``EntryNotFound`` if there is none."""
        found = self.runs(name=name)
        if not found:
            what = f"no run named {name!r}" if name else "no runs"
            raise EntryNotFound(f"{what} in {self.store.root}")
        return found[0]

    def run(self, ref: str) -> Entry:
        """The run ``ref`` names: an id or a unique id prefix, ``last``, ``last~N``, an
        experiment name (its newest run) or ``NAME~N``. An ambiguous prefix is an error
        listing the candidates."""
        from .refs import resolve

        return resolve(ref, self._entries())

    def set_entry(self, ref: str) -> Entry:
        """Select the run ``ref`` names (see :meth:`run`)."""
        self.entry = self.run(ref)
        return self.entry

    def to_dataframe(self, runs: Iterable[Entry] | None = None) -> Any:
        """A pandas DataFrame with one row a run (all runs, newest first, by default): id,
        name, status, started, ended, duration, tags, note, then ``params.*`` and
        ``metrics.*`` columns (nested values flattened with dots)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError(
                "to_dataframe() needs pandas: pip install 'ThatMetricTimeline[pandas]'"
            ) from None
        from .cells import fields

        rows = []
        for entry in self.runs() if runs is None else runs:
            row = {
                "id": entry.id,
                "name": entry.name,
                "status": entry.status,
                "started": pd.Timestamp(entry.start_time, unit="s", tz="UTC").tz_convert(None),
                "ended": None
                if entry.end_time is None
                else pd.Timestamp(entry.end_time, unit="s", tz="UTC").tz_convert(None),
                "duration": entry.duration,
                "tags": ",".join(entry.tags),
                "note": entry.note,
            }
            row.update(fields(entry))
            rows.append(row)
        return pd.DataFrame(rows)

    # Changing the store -------------------------------------------------------------------
    def tag(self, ref: str, *tags: str) -> list[str]:
        """Add ``tags`` to a run; returns its tags. Safe beside other processes tagging it."""
        return self.store.annotate(self._annotatable(ref).id, add=check_tags(list(tags), "tag"))

    def untag(self, ref: str, *tags: str) -> list[str]:
        """Remove ``tags`` from a run; returns its tags."""
        return self.store.annotate(self._annotatable(ref).id, remove=tags)

    def note(self, ref: str, text: str) -> None:
        """Attach a note to a run (replacing any earlier note)."""
        self.store.annotate(self._annotatable(ref).id, note=str(text))

    def _annotatable(self, ref: str) -> Entry:
        entry = self.run(ref)
        if entry.legacy:
            raise ReadOnlyRunError(
                f"run {entry.id} lives in a tmt 0.1.x database, which is only read"
            )
        return entry

    def delete(self, refs: Iterable[str], force: bool = False) -> int:
        """Delete runs and the data only they used; returns the bytes freed. Running runs
        need ``force``."""
        from .maintenance import delete_runs

        entries = list({e.id: e for e in (self.run(r) for r in refs)}.values())
        return delete_runs(self.store, entries, force)

    def collect_garbage(self) -> int:
        """Remove what no run refers to any more; returns the bytes freed."""
        from .maintenance import collect

        return collect(self.store)

    def restore(self, ref: str, dest: str) -> int:
        """Copy a run's code snapshot to the new folder ``dest``; returns the files copied."""
        from .maintenance import restore_snapshot

        return restore_snapshot(self.run(ref), dest)

    # Building runs from records -----------------------------------------------------------
    def _entries(self) -> list[Entry]:
        """Every run of the store, 0.1.x ones included, oldest first."""
        return [self._build(record) for record in self.store.records()]

    def _entry_by_id(self, run_id: str) -> Entry | None:
        record = self.store.record(run_id)
        return None if record is None else self._build(record)

    def _build(self, record: dict[str, Any]) -> Entry:
        store = self.store
        run_dir = None if record.get("legacy") else store.run_dir(record["id"])
        return Entry(record, store.root, run_dir, self.config.snapshot_target)

    def _entry(self) -> Entry:
        if self.entry is None:
            raise EntryNotFound(
                "no run selected: call set_entry_by_id() or set_entry_by_name() first"
            )
        return self.entry

    def _with_children(self) -> list[Entry]:
        entry = self._entry()
        children = [e for e in self._entries() if e.parent == entry.id]
        return [entry, *children]
