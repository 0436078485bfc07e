"""Everything recorded about one run, as sections of plain text: ``tmt show`` prints them and
the terminal app's run screen lays them out, so the two always show the same things.

All text is safe to show (control characters escaped, see :mod:`tmt.display`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import display
from .cells import flatten
from .command import command_line, why_not

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .entry import Entry, Series

#: How many of the last lines of a run's captured output are shown.
OUTPUT_TAIL = 15


@dataclass
class Section:
    """One part of a run's report.

    ``rows`` are ``(label, value)`` pairs, aligned by whoever shows them; ``lines`` are shown
    as they are (a traceback, captured output). ``series`` holds, for the metrics section, the
    logged values of each metric that has some, for a sparkline or a chart beside it.
    ``numbers`` says its values are numbers, best aligned right; ``alert`` marks a section to
    draw attention to (an error).
    """

    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    series: dict[str, Series] = field(default_factory=dict)
    numbers: bool = False
    alert: bool = False


@dataclass
class Report:
    """A run's heading (name, id, status), the lines under it, the one-line error of a run
    that raised (``""`` if none), then its sections in order."""

    name: str
    id: str
    status: str
    summary: list[str]
    error: str
    sections: list[Section]


def run_report(entry: Entry) -> Report:
    """What is shown of ``entry``, in the order it is shown. Empty sections are left out."""
    p = display.printable
    error = entry.error or {}
    # Either part may be missing from a record (dropped by record.check as the wrong type).
    headline = ": ".join(p(error[k]) for k in ("type", "message") if error.get(k) is not None)
    traceback = (error.get("traceback") or "").rstrip()
    sections = [
        # Why a run failed is what its reader came for: first, before what it was given.
        Section("traceback", lines=_lines(traceback), alert=True),
        Section("params", [(p(k), p(display.value(v))) for k, v in flatten(entry.params).items()]),
        _metrics(entry),
        Section("results", [(p(r.name), p(r.path)) for r in entry.results]),
        Section("code", _code(entry)),
        Section("environment", _environment(entry)),
        *_output(entry),
    ]
    return Report(
        name=p(entry.name),
        id=p(entry.id),
        status=p(entry.status),
        summary=_summary(entry),
        error=headline,
        sections=[s for s in sections if s.rows or s.lines],
    )


def _summary(entry: Entry) -> list[str]:
    p = display.printable
    lines = display.printable_lines(entry.description) if entry.description else []
    for i, line in enumerate(display.printable_lines(entry.note) if entry.note else ()):
        lines.append(f"note: {line}" if i == 0 else f"      {line}")
    if entry.tags:
        lines.append(f"tags: {', '.join(p(t) for t in entry.tags)}")
    ended = f", ended {display.when(entry.end_time)}" if entry.end_time else ""
    took = f" ({display.duration(entry.duration)})" if entry.duration is not None else ""
    if entry.duration is None and entry.status == "running":
        took = f" (running for {display.duration(entry.elapsed)})"
    elif entry.duration is None and entry.elapsed > 0:  # crashed: when it fell silent
        took = f" (last sign of life {display.duration(entry.elapsed)} later)"
    lines.append(f"started {display.when(entry.start_time)}{ended}{took} on {p(entry.host or '?')}")
    if entry.parent:
        lines.append(f"child of {p(entry.parent)}")
    if entry.rerun_of:
        lines.append(f"rerun of {p(entry.rerun_of)}")
    origin = entry.origin
    if origin:
        when = origin.get("pulled")
        lines.append(f"copied from {p(origin['from'])}" + (f" on {p(when)}" if when else ""))
    if entry.sweep:
        trial, sweep = entry.sweep.get("trial"), entry.sweep.get("id")
        lines.append(
            f"trial {p(str(trial))} of sweep {p(str(sweep))} (tmt sweep show {p(str(sweep))})"
        )
    return lines


def _metrics(entry: Entry) -> Section:
    p = display.printable
    logged = entry.all_series()
    metrics = flatten(entry.metrics)
    rows = [(p(k), p(display.value(v))) for k, v in metrics.items()]
    # A series with no final metric (a run still going, or one that crashed): its last value.
    for name, series in logged.items():
        if name not in metrics and series.values:
            last = f"{display.value(series.values[-1])} (step {series.steps[-1]}, logged)"
            rows.append((p(name), p(last)))
    curves = {p(k): v for k, v in logged.items() if v.values}
    return Section("metrics", rows, series=curves, numbers=True)


def _code(entry: Entry) -> list[tuple[str, str]]:
    p = display.printable
    rows = [("snapshot", p(entry.snapshot_path or "(none)"))]
    git = entry.git
    if git:
        state = "dirty" if git.get("dirty") else "clean"
        commit = git.get("commit") or "(no commit)"
        branch = git.get("branch") or "(detached)"
        rows.append(("git", p(f"{commit} on {branch}, {state}")))
        if git.get("diff"):
            rows.append(("uncommitted diff", p(git["diff"])))
    return rows


def _environment(entry: Entry) -> list[tuple[str, str]]:
    p = display.printable
    env = entry.environment
    rows = []
    if env:
        rows += [
            ("python", p(f"{env.get('python', '?')} ({env.get('executable', '?')})")),
            ("platform", p(env.get("platform") or "?")),
            ("user", p(env.get("user") or "?")),
            ("packages", f"{len(entry.packages())} installed"),
        ]
    record = entry.to_dict()
    typed = command_line(record)
    if typed is not None:
        rows.append(("command", p(typed)))
        rows.append(("folder", p(entry.cwd or "?")))
    elif entry.argv:
        rows.append(("command", p(" ".join(entry.argv))))
    if "command" in record:  # recorded by a tmt that knows how to run it again
        reason = why_not(record)
        again = f"tmt rerun {entry.id}" if reason is None else f"not possible: {reason}"
        rows.append(("rerun", p(again)))
    return rows


def rerun_command(entry: Entry) -> str | None:
    """The command that runs ``entry`` again (see ``tmt rerun``); ``None`` if it cannot be."""
    return f"tmt rerun {entry.id}" if cannot_rerun(entry) is None else None


def cannot_rerun(entry: Entry) -> str | None:
    """Why ``entry`` cannot be run again (recorded in a notebook, say), or ``None``."""
    return why_not(entry.to_dict())


def _output(entry: Entry) -> list[Section]:
    sections = []
    for stream in ("stdout", "stderr"):
        text = entry.output(stream).rstrip("\n")
        lines = display.printable_lines(text, overwrite=True) if text else []
        if lines:
            shown = min(OUTPUT_TAIL, len(lines))
            title = f"{stream} (last {shown} of {len(lines)} lines)"
            sections.append(Section(title, lines=lines[-OUTPUT_TAIL:]))
    return sections


def _lines(text: str) -> list[str]:
    return display.printable_lines(text) if text else []
