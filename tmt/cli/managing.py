"""``tmt tag``, ``untag``, ``note``, ``rm``, ``gc`` and ``restore``: changing the store."""

from __future__ import annotations

import sys

from .. import TmtManager
from .. import display as fmt

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from .console import Console


def register(commands: Any) -> None:
    p = commands.add_parser("tag", help="add tags to a run", description="Add tags to a run.")
    p.add_argument("ref", help="the run")
    p.add_argument("tags", nargs="+", metavar="TAG", help="the tags to add")
    p.set_defaults(handler=tag)

    p = commands.add_parser(
        "untag", help="remove tags from a run", description="Remove tags from a run."
    )
    p.add_argument("ref", help="the run")
    p.add_argument("tags", nargs="+", metavar="TAG", help="the tags to remove")
    p.set_defaults(handler=untag)

    p = commands.add_parser(
        "note",
        help="attach a note to a run",
        description="Attach a note to a run, replacing any earlier one.",
    )
    p.add_argument("ref", help="the run")
    p.add_argument("text", help="the note")
    p.set_defaults(handler=note)

    p = commands.add_parser(
        "rm",
        help="delete runs",
        description=(
            "Delete runs: their records, output, results, and the code snapshot data no other run "
            "shares. Asks first on a terminal; elsewhere --yes is required."
        ),
    )
    p.add_argument("refs", nargs="+", metavar="REF", help="the runs to delete")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask")
    p.add_argument("--force", action="store_true", help="also delete runs still running")
    p.set_defaults(handler=remove)

    p = commands.add_parser(
        "gc",
        help="remove what no run refers to",
        description=(
            "Remove the results, snapshot data and package lists no run refers to any more, and "
            "report the space freed."
        ),
    )
    p.set_defaults(handler=collect)

    p = commands.add_parser(
        "restore",
        help="copy a run's code snapshot to a folder",
        description="Copy a run's code snapshot to a new folder, writable, to rerun or inspect it.",
    )
    p.add_argument("ref", help="the run")
    p.add_argument("dest", help="the folder to create")
    p.set_defaults(handler=restore)


def tag(args: argparse.Namespace, console: Console) -> int:
    tags = TmtManager(config=args.config).tag(args.ref, *args.tags)
    console.message(f"tags: {', '.join(tags) or '(none)'}")
    return 0


def untag(args: argparse.Namespace, console: Console) -> int:
    tags = TmtManager(config=args.config).untag(args.ref, *args.tags)
    console.message(f"tags: {', '.join(tags) or '(none)'}")
    return 0


def note(args: argparse.Namespace, console: Console) -> int:
    TmtManager(config=args.config).note(args.ref, args.text)
    return 0


def remove(args: argparse.Namespace, console: Console) -> int:
    manager = TmtManager(config=args.config)
    entries = list({e.id: e for e in (manager.run(r) for r in args.refs)}.values())
    if not args.yes:
        if not (sys.stdin.isatty() and console.tty):
            raise RuntimeError("refusing to delete without --yes when not on a terminal")
        for e in entries:
            console.message(f"  {e.id}  {e.name}  {e.status}  {fmt.when(e.start_time)}")
        console.err.write(f"Delete {len(entries)} run(s)? [y/N] ")
        console.err.flush()
        if input().strip().lower() not in ("y", "yes"):
            console.message("nothing deleted")
            return 1
    freed = manager.delete([e.id for e in entries], force=args.force)
    console.message(f"deleted {len(entries)} run(s), freed {fmt.size(freed)}")
    return 0


def collect(args: argparse.Namespace, console: Console) -> int:
    freed = TmtManager(config=args.config).collect_garbage()
    console.message(f"freed {fmt.size(freed)}")
    return 0


def restore(args: argparse.Namespace, console: Console) -> int:
    count = TmtManager(config=args.config).restore(args.ref, args.dest)
    console.message(f"restored {count} files to {args.dest}")
    return 0
