"""Faithful conversion between Python values and strict JSON, for metrics and other run data.

JSON has no NaN, no infinity and no decimals, and numpy scalars are not JSON at all. tmt keeps
its files strict JSON (any tool can read them) and marks the few values plain JSON cannot hold
with a one-key object, so that reading them back gives the same value:

- ``{"$float": "nan"}``, ``{"$float": "inf"}``, ``{"$float": "-inf"}``: non-finite floats;
- ``{"$decimal": "0.10"}``: a ``decimal.Decimal``, digit for digit;
- ``{"$repr": "..."}``: a value that has no JSON form, kept as its (shortened) ``repr``;
- ``{"$dict": {...}}``: a dict of the program's own that would read as one of these (one key,
  ``"$float"`` say), kept as it is.
"""

from __future__ import annotations

import math

from .record import MAX_DEPTH

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: Arrays with more elements than this are summarised instead of stored element by element.
MAX_ARRAY_ELEMENTS = 10_000
#: Ints longer than this are stored as a summary: Python will not write ints of more than
#: 4,300 digits as text (and a reader would not read them).
MAX_INT_BITS = 13_000
_MAX_REPR = 200

_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
#: The keys that make a one-key object a marker.
MARKERS = frozenset(("$float", "$decimal", "$repr", "$dict"))


def key_text(
    key: Any, data: dict[str, Any], done: dict[str, Any], where: str, problems: list[str]
) -> str:
    """A dict key that is not a string, as text: ``str`` of a number, else its repr; and, if
    that text is a key of ``data`` too (``1`` and ``"1"``), ``"1 (int)"``."""
    if isinstance(key, (int, float, bool)) or _is_numpy_scalar(key):
        text = str(key)
    else:
        text = _short_repr(key)
        problems.append(f"{where}: key {text} is not a string; stored as its repr")
    if text in data or text in done:
        text = f"{text} ({type(key).__name__})"
    return text


