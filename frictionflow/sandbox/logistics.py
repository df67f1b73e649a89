"""The warehouse and carrier system: Parquet parts of shipments, carrier scans and stock-outs.

Shipments are planned per order day from an orders frame (`orders_from_plan` builds it from a day plan's
web and app orders; ERP's store, phone and marketplace orders can be fed through the same frame), each
with its whole future: promised date, scans, failed attempts, a late or lost parcel. Lateness is a real
friction: orders whose customer checks tracking (a `delivery` journey) or complains (a delivery case)
are the ones that tend to be late or fail. Stock-outs per SKU and location are planned once per config;
an order that needs a SKU out of stock at its warehouse waits for it.

Every row has an upload time; `write_upload_day` writes the parts of one UTC upload date, one part per
6-hour window and entity (empty ones too, so a date is complete when all its parts exist), each as
`<name>.tmp` renamed into place. Late scans, duplicate scans and shipment rows uploaded after their
first events are planned with the rows and reported as quirks.
"""

from __future__ import annotations

import os
from bisect import bisect
from collections import namedtuple
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .config import SandboxConfig, stream_seed
from .journeys import DayPlan
from .population import N_SKUS, NEVER, Population
from .timeutil import (
    MS_DAY,
    MS_HOUR,
    MS_MINUTE,
    iso_utc_z,
    local_hour_starts_ms,
    local_midnight_ms,
    utc_midnight_ms,
)
from .web_analytics import QUIRK_COLUMNS

SYSTEM_DIR = "logistics"
ENTITIES = ("shipments", "shipment_events", "stockouts")
PART_HOURS = 6  # one part per entity and 6-hour upload window (UTC): four a day
PARTS_PER_DAY = 24 // PART_HOURS

WAREHOUSES = ("WH-DAV1", "WH-MAN2", "WH-BRS1")
WAREHOUSE_WEIGHTS = (0.5, 0.3, 0.2)
STORES = tuple(f"ST-{i:03d}" for i in range(1, 21))
HUBS = ("HUB-Birmingham", "HUB-Warrington", "HUB-Bristol", "HUB-Leeds", "HUB-Glasgow")
DEPOTS = tuple(
    "DEPOT-" + city
    for city in (
        "London-N", "London-S", "Manchester", "Birmingham", "Leeds", "Bristol", "Glasgow", "Cardiff", "Newcastle",
        "Nottingham", "Belfast", "Southampton",
    )
)  # fmt: skip
LOCATIONS = (*WAREHOUSES, *STORES, *HUBS, *DEPOTS)  # event and stock-out locations, by code
_STORE0, _HUB0, _DEPOT0 = len(WAREHOUSES), len(WAREHOUSES) + len(STORES), len(WAREHOUSES) + len(STORES) + len(HUBS)

SERVICE_LEVELS = ("standard", "express", "click_and_collect")
STANDARD, EXPRESS, COLLECT = 0, 1, 2
SERVICE_WEIGHTS = (0.7, 0.2, 0.1)
CARRIERS = ("Royal Mail", "Evri", "DPD", "DHL", "Store Courier")
CARRIERS_BY_SERVICE = {STANDARD: ((0, 1, 2), (0.4, 0.45, 0.15)), EXPRESS: ((2, 3), (0.6, 0.4)), COLLECT: ((4,), (1.0,))}
DISRUPTED_CARRIER = 1  # Evri: overwhelmed during the turbulent period (rate carrier_disruption)
PROMISE_DAYS = {STANDARD: 3, EXPRESS: 1, COLLECT: 2}
ORDER_CUTOFF_HOUR = 20  # orders after 20:00 London are promised from the next day
COLLECTION_HOUR = 18  # carriers collect from the warehouses at 18:00 London

STATUSES = (
    "label_created", "picked", "dispatched", "in_transit", "out_for_delivery", "delivered", "delivery_failed",
    "returned_to_sender", "lost",
)  # fmt: skip
LABEL, PICKED, DISPATCHED, IN_TRANSIT, OUT, DELIVERED, FAILED, RETURNED, LOST = range(len(STATUSES))
WAREHOUSE_SCANS = (LABEL, PICKED, DISPATCHED)  # uploaded by the warehouse system, promptly; the rest by carriers
REASONS = ("no_one_home", "address_issue", "weather", "capacity", "damaged")
REASON_WEIGHTS = (0.55, 0.15, 0.1, 0.1, 0.1)
OUTCOMES = ("delivered", "returned_to_sender", "lost", "awaiting_stock")

TRACKED_LATE_MULTIPLIER = 6.0  # orders whose customer checks tracking are late this much more often
MAX_LATE_SHARE = 0.9
COMPLAINT_FAIL_SHARE = 0.6  # orders with a delivery case: share with a failed attempt
LOST_SHARE = 0.003
MAX_SCAN_LATE_MS = 72 * MS_HOUR

_EPOCH = date(1970, 1, 1)
_SERVICE_CUM = tuple(np.cumsum(SERVICE_WEIGHTS)[:-1].tolist())  # for bisect: u in [0, 1) -> index
_WAREHOUSE_CUM = tuple(np.cumsum(WAREHOUSE_WEIGHTS)[:-1].tolist())
_REASON_CUM = tuple(np.cumsum(REASON_WEIGHTS)[:-1].tolist())
_CARRIERS_CUM = {k: (c, tuple(np.cumsum(w)[:-1].tolist())) for k, (c, w) in CARRIERS_BY_SERVICE.items()}

_U64 = np.uint64
_MULT_A = _U64(0x9E3779B97F4A7C15)  # odd: multiplying by it permutes the 64-bit integers (unique ids)
_MULT_B = _U64(0xC2B2AE3D27D4EB4F)


