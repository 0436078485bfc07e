"""Text and values from the store as people read them: safe, short, the same in the CLI and
the TUI.

Data never drives the terminal.
Run names, descriptions, tags, notes, keys, paths and captured output are data, and may hold
anything: an escape sequence that writes the clipboard (OSC 52) or retitles the window, a
carriage return that hides what came before, a right-to-left override that reorders a line.
What people read shows such characters escaped (``\\x1b``, ``\\r``, ``\\u202e``); JSON output
escapes them as JSON does, so it stays exact.
"""

from __future__ import annotations

import json
import math
import re
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: The colour each run status is shown in, by the CLI and the TUI alike (ANSI colour names).
STATUS_COLOURS = {
    "running": "cyan",
    "finished": "green",
    "failed": "red",
    "interrupted": "yellow",
    "terminated": "yellow",
    "crashed": "magenta",
    "pruned": "blue",
}

# Besides the C0 controls: DEL and the C1 controls, the line and paragraph separators, the
# bidirectional formatting characters (which reorder what follows them on screen), and the
# invisible ones that make two names look alike (zero-width space, word joiner, soft hyphen,
# byte order mark). The zero-width joiners stay: scripts and emoji need them.
_OTHERS = (
    "\x7f-\x9f\xad\u061c\u180e\u200b\u200e\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064"
    "\u2066-\u2069\ufeff"
)
_UNSAFE = re.compile(f"[\x00-\x1f{_OTHERS}]")
_UNSAFE_BUT_TAB = re.compile(f"[\x00-\x08\x0a-\x1f{_OTHERS}]")
_JSON_UNSAFE = re.compile(f"[{_OTHERS}]")  # JSON escapes the C0 controls itself
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object) -> str:
    """``text`` as one line a terminal shows as it is: control characters escaped."""
    text = text if isinstance(text, str) else str(text)
    if text.isprintable():  # the usual case, checked in C
        return text
    return _UNSAFE.sub(_escape, text)


def width(text: str) -> int:
    """The columns ``text`` takes on a terminal, shown as :func:`printable` shows it: two for
    a CJK character or an emoji (a whole ZWJ sequence or flag too), none for a combining
    accent. What aligns tables, since ``len`` counts code points, not columns."""
    if text.isascii() and text.isprintable():  # the usual case, checked in C
        return len(text)
    text = printable(text)
    if text.isascii():
        return len(text)
    from wcwidth import wcswidth  # here, not at the top: `import tmt` stays cheap

    # Never -1 (unmeasurable): the characters wcwidth cannot measure are those escaped above.
    return wcswidth(text)


def fit(text: str, columns: int, right: bool = False) -> str:
    """``text`` as :func:`printable` shows it, exactly ``columns`` columns wide: padded with
    spaces (on the left when ``right``), or cut to end in "…". A wide character the cut
    would split is left out whole and a space takes its place, so nothing ever overflows."""
    if columns < 1:
        return ""
    if text.isascii() and text.isprintable():  # the usual case: a column is a character
        used = len(text)
        if used > columns:
            text, used = text[: columns - 1] + "…", columns
    else:
        text = printable(text)
        used = width(text)
        if used > columns:
            text = _cut(text, columns - 1)
            used = width(text) + 1
            text += "…"
    padding = " " * (columns - used)
    return padding + text if right else text + padding


def _cut(text: str, columns: int) -> str:
    """The longest start of ``text`` no wider than ``columns``: it keeps the accents and
    joined characters that follow its last character, since they add no width."""
    from wcwidth import wcswidth

    # The width of a start of a text never shrinks as it grows: search for the longest.
    short, long = 0, len(text)
    while short < long:
        middle = (short + long + 1) // 2
        if wcswidth(text[:middle]) <= columns:
            short = middle
        else:
            long = middle - 1
    return text[:short]


def one_line(message: object) -> str:
    """A message (an error's, a warning's) as one line, its whitespace collapsed, safe to show;
    without a leading ``tmt:``, which whoever shows it adds."""
    text = " ".join(str(message).split())
    if text.startswith("tmt:"):
        text = text[4:].lstrip()
    return printable(text)


def printable_lines(text: str, overwrite: bool = False) -> list[str]:
    """The lines of a block of text (captured output, a traceback, a diff), each safe to
    show; tabs are kept. With ``overwrite`` (for captured output), a line rewritten in place
    with carriage returns (a progress bar) shows what a terminal would have shown last;
    otherwise a carriage return is escaped like any control character."""
    lines = []
    for line in text.split("\n"):
        if overwrite and "\r" in line:
            line = line.rstrip("\r").rsplit("\r", 1)[-1]
        lines.append(line if line.isprintable() else _UNSAFE_BUT_TAB.sub(_escape, line))
    return lines


def json_text(data: Any, **options: Any) -> str:
    """``data`` as strict JSON (UTF-8 text kept readable), with the characters a terminal
    would act on escaped as JSON escapes: the same data, safe to print. Values JSON cannot
    hold are written as the store writes them (``{"$float": "nan"}``, ``{"$decimal": ...}``)."""
    options.pop("default", None)
    try:  # the usual case: data as the store holds it, markers and all
        text = json.dumps(data, ensure_ascii=False, allow_nan=False, **options)
    except (ValueError, TypeError):  # decoded values: nan, inf, Decimal...
        from .jsonvalue import to_json

        text = json.dumps(
            to_json(data, "output", []), ensure_ascii=False, allow_nan=False, **options
        )
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def when(timestamp: float | None) -> str:
    """A start time as ``2026-11-22 14:05`` (local time)."""
    if not timestamp:
        return ""
    try:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))
    except (OverflowError, OSError, ValueError):
        return "?"


def duration(seconds: float | None) -> str:
    """``0.42s``, ``12.3s``, ``4m05s``, ``2h10m``, ``3d04h``; ``""`` when unknown."""
    if seconds is None:
        return ""
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def counted(count: int, noun: str) -> str:
    """``3 runs``, ``1 run``: a count and its noun (plural with an ``s``)."""
    return f"{count} {noun}{'s' * (count != 1)}"


def size(count: int) -> str:
    """Bytes as ``512 B``, ``3.4 KB``, ``12.0 MB``..."""
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"


def value(item: Any) -> str:
    """A metric or parameter, compact: floats to 4 significant digits, summaries by type."""
    if isinstance(item, bool) or item is None:
        return str(item)
    if isinstance(item, float):
        if math.isnan(item) or math.isinf(item):
            return str(item)
        return f"{item:.4g}"
    if isinstance(item, dict) and "$type" in item:
        shape = item.get("shape")
        if shape is not None:
            return f"{item['$type']}{tuple(shape)}"
        if "len" in item:
            return f"{item['$type']}(len={item['len']})"
        return str(item.get("$repr", item["$type"]))
    return str(item)
