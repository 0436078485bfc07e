"""``tmt plot``: the curves several runs logged, overlaid, in the terminal or in a figure file."""

from __future__ import annotations

import difflib
import math
import os

from .. import TmtManager
from ..display import fit, json_text, printable
from ..display import width as width_of
from ..query import select
from ..textchart import end_cells, multi_line_chart
from . import UsageError
from .listing import add_where
from .options import add_output_options

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Iterable, Sequence
    from typing import Any

    from ..entry import Entry
    from .console import Console

#: The colours runs take in the terminal, in order (those of the terminal app's charts).
RUN_COLOURS = ("cyan", "yellow", "magenta", "green", "red", "blue")
#: What ``-o`` writes, by the file's extension.
FIGURE_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
#: Marks the last point of a run that ended early, or is still running, in the terminal.
END_GLYPH = "✕"
NEEDS_MATPLOTLIB = "tmt plot -o needs matplotlib: pip install 'ThatMetricTimeline[plot]'"


def register(commands: Any) -> None:
    p = commands.add_parser(
        "plot",
        help="the curves of several runs, overlaid",
        description="A series logged with tmt_log (a curve: value by step), of several runs "
        "overlaid with a legend: in the terminal, or with -o to a PNG, SVG or PDF file "
        "(needs matplotlib). Where a run ended early, or is still running, its curve's last "
        "point is marked.",
    )
    p.add_argument("refs", nargs="*", metavar="REF", help="the runs, one or more")
    add_where(p)
    p.add_argument(
        "--metric",
        "-m",
        metavar="NAME",
        help="the series to plot (default: the one series the runs share, if only one)",
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write a figure to FILE instead: .png, .svg or .pdf (needs matplotlib)",
    )
    p.add_argument("--title", help="a title over the chart")
    p.add_argument("--logy", action="store_true", help="a log scale on the y axis")
    add_output_options(p, "text", "json")
    p.set_defaults(handler=plot)


class Curve:
    """One run's series, as plotted: its steps and values, and what the legend says."""

    def __init__(self, entry: Entry, steps: Sequence[int], values: Sequence[float]) -> None:
        self.id = entry.id
        self.name = entry.name
        self.status = entry.status
        self.steps = list(steps)
        self.values = list(values)

    @property
    def label(self) -> str:
        """``name id8``, and the status of a run that has not finished."""
        label = f"{self.name} {self.id[:8]}"
        return label if self.status == "finished" else f"{label} ({self.status})"

    @property
    def ended_early(self) -> bool:
        """Whether the curve stops short of what its run meant to log: the run failed,
        crashed, was interrupted or pruned, or is still running."""
        return self.status != "finished"

    def last(self) -> int | None:
        """The index of the last point with a finite value, or ``None`` if none has."""
        for i in range(len(self.values) - 1, -1, -1):
            if math.isfinite(self.values[i]):
                return i
        return None


def plot(args: argparse.Namespace, console: Console) -> int:
    figure_format = figure_format_of(args.output) if args.output else None
    if figure_format is not None and not _has_matplotlib():
        console.message(NEEDS_MATPLOTLIB)
        return 1
    manager = TmtManager(config=args.config)
    if not args.refs and not args.where:
        raise UsageError("tmt plot: name the runs (REF...) or select them with --where")
    entries: dict[str, Entry] = {}
    for ref in args.refs:
        entry = manager.run(ref)
        entries.setdefault(entry.id, entry)  # a run named twice is plotted once
    if args.where:
        chosen = select(list(entries.values()), args.where) if args.refs else None
        if chosen is None:
            chosen = manager.runs(where=args.where)
        entries = {e.id: e for e in chosen}
        if not entries:
            raise LookupError("no runs match --where")
    found = [(e, e.all_series()) for e in entries.values()]
    metric = args.metric or shared_series(s for _, s in found)
    curves = [Curve(e, *series[metric][:2]) for e, series in found if metric in series]
    if not curves:
        raise _usage(f"no run logged a series {metric!r}{_alternatives(metric, found)}")
    missing = [f"{e.name} {e.id[:8]}" for e, series in found if metric not in series]
    if missing:
        console.message(f"tmt plot: not plotted, no {metric!r} series: {', '.join(missing)}")
    drawn = figure_format is not None or args.format != "json"
    drawable = [c for c in curves if any(_plottable(v, args.logy) for v in c.values)]
    if drawn and not drawable:
        scale = " on a log scale" if args.logy else ""
        raise LookupError(f"nothing to plot: no value of {metric!r} can be drawn{scale}")
    if drawn and args.logy and any(v <= 0 for c in curves for v in c.values):
        console.message("tmt plot: --logy leaves out the values that are not positive")
    if figure_format is not None:
        save_figure(args.output, figure_format, curves, metric, args.title, args.logy)
        console.message(f"tmt plot: wrote {args.output}")
    if args.format == "json":
        data = {
            c.id: {"name": c.name, "status": c.status, "steps": c.steps, "values": c.values}
            for c in curves
        }
        console.print(json_text(data, indent=2))
    elif figure_format is None:
        width = min(console.width or 80, 120)
        paint = console.style if console.color else None
        for line in terminal_chart(curves, metric, width, 16, args.logy, args.title, paint):
            console.print(line)
    return 0


def figure_format_of(path: str) -> str:
    """The format ``-o path`` asks for, from its extension; a usage error for any other."""
    extension = os.path.splitext(path)[1].lower()
    if extension not in FIGURE_FORMATS:
        accepted = ", ".join(FIGURE_FORMATS)
        raise _usage(f"-o {path}: the format comes from the extension, one of {accepted}")
    return FIGURE_FORMATS[extension]


