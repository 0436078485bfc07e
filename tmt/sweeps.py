"""Hyperparameter sweeps, on Optuna: the search, the pruning and the sharing of a study among
processes and nodes are Optuna's; tmt runs each trial as an ordinary recorded run.

A sweep lives in ``<tmt_dir>/sweeps/<id>/``: ``sweep.json`` (its configuration, where its
Optuna study is stored, the folder its trials run in) and, unless a database URL was given,
``journal.log``, the study itself (Optuna's journal file, shared by every worker that can
read the folder: other shells, other nodes on a shared filesystem). A trial runs the
configured command with the sampled values as flags (``--lr 0.0031``) in that folder; the
run it records carries ``sweep: {id, trial}`` and reports the sweep's metric through a pipe
(see :mod:`tmt.trial`), so the pruner can stop it early.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

from . import jsonfile
from .errors import ArgumentError, ConfigError, EarlyStopped, TmtError
from .sweepconfig import SWEEP_ENV, SweepConfig

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

    from .entry import Entry

SWEEP_FILE = "sweep.json"
SWEEP_SCHEMA = 1
_DONE = ("COMPLETE", "PRUNED", "FAIL")
_LINGER = 5.0  # seconds to wait, once a trial's command ended, for what it still has to say


def optuna() -> Any:
    """Optuna, or one line saying how to install it."""
    try:
        import optuna as module
    except ImportError:
        raise ImportError(
            "tmt sweep needs Optuna: pip install 'ThatMetricTimeline[sweep]'"
        ) from None
    module.logging.set_verbosity(module.logging.WARNING)
    return module


def open_storage(storage: str) -> Any:
    """Optuna's storage named by ``storage``: a database URL (``sqlite:///sweeps.db``,
    ``postgresql://...``), or else the path of a journal file."""
    module = optuna()
    if "://" in storage:
        return module.storages.RDBStorage(storage)
    from optuna.storages.journal import JournalFileBackend

    return module.storages.JournalStorage(JournalFileBackend(storage))


