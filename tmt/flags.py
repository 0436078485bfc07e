"""The flags of a recorded command line, and its arguments with new values for some of them.

``lr=0.2`` replaces the value of ``--lr`` wherever the arguments give it (``--lr 0.1`` or
``--lr=0.1``), or adds ``--lr 0.2`` when the command's argparse parser has that flag. A name
matches a flag whatever its dashes: ``batch_size``, ``batch-size`` and ``--batch-size`` are one
flag, and so is the parser's name for it (its ``dest``). Switches take ``true`` or ``false``.
"""

from __future__ import annotations

import re

from .errors import ArgumentError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$", re.IGNORECASE)  # -1, -.5, -1e-3
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


class Option:
    """One flag of a command: its spellings, the name argparse keeps its value under, how
    many values it takes (``0`` for a switch, ``1``, a number, ``"?"``, ``"*"``, ``"+"``, or
    ``None`` when only the recorded arguments are known), and what a switch sets."""

    __slots__ = ("dest", "flags", "sets", "values")

    def __init__(
        self, flags: list[str], dest: str, values: int | str | None, sets: bool | None = None
    ) -> None:
        self.flags = flags
        self.dest = dest
        self.values = values
        self.sets = sets

    @property
    def shown(self) -> str:
        """The flag as a person would write it: its longest spelling."""
        positive = [f for f in self.flags if not f.startswith("--no-")]
        return max(positive or self.flags, key=len)

    def matches(self, name: str) -> bool:
        wanted = key(name)
        return wanted == key(self.dest) or any(key(f) == wanted for f in self.flags)


def key(name: str) -> str:
    """A flag's name as matched: no leading dashes, ``-`` as ``_``."""
    return name.lstrip("-").replace("-", "_")


def is_flag(arg: str) -> bool:
    """Whether an argument is a flag, as argparse sees it (``-1.5`` is a number, not one)."""
    return arg.startswith("-") and arg != "-" and arg != "--" and not _NUMBER.match(arg)


def options(args: list[str], parser: dict[str, Any] | None) -> list[Option]:
    """The flags of a command: its parser's (as recorded), then those only its arguments
    show (``--x`` or ``--x=...`` before any ``--``)."""
    found = []
    for item in (parser or {}).get("options") or []:
        if isinstance(item, dict) and isinstance(item.get("dest"), str):
            spellings = [f for f in item.get("flags") or [] if isinstance(f, str) and is_flag(f)]
            values = item.get("values")
            if spellings and (isinstance(values, (int, str)) and not isinstance(values, bool)):
                sets = item.get("sets")
                found.append(
                    Option(spellings, item["dest"], values, sets if sets in (True, False) else None)
                )
    for arg in args:
        if arg == "--":
            break
        if arg.startswith("--") and is_flag(arg):
            flag = arg.split("=", 1)[0]
            if not any(flag in o.flags for o in found):
                found.append(Option([flag], key(flag), None))
    return found


def override(
    args: list[str],
    values: dict[str, str],
    parser: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
) -> list[str]:
    """``args`` with each ``NAME=VALUE`` of ``values`` applied. A name that is no flag of the
    command raises :class:`ArgumentError`, naming the flags it has."""
    known = options(args, parser)
    for name, value in values.items():
        option = next((o for o in known if o.matches(name)), None)
        if option is None:
            raise ArgumentError(_unknown(name, known, parser, params))
        args = _replace(args, option, value)
    return args


def _unknown(
    name: str, known: list[Option], parser: dict[str, Any] | None, params: dict[str, Any] | None
) -> str:
    flags = ", ".join(sorted({o.shown for o in known})) or "none"
    positionals = [p for p in (parser or {}).get("positionals") or [] if isinstance(p, str)]
    if any(key(p) == key(name) for p in positionals):
        return (
            f"{name!r} is a positional argument of the command, not a flag; it cannot be "
            f"given by name (the command's flags: {flags})"
        )
    if params and any(key(p) == key(name) for p in params):
        return (
            f"{name!r} is a parameter set in code, not on the command line, so it cannot be "
            f"overridden (the command's flags: {flags})"
        )
    return (
        f"{name!r} is not a flag of the recorded command (its flags: {flags}); parameters "
        "set in code, not on the command line, cannot be overridden"
    )


def _replace(args: list[str], option: Option, value: str) -> list[str]:
    """``args`` without any occurrence of ``option``, then with it given ``value`` where it
    first was (or at the end, before a ``--``)."""
    out: list[str] = []
    at = None
    joined = False  # given as --flag=value
    bare = False  # given with no value: a switch, if the parser is not known
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            break
        name, eq, _ = arg.partition("=")
        if name in option.flags and is_flag(name):
            taken = 0 if eq else _taken(args, i + 1, option.values)
            if at is None:  # the new value is given as the first was
                at, joined, bare = len(out), bool(eq), not eq and taken == 0
            i += 1 + taken
            continue
        out.append(arg)
        i += 1
    if at is None:
        at = len(out)
    out[at:at] = _given(option, value, args, joined, bare)
    return out + args[i:]


def _taken(args: list[str], start: int, values: int | str | None) -> int:
    """How many of the arguments from ``start`` are the values of the flag before them."""
    rest = args[start:]
    if values == 0:
        return 0
    if isinstance(values, int):
        return min(values, len(rest))
    if values in ("*", "+", "...", "A..."):
        count = 0
        while count < len(rest) and not is_flag(rest[count]) and rest[count] != "--":
            count += 1
        return count
    return 1 if rest and not is_flag(rest[0]) and rest[0] != "--" else 0


def _given(option: Option, value: str, args: list[str], joined: bool, bare: bool) -> list[str]:
    """The arguments that give ``option`` the value ``value``."""
    used = [f for f in option.flags if any(a.partition("=")[0] == f for a in args)]
    flag = used[0] if used else option.shown
    if option.values == 0 or (option.values is None and bare):
        return _switch(option, value, flag)
    if (isinstance(option.values, int) and option.values > 1) or option.values in ("*", "+"):
        words = value.split()
        if isinstance(option.values, int) and len(words) != option.values:
            raise ArgumentError(
                f"{flag} takes {option.values} values, separated by spaces; got {value!r}"
            )
        if option.values == "+" and not words:
            raise ArgumentError(f"{flag} takes one value or more; got none")
        return [flag, *words]
    return [f"{flag}={value}"] if joined else [flag, value]


def _switch(option: Option, value: str, flag: str) -> list[str]:
    word = value.strip().lower()
    if word not in _TRUE + _FALSE:
        if option.sets is None and option.values == 0 and word.isdigit():  # a count: -v -v
            return [flag] * int(word)
        raise ArgumentError(f"{flag} is a switch: give it true or false, not {value!r}")
    on = word in _TRUE
    negative = [f for f in option.flags if f.startswith("--no-")]
    positive = [f for f in option.flags if f not in negative]
    if negative and positive:  # argparse.BooleanOptionalAction: --x and --no-x
        return [positive[0] if on else negative[0]]
    sets = True if option.sets is None else option.sets
    return [flag] if on == sets else []
