"""Running a recorded run again: its command, from the same place in the project, with the code
of its snapshot, into the same store; then what it gave, beside what the run gave.

The code is a copy of the run's snapshot in a scratch folder, removed afterwards, so edits made
to the working tree since do not leak in. What the snapshot left out (data folders, checkpoints,
files too large, the store itself) is linked into the copy from the project, so the command
finds its data where it found it before; Python files and ``__pycache__`` never are. The new
run learns which run it repeats from the environment (see :mod:`tmt.command`).
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile

from . import flags
from .command import RERUN_ENV, command_line, split_python_command, why_not
from .errors import RerunError
from .jsonvalue import flatten

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

    from .config import Configs
    from .entry import Entry

_PROBE = (
    "import importlib.metadata as m, json, platform\n"
    "try:\n    import tmt.command\n    tmt = True\nexcept ImportError:\n    tmt = False\n"
    "found = {}\n"
    "for d in m.distributions():\n"
    "    try:\n        found.setdefault(d.metadata['Name'], d.version)\n"
    "    except Exception:\n        pass\n"
    "print(json.dumps({'python': platform.python_version(), 'tmt': tmt, 'packages': found}))\n"
)
_PROBE_TIMEOUT = 120.0
_MODULE = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*\Z")
_NAMED_DIFFERENCES = 3  # packages named in the note about them; the others are counted


class RerunPlan:
    """What a rerun will do: run ``argv`` in ``folder`` (relative to the code's copy, or the
    project with ``current_code``), with ``paths`` first on the module path, and the
    ``notes`` to say first (the interpreter or packages differ from the run's)."""

    def __init__(
        self,
        original: Entry,
        config: Configs,
        argv: list[str],
        folder: str,
        paths: list[str],
        current_code: bool,
        notes: list[str],
    ) -> None:
        self.original = original
        self.config = config
        self.argv = argv
        self.folder = folder
        self.paths = paths
        self.current_code = current_code
        self.notes = notes
        self.source = str((original.command or {})["source"])

    @property
    def shell(self) -> str:
        """The command as a shell would take it."""
        return shlex.join(self.argv)

    def describe(self) -> list[str]:
        """The plan in words: where it runs, and the exact command."""
        if self.current_code:
            where = os.path.normpath(os.path.join(self.source, self.folder))
        else:
            place = "" if self.folder == "." else f", in {self.folder}"
            where = f"a copy of run {self.original.id}'s code snapshot{place} (removed after)"
        lines = [f"folder:  {where}", f"command: {self.shell}"]
        if self.paths:
            lines.append(f"module path first: {', '.join(self.paths)}")
        return lines

    def execute(self, lookup: Callable[[str], Entry]) -> RerunResult:
        """Run the command, wait for it, and gather the runs it recorded (found with
        ``lookup``, by id). Ctrl-C reaches the command, which records its run as
        interrupted; SIGTERM and SIGHUP are passed on to it."""
        scratch = tempfile.mkdtemp(prefix="tmt-rerun-")
        try:
            if self.current_code:
                base = self.source
            else:
                base = os.path.join(scratch, "code")
                _copy_code(self.original, base, self.source)
            receipt = os.path.join(scratch, "runs")
            with open(receipt, "x"):
                pass
            settings = self.config.to_dict()
            settings["snapshot_source"] = base
            request = {
                "of": self.original.id,
                "name": self.original.name,
                "config": settings,
                "source": self.source,
                "scratch": None if self.current_code else base,
                "snapshot": None if self.current_code else self.original.snapshot_path,
                "receipt": receipt,
            }
            env = dict(os.environ)
            env[RERUN_ENV] = json.dumps(request)
            paths = [os.path.join(base, p) for p in self.paths]
            if env.get("PYTHONPATH"):
                paths.append(env["PYTHONPATH"])
            if paths:
                env["PYTHONPATH"] = os.pathsep.join(paths)
            returncode = _wait(self.argv, os.path.join(base, self.folder), env)
            with open(receipt, encoding="utf-8") as f:
                ids = [line.strip() for line in f if line.strip()]
        finally:
            _remove(scratch)
        return RerunResult(self.original, returncode, [lookup(i) for i in dict.fromkeys(ids)])


class RerunResult:
    """How a rerun went: the command's exit status (negative: killed by that signal), and
    the runs it recorded of the run's experiment. ``run`` is the one that repeats the run:
    of a command that recorded several, the first called as the run was (with equal
    parameters), else the first; ``None`` if it recorded none."""

    def __init__(self, original: Entry, returncode: int, runs: list[Entry]) -> None:
        self.original = original
        self.returncode = returncode
        self.runs = runs
        same = [r for r in runs if r.params == original.params]
        self.run: Entry | None = (same or runs)[0] if runs else None

    def check(self, rtol: float = 0.0) -> list[tuple[str, Any, Any, bool]]:
        """The metrics of the original run and of the new one side by side, as ``(name,
        original, new, same)``; numbers are the same within the relative tolerance ``rtol``
        (a NaN is the same as a NaN), anything else when equal. A metric only one run has
        is not the same. Where a run returned no metric for a logged series, its last
        logged value stands for it."""
        if self.run is None:
            raise RerunError(f"the rerun of run {self.original.id} recorded no run to check")
        before, after = _outcome(self.original), _outcome(self.run)
        rows = []
        for name in list(before) + [n for n in after if n not in before]:
            a, b = before.get(name, _MISSING), after.get(name, _MISSING)
            rows.append((name, a, b, _same(a, b, rtol)))
        return rows


class _Missing:
    def __repr__(self) -> str:
        return "(none)"


_MISSING: Any = _Missing()


def plan(
    original: Entry,
    config: Configs,
    overrides: dict[str, str] | None = None,
    current_code: bool = False,
    python: str | None = None,
) -> RerunPlan:
    """How ``original`` would be run again (see :class:`RerunPlan`), with ``overrides``
    (flag name -> value) applied to its arguments. Raises :class:`RerunError` when it cannot
    be: no script, no snapshot, an interpreter that cannot run it."""
    record = original.to_dict()
    reason = why_not(record)
    if reason is not None:
        raise RerunError(f"run {original.id} cannot be run again: {reason}")
    command = original.command or {}
    source, cwd = command.get("source"), original.cwd
    if not isinstance(source, str) or not os.path.isabs(source) or not cwd:
        raise RerunError(f"run {original.id}: its record does not say where its code was")
    args = _strings(command.get("args"), original.id, "args")
    args = flags.override(args, overrides or {}, _dict(command.get("parser")), original.params)
    folder = os.path.relpath(cwd, source)
    snapshot = original.snapshot_path
    notes = []
    if current_code:
        if not os.path.isdir(cwd):
            raise RerunError(f"run {original.id} ran in {cwd}, which is gone")
    else:
        if snapshot is None or not os.path.isdir(snapshot):
            raise RerunError(
                f"run {original.id} has no code snapshot to run; --current-code runs the "
                "working tree instead"
            )
        if folder == ".." or folder.startswith(".." + os.sep):
            raise RerunError(
                f"run {original.id} ran in {cwd}, outside the folder its snapshot copies "
                f"({source}); --current-code runs it there with the working tree"
            )
    base = source if current_code or snapshot is None else snapshot
    interpreter = _interpreter(python)
    options = _strings(command.get("python"), original.id, "python")
    if split_python_command(["python", *options, "x.py"]) != (options, "script", "x.py", []):
        raise RerunError(f"run {original.id}: its record's command.python holds more than options")
    words = [interpreter, *_options(options)]
    script = command.get("script")
    module = command.get("module")
    if isinstance(module, str) and not _MODULE.match(module):
        raise RerunError(f"run {original.id}: its record's command.module is no module name")
    if isinstance(script, str) and not os.path.isabs(script) and not _inside(script):
        raise RerunError(f"run {original.id}: its record's command.script leaves its project")
    if isinstance(script, str) and os.path.isabs(script):
        if not os.path.exists(script):
            raise RerunError(f"run {original.id}: its program {script} is gone")
        if not current_code:
            what = f"module {module}" if module else f"script {script}"
            notes.append(f"the {what} is not part of the project: it runs as it is now")
    elif isinstance(script, str) and not module and not os.path.isfile(os.path.join(base, script)):
        raise RerunError(f"run {original.id}: its script {script} is not in {base}")
    if isinstance(module, str) and module:
        words += ["-m", module]
    elif isinstance(script, str):
        here = os.path.join(source, folder)
        words.append(script if os.path.isabs(script) else _relative(source, script, here))
    paths = [p for p in _strings(command.get("paths"), original.id, "paths") if _inside(p)]
    notes += environment_notes(original, python)
    return RerunPlan(original, config, words + args, folder, paths, current_code, notes)


def _interpreter(python: str | None) -> str:
    if python is None:
        return sys.executable or "python3"
    found = shutil.which(python)
    if found is None:
        raise RerunError(f"--python {python}: no such program")
    return found


def _options(options: list[str]) -> list[str]:
    """The interpreter's recorded options, less ``-i``: a rerun does not stop for input."""
    kept = []
    value_next = False  # the option before takes this word as its value
    for option in options:
        if not value_next and option.startswith("-") and not option.startswith("--"):
            letters = ""
            for j, letter in enumerate(option[1:], start=1):
                if letter in "WX":  # the rest of the word is its value, or the next word is
                    letters += option[j:]
                    value_next = j + 1 == len(option)
                    break
                if letter != "i":
                    letters += letter
            if not letters:
                continue
            option = "-" + letters
        else:
            value_next = False
        kept.append(option)
    return kept


def _inside(path: str) -> bool:
    """Whether a relative path stays in the folder it is relative to."""
    path = os.path.normpath(path)
    return not os.path.isabs(path) and path != ".." and not path.startswith(".." + os.sep)


def _strings(value: Any, run_id: str, key: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RerunError(f"run {run_id}: its record's command.{key} is not a list of strings")
    return list(value)


def _dict(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def environment_notes(original: Entry, python: str | None) -> list[str]:
    """One line, if the interpreter that would run the command is another Python version
    than the run's, or has other packages installed; none if they are the same."""
    recorded = original.environment or {}
    if python is None:
        import platform

        from .environment import packages

        here: dict[str, Any] = {
            "python": platform.python_version(),
            "packages": packages(),
            "tmt": True,
        }
    else:
        here = _probe(python)
        if not here.get("tmt"):
            raise RerunError(
                f"--python {python} cannot import tmt: install ThatMetricTimeline there"
            )
    said = []
    if recorded.get("python") and recorded["python"] != here["python"]:
        said.append(f"Python {here['python']} here, {recorded['python']} when the run ran")
    before = original.packages()
    if before:
        differences = _package_differences(before, here["packages"])
        if differences:
            named = ", ".join(differences[:_NAMED_DIFFERENCES])
            more = len(differences) - _NAMED_DIFFERENCES
            said.append(f"packages differ: {named}" + (f" and {more} more" if more > 0 else ""))
    return ["; ".join(said)] if said else []


def _package_differences(before: dict[str, str], now: dict[str, Any]) -> list[str]:
    lower = {k.lower(): (k, v) for k, v in now.items()}
    changed, gone, added = [], [], []
    for name, version in before.items():
        found = lower.pop(name.lower(), None)
        if found is None:
            gone.append(f"{name} not installed (was {version})")
        elif found[1] != version:
            changed.append(f"{name} {found[1]} (was {version})")
    added = [f"{name} {version} (new)" for name, version in lower.values()]
    return changed + gone + sorted(added)


def _probe(python: str) -> dict[str, Any]:
    """The Python version, the packages and whether tmt can be imported, of ``python``."""
    try:
        done = subprocess.run(
            [python, "-c", _PROBE],
            capture_output=True,
            timeout=_PROBE_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
        found = json.loads(done.stdout.decode("utf-8", "replace").strip().splitlines()[-1])
        if not isinstance(found, dict) or not isinstance(found.get("packages"), dict):
            raise ValueError(found)
        return found
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        raise RerunError(f"--python {python}: not a Python interpreter that runs") from None


def _copy_code(original: Entry, dest: str, source: str) -> None:
    """The run's code snapshot copied to ``dest``, and what it left out linked from the
    project: the command finds its data, checkpoints and store where they were."""
    from .maintenance import restore_snapshot

    restore_snapshot(original, dest)
    for folder, dirs, files in os.walk(dest):
        rel = os.path.relpath(folder, dest)
        there = os.path.normpath(os.path.join(source, rel))
        try:
            names = os.listdir(there)
        except OSError:
            continue
        present = set(dirs) | set(files)
        for name in names:
            if name in present or name == "__pycache__" or name.endswith((".py", ".pyc")):
                continue
            try:
                os.symlink(os.path.join(there, name), os.path.join(folder, name))
            except OSError:
                pass


def _wait(argv: list[str], cwd: str, env: dict[str, str]) -> int:
    """Run ``argv`` and return its exit status, passing on the signals that would stop it."""
    for stream in (sys.stdout, sys.stderr):  # what was said before comes before its output
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
    try:
        process = subprocess.Popen(argv, cwd=cwd, env=env)
    except OSError as exc:
        raise RerunError(f"cannot run {argv[0]}: {exc.strerror or exc}") from None
    previous: dict[int, Any] = {}

    def pass_on(signum: int, _frame: object) -> None:
        process.send_signal(signum)

    import threading

    if threading.current_thread() is threading.main_thread():
        for name in ("SIGTERM", "SIGHUP"):
            number = getattr(signal, name, None)
            if number is not None:
                previous[number] = signal.signal(number, pass_on)
    try:
        while True:
            try:
                return process.wait()
            except KeyboardInterrupt:
                if not _terminal_interrupted_both():
                    process.send_signal(signal.SIGINT)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _terminal_interrupted_both() -> bool:
    """Whether a Ctrl-C came from the terminal this process is in the foreground of, which
    sent it to the command as well (it shares the process group)."""
    try:
        fd = os.open("/dev/tty", os.O_RDONLY | getattr(os, "O_NOCTTY", 0))
    except OSError:
        return False
    try:
        return os.tcgetpgrp(fd) == os.getpgrp()
    except OSError:
        return False
    finally:
        os.close(fd)


def _remove(folder: str) -> None:
    """Remove the scratch folder, even what the command made read-only in it."""

    def retry(function: Any, path: str, _error: Any) -> None:
        try:
            os.chmod(os.path.dirname(path), 0o700)
            if not os.path.islink(path) and os.path.isdir(path):
                os.chmod(path, 0o700)
            function(path)
        except OSError:
            pass

    shutil.rmtree(folder, onerror=retry)


def _outcome(entry: Entry) -> dict[str, Any]:
    """What a run gave: its metrics, flat, and for a logged series it returned no metric of,
    the last value logged."""
    found = flatten(entry.metrics)
    for name, series in entry.all_series().items():
        if name not in found and series.values:
            found[name] = series.values[-1]
    return found


def _same(a: Any, b: Any, rtol: float) -> bool:
    if a is _MISSING or b is _MISSING:
        return False
    numbers = (int, float)
    if type(a) in numbers and type(b) in numbers:
        if math.isnan(a) and math.isnan(b):
            return True
        return bool(a == b or math.isclose(a, b, rel_tol=rtol, abs_tol=0.0))
    return bool(a == b)


def shown_command(entry: Entry) -> str | None:
    """The command of ``entry`` as typed in the folder it ran in, or ``None``."""
    return command_line(entry.to_dict())


def _relative(source: str, script: str, folder: str) -> str:
    """``script`` (relative to ``source``) as a path from ``folder``."""
    return os.path.relpath(os.path.join(source, script), folder)