class Sweep:
    """One sweep: its ``id``, ``config``, Optuna ``storage`` and ``study`` name, the ``cwd``
    its trials run in, and its ``folder`` in the store."""

    def __init__(self, folder: str, data: dict[str, Any]) -> None:
        self.folder = folder
        self.id = str(data["id"])
        self.raw = data["config"]
        self.config = SweepConfig(data["config"], f"sweep {self.id}")
        self.storage = str(data["storage"])
        self.study_name = str(data["study"])
        self.cwd = str(data["cwd"])
        self.created = float(data["created"])
        function = data.get("function")
        self.function = function if isinstance(function, str) else None
        self._study: Any = None

    @classmethod
    def create(
        cls,
        tmt_dir: str,
        raw: dict[str, Any],
        cwd: str,
        storage: str | None = None,
        function: str | None = None,
    ) -> Sweep:
        """A new sweep of the configuration ``raw`` (checked), its trials to run in ``cwd``
        (or to call ``function``, of the process that made it: see :func:`sweep`)."""
        config = SweepConfig(raw)
        module = optuna()
        sweep_id = os.urandom(4).hex()
        folder = os.path.join(tmt_dir, "sweeps", sweep_id)
        os.makedirs(folder)
        storage = _absolute_storage(storage) if storage else os.path.join(folder, "journal.log")
        data = {
            "schema": SWEEP_SCHEMA,
            "id": sweep_id,
            "config": raw,
            "storage": storage,
            "study": f"tmt-sweep-{sweep_id}",
            "cwd": os.path.abspath(cwd),
            "created": time.time(),
            "function": function,
        }
        direction = "minimize" if config.goal == "min" else "maximize"
        study = module.create_study(
            study_name=data["study"], storage=open_storage(storage), direction=direction
        )
        if config.sampler == "grid":  # every point queued once, in order, for any worker
            import itertools

            grid = _grid(config)
            for point in itertools.islice(itertools.product(*grid.values()), config.max_runs):
                study.enqueue_trial(dict(zip(grid, point)))
        jsonfile.write_atomic(os.path.join(folder, SWEEP_FILE), data)
        return cls(folder, data)

    @classmethod
    def load(cls, tmt_dir: str, ref: str) -> Sweep:
        """The sweep whose id is, or begins with, ``ref``."""
        found = [s for s in all_sweeps(tmt_dir) if s.id.startswith(ref)]
        if not found:
            raise ArgumentError(f"no sweep {ref!r} in {tmt_dir} (tmt sweep list shows them)")
        if len(found) > 1:
            raise ArgumentError(f"sweep {ref!r} is ambiguous: {', '.join(s.id for s in found)}")
        return found[0]

    # The study --------------------------------------------------------------------------------
    def study(self) -> Any:
        """The Optuna study, with the configured sampler and pruner."""
        if self._study is None:
            module = optuna()
            self._study = module.load_study(
                study_name=self.study_name,
                storage=open_storage(self.storage),
                sampler=_sampler(module, self.config),
                pruner=_pruner(module, self.config),
            )
        return self._study

    def trials(self) -> list[Any]:
        return list(self.study().get_trials(deepcopy=False))

    def counted(self, before: int | None = None) -> int:
        """The trials that count towards ``max_runs`` (of those numbered below ``before``,
        if given): ended ones (not those interrupted) and those running."""
        count = 0
        for trial in self.trials():
            if before is not None and trial.number >= before:
                continue
            if _counts(trial):
                count += 1
        return count

    def limit(self) -> int:
        """``max_runs``, or fewer for a grid that holds fewer points."""
        if self.config.sampler != "grid":
            return self.config.max_runs
        points = 1
        for value in _grid(self.config).values():
            points *= len(value)
        return min(points, self.config.max_runs)

    def rows(self) -> list[dict[str, Any]]:
        """Every trial, best first: ``trial``, ``run`` (the id of its run), ``params``,
        ``status`` (its run's: ``finished``, ``pruned``, ``failed``, ``interrupted``...; or
        ``running``, or ``waiting`` for a queued grid point), ``value`` (its best value of
        the metric, that of a pruned trial included), ``stopped_at`` (the last step it
        reported, if pruned), ``best`` (whether it is the best trial)."""
        rows = []
        for trial in self.trials():
            if trial.user_attrs.get("surplus"):
                continue  # asked beyond max_runs in a race, and given way at once
            state = trial.state.name
            status = {
                "COMPLETE": "finished",
                "PRUNED": "pruned",
                "RUNNING": "running",
                "WAITING": "waiting",
            }.get(state, "failed")
            if trial.user_attrs.get("interrupted"):
                status = "interrupted"
            steps = sorted(trial.intermediate_values)
            value = trial.value if self.config.metric is not None else None  # 0: a placeholder
            if value is None and steps and self.config.metric is not None:
                reported = [trial.intermediate_values[s] for s in steps]
                value = max(reported) if self.config.goal == "max" else min(reported)
            rows.append(
                {
                    "trial": trial.number,
                    "run": trial.user_attrs.get("run"),
                    "params": dict(trial.params),
                    "status": status,
                    "value": value,
                    "stopped_at": steps[-1] if status == "pruned" and steps else None,
                    "best": False,
                }
            )
        # A trial stopped early is judged by the best value it reached, as one that ran on.
        scored = [
            r for r in rows if r["value"] is not None and r["status"] in ("finished", "pruned")
        ]
        if scored and self.config.goal is not None:
            pick = max if self.config.goal == "max" else min
            pick(scored, key=lambda r: r["value"])["best"] = True
        sign = -1 if self.config.goal == "max" else 1

        def rank(row: dict[str, Any]) -> tuple:
            value = row["value"]
            return (not row["best"], value is None, sign * value if value is not None else 0)

        return sorted(rows, key=rank)

    def progress(self) -> dict[str, Any]:
        """How far the sweep got: trials ``done`` (of ``limit``), ``running``, ``pruned``,
        ``failed``, ``interrupted``, and the ``best`` row (or ``None``)."""
        rows = self.rows()
        count = {status: 0 for status in ("finished", "running", "pruned", "failed")}
        interrupted = 0
        for row in rows:
            if row["status"] == "interrupted":
                interrupted += 1
            elif row["status"] in count:
                count[row["status"]] += 1
        best = next((r for r in rows if r["best"]), None)
        done = count["finished"] + count["pruned"] + count["failed"]
        return {
            "done": done,
            "limit": self.limit(),
            "running": count["running"],
            "pruned": count["pruned"],
            "failed": count["failed"],
            "interrupted": interrupted,
            "best": best,
        }

    def to_dict(self) -> dict[str, Any]:
        """The sweep as ``tmt sweep show --json`` gives it."""
        return {
            "id": self.id,
            "created": self.created,
            "cwd": self.cwd,
            "storage": self.storage,
            "study": self.study_name,
            "config": self.raw,
            "progress": {k: v for k, v in self.progress().items() if k != "best"},
            "trials": self.rows(),
        }

    def run(self, workers: int = 1, events: Callable[[dict[str, Any]], None] | None = None) -> bool:
        """Run trials, ``workers`` at a time, until ``max_runs`` are done (see
        :func:`run_workers`); returns whether Ctrl-C stopped it first."""
        return run_workers(self, workers, events or (lambda outcome: None))

    def abandon_dead_trials(self) -> int:
        """Mark the trials whose worker process on this machine is gone (killed) as
        interrupted, so that they no longer count; returns how many."""
        from .liveness import this_host

        study = self.study()
        count = 0
        for trial in self.trials():
            worker = trial.user_attrs.get("worker")
            if trial.state.name != "RUNNING" or not isinstance(worker, dict):
                continue  # a trial just asked has no worker yet: it is not given up
            if worker.get("host") != this_host():
                continue
            if not _alive(worker.get("pid")):
                study._storage.set_trial_user_attr(trial._trial_id, "interrupted", True)
                study.tell(
                    trial.number, state=optuna().trial.TrialState.FAIL, skip_if_finished=True
                )
                count += 1
        return count


