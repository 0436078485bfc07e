"""How fast tmt snapshots code, against cp -al, cp -a, the walk floor and tmt 0.1.8.

Builds a tree like a mid-sized project (10,000 files, ~46 MB, 500 folders) and prints medians,
all measured in this one run (these machines are noisy: compare ratios, not runs):

- tmt's snapshot of the unchanged tree vs ``cp -al`` (target <= 1.5x) and vs the floor, a
  Python ``os.scandir`` walk that stats every file (what noticing "nothing changed" costs);
- the same with 1% of the files changed, vs ``cp -al`` plus copying those files (<= 1.5x);
- tmt's first snapshot vs ``cp -a`` (target: no slower);
- disk used by one more snapshot of the unchanged tree (target: directory entries, no data);
- with ``--vs-018``: whole recorded runs of tmt vs ThatMetricTimeline 0.1.8, installed in a
  venv of the bench's own (target: >= 3x faster on the unchanged tree).

Nothing is deleted inside a timed region: on some filesystems creating files is several times
slower for minutes after mass deletions, so all clean-up happens once, at the end.

Usage: python bench/snapshot.py [--files 10000] [--repeat 7] [--vs-018]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import competitor  # noqa: E402 (beside this script)

from tmt.snapshot import take_snapshot  # noqa: E402


def build_tree(root: Path, files: int, folders: int, mean_size: int) -> None:
    rng = random.Random(0)
    dirs = [root]
    for i in range(folders - 1):
        parent = rng.choice(dirs[: max(1, len(dirs) // 4 + 1)])
        d = parent / f"pkg{i}"
        d.mkdir()
        dirs.append(d)
    for i in range(files):
        size = max(64, int(rng.expovariate(1 / mean_size)))
        (rng.choice(dirs) / f"module_{i}.py").write_bytes(rng.randbytes(size))
    # Source files are normally older than the run; a file modified in the last two seconds
    # is re-hashed by design (the racy-file rule), so let the new tree age past that.
    time.sleep(2.5)


def all_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def walk_floor(root: str) -> None:
    stack = [root]
    while stack:
        for entry in os.scandir(stack.pop()):
            entry.stat(follow_symlinks=False)
            if entry.is_dir(follow_symlinks=False):
                stack.append(entry.path)


def disk_blocks(root: Path) -> dict[int, int]:
    """Allocated bytes by inode, for everything under ``root``."""
    seen = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            st = os.lstat(os.path.join(dirpath, name))
            seen[st.st_ino] = st.st_blocks * 512
    return seen


def change_files(files: list[Path], count: int, rng: random.Random) -> list[Path]:
    chosen = rng.sample(files, count)
    for path in chosen:
        path.write_bytes(rng.randbytes(path.stat().st_size))
    return chosen


def bench_018(work: Path, source: Path, repeat: int) -> tuple[float, float] | None:
    """Median seconds of a whole recorded run, unchanged tree: (0.1.8, tmt); None if no 0.1.8."""
    python_018 = competitor.install(work / "venv-018", "thatmetrictimeline==0.1.8")
    if python_018 is None:
        return None
    script = (
        "import json, os, sys, time\n"
        "{imports}\n"
        "@tmt_recorder(name='bench', config_path=sys.argv[1]{extra})\n"
        "def run():\n"
        "    return {{'x': 1}}\n"
        "run()\n"  # the first snapshot, not timed
        "times = []\n"
        f"for _ in range({repeat}):\n"
        "    t0 = time.perf_counter(); run(); times.append(time.perf_counter() - t0)\n"
        "print(json.dumps(sorted(times)[len(times) // 2]))\n"
    )
    results = []
    for name, python, imports, extra in [
        (
            "0.1.8",
            str(python_018),
            "from tmt import tmt_recorder\n"
            "from tmt.utils.duplicates import DuplicateStrategy, DuplicatePolicy",
            ", duplicate_strategy=DuplicateStrategy(DuplicatePolicy.AS_NEW_ENTRY)",
        ),
        ("tmt", sys.executable, "from tmt import tmt_recorder", ""),
    ]:
        store = work / f"store-{name}"
        store.mkdir()
        config = store / "config.json"
        config.write_text(
            json.dumps(
                {
                    "tmt_dir": str(store / ".tmt"),
                    "snapshot_source": str(source),
                    "snapshot_target": "snapshots",
                    "last_snapshot_link": "snapshots/last",
                    "gitignore_path": str(source / ".gitignore"),
                    "json_db_path": "tmt_db.json",
                    "results_path": "results",
                }
            )
        )
        env = {"PYTHONPATH": str(REPO)} if name == "tmt" else {}
        code = script.format(imports=imports, extra=extra)
        result = competitor.run_json(python, code, str(config), cwd=store, env=env)
        if result is None:
            return None
        results.append(result)
    return results[0], results[1]


def synthetic_tree(work: Path, args: argparse.Namespace) -> tuple[str, Path, list[Path], Path]:
    """A generated project: (label, source, its files, a mirror of them for cp -al)."""
    source = work / "src"
    source.mkdir()
    build_tree(source, args.files, args.folders, args.mean_size)
    files = all_files(source)
    # cp -al links the files it copies, which changes their link count and so their ctime:
    # run on the source itself, it would make every file look modified to tmt. The cp -al
    # baselines copy a mirror of the source instead.
    mirror = work / "mirror"
    subprocess.run(["cp", "-a", str(source), str(mirror)], check=True)
    return f"synthetic, {args.folders} folders", source, files, mirror


def repository(work: Path, repo: Path) -> tuple[str, Path, list[Path], Path]:
    """A copy of a real git work tree, and a mirror of exactly the files git sees in it (the
    file set a snapshot holds), for the cp baselines."""
    source = work / "src"
    subprocess.run(["cp", "-a", str(repo), str(source)], check=True)
    listing = subprocess.run(
        ["git", "-C", str(source), "ls-files", "-z", "-co", "--exclude-standard"],
        check=True,
        stdout=subprocess.PIPE,
    ).stdout
    rels = [os.fsdecode(p) for p in listing.split(b"\0") if p]
    rels = [r for r in rels if not (source / r).is_dir() or (source / r).is_symlink()]
    mirror = work / "mirror"
    mirror.mkdir()
    for rel in rels:
        (mirror / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / rel, mirror / rel, follow_symlinks=False)
    files = [source / r for r in rels if (source / r).is_file() and not (source / r).is_symlink()]
    folders = len({os.path.dirname(r) for r in rels})
    time.sleep(2.5)  # past the racy window, as for the synthetic tree
    return f"{repo.name}, {folders} folders", source, files, mirror


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--folders", type=int, default=500)
    parser.add_argument("--mean-size", type=int, default=4_600, help="bytes")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--vs-018", action="store_true", help="also compare with tmt 0.1.8")
    parser.add_argument(
        "--repo",
        action="append",
        type=Path,
        default=[],
        help="a git work tree to measure on instead of the generated tree (repeatable)",
    )
    args = parser.parse_args()
    for repo in args.repo or [None]:
        work = Path(tempfile.mkdtemp(prefix="tmt-bench-", dir=os.environ.get("TMT_BENCH_DIR")))
        try:
            if repo is None:
                label, source, files, mirror = synthetic_tree(work, args)
            else:
                label, source, files, mirror = repository(work, repo.resolve())
            measure(work, label, source, files, mirror, args)
        finally:
            _remove(work)  # after all timing


def _remove(path: Path) -> None:
    """Remove the bench's folder, read-only snapshot trees included."""
    subprocess.run(["chmod", "-R", "u+w", str(path)], check=False)
    shutil.rmtree(path, ignore_errors=True)


