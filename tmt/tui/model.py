"""What the terminal app shows, without urwid: runs, search, sort, marks, and each screen's data.

Every screen asks this model; the views only lay out what it returns, so all of it is tested
without a terminal.
"""

from __future__ import annotations

from ..cells import by_metric, main_metrics
from ..manager import TmtManager
from .query import parse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from ..entry import Entry


class RunsModel:
    """The runs of one store, as the app lists them."""

    def __init__(self, config: str | None = None) -> None:
        self.manager = TmtManager(config=config)
        self.all: list[Entry] = []
        self.query = ""
        self._predicate: Callable[[Entry], bool] | None = None
        self.sort_index = 0  # into sort_keys()
        self.reverse = False
        self.grouped = False
        self.marked: list[str] = []  # ids, in the order they were marked
        self.visible: list[Entry] = []
        self.metrics: list[str] = []
        self.warnings: list[str] = []  # what reading the store warned about

    @property
    def store_exists(self) -> bool:
        return self.manager.has_runs()

    def reload(self) -> None:
        self.all = self.manager.runs()  # newest first
        self.metrics = main_metrics(self.all, 6)
        known = {e.id for e in self.all}
        self.marked = [i for i in self.marked if i in known]
        self._refresh()

    def search(self, text: str) -> None:
        """Apply the query ``text``; raises ``QueryError`` (and keeps the old one) if bad."""
        predicate = parse(text) if text.strip() else None
        self.query, self._predicate = text.strip(), predicate
        self._refresh()

    def sort_keys(self) -> list[str]:
        return ["started", "name", *self.metrics]

    @property
    def sort_key(self) -> str:
        keys = self.sort_keys()
        return keys[self.sort_index % len(keys)]

    def next_sort(self) -> None:
        self.sort_index = (self.sort_index + 1) % len(self.sort_keys())
        self._refresh()

    def reverse_sort(self) -> None:
        self.reverse = not self.reverse
        self._refresh()

    def toggle_group(self) -> None:
        self.grouped = not self.grouped
        self._refresh()

    def toggle_mark(self, entry: Entry) -> None:
        if entry.id in self.marked:
            self.marked.remove(entry.id)
        else:
            self.marked.append(entry.id)

    def marked_entries(self) -> list[Entry]:
        by_id = {e.id: e for e in self.all}
        return [by_id[i] for i in self.marked if i in by_id]

    def any_running(self) -> bool:
        return any(e.status == "running" for e in self.all)

    def predecessor(self, entry: Entry) -> Entry | None:
        """The run of the same experiment started just before ``entry``."""
        older = [e for e in self.all if e.name == entry.name and e.start_time < entry.start_time]
        return older[0] if older else None

    def diff_pair(self, focused: Entry | None) -> tuple[Entry, Entry] | None:
        """The two runs ``d`` diffs: two marked ones (older first), or the focused run and the
        one before it of the same name."""
        marked = self.marked_entries()
        if len(marked) == 2:
            a, b = sorted(marked, key=lambda e: e.start_time)
            return a, b
        if focused is not None:
            before = self.predecessor(focused)
            if before is not None:
                return before, focused
        return None

    def _refresh(self) -> None:
        runs = [e for e in self.all if self._predicate is None or self._predicate(e)]
        key = self.sort_key
        if key == "started":
            runs.sort(key=lambda e: e.start_time, reverse=not self.reverse)
        elif key == "name":
            runs.sort(key=lambda e: (e.name.lower(), -e.start_time), reverse=self.reverse)
        else:
            runs = by_metric(runs, key, highest_first=not self.reverse)
        if self.grouped:
            order: dict[str, int] = {}
            for e in runs:
                order.setdefault(e.name, len(order))
            runs.sort(key=lambda e: order[e.name])  # stable: keeps the order within groups
        self.visible = runs
