"""The command that started a run: what its record keeps of it, so ``tmt rerun`` can run it
again, and the word ``tmt rerun`` passes to the run it starts.

A record's ``command`` says how the process was launched::

    {"python": ["-u"],                 the interpreter's own options
     "script": "train.py",             the script, relative to "source" (absolute if outside)
     "module": null,                   or the module of ``python -m pkg.train``
     "args": ["--lr", "0.1"],          the arguments after the script or module, as typed
     "source": "/home/me/project",     the folder the code snapshot copies
     "paths": ["src"],                 where the project's own modules were imported from
     "parser": {...}}                  the flags of the argparse parser, if one was found

The arguments come from ``sys.orig_argv``: what was typed, even if the program changed
``sys.argv`` since. A run started from a notebook, an interactive session or ``python -c`` has
no script and no module: there is nothing to run again, and :func:`why_not` says so.
"""

from __future__ import annotations

import json
import os
import shlex
import stat
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

#: The environment variable through which ``tmt rerun`` tells the runs of the command it
#: starts which run they repeat, which store they go to and where the code's copy is.
RERUN_ENV = "TMT_RERUN"
_MAX_FRAMES = 64  # how far up the stack an argparse parser is looked for


def describe_command(source: str) -> dict[str, Any]:
    """How this process was started, for a record: ``source`` is the folder the run's code
    snapshot copies, and paths inside it are kept relative to it."""
    main = sys.modules.get("__main__")
    module, script = _program(main)
    options, args = _command_line(module, script)
    real = os.path.realpath(source)
    return {
        "python": options,
        "script": _relative(script, real) if script else None,
        "module": module,
        "args": args,
        "source": source,
        "paths": _import_roots(source, real),
        "parser": _parser_flags(),
    }


def _program(main: Any) -> tuple[str | None, str | None]:
    """The module run with ``-m`` (if it was) and the file of ``__main__``, or ``None`` for
    either where there is none (a notebook, an interactive session, ``python -c``)."""
    import builtins

    if main is None or getattr(builtins, "__IPYTHON__", False):
        return None, None  # IPython runs code from cells, even when it was given a file
    file = getattr(main, "__file__", None)
    if not isinstance(file, str) or not file:
        return None, None
    spec = getattr(main, "__spec__", None)
    name = getattr(spec, "name", None)
    module = None
    if isinstance(name, str) and name and name != "__main__":  # "__main__": a folder or a zip
        module = name[: -len(".__main__")] if name.endswith(".__main__") else name
    return module, os.path.abspath(file)


def _command_line(module: str | None, script: str | None) -> tuple[list[str], list[str]]:
    """The interpreter's options and the program's arguments, from ``sys.orig_argv`` where it
    says what was run (Python 3.10+), else no options and ``sys.argv[1:]``."""
    fallback: tuple[list[str], list[str]] = ([], [str(a) for a in sys.argv[1:]])
    orig = getattr(sys, "orig_argv", None)
    if not orig or (module is None and script is None):
        return fallback
    split = split_python_command(list(orig))
    if split is None:
        return fallback
    options, kind, target, args = split
    if module is not None:
        named = target[: -len(".__main__")] if target.endswith(".__main__") else target
        return (options, args) if kind == "-m" and named == module else fallback
    return (options, args) if kind == "script" else fallback


def split_python_command(argv: list[str]) -> tuple[list[str], str, str, list[str]] | None:
    """A ``python`` command line split into the interpreter's options, what it runs (``-m``,
    ``-c``, ``-`` or ``script``) and its target, and the arguments after it. ``None`` for a
    command that runs nothing (``--version``) or an interactive interpreter."""
    i = 1
    options: list[str] = []
    while i < len(argv):
        arg = argv[i]
        if arg == "-" or not arg.startswith("-"):
            return options, "script" if arg != "-" else "-", arg, argv[i + 1 :]
        if arg.startswith("--"):
            if arg == "--check-hash-based-pycs" and i + 1 < len(argv):
                options += argv[i : i + 2]
                i += 2
                continue
            return None  # --help, --version, or what this parser does not know
        for j in range(1, len(arg)):
            flag = arg[j]
            if flag in "cm":  # the rest, or the next argument, is what runs
                if j > 1:
                    options.append(arg[:j])
                if j + 1 < len(arg):
                    return options, f"-{flag}", arg[j + 1 :], argv[i + 1 :]
                if i + 1 >= len(argv):
                    return None
                return options, f"-{flag}", argv[i + 1], argv[i + 2 :]
            if flag in "WX":  # takes a value: the rest of this argument, or the next one
                if j + 1 == len(arg):
                    options += argv[i : i + 2]
                    i += 1
                else:
                    options.append(arg)
                break
        else:
            options.append(arg)
        i += 1
    return None


def _relative(path: str, real_source: str) -> str:
    """``path`` relative to the source, with ``/``, if inside it; else absolute."""
    real = os.path.realpath(path)
    if real == real_source or real.startswith(real_source.rstrip(os.sep) + os.sep):
        return os.path.relpath(real, real_source).replace(os.sep, "/")
    return path


def _import_roots(source: str, real_source: str) -> list[str]:
    """The folders of the source that the process imported its own top-level modules and
    packages from, relative to it: a rerun puts their copies first on the module path, so
    the copied code is used even where an editable install points at the working tree."""
    prefixes = {p.rstrip(os.sep) + os.sep for p in (os.path.abspath(source), real_source)}
    roots = set()
    for name, module in list(sys.modules.items()):
        if "." in name or name == "__main__":
            continue
        file = getattr(module, "__file__", None)
        if not isinstance(file, str) or not file.startswith(tuple(prefixes)):
            continue
        folder = os.path.dirname(file)
        if os.path.basename(file).startswith("__init__."):
            folder = os.path.dirname(folder)
        roots.add(_relative(folder, real_source))
    return sorted(r for r in roots if not os.path.isabs(r))


