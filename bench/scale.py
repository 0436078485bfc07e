"""How tmt scales with the store: listing, reading, recording and the TUI from 1,000 runs up.

Grows one store (bench/bigstore.py: realistic records, 100 experiments, plus ``probe``, which
has 100 runs at every size) through each size of ``--sizes``, and at each size measures whole
processes, all in this one run (these machines are noisy; compare ratios, not runs), medians of
``--repeat``:

- ``python -c pass``: the floor of starting Python;
- ``python -c "import json; json.load(open(FILE))"`` on one file holding every record: the
  least a reader of all runs must parse;
- ``tmt list --limit 20``, and with ``--where name=probe``, read from a pipe: target <= 10x
  ``python -c pass`` up to 100,000 runs, <= 20x above;
- ``tmt list`` of every run, read from a pipe: target <= 1x the ``json.load`` of all records;
- in one warm process, ``TmtManager(path=...).runs(name="probe")`` and
  ``.to_dataframe(where="name=probe")`` (if pandas is installed): target flat, <= 2x their
  time at the smallest size (the probe experiment has 100 runs at every size); beside them,
  ``runs()`` of every run;
- recording one run (a recorded no-op call less a bare call, snapshot excluded, median of
  ``--samples``, as in bench/record.py): target <= 5 ms; these runs stay in the store;
- a cold start: ``tmt list --limit 20`` with the cache deleted (the index rebuilt): target
  <= 2x the ``json.load`` of all records;
- up to ``--tui-max`` runs, with tmux: ``tmt_tui``'s first screen (bench/tui.py's method):
  target <= 1000 ms; and the app's resident memory then.

Every tmt process gets ``TMT_CACHE_DIR`` in the bench's temporary folder: the user's own cache
is never read nor written.

Usage: python bench/scale.py [--sizes 1000,10000,100000] [--repeat 5] [--samples 50]
                             [--dir DIR] [--keep] [--tui-max 100000] [--json FILE]
(temporary files go under $TMT_BENCH_DIR if set; 1,000,000 runs take some 6 GB of disk there
and in the store's folder, and minutes to build)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import bigstore  # bench/ is on sys.path: this script's own folder

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"

PASS = "python -c pass"
JSON_LOAD = "json.load all"
LIST_20 = "list --limit 20"
LIST_PROBE = "list --limit 20 --where name=probe"
LIST_ALL = "list (all, piped)"
PROBE_RUNS = "runs(name=probe) warm"
PROBE_FRAME = "to_dataframe(probe) warm"
ALL_RUNS = "runs() all warm"
RECORD = "record one run"
COLD = "cold rebuild"
TUI = "TUI first screen"
#: The columns of the table, in ms, in this order (then the TUI's memory, in MB).
COLUMNS = (
    PASS,
    JSON_LOAD,
    LIST_20,
    LIST_PROBE,
    LIST_ALL,
    PROBE_RUNS,
    PROBE_FRAME,
    ALL_RUNS,
    RECORD,
    COLD,
    TUI,
)

#: The TUI's status line, drawn with its list of runs: "N of M runs".
STATUS = re.compile(r"([\d,]+) of ([\d,]+) runs")

#: Times the reads of one warm process: the manager is made anew each time, as a script would.
WARM_CODE = """
import json, statistics, sys, time
from tmt import TmtManager

path, repeat, count, probes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
found = len(TmtManager(path=path).runs())  # warm: imports, the index opened and brought up to date
if found != count:
    sys.exit(f"runs() found {found} runs, not the {count} in the store")


def timed(call):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


found = len(TmtManager(path=path).runs(name="probe"))
if found != probes:
    sys.exit(f"runs(name='probe') found {found} runs, not {probes}")
try:
    import pandas
except ImportError:
    frame = None
else:
    frame = timed(lambda: TmtManager(path=path).to_dataframe(where="name=probe"))
print(json.dumps({
    "probe": timed(lambda: TmtManager(path=path).runs(name="probe")),
    "frame": frame,
    "all": timed(lambda: TmtManager(path=path).runs()),
}))
"""

#: Times recording in the store of the working folder, with bench/record.py's own function.
RECORD_CODE = """
import sys
sys.path.insert(0, sys.argv[1])
from record import record_overhead
print(record_overhead(int(sys.argv[2])) * 1000)
"""


class BenchError(Exception):
    """A measured command failed: the numbers would mean nothing."""


@dataclass
class Row:
    """What was measured at one store size: milliseconds by column, and the TUI's memory."""

    size: int
    runs: int
    ms: dict[str, float | None] = field(default_factory=dict)
    tui_rss_mb: float | None = None


@dataclass
class Check:
    """One target, as met or missed at one size."""

    label: str
    measured: str
    target: str
    ok: bool | None


