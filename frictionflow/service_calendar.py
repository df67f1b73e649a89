"""The company's service standards and business calendars, read from the dbt seeds.

The seeds (business_calendars, bank_holidays, standard_resolution_times) are the one statement of the
company's policy: the warehouse measures cases against them, and the sandbox company's agents work by them.
Times are epoch milliseconds, as in the sandbox.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from .settings import DBT_PROJECT_DIR

SEEDS_DIR = DBT_PROJECT_DIR / "seeds"
DAY_KINDS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MS_HOUR = 3_600_000


def _read(name: str, seeds_dir: Path) -> list[dict[str, str]]:
    with (seeds_dir / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _local_ms(day: date, clock: str, zone: ZoneInfo) -> int:
    """`day` at `clock` (HH:MM; 24:00 is the next midnight) in `zone`, as epoch ms. Built from the local
    date and time, so a day with a clock change is 23 or 25 hours long."""
    hours, minutes = (int(part) for part in clock.split(":"))
    local = datetime.combine(day + timedelta(days=hours // 24), time(hours % 24, minutes), tzinfo=zone)
    return int(local.timestamp() * 1000)


@dataclass(frozen=True)
class BusinessCalendar:
    """When a team works: opening hours per day kind in a time zone, bank holidays on their own hours."""

    name: str
    zone: ZoneInfo
    hours: dict[str, tuple[str, str]]  # day kind (monday..sunday, bank_holiday) -> (opens_at, closes_at)
    bank_holidays: frozenset[date]
    covers: tuple[date, date]  # the years the bank-holiday list covers

    def open_interval(self, day: date) -> tuple[int, int] | None:
        """The day's opening hours as epoch ms, or None when closed."""
        if not self.covers[0] <= day <= self.covers[1]:
            raise ValueError(
                f"business calendar {self.name}: {day} is outside the bank holidays listed "
                f"({self.covers[0]}..{self.covers[1]}); extend dbt_project/seeds/bank_holidays.csv"
            )
        kind = "bank_holiday" if day in self.bank_holidays else DAY_KINDS[day.weekday()]
        if kind not in self.hours:
            return None
        opens, closes = self.hours[kind]
        return _local_ms(day, opens, self.zone), _local_ms(day, closes, self.zone)

    def _days_from(self, ms: int):
        day = datetime.fromtimestamp(ms / 1000, self.zone).date() - timedelta(days=1)
        while True:
            interval = self.open_interval(day)
            if interval is not None and interval[1] > ms:
                yield interval
            day += timedelta(days=1)

    def next_open(self, ms: int, jitter_ms: int = 0) -> int:
        """`ms` when the team is working then, else `jitter_ms` after it next opens (within that day's hours)."""
        opens, closes = next(self._days_from(ms))
        if opens <= ms:
            return ms
        return min(opens + jitter_ms, closes - 1000)

    def add_business_hours(self, start_ms: int, hours: float) -> int:
        """The moment `hours` of opening time have passed since `start_ms` (the end of an interval when
        the hours run out exactly there)."""
        remaining = int(round(hours * MS_HOUR))
        for opens, closes in self._days_from(start_ms):
            counted_from = max(opens, start_ms)
            available = closes - counted_from
            if remaining <= available:
                return counted_from + remaining
            remaining -= available
        raise AssertionError("unreachable: the day generator is endless")


@cache
def load_calendar(name: str, seeds_dir: Path = SEEDS_DIR) -> BusinessCalendar:
    rows = [row for row in _read("business_calendars", seeds_dir) if row["calendar"] == name]
    if not rows:
        raise ValueError(f"business calendar {name!r} is not in {seeds_dir / 'business_calendars.csv'}")
    region = rows[0]["bank_holiday_region"]
    holidays = [
        date.fromisoformat(row["holiday_date"]) for row in _read("bank_holidays", seeds_dir) if row["region"] == region
    ]
    if not holidays:
        raise ValueError(f"no bank holidays for region {region!r} in {seeds_dir / 'bank_holidays.csv'}")
    first, last = min(holidays), max(holidays)
    return BusinessCalendar(
        name=name,
        zone=ZoneInfo(rows[0]["time_zone"]),
        hours={row["day_kind"]: (row["opens_at"], row["closes_at"]) for row in rows},
        bank_holidays=frozenset(holidays),
        covers=(date(first.year, 1, 1), date(last.year, 12, 31)),
    )


@cache
def standard_resolution_times(seeds_dir: Path = SEEDS_DIR) -> dict[str, tuple[int, str]]:
    """Case priority -> (standard resolution hours, the business calendar they count in)."""
    return {
        row["priority"]: (int(row["standard_resolution_hours"]), row["calendar"])
        for row in _read("standard_resolution_times", seeds_dir)
    }


def standard_due_ms(created_ms: int, priority: str, seeds_dir: Path = SEEDS_DIR) -> int:
    """When a case of `priority` created at `created_ms` passes its standard resolution time."""
    hours, calendar = standard_resolution_times(seeds_dir)[priority]
    return load_calendar(calendar, seeds_dir).add_business_hours(created_ms, hours)
