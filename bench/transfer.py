"""What ``tmt pull`` costs, against rsync copying the same store, measured in the same run.

Two measurements (these machines are noisy; compare the ratios):

1. **A big store.** bench/bigstore.py grows a store of ``--runs`` realistic records. Timed, as
   whole processes: ``tmt pull`` into an empty project, then again (nothing to copy), against
   ``rsync -a`` of the store's folder into an empty folder, then again (rsync's own no-op).
   Targets: the first pull <= 3x the first rsync (tmt also checks every record, and writes
   each run's record last, through a temporary file); the second pull <= 3x rsync's no-op.
2. **The code moves once.** ``--snapshots`` runs recorded with tmt's own recorder on a copy of
   a real source tree (``--repo``, default: this repository's ``tmt/``), its code edited a
   little between runs, then pulled: the bytes pulled, against the bytes of every run's
   snapshot counted as files (what copying the snapshot folders would move), and against the
   one tree's size. Target: the pull moves less than 2x one tree.

Usage: python bench/transfer.py [--runs 10000] [--snapshots 50] [--repo PATH] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

import bigstore  # noqa: E402


def note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def env(cache: Path) -> dict[str, str]:
    environment = {**os.environ, "PYTHONPATH": str(REPO), "TMT_CACHE_DIR": str(cache)}
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    return environment


def timed(command: list[str], cwd: Path, environment: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True)
    took = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {proc.stderr.strip()}")
    return took, proc.stdout.strip()


def big_store(work: Path, runs: int, repeat: int) -> list[tuple[str, float, float, float]]:
    source = work / "cluster"
    source.mkdir()
    note(f"growing a store of {runs:,} runs")
    bigstore.grow(str(source), runs)
    tmt = [sys.executable, "-m", "tmt", "pull", str(source)]
    first, again, rsync_first, rsync_again = [], [], [], []
    for i in range(repeat):
        dest = work / f"laptop{i}"
        (dest / ".tmt").mkdir(parents=True)
        cache = work / f"cache{i}"
        took, said = timed(tmt, dest, env(cache))
        first.append(took)
        note(f"  pull {i + 1}: {took:.2f} s: {said}")
        took, said = timed(tmt, dest, env(cache))
        again.append(took)
        note(f"  pull again: {took:.2f} s: {said}")
        copy = work / f"rsync{i}"
        command = ["rsync", "-a", f"{source}/.tmt/", f"{copy}/"]
        rsync_first.append(timed(command, work, env(cache))[0])
        rsync_again.append(timed(command, work, env(cache))[0])
        shutil.rmtree(dest)
        shutil.rmtree(copy)
    return [
        ("first pull vs rsync -a", statistics.median(first), statistics.median(rsync_first), 3),
        ("second pull vs rsync no-op", statistics.median(again), statistics.median(rsync_again), 3),
    ]


def code_once(work: Path, count: int, repo: Path) -> tuple[int, int, int, str]:
    project = work / "project"
    shutil.copytree(repo, project / "code", ignore=shutil.ignore_patterns("__pycache__"))
    files = sorted(p for p in (project / "code").rglob("*.py"))
    script = (
        "import sys\nfrom tmt import tmt_recorder\n"
        "tmt_recorder(name='bench')(lambda i: {'i': i})(int(sys.argv[1]))\n"
    )
    (project / "train.py").write_text(script)
    environment = env(work / "cache-code")
    note(f"recording {count} runs of {len(files)} files of {repo}")
    for i in range(count):
        edited = files[i % len(files)]
        edited.write_text(edited.read_text() + f"# edit {i}\n")
        timed([sys.executable, "train.py", str(i)], project, environment)
    trees = project / ".tmt" / "snapshots" / ".trees"
    one_tree = sum(p.stat().st_size for p in next(trees.iterdir()).rglob("*") if p.is_file())
    as_files = one_tree * count
    dest = work / "laptop-code"
    (dest / ".tmt").mkdir(parents=True)
    sys.path.insert(0, str(REPO))
    from tmt import TmtManager

    here = os.getcwd()
    os.chdir(dest)
    try:
        os.environ["TMT_CACHE_DIR"] = str(work / "cache-code-pull")
        moved = TmtManager().pull(str(project))
    finally:
        os.chdir(here)
    said = f"{len(moved.new)} runs, {moved.trees} trees, {moved.objects} snapshot files"
    return moved.bytes, as_files, one_tree, said


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--snapshots", type=int, default=50)
    parser.add_argument("--repo", type=Path, default=REPO / "tmt")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not shutil.which("rsync"):
        raise SystemExit("bench/transfer.py compares with rsync: install it first")
    failed = False
    with tempfile.TemporaryDirectory(prefix="tmt-bench-transfer-") as folder:
        work = Path(folder)
        print(f"{args.runs:,} runs (medians of {args.repeat}):")
        for label, ours, base, most in big_store(work, args.runs, args.repeat):
            ratio = ours / base
            ok = ratio <= most
            failed |= not ok
            print(
                f"  {label:28} {ours * 1000:9.0f} ms vs {base * 1000:7.0f} ms  "
                f"{ratio:5.2f}x (target <= {most}x) {'ok' if ok else 'MISSED'}"
            )
        moved, as_files, tree, said = code_once(work, args.snapshots, args.repo)
        ok = moved < 2 * tree
        failed |= not ok
        print(f"{args.snapshots} runs of one code base, pulled ({said}):")
        print(
            f"  bytes moved {moved / 1e6:.2f} MB; snapshots as files {as_files / 1e6:.2f} MB "
            f"({as_files / max(moved, 1):.0f}x more); one tree {tree / 1e6:.2f} MB "
            f"(target: moved < 2x one tree) {'ok' if ok else 'MISSED'}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
