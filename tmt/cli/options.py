"""Options several commands share, defined once so that they read and behave the same."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

#: What each output format is, for the help of ``--format``.
_FORMATS = {
    "table": "a table for people (plain text when piped)",
    "text": "text for people (plain when piped)",
    "json": "JSON with stable keys",
    "csv": "CSV, one row a run",
    "tensorboard": "TensorBoard event files, a folder a run, in DIR (needs [tensorboard])",
    "mlflow": "MLflow runs, with --tracking-uri and --experiment (needs [mlflow])",
}


def add_output_options(parser: argparse.ArgumentParser, *formats: str) -> None:
    """``--format`` with the ``formats`` a command can write (the first is the default), and
    a ``--json`` / ``--csv`` shorthand for each of those it has."""
    group = parser.add_argument_group("output")
    choices = ", ".join(f"{name}: {_FORMATS[name]}" for name in formats)
    group.add_argument(
        "--format",
        choices=formats,
        default=formats[0],
        help=f"what to write ({choices}; default: {formats[0]})",
    )
    for name in ("json", "csv"):
        if name in formats:
            group.add_argument(
                f"--{name}",
                dest="format",
                action="store_const",
                const=name,
                help=f"the same as --format {name}",
            )
