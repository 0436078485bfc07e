"""A sweep's configuration, ``experiment_cfg.json``: ML Tracking Ops's format, read unchanged,
with a few keys of tmt's own; every mistake is one line naming the key.

ML Tracking Ops's keys: ``main_script_name``, ``hyperparameters`` (each ``{"type": "uniform",
"min", "max"}`` or ``{"type": "choice", "candidates": [...]}``), ``max_runs``,
``early_stopping``, ``early_stopping_patience``, ``optimization_metric`` and
``optimization_goal`` (``max`` or ``min``). tmt's: ``command`` (an argument list, instead of
``main_script_name``), the types ``loguniform`` and ``int``, ``sampler`` (``random``, the
default, ``tpe``, ``grid``), ``pruner`` (``patience``, the default with early stopping,
``median``, ``asha``) and ``seed`` (of the sampler).
"""

from __future__ import annotations

import math
import os

from .errors import ConfigError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: The environment variable through which ``tmt sweep`` tells a trial's process which trial
#: it is (see :mod:`tmt.trial`).
SWEEP_ENV = "TMT_SWEEP"
#: The configuration read when none is named, in the working folder (ML Tracking Ops's name).
DEFAULT_PATH = "experiment_cfg.json"
SAMPLERS = ("random", "tpe", "grid")
PRUNERS = ("patience", "median", "asha")
TYPES = ("uniform", "loguniform", "int", "choice")
_KEYS = (
    "main_script_name",
    "command",
    "hyperparameters",
    "max_runs",
    "early_stopping",
    "early_stopping_patience",
    "optimization_metric",
    "optimization_goal",
    "sampler",
    "pruner",
    "seed",
)
_MAX_CONFIG = 1024 * 1024


class Hyperparameter:
    """One hyperparameter to sample: its ``name`` (the flag ``--name`` gives it), ``kind``
    (one of :data:`TYPES`), its bounds ``low`` and ``high`` (numbers), or its
    ``candidates``."""

    __slots__ = ("candidates", "high", "kind", "low", "name")

    def __init__(
        self,
        name: str,
        kind: str,
        low: float | None = None,
        high: float | None = None,
        candidates: list[Any] | None = None,
    ) -> None:
        self.name = name
        self.kind = kind
        self.low = low
        self.high = high
        self.candidates = candidates

    def to_dict(self) -> dict[str, Any]:
        if self.kind == "choice":
            return {"type": "choice", "candidates": self.candidates}
        return {"type": self.kind, "min": self.low, "max": self.high}


class SweepConfig:
    """A checked sweep configuration (see the module's docstring for its keys). ``command``
    is the argument list each trial runs, before the sampled flags; ``metric`` and ``goal``
    are ``None`` when the sweep optimises nothing (it samples, and compares afterwards)."""

    def __init__(self, data: Any, where: str = "configuration") -> None:
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: expected a JSON object, got {type(data).__name__}")
        self.raw = data
        for key in data:
            if key not in _KEYS:
                raise ConfigError(f"{where}: unknown key {key!r} (known keys: {', '.join(_KEYS)})")
        self.command = _command(data, where)
        self.hyperparameters = _hyperparameters(data.get("hyperparameters"), where)
        self.max_runs = _whole(data, "max_runs", where, required=True)
        self.early_stopping = data.get("early_stopping", False)
        if not isinstance(self.early_stopping, bool):
            raise ConfigError(f"{where}: key 'early_stopping' must be true or false")
        self.metric = data.get("optimization_metric")
        if self.metric is not None and (not isinstance(self.metric, str) or not self.metric):
            raise ConfigError(f"{where}: key 'optimization_metric' must be a metric's name")
        self.goal = data.get("optimization_goal")
        if self.goal is not None and self.goal not in ("max", "min"):
            raise ConfigError(f"{where}: key 'optimization_goal' must be 'max' or 'min'")
        if self.metric is not None and self.goal is None:
            raise ConfigError(f"{where}: key 'optimization_goal' is missing: 'max' or 'min'")
        if self.goal is not None and self.metric is None:
            raise ConfigError(f"{where}: key 'optimization_metric' is missing: the goal is its")
        self.sampler = _one_of(data, "sampler", SAMPLERS, "random", where)
        self.pruner: str | None = None
        self.patience: int | None = None
        if self.early_stopping:
            if self.metric is None:
                raise ConfigError(
                    f"{where}: key 'optimization_metric' is missing: early stopping watches it"
                )
            self.pruner = _one_of(data, "pruner", PRUNERS, "patience", where)
            if self.pruner == "patience" or "early_stopping_patience" in data:
                self.patience = _whole(data, "early_stopping_patience", where, required=True)
        elif "pruner" in data:
            raise ConfigError(f"{where}: key 'pruner' is set but 'early_stopping' is not true")
        if self.sampler == "tpe" and self.metric is None:
            raise ConfigError(f"{where}: key 'optimization_metric' is missing: tpe optimises it")
        if self.sampler == "grid":
            for parameter in self.hyperparameters:
                if parameter.kind in ("uniform", "loguniform"):
                    raise ConfigError(
                        f"{where}: hyperparameters.{parameter.name}: a grid takes 'choice' and "
                        f"'int' hyperparameters, not {parameter.kind!r}"
                    )
        self.seed = data.get("seed")
        if self.seed is not None and (type(self.seed) is not int or self.seed < 0):
            raise ConfigError(f"{where}: key 'seed' must be a whole number of 0 or more")

    @classmethod
    def read(cls, path: str = DEFAULT_PATH) -> SweepConfig:
        """The configuration in the file ``path`` (``//`` and ``/* */`` comments allowed)."""
        from .config import read_commented_json

        path = os.fspath(path)
        return cls(read_commented_json(path, "sweep configuration"), path)

    def flags(self, values: dict[str, Any]) -> list[str]:
        """The command-line flags that give a trial its sampled ``values``:
        ``--learning_rate 0.0031 --batch_size 64``, as ML Tracking Ops passes them."""
        words: list[str] = []
        for parameter in self.hyperparameters:
            if parameter.name in values:
                words += [f"--{parameter.name}", _text(values[parameter.name])]
        return words


