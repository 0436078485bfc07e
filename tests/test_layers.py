"""The import rules of ../shared/STYLE.md, checked on the source: layers depend downward only,
reading runs never loads recording them, the front ends use only the manager and pure
presentation helpers, and only the TUI imports urwid."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import tmt

PACKAGE = Path(tmt.__file__).parent

#: Each module of the core, by layer. A module may import its own layer and those below it;
#: "reading" and "recording" are side by side and never import each other.
LAYERS: dict[str, set[str]] = {
    "base": {
        "errors",
        "record",
        "jsonfile",
        "liveness",
        "forking",
        "dates",
        "jsonvalue",
        "duplicates",
        "display",
        "textchart",
        "gitinfo",
        "termination",
        "command",
        "flags",
        "storeside",
    },
    "storage": {
        "index",
        "runfolder",
        "legacy",
        "seriesfile",
        "store",
        "ignore",
        "worktree",
        "snapshot",
        "treediff",
        "environment",
        "config",
        "sweepconfig",
    },
    "reading": {
        "entry",
        "cells",
        "fields",
        "query",
        "refs",
        "db",
        "report",
        "maintenance",
        "rerun",
        "sweeps",
        "transfer",
        "exports",
        "manager",
    },
    "recording": {"activerun", "output", "series", "results", "params", "recorder", "trial"},
}
ORDER = {"base": 0, "storage": 1, "reading": 2, "recording": 2}
#: What the command line and the terminal app may import from the core.
FRONT_END_MAY_USE = {
    "tmt",
    "manager",
    "errors",
    "display",
    "cells",
    "fields",
    "query",
    "report",
    "textchart",
    "treediff",
    "dates",
    "record",
    "entry",
}


def layer_of(module: str) -> str:
    for layer, modules in LAYERS.items():
        if module in modules:
            return layer
    raise AssertionError(f"tmt.{module} is in no layer: add it to LAYERS in {__file__}")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(["tmt", *parts])


def imports(path: Path) -> set[str]:
    """The modules ``path`` imports, anywhere but under ``if TYPE_CHECKING:``, as full names
    (``tmt.store``, ``urwid``); names re-exported by ``tmt`` count as their modules."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found: set[str] = set()
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            skip.update(id(n) for child in node.body for n in ast.walk(child))
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                if target == "tmt" and alias.name in tmt._EXPORTS:
                    found.add(f"tmt.{tmt._EXPORTS[alias.name]}")
                elif (PACKAGE.parent / candidate.replace(".", "/")).with_suffix(".py").exists():
                    found.add(candidate)
                else:
                    found.add(target)
    return found


SOURCES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
CORE = {
    n: p for n, p in SOURCES.items() if p.parent == PACKAGE and n not in ("tmt", "tmt.__main__")
}


def core_imports(name: str) -> set[str]:
    return {
        m.split(".")[1]
        for m in imports(SOURCES[name])
        if m.startswith("tmt.") and m.count(".") == 1
    }


def closure(name: str) -> set[str]:
    """Every core module that importing ``name`` loads, directly or not."""
    seen: set[str] = set()
    todo = [name.split(".")[1]]
    while todo:
        for found in core_imports(f"tmt.{todo.pop()}"):
            if found not in seen:
                seen.add(found)
                todo.append(found)
    return seen


class TestLayers:
    """Each core module imports only its own layer and the layers below it."""

    @pytest.mark.parametrize("name", sorted(CORE))
    def test_imports_go_downward(self, name: str) -> None:
        module = name.split(".")[1]
        layer = layer_of(module)
        for found in core_imports(name):
            other = layer_of(found)
            assert ORDER[other] < ORDER[layer] or other == layer, (
                f"{name} ({layer}) imports tmt.{found} ({other})"
            )

    @pytest.mark.parametrize("name", sorted(LAYERS["reading"]))
    def test_reading_never_loads_recording(self, name: str) -> None:
        loaded = closure(f"tmt.{name}") & LAYERS["recording"]
        assert not loaded, f"reading with tmt.{name} loads {sorted(loaded)}"

    def test_the_store_and_the_snapshot_engine_use_only_the_base(self) -> None:
        for name in ("store", "snapshot"):
            above = {m for m in closure(f"tmt.{name}") if layer_of(m) != "base"}
            allowed = {"index", "runfolder", "legacy", "ignore", "worktree", "config"}
            assert above <= allowed, f"tmt.{name} uses {sorted(above - allowed)}"


class TestFrontEnds:
    """The CLI and the TUI use the manager's API and pure helpers, never each other."""

    @pytest.mark.parametrize(
        "name", sorted(n for n in SOURCES if n.startswith(("tmt.cli", "tmt.tui")))
    )
    def test_only_the_manager_and_presentation(self, name: str) -> None:
        own = name.split(".")[1]
        for found in imports(SOURCES[name]):
            if found.startswith(f"tmt.{own}") or not found.startswith("tmt"):
                continue
            if found.startswith(("tmt.cli", "tmt.tui")):
                assert (name, found) == ("tmt.cli", "tmt.tui"), f"{name} imports {found}"
                continue  # `tmt tui` starts the app, importing it only then
            short = found.split(".")[1] if "." in found else "tmt"
            assert short in FRONT_END_MAY_USE, f"{name} imports {found}"

    @pytest.mark.parametrize("name", sorted(SOURCES))
    def test_only_the_tui_imports_urwid(self, name: str) -> None:
        if not name.startswith("tmt.tui"):
            assert "urwid" not in {m.split(".")[0] for m in imports(SOURCES[name])}, name