# ---------------------------------------------------------------------------- orders in
ORDER_COLUMNS = [
    "order_no", "person", "ordered_ms", "channel", "skus", "buying_journey", "check_journey", "check_start",
    "check_end", "complaint_ms",
]  # fmt: skip


def orders_from_plan(plan: DayPlan) -> pd.DataFrame:
    """A day plan's web and app orders, with what their customers do about the delivery afterwards.

    check_*: the first `delivery` journey (tracking check) of the order; complaint_ms: its first delivery case.
    ERP orders can be fed the same frame (NEVER / None where nothing is known).
    """
    o, j, c = plan.orders, plan.journeys, plan.cases
    n = len(o["order_no"])
    checks: dict[str, tuple[str, int, int]] = {}
    for jid, kind, number, start, end in zip(
        j["journey_id"], j["type"], j["order_no"], j["start"], j["end"], strict=True
    ):
        if kind == "delivery" and number is not None and number not in checks:
            checks[number] = (jid, int(start), int(end))
    complaints: dict[str, int] = {}
    for number, category, created in zip(c["order_ref"], c["category"], c["created"], strict=True):
        if number is not None and category == "delivery":
            complaints[number] = min(complaints.get(number, NEVER), int(created))
    journey_ids = np.array(j["journey_id"], object)
    numbers = o["order_no"]
    check = [checks.get(x) for x in numbers]
    return pd.DataFrame(
        {
            "order_no": numbers,
            "person": np.asarray(o["person"], np.int64),
            "ordered_ms": np.asarray(o["ordered_at"], np.int64),
            "channel": ["web" if p == "web" else "app" for p in o["platform"]],
            "skus": [[int(s[4:]) - 100000 for s, _, _ in lines] for lines in o["lines"]],
            "buying_journey": journey_ids[np.asarray(o["journey"], np.int64)] if n else [],
            "check_journey": [x[0] if x else None for x in check],
            "check_start": np.array([x[1] if x else NEVER for x in check], np.int64),
            "check_end": np.array([x[2] if x else NEVER for x in check], np.int64),
            "complaint_ms": np.array([complaints.get(x, NEVER) for x in numbers], np.int64),
        },
        columns=ORDER_COLUMNS,
    )


_Order = namedtuple("_Order", ORDER_COLUMNS)  # plain Python values: cheaper than itertuples on arrow strings


# ---------------------------------------------------------------------------- stock-outs
@dataclass
class Stockouts:
    """Every stock-out row the logistics feed reports, by start time.

    Warehouse stock-outs are the company-wide windows of stock.py (shared with the ERP, which backorders
    the same lines): each SKU is stocked at one home warehouse, so a window is one warehouse's stock-out.
    Store shelves run out on their own (rate `stockout`); online orders never wait for a store.
    """

    sku: np.ndarray
    location: np.ndarray  # index into LOCATIONS (warehouses and stores)
    start: np.ndarray
    end: np.ndarray
    start_upload: np.ndarray
    end_upload: np.ndarray
    shared_row: np.ndarray  # per window of stock.py: its row here (-1 when it ends before the world starts)
    shared: object = None  # stock.StockOuts, or None without the ERP module


def home_warehouse(sku: np.ndarray | int) -> np.ndarray:
    """The warehouse that stocks a SKU (fixed per SKU, weighted like the warehouses' sizes)."""
    spread = (np.asarray(sku, np.int64) * 0.6180339887498949) % 1.0
    return np.searchsorted(np.array(_WAREHOUSE_CUM), spread, side="right")


def plan_stockouts(pop: Population) -> Stockouts:
    cfg = pop.config
    rng = np.random.default_rng(stream_seed(cfg.seed, "stockouts-stores"))
    shared = _shared_stockouts(pop)
    parts = []
    if shared is not None and len(shared):
        parts.append(
            (shared.sku, home_warehouse(shared.sku), shared.start_ms, shared.end_ms, np.arange(len(shared.sku)))
        )
    for d in cfg.days():
        k = int(rng.poisson(N_SKUS * len(STORES) * cfg.rate("stockout")))
        # Best sellers run out more often.
        sku = np.minimum(np.searchsorted(pop.sku_popularity, rng.random(k)), N_SKUS - 1)
        location = _STORE0 + rng.integers(0, len(STORES), k)
        start = (local_midnight_ms(d) + rng.integers(0, MS_DAY, k)) // 1000 * 1000
        hours = np.clip(rng.lognormal(np.log(30), 1.0, k), 2, 20 * 24)
        end = start + (hours * MS_HOUR).astype(np.int64) // 1000 * 1000
        parts.append((sku, location, start, end, np.full(k, -1, np.int64)))
    if not parts:
        parts.append(tuple(np.zeros(0, np.int64) for _ in range(5)))
    sku, location, start, end, origin = (np.concatenate(c).astype(np.int64) for c in zip(*parts, strict=True))
    order = np.lexsort((start, location, sku))
    sku, location, start, end, origin = sku[order], location[order], start[order], end[order], origin[order]
    # One stock-out at a time per SKU and store: a new one starts only after the previous ended.
    keep = np.ones(len(sku), bool)
    last_end, last_pair = -1, (-1, -1)
    for i, (s, loc, t0, t1) in enumerate(
        zip(sku.tolist(), location.tolist(), start.tolist(), end.tolist(), strict=True)
    ):
        if (s, loc) == last_pair and t0 <= last_end:
            keep[i] = False
            continue
        last_pair, last_end = (s, loc), t1
    keep &= end > pop.world_start_ms  # over before the world starts: never reported
    sku, location, start, end, origin = sku[keep], location[keep], start[keep], end[keep], origin[keep]
    order = np.argsort(start, kind="stable")
    sku, location, start, end, origin = sku[order], location[order], start[order], end[order], origin[order]
    lag = rng.integers(5 * MS_MINUTE, 2 * MS_HOUR, (2, len(sku)))
    # A window already open when the world starts is reported at the start.
    start_upload = np.maximum(start, pop.world_start_ms) + lag[0]
    # The repeated row with ended_at always lands in a later part than the first one.
    end_upload = np.maximum(end + lag[1], start_upload + PART_HOURS * MS_HOUR)
    shared_row = np.full(len(shared.sku) if shared is not None else 0, -1, np.int64)
    from_shared = origin >= 0
    shared_row[origin[from_shared]] = np.flatnonzero(from_shared)
    return Stockouts(sku, location, start, end, start_upload, end_upload, shared_row, shared)


