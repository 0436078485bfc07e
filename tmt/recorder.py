"""``tmt_recorder``: the decorator that records each call of a function as a run."""

from __future__ import annotations

import functools
import os
import sys
import time
import warnings

from . import __version__, output
from .activerun import (
    ActiveRun,
    activate,
    deactivate,
    enter_disabled,
    iso_time,
    leave_disabled,
    output_targets,
    register,
    run_to_nest_in,
)
from .command import as_original, describe_command, note_rerun, rerun_request
from .config import Configs
from .duplicates import DuplicateStrategy
from .environment import PackagesProbe, describe
from .errors import (
    ArgumentError,
    ArgumentTypeError,
    ConfigError,
    DuplicatedNameError,
    StoreError,
)
from .gitinfo import GitProbe
from .liveness import machine, process_start, this_host
from .output import RunOutput
from .params import call_params, signature_of
from .record import SCHEMA_VERSION, absolute_path, check_tags, stored_path
from .runfolder import read_run, warn
from .series import SeriesWriter
from .store import Store
from .termination import hold_interrupts, release_interrupts

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from inspect import Signature
    from typing import Any, Callable, TypeVar

    F = TypeVar("F", bound=Callable[..., Any])

_CO_COROUTINE = 0x80


def tmt_recorder(
    name: str,
    config_path: str | None = None,
    save_on_exception: bool = False,
    description: str = "",
    duplicate_strategy: DuplicateStrategy | None = None,
    *,
    tags: Iterable[str] = (),
    enabled: bool = True,
) -> Callable[[F], F]:
    """Record every call of the decorated function as a run of the experiment ``name``.

    A run's record is written when the call starts (status ``running``) and completed when it
    ends: ``finished`` with the metrics, if the function returned a dict; ``failed`` or
    ``interrupted`` with the exception, which still reaches the caller. The return value passes
    through unchanged. Calling the function again records a new run of the same experiment.

    Without any extra code, a run also keeps: the call's arguments (``params``), a snapshot of
    the code, the git commit, branch and uncommitted diff, the environment (Python, platform,
    installed distributions), and a copy of what it prints. A recorded function called inside
    another run is a child run of it, sharing its code snapshot.

    ``config_path`` names a configuration file; by default ``.tmt/config.json`` of the working
    folder is used when it exists. ``save_on_exception`` is accepted for tmt 0.1.x code: failed
    runs are always recorded. ``duplicate_strategy`` is described in :mod:`tmt.duplicates`.
    ``tags`` label the run. ``enabled=False``, or ``TMT_DISABLE=1`` in the environment, runs the
    function without recording anything (``tmt_save`` and ``tmt_log`` then keep nothing;
    ``tmt_log`` still refuses what is not a number, as it would recording).
    Works on functions, methods and ``async def`` functions.
    """
    if callable(name) and not isinstance(name, str):
        raise ArgumentTypeError(
            "tmt_recorder needs an experiment name: use @tmt_recorder(name='...')"
        )
    if not isinstance(name, str) or not name.strip():
        raise ArgumentError(f"tmt_recorder: name must be a non-empty string, got {name!r}")
    if not isinstance(description, str):
        raise ArgumentTypeError(
            f"tmt_recorder: description must be a string, got {type(description).__name__}"
        )
    if duplicate_strategy is not None and not isinstance(duplicate_strategy, DuplicateStrategy):
        raise ArgumentTypeError(
            "tmt_recorder: duplicate_strategy must be a DuplicateStrategy, "
            f"got {duplicate_strategy!r}"
        )
    tag_list = check_tags(tags, "tmt_recorder")
    if config_path is not None:
        if not isinstance(config_path, (str, os.PathLike)):
            raise ArgumentTypeError(
                f"tmt_recorder: config_path must be a path, got {type(config_path).__name__}"
            )
        config_path = os.path.abspath(os.fspath(config_path))

    def decorate(func: F) -> F:
        signature: list[Signature | None] = []  # on the first call: inspect is slow to import

        def start(args: tuple[Any, ...], kwargs: dict[str, Any]) -> ActiveRun:
            if not signature:
                signature.append(signature_of(func))
            params = call_params(signature[0], args, kwargs)
            return start_run(
                name, description, config_path, duplicate_strategy, params=params, tags=tag_list
            )

        # The two wrappers differ only by ``await``. The retry around end_run is written out in
        # each: a Ctrl-C can land on the way into any function, before its own try begins.
        if _is_async(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                if not enabled or _disabled_by_environment():
                    token = enter_disabled(SeriesWriter(None))
                    try:
                        return await func(*args, **kwargs)
                    finally:
                        leave_disabled(token)
                run = None
                try:
                    run = start(args, kwargs)
                    returned = await func(*args, **kwargs)
                except BaseException as exc:
                    if run is not None:
                        try:
                            end_run(run, exc)
                        except KeyboardInterrupt:
                            end_run(run, exc)
                            raise
                    raise
                try:
                    end_run(run, None, returned)
                except KeyboardInterrupt:
                    end_run(run, None, returned)
                    raise
                return returned

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not enabled or _disabled_by_environment():
                token = enter_disabled(SeriesWriter(None))
                try:
                    return func(*args, **kwargs)
                finally:
                    leave_disabled(token)
            run = None
            try:
                run = start(args, kwargs)  # active once it returns; ended by start if not
                returned = func(*args, **kwargs)
            except BaseException as exc:
                if run is not None:
                    try:
                        end_run(run, exc)
                    except KeyboardInterrupt:  # came while the run was ended: it is recorded
                        end_run(run, exc)  # (or came on the way in: record it now)
                        raise
                raise
            try:
                end_run(run, None, returned)
            except KeyboardInterrupt:
                end_run(run, None, returned)
                raise
            return returned

        return wrapper  # type: ignore[return-value]

    return decorate


def end_run(run: ActiveRun, exc: BaseException | None, returned: Any = None) -> None:
    """Make the run current no more and end it (see :mod:`tmt.activerun`): failed with
    ``exc``, or finished with what the function ``returned``. A Ctrl-C pressed meanwhile (a
    second one, usually) is held back until the record is written, then raised. Ending a run
    twice does nothing more."""
    held = hold_interrupts()
    try:
        deactivate(run)
        if exc is None:
            run.finish(returned)
        else:
            run.fail(exc)
    finally:
        release_interrupts(held)


def start_run(
    name: str,
    description: str,
    config_path: str | None,
    strategy: DuplicateStrategy | None = None,
    params: dict[str, Any] | None = None,
    tags: list[str] | None = None,
) -> ActiveRun:
    """Create the run's folder and first record, then capture its code, git and environment.

    A store that cannot take the run's folder (a full disk, a read-only store) does not stop
    the function: it runs unrecorded, with one warning saying why.
    """
    try:
        request = rerun_request()
    except ValueError as exc:
        request = None
        warn(str(exc))
    config = _rerun_config(request) if request is not None else None
    if config is None:
        request, config = None, Configs.load(config_path)
    store = Store(config)
    enclosing = run_to_nest_in()
    parent = _parent_for(store, name, strategy) if strategy is not None else None
    if parent is None and enclosing is not None:
        parent = enclosing.id
    held = hold_interrupts()  # from the folder to the first record, nothing may stop half-way
    unrecorded: StoreError | None = None
    try:
        run_id = store.create_run_dir()
    except StoreError as exc:
        run_id, unrecorded = os.urandom(6).hex(), exc
    except BaseException:
        release_interrupts(held)
        raise
    made: list[ActiveRun] = []  # the run, as soon as it exists
    try:  # from here on the run exists: whatever stops its start (a Ctrl-C) ends it
        return _begin(
            store,
            run_id,
            name,
            description,
            parent,
            enclosing,
            params,
            tags,
            unrecorded,
            made,
            held,
            request,
        )
    except BaseException as exc:
        try:
            if made:
                try:
                    end_run(made[0], exc)
                except KeyboardInterrupt:  # on the way in
                    end_run(made[0], exc)
                    raise
            else:
                try:
                    os.rmdir(store.run_dir(run_id))  # nothing in it yet
                except OSError:
                    pass
        finally:
            release_interrupts(held)  # if it was not yet: only once the run is ended
        raise


def _begin(
    store: Store,
    run_id: str,
    name: str,
    description: str,
    parent: str | None,
    enclosing: ActiveRun | None,
    params: dict[str, Any] | None,
    tags: list[str] | None,
    unrecorded: StoreError | None,
    made: list[ActiveRun],
    held: Any,
    request: dict[str, Any] | None,
) -> ActiveRun:
    config = store.config
    run_dir = store.run_dir(run_id)
    inherit = enclosing if enclosing is not None and enclosing.store.root == store.root else None
    # A rerun's top-level runs run the code of the run they repeat, copied: they take its
    # snapshot and its git facts rather than those of the copy.
    reuse = request if inherit is None and request is not None and request["snapshot"] else None
    probe_git = inherit is None and not unrecorded and reuse is None
    git = _git_probe(config.snapshot_source) if probe_git else None
    rerun_of = None
    if request is not None and inherit is None and name == request["name"]:
        rerun_of = request["of"]
    command = describe_command(config.snapshot_source)
    if request is not None:
        command["source"] = request["source"]
    ready = made  # the run, once made, for the package list to be noted in
    packages = None
    if unrecorded is None:
        packages = PackagesProbe(config.tmt_dir, on_ready=lambda path: _note_packages(ready, path))
    now = round(time.time(), 6)  # microseconds: what a datetime holds
    pid = os.getpid()
    environment = describe()
    environment["packages"] = packages.path if packages is not None else None
    dest = os.path.join(config.snapshot_target, run_id)
    record: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
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
        **machine(),
        "cwd": as_original(request, os.getcwd()) if request is not None else os.getcwd(),
        "argv": list(getattr(sys, "argv", None) or []),
        "command": command,
        "parent": parent,
        "rerun_of": rerun_of,
        "tags": list(tags or ()),
        "params": params or {},
        "metrics": {},
        "series": [],
        "results": [],
        "snapshot": stored_path(dest, store.root) if unrecorded is None else None,
        "snapshot_left_out": None,
        "git": _inherited_git(inherit) if inherit is not None else None,
        "environment": environment,
        "error": None,
        "tmt_version": __version__,
    }
    trial = _trial() if inherit is None else None
    if trial is not None:
        record["sweep"] = {"id": trial["id"], "trial": trial["trial"]}
    same_process = enclosing is not None and enclosing.pid == pid
    run = ActiveRun(store, record, SeriesWriter(run_dir), enclosing if same_process else None)
    reporter = None
    if trial is not None:
        from .trial import Reporter, quiet_when_stopped

        reporter = Reporter(trial)
        quiet_when_stopped()
        if trial["metric"] is not None:
            run.series.watch(trial["metric"], reporter)
    made.append(run)
    register(run)  # a SIGTERM from here on records it as terminated
    if unrecorded is not None:
        run.unrecorded = unrecorded
        release_interrupts(held)
        warnings.warn(f"tmt: a run of {name!r} is not recorded: {unrecorded}", stacklevel=5)
        activate(run)
        return run
    run.write()
    if rerun_of is not None and request is not None:
        note_rerun(request, run_id)
    if reporter is not None:
        reporter.started(run_id)
    release_interrupts(held)  # a Ctrl-C while the record was made acts now: the run is ended
    updates: dict[str, Any] = {}
    if inherit is not None:
        updates.update(_share_snapshot(inherit, config, dest))
    elif reuse is not None:
        updates.update(_repeat(reuse, run, dest))
    else:
        updates.update(_snapshot(run, config))
    if git is not None:
        updates["git"] = git.collect(run_dir)
    if environment["packages"] is None and packages is not None:  # listed in the background
        _note_packages(ready, packages.path)
        probe = packages
        run.gathering.append(lambda: _note_packages(ready, probe.result(timeout=10.0)))
    if updates:
        run.update(**updates)
    captured = RunOutput(run_dir)
    held = hold_interrupts()
    try:
        output.start(output_targets)
        run.output = captured  # only once started: ending the run stops it
        activate(run)
    finally:
        release_interrupts(held)
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
    newest: str = same_name[-1]["id"]
    if len(same_name) > 1:
        warnings.warn(
            f"tmt_recorder: {len(same_name)} runs of {name!r} exist and no valid parent_id was "
            f"given; attaching this run to the newest, {newest}",
            stacklevel=4,
        )
    return newest


