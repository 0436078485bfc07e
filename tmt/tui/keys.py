"""The terminal app's keys: one table of named commands, from which the help screen is built."""

from __future__ import annotations

KEY_BINDINGS: dict[str, dict[str, object]] = {
    "HELP": {"keys": ["?"], "help": "show all keys"},
    "QUIT": {"keys": ["q"], "help": "quit (from the list of runs)"},
    "BACK": {"keys": ["esc", "backspace"], "help": "go back"},
    "OPEN": {"keys": ["enter"], "help": "open the run: everything recorded, its curves"},
    "SEARCH": {
        "keys": ["/"],
        "help": "search: names, status:failed, tag:x, since:7d, "
        "until:..., acc>0.9 (Enter applies, Esc cancels)",
    },
    "CLEAR": {"keys": ["x"], "help": "clear the search"},
    "SORT": {"keys": ["s"], "help": "sort by the next column (date, name, metrics)"},
    "SORT_REVERSE": {"keys": ["S"], "help": "reverse the sort"},
    "GROUP": {"keys": ["g"], "help": "group the runs of each experiment together"},
    "MARK": {"keys": [" "], "help": "mark or unmark the run (space)"},
    "COMPARE": {"keys": ["c"], "help": "compare the marked runs: params, metrics, curves"},
    "DIFF": {
        "keys": ["d"],
        "help": "code diff of two marked runs (or a run and the one before it of the same name)",
    },
    "RELOAD": {"keys": ["r"], "help": "reload (the list also refreshes while runs run)"},
    "COPY": {"keys": ["y"], "help": "copy the run's snapshot path (terminal clipboard, OSC 52)"},
    "DOWN": {"keys": ["j"], "help": "down (also the arrow keys, PgDn, mouse wheel)"},
    "UP": {"keys": ["k"], "help": "up (also the arrow keys, PgUp, mouse wheel)"},
    "TOP": {"keys": ["home"], "help": "first row"},
    "BOTTOM": {"keys": ["end"], "help": "last row"},
}


def is_command(key: str, command: str) -> bool:
    return key in KEY_BINDINGS[command]["keys"]  # type: ignore[operator]


def key_label(key: str) -> str:
    return {
        " ": "space",
        "esc": "Esc",
        "enter": "Enter",
        "backspace": "Backspace",
        "home": "Home",
        "end": "End",
    }.get(key, key)
