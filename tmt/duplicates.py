"""What happens when an experiment name is recorded again (the 0.1.x ``duplicate_strategy``).

By default a name recorded again is simply a new run of that experiment: its timeline grows.
"""

from __future__ import annotations

import enum

from .errors import ArgumentTypeError


class DuplicatePolicy(enum.Enum):
    """``AS_NEW_ENTRY`` (the default): a new run. ``AS_SUB_ENTRY``: a new run attached to an
    earlier run of the name as its parent. ``DONT_ALLOW``: refuse to run a name used before."""

    DONT_ALLOW = enum.auto()
    AS_SUB_ENTRY = enum.auto()
    AS_NEW_ENTRY = enum.auto()


class DuplicateStrategy:
    """A :class:`DuplicatePolicy`, and for ``AS_SUB_ENTRY`` the id of the parent run to use
    (by default the newest run of the name)."""

    __slots__ = ("parent_id", "policy")

    def __init__(
        self, policy: DuplicatePolicy = DuplicatePolicy.AS_NEW_ENTRY, parent_id: str = ""
    ) -> None:
        if not isinstance(policy, DuplicatePolicy):
            raise ArgumentTypeError(
                f"DuplicateStrategy: policy must be a DuplicatePolicy, got {policy!r}"
            )
        self.policy = policy
        self.parent_id = parent_id

    def __repr__(self) -> str:
        return f"DuplicateStrategy({self.policy}, parent_id={self.parent_id!r})"
