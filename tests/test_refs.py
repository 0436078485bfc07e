"""Run references: ids, prefixes, last, last~N, names and NAME~N."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tmt.entry import Entry
from tmt.errors import EntryNotFound
from tmt.refs import AmbiguousReference, resolve


def store(oldest_first: list[Entry]) -> Callable[..., list[Entry]]:
    """What the manager gives ``resolve``: the runs, newest first, found by name, id prefix,
    at most ``limit``."""

    def runs(name=None, prefix=None, limit=None, run_id=None) -> list[Entry]:
        found = [
            e
            for e in reversed(oldest_first)
            if (name is None or e.name == name)
            and (prefix is None or e.id.startswith(prefix))
            and (run_id is None or e.id == run_id)
        ]
        return found[:limit]

    return runs


RUNS = store(
    [
        Entry({"id": "aa11aa11aa11", "name": "mnist", "start_time": 1}, "/"),
        Entry({"id": "aa22bb22bb22", "name": "cifar", "start_time": 2}, "/"),
        Entry({"id": "cc33cc33cc33", "name": "mnist", "start_time": 3}, "/"),
    ]
)


class TestResolve:
    @pytest.mark.parametrize(
        ("ref", "expected"),
        [
            ("aa22bb22bb22", "aa22bb22bb22"),  # a full id
            ("cc3", "cc33cc33cc33"),  # a unique prefix
            ("last", "cc33cc33cc33"),
            ("last~1", "aa22bb22bb22"),
            ("last~2", "aa11aa11aa11"),
            ("mnist", "cc33cc33cc33"),  # the newest of an experiment
            ("mnist~1", "aa11aa11aa11"),
            (" cifar ", "aa22bb22bb22"),
        ],
    )
    def test_references(self, ref: str, expected: str) -> None:
        assert resolve(ref, RUNS).id == expected

    def test_an_id_that_begins_other_ids_is_still_its_own(self) -> None:
        runs = store(
            [
                Entry({"id": i, "name": "n", "start_time": t}, "/")
                for t, i in enumerate(["1", "10", "11", "12"])
            ]
        )
        assert resolve("1", runs).id == "1"

    def test_an_ambiguous_prefix_lists_the_candidates(self) -> None:
        with pytest.raises(AmbiguousReference, match=r"'aa' matches 2 runs: aa22.*\(cifar\), aa11"):
            resolve("aa", RUNS)

    @pytest.mark.parametrize("ref", ["zz", "last~3", "mnist~2", "", "nope~1"])
    def test_nothing_matches(self, ref: str) -> None:
        with pytest.raises(EntryNotFound):
            resolve(ref, RUNS)


class TestMessages:
    """What an error says names the reference and what there is instead."""

    def test_too_far_back_says_how_many_there_are(self) -> None:
        with pytest.raises(EntryNotFound, match=r"^'last~3': there are only 3 runs$"):
            resolve("last~3", RUNS)
        with pytest.raises(EntryNotFound, match=r"^'mnist~2': there are only 2 runs of 'mnist'$"):
            resolve("mnist~2", RUNS)

    @pytest.mark.parametrize("ref", ["", "   ", None, 3])
    def test_a_reference_must_be_text(self, ref: object) -> None:
        with pytest.raises(EntryNotFound, match="must be a non-empty string"):
            resolve(ref, RUNS)  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        ("count", "more"), [(10, ""), (11, " and 1 more"), (13, " and 3 more")]
    )
    def test_an_ambiguous_prefix_lists_ten_candidates_at_most(self, count: int, more: str) -> None:
        runs = [
            Entry({"id": f"ab{i:010d}", "name": "n", "start_time": i}, "/") for i in range(count)
        ]
        with pytest.raises(AmbiguousReference) as caught:
            resolve("ab", store(runs))
        message = str(caught.value)
        assert message.count("(n)") == min(count, 10)
        assert message.endswith(f"(n){more}; give more of the id")