def shared_series(found: Iterable[dict[str, Any]]) -> str:
    """The one series every run that logged any has; a usage error naming the series the
    runs have when they share none or several."""
    shared: set[str] | None = None
    every: dict[str, None] = {}
    for series in found:
        if series:
            shared = set(series) if shared is None else shared & set(series)
            every.update(dict.fromkeys(series))
    if not every:
        raise LookupError("the runs logged no series with tmt_log")
    if shared is not None and len(shared) == 1:
        return shared.pop()
    names = ", ".join(sorted(every))
    raise _usage(f"which series? name one with --metric, the runs have: {names}")


def terminal_chart(
    curves: Sequence[Curve],
    metric: str,
    width: int,
    height: int,
    logy: bool = False,
    title: str | None = None,
    paint: Callable[[str, str], str] | None = None,
) -> list[str]:
    """The curves as lines of text: a title, a braille chart and a legend, each run in its
    colour when ``paint(text, colour)`` is given. The last point of a run that ended early
    is drawn as ``END_GLYPH``, and the legend says at which step it ended."""
    style = paint or (lambda text, _: text)
    notes = [f"{metric} by step"] if title else []
    notes += ["log scale"] if logy else []
    heading = style(printable(title or metric), "bold")
    lines = [heading + (style(f"  ({printable(', '.join(notes))})", "dim") if notes else "")]
    series = [(c.steps, c.values) for c in curves]
    plot, owners = multi_line_chart(series, width, height, logy=logy, x_label="step")
    if len(plot) == 1:  # no point can be drawn
        return [*lines, plot[0]]
    ends = end_cells(series, width, height, logy=logy)
    marks = {cell: i for i, cell in enumerate(ends) if cell and curves[i].ended_early}
    for r, line in enumerate(plot[:-2]):
        prefix, _, cells = line.partition("┤")
        row = prefix + "┤"
        for colour, text in _runs_of_colour(cells, r, owners, marks):
            row += style(text, RUN_COLOURS[colour % len(RUN_COLOURS)]) if colour >= 0 else text
        lines.append(row)
    lines += plot[-2:]
    labels = [printable(c.label) for c in curves]
    pad = max(width_of(label) for label in labels)
    for i, (curve, label) in enumerate(zip(curves, labels)):
        swatch = style("━━", RUN_COLOURS[i % len(RUN_COLOURS)])
        lines.append(f"{swatch} {fit(label, pad)}  {_legend_note(curve)}".rstrip())
    return lines


def _runs_of_colour(
    cells: str, r: int, owners: list[list[list[int]]], marks: dict[tuple[int, int], int]
) -> list[tuple[int, str]]:
    """The cells of row ``r`` in runs of one colour: ``(curve, text)``, ``-1`` for none. A
    cell shows the first curve drawn in it, or the end mark of a curve that ends in it."""
    out: list[tuple[int, str]] = []
    for c, ch in enumerate(cells):
        owner = marks.get((r, c))
        if owner is not None:
            ch = END_GLYPH
        else:
            owner = next((i for i, drawn in enumerate(owners) if drawn[r][c]), -1)
        if out and out[-1][0] == owner:
            out[-1] = (owner, out[-1][1] + ch)
        else:
            out.append((owner, ch))
    return out


def _plottable(value: float, logy: bool) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and (value > 0 or not logy)


def _legend_note(curve: Curve) -> str:
    last = curve.last()
    if last is None:
        return "no finite values"
    step, value = curve.steps[last], f"{curve.values[last]:.4g}"
    if curve.status == "running":
        return f"{END_GLYPH} at step {step} so far, latest {value}"
    if curve.ended_early:
        return f"{END_GLYPH} ended at step {step}, last {value}"
    return f"last {value} at step {step}"


def save_figure(
    path: str,
    figure_format: str,
    curves: Sequence[Curve],
    metric: str,
    title: str | None = None,
    logy: bool = False,
) -> None:
    """The curves as a figure for a paper, written to ``path``: steps against values with
    axis labels and a legend, the last point of each run that ended early marked with an X.
    ``title`` is matplotlib's text, so ``$\\alpha$`` is math; names from runs are shown as
    they are. Needs matplotlib."""
    from matplotlib.figure import Figure  # drawn without pyplot: no GUI backend, no state
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(6.4, 4.0))
    axes = figure.add_subplot()
    for curve in curves:
        values = [v if math.isfinite(v) else math.nan for v in curve.values]
        last = curve.last()
        end: dict[str, Any] = {}
        if curve.ended_early and last is not None:
            end = {"marker": "X", "markersize": 8, "markevery": [last]}
        elif sum(1 for v in values if v == v) == 1:  # one point: a line would not show it
            end = {"marker": "o", "markersize": 5}
        axes.plot(curve.steps, values, label=_literal(curve.label), linewidth=1.5, **end)
    axes.set_xlabel("step")
    axes.set_ylabel(_literal(metric))
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    if logy:
        axes.set_yscale("log")
    if title:
        axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")
    figure.savefig(path, format=figure_format, dpi=200, bbox_inches="tight")


def _has_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _alternatives(metric: str, found: list[tuple[Entry, dict[str, Any]]]) -> str:
    names = sorted({name for _, series in found for name in series})
    if not names:
        return " (they logged no series)"
    close = difflib.get_close_matches(metric, names, n=3)
    if close:
        return f" (closest: {', '.join(close)})"
    return f" (they logged: {', '.join(names)})"


def _literal(text: str) -> str:
    """``text`` as matplotlib shows it literally: between two ``$`` it would be read as math,
    which a run's name is not (and math that does not parse fails the whole figure); control
    characters are escaped, as everywhere tmt shows text, rather than drawn as missing."""
    return printable(text).replace("$", r"\$")


def _usage(message: str) -> UsageError:
    return UsageError(f"tmt plot: {message} (see tmt plot --help)")
