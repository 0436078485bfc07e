"""The exceptions tmt raises, so callers can catch tmt's failures apart from their own."""


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
