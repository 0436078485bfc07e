"""Where the CLI writes, and how: colour only on a terminal (never with ``NO_COLOR``), tables
that fit its width, plain untruncated text when piped. Data goes to stdout, messages to
stderr. Table cells and messages never drive the terminal: their control characters are
shown escaped (see :mod:`tmt.display`); text given to :meth:`Console.print` must be escaped by
whoever builds it, since it may hold the console's own colours."""

from __future__ import annotations

import os
import shutil
import sys

from ..display import STATUS_COLOURS, printable

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
    ) -> None:
        """Print ``rows`` under ``headers``, columns aligned (``right`` ones to the right). On a
        terminal, the columns that do not fit its width are dropped from the right and long
        cells cut; piped, nothing is ever cut."""
        headers = [printable(h) for h in headers]
        # The usual cell needs no escaping, which str.isprintable tells fastest.
        rows = [[c if c.isprintable() else printable(c) for c in row] for row in rows]
        columns = len(headers)
        widths = [len(h) for h in headers]
        for row in rows:
            for i, cell in enumerate(row):
                widths[i] = max(widths[i], len(cell))
        if self.width:
            widths = [min(w, 48) for w in widths]
            while columns > 1 and sum(widths[:columns]) + 2 * (columns - 1) > self.width:
                columns -= 1
            others = sum(widths[: columns - 1]) + 2 * (columns - 1)
            widths[columns - 1] = max(4, min(widths[columns - 1], self.width - others))
        right = right or [False] * len(headers)

        def line(cells: Sequence[str], cell_styles: Sequence[tuple[str, ...]]) -> str:
            parts = []
            for i in range(columns):
                cell = cells[i]
                if self.width and len(cell) > widths[i]:
                    cell = cell[: widths[i] - 1] + "…"
                padded = cell.rjust(widths[i]) if right[i] else cell.ljust(widths[i])
                parts.append(self.style(padded, *cell_styles[i]) if cell_styles else padded)
            return "  ".join(parts).rstrip()

        self.print(line(headers, [("bold",)] * columns))
        for n, row in enumerate(rows):
            self.print(line(row, styles[n] if styles else []))


def _isatty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError):
        return False
