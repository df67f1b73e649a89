"""The company's business calendar and service standards as the sandbox reads them from the dbt seeds."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from frictionflow.service_calendar import load_calendar, standard_due_ms

LONDON = ZoneInfo("Europe/London")


def _ms(*parts: int) -> int:
    return int(datetime(*parts, tzinfo=LONDON).timestamp() * 1000)


def _london(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, LONDON)


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    """A round-the-clock calendar beside an office one that is closed at weekends and on bank holidays."""
    (tmp_path / "business_calendars.csv").write_text(
        "calendar,time_zone,bank_holiday_region,day_kind,opens_at,closes_at\n"
        "always,Europe/London,ew,sunday,00:00,24:00\n"
        + "".join(
            f"office,Europe/London,ew,{day},09:00,17:00\n"
            for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
        )
    )
    (tmp_path / "bank_holidays.csv").write_text("region,holiday_date,holiday_name\new,2026-12-25,Christmas Day\n")
    (tmp_path / "standard_resolution_times.csv").write_text(
        "priority,standard_resolution_hours,calendar\nlow,16,office\n"
    )
    return tmp_path


def test_shipped_calendar_counts_business_hours_across_the_clock_change():
    # Friday 23 October 2026 19:00 BST: 1 h on Friday, 12 on Saturday, 11 on Sunday after the clock went back.
    due = standard_due_ms(_ms(2026, 10, 23, 19, 0), "high")
    assert _london(due) == datetime(2026, 10, 25, 19, 0, tzinfo=LONDON)
    assert _london(due).utcoffset().total_seconds() == 0


def test_shipped_calendar_keeps_bank_holiday_hours():
    calendar = load_calendar("customer_service")
    opens, closes = calendar.open_interval(date(2026, 12, 25))
    assert (_london(opens).hour, _london(closes).hour) == (10, 16)
    # An agent's action on Christmas morning waits for 10:00 (plus its few minutes).
    assert _london(calendar.next_open(_ms(2026, 12, 25, 8, 30), 5 * 60_000)) == datetime(
        2026, 12, 25, 10, 5, tzinfo=LONDON
    )
    # Urgent (8 h) from Christmas Eve 19:00: 1 h, then 6 h on Christmas Day, then 1 h on Boxing Day.
    assert _london(standard_due_ms(_ms(2026, 12, 24, 19, 0), "urgent")) == datetime(2026, 12, 26, 9, 0, tzinfo=LONDON)


def test_round_the_clock_day_of_the_clock_change_lasts_25_hours(seeds):
    opens, closes = load_calendar("always", seeds).open_interval(date(2026, 10, 25))
    assert closes - opens == 25 * 3_600_000


def test_closed_days_and_bank_holidays_do_not_count(seeds):
    office = load_calendar("office", seeds)
    assert office.open_interval(date(2026, 12, 26)) is None, "Saturday has no row: closed"
    assert office.open_interval(date(2026, 12, 25)) is None, "no bank_holiday row: closed on bank holidays"
    # 16 office hours from Thursday 24 December 16:00: 1 h, then Monday 28th 8 h, Tuesday 29th 7 h.
    due = standard_due_ms(_ms(2026, 12, 24, 16, 0), "low", seeds)
    assert _london(due) == datetime(2026, 12, 29, 16, 0, tzinfo=LONDON)


def test_hours_that_run_out_at_closing_time_are_due_then(seeds):
    assert _london(standard_due_ms(_ms(2026, 12, 21, 9, 0), "low", seeds)) == datetime(
        2026, 12, 22, 17, 0, tzinfo=LONDON
    )


def test_a_day_outside_the_bank_holiday_years_is_an_error(seeds):
    with pytest.raises(ValueError, match=r"outside the bank holidays listed.*bank_holidays\.csv"):
        load_calendar("office", seeds).open_interval(date(2027, 1, 4))
