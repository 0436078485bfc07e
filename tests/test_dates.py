"""Dates as people type them, read to the exact second."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone

import pytest

from tmt.dates import parse_when
from tmt.errors import ArgumentError, ArgumentTypeError, TmtError

# Expected values are exact: an age is ``NOW`` less a whole number of seconds, so that a unit
# off by one second (86401 for a day) fails, where a tolerance would let it pass.
NOW = datetime(2026, 11, 22, 15, 30, 45, 250000).timestamp()
MINUTE, HOUR, DAY = 60, 3600, 86400


class TestAges:
    """An age is that long before ``now``: s, m, h, d and w are 1, 60, 3600, 86400, 604800 s."""

    @pytest.mark.parametrize(
        ("text", "seconds"),
        [
            ("1s", 1),
            ("45s", 45),
            ("1m", MINUTE),
            ("30m", 30 * MINUTE),
            ("1h", HOUR),
            ("12h", 12 * HOUR),
            ("1d", DAY),
            ("3d", 3 * DAY),
            ("1w", 7 * DAY),
            ("2w", 14 * DAY),
            ("0d", 0),
        ],
    )
    def test_each_unit_is_exact(self, text: str, seconds: int) -> None:
        assert parse_when(text, now=NOW) == NOW - seconds

    @pytest.mark.parametrize(
        ("text", "seconds"),
        [
            ("1.5h", 1.5 * HOUR),
            ("0.5d", DAY / 2),
            ("3 d", 3 * DAY),  # a space between number and unit
            ("3D", 3 * DAY),  # units in either case
            ("2W", 14 * DAY),
            (" 12h ", 12 * HOUR),  # surrounding spaces
            ("10M", 10 * MINUTE),  # M is minutes, as m: there is no unit of months
        ],
    )
    def test_fractions_spaces_and_case(self, text: str, seconds: float) -> None:
        assert parse_when(text, now=NOW) == NOW - seconds

    def test_an_age_counts_back_from_the_current_time_when_no_now_is_given(self) -> None:
        before = time.time()
        found = parse_when("1h")
        after = time.time()
        assert before - HOUR <= found <= after - HOUR


class TestWords:
    """``now``, ``today`` (local midnight) and ``yesterday`` (the midnight before)."""

    def test_now_is_now_to_the_microsecond(self) -> None:
        assert parse_when("now", now=NOW) == NOW
        assert parse_when(" NOW ", now=NOW) == NOW

    def test_now_without_now_is_the_current_time(self) -> None:
        before = time.time()
        found = parse_when("now")
        assert before <= found <= time.time()

    def test_today_is_local_midnight(self) -> None:
        assert parse_when("today", now=NOW) == datetime(2026, 11, 22).timestamp()
        assert parse_when("Today", now=NOW) == datetime(2026, 11, 22).timestamp()

    def test_yesterday_is_the_midnight_before(self) -> None:
        assert parse_when("yesterday", now=NOW) == datetime(2026, 11, 21).timestamp()
        assert parse_when("YESTERDAY", now=NOW) == datetime(2026, 11, 21).timestamp()

    def test_midnight_itself_is_today(self) -> None:
        midnight = datetime(2026, 3, 1).timestamp()
        assert parse_when("today", now=midnight) == midnight
        assert parse_when("yesterday", now=midnight) == datetime(2026, 2, 28).timestamp()

    def test_today_without_now_is_todays_midnight(self) -> None:
        expected = datetime.combine(date.today(), datetime.min.time()).timestamp()
        assert parse_when("today") in (expected, expected + DAY)  # unless midnight passes


class TestIsoText:
    """ISO dates are local midnight, ISO datetimes local time unless they carry an offset."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("2026-11-01", datetime(2026, 11, 1)),
            ("2026-11-01T14:30", datetime(2026, 11, 1, 14, 30)),
            ("2026-11-01 14:30:15", datetime(2026, 11, 1, 14, 30, 15)),
            ("2026-11-01T14:30:15.250", datetime(2026, 11, 1, 14, 30, 15, 250000)),
            ("  2026-11-01  ", datetime(2026, 11, 1)),
        ],
    )
    def test_local_dates_and_times(self, text: str, expected: datetime) -> None:
        assert parse_when(text, now=NOW) == expected.timestamp()

    def test_an_offset_is_honoured(self) -> None:
        utc = datetime(2026, 11, 1, 14, 30, tzinfo=timezone.utc).timestamp()
        assert parse_when("2026-11-01T14:30+00:00", now=NOW) == utc
        assert parse_when("2026-11-01T16:30+02:00", now=NOW) == utc

    def test_an_iso_date_does_not_depend_on_now(self) -> None:
        assert parse_when("2026-11-01", now=0.0) == parse_when("2026-11-01", now=NOW)


