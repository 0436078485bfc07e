"""The search language of the terminal app's ``/`` prompt.

Plain words match run names (as text or a regular expression, ignoring case). ``key:value``
terms filter: ``status:failed``, ``tag:baseline``, ``name:resnet``, ``since:2026-11-01``,
``until:yesterday`` (dates as ``tmt list`` takes them: ``7d``, ``12h``, ``today``...).
Comparisons filter on metrics: ``acc>0.9``, ``loss<=0.1``, ``epochs=10``, ``lr!=0.1``.
"""

from __future__ import annotations

import operator
import re
import shlex

from ..cells import number
from ..dates import parse_when

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from ..entry import Entry

_COMPARISON = re.compile(r"([^<>=!:\s]+)\s*(>=|<=|!=|==|=|>|<)\s*(.+)")
_OPERATORS = {
    ">": operator.gt,
    "<": operator.lt,
    ">=": operator.ge,
    "<=": operator.le,
    "=": operator.eq,
    "==": operator.eq,
    "!=": operator.ne,
}
KEYS = ("status", "tag", "name", "since", "until")


class QueryError(ValueError):
    """The query cannot be read; the message says which term and why."""


def parse(text: str) -> Callable[[Entry], bool]:
    """A predicate over runs for the query ``text`` (every term must hold)."""
    try:
        terms = shlex.split(text)
    except ValueError as exc:
        raise QueryError(f"cannot read the query: {exc}") from None
    tests: list[Callable[[Entry], bool]] = []
    for term in terms:
        tests.append(_term(term))
    return lambda entry: all(test(entry) for test in tests)


def _term(term: str) -> Callable[[Entry], bool]:
    key, sep, value = term.partition(":")
    if sep and key.lower() in KEYS:
        if not value:
            raise QueryError(f"{term!r}: give a value after {key}:")
        key = key.lower()
        if key == "status":
            return lambda e: e.status == value.lower()
        if key == "tag":
            return lambda e: value in e.tags
        if key == "name":
            return _name(value)
        try:
            moment = parse_when(value)
        except ValueError as exc:
            raise QueryError(f"{term!r}: {exc}") from None
        if key == "since":
            return lambda e: e.start_time >= moment
        return lambda e: e.start_time <= moment
    match = _COMPARISON.fullmatch(term)
    if match:
        metric, op, raw = match.groups()
        compare = _OPERATORS[op]
        try:
            wanted: object = float(raw)
        except ValueError:
            wanted = raw

        def test(e: Entry) -> bool:
            value = e.metrics.get(metric, e.params.get(metric))
            if isinstance(wanted, float):
                found = number(value)
                return found is not None and bool(compare(found, float(wanted)))
            return bool(compare(str(value), str(wanted))) if value is not None else False

        return test
    return _name(term)


def _name(text: str) -> Callable[[Entry], bool]:
    try:
        pattern = re.compile(text, re.IGNORECASE)
    except re.error:
        pattern = re.compile(re.escape(text), re.IGNORECASE)
    return lambda e: pattern.search(e.name) is not None
