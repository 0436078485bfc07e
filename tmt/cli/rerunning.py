"""``tmt rerun``: run a recorded run's command again, with the code of its snapshot."""

from __future__ import annotations

import math

from .. import TmtManager
from .. import display as fmt
from . import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from .console import Console


def register(commands: Any) -> None:
    p = commands.add_parser(
        "rerun",
        help="run a run's command again, with its code",
        description=(
            "Run the command that recorded a run again, from the same folder of the project, "
            "with the code of the run's snapshot (copied to a scratch folder, removed after), "
            "into the same store: the new run says which run it repeats (rerun_of). The exit "
            "status is the command's."
        ),
    )
    p.add_argument("ref", help="the run")
    p.add_argument(
        "overrides",
        nargs="*",
        metavar="NAME=VALUE",
        help="a new value for a flag of the command: lr=0.2 replaces the value of --lr, or "
        "adds --lr 0.2 if the run's argparse parser has it; switches take true or false",
    )
    p.add_argument(
        "--current-code",
        action="store_true",
        help="run the code of the working tree, not the run's snapshot",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="print the command and its folder; run nothing"
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="compare the new run's metrics with the run's, side by side; exit 1 if any differs",
    )
    p.add_argument(
        "--rtol",
        type=float,
        default=None,
        metavar="X",
        help="the relative difference --check allows (default: 0, exactly equal)",
    )
    p.add_argument(
        "--python", metavar="PATH", help="the interpreter to run it with (default: tmt's own)"
    )
    p.set_defaults(handler=rerun)


def rerun(args: argparse.Namespace, console: Console) -> int:
    overrides = _overrides(args.overrides)
    if args.rtol is not None and not args.check:
        raise UsageError("tmt rerun: --rtol is the tolerance of --check; give --check too")
    rtol = 0.0 if args.rtol is None else args.rtol
    if not math.isfinite(rtol) or rtol < 0:
        raise UsageError(f"tmt rerun: --rtol must be a number of 0 or more, got {args.rtol}")
    manager = TmtManager(config=args.config)
    plan = manager.rerun_plan(
        args.ref, overrides, current_code=args.current_code, python=args.python
    )
    original = plan.original
    for note in plan.notes:
        console.message(f"tmt rerun: note: {note}")
    if args.dry_run:
        for line in plan.describe():
            console.print(line)
        return 0
    code = "the working tree's code" if args.current_code else "its code snapshot"
    console.message(f"tmt rerun: run {original.id} ({original.name}) again, with {code}:")
    console.message(f"  {plan.shell}")
    result = plan.execute(manager.run)
    status = result.returncode if result.returncode >= 0 else 128 - result.returncode
    new = result.run
    if new is None:
        console.message(
            f"tmt rerun: the command exited with status {status} and recorded no run of "
            f"{original.name!r}"
        )
        return status or 1
    console.message(f"tmt rerun: recorded run {new.id} ({new.status}), a rerun of {original.id}")
    if not args.check:
        return status
    if status != 0:
        console.message(f"tmt rerun: the command failed (exit status {status}): not checked")
        return status
    return _check(console, result.check(rtol), original.id, new.id, rtol)


def _overrides(words: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for word in words:
        name, eq, value = word.partition("=")
        if not eq or not name.strip("-"):
            raise UsageError(f"tmt rerun: {word!r} is not NAME=VALUE (a flag and its new value)")
        if name in found:
            raise UsageError(f"tmt rerun: {name} is given twice")
        found[name] = value
    return found


def _check(
    console: Console, rows: list[tuple[str, Any, Any, bool]], before: str, after: str, rtol: float
) -> int:
    if not rows:
        console.message(f"tmt rerun: run {before} has no metrics to compare")
        return 0
    table = []
    styles = []
    for name, a, b, same in rows:
        verdict = "same" if same else f"differs{_by(a, b)}"
        table.append([name, _shown(a), _shown(b), verdict])
        mark: tuple[str, ...] = () if same else ("red", "bold")
        styles.append([(), (), (), mark])
    console.table(["metric", f"run {before}", f"rerun {after}", ""], table, styles)
    differ = sum(1 for *_, same in rows if not same)
    allowed = "exactly" if rtol == 0 else f"within rtol {rtol:g}"
    if differ:
        console.message(f"tmt rerun: {differ} of {len(rows)} metrics differ ({allowed})")
        return 1
    console.message(f"tmt rerun: all {len(rows)} metrics reproduced ({allowed})")
    return 0


def _shown(value: Any) -> str:
    """A value in full: a float to the last digit that tells it apart."""
    return repr(value) if isinstance(value, float) else fmt.value(value)


def _by(a: Any, b: Any) -> str:
    numbers = (int, float)
    if type(a) not in numbers or type(b) not in numbers or math.isnan(a) or math.isnan(b):
        return ""
    if math.isinf(a) or math.isinf(b):
        return ""
    relative = f", {abs(b - a) / abs(a):.1e} relative" if a else ""
    return f" by {b - a:+.3g}{relative}"
