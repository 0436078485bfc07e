"""How the CLI writes values: times, durations, sizes and numbers, short and readable."""

from __future__ import annotations

import math
import time
from collections import Counter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..entry import Entry


def when(timestamp: float | None) -> str:
    """A start time as ``2026-11-22 14:05`` (local time)."""
    if not timestamp:
        return ""
    try:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))
    except (OverflowError, OSError, ValueError):
        return "?"


def duration(seconds: float | None) -> str:
    """``0.42s``, ``12.3s``, ``4m05s``, ``2h10m``, ``3d04h``; ``""`` when unknown."""
    if seconds is None:
        return ""
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def size(count: int) -> str:
    """Bytes as ``512 B``, ``3.4 KB``, ``12.0 MB``..."""
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"


def value(item: Any) -> str:
    """A metric or parameter, compact: floats to 4 significant digits, summaries by type."""
    if isinstance(item, bool) or item is None:
        return str(item)
    if isinstance(item, float):
        if math.isnan(item) or math.isinf(item):
            return str(item)
        return f"{item:.4g}"
    if isinstance(item, dict) and "$type" in item:
        shape = item.get("shape")
        if shape is not None:
            return f"{item['$type']}{tuple(shape)}"
        if "len" in item:
            return f"{item['$type']}(len={item['len']})"
        return str(item.get("$repr", item["$type"]))
    return str(item)


def main_metrics(entries: list[Entry], limit: int | None = None) -> list[str]:
    """The metrics most of ``entries`` have, most common first: the columns worth showing."""
    counts = Counter(name for e in entries for name in e.metrics)
    return [name for name, _ in counts.most_common(limit)]
