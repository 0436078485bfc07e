"""Mutation testing: how many small bugs planted in a module do its tests catch?

Each mutant changes one thing in a module: a comparison (``==`` to ``!=``, ``<`` to ``>=``, ``in``
to ``not in``), an arithmetic or boolean operator, a number, an empty or non-empty string,
``True``/``False``, ``return x`` to ``return None``, or ``break``/``continue``. The module's tests
run against each mutant in a scratch copy of the project (never the project itself). A mutant the
tests still pass on "survived": it points at behaviour that no test pins down, so the listing
gives each survivor as ``path:line: before -> after``. Standard library only.

Run it from the project root, with the interpreter that has pytest::

    .venv/bin/python .ci/mutation.py tmt/dates.py tmt/store.py=tests/test_store.py,tests/test_run.py

A module given without ``=TESTS`` is tested by ``tests/test_<name>.py``. Options: ``--jobs N``
test runs at once (2), ``--timeout S`` a run (default 10 times the unmutated run, at least 20 s;
a run that times out has killed its mutant), ``--sample N`` mutants a module (``--seed``),
``--json FILE``, ``--fail-under PCT`` (exit 1 when a module scores lower; otherwise always 0).
Docstrings, annotations, ``TYPE_CHECKING`` blocks, ``__all__``, the text of f-strings, and lines
marked ``# pragma: no mutate`` are left alone.
"""

from __future__ import annotations

import argparse
import ast
import copy
import io
import json
import os
import queue
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tokenize
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

PRAGMA = "pragma: no mutate"
TYPE_CHECKING = ("TYPE_CHECKING", "typing.TYPE_CHECKING")
SWAP: dict[type, type] = {
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Lt: ast.GtE, ast.GtE: ast.Lt,
    ast.Gt: ast.LtE, ast.LtE: ast.Gt, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
    ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Add: ast.Sub, ast.Sub: ast.Add,
    ast.Mult: ast.Div, ast.Div: ast.Mult, ast.FloorDiv: ast.Div, ast.And: ast.Or, ast.Or: ast.And,
}  # fmt: skip
# What a scratch copy leaves out: history, environments, caches and tmt's own data.
NOT_COPIED = (".git", ".venv", "venv", ".tmt", "__pycache__", ".*_cache", ".coverage*", "build",
              "dist", "*.egg-info")  # fmt: skip


def _variants(node: ast.AST) -> list[ast.AST]:
    """Copies of ``node`` with one change each (none when it has nothing to mutate)."""
    if isinstance(node, ast.Compare):
        return [_replace(node, ops=[*node.ops[:i], SWAP[type(op)](), *node.ops[i + 1 :]])
                for i, op in enumerate(node.ops) if type(op) in SWAP]  # fmt: skip
    if isinstance(node, (ast.BinOp, ast.AugAssign, ast.BoolOp)) and type(node.op) in SWAP:
        return [_replace(node, op=SWAP[type(node.op)]())]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return [node.operand]
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool):
            return [ast.Constant(not value)]
        if isinstance(value, (int, float)):
            return [ast.Constant(value + 1)]
        if isinstance(value, str):
            return [ast.Constant("" if value else "X")]
    if isinstance(node, ast.Return) and node.value and ast.unparse(node.value) != "None":
        return [ast.Return(ast.Constant(None))]
    if isinstance(node, (ast.Break, ast.Continue)):
        return [ast.Continue() if isinstance(node, ast.Break) else ast.Break()]
    return []


def _replace(node: ast.AST, **fields: object) -> ast.AST:
    changed = copy.copy(node)
    changed.__dict__.update(fields)
    return changed


def _frozen(tree: ast.Module, quiet_lines: set[int]) -> set[int]:
    """Ids of the nodes never to mutate in ``tree``."""
    roots: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                roots.append(first)  # a docstring (or a bare constant, which does nothing)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns:
            roots.append(node.returns)
        elif isinstance(node, (ast.arg, ast.AnnAssign)) and node.annotation:
            roots.append(node.annotation)
        elif isinstance(node, ast.If) and ast.unparse(node.test) in TYPE_CHECKING:
            roots += [node.test, *node.body]
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id in ("__all__", "TYPE_CHECKING") for t in node.targets
        ):
            roots.append(node)
        elif isinstance(node, ast.JoinedStr):
            # The text of f-strings is message wording, and unparsing it back differs by version.
            roots += [part for part in node.values if isinstance(part, ast.Constant)]
    frozen = {id(n) for root in roots for n in ast.walk(root)}
    # A pragma covers the nodes that start on its line, not a whole block opened there.
    return frozen | {id(n) for n in ast.walk(tree) if getattr(n, "lineno", 0) in quiet_lines}


