"""The ERP: one CSV file set per London business date, `erp/<YYYY-MM-DD>/`, with `_manifest.json` last.

Orders come from the world. Web and app checkouts in the day plans become ERP orders with the web's
order number; a checkout whose every payment attempt failed still leaves an ERP order, cancelled, so each
web `checkout_failed` has its declined (or errored) payment row. The ERP also takes store, phone and
marketplace orders of its own. Each order's whole life is planned on the day it starts, like a journey:
payment attempts, backorders for SKUs out of stock (stock.py, the windows logistics waits for), dispatch
and delivery as the logistics feed reports them, returns (the web's `returns` journeys), refunds.

A file set holds, per entity, the latest version of every row changed on that London day (delta by
changed_at). How each set reaches the landing folder is planned per date (`schedule`): on time, hours
late (absent at the night run), cut short without a manifest, with a manifest that disagrees, or
re-delivered days later with a higher revision.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from frictionflow.contracts import load_contract

from . import logistics, vocab
from .config import TURBULENCE_EFFECTS, SandboxConfig, stream_seed
from .ids import order_no
from .journeys import DayPlan
from .keys import erp_customer_nos, erp_customers
from .population import NEVER, Population
from .stock import stockouts
from .timeutil import (
    MS_DAY,
    MS_HOUR,
    MS_MINUTE,
    WEEKDAY_FACTOR,
    at_london_time,
    local_hour_starts_ms,
    local_midnight_ms,
    offsets_seconds,
    within_working_hours,
)
from .web_analytics import QUIRK_COLUMNS

SYSTEM_DIR = "erp"
FILES = ("customers.csv", "sales_orders.csv", "order_lines.csv", "payments.csv", "returns.csv")
MANIFEST = "_manifest.json"
AMOUNT_COLUMNS = {"sales_orders.csv": "total_amount", "payments.csv": "amount"}
ENTITY = {name: name.removesuffix(".csv") for name in FILES}
COLUMNS = {name: load_contract("erp").entities[ENTITY[name]].column_names for name in FILES}  # header order

CHANNELS = ("web", "app", "store", "phone", "marketplace")
WEB, APP, STORE, PHONE, MARKETPLACE = range(len(CHANNELS))
ORIGINS = ("web_checkout", "failed_checkout", "store", "phone", "marketplace")
WEB_ORDER, FAILED_CHECKOUT = 0, 1
ORDER_STATUSES = ("created", "paid", "partially_shipped", "shipped", "delivered", "cancelled", "returned")
CREATED, PAID, PARTIALLY_SHIPPED, SHIPPED, DELIVERED, CANCELLED, RETURNED = range(len(ORDER_STATUSES))
LINE_STATUSES = ("ok", "backordered", "cancelled_stockout")
LINE_OK, BACKORDERED, CANCELLED_STOCKOUT = range(len(LINE_STATUSES))
METHODS = ("card", "paypal", "bank_transfer", "gift_card", "bnpl")
CARD, PAYPAL, BANK_TRANSFER, GIFT_CARD, BNPL = range(len(METHODS))
PAYMENT_STATUSES = ("authorized", "captured", "declined", "error", "refunded")
AUTHORIZED, CAPTURED, DECLINED, ERROR, REFUNDED = range(len(PAYMENT_STATUSES))
DECLINE_CODES = ("insufficient_funds", "do_not_honor", "3ds_failed", "expired_card", "processor_unavailable")
WEB_FAILURE_REASONS = (*vocab.CHECKOUT_FAILURE_REASONS, *vocab.TURBULENT_FAILURE_REASONS)
RETURN_REASONS = ("damaged", "wrong_item", "late", "not_as_described", "changed_mind", "other")
RETURN_REASON_WEIGHTS = (0.12, 0.1, 0.08, 0.2, 0.4, 0.1)
RETURN_STATUSES = ("requested", "received", "refunded", "rejected")
REQUESTED, RECEIVED, RETURN_REFUNDED, REJECTED = range(len(RETURN_STATUSES))
STORES = logistics.STORES  # the store ids the logistics feed uses for store stock-outs
CURRENCY = "GBP"

# ERP-only channels, per person and day (web and app orders come from the journeys).
STORE_ORDERS_PER_PERSON_DAY = 0.006
PHONE_ORDERS_PER_CUSTOMER_DAY = 0.001
MARKETPLACE_ORDERS_PER_PERSON_DAY = 0.002
STORE_ACCOUNT_SHARE = 0.6  # store buyers with an account who give their customer number at the till
RETURN_SHARE = {STORE: 0.03, PHONE: 0.05, MARKETPLACE: 0.06}  # web returns come from the returns journeys
RETURN_REJECTED_SHARE = 0.07
BACKORDER_CANCEL_MS = 3 * 24 * MS_HOUR  # a line that would wait longer for stock is cancelled
FAILED_CHECKOUT_CANCEL_MS = (30 * MS_MINUTE, 90 * MS_MINUTE)  # unpaid orders are cancelled by a job
NATIVE_SHIPMENT_SOURCE, NATIVE_SHIPMENT_DIGIT = "erp", 1  # logistics.plan_shipments for phone/marketplace orders

# Nicknames for the `"quoted"` form of a name; other first names get "Last, First" instead.
NICKNAMES = {
    "Thomas": "Tom", "Alexander": "Alex", "Samuel": "Sam", "Joseph": "Joe", "Edward": "Ed", "Christopher": "Chris",
    "Margaret": "Maggie", "Katarzyna": "Kasia", "Daniel": "Dan", "Andrew": "Andy", "Jessica": "Jess",
    "Isabella": "Bella", "Muhammad": "Mo", "Mohammed": "Mo", "Oliver": "Ollie", "Frederick": "Fred",
    "Alfie": "Alf", "William": "Will", "Joshua": "Josh", "Phoebe": "Bee", "Florence": "Flo", "Hannah": "Han",
}  # fmt: skip
SECOND_LINES = ("c/o ", "Flat ", "")  # what goes after the line break in a name


# ---------------------------------------------------------------------------- the planned data
@dataclass
class Versions:
    """Every version of the rows of one entity: row index, time (ms) and status code, sorted by (row, time)."""

    row: np.ndarray
    ms: np.ndarray
    code: np.ndarray

    @classmethod
    def of(cls, rows: list[tuple[int, int, int]]) -> Versions:
        if not rows:
            return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int8))
        row, ms, code = (np.array(c, np.int64) for c in zip(*rows, strict=True))
        order = np.lexsort((ms, row))
        return cls(row[order], ms[order], code[order].astype(np.int8))

    def latest_in(self, lo: int, hi: int) -> np.ndarray:
        """Positions of each row's latest version stamped in [lo, hi)."""
        idx = np.flatnonzero((self.ms >= lo) & (self.ms < hi))
        if not len(idx):
            return idx
        row = self.row[idx]
        last = np.ones(len(idx), bool)
        last[:-1] = row[1:] != row[:-1]
        return idx[last]

    def status_at(self, n: int, cutoff: int) -> np.ndarray:
        """Each row's status code as of cutoff (-1 before its first version)."""
        out = np.full(n, -1, np.int64)
        seen = self.ms < cutoff
        out[self.row[seen]] = self.code[seen]  # sorted by time within a row: the last write wins
        return out

    def first(self, n: int, code: int) -> np.ndarray:
        """Per row: when it first took status `code` (NEVER if it never does)."""
        out = np.full(n, NEVER, np.int64)
        hit = self.code == code
        np.minimum.at(out, self.row[hit], self.ms[hit])
        return out


@dataclass
class ErpDay:
    """The ERP orders planned on one London day (their whole future), in compact columns."""

    day: date
    # orders
    o_seq: np.ndarray  # number within the day: web orders keep the web's, ERP-numbered ones count from 1
    o_erp_numbered: np.ndarray  # bool: numbered by the ERP (day of year + 500), not by the web shop
    o_person: np.ndarray
    o_account: np.ndarray  # bool: placed with a customer account (customer_no), else a guest
    o_channel: np.ndarray
    o_origin: np.ndarray
    o_store: np.ndarray  # index into STORES, -1 when not a store order
    o_ts: np.ndarray
    o_total: np.ndarray  # pence
    o_journey: np.ndarray  # index into the plan's journeys, -1 for ERP-only channels
    o_turbulent: bool
    ov: Versions
    # order lines
    l_order: np.ndarray
    l_no: np.ndarray
    l_sku: np.ndarray
    l_qty: np.ndarray
    l_price: np.ndarray  # pence
    l_restock: np.ndarray  # when the SKU was back in stock (-1 when it never was out)
    lv: Versions
    # payments
    p_order: np.ndarray
    p_attempt: np.ndarray
    p_method: np.ndarray
    p_amount: np.ndarray  # pence
    p_decline: np.ndarray  # index into DECLINE_CODES, -1 for none
    p_web_reason: np.ndarray  # index into WEB_FAILURE_REASONS of the checkout_failed it mirrors, -1
    p_web_event: np.ndarray  # when that checkout_failed event happened, -1
    p_refund: np.ndarray  # bool: a refund row (not an attempt)
    pv: Versions
    # returns
    r_order: np.ndarray
    r_requested: np.ndarray
    r_reason: np.ndarray
    r_journey: np.ndarray  # the returns journey, -1 for ERP-only returns
    rv: Versions
    # customers touched by an order (the ERP stamps changed_at when it takes an order from them)
    touch_person: np.ndarray
    touch_ms: np.ndarray
    journey_ids: list[str]  # the plan's journey ids (for the ground truth)
    last_change_ms: int
    # Phone and marketplace orders as logistics.plan_shipments takes them (source "erp", digit 1): the
    # logistics module can ship the same orders and get the same shipments.
    shipping_orders: pd.DataFrame = field(default_factory=pd.DataFrame)
    # ...and the shipments plan_shipments made of them (None without any): reuse it rather than plan it twice.
    native_shipments: logistics.LogisticsDay | None = None

    @property
    def n_orders(self) -> int:
        return len(self.o_seq)

    def order_numbers(self, idx: np.ndarray | None = None) -> np.ndarray:
        idx = np.arange(self.n_orders) if idx is None else np.asarray(idx, np.int64)
        doy = self.day.timetuple().tm_yday
        year = self.day.year
        seq, own = self.o_seq[idx].tolist(), self.o_erp_numbered[idx].tolist()
        return np.array([order_no(year, doy + 500 if e else doy, s) for s, e in zip(seq, own, strict=True)], object)

    def payment_ids(self, idx: np.ndarray) -> np.ndarray:
        head = f"PAY{self.day:%Y%m%d}"
        return np.array([f"{head}{i:07d}" for i in np.asarray(idx, np.int64).tolist()], object)

    def return_ids(self, idx: np.ndarray) -> np.ndarray:
        head = f"RT{self.day:%Y%m%d}"
        return np.array([f"{head}{i:06d}" for i in np.asarray(idx, np.int64).tolist()], object)


