"""``tmt_recorder``: the decorator that records each call of a function as a run."""

from __future__ import annotations

import functools
import os
import sys
import time
import warnings

from . import __version__
from .config import Configs
from .errors import DuplicatedNameError
from .liveness import process_start, this_host
from .run import ActiveRun, activate, deactivate, iso_time
from .store import Store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, TypeVar

    from .duplicates import DuplicateStrategy

    F = TypeVar("F", bound=Callable[..., Any])

_CO_COROUTINE = 0x80


def tmt_recorder(
    name: str,
    config_path: str | None = None,
    save_on_exception: bool = False,
    description: str = "",
    duplicate_strategy: DuplicateStrategy | None = None,
) -> Callable[[F], F]:
    """Record every call of the decorated function as a run of the experiment ``name``.

    A run's record is written when the call starts (status ``running``) and completed when it
    ends: ``finished`` with the metrics, if the function returned a dict; ``failed`` or
    ``interrupted`` with the exception, which still reaches the caller. The return value passes
    through unchanged. A snapshot of the code is taken as the run starts. Calling the function
    again records a new run of the same experiment.

    ``config_path`` names a configuration file; by default ``.tmt/config.json`` of the working
    folder is used when it exists. ``save_on_exception`` is accepted for tmt 0.1.x code: failed
    runs are always recorded. ``duplicate_strategy`` is described in :mod:`tmt.duplicates`.
    Works on functions, methods and ``async def`` functions.
    """
    if callable(name) and not isinstance(name, str):
        raise TypeError("tmt_recorder needs an experiment name: use @tmt_recorder(name='...')")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"tmt_recorder: name must be a non-empty string, got {name!r}")
    if not isinstance(description, str):
        raise TypeError(
            f"tmt_recorder: description must be a string, got {type(description).__name__}"
        )
    if config_path is not None:
        config_path = os.path.abspath(os.fspath(config_path))

    def decorate(func: F) -> F:
        def start() -> ActiveRun:
            return start_run(name, description, config_path, duplicate_strategy)

        if _is_async(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                run = start()
                token = activate(run)
                try:
                    returned = await func(*args, **kwargs)
                except BaseException as exc:
                    run.fail(exc)
                    raise
                finally:
                    deactivate(run, token)
                run.finish(returned)
                return returned

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            run = start()
            token = activate(run)
            try:
                returned = func(*args, **kwargs)
            except BaseException as exc:
                run.fail(exc)
                raise
            finally:
                deactivate(run, token)
            run.finish(returned)
            return returned

        return wrapper  # type: ignore[return-value]

    return decorate


def start_run(
    name: str,
    description: str,
    config_path: str | None,
    strategy: DuplicateStrategy | None = None,
) -> ActiveRun:
    """Create the run's folder and first record, and take its code snapshot."""
    config = Configs.load(config_path)
    store = Store(config)
    parent = _parent_for(store, name, strategy) if strategy is not None else None
    run_id = store.create_run_dir()
    now = round(time.time(), 6)  # microseconds: what a datetime holds
    pid = os.getpid()
    record: dict[str, Any] = {
        "schema": 1,
        "id": run_id,
        "name": name,
        "description": description,
        "status": "running",
        "started": iso_time(now),
        "ended": None,
        "duration": None,
        "start_time": now,
        "end_time": None,
        "heartbeat_time": now,
        "host": this_host(),
        "pid": pid,
        "process_start": process_start(pid),
        "cwd": os.getcwd(),
        "argv": list(getattr(sys, "argv", None) or []),
        "parent": parent,
        "metrics": {},
        "results": [],
        "snapshot": None,
        "snapshot_left_out": None,
        "error": None,
        "tmt_version": __version__,
    }
    dest = os.path.join(config.snapshot_target, run_id)
    record["snapshot"] = store.relative(dest)
    run = ActiveRun(store, record)
    run.write()
    _snapshot(run, config, dest)
    return run


def _parent_for(store: Store, name: str, strategy: DuplicateStrategy) -> str | None:
    policy = strategy.policy.name
    if policy == "AS_NEW_ENTRY":
        return None
    same_name = [r for r in store.records() if r.get("name") == name]
    if not same_name:
        return None
    if policy == "DONT_ALLOW":
        raise DuplicatedNameError(
            f"tmt_recorder: experiment {name!r} already has {len(same_name)} run(s) and "
            "duplicate_strategy is DONT_ALLOW"
        )
    ids = {r["id"] for r in same_name}
    if strategy.parent_id in ids:
        return strategy.parent_id
    newest = same_name[-1]["id"]
    if len(same_name) > 1:
        warnings.warn(
            f"tmt_recorder: {len(same_name)} runs of {name!r} exist and no valid parent_id was "
            f"given; attaching this run to the newest, {newest}",
            stacklevel=4,
        )
    return newest


def _snapshot(run: ActiveRun, config: Configs, dest: str) -> None:
    """Take the run's code snapshot into ``dest``; a problem is warned about, recorded, and
    never fails the run."""
    from .snapshot import point_last_link, take_snapshot

    exclude = [
        config.tmt_dir,
        config.snapshot_target,
        config.results_path,
        run.store.runs_dir,
        os.path.dirname(config.last_snapshot_link),
    ]
    try:
        report = take_snapshot(
            config.snapshot_source,
            config.snapshot_target,
            run.id,
            exclude,
            config.gitignore_path,
            config.snapshot_max_file_size,
        )
        point_last_link(config.last_snapshot_link, dest)
    except Exception as exc:
        warnings.warn(f"tmt: no code snapshot for run {run.id}: {exc}", stacklevel=4)
        run.update(snapshot=None, snapshot_left_out={"error": f"{type(exc).__name__}: {exc}"})
        return
    left_out = {}
    if report.too_large:
        left_out["too_large"] = report.too_large
        shown = ", ".join(report.too_large[:10])
        more = f" and {len(report.too_large) - 10} more" if len(report.too_large) > 10 else ""
        warnings.warn(
            f"tmt: files too large for the code snapshot were left out: {shown}{more}",
            stacklevel=4,
        )
    if report.skipped:
        left_out["skipped"] = report.skipped
        warnings.warn(
            f"tmt: files the code snapshot could not read were left out: "
            f"{'; '.join(report.skipped[:10])}",
            stacklevel=4,
        )
    if left_out:
        run.update(snapshot_left_out=left_out)


def _is_async(func: Callable[..., Any]) -> bool:
    target = func
    while isinstance(target, functools.partial):
        target = target.func
    target = getattr(target, "__func__", target)
    code = getattr(target, "__code__", None)
    return bool(code is not None and code.co_flags & _CO_COROUTINE)
