"""How a CRM service case lives: statuses over days, agents' shifts, the nightly auto-close job."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from ..service_calendar import load_calendar, standard_due_ms, standard_resolution_times
from .timeutil import MS_HOUR, MS_MINUTE, at_london_time, london_date

NO_TIME = -1
# The company's standard resolution time by priority, in the business hours of its calendar (dbt seeds
# standard_resolution_times, business_calendars, bank_holidays): a case resolved later is "resolved late".
SLA_HOURS = {priority: hours for priority, (hours, _) in standard_resolution_times().items()}
# The calendar the service agents work by.
AGENTS_CALENDAR = "customer_service"
FIRST_RESPONSE_MEDIAN_HOURS = {"urgent": 0.5, "high": 1.5, "medium": 4.0, "low": 8.0}
AUTO_CLOSE_AFTER_RESOLVED_DAYS = 3
AUTO_CLOSE_UNANSWERED_DAYS = 7
AUTO_CLOSE_LONDON_TIME = (23, 50)  # the nightly job; it runs into the last 15 minutes of the day


@dataclass
class CaseLife:
    versions: list[
        tuple[int, str, int, int, int, int, bool]
    ]  # modstamp, status, first_response, resolved, closed, reopens, deleted
    resolved_ms: int
    closed_ms: int
    first_response_ms: int
    reopen_count: int
    end_ms: int
    outcome: str  # completed (resolved) or abandoned (closed unanswered)
    resolved_late: bool
    standard_due_ms: int  # when the standard resolution time runs out (NO_TIME for a deleted duplicate)


def within_working_hours(ms: int) -> int:
    """An agent's action at `ms` waits for the service team's next opening time (a few minutes into it)."""
    return load_calendar(AGENTS_CALENDAR).next_open(ms, ms % (40 * MS_MINUTE))


def _auto_close(rnd: random.Random, ms: int, after_days: int) -> int:
    day = london_date(ms) + timedelta(days=after_days)
    return at_london_time(day, *AUTO_CLOSE_LONDON_TIME) + rnd.randint(0, 599) * 1000


def plan_case(
    rnd: random.Random, created_ms: int, priority: str, slow_response: float, slow_resolution: float
) -> CaseLife:
    """Every status the case will go through, each a version with a strictly later system_modstamp."""
    versions: list[tuple[int, str, int, int, int, int, bool]] = []
    state = {"fr": NO_TIME, "res": NO_TIME, "closed": NO_TIME, "reopens": 0}

    def emit(ms: int, status: str) -> int:
        ms = ms // 1000 * 1000
        if versions and ms <= versions[-1][0]:
            ms = versions[-1][0] + 1000
        versions.append((ms, status, state["fr"], state["res"], state["closed"], state["reopens"], False))
        return ms

    def lognormal_hours(median: float, sigma: float = 0.7) -> int:
        return int(median * rnd.lognormvariate(0.0, sigma) * MS_HOUR)

    t = emit(created_ms, "new")
    due = standard_due_ms(t, priority)
    t = within_working_hours(t + lognormal_hours(FIRST_RESPONSE_MEDIAN_HOURS[priority] * slow_response))
    t = t // 1000 * 1000 if t // 1000 * 1000 > versions[-1][0] else versions[-1][0] + 1000
    state["fr"] = t
    t = emit(t, "open")
    if rnd.random() < 0.3:  # the agent needs something from the customer
        t = emit(within_working_hours(t + rnd.randint(10, 120) * MS_MINUTE), "pending_customer")
        if rnd.random() < 0.15:  # never answers: the nightly job closes it unresolved
            closed = _auto_close(rnd, t, AUTO_CLOSE_UNANSWERED_DAYS)
            state["closed"] = closed // 1000 * 1000
            end = emit(closed, "closed")
            return CaseLife(versions, NO_TIME, end, state["fr"], 0, end, "abandoned", False, due)
        t = emit(t + lognormal_hours(16.0, 0.9), "open")  # the customer replies, any time of day
    if rnd.random() < (0.25 if priority in ("high", "urgent") else 0.08):
        t = emit(within_working_hours(t + lognormal_hours(2.0)), "escalated")
    # Agents aim at the standard: the resolution lands about half-way through it, in business hours.
    business_hours = SLA_HOURS[priority] * 0.55 * slow_resolution * rnd.lognormvariate(0.0, 0.55)
    target = load_calendar(AGENTS_CALENDAR).add_business_hours(created_ms, business_hours)
    t = within_working_hours(max(t + 10 * MS_MINUTE, target))
    state["res"] = max(t // 1000 * 1000, versions[-1][0] + 1000)
    t = emit(t, "resolved")
    closing = _auto_close(rnd, t, AUTO_CLOSE_AFTER_RESOLVED_DAYS)
    if rnd.random() < 0.08:  # the fix did not hold: the customer comes back before the case closes
        back = t + rnd.randint(2, 48) * MS_HOUR
        if back < closing - MS_HOUR:
            state["reopens"] += 1
            state["res"] = NO_TIME
            t = emit(back, "reopened")
            t = within_working_hours(t + lognormal_hours(SLA_HOURS[priority] * 0.3 * slow_resolution))
            state["res"] = max(t // 1000 * 1000, versions[-1][0] + 1000)
            t = emit(t, "resolved")
            closing = _auto_close(rnd, t, AUTO_CLOSE_AFTER_RESOLVED_DAYS)
    state["closed"] = max(closing // 1000 * 1000, versions[-1][0] + 1000)
    end = emit(closing, "closed")
    resolved = state["res"]
    late = resolved > due
    return CaseLife(versions, resolved, end, state["fr"], state["reopens"], resolved, "completed", late, due)


def plan_deleted_duplicate(rnd: random.Random, created_ms: int) -> CaseLife:
    """A case submitted twice: the copy is soft-deleted by an agent (is_deleted = true, new modstamp)."""
    created = created_ms // 1000 * 1000
    deleted = within_working_hours(created + rnd.randint(15, 240) * MS_MINUTE) // 1000 * 1000
    deleted = max(deleted, created + 1000)
    versions = [
        (created, "new", NO_TIME, NO_TIME, NO_TIME, 0, False),
        (deleted, "new", NO_TIME, NO_TIME, NO_TIME, 0, True),
    ]
    return CaseLife(versions, NO_TIME, NO_TIME, NO_TIME, 0, deleted, "abandoned", False, NO_TIME)
