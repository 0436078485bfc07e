"""The query language of ``tmt list --where``, ``TmtManager.runs(where=...)`` and the terminal
app's ``/`` prompt: one language everywhere.

Terms are separated by spaces and must all hold. Plain words match run names (as text or a
regular expression, ignoring case). ``key:value`` terms filter: ``status:failed``,
``tag:baseline``, ``name:resnet``, ``sweep:3fa2`` (the trials of a sweep, by its id or the start
of it), ``since:2026-11-01``, ``until:yesterday`` (dates as
``tmt list --since`` takes them: ``7d``, ``12h``, ``today``...). Comparisons filter on
parameters and metrics by any name that reaches them (see :mod:`tmt.fields`): ``acc>0.9``,
``loss<=0.1``, ``lr=0.3``, ``args.lr!=0.1``, ``optimizer=adam``, ``amp=true``; ``name=X`` and
``name!=X`` compare the run's own name, exactly (a parameter called ``name`` is ``args.name``
or ``params.name``).
"""

from __future__ import annotations

import operator
import re
import shlex

from .cells import cell, numeric
from .dates import parse_when
from .errors import QueryError, UnknownFieldError
from .fields import Fields
from .record import STATUSES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from .entry import Entry

__all__ = ["KEYS", "QueryError", "exact_name", "needs_fields", "parse", "select"]

_COMPARISON = re.compile(r"([^<>=!:\s]+)\s*(>=|<=|!=|==|=|>|<)\s*(.*)")
_OPERATORS = {
    ">": operator.gt,
    "<": operator.lt,
    ">=": operator.ge,
    "<=": operator.le,
    "=": operator.eq,
    "==": operator.eq,
    "!=": operator.ne,
}
_ORDERING = (">", "<", ">=", "<=")
KEYS = ("status", "tag", "name", "sweep", "since", "until")


def parse(text: str, fields: Fields | None = None) -> Callable[[Entry], bool]:
    """A predicate over runs for the query ``text`` (every term must hold).

    ``fields`` are the parameters and metrics of the runs the query will be asked about:
    with them, ``lr`` reaches ``params.args.lr`` and a name that reaches nothing is an
    error naming the closest (``UnknownFieldError``); without them, names are taken as
    given. A term that cannot be read raises ``QueryError``, saying which and why.
    """
    tests = [_term(term, fields) for term in _terms(text)]
    return lambda entry: all(test(entry) for test in tests)


def select(entries: Iterable[Entry], where: str | None) -> list[Entry]:
    """The ``entries`` the query ``where`` selects (all of them for no query), in their
    order. Names are checked against those entries; with none, the query is only read, since
    a name cannot be checked against no runs (an empty selection is no typo)."""
    entries = list(entries)
    if not where or not where.strip():
        return entries
    test = parse(where, Fields(entries, live=True) if entries else None)
    return [entry for entry in entries if test(entry)]


def needs_fields(text: str | None) -> bool:
    """Whether the query ``text`` compares parameters or metrics: only then must a run's
    cells be read, and names be checked against all the runs selected, to decide."""
    return any(_field_of(term) is not None for term in _terms(text or ""))


def exact_name(text: str | None) -> str | None:
    """The experiment a ``name=X`` term of ``text`` asks for, if any: the store's index finds
    its runs without looking at the others."""
    for term in _terms(text or ""):
        match = _COMPARISON.fullmatch(term)
        if match and match.group(1) == "name" and match.group(2) in ("=", "==") and match.group(3):
            return match.group(3)
    return None


def _field_of(term: str) -> str | None:
    """The parameter or metric a term compares, if it does."""
    match = _COMPARISON.fullmatch(term)
    if match is None or match.group(1) == "name":
        return None
    return match.group(1)