def _web_reason(props: str) -> int:
    return WEB_FAILURE_REASONS.index(json.loads(props)["reason"])


class _DayBuilder:
    """Plans one day's ERP orders (python per order, like journeys.py: tens of thousands a day at scale)."""

    def __init__(
        self, pop: Population, plan: DayPlan, shipments: logistics.LogisticsDay, logistics_stock: logistics.Stockouts
    ) -> None:
        cfg = pop.config
        self.pop, self.cfg, self.plan, self.day = pop, cfg, plan, plan.day
        self.stock = stockouts(pop)
        self.logistics_stock = logistics_stock
        self.rng = np.random.default_rng(stream_seed(cfg.seed, "erp", plan.day.isoformat()))
        self.rnd = random.Random(stream_seed(cfg.seed, "erp-script", plan.day.isoformat()))
        self.turbulent = cfg.is_turbulent_day(plan.day)
        self.fail_rate = cfg.rate("checkout_failed") * (
            TURBULENCE_EFFECTS["checkout_failed_multiplier"] if self.turbulent else 1.0
        )
        self.web_shipments = shipments
        self.o: dict[str, list] = {
            k: []
            for k in (
                "seq",
                "erp_numbered",
                "person",
                "account",
                "channel",
                "origin",
                "store",
                "ts",
                "total",
                "journey",
            )
        }
        self.ov: list[tuple[int, int, int]] = []
        self.lines: dict[str, list] = {k: [] for k in ("order", "no", "sku", "qty", "price", "restock")}
        self.lv: list[tuple[int, int, int]] = []
        self.pay: dict[str, list] = {
            k: [] for k in ("order", "attempt", "method", "amount", "decline", "web_reason", "web_event", "refund")
        }
        self.pv: list[tuple[int, int, int]] = []
        self.ret: dict[str, list] = {k: [] for k in ("order", "requested", "reason", "journey")}
        self.rv: list[tuple[int, int, int]] = []
        self.touch: list[tuple[int, int]] = []
        self.order_lines: list[list[int]] = []  # per order: its line rows
        self.order_method: list[int] = []  # per order: how it was (or would have been) paid
        self.order_delivered: list[int] = []  # per order: when the parcel reached the customer (NEVER: not yet)
        self.shipping_orders = pd.DataFrame(columns=logistics.ORDER_COLUMNS)
        self.native_shipments: logistics.LogisticsDay | None = None
        self.erp_seq = 0

    # ------------------------------------------------------------ rows
    def add_order(
        self, seq: int, erp_numbered: bool, person: int, account: bool, channel: int, origin: int, store: int,
        ts: int, lines: list[tuple[int, int, int]], journey: int,
    ) -> int:  # fmt: skip
        k = len(self.o["seq"])
        total = sum(q * p for _, q, p in lines)
        for name, value in (
            ("seq", seq), ("erp_numbered", erp_numbered), ("person", person), ("account", account),
            ("channel", channel), ("origin", origin), ("store", store), ("ts", ts), ("total", total),
            ("journey", journey),
        ):  # fmt: skip
            self.o[name].append(value)
        self.order_lines.append(list(range(len(self.lines["order"]), len(self.lines["order"]) + len(lines))))
        self.order_method.append(CARD)
        self.order_delivered.append(NEVER)
        for no, (sku, qty, price) in enumerate(lines, start=1):
            for name, value in (("order", k), ("no", no), ("sku", sku), ("qty", qty), ("price", price)):
                self.lines[name].append(value)
            self.lines["restock"].append(-1)
        if account:
            self.touch.append((person, ts))
        return k

    def add_payment(
        self, order: int, t: int, method: int, amount: int, status: int, decline: int = -1, web_reason: int = -1,
        web_event: int = -1, refund: bool = False,
    ) -> int:  # fmt: skip
        i = len(self.pay["order"])
        for name, value in (
            ("order", order), ("attempt", t), ("method", method), ("amount", amount), ("decline", decline),
            ("web_reason", web_reason), ("web_event", web_event), ("refund", refund),
        ):  # fmt: skip
            self.pay[name].append(value)
        self.pv.append((i, t, status))
        return i

    def failure(self, web_reason: int) -> tuple[int, int]:
        """(payment status, decline code) for a failed attempt, as the processor reports it."""
        reason = WEB_FAILURE_REASONS[web_reason]
        if reason == "processor_unavailable":
            return ERROR, DECLINE_CODES.index("processor_unavailable")
        if reason == "payment_timeout":
            return ERROR, -1  # no answer from the processor: no decline code
        if reason == "card_declined":
            return DECLINED, DECLINE_CODES.index("expired_card" if self.rnd.random() < 0.3 else "do_not_honor")
        if reason == "address_validation":
            return DECLINED, DECLINE_CODES.index("do_not_honor")
        return DECLINED, DECLINE_CODES.index(reason)  # 3ds_failed, insufficient_funds

    def web_method(self, failed: bool) -> int:
        if failed:
            return CARD if self.rnd.random() < 0.85 else PAYPAL  # the failures the web shows are card-ish
        return self.rnd.choices((CARD, PAYPAL, BNPL, GIFT_CARD), (0.70, 0.18, 0.07, 0.05))[0]

    def native_attempts(self, k: int, t: int, method: int, amount: int) -> int | None:
        """Phone and till payments go through the same processor as the web (turbulence included).

        Returns the successful attempt's time, or None when the customer gives up.
        """
        rnd = self.rnd
        for attempt in range(3):
            if method not in (GIFT_CARD, BANK_TRANSFER) and rnd.random() < self.fail_rate:
                reasons = vocab.CHECKOUT_FAILURE_REASONS
                if self.turbulent and rnd.random() < 0.75:
                    reasons = vocab.TURBULENT_FAILURE_REASONS
                status, decline = self.failure(WEB_FAILURE_REASONS.index(reasons[rnd.randrange(len(reasons))]))
                self.add_payment(k, t, method, amount, status, decline)
                t += rnd.randint(20, 180) * 1000
                if attempt < 2 and rnd.random() < 0.8:
                    continue
                return None
            return t
        return None

    # ------------------------------------------------------------ sources of orders
    def web_orders(self) -> None:
        plan = self.plan
        ev, ss = plan.events, plan.sessions
        names = np.array(ev["name"], object)
        t = np.asarray(ev["t"], np.int64)
        session = np.asarray(ev["session"], np.int64)
        s_journey = np.asarray(ss["journey"], np.int64)
        s_platform = np.asarray(ss["platform"], np.int64)
        props, users = ev["props"], ev["user"]
        # Payment attempts per journey: payment_submitted is always followed by its answer.
        attempts: dict[int, list[tuple[int, int, int, bool, int]]] = {}
        for i in np.flatnonzero(names == "payment_submitted").tolist():
            answer = names[i + 1] if i + 1 < len(names) else None
            if answer not in ("checkout_failed", "order_completed"):
                continue
            reason = _web_reason(props[i + 1]) if answer == "checkout_failed" else -1
            j = int(s_journey[session[i]])
            attempts.setdefault(j, []).append(
                (int(t[i]), reason, int(t[i + 1]), users[i] is not None, int(s_platform[session[i]]))
            )
        carts: dict[int, list[int]] = {}
        for i in np.flatnonzero(names == "add_to_cart").tolist():
            carts.setdefault(int(s_journey[session[i]]), []).append(int(props[i][12:18]) - 100000)

        o = plan.orders
        by_number: dict[str, int] = {}
        ship = self.web_shipments.ship
        ship_of = dict(zip(ship["order_no"].tolist(), range(len(ship)), strict=True)) if len(ship) else {}
        dispatch, returned = _scan_times(self.web_shipments)
        delivered = ship["delivered"].tolist() if len(ship) else []
        to_fulfil = []
        for number, person, contact, j, ordered, platform, lines in zip(
            o["order_no"], o["person"], o["contact"], o["journey"], o["ordered_at"], o["platform"], o["lines"],
            strict=True,
        ):  # fmt: skip
            tries = [a for a in attempts.get(j, []) if a[0] <= ordered]
            created = tries[0][0] if tries else ordered
            channel = WEB if platform == "web" else APP
            rows = [(int(code[4:]) - 100000, qty, int(round(price * 100))) for code, qty, price in lines]
            seq = int(number[11:])
            k = self.add_order(seq, False, person, contact >= 0, channel, WEB_ORDER, -1, created, rows, j)
            by_number[number] = k
            self.ov.append((k, created, CREATED))
            failed = any(a[1] >= 0 for a in tries)
            method = self.web_method(failed)
            amount = self.o["total"][k]
            for submit, reason, answer, _, _ in tries:
                if reason >= 0:
                    status, decline = self.failure(reason)
                    self.add_payment(k, submit, method, amount, status, decline, reason, answer)
            s = ship_of.get(number, -1)
            to_fulfil.append((k, ordered, method, dispatch.get(s, NEVER), int(delivered[s]) if s >= 0 else NEVER,
                              returned.get(s, NEVER)))  # fmt: skip
        self.set_restock([f[0] for f in to_fulfil], [f[1] for f in to_fulfil])
        for args in to_fulfil:
            self.fulfil(*args)
        self.failed_checkouts(attempts, carts)
        self.web_returns(by_number, names, t, session, s_journey)

    def failed_checkouts(self, attempts: dict, carts: dict) -> None:
        """Checkouts whose every attempt failed: the ERP order exists (created), unpaid, then cancelled."""
        jn, pop, rnd = self.plan.journeys, self.pop, self.rnd
        for j in sorted(attempts):
            if jn["order_no"][j] is not None:
                continue
            tries = attempts[j]
            person = int(jn["person"][j])
            account = any(a[3] for a in tries) and bool(pop.is_customer[person])
            skus = list(dict.fromkeys(carts.get(j, []))) or [pop.popular_sku(rnd.random())]
            rows = [(s, 1 + (rnd.random() < 0.2), int(round(float(pop.sku_price[s]) * 100))) for s in skus]
            channel = WEB if tries[0][4] == 0 else APP
            self.erp_seq += 1
            k = self.add_order(self.erp_seq, True, person, account, channel, FAILED_CHECKOUT, -1, tries[0][0], rows, j)
            self.ov.append((k, tries[0][0], CREATED))
            method = self.web_method(True)
            for submit, reason, answer, _, _ in tries:
                status, decline = self.failure(reason)
                self.add_payment(k, submit, method, self.o["total"][k], status, decline, reason, answer)
            low, high = FAILED_CHECKOUT_CANCEL_MS
            self.ov.append((k, tries[-1][2] + rnd.randint(low, high) // 1000 * 1000, CANCELLED))

    def native_orders(self) -> None:
        """Store, phone and marketplace orders: the ERP's own, from the people of the world."""
        pop, rng, rnd, day = self.pop, self.rng, self.rnd, self.day
        customers = erp_customers(pop)
        factor = float(WEEKDAY_FACTOR[day.weekday()])
        everyone = np.cumsum(pop.activity)
        account_holders = np.cumsum(pop.activity[customers.person])
        hours = local_hour_starts_ms(day)
        day_start, day_end = local_midnight_ms(day), local_midnight_ms(day + timedelta(days=1))
        draws = []
        for channel, rate, pool in (
            (STORE, STORE_ORDERS_PER_PERSON_DAY, everyone),
            (PHONE, PHONE_ORDERS_PER_CUSTOMER_DAY, account_holders),
            (MARKETPLACE, MARKETPLACE_ORDERS_PER_PERSON_DAY, everyone),
        ):
            k = int(rng.poisson(len(pool) * rate * factor))
            picked = np.minimum(np.searchsorted(pool, rng.random(k) * pool[-1], side="right"), len(pool) - 1)
            person = customers.person[picked] if channel == PHONE else picked
            if channel == STORE:  # open 09:00-20:00
                t = hours[9] + (rng.random(k) * 11 * MS_HOUR).astype(np.int64)
            elif channel == PHONE:  # the phone line is open 08:00-20:00
                t = hours[8] + (rng.random(k) * 12 * MS_HOUR).astype(np.int64)
            else:  # marketplace orders arrive around the clock (the DST day has 23 or 25 hours)
                t = day_start + (rng.random(k) * (day_end - day_start)).astype(np.int64)
            draws += list(zip((t // 1000 * 1000).tolist(), [channel] * k, person.tolist(), strict=True))
        draws.sort()
        position = np.full(pop.n_persons, -1, np.int64)
        position[customers.person] = np.arange(len(customers.person))
        shipping: list[tuple[int, int, int, list[int]]] = []
        for t, channel, person in draws:
            if pop.erased_ms[person] <= t:
                continue
            p = position[person]
            has_account = p >= 0 and customers.created_ms[p] <= t
            if channel == PHONE and not has_account:
                continue
            account = has_account and (channel == PHONE or (channel == STORE and rnd.random() < STORE_ACCOUNT_SHARE))
            n_lines = min(1 + int(rnd.expovariate(1.6)), 5)
            skus = list(dict.fromkeys(pop.popular_sku(rnd.random()) for _ in range(n_lines)))
            rows = [(s, 1 + (rnd.random() < 0.2), int(round(float(pop.sku_price[s]) * 100))) for s in skus]
            store = rnd.randrange(len(STORES)) if channel == STORE else -1
            self.erp_seq += 1
            k = self.add_order(self.erp_seq, True, person, account, channel, ORIGINS.index(CHANNELS[channel]),
                               store, t, rows, -1)  # fmt: skip
            self.ov.append((k, t, CREATED))
            amount = self.o["total"][k]
            if channel == STORE:
                method = CARD if rnd.random() < 0.85 else GIFT_CARD
                paid = self.native_attempts(k, t + rnd.randint(20, 90) * 1000, method, amount)
                if paid is None:
                    self.ov.append((k, t + rnd.randint(3, 10) * MS_MINUTE, CANCELLED))
                    continue
                self.order_method[k] = method
                self.add_payment(k, paid, method, amount, CAPTURED)  # paid at the till, taken home
                self.ov.append((k, paid, PAID))
                self.ov.append((k, paid + rnd.randint(30, 120) * 1000, DELIVERED))
                if rnd.random() < RETURN_SHARE[STORE]:
                    back = within_working_hours(paid + rnd.randint(1, 20) * MS_DAY, 9, 20)
                    self._return(k, back, back + rnd.randint(1, 5) * MS_MINUTE, method, -1)
                continue
            method = CARD if channel == PHONE else BANK_TRANSFER  # marketplaces settle by transfer
            paid = self.native_attempts(k, t + rnd.randint(60, 300) * 1000, method, amount)
            if paid is None:
                self.ov.append((k, t + rnd.randint(5, 15) * MS_MINUTE, CANCELLED))
                continue
            shipping.append((k, person, paid, skus))
        self.ship_native(shipping)

    def ship_native(self, shipping: list[tuple[int, int, int, list[int]]]) -> None:
        """Phone and marketplace orders leave the warehouses like web orders: logistics plans them."""
        numbers = [order_no(self.day.year, self.day.timetuple().tm_yday + 500, self.o["seq"][k]) for k, *_ in shipping]
        frame = pd.DataFrame(
            {
                "order_no": numbers,
                "person": np.array([p for _, p, _, _ in shipping], np.int64),
                "ordered_ms": np.array([t for _, _, t, _ in shipping], np.int64),
                "channel": [CHANNELS[self.o["channel"][k]] for k, *_ in shipping],
                "skus": [skus for *_, skus in shipping],
                "buying_journey": None,
                "check_journey": None,
                "check_start": NEVER,
                "check_end": NEVER,
                "complaint_ms": NEVER,
            },
            columns=logistics.ORDER_COLUMNS,
        )
        self.shipping_orders = frame
        if not len(frame):
            return
        planned = self.native_shipments = logistics.plan_shipments(
            self.pop, frame, self.day, NATIVE_SHIPMENT_SOURCE, self.logistics_stock, NATIVE_SHIPMENT_DIGIT
        )
        dispatch, returned = _scan_times(planned)
        delivered = planned.ship["delivered"].tolist()
        self.set_restock([k for k, *_ in shipping], [paid for _, _, paid, _ in shipping])
        for s, (k, _, paid, _) in enumerate(shipping):
            method = CARD if self.o["channel"][k] == PHONE else BANK_TRANSFER
            self.fulfil(k, paid, method, dispatch.get(s, NEVER), int(delivered[s]), returned.get(s, NEVER))
            if self.rnd.random() < RETURN_SHARE[self.o["channel"][k]] and delivered[s] < NEVER:
                requested = int(delivered[s]) + self.rnd.randint(1, 12) * MS_DAY + self.rnd.randint(0, MS_DAY)
                self.customer_return(k, requested // 1000 * 1000, -1)

    # ------------------------------------------------------------ an order's life
    def set_restock(self, orders: list[int], paid: list[int]) -> None:
        """When each line's SKU is back in stock if it is out when the order is paid (stock.py, vectorised)."""
        rows = [i for k in orders for i in self.order_lines[k]]
        if not rows:
            return
        skus = np.array([self.lines["sku"][i] for i in rows], np.int64)
        moments = np.repeat(np.array(paid, np.int64), [len(self.order_lines[k]) for k in orders])
        for i, back in zip(rows, self.stock.restocked_at(skus, moments).tolist(), strict=True):
            self.lines["restock"][i] = back

    def fulfil(self, k: int, paid: int, method: int, dispatched: int, delivered: int, returned: int) -> None:
        """Payment, stock, dispatch and delivery of a paid order that ships from a warehouse."""
        rnd = self.rnd
        amount = self.o["total"][k]
        created = self.o["ts"][k]
        self.order_method[k] = method
        pay = self.add_payment(k, paid, method, amount, CAPTURED if method == BANK_TRANSFER else AUTHORIZED)
        self.ov.append((k, paid + 1000, PAID))
        # Stock: the windows the warehouse waits for (set_restock); a long wait cancels the line.
        rows = self.order_lines[k]
        cancelled_amount, cancelled_at, n_cancelled = 0, -1, 0
        for i in rows:
            back = self.lines["restock"][i]
            self.lv.append((i, created, LINE_OK if back < 0 else BACKORDERED))
            if back < 0:
                continue
            if back - paid > BACKORDER_CANCEL_MS:
                when = within_working_hours(paid + BACKORDER_CANCEL_MS + rnd.randint(0, 12) * MS_HOUR) // 1000 * 1000
                self.lv.append((i, when, CANCELLED_STOCKOUT))
                cancelled_amount += self.lines["qty"][i] * self.lines["price"][i]
                cancelled_at = max(cancelled_at, when)
                n_cancelled += 1
            else:
                self.lv.append((i, back + 30 * MS_MINUTE, LINE_OK))  # allocated when the stock arrives
        if n_cancelled == len(rows):  # nothing left to send: the order is cancelled, the payment reversed
            self.ov.append((k, cancelled_at, CANCELLED))
            self.add_payment(k, cancelled_at + 1000, method, amount, REFUNDED, refund=True)
            return
        if cancelled_amount:
            self.add_payment(k, cancelled_at + 1000, method, cancelled_amount, REFUNDED, refund=True)
        if dispatched < NEVER:
            self.pv.append((pay, dispatched, CAPTURED))
            self.ov.append((k, dispatched, SHIPPED))
        if delivered < NEVER:
            self.order_delivered[k] = delivered
            self.ov.append((k, delivered, DELIVERED))
        if returned < NEVER:  # three failed delivery attempts: back at the warehouse, refunded
            back = within_working_hours(returned + rnd.randint(2, 30) * MS_HOUR) // 1000 * 1000
            self.ov.append((k, back, RETURNED))
            self.add_payment(k, back + 1000, method, amount - cancelled_amount, REFUNDED, refund=True)

    def web_returns(self, by_number: dict, names: np.ndarray, t: np.ndarray, session: np.ndarray, s_journey) -> None:
        jn = self.plan.journeys
        for i in np.flatnonzero(names == "return_started").tolist():
            j = int(s_journey[session[i]])
            k = by_number.get(jn["order_no"][j])
            if k is not None:
                self.customer_return(k, int(t[i]) // 1000 * 1000, j)

    def customer_return(self, k: int, requested: int, journey: int) -> None:
        """Requested, received at the warehouse days later, then refunded (or rejected)."""
        rnd = self.rnd
        delivered = self.order_delivered[k]
        if delivered == NEVER:
            return  # lost, sent back or cancelled: nothing reached the customer to send back
        received = within_working_hours(requested + rnd.randint(2, 6) * MS_DAY + rnd.randint(0, 8) * MS_HOUR)
        # Asked before the parcel came (it was late): the item goes back after it arrives.
        received = max(received, within_working_hours(delivered + rnd.randint(20, 72) * MS_HOUR))
        self._return(k, requested, received // 1000 * 1000, self.order_method[k], journey)

    def _return(self, k: int, requested: int, received: int, method: int, journey: int) -> None:
        rnd = self.rnd
        r = len(self.ret["order"])
        reason = rnd.choices(range(len(RETURN_REASONS)), RETURN_REASON_WEIGHTS)[0]
        for name, value in (("order", k), ("requested", requested), ("reason", reason), ("journey", journey)):
            self.ret[name].append(value)
        self.rv.append((r, requested, REQUESTED))
        received = max(received, requested + MS_MINUTE)
        self.rv.append((r, received, RECEIVED))
        store = self.o["channel"][k] == STORE
        if rnd.random() < RETURN_REJECTED_SHARE:
            self.rv.append((r, received + (MS_MINUTE if store else rnd.randint(1, 2) * MS_DAY), REJECTED))
            return
        refunded = received + (rnd.randint(1, 5) * MS_MINUTE if store else rnd.randint(1, 3) * MS_DAY)
        refunded = within_working_hours(refunded) // 1000 * 1000 if not store else refunded
        self.rv.append((r, refunded, RETURN_REFUNDED))
        self.ov.append((k, refunded, RETURNED))
        self.add_payment(k, refunded + 1000, method, self.o["total"][k], REFUNDED, refund=True)

    # ------------------------------------------------------------ the day
    def build(self) -> ErpDay:
        self.web_orders()
        self.native_orders()
        o, li, p, r = self.o, self.lines, self.pay, self.ret

        def arr(values: list, dtype) -> np.ndarray:
            return np.array(values, dtype)

        ov, lv, pv, rv = (_monotone(Versions.of(v)) for v in (self.ov, self.lv, self.pv, self.rv))
        touches = np.array(self.touch, np.int64).reshape(-1, 2)
        last = max([int(v.ms.max()) for v in (ov, lv, pv, rv) if len(v.ms)] or [local_midnight_ms(self.day)])
        return ErpDay(
            day=self.day,
            o_seq=arr(o["seq"], np.int64), o_erp_numbered=arr(o["erp_numbered"], bool),
            o_person=arr(o["person"], np.int64), o_account=arr(o["account"], bool),
            o_channel=arr(o["channel"], np.int8), o_origin=arr(o["origin"], np.int8), o_store=arr(o["store"], np.int16),
            o_ts=arr(o["ts"], np.int64), o_total=arr(o["total"], np.int64), o_journey=arr(o["journey"], np.int64),
            o_turbulent=self.turbulent, ov=ov,
            l_order=arr(li["order"], np.int64), l_no=arr(li["no"], np.int16), l_sku=arr(li["sku"], np.int64),
            l_qty=arr(li["qty"], np.int16), l_price=arr(li["price"], np.int64), l_restock=arr(li["restock"], np.int64),
            lv=lv,
            p_order=arr(p["order"], np.int64), p_attempt=arr(p["attempt"], np.int64),
            p_method=arr(p["method"], np.int8),
            p_amount=arr(p["amount"], np.int64), p_decline=arr(p["decline"], np.int8),
            p_web_reason=arr(p["web_reason"], np.int8), p_web_event=arr(p["web_event"], np.int64),
            p_refund=arr(p["refund"], bool), pv=pv,
            r_order=arr(r["order"], np.int64), r_requested=arr(r["requested"], np.int64),
            r_reason=arr(r["reason"], np.int8), r_journey=arr(r["journey"], np.int64), rv=rv,
            touch_person=touches[:, 0].copy(), touch_ms=touches[:, 1].copy(),
            journey_ids=self.plan.journeys["journey_id"], last_change_ms=last,
            shipping_orders=self.shipping_orders,
            native_shipments=self.native_shipments,
        )  # fmt: skip


def _scan_times(shipments: logistics.LogisticsDay) -> tuple[dict[int, int], dict[int, int]]:
    """Per shipment row: its dispatch scan and its returned-to-sender scan (first copies)."""
    events = shipments.events
    if events is None or not len(events):
        return {}, {}
    first = events[~events["copy"].to_numpy()]
    status = first["status"].to_numpy()
    out = []
    for code in (logistics.DISPATCHED, logistics.RETURNED):
        rows = first[status == code]
        out.append(dict(zip(rows["ship"].tolist(), rows["ts"].tolist(), strict=True)))
    return out[0], out[1]


def _monotone(v: Versions) -> Versions:
    """A row's versions never share or reverse a timestamp (whole seconds, one second apart at least)."""
    ms = v.ms // 1000 * 1000
    if len(ms) > 1:
        out = ms.tolist()
        rows = v.row.tolist()
        for i in range(1, len(out)):
            if rows[i] == rows[i - 1] and out[i] <= out[i - 1]:
                out[i] = out[i - 1] + 1000
        ms = np.array(out, np.int64)
    return Versions(v.row, ms, v.code)


def build_day(
    pop: Population, plan: DayPlan, shipments: logistics.LogisticsDay, logistics_stock: logistics.Stockouts
) -> ErpDay:
    """The ERP orders that start on the plan's day.

    `plan` must still hold its events (payment attempts, carts); `shipments` (the logistics plan of the day's
    web orders) its scans. Phone and marketplace orders are shipped with logistics.plan_shipments.
    """
    return _DayBuilder(pop, plan, shipments, logistics_stock).build()


# ---------------------------------------------------------------------------- customers as the ERP types them
NAME_FORMS = ("first_last", "upper", "initial_last", "last_comma_first", "quoted_nickname")
PUNCTUATED_FORMS = (3, 4)
PHONE_FORMS = ("intl_trunk_zero", "national", "dashes", "no_plus")


@dataclass(frozen=True)
class CustomerTyping:
    """How the ERP holds each customer (keys.erp_customers order): name, email and phone typed its own way."""

    person: np.ndarray
    customer_no: list[str]
    created_ms: np.ndarray
    email: list[str | None]  # canonical
    name_form: np.ndarray
    second_line: np.ndarray  # -1: one line; else index into SECOND_LINES
    email_form: np.ndarray  # -1: no email; 0 as is, 1 Capitalised parts, 2 UPPER
    phone_form: np.ndarray  # -1: no phone; else index into PHONE_FORMS
    flat: np.ndarray  # a flat number for the "Flat N" second line

    def positions(self, persons: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.person, np.asarray(persons, np.int64))


def customer_typing(pop: Population) -> CustomerTyping:
    cfg = pop.config
    customers = erp_customers(pop)
    rng = np.random.default_rng(stream_seed(cfg.seed, "erp-customer-typing"))
    person = customers.person
    n = len(person)
    first = pop.first_name[person]
    punctuated = rng.random(n) < cfg.rate("erp_name_punctuation")
    has_nickname = np.isin(first, list(NICKNAMES))
    quoted = has_nickname & (rng.random(n) < 0.4)
    plain = rng.choice(3, n, p=[0.7, 0.12, 0.18])
    name_form = np.where(punctuated, np.where(quoted, 4, 3), plain).astype(np.int8)
    second = np.where(rng.random(n) < cfg.rate("erp_multiline_name"), rng.integers(0, len(SECOND_LINES), n), -1)
    no_email = np.array([e is None for e in customers.email], bool)
    email_form = np.where(no_email, -1, rng.choice(3, n, p=[0.8, 0.12, 0.08])).astype(np.int8)
    phone_form = np.where(pop.has_phone[person] & (rng.random(n) < 0.8), rng.integers(0, len(PHONE_FORMS), n), -1)
    return CustomerTyping(
        person, customers.customer_no, customers.created_ms, customers.email, name_form,
        second.astype(np.int8), email_form, phone_form.astype(np.int8), rng.integers(1, 60, n),
    )  # fmt: skip


def _company(person: int) -> str:
    domain = vocab.WORK_DOMAINS[person % len(vocab.WORK_DOMAINS)]
    return domain.split(".")[0].replace("-", " ").title() + " Ltd"


def typed_name(pop: Population, typing: CustomerTyping, i: int) -> str:
    p = int(typing.person[i])
    first, last = str(pop.first_name[p]), str(pop.last_name[p])
    form = typing.name_form[i]
    if form == 1:
        name = f"{first} {last}".upper()
    elif form == 2:
        name = f"{first[0]}. {last}"
    elif form == 3:
        name = f"{last}, {first}"
    elif form == 4:
        name = f'{first} "{NICKNAMES[first]}" {last}'
    else:
        name = f"{first} {last}"
    second = typing.second_line[i]
    if second >= 0:
        prefix = SECOND_LINES[second]
        name += "\n" + (f"Flat {typing.flat[i]}" if prefix == "Flat " else prefix + _company(p))
    return name


def typed_email(typing: CustomerTyping, i: int) -> str | None:
    email, form = typing.email[i], typing.email_form[i]
    if email is None or form < 0:
        return None
    if form == 1:
        local, domain = email.split("@")
        return ".".join(part.capitalize() for part in local.split(".")) + "@" + domain
    return email.upper() if form == 2 else email


def typed_phone(pop: Population, typing: CustomerTyping, i: int) -> str | None:
    form = typing.phone_form[i]
    if form < 0:
        return None
    p = int(typing.person[i])
    cc, area, sub = vocab.DIAL_CODES[pop.country[p]], pop.phone_area[p], pop.phone_sub[p]
    if form == 0:
        return f"+{cc} (0){area} {sub}"
    if form == 1:
        return f"0{area} {sub}"
    if form == 2:
        return f"+{cc}-{area}-{sub}"
    return f"{cc}{area}{sub}"


# ---------------------------------------------------------------------------- a business date's rows
def london_iso(ms: np.ndarray) -> list[str]:
    """Europe/London local time with its offset, whole seconds: 2026-10-25T01:30:00+01:00 / ...+00:00."""
    ms = np.asarray(ms, np.int64)
    if not len(ms):
        return []
    offset = offsets_seconds(("Europe/London",), np.zeros(len(ms), np.int8), ms)
    text = np.datetime_as_string((ms // 1000 + offset).astype("datetime64[s]"), unit="s").tolist()
    return [t + ("+01:00" if o == 3600 else "+00:00") for t, o in zip(text, offset.tolist(), strict=True)]


def repeated_hour(ms: np.ndarray) -> np.ndarray:
    """True where the London wall-clock time occurs twice (the hour the clocks go back)."""
    ms = np.asarray(ms, np.int64)
    zone = np.zeros(len(ms), np.int8)
    now = offsets_seconds(("Europe/London",), zone, ms)
    later = offsets_seconds(("Europe/London",), zone, ms + MS_HOUR)
    earlier = offsets_seconds(("Europe/London",), zone, ms - MS_HOUR)
    return ((now > later) | (earlier > now)) & (ms >= 0)


def money(pence: np.ndarray) -> list[str]:
    return [f"{v // 100}.{v % 100:02d}" for v in np.asarray(pence, np.int64).tolist()]


_TIMESTAMPS = {
    "customers.csv": ("created_at", "changed_at"),
    "sales_orders.csv": ("order_ts", "changed_at"),
    "order_lines.csv": ("changed_at",),
    "payments.csv": ("attempt_ts", "changed_at"),
    "returns.csv": ("requested_at", "changed_at"),
}


def _concat(parts: list[tuple[dict, dict]]) -> pd.DataFrame:
    """One frame from several days' (columns, timestamps) parts: a scalar column repeats, lists become arrays."""
    sizes = [len(next(iter(stamps.values()))) for _, stamps in parts]

    def column(values: list, sizes: list[int]) -> np.ndarray:
        arrays = [
            np.full(n, v, object) if np.ndim(v) == 0 else (v if isinstance(v, np.ndarray) else np.array(v, object))
            for v, n in zip(values, sizes, strict=True)
        ]
        return np.concatenate(arrays) if arrays else np.zeros(0, object)

    columns = {name: column([c[name] for c, _ in parts], sizes) for name in parts[0][0]}
    stamps = {name: column([t[name] for _, t in parts], sizes).astype(np.int64) for name in parts[0][1]}
    return _frame(columns, stamps)


def _frame(columns: dict[str, object], stamps: dict[str, np.ndarray]) -> pd.DataFrame:
    """Contract columns (timestamps given in ms, formatted here) plus hidden `_ms_<column>` copies."""
    data = dict(columns)
    for name, ms in stamps.items():
        data[name] = london_iso(ms)
        data[f"_ms_{name}"] = np.asarray(ms, np.int64)
    return pd.DataFrame(data)


def _day_rows(e: ErpDay, lo: int, hi: int) -> dict[str, tuple[dict, dict]]:
    """The day's versions stamped in [lo, hi) as (columns, timestamps in ms) per file, for _concat."""
    out: dict[str, tuple[dict, dict]] = {}
    journey_ids = np.array([*e.journey_ids, None], object)  # -1 -> None

    pos = e.ov.latest_in(lo, hi)
    k = e.ov.row[pos]
    numbers = e.order_numbers(k)
    persons = e.o_person[k]
    out["sales_orders.csv"] = (
        {
            "order_no": numbers,
            "customer_no": np.where(e.o_account[k], np.array(erp_customer_nos(persons), object), None),
            "channel": np.array(CHANNELS, object)[e.o_channel[k]],
            "store_id": np.array([*STORES, None], object)[e.o_store[k]],
            "status": np.array(ORDER_STATUSES, object)[e.ov.code[pos]],
            "currency": CURRENCY,
            "total_amount": money(e.o_total[k]),
            "_key": numbers,
            "_order": numbers,
            "_person": persons,
            "_journey": journey_ids[e.o_journey[k]],
            "_amount": e.o_total[k],
        },
        {"order_ts": e.o_ts[k], "changed_at": e.ov.ms[pos]},
    )

    pos = e.lv.latest_in(lo, hi)
    i = e.lv.row[pos]
    k = e.l_order[i]
    numbers = e.order_numbers(k)
    out["order_lines.csv"] = (
        {
            "order_no": numbers,
            "line_no": e.l_no[i].astype(np.int64),
            "sku": [f"SKU-{100000 + s}" for s in e.l_sku[i].tolist()],
            "quantity": e.l_qty[i].astype(np.int64),
            "unit_price": money(e.l_price[i]),
            "line_status": np.array(LINE_STATUSES, object)[e.lv.code[pos]],
            "_key": [f"{n}/{no}" for n, no in zip(numbers.tolist(), e.l_no[i].tolist(), strict=True)],
            "_order": numbers,
            "_person": e.o_person[k],
            "_journey": journey_ids[e.o_journey[k]],
            "_restock": e.l_restock[i],
        },
        {"changed_at": e.lv.ms[pos]},
    )

    pos = e.pv.latest_in(lo, hi)
    i = e.pv.row[pos]
    k = e.p_order[i]
    ids = e.payment_ids(i)
    out["payments.csv"] = (
        {
            "payment_id": ids,
            "order_no": e.order_numbers(k),
            "method": np.array(METHODS, object)[e.p_method[i]],
            "amount": money(e.p_amount[i]),
            "status": np.array(PAYMENT_STATUSES, object)[e.pv.code[pos]],
            "decline_code": np.array([*DECLINE_CODES, None], object)[e.p_decline[i]],
            "_key": ids,
            "_order": e.order_numbers(k),
            "_person": e.o_person[k],
            "_journey": journey_ids[e.o_journey[k]],
            "_amount": e.p_amount[i],
            "_web_reason": np.array([*WEB_FAILURE_REASONS, None], object)[e.p_web_reason[i]],
        },
        {"attempt_ts": e.p_attempt[i], "changed_at": e.pv.ms[pos]},
    )

    pos = e.rv.latest_in(lo, hi)
    i = e.rv.row[pos]
    k = e.r_order[i]
    ids = e.return_ids(i)
    out["returns.csv"] = (
        {
            "return_id": ids,
            "order_no": e.order_numbers(k),
            "reason": np.array(RETURN_REASONS, object)[e.r_reason[i]],
            "status": np.array(RETURN_STATUSES, object)[e.rv.code[pos]],
            "_key": ids,
            "_order": e.order_numbers(k),
            "_person": e.o_person[k],
            "_journey": journey_ids[np.where(e.r_journey[i] >= 0, e.r_journey[i], e.o_journey[k])],
        },
        {"requested_at": e.r_requested[i], "changed_at": e.rv.ms[pos]},
    )
    return out


def file_set_frames(pop: Population, typing: CustomerTyping, days: list[ErpDay], d: date) -> dict[str, pd.DataFrame]:
    """Every row of business date d's complete file set: contract columns, then hidden `_` columns.

    Rows are each key's latest version changed on London day d, in changed_at order.
    """
    lo, hi = local_midnight_ms(d), local_midnight_ms(d + timedelta(days=1))
    parts: dict[str, list[tuple[dict, dict]]] = {name: [] for name in FILES[1:]}
    created = (typing.created_ms >= lo) & (typing.created_ms < hi)
    touch_person, touch_ms = [typing.person[created]], [typing.created_ms[created]]
    for e in days:
        if e.day > d or e.last_change_ms < lo:
            continue
        for name, part in _day_rows(e, lo, hi).items():
            parts[name].append(part)
        hit = (e.touch_ms >= lo) & (e.touch_ms < hi)
        touch_person.append(e.touch_person[hit])
        touch_ms.append(e.touch_ms[hit])
    touched = pd.Series(np.concatenate(touch_ms)).groupby(np.concatenate(touch_person), sort=True).max()
    position = typing.positions(touched.index.to_numpy(np.int64))
    out = {"customers.csv": _customers_frame(pop, typing, position, touched.to_numpy(np.int64))}
    empty = _day_rows(days[0], 0, 0) if days else {}  # every column, no rows: for a date nothing changed on
    for name, day_parts in parts.items():
        out[name] = _concat(day_parts or [empty[name]])
    return {
        name: out[name].sort_values(["_ms_changed_at", "_key"], kind="stable").reset_index(drop=True) for name in FILES
    }


def _customers_frame(
    pop: Population, typing: CustomerTyping, position: np.ndarray, changed: np.ndarray
) -> pd.DataFrame:
    pos = position.tolist()
    numbers = np.array([typing.customer_no[i] for i in pos], object)
    return _frame(
        {
            "customer_no": numbers,
            "name": [typed_name(pop, typing, i) for i in pos],
            "email": [typed_email(typing, i) for i in pos],
            "phone": [typed_phone(pop, typing, i) for i in pos],
            "billing_country": np.array(vocab.COUNTRIES, object)[pop.country[typing.person[position]]],
            "_key": numbers,
            "_order": None,
            "_person": typing.person[position],
            "_journey": None,
            "_form": typing.name_form[position],
            "_second_line": typing.second_line[position],
        },
        {"created_at": typing.created_ms[position], "changed_at": changed},
    )


# ---------------------------------------------------------------------------- how file sets arrive
@dataclass(frozen=True)
class Publication:
    """One state of a date's folder: what is there from the delivery of `visible_on` on."""

    business_date: date
    visible_on: date  # deliver_through(visible_on) and later show it
    generated_ms: int
    revision: int | None  # None: no manifest (an incomplete set the pipeline must not load)
    content: str  # full | partial (rows missing: a higher revision follows) | truncated | mismatch
    late: bool = False


def schedule(cfg: SandboxConfig, d: date) -> list[Publication]:
    """How the file set of business date d reaches the landing folder, revision by revision.

    Normally written by 01:30 the next morning (before the night run). Late sets (erp_late_delivery) come
    during the next day, so the night run after d misses them and the next one finds them. On top of
    that, at most one of: a re-delivery 1-3 days later (erp_redelivery), a first delivery cut short without
    a manifest and completed the next day (erp_missing_manifest), a manifest that disagrees with a file,
    replaced by a correct revision the next day (erp_manifest_mismatch). Follow-ups never go past end_date.
    """
    rng = np.random.default_rng(stream_seed(cfg.seed, "erp-delivery", d.isoformat()))
    u_late, u_problem, u_days, u_t0, u_t1 = rng.random(5).tolist()
    late = d < cfg.end_date and u_late < cfg.rate("erp_late_delivery")
    base = d + timedelta(days=1) if late else d
    if late:
        first_ms = at_london_time(base, 8) + int(u_t0 * 8 * MS_HOUR) // 1000 * 1000
    else:
        first_ms = at_london_time(d + timedelta(days=1), 0, 50) + int(u_t0 * 39 * MS_MINUTE) // 1000 * 1000
    room = (cfg.end_date - base).days

    def follow_up(days: int, revision: int) -> Publication:
        day = base + timedelta(days=days)
        return Publication(d, day, at_london_time(day, 10) + int(u_t1 * 8 * MS_HOUR) // 1000 * 1000, revision, "full")

    edges = np.cumsum([cfg.rate(k) for k in ("erp_redelivery", "erp_missing_manifest", "erp_manifest_mismatch")])
    problem = int(np.searchsorted(edges, u_problem, side="right"))  # 0, 1, 2 or 3 (none)
    if problem == 0 and room >= 1:
        return [Publication(d, base, first_ms, 1, "partial", late), follow_up(min(1 + int(u_days * 3), room), 2)]
    if problem == 1:
        first = Publication(d, base, first_ms, None, "truncated", late)
        return [first, follow_up(1, 1)] if room >= 1 else [first]
    if problem == 2:
        first = Publication(d, base, first_ms, 1, "mismatch", late)
        return [first, follow_up(1, 2)] if room >= 1 else [first]
    return [Publication(d, base, first_ms, 1, "full", late)]


def current(cfg: SandboxConfig, d: date, through: date) -> Publication | None:
    """What date d's folder holds after the delivery through `through` (None: nothing yet)."""
    visible = [p for p in schedule(cfg, d) if p.visible_on <= through]
    return visible[-1] if visible else None


def folder(landing_dir: Path, d: date) -> Path:
    return Path(landing_dir) / SYSTEM_DIR / d.isoformat()


def _iso_offset_utc(ms: int) -> str:
    return np.datetime_as_string(np.int64(ms // 1000).astype("datetime64[s]"), unit="s") + "+00:00"


def folder_matches(landing_dir: Path, pub: Publication) -> bool:
    """True when the folder already holds this publication (its manifest, or its files without one)."""
    path = folder(landing_dir, pub.business_date)
    manifest = path / MANIFEST
    if pub.revision is None:
        return not manifest.exists() and all((path / name).exists() for name in FILES)
    if not manifest.exists():
        return False
    data = json.loads(manifest.read_bytes())
    return data.get("revision") == pub.revision and data.get("generated_at") == _iso_offset_utc(pub.generated_ms)


def dates_through(cfg: SandboxConfig, through: date) -> list[date]:
    return [d for d in cfg.days() if cfg.start_date <= d <= through]


def pending(cfg: SandboxConfig, landing_dir: Path, through: date) -> list[date]:
    """Dates whose folder is not (yet) what it should be after the delivery through `through`."""
    out = []
    for d in dates_through(cfg, through):
        pub = current(cfg, d, through)
        if pub is not None and not folder_matches(landing_dir, pub):
            out.append(d)
    return out


def delivered_dates(landing_dir: Path) -> list[date]:
    root = Path(landing_dir) / SYSTEM_DIR
    out = []
    for path in sorted(root.iterdir()) if root.exists() else []:
        try:
            out.append(date.fromisoformat(path.name))
        except ValueError:
            continue
    return out


# ---------------------------------------------------------------------------- rendering and writing
def csv_bytes(frame: pd.DataFrame, columns: list[str]) -> bytes:
    """UTF-8 with a byte-order mark, RFC 4180 (CRLF, quotes only where needed), empty field for null."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    frame.to_csv(buffer, columns=columns, index=False, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL, na_rep="")
    return buffer.getvalue().encode("utf-8")


@dataclass
class Rendered:
    files: dict[str, bytes]
    manifest: bytes | None
    rows: dict[str, int]
    omitted: dict[str, list[str]]  # per file: keys missing from this revision (a partial set)
    detail: str = ""  # what is wrong with it, for the ground truth


def _omitted_orders(cfg: SandboxConfig, frames: dict[str, pd.DataFrame], d: date) -> tuple[set[str], str]:
    """Orders a partial revision misses: one store's till upload, else about 5% of the orders."""
    rng = np.random.default_rng(stream_seed(cfg.seed, "erp-partial", d.isoformat()))
    orders = frames["sales_orders.csv"]
    stores = sorted(orders["store_id"].dropna().unique().tolist())
    if stores:
        store = stores[int(rng.integers(0, len(stores)))]
        return set(orders.loc[orders["store_id"] == store, "order_no"]), f"store {store}'s till upload was missing"
    numbers = sorted(set().union(*(frames[n]["_order"].dropna() for n in FILES[1:])))
    if not numbers:
        return set(), "nothing was missing (the same rows again)"
    chosen = rng.choice(len(numbers), max(1, round(0.05 * len(numbers))), replace=False)
    return {numbers[i] for i in sorted(chosen.tolist())}, "orders posted after the export started were missing"


def render(cfg: SandboxConfig, frames: dict[str, pd.DataFrame], pub: Publication) -> Rendered:
    omitted: dict[str, list[str]] = {name: [] for name in FILES}
    detail = ""
    if pub.content == "partial":
        missing, detail = _omitted_orders(cfg, frames, pub.business_date)
        kept = {}
        for name, frame in frames.items():
            drop = frame["_order"].isin(missing) if name != "customers.csv" else np.zeros(len(frame), bool)
            omitted[name] = frame.loc[drop, "_key"].tolist()
            kept[name] = frame[~drop]
        frames = kept
    files = {name: csv_bytes(frames[name], COLUMNS[name]) for name in FILES}
    rows = {name: len(frames[name]) for name in FILES}
    entries: dict[str, dict] = {}
    for name in FILES:
        entry: dict[str, object] = {"rows": rows[name], "sha256": hashlib.sha256(files[name]).hexdigest()}
        if name in AMOUNT_COLUMNS:
            entry["amount_sum"] = money(np.array([int(frames[name]["_amount"].sum())]))[0]
        entries[name] = entry
    rng = np.random.default_rng(stream_seed(cfg.seed, "erp-broken", pub.business_date.isoformat()))
    if pub.content == "mismatch":
        kind = ("rows", "sha256", "amount_sum")[int(rng.integers(0, 3))]
        name = ("sales_orders.csv", "payments.csv")[int(rng.integers(0, 2))]
        if kind == "rows":
            entries[name]["rows"] = rows[name] + 1
        elif kind == "sha256":
            entries[name]["sha256"] = hashlib.sha256(files[name] + b"\r\n").hexdigest()
        else:
            entries[name]["amount_sum"] = money(
                np.array([int(frames[name]["_amount"].sum()) + 1 + int(rng.integers(0, 999))])
            )[0]
        detail = f"{name}: manifest {kind} disagrees with the file"
    if pub.content == "truncated":
        name = max(FILES, key=lambda n: (len(files[n]), n))
        cut = max(len(files[name]) // 2, 1)
        files[name] = files[name][:cut]
        detail = f"{name} cut after {cut} of its bytes; no manifest"
    manifest = None
    if pub.revision is not None:
        body = {
            "business_date": pub.business_date.isoformat(),
            "revision": pub.revision,
            "generated_at": _iso_offset_utc(pub.generated_ms),
            "files": entries,
        }
        manifest = (json.dumps(body, indent=2) + "\n").encode()
    return Rendered(files, manifest, rows, omitted, detail)


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_publication(landing_dir: Path, pub: Publication, rendered: Rendered) -> None:
    """Files first, manifest last. A replaced set loses its old manifest first: no reader ever sees new
    files under the old manifest (they see no manifest, i.e. an incomplete set, until the new one lands)."""
    path = folder(landing_dir, pub.business_date)
    path.mkdir(parents=True, exist_ok=True)
    (path / MANIFEST).unlink(missing_ok=True)
    for name in FILES:
        _write_atomically(path / name, rendered.files[name])
    if rendered.manifest is not None:
        _write_atomically(path / MANIFEST, rendered.manifest)


# ---------------------------------------------------------------------------- the system over time
@dataclass
class _DateFacts:
    """What the ground truth needs of one business date, kept after its files are written."""

    quirks: pd.DataFrame  # QUIRK_COLUMNS of the complete set's rows
    omitted: dict[str, list[str]]  # keys a partial revision misses (empty unless one is scheduled)
    problem: str  # what is wrong with its partial / truncated / mismatching revision


class ErpFiles:
    """The ERP side of the landing area: which file set each date shows, written as they arrive."""

    def __init__(self, population: Population, landing_dir: Path) -> None:
        self.pop = population
        self.cfg = population.config
        self.landing_dir = Path(landing_dir)
        self._typing: CustomerTyping | None = None
        self._facts: dict[date, _DateFacts] = {}

    @property
    def typing(self) -> CustomerTyping:
        if self._typing is None:
            self._typing = customer_typing(self.pop)
        return self._typing

    def dates_through(self, through: date) -> list[date]:
        return dates_through(self.cfg, through)

    def pending(self, through: date) -> list[date]:
        return pending(self.cfg, self.landing_dir, through)

    def deliver(self, days: list[ErpDay], through: date) -> tuple[list[date], dict[str, int]]:
        """Write every folder that changes by `through`; returns the dates written and their rows per file."""
        ahead = [d for d in delivered_dates(self.landing_dir) if d > through]
        if ahead:
            raise ValueError(f"ERP file sets already exist for {ahead[0]} and later; cannot go back to {through}")
        written, rows = [], dict.fromkeys(FILES, 0)
        for d in self.pending(through):
            pub = current(self.cfg, d, through)
            frames = file_set_frames(self.pop, self.typing, days, d)
            rendered = render(self.cfg, frames, pub)
            write_publication(self.landing_dir, pub, rendered)
            self._remember(d, frames)
            written.append(d)
            for name in FILES:
                rows[name] += rendered.rows[name]
        return written, rows

    def _remember(self, d: date, frames: dict[str, pd.DataFrame]) -> _DateFacts:
        if d not in self._facts:
            pubs = schedule(self.cfg, d)
            problem = next((p for p in pubs if p.content != "full"), None)
            rendered = render(self.cfg, frames, problem) if problem is not None else None
            omitted = rendered.omitted if rendered is not None else {name: [] for name in FILES}
            self._facts[d] = _DateFacts(content_quirks(d, frames), omitted, rendered.detail if rendered else "")
        return self._facts[d]

    def facts(self, days: list[ErpDay], d: date) -> _DateFacts:
        if d not in self._facts:
            self._remember(d, file_set_frames(self.pop, self.typing, days, d))
        return self._facts[d]

    # ------------------------------------------------------------ ground truth
    def quirk_frame(self, days: list[ErpDay], through: date) -> pd.DataFrame:
        """Every ERP quirk in the folders as they are after the delivery through `through`."""
        parts = []
        for d in self.dates_through(through):
            now = current(self.cfg, d, through)
            if now is None:
                continue
            facts = self.facts(days, d)
            visible = [p for p in schedule(self.cfg, d) if p.visible_on <= through]
            records = []
            for pub in visible:
                parts_records = _publication_quirks(pub, visible, facts)
                records += parts_records
            if records:
                parts.append(pd.DataFrame(records, columns=QUIRK_COLUMNS))
            if now.content == "truncated":
                continue  # nothing in it may be loaded yet
            rows = facts.quirks
            if now.content == "partial":
                hidden = {(f"{SYSTEM_DIR}/{d}/{name}", key) for name, keys in facts.omitted.items() for key in keys}
                if hidden:
                    pairs = list(zip(rows["location"], rows["source_key"], strict=True))
                    rows = rows[[pair not in hidden for pair in pairs]]
            parts.append(rows)
        parts = [p for p in parts if len(p)]
        if not parts:
            return pd.DataFrame(columns=QUIRK_COLUMNS)
        out = pd.concat(parts, ignore_index=True)
        person = out["person_id"].to_numpy(object)
        named = np.array([*self.pop.person_id, None], object)
        index = np.array([-1 if v is None or v != v else int(v) for v in person.tolist()], np.int64)
        out["person_id"] = named[index]
        return out

    def file_sets_frame(self, through: date) -> pd.DataFrame:
        """erp_file_sets.csv: every revision delivered so far, and which one each folder holds now."""
        rows = []
        for d in self.dates_through(through):
            now = current(self.cfg, d, through)
            for pub in schedule(self.cfg, d):
                if pub.visible_on > through:
                    continue
                rows.append(
                    {
                        "business_date": d.isoformat(),
                        "revision": pub.revision,
                        "has_manifest": pub.revision is not None,
                        "content": pub.content,
                        "late": pub.late,
                        "generated_at": _iso_z(pub.generated_ms)[0],
                        "first_night_run": pub.visible_on.isoformat(),
                        "in_folder_now": pub == now,
                        "loadable": pub == now and pub.revision is not None and pub.content != "mismatch",
                    }
                )
        return pd.DataFrame(rows, columns=[
            "business_date", "revision", "has_manifest", "content", "late", "generated_at", "first_night_run",
            "in_folder_now", "loadable",
        ])  # fmt: skip

    def identity_frame(self, days: list[ErpDay], through: date) -> pd.DataFrame:
        """customer_no, email and phone of every ERP customer in a file set delivered by `through`.

        Columns as ground_truth.persons_and_identities takes them; first_seen is the row's first changed_at.
        """
        typing = self.typing
        dates = self.dates_through(through)
        shown = np.array([current(self.cfg, d, through) is not None for d in dates], bool)
        columns = ["person", "system", "identifier_type", "value", "normalised_value", "source_key", "first_seen"]
        if not shown.any():
            return pd.DataFrame(columns=columns)
        edges = np.array([local_midnight_ms(d) for d in [*dates, dates[-1] + timedelta(days=1)]], np.int64)
        person = np.concatenate([typing.person, *(e.touch_person for e in days)])
        ms = np.concatenate([typing.created_ms, *(e.touch_ms for e in days)])
        bucket = np.searchsorted(edges, ms, side="right") - 1
        inside = (bucket >= 0) & (bucket < len(dates))
        inside[inside] = shown[bucket[inside]]  # a late set not delivered yet shows nobody
        first = pd.Series(ms[inside]).groupby(person[inside]).min()
        position = typing.positions(first.index.to_numpy(np.int64))
        pos = position.tolist()
        persons = typing.person[position]
        numbers = np.array([typing.customer_no[i] for i in pos], object)
        emails = np.array([typed_email(typing, i) for i in pos], object)
        phones = np.array([typed_phone(self.pop, typing, i) for i in pos], object)
        canonical = np.array([self.pop.canonical_phone(int(p)) for p in persons.tolist()], object)
        seen = first.to_numpy(np.int64)
        out = []
        for kind, values, normal in (
            ("erp_customer_no", numbers, numbers),
            ("email", emails, np.array([v.strip().lower() if v else None for v in emails], object)),
            ("phone", phones, canonical),
        ):
            has = np.array([v is not None for v in values], bool)
            out.append(
                pd.DataFrame(
                    {
                        "person": persons[has],
                        "system": SYSTEM_DIR,
                        "identifier_type": kind,
                        "value": values[has],
                        "normalised_value": normal[has],
                        "source_key": numbers[has],
                        "first_seen": seen[has],
                    }
                )
            )
        return pd.concat(out, ignore_index=True)[columns]

    def orders_frame(self, days: list[ErpDay], cutoff: int) -> pd.DataFrame:
        """erp_orders.csv: every ERP order created by the cutoff, with its planned life and status then."""
        frames = []
        person_ids = np.array(self.pop.person_id, object)
        for e in days:
            n = e.n_orders
            keep = np.flatnonzero(e.o_ts < cutoff)
            if not len(keep):
                continue
            journey_ids = np.array([*e.journey_ids, None], object)
            status = e.ov.status_at(n, cutoff)
            final_line = e.lv.status_at(len(e.l_order), NEVER)
            ret = np.full(n, -1, np.int64)
            ret[e.r_order] = np.arange(len(e.r_order))
            r_final = e.rv.status_at(len(e.r_order), NEVER)
            has_ret = ret >= 0
            r = np.maximum(ret, 0)
            requested = _iso_z(np.where(has_ret, e.r_requested[r] if len(e.r_order) else NEVER, NEVER))
            frame = pd.DataFrame(
                {
                    "order_no": e.order_numbers(),
                    "origin": np.array(ORIGINS, object)[e.o_origin],
                    "channel": np.array(CHANNELS, object)[e.o_channel],
                    "person_id": person_ids[e.o_person],
                    "customer_no": np.where(e.o_account, np.array(erp_customer_nos(e.o_person), object), None),
                    "journey_id": journey_ids[e.o_journey],
                    "store_id": np.array([*STORES, None], object)[e.o_store],
                    "created_at": _iso_z(e.o_ts),
                    "total": money(e.o_total),
                    "lines": np.bincount(e.l_order, minlength=n),
                    "backordered_lines": np.bincount(e.l_order, weights=e.l_restock >= 0, minlength=n).astype(int),
                    "cancelled_stockout_lines": np.bincount(
                        e.l_order, weights=final_line == CANCELLED_STOCKOUT, minlength=n
                    ).astype(int),
                    "paid_at": _iso_z(e.ov.first(n, PAID)),
                    "shipped_at": _iso_z(e.ov.first(n, SHIPPED)),
                    "delivered_at": _iso_z(e.ov.first(n, DELIVERED)),
                    "cancelled_at": _iso_z(e.ov.first(n, CANCELLED)),
                    "returned_at": _iso_z(e.ov.first(n, RETURNED)),
                    "status_at_cutoff": np.array([*ORDER_STATUSES, None], object)[status],
                    "return_id": np.where(has_ret, e.return_ids(r), None),
                    "return_requested_at": requested,
                    "return_reason": np.where(has_ret, np.array(RETURN_REASONS, object)[e.r_reason[r]], None)
                    if len(e.r_order)
                    else None,
                    "return_final_status": np.where(has_ret, np.array(RETURN_STATUSES, object)[r_final[r]], None)
                    if len(e.r_order)
                    else None,
                    "turbulent": e.o_turbulent,
                }
            )
            frames.append(frame.iloc[keep])
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def payments_frame(self, days: list[ErpDay], cutoff: int) -> pd.DataFrame:
        """payments.csv: every payment row (attempts and refunds) made by the cutoff, with its final status
        and, for a web attempt that failed, the checkout_failed reason and time it mirrors."""
        frames = []
        person_ids = np.array(self.pop.person_id, object)
        for e in days:
            keep = np.flatnonzero(e.p_attempt < cutoff)
            if not len(keep):
                continue
            n = len(e.p_order)
            journey_ids = np.array([*e.journey_ids, None], object)
            k = e.p_order
            frame = pd.DataFrame(
                {
                    "payment_id": e.payment_ids(np.arange(n)),
                    "order_no": e.order_numbers(k),
                    "person_id": person_ids[e.o_person[k]],
                    "journey_id": journey_ids[e.o_journey[k]],
                    "channel": np.array(CHANNELS, object)[e.o_channel[k]],
                    "kind": np.where(e.p_refund, "refund", "attempt"),
                    "attempt_at": _iso_z(e.p_attempt),
                    "method": np.array(METHODS, object)[e.p_method],
                    "amount": money(e.p_amount),
                    "final_status": np.array(PAYMENT_STATUSES, object)[e.pv.status_at(n, NEVER)],
                    "decline_code": np.array([*DECLINE_CODES, None], object)[e.p_decline],
                    "web_reason": np.array([*WEB_FAILURE_REASONS, None], object)[e.p_web_reason],
                    "web_failure_at": _iso_z(e.p_web_event),
                    "turbulent": e.o_turbulent,
                }
            )
            frames.append(frame.iloc[keep])
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _iso_z(ms: np.ndarray | int) -> list[str | None]:
    """ISO UTC with Z for the ground truth; NEVER and negative values are empty."""
    arr = np.atleast_1d(np.asarray(ms, np.int64))
    valid = (arr >= 0) & (arr != NEVER)
    text = np.datetime_as_string(np.where(valid, arr, 0).astype("datetime64[ms]").astype("datetime64[s]"), unit="s")
    return [t + "Z" if ok else None for t, ok in zip(text.tolist(), valid.tolist(), strict=True)]


def content_quirks(d: date, frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Quirks of the rows of a complete file set: one record per row (file, primary key).

    person_id holds person indexes here; ErpFiles names them.
    """
    parts: dict[str, list[np.ndarray]] = {name: [] for name in QUIRK_COLUMNS}
    columns = {
        name: {
            "occurred_at": f["_ms_changed_at"].to_numpy(np.int64),
            "source_key": f["_key"].to_numpy(object),
            "person_id": f["_person"].to_numpy(np.int64),
            "journey_id": f["_journey"].to_numpy(object),
        }
        for name, f in frames.items()
    }

    def add(quirk: str, name: str, mask: np.ndarray, detail: np.ndarray) -> None:
        idx = np.flatnonzero(mask)
        for column, values in columns[name].items():
            parts[column].append(values[idx])
        parts["quirk"].append(np.full(len(idx), quirk, object))
        parts["system"].append(np.full(len(idx), SYSTEM_DIR, object))
        parts["location"].append(np.full(len(idx), f"{SYSTEM_DIR}/{d.isoformat()}/{name}", object))
        parts["detail"].append(np.asarray(detail, object)[idx])

    customers = frames["customers.csv"]
    form = customers["_form"].to_numpy(np.int64)
    add("erp_name_punctuation", "customers.csv", np.isin(form, PUNCTUATED_FORMS), np.array(NAME_FORMS, object)[form])
    second = customers["_second_line"].to_numpy(np.int64)
    add("erp_multiline_name", "customers.csv", second >= 0, np.full(len(customers), "name holds a line break", object))
    lines = frames["order_lines.csv"]
    status = lines["line_status"].to_numpy()
    back = _iso_z(lines["_restock"].to_numpy(np.int64))
    detail = [f"{s}: {sku} out of stock, back {b}" for s, sku, b in zip(status, lines["sku"], back, strict=True)]
    add("erp_stockout_line", "order_lines.csv", status != "ok", np.array(detail, object))
    pays = frames["payments.csv"]
    status = pays["status"].to_numpy()
    detail = [
        f"{s}: {c or 'no decline code'}" + (f"; web checkout_failed {w}" if w else "")
        for s, c, w in zip(status, pays["decline_code"], pays["_web_reason"], strict=True)
    ]
    add("payment_failed", "payments.csv", np.isin(status, ("declined", "error")), np.array(detail, object))
    for name in FILES:
        frame = frames[name]
        hits = {c: repeated_hour(frame[f"_ms_{c}"].to_numpy(np.int64)) for c in _TIMESTAMPS[name]}
        any_hit = np.logical_or.reduce(list(hits.values())) if len(frame) else np.zeros(0, bool)
        detail = np.array(
            [", ".join(c for c in hits if hits[c][i]) for i in range(len(frame))]
            if any_hit.any()
            else [""] * len(frame),
            object,
        )
        add("erp_dst_repeated_hour", name, any_hit, "local time occurs twice (the clocks went back): " + detail)
    return pd.DataFrame({name: np.concatenate(parts[name]) for name in QUIRK_COLUMNS})


def _publication_quirks(pub: Publication, visible: list[Publication], facts: _DateFacts) -> list[dict]:
    d = pub.business_date.isoformat()
    manifest = f"{SYSTEM_DIR}/{d}/{MANIFEST}"
    later = [p for p in visible if p.visible_on > pub.visible_on]
    if later:
        fixed = f"replaced by revision {later[0].revision} generated {_iso_z(later[0].generated_ms)[0]}"
    else:
        fixed = "not replaced yet"
    out = []

    def add(quirk: str, location: str, key: str, detail: str) -> None:
        out.append(
            {
                "quirk": quirk, "system": SYSTEM_DIR, "location": location, "occurred_at": pub.generated_ms,
                "source_key": key, "person_id": None, "journey_id": None, "detail": detail,
            }
        )  # fmt: skip

    if pub.late:
        add("erp_late_delivery", manifest, d, f"generated {_iso_z(pub.generated_ms)[0]}, after the night run")
    if pub.content == "partial":
        missing = sum(len(keys) for keys in facts.omitted.values())
        add("erp_redelivery", manifest, d, f"revision 1 misses {missing} rows ({facts.problem}); {fixed}")
        for name, keys in facts.omitted.items():
            for key in keys:
                add("erp_redelivery", f"{SYSTEM_DIR}/{d}/{name}", key, f"missing from revision 1; {fixed}")
    elif pub.content == "truncated":
        add("erp_missing_manifest", manifest, d, f"{facts.problem}; {fixed}")
    elif pub.content == "mismatch":
        name = facts.problem.split(":")[0]
        add("erp_manifest_mismatch", f"{SYSTEM_DIR}/{d}/{name}", d, f"{facts.problem}; {fixed}")
    return out