def all_sweeps(tmt_dir: str) -> list[Sweep]:
    """The sweeps of a store, oldest first."""
    root = os.path.join(tmt_dir, "sweeps")
    try:
        names = os.listdir(root)
    except OSError:
        return []
    found = []
    for name in names:
        folder = os.path.join(root, name)
        path = os.path.join(folder, SWEEP_FILE)
        try:
            data = jsonfile.read(path, 1024 * 1024)
            if not isinstance(data, dict) or data.get("id") != name:
                raise ValueError("not a sweep's record (no matching 'id')")
            found.append(Sweep(folder, data))
        except FileNotFoundError:
            continue  # a folder being made, or not a sweep's
        except (OSError, ValueError, KeyError, TypeError, ConfigError) as exc:
            from .runfolder import warn

            warn(f"{path}: unreadable sweep skipped: {_one_line(exc)}")
    return sorted(found, key=lambda s: s.created)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


class Worker:
    """Runs trials of ``sweep`` one after another until ``max_runs`` are done or it is told
    to stop; ``events`` is called with each trial that ends."""

    def __init__(
        self,
        sweep: Sweep,
        lock: threading.Lock,
        stopping: threading.Event,
        events: Callable[[dict[str, Any]], None],
    ) -> None:
        self.sweep = sweep
        self.lock = lock
        self.stopping = stopping
        self.events = events
        self.process: subprocess.Popen | None = None

    def run(self) -> None:
        from .liveness import this_host

        study = self.sweep.study()
        distributions = _distributions(optuna(), self.sweep.config)
        while not self.stopping.is_set():
            with self.lock:
                if self.sweep.counted() >= self.sweep.limit():
                    return
                trial = study.ask(distributions)
                worker = {"host": this_host(), "pid": os.getpid()}  # one write: seen whole
                study._storage.set_trial_user_attr(trial._trial_id, "worker", worker)
                # Workers of other processes ask too: of trials asked at once beyond
                # max_runs, those numbered last give way, whoever asked them.
                if self.sweep.counted(before=trial.number) >= self.sweep.limit():
                    study._storage.set_trial_user_attr(trial._trial_id, "surplus", True)
                    study.tell(
                        trial.number, state=optuna().trial.TrialState.FAIL, skip_if_finished=True
                    )
                    return
            try:
                outcome = self.run_trial(trial)
            except BaseException as exc:
                if isinstance(exc, KeyboardInterrupt):
                    study._storage.set_trial_user_attr(trial._trial_id, "interrupted", True)
                study.tell(
                    trial.number, state=optuna().trial.TrialState.FAIL, skip_if_finished=True
                )
                raise
            self.events(outcome)

    def run_trial(self, trial: Any) -> dict[str, Any]:
        """Run one trial, report its metric, and tell the study how it ended."""
        config = self.sweep.config
        report_read, report_write = os.pipe()
        stop_read, stop_write = os.pipe()
        request = {
            "id": self.sweep.id,
            "trial": trial.number,
            "metric": config.metric,
            "report": report_write,
            "stop": stop_read,
        }
        listener = _Listener(trial, report_read, stop_write, config.early_stopping)
        listener.start()
        try:
            returncode = self.launch(trial, request)
        finally:
            os.close(report_write)  # the listener ends when every writer has closed it
            os.close(stop_read)
            # ...unless a process the command left behind holds the pipe open: not waited for.
            listener.join(_LINGER)
            listener.close()
        return self.finish(trial, returncode, listener)

    def launch(self, trial: Any, request: dict[str, Any]) -> int:
        """Run the trial's command, told which trial it is; its exit status."""
        if self.sweep.function is not None:
            self.stopping.set()
            raise TmtError(
                f"sweep {self.sweep.id} calls {self.sweep.function} in the Python process that "
                "made it: its trials run there, with tmt.sweep"
            )
        command = list(self.sweep.config.command)
        if command[0] in ("python", "python3"):
            command[0] = sys.executable  # the interpreter tmt runs in
        command += self.sweep.config.flags(trial.params)
        env = {**os.environ, SWEEP_ENV: json.dumps(request)}
        try:
            self.process = subprocess.Popen(
                command,
                cwd=self.sweep.cwd,
                env=env,
                pass_fds=(request["report"], request["stop"]),
                stdin=subprocess.DEVNULL,
            )
        except OSError as exc:
            self.stopping.set()
            raise TmtError(f"cannot run {command[0]}: {exc.strerror or exc}") from None
        return _wait(self.process)

    def finish(self, trial: Any, returncode: int, listener: _Listener) -> dict[str, Any]:
        from .manager import TmtManager

        module = optuna()
        study = self.sweep.study()
        states = module.trial.TrialState
        run = None
        if listener.run_id is not None:
            study._storage.set_trial_user_attr(trial._trial_id, "run", listener.run_id)
            try:
                run = TmtManager(path=os.path.dirname(os.path.dirname(self.sweep.folder))).run(
                    listener.run_id
                )
            except TmtError:
                run = None
        status = run.status if run is not None else "failed"
        value = best_value(run, self.sweep.config) if run is not None else None
        outcome = {
            "trial": trial.number,
            "run": listener.run_id,
            "status": status,
            "value": value,
            "params": dict(trial.params),
            "returncode": returncode,
            "stopped_at": listener.stopped_at,
        }
        if status == "pruned":
            study.tell(trial.number, state=states.PRUNED, skip_if_finished=True)
        elif status == "finished" and (value is not None or self.sweep.config.metric is None):
            study.tell(trial.number, value if value is not None else 0.0, skip_if_finished=True)
        else:
            if status == "interrupted":
                study._storage.set_trial_user_attr(trial._trial_id, "interrupted", True)
            elif status == "finished":  # but with no value of the metric to judge it by
                outcome["status"] = "failed"
                outcome["why"] = f"its run gave no value of {self.sweep.config.metric}"
            study.tell(trial.number, state=states.FAIL, skip_if_finished=True)
        return outcome


