"""Charts drawn with text: sparklines of block characters and line charts of braille dots.

Pure functions returning strings, so they work in any terminal, in monochrome, over SSH, and
are tested as text. The CLI and the terminal app both draw with them.
"""

from __future__ import annotations

import math

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

BLOCKS = "▁▂▃▄▅▆▇█"
# The bit of each dot of a braille cell, by (column, row) within the 2 x 4 cell.
_DOTS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))


def sparkline(values: Sequence[float], width: int | None = None) -> str:
    """``values`` as one line of block characters, resampled to at most ``width``."""
    finite = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    if not finite:
        return ""
    points = _resample(list(values), width) if width and len(values) > width else list(values)
    low, high = min(finite), max(finite)
    span = high - low
    out = []
    for v in points:
        if not math.isfinite(v):
            out.append(" ")
        elif span == 0:
            out.append(BLOCKS[len(BLOCKS) // 2])
        else:
            out.append(BLOCKS[min(len(BLOCKS) - 1, int((v - low) / span * len(BLOCKS)))])
    return "".join(out)


def line_chart(
    xs: Sequence[float], ys: Sequence[float], width: int = 60, height: int = 10
) -> list[str]:
    """A line chart of ``ys`` against ``xs``, ``height`` rows of text including its axes.

    The y axis is labelled with the largest and smallest value, the x axis with the first and
    last x. Non-finite values leave gaps. Returns the rows (no trailing newlines).
    """
    return multi_line_chart([(xs, ys)], width, height)[0]


def multi_line_chart(
    series: Sequence[tuple[Sequence[float], Sequence[float]]],
    width: int = 60,
    height: int = 10,
    logy: bool = False,
    x_label: str = "",
) -> tuple[list[str], list[list[list[int]]]]:
    """Several series on shared axes: the rows, and for each series which cells it drew in
    (``cells[i][row][col]`` is 1 where series ``i`` has a dot), so a caller can colour them.

    ``logy`` draws the y axis on a log scale (values that are not positive leave gaps);
    ``x_label`` names the x axis, between its first and last value when it fits.
    """
    frame = _Frame.fit(series, width, height, logy)
    if frame is None:
        return ["(no data)"], [[] for _ in series]
    cols, rows = frame.cols, frame.rows
    canvas = [[0] * cols for _ in range(rows)]
    owners: list[list[list[int]]] = []
    for xs, ys in series:
        mine = [[0] * cols for _ in range(rows)]
        previous = None
        for x, y in zip(xs, ys):
            pixel = frame.pixel(x, y)
            if pixel is None:
                previous = None
                continue
            for qx, qy in _segment(previous or pixel, pixel):
                cx, cy = qx // 2, qy // 4
                canvas[cy][cx] |= _DOTS[qx % 2][qy % 4]
                mine[cy][cx] = 1
            previous = pixel
        owners.append(mine)
    y_labels = frame.y_labels
    margin = frame.margin
    lines = []
    for r in range(rows):
        label = y_labels[0] if r == 0 else y_labels[1] if r == rows - 1 else ""
        cells = "".join(chr(0x2800 + bits) if bits else " " for bits in canvas[r])
        lines.append(f"{label:>{margin - 1}} ┤{cells}")
    left, right = _label(frame.x_low), _label(frame.x_high)
    axis = " " * margin + "└" + "─" * cols
    lines.append(axis)
    gap = max(1, cols - len(left) - len(right))
    middle = " " * gap
    if x_label and len(x_label) + 2 <= gap:
        before = (gap - len(x_label)) // 2
        middle = " " * before + x_label + " " * (gap - before - len(x_label))
    lines.append(" " * (margin + 1) + left + middle + right)
    return lines, owners


def end_cells(
    series: Sequence[tuple[Sequence[float], Sequence[float]]],
    width: int = 60,
    height: int = 10,
    logy: bool = False,
) -> list[tuple[int, int] | None]:
    """Where each series ends in the chart :func:`multi_line_chart` draws with the same
    arguments: the ``(row, column)`` of the cell of its last point that can be drawn (the
    column counted from the first cell right of the axis), or ``None`` for a series with
    none. So a caller can mark where a curve stops, as a run that ended early does."""
    frame = _Frame.fit(series, width, height, logy)
    ends: list[tuple[int, int] | None] = []
    for xs, ys in series:
        count = min(len(xs), len(ys))
        last = None
        if frame is not None:  # the last point that can be drawn: searched from the end
            pixels = (frame.pixel(xs[i], ys[i]) for i in range(count - 1, -1, -1))
            last = next((p for p in pixels if p is not None), None)
        ends.append((last[1] // 4, last[0] // 2) if last else None)
    return ends


class _Frame:
    """The axes several series share: their ranges, and the cells the chart has."""

    def __init__(
        self,
        xs: tuple[float, float],
        ys: tuple[float, float],
        width: int,
        height: int,
        logy: bool,
    ) -> None:
        self.x_low, self.x_high = xs
        self.y_low, self.y_high = ys  # as drawn: logarithms with ``logy``
        self.logy = logy
        shown = (10**y for y in (self.y_high, self.y_low)) if logy else (self.y_high, self.y_low)
        self.y_labels = [_label(y) for y in shown]
        self.margin = max(len(s) for s in self.y_labels) + 1
        self.cols = max(4, width - self.margin - 1)
        self.rows = max(2, height - 2)  # the x axis and its labels take two

    @classmethod
    def fit(
        cls,
        series: Sequence[tuple[Sequence[float], Sequence[float]]],
        width: int,
        height: int,
        logy: bool,
    ) -> _Frame | None:
        """The frame that holds every point of ``series``; ``None`` if none can be drawn."""
        points = []
        for xs, ys in series:
            for x, raw in zip(xs, ys):
                y = _drawn(raw, logy)
                if y is not None and _finite(x):
                    points.append((float(x), y))
        if not points:
            return None
        xs = (min(p[0] for p in points), max(p[0] for p in points))
        ys = (min(p[1] for p in points), max(p[1] for p in points))
        return cls(xs, ys, width, height, logy)

    def pixel(self, x: float, y: float) -> tuple[int, int] | None:
        """The dot ``(x, y)`` falls on, counted from the top left; ``None`` if it has none."""
        drawn = _drawn(y, self.logy)
        if not _finite(x) or drawn is None:
            return None
        pixels_y = self.rows * 4
        px = _scale(float(x), self.x_low, self.x_high, self.cols * 2)
        return px, pixels_y - 1 - _scale(drawn, self.y_low, self.y_high, pixels_y)


def _drawn(y: object, logy: bool) -> float | None:
    """``y`` as drawn (its logarithm with ``logy``), or ``None`` if it cannot be."""
    if not isinstance(y, (int, float)) or isinstance(y, bool) or not math.isfinite(y):
        return None
    if logy:
        return math.log10(y) if y > 0 else None
    return float(y)


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _scale(value: float, low: float, high: float, size: int) -> int:
    if high == low:
        return size // 2
    return min(size - 1, max(0, round((value - low) / (high - low) * (size - 1))))


def _segment(a: tuple[int, int], b: tuple[int, int]) -> list[tuple[int, int]]:
    """The pixels of the straight line from ``a`` to ``b`` (Bresenham)."""
    (x0, y0), (x1, y1) = a, b
    dx, dy = abs(x1 - x0), -abs(y1 - y0)
    sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
    err = dx + dy
    out = []
    while True:
        out.append((x0, y0))
        if x0 == x1 and y0 == y1:
            return out
        e2 = 2 * err
        if e2 >= dy:
            err += dy
            x0 += sx
        if e2 <= dx:
            err += dx
            y0 += sy


def _resample(values: list[float], width: int) -> list[float]:
    """``width`` values, each the mean of its share of ``values`` (finite ones)."""
    out = []
    for i in range(width):
        chunk = values[i * len(values) // width : (i + 1) * len(values) // width] or [math.nan]
        finite = [v for v in chunk if _finite(v)]
        out.append(sum(finite) / len(finite) if finite else math.nan)
    return out


def _label(value: float) -> str:
    if value == int(value) and abs(value) < 1e9:
        return str(int(value))
    return f"{value:.4g}"
