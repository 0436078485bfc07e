"""Ignore rules for snapshots are git's (gitignore(5)), byte for byte; tmt's own lists win.

tmt asks its rules two ways: :func:`is_ignored` of one path, and, as a snapshot walks a tree,
``Rules.file_verdict`` for files (remembered by name where only names can matter) and
``Rules.verdict`` for folders. Every rule table below is asked both ways (the ``ignored``
fixture), so that a mistake in either one fails.
"""

from __future__ import annotations

import itertools
import os
import signal
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import pytest

from tmt.ignore import (
    DEFAULT_PATTERNS,
    IGNORED,
    IGNORED_FINAL,
    KEEP,
    PatternList,
    Rules,
    byte_view,
    default_list,
    is_environment,
    is_ignored,
    parse_lines,
    read_ignore_file,
    translate,
)


class Lists(NamedTuple):
    """Ignore lists as ``(base, lines)``: git's (root first) and tmt's own."""

    git: tuple
    own: tuple


def rules(*git: tuple[str, list[str]], own: tuple = ()) -> Lists:
    """git lists (base, lines), root first, over the defaults; ``own`` are tmt's lists."""
    return Lists(git, tuple(own))


def compiled(lists: Lists) -> Rules:
    return Rules(
        [PatternList(base, lines) for base, lines in lists.own],
        [PatternList(base, lines) for base, lines in lists.git],
        PatternList("", DEFAULT_PATTERNS),
    )


def make_tree(root: Path, lists: Lists, paths: list[str]) -> None:
    """The lists as ``.gitignore`` and ``.tmtignore`` files under ``root``, and ``paths`` (a
    folder ends in ``/``; a name that is not UTF-8 holds surrogate escapes)."""
    for name, specs in ((".gitignore", lists.git), (".tmtignore", lists.own)):
        bases = [base for base, _ in specs]
        assert len(set(bases)) == len(bases), "one list a folder"
        for base, lines in specs:
            (root / base).mkdir(parents=True, exist_ok=True)
            if lines:  # byte views: each character one byte of the file
                (root / base / name).write_bytes("\n".join(lines).encode("latin-1") + b"\n")
    for path in paths:
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.endswith("/"):
            target.mkdir(exist_ok=True)
        else:
            target.write_bytes(b"")


def walk(root: Path) -> dict[str, int]:
    """The outcome of every entry under ``root`` as a snapshot's walk decides it: each folder's
    rules from its parent's (``Rules.below`` reading its ignore files), one ``file_verdict`` a
    folder, entries in name order. Unlike a snapshot, it enters the folders it leaves out (as
    :func:`is_ignored` assumes a path's folders kept)."""
    outcomes: dict[str, int] = {}

    def visit(folder: str, rel: str, view: str, parent: Rules) -> None:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
        found = parent.below(folder, view, {e.name for e in entries})
        file_verdict = found.file_verdict(view)
        for entry in entries:
            name = byte_view(entry.name)
            if entry.is_dir(follow_symlinks=False):
                outcomes[rel + entry.name] = found.verdict(view + name, name, True)
                visit(entry.path, f"{rel}{entry.name}/", f"{view}{name}/", found)
            else:
                outcomes[rel + entry.name] = file_verdict(view + name, name)

    visit(str(root), "", "", Rules([], [], default_list()))
    assert set(outcomes.values()) <= {KEEP, IGNORED, IGNORED_FINAL}
    return outcomes


def left_out(outcome: int, path: str, tracked: frozenset[str] | set[str]) -> bool:
    return outcome == IGNORED_FINAL or (outcome == IGNORED and path not in tracked)


@pytest.fixture(params=["is_ignored", "walk"])
def ignored(request: pytest.FixtureRequest):
    """``ignored(lists, path, is_dir, tracked=())``: whether ``path`` is left out, asked of
    :func:`is_ignored`, or of a snapshot's walk over a tree holding the lists as files."""
    if request.param == "is_ignored":

        def one_path(lists: Lists, path: str, is_dir: bool, tracked=frozenset()) -> bool:
            return is_ignored(compiled(lists), path, is_dir, tracked)

        return one_path
    tmp_path = request.getfixturevalue("tmp_path")
    trees = itertools.count()

    def walked(lists: Lists, path: str, is_dir: bool, tracked=frozenset()) -> bool:
        root = tmp_path / f"tree{next(trees)}"
        make_tree(root, lists, [path + "/" if is_dir else path])
        return left_out(walk(root)[path], path, tracked)

    return walked