def escape_markers(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as written, wrapped if it would read back as a marker rather than a dict."""
    if len(data) == 1 and next(iter(data)) in MARKERS:
        return {"$dict": data}
    return data


#: What :func:`leaf` returns for a value that is not a single plain value.
NOT_A_LEAF: Any = object()


def leaf(value: Any, where: str, problems: list[str]) -> Any:
    """A single value as JSON data: ``None``, a bool, a number (marked if JSON cannot hold it:
    NaN, infinities, decimals, ints too long to write), text, a numpy scalar or 0-d array, a
    path, a date. Subclasses (an ``IntEnum``) become the plain value. Anything else, a
    container among them, is :data:`NOT_A_LEAF`. The one encoder of values, for metrics and
    parameters alike."""
    kind = type(value)
    if value is None or kind is str or kind is bool:
        return value
    if kind is int:
        return value if value.bit_length() <= MAX_INT_BITS else _huge(value, where, problems)
    if kind is float:
        return value if math.isfinite(value) else {"$float": _float_name(value)}
    if isinstance(value, (dict, list, tuple, set, frozenset)):
        return NOT_A_LEAF
    if isinstance(value, bool):  # subclasses of bool, int, float, str land here
        return bool(value)
    if isinstance(value, int):
        return leaf(int(value), where, problems)
    if isinstance(value, float):
        return leaf(float(value), where, problems)
    if isinstance(value, str):
        return str.__str__(value)  # the text itself: str() of a str enum is its name
    if kind.__name__ == "Decimal" and kind.__module__ in ("decimal", "_decimal", "_pydecimal"):
        return {"$decimal": str(value)}
    if _is_numpy_scalar(value) or _is_zero_dim(value):
        return leaf(value.item(), where, problems)
    if hasattr(value, "isoformat") and hasattr(value, "year"):  # date and datetime
        return value.isoformat()
    if hasattr(value, "__fspath__"):
        return str(value.__fspath__())
    return NOT_A_LEAF


def to_json(value: Any, where: str, problems: list[str]) -> Any:
    """Return ``value`` as plain JSON data; describe what could not be kept in ``problems``.

    ``where`` names the value in those descriptions (``"metrics['loss']"``). Never raises for
    an unstorable value: it is kept as ``{"$repr": ...}`` instead, so one odd value never costs
    a run its record. So is a container that contains itself, or that is nested more than
    :data:`tmt.record.MAX_DEPTH` deep (what a reader would not read back).
    """
    return _to_json(value, where, problems, set(), 0)


def _to_json(value: Any, where: str, problems: list[str], path: set[int], depth: int) -> Any:
    kind = type(value)
    if value is None or kind is str or kind is bool or kind is int or kind is float:
        return leaf(value, where, problems)  # the usual cases, first
    if isinstance(value, (dict, list, tuple, set, frozenset)):
        if id(value) in path:
            problems.append(f"{where}: contains itself; stored as its repr")
            return {"$repr": _short_repr(value)}
        if depth >= MAX_DEPTH - 1:  # the marker itself is one level deeper
            problems.append(f"{where}: nested more than {MAX_DEPTH} deep; stored as its repr")
            return {"$repr": _short_repr(value)}
        path.add(id(value))
        try:
            return _container(value, where, problems, path, depth + 1)
        finally:
            path.discard(id(value))
    plain = leaf(value, where, problems)
    if plain is not NOT_A_LEAF:
        return plain
    if hasattr(value, "tolist") and hasattr(value, "shape"):
        size = getattr(value, "size", None)
        size = size() if callable(size) else size  # torch's size is a method
        if isinstance(size, int) and size > MAX_ARRAY_ELEMENTS:
            problems.append(
                f"{where}: array of {size} elements is larger than {MAX_ARRAY_ELEMENTS}; "
                "stored as a summary"
            )
            return {"$repr": _summary(value)}
        try:
            return _to_json(value.tolist(), where, problems, path, depth)
        except Exception:  # a broken tolist() must not cost the run its record
            pass
    problems.append(f"{where}: a {kind.__name__} has no JSON form; stored as its repr")
    return {"$repr": _short_repr(value)}


def _container(value: Any, where: str, problems: list[str], path: set[int], depth: int) -> Any:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                key = key_text(key, value, out, where, problems)
            out[key] = _to_json(item, f"{where}[{key!r}]", problems, path, depth)
        return escape_markers(out)
    items = list(value)
    if isinstance(value, (set, frozenset)):
        try:
            items.sort()
        except TypeError:
            pass
    return [_to_json(item, f"{where}[{i}]", problems, path, depth) for i, item in enumerate(items)]


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


def from_json(value: Any) -> Any:
    """Undo :func:`to_json`'s markers: the inverse for every value that was storable."""
    if type(value) is dict:
        if len(value) == 1:
            ((key, item),) = value.items()
            if key == "$float" and item in _NON_FINITE:
                return _NON_FINITE[item]
            if key == "$decimal" and type(item) is str:
                from decimal import Decimal  # only when one is stored: decimal is slow to import

                try:
                    return Decimal(item)
                except (ArithmeticError, ValueError):  # not a number: shown as the text it is
                    return item
            if key == "$repr" and type(item) is str:
                return item
            if key == "$dict" and type(item) is dict:  # the program's own dict, as it was
                return {k: from_json(v) for k, v in item.items()}
        return {key: from_json(item) for key, item in value.items()}
    if type(value) is list:
        return [from_json(item) for item in value]
    return value


def _huge(value: int, where: str, problems: list[str]) -> dict[str, str]:
    problems.append(f"{where}: an int of {value.bit_length()} bits is too long; stored as its size")
    return {"$repr": f"<an int of {value.bit_length()} bits>"}


def _float_name(value: float) -> str:
    if math.isnan(value):
        return "nan"
    return "inf" if value > 0 else "-inf"


def _is_numpy_scalar(value: Any) -> bool:
    return (
        type(value).__module__ == "numpy"
        and hasattr(value, "item")
        and not hasattr(value, "__len__")
    )


def _is_zero_dim(value: Any) -> bool:
    shape = getattr(value, "shape", None)
    return shape is not None and len(tuple(shape)) == 0 and hasattr(value, "item")


def _summary(value: Any) -> str:
    shape = tuple(getattr(value, "shape", ()))
    dtype = getattr(value, "dtype", "?")
    return f"{type(value).__name__}(shape={shape}, dtype={dtype})"


def _short_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception as exc:  # a broken __repr__ is the user's bug, not a reason to fail
        text = f"<{type(value).__name__} with a failing repr: {exc!r}>"
    return text if len(text) <= _MAX_REPR else text[: _MAX_REPR - 1] + "…"
