"""Run references, as people write them: a run id or a unique prefix of one, ``last``,
``last~N`` (N runs before the last), an experiment name (its newest run), or ``NAME~N``."""

from __future__ import annotations

import re

from .errors import EntryNotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from .entry import Entry

_BACK = re.compile(r"(.+)~(\d+)")


class AmbiguousReference(EntryNotFound):
    """A reference matches several runs; the message lists them."""


def resolve(ref: str, runs: Callable[..., list[Entry]]) -> Entry:
    """The run ``ref`` names. ``runs(name=, prefix=, run_id=, limit=)`` gives the store's runs,
    newest first: of one experiment, whose id starts with ``prefix`` or is ``run_id``, at most
    ``limit`` of them."""
    if not isinstance(ref, str) or not ref.strip():
        raise EntryNotFound(f"a run reference must be a non-empty string, got {ref!r}")
    ref = ref.strip()
    exact = runs(run_id=ref, limit=1)
    if exact:
        return exact[0]
    base, back = ref, 0
    match = _BACK.fullmatch(ref)
    if match:
        base, back = match.group(1), int(match.group(2))
    if base == "last":
        return _back(runs(limit=back + 1), back, ref, "runs")
    same_name = runs(name=base, limit=back + 1)
    if same_name:
        return _back(same_name, back, ref, f"runs of {base!r}")
    if match is None:
        found = by_prefix(ref, runs)
        if found is not None:
            return found
    raise EntryNotFound(f"no run matches {ref!r} (an id, an id prefix, last, last~N or a name)")


def by_prefix(prefix: str, runs: Callable[..., list[Entry]]) -> Entry | None:
    """The one run whose id starts with ``prefix``; ``None`` if none does. Several are an
    ``AmbiguousReference`` that lists them."""
    found = runs(prefix=prefix) if prefix else []
    if len(found) > 1:
        listing = ", ".join(f"{e.id} ({e.name})" for e in found[:10])
        more = f" and {len(found) - 10} more" if len(found) > 10 else ""
        raise AmbiguousReference(
            f"{prefix!r} matches {len(found)} runs: {listing}{more}; give more of the id"
        )
    return found[0] if found else None


def _back(newest_first: list[Entry], back: int, ref: str, what: str) -> Entry:
    if back < len(newest_first):
        return newest_first[back]
    raise EntryNotFound(f"{ref!r}: there are only {len(newest_first)} {what}")