def _snapshot(run: ActiveRun, config: Configs) -> dict[str, Any]:
    """Take the run's code snapshot; returns what to add to its record. A problem is warned
    about, recorded, and never fails the run; so is a snapshot that stored much new data."""
    from .display import printable
    from .snapshot import LARGE_SNAPSHOT, point_last_link, take_snapshot

    # Warnings point at the line that called the recorded function, not into tmt (through
    # _begin, start_run, start and the wrapper).
    caller = 6

    exclude = [
        config.tmt_dir,
        config.snapshot_target,
        config.results_path,
        run.store.runs_dir,
        os.path.dirname(config.last_snapshot_link),
    ]
    dest = os.path.join(config.snapshot_target, run.id)
    try:
        report = take_snapshot(
            config.snapshot_source,
            config.snapshot_target,
            run.id,
            exclude,
            config.gitignore_path,
            config.snapshot_max_file_size,
        )
    except Exception as exc:
        if isinstance(exc, OSError):  # the store could not take it: said when the run ends
            run.losses.append(f"its code snapshot ({exc.strerror or exc})")
        else:
            warnings.warn(f"tmt: no code snapshot for run {run.id}: {exc}", stacklevel=caller)
        return {"snapshot": None, "snapshot_left_out": {"error": f"{type(exc).__name__}: {exc}"}}
    try:
        point_last_link(config.last_snapshot_link, dest)
    except OSError as exc:  # the snapshot is whole; only the convenience link is not
        warnings.warn(f"tmt: {config.last_snapshot_link} not updated: {exc}", stacklevel=caller)
    left_out = {}
    if report.too_large:
        left_out["too_large"] = report.too_large
        shown = ", ".join(printable(path) for path in report.too_large[:10])
        more = f" and {len(report.too_large) - 10} more" if len(report.too_large) > 10 else ""
        warnings.warn(
            f"tmt: files too large for the code snapshot were left out: {shown}{more}",
            stacklevel=caller,
        )
    if report.skipped:
        left_out["skipped"] = report.skipped
        warnings.warn(
            f"tmt: files the code snapshot could not read were left out: "
            f"{'; '.join(printable(why) for why in report.skipped[:10])}",
            stacklevel=caller,
        )
    if report.new_bytes > LARGE_SNAPSHOT:
        message = _large_snapshot(run.id, report.new_bytes, report.largest_new())
        warnings.warn(message, stacklevel=caller)
    return {"snapshot_left_out": left_out} if left_out else {}


