"""The terminal app's controller: it alone owns the urwid ``MainLoop``, the stack of screens,
and what keys do."""

from __future__ import annotations

import base64
import sys

import urwid

from ..display import STATUS_COLOURS, printable
from .keys import is_command
from .query import QueryError
from .views import (
    CompareView,
    DetailView,
    DiffView,
    EmptyView,
    HelpView,
    RunsView,
    SearchPrompt,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
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
        self.prompt: SearchPrompt | None = None
        self.loop: urwid.MainLoop | None = None
        if model.store_exists:
            model.reload()
            self.runs: RunsView | None = RunsView(model)
            first: urwid.Widget = self.runs
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
        self.loop.run()

    # Keys -------------------------------------------------------------------------------------
    def handle_key(self, key: str | tuple) -> bool:
        """React to a key no widget used; True if it meant something here."""
        if not isinstance(key, str):
            return False  # mouse events the widgets did not want
        if self.prompt is not None:
            return self._prompt_key(key)
        view = self.view
        if is_command(key, "HELP"):
            self._push(HelpView())
        elif is_command(key, "BACK"):
            self._pop()
        elif is_command(key, "QUIT"):
            if view is self.runs or isinstance(view, EmptyView):
                raise urwid.ExitMainLoop()
            self._pop()
        elif is_command(key, "DOWN") or is_command(key, "UP") or key in ("home", "end"):
            self._move(key)
        elif view is self.runs:
            return self._runs_key(key)
        elif is_command(key, "COPY") and isinstance(view, DetailView):
            self.copy(view.entry)
        else:
            return False
        return True

    def _runs_key(self, key: str) -> bool:
        runs, model = self.runs, self.model
        assert runs is not None
        entry = runs.focused
        if is_command(key, "OPEN") and entry is not None:
            self._push(DetailView(entry))
        elif is_command(key, "SEARCH"):
            self.prompt = SearchPrompt(model.query)
            runs.frame.footer = urwid.AttrMap(self.prompt, "footer")
            runs.frame.focus_position = "footer"
        elif is_command(key, "CLEAR"):
            model.search("")
            runs.update()
        elif is_command(key, "SORT"):
            model.next_sort()
            runs.update()
        elif is_command(key, "SORT_REVERSE"):
            model.reverse_sort()
            runs.update()
        elif is_command(key, "GROUP"):
            model.toggle_group()
            runs.update()
        elif is_command(key, "MARK") and entry is not None:
            model.toggle_mark(entry)
            runs.refresh_rows()
            self._move("down")
        elif is_command(key, "COMPARE"):
            marked = model.marked_entries()
            if len(marked) < 2:
                runs.set_status("mark two runs or more with space to compare them")
            else:
                self._push(CompareView(marked))
        elif is_command(key, "DIFF"):
            pair = model.diff_pair(entry)
            if pair is None:
                runs.set_status("mark two runs, or open one that has an earlier run of its name")
            else:
                self._push(DiffView(*pair))
        elif is_command(key, "RELOAD"):
            self.reload("reloaded")
        elif is_command(key, "COPY") and entry is not None:
            self.copy(entry)
        else:
            return False
        return True

    def _prompt_key(self, key: str) -> bool:
        assert self.runs is not None and self.prompt is not None
        if key == "enter":
            try:
                self.model.search(self.prompt.edit_text)
            except QueryError as exc:
                self.runs.set_status(str(exc))
                return True  # keep the prompt open to fix it
            self._close_prompt()
            self.runs.update()
        elif key == "esc":
            self._close_prompt()
            self.runs.set_status()
        else:
            return False
        return True

    def _close_prompt(self) -> None:
        assert self.runs is not None
        self.prompt = None
        self.runs.frame.footer = self.runs.footer
        self.runs.frame.focus_position = "body"

    # Screens ----------------------------------------------------------------------------------
    def _push(self, view: urwid.Widget) -> None:
        self.stack.append(self.view)
        self.body.original_widget = view

    def _pop(self) -> None:
        if self.stack:
            self.body.original_widget = self.stack.pop()
            if self.view is self.runs:
                self.runs.refresh_rows()

    def _move(self, key: str) -> None:
        size = self.loop.screen.get_cols_rows() if self.loop else (80, 24)
        translated = {"j": "down", "k": "up"}.get(key, key)
        self.view.keypress(size, translated)

    def reload(self, message: str | None = None) -> None:
        self.model.reload()
        if self.runs is not None:
            self.runs.update(message)

    def _tick(self, loop: urwid.MainLoop, _: object) -> None:
        """Refresh the list by itself while runs are running."""
        idle = self.runs is not None and self.view is self.runs and self.prompt is None
        if idle and self.model.any_running():
            self.reload()
        loop.set_alarm_in(REFRESH_SECONDS, self._tick)

    # The clipboard ----------------------------------------------------------------------------
    def copy(self, entry: object) -> None:
        """Copy the run's snapshot path with the terminal's OSC 52 escape, which works over SSH
        and needs no clipboard program; where nothing can take it, the path is still shown."""
        path = getattr(entry, "snapshot_path", None) or getattr(entry, "run_dir", None) or ""
        status = self.runs.set_status if self.runs is not None else (lambda m: None)
        if not path:
            status("this run has no snapshot path to copy")
            return
        sequence = "\033]52;c;" + base64.b64encode(path.encode()).decode() + "\a"
        try:
            out = getattr(self.loop.screen, "_term_output_file", None) if self.loop else None
            stream = out or sys.stdout
            stream.write(sequence)
            stream.flush()
            status(f"copied {printable(path)} (OSC 52)")
        except (OSError, ValueError, AttributeError):
            status(f"no clipboard here; the path is {printable(path)}")
