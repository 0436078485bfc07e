"""Which files of a source tree a code snapshot leaves out: git's ignore rules, and tmt's own.

Patterns come from every ``.gitignore`` in the tree (each applying below its own folder, the
deepest deciding, ``!`` negations included), ``.tmtignore`` files (same syntax, for what only
tmt should skip; they win over a ``.gitignore`` beside them), an optional extra file that
applies from the root (``gitignore_path``), and a few defaults (caches, virtualenvs) that a
``!`` pattern can undo. Patterns are parsed by pathspec, as tmt 0.1.x did.
"""

from __future__ import annotations

import os
import re
import warnings

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable

IGNORE_FILES = (".gitignore", ".tmtignore")
DEFAULT_PATTERNS = (
    "__pycache__/",
    "*.py[cod]",
    ".ipynb_checkpoints/",
    ".mypy_cache/",
    ".pytest_cache/",
    ".ruff_cache/",
    ".tox/",
    ".nox/",
    ".venv/",
    "venv/",
    "node_modules/",
    "*.egg-info/",
    ".DS_Store",
)

_GROUP_NAME = re.compile(r"\(\?P<[^>]+>")
_ANY_FOLDER = "^(?:.+/)?"  # how pathspec starts a pattern that matches at any depth


class Layer:
    """The patterns that apply below one folder, compiled for speed.

    ``base`` is the folder's path from the root (``""`` or ``"a/b/"``). A snapshot never
    enters an ignored folder, so the rule is: the last pattern that matches decides. The
    patterns are joined, last first, into one alternation, so one regex match finds that
    pattern; patterns without a ``/`` (most of them) are matched against the file's name alone
    rather than its whole path. A few microseconds a path, however many patterns there are.
    """

    __slots__ = ("base", "includes", "name_regex", "path_regex")

    def __init__(self, base: str, lines: list[str]) -> None:
        from pathspec import GitIgnoreSpec

        self.base = base
        self.includes: list[bool] = []
        by_name: list[str] = []
        by_path: list[str] = []
        for pattern in GitIgnoreSpec.from_lines(lines).patterns:
            if pattern.include is None or pattern.regex is None:
                continue  # a comment or a blank line
            index = len(self.includes)
            self.includes.append(bool(pattern.include))
            # pathspec names a group in every pattern; a name may not repeat in one regex.
            body = _GROUP_NAME.sub("(?:", pattern.regex.pattern)
            if _name_only(pattern, body):
                by_name.append(f"(?P<p{index}>^{body[len(_ANY_FOLDER) :]})")
            else:
                by_path.append(f"(?P<p{index}>{body})")
        self.name_regex = re.compile("|".join(reversed(by_name))) if by_name else None
        self.path_regex = re.compile("|".join(reversed(by_path))) if by_path else None

    def verdict(self, path: str, name: str) -> bool | None:
        """For ``path`` (from ``base``) named ``name``, both ending in ``/`` for a folder:
        True, ignored; False, kept by a ``!`` pattern; None, no pattern matches."""
        best = -1
        if self.name_regex is not None:
            match = self.name_regex.match(name)
            if match is not None:
                best = int(match.lastgroup[1:])
        if self.path_regex is not None:
            match = self.path_regex.match(path)
            if match is not None:
                best = max(best, int(match.lastgroup[1:]))
        return None if best < 0 else self.includes[best]


def _name_only(pattern: object, body: str) -> bool:
    """Whether a pattern can only ever match a file's own name (it has no inner ``/``)."""
    text = getattr(pattern, "pattern", None)
    if not isinstance(text, str) or not body.startswith(_ANY_FOLDER):
        return False
    text = text.strip()
    text = text.removeprefix("!")
    while text.startswith("**/"):
        text = text[3:]
    return "/" not in text.rstrip("/")


_MAX_IGNORE_FILE = 16 * 1024 * 1024


def read_patterns(path: str) -> list[str]:
    """The lines of the ignore file at ``path``; none (with a warning) if it cannot be read."""
    from .jsonfile import read_text

    try:  # a FIFO named .gitignore must not hang the run; git follows links to ignore files
        return read_text(path, _MAX_IGNORE_FILE, follow_symlinks=True).splitlines()
    except FileNotFoundError:
        return []
    except OSError as exc:
        warnings.warn(f"{path}: ignore file unreadable, not used: {exc}", stacklevel=2)
        return []


def root_layer(folder: str, names: set[str], extra_file: str | None) -> Layer:
    """The layer of the source's root: the defaults, the extra file, then the root's own files."""
    lines = list(DEFAULT_PATTERNS)
    if extra_file:
        lines += read_patterns(extra_file)
    for name in IGNORE_FILES:
        if name in names:
            lines += read_patterns(os.path.join(folder, name))
    return Layer("", lines)


def folder_layer(folder: str, base: str, names: set[str]) -> Layer | None:
    """The layer of the ignore files in ``folder`` (whose entry names are ``names``), if any."""
    lines: list[str] = []
    for name in IGNORE_FILES:
        if name in names:
            lines += read_patterns(os.path.join(folder, name))
    return Layer(base, lines) if lines else None


def file_checker(layers: list[Layer]) -> Callable[[str, str], bool]:
    """``is_ignored`` for files, specialised to ``layers``: ``check(rel, name) -> ignored``.

    A snapshot asks this for every file, so the usual case, one layer whose patterns all
    match names, comes down to one regex match.
    """
    if len(layers) == 1 and layers[0].path_regex is None:
        regex, includes = layers[0].name_regex, layers[0].includes
        if regex is None:
            return lambda rel, name: False

        def check(rel: str, name: str) -> bool:
            match = regex.match(name)
            return match is not None and includes[int(match.lastgroup[1:])]

        return check
    return lambda rel, name: is_ignored(layers, rel, False)


def is_ignored(layers: list[Layer], rel: str, is_dir: bool) -> bool:
    """Whether path ``rel`` (from the root, ``/``-separated) is ignored under ``layers``.

    The deepest layer with a matching pattern decides, as in git.
    """
    suffix = "/" if is_dir else ""
    name = rel.rpartition("/")[2] + suffix
    for layer in reversed(layers):
        verdict = layer.verdict(rel[len(layer.base) :] + suffix, name)
        if verdict is not None:
            return verdict
    return False
