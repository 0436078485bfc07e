"""The terminal app's controller: it alone owns the urwid ``MainLoop``, the stack of screens,
and what keys do."""

from __future__ import annotations

import base64
import sys

import urwid

from ..display import STATUS_COLOURS, printable
from ..report import cannot_rerun, rerun_command
from .keys import MOVES, command
from .views import (
    CompareView,
    DetailView,
    DiffView,
    EmptyView,
    HelpView,
    RunsView,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from ..entry import Entry
    from .model import RunsModel

PALETTE = [
    ("header", "black,bold", "light gray"),
    ("footer", "black", "light gray"),
    ("focus", "black", "dark cyan"),
    ("bold", "default,bold", "default"),
    ("dim", "dark gray", "default"),
    ("mark", "yellow,bold", "default"),
    ("differs", "yellow,bold", "default"),
    ("added", "light green", "default"),
    ("removed", "light red", "default"),
    ("hunk", "light cyan", "default"),
    ("series0", "light cyan", "default"),
    ("series1", "yellow", "default"),
    ("series2", "light magenta", "default"),
    ("series3", "light green", "default"),
    ("series4", "light red", "default"),
    ("series5", "light blue", "default"),
]
# Statuses in their colours (display.STATUS_COLOURS), bright: urwid's plain ones are dark.
PALETTE += [
    (f"status:{status}", "yellow" if colour == "yellow" else f"light {colour}", "default")
    for status, colour in STATUS_COLOURS.items()
]
REFRESH_SECONDS = 2.0


class App:
    """Navigation between the screens, and the keys that are not a single widget's."""

    def __init__(self, model: RunsModel) -> None:
        self.model = model
        self.stack: list[urwid.Widget] = []
        self.loop: urwid.MainLoop | None = None
        self._settling = False  # the store changed at the last tick: read it again
        if model.store_exists:
            model.reload(quick=True)  # completed once the first screen is drawn
            self.runs: RunsView | None = RunsView(model)
            first: urwid.Widget = self.runs
            urwid.connect_signal(self.runs, "open", lambda _, e: self._push(self._detail(e)))
            urwid.connect_signal(self.runs, "compare", lambda _, es: self._push(CompareView(es)))
            urwid.connect_signal(self.runs, "diff", lambda _, pair: self._push(DiffView(*pair)))
            urwid.connect_signal(self.runs, "copy", lambda _, asked: self.copy(*asked))
            urwid.connect_signal(self.runs, "reload", lambda _: self.reload("reloaded"))
        else:
            self.runs = None
            first = EmptyView(model.manager.root)
        self.body = urwid.WidgetPlaceholder(first)

    @property
    def view(self) -> urwid.Widget:
        return self.body.original_widget

    def run(self) -> None:
        """Show the app until the user quits; the only place a MainLoop is made."""
        self.loop = urwid.MainLoop(
            self.body, PALETTE, unhandled_input=self.handle_key, handle_mouse=True
        )
        self.loop.set_alarm_in(REFRESH_SECONDS, self._tick)
        self.loop.set_alarm_in(0, lambda *_: self._after_first_draw(self.complete))
        self.loop.run()

    def _after_first_draw(self, action: Callable[[], None]) -> None:
        """Do ``action`` once the first screen is on the terminal. (The loop draws when it
        has nothing else to do, which an alarm due at once would come before; and its draw
        is the first thing done then, before what is asked for from here.)"""
        assert self.loop is not None
        loop, pending = self.loop, [action]

        def after_drawing() -> None:
            if pending:
                loop.set_alarm_in(0, lambda *_: pending.pop()())

        loop.event_loop.enter_idle(after_drawing)

    # Keys -------------------------------------------------------------------------------------
    def handle_key(self, key: str | tuple) -> bool:
        """React to a key no widget used; True if it meant something here."""
        if not isinstance(key, str):
            return False  # mouse events the widgets did not want
        runs, view = self.runs, self.view
        if runs is not None and runs.prompt is not None:
            name = command(key, "search")
            return name is not None and runs.handle_prompt(name)
        name = command(key)
        if name is None:
            return False
        if name == "HELP":
            self._push(HelpView())
        elif name == "BACK":
            self._pop()
        elif name == "QUIT":
            if view is runs or isinstance(view, EmptyView):
                raise urwid.ExitMainLoop()
            self._pop()
        elif name in MOVES:
            size = self.loop.screen.get_cols_rows() if self.loop else (80, 24)
            view.keypress(size, MOVES[name])
        else:
            handle = getattr(view, "handle", None)
            return bool(handle and handle(name))
        return True

    # Screens ----------------------------------------------------------------------------------
    def _detail(self, entry: Entry) -> DetailView:
        view = DetailView(entry)
        urwid.connect_signal(view, "copy", lambda _, asked: self.copy(*asked))
        return view

    def _push(self, view: urwid.Widget) -> None:
        self.stack.append(self.view)
        self.body.original_widget = view

    def _pop(self) -> None:
        if self.stack:
            self.body.original_widget = self.stack.pop()
            if self.view is self.runs:
                self.runs.refresh_rows()

    def complete(self) -> None:
        """Choose the list's columns among all the runs, not only the newest (a big store's
        first screen is drawn before)."""
        if self.model.complete() and self.runs is not None:
            self.runs.update(self.runs.message)
            if self.loop is not None:
                self.loop.draw_screen()

    def reload(self, message: str | None = None) -> None:
        self.model.reload()
        if self.runs is not None:
            self.runs.update(message)

    def _tick(self, loop: urwid.MainLoop, _: object) -> None:
        """Refresh the list by itself while runs are running, and when runs were added or
        removed (by other processes: a run started after the app opened)."""
        idle = self.runs is not None and self.view is self.runs and self.runs.prompt is None
        changed = self.model.store_changed()
        # A run folder is made a moment before its record is written: after a change, read
        # once more at the next tick, so a run caught in between is not missed for good.
        if idle and (changed or self._settling or self.model.any_running()):
            self.reload(self.runs.message if self.runs is not None else None)
            self._settling = changed
        loop.set_alarm_in(REFRESH_SECONDS, self._tick)

    # The clipboard ----------------------------------------------------------------------------
    def copy(self, entry: Entry, what: str = "COPY") -> None:
        """Copy the command that reruns the run (``COPY``) or its snapshot path
        (``COPY_PATH``) with the terminal's OSC 52 escape, which works over SSH and needs no
        clipboard program; where nothing can take it, the text is still shown."""
        # Said where it can be read: the screen in front, else the list's status line.
        status = getattr(self.view, "set_status", None) or (lambda message: None)
        if what == "COPY":
            text = rerun_command(entry)
            if text is None:
                status(f"run {entry.id} cannot be run again: {cannot_rerun(entry)}")
                return
            said = "rerun command"
        else:
            snapshot = entry.snapshot_path
            text = snapshot or entry.run_dir or ""
            said = "snapshot path" if snapshot else "run folder"
            if not text:
                status("this run has no snapshot path to copy")
                return
        sequence = "\033]52;c;" + base64.b64encode(text.encode()).decode() + "\a"
        try:
            out = getattr(self.loop.screen, "_term_output_file", None) if self.loop else None
            stream = out or sys.stdout
            stream.write(sequence)
            stream.flush()
            status(f"copied the {said} {printable(text)} (through the terminal, OSC 52)")
        except (OSError, ValueError, AttributeError):
            status(f"no clipboard here; the {said} is {printable(text)}")
