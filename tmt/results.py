"""``tmt_save``: keep an object of a run in the run's results folder, and list it in its record."""

from __future__ import annotations

import os

from .activerun import ActiveRun, checked_run
from .errors import DuplicatedNameError, ResultNameError, StoreError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable


def tmt_save(
    obj: Any,
    name: str,
    allow_exist: bool = False,
    extension: str = ".pkl",
    custom_save: Callable[[Any, str], str | None] | None = None,
) -> str:
    """Save ``obj`` as the result ``name`` of the current run and return the path it went to.

    Call it inside a function decorated with ``tmt_recorder``, or from code (and threads) that
    function runs. By default ``obj`` is pickled to ``<results_path>/<run id>/<name><extension>``.
    ``custom_save(obj, path)`` saves it your way instead; if it returns a path, that path is
    recorded instead of ``path``. A name saved twice in one run is an error unless
    ``allow_exist``, which saves the new object beside the first as ``<name>_1``, ``<name>_2``...

    While recording is disabled (``TMT_DISABLE=1``), saves nothing and returns ``""``.
    Raises ``NotInRunError`` outside a run, ``DuplicatedNameError`` for a name already saved,
    ``ResultNameError`` for a name that is not a plain file name.
    """
    run = checked_run("tmt_save")
    _check_name(name)
    if not isinstance(run, ActiveRun):  # a DisabledRun: recording is off, nothing is saved
        return ""
    if run.unrecorded is not None:  # saved, it would be listed nowhere, and cleaned up later
        raise StoreError(
            f"tmt_save: {name!r} not saved: run {run.id} is not recorded ({run.unrecorded}); "
            "save it yourself"
        )
    extension = _check_extension(extension)
    folder = run.results_dir
    os.makedirs(folder, exist_ok=True)
    with run.lock:
        path = os.path.join(folder, name + extension)
        if name in run.result_names or path in run.reserved or os.path.lexists(path):
            if not allow_exist:
                raise DuplicatedNameError(
                    f"tmt_save: a result named {name!r} was already saved in run {run.id}; "
                    "pass allow_exist=True to keep both, or choose another name"
                )
            counter = run.suffixes.get((name, extension), 1)  # where the last one stopped
            while True:
                path = os.path.join(folder, f"{name}_{counter}{extension}")
                if path not in run.reserved and not os.path.lexists(path):
                    break
                counter += 1
            run.suffixes[(name, extension)] = counter + 1
        _check_length(name, path)
        run.reserved.add(path)
    try:
        if custom_save is not None:
            returned = custom_save(obj, path)
            if returned is not None:
                path = os.path.abspath(os.fspath(returned))
            saved_with = "custom"
        else:
            _pickle_atomic(obj, path)
            saved_with = "pickle"
        run.add_result(name, path, saved_with)
    finally:
        with run.lock:
            run.reserved.discard(path)
    return path


def _check_name(name: object) -> None:
    if not isinstance(name, str):
        raise ResultNameError(f"tmt_save: result name must be a string, got {type(name).__name__}")
    if (
        not name
        or name in (".", "..")
        or "/" in name
        or "\\" in name
        or "\0" in name
        or os.path.isabs(name)
    ):
        raise ResultNameError(
            f"tmt_save: result name {name!r} must be a plain file name "
            "(not empty, '.' or '..'; no '/', '\\' or NUL)"
        )


def _check_extension(extension: object) -> str:
    if extension is None:
        return ""
    if not isinstance(extension, str):
        raise ResultNameError(
            f"tmt_save: extension must be a string, got {type(extension).__name__}"
        )
    if "/" in extension or "\\" in extension or "\0" in extension:
        raise ResultNameError(f"tmt_save: extension {extension!r} must not hold '/', '\\' or NUL")
    if extension and not extension.startswith("."):
        extension = "." + extension
    return extension


def _check_length(name: str, path: str) -> None:
    """A file name longer than the filesystem takes is refused, naming the result."""
    try:
        limit = os.pathconf(os.path.dirname(path), "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        limit = 255
    length = len(os.fsencode(os.path.basename(path)))
    if length > limit:
        raise ResultNameError(
            f"tmt_save: result name {name!r:.60} makes a file name of {length} bytes; "
            f"this filesystem takes at most {limit}"
        )


def _pickle_atomic(obj: Any, path: str) -> None:
    import pickle

    from .liveness import temp_name

    # Short and hidden whatever the result's name; named after this process, so that what a
    # killed tmt_save leaves is collected by tmt gc.
    tmp = os.path.join(os.path.dirname(path), temp_name())
    try:
        with open(tmp, "wb") as f:
            pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
