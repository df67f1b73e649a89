"""Stock-outs: when each SKU is out of stock, shared by every system that sees them.

The ERP backorders (or cancels) order lines for a SKU bought while it is out of stock; the logistics
feed emits the same windows as warehouse stock-outs. Both read `stockouts(population)`, so they agree
without reading each other's output.

Windows are drawn from their own stream: adding a reader changes nothing else. The rate
`erp_stockout` is the expected share of ordered lines that hit a stock-out; popular SKUs run out more
often, but not in proportion to their sales (best sellers are reordered sooner).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from .config import stream_seed
from .population import Population
from .timeutil import MS_DAY, MS_HOUR

MEDIAN_DURATION_MS = 36 * MS_HOUR
SHORTEST_MS, LONGEST_MS = 4 * MS_HOUR, 12 * MS_DAY
LEAD_DAYS = 12  # windows may start before the world does: a SKU can be out of stock on day one
_SKU_SHIFT = 41  # key = sku << 41 | start_ms (ms < 2^41 until 2039)


@dataclass(frozen=True)
class StockOuts:
    """Disjoint out-of-stock windows [start_ms, end_ms) per SKU index, sorted by (sku, start)."""

    sku: np.ndarray
    start_ms: np.ndarray
    end_ms: np.ndarray  # when the SKU is back in stock

    def __len__(self) -> int:
        return len(self.sku)

    def restocked_at(self, sku: np.ndarray, t: np.ndarray) -> np.ndarray:
        """For each (sku, moment): when the SKU is back in stock, or -1 when it is in stock then."""
        sku, t = np.asarray(sku, np.int64), np.asarray(t, np.int64)
        if not len(self.sku) or not len(sku):
            return np.full(len(sku), -1, np.int64)
        keys = (self.sku << _SKU_SHIFT) | self.start_ms
        pos = np.searchsorted(keys, (sku << _SKU_SHIFT) | t, side="right") - 1
        safe = np.maximum(pos, 0)
        inside = (pos >= 0) & (self.sku[safe] == sku) & (self.start_ms[safe] <= t) & (t < self.end_ms[safe])
        return np.where(inside, self.end_ms[safe], -1)

    def overlapping(self, lo_ms: int, hi_ms: int) -> np.ndarray:
        """Indexes of the windows that overlap [lo_ms, hi_ms)."""
        return np.flatnonzero((self.start_ms < hi_ms) & (self.end_ms > lo_ms))


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def stockouts(population: Population) -> StockOuts:
    cached = _CACHE.get(population)
    if cached is None:
        cached = _CACHE[population] = _build(population)
    return cached


def _build(pop: Population) -> StockOuts:
    rate = pop.config.rate("erp_stockout")
    rng = np.random.default_rng(stream_seed(pop.config.seed, "stockouts"))
    demand = np.diff(np.concatenate([[0.0], pop.sku_popularity]))  # share of sales per SKU
    pick = np.sqrt(demand) / np.sqrt(demand).sum()
    sigma = 0.8
    # Mean of the clipped lognormal duration, from a fixed sample (deterministic, no draws from rng).
    probe = np.random.default_rng(0).lognormal(np.log(MEDIAN_DURATION_MS), sigma, 20_000)
    mean_duration = float(np.clip(probe, SHORTEST_MS, LONGEST_MS).mean())
    # Share of demand out of stock at a moment = starts per ms * mean duration * demand per window.
    starts_per_day = rate * MS_DAY / (mean_duration * float(pick @ demand)) if rate > 0 else 0.0
    lo = pop.world_start_ms - LEAD_DAYS * MS_DAY
    days = (pop.world_end_ms - lo) / MS_DAY
    n = int(rng.poisson(starts_per_day * days))
    sku = rng.choice(len(demand), n, p=pick).astype(np.int64)
    start = (lo + rng.random(n) * (pop.world_end_ms - lo)).astype(np.int64) // 1000 * 1000
    duration = np.clip(rng.lognormal(np.log(MEDIAN_DURATION_MS), sigma, n), SHORTEST_MS, LONGEST_MS)
    end = start + duration.astype(np.int64) // 1000 * 1000
    order = np.lexsort((start, sku))
    sku, start, end = sku[order], start[order], end[order]
    # Overlapping windows of one SKU are one stock-out.
    keep_sku: list[int] = []
    keep_start: list[int] = []
    keep_end: list[int] = []
    for s, a, b in zip(sku.tolist(), start.tolist(), end.tolist(), strict=True):
        if keep_sku and keep_sku[-1] == s and a <= keep_end[-1]:
            keep_end[-1] = max(keep_end[-1], b)
            continue
        keep_sku.append(s)
        keep_start.append(a)
        keep_end.append(b)
    return StockOuts(np.array(keep_sku, np.int64), np.array(keep_start, np.int64), np.array(keep_end, np.int64))