def measure(work: Path, label: str, source: Path, files: list[Path], mirror: Path, args) -> None:
    """Time tmt's snapshots of ``source`` against cp of ``mirror`` (the same files); print."""
    size_mb = sum(p.stat().st_size for p in files) / 1e6
    copies = work / "copies"
    copies.mkdir()
    target = work / "snapshots"
    target.mkdir()
    n = 0

    def snapshot(into: Path = target) -> None:
        nonlocal n
        n += 1
        take_snapshot(str(source), str(into), f"run{n}", [str(into)])

    def cp(flags: str) -> float:
        nonlocal n
        n += 1
        dest = copies / f"c{n}"
        origin = mirror if "l" in flags else source
        return timed(lambda: subprocess.run(["cp", flags, str(origin), str(dest)], check=True))

    def fresh_store() -> float:
        nonlocal n
        n += 1
        store = work / f"fresh{n}"
        store.mkdir()
        return timed(lambda: snapshot(store))

    # Each comparison alternates its two sides and reports the median of the paired
    # ratios, so the filesystem's drift (large on some machines) hits both sides alike.
    def paired(pairs: list[tuple[float, float]]) -> tuple[float, float, float]:
        """(median tmt time, median baseline time, median of tmt/baseline per pair)."""
        return (
            statistics.median(t for t, _ in pairs),
            statistics.median(b for _, b in pairs),
            statistics.median(t / b for t, b in pairs),
        )

    firsts = []
    for _ in range(max(3, args.repeat // 2)):
        base = cp("-a")
        firsts.append((fresh_store(), base))
    first, cp_a, first_ratio = paired(firsts)

    snapshot()  # the store's first snapshot, so the next ones find an unchanged tree
    unchangeds, floors = [], []
    for _ in range(args.repeat):
        floor_time = timed(lambda: walk_floor(str(source)))
        base = cp("-al")
        t = timed(snapshot)
        unchangeds.append((t, base))
        floors.append((t, floor_time))
    unchanged, cp_al, unchanged_ratio = paired(unchangeds)
    _, floor, floor_ratio = paired(floors)

    before = disk_blocks(target)
    snapshot()
    after = disk_blocks(target)
    grown = {ino: b for ino, b in after.items() if ino not in before}
    before = after

    rng = random.Random(1)
    changeds = []
    for _ in range(args.repeat):
        chosen = change_files(files, max(1, len(files) // 100), rng)
        time.sleep(2.1)  # let the previous round's changes age past the racy window
        t = timed(snapshot)
        n += 1
        extra = copies / f"changed{n}"
        extra.mkdir()
        copy_changed = timed(
            lambda c=chosen, e=extra: subprocess.run(
                ["cp", "--backup=numbered", *map(str, c), str(e)], check=True
            )
        )
        changeds.append((t, cp("-al") + copy_changed))
    changed, changed_base, changed_ratio = paired(changeds)
    # disk for one snapshot with 1% of the files changed, against the bytes changed
    chosen = change_files(files, max(1, len(files) // 100), rng)
    time.sleep(2.1)
    before = disk_blocks(target)
    snapshot()
    after = disk_blocks(target)
    changed_disk = sum(b for ino, b in after.items() if ino not in before)
    changed_inodes = sum(1 for ino in after if ino not in before)
    changed_bytes = sum(p.stat().st_size for p in chosen)

    print(
        f"tree ({label}): {len(files):,} files, {size_mb:.0f} MB; "
        f"medians of {args.repeat} (ratios: medians of side-by-side pairs)"
    )
    print(f"  floor (scandir + stat)       {floor * 1000:7.1f} ms")
    print(f"  cp -al                       {cp_al * 1000:7.1f} ms")
    print(
        f"  tmt, unchanged tree          {unchanged * 1000:7.1f} ms   "
        f"{unchanged_ratio:.2f}x cp -al (target <= 1.5x), {floor_ratio:.2f}x floor"
    )
    print(
        f"  tmt, 1% of files changed     {changed * 1000:7.1f} ms   "
        f"{changed_ratio:.2f}x cp -al + copying them "
        f"({changed_base * 1000:.1f} ms; target <= 1.5x)"
    )
    print(
        f"  tmt, first snapshot          {first * 1000:7.1f} ms   "
        f"{first_ratio:.2f}x cp -a ({cp_a * 1000:.1f} ms; target <= 1x)"
    )
    print(
        f"  disk for one more unchanged snapshot: {len(grown)} new inode(s), "
        f"{sum(grown.values())} bytes allocated (target: entries only, no file data)"
    )
    print(
        f"  disk for one snapshot with 1% changed: {changed_disk / 1e6:.2f} MB in "
        f"{changed_inodes} new inode(s), for {changed_bytes / 1e6:.2f} MB of changed "
        f"files (target: <= changed bytes + 1 MB)"
    )
    if args.vs_018:
        result = bench_018(work, source, max(3, args.repeat // 2))
        if result:
            old, new = result
            print(
                f"  whole run, unchanged tree: 0.1.8 {old * 1000:.1f} ms, "
                f"tmt {new * 1000:.1f} ms: {old / new:.1f}x faster (target >= 3x)"
            )


if __name__ == "__main__":
    main()