def _parser_flags() -> dict[str, Any] | None:
    """The flags of the argparse parser nearest up the stack (a local of a caller, or a
    global of the script), for ``tmt rerun`` to add a flag the command line did not give."""
    argparse = sys.modules.get("argparse")
    if argparse is None:
        return None
    frame: Any = sys._getframe(1)
    for _ in range(_MAX_FRAMES):
        if frame is None:
            return None
        try:
            found = [v for v in frame.f_locals.values() if isinstance(v, argparse.ArgumentParser)]
        except Exception:  # a frame whose locals cannot be read
            found = []
        if found:
            return _flags_of(max(found, key=lambda p: len(p._actions)), argparse)
        frame = frame.f_back
    return None


def _flags_of(parser: Any, argparse: Any) -> dict[str, Any]:
    options: list[dict[str, Any]] = []
    positionals: list[str] = []
    for action in parser._actions:
        kind = type(action).__name__
        if kind in ("_HelpAction", "_VersionAction", "_SubParsersAction"):
            continue
        if not isinstance(action.dest, str) or action.dest == argparse.SUPPRESS:
            continue
        if not action.option_strings:
            positionals.append(action.dest)
            continue
        nargs = action.nargs
        option: dict[str, Any] = {
            "flags": [str(f) for f in action.option_strings],
            "dest": action.dest,
            "values": 1 if nargs is None else nargs if isinstance(nargs, int) else str(nargs),
        }
        if kind == "BooleanOptionalAction":
            option["values"], option["sets"] = 0, True  # --x sets True, --no-x False
        elif nargs == 0 and isinstance(action.const, bool):
            option["sets"] = action.const
        options.append(option)
    return {"options": options, "positionals": positionals}


# What a record says ---------------------------------------------------------------------------
def why_not(record: dict[str, Any]) -> str | None:
    """Why the run of ``record`` cannot be run again, in words, or ``None`` if it can."""
    command = record.get("command")
    if not isinstance(command, dict):
        return "its record has no command: it was recorded by a tmt older than 0.2"
    if command.get("script") or command.get("module"):
        return None
    argv = record.get("argv") or [""]
    first = argv[0] if isinstance(argv[0], str) else ""
    if "ipykernel" in first or "jupyter" in first.lower():
        return "it was recorded in a notebook, not by a script"
    if first == "-c":
        return "it was started with python -c, not by a script or a module"
    return "it was recorded in an interactive session, not by a script"


def command_line(record: dict[str, Any], python: str = "python") -> str | None:
    """The command of the run of ``record`` as one would type it in the folder it ran in, or
    ``None`` if it has none (see :func:`why_not`)."""
    if why_not(record) is not None:
        return None
    command = record["command"]
    words = [python, *_strings(command.get("python"))]
    if command.get("module"):
        words += ["-m", str(command["module"])]
    else:
        script = str(command["script"])
        source, cwd = command.get("source"), record.get("cwd")
        if not os.path.isabs(script) and isinstance(source, str) and isinstance(cwd, str):
            script = os.path.relpath(os.path.join(source, script), cwd)
        words.append(script)
    return shlex.join(words + _strings(command.get("args")))


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


# The word from tmt rerun ----------------------------------------------------------------------
def rerun_request() -> dict[str, Any] | None:
    """What ``tmt rerun`` asked of the runs this process records, or ``None`` if this process
    was not started by it. Raises ``ValueError`` for a value of :data:`RERUN_ENV` that tmt
    did not write."""
    return read_word(
        RERUN_ENV,
        "tmt rerun",
        lambda r: (
            all(isinstance(r.get(k), str) for k in ("of", "name", "source", "receipt"))
            and isinstance(r.get("config"), dict)
            and all(isinstance(r.get(k), (str, type(None))) for k in ("scratch", "snapshot"))
        ),
    )


def read_word(variable: str, sender: str, valid: Callable[[dict[str, Any]], bool]) -> Any:
    """The JSON object a tmt command put in the environment ``variable`` for the processes
    it starts, or ``None`` if there is none. Raises ``ValueError`` (a one-line warning to
    give) for a value ``sender`` did not write: not JSON, not an object, not ``valid``."""
    text = os.environ.get(variable)
    if not text:
        return None
    try:
        word = json.loads(text)
        ok = isinstance(word, dict) and valid(word)
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"tmt: {variable} is not what {sender} sets; ignored")
    return dict(word)


def as_original(request: dict[str, Any], path: str) -> str:
    """``path`` as it would be in the original project, for a path in the rerun's copy of the
    code; any other path is returned as it is."""
    scratch = request.get("scratch")
    if not scratch:
        return path
    if path == scratch:
        return str(request["source"])
    if path.startswith(scratch.rstrip(os.sep) + os.sep):
        return os.path.join(str(request["source"]), os.path.relpath(path, scratch))
    return path


def note_rerun(request: dict[str, Any], run_id: str) -> None:
    """Tell ``tmt rerun`` the id of a run that repeats the one it reruns. Its list is a file
    it made; once that is gone (``tmt rerun`` was killed), there is no one to tell. Only
    such a list is ever written to, whatever the environment names."""
    receipt = str(request["receipt"])
    folder = os.path.basename(os.path.dirname(receipt))
    if os.path.basename(receipt) != "runs" or not folder.startswith("tmt-rerun-"):
        return
    try:
        fd = os.open(receipt, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            os.write(fd, f"{run_id}\n".encode())
    except OSError:
        pass
    finally:
        os.close(fd)