def _large_snapshot(run_id: str, new_bytes: int, largest: list[tuple[str, int]]) -> str:
    """One line: how much new data a snapshot stored, where, and how to leave it out (a
    ``.gitignore`` leaves out only what git does not track; a ``.tmtignore``, anything)."""
    from .display import printable, size

    where = ", ".join(f"{printable(path)} {size(count)}" for path, count in largest)
    return (
        f"tmt: the code snapshot of run {run_id} stored {size(new_bytes)} of new files "
        f"({where}); if they are not code, add them to .tmtignore (or to .gitignore, if git "
        "should not see them either)"
    )


def _is_async(func: Callable[..., Any]) -> bool:
    target = func
    while isinstance(target, functools.partial):
        target = target.func
    target = getattr(target, "__func__", target)
    code = getattr(target, "__code__", None)
    return bool(code is not None and code.co_flags & _CO_COROUTINE)


def _share_snapshot(parent: ActiveRun, config: Configs, dest: str) -> dict[str, Any]:
    """A child run shares its parent's snapshot: the code it runs was loaded by the parent."""
    source = parent.record.get("snapshot")
    if source is None:
        return {"snapshot": None}
    from .snapshot import point_last_link

    try:
        os.symlink(os.readlink(absolute_path(source, parent.store.root)), dest)
    except OSError as exc:
        return {"snapshot": None, "snapshot_left_out": {"error": f"{type(exc).__name__}: {exc}"}}
    try:
        point_last_link(config.last_snapshot_link, dest)
    except OSError:
        pass  # the parent warned about its link already
    return {"snapshot_left_out": parent.record.get("snapshot_left_out")}


