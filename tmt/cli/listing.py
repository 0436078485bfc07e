"""``tmt list``, ``tmt export`` and ``tmt timeline``: many runs at once."""

from __future__ import annotations

import argparse
import csv
import json
import re

from .. import TmtManager
from .. import display as fmt
from ..cells import FACTS, cell, numeric, ordered, shown, shown_duration
from ..display import STATUS_COLOURS, json_text, printable
from ..errors import UnknownFieldError
from ..fields import Fields
from ..query import select
from ..record import STATUSES
from ..textchart import line_chart
from .options import add_output_options

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..entry import Entry
    from .console import Console


def register(commands: Any) -> None:
    p = commands.add_parser(
        "list",
        help="list runs, newest first",
        description=(
            "List runs, newest first: id, name, status, start, duration and the main metrics."
        ),
    )
    add_filters(p)
    p.add_argument(
        "--sort",
        metavar="FIELD",
        help="order by a metric or parameter (highest first; finished runs ranked before "
        "the others), or by name, started, duration",
    )
    p.add_argument("--asc", action="store_true", help="with --sort: lowest first")
    p.add_argument("--limit", type=_count, metavar="N", help="show at most N runs")
    p.add_argument(
        "--columns",
        metavar="A,B,...",
        help="the metrics and parameters to show (default: the main metrics, then the "
        "parameters that vary among the runs listed)",
    )
    add_output_options(p, "table", "json", "csv")
    p.set_defaults(handler=list_runs)

    p = commands.add_parser(
        "export",
        help="runs for other tools: a CSV or JSON table, TensorBoard, MLflow",
        description="Write runs for other tools: as a table (one row a run, params.* and "
        "metrics.* columns, newest first), as TensorBoard event files (a folder a run, in "
        "DIR), or as MLflow runs.",
    )
    p.add_argument(
        "dir", nargs="?", metavar="DIR", help="with --format tensorboard: the folder to write"
    )
    add_filters(p)
    add_output_options(p, "csv", "json", "tensorboard", "mlflow")
    p.add_argument(
        "--tracking-uri",
        metavar="URI",
        help="with --format mlflow: the tracking server or database (default: MLflow's, "
        "$MLFLOW_TRACKING_URI or ./mlflow.db)",
    )
    p.add_argument(
        "--experiment",
        metavar="NAME",
        help="with --format mlflow: the MLflow experiment (default: one a run name)",
    )
    p.set_defaults(handler=export)

    p = commands.add_parser(
        "timeline",
        help="how a metric evolved across an experiment's runs",
        description="A metric across the runs of an experiment, oldest "
        "first, as a table and a chart: the metric timeline.",
    )
    p.add_argument("name", help="the experiment's name")
    p.add_argument("--metric", "-m", help="the metric (default: the experiment's most common)")
    p.add_argument(
        "--status",
        action="append",
        choices=[*STATUSES, "all"],
        help="runs with this status (repeatable; default: finished; all: every run)",
    )
    add_where(p)
    add_output_options(p, "table", "json")
    p.set_defaults(handler=timeline)


def add_filters(parser: argparse.ArgumentParser) -> None:
    """The options every command that lists runs shares."""
    parser.add_argument("--name", help="names containing this text, or matching this regex")
    parser.add_argument("--since", help="started at or after: 2026-11-01, yesterday, 3d, 12h")
    parser.add_argument("--until", help="started at or before (same forms as --since)")
    parser.add_argument(
        "--status",
        action="append",
        choices=STATUSES,
        help="only runs with this status (repeat for several)",
    )
    parser.add_argument("--tag", action="append", help="only runs with this tag (repeatable)")
    add_where(parser)


def add_where(parser: argparse.ArgumentParser) -> None:
    """``--where``: the terminal app's query language on the command line."""
    parser.add_argument(
        "--where",
        metavar="EXPR",
        help="only runs matching this query: 'lr=0.3 acc>0.9 status:finished tag:x' "
        "(every term must hold; parameters by full or leaf name)",
    )


def manager_for(args: argparse.Namespace) -> TmtManager:
    return TmtManager(config=args.config)


def name_pattern(args: argparse.Namespace) -> re.Pattern[str] | None:
    """``--name``: a regular expression, or the text itself if it is not one."""
    if not args.name:
        return None
    try:
        return re.compile(args.name)
    except re.error:
        return re.compile(re.escape(args.name))


