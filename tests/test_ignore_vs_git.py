"""A snapshot holds exactly what git sees: differential tests against ``git ls-files``.

Random trees (names with spaces, unicode, ``#``, ``!``, ``[``, ``*``, ``\\``), random ignore files
from three grammars (common patterns; every wildmatch feature; nested files, negations,
``.git/info/exclude``, ``core.excludesFile``, odd lines and tracked files) are snapshotted and
compared with ``git ls-files --cached --others --exclude-standard``. A difference is shrunk to
a minimal case before it is reported.

CI runs a fixed-seed slice; ``TMT_FUZZ_CASES=1500 pytest tests/test_ignore_vs_git.py`` runs more
(``TMT_FUZZ_SEED`` picks another seed).
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from tmt.snapshot import take_snapshot

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

CASES = int(os.environ.get("TMT_FUZZ_CASES", "80"))
SEED = int(os.environ.get("TMT_FUZZ_SEED", "20261123"))

NAMES = ["a", "b", "ab", "A", "x y", "é", "ü.txt", "#a", "!a", "[a]", "a*", "a\\b", "a?", " a"]
NAMES += ["a ", ".h", "log", "build", "src", "a.py", "b.py", "c.txt", "d.json", "Readme", "ba"]
FRAGMENTS = ["a", "b", "ab", "A", "é", "x y", ".py", ".txt", "log", "build", "src", "#", "!"]
GLOBS = ["*", "?", "**", "[a-c]", "[!a]", "[^b]", "[[:alpha:]]", "[[:upper:]]", "[]a]", "\\*"]
GLOBS += ["\\?", "\\[", "[a-]", "[é]", "[[:digit:][:alpha:]]", "[[:nope:]]", "[a", "\\ ", "\\#"]
ODD_LINES = ["!", "\\", "bin\\", "foo\\   ", "a\t", " a", "\\#a", "\\!a", "#a", "/", "**", "*/"]
ODD_LINES += ["**/", "a/**", "/**/a", "a\rb", "", "   ", "!*", "a//", "\\\\"]


def random_tree(rng: random.Random, depth: int = 3) -> dict:
    """A nested dict: name -> None (a file) or dict (a folder)."""
    tree: dict = {}
    for _ in range(rng.randint(1, 6)):
        name = rng.choice(NAMES)
        if depth > 0 and rng.random() < 0.35:
            tree[name] = random_tree(rng, depth - 1)
        else:
            tree[name] = None
    return tree


def folders(tree: dict, base: str = "") -> list[str]:
    found = [base]
    for name, sub in tree.items():
        if sub is not None:
            found += folders(sub, f"{base}{name}/")
    return found


def files(tree: dict, base: str = "") -> list[str]:
    found = []
    for name, sub in tree.items():
        found += [f"{base}{name}"] if sub is None else files(sub, f"{base}{name}/")
    return found


def pattern(rng: random.Random, grammar: str, tree: dict) -> str:
    if grammar == "names":
        kind = rng.random()
        if kind < 0.4:
            text = rng.choice(NAMES).replace("\\", "\\\\")
        elif kind < 0.7:
            text = "*" + rng.choice([".py", ".txt", ".json", "a", "b"])
        else:
            text = rng.choice(folders(tree) or [""]) + rng.choice(NAMES).replace("\\", "\\\\")
        text = ("/" if rng.random() < 0.2 else "") + text
    else:
        if rng.random() < 0.15:
            return rng.choice(ODD_LINES)
        if rng.random() < 0.3:
            return near_miss(rng, tree)
        parts = []
        for _ in range(rng.randint(1, 3)):
            segment = "".join(
                rng.choice(GLOBS if rng.random() < 0.5 else FRAGMENTS)
                for _ in range(rng.randint(1, 3))
            )
            parts.append(segment)
        if rng.random() < 0.2:
            parts.insert(0, "**")
        if rng.random() < 0.15:
            parts.append("**")
        text = "/".join(parts)
        if rng.random() < 0.2:
            text = "/" + text
    if rng.random() < 0.25:
        text += "/"
    if rng.random() < 0.2:
        text = "!" + text
    if rng.random() < 0.05:
        text += "  "
    return text


def near_miss(rng: random.Random, tree: dict) -> str:
    """A real path of the tree with one character replaced by a glob: patterns on the edge
    of matching exercise what ``/``, brackets and stars may cross."""
    path = rng.choice(files(tree) + folders(tree)[1:])
    text = "".join("\\" + c if c in "*?[\\!#" else c for c in path.rstrip("/"))
    i = rng.randrange(len(text))
    glob = rng.choice(["?", "*", "**", "[!x]", "[/]", "[[:punct:]]", "[^a]", "*/", "/**/"])
    return text[:i] + glob + text[i + 1 :]


def random_case(rng: random.Random, grammar: str) -> dict:
    tree = random_tree(rng)
    ignores: dict[str, list[str]] = {}
    places = folders(tree) if grammar == "layers" else [""]
    for _ in range(rng.randint(1, 3) if grammar == "layers" else 1):
        where = rng.choice(places)
        ignores.setdefault(where, []).extend(
            pattern(rng, grammar, tree) for _ in range(rng.randint(1, 6))
        )
    case = {"tree": tree, "ignores": ignores, "info": [], "global": [], "tracked": []}
    if grammar == "layers":
        case["info"] = [pattern(rng, grammar, tree) for _ in range(rng.randint(0, 2))]
        case["global"] = [pattern(rng, grammar, tree) for _ in range(rng.randint(0, 2))]
        all_files = files(tree)
        case["tracked"] = rng.sample(all_files, rng.randint(0, min(3, len(all_files))))
        case["bom"] = rng.random() < 0.2
        case["crlf"] = rng.random() < 0.2
    return case


def write_case(case: dict, root: Path) -> None:
    def make(tree: dict, folder: Path) -> None:
        for name, sub in tree.items():
            if sub is None:
                (folder / name).write_text(name)
            else:
                (folder / name).mkdir()
                make(sub, folder / name)

    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    make(case["tree"], root)
    end = "\r\n" if case.get("crlf") else "\n"
    for where, lines in case["ignores"].items():
        data = "".join(line + end for line in lines).encode()
        if case.get("bom"):
            data = b"\xef\xbb\xbf" + data
        path = root / where / ".gitignore"
        if path.is_dir():
            continue
        path.write_bytes(data)
    (root / ".git" / "info").mkdir(exist_ok=True)
    (root / ".git" / "info" / "exclude").write_text("".join(f"{x}\n" for x in case["info"]))
    (Path(os.environ["XDG_CONFIG_HOME"]) / "git" / "ignore").write_text(
        "".join(f"{x}\n" for x in case["global"])
    )
    if case["tracked"]:
        subprocess.run(["git", "-C", str(root), "add", "-f", "--", *case["tracked"]], check=True)


def gits_view(root: Path) -> set[str]:
    out = subprocess.run(
        ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True,
        stdout=subprocess.PIPE,
    ).stdout
    return {os.fsdecode(p) for p in out.split(b"\0") if p}


def snapshot_view(root: Path, store: Path) -> set[str]:
    take_snapshot(str(root), str(store), "run", [str(store)])
    tree = store / "run"
    found = set()
    for folder, dirs, names in os.walk(tree):
        rel = os.path.relpath(folder, tree)
        for name in names + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            found.add(name if rel == "." else f"{rel}/{name}")
    return found


def difference(case: dict, workdir: Path) -> tuple[set, set] | None:
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir()
    root = workdir / "repo"
    write_case(case, root)
    git, tmt = gits_view(root), snapshot_view(root, workdir / "store")
    git.discard(".gitignore")  # compared on the code files: ignore files differ by case
    tmt = {p for p in tmt if not p.endswith(".gitignore")}
    git = {p for p in git if not p.endswith(".gitignore")}
    return None if git == tmt else (git - tmt, tmt - git)


def shrink(case: dict, workdir: Path) -> dict:
    """Drop ignore lines, files and tracked paths while the difference remains."""
    changed = True
    while changed:
        changed = False
        for key in ("info", "global", "tracked"):
            for i in range(len(case[key])):
                trial = {**case, key: case[key][:i] + case[key][i + 1 :]}
                if difference(trial, workdir):
                    case, changed = trial, True
                    break
        for where in list(case["ignores"]):
            lines = case["ignores"][where]
            for i in range(len(lines)):
                trial = {**case, "ignores": {**case["ignores"], where: lines[:i] + lines[i + 1 :]}}
                if difference(trial, workdir):
                    case, changed = trial, True
                    break
        for path in files(case["tree"]):
            if path in case["tracked"]:
                continue
            trial = {**case, "tree": _without(case["tree"], path.split("/"))}
            if difference(trial, workdir):
                case, changed = trial, True
                break
    return case


def _without(tree: dict, parts: list[str]) -> dict:
    tree = dict(tree)
    if len(parts) == 1:
        del tree[parts[0]]
    else:
        tree[parts[0]] = _without(tree[parts[0]], parts[1:])
    return tree


@pytest.fixture
def hermetic_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No user or system git configuration; an empty core.excludesFile at its default place."""
    home = tmp_path / "home"
    (home / ".config" / "git").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("GIT_DIR", raising=False)
    monkeypatch.delenv("GIT_WORK_TREE", raising=False)
    return tmp_path / "work"


@pytest.mark.parametrize("grammar", ["names", "globs", "layers"])
def test_snapshots_hold_what_git_sees(grammar: str, hermetic_git: Path) -> None:
    rng = random.Random(f"{SEED}-{grammar}")
    for number in range(CASES):
        case = random_case(rng, grammar)
        if difference(case, hermetic_git):
            small = shrink(case, hermetic_git)
            missing, extra = difference(small, hermetic_git)
            pytest.fail(
                f"case {number} of {grammar!r} differs from git: git has {sorted(missing)} "
                f"that the snapshot lacks, the snapshot has {sorted(extra)} that git does not;"
                f" minimal case: {small!r}"
            )
