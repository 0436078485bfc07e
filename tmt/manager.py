"""``TmtManager``: read recorded runs back in scripts and notebooks."""

from __future__ import annotations

import warnings

from .config import Configs
from .db import DbManager
from .entry import Metric, Series
from .errors import EntryNotFound
from .store import Store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

    from .entry import Entry


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
        self.db = DbManager(self.store)
        self.entry = entry

    def set_entry_by_id(self, id: str) -> Entry:
        """Select the run with this id; raises ``EntryNotFound`` if there is none."""
        entry = self.db.get_entry_by_id(id)
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
        function knows how to read it back; so is one that fails to unpickle (with a warning).
        """
        import pickle

        for entry in self._with_children():
            for raw in entry.to_dict().get("results") or ():
                name, path = raw["name"], entry.resolve(raw["path"])
                if raw.get("saved_with", "pickle") != "pickle":
                    yield name, path
                    continue
                try:
                    with open(path, "rb") as f:
                        obj = pickle.load(f)
                except (OSError, pickle.UnpicklingError, EOFError) as exc:
                    warnings.warn(
                        f"result {name!r} of run {entry.id} could not be unpickled "
                        f"({exc}); yielding its path instead",
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

    def _entry(self) -> Entry:
        if self.entry is None:
            raise EntryNotFound(
                "no run selected: call set_entry_by_id() or set_entry_by_name() first"
            )
        return self.entry

    def _with_children(self) -> list[Entry]:
        entry = self._entry()
        children = [e for e in self.store.entries() if e.parent == entry.id]
        return [entry, *children]
