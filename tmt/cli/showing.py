"""``tmt show``, ``tmt diff`` and ``tmt compare``: one run in full, two or more side by side."""

from __future__ import annotations

from .. import TmtManager, cells
from .. import display as fmt
from ..cells import flatten
from ..display import json_text, printable, printable_lines
from ..query import select
from ..textchart import sparkline
from ..treediff import tree_diff
from . import UsageError
from .listing import add_where, run_json
from .options import add_output_options

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from ..report import Report
    from .console import Console


def register(commands: Any) -> None:
    p = commands.add_parser(
        "show",
        help="everything recorded about a run",
        description="Everything recorded about a run: params, metrics "
        "(with a sparkline of each logged series), results, code "
        "snapshot, git, environment, the tail of its output, its error.",
    )
    p.add_argument("ref", nargs="?", default="last", help="the run (default: last)")
    add_output_options(p, "text", "json")
    p.set_defaults(handler=show)

    p = commands.add_parser(
        "diff",
        help="what changed between two runs",
        description="What changed between two runs: params, metrics, git "
        "commit, package versions, and a unified diff of their code.",
    )
    p.add_argument("a", help="the first run")
    p.add_argument("b", help="the second run")
    add_output_options(p, "text", "json")
    p.set_defaults(handler=diff)

    p = commands.add_parser(
        "compare",
        help="params and metrics of runs side by side",
        description="Params and metrics of several runs side by side; "
        "rows that differ are highlighted (marked * when not coloured).",
    )
    p.add_argument("refs", nargs="*", metavar="REF", help="the runs, two or more")
    add_where(p)
    p.add_argument("--all", action="store_true", help="also show rows that are the same")
    add_output_options(p, "table", "json")
    p.set_defaults(handler=compare)


def show(args: argparse.Namespace, console: Console) -> int:
    e = TmtManager(config=args.config).run(args.ref)
    if args.format == "json":
        data = run_json(e)
        data.update(
            results=[{"name": n, "path": p} for n, p in e.results],
            snapshot=e.snapshot_path,
            git=e.git,
            environment=e.environment,
            error=e.error,
            host=e.host,
            pid=e.pid,
            argv=e.argv,
            cwd=e.cwd,
            command=e.command,
            run_dir=e.run_dir,
        )
        console.print(json_text(data, indent=2))
        return 0
    from ..report import run_report  # here: dataclasses is slow to import for other commands

    _print_report(console, run_report(e))
    return 0


def _print_report(console: Console, report: Report) -> None:
    s = console.style
    console.print(
        f"{s(report.name, 'bold')}  {s(report.id, 'dim')}  {console.status(report.status)}"
    )
    for line in report.summary:
        console.print(line)
    if report.error:
        console.print(s(f"error: {report.error}", "red", "bold"))
    for section in report.sections:
        console.print()
        console.print(s(section.title, "bold", *(("red",) if section.alert else ())))
        width = max((len(k) for k, _ in section.rows), default=0)
        for key, value in section.rows:
            curve = section.series.get(key)
            line = f"  {sparkline(curve.values, 30)}" if curve is not None else ""
            value = f"{value:>10}" if section.numbers else value
            console.print(f"  {key:<{width}}  {value}{line}".rstrip())
        for line in section.lines:
            console.print(f"  {line}")


def diff(args: argparse.Namespace, console: Console) -> int:
    manager = TmtManager(config=args.config)
    a, b = manager.run(args.a), manager.run(args.b)
    params = _changed(flatten(a.params), flatten(b.params))
    metrics = _changed(flatten(a.metrics), flatten(b.metrics))
    commits = [(a.git or {}).get("commit"), (b.git or {}).get("commit")]
    packages = _changed(a.packages(), b.packages())
    code = tree_diff(a.snapshot_path, b.snapshot_path, a.id[:8], b.id[:8])
    if args.format == "json":
        console.print(
            json_text(
                {
                    "a": a.id,
                    "b": b.id,
                    "params": {k: list(v) for k, v in params.items()},
                    "metrics": {k: list(v) for k, v in metrics.items()},
                    "git_commit": commits,
                    "packages": {k: list(v) for k, v in packages.items()},
                    "code": "\n".join(code),
                },
                indent=2,
                default=str,
            )
        )
        return 0
    s, p = console.style, printable
    console.print(f"{s('a', 'bold')} {p(a.id)}  {p(a.name)}  {fmt.when(a.start_time)}")
    console.print(f"{s('b', 'bold')} {p(b.id)}  {p(b.name)}  {fmt.when(b.start_time)}")
    for title, changes in (("params", params), ("metrics", metrics), ("packages", packages)):
        if changes:
            console.print()
            console.print(s(title, "bold"))
            console.table(
                ["", "a", "b"], [[k, _show(x), _show(y)] for k, (x, y) in changes.items()]
            )
    if commits[0] != commits[1]:
        console.print()
        console.print(
            f"{s('git commit', 'bold')}: {p(commits[0] or '(none)')} -> {p(commits[1] or '(none)')}"
        )
    console.print()
    if not code:
        console.print(s("code: no differences", "bold"))
    for line in (safe for raw in code for safe in printable_lines(raw)):
        style: tuple[str, ...] = ()
        if line.startswith(("+++", "---")):
            style = ("bold",)
        elif line.startswith("+"):
            style = ("green",)
        elif line.startswith("-"):
            style = ("red",)
        elif line.startswith("@@"):
            style = ("cyan",)
        console.print(s(line, *style))
    return 0


def compare(args: argparse.Namespace, console: Console) -> int:
    manager = TmtManager(config=args.config)
    if not args.refs and not args.where:
        raise UsageError("tmt compare: name the runs (REF...) or select them with --where")
    if args.refs:
        entries = list({e.id: e for e in (manager.run(r) for r in args.refs)}.values())
        entries = select(entries, args.where)
    else:
        entries = manager.runs(where=args.where)
    if len(entries) < 2:
        found = "no runs match" if not entries else f"only {entries[0].id} matches"
        if not args.where:
            raise UsageError("tmt compare: give two runs or more (tmt show shows one)")
        raise LookupError(f"{found} --where: compare needs two runs or more")
    rows = cells.compare(entries)
    if args.format == "json":
        console.print(
            json_text(
                {
                    "runs": [e.id for e in entries],
                    "rows": [{"key": k, "values": v, "differs": d} for k, v, d in rows],
                },
                indent=2,
                default=str,
            )
        )
        return 0
    shown = [r for r in rows if r[2] or args.all]
    headers = ["", *(f"{e.id[:8]} {e.name}" for e in entries)]
    lines, styles = [], []
    for key, values, differs in shown:
        label = key if console.color or not differs else f"* {key}"
        lines.append([label, *(_show(v) for v in values)])
        styles.append(
            [("bold",) if differs else ()] + [("yellow",) if differs else ()] * len(values)
        )
    if not shown:
        console.message("tmt: the runs' params and metrics are the same (--all shows them)")
        return 0
    # Every run is shown: at a terminal too narrow for them side by side, in blocks of runs.
    console.table(headers, lines, styles, wrap=True)
    return 0


def _changed(a: dict[str, Any], b: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    keys = sorted(set(a) | set(b))
    return {k: (a.get(k), b.get(k)) for k in keys if not cells.same(a.get(k), b.get(k))}


def _show(value: Any) -> str:
    return "" if value is None else fmt.value(value)
