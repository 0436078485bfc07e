"""The ``tmt`` command line: find, inspect, compare, plot, diff and clean up runs.

Built on ``argparse``; every command only calls the library (``TmtManager``) and formats what
it returns. ``main(argv)`` returns the exit status: 0, 1 for an error (one line on stderr,
never a traceback), 2 for a usage error.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys

from ..display import one_line
from .console import Console

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import Any, NoReturn


class UsageError(Exception):
    """The command line itself is wrong (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit status 2
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


class _CommandParser(_Parser):
    """The parser of one command. It reports the arguments it does not know itself, so the
    message names the command (argparse hands them up to ``tmt``'s parser, which would name
    only ``tmt``); options given before the command are still reported by ``tmt``'s."""

    def parse_known_args(
        self, args: Iterable[str] | None = None, namespace: Any = None
    ) -> tuple[Any, list[str]]:
        parsed, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras


def build_parser() -> argparse.ArgumentParser:
    from . import listing, managing, plotting, rerunning, showing, sweeping, syncing

    parser = _Parser(
        prog="tmt",
        description="Find, inspect, compare, plot, diff and clean up the runs recorded with tmt.",
        epilog="Runs are named by REF: an id or a unique prefix of one, 'last', 'last~N' "
        "(N runs before the last), an experiment name (its newest run) or NAME~N.",
    )
    parser.add_argument("--config", metavar="PATH", help="a configuration file, as in the library")
    parser.add_argument("-C", dest="directory", metavar="DIR", help="run as if started in DIR")
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_CommandParser)
    for module in (listing, showing, plotting, managing, rerunning, sweeping, syncing):
        module.register(commands)
    tui = commands.add_parser(
        "tui",
        help="the terminal app (also: tmt_tui)",
        description="Browse, search, chart and compare runs in the "
        "terminal app. Press ? in it for its keys.",
    )
    tui.set_defaults(handler=_tui)
    return parser


def _tui(args: argparse.Namespace, console: Console) -> int:
    from ..tui import main as tui_main  # urwid is imported only now

    forwarded = ["--config", args.config] if args.config else []
    return tui_main(forwarded)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``tmt`` command line with ``argv`` (default: ``sys.argv[1:]``)."""
    import warnings

    console = Console()
    shown = warnings.showwarning

    def show_warning(message: object, *args: object, **kwargs: object) -> None:
        console.message(f"tmt: warning: {_one_line(message)}")  # one line, escaped

    warnings.showwarning = show_warning
    # A command lives a moment and reads many small records, which make no cycles: the
    # collector would only slow a listing of 100,000 runs by half.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _run(argv, console)
    finally:
        warnings.showwarning = shown
        if collecting:
            gc.enable()


def _run(argv: Sequence[str] | None, console: Console) -> int:
    from ..errors import QueryError, UnknownFieldError

    command = "tmt"
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help(console.out)
            return 2
        if args.directory:
            try:
                os.chdir(args.directory)
            except OSError as exc:
                raise UsageError(f"tmt: -C {args.directory}: {exc.strerror or exc}") from None
        command = f"tmt {args.command}"
        return args.handler(args, console) or 0
    except UsageError as exc:
        console.message(str(exc))
        return 2
    except (QueryError, UnknownFieldError) as exc:  # a misspelt name or query: usage
        console.message(f"{command}: {_one_line(exc)}")
        return 2
    except BrokenPipeError:  # `tmt list | head`: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        console.message("tmt: interrupted")
        return 130
    except Exception as exc:  # every error is one line, never a traceback
        if os.environ.get("TMT_DEBUG"):
            raise
        console.message(f"tmt: error: {_one_line(exc)}")
        return 1


def _one_line(exc: object) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, KeyError) and exc.args:
        text = str(exc.args[0])
    return one_line(text)


def _version() -> str:
    from .. import __version__

    return f"tmt {__version__}"
