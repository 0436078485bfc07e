"""Where a source tree sits in a git work tree, and what git adds to its ignore rules: the
``.gitignore`` files above it, ``.git/info/exclude``, ``core.excludesFile``, and which files git
tracks (git never ignores a tracked file, so neither does a snapshot).

git is asked in the background (``git ls-files``, ``git config``) while the snapshot walks the
tree; without git, or when git refuses (an unsafe folder), the rules still apply, only tracked
files are not known.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import warnings

from .ignore import GIT_IGNORE_FILE, PatternList, byte_view, read_ignore_file

_TIMEOUT = 10.0  # for both git commands together


class WorkTree:
    """The git work tree holding ``source``; :meth:`find` says whether there is one."""

    def __init__(self, source: str, root: str, git_dir: str) -> None:
        self.source = source
        self.root = root
        self.git_dir = git_dir
        rel = os.path.relpath(source, root)
        #: the source's path from the work tree's root, as a byte view ("" or "a/b/")
        self.prefix = "" if rel == "." else byte_view(rel.replace(os.sep, "/")) + "/"
        self._listing: subprocess.Popen | None = None
        self._config: subprocess.Popen | None = None
        self._tracked: set[str] | None = None
        self._tracked_dirs: set[str] | None = None
        self._deadline = 0.0

    @classmethod
    def find(cls, source: str) -> WorkTree | None:
        """The work tree ``source`` is in (found as git finds it, by a ``.git`` in it or a
        folder above), or None."""
        source = os.path.abspath(source)
        folder = source
        while True:
            dot_git = os.path.join(folder, ".git")
            git_dir = _git_dir(dot_git)
            if git_dir is not None:
                return cls(source, folder, git_dir)
            parent = os.path.dirname(folder)
            if parent == folder:
                return None
            folder = parent

    def start(self) -> None:
        """Ask git for the tracked files and ``core.excludesFile``, in the background."""
        # The repository is the one found here, not one a git hook's GIT_DIR names.
        env = {k: v for k, v in os.environ.items() if k not in _REPOSITORY_VARIABLES}
        env.update(GIT_OPTIONAL_LOCKS="0", LC_ALL="C")
        self._deadline = time.monotonic() + _TIMEOUT
        try:
            self._listing, self._config = (
                subprocess.Popen(
                    args,
                    cwd=self.source,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    env=env,
                    start_new_session=True,  # so that a hung git is killed with its children
                )
                for args in (
                    ["git", "ls-files", "-z", "--cached"],
                    ["git", "config", "-z", "--path", "--get", "core.excludesFile"],
                )
            )
        except OSError:  # no git here: the rules apply all the same
            self._listing = self._config = None

    def lists(self) -> list[PatternList]:
        """git's lists that apply to the whole source, weakest first: ``core.excludesFile``,
        ``.git/info/exclude``, then the ``.gitignore`` of each folder from the root down to the
        source's parent (those in the source are read as it is walked)."""
        lists = []
        excludes = self._excludes_file()
        if excludes is not None:
            lists.append(PatternList("", read_ignore_file(excludes, follow_symlinks=True)))
        info = os.path.join(_common_dir(self.git_dir), "info", "exclude")
        lists.append(PatternList("", read_ignore_file(info, follow_symlinks=True)))
        folder, base = self.root, ""
        for part in self.prefix.split("/")[:-1]:
            lists.append(PatternList(base, read_ignore_file(os.path.join(folder, GIT_IGNORE_FILE))))
            folder = os.path.join(folder, part.encode("latin-1").decode("utf-8", "surrogateescape"))
            base += part + "/"
        return [lst for lst in lists if lst]

    def _excludes_file(self) -> str | None:
        value = _output(self._config, self._deadline)
        if value:
            path = os.fsdecode(value.rstrip(b"\0\n"))
            return os.path.join(self.root, path)  # git reads a relative one from the top
        if value is None and self._config is not None and self._config.returncode not in (0, 1):
            return None  # git refused this repository: it would ignore nothing either
        xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
        return os.path.join(xdg, "git", "ignore")

    def tracked(self) -> set[str]:
        """The files git tracks under the source, as paths from it (empty if unknown)."""
        if self._tracked is None:
            out = _output(self._listing, self._deadline)
            if out is None and self._listing is not None:
                warnings.warn(
                    f"tmt: git could not list the files it tracks in {self.root} (see `git "
                    "status` there); tracked files that an ignore pattern matches are left "
                    "out of the snapshot",
                    stacklevel=2,
                )
            if out is None and self._listing is None:
                warnings.warn(
                    "tmt: git is not installed; tracked files that an ignore pattern "
                    "matches are left out of the snapshot",
                    stacklevel=2,
                )
            self._tracked = {os.fsdecode(p) for p in out.split(b"\0") if p} if out else set()
        return self._tracked

    def tracked_dirs(self) -> set[str]:
        """The folders (``"a/b/"``, from the source) holding a tracked file at any depth."""
        if self._tracked_dirs is None:
            dirs: set[str] = set()
            for path in self.tracked():
                folder = path.rpartition("/")[0]
                while folder and folder + "/" not in dirs:
                    dirs.add(folder + "/")
                    folder = folder.rpartition("/")[0]
            self._tracked_dirs = dirs
        return self._tracked_dirs

    def close(self) -> None:
        """Reap the git processes (killing any still running)."""
        for proc in (self._listing, self._config):
            if proc is not None and proc.returncode is None:
                _kill(proc)


_REPOSITORY_VARIABLES = frozenset(  # `git rev-parse --local-env-vars`
    [
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_CONFIG",
        "GIT_CONFIG_PARAMETERS",
        "GIT_CONFIG_COUNT",
        "GIT_OBJECT_DIRECTORY",
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_IMPLICIT_WORK_TREE",
        "GIT_GRAFT_FILE",
        "GIT_INDEX_FILE",
        "GIT_NO_REPLACE_OBJECTS",
        "GIT_REPLACE_REF_BASE",
        "GIT_PREFIX",
        "GIT_SHALLOW_FILE",
        "GIT_COMMON_DIR",
    ]
)


def _output(proc: subprocess.Popen | None, deadline: float) -> bytes | None:
    """What ``proc`` printed if it succeeded by ``deadline``, else None."""
    if proc is None:
        return None
    try:
        out, _ = proc.communicate(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        _kill(proc)
        return None
    return out if proc.returncode == 0 else None


def _kill(proc: subprocess.Popen) -> None:
    """Kill ``proc`` and what it started (it leads its own session), and reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        proc.kill()
    proc.communicate()


def _git_dir(dot_git: str) -> str | None:
    """The git folder that ``dot_git`` (a folder, or a file ``gitdir: <path>``) stands for."""
    if os.path.isdir(dot_git):
        return dot_git if os.path.exists(os.path.join(dot_git, "HEAD")) else None
    if not os.path.isfile(dot_git):
        return None
    try:
        with open(dot_git, "rb") as f:
            text = f.read(4096).decode("utf-8", "surrogateescape")
    except OSError:
        return None
    if not text.startswith("gitdir: "):
        return None
    path = os.path.join(os.path.dirname(dot_git), text[len("gitdir: ") :].strip())
    return path if os.path.isdir(path) else None


def _common_dir(git_dir: str) -> str:
    """The folder shared by all work trees of a repository (``info/exclude`` lives there)."""
    try:
        with open(os.path.join(git_dir, "commondir"), "rb") as f:
            common = os.fsdecode(f.read().strip())
    except OSError:
        return git_dir
    return os.path.join(git_dir, common)
