"""The simulated company as a whole: one population, one plan per business day, shared by every system.

A system module (crm.py, web_analytics.py, later erp.py, mdm.py, ...) reads the population and the
day plans and renders them in its own format. Plans are built lazily and kept in memory, so nightly
deliveries in one process build each day once.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from . import erp, logistics, mdm
from .config import SandboxConfig
from .contact_center import ContactCenterDay, build_day
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
        self._mdm: mdm.MasterData | None = None
        self._logistics_stock: logistics.Stockouts | None = None
        self._logistics: dict[date, logistics.LogisticsDay] = {}
        self._logistics_erp: dict[date, logistics.LogisticsDay | None] = {}  # phone and marketplace
        self._contact_center: dict[date, ContactCenterDay] = {}
        self._erp: dict[date, erp.ErpDay] = {}

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

    def contact_center(self, day: date) -> ContactCenterDay:
        """The contact-centre interactions a day's plan leads to (kept: compact numeric columns)."""
        if day not in self._contact_center:
            plan = self._plans.get(day) or self.plan(day)  # a released plan still holds journeys and cases
            self._contact_center[day] = build_day(self.population, plan)
        return self._contact_center[day]

    # ---------------------------------------------------------------- mdm and logistics
    @property
    def mdm(self) -> mdm.MasterData:
        """Every golden record version (from the population alone: no day plan needed)."""
        if self._mdm is None:
            self._mdm = mdm.build(self.population)
        return self._mdm

    @property
    def logistics_stock(self) -> logistics.Stockouts:
        """The stock-out rows of the logistics feed (warehouse ones are stock.py's shared windows)."""
        if self._logistics_stock is None:
            self._logistics_stock = logistics.plan_stockouts(self.population)
        return self._logistics_stock

    def logistics(self, day: date) -> logistics.LogisticsDay:
        """Shipments of the day's web and app orders. A released plan still holds its orders: no rebuild."""
        if day not in self._logistics:
            plan = self._plans.get(day) or self.plan(day)
            orders = logistics.orders_from_plan(plan)
            self._logistics[day] = logistics.plan_shipments(self.population, orders, day, "web", self.logistics_stock)
        return self._logistics[day]

    def logistics_days(self, day: date) -> list[logistics.LogisticsDay]:
        """Every shipment source of an order day: web and app orders, then the ERP's phone and marketplace
        orders (planned with the same stream erp.py uses, so both see the same shipments)."""
        if day not in self._logistics_erp:
            orders, source, digit = self.erp(day).shipping_orders, erp.NATIVE_SHIPMENT_SOURCE, erp.NATIVE_SHIPMENT_DIGIT
            stock = self.logistics_stock
            planned = logistics.plan_shipments(self.population, orders, day, source, stock, digit)
            self._logistics_erp[day] = planned if len(orders) else None
        erp_day = self._logistics_erp[day]
        return [self.logistics(day)] + ([erp_day] if erp_day is not None else [])

    def release_logistics(self, day: date, uploaded_before_ms: int) -> None:
        """Forget a day's scan rows once all of them are written; its shipments and quirks stay."""
        for ld in self.logistics_days(day):
            if ld.last_upload_ms < uploaded_before_ms:
                ld.events = None

    # ---------------------------------------------------------------- erp
    def erp(self, day: date) -> erp.ErpDay:
        """The ERP orders a day's plan leads to (kept: compact columns). Built from the plan's events
        (payment attempts, carts) and the day's shipments (dispatch scans): build it before they are released."""
        if day not in self._erp:
            released = day in self._plans and self._plans[day].events is None
            plan = self.plan(day)  # rebuilt with its events if they were released
            shipments = self.logistics(day)
            if shipments.events is None:  # scans already written and released: plan them again (deterministic)
                orders = logistics.orders_from_plan(plan)
                shipments = logistics.plan_shipments(self.population, orders, day, "web", self.logistics_stock)
            self._erp[day] = erp.build_day(self.population, plan, shipments, self.logistics_stock)
            if released:
                plan.events = None  # keep memory bounded: the web stage had already let them go
        return self._erp[day]
