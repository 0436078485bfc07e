"""Which files of a source tree a code snapshot leaves out: git's ignore rules, and tmt's own.

Patterns come from every ``.gitignore`` in the tree (each applying below its own folder, the
deepest deciding, ``!`` negations included), ``.tmtignore`` files (same syntax, for what only
tmt should skip; they win over a ``.gitignore`` beside them), an optional extra file that
applies from the root (``gitignore_path``), and a few defaults (caches, virtualenvs) that a
``!`` pattern can undo. Folders that hold a virtualenv (a ``pyvenv.cfg``) are always left out.
"""

from __future__ import annotations

import os
import re
import warnings

_GROUP_NAME = re.compile(r"\(\?P<[^>]+>")

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


class Layer:
    """The patterns of one folder, compiled into one regular expression.

    ``base`` is the folder's path from the root (``""`` or ``"a/b/"``). Because a snapshot never
    enters an ignored folder, git's rules come down to: the last pattern that matches the whole
    path decides. The patterns are joined in reverse order into one alternation, so one match
    finds that pattern: a few microseconds a path, however many patterns there are.
    """

    __slots__ = ("base", "includes", "regex")

    def __init__(self, base: str, lines: list[str]) -> None:
        from pathspec import GitIgnoreSpec

        self.base = base
        alternatives = []
        self.includes: list[bool] = []
        for pattern in reversed(GitIgnoreSpec.from_lines(lines).patterns):
            if pattern.include is None or pattern.regex is None:
                continue  # a comment or a blank line
            # pathspec names a group in every pattern; names may not repeat in one regex.
            body = _GROUP_NAME.sub("(?:", pattern.regex.pattern)
            alternatives.append(f"(?P<p{len(self.includes)}>{body})")
            self.includes.append(bool(pattern.include))
        self.regex = re.compile("|".join(alternatives)) if alternatives else None

    def verdict(self, path: str) -> bool | None:
        """True: ignored; False: re-included by a ``!`` pattern; None: no pattern matches."""
        if self.regex is None:
            return None
        match = self.regex.fullmatch(path)
        if match is None:
            return None
        return self.includes[int(match.lastgroup[1:])]


def root_layers(extra_file: str | None) -> list[Layer]:
    """The layers below every folder's own: the defaults, then the extra ignore file."""
    layers = [Layer("", list(DEFAULT_PATTERNS))]
    if extra_file:
        try:
            with open(extra_file, encoding="utf-8", errors="replace") as f:
                layers.append(Layer("", f.read().splitlines()))
        except FileNotFoundError:
            pass
        except OSError as exc:
            warnings.warn(f"{extra_file}: ignore file unreadable, not used: {exc}", stacklevel=2)
    return layers


def folder_layer(folder: str, base: str, names: set[str]) -> Layer | None:
    """The layer of the ignore files in ``folder`` (whose entry names are ``names``), if any."""
    lines: list[str] = []
    for name in IGNORE_FILES:
        if name in names:
            try:
                with open(os.path.join(folder, name), encoding="utf-8", errors="replace") as f:
                    lines.extend(f.read().splitlines())
            except OSError as exc:
                warnings.warn(
                    f"{os.path.join(folder, name)}: unreadable, not used: {exc}", stacklevel=2
                )
    return Layer(base, lines) if lines else None


def is_ignored(layers: list[Layer], rel: str, is_dir: bool) -> bool:
    """Whether path ``rel`` (from the root, ``/``-separated) is ignored under ``layers``.

    The deepest layer with a matching pattern decides, as in git.
    """
    for layer in reversed(layers):
        path = rel[len(layer.base) :]
        if is_dir:
            path += "/"
        verdict = layer.verdict(path)
        if verdict is not None:
            return verdict
    return False