def _shared_stockouts(pop: Population):
    """stock.py's windows when the ERP's stock-out rate is configured (the ERP module is in the tree)."""
    if "erp_stockout" not in pop.config.quirk_rates:
        return None
    from .stock import stockouts

    return stockouts(pop)


def _waits(stock: Stockouts, orders: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per order: when every SKU is back in stock (-1 when none is out) and the stock-out row it waited for."""
    n = len(orders)
    ready, row = np.full(n, -1, np.int64), np.full(n, -1, np.int64)
    shared = stock.shared
    if shared is None or not len(shared) or not n:
        return ready, row
    counts = np.array([len(x) for x in orders["skus"]], np.int64)
    order_of = np.repeat(np.arange(n), counts)
    sku = np.array([s for x in orders["skus"] for s in x], np.int64)
    t = orders["ordered_ms"].to_numpy(np.int64)[order_of]
    # The window containing t, found like stock.StockOuts.restocked_at (its windows are sorted by sku, start).
    keys = (shared.sku << 41) | shared.start_ms
    pos = np.searchsorted(keys, (sku << 41) | t, side="right") - 1
    safe = np.maximum(pos, 0)
    inside = (pos >= 0) & (shared.sku[safe] == sku) & (shared.start_ms[safe] <= t) & (t < shared.end_ms[safe])
    for i, window in zip(order_of[inside].tolist(), safe[inside].tolist(), strict=True):
        end = int(shared.end_ms[window])
        if end > ready[i]:
            ready[i], row[i] = end, stock.shared_row[window]
    return ready, row


# ---------------------------------------------------------------------------- shipments
@dataclass
class LogisticsDay:
    """The shipments of one order day (one source) and every row they will ever upload."""

    day: date
    source: str
    ship: pd.DataFrame  # one row per shipment: contract columns + planned outcome + upload time
    events: pd.DataFrame | None  # one row per uploaded copy; None once released after delivery
    quirks: pd.DataFrame  # QUIRK_COLUMNS + visible_ms
    last_upload_ms: int
    ship_by_upload: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # ship rows by row_upload


def _event_ids(keys: np.ndarray) -> list[str]:
    """UUID-looking carrier event ids from unique 64-bit keys (the first half is a permutation: no clash)."""
    k = np.asarray(keys, np.uint64)
    with np.errstate(over="ignore"):
        a = k * _MULT_A
        b = (k ^ _U64(0x5BD1E995)) * _MULT_B
    out = []
    for x, y in zip(a.tolist(), b.tolist(), strict=True):
        h = f"{x:016x}{y:016x}"
        out.append(f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}")
    return out


@lru_cache(maxsize=4096)
def _hours(daynum: int) -> tuple[int, ...]:
    """UTC ms of each London hour start of epoch-day `daynum` (DST-aware), then the next midnight."""
    day = _EPOCH + timedelta(days=daynum)
    return (*local_hour_starts_ms(day).tolist(), local_midnight_ms(day + timedelta(days=1)))


def _london_day(ms: int) -> int:
    """Epoch-day number of the London date of ms (London is UTC or UTC+1)."""
    day = ms // MS_DAY
    return day + 1 if _hours(day)[24] <= ms else day


def _at(daynum: int, hour: int, offset_ms: float) -> int:
    return _hours(daynum)[hour] + int(offset_ms)


def _in_shift(ms: int, start: int = 6, end: int = 22) -> int:
    """The warehouse works 06:00-22:00 London: work arriving outside starts with the next shift."""
    day = _london_day(ms)
    hours = _hours(day)
    if ms < hours[start]:
        return hours[start] + ms % (40 * MS_MINUTE)
    if ms >= hours[end]:
        return _hours(day + 1)[start] + ms % (40 * MS_MINUTE)
    return ms


def _dispatch(ready: int, x: list[float]) -> tuple[int, int, int]:
    """Label, pick and carrier collection (18:00 London) for an order whose stock is ready at `ready`."""
    label = _in_shift(ready + int(5 * MS_MINUTE + x[6] * 2 * MS_HOUR))
    picked = _in_shift(label + int(20 * MS_MINUTE + x[7] * 4 * MS_HOUR))
    pick_day = _london_day(picked)
    dispatch = _at(pick_day, COLLECTION_HOUR, x[8] * 40 * MS_MINUTE)
    if dispatch <= picked:
        dispatch = _at(pick_day + 1, COLLECTION_HOUR, x[8] * 40 * MS_MINUTE)
    return label, picked, dispatch


def plan_shipments(
    pop: Population, orders: pd.DataFrame, day: date, source: str, stock: Stockouts, source_digit: int = 0
) -> LogisticsDay:
    """Shipments (one per order) of orders placed on London day `day`, with their whole future.

    source names the orders' system ("web" for the day plan's web and app orders); source_digit keeps
    shipment ids of different sources apart.
    """
    cfg = pop.config
    rng = np.random.default_rng(stream_seed(cfg.seed, "logistics", source, day.isoformat()))
    n = len(orders)
    draws = rng.random((n, 24)).tolist()
    turbulent = (_daynum(cfg.turbulent_from), _daynum(cfg.end_date)) if cfg.turbulent_from is not None else (1, 0)
    r_late, r_fail = cfg.rate("late_delivery"), cfg.rate("failed_delivery")
    p_tracked_late = min(MAX_LATE_SHARE, r_late * TRACKED_LATE_MULTIPLIER)
    r_disrupt = cfg.rate("carrier_disruption")
    first_no = ((day - date(2000, 1, 1)).days * 10 + source_digit) * 1_000_000
    ship_cols: dict[str, list] = {
        k: []
        for k in (
            "shipment_no", "order_no", "person", "warehouse", "carrier", "service", "promised", "created",
            "delivered", "outcome", "failed_attempts", "late", "disrupted", "stockout", "buying_journey",
            "check_journey", "last_event",
        )
    }  # fmt: skip
    ev: dict[str, list] = {k: [] for k in ("ship", "seq", "status", "ts", "location", "reason")}
    wait_until, wait_row = _waits(stock, orders)
    home = home_warehouse(np.arange(N_SKUS)).tolist()
    columns = [orders[c].tolist() for c in ORDER_COLUMNS]

    for i, o in enumerate(_Order(*row) for row in zip(*columns, strict=True)):
        x = draws[i]
        person = int(o.person)
        ordered = int(o.ordered_ms)
        created = ordered + int(2 * MS_MINUTE + x[0] * 18 * MS_MINUTE) // 1000 * 1000
        service = bisect(_SERVICE_CUM, x[1])
        carrier = _carrier(service, x[2])
        warehouse = home[o.skus[0]] if o.skus else bisect(_WAREHOUSE_CUM, x[3])

        # The promise follows the warehouse's schedule as if everything were in stock.
        label, picked, dispatch = _dispatch(created, x)
        dispatch_day = _london_day(dispatch)
        created_day = _london_day(created)
        tracked = o.check_start < NEVER
        complaint = o.complaint_ms < NEVER
        late = x[4] < (p_tracked_late if tracked else r_late)
        if late and tracked:
            # The customer checks tracking because the promised day has come: promise the check's day (or the
            # day before) and the service level that promises it.
            promised = max(dispatch_day + 1, _london_day(int(o.check_start)) - (1 if x[5] < 0.5 else 0))
            if service != COLLECT:
                service = EXPRESS if promised - dispatch_day <= 1 else STANDARD
                carrier = _carrier(service, x[2])
        else:
            promised = max(created_day + 1, dispatch_day + PROMISE_DAYS[service])
        if (_EPOCH + timedelta(days=promised)).weekday() == 6:
            promised += 1  # no promises for a Sunday

        # Waiting for stock (the ERP backorders the same line): the label is printed once it is back.
        waited = int(wait_row[i])
        if wait_until[i] >= 0:
            ready = max(created, int(wait_until[i]) + 30 * MS_MINUTE)
            label, picked, dispatch = _dispatch(ready, x)
            dispatch_day = _london_day(dispatch)

        transit = 1 if service == EXPRESS else 1 + int(x[9] * 2)
        first_possible = dispatch_day + 1
        attempt = max(first_possible, min(dispatch_day + transit, promised))
        if late:
            attempt = max(first_possible, promised + 1 + int(x[10] * 3))
            if tracked:
                attempt = max(attempt, _london_day(int(o.check_end) + 2 * MS_HOUR) + int(x[11] < 0.5))
        disrupted = carrier == DISRUPTED_CARRIER and turbulent[0] <= dispatch_day <= turbulent[1] and x[12] < r_disrupt
        if disrupted:
            attempt += 1 + int(x[13] * 3)
        fails = 0
        if service != COLLECT and x[14] < (COMPLAINT_FAIL_SHARE if complaint else r_fail):
            fails = 1 if x[15] < 0.7 else (2 if x[15] < 0.9 else 3)
            if complaint:  # the failed attempt comes before the customer complains, where it can
                attempt = max(first_possible, min(attempt, _london_day(int(o.complaint_ms))))
        if disrupted and x[16] < 0.4:
            fails = max(fails, 1)
        lost = service != COLLECT and x[17] < LOST_SHARE * (30 if complaint else 1)

        statuses = [LABEL, PICKED, DISPATCHED, IN_TRANSIT]
        times = [label, picked, dispatch, dispatch + int(2 * MS_HOUR + x[18] * 4 * MS_HOUR)]
        locations = [warehouse, warehouse, warehouse, _HUB0 + int(x[19] * len(HUBS))]
        reasons = [-1, -1, -1, -1]
        depot = _DEPOT0 + person % len(DEPOTS) if person >= 0 else _DEPOT0
        delivered, outcome = NEVER, 0
        if lost:
            statuses.append(LOST)
            times.append(times[-1] + int((6 + x[20] * 3) * MS_DAY))
            locations.append(-1)
            reasons.append(-1)
            outcome = 2
        else:
            if attempt - dispatch_day >= 2:  # a night at a second hub on the way
                statuses.append(IN_TRANSIT)
                times.append(_at(attempt - 1, 21, x[21] * 2 * MS_HOUR))
                locations.append(_HUB0 + int(x[22] * len(HUBS)))
                reasons.append(-1)
            for k in range(fails + 1):
                d = attempt + k
                if service != COLLECT:
                    statuses.append(OUT)
                    times.append(_at(d, 6, MS_HOUR // 2 + x[23] * 2 * MS_HOUR))
                    locations.append(depot)
                    reasons.append(-1)
                moment = _at(d, 9, ((x[20] + 0.37 * k) % 1.0) * 10.5 * MS_HOUR)
                if k < fails:
                    statuses.append(FAILED)
                    times.append(moment)
                    locations.append(depot)
                    reasons.append(3 if disrupted and k == 0 else bisect(_REASON_CUM, (x[21] + 0.29 * k) % 1.0))
                    if k == 2:  # third failed attempt: back to the warehouse
                        statuses.append(RETURNED)
                        times.append(_at(d + 1, 10, x[22] * 6 * MS_HOUR))
                        locations.append(warehouse)
                        reasons.append(-1)
                        outcome = 1
                        break
                else:
                    statuses.append(DELIVERED)
                    times.append(moment)
                    locations.append(_STORE0 + person % len(STORES) if service == COLLECT else -1)
                    reasons.append(-1)
                    delivered = moment
        # Strictly increasing scan times in whole seconds.
        previous = -1
        for k, t in enumerate(times):
            previous = times[k] = max(int(t) // 1000 * 1000, previous + MS_MINUTE)
        if delivered != NEVER:
            delivered = times[-1]
        for k in range(len(times)):
            ev["ship"].append(i)
            ev["seq"].append(k)
        ev["status"] += statuses
        ev["ts"] += times
        ev["location"] += locations
        ev["reason"] += reasons
        for name, value in (
            ("shipment_no", first_no + i + 1), ("order_no", o.order_no), ("person", person),
            ("warehouse", warehouse), ("carrier", carrier), ("service", service), ("promised", promised),
            ("created", created), ("delivered", delivered), ("outcome", outcome),
            ("failed_attempts", 0 if lost else fails),
            ("late", delivered != NEVER and _london_day(delivered) > promised), ("disrupted", disrupted),
            ("stockout", waited), ("buying_journey", o.buying_journey), ("check_journey", o.check_journey),
            ("last_event", times[-1]),
        ):  # fmt: skip
            ship_cols[name].append(value)

    ship = pd.DataFrame(ship_cols)
    ship.insert(0, "shipment_id", [f"SH{v:013d}" for v in ship["shipment_no"].tolist()])
    events = pd.DataFrame(ev).astype(
        {"ship": np.int64, "seq": np.int64, "status": np.int8, "ts": np.int64, "location": np.int16, "reason": np.int8}
    )
    return _uploads(cfg, rng, day, source, ship, events)


def _carrier(service: int, u: float) -> int:
    carriers, cum = _CARRIERS_CUM[service]
    return carriers[bisect(cum, u)]


def _uploads(
    cfg: SandboxConfig, rng: np.random.Generator, day: date, source: str, ship: pd.DataFrame, events: pd.DataFrame
) -> LogisticsDay:
    """When each row reaches the logistics files: promptly, late, twice, or before its shipment."""
    n_ev = len(events)
    status = events["status"].to_numpy()
    ts = events["ts"].to_numpy()
    carrier_scan = ~np.isin(status, WAREHOUSE_SCANS)
    lag = np.where(
        carrier_scan, rng.integers(5 * MS_MINUTE, 3 * MS_HOUR, n_ev), rng.integers(MS_MINUTE, 30 * MS_MINUTE, n_ev)
    )
    late = carrier_scan & (rng.random(n_ev) < cfg.rate("scan_late"))
    lag = np.where(late, rng.integers(4 * MS_HOUR, MAX_SCAN_LATE_MS + 1, n_ev), lag)
    upload = ts + lag
    ship_idx = events["ship"].to_numpy()
    n_ship = len(ship)
    row_upload = ship["created"].to_numpy() + rng.integers(MS_MINUTE, 30 * MS_MINUTE, n_ship)
    # Events before the shipment row: the row comes at least one part (6 h) after the label scan.
    first_upload = np.full(n_ship, NEVER, np.int64)
    np.minimum.at(first_upload, ship_idx, upload)
    before = (rng.random(n_ship) < cfg.rate("events_before_shipment")) & (first_upload < NEVER)
    delayed = first_upload + rng.integers(PART_HOURS * MS_HOUR, 24 * MS_HOUR, n_ship)
    row_upload = np.where(before, np.maximum(row_upload, delayed), row_upload)
    ship["row_upload"] = row_upload
    ship["before_shipment"] = before
    # At-least-once: some scans are uploaded again, at least one part later.
    # The copy also arrives within 72 hours of the scan, so a scan already uploaded very late has none.
    room = np.minimum(30 * MS_HOUR, ts + MAX_SCAN_LATE_MS - upload)
    chosen = rng.random(n_ev) < cfg.rate("scan_duplicate")
    spread = rng.random(n_ev)
    copies = np.flatnonzero(chosen & (room > PART_HOURS * MS_HOUR))
    copy_upload = (
        upload[copies]
        + PART_HOURS * MS_HOUR
        + (spread[copies] * (room[copies] - PART_HOURS * MS_HOUR)).astype(np.int64)
    )
    events = events.assign(upload=upload, copy=False, late_scan=late)
    dup = events.iloc[copies].assign(upload=copy_upload, copy=True, late_scan=False)
    events = pd.concat([events, dup], ignore_index=True)
    events["key"] = ship["shipment_no"].to_numpy()[events["ship"].to_numpy()] * 64 + events["seq"].to_numpy()
    # Sorted by upload time (ties in plan order): a part is a binary search away.
    events = events.sort_values("upload", kind="stable").reset_index(drop=True)
    last = max(int(events["upload"].max()) if len(events) else -1, int(row_upload.max()) if n_ship else -1)
    logistics_day = LogisticsDay(day, source, ship, events, pd.DataFrame(), last)
    logistics_day.ship_by_upload = np.argsort(row_upload, kind="stable")
    logistics_day.quirks = _quirks(logistics_day)
    return logistics_day


# ---------------------------------------------------------------------------- parts
def part_name(entity: str, upload_ms: int | np.ndarray) -> np.ndarray:
    """Part path of rows by upload time: logistics/<UTC date>/<entity>-<NNN>.parquet."""
    ms = np.asarray(upload_ms, np.int64)
    days = ms.astype("datetime64[ms]").astype("datetime64[D]").astype(str)
    number = (ms // MS_HOUR % 24) // PART_HOURS + 1
    names = [f"{SYSTEM_DIR}/{d}/{entity}-{k:03d}.parquet" for d, k in zip(days, number.tolist(), strict=True)]
    return np.array(names, object)


SCHEMAS = {
    "shipments": pa.schema(
        [
            ("shipment_id", pa.string()),
            ("order_no", pa.string()),
            ("warehouse_id", pa.string()),
            ("carrier", pa.string()),
            ("service_level", pa.string()),
            ("promised_delivery_date", pa.date32()),
            ("created_at", pa.timestamp("ms", tz="UTC")),
        ]
    ),
    "shipment_events": pa.schema(
        [
            ("event_id", pa.string()),
            ("shipment_id", pa.string()),
            ("event_ts", pa.timestamp("ms", tz="UTC")),
            ("status", pa.string()),
            ("location", pa.string()),
            ("reason", pa.string()),
        ]
    ),
    "stockouts": pa.schema(
        [
            ("sku", pa.string()),
            ("location_id", pa.string()),
            ("started_at", pa.timestamp("ms", tz="UTC")),
            ("ended_at", pa.timestamp("ms", tz="UTC")),
        ]
    ),
}


def _tables(
    pop: Population, days: list[LogisticsDay], stock: Stockouts, lo: int, hi: int
) -> dict[str, tuple[np.ndarray, pa.Table]]:
    """Rows uploaded in [lo, hi) per entity, in upload order: (upload times, table)."""
    ships, events = [], []
    for ld in days:
        if ld.last_upload_ms < lo:
            continue
        uploads = ld.ship["row_upload"].to_numpy()[ld.ship_by_upload]
        a, b = np.searchsorted(uploads, [lo, hi])
        if b > a:
            ships.append(ld.ship.iloc[ld.ship_by_upload[a:b]])
        if ld.events is not None and len(ld.events):
            a, b = np.searchsorted(ld.events["upload"].to_numpy(), [lo, hi])
            if b > a:
                chosen = ld.events.iloc[a:b]
                sid = ld.ship["shipment_id"].to_numpy()[chosen["ship"].to_numpy()]
                events.append(chosen.assign(shipment_id=sid))
    out: dict[str, tuple[np.ndarray, pa.Table]] = {}
    s = pd.concat(ships, ignore_index=True) if ships else None
    if s is not None:
        s = s.sort_values("row_upload", kind="stable")
        out["shipments"] = (
            s["row_upload"].to_numpy(),
            pa.table(
                {
                    "shipment_id": s["shipment_id"].tolist(),
                    "order_no": s["order_no"].tolist(),
                    "warehouse_id": [WAREHOUSES[w] for w in s["warehouse"].tolist()],
                    "carrier": [CARRIERS[c] for c in s["carrier"].tolist()],
                    "service_level": [SERVICE_LEVELS[v] for v in s["service"].tolist()],
                    "promised_delivery_date": pa.array(s["promised"].to_numpy(np.int32), pa.date32()),
                    "created_at": pa.array(s["created"].to_numpy(np.int64), pa.timestamp("ms", tz="UTC")),
                },
                schema=SCHEMAS["shipments"],
            ),
        )
    e = pd.concat(events, ignore_index=True) if events else None
    if e is not None:
        e = e.sort_values("upload", kind="stable")
        loc = e["location"].to_numpy()
        reason = e["reason"].to_numpy()
        out["shipment_events"] = (
            e["upload"].to_numpy(),
            pa.table(
                {
                    "event_id": _event_ids(e["key"].to_numpy()),
                    "shipment_id": e["shipment_id"].tolist(),
                    "event_ts": pa.array(e["ts"].to_numpy(np.int64), pa.timestamp("ms", tz="UTC")),
                    "status": [STATUSES[v] for v in e["status"].tolist()],
                    "location": [LOCATIONS[v] if v >= 0 else None for v in loc.tolist()],
                    "reason": [REASONS[v] if v >= 0 else None for v in reason.tolist()],
                },
                schema=SCHEMAS["shipment_events"],
            ),
        )
    starts = np.flatnonzero((stock.start_upload >= lo) & (stock.start_upload < hi))
    ends = np.flatnonzero((stock.end_upload >= lo) & (stock.end_upload < hi))
    idx = np.concatenate([starts, ends])
    uploads = np.concatenate([stock.start_upload[starts], stock.end_upload[ends]])
    ended = np.concatenate([np.zeros(len(starts), bool), np.ones(len(ends), bool)])
    order = np.argsort(uploads, kind="stable")
    idx, uploads, ended = idx[order], uploads[order], ended[order]
    out["stockouts"] = (
        uploads,
        pa.table(
            {
                "sku": [pop.sku[s] for s in stock.sku[idx].tolist()],
                "location_id": [LOCATIONS[v] for v in stock.location[idx].tolist()],
                "started_at": pa.array(stock.start[idx], pa.timestamp("ms", tz="UTC")),
                "ended_at": pa.array(np.where(ended, stock.end[idx], 0), pa.timestamp("ms", tz="UTC"), mask=~ended),
            },
            schema=SCHEMAS["stockouts"],
        ),
    )
    return out


def write_upload_day(
    pop: Population, days: list[LogisticsDay], stock: Stockouts, upload_date: date, landing_dir: Path
) -> tuple[int, dict[str, int]]:
    """Write every part of UTC upload date `upload_date`; returns (parts, rows per entity)."""
    lo = utc_midnight_ms(upload_date)
    tables = _tables(pop, days, stock, lo, lo + MS_DAY)
    folder = landing_dir / SYSTEM_DIR / upload_date.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    counts = {entity: 0 for entity in ENTITIES}
    for k in range(PARTS_PER_DAY):
        a, b = lo + k * PART_HOURS * MS_HOUR, lo + (k + 1) * PART_HOURS * MS_HOUR
        for entity in ENTITIES:
            if entity in tables:
                uploads, table = tables[entity]
                first, last = np.searchsorted(uploads, [a, b])
                part = table.slice(int(first), int(last - first))
            else:
                part = SCHEMAS[entity].empty_table()
            path = folder / f"{entity}-{k + 1:03d}.parquet"
            tmp = path.with_name(path.name + ".tmp")
            pq.write_table(part, tmp, compression="snappy")
            os.replace(tmp, path)
            counts[entity] += part.num_rows
    return PARTS_PER_DAY * len(ENTITIES), counts


def part_names() -> list[str]:
    return [f"{entity}-{k + 1:03d}.parquet" for k in range(PARTS_PER_DAY) for entity in ENTITIES]


def delivered_dates(landing_dir: Path) -> list[date]:
    """Upload dates whose parts are all in place."""
    root = landing_dir / SYSTEM_DIR
    if not root.exists():
        return []
    out = []
    names = part_names()
    for folder in sorted(root.iterdir()):
        try:
            day = date.fromisoformat(folder.name)
        except ValueError:
            continue
        if all((folder / name).exists() for name in names):
            out.append(day)
    return out


# ---------------------------------------------------------------------------- ground truth
def add_turbulence(config: SandboxConfig, turbulence: dict) -> None:
    """Document the logistics side of the turbulent period in turbulence.json (rate carrier_disruption)."""
    share = config.rate("carrier_disruption")
    if share <= 0:
        return
    carrier = CARRIERS[DISRUPTED_CARRIER]
    turbulence["description"] += (
        f" In the same window carrier {carrier} is overwhelmed: {share:.0%} of its parcels dispatched then"
        " arrive 1-3 days late, 40% of those after a failed first attempt (reason capacity)."
    )
    turbulence["disrupts"]["logistics"] = [
        f"carrier {carrier}: parcels held up 1-3 days (more late deliveries)",
        f"carrier {carrier}: first delivery attempts failing with reason capacity",
    ]
    turbulence["effects"] = {
        **turbulence["effects"],
        "carrier_disruption_share": share,
        "carrier_disruption_delay_days": [1, 3],
    }


def _daynum(day: date) -> int:
    return (day - date(1970, 1, 1)).days


def _quirks(ld: LogisticsDay) -> pd.DataFrame:
    """Quirks and frictions of one order day's shipments, with visible_ms (when the pipeline can see them)."""
    s, e = ld.ship, ld.events
    sid = s["shipment_id"].to_numpy(object)
    person = s["person"].to_numpy()
    journey = s["buying_journey"].to_numpy(object)
    check = s["check_journey"].to_numpy(object)
    # Plain numpy columns: the per-day pandas overhead adds up over hundreds of days.
    ship_of = e["ship"].to_numpy()
    upload, ts, status_all = e["upload"].to_numpy(), e["ts"].to_numpy(), e["status"].to_numpy()
    key_all, copy_all = e["key"].to_numpy(), e["copy"].to_numpy()
    parts: list[dict] = []

    def add(quirk: str, location, occurred, key, ships, detail, visible) -> None:
        n = len(ships)
        if not n:
            return
        parts.append(
            {
                "quirk": np.full(n, quirk, object),
                "system": np.full(n, "logistics", object),
                "location": np.full(n, None, object) if location is None else np.asarray(location, object),
                "occurred_at": np.asarray(occurred, np.int64),
                "source_key": np.asarray(key, object),
                "person": person[ships],
                "journey_id": np.where(pd.isna(check[ships]), journey[ships], check[ships]),
                "detail": np.asarray(detail, object),
                "visible_ms": np.asarray(visible, np.int64),
            }
        )

    late = np.flatnonzero(e["late_scan"].to_numpy())
    if len(late):
        hours = (upload[late] - ts[late]) / MS_HOUR
        status = status_all[late]
        add(
            "scan_late",
            part_name("shipment_events", upload[late]),
            ts[late],
            _event_ids(key_all[late]),
            ship_of[late],
            [f"{STATUSES[st]} scan uploaded {h:.1f} h after event_ts" for st, h in zip(status, hours, strict=True)],
            upload[late],
        )
    copies = np.flatnonzero(copy_all)
    if len(copies):
        first = pd.Series(upload[~copy_all], index=key_all[~copy_all])
        first_upload = first.loc[key_all[copies]].to_numpy()
        add(
            "scan_duplicate",
            part_name("shipment_events", upload[copies]),
            ts[copies],
            _event_ids(key_all[copies]),
            ship_of[copies],
            [f"first uploaded in {p}" for p in part_name("shipment_events", first_upload)],
            upload[copies],
        )
    before = np.flatnonzero(s["before_shipment"].to_numpy())
    if len(before):
        first_upload = np.full(len(s), NEVER, np.int64)
        np.minimum.at(first_upload, ship_of, upload)
        add(
            "events_before_shipment",
            part_name("shipments", s["row_upload"].to_numpy()[before]),
            s["created"].to_numpy()[before],
            sid[before],
            before,
            [f"first event uploaded in {p}" for p in part_name("shipment_events", first_upload[before])],
            s["row_upload"].to_numpy()[before],
        )
    # Frictions: late deliveries become visible when the promised day ends; failed attempts when they happen.
    promised_end = np.array(
        [local_midnight_ms(date(1970, 1, 1) + timedelta(days=int(p) + 1)) for p in s["promised"].tolist()], np.int64
    )
    delivered = s["delivered"].to_numpy()
    broken = np.flatnonzero(s["late"].to_numpy())  # delivered after the promised date (lost ones: failed_delivery)
    if len(broken):
        promised_day, stockout = s["promised"].to_numpy(), s["stockout"].to_numpy()
        disrupted, failed_attempts = s["disrupted"].to_numpy(), s["failed_attempts"].to_numpy()
        detail = []
        for k in broken.tolist():
            promised = (date(1970, 1, 1) + timedelta(days=int(promised_day[k]))).isoformat()
            why = "; waited for stock" if stockout[k] >= 0 else ""
            why += "; carrier disruption" if disrupted[k] else ""
            why += "; a failed attempt first" if failed_attempts[k] else ""
            detail.append(f"promised {promised}, delivered {iso_utc_z([delivered[k]])[0]}{why}")
        add("late_delivery", None, promised_end[broken], sid[broken], broken, detail, promised_end[broken])
    failed = np.flatnonzero(np.isin(status_all, (FAILED, RETURNED, LOST)) & ~copy_all)
    if len(failed):
        status = status_all[failed]
        reason = e["reason"].to_numpy()[failed]
        add(
            "failed_delivery",
            None,
            ts[failed],
            sid[ship_of[failed]],
            ship_of[failed],
            [
                STATUSES[st] + (f" ({REASONS[r]})" if r >= 0 else "")
                for st, r in zip(status.tolist(), reason.tolist(), strict=True)
            ],
            ts[failed],
        )
    if not parts:
        return pd.DataFrame(columns=[*QUIRK_COLUMNS, "visible_ms", "person"])
    return pd.DataFrame({name: np.concatenate([part[name] for part in parts]) for name in parts[0]})


