"""Run data as table cells, for the data frame, the command line and the terminal app: flat
``a.b.c`` keys, numbers to sort by, and values to compare."""

from __future__ import annotations

import json
import math
from collections import Counter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from .entry import Entry


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"opt": {"lr": 0.1}}`` as ``{"opt.lr": 0.1}``; summaries (``$type``) stay whole."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value and not any(k.startswith("$") for k in value):
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def fields(entry: Entry) -> dict[str, Any]:
    """A run's parameters and metrics as ``params.*`` and ``metrics.*`` cells."""
    cells = {f"params.{k}": v for k, v in flatten(entry.params).items()}
    cells.update({f"metrics.{k}": v for k, v in flatten(entry.metrics).items()})
    return cells


def number(value: object) -> float | None:
    """``value`` as a number to sort by, or ``None`` (not a number, a bool, or NaN); an int
    too large for a float is infinitely large."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return float(value) if value == value else None
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def by_metric(entries: Iterable[Entry], metric: str, highest_first: bool = True) -> list[Entry]:
    """``entries`` ordered by the value of ``metric``; runs without a number for it (not
    logged, NaN, not a number) come last, in the order given."""
    ranked: list[tuple[float, Entry]] = []
    rest: list[Entry] = []
    for entry in entries:
        value = number(entry.metrics.get(metric))
        if value is None:
            rest.append(entry)
        else:
            ranked.append((value, entry))
    ranked.sort(key=lambda pair: pair[0], reverse=highest_first)
    return [entry for _, entry in ranked] + rest


def same(a: object, b: object) -> bool:
    """Whether two cells hold the same value (nested data compared by content)."""
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


def main_metrics(entries: list[Entry], limit: int | None = None) -> list[str]:
    """The metrics most of ``entries`` have, most common first: the columns worth showing."""
    counts = Counter(name for e in entries for name in e.metrics)
    return [name for name, _ in counts.most_common(limit)]