def _describe(before: str, after: str, width: int = 60) -> str:
    """``before -> after``, both cut to show where they differ."""
    start = next((i for i, (a, b) in enumerate(zip(before, after)) if a != b), len(before))
    cut = max(0, min(start, len(before), len(after)) - 20)

    def clip(text: str) -> str:
        text = "…" + text[cut:] if cut else text
        return text if len(text) <= width else text[: width - 1] + "…"

    return f"{clip(before)} -> {clip(after)}"


class _Mutator(ast.NodeTransformer):
    """Numbers the mutation sites of a tree in visiting order. With a ``target``, applies that
    one; without, takes a census: the line and a description of each site."""

    def __init__(self, source: bytes, frozen: set[int], target: int = -1) -> None:
        self.lines, self.frozen, self.target = source.splitlines(), frozen, target
        self.count = 0
        self.sites: list[tuple[int, str]] = []

    def visit(self, node: ast.AST) -> ast.AST:
        node = self.generic_visit(node)
        if id(node) in self.frozen:
            return node
        for variant in _variants(node):
            self.count += 1
            if self.target < 0:
                self.sites.append((node.lineno, self.describe(node, variant)))
            elif self.count - 1 == self.target:
                return variant
        return node

    def describe(self, node: ast.AST, variant: ast.AST) -> str:
        """The change, within its line as written when the node fits on one."""
        before, after = ast.unparse(node), ast.unparse(variant)
        if node.lineno == node.end_lineno:
            line = self.lines[node.lineno - 1]  # bytes, as column offsets count UTF-8 bytes
            head, tail = line[: node.col_offset].decode(), line[node.end_col_offset :].decode()
            before, after = line.decode().strip(), (head + after + tail).strip()
        return _describe(before, after)


@dataclass
class Mutant:
    line: int
    description: str
    source: str = field(repr=False)


def mutants(source: str) -> tuple[str, list[Mutant]]:
    """The module as ``ast.unparse`` writes it, and its mutants, without no-ops or duplicates."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    quiet = {t.start[0] for t in tokens if t.type == tokenize.COMMENT and PRAGMA in t.string}
    tree = ast.parse(source)
    original = ast.unparse(tree)
    census = _Mutator(source.encode(), _frozen(tree, quiet))
    census.visit(tree)
    found, seen = [], {original}
    for target, (line, description) in enumerate(census.sites):
        tree = ast.parse(source)
        text = ast.unparse(_Mutator(b"", _frozen(tree, quiet), target).visit(tree))
        if text not in seen:
            seen.add(text)
            found.append(Mutant(line, description, text))
    return original, found


def run_tests(project: Path, tests: list[str], timeout: float | None) -> str:
    """Run ``tests`` in a scratch copy of the project: ``"passed"``, ``"failed"`` or
    ``"timeout"``."""
    # The copy comes first on the path (before an editable install of the project), and no
    # bytecode is cached: two mutants of one size written in one second would share a .pyc.
    env = {**os.environ, "PYTHONPATH": str(project), "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
               f"--basetemp={project}.tmp", *tests]  # fmt: skip
    proc = subprocess.Popen(command, cwd=project, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
    _running.add(proc)
    try:
        return "passed" if proc.wait(timeout) == 0 else "failed"
    except subprocess.TimeoutExpired:
        return "timeout"
    finally:
        _stop(proc)


_running: set[subprocess.Popen] = set()


def _stop(proc: subprocess.Popen) -> None:
    """End a test run with everything it started (its own session), as it ended or not."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
    _running.discard(proc)


@dataclass
class Report:
    module: str
    tests: list[str]
    generated: int = 0
    mutants: int = 0
    killed: int = 0
    timeouts: int = 0
    survived: int = 0
    score: float = 100.0
    seconds: float = 0.0
    error: str = ""
    survivors: list[dict] = field(default_factory=list)