class _FunctionWorker(Worker):
    """Runs trials by calling a function of this process with the sampled values."""

    def __init__(self, fn: Callable[..., Any], *args: Any) -> None:
        super().__init__(*args)
        self.fn = fn

    def launch(self, trial: Any, request: dict[str, Any]) -> int:
        before = os.environ.get(SWEEP_ENV)
        os.environ[SWEEP_ENV] = json.dumps(request)  # the recorder's word, as for a command
        try:
            self.fn(**trial.params)
        except EarlyStopped:
            return 0
        except Exception:  # recorded by the run; the sweep goes on, as for a command
            import traceback

            traceback.print_exc()
            return 1
        finally:
            if before is None:
                os.environ.pop(SWEEP_ENV, None)
            else:
                os.environ[SWEEP_ENV] = before
        return 0


def sweep(
    fn: Callable[..., Any],
    config: str | dict[str, Any] = "experiment_cfg.json",
    storage: str | None = None,
    events: Callable[[dict[str, Any]], None] | None = None,
) -> Sweep:
    """Run a sweep in this process, for a notebook: each trial calls ``fn`` with the sampled
    values as keyword arguments (``fn(learning_rate=0.0031, batch_size=64)``). ``fn`` is a
    function recorded with ``tmt_recorder``: its run is the trial's, and its ``tmt_log`` of
    the sweep's metric raises :class:`tmt.EarlyStopped` when the pruner says stop, which ends
    the run as ``pruned`` and the trial. ``config`` is a file or its content as a dict (the
    ``command`` or ``main_script_name`` it names is not run); the sweep goes to the store of
    the working folder, and ``tmt sweep show`` shows it. Returns the sweep; Ctrl-C stops it
    (``KeyboardInterrupt`` is raised once its trial is recorded)."""
    from .config import Configs

    raw = dict(config if isinstance(config, dict) else SweepConfig.read(config).raw)
    name = getattr(fn, "__qualname__", None) or repr(fn)
    if "command" not in raw and "main_script_name" not in raw:
        raw["command"] = [f"<function {name}>"]
    made = Sweep.create(Configs.load().tmt_dir, raw, os.getcwd(), storage, function=name)
    lock, stopping = threading.Lock(), threading.Event()
    _FunctionWorker(fn, made, lock, stopping, events or (lambda outcome: None)).run()
    return made


