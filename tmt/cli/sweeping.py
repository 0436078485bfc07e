"""``tmt sweep start|join|list|show``: hyperparameter sweeps, on Optuna."""

from __future__ import annotations

import time

from .. import TmtManager
from .. import display as fmt
from ..display import json_text
from . import UsageError
from .options import add_output_options

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from .console import Console


def register(commands: Any) -> None:
    sweep = commands.add_parser(
        "sweep",
        help="hyperparameter sweeps, with early stopping (needs [sweep]: Optuna)",
        description=(
            "Hyperparameter sweeps: each trial runs a script with sampled values as flags "
            "(--lr 0.0031) and is an ordinary recorded run; Optuna samples, prunes, and shares "
            "a sweep among processes and nodes."
        ),
    )
    actions = sweep.add_subparsers(dest="action", metavar="ACTION", required=True)

    p = actions.add_parser(
        "start",
        help="start a sweep and run its trials",
        description="Start a sweep of the configuration (ML Tracking Ops's experiment_cfg.json) "
        "in this folder and run its trials until max_runs are done, printing a line as each ends.",
    )
    p.add_argument(
        "file",
        nargs="?",
        default="experiment_cfg.json",
        metavar="CONFIG",
        help="the sweep's configuration (default: experiment_cfg.json)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="trials at a time (0: make the sweep, run none, for others to join)",
    )
    p.add_argument(
        "--storage",
        metavar="URL",
        help="where Optuna keeps the study: a database URL or a journal file "
        "(default: a journal file in the sweep's folder of the store)",
    )
    p.set_defaults(handler=start)

    p = actions.add_parser(
        "join",
        help="run more trials of a sweep",
        description="Run trials of a sweep started earlier, here or on another node that shares "
        "its storage, until it has max_runs.",
    )
    p.add_argument("id", metavar="ID", help="the sweep (its id, or the start of it)")
    p.add_argument("--workers", type=int, default=1, metavar="N", help="trials at a time")
    p.set_defaults(handler=join)

    p = actions.add_parser("list", help="the sweeps", description="The sweeps of the store.")
    add_output_options(p, "table", "json")
    p.set_defaults(handler=list_sweeps)

    p = actions.add_parser(
        "show",
        help="a sweep's trials, best first",
        description="A sweep's configuration and every trial, best first: its run, sampled "
        "values, status, best value of the metric, and the step it stopped at.",
    )
    p.add_argument("id", metavar="ID", help="the sweep")
    add_output_options(p, "text", "json")
    p.set_defaults(handler=show)


def start(args: argparse.Namespace, console: Console) -> int:
    if args.workers < 0:
        raise UsageError(f"tmt sweep start: --workers must be 0 or more, got {args.workers}")
    sweep = TmtManager.start_sweep(args.file, args.storage, args.config)
    console.print(sweep.id)
    console.message(f"tmt sweep: started sweep {sweep.id}; more workers: tmt sweep join {sweep.id}")
    return _run(sweep, args.workers, console) if args.workers else 0


def join(args: argparse.Namespace, console: Console) -> int:
    sweep = TmtManager(config=args.config).sweep(args.id)
    console.message(f"tmt sweep: joined sweep {sweep.id}")
    return _run(sweep, args.workers, console)


def _run(sweep: Any, workers: int, console: Console) -> int:
    metric = sweep.config.metric

    def said(outcome: dict[str, Any]) -> None:
        value = outcome["value"]
        got = f", {metric} {fmt.value(value)}" if metric and value is not None else ""
        why = f" ({outcome['why']})" if outcome.get("why") else ""
        run = (
            f"{why}, run {outcome['run']}"
            if outcome["run"]
            else (
                f", no run recorded (exit status {outcome['returncode']}: does the script record "
                "one with @tmt_recorder, and take every hyperparameter as a flag?)"
            )
        )
        console.message(
            f"trial {outcome['trial']} {outcome['status']}{got}{run}: {_progress(sweep, metric)}"
        )

    interrupted = sweep.run(workers, said)
    if interrupted:
        console.message(f"tmt sweep: stopped; go on with: tmt sweep join {sweep.id}")
        return 130
    console.message(f"tmt sweep: sweep {sweep.id} done: {_progress(sweep, metric)}")
    return 0


def _progress(sweep: Any, metric: str | None) -> str:
    p = sweep.progress()
    line = (
        f"{p['done']}/{p['limit']} done, {p['running']} running, {p['pruned']} early-stopped, "
        f"{p['failed']} failed"
    )
    best = p["best"]
    if best is not None and metric:
        line += f"; best {metric} {fmt.value(best['value'])} (trial {best['trial']})"
    return line


def list_sweeps(args: argparse.Namespace, console: Console) -> int:
    sweeps = TmtManager(config=args.config).sweeps()
    if args.format == "json":
        console.print(json_text([s.to_dict() for s in sweeps], indent=2))
        return 0
    if not sweeps:
        console.message("tmt sweep: no sweeps here (tmt sweep start begins one)")
        return 0
    rows = []
    for s in sweeps:
        p = s.progress()
        best = p["best"]
        goal = f"{s.config.goal} {s.config.metric}" if s.config.metric else ""
        rows.append(
            [
                s.id,
                time.strftime("%Y-%m-%d %H:%M", time.localtime(s.created)),
                " ".join(s.config.command),
                f"{p['done']}/{p['limit']}",
                str(p["pruned"]),
                goal,
                fmt.value(best["value"]) if best else "",
            ]
        )
    headers = ["id", "started", "command", "done", "early-stopped", "goal", "best"]
    console.table(headers, rows, right=[False, False, False, True, True, False, True])
    return 0


def show(args: argparse.Namespace, console: Console) -> int:
    sweep = TmtManager(config=args.config).sweep(args.id)
    if args.format == "json":
        console.print(json_text(sweep.to_dict(), indent=2))
        return 0
    config = sweep.config
    console.print(console.style(f"sweep {sweep.id}", "bold"))
    console.print(f"command: {' '.join(config.command)}  (in {sweep.cwd})")
    for p in config.hyperparameters:
        shown = p.candidates if p.kind == "choice" else f"{p.low} .. {p.high}"
        console.print(f"  {p.name}: {p.kind} {shown}")
    goal = f"{config.goal} {config.metric}" if config.metric else "nothing (sampling only)"
    stopping = f"{config.pruner} (patience {config.patience})" if config.early_stopping else "off"
    console.print(f"optimises: {goal}; sampler: {config.sampler}; early stopping: {stopping}")
    console.print(f"progress: {_progress(sweep, config.metric)}")
    rows = sweep.rows()
    if not rows:
        return 0
    names = [p.name for p in config.hyperparameters]
    table = []
    for row in rows:
        value = fmt.value(row["value"]) if row["value"] is not None else ""
        stopped = "" if row["stopped_at"] is None else str(row["stopped_at"])
        table.append(
            [
                ("* " if row["best"] else "") + str(row["trial"]),
                row["run"] or "",
                row["status"],
                value,
                stopped,
                *(fmt.value(row["params"].get(n, "")) for n in names),
            ]
        )
    console.print()
    headers = ["trial", "run", "status", config.metric or "value", "stopped at", *names]
    console.table(headers, table)
    best = next((r for r in rows if r["best"]), None)
    if best is not None:
        console.print(f"best: trial {best['trial']}, run {best['run']} (tmt show {best['run']})")
    return 0
