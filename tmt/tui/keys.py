"""The terminal app's keys: one table of named commands, the only place a key is bound.

The app and its screens ask :func:`command` what a key means and act on the command's name;
the help screen is built from the same table, so what it says is what the keys do.
"""

from __future__ import annotations

from typing import NamedTuple


class Binding(NamedTuple):
    """The keys of a command, what it does, and where: ``""`` on the screens, ``"search"``
    in the ``/`` prompt (where other keys are typed into the query)."""

    keys: tuple[str, ...]
    help: str
    context: str = ""


KEY_BINDINGS: dict[str, Binding] = {
    "HELP": Binding(("?",), "show all keys"),
    "QUIT": Binding(("q",), "quit (from the list of runs)"),
    "BACK": Binding(("esc", "backspace"), "go back"),
    "OPEN": Binding(("enter",), "open the run: everything recorded, its curves"),
    "SEARCH": Binding(("/",), "search: names, status:failed, tag:x, since:7d, until:..., acc>0.9"),
    "APPLY": Binding(("enter",), "apply the search", "search"),
    "CANCEL": Binding(("esc",), "leave the search as it was", "search"),
    "CLEAR": Binding(("x",), "clear the search"),
    "SORT": Binding(("s",), "sort by the next column (date, name, metrics)"),
    "SORT_REVERSE": Binding(("S",), "reverse the sort"),
    "GROUP": Binding(("g",), "group the runs of each experiment together; again: of each sweep"),
    "MARK": Binding((" ",), "mark or unmark the run (space)"),
    "COMPARE": Binding(("c",), "compare the marked runs: params, metrics, curves"),
    "DIFF": Binding(
        ("d",), "code diff of two marked runs (or a run and the one before it of the same name)"
    ),
    "RELOAD": Binding(("r",), "reload (the list also refreshes while runs run)"),
    "COPY": Binding(("y",), "copy the command that runs the run again (tmt rerun ID)"),
    "COPY_PATH": Binding(("Y",), "copy the run's snapshot path"),
    "DOWN": Binding(("j", "down"), "down (also PgDn, the mouse wheel)"),
    "UP": Binding(("k", "up"), "up (also PgUp, the mouse wheel)"),
    "TOP": Binding(("home",), "first row"),
    "BOTTOM": Binding(("end",), "last row"),
}

#: Navigation commands as the keys urwid's list boxes understand.
MOVES = {"DOWN": "down", "UP": "up", "TOP": "home", "BOTTOM": "end"}


def _by_key() -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    for name, binding in KEY_BINDINGS.items():
        for key in binding.keys:
            other = found.setdefault((binding.context, key), name)
            if other != name:
                raise ValueError(f"key {key!r} is bound to both {other} and {name}")
    return found


_BY_KEY = _by_key()


def command(key: str, context: str = "") -> str | None:
    """The name of the command ``key`` gives in ``context``, or ``None``."""
    return _BY_KEY.get((context, key))


def key_label(key: str) -> str:
    """A key as the help screen names it."""
    return {
        " ": "space",
        "esc": "Esc",
        "enter": "Enter",
        "backspace": "Backspace",
        "home": "Home",
        "end": "End",
        "down": "↓",
        "up": "↑",
    }.get(key, key)