def stockout_quirks(pop: Population, stock: Stockouts, go_live: int, cutoff: int, waits: pd.Series) -> pd.DataFrame:
    """One stockout friction per stock-out open during the delivered period and started by the cutoff."""
    chosen = np.flatnonzero((stock.start < cutoff) & (stock.end >= go_live))
    started_iso = iso_utc_z(stock.start[chosen])
    ended = stock.end[chosen]
    detail = []
    for k, i in enumerate(chosen.tolist()):
        text = f"ended {iso_utc_z([ended[k]])[0]}" if ended[k] < cutoff else "still out of stock at the cutoff"
        waited = int(waits.get(i, 0))
        detail.append(text + (f"; {waited} shipments waited for it" if waited else ""))
    return pd.DataFrame(
        {
            "quirk": "stockout",
            "system": "logistics",
            "location": part_name("stockouts", stock.start_upload[chosen]),
            "occurred_at": stock.start[chosen],
            "source_key": [
                f"{pop.sku[s]}@{LOCATIONS[loc]}@{t}"
                for s, loc, t in zip(
                    stock.sku[chosen].tolist(), stock.location[chosen].tolist(), started_iso, strict=True
                )
            ],
            "person_id": None,
            "journey_id": None,
            "detail": detail,
        },
        columns=QUIRK_COLUMNS,
    )


