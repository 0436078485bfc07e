"""``tmt_tui`` (and ``tmt tui``): the terminal app to browse, search, chart and compare runs.

Only this package imports urwid, and only when the app starts.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Start the app on the store of the working folder (or ``--config``, ``-C DIR``)."""
    parser = argparse.ArgumentParser(
        prog="tmt_tui",
        description="Browse, search, chart and compare the runs recorded with "
        "tmt. Press ? in the app for its keys.",
    )
    parser.add_argument("--config", metavar="PATH", help="a configuration file")
    parser.add_argument("-C", dest="directory", metavar="DIR", help="run as if started in DIR")
    args = parser.parse_args(argv)
    from ..display import one_line

    # Warnings (an unreadable record, say) would garble the screen: they are counted in the
    # status line and listed, one escaped line each, when the app ends.
    warned: list[str] = []
    shown = warnings.showwarning
    warnings.showwarning = lambda message, *rest, **more: warned.append(one_line(message))
    try:
        try:
            if args.directory:
                os.chdir(args.directory)
            from .app import App
            from .model import RunsModel

            model = RunsModel(config=args.config)
            model.warnings = warned
            app = App(model)
        except Exception as exc:  # one line, never a traceback
            if os.environ.get("TMT_DEBUG"):
                raise
            sys.stderr.write(f"tmt_tui: error: {one_line(exc)}\n")
            return 1
        app.run()
        return 0
    finally:
        warnings.showwarning = shown
        for message in dict.fromkeys(warned):
            sys.stderr.write(f"tmt_tui: warning: {message}\n")
