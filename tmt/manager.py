"""``TmtManager``: read recorded runs back in scripts and notebooks."""

from __future__ import annotations

import heapq
import os
import re
import warnings
from itertools import islice

from .config import Configs, open_path
from .db import DbManager
from .entry import Entry, Metric, Series
from .errors import ArgumentError, EntryNotFound, ReadOnlyRunError, RerunError
from .fields import Fields
from .jsonfile import open_regular
from .query import select
from .record import STATUSES, check_tags
from .store import Store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from typing import Any

    from .rerun import RerunPlan
    from .sweeps import Sweep
    from .transfer import Moved


class TmtManager:
    """Pick a run, then read its metrics, results and code snapshot.

    The store read is the project's: the one in the nearest folder at or above the working
    folder that holds a ``.tmt`` folder (so a notebook in ``notebooks/`` finds it), with its
    ``.tmt/config.json`` if there is one. ``path`` opens another store (a project folder, a
    folder in one, or a store's own folder); ``config`` names a configuration file instead.
    The manager only reads: it never creates the store.
    ``db`` answers queries over all runs (see :class:`tmt.db.DbManager`).

    >>> manager = TmtManager()
    >>> manager.set_entry_by_name("some_experiment")     # doctest: +SKIP
    >>> for name, value in manager.get_metrics():        # doctest: +SKIP
    ...     print(f"{name}: {value}")
    """

    def __init__(
        self,
        entry: Entry | None = None,
        config: str | None = None,
        path: str | os.PathLike[str] | None = None,
    ) -> None:
        if config is not None and path is not None:
            raise ArgumentError("TmtManager: give config or path, not both")
        if path is not None:
            self.config = open_path(os.fspath(path))
        elif config is not None:
            self.config = Configs.load(config)
        else:
            self.config = Configs.find()
        self.store = Store(self.config)
        self.db = DbManager(self._entries, self._entry_by_id, self._newest)
        self.entry = entry

    @property
    def root(self) -> str:
        """The store's folder (the configuration's ``tmt_dir``)."""
        return self.store.root

    def has_runs(self) -> bool:
        """Whether anything was recorded in this store yet (a run, or a 0.1.x database)."""
        store = self.store
        return os.path.isdir(store.runs_dir) or os.path.isfile(store.legacy_path)

    def stamp(self) -> object:
        """A token that changes when runs are added to or removed from the store; cheap
        enough to poll every second (the terminal app does, to show new runs)."""
        return self.store.stamp()

    def set_entry_by_id(self, id: str) -> Entry:
        """Select the run with this id (or a unique prefix of it); raises ``EntryNotFound``
        if there is none."""
        entry = self.db.get_entry_by_id(id)
        if entry is None:
            from .refs import by_prefix

            entry = by_prefix(str(id), self._find)
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
        where: str | None = None,
        limit: int | None = None,
    ) -> list[Entry]:
        """Runs, newest first, filtered by experiment ``name`` (exact, or a compiled regex,
        searched), start time (``since``/``until``: a datetime, a date, seconds since the
        epoch, or text such as ``2026-11-01``, ``yesterday``, ``3d``), ``status`` (one or
        several), ``tags`` (runs having them all) and ``where``, a query such as
        ``"lr=0.3 acc>0.9 status:finished"`` (the language of ``tmt list --where``, see
        :mod:`tmt.query`; a bad one raises ``QueryError`` or ``UnknownFieldError``); at most
        ``limit`` of them.

        The time taken follows the runs looked at, not the store's size: an experiment's
        runs, or the newest few, are found through the store's index; only a query that
        compares parameters or metrics reads the cells of every run it may select.
        """
        from .dates import parse_when
        from .query import exact_name, needs_fields

        if limit is not None and limit <= 0:
            return []
        statuses = {status} if isinstance(status, str) else set(status or ())
        wanted = {tags} if isinstance(tags, str) else set(tags or ())
        exact = name if isinstance(name, str) else None
        named = exact_name(where)
        if exact is not None and named is not None and named != exact:
            return []
        candidates = self._stream(
            name=exact if exact is not None else named,
            since=None if since is None else parse_when(since),
            until=None if until is None else parse_when(until),
            statuses=statuses or None,
        )
        pattern = name if isinstance(name, re.Pattern) else None
        found: Iterator[Entry] = (
            entry
            for entry in candidates
            if (pattern is None or pattern.search(entry.name))
            and (not statuses or entry.status in statuses)
            and (not wanted or wanted.issubset(entry.tags))
        )
        if where and where.strip() and not needs_fields(where):
            from .query import parse

            test = parse(where)  # names, statuses, tags, dates: decided run by run
            found = (entry for entry in found if test(entry))
        elif where and where.strip():  # names are checked against every run selected
            found = iter(select(list(found), where))
        return list(islice(found, limit))

    def fields(self, runs: Iterable[Entry] | None = None) -> Fields:
        """The parameters and metrics of ``runs`` (default: all), by every name that reaches
        them: ``fields.resolve("lr")`` is ``"params.args.lr"`` (see :mod:`tmt.fields`)."""
        return Fields(self.runs() if runs is None else runs, live=True)

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

        return resolve(ref, self._find)

    def set_entry(self, ref: str) -> Entry:
        """Select the run ``ref`` names (see :meth:`run`)."""
        self.entry = self.run(ref)
        return self.entry

    def to_dataframe(
        self,
        runs: Iterable[Entry] | None = None,
        where: str | None = None,
        columns: str | Iterable[str] | None = None,
    ) -> Any:
        """A pandas DataFrame with one row a run (all runs, newest first, by default, or
        those ``where`` selects): id, name, status, started, ended, duration, tags, note,
        then ``params.*`` and ``metrics.*`` columns (nested values flattened with dots).

        ``columns`` picks parameters and metrics by any name that reaches them (``"lr"`` for
        ``params.args.lr``), each column named as given. An empty store gives the same
        columns, with no rows.
        """
        pd = _pandas("to_dataframe()")
        entries = self.runs(where=where) if runs is None else select(runs, where)
        picked: dict[str, str] | None = None
        if columns is not None:
            names = [columns] if isinstance(columns, str) else list(columns)
            fields = Fields(entries, live=True)
            # Without runs, no name can be checked: the columns are named as given.
            picked = {name: fields.resolve(name) if entries else name for name in names}
        rows = []
        for entry in entries:
            row: dict[str, Any] = {
                "id": entry.id,
                "name": entry.name,
                "status": entry.status,
                "started": _timestamp(pd, entry.start_time),
                "ended": None if entry.end_time is None else _timestamp(pd, entry.end_time),
                "duration": entry.duration,
                "tags": ",".join(entry.tags),
                "note": entry.note,
            }
            if picked is None:
                row.update(entry.cells())
            else:
                stored = entry.cells()  # the values stored, as the default frame has them
                row.update({name: stored.get(key) for name, key in picked.items()})
            rows.append(row)
        frame = pd.DataFrame(rows, columns=_columns(rows, picked))
        for column in ("started", "ended"):
            frame[column] = pd.to_datetime(frame[column])
        return frame

    def series_dataframe(
        self, runs: Iterable[Entry] | None = None, names: str | Iterable[str] | None = None
    ) -> Any:
        """The series logged by many runs (default: all) as one long pandas DataFrame, one
        row a logged value: id (the run's), name (the series'), step, value, time. Merge it
        with :meth:`to_dataframe` on ``id`` for the runs' parameters. ``names`` keeps only
        those series."""
        pd = _pandas("series_dataframe()")
        wanted = {names} if isinstance(names, str) else None if names is None else set(names)
        rows = [
            (entry.id, name, step, value, when)
            for entry in (self.runs() if runs is None else runs)
            for name, (steps, values, times) in entry.all_series().items()
            if wanted is None or name in wanted
            for step, value, when in zip(steps, values, times)
        ]
        return pd.DataFrame(rows, columns=["id", "name", "step", "value", "time"])

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

    def rerun(
        self,
        ref: str,
        *,
        current_code: bool = False,
        python: str | None = None,
        **overrides: Any,
    ) -> Entry:
        """Run the command that recorded run ``ref`` again and return the new run.

        The command runs from the same place in the project, with the code of the run's
        snapshot (copied to a scratch folder, removed afterwards; ``current_code=True`` runs
        the working tree instead) and the interpreter running this (or ``python``). Its run
        goes to this store, with ``rerun_of`` naming ``ref``'s id. Each ``NAME=value`` of
        ``overrides`` replaces the value of the flag ``--NAME`` in the recorded arguments, or
        adds it if the run's argparse parser has it: ``rerun("last", lr=0.2)``. Raises
        :class:`RerunError` if the run cannot be run again, or its command recorded no run.
        """
        result = self.rerun_plan(ref, overrides, current_code=current_code, python=python).execute(
            self.run
        )
        if result.run is None:
            raise RerunError(
                f"the command of run {result.original.id} exited with status "
                f"{result.returncode} and recorded no run of {result.original.name!r}"
            )
        return result.run

    def rerun_plan(
        self,
        ref: str,
        overrides: dict[str, Any] | None = None,
        *,
        current_code: bool = False,
        python: str | None = None,
    ) -> RerunPlan:
        """What :meth:`rerun` would do, without doing it: its ``describe()`` says where and
        what it would run, its ``notes`` how the interpreter differs from the run's, and its
        ``execute(manager.run)`` runs it, returning the exit status and the new runs."""
        from .rerun import plan

        values = {name: _flag_text(value) for name, value in (overrides or {}).items()}
        return plan(self.run(ref), self.config, values, current_code, python)

    # Exports for other tools -------------------------------------------------------------------
    def to_tensorboard(
        self, folder: str, runs: Iterable[Entry] | None = None, **filters: Any
    ) -> list[str]:
        """Write ``runs`` (default: those :meth:`runs` selects with ``filters``) as TensorBoard
        event files, ``folder/<name>/<id>`` a run: series as scalars with their steps and wall
        times, final metrics, parameters and status through the hparams plugin. Exporting a
        run again replaces its earlier export. Needs ``[tensorboard]``; returns the folders."""
        from .exports import to_tensorboard

        where = os.path.realpath(folder)
        store = os.path.realpath(self.config.tmt_dir)
        if where == store or where.startswith(store + os.sep):
            raise ArgumentError(
                f"{folder} is inside the store {store}: export to a folder of yours"
            )
        return to_tensorboard(self.runs(**filters) if runs is None else runs, folder)

    def to_mlflow(
        self,
        tracking_uri: str | None = None,
        experiment: str | None = None,
        runs: Iterable[Entry] | None = None,
        **filters: Any,
    ) -> dict[str, int]:
        """Make ``runs`` (default: those :meth:`runs` selects with ``filters``) MLflow runs,
        at ``tracking_uri`` (default: MLflow's), in ``experiment`` (default: one a run name):
        parameters, metrics with their whole history, tags (``tmt.run_id`` among them), note,
        status, times. A run exported before is not exported twice. Needs ``[mlflow]``;
        returns counts (``created``, ``replaced``, ``unchanged``)."""
        from .exports import to_mlflow

        return to_mlflow(self.runs(**filters) if runs is None else runs, tracking_uri, experiment)

    # Moving runs between stores --------------------------------------------------------------
    def pull(self, source: str, *, dry_run: bool = False, **options: Any) -> Moved:
        """Copy into this store the runs of ``source`` it lacks or holds older (a project
        folder or store on this machine, or ``[user@]host:path`` over ssh), with their
        results, curves, output and code snapshots; returns what moved (see
        :mod:`tmt.transfer`). ``options``: the filters of :meth:`runs` (``name``, ``since``,
        ``until``, ``status``, ``tags``, ``where``), ``progress(done, total)`` (bytes) and
        ``remote_python`` (default ``python3``). ``dry_run`` only says what would move."""
        return self._transfer(source, True, dry_run, options)

    def push(self, dest: str, *, dry_run: bool = False, **options: Any) -> Moved:
        """Copy this store's runs into ``dest`` where it lacks them or holds them older; as
        :meth:`pull`, the other way."""
        return self._transfer(dest, False, dry_run, options)

    def _transfer(self, other: str, pull: bool, dry_run: bool, options: Any) -> Moved:
        from .transfer import Endpoint, Filters, transfer

        progress = options.pop("progress", None)
        there = Endpoint.parse(other, options.pop("remote_python", None) or "python3")
        name = options.pop("name", None)
        if isinstance(name, str):
            name = re.compile(re.escape(name) + r"\Z")  # as runs(name=...): exactly
        status, tags = options.pop("status", None), options.pop("tags", None)
        filters = Filters(
            name,
            options.pop("since", None),
            options.pop("until", None),
            [status] if isinstance(status, str) else status,
            [tags] if isinstance(tags, str) else tags,
            options.pop("where", None),
        )
        if options:
            raise ArgumentError(f"unknown options: {', '.join(sorted(options))}")
        here = Endpoint.of_config(self.config)
        source, dest = (there, here) if pull else (here, there)
        try:
            return transfer(source, dest, filters, dry_run, progress)
        finally:
            there.close()

    # Sweeps ---------------------------------------------------------------------------------
    def sweeps(self) -> list[Sweep]:
        """The sweeps of this store, oldest first (see :mod:`tmt.sweeps`)."""
        from .sweeps import all_sweeps

        return all_sweeps(self.config.tmt_dir)

    def sweep(self, ref: str) -> Sweep:
        """The sweep whose id is, or begins with, ``ref``."""
        from .sweeps import Sweep

        return Sweep.load(self.config.tmt_dir, ref)

    @staticmethod
    def start_sweep(
        config: str | dict[str, Any] = "experiment_cfg.json",
        storage: str | None = None,
        config_path: str | None = None,
    ) -> Sweep:
        """Make a new sweep of ``config`` (a file, ML Tracking Ops's ``experiment_cfg.json``
        by default, or its content as a dict), to run its trials in the working folder: it
        goes to the store runs recorded there go to (``config_path`` as in
        :func:`tmt_recorder`), its Optuna study to ``storage`` (a database URL, or a journal
        file; by default a journal file in the sweep's folder). Run trials with its
        ``run(workers)``; other processes join it with ``TmtManager().sweep(id).run()``."""
        from .sweepconfig import SweepConfig
        from .sweeps import Sweep

        raw = config if isinstance(config, dict) else SweepConfig.read(config).raw
        store = Configs.load(config_path)
        return Sweep.create(store.tmt_dir, raw, os.getcwd(), storage)

    # Building runs from records -----------------------------------------------------------
    def _stream(
        self,
        name: str | None = None,
        since: float | None = None,
        until: float | None = None,
        statuses: set[str] | None = None,
        prefix: str | None = None,
        parent: str | None = None,
        run_id: str | None = None,
    ) -> Iterator[Entry]:
        """The runs the index finds (and 0.1.x ones), newest first, built one at a time: of
        experiment ``name``, started in ``since``..``until``, possibly with one of
        ``statuses`` (a run recorded running may have crashed), whose id starts with
        ``prefix`` or is ``run_id``, child runs of ``parent``."""
        store = self.store
        recorded = None
        if statuses is not None and statuses <= set(STATUSES):  # as recorded: a crashed run
            recorded = statuses - {"crashed"} | ({"running"} if "crashed" in statuses else set())
        rows = store.rows(
            name=name,
            since=since,
            until=until,
            statuses=recorded,
            prefix=prefix,
            parent=parent,
            run_id=run_id,
        )
        root, snapshots = store.root, self.config.snapshot_target
        folder = os.path.join(store.runs_dir, "")  # ids are folder names: joined by hand, fast
        indexed = (
            Entry(record, root, folder + record["id"], snapshots, cells, others)
            for record, others, cells in rows
        )
        legacy = [
            self._build(record)
            for record in reversed(store.legacy_records())
            if (name is None or record.get("name") == name)
            and (since is None or record.get("start_time", 0) >= since)
            and (until is None or record.get("start_time", 0) <= until)
            and (prefix is None or record["id"].startswith(prefix))
            and (parent is None or record.get("parent") == parent)
            and (run_id is None or record["id"] == run_id)
        ]
        if not legacy:
            return indexed
        return heapq.merge(indexed, legacy, key=lambda e: -e.start_time)

    def _find(
        self,
        name: str | None = None,
        prefix: str | None = None,
        limit: int | None = None,
        run_id: str | None = None,
    ) -> list[Entry]:
        """Runs newest first, for :mod:`tmt.refs`."""
        return list(islice(self._stream(name=name, prefix=prefix, run_id=run_id), limit))

    def _newest(self, name: str) -> Entry | None:
        found = self._find(name=name, limit=1)
        return found[0] if found else None

    def _entries(self) -> list[Entry]:
        """Every run of the store, 0.1.x ones included, oldest first."""
        found = list(self._stream())
        found.reverse()
        return found

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
        children = list(self._stream(parent=entry.id))
        children.reverse()  # oldest first
        return [entry, *children]


#: The columns every run has in :meth:`TmtManager.to_dataframe`, before its own.
FRAME_COLUMNS = ("id", "name", "status", "started", "ended", "duration", "tags", "note")


def _pandas(caller: str) -> Any:
    try:
        import pandas as pd
    except ImportError:
        raise ImportError(
            f"{caller} needs pandas: pip install 'ThatMetricTimeline[pandas]'"
        ) from None
    return pd


def _timestamp(pd: Any, seconds: float) -> Any:
    return pd.Timestamp(seconds, unit="s", tz="UTC").tz_convert(None)


def _columns(rows: list[dict[str, Any]], picked: dict[str, str] | None) -> list[str]:
    """The frame's columns: every run's facts, then the cells any row has (or those picked)."""
    columns = dict.fromkeys(FRAME_COLUMNS)
    if picked is not None:
        columns.update(dict.fromkeys(picked))
    else:
        for row in rows:
            columns.update(dict.fromkeys(row))
    return list(columns)


def _flag_text(value: Any) -> str:
    """A value given in Python as a command line gives it: ``true``/``false`` for a bool, the
    items of a list or tuple separated by spaces."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return " ".join(_flag_text(v) for v in value)
    return str(value)