def _trial() -> dict[str, Any] | None:
    """The sweep's trial this process runs, if ``tmt sweep`` started it."""
    from .trial import sweep_request

    try:
        return sweep_request()
    except ValueError as exc:
        warn(str(exc))
        return None


def _rerun_config(request: dict[str, Any]) -> Configs | None:
    """The configuration of the store ``tmt rerun`` records into; ``None`` (with a warning) if
    what it passed cannot be one."""
    try:
        return Configs(**{k: v for k, v in request["config"].items() if v is not None})
    except (ConfigError, ArgumentTypeError) as exc:
        warn(f"tmt: the store tmt rerun named cannot be used ({exc}); recorded as usual")
        return None


def _repeat(request: dict[str, Any], run: ActiveRun, dest: str) -> dict[str, Any]:
    """What a rerun's run takes from the run it repeats, whose code it runs: its snapshot
    tree (one symlink; a snapshot of the copy if that tree is not in this store), and its
    git facts, with a copy of the uncommitted diff."""
    original_dir = run.store.run_dir(request["of"])
    original = read_run(original_dir, request["of"]) or {}
    updates = _link_tree(str(request["snapshot"]), run.store.config, dest)
    if updates is None:
        updates = _snapshot(run, run.store.config)
    else:
        updates["snapshot_left_out"] = original.get("snapshot_left_out")
    git = original.get("git")
    updates["git"] = dict(git) if isinstance(git, dict) else None
    if git and git.get("diff"):
        import shutil

        from .gitinfo import DIFF_FILE

        try:
            shutil.copyfile(
                os.path.join(original_dir, git["diff"]),
                os.path.join(run.store.run_dir(run.id), DIFF_FILE),
            )
            updates["git"]["diff"] = DIFF_FILE
        except OSError:
            updates["git"]["diff"] = None
    return updates