class _Listener(threading.Thread):
    """The sweep's end of a trial's pipes: takes the run's id and the metric's values,
    reports them to the trial, and says stop when the pruner decides so."""

    def __init__(self, trial: Any, report: int, stop: int, pruning: bool) -> None:
        super().__init__(daemon=True)
        self.trial = trial
        self.report = report
        self.stop = stop
        self.pruning = pruning
        self.run_id: str | None = None
        self.stopped_at: int | None = None
        self.lock = threading.Lock()
        self.closed = False

    def run(self) -> None:
        with os.fdopen(self.report, "rb") as lines:
            for line in lines:
                with self.lock:
                    if self.closed:  # the trial is over: nothing said now counts
                        return
                    self.take(line.decode("utf-8", "replace").split())

    def take(self, words: list[str]) -> None:
        if len(words) == 2 and words[0] == "run":
            self.run_id = self.run_id or words[1]
            return
        try:
            step, value = int(words[0]), float(words[1])
        except (IndexError, ValueError):
            return
        if value != value or self.stopped_at is not None:
            return
        self.trial.report(value, step)
        if self.pruning and self.trial.should_prune():
            self.stopped_at = step
            try:
                os.write(self.stop, b"p")
            except OSError:
                pass

    def close(self) -> None:
        """End the listening: after this, nothing is reported, and the stop pipe is shut."""
        with self.lock:
            self.closed = True
            os.close(self.stop)


def best_value(run: Entry, config: SweepConfig) -> float | None:
    """A trial's value: the run's best logged value of the sweep's metric (highest for
    ``max``, lowest for ``min``), or the value it returned when it logged none."""
    metric = config.metric
    if metric is None:
        return None
    try:
        values = [v for v in run.series(metric).values if v == v]
    except KeyError:
        values = []
    if values:
        return max(values) if config.goal == "max" else min(values)
    from .jsonvalue import flatten

    returned = flatten(run.metrics).get(metric)
    if isinstance(returned, (int, float)) and not isinstance(returned, bool):
        return float(returned) if returned == returned else None
    return None


def _counts(trial: Any) -> bool:
    """Whether a trial counts towards ``max_runs``: running, or ended (not interrupted, nor
    asked beyond the limit by a worker racing another)."""
    attrs = trial.user_attrs
    if attrs.get("surplus") or attrs.get("interrupted"):
        return False
    return trial.state.name == "RUNNING" or trial.state.name in _DONE


def _wait(process: subprocess.Popen) -> int:
    while True:
        try:
            return process.wait()
        except KeyboardInterrupt:  # the trial got the Ctrl-C too: it records itself
            continue


