"""tmt (That Metric Timeline): track ML experiments offline, as plain JSON beside your project.

Decorate a function to record each call as a run: its returned metrics, the objects it saves,
a snapshot of the code, and when and where it ran::

    from tmt import tmt_recorder, tmt_save, TmtManager

    @tmt_recorder(name="logreg")
    def train(c=1.0, epochs=10):
        for epoch in range(epochs):
            tmt_log("loss", step_loss(c), step=epoch)
        model = fit(c)
        tmt_save(model, name="model")
        return {"accuracy": 0.93}

    train()

    manager = TmtManager()
    manager.set_entry_by_name("logreg")          # the newest run of "logreg"
    for name, value in manager.get_metrics():
        print(name, value)

Names are imported on first use, so ``import tmt`` costs next to nothing.
"""

__version__ = "0.2.0"

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .config import Configs
    from .db import DbManager
    from .duplicates import DuplicatePolicy, DuplicateStrategy
    from .entry import Entry, Metric, Result
    from .errors import (
        ArgumentError,
        ArgumentTypeError,
        ConfigError,
        DuplicatedNameError,
        EarlyStopped,
        EntryNotFound,
        NotInRunError,
        QueryError,
        ReadOnlyRunError,
        RerunError,
        ResultNameError,
        RunningRunError,
        SeriesNotFound,
        StoreError,
        TmtError,
        UnknownFieldError,
    )
    from .manager import TmtManager
    from .recorder import tmt_recorder
    from .results import tmt_save
    from .series import tmt_log
    from .sweeps import sweep

# Public name -> the module that defines it.
_EXPORTS = {
    "tmt_recorder": "recorder",
    "tmt_save": "results",
    "tmt_log": "series",
    "sweep": "sweeps",
    "TmtManager": "manager",
    "Configs": "config",
    "DbManager": "db",
    "Entry": "entry",
    "Metric": "entry",
    "Result": "entry",
    "DuplicatePolicy": "duplicates",
    "DuplicateStrategy": "duplicates",
    "TmtError": "errors",
    "ConfigError": "errors",
    "DuplicatedNameError": "errors",
    "EarlyStopped": "errors",
    "EntryNotFound": "errors",
    "NotInRunError": "errors",
    "ResultNameError": "errors",
    "StoreError": "errors",
    "ArgumentError": "errors",
    "ArgumentTypeError": "errors",
    "ReadOnlyRunError": "errors",
    "RunningRunError": "errors",
    "SeriesNotFound": "errors",
    "RerunError": "errors",
    "QueryError": "errors",
    "UnknownFieldError": "errors",
}

__all__ = [
    "ArgumentError",
    "ArgumentTypeError",
    "ConfigError",
    "Configs",
    "DbManager",
    "DuplicatePolicy",
    "DuplicateStrategy",
    "DuplicatedNameError",
    "EarlyStopped",
    "Entry",
    "EntryNotFound",
    "Metric",
    "NotInRunError",
    "QueryError",
    "ReadOnlyRunError",
    "RerunError",
    "Result",
    "ResultNameError",
    "RunningRunError",
    "SeriesNotFound",
    "StoreError",
    "TmtError",
    "TmtManager",
    "UnknownFieldError",
    "__version__",
    "sweep",
    "tmt_log",
    "tmt_recorder",
    "tmt_save",
]


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tmt' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list:
    return sorted(__all__)
