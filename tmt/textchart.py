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
    series: Sequence[tuple[Sequence[float], Sequence[float]]], width: int = 60, height: int = 10
) -> tuple[list[str], list[list[list[int]]]]:
    """Several series on shared axes: the rows, and for each series which cells it drew in
    (``cells[i][row][col]`` is 1 where series ``i`` has a dot), so a caller can colour them."""
    points = [
        (float(x), float(y))
        for xs, ys in series
        for x, y in zip(xs, ys)
        if _finite(x) and _finite(y)
    ]
    if not points:
        return ["(no data)"], [[] for _ in series]
    x_low, x_high = min(p[0] for p in points), max(p[0] for p in points)
    y_low, y_high = min(p[1] for p in points), max(p[1] for p in points)
    y_labels = [_label(y_high), _label(y_low)]
    margin = max(len(s) for s in y_labels) + 1
    cols = max(4, width - margin - 1)
    rows = max(2, height - 2)  # the x axis and its labels take two
    pixels_x, pixels_y = cols * 2, rows * 4
    canvas = [[0] * cols for _ in range(rows)]
    owners: list[list[list[int]]] = []
    for xs, ys in series:
        mine = [[0] * cols for _ in range(rows)]
        previous = None
        for x, y in zip(xs, ys):
            if not (_finite(x) and _finite(y)):
                previous = None
                continue
            px = _scale(float(x), x_low, x_high, pixels_x)
            py = pixels_y - 1 - _scale(float(y), y_low, y_high, pixels_y)
            for qx, qy in _segment(previous or (px, py), (px, py)):
                cx, cy = qx // 2, qy // 4
                canvas[cy][cx] |= _DOTS[qx % 2][qy % 4]
                mine[cy][cx] = 1
            previous = (px, py)
        owners.append(mine)
    lines = []
    for r in range(rows):
        label = y_labels[0] if r == 0 else y_labels[1] if r == rows - 1 else ""
        cells = "".join(chr(0x2800 + bits) if bits else " " for bits in canvas[r])
        lines.append(f"{label:>{margin - 1}} ┤{cells}")
    left, right = _label(x_low), _label(x_high)
    axis = " " * margin + "└" + "─" * cols
    lines.append(axis)
    gap = max(1, cols - len(left) - len(right))
    lines.append(" " * (margin + 1) + left + " " * gap + right)
    return lines, owners


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
