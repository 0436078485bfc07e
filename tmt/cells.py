"""Run data as table cells, for the data frame, the command line and the terminal app: flat
``a.b.c`` keys, numbers to sort by, and values to compare."""

from __future__ import annotations

import json
import math

from . import display
from .jsonvalue import flatten as flatten  # here for the front ends

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from .entry import Entry


def fields(entry: Entry) -> dict[str, Any]:
    """A run's parameters and metrics as ``params.*`` and ``metrics.*`` cells."""
    return entry.cells()


def number(value: object) -> float | None:
    """``value`` as a number to sort by, or ``None`` (not a number, a bool, or NaN); an int
    too large for a float is infinitely large."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return float(value) if value == value else None
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def cell(entry: Entry, key: str) -> Any:
    """The value of cell ``key`` (``params.*``/``metrics.*``) for ``entry``, ``None`` if it
    has none; for a run that has not ended (running, crashed), a metric it has not returned
    is the last value it logged of that series (how far it got)."""
    cells = entry.cells()
    if key in cells:
        return cells[key]
    if key.startswith("metrics.") and entry.unended:
        latest = entry.latest().get(key[len("metrics.") :])
        if latest is not None:
            return latest[1]
    return None


#: What runs are ordered by besides parameters and metrics, and whether highest comes first.
FACTS = {"started": True, "duration": True, "name": False}


def ordered(entries: Iterable[Entry], key: str, highest_first: bool = True) -> list[Entry]:
    """``entries`` ordered by ``key``: a cell (see :func:`ranked`), or ``started`` (newest
    first), ``duration`` (longest first, runs not ended last), ``name`` (A to Z);
    ``highest_first=False`` reverses."""
    if key not in FACTS:
        return ranked(entries, key, highest_first)
    reverse = FACTS[key] == highest_first
    if key == "name":
        return sorted(entries, key=lambda e: e.name.lower(), reverse=reverse)
    if key == "started":
        return sorted(entries, key=lambda e: e.start_time, reverse=reverse)
    timed = [e for e in entries if e.duration is not None]
    rest = [e for e in entries if e.duration is None]
    return sorted(timed, key=lambda e: e.duration or 0.0, reverse=reverse) + rest


def shown(entry: Entry, key: str) -> str:
    """Cell ``key`` of ``entry`` as tables show it; a metric a run that has not ended has not
    returned is its last logged value, with the step (``0.913 @29``)."""
    found = cell(entry, key)
    if found is None:
        return ""
    if key not in entry.cells():
        step = entry.latest()[key[len("metrics.") :]][0]
        return f"{display.value(found)} @{step}"
    return display.value(found)


def shown_duration(entry: Entry) -> str:
    """A run's duration as tables show it; for a run still running the time so far
    (``4m05s…``), for one that crashed the time to its last sign of life."""
    if entry.duration is not None:
        return display.duration(entry.duration)
    took = display.duration(entry.elapsed)
    return f"{took}…" if entry.status == "running" else took


def ranked(entries: Iterable[Entry], key: str, highest_first: bool = True) -> list[Entry]:
    """``entries`` ordered by cell ``key``. A metric ranks numbers: finished runs first, then
    runs not finished (a running run's last logged value is no result yet). A parameter
    ranks numbers, then text (``adam`` before ``sgd``). Runs without a value to rank (none,
    NaN, a metric that is not a number) come last, in the order given."""
    numbers: tuple[list[tuple[float, Entry]], ...] = ([], [])
    texts: tuple[list[tuple[str, Entry]], ...] = ([], [])
    rest: list[Entry] = []
    metric = key.startswith("metrics.")
    for entry in entries:
        found = cell(entry, key)
        late = int(metric and entry.status != "finished")
        value = numeric(found)
        if value is not None:
            numbers[late].append((value, entry))
        elif not metric and found is not None and not isinstance(found, (dict, list)):
            texts[late].append((str(found), entry))
        else:
            rest.append(entry)
    out: list[Entry] = []
    for group in (0, 1):
        numbers[group].sort(key=lambda pair: pair[0], reverse=highest_first)
        texts[group].sort(key=lambda pair: pair[0], reverse=not highest_first)
        out += [e for _, e in numbers[group]] + [e for _, e in texts[group]]
    return out + rest


def numeric(value: object) -> float | None:
    """``value`` as a number to compare or rank by: a number (see :func:`number`), or text
    that reads as one (a flag parsed without ``type=`` is stored as text)."""
    found = number(value)
    if found is not None or not isinstance(value, str):
        return found
    try:
        parsed = float(value)
    except ValueError:
        return None
    return parsed if parsed == parsed else None


def same(a: object, b: object) -> bool:
    """Whether two cells hold the same value: numbers by value (``1`` and ``1.0`` are the
    same), nested data by content."""
    x, y = number(a), number(b)
    if x is not None and y is not None:
        return x == y
    return _key(a) == _key(b)


def _key(value: object) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def compare(entries: list[Entry]) -> list[tuple[str, list[Any], bool]]:
    """Runs side by side: for each parameter and metric any of them has, in first-seen
    order, ``(key, the runs' values, whether they differ)``."""
    columns = [fields(e) for e in entries]
    keys: dict[str, None] = {}
    for column in columns:
        keys.update(dict.fromkeys(column))
    rows = []
    for key in keys:
        values = [c.get(key) for c in columns]
        rows.append((key, values, any(not same(v, values[0]) for v in values)))
    return rows
