"""Which files of a source tree a code snapshot leaves out: git's ignore rules, and tmt's own.

Patterns come from every ``.gitignore`` in the tree (each applying below its own folder, the
deepest deciding, ``!`` negations included), ``.tmtignore`` files (same syntax, for what only
tmt should skip; they win over a ``.gitignore`` beside them), an optional extra file that
applies from the root (``gitignore_path``), and a few defaults (caches, virtualenvs) that a
``!`` pattern can undo. Folders that hold a virtualenv (a ``pyvenv.cfg``) are always left out.
"""

from __future__ import annotations

import os
import warnings

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathspec import GitIgnoreSpec

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


def _spec(lines: list[str]) -> GitIgnoreSpec:
    from pathspec import GitIgnoreSpec

    return GitIgnoreSpec.from_lines(lines)


class Layer:
    """The patterns of one folder: ``base`` is its path from the root (``""`` or ``"a/b/"``)."""

    __slots__ = ("base", "spec")

    def __init__(self, base: str, spec: GitIgnoreSpec) -> None:
        self.base = base
        self.spec = spec


def root_layers(extra_file: str | None) -> list[Layer]:
    """The layers below every folder's own: the defaults, then the extra ignore file."""
    layers = [Layer("", _spec(list(DEFAULT_PATTERNS)))]
    if extra_file:
        try:
            with open(extra_file, encoding="utf-8", errors="replace") as f:
                layers.append(Layer("", _spec(f.read().splitlines())))
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
    return Layer(base, _spec(lines)) if lines else None


def is_ignored(layers: list[Layer], rel: str, is_dir: bool) -> bool:
    """Whether path ``rel`` (from the root, ``/``-separated) is ignored under ``layers``.

    The deepest layer with a matching pattern decides, as in git.
    """
    for layer in reversed(layers):
        path = rel[len(layer.base) :]
        if is_dir:
            path += "/"
        verdict = layer.spec.check_file(path).include
        if verdict is not None:
            return verdict
    return False
