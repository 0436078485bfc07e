"""The exceptions tmt raises, so callers can catch tmt's failures apart from their own."""

from __future__ import annotations


class TmtError(Exception):
    """Base class of every error tmt raises on purpose."""


class ConfigError(TmtError, ValueError):
    """A configuration file is missing, malformed, or holds a value of the wrong type."""


class NotInRunError(TmtError, ValueError):
    """A function that needs an active run (``tmt_save``) was called outside one.

    A ``ValueError`` too, as in tmt 0.1.x.
    """


class DuplicatedNameError(TmtError):
    """A name is already taken: a saved result, or an experiment under ``DONT_ALLOW``."""


class ResultNameError(TmtError, ValueError):
    """A result name or extension would leave the run's results folder."""


class EntryNotFound(TmtError, LookupError):
    """No run matches the id or name asked for."""


class StoreError(TmtError, OSError):
    """The store cannot be written: its folder is not writable, or the disk is full."""


class ArgumentError(TmtError, ValueError):
    """A function of tmt was given a value it cannot take (an empty tag, a date it cannot
    read, a regular expression that does not compile)."""


class QueryError(ArgumentError):
    """A query (``--where``, the terminal app's ``/``, ``runs(where=...)``) cannot be read;
    the message names the term and why."""


class UnknownFieldError(ArgumentError):
    """A name given for a parameter or metric matches none of the runs', or several; the
    message names the closest real names (also in ``suggestions``)."""

    def __init__(self, message: str, suggestions: list[str] | None = None) -> None:
        super().__init__(message)
        self.suggestions = list(suggestions or ())


class ArgumentTypeError(TmtError, TypeError):
    """A function of tmt was given a value of a type it cannot take (a string as a metric
    value, an unknown configuration key)."""


class RunningRunError(TmtError, RuntimeError):
    """A run that is still running was asked to be deleted without ``force``."""


class ReadOnlyRunError(TmtError, ValueError):
    """A run of a tmt 0.1.x database, which tmt only reads, was asked to change."""


class EarlyStopped(TmtError):
    """Stops a run early: ``tmt_log`` raises it in a sweep's trial when the sweep's pruner
    decides the trial will not catch up, and code may raise it itself. The run is recorded
    as ``pruned``; ``step`` is the step it stopped at, if known."""

    def __init__(self, message: str = "stopped early", step: int | None = None) -> None:
        super().__init__(message)
        self.step = step


class RerunError(TmtError):
    """A run cannot be run again (``tmt rerun``): it has no script, no code snapshot, or the
    command it started recorded no run; the message says which."""


class SeriesNotFound(TmtError, KeyError):
    """A run logged no series of the name asked for."""

    def __str__(self) -> str:  # a KeyError shows its message quoted; this one reads as text
        return str(self.args[0]) if self.args else ""
