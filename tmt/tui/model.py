"""What the terminal app shows, without urwid: runs, search, sort, marks, and each screen's data.

Every screen asks this model; the views only lay out what it returns, so all of it is tested
without a terminal.
"""

from __future__ import annotations

from ..cells import ordered
from ..fields import Fields
from ..manager import TmtManager
from ..query import parse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from ..entry import Entry


#: How many of the runs shown decide the columns of the first screen; the others are looked
#: at once it is drawn (see :meth:`RunsModel.complete`), so that a big store opens at once.
FIRST_SCREEN_RUNS = 500


class RunsModel:
    """The runs of one store, as the app lists them."""

    def __init__(self, config: str | None = None) -> None:
        self.manager = TmtManager(config=config)
        self.all: list[Entry] = []
        self.query = ""
        self._predicate: Callable[[Entry], bool] | None = None
        self.sort_key = "started"  # a fact (started, name) or a cell (params.*, metrics.*)
        self.reverse = False
        self.grouped: str | None = None  # "experiment" or "sweep": runs of one kept together
        self.marked: list[str] = []  # ids, in the order they were marked
        self.visible: list[Entry] = []
        self._fields: Fields | None = Fields(())
        #: Whether the columns were chosen among all the runs shown, or only the newest.
        self.complete_columns = True
        #: The cells shown as columns: the visible runs' metrics, then their varying params.
        self.columns: list[str] = []
        self.stamp: object = None  # the store's, when last read (see TmtManager.stamp)
        self.warnings: list[str] = []  # what reading the store warned about

    @property
    def store_exists(self) -> bool:
        return self.manager.has_runs()

    @property
    def fields(self) -> Fields:
        """The parameters and metrics of every run (worked out when first needed: a big
        store's first screen does without)."""
        if self._fields is None:
            self._fields = Fields(self.all, live=True)
        return self._fields

    def reload(self, quick: bool = False) -> None:
        """Read the store's runs again; ``quick``, choose the columns among the newest runs
        shown only, until :meth:`complete` is called."""
        self.stamp = self.manager.stamp()
        self.all = self.manager.runs()  # newest first
        self._fields = None
        if self.marked:
            known = {e.id for e in self.all}
            self.marked = [i for i in self.marked if i in known]
        self._refresh(quick)

    def complete(self) -> bool:
        """Choose the columns among all the runs shown, if only the newest decided them;
        whether that changed anything."""
        if self.complete_columns:
            return False
        before = self.columns
        self._fields = None  # those of the newest runs only
        self._refresh()
        return self.columns != before

    def store_changed(self) -> bool:
        """Whether runs were added or removed since the last reload (cheap: one stat)."""
        return self.manager.stamp() != self.stamp

    def search(self, text: str) -> None:
        """Apply the query ``text``; raises ``QueryError`` or ``UnknownFieldError`` (and
        keeps the old query) if it cannot be read."""
        self.complete()
        self.check(text)
        predicate = parse(text, self.fields) if text.strip() else None
        self.query, self._predicate = text.strip(), predicate
        self._refresh()

    def check(self, text: str) -> int:
        """How many runs the query ``text`` matches; raises as :meth:`search` does."""
        if not text.strip():
            return len(self.all)
        self.complete()
        test = parse(text, self.fields)
        return sum(1 for e in self.all if test(e))

    def sort_keys(self) -> list[str]:
        return ["started", "name", *self.columns]

    def sort_label(self) -> str:
        """The sort key by the name people know it by (``lr``, not ``params.args.lr``)."""
        key = self.sort_key
        return key if key in ("started", "name") else self.fields.short(key)

    def next_sort(self) -> None:
        self.complete()
        keys = self.sort_keys()
        position = keys.index(self.sort_key) if self.sort_key in keys else -1
        self.sort_key = keys[(position + 1) % len(keys)]
        self._refresh()

    def reverse_sort(self) -> None:
        self.reverse = not self.reverse
        self._refresh()

    def toggle_group(self) -> None:
        """Group the runs of each experiment together, then (where runs came from sweeps)
        the trials of each sweep, then none."""
        if self.grouped is None:
            self.grouped = "experiment"
        elif self.grouped == "experiment" and any(e.sweep for e in self.all):
            self.grouped = "sweep"
        else:
            self.grouped = None
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
        return any(e.status == "running" for e in self.all if e.unended)

    def predecessor(self, entry: Entry) -> Entry | None:
        """The run of the same experiment started just before ``entry``."""
        older = [e for e in self.all if e.name == entry.name and e.start_time < entry.start_time]
        return older[0] if older else None

    def diff_pair(self, focused: Entry | None) -> tuple[Entry, Entry] | None:
        """The two runs ``d`` diffs: the two marked last (older first), or the focused run
        and the one before it of the same name."""
        marked = self.marked_entries()
        if len(marked) >= 2:
            a, b = sorted(marked[-2:], key=lambda e: e.start_time)
            return a, b
        if focused is not None:
            before = self.predecessor(focused)
            if before is not None:
                return before, focused
        return None

    def _refresh(self, quick: bool = False) -> None:
        runs = [e for e in self.all if self._predicate is None or self._predicate(e)]
        self.complete_columns = not quick or len(runs) <= FIRST_SCREEN_RUNS
        if self.complete_columns:
            self.columns = self.fields.columns(runs)
        else:  # the newest decide, and name them (the store's order is newest first)
            newest = runs[:FIRST_SCREEN_RUNS]
            self._fields = Fields(newest, live=True)
            self.columns = self._fields.columns(newest)
        if self.sort_key not in self.sort_keys():
            self.sort_key = "started"  # its column went with the runs that had it
        runs = ordered(runs, self.sort_key, highest_first=not self.reverse)
        if self.grouped:
            key = _group_key(self.grouped)
            order: dict[str, int] = {}
            for e in runs:
                order.setdefault(key(e), len(order))
            runs.sort(key=lambda e: order[key(e)])  # stable: keeps the order within groups
        self.visible = runs


def _group_key(grouped: str) -> Callable[[Entry], str]:
    if grouped == "sweep":
        return lambda e: str((e.sweep or {}).get("id", ""))
    return lambda e: e.name
