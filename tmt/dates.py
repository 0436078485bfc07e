"""Points in time as people type them: ``2026-11-01``, ``2026-11-01T14:30``, ``yesterday``,
``today``, ``now``, or an age such as ``3d``, ``12h``, ``30m``, ``2w`` (that long ago)."""

from __future__ import annotations

import re
import time
from datetime import date, datetime, timedelta

from .errors import ArgumentError, ArgumentTypeError

_AGE = re.compile(r"(\d+(?:\.\d+)?)\s*(s|m|h|d|w)", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_when(value: object, now: float | None = None) -> float:
    """Seconds since the epoch for ``value``: text as above, a ``datetime`` (naive = local
    time), a ``date`` (its local midnight), or a number of seconds since the epoch."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day).timestamp()
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()  # a numpy number: a column of seconds from pandas, say
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str):
        raise ArgumentTypeError(f"a date must be text, a datetime or a number, got {value!r}")
    text = value.strip().lower()
    now = time.time() if now is None else now
    today = datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0)
    if text == "now":
        return now
    if text == "today":
        return today.timestamp()
    if text == "yesterday":
        return (today - timedelta(days=1)).timestamp()
    age = _AGE.fullmatch(text)
    if age:
        return now - float(age.group(1)) * _UNITS[age.group(2).lower()]
    try:
        return datetime.fromisoformat(value.strip()).timestamp()
    except ValueError:
        raise ArgumentError(
            f"cannot read {value!r} as a date: use 2026-11-01, 2026-11-01T14:30, today, "
            "yesterday, or an age such as 3d, 12h, 30m, 2w"
        ) from None
