"""DbManager: the 0.1.x queries, over every run of the store."""

from __future__ import annotations

import time
from datetime import date, datetime
from pathlib import Path

import pytest

from tmt import TmtManager, tmt_recorder


@pytest.fixture
def db(project: Path):
    names = ["resnet_small", "resnet_large", "vit_base"]
    for name in names:
        tmt_recorder(name=name)(lambda: None)()
        time.sleep(0.01)
    return TmtManager().db


def names(entries) -> list[str]:
    return [e.name for e in entries]


class TestQueries:
    def test_all_entries_oldest_first(self, db) -> None:
        assert names(db.get_all_entries()) == ["resnet_small", "resnet_large", "vit_base"]

    def test_by_id(self, db) -> None:
        first = db.get_all_entries()[0]
        assert db.get_entry_by_id(first.id) == first
        assert db.get_entry_by_id("missing") is None

    @pytest.mark.parametrize("bad", ["", "../x", ".hidden", "a/b"])
    def test_by_id_never_leaves_the_store(self, db, bad: str) -> None:
        assert db.get_entry_by_id(bad) is None

    def test_by_exact_name(self, db) -> None:
        assert db.get_entry_by_exact_name("vit_base").name == "vit_base"
        assert db.get_entry_by_exact_name("vit") is None

    def test_by_name_substring(self, db) -> None:
        assert names(db.get_entries_by_name("resnet")) == ["resnet_small", "resnet_large"]

    def test_by_name_regex(self, db) -> None:
        assert names(db.get_entries_by_name_regex(r"_(small|base)$")) == [
            "resnet_small",
            "vit_base",
        ]

    def test_bad_regex_is_a_clear_error(self, db) -> None:
        with pytest.raises(ValueError, match=r"invalid regular expression '\('"):
            db.get_entries_by_name_regex("(")


class TestDates:
    def test_between_datetimes_and_epoch_ints(self, db) -> None:
        entries = db.get_all_entries()
        second = entries[1]
        assert names(db.get_entries_between_dates(second.started, entries[2].started)) == [
            "resnet_large",
            "vit_base",
        ]
        assert len(db.get_entries_between_dates(0, int(time.time()) + 10)) == 3

    def test_greater_and_lower_than(self, db) -> None:
        entries = db.get_all_entries()
        middle = entries[1].started
        assert names(db.get_entries_greater_than_date(middle)) == ["vit_base"]
        assert names(db.get_entries_lower_than_date(middle)) == ["resnet_small"]

    def test_naive_datetimes_are_local_time(self, db) -> None:
        past = datetime.now().replace(year=2000)
        assert len(db.get_entries_greater_than_date(past)) == 3

    def test_dates_mean_their_midnight(self, db) -> None:
        assert len(db.get_entries_greater_than_date(date(2000, 1, 1))) == 3
        assert db.get_entries_lower_than_date(date(2000, 1, 1)) == []

    def test_dates_as_text_are_read_as_tmt_list_reads_them(self, db) -> None:
        assert db.get_entries_greater_than_date("2000-01-01") == db.get_all_entries()
        assert db.get_entries_lower_than_date("2000-01-01") == []

    def test_a_date_it_cannot_read_is_a_clear_error(self, db) -> None:
        with pytest.raises(ValueError, match=r"^date: cannot read 'soon' as a date"):
            db.get_entries_greater_than_date("soon")
        with pytest.raises(TypeError, match=r"^first: a date must be"):
            db.get_entries_between_dates([2026], 0)
        with pytest.raises(TypeError, match=r"^second: a date must be"):
            db.get_entries_between_dates(0, [2026])
        with pytest.raises(ValueError, match=r"^date: cannot read"):
            db.get_entries_lower_than_date("soon")

    def test_a_run_is_found_by_its_own_start_to_the_microsecond(self, db) -> None:
        run = db.get_all_entries()[0]
        assert run in db.get_entries_between_dates(run.started, run.started)
        assert run not in db.get_entries_greater_than_date(run.started)
        assert run not in db.get_entries_lower_than_date(run.start_time)