def filtered(
    args: argparse.Namespace, manager: TmtManager | None = None, limit: int | None = None
) -> list[Entry]:
    """The runs the filter options select, newest first (the newest ``limit`` of them)."""
    manager = manager or manager_for(args)
    return manager.runs(
        name=name_pattern(args),
        since=args.since,
        until=args.until,
        status=args.status,
        tags=args.tag,
        where=args.where,
        limit=limit,
    )


def run_json(entry: Entry) -> dict[str, Any]:
    """A run as JSON with stable keys (metric and parameter values as stored)."""
    record = entry.to_dict()
    return {
        "id": entry.id,
        "name": entry.name,
        "status": entry.status,
        "description": entry.description,
        "started": record.get("started"),
        "ended": record.get("ended"),
        "start_time": entry.start_time,
        "end_time": entry.end_time,
        "duration": entry.duration,
        "tags": entry.tags,
        "note": entry.note,
        "parent": entry.parent,
        "rerun_of": entry.rerun_of,
        "sweep": entry.sweep,
        "params": record.get("params") or {},
        "metrics": record.get("metrics") or {},
        "series": record.get("series") or [],
        "elapsed": entry.elapsed,
        # What a run that has not ended got to: the last value logged of each series.
        "last_logged": None
        if not entry.unended
        else {
            name: {"step": step, "value": value, "time": when}
            for name, (step, value, when) in entry.latest().items()
        },
    }


def list_runs(args: argparse.Namespace, console: Console) -> int:
    manager = manager_for(args)
    sort_key = None
    if args.sort:  # every run selected is needed to sort them
        entries = filtered(args, manager)
        if entries:  # names are checked against the runs there are (none: nothing)
            sort_key = (
                args.sort if args.sort in FACTS else manager.fields(entries).resolve(args.sort)
            )
            entries = ordered(entries, sort_key, highest_first=not args.asc)
        entries = entries[: args.limit]
    else:  # the newest: only those are read
        entries = filtered(args, manager, args.limit)
    fields = Fields(entries, live=True)  # the columns are those of the runs shown
    keys: list[str] | None = None
    if entries and args.columns is not None:
        names = [n.strip() for n in args.columns.split(",") if n.strip()]
        keys = list(dict.fromkeys(_resolve(name, fields, args, manager) for name in names))
    if args.format == "json":
        console.print(json_text([run_json(e) for e in entries], indent=2))
        return 0
    if args.format == "csv":
        write_csv(console, table_rows(entries))
        return 0
    if not entries:
        console.message("tmt: no runs" + (" match" if _any_filter(args) else " recorded here"))
        return 0
    if keys is None:
        keys = fields.columns(entries)
        if sort_key in fields.cells:
            keys = [sort_key, *(k for k in keys if k != sort_key)]
    headers = ["id", "name", "status", "started", "duration", *(fields.short(k) for k in keys)]
    rows, styles = [], []
    for e in entries:
        rows.append(
            [
                e.id[:8],
                e.name,
                e.status,
                fmt.when(e.start_time),
                shown_duration(e),
                *(shown(e, k) for k in keys),
            ]
        )
        if console.color:
            status_style = (STATUS_COLOURS.get(e.status, ""),)
            styles.append([("dim",), ("bold",), status_style, (), (), *(() for _ in keys)])
    right = [False] * 4 + [True] + [k.startswith("metrics.") for k in keys]
    console.table(headers, rows, styles or None, right=right, hint="--columns, --json or --csv")
    return 0


def export(args: argparse.Namespace, console: Console) -> int:
    from . import UsageError

    if args.format == "tensorboard" and not args.dir:
        raise UsageError("tmt export: --format tensorboard needs DIR, the folder to write")
    if args.dir and args.format != "tensorboard":
        raise UsageError(f"tmt export: DIR is for --format tensorboard, not {args.format}")
    mlflow_only = [o for o, v in (("--tracking-uri", args.tracking_uri), ("--experiment",
                   args.experiment)) if v is not None]  # fmt: skip
    if mlflow_only and args.format != "mlflow":
        raise UsageError(f"tmt export: {mlflow_only[0]} is for --format mlflow")
    if args.format == "tensorboard":
        manager = manager_for(args)
        entries = filtered(args, manager)
        written = manager.to_tensorboard(args.dir, runs=entries)
        console.print(
            f"tmt export: {fmt.counted(len(written), 'run')} written to {args.dir} "
            f"(tensorboard --logdir {args.dir})"
        )
        return 0
    if args.format == "mlflow":
        import logging

        for noisy in ("mlflow", "alembic"):  # "Creating initial MLflow database tables..."
            logging.getLogger(noisy).setLevel(logging.WARNING)
        manager = manager_for(args)
        entries = filtered(args, manager)
        counts = manager.to_mlflow(args.tracking_uri, args.experiment, runs=entries)
        console.print(
            f"tmt export: {counts['created']} MLflow runs created, {counts['replaced']} "
            f"replaced (changed since: still running then, or tagged or noted), "
            f"{counts['unchanged']} exported before"
        )
        return 0
    rows = table_rows(filtered(args))
    if args.format == "json":
        console.print(json_text(rows, indent=2))
    else:
        write_csv(console, rows)
    return 0


