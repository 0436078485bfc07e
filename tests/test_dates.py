"""Dates as people type them."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from tmt.dates import parse_when

NOW = datetime(2026, 11, 22, 15, 30).timestamp()


class TestParseWhen:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("2026-11-01", datetime(2026, 11, 1)),
            ("2026-11-01T14:30", datetime(2026, 11, 1, 14, 30)),
            ("today", datetime(2026, 11, 22)),
            ("yesterday", datetime(2026, 11, 21)),
            ("3d", datetime(2026, 11, 19, 15, 30)),
            ("12h", datetime(2026, 11, 22, 3, 30)),
            ("30m", datetime(2026, 11, 22, 15, 0)),
            ("2w", datetime(2026, 11, 8, 15, 30)),
        ],
    )
    def test_text(self, text: str, expected: datetime) -> None:
        assert parse_when(text, now=NOW) == pytest.approx(expected.timestamp())

    def test_datetimes_dates_and_numbers(self) -> None:
        assert parse_when(datetime(2026, 1, 2)) == datetime(2026, 1, 2).timestamp()
        assert parse_when(date(2026, 1, 2)) == datetime(2026, 1, 2).timestamp()
        assert parse_when(1234) == 1234.0

    def test_nonsense_is_a_clear_error(self) -> None:
        with pytest.raises(ValueError, match="cannot read 'someday' as a date: use 2026-11-01"):
            parse_when("someday")
