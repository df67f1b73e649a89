"""The simulated company as a whole: one population, one plan per business day, shared by every system.

A system module (crm.py, web_analytics.py, later erp.py, mdm.py, ...) reads the population and the
day plans and renders them in its own format. Plans are built lazily and kept in memory, so nightly
deliveries in one process build each day once.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from .config import SandboxConfig
from .journeys import DayPlan, plan_day
from .population import Population
from .web_analytics import WebDay, expand_day, quirk_frame


class World:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self._population: Population | None = None
        self._plans: dict[date, DayPlan] = {}
        self._web: dict[date, WebDay] = {}
        self._web_quirks: dict[date, pd.DataFrame] = {}
        self._last_received: dict[date, int] = {}  # per plan day: when its last web row is received

    @property
    def population(self) -> Population:
        if self._population is None:
            self._population = Population(self.config)
        return self._population

    def plan(self, day: date) -> DayPlan:
        if day not in self._plans or self._plans[day].events is None:
            self._plans[day] = plan_day(self.population, day)  # deterministic: a rebuild is identical
        return self._plans[day]

    def plan_days_through(self, day: date) -> list[date]:
        """Days whose plans can matter for deliveries through `day`.

        The next day is included: in summer, its first London hour is still the previous UTC date.
        """
        last = min(day + timedelta(days=1), self.config.end_date)
        return [d for d in self.config.days() if d <= last]

    def plans_through(self, day: date) -> list[DayPlan]:
        return [self.plan(d) for d in self.plan_days_through(day)]

    def web(self, day: date) -> WebDay:
        if day not in self._web:
            web = self._web[day] = expand_day(self.population, self.plan(day))
            self._last_received[day] = int(web.row_received_ms.max()) if len(web.row_received_ms) else -1
        return self._web[day]

    def webs_through(self, day: date) -> list[WebDay]:
        return [self.web(d) for d in self.plan_days_through(day)]

    def web_quirks(self, day: date) -> pd.DataFrame:
        if day not in self._web_quirks:
            self._web_quirks[day] = quirk_frame(self.population, self.web(day))
        return self._web_quirks[day]

    def web_done_before(self, day: date, ms: int) -> bool:
        """True when every row of the day's plan is known to be received before ms (no need to expand it)."""
        last = self._last_received.get(day)
        return last is not None and last < ms

    def release_web(self, day: date, received_before_ms: int) -> None:
        """Forget a day's events once every row it produces has been written (bounded memory at scale).

        Its quirks stay; the plan keeps journeys, orders and cases. Asked again, the day is rebuilt.
        """
        web = self._web.get(day)
        if web is None or (len(web.row_received_ms) and web.row_received_ms.max() >= received_before_ms):
            return
        self.web_quirks(day)
        del self._web[day]
        self._plans[day].events = None
