"""``DbManager``: read-only queries over the runs of a store, as tmt 0.1.x named them."""

from __future__ import annotations

import re

from .dates import parse_when
from .errors import ArgumentError, ArgumentTypeError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import date, datetime
    from typing import Union

    from .entry import Entry

    DateLike = Union[datetime, date, int, float, str]


class DbManager:
    """Queries over every run of a store, 0.1.x ones included.

    Lists are in the order the runs started (a timeline: oldest first). Dates are ``datetime``
    objects (naive ones are local time), ``date`` objects (their midnight, local time),
    seconds since the epoch, or text as ``tmt list --since`` takes it (``2026-11-01``,
    ``yesterday``, ``3d``); they are compared with when runs started.
    """

    def __init__(
        self,
        entries: Callable[[], list[Entry]],
        by_id: Callable[[str], Entry | None],
        newest: Callable[[str], Entry | None] | None = None,
    ) -> None:
        self._all = entries  # every run, oldest first, read afresh at each call
        self._by_id = by_id
        self._newest = newest  # the newest run of an experiment, found without reading all

    def get_all_entries(self) -> list[Entry]:
        """Every run."""
        return self._all()

    def get_entry_by_id(self, id: str) -> Entry | None:
        """The run with this exact id, or ``None``."""
        return self._by_id(id)

    def get_entry_by_exact_name(self, name: str) -> Entry | None:
        """The newest run of the experiment ``name``, or ``None``."""
        if self._newest is not None:
            return self._newest(name)
        matches = [e for e in self._all() if e.name == name]
        return matches[-1] if matches else None

    def get_entries_by_name(self, name: str) -> list[Entry]:
        """Runs whose name contains ``name``."""
        return [e for e in self._all() if name in e.name]

    def get_entries_by_name_regex(self, regex: str) -> list[Entry]:
        """Runs whose name matches the regular expression ``regex`` anywhere."""
        try:
            pattern = re.compile(regex)
        except re.error as exc:
            raise ArgumentError(f"invalid regular expression {regex!r}: {exc}") from None
        return [e for e in self._all() if pattern.search(e.name)]

    def get_entries_between_dates(self, first: DateLike, second: DateLike) -> list[Entry]:
        """Runs started between ``first`` and ``second``, both included."""
        low, high = _seconds(first, "first"), _seconds(second, "second")
        return [e for e in self._all() if low <= _us(e.start_time) <= high]

    def get_entries_greater_than_date(self, date: DateLike) -> list[Entry]:
        """Runs started after ``date``."""
        limit = _seconds(date, "date")
        return [e for e in self._all() if _us(e.start_time) > limit]

    def get_entries_lower_than_date(self, date: DateLike) -> list[Entry]:
        """Runs started before ``date``."""
        limit = _seconds(date, "date")
        return [e for e in self._all() if _us(e.start_time) < limit]


def _us(seconds: float) -> float:
    """Seconds to the microsecond, the resolution of a ``datetime``, so that a run's own
    ``started`` compares equal to its start time."""
    return round(seconds, 6)


def _seconds(value: DateLike, argument: str) -> float:
    """``value`` (anything :func:`tmt.dates.parse_when` reads) in seconds, to the microsecond;
    an error names the ``argument`` it was given as."""
    try:
        return _us(parse_when(value))
    except (ArgumentError, ArgumentTypeError) as exc:
        raise type(exc)(f"{argument}: {exc}") from None