def quirk_frame(pop: Population, days: list[LogisticsDay], stock: Stockouts, go_live: int, cutoff: int) -> pd.DataFrame:
    """Every logistics quirk and friction visible in [go_live, cutoff): QUIRK_COLUMNS."""
    frames = [ld.quirks[(ld.quirks["visible_ms"] >= go_live) & (ld.quirks["visible_ms"] < cutoff)] for ld in days]
    frames = [f for f in frames if len(f)]
    person_ids = np.array([*pop.person_id, None], object)
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[*QUIRK_COLUMNS, "person"])
    out["person_id"] = person_ids[out["person"].to_numpy(np.int64)] if len(out) else []
    waits = pd.concat([ld.ship["stockout"] for ld in days], ignore_index=True) if days else pd.Series([], int)
    waits = waits[waits >= 0].value_counts()
    return pd.concat([out[QUIRK_COLUMNS], stockout_quirks(pop, stock, go_live, cutoff, waits)], ignore_index=True)


def shipments_frame(pop: Population, days: list[LogisticsDay], go_live: int, cutoff: int) -> pd.DataFrame:
    """shipments.csv: every shipment created by the cutoff, with its planned outcome."""
    frames = [ld.ship[ld.ship["created"] < cutoff].assign(order_source=ld.source) for ld in days]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame()
    s = pd.concat(frames, ignore_index=True)
    person_ids = np.array([*pop.person_id, None], object)
    row_upload = s["row_upload"].to_numpy()
    delivered_in = part_name("shipments", row_upload)
    delivered_in[(row_upload < go_live) | (row_upload >= cutoff)] = None
    delivered = s["delivered"].to_numpy()
    return pd.DataFrame(
        {
            "shipment_id": s["shipment_id"],
            "order_no": s["order_no"],
            "person_id": person_ids[s["person"].to_numpy()],
            "order_source": s["order_source"],
            "buying_journey_id": s["buying_journey"],
            "delivery_journey_id": s["check_journey"],
            "warehouse_id": [WAREHOUSES[w] for w in s["warehouse"].tolist()],
            "carrier": [CARRIERS[c] for c in s["carrier"].tolist()],
            "service_level": [SERVICE_LEVELS[v] for v in s["service"].tolist()],
            "created_at": iso_utc_z(s["created"].to_numpy()),
            "promised_delivery_date": [(date(1970, 1, 1) + timedelta(days=int(p))).isoformat() for p in s["promised"]],
            "delivered_at": [iso_utc_z([d])[0] if d != NEVER else None for d in delivered.tolist()],
            "outcome": [OUTCOMES[o] for o in s["outcome"].tolist()],
            "late": s["late"],
            "failed": (s["failed_attempts"].to_numpy() > 0) | np.isin(s["outcome"].to_numpy(), (1, 2)),
            "failed_attempts": s["failed_attempts"],
            "waited_for_stock": s["stockout"].to_numpy() >= 0,
            "carrier_disruption": s["disrupted"],
            "events_before_shipment": s["before_shipment"],
            "row_delivered_in": delivered_in,
            "final_after_cutoff": s["last_event"].to_numpy() >= cutoff,
        }
    )
