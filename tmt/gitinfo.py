"""What git says about the code a run started from: commit, branch, whether it is dirty, and
the diff of uncommitted changes. Outside a git work tree, or without git, nothing, silently.

git runs as two subprocesses started before the code snapshot and read after it, so the two
overlap; ``GIT_OPTIONAL_LOCKS=0`` keeps ``git status`` from taking the index lock, which could
otherwise disturb a git command of the user's running at the same moment.
"""

from __future__ import annotations

import os
import subprocess

#: Diffs larger than this many bytes are cut (and marked as such in the record).
MAX_DIFF = 1024 * 1024
DIFF_FILE = "git.diff"
_TIMEOUT = 10.0


class GitProbe:
    """Asks git about ``source`` in the background; :meth:`collect` gathers the answer."""

    def __init__(self, source: str) -> None:
        env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
        base = ["git", "-C", source]
        self.procs: list[subprocess.Popen] = []
        try:
            for args in (
                ["status", "--porcelain=v2", "--branch"],
                ["diff", "HEAD", "--no-color", "--no-ext-diff"],
            ):
                self.procs.append(
                    subprocess.Popen(
                        base + args,
                        stdin=subprocess.DEVNULL,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL,
                        env=env,
                    )
                )
        except OSError:  # no git on this machine
            self.procs = []

    def collect(self, run_dir: str) -> dict | None:
        """The git facts of the run, writing the diff (if any) into ``run_dir``."""
        outputs = []
        for proc in self.procs:
            try:
                out, _ = proc.communicate(timeout=_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
                return None
            outputs.append((proc.returncode, out))
        if len(outputs) != 2 or outputs[0][0] != 0:
            return None  # not a work tree, or git refused (say, an unsafe directory)
        info = parse_status(outputs[0][1].decode("utf-8", "replace"))
        code, diff = outputs[1]
        info["diff"] = None
        info["diff_truncated"] = False
        if code == 0 and diff:
            info["diff_truncated"] = len(diff) > MAX_DIFF
            try:
                with open(os.path.join(run_dir, DIFF_FILE), "wb") as f:
                    f.write(diff[:MAX_DIFF])
                info["diff"] = DIFF_FILE
            except OSError:
                pass
        return info


def parse_status(text: str) -> dict:
    """Commit, branch and dirtiness from ``git status --porcelain=v2 --branch``."""
    commit = branch = None
    changed = untracked = 0
    for line in text.splitlines():
        if line.startswith("# branch.oid "):
            oid = line[len("# branch.oid ") :]
            commit = None if oid == "(initial)" else oid
        elif line.startswith("# branch.head "):
            head = line[len("# branch.head ") :]
            branch = None if head == "(detached)" else head
        elif line.startswith("? "):
            untracked += 1
        elif line[:2] in ("1 ", "2 ", "u "):
            changed += 1
    return {"commit": commit, "branch": branch, "dirty": changed > 0, "untracked": untracked}
