"""Ignore rules for snapshots follow git: nested files, directory patterns, anchors, negation."""

from __future__ import annotations

import pytest

from tmt.ignore import DEFAULT_PATTERNS, Layer, is_ignored


def layers(*specs: tuple[str, list[str]]) -> list[Layer]:
    """The defaults and the root's patterns as one layer, as a snapshot builds them."""
    root = [*DEFAULT_PATTERNS, *(specs[0][1] if specs else [])]
    return [Layer("", root), *(Layer(base, lines) for base, lines in specs[1:])]


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
        rules = layers(("", ["build/", "*.csv", "!keep.csv", "/top"]))
        assert is_ignored(rules, rel, is_dir) is ignored

    def test_a_nested_gitignore_applies_below_its_folder_only(self) -> None:
        rules = layers(("", []), ("sub/", ["*.txt", "/anchored"]))
        assert is_ignored(rules, "sub/a.txt", False)
        assert is_ignored(rules, "sub/deeper/a.txt", False)
        assert is_ignored(rules, "sub/anchored", False)
        assert not is_ignored(rules, "sub/deeper/anchored", False)

    def test_the_deepest_file_decides(self) -> None:
        rules = layers(("", ["*.log"]), ("sub/", ["!important.log"]))
        assert is_ignored(rules, "other.log", False)
        assert not is_ignored(rules, "sub/important.log", False)

    @pytest.mark.parametrize(
        ("patterns", "rel", "is_dir", "ignored"),
        [
            (["x/**"], "x/deep/file.py", False, True),  # everything inside x
            (["**/logs"], "a/b/logs", True, True),
            (["a/**/b"], "a/x/y/b", False, True),
            (["dir/*.py"], "dir/m.py", False, True),
            (["dir/*.py"], "dir/sub/m.py", False, False),  # * does not cross folders
            (["\\!odd"], "!odd", False, True),  # an escaped leading !
            (["*.py", "!main.py"], "src/main.py", False, False),
            (["!main.py", "*.py"], "src/main.py", False, True),  # order matters
            (["build/", "!build/"], "build", True, False),
        ],
    )
    def test_more_of_gits_pattern_rules(self, patterns, rel, is_dir, ignored) -> None:
        assert is_ignored(layers(("", patterns)), rel, is_dir) is ignored

    def test_defaults_leave_caches_out_and_can_be_undone(self) -> None:
        assert is_ignored(layers(), "__pycache__", True)
        assert is_ignored(layers(), "pkg/mod.pyc", False)
        assert is_ignored(layers(), ".venv", True)
        assert not is_ignored(layers(("", ["!.venv/"])), ".venv", True)
