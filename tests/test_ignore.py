"""Ignore rules for snapshots are git's (gitignore(5)), byte for byte; tmt's own lists win."""

from __future__ import annotations

import pytest

from tmt.ignore import (
    DEFAULT_PATTERNS,
    PatternList,
    Rules,
    is_ignored,
    parse_lines,
    translate,
)


def rules(*specs: tuple[str, list[str]], own: tuple = ()) -> Rules:
    """git lists (base, lines), root first, over the defaults; ``own`` are tmt's lists."""
    return Rules(
        [PatternList(base, lines) for base, lines in own],
        [PatternList(base, lines) for base, lines in specs],
        PatternList("", DEFAULT_PATTERNS),
    )


class TestGitRules:
    @pytest.mark.parametrize(
        ("rel", "is_dir", "ignored"),
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
    def test_root_gitignore(self, rel: str, is_dir: bool, ignored: bool) -> None:
        found = rules(("", ["build/", "*.csv", "!keep.csv", "/top"]))
        assert is_ignored(found, rel, is_dir) is ignored

    def test_a_nested_gitignore_applies_below_its_folder_only(self) -> None:
        found = rules(("", []), ("sub/", ["*.txt", "/anchored"]))
        assert is_ignored(found, "sub/a.txt", False)
        assert is_ignored(found, "sub/deeper/a.txt", False)
        assert is_ignored(found, "sub/anchored", False)
        assert not is_ignored(found, "sub/deeper/anchored", False)
        assert not is_ignored(found, "a.txt", False)

    def test_the_deepest_file_decides(self) -> None:
        found = rules(("", ["*.log"]), ("sub/", ["!important.log"]))
        assert is_ignored(found, "other.log", False)
        assert not is_ignored(found, "sub/important.log", False)

    @pytest.mark.parametrize(
        ("patterns", "rel", "is_dir", "ignored"),
        [
            (["x/**"], "x/deep/file.py", False, True),  # everything inside x
            (["x/**"], "x", True, False),  # ... but not x itself
            (["**/logs"], "a/b/logs", True, True),
            (["**/logs"], "logs", True, True),
            (["a/**/b"], "a/x/y/b", False, True),
            (["a/**/b"], "a/b", False, True),  # zero folders
            (["dir/*.py"], "dir/m.py", False, True),
            (["dir/*.py"], "dir/sub/m.py", False, False),  # * does not cross folders
            (["a**b"], "a/x/b", False, False),  # ** inside a name is *
            (["\\!odd"], "!odd", False, True),  # an escaped leading !
            (["\\#hash"], "#hash", False, True),
            (["*.py", "!main.py"], "src/main.py", False, False),
            (["!main.py", "*.py"], "src/main.py", False, True),  # order matters
            (["build/", "!build/"], "build", True, False),
            (["*/"], "pkg", True, True),  # any folder
            (["*/"], "file", False, False),
            (["**/"], "pkg", True, True),
            (["[[:upper:]]*"], "Readme", False, True),  # POSIX classes
            (["[[:upper:]]*"], "readme", False, False),
            (["[!a]b"], "cb", False, True),
            (["[^a]b"], "ab", False, False),
            (["[a-c]x"], "bx", False, True),
            (["[]]x"], "]x", False, True),  # a leading ] is literal
            (["a?c"], "a/c", False, False),  # ? never matches /
            (["a[/]c"], "a/c", False, False),
            (["bin\\"], "bin", False, False),  # a trailing backslash never matches
            (["foo["], "foo[", False, False),  # an unclosed [ never matches
            (["[[:nope:]]"], "n", False, False),  # an unknown class never matches
            (["!"], "x", False, False),  # a lone ! is nothing
        ],
    )
    def test_gits_pattern_rules(self, patterns, rel, is_dir, ignored) -> None:
        assert is_ignored(rules(("", patterns)), rel, is_dir) is ignored

    def test_matching_is_byte_by_byte_as_in_git(self) -> None:
        # "é" is two bytes in UTF-8: one "?" does not match it, two do
        assert not is_ignored(rules(("", ["a?"])), "aé", False)
        assert is_ignored(rules(("", ["a??"])), "aé", False)
        lines = parse_lines("*é\n".encode())  # as read from a file: a byte view
        assert is_ignored(rules(("", lines)), "café", False)


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
            (b"a\t\n", ["a\t"]),  # a trailing tab is kept
            (b" a\n", [" a"]),  # so is a leading space
            (b"# comment\n\n", []),
            (b"a\0b\n", ["a"]),  # a NUL ends the line
            (b"last", ["last"]),  # no final newline
        ],
    )
    def test_lines_are_read_as_git_reads_them(self, data: bytes, patterns: list) -> None:
        assert parse_lines(data) == patterns

    def test_a_pattern_translates_to_none_when_git_never_matches_it(self) -> None:
        assert translate("bin\\") is None
        assert translate("[abc") is None
        assert translate("*.py") is not None


class TestPrecedence:
    def test_a_negated_folder_does_not_bring_back_files_other_patterns_leave_out(self) -> None:
        found = rules(("", ["*.json", "!config/local"]))
        assert not is_ignored(found, "config/local", True)
        assert is_ignored(found, "config/local/settings.json", False)

    def test_a_nested_negation_reopens_a_folder_the_root_leaves_out(self) -> None:
        found = rules(("", ["a/b"]), ("a/", ["!b"]))
        assert not is_ignored(found, "a/b", True)
        assert not is_ignored(found, "a/b/x.py", False)

    def test_a_tracked_file_is_kept_whatever_git_rules_say(self) -> None:
        found = rules(("", ["*.pyi"]))
        assert not is_ignored(found, "stub.pyi", False, tracked={"stub.pyi"})

    def test_tmts_own_lists_win_over_git_and_tracking(self) -> None:
        found = rules(("", ["!notes.ipynb"]), own=[("", ["*.ipynb"])])
        assert is_ignored(found, "notes.ipynb", False, tracked={"notes.ipynb"})
        found = rules(("", ["*.log"]), own=[("", ["!keep.log"])])
        assert not is_ignored(found, "keep.log", False)


class TestDefaults:
    def test_caches_stay_out_and_a_pattern_can_bring_them_back(self) -> None:
        assert is_ignored(rules(), "__pycache__", True)
        assert is_ignored(rules(), "pkg/mod.pyc", False)
        assert not is_ignored(rules(("", ["!__pycache__/"])), "__pycache__", True)

    def test_a_code_package_named_venv_is_kept(self) -> None:
        assert not is_ignored(rules(), "venv", True)
        assert not is_ignored(rules(), "tools/venv/__init__.py", False)
