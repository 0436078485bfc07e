"""Which files of a source tree a code snapshot leaves out: git's rules, exactly, and tmt's own.

The specification is gitignore(5) as git implements it (``dir.c`` and ``wildmatch.c``), checked
against ``git ls-files`` by a differential fuzz test:

- lines are split at ``\\n`` only (a final ``\\r`` dropped, a UTF-8 BOM skipped, trailing
  spaces trimmed unless escaped, a NUL ending the line); ``#`` starts a comment, ``!`` negates;
- a pattern without an inner ``/`` matches a name at any depth, one with a ``/`` matches the
  path from its file's folder; a trailing ``/`` matches only folders; ``*``, ``?`` and ``[...]``
  (ranges, ``!``/``^``, POSIX classes such as ``[[:upper:]]``) never match a ``/``, ``**``
  matches across folders only as a whole path component; a malformed pattern matches nothing;
- matching is byte by byte, as git's is (``?`` is one byte of a UTF-8 name);
- the last matching pattern of a file decides; a deeper ``.gitignore`` wins over a shallower one,
  which wins over ``.git/info/exclude``, which wins over ``core.excludesFile``; nothing inside an
  ignored folder is looked at, so a ``!`` cannot bring it back.

tmt adds its own lists, which win over git's: ``.tmtignore`` files (same syntax, deepest first)
and the ``gitignore_path`` file (from the root), for what only a snapshot should skip; and a few
defaults (caches) that git's lists and tmt's can undo with ``!``.

Paths and names are matched as *byte views*: ``str`` holding one character per byte of the name
(Latin-1), so that an ASCII name is its own view and git's byte semantics carry over to regexes.
"""

from __future__ import annotations

import errno
import itertools
import os
import re
import warnings

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

GIT_IGNORE_FILE = ".gitignore"
TMT_IGNORE_FILE = ".tmtignore"
#: Certainly caches: left out unless a pattern of the user's brings them back. (Folders holding
#: an environment, a ``pyvenv.cfg`` or ``conda-meta``, are recognised by content, not name.)
DEFAULT_PATTERNS = (
    "__pycache__/",
    "*.py[co]",
    ".ipynb_checkpoints/",
    ".mypy_cache/",
    ".pytest_cache/",
    ".ruff_cache/",
    ".tox/",
    ".nox/",
    "node_modules/",
    "*.egg-info/",
    ".DS_Store",
)
#: What git reads of an ignore file at most (larger ones are not used, with a warning).
MAX_IGNORE_FILE = 100 * 1024 * 1024

KEEP, IGNORED, IGNORED_FINAL = 0, 1, 2

_GLOB_SPECIAL = re.compile(r"[*?\[\\]")
_CLASSES = {  # git's locale-independent ASCII classes (sane-ctype.h)
    "alnum": "a-zA-Z0-9",
    "alpha": "a-zA-Z",
    "blank": " \\t",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "\\x21-\\x7e",
    "lower": "a-z",
    "print": "\\x20-\\x7e",
    "punct": "!-/:-@\\[-`{-~",
    "space": " \\t\\n\\r",
    "upper": "A-Z",
    "xdigit": "0-9a-fA-F",
}


def byte_view(name: str) -> str:
    """A file name (as ``os`` gives it) as one character per byte of the name on disk."""
    if name.isascii():
        return name
    return name.encode("utf-8", "surrogateescape").decode("latin-1")


