"""A run's parameters: the recorded function's arguments, bound to their names, kept readable.

Plain values (numbers, strings, lists, dicts of them) are kept as they are. Anything bulky or
opaque is summarised, never stored whole: arrays, tensors and data frames by type, shape and
dtype; long lists by type and length; other objects by a short repr. An
``argparse.Namespace`` or a dataclass is expanded into its fields. Summarising never raises.
"""

from __future__ import annotations

from .jsonvalue import NOT_A_LEAF, escape_markers, key_text, leaf

TYPE_CHECKING = False
if TYPE_CHECKING:
    from inspect import Signature
    from typing import Any, Callable

_MAX_ITEMS = 100  # longer lists and dicts are summarised
_MAX_STRING = 1000
_MAX_REPR = 120
_MAX_DEPTH = 4


def signature_of(func: Callable[..., Any]) -> Signature | None:
    """The signature to bind calls of ``func`` with; ``None`` if it has none (some builtins)."""
    import inspect

    try:
        return inspect.signature(func)
    except (TypeError, ValueError):
        return None


def call_params(signature: Signature | None, args: tuple, kwargs: dict) -> dict[str, Any]:
    """The call's arguments by parameter name, defaults applied, as JSON data.

    ``self`` and ``cls`` are left out; ``*args`` and ``**kwargs`` appear under their names.
    """
    try:
        if signature is None:
            raise TypeError
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        values = dict(bound.arguments)
    except TypeError:  # the call itself is wrong; the function will say so
        values = {f"arg{i}": value for i, value in enumerate(args)}
        values.update(kwargs)
    return {name: summarise(value) for name, value in values.items() if name not in ("self", "cls")}


def summarise(value: Any, depth: int = 0) -> Any:
    """``value`` as bounded JSON data: verbatim if small and plain, else a summary."""
    try:
        return _summarise(value, depth)
    except Exception as exc:  # a summary must never fail a run
        return {"$type": type(value).__name__, "$error": f"cannot summarise: {exc!r}"[:_MAX_REPR]}


def _summarise(value: Any, depth: int) -> Any:
    kind = type(value)
    if kind is str:
        return value if len(value) <= _MAX_STRING else value[:_MAX_STRING] + "…"
    if not hasattr(value, "shape"):  # arrays are summarised below, not stored whole
        plain = leaf(value, "", [])
        if plain is not NOT_A_LEAF:
            return _summarise(plain, depth) if type(plain) is str else plain
    if depth >= _MAX_DEPTH:
        return {"$type": kind.__name__, "$repr": _short_repr(value)}
    shape = getattr(value, "shape", None)
    if shape is not None and not isinstance(value, (list, tuple, dict)):
        try:
            dims = [int(d) for d in shape]
        except TypeError:
            dims = None
        if dims == [] and hasattr(value, "item"):  # a 0-d array or a numpy scalar
            return _summarise(value.item(), depth)
        if dims is not None:
            summary: dict[str, Any] = {"$type": _qualname(kind), "shape": dims}
            dtype = getattr(value, "dtype", None)
            if dtype is not None and not callable(dtype):
                summary["dtype"] = str(dtype)
            elif hasattr(value, "dtypes"):  # a data frame: one dtype a column
                summary["columns"] = [str(c) for c in list(getattr(value, "columns", []))[:20]]
            return summary
    if isinstance(value, dict):
        if len(value) > _MAX_ITEMS:
            return {"$type": _qualname(kind), "len": len(value)}
        out: dict[str, Any] = {}
        for k, v in value.items():
            key = k if isinstance(k, str) else key_text(k, value, out, "", [])
            out[key] = _summarise(v, depth + 1)
        return escape_markers(out)
    if isinstance(value, (list, tuple, set, frozenset)):
        if len(value) > _MAX_ITEMS:
            return {"$type": _qualname(kind), "len": len(value)}
        return [_summarise(v, depth + 1) for v in value]
    if kind.__name__ == "Namespace" and kind.__module__ == "argparse":
        return {k: _summarise(v, depth + 1) for k, v in vars(value).items()}
    fields = getattr(kind, "__dataclass_fields__", None)
    if isinstance(fields, dict):
        return {k: _summarise(getattr(value, k, None), depth + 1) for k in fields}
    return {"$type": _qualname(kind), "$repr": _short_repr(value)}


def _qualname(kind: type) -> str:
    module = kind.__module__
    return (
        kind.__qualname__ if module in ("builtins", "__main__") else f"{module}.{kind.__qualname__}"
    )


def _short_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception as exc:
        text = f"<repr failed: {exc!r}>"
    return text if len(text) <= _MAX_REPR else text[: _MAX_REPR - 1] + "…"
