"""The names people give a run's parameters and metrics, and what each means among some runs.

A parameter recorded nested (``{"args": {"lr": 0.3}}``, from argparse or a dataclass) is the
cell ``params.args.lr``; it is reached by that name, by ``args.lr``, and by its leaf name ``lr``
when no other parameter or metric of the runs ends so. A metric is reached the same way. A
name that reaches nothing, or several cells, is an error naming the closest real names.
"""

from __future__ import annotations

import difflib
from collections import Counter

from .cells import same
from .errors import UnknownFieldError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

    from .entry import Entry

PARAMS, METRICS = "params.", "metrics."


class Fields:
    """The parameters and metrics a set of runs has, by every name that reaches them.

    ``live`` adds, for runs that have not ended (running, crashed), the series they logged
    (a metric a run still running will return, known so far by its last logged value).
    """

    def __init__(self, entries: Iterable[Entry], live: bool = False) -> None:
        cells: dict[str, None] = {}
        for entry in entries:
            cells.update(dict.fromkeys(entry.cells()))
            if live and entry.unended:
                cells.update(dict.fromkeys(METRICS + name for name in entry.latest()))
        #: Every cell, ``params.*`` then ``metrics.*``, in first-seen order.
        self.cells = sorted(cells, key=lambda key: not key.startswith(PARAMS))
        self._by_name: dict[str, list[str]] = {}
        for key in self.cells:
            short = key.partition(".")[2]
            names = {key, short}
            parts = short.split(".")
            names.update(".".join(parts[i:]) for i in range(1, len(parts)))
            for name in names:
                self._by_name.setdefault(name, []).append(key)

    def resolve(self, name: str) -> str:
        """The cell ``name`` means: its full name (``params.args.lr``), its name without the
        ``params.``/``metrics.`` prefix, or any dotted tail of it (``lr``) that one cell has.
        A metric's own name wins over a parameter's tail. Raises ``UnknownFieldError``."""
        key = self._reach(name)
        if key is not None:
            return key
        found = self._by_name.get(name, [])
        if found:
            options = ", ".join(self.short(k) for k in found)
            raise UnknownFieldError(
                f"{name!r} is ambiguous: it may be {options}; give one of those", found
            )
        close = self.close(name)
        raise UnknownFieldError(_unknown(name, close, self.names()), close)

    def _reach(self, name: str) -> str | None:
        """The one cell ``name`` reaches, or ``None`` (no cell, or several)."""
        found = self._by_name.get(name, [])
        if len(found) == 1:
            return found[0]
        exact = [k for k in found if k.partition(".")[2] == name]
        if len(exact) == 1:
            return exact[0]
        # A parameter and a metric of the same name: the metric, as runs are ranked by it.
        return next((k for k in exact if k.startswith(METRICS)), None)

    def close(self, name: str) -> list[str]:
        """The real names nearest to ``name``, closest first (for a typo's message)."""
        return difflib.get_close_matches(name, self.names(), n=3, cutoff=0.6)

    def names(self) -> list[str]:
        """Each cell by its shortest name that reaches it alone (``lr`` for ``args.lr``)."""
        return [self.short(key) for key in self.cells]

    def short(self, key: str) -> str:
        """The shortest name that reaches the cell ``key`` and no other."""
        parts = key.partition(".")[2].split(".")
        for i in range(len(parts) - 1, -1, -1):
            name = ".".join(parts[i:])
            if self._reach(name) == key:
                return name
        return key

    def columns(self, entries: Iterable[Entry]) -> list[str]:
        """The cells worth showing for ``entries``: their metrics, the most common first (a
        series a run not ended has logged counts as one), then the parameters that vary
        among them."""
        entries = list(entries)
        counts: Counter[str] = Counter()
        for e in entries:
            found = {k for k in e.cells() if k.startswith(METRICS)}
            if e.unended:
                found.update(METRICS + name for name in e.latest())
            counts.update(found)
        # Ties keep the order the cells were first seen in.
        order = {key: i for i, key in enumerate(self.cells)}
        metrics = sorted(counts, key=lambda key: (-counts[key], order.get(key, len(order))))
        return metrics + self.varying(entries)

    def varying(self, entries: Iterable[Entry]) -> list[str]:
        """The parameters whose values differ among ``entries`` (a run lacking one counts
        as differing): the columns that tell runs of a sweep apart."""
        rows = [entry.cells() for entry in entries]
        out = []
        for key in self.cells:
            if not key.startswith(PARAMS) or not rows:
                continue
            first = rows[0].get(key, _MISSING)
            for row in rows[1:]:
                other = row.get(key, _MISSING)
                # ``==`` first: it settles the usual case without encoding anything.
                if not (other == first and type(other) is type(first)) and not same(other, first):
                    out.append(key)
                    break
        return out


_MISSING = {"$missing": True}


def _unknown(name: str, close: list[str], names: list[str]) -> str:
    if close:
        return f"no parameter or metric named {name!r}; did you mean {', '.join(close)}?"
    if not names:
        return f"no parameter or metric named {name!r}: the runs have none"
    shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    return f"no parameter or metric named {name!r} (the runs have: {shown})"