def note(message: str) -> None:
    """Say what the bench is doing, on stderr (a 1,000,000-run size takes minutes)."""
    print(f"[scale] {message}", file=sys.stderr, flush=True)


def median_ms(samples: list[float]) -> float:
    """The median of ``samples`` (seconds), in milliseconds."""
    return statistics.median(samples) * 1000


def tmt_env(cache: Path) -> dict[str, str]:
    """The environment of every process the bench starts: this tmt, and a cache of its own."""
    return {**os.environ, "PYTHONPATH": str(REPO), "TMT_CACHE_DIR": str(cache)}


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    """Run ``cmd``, its output read from a pipe; its seconds and its stdout. A failure raises
    with its stderr."""
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        raise BenchError(
            f"{shlex.join(cmd)} (in {cwd}) exited with status {done.returncode}:\n{done.stderr}"
        )
    return elapsed, done.stdout


def prepare(project: Path, size: int) -> int:
    """Grow the store of ``project`` to ``size`` runs (if it holds fewer) and exclude code
    snapshots from recording; returns how many runs it holds."""
    runs = project / ".tmt" / "runs"
    had = len(os.listdir(runs)) if runs.is_dir() else 0
    if had < size:
        note(f"growing the store from {had:,} to {size:,} runs")
        t0 = time.perf_counter()
        bigstore.grow(str(project), size)
        note(f"  grown in {time.perf_counter() - t0:.1f} s")
    elif had > size:
        note(f"the store holds {had:,} runs, more than {size:,}: measured as it is")
    (project / "empty_source").mkdir(exist_ok=True)
    config = project / ".tmt" / "config.json"
    if not config.exists():
        config.write_text(json.dumps({"snapshot_source": "empty_source"}))
    return len(os.listdir(runs))


def commands(records: Path) -> dict[str, list[str]]:
    """The whole-process commands timed at each size, by column."""
    python = sys.executable
    tmt_list = [python, "-m", "tmt", "list"]
    return {
        PASS: [python, "-c", "pass"],
        JSON_LOAD: [python, "-c", f"import json; json.load(open({str(records)!r}))"],
        LIST_20: [*tmt_list, "--limit", "20"],
        LIST_PROBE: [*tmt_list, "--limit", "20", "--where", f"name={bigstore.PROBE}"],
        LIST_ALL: tmt_list,
    }


def time_commands(
    cmds: dict[str, list[str]], project: Path, env: dict[str, str], repeat: int
) -> dict[str, float]:
    """Median ms of each command; interleaved, so that drift hits them all alike."""
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for _ in range(repeat):
        for name, cmd in cmds.items():
            times[name].append(run(cmd, project, env)[0])
    return {name: median_ms(samples) for name, samples in times.items()}


def time_warm(
    project: Path, env: dict[str, str], count: int, repeat: int
) -> dict[str, float | None]:
    """Median ms of the manager's reads in one warm process (``None``: pandas is missing);
    fails if it does not find the store's ``count`` runs."""
    args = [str(project), str(repeat), str(count), str(bigstore.PROBE_RUNS)]
    cmd = [sys.executable, "-c", WARM_CODE, *args]
    found = json.loads(run(cmd, project, env)[1])
    return {PROBE_RUNS: found["probe"], PROBE_FRAME: found["frame"], ALL_RUNS: found["all"]}


def time_record(project: Path, env: dict[str, str], samples: int) -> float:
    """Median ms that recording one run adds to a call, in a process working in ``project``."""
    cmd = [sys.executable, "-c", RECORD_CODE, str(BENCH), str(samples)]
    return float(run(cmd, project, env)[1])


def time_cold(project: Path, env: dict[str, str], cache: Path, repeat: int) -> float:
    """Median ms of ``tmt list --limit 20`` with the cache deleted before each."""
    cmd = [sys.executable, "-m", "tmt", "list", "--limit", "20"]
    times = []
    for _ in range(repeat):
        shutil.rmtree(cache, ignore_errors=True)
        times.append(run(cmd, project, env)[0])
    return median_ms(times)


def rss_mb(pid: int) -> float:
    """The resident memory of process ``pid``, in MB (``VmRSS`` of /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise BenchError(f"no VmRSS for process {pid}")


def tmux(socket: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a tmux command on the server of ``socket``."""
    return subprocess.run(["tmux", "-L", socket, *args], capture_output=True, text=True)


