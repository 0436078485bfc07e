"""Where the CLI writes, and how: colour only on a terminal (never with ``NO_COLOR``), tables
that fit its width, plain untruncated text when piped. Data goes to stdout, messages to
stderr. Table cells and messages never drive the terminal: their control characters are
shown escaped (see :mod:`tmt.display`); text given to :meth:`Console.print` must be escaped by
whoever builds it, since it may hold the console's own colours."""

from __future__ import annotations

import os
import shutil
import sys

from ..display import STATUS_COLOURS, fit, printable, width

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import TextIO

STYLES = {
    "bold": "1",
    "dim": "2",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "blue": "34",
    "magenta": "35",
    "cyan": "36",
}


class Console:
    """stdout and stderr with the terminal's facts: whether to colour, how wide it is."""

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.tty = _isatty(self.out)
        self.color = self.tty and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"
        self.width = shutil.get_terminal_size((100, 24)).columns if self.tty else 0

    def style(self, text: str, *names: str) -> str:
        if not self.color or not names:
            return text
        codes = ";".join(STYLES[n] for n in names if n in STYLES)
        return f"\033[{codes}m{text}\033[0m" if codes else text

    def status(self, status: str) -> str:
        """A run's status, escaped, in its colour."""
        return self.style(printable(status), STATUS_COLOURS.get(status, ""))

    def print(self, text: str = "") -> None:
        self.out.write(text + "\n")

    def message(self, text: str) -> None:
        self.err.write(printable(text) + "\n")

    def table(
        self,
        headers: Sequence[str],
        rows: Sequence[Sequence[str]],
        styles: Sequence[Sequence[tuple[str, ...]]] | None = None,
        right: Sequence[bool] | None = None,
        wrap: bool = False,
        hint: str | None = None,
    ) -> None:
        """Print ``rows`` under ``headers``, columns aligned (``right`` ones to the right) by
        the columns their text takes on screen, which is two for a CJK character or an emoji.
        Piped, nothing is ever cut. On a terminal, a cell is cut at 48 columns, and a table
        wider than the terminal has its widest columns cut, none below 16; if it is still too
        wide, the columns that do not fit are left out from the right and a line on stderr
        names them and how to see them: a wider terminal, or the options ``hint`` names
        (``"--json or --csv"``), or else piping the output. With ``wrap``, none is left out
        or cut to make room: the columns that do not fit follow in blocks under the first,
        each repeating the first column (the rows' names)."""
        headers = [printable(h) for h in headers]
        # The usual cell needs no escaping, which str.isprintable tells fastest.
        rows = [[c if c.isprintable() else printable(c) for c in row] for row in rows]
        columns = list(zip(headers, *rows))
        # Escaped, an ASCII cell is as wide as it is long: the usual case, told for a whole
        # column at once and padded in place, so that long listings cost no more than before.
        plain = ["".join(column).isascii() for column in columns]
        widths = [max(map(len if p else width, c)) for p, c in zip(plain, columns)]
        right = right or [False] * len(headers)
        if not self.width:
            blocks = [dict(enumerate(widths))]
            left_out: list[int] = []
        else:
            blocks, left_out = _blocks([min(w, _WIDEST) for w in widths], self.width, wrap)

        def line(
            block: dict[int, int], cells: Sequence[str], cell_styles: Sequence[tuple[str, ...]]
        ) -> str:
            parts = []
            for i, room in block.items():
                cell = cells[i]
                if plain[i] and len(cell) <= room:
                    cell = cell.rjust(room) if right[i] else cell.ljust(room)
                else:
                    cell = fit(cell, room, right[i])
                parts.append(self.style(cell, *cell_styles[i]) if cell_styles else cell)
            return "  ".join(parts).rstrip()

        lines = []  # written at once: a long listing is mostly calls to write otherwise
        for n, block in enumerate(blocks):
            if n:
                lines.append("")
            lines.append(line(block, headers, [("bold",)] * len(headers)))
            for r, row in enumerate(rows):
                lines.append(line(block, row, styles[r] if styles else []))
        self.out.write("\n".join(lines) + "\n")
        if left_out:
            names = ", ".join(headers[i] or f"#{i + 1}" for i in left_out)
            count = f"{len(left_out)} column" + ("s" if len(left_out) > 1 else "")
            other = f"use {hint}" if hint else "pipe the output"
            self.message(
                f"tmt: {count} did not fit in {self.width}: {names} "
                f"(widen the terminal, or {other})"
            )


#: On a terminal, a cell is cut at _WIDEST columns, and a table too wide for it cuts its
#: widest columns down to _NARROWEST before it leaves one out: less would show too little of
#: a name to tell it from the next.
_WIDEST, _NARROWEST = 48, 16


def _blocks(widths: list[int], room: int, wrap: bool) -> tuple[list[dict[int, int]], list[int]]:
    """How a table whose columns are ``widths`` wide fits ``room`` columns: its blocks, each
    the columns it shows (by index) and their widths; and the columns left out."""
    blocks = []
    todo = list(range(len(widths)))
    # Wrapped, a block shows the first column and at least one other, and a column is cut only
    # when it does not fit beside the first alone: the ends of names, cut, are often what
    # tells runs apart.
    least, narrowest = (min(2, len(todo)), _WIDEST) if wrap else (1, _NARROWEST)
    while True:
        fitted = _fitted([widths[i] for i in todo], room, least, narrowest)
        blocks.append(dict(zip(todo, fitted)))
        rest = todo[len(fitted) :]
        if not wrap or not rest:
            return blocks, rest
        todo = [0, *rest]


def _fitted(widths: list[int], room: int, least: int, narrowest: int) -> list[int]:
    """The widths of as many of the first ``widths`` as fit in ``room`` with two spaces between
    them, none cut below ``narrowest`` (unless fewer than ``least`` would fit), each cut as
    little as fits: the widest first, to one width."""
    count = len(widths)
    while count > least and sum(min(w, narrowest) for w in widths[:count]) + 2 * (count - 1) > room:
        count -= 1
    widths = widths[:count]
    space = max(room - 2 * (count - 1), count)
    if sum(widths) <= space:
        return widths
    # Cut every column wider than some level to it: the widest level that fits.
    low, high = 1, max(widths)
    while low < high:
        level = (low + high + 1) // 2
        if sum(min(w, level) for w in widths) <= space:
            low = level
        else:
            high = level - 1
    cut = [min(w, low) for w in widths]
    spare = space - sum(cut)  # fewer than the columns cut: one more each, from the left
    for i, w in enumerate(widths):
        if spare and w > low:
            cut[i] += 1
            spare -= 1
    return cut


def _isatty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError):
        return False