def parse_lines(data: bytes) -> list[str]:
    """The patterns of an ignore file's bytes, as git reads them (as byte views)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    patterns = []
    for line in data.decode("latin-1").split("\n"):
        if not line or line[0] == "#":
            continue
        if line[-1] == "\r":
            line = line[:-1]
        line = line.partition("\0")[0]
        line = _trim_trailing_spaces(line)
        if line:
            patterns.append(line)
    return patterns


def _trim_trailing_spaces(line: str) -> str:
    if not line.endswith(" "):
        return line
    last_space = -1
    i = 0
    while i < len(line):
        char = line[i]
        if char == " ":
            if last_space < 0:
                last_space = i
        elif char == "\\":
            i += 1
            if i == len(line):
                return line
            last_space = -1
        else:
            last_space = -1
        i += 1
    return line if last_space < 0 else line[:last_space]


def translate(glob: str) -> str | None:
    """A regex for git's wildmatch of ``glob`` on a path (``*`` stops at ``/``); ``None`` when
    git would never match it (a trailing ``\\``, an unclosed ``[``, an unknown class)."""
    out = []
    i, n = 0, len(glob)
    while i < n:
        char = glob[i]
        if char == "/" or glob.startswith("\\/", i):
            out.append("/")
            i += 1 if char == "/" else 2
        elif char != "*":
            piece, i = _piece(glob, i)
            if piece is None:
                return None
            out.append(piece)
        else:
            j = i
            while j < n and glob[j] == "*":
                j += 1
            whole_component = j - i >= 2 and (i == 0 or glob[i - 1] == "/")
            if whole_component and j == n:
                out.append(".*")
            elif whole_component and glob[j] == "/":
                out.append("(?:.*/)?")  # zero or more folders
                j += 1
            elif whole_component and glob.startswith("\\/", j):
                out.append(".*/")  # git tries no "zero folders" shortcut here
                j += 2
            else:
                piece, end = _piece(glob, j)
                if piece is None:
                    return None
                if end < n and glob[end] == "*":
                    # Another star follows in this component: match this piece at its first
                    # place, atomically, as git's wildmatch does, so that patterns such as
                    # "*a*a*a*b" cost linear time, not exponential backtracking.
                    name = f"a{next(_ATOMIC)}"
                    out.append(f"(?=(?P<{name}>[^/]*?{piece}))(?P={name})")
                else:
                    out.append("[^/]*" + piece)
                j = end
            i = j
    return "".join(out)


_ATOMIC = itertools.count()


def _piece(glob: str, i: int) -> tuple[str | None, int]:
    """The regex of ``glob`` from ``i`` up to its next star or ``/`` (the stars' neighbours),
    and where that is; ``None`` if git would never match it."""
    out = []
    n = len(glob)
    while i < n and glob[i] not in "*/":
        char = glob[i]
        if char == "\\":
            if i + 1 == n:
                return None, i
            if glob[i + 1] == "/":
                break
            out.append(re.escape(glob[i + 1]))
            i += 2
        elif char == "?":
            out.append("[^/]")
            i += 1
        elif char == "[":
            parsed = _bracket(glob, i + 1)
            if parsed is None:
                return None, i
            fragment, i = parsed
            out.append(fragment)
        else:
            out.append(re.escape(char))
            i += 1
    return "".join(out), i


def _bracket(glob: str, i: int) -> tuple[str, int] | None:
    """The regex of the ``[...]`` whose content starts at ``i``, and where it ends."""
    n = len(glob)
    negated = i < n and glob[i] in "!^"
    if negated:
        i += 1
    items: list[str] = []
    previous: str | None = None  # the last single character, which may start a range
    first = True
    while True:
        if i >= n:
            return None
        char = glob[i]
        if char == "]" and not first:
            break
        first = False
        if char == "\\":
            i += 1
            if i >= n:
                return None
            items.append(re.escape(glob[i]))
            previous = glob[i]
            i += 1
        elif char == "-" and previous is not None and i + 1 < n and glob[i + 1] != "]":
            i += 1
            high = glob[i]
            if high == "\\":
                i += 1
                if i >= n:
                    return None
                high = glob[i]
            if previous <= high:
                items.append(f"{re.escape(previous)}-{re.escape(high)}")
            previous = None
            i += 1
        elif char == "[" and glob.startswith(":", i + 1):
            end = glob.find("]", i + 2)
            if end < 0:
                return None
            if end - (i + 2) - 1 < 0 or glob[end - 1] != ":":
                items.append(re.escape("["))  # not a class: a literal "[" and go on
                previous = "["
                i += 1
            else:
                cls = _CLASSES.get(glob[i + 2 : end - 1])
                if cls is None:
                    return None
                items.append(cls)
                previous = None
                i = end + 1
        else:
            items.append(re.escape(char))
            previous = char
            i += 1
    body = "".join(items)
    if not body:  # only empty ranges: matches nothing, or (negated) anything but "/"
        return ("[^/]" if negated else "(?!)"), i + 1
    # In a path, no bracket matches "/".
    return (f"[^/{body}]" if negated else f"(?!/)[{body}]"), i + 1


class _Pattern:
    __slots__ = ("basename", "body", "dir_only", "literal", "negative")

    def __init__(self, line: str) -> None:
        self.negative = line.startswith("!")
        body = line[1:] if self.negative else line
        self.dir_only = body.endswith("/")
        if self.dir_only:
            body = body[:-1]
        self.basename = "/" not in body
        if not self.basename and body.startswith("/"):
            body = body[1:]
        self.body = body
        self.literal = _GLOB_SPECIAL.search(body) is None


class _Index:
    """Patterns (with their positions in the file) indexed so that a lookup costs a few dict
    probes plus regexes for the patterns that can apply, however many patterns there are."""

    __slots__ = (
        "always",
        "any_depth",
        "by_first",
        "by_name",
        "has_paths",
        "name_regex",
        "names",
        "path_depths",
        "path_regex",
        "paths",
        "suffixes",
    )

    def __init__(self, patterns: list[tuple[int, _Pattern]]) -> None:
        self.names: dict[str, int] = {}  # literal names
        self.always = -1  # "*": every name
        suffixes: dict[int, dict[str, int]] = {}  # "*literal", by the literal's length
        name_globs: list[tuple[int, str]] = []
        self.paths: dict[str, int] = {}  # literal paths
        by_first: dict[str, list[tuple[int, str]]] = {}  # path globs, by a literal first part
        path_globs: list[tuple[int, str]] = []
        # Without "**", a path pattern matches only paths with as many "/" as it has.
        self.path_depths: set[int] = set()
        self.any_depth = False
        for index, pattern in patterns:
            body = pattern.body
            if not body:
                continue  # "!" or "/" alone: matches nothing
            if not pattern.basename:
                if "**" in body:
                    self.any_depth = True
                else:
                    self.path_depths.add(body.count("/"))
            if pattern.literal:
                (self.names if pattern.basename else self.paths)[body] = index
                continue
            if pattern.basename and body[0] == "*" and _GLOB_SPECIAL.search(body, 1) is None:
                if len(body) == 1:
                    self.always = index
                else:
                    suffixes.setdefault(len(body) - 1, {})[body[1:]] = index
                continue
            regex = translate(body)
            if regex is None:
                continue
            if pattern.basename:
                name_globs.append((index, regex))
                continue
            first, slash, _ = body.partition("/")
            if slash and _GLOB_SPECIAL.search(first) is None:
                by_first.setdefault(first, []).append((index, regex))
            else:
                path_globs.append((index, regex))
        self.suffixes = sorted(suffixes.items())
        self.name_regex = _alternation(name_globs)
        self.path_regex = _alternation(path_globs)
        self.by_first = {first: _alternation(globs) for first, globs in by_first.items()}
        self.has_paths = bool(self.paths or self.by_first or self.path_regex)
        self.by_name: dict[str, int] = {}  # what the name-only patterns said of each name

    def __bool__(self) -> bool:
        return bool(self.names or self.always >= 0 or self.suffixes or self.name_regex) or (
            self.has_paths
        )

    def last(self, path: str, name: str) -> int:
        """The position of the last pattern matching ``path`` (named ``name``), or -1."""
        best = self.by_name.get(name)
        if best is None:
            best = self.by_name[name] = self._last_by_name(name)
        if not self.has_paths:
            return best
        if self.paths:
            best = max(best, self.paths.get(path, -1))
        if self.by_first:
            regex = self.by_first.get(path.partition("/")[0])
            if regex is not None:
                match = regex.fullmatch(path)
                if match is not None:
                    best = max(best, _pattern_index(match))
        if self.path_regex is not None:
            match = self.path_regex.fullmatch(path)
            if match is not None:
                best = max(best, _pattern_index(match))
        return best

    def _last_by_name(self, name: str) -> int:
        best = self.names.get(name, -1)
        if self.always > best:
            best = self.always
        for length, table in self.suffixes:
            if len(name) >= length:
                found = table.get(name[-length:], -1)
                if found > best:
                    best = found
        if self.name_regex is not None:
            match = self.name_regex.fullmatch(name)
            if match is not None:
                best = max(best, _pattern_index(match))
        return best


def _alternation(globs: list[tuple[int, str]]) -> re.Pattern | None:
    """One regex trying the patterns last first: the group that matches names the pattern."""
    if not globs:
        return None
    alternatives = "|".join(f"(?P<p{index}>{regex})" for index, regex in reversed(globs))
    return re.compile(alternatives, re.DOTALL)  # names may hold a newline


class PatternList:
    """The patterns of one ignore file, applying to paths below the folder ``base``
    (``""`` or ``"a/b/"``, a byte view)."""

    __slots__ = ("_dirs", "_files", "base", "negative")

    def __init__(self, base: str, lines: Iterable[str]) -> None:
        self.base = base
        patterns = [_Pattern(line) for line in lines]
        self.negative = [p.negative for p in patterns]
        numbered = list(enumerate(patterns))
        self._files = _Index([(i, p) for i, p in numbered if not p.dir_only])
        self._dirs = _Index(numbered)

    def __bool__(self) -> bool:
        return bool(self.negative)

    def verdict(self, path: str, name: str, is_dir: bool) -> bool | None:
        """For ``path`` (from ``base``) named ``name``: True, ignored; False, kept by a ``!``
        pattern; None, no pattern matches."""
        index = (self._dirs if is_dir else self._files).last(path, name)
        return None if index < 0 else not self.negative[index]


def read_ignore_file(path: str, follow_symlinks: bool = False) -> list[str]:
    """The patterns of the ignore file at ``path``: none if it is missing or not a regular file
    (a FIFO must not hang the run); none, with a warning, if it cannot be read. Like git, a
    ``.gitignore`` that is a symlink is not read (``follow_symlinks`` is for files that
    configuration names)."""
    from .jsonfile import read_bytes

    try:
        return parse_lines(read_bytes(path, MAX_IGNORE_FILE, follow_symlinks=follow_symlinks))
    except FileNotFoundError:
        return []
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EINVAL, errno.ENOTDIR):
            return []  # a link (git does not follow it either), a folder, a FIFO
        warnings.warn(f"tmt: {path}: ignore file not used: {exc.strerror or exc}", stacklevel=2)
        return []


class Rules:
    """The ignore lists in force in one folder, in order of precedence.

    ``own`` are tmt's lists (``.tmtignore`` files, the ``gitignore_path`` file), deepest last;
    ``git`` are git's (``core.excludesFile``, ``.git/info/exclude``, ``.gitignore`` files),
    deepest last; ``defaults`` tmt's defaults.
    """

    __slots__ = ("_by_name", "_dirs", "_files", "defaults", "git", "own")

    def __init__(
        self, own: list[PatternList], git: list[PatternList], defaults: PatternList
    ) -> None:
        self.own = own
        self.git = git
        self.defaults = defaults
        order = [(lst, IGNORED_FINAL) for lst in reversed(own)]
        order += [(lst, IGNORED) for lst in reversed(git)]
        order.append((defaults, IGNORED))
        # per kind, only the lists with patterns for it: (index, where paths start, negative
        # flags, the outcome of a match)
        self._files = [
            (lst._files, len(lst.base), lst.negative, outcome)
            for lst, outcome in order
            if lst._files
        ]
        self._dirs = [
            (lst._dirs, len(lst.base), lst.negative, outcome) for lst, outcome in order if lst._dirs
        ]
        # In a folder where no path pattern can match a file (the usual case), a file's
        # verdict depends on its name alone: it is remembered by name.
        self._by_name: dict[str, int] = {}

    def below(self, folder: str, base: str, names: Iterable[str]) -> Rules:
        """The rules in ``folder`` (at byte-view path ``base``), given its entries' names."""
        own, git = self.own, self.git
        if GIT_IGNORE_FILE in names:
            lines = read_ignore_file(os.path.join(folder, GIT_IGNORE_FILE))
            if lines:
                git = [*git, PatternList(base, lines)]
        if TMT_IGNORE_FILE in names:
            lines = read_ignore_file(os.path.join(folder, TMT_IGNORE_FILE))
            if lines:
                own = [*own, PatternList(base, lines)]
        if own is self.own and git is self.git:
            return self
        return Rules(own, git, self.defaults)

    def file_verdict(self, folder: str) -> Callable[[str, str], int]:
        """``verdict(path, name)`` for the files of byte-view ``folder`` (``""`` or ending in
        ``/``): the walk asks it for every file, so it is a dict lookup where it can be."""
        for index, cut, _, _ in self._files:
            if index.has_paths and (
                index.any_depth or folder[cut:].count("/") in index.path_depths
            ):
                return lambda path, name: self.verdict(path, name, False)
        by_name = self._by_name

        def verdict(path: str, name: str) -> int:
            found = by_name.get(name)
            if found is None:
                found = by_name[name] = self.verdict(path, name, False)
            return found

        return verdict

    def verdict(self, path: str, name: str, is_dir: bool) -> int:
        """KEEP, IGNORED (by git's rules or the defaults: a tracked file is kept anyway) or
        IGNORED_FINAL (by tmt's own lists) for byte-view ``path`` named ``name``."""
        for index, cut, negative, outcome in self._dirs if is_dir else self._files:
            found = index.last(path[cut:] if cut else path, name)
            if found >= 0:
                return KEEP if negative[found] else outcome
        return KEEP


_DEFAULTS: list[PatternList] = []


def default_list() -> PatternList:
    """tmt's defaults, compiled once per process (the names they were asked about cached)."""
    if not _DEFAULTS:
        _DEFAULTS.append(PatternList("", DEFAULT_PATTERNS))
    return _DEFAULTS[0]


def is_environment(names: Iterable[str]) -> bool:
    """Whether a folder with these entries holds a Python environment (a virtualenv or a
    conda environment): never code, so never in a snapshot unless git tracks it."""
    return "pyvenv.cfg" in names or "conda-meta" in names


def is_ignored(
    rules: Rules, path: str, is_dir: bool, tracked: frozenset[str] | set[str] = frozenset()
) -> bool:
    """Whether ``path`` (``/``-separated, from the root) is left out by those of ``rules``
    that apply to it, its folders assumed kept; a ``tracked`` file is kept unless tmt's own
    lists leave it out. (A snapshot asks :meth:`Rules.verdict` as it walks.)"""
    view = byte_view(path)
    above = [lst for lst in rules.own if view.startswith(lst.base)]
    git = [lst for lst in rules.git if view.startswith(lst.base)]
    verdict = Rules(above, git, rules.defaults).verdict(view, view.rpartition("/")[2], is_dir)
    return verdict == IGNORED_FINAL or (verdict == IGNORED and path not in tracked)


def _pattern_index(match: re.Match[str]) -> int:
    """Which pattern a match of a combined regex is for: its group is named ``p<index>``."""
    group = match.lastgroup
    assert group is not None  # every alternative of a combined regex is a named group
    return int(group[1:])