def tui_first_screen(
    project: Path, env: dict[str, str], count: int, errors: Path
) -> tuple[float, float]:
    """Seconds from starting ``tmt_tui`` in a fresh tmux session until its list is drawn (its
    status line, "N of M runs", shows; as in bench/tui.py), and the app's resident memory then,
    in MB. Fails if the app shows other than the store's ``count`` runs."""
    # A fresh socket each time: a server just killed may still hold its old one.
    name = f"tmt-scale-{os.getpid()}-{time.monotonic_ns()}"
    # exec: the pane's process is the app itself, whose memory is read.
    app = f"exec {shlex.quote(sys.executable)} -m tmt.tui 2>{shlex.quote(str(errors))}"
    start = ["new-session", "-d", "-s", name, "-x", "120", "-y", "40", "-c", str(project)]
    for key in ("PYTHONPATH", "TMT_CACHE_DIR"):
        start += ["-e", f"{key}={env[key]}"]
    t0 = time.perf_counter()
    started = subprocess.run(
        ["tmux", "-L", name, *start, app], env=env, capture_output=True, text=True
    )
    if started.returncode != 0:
        raise BenchError(f"tmux would not start: {started.stderr.strip()}")
    try:
        while True:
            screen = tmux(name, "capture-pane", "-p", "-t", name)
            status = STATUS.search(screen.stdout)
            if status:
                shown = time.perf_counter() - t0
                pid = int(tmux(name, "list-panes", "-t", name, "-F", "#{pane_pid}").stdout)
                memory = rss_mb(pid)
                if int(status[2].replace(",", "")) != count:
                    raise BenchError(f"tmt_tui shows {status[0]!r}; the store has {count} runs")
                return shown, memory
            if screen.returncode != 0 or time.perf_counter() - t0 > 120:
                raise BenchError(
                    f"tmt_tui never showed its list:\n{screen.stdout}\n"
                    f"its stderr:\n{errors.read_text() if errors.exists() else ''}"
                )
            time.sleep(0.005)
    finally:
        tmux(name, "kill-server")


def time_tui(
    project: Path, env: dict[str, str], count: int, scratch: Path, repeat: int
) -> tuple[float, float]:
    """Median ms to ``tmt_tui``'s first screen on ``count`` runs, and median MB resident."""
    shown, memory = [], []
    for _ in range(repeat):
        seconds, mb = tui_first_screen(project, env, count, scratch / "tui.stderr")
        shown.append(seconds)
        memory.append(mb)
    return median_ms(shown), statistics.median(memory)


def measure(
    project: Path, size: int, scratch: Path, args: argparse.Namespace, with_tui: bool
) -> Row:
    """Everything measured at one store size, in an order that leaves each measurement the
    store it expects: the recorded runs are added last."""
    count = prepare(project, size)
    row = Row(size=size, runs=count)
    cache = scratch / "cache"
    env = tmt_env(cache)
    records = scratch / "records.json"
    note(f"{count:,} runs: writing all records to one file")
    bigstore.all_records(str(project), str(records))
    # bigstore.grow sets the time of runs/ back to the same moment each time, so an index
    # built at the last size would not see the runs added: each size builds its own.
    shutil.rmtree(cache, ignore_errors=True)
    run([sys.executable, "-m", "tmt", "list", "--limit", "1"], project, env)
    note(f"{count:,} runs: timing commands")
    row.ms.update(time_commands(commands(records), project, env, args.repeat))
    records.unlink()
    note(f"{count:,} runs: timing a warm process")
    row.ms.update(time_warm(project, env, count, args.repeat))
    row.ms[TUI] = None
    if with_tui and size <= args.tui_max:
        note(f"{count:,} runs: timing tmt_tui")
        row.ms[TUI], row.tui_rss_mb = time_tui(project, env, count, scratch, args.repeat)
    note(f"{count:,} runs: timing cold starts")
    row.ms[COLD] = time_cold(project, env, cache, args.repeat)
    note(f"{count:,} runs: timing recording")
    row.ms[RECORD] = time_record(project, env, args.samples)
    return row


def ratio_check(label: str, value: float | None, base: float, name: str, most: float) -> Check:
    """``value`` against ``most`` times ``base`` (the ``name`` of which is printed)."""
    if value is None:
        return Check(label, "n/a", f"<= {most:g}x {name}", None)
    ratio = value / base
    return Check(label, f"{ratio:.2f}x {name}", f"<= {most:g}x", ratio <= most)


def limit_check(label: str, value: float | None, most: float, unit: str) -> Check:
    """``value`` against an absolute limit."""
    if value is None:
        return Check(label, "n/a", f"<= {most:g} {unit}", None)
    return Check(label, f"{value:.1f} {unit}", f"<= {most:g} {unit}", value <= most)


def flat_check(label: str, row: Row, first: Row) -> Check:
    """``label`` at this size against the same at the smallest size: target <= 2x."""
    value, base = row.ms[label], first.ms[label]
    if value is None or base is None:
        return Check(label, "n/a", "<= 2x (flat)", None)
    ratio = value / base
    measured = f"{value:.1f} ms, {ratio:.2f}x the {first.runs:,}-run value"
    return Check(label, measured, "<= 2x (flat)", ratio <= 2)


#: The ratio targets are set for big stores: below, a few milliseconds of starting tmt
#: weigh more than any record (json.load of 1,000 records takes less than importing tmt).
RATIOS_FROM = 100_000