def _command(data: dict[str, Any], where: str) -> list[str]:
    script, command = data.get("main_script_name"), data.get("command")
    if script is not None and command is not None:
        raise ConfigError(f"{where}: keys 'main_script_name' and 'command' both given; keep one")
    if command is not None:
        if (
            not isinstance(command, list)
            or not command
            or not all(isinstance(word, str) and word for word in command)
        ):
            raise ConfigError(
                f"{where}: key 'command' must be a list of words, such as "
                '["python", "train.py", "--epochs", "10"]'
            )
        return list(command)
    if not isinstance(script, str) or not script.strip():
        raise ConfigError(
            f"{where}: key 'main_script_name' is missing: the script each trial runs "
            "(or 'command', the words of its command line)"
        )
    return ["python", script]


def _hyperparameters(value: Any, where: str) -> list[Hyperparameter]:
    if not isinstance(value, dict) or not value:
        raise ConfigError(
            f"{where}: key 'hyperparameters' must map each name to how it is sampled, such as "
            '{"lr": {"type": "uniform", "min": 0.0001, "max": 0.1}}'
        )
    found = []
    for name, spec in value.items():
        key = f"hyperparameters.{name}"
        if not name or name.startswith("-") or any(c.isspace() or c == "=" for c in name):
            raise ConfigError(f"{where}: {key}: a name must be usable as the flag --NAME")
        if not isinstance(spec, dict):
            raise ConfigError(f"{where}: {key} must be an object with a 'type'")
        kind = spec.get("type")
        if kind not in TYPES:
            raise ConfigError(
                f"{where}: {key}.type must be one of {', '.join(TYPES)}, got {kind!r}"
            )
        allowed = {"type", "candidates"} if kind == "choice" else {"type", "min", "max"}
        for extra in spec:
            if extra not in allowed:
                raise ConfigError(f"{where}: {key}: unknown key {extra!r} for type {kind!r}")
        if kind == "choice":
            candidates = spec.get("candidates")
            if not isinstance(candidates, list) or not candidates:
                raise ConfigError(f"{where}: {key}.candidates must be a list of values")
            for candidate in candidates:
                if candidate is None or isinstance(candidate, (dict, list)):
                    raise ConfigError(
                        f"{where}: {key}.candidates: {candidate!r} is not a number, text or "
                        "true/false"
                    )
            found.append(Hyperparameter(name, kind, candidates=list(candidates)))
            continue
        bounds: list[float] = []
        for end in ("min", "max"):
            number: Any = spec.get(end)
            whole = kind == "int"
            if whole and type(number) is not int:
                raise ConfigError(f"{where}: {key}.{end} must be a whole number")
            if type(number) not in (int, float) or not math.isfinite(number):
                raise ConfigError(f"{where}: {key}.{end} must be a number")
            bounds.append(number)
        low, high = bounds
        if low > high:
            raise ConfigError(f"{where}: {key}: min ({low}) is above max ({high})")
        if kind == "loguniform" and low <= 0:
            raise ConfigError(f"{where}: {key}.min must be above 0 for a loguniform")
        found.append(Hyperparameter(name, kind, low, high))
    return found


def _whole(data: dict[str, Any], key: str, where: str, required: bool = False) -> int:
    value = data.get(key)
    if value is None and required:
        raise ConfigError(f"{where}: key {key!r} is missing: a whole number of 1 or more")
    if type(value) is not int or value < 1:
        raise ConfigError(f"{where}: key {key!r} must be a whole number of 1 or more")
    return value


def _one_of(
    data: dict[str, Any], key: str, choices: tuple[str, ...], default: str, where: str
) -> str:
    value = data.get(key, default)
    if value not in choices:
        raise ConfigError(
            f"{where}: key {key!r} must be one of {', '.join(choices)}, got {value!r}"
        )
    return str(value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)
