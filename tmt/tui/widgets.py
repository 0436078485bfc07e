"""The terminal app's reusable widgets: rows built only when seen, and charts."""

from __future__ import annotations

import urwid

from ..textchart import end_cells, multi_line_chart

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

#: The colours series take in overlaid charts, in order (palette entries of the app).
SERIES_COLOURS = ("series0", "series1", "series2", "series3", "series4", "series5")
#: What marks the last point of each curve, so one that stops early stands out.
END_GLYPH = "●"


class LazyWalker(urwid.ListWalker):
    """A list walker over ``items`` that builds a row widget only when the list shows it, so
    10,000 runs cost no more to open than the few dozen on screen."""

    def __init__(self, items: Sequence[Any], build: Callable[[Any], urwid.Widget]) -> None:
        self.items = list(items)
        self.build = build
        self.focus = 0
        self._cache: dict[int, urwid.Widget] = {}

    def set_items(self, items: Sequence[Any], keep: Callable[[Any], bool] | None = None) -> None:
        """Show ``items``, keeping focus on the first one ``keep`` accepts, if any."""
        self.items = list(items)
        self._cache.clear()
        focus = 0
        if keep is not None:
            focus = next((i for i, item in enumerate(self.items) if keep(item)), 0)
        self.focus = min(focus, max(0, len(self.items) - 1))
        self._modified()

    def refresh(self) -> None:
        """Rebuild the rows (after marks or data changed)."""
        self._cache.clear()
        self._modified()

    def __getitem__(self, position: int) -> urwid.Widget:
        if not isinstance(position, int) or not 0 <= position < len(self.items):
            raise IndexError(position)
        widget = self._cache.get(position)
        if widget is None:
            if len(self._cache) > 500:
                self._cache.clear()
            widget = self._cache[position] = self.build(self.items[position])
        return widget

    def next_position(self, position: int) -> int:
        if position + 1 >= len(self.items):
            raise IndexError(position)
        return position + 1

    def prev_position(self, position: int) -> int:
        if position <= 0:
            raise IndexError(position)
        return position - 1

    def set_focus(self, position: int) -> None:
        self.focus = position
        self._modified()

    def positions(self, reverse: bool = False) -> range:
        count = len(self.items)
        return range(count - 1, -1, -1) if reverse else range(count)

    @property
    def focused_item(self) -> Any:
        return self.items[self.focus] if self.items else None


class Row(urwid.WidgetWrap):
    """A selectable line of cells; keys it does not use go up to the view."""

    def __init__(self, cells: Sequence[tuple[int | None, Any]], item: Any) -> None:
        self.item = item
        columns = [
            (width, urwid.Text(markup, wrap="clip")) if width else urwid.Text(markup, wrap="clip")
            for width, markup in cells
        ]
        super().__init__(urwid.AttrMap(urwid.Columns(columns, dividechars=1), None, "focus"))

    def selectable(self) -> bool:
        return True

    def keypress(self, size: tuple[()] | tuple[int] | tuple[int, int], key: str) -> str:
        return key


class Chart(urwid.Widget):
    """A line chart of one or more series, drawn in braille dots to the width it is given.

    ``series`` are ``(label, xs, ys)``; each is drawn in its own colour, with a legend when
    there are several, and the last, lowest and highest value of each underneath. The last
    point of each curve is marked with a dot in its colour, and the step it ends at said, so
    a run that stopped at step 29 among runs that went on to 100 is plain to see.
    """

    _sizing = frozenset([urwid.FLOW])

    def __init__(
        self,
        title: str,
        series: Sequence[tuple[str, Sequence[float], Sequence[float]]],
        height: int = 10,
    ) -> None:
        super().__init__()
        self.title = title
        self.series = list(series)
        self.height = height

    def rows(self, size: tuple[int], focus: bool = False) -> int:
        return len(self._lines(size[0]))

    def render(
        self, size: tuple[()] | tuple[int] | tuple[int, int], focus: bool = False
    ) -> urwid.Canvas:
        maxcol = size[0] if size else 0
        markup: list[Any] = []
        for i, line in enumerate(self._lines(maxcol)):
            if i:
                markup.append("\n")
            markup.append(line)
        return urwid.Text(markup, wrap="clip").render((maxcol,), focus)

    def _lines(self, width: int) -> list[Any]:
        lines: list[Any] = [("bold", self.title)]
        curves = [(xs, ys) for _, xs, ys in self.series]
        width = max(10, width)
        plot, owners = multi_line_chart(curves, width, self.height)
        if len(plot) == 1:
            return [*lines, plot[0]]
        # Where a curve ends, its dot (drawn later curves on top, as their lines are).
        ends = {cell: i for i, cell in enumerate(end_cells(curves, width, self.height)) if cell}
        for r, line in enumerate(plot):
            if r >= len(plot) - 2 or not owners or not owners[0]:
                lines.append(line)
                continue
            prefix, _, cells = line.partition("┤")
            markup: list[Any] = [prefix + "┤"]
            for c, ch in enumerate(cells):
                owner = ends.get((r, c))
                if owner is not None:
                    ch = END_GLYPH
                else:
                    owner = next((i for i, o in enumerate(owners) if o and o[r][c]), None)
                colour = SERIES_COLOURS[owner % len(SERIES_COLOURS)] if owner is not None else None
                markup.append((colour, ch) if colour else ch)
            lines.append(markup)
        for i, (label, xs, ys) in enumerate(self.series):
            points = [(x, y) for x, y in zip(xs, ys) if isinstance(y, (int, float)) and y == y]
            if not points:
                continue
            finite = [y for _, y in points]
            stats = f"last {finite[-1]:.4g}  min {min(finite):.4g}  max {max(finite):.4g}"
            step = points[-1][0]
            stats += f"  ends at step {step if isinstance(step, int) else f'{step:.6g}'}"
            colour = SERIES_COLOURS[i % len(SERIES_COLOURS)]
            swatch = (colour, "━━ ") if len(self.series) > 1 else ""
            lines.append([swatch, f"{label}  " if len(self.series) > 1 else "", stats])
        return lines