@contextmanager
def deadline(seconds: float):
    """Fail (rather than hang) if the block takes longer than ``seconds``."""

    def expired(*_: object) -> None:
        raise TimeoutError(f"took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class TestGitRules:
    """A pattern matches as git's wildmatch matches it."""

    @pytest.mark.parametrize(
        ("rel", "is_dir", "expected"),
        [
            ("build", True, True),  # directory pattern matches the folder
            ("build", False, False),  # ... but not a file of that name
            ("src/build", True, True),  # unanchored: at any depth
            ("data.csv", False, True),
            ("keep.csv", False, False),  # negation
            ("top", False, True),  # anchored to the root
            ("src/top", False, False),
            ("src/a.py", False, False),
        ],
    )
    def test_root_gitignore(self, ignored, rel: str, is_dir: bool, expected: bool) -> None:
        found = rules(("", ["build/", "*.csv", "!keep.csv", "/top"]))
        assert ignored(found, rel, is_dir) is expected

    def test_a_nested_gitignore_applies_below_its_folder_only(self, ignored) -> None:
        found = rules(("", []), ("sub/", ["*.txt", "/anchored"]))
        assert ignored(found, "sub/a.txt", False)
        assert ignored(found, "sub/deeper/a.txt", False)
        assert ignored(found, "sub/anchored", False)
        assert not ignored(found, "sub/deeper/anchored", False)
        assert not ignored(found, "a.txt", False)

    def test_the_deepest_file_decides(self, ignored) -> None:
        found = rules(("", ["*.log"]), ("sub/", ["!important.log"]))
        assert ignored(found, "other.log", False)
        assert not ignored(found, "sub/important.log", False)
        assert ignored(found, "sub/other.log", False)

    @pytest.mark.parametrize(
        ("patterns", "rel", "is_dir", "expected"),
        [
            (["x/**"], "x/deep/file.py", False, True),  # everything inside x
            (["x/**"], "x", True, False),  # ... but not x itself
            (["**/logs"], "a/b/logs", True, True),
            (["**/logs"], "logs", True, True),
            (["a/**/b"], "a/x/y/b", False, True),
            (["a/**/b"], "a/b", False, True),  # zero folders
            (["a/**/b"], "c/x/b", False, False),
            (["dir/*.py"], "dir/m.py", False, True),
            (["dir/*.py"], "dir/mpy", False, False),
            (["dir/*.py"], "dir/sub/m.py", False, False),  # * does not cross folders
            (["a/*"], "a/b", False, True),
            (["a/*"], "a/b/c", False, False),  # a lone * stays in its component
            (["a/*/c"], "a/x/c", False, True),
            (["a/*/c"], "a/c", False, False),
            (["a/*/c"], "a/x/y/c", False, False),
            (["*/x"], "a/x", False, True),
            (["*/x"], "x", False, False),
            (["*/x"], "a/b/x", False, False),
            (["a**b"], "a/x/b", False, False),  # ** inside a name is *
            (["a/**b"], "a/xb", False, True),  # ... and at the start of one
            (["a/**b"], "a/x/b", False, False),
            (["a\\/b"], "a/b", False, True),  # an escaped / is a /
            (["a*\\/b"], "ax/b", False, True),
            (["a*\\/b"], "ax/y/b", False, False),
            (["**\\/x"], "a/b/x", False, True),  # **\/ needs one folder at least
            (["**\\/x"], "x", False, False),
            (["a*x/b"], "axx/b", False, True),  # the last piece of a component may repeat
            (["\\!odd"], "!odd", False, True),  # an escaped leading !
            (["\\#hash"], "#hash", False, True),
            (["*.py", "!main.py"], "src/main.py", False, False),
            (["!main.py", "*.py"], "src/main.py", False, True),  # order matters
            (["build/", "!build/"], "build", True, False),
            (["/top", "build/"], "build", False, False),  # with a path pattern too
            (["*/"], "pkg", True, True),  # any folder
            (["*/"], "file", False, False),
            (["**/"], "pkg", True, True),
            (["*"], "anything.txt", False, True),
            (["[[:upper:]]*"], "Readme", False, True),  # POSIX classes
            (["[[:upper:]]*"], "readme", False, False),
            (["[!a]b"], "cb", False, True),
            (["[!a]b"], "!b", False, True),
            (["[^a]b"], "ab", False, False),
            (["[a-c]x"], "bx", False, True),
            (["[a-c]x"], "-x", False, False),
            (["[a-]x"], "-x", False, True),  # a - before ] is literal
            (["[a-]x"], "ax", False, True),
            (["[a-\\c]x"], "bx", False, True),  # an escaped end of a range
            (["[\\]]x"], "]x", False, True),  # an escaped ]
            (["[]]x"], "]x", False, True),  # a leading ] is literal
            (["[[]x"], "[x", False, True),  # so is a [ that starts no class
            (["[a:]x"], "ax", False, True),
            (["[a:]x"], ":x", False, True),
            (["[[:]x"], ":x", False, True),  # "[:" without a name is no class
            (["[[:]x"], "[x", False, True),
            (["[[:]:]]"], "::]]", False, True),
            (["[[::]]x"], ":]x", False, False),  # an empty class name never matches
            (["[ab]"], "X", False, False),
            (["[ab]"], "b", False, True),
            (["[z-a]x"], "mx", False, False),  # a reversed range is empty ...
            (["[z-a]x"], "zx", False, True),  # ... but its first character counts alone
            (["[!z-a]x"], "qx", False, True),
            (["[!z-a]x"], "zx", False, False),
            (["a?c"], "a/c", False, False),  # ? never matches /
            (["a[/]c"], "a/c", False, False),
            (["bin\\"], "bin", False, False),  # a trailing backslash never matches
            (["foo["], "foo[", False, False),  # an unclosed [ never matches
            (["[a-"], "[a-", False, False),
            (["[[:nope:]]"], "n", False, False),  # an unknown class never matches
            (["!"], "x", False, False),  # a lone ! is nothing
            (["!", "*.log"], "a.log", False, True),  # ... and costs nothing after it
            (["/", "*.log"], "a.log", False, True),
            (["foo[", "b*r"], "bar", False, True),  # a pattern that never matches, too
            (["a?", "b?"], "bx", False, True),  # several globs of names
            (["a?", "d/e*"], "d/ef", False, True),  # globs of names, then of paths
        ],
    )
    def test_gits_pattern_rules(self, ignored, patterns, rel, is_dir, expected) -> None:
        assert ignored(rules(("", patterns)), rel, is_dir) is expected

    @pytest.mark.parametrize(
        ("cls", "inside", "outside"),
        [
            ("alnum", "7", "_"),
            ("alpha", "q", "7"),
            ("blank", " ", "_"),
            ("cntrl", "\x01", "a"),
            ("digit", "5", "a"),
            ("graph", "!", " "),
            ("lower", "q", "Q"),
            ("print", " ", "\x7f"),
            ("punct", "_", "a"),
            ("space", " ", "a"),
            ("upper", "Q", "q"),
            ("xdigit", "f", "g"),
        ],
    )
    def test_every_posix_class(self, ignored, cls: str, inside: str, outside: str) -> None:
        found = rules(("", [f"[[:{cls}:]]x"]))
        assert ignored(found, inside + "x", False)
        assert not ignored(found, outside + "x", False)

    def test_matching_is_byte_by_byte_as_in_git(self, ignored) -> None:
        # "é" is two bytes in UTF-8: one "?" does not match it, two do
        assert not ignored(rules(("", ["a?"])), "aé", False)
        assert ignored(rules(("", ["a??"])), "aé", False)
        lines = parse_lines("*é\n".encode())  # as read from a file: a byte view
        assert ignored(rules(("", lines)), "café", False)

    def test_a_name_that_is_not_utf8_is_matched_by_its_bytes(self, ignored) -> None:
        name = os.fsdecode(b"caf\xe9")  # one byte for the "é", as Latin-1 writes it
        assert ignored(rules(("", ["caf?"])), name, False)
        assert not ignored(rules(("", ["caf??"])), name, False)

    def test_many_stars_cost_linear_time(self, ignored) -> None:
        """Each piece between stars is matched at its first place, as git's wildmatch does:
        no exponential backtracking on a hostile ``.gitignore``."""
        with deadline(2.0):
            assert not ignored(rules(("", ["*a" * 16 + "*b"])), "a" * 40, False)
            assert ignored(rules(("", ["*a" * 16 + "*b"])), "a" * 40 + "b", False)


class TestTheWalk:
    """A snapshot's walk reuses a folder's rules below it and remembers file verdicts by name
    where no path pattern can apply: the same name elsewhere still gets its own verdict."""

    @pytest.mark.parametrize(
        ("lists", "files", "expected"),
        [
            (rules(("", ["/top"])), ["sub/top", "top"], {"top"}),
            (rules(("", ["a/b"])), ["a/b", "c/b"], {"a/b"}),
            (rules(("", ["a/b"])), ["b", "a/b", "a/c/b"], {"a/b"}),
            (rules(("", ["a/**/b"])), ["a/x/y/b", "c/d/e/b"], {"a/x/y/b"}),
            (rules(("", ["*/x"])), ["a/x", "b/c/x", "x"], {"a/x"}),
            (rules(("", ["d*/x"])), ["da/x", "ea/x"], {"da/x"}),
            (rules(("", ["/top", "build/"])), ["build", "top", "sub/build"], {"top"}),
            (rules(("", []), ("sub/", ["/top"])), ["sub/top", "sub/deep/top", "top"], {"sub/top"}),
            (rules(own=[("sub/", ["*.log"])]), ["sub/a.log", "a.log", "b/a.log"], {"sub/a.log"}),
            (rules(("", ["*.log"]), ("b/", ["!a.log"])), ["a.log", "b/a.log"], {"a.log"}),
        ],
    )
    def test_each_file_gets_its_own_verdict(
        self, tmp_path: Path, lists: Lists, files: list[str], expected: set[str]
    ) -> None:
        make_tree(tmp_path, lists, files)
        outcomes = walk(tmp_path)
        assert {f for f in files if left_out(outcomes[f], f, ())} == expected
        assert {f for f in files if is_ignored(compiled(lists), f, False)} == expected

    def test_a_folder_without_ignore_files_shares_its_parents_rules(self, tmp_path) -> None:
        found = Rules([], [PatternList("", ["*.log"])], default_list())
        assert found.below(str(tmp_path), "sub/", {"a.py", "b"}) is found

    def test_a_folder_with_an_ignore_file_gets_rules_of_its_own(self, tmp_path: Path) -> None:
        (tmp_path / ".gitignore").write_text("*.log\n")
        (tmp_path / ".tmtignore").write_text("*.tmp\n")
        found = Rules([], [], default_list())
        below = found.below(str(tmp_path), "sub/", {".gitignore", ".tmtignore"})
        assert below is not found
        assert [lst.base for lst in below.git] == ["sub/"]
        assert [lst.base for lst in below.own] == ["sub/"]
        assert below.verdict("sub/a.log", "a.log", False) == IGNORED
        assert below.verdict("sub/a.tmp", "a.tmp", False) == IGNORED_FINAL
        assert below.verdict("sub/a.py", "a.py", False) == KEEP

    def test_an_empty_ignore_file_adds_no_list(self, tmp_path: Path) -> None:
        (tmp_path / ".gitignore").write_text("# nothing\n")
        found = Rules([], [], default_list())
        assert found.below(str(tmp_path), "", {".gitignore"}) is found

    def test_a_symlinked_gitignore_is_not_read(self, tmp_path: Path) -> None:
        (tmp_path / "patterns").write_text("*.log\n")
        (tmp_path / ".gitignore").symlink_to("patterns")
        (tmp_path / "a.log").touch()
        assert walk(tmp_path)["a.log"] == KEEP


class TestReadingAnIgnoreFile:
    @pytest.mark.parametrize(
        ("data", "patterns"),
        [
            (b"a\nb\r\n", ["a", "b"]),  # CRLF line ends
            (b"a\rb\n", ["a\rb"]),  # a lone CR is part of the pattern
            (b"\xef\xbb\xbfa\n", ["a"]),  # a BOM is skipped
            (b"a  \n", ["a"]),  # trailing spaces trimmed
            (b"a\\ \n", ["a\\ "]),  # ... unless escaped
            (b"foo\\   \n", ["foo\\ "]),
            (b"\\  \n", ["\\ "]),
            (b"   \n", []),  # only spaces: nothing
            (b"a b \n", ["a b"]),  # inner spaces are kept
            (b"a\t\n", ["a\t"]),  # a trailing tab is kept
            (b" a\n", [" a"]),  # so is a leading space
            (b"# comment\n\n", []),
            (b"a\n\n# comment\nb\n", ["a", "b"]),
            (b"a\0b\n", ["a"]),  # a NUL ends the line
            (b"last", ["last"]),  # no final newline
            ("é\n".encode(), ["\xc3\xa9"]),  # a byte view: one character a byte
        ],
    )
    def test_lines_are_read_as_git_reads_them(self, data: bytes, patterns: list) -> None:
        assert parse_lines(data) == patterns

    def test_a_pattern_translates_to_none_when_git_never_matches_it(self) -> None:
        assert translate("bin\\") is None
        assert translate("[abc") is None
        assert translate("[\\") is None
        assert translate("[a-\\") is None
        assert translate("[[:alpha:]") is None
        assert translate("*.py") is not None

    def test_a_file_is_read_whole(self, tmp_path: Path) -> None:
        lines = [f"pattern{i}" for i in range(500)]
        (tmp_path / ".gitignore").write_text("\n".join(lines))
        assert read_ignore_file(str(tmp_path / ".gitignore")) == lines

    def test_a_missing_file_has_no_patterns(self, tmp_path: Path) -> None:
        assert read_ignore_file(str(tmp_path / ".gitignore")) == []

    @pytest.mark.parametrize("kind", ["folder", "symlink", "fifo", "below a file"])
    def test_what_is_not_a_file_has_no_patterns_and_no_warning(self, tmp_path, kind) -> None:
        path = tmp_path / ".gitignore"
        (tmp_path / "target").write_text("*.log\n")
        if kind == "folder":
            path.mkdir()
        elif kind == "symlink":
            path.symlink_to("target")
        elif kind == "fifo":
            os.mkfifo(path)
        else:
            path = tmp_path / "target" / ".gitignore"
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert read_ignore_file(str(path)) == []

    def test_a_file_named_in_configuration_may_be_a_symlink(self, tmp_path: Path) -> None:
        (tmp_path / "target").write_text("*.log\n")
        (tmp_path / "link").symlink_to("target")
        assert read_ignore_file(str(tmp_path / "link"), follow_symlinks=True) == ["*.log"]

    def test_a_file_over_100_mib_is_not_used_with_a_warning(self, tmp_path: Path) -> None:
        path = tmp_path / ".gitignore"
        with open(path, "wb") as f:
            f.truncate(100 * 1024 * 1024 + 1)  # sparse: costs no disk
        with pytest.warns(UserWarning) as caught:
            assert read_ignore_file(str(path)) == []
        (warning,) = caught
        assert str(warning.message) == (
            f"tmt: {path}: ignore file not used: larger than 104,857,600 bytes"
        )
        assert warning.filename == __file__  # the caller's line, not tmt's


class TestPatternList:
    """One ignore file's patterns: the last that matches decides."""

    def test_a_list_is_true_when_it_has_patterns(self) -> None:
        assert PatternList("", ["a"])
        assert PatternList("", ["!a"])
        assert not PatternList("", [])

    @pytest.mark.parametrize(
        ("lines", "path", "is_dir", "verdict"),
        [
            (["a"], "a", False, True),
            (["a"], "b", False, None),
            (["*.log", "!keep.log"], "keep.log", False, False),
            (["*.log", "!keep.log"], "x.log", False, True),
            (["build/"], "build", False, None),
            (["build/"], "build", True, True),
            (["/a/b"], "a/b", False, True),
        ],
    )
    def test_verdict(self, lines, path: str, is_dir: bool, verdict) -> None:
        name = path.rpartition("/")[2]
        assert PatternList("", lines).verdict(path, name, is_dir) is verdict


class TestByteView:
    def test_an_ascii_name_is_its_own_view(self) -> None:
        assert byte_view("a.py") == "a.py"

    def test_a_utf8_name_is_a_character_per_byte(self) -> None:
        assert byte_view("é") == "\xc3\xa9"

    def test_a_name_that_is_not_utf8_is_its_bytes(self) -> None:
        assert byte_view(os.fsdecode(b"caf\xe9")) == "caf\xe9"


class TestPrecedence:
    def test_a_negated_folder_does_not_bring_back_files_other_patterns_leave_out(
        self, ignored
    ) -> None:
        found = rules(("", ["*.json", "!config/local"]))
        assert not ignored(found, "config/local", True)
        assert ignored(found, "config/local/settings.json", False)

    def test_a_nested_negation_reopens_a_folder_the_root_leaves_out(self, ignored) -> None:
        found = rules(("", ["a/b"]), ("a/", ["!b"]))
        assert not ignored(found, "a/b", True)
        assert not ignored(found, "a/b/x.py", False)

    def test_a_tracked_file_is_kept_whatever_git_rules_say(self, ignored) -> None:
        found = rules(("", ["*.pyi"]))
        assert not ignored(found, "stub.pyi", False, tracked={"stub.pyi"})
        assert ignored(found, "other.pyi", False, tracked={"stub.pyi"})

    def test_tmts_own_lists_win_over_git_and_tracking(self, ignored) -> None:
        found = rules(("", ["!notes.ipynb"]), own=[("", ["*.ipynb"])])
        assert ignored(found, "notes.ipynb", False, tracked={"notes.ipynb"})
        found = rules(("", ["*.log"]), own=[("", ["!keep.log"])])
        assert not ignored(found, "keep.log", False)
        assert ignored(found, "other.log", False)

    def test_a_deeper_own_list_wins_over_a_shallower_one(self, ignored) -> None:
        found = rules(own=[("", ["*.log"]), ("sub/", ["!keep.log"])])
        assert not ignored(found, "sub/keep.log", False)
        assert ignored(found, "keep.log", False, tracked={"keep.log"})


class TestDefaults:
    """Caches stay out unless a pattern brings them back; code named like one stays in."""

    @pytest.mark.parametrize(
        ("rel", "is_dir"),
        [
            ("__pycache__", True),
            ("pkg/__pycache__", True),
            ("mod.pyc", False),
            ("pkg/mod.pyo", False),
            (".ipynb_checkpoints", True),
            (".mypy_cache", True),
            (".pytest_cache", True),
            (".ruff_cache", True),
            (".tox", True),
            (".nox", True),
            ("node_modules", True),
            ("tmt.egg-info", True),
            (".DS_Store", False),
            ("pkg/.DS_Store", False),
        ],
    )
    def test_caches_stay_out(self, ignored, rel: str, is_dir: bool) -> None:
        assert ignored(rules(), rel, is_dir)

    @pytest.mark.parametrize(
        ("rel", "is_dir"),
        [
            ("__pycache__", False),  # the folder patterns do not take files
            ("node_modules", False),
            ("mod.py", False),
            ("mod.pyd", False),
            ("venv", True),
            ("tools/venv/__init__.py", False),
            (".tox.ini", False),
        ],
    )
    def test_code_stays_in(self, ignored, rel: str, is_dir: bool) -> None:
        assert not ignored(rules(), rel, is_dir)

    def test_a_pattern_can_bring_a_cache_back(self, ignored) -> None:
        assert not ignored(rules(("", ["!__pycache__/"])), "__pycache__", True)
        assert not ignored(rules(own=[("", ["!*.pyc"])]), "mod.pyc", False)

    def test_the_defaults_are_compiled_once(self) -> None:
        assert default_list() is default_list()
        assert default_list().base == ""
        assert default_list().verdict("__pycache__", "__pycache__", True) is True


class TestEnvironments:
    """A folder holding a virtualenv or a conda environment is recognised by its content."""

    @pytest.mark.parametrize(
        ("names", "expected"),
        [
            ({"pyvenv.cfg", "bin", "lib"}, True),
            ({"conda-meta", "bin"}, True),
            ({"pyvenv.cfg", "conda-meta"}, True),
            ({"bin", "lib", "__init__.py"}, False),
            (set(), False),
        ],
    )
    def test_is_environment(self, names: set[str], expected: bool) -> None:
        assert is_environment(names) is expected