def _terms(text: str) -> list[str]:
    """The terms of a query: split at spaces (quotes group words; backslashes are kept, for
    regular expressions), with a comparison written with spaces (``acc > 0.9``) made one."""
    lexer = shlex.shlex(text, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    lexer.escape = ""
    try:
        words = list(lexer)
    except ValueError as exc:
        raise QueryError(f"cannot read the query {text!r}: {exc}") from None
    terms: list[str] = []
    joining = False  # the last term ends with an operator: this word is its value
    for word in words:
        if joining or (terms and word[:1] in _OPERATOR_CHARS and ":" not in terms[-1]):
            terms[-1] += word
        else:
            terms.append(word)
        joining = terms[-1][-1:] in _OPERATOR_CHARS
    for term in terms:
        if term[:1] in _OPERATOR_CHARS:
            raise QueryError(f"{term!r}: give a parameter or metric before {term[:2].rstrip()}")
    return terms


_OPERATOR_CHARS = ("<", ">", "=", "!")


def _term(term: str, fields: Fields | None) -> Callable[[Entry], bool]:
    key, sep, value = term.partition(":")
    if sep and not _COMPARISON.fullmatch(term):
        return _keyed(term, key.lower(), value)
    match = _COMPARISON.fullmatch(term)
    if match:
        name, op, raw = match.groups()
        return _comparison(term, name, op, raw, fields)
    return _name(term)


def _keyed(term: str, key: str, value: str) -> Callable[[Entry], bool]:
    if key not in KEYS:
        known = ", ".join(f"{k}:" for k in KEYS)
        raise QueryError(f"{term!r}: no filter {key + ':'!r} (filters: {known})")
    if not value:
        raise QueryError(f"{term!r}: give a value after {key}:")
    if key == "status":
        status = value.lower()
        if status not in STATUSES:
            raise QueryError(f"{term!r}: no status {value!r} (statuses: {', '.join(STATUSES)})")
        return lambda e: e.status == status
    if key == "tag":
        return lambda e: value in e.tags
    if key == "name":
        return _name(value)
    if key == "sweep":
        return lambda e: str((e.sweep or {}).get("id", "")).startswith(value)
    try:
        moment = parse_when(value)
    except ValueError as exc:
        raise QueryError(f"{term!r}: {exc}") from None
    if key == "since":
        return lambda e: e.start_time >= moment
    return lambda e: e.start_time <= moment


def _comparison(
    term: str, name: str, op: str, raw: str, fields: Fields | None
) -> Callable[[Entry], bool]:
    if not raw:
        raise QueryError(f"{term!r}: give a value after {op}")
    if re.search(r"[<>=!]", raw):
        raise QueryError(
            f"{term!r}: cannot read {raw!r} as a value; separate terms with spaces "
            f"(e.g. 'acc>0.9 lr=0.3')"
        )
    if name == "name":
        return _exact_name(term, op, raw)
    look = _lookup(name) if fields is None else _cell_of(fields.resolve(name))
    compare = _OPERATORS[op]
    wanted = numeric(raw)
    if wanted is not None:
        target = wanted

        def by_number(e: Entry) -> bool:
            found = numeric(look(e))
            return found is not None and bool(compare(found, target))

        return by_number
    if op in _ORDERING:
        raise QueryError(f"{term!r}: {op} compares numbers, and {raw!r} is not one")
    truth = {"true": True, "false": False}.get(raw.lower())

    def textual(e: Entry) -> bool:
        found = look(e)
        if found is None:
            return False  # a run without the value is never compared (as with numbers)
        if isinstance(found, bool) and truth is not None:
            return bool(compare(found, truth))
        return bool(compare(str(found), raw))

    return textual


def _exact_name(term: str, op: str, raw: str) -> Callable[[Entry], bool]:
    if op in _ORDERING:
        raise QueryError(f"{term!r}: compare names with = or != (or search with name:TEXT)")
    if op == "!=":
        return lambda e: e.name != raw
    return lambda e: e.name == raw


def _cell_of(key: str) -> Callable[[Entry], object]:
    return lambda e: cell(e, key)


def _lookup(name: str) -> Callable[[Entry], object]:
    """The value ``name`` reaches in each run on its own (for a query made without the
    runs' fields): what it means may differ from run to run, and a run it reaches nothing
    in, or several cells, has no value."""

    def look(e: Entry) -> object:
        try:
            return cell(e, Fields([e], live=True).resolve(name))
        except UnknownFieldError:
            return None

    return look


def _name(text: str) -> Callable[[Entry], bool]:
    try:
        pattern = re.compile(text, re.IGNORECASE)
    except re.error:
        pattern = re.compile(re.escape(text), re.IGNORECASE)
    return lambda e: pattern.search(e.name) is not None
