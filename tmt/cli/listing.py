"""``tmt list``, ``tmt export`` and ``tmt timeline``: many runs at once."""

from __future__ import annotations

import csv
import json
import re

from .. import TmtManager
from .. import display as fmt
from ..cells import by_metric, flatten, main_metrics, number
from ..display import STATUS_COLOURS, json_text, printable
from ..record import STATUSES
from ..textchart import line_chart
from .options import add_output_options

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
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
    p.add_argument("--sort", metavar="METRIC", help="order by this metric (highest first)")
    p.add_argument("--asc", action="store_true", help="with --sort: lowest first")
    p.add_argument("--limit", type=int, metavar="N", help="show at most N runs")
    add_output_options(p, "table", "json", "csv")
    p.set_defaults(handler=list_runs)

    p = commands.add_parser(
        "export",
        help="runs as a CSV or JSON table for other tools",
        description="Write runs as a table: one row a run, params.* and "
        "metrics.* columns, newest first.",
    )
    add_filters(p)
    add_output_options(p, "csv", "json")
    p.set_defaults(handler=export)

    p = commands.add_parser(
        "timeline",
        help="how a metric evolved across an experiment's runs",
        description="A metric across the runs of an experiment, oldest "
        "first, as a table and a chart: the metric timeline.",
    )
    p.add_argument("name", help="the experiment's name")
    p.add_argument("--metric", "-m", help="the metric (default: the experiment's most common)")
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


def manager_for(args: argparse.Namespace) -> TmtManager:
    return TmtManager(config=args.config)


def filtered(args: argparse.Namespace, manager: TmtManager | None = None) -> list[Entry]:
    """The runs the filter options select, newest first."""
    manager = manager or manager_for(args)
    name = None
    if args.name:
        try:
            name = re.compile(args.name)
        except re.error:
            name = re.compile(re.escape(args.name))
    return manager.runs(
        name=name, since=args.since, until=args.until, status=args.status, tags=args.tag
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
        "params": record.get("params") or {},
        "metrics": record.get("metrics") or {},
        "series": record.get("series") or [],
    }


def list_runs(args: argparse.Namespace, console: Console) -> int:
    entries = filtered(args)
    if args.sort:
        entries = by_metric(entries, args.sort, highest_first=not args.asc)
    if args.limit is not None:
        entries = entries[: max(0, args.limit)]
    if args.format == "json":
        console.print(json_text([run_json(e) for e in entries], indent=2))
        return 0
    if args.format == "csv":
        write_csv(console, table_rows(entries))
        return 0
    if not entries:
        console.message("tmt: no runs" + (" match" if _any_filter(args) else " recorded here"))
        return 0
    metrics = main_metrics(entries)
    if args.sort and args.sort in metrics:
        metrics.remove(args.sort)
        metrics.insert(0, args.sort)
    headers = ["id", "name", "status", "started", "duration", *metrics]
    rows, styles = [], []
    for e in entries:
        rows.append(
            [
                e.id[:8],
                e.name,
                e.status,
                fmt.when(e.start_time),
                fmt.duration(e.duration),
                *(fmt.value(e.metrics[m]) if m in e.metrics else "" for m in metrics),
            ]
        )
        status_style = (STATUS_COLOURS.get(e.status, ""),)
        styles.append([("dim",), ("bold",), status_style, (), (), *(() for _ in metrics)])
    console.table(headers, rows, styles, right=[False] * 4 + [True] * (1 + len(metrics)))
    return 0


def export(args: argparse.Namespace, console: Console) -> int:
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
        row.update({f"params.{k}": v for k, v in flatten(record.get("params") or {}).items()})
        row.update({f"metrics.{k}": v for k, v in flatten(record.get("metrics") or {}).items()})
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
    entries = list(reversed(manager.runs(name=args.name)))
    if not entries:
        raise LookupError(f"no runs of an experiment named {args.name!r}")
    metric = args.metric or next(iter(main_metrics(entries, 1)), None)
    if metric is None:
        raise LookupError(f"the runs of {args.name!r} have no metrics")
    points = [(e, number(e.metrics.get(metric))) for e in entries]
    if args.format == "json":
        console.print(
            json_text(
                [
                    {"id": e.id, "started": e.to_dict().get("started"), "value": v}
                    for e, v in points
                ],
                indent=2,
            )
        )
        return 0
    title = f"{printable(args.name)}: {printable(metric)} across {len(entries)} runs"
    console.print(console.style(title, "bold"))
    rows = [
        [str(i), e.id[:8], fmt.when(e.start_time), e.status, "" if v is None else fmt.value(v)]
        for i, (e, v) in enumerate(points)
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


def _any_filter(args: argparse.Namespace) -> bool:
    return any(getattr(args, k, None) for k in ("name", "since", "until", "status", "tag"))