def measure(module: str, tests: list[str], copies: queue.Queue, args: argparse.Namespace) -> Report:
    """Run ``tests`` against every (or a sample of the) mutant(s) of ``module``."""
    report, began = Report(module, tests), time.monotonic()
    original_bytes = (args.root / module).read_bytes()
    original, found = mutants(original_bytes.decode())
    report.generated = len(found)
    if args.sample and len(found) > args.sample:
        chosen = random.Random(args.seed).sample(range(len(found)), args.sample)
        found = [found[i] for i in sorted(chosen)]

    def run(source: str, timeout: float | None) -> str:
        project = copies.get()  # a copy no other run is using
        try:
            (project / module).write_text(source)
            return run_tests(project, tests, timeout)
        finally:
            (project / module).write_bytes(original_bytes)
            copies.put(project)

    # The unmutated run (as unparsed, like every mutant) must pass, and times the rest.
    started = time.monotonic()
    if run(original, None) != "passed":
        report.error = "the tests fail on the unmutated module"
        return report
    timeout = args.timeout or max(20.0, 10 * (time.monotonic() - started))
    print(f"{module}: {len(found)} mutants, timeout {timeout:.0f} s", file=sys.stderr, flush=True)
    pool = ThreadPoolExecutor(args.jobs)
    try:
        outcomes = list(pool.map(lambda m: run(m.source, timeout), found))
    finally:  # on Ctrl-C, start no more runs and end the current ones
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in list(_running):
            _stop(proc)
        pool.shutdown()
    for mutant, outcome in zip(found, outcomes):
        report.timeouts += outcome == "timeout"
        if outcome == "passed":
            report.survivors.append({"line": mutant.line, "description": mutant.description})
    report.mutants, report.survived = len(found), len(report.survivors)
    report.killed = report.mutants - report.survived
    report.score = round(100 * report.killed / report.mutants, 1) if found else 100.0
    report.seconds = round(time.monotonic() - began, 1)
    return report


def _print(report: Report) -> None:
    if report.error:
        print(f"{report.module}: {report.error} ({', '.join(report.tests)})", flush=True)
        return
    sampled = f" (sampled from {report.generated})" if report.generated > report.mutants else ""
    print(f"{report.module}: {report.mutants} mutants{sampled}, {report.killed} killed "
          f"({report.timeouts} by timeout), {report.survived} survived, score {report.score}% "
          f"[{', '.join(report.tests)}; {report.seconds:.0f} s]")  # fmt: skip
    for survivor in report.survivors:
        print(f"  {report.module}:{survivor['line']}: {survivor['description']}")
    sys.stdout.flush()


def _target(spec: str, root: Path) -> tuple[str, list[str]]:
    """``MODULE[=TESTS,...]`` as the module and its test files."""
    module, _, tests = spec.partition("=")
    names = [t for t in tests.split(",") if t] or [f"tests/test_{Path(module).stem}.py"]
    for path in [module, *names]:
        if not (root / path).is_file():
            raise SystemExit(f"mutation.py: no file {path} under {root} (for {spec})")
    return module, names


def _untrap_signals() -> None:
    """Give test runs the default SIGHUP, SIGINT and SIGQUIT even when this harness was started
    ignoring them (``nohup``, ``&``): a test that sends one must see what a terminal would.
    An ignored signal stays ignored across ``exec``; a caught one is reset, so catch them."""
    for signum in (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT):
        if signal.getsignal(signum) == signal.SIG_IGN:
            signal.signal(signum, lambda *_: None)  # still ignored here


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="+", metavar="MODULE[=TESTS,...]")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="project root (here)")
    parser.add_argument("--jobs", type=int, default=2, help="test runs at once (2)")
    parser.add_argument("--timeout", type=float, help="seconds a run (10x the unmutated, >= 20)")
    parser.add_argument("--sample", type=int, help="test at most N mutants a module")
    parser.add_argument("--seed", type=int, default=0, help="of the sample (0)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results here")
    parser.add_argument("--fail-under", type=float, metavar="PCT", help="lowest passing score")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be 1 or more")
    args.root = args.root.resolve()
    targets = [_target(spec, args.root) for spec in args.targets]
    _untrap_signals()
    # Ended by ``kill``: clean up as after Ctrl-C (end the test runs, remove the copies).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))

    scratch, copies = Path(tempfile.mkdtemp(prefix="mutation-")), queue.Queue()
    try:
        ignore = shutil.ignore_patterns(*NOT_COPIED)
        for worker in range(args.jobs):
            copies.put(Path(shutil.copytree(args.root, scratch / f"copy{worker}", ignore=ignore)))
        reports = []
        for module, tests in targets:
            reports.append(measure(module, tests, copies, args))
            _print(reports[-1])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    if args.json:
        args.json.write_text(json.dumps({"modules": [asdict(r) for r in reports]}, indent=2))
    if args.fail_under is None:
        return 0
    return int(any(r.error or r.score < args.fail_under for r in reports))


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