class TestObjects:
    """Datetimes, dates and numbers are taken as they are; a bool is not a number."""

    def test_a_naive_datetime_is_local_time(self) -> None:
        when = datetime(2026, 1, 2, 3, 4, 5, 6)
        assert parse_when(when) == when.timestamp()

    def test_an_aware_datetime_keeps_its_offset(self) -> None:
        when = datetime(2026, 1, 2, 3, 4, tzinfo=timezone(timedelta(hours=5)))
        assert parse_when(when) == datetime(2026, 1, 1, 22, 4, tzinfo=timezone.utc).timestamp()

    def test_a_date_is_its_local_midnight(self) -> None:
        assert parse_when(date(2026, 1, 2)) == datetime(2026, 1, 2).timestamp()
        assert parse_when(date(2026, 12, 31)) == datetime(2026, 12, 31).timestamp()

    @pytest.mark.parametrize("value", [1234, 1234.5, 0, -5, 10**10])
    def test_a_number_is_seconds_since_the_epoch(self, value: float) -> None:
        found = parse_when(value, now=NOW)
        assert found == float(value) and type(found) is float

    def test_a_numpy_integer_is_seconds_since_the_epoch(self) -> None:
        numpy = pytest.importorskip("numpy")
        assert parse_when(numpy.int64(1234), now=NOW) == 1234.0

    @pytest.mark.parametrize("value", [True, False])
    def test_a_bool_is_refused(self, value: bool) -> None:
        with pytest.raises(ArgumentTypeError, match=f"got {value}"):
            parse_when(value)

    @pytest.mark.parametrize("value", [None, [2026, 11, 1], b"2026-11-01", {"d": 1}])
    def test_other_types_are_refused(self, value: object) -> None:
        with pytest.raises(ArgumentTypeError, match="a date must be text, a datetime or a number"):
            parse_when(value)


class TestErrors:
    """What cannot be read is an ``ArgumentError`` (a ``ValueError``) saying what can be."""

    @pytest.mark.parametrize(
        "text", ["someday", "", "3", "d", "3x", "3 days", "-3d", "3d ago", "2026-13-01", "1e3s"]
    )
    def test_unreadable_text(self, text: str) -> None:
        with pytest.raises(ArgumentError, match=f"cannot read {text!r} as a date: use 2026-11-01"):
            parse_when(text, now=NOW)

    def test_the_message_lists_what_is_understood(self) -> None:
        with pytest.raises(ArgumentError) as caught:
            parse_when("someday")
        assert str(caught.value) == (
            "cannot read 'someday' as a date: use 2026-11-01, 2026-11-01T14:30, today, "
            "yesterday, or an age such as 3d, 12h, 30m, 2w"
        )

    def test_the_errors_are_tmts_and_the_builtin_kinds(self) -> None:
        assert issubclass(ArgumentError, ValueError) and issubclass(ArgumentError, TmtError)
        assert issubclass(ArgumentTypeError, TypeError)
        assert issubclass(ArgumentTypeError, TmtError)