def table_rows(entries: list[Entry]) -> list[dict[str, Any]]:
    """One row a run, for other tools: its facts, then ``params.*`` and ``metrics.*`` as
    stored (markers such as ``{"$float": "nan"}`` kept, so the values are exact)."""
    rows = []
    for e in entries:
        record = e.to_dict()
        row = {
            "id": e.id,
            "name": e.name,
            "status": e.status,
            "started": record.get("started"),
            "duration": e.duration,
            "tags": ",".join(e.tags),
            "note": e.note,
        }
        row.update(e.stored_cells())
        rows.append(row)
    return rows


def write_csv(console: Console, rows: list[dict[str, Any]]) -> None:
    """``rows`` as CSV, with a column for every key any row has."""
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    # Piped, the CSV is exact; on a terminal, its text is shown escaped like any other.
    cell = printable if console.tty else (lambda text: text)
    writer = csv.DictWriter(console.out, fieldnames=[cell(c) for c in columns], lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                cell(k): cell(json.dumps(v) if isinstance(v, (dict, list)) else v)
                if isinstance(v, (dict, list, str))
                else v
                for k, v in row.items()
            }
        )


def timeline(args: argparse.Namespace, console: Console) -> int:
    manager = manager_for(args)
    statuses = args.status or ["finished"]
    every = list(reversed(manager.runs(name=args.name)))
    if not every:
        raise LookupError(f"no runs of an experiment named {args.name!r}")
    entries = [e for e in every if "all" in statuses or e.status in statuses]
    entries = select(entries, args.where)
    if not entries:
        wanted = " or ".join(statuses)
        why = (
            f"none of the {len(every)} runs of {args.name!r} is {wanted}"
            + (" and matches --where" if args.where else "")
            + " (--status all shows every run)"
        )
        if args.format != "json":
            raise LookupError(why)
        console.message(f"tmt: {why}")
        console.print("[]")
        return 0
    fields = Fields(entries, live=True)
    if args.metric:
        key = fields.resolve(args.metric)
    else:
        common = fields.columns(entries)
        key = next((k for k in common if k.startswith("metrics.")), "")
        if not key:
            raise LookupError(f"the runs of {args.name!r} have no metrics")
    metric = fields.short(key)
    points = [(e, numeric(cell(e, key))) for e in entries]
    if args.format == "json":
        console.print(
            json_text(
                [
                    {
                        "id": e.id,
                        "started": e.to_dict().get("started"),
                        "status": e.status,
                        "value": v,
                    }
                    for e, v in points
                ],
                indent=2,
            )
        )
        return 0
    title = f"{printable(args.name)}: {printable(metric)} across {len(entries)} runs"
    left_out = len(every) - len(entries)
    if left_out:
        by = "--status and --where" if args.where else "--status"
        title += f" ({left_out} other runs left out by {by}; --status all shows every status)"
    console.print(console.style(title, "bold"))
    rows = [
        [str(i), e.id[:8], fmt.when(e.start_time), e.status, shown(e, key)]
        for i, (e, _) in enumerate(points)
    ]
    console.table(
        ["#", "id", "started", "status", metric], rows, right=[True, False, False, False, True]
    )
    xs = [i for i, (_, v) in enumerate(points) if v is not None]
    ys = [v for _, v in points if v is not None]
    if len(ys) >= 2:
        console.print()
        for line in line_chart(xs, ys, width=min(console.width or 80, 100), height=12):
            console.print(line)
        console.print(" " * 4 + "(x: run number, oldest first)")
    return 0


def _resolve(name: str, shown: Fields, args: argparse.Namespace, manager: TmtManager) -> str:
    """What ``name`` means among the runs shown, or else among all the runs selected."""
    try:
        return shown.resolve(name)
    except UnknownFieldError:
        return manager.fields(filtered(args, manager)).resolve(name)


def _count(text: str) -> int:
    """A number of runs: a whole number, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of runs (0 or more)")
    return value


def _any_filter(args: argparse.Namespace) -> bool:
    keys = ("name", "since", "until", "status", "tag", "where", "limit")
    return any(getattr(args, k, None) for k in keys)
