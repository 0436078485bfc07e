"""Nested run data as flat ``a.b.c`` keys, for tables and data frames."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


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