def checks(row: Row, first: Row) -> list[Check]:
    """The targets at ``row``'s size (``first``: the smallest size measured)."""
    ms = row.ms
    most = 10 if row.size <= 100_000 else 20
    tui = limit_check(TUI, ms[TUI], 1000, "ms")
    if row.tui_rss_mb is not None:
        tui.measured += f" (RSS {row.tui_rss_mb:.0f} MB)"
    ratios = [
        ratio_check(LIST_20, ms[LIST_20], ms[PASS], PASS, most),
        ratio_check(LIST_PROBE, ms[LIST_PROBE], ms[PASS], PASS, most),
        ratio_check(LIST_ALL, ms[LIST_ALL], ms[JSON_LOAD], JSON_LOAD, 1),
        ratio_check(COLD, ms[COLD], ms[JSON_LOAD], JSON_LOAD, 2),
    ]
    if row.size < RATIOS_FROM:
        for check in ratios:
            check.target += f" (from {RATIOS_FROM:,})"
            check.ok = None
    return [
        *ratios[:3],
        flat_check(PROBE_RUNS, row, first),
        flat_check(PROBE_FRAME, row, first),
        limit_check(RECORD, ms[RECORD], 5, "ms"),
        ratios[3],
        tui,
    ]


def table(rows: list[Row]) -> str:
    """The numbers as a markdown table, in ms (the TUI's memory in MB)."""
    header = ["runs", *COLUMNS, "TUI RSS"]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---:" for _ in header) + "|",
    ]
    for row in rows:
        cells = [f"{row.runs:,}"]
        cells += ["n/a" if row.ms[c] is None else f"{row.ms[c]:.1f}" for c in COLUMNS]
        cells.append("n/a" if row.tui_rss_mb is None else f"{row.tui_rss_mb:.0f} MB")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def report(rows: list[Row]) -> str:
    """The table, then each size's targets, met (PASS) or missed (FAIL)."""
    lines = [table(rows), ""]
    for row in rows:
        lines.append(f"{row.runs:,} runs:")
        for check in checks(row, rows[0]):
            verdict = {True: "PASS", False: "FAIL", None: "n/a"}[check.ok]
            lines.append(
                f"  {check.label:<36} {check.measured:<40} target {check.target:<24} {verdict}"
            )
    return "\n".join(lines)


def as_json(rows: list[Row], args: argparse.Namespace) -> dict[str, object]:
    """Every number, and every target's verdict, for ``--json``."""
    return {
        "python": sys.version.split()[0],
        "repeat": args.repeat,
        "samples": args.samples,
        "rows": [
            {
                "size": row.size,
                "runs": row.runs,
                "ms": {column: row.ms[column] for column in COLUMNS},
                "tui_rss_mb": row.tui_rss_mb,
                "checks": [vars(c) for c in checks(row, rows[0])],
            }
            for row in rows
        ],
    }


def sizes(text: str) -> list[int]:
    """``--sizes``: comma-separated counts, measured smallest first."""
    try:
        counts = sorted({int(part.replace("_", "")) for part in text.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of counts: {text!r}") from None
    if not counts or counts[0] < bigstore.PROBE_RUNS:
        raise argparse.ArgumentTypeError(f"sizes must be at least {bigstore.PROBE_RUNS}")
    return counts


def main() -> None:
    """Measure each size, print the table and the targets, and write ``--json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=sizes, default=sizes("1000,10000,100000"))
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each measurement")
    parser.add_argument("--samples", type=int, default=50, help="runs recorded to time one")
    parser.add_argument("--dir", type=Path, help="the store's folder, kept (default: temporary)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary store's folder")
    parser.add_argument("--tui-max", type=int, default=100_000, help="largest size for the TUI")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write every number to FILE")
    args = parser.parse_args()
    with_tui = shutil.which("tmux") is not None
    if not with_tui:
        note("tmux is not installed: the TUI is not measured")
    bench_dir = os.environ.get("TMT_BENCH_DIR")
    project = args.dir or Path(tempfile.mkdtemp(prefix="tmt-scale-", dir=bench_dir))
    project.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    try:
        with tempfile.TemporaryDirectory(prefix="tmt-scale-scratch-", dir=bench_dir) as tmp:
            for size in args.sizes:
                rows.append(measure(project.resolve(), size, Path(tmp), args, with_tui))
    finally:
        if args.dir is None and not args.keep:
            shutil.rmtree(project, ignore_errors=True)
        else:
            note(f"the store is kept in {project}")
    print(f"medians of {args.repeat} (recording: of {args.samples}), in ms; python {sys.version}")
    print(report(rows))
    if args.json:
        args.json.write_text(json.dumps(as_json(rows, args), indent=2) + "\n")


if __name__ == "__main__":
    main()
