"""Does a snapshot of a real repository hold exactly what git sees?

    python bench/snapshot_vs_git.py PATH [PATH ...]

For each git work tree, compares the files of a fresh tmt snapshot (no size cap) with
``git ls-files --cached --others --exclude-standard`` (submodules, which are folders, left
aside) and prints the differences; tmt's documented defaults (caches, environments) are
counted apart. Exits 1 if anything else differs. See README, "Code snapshots".
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from tmt.ignore import DEFAULT_PATTERNS, PatternList, Rules, is_ignored
from tmt.snapshot import take_snapshot


def gits_view(repo: str) -> set[str]:
    out = subprocess.run(
        ["git", "-C", repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True,
        stdout=subprocess.PIPE,
    ).stdout
    paths = {os.fsdecode(p) for p in out.split(b"\0") if p}
    return {p for p in paths if not _is_folder(os.path.join(repo, p))}  # submodules


def _is_folder(path: str) -> bool:
    return os.path.isdir(path) and not os.path.islink(path)


def snapshot_view(repo: str, store: str) -> set[str]:
    take_snapshot(repo, store, "run", [store], max_file_size=1 << 40)
    tree = os.path.join(store, "run")
    found = set()
    for folder, dirs, names in os.walk(tree):
        rel = os.path.relpath(folder, tree)
        for name in names + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            found.add(name if rel == "." else f"{rel}/{name}")
    return found


def main(repos: list[str]) -> int:
    defaults = Rules([], [], PatternList("", DEFAULT_PATTERNS))
    failed = False
    for repo in repos:
        with tempfile.TemporaryDirectory() as store:
            git, tmt = gits_view(repo), snapshot_view(repo, store)
        missing, extra = sorted(git - tmt), sorted(tmt - git)
        by_default = [p for p in missing if _left_out_by_default(defaults, p)]
        missing = [p for p in missing if p not in by_default]
        verdict = "same as git" if not missing and not extra else "DIFFERS"
        print(
            f"{repo}: git {len(git)} files, snapshot {len(tmt)}: {verdict}"
            f" ({len(by_default)} left out by tmt's defaults)"
        )
        for path in missing[:20]:
            print(f"  only in git:      {path}")
        for path in extra[:20]:
            print(f"  only in snapshot: {path}")
        failed = failed or bool(missing or extra)
    return 1 if failed else 0


def _left_out_by_default(defaults: Rules, path: str) -> bool:
    parts = path.split("/")
    folders = ["/".join(parts[: i + 1]) for i in range(len(parts) - 1)]
    return any(is_ignored(defaults, f, True) for f in folders) or is_ignored(defaults, path, False)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
