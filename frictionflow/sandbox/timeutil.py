"""Time in the sandbox: epoch milliseconds (UTC) everywhere, London business days, vectorised formatting."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import numpy as np

LONDON = ZoneInfo("Europe/London")
MS_HOUR = 3_600_000
MS_DAY = 86_400_000
MS_MINUTE = 60_000

# Relative busyness by weekday (Mon..Sun) and by London hour: evenings busy, weekends differ.
WEEKDAY_FACTOR = np.array([1.0, 0.95, 0.95, 1.0, 0.92, 1.12, 1.22])
_WEEKDAY_HOURS = np.array(
    [
        0.5,
        0.3,
        0.2,
        0.15,
        0.15,
        0.3,
        0.8,
        1.6,
        2.4,
        2.8,
        3.0,
        3.2,
        3.8,
        3.6,
        3.2,
        3.1,
        3.3,
        3.8,
        4.6,
        5.6,
        6.2,
        5.8,
        4.2,
        1.8,
    ]
)
_WEEKEND_HOURS = np.array(
    [
        0.9,
        0.5,
        0.3,
        0.2,
        0.15,
        0.2,
        0.4,
        0.9,
        1.8,
        3.0,
        4.2,
        4.8,
        5.0,
        4.8,
        4.6,
        4.4,
        4.3,
        4.4,
        4.6,
        4.9,
        5.0,
        4.6,
        3.4,
        1.8,
    ]
)
HOUR_WEIGHTS = {False: _WEEKDAY_HOURS / _WEEKDAY_HOURS.sum(), True: _WEEKEND_HOURS / _WEEKEND_HOURS.sum()}


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@cache
def local_midnight_ms(day: date, tz: ZoneInfo = LONDON) -> int:
    """UTC epoch ms of local midnight starting `day` in `tz`."""
    return to_ms(datetime(day.year, day.month, day.day, tzinfo=tz))


def utc_midnight_ms(day: date) -> int:
    return to_ms(datetime(day.year, day.month, day.day, tzinfo=UTC))


@cache
def local_hour_starts_ms(day: date) -> np.ndarray:
    """UTC ms at the start of each London hour 0..23 of `day` (DST-aware)."""
    return np.array([to_ms(datetime(day.year, day.month, day.day, h, tzinfo=LONDON)) for h in range(24)], np.int64)


def sample_times_on_day(rng: np.random.Generator, day: date, n: int) -> np.ndarray:
    """n moments on London day `day`, shaped by the hourly profile (sorted ascending)."""
    weekend = day.weekday() >= 5
    hours = rng.choice(24, size=n, p=HOUR_WEIGHTS[weekend])
    within = rng.integers(0, MS_HOUR, size=n)
    return np.sort(local_hour_starts_ms(day)[hours] + within)


def sample_times_on_days(rng: np.random.Generator, days: list[date], day_index: np.ndarray) -> np.ndarray:
    """One moment per entry of day_index (an index into `days`), shaped by the hourly profile."""
    out = np.empty(len(day_index), np.int64)
    for i, day in enumerate(days):
        mask = day_index == i
        count = int(mask.sum())
        if count:
            weekend = day.weekday() >= 5
            hours = rng.choice(24, size=count, p=HOUR_WEIGHTS[weekend])
            out[mask] = local_hour_starts_ms(day)[hours] + rng.integers(0, MS_HOUR, size=count)
    return out


def london_date(ms: int) -> date:
    return datetime.fromtimestamp(ms / 1000, LONDON).date()


def london_hour(ms: int) -> float:
    moment = datetime.fromtimestamp(ms / 1000, LONDON)
    return moment.hour + moment.minute / 60


def at_london_time(day: date, hour: int, minute: int = 0) -> int:
    return to_ms(datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON))


def within_working_hours(ms: int, start_hour: int = 8, end_hour: int = 20) -> int:
    """Agents work 08:00-20:00 London, every day: an action outside is taken when the next shift starts."""
    moment = datetime.fromtimestamp(ms / 1000, LONDON)
    if moment.hour < start_hour:
        return at_london_time(moment.date(), start_hour) + (ms % (40 * MS_MINUTE))
    if moment.hour >= end_hour:
        return at_london_time(moment.date() + timedelta(days=1), start_hour) + (ms % (40 * MS_MINUTE))
    return ms


def offsets_seconds(tz_names: tuple[str, ...], tz_index: np.ndarray, ms: np.ndarray) -> np.ndarray:
    """UTC offset (s) of each moment in its zone; computed once per (zone, hour), so it is cheap."""
    hours = ms // MS_HOUR
    keys = tz_index.astype(np.int64) * 10_000_000 + hours
    unique, inverse = np.unique(keys, return_inverse=True)
    values = np.empty(len(unique), np.int64)
    for i, key in enumerate(unique.tolist()):
        zone = ZoneInfo(tz_names[key // 10_000_000])
        moment = datetime.fromtimestamp((key % 10_000_000) * 3600, UTC).astimezone(zone)
        values[i] = int(moment.utcoffset().total_seconds())
    return values[inverse]


def in_last_minutes_of_london_day(ms: np.ndarray, minutes: int) -> np.ndarray:
    """True where a moment falls within the last `minutes` of its London day."""
    offsets = offsets_seconds(("Europe/London",), np.zeros(len(ms), np.int8), ms) * 1000
    local_of_day = (ms + offsets) % MS_DAY
    return local_of_day >= MS_DAY - minutes * MS_MINUTE


def next_london_midnight_ms(ms: int) -> int:
    return local_midnight_ms(london_date(ms) + timedelta(days=1))


def iso_utc_z(ms: np.ndarray) -> list[str]:
    """ISO-8601 UTC with milliseconds and a trailing Z."""
    text = np.datetime_as_string(np.asarray(ms, np.int64).astype("datetime64[ms]"), unit="ms")
    return [t + "Z" for t in text.tolist()]


def iso_with_offset(ms: np.ndarray, offset_s: np.ndarray) -> list[str]:
    """ISO-8601 local time with milliseconds and its numeric offset, e.g. 2026-11-21T19:03:11.123+00:00."""
    local = np.asarray(ms, np.int64) + np.asarray(offset_s, np.int64) * 1000
    text = np.datetime_as_string(local.astype("datetime64[ms]"), unit="ms").tolist()
    suffix = {o: _offset_text(o) for o in set(np.asarray(offset_s).tolist())}
    return [t + suffix[o] for t, o in zip(text, np.asarray(offset_s).tolist(), strict=True)]


def _offset_text(seconds: int) -> str:
    sign = "+" if seconds >= 0 else "-"
    seconds = abs(seconds)
    return f"{sign}{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def pg_timestamps(ms: np.ndarray) -> list[str | None]:
    """Text COPY values for timestamptz columns (whole seconds, UTC); negative ms means NULL."""
    arr = np.asarray(ms, np.int64)
    text = np.datetime_as_string(arr.astype("datetime64[ms]").astype("datetime64[s]"), unit="s").tolist()
    return [None if v < 0 else t + "+00" for t, v in zip(text, arr.tolist(), strict=True)]


def iso_seconds_z(ms: np.ndarray) -> list[str | None]:
    """ISO UTC with whole seconds and Z (ground truth); negative ms means empty."""
    arr = np.asarray(ms, np.int64)
    text = np.datetime_as_string(arr.astype("datetime64[ms]").astype("datetime64[s]"), unit="s").tolist()
    return [None if v < 0 else t + "Z" for t, v in zip(text, arr.tolist(), strict=True)]
