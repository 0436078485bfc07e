"""The terminal app's screens. Each lays out what the model gives it and acts on the commands
that concern it alone (see :mod:`tmt.tui.keys`); what needs another screen (open a run, compare,
diff, copy, reload) it signals, and the app, which owns navigation, connects to the signals."""

from __future__ import annotations

from typing import ClassVar

import urwid

from .. import cells
from .. import display as fmt
from ..display import STATUS_COLOURS, one_line, printable, printable_lines
from ..errors import ArgumentError
from ..report import Section, run_report
from ..treediff import tree_diff
from .keys import KEY_BINDINGS, key_label
from .widgets import Chart, LazyWalker, Row

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from ..entry import Entry
    from .model import RunsModel

_TAIL = 15


def status_attr(status: str) -> str:
    """The palette entry a run's status is drawn with (see ``app.PALETTE``)."""
    return f"status:{status}" if status in STATUS_COLOURS else ""


class RunsView(urwid.WidgetWrap):
    """The first screen: a table of runs, newest first, with a header and a status line.

    Signals: ``open`` (the focused run), ``compare`` (the marked runs), ``diff`` (two runs),
    ``copy`` (the focused run) and ``reload``.
    """

    signals: ClassVar[list[str]] = ["open", "compare", "diff", "copy", "reload"]

    #: Widths of the fixed columns (mark, id, status, started, duration) with their gaps; the
    #: widest the name column gets before the metrics have their share (and at most a
    #: quarter of the width); a cell's bounds.
    _FIXED, _NAME_MAX, _CELL = 2 + 8 + 11 + 11 + 9 + 5, 40, (4, 14)
    #: How many runs are measured to size the columns (those on the first screens).
    _SAMPLE = 200

    def __init__(self, model: RunsModel) -> None:
        self.model = model
        self.width = 100  # the terminal's columns at the last render
        self.name_width = 16
        self.cells: list[tuple[str, int]] = []  # the data columns shown: (cell, width)
        self.message: str | None = None  # what the status line says before the list's state
        self.walker = LazyWalker([], self._row)
        self.listbox = urwid.ListBox(self.walker)
        self.status = urwid.Text("", wrap="clip")
        self.footer = urwid.AttrMap(self.status, "footer")
        self.frame: urwid.Frame[Any, Any, Any] = urwid.Frame(self.listbox, footer=self.footer)
        self.prompt: SearchPrompt | None = None  # the ``/`` prompt, while it is open
        super().__init__(self.frame)
        self.update()

    def handle(self, name: str) -> bool:
        """Act on the command ``name``; False if it means nothing on this screen."""
        model, entry = self.model, self.focused
        if name == "OPEN" and entry is not None:
            self._emit("open", entry)
        elif name == "SEARCH":
            self.prompt = SearchPrompt(model.query)
            urwid.connect_signal(self.prompt, "postchange", lambda *_: self._check_query())
            # The status line stays above the prompt, to explain a query that cannot be read.
            prompt = urwid.AttrMap(self.prompt, "footer")
            self.frame.footer = urwid.Pile([self.footer, prompt], focus_item=1)
            self.frame.focus_position = "footer"
        elif name == "CLEAR":
            model.search("")
            self.update()
        elif name == "SORT":
            model.next_sort()
            self.update()
        elif name == "SORT_REVERSE":
            model.reverse_sort()
            self.update()
        elif name == "GROUP":
            model.toggle_group()
            self.update()
        elif name == "MARK" and entry is not None:
            model.toggle_mark(entry)
            self.refresh_rows()
            position = self.walker.focus  # on to the next run, to mark several in a row
            if position is not None and position + 1 < len(self.model.visible):
                self.walker.set_focus(position + 1)
        elif name == "COMPARE":
            marked = model.marked_entries()
            if len(marked) < 2:
                self.set_status("mark two runs or more with space to compare them")
            else:
                self._emit("compare", marked)
        elif name == "DIFF":
            pair = model.diff_pair(entry)
            if pair is None:
                self.set_status("mark two runs, or open one that has an earlier run of its name")
            else:
                count = len(model.marked)
                note = f"{count} runs marked: the last two marked are diffed" if count > 2 else ""
                self._emit("diff", (*pair, note))
        elif name == "RELOAD":
            self._emit("reload")
        elif name in ("COPY", "COPY_PATH") and entry is not None:
            self._emit("copy", (entry, name))
        else:
            return False
        return True

    def handle_prompt(self, name: str) -> bool:
        """Act on a command of the open ``/`` prompt: apply the query, or cancel it."""
        assert self.prompt is not None
        if name == "APPLY":
            try:
                self.model.search(self.prompt.edit_text)
            except ArgumentError as exc:
                self.set_status(f"cannot search: {one_line(exc)}")
                return True  # the prompt stays open, to fix the query
            self._close_prompt()
            self.update()
        elif name == "CANCEL":
            self._close_prompt()
            self.set_status()
        else:
            return False
        return True

    def _check_query(self) -> None:
        """Say, as the query is typed, how many runs it matches, or why it cannot be read."""
        if self.prompt is None:
            return
        try:
            count = self.model.check(self.prompt.edit_text)
        except ArgumentError as exc:
            self.set_status(f"cannot search: {one_line(exc)}")
            return
        self.set_status(f"{count} runs match; Enter applies, Esc cancels")

    def _close_prompt(self) -> None:
        self.prompt = None
        self.frame.footer = self.footer
        self.frame.focus_position = "body"

    @property
    def focused(self) -> Entry | None:
        return self.walker.focused_item

    def update(self, message: str | None = None) -> None:
        """Redraw from the model, keeping the focus on the same run when it is still shown."""
        current = self.focused
        keep = (lambda e: e.id == current.id) if current is not None else None
        self._layout()
        self.walker.set_items(self.model.visible, keep)
        model = self.model
        arrow = " ↑" if model.reverse else " ↓"
        header = [
            (2, ""),
            (self.name_width, "name" + (arrow if model.sort_key == "name" else "")),
            (8, "id"),
            (11, "status"),
            (11, "started" + (arrow if model.sort_key == "started" else "")),
            (9, "duration"),
            *(
                (
                    w,
                    fmt.fit(
                        model.fields.short(k) + (arrow if k == model.sort_key else ""), w, True
                    ),
                )
                for k, w in self.cells
            ),
        ]
        self.frame.header = urwid.AttrMap(Row(header, None), "header")
        self.set_status(message)

    def _layout(self) -> None:
        """Size the columns for the terminal's width: the name as wide as the names need, up
        to a share (a quarter of the width, or less to make room for a first metric), then as
        many metric and parameter columns as fit, each as wide as its values; the name takes
        what is left."""
        model = self.model
        sample = model.visible[: self._SAMPLE]
        need = max([4, *(fmt.width(printable(e.name)) for e in sample)])
        share = min(need, max(12, min(self._NAME_MAX, self.width // 4)))
        smallest = min(need, 12)
        room = self.width - self._FIXED
        low, high = self._CELL
        self.cells = []
        used = 0
        for key in model.columns:
            values = [fmt.width(cells.shown(e, key)) for e in sample]
            label = fmt.width(printable(model.fields.short(key))) + 2  # room for the arrow
            width = max(low, min(high, max([label, *values])))
            if used + width + 1 > room - (share if self.cells else smallest):
                break
            self.cells.append((key, width))
            used += width + 1
        self.name_width = max(4, min(need, room - used))

    def set_status(self, message: str | None = None) -> None:
        """Show ``message``, then the list's state, in the status line."""
        self.message = message
        m = self.model
        parts = [f"{len(m.visible)} of {len(m.all)} runs"]
        if m.query:
            parts.append(f"search: {m.query}")
        arrow = "↑" if m.reverse else "↓"
        parts.append(f"sort: {m.sort_label()} {arrow}")
        hidden = len(m.columns) - len(self.cells)
        if hidden > 0:
            parts.append(f"{hidden} more columns: widen, or compare (c)")
        if m.grouped:
            parts.append(f"grouped by {m.grouped}")
        if m.marked:
            parts.append(f"{len(m.marked)} marked")
        if m.warnings:
            parts.append(f"{len(set(m.warnings))} warning(s), listed on exit")
        parts.append("? keys")
        text = "  |  ".join(parts)
        self.status.set_text(text if message is None else f"{message}  |  {text}")

    def _row(self, entry: Entry) -> Row:
        mark = ("mark", "● ") if entry.id in self.model.marked else "  "
        row = [
            (2, mark),
            (self.name_width, printable(entry.name)),
            (8, ("dim", printable(entry.id[:8]))),
            (11, (status_attr(entry.status), printable(entry.status))),
            (11, _short_when(entry.start_time)),
            (9, fmt.fit(cells.shown_duration(entry), 9, right=True)),
            *((w, fmt.fit(cells.shown(entry, k), w, right=True)) for k, w in self.cells),
        ]
        return Row(row, entry)

    def refresh_rows(self) -> None:
        self.walker.refresh()
        self.set_status()

    def render(
        self, size: tuple[()] | tuple[int] | tuple[int, int], focus: bool = False
    ) -> urwid.Canvas:
        columns = size[0] if size else 0
        if columns and columns != self.width:
            self.width = columns
            self.update(self.message)
        return super().render(size, focus)


class SearchPrompt(urwid.Edit):
    """The ``/`` prompt: Enter applies, Esc cancels (see :meth:`RunsView.handle_prompt`)."""

    def __init__(self, text: str) -> None:
        super().__init__(("bold", "/"), text)


class DetailView(urwid.WidgetWrap):
    """Everything recorded about one run, with a chart of each logged series. Signals
    ``copy`` (the run)."""

    signals: ClassVar[list[str]] = ["copy"]

    def __init__(self, entry: Entry) -> None:
        self.entry = entry
        report = run_report(entry)
        body: list[urwid.Widget] = [
            urwid.Text(
                [
                    ("bold", report.name),
                    "  ",
                    ("dim", report.id),
                    "  ",
                    (status_attr(entry.status), report.status),
                ]
            ),
            *(urwid.Text(line) for line in report.summary),
        ]
        if report.error:
            body.append(urwid.Text(("status:failed", f"error: {report.error}")))
        for section in report.sections:
            body += _section(section)
        self.footer = (
            f"run {report.id}  |  y copies its rerun command, Y its snapshot path  |  Esc back"
        )
        super().__init__(_scroll(body, self.footer))

    def set_status(self, message: str | None = None) -> None:
        """Show ``message`` (what ``y`` copied, say) in the footer, before its usual text."""
        text = self.footer if message is None else f"{message}  |  {self.footer}"
        self._w.footer.original_widget.set_text(text)

    def handle(self, name: str) -> bool:
        if name in ("COPY", "COPY_PATH"):
            self._emit("copy", (self.entry, name))
            return True
        return False


class CompareView(urwid.WidgetWrap):
    """Marked runs side by side: params and metrics (differences highlighted), and their
    curves overlaid, one chart a metric."""

    def __init__(self, entries: list[Entry]) -> None:
        self.entries = entries
        rows = cells.compare(entries)
        width = max([len(k) for k, _, _ in rows] + [4]) + 1
        legend = [
            urwid.Text([(f"series{i % 6}", "━━ "), printable(f"{e.name} {e.id[:8]}")])
            for i, e in enumerate(entries)
        ]
        body: list[urwid.Widget] = [
            urwid.Text(("bold", f"comparing {len(entries)} runs")),
            *legend,
            urwid.Divider(),
        ]
        header = [(width, "")] + [(14, printable(e.id[:8])) for e in entries]
        body.append(urwid.Text(_line(header), wrap="clip"))
        for key, values, differs in rows:
            attr = "differs" if differs else None
            line = [(width, (attr, printable(key)))] + [
                (14, (attr, "" if v is None else printable(fmt.value(v)))) for v in values
            ]
            body.append(urwid.Text(_line(line), wrap="clip"))
        curves = [(e, e.all_series()) for e in entries]
        names: dict[str, None] = {}
        for _, found in curves:
            names.update(dict.fromkeys(found))
        for name in names:
            series = [
                (printable(f"{e.name} {e.id[:8]}"), found[name].steps, found[name].values)
                for e, found in curves
                if name in found
            ]
            body += [urwid.Divider(), Chart(printable(name), series)]
        super().__init__(_scroll(body, "compare  |  Esc back"))


class DiffView(urwid.WidgetWrap):
    """The unified diff of two runs' code snapshots, scrollable."""

    def __init__(self, a: Entry, b: Entry, note: str = "") -> None:
        self.pair = (a, b)
        raw = tree_diff(a.snapshot_path, b.snapshot_path, a.id[:8], b.id[:8])
        lines = [safe for line in raw for safe in printable_lines(line)]
        title = printable(f"code: {a.name} {a.id[:8]}  →  {b.name} {b.id[:8]}")
        body: list[urwid.Widget] = [urwid.Text(("bold", title))]
        if note:  # which pair, when more than two runs were marked
            body.append(urwid.Text(("mark", note)))
        body.append(urwid.Divider())
        if not lines:
            body.append(urwid.Text("no differences"))
        for line in lines:
            attr = None
            if line.startswith(("+++", "---")):
                attr = "bold"
            elif line.startswith("+"):
                attr = "added"
            elif line.startswith("-"):
                attr = "removed"
            elif line.startswith("@@"):
                attr = "hunk"
            body.append(urwid.Text((attr, line) if attr else line, wrap="clip"))
        super().__init__(_scroll(body, "diff  |  Esc back"))


class HelpView(urwid.WidgetWrap):
    """All keys, from the binding table."""

    def __init__(self) -> None:
        rows = [urwid.Text(("bold", "keys")), urwid.Divider()]
        for binding in KEY_BINDINGS.values():
            keys = ", ".join(key_label(k) for k in binding.keys)
            where = "in the search: " if binding.context == "search" else ""
            rows.append(
                urwid.Columns([(17, urwid.Text(("bold", keys))), urwid.Text(where + binding.help)])
            )
        super().__init__(_scroll(rows, "help  |  Esc back"))


class EmptyView(urwid.WidgetWrap):
    """Shown where there is no store: says so, creates nothing."""

    def __init__(self, where: str) -> None:
        text = urwid.Text(
            [
                ("bold", "No runs recorded here yet.\n\n"),
                f"tmt looked for a store in {where} and in the folders above it.\n",
                "Record a run with @tmt_recorder(name=...), or start tmt_tui in your project "
                "(or pass -C DIR or --config).\n\nq quits.",
            ]
        )
        super().__init__(urwid.Filler(urwid.Padding(text, left=2, right=2), valign="top"))


def _scroll(body: list[urwid.Widget], footer: str) -> urwid.Widget:
    listbox = urwid.ListBox(urwid.SimpleFocusListWalker(body))  # type: ignore[arg-type]
    return urwid.Frame(listbox, footer=urwid.AttrMap(urwid.Text(footer, wrap="clip"), "footer"))


def _section(section: Section) -> list[urwid.Widget]:
    """A section of a run's report: its rows aligned, its lines as they are, and a chart of
    each logged series."""
    title = ("status:failed", section.title) if section.alert else ("bold", section.title)
    out: list[urwid.Widget] = [urwid.Divider(), urwid.Text(title)]
    if section.rows:
        width = min(30, max(len(k) for k, _ in section.rows)) + 4  # the indent, and a gap
        out += [
            urwid.Columns([(width, urwid.Text(f"  {k}", wrap="clip")), urwid.Text(v)])
            for k, v in section.rows
        ]
    out += [urwid.Text(f"  {line}", wrap="clip") for line in section.lines]
    for name, series in section.series.items():
        out += [urwid.Divider(), Chart(name, [(name, series.steps, series.values)])]
    return out


def _line(cells: Sequence[tuple[int | None, Any]]) -> list[Any]:
    """Markup for one line of fixed-width cells (the flexible one takes the rest... here, 24)."""
    markup: list[Any] = []
    for width, content in cells:
        attr, text = content if isinstance(content, tuple) else (None, content)
        size = width if width is not None else 24
        text = text if len(text) <= size else text[: size - 1] + "…"
        markup.append((attr, text.ljust(size) + " ") if attr else text.ljust(size) + " ")
    return markup


def _short_when(timestamp: float) -> str:
    """``11-22 14:05``: the list is about recent runs; the year shows when a run is opened."""
    return fmt.when(timestamp)[5:]