def _link_tree(original: str, config: Configs, dest: str) -> dict[str, Any] | None:
    """Make ``dest`` a link to the tree the snapshot ``original`` links to; ``None`` if that
    tree is not among this store's."""
    from .snapshot import point_last_link

    trees = os.path.realpath(os.path.join(config.snapshot_target, ".trees"))
    try:
        tree = os.path.realpath(os.path.join(os.path.dirname(original), os.readlink(original)))
        if os.path.dirname(tree) != trees or not os.path.isdir(tree):
            return None
        os.symlink(os.path.join(".trees", os.path.basename(tree)), dest)
    except OSError:
        return None
    try:
        point_last_link(config.last_snapshot_link, dest)
    except OSError:
        pass
    return {}


def _git_probe(source: str) -> GitProbe | None:
    """A git probe of ``source`` if it is inside a git work tree (found without running git)."""
    folder = os.path.abspath(source)
    while True:
        if os.path.exists(os.path.join(folder, ".git")):
            return GitProbe(source)
        up = os.path.dirname(folder)
        if up == folder:
            return None
        folder = up


def _inherited_git(parent: ActiveRun) -> dict[str, Any] | None:
    git = parent.record.get("git")
    if not git:
        return None
    git = dict(git)
    if git.get("diff"):
        git["diff"] = os.path.join("..", parent.id, git["diff"])
    return git


def _note_packages(ready: list[ActiveRun], path: str | None) -> None:
    """Name the stored package list in the run's record as soon as both exist: a clean-up
    keeps only the lists records name (and, for a while, those just stored)."""
    if not ready or path is None:
        return
    run = ready[0]
    with run.lock:
        if run.record["environment"].get("packages") != path:
            run.record["environment"] = dict(run.record["environment"], packages=path)
            run.write()


def _disabled_by_environment() -> bool:
    return os.environ.get("TMT_DISABLE", "").strip().lower() not in ("", "0", "false", "no")