def _alive(pid: Any) -> bool:
    if type(pid) is not int or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _distributions(module: Any, config: SweepConfig) -> dict[str, Any]:
    d = module.distributions
    found = {}
    for p in config.hyperparameters:
        if p.kind == "choice":
            found[p.name] = d.CategoricalDistribution(p.candidates)
        elif p.kind == "int":
            found[p.name] = d.IntDistribution(int(p.low or 0), int(p.high or 0))
        else:
            low, high = float(p.low or 0), float(p.high or 0)
            found[p.name] = d.FloatDistribution(low, high, log=p.kind == "loguniform")
    return found


def _grid(config: SweepConfig) -> dict[str, list[Any]]:
    return {
        p.name: list(p.candidates or [])
        if p.kind == "choice"
        else list(range(int(p.low or 0), int(p.high or 0) + 1))
        for p in config.hyperparameters
    }


def _sampler(module: Any, config: SweepConfig) -> Any:
    samplers = module.samplers
    if config.sampler == "tpe":
        return samplers.TPESampler(seed=config.seed)
    # A grid's points are queued in the study when it is made (see Sweep.create): Optuna's
    # GridSampler stops a study only from inside study.optimize, which workers do not use.
    return samplers.RandomSampler(seed=config.seed)


def _pruner(module: Any, config: SweepConfig) -> Any:
    pruners = module.pruners
    if not config.early_stopping:
        return pruners.NopPruner()
    inner = None
    if config.pruner == "median":
        inner = pruners.MedianPruner()
    elif config.pruner == "asha":
        inner = pruners.SuccessiveHalvingPruner()
    if config.patience is None:
        return inner
    return _patience(module, config.patience, inner)


def _patience(module: Any, patience: int, inner: Any) -> Any:
    """ML Tracking Ops's early stopping as an Optuna pruner: a trial stops once ``patience``
    values in a row have not improved on its best before them (and, with ``inner``, once that
    pruner says so too). Optuna's own PatientPruner stops only when they got worse: a metric
    that stays flat would never stop."""
    maximize = module.study.StudyDirection.MAXIMIZE

    class Patience(module.pruners.BasePruner):
        def prune(self, study: Any, trial: Any) -> bool:
            values = [v for _, v in sorted(trial.intermediate_values.items()) if v == v]
            if len(values) <= patience:
                return False
            before, after = values[:-patience], values[-patience:]
            if study.direction == maximize:
                stale = max(after) <= max(before)
            else:
                stale = min(after) >= min(before)
            return stale and (inner is None or bool(inner.prune(study, trial)))

    return Patience()


def run_workers(sweep: Sweep, workers: int, events: Callable[[dict[str, Any]], None]) -> bool:
    """Run ``workers`` trials at a time until the sweep has ``max_runs``; ``events`` is
    called (from the workers' threads, one at a time) with each trial that ends. Ctrl-C
    stops cleanly: the running trials get it too and record themselves ``interrupted``, and
    no new one starts. Returns whether it was interrupted."""
    if workers < 1:
        raise ArgumentError(f"--workers must be 1 or more, got {workers}")
    sweep.abandon_dead_trials()
    lock, said = threading.Lock(), threading.Lock()
    stopping = threading.Event()
    failures: list[BaseException] = []

    def tell(outcome: dict[str, Any]) -> None:
        with said:
            events(outcome)

    def work() -> None:
        try:
            Worker(sweep, lock, stopping, tell).run()
        except BaseException as exc:  # said in the main thread
            failures.append(exc)
            stopping.set()

    threads = [threading.Thread(target=work, daemon=True) for _ in range(workers)]
    for thread in threads:
        thread.start()
    interrupted = False
    while any(t.is_alive() for t in threads):
        try:
            for thread in threads:
                thread.join(0.2)
        except KeyboardInterrupt:
            interrupted = True
            stopping.set()
    if failures:
        raise failures[0]
    return interrupted


def _absolute_storage(storage: str) -> str:
    """``storage`` as every worker reads it, wherever it runs: a journal file's path, or a
    SQLite database's in ``sqlite:///path``, made absolute (a URL of a server is as it is)."""
    if "://" not in storage:
        return os.path.abspath(os.path.expanduser(storage))
    prefix = "sqlite:///"
    if storage.startswith(prefix) and not storage.startswith(prefix + "/"):
        return prefix + os.path.abspath(storage[len(prefix) :])
    return storage
