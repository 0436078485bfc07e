"""``tmt pull`` and ``tmt push``: runs from another store into this one, and back."""

from __future__ import annotations

import time

from .. import display as fmt
from .listing import add_filters, manager_for, name_pattern

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from .console import Console

_WHERE = (
    "a project folder or its store (.tmt) on this machine, or [user@]host:path over ssh "
    "(set TMT_SSH for ssh's options, e.g. 'ssh -p 2222')"
)


def register(commands: Any) -> None:
    for name, verb, what, into in (
        ("pull", "copy runs from", "SRC", "Copy into this project's store the runs of SRC"),
        ("push", "copy runs to", "DEST", "Copy into DEST the runs of this project's store"),
    ):
        p = commands.add_parser(
            name,
            help=f"{verb} another store: a folder, or host:path over ssh",
            description=(
                f"{into} that it lacks, or holds an earlier record of (a run that was still "
                "running), with their results, curves, output, package lists and code "
                "snapshots (the code of many runs moves once). Runs keep their ids and record "
                "where they came from; an ended run's record is never replaced, so repeating "
                "it moves only what changed."
            ),
        )
        p.add_argument("store", metavar=what, help=_WHERE)
        add_filters(p)
        p.add_argument(
            "--dry-run", action="store_true", help="list what would be copied; copy nothing"
        )
        p.add_argument(
            "--remote-python",
            metavar="PATH",
            default="python3",
            help="the Python to run on the host (default: python3; 3.7 or later, no tmt needed)",
        )
        p.set_defaults(handler=pull if name == "pull" else push)


def pull(args: argparse.Namespace, console: Console) -> int:
    moved = manager_for(args).pull(args.store, **_options(args, console))
    return _report(console, moved, args, "pull")


def push(args: argparse.Namespace, console: Console) -> int:
    moved = manager_for(args).push(args.store, **_options(args, console))
    return _report(console, moved, args, "push")


def _options(args: argparse.Namespace, console: Console) -> dict[str, Any]:
    return {
        "name": name_pattern(args),
        "since": args.since,
        "until": args.until,
        "status": args.status,
        "tags": args.tag,
        "where": args.where,
        "dry_run": args.dry_run,
        "remote_python": args.remote_python,
        "progress": _bar(console),
    }


def _report(console: Console, moved: Any, args: argparse.Namespace, verb: str) -> int:
    direction = f"from {moved.source}" if verb == "pull" else f"to {moved.dest}"
    if moved.conflicts:
        shown = ", ".join(moved.conflicts[:5]) + (", ..." if len(moved.conflicts) > 5 else "")
        console.message(
            f"tmt {verb}: warning: {fmt.counted(len(moved.conflicts), 'run')} "
            f"left out: the receiving store holds another run by the same id ({shown}): "
            "a different start, host or process"
        )
    if moved.skipped:
        first, why = next(iter(moved.skipped.items()))
        console.message(
            f"tmt {verb}: warning: {fmt.counted(len(moved.skipped), 'run')} left for the next "
            f"transfer: {first}: {why}" + (" (and others)" if len(moved.skipped) > 1 else "")
        )
    if not moved.runs:
        notes = [f"{moved.left_out} left out by the filters"] if moved.left_out else []
        if moved.unreadable:
            notes.append(_unreadable(moved.unreadable))
        why = f" ({'; '.join(notes)})" if notes else ""
        console.print(f"tmt {verb}: nothing to copy {direction}: up to date{why}")
        return 0
    if args.dry_run:
        rows = [
            [e.id, e.name, e.status, what]
            for what, runs in (("new", moved.new), ("updated", moved.updated))
            for e in runs
        ] + [[e.id, e.name, e.status, "tags/note"] for e in moved.annotated]
        console.table(["id", "name", "status", "copied as"], rows)
    parts = []
    if moved.new:
        parts.append(fmt.counted(len(moved.new), "new run"))
    if moved.updated:
        parts.append(f"{len(moved.updated)} updated")
    if moved.annotated:
        parts.append(f"the tags or note of {len(moved.annotated)}")
    said = "would copy" if args.dry_run else "copied"
    sizes = []
    if moved.files:
        sizes.append(f"{fmt.counted(moved.files, 'file')}, {fmt.size(moved.bytes)}")
    if moved.trees:
        sizes.append(
            f"snapshots: {fmt.counted(moved.trees, 'code tree')}, "
            f"{fmt.counted(moved.objects, 'new file')}"
        )
    if moved.unchanged:
        sizes.append(f"{moved.unchanged} already there")
    if moved.left_out:
        sizes.append(f"{moved.left_out} left out by the filters")
    if moved.unreadable:
        sizes.append(_unreadable(moved.unreadable))
    detail = f" ({'; '.join(sizes)})" if sizes else ""
    console.print(f"tmt {verb}: {said} {', '.join(parts)} {direction}{detail}")
    return 0


def _unreadable(ids: list[str]) -> str:
    shown = ", ".join(ids[:3]) + (", ..." if len(ids) > 3 else "")
    return f"{len(ids)} with a record that cannot be read, left: {shown}"


def _bar(console: Console) -> Any:
    """A progress bar on the terminal's stderr for transfers that take a while."""
    err = console.err
    if not getattr(err, "isatty", lambda: False)():
        return None
    started = time.monotonic()
    shown = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if now - started < 1.0 or (now - shown[0] < 0.2 and done < total):
            return
        shown[0] = now
        width = 30
        filled = int(width * done / total) if total > 0 else 0
        bar = f"[{'#' * filled}{'.' * (width - filled)}] {fmt.size(done)} of {fmt.size(total)}"
        err.write(f"\r{bar}\033[K" + ("\n" if done >= total else ""))
        err.flush()

    return progress
