"""`make bench-history`: a night's dbt time with 30 and with 90 days of history in the warehouse.

The same sandbox company (seed, customers, last night) is delivered night by night for the last 30 and
for the last 90 days into two warehouses of their own, each night pulled by the DAG's task code. The whole
dbt project (seeds, models, data tests, unit tests) is built once over all but the last nights (the first
build: the incremental models from scratch); then each of the last `repeats` nights is delivered, pulled and
built, as a night does, and timed. The figure that matters is the ratio 90 / 30 days of those nights'
builds, measured in the same run: a night that cost the same whatever the history would be 1.0; the goal is
under 1.2.
"""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import psycopg

from frictionflow.settings import Settings, run_dbt

GOAL_RATIO = 1.2
COUNTED_TABLES = (
    "raw.web_analytics__event",
    "staging.stg_web_analytics__events",
    "audit.fct_contact_point_events",
    "audit.fct_journey_steps",
    "audit.fct_journeys",
)

INCREMENTAL_MODELS = (
    "stg_web_analytics__events",
    "stg_logistics__shipment_events",
    "int_web_events_attributed",
    "int_web_journey_steps",
)


@dataclass
class HistoryRun:
    days: int
    load_seconds: float
    build_seconds: list[float]
    rows: dict[str, int]
    first_build_seconds: float = 0.0
    first_model_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def first_model_total(self) -> float:
        return sum(self.first_model_seconds.values())

    model_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def build_median(self) -> float:
        return statistics.median(self.build_seconds)

    @property
    def model_total(self) -> float:
        return sum(self.model_seconds.values())


def _dbt_build(dsn: str, target: Path) -> tuple[float, dict[str, float]]:
    """Wall seconds of one `dbt build` of the whole project, and each model's execution seconds."""
    started = time.perf_counter()
    run_dbt(dsn, target, "build")
    seconds = time.perf_counter() - started
    results = json.loads((target / "run_results.json").read_text())["results"]
    models = {
        r["unique_id"].split(".")[-1]: r["execution_time"] for r in results if r["unique_id"].startswith("model.")
    }
    return seconds, models


def _row_counts(dsn: str) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        return {table: conn.execute(f"select count(*) from {table}").fetchone()[0] for table in COUNTED_TABLES}


def measure(
    settings: Settings, days: int, customers: int, seed: int, last_night: date, repeats: int, log: Callable
) -> HistoryRun:
    from frictionflow.company_world import company_world, pull_night
    from frictionflow.sandbox import SandboxConfig

    first = last_night - timedelta(days=days - 1)
    timed_nights = [last_night - timedelta(days=n) for n in reversed(range(repeats))]
    config = SandboxConfig(seed=seed, customers=customers, start_date=first, end_date=last_night)
    with tempfile.TemporaryDirectory(prefix=f"ff_bench_history_{days}_") as work:
        with company_world(settings, Path(work), f"bench_history_{days}", config) as world, world.connected():
            target = Path(work) / "target"
            started = time.perf_counter()
            night = first
            while night < timed_nights[0]:
                world.sandbox.deliver_through(night)
                pull_night(night)  # a delivery the contract lets fail (a late ERP set) loads the next night
                night += timedelta(days=1)
            load_seconds = time.perf_counter() - started
            log(f"{days} days: {days - repeats} nights delivered and pulled in {load_seconds:.0f} s")
            first_seconds, first_models = _dbt_build(world.dsn, target)
            log(f"{days} days: first dbt build (incremental models from scratch) in {first_seconds:.1f} s")
            builds, models = [], {}
            for night in timed_nights:
                world.sandbox.deliver_through(night)
                pull_night(night)
                seconds, models = _dbt_build(world.dsn, target)
                builds.append(seconds)
                log(f"{days} days: night {night} built in {seconds:.1f} s")
            run_ = HistoryRun(
                days=days,
                load_seconds=load_seconds,
                build_seconds=builds,
                rows=_row_counts(world.dsn),
                model_seconds=models,
                first_build_seconds=first_seconds,
                first_model_seconds=first_models,
            )
            log(f"{days} days: {json.dumps(dataclasses.asdict(run_))}")  # the raw figures, whatever follows
            return run_


def run(
    settings: Settings,
    short_days: int = 30,
    long_days: int = 90,
    customers: int = 1000,
    seed: int = 42,
    last_night: date = date(2026, 11, 22),
    repeats: int = 2,
    log: Callable = print,
) -> str:
    short = measure(settings, short_days, customers, seed, last_night, repeats, log)
    long = measure(settings, long_days, customers, seed, last_night, repeats, log)
    ratio = long.build_median / short.build_median
    verdict = "meets" if ratio < GOAL_RATIO else "misses"
    slowest = sorted(long.model_seconds, key=long.model_seconds.get, reverse=True)[:8]
    lines = [
        "## A night's dbt time at 30 and at 90 days of history",
        "",
        f"Measured {datetime.now():%Y-%m-%d} on this machine ({os.cpu_count()} cores) by `make bench-history`: the "
        f"sandbox company (seed {seed}, {customers:,} customers) delivered night by night up to {last_night} into "
        f"two warehouses, one holding the last {short_days} days and one the last {long_days}. The whole dbt "
        f"project is built once on each (the incremental models from scratch), then each of the last {repeats} "
        f"nights is delivered, pulled and built as a night does (median of those {repeats} builds). "
        f"Goal: ratio under {GOAL_RATIO}.",
        "",
        f"| history | a night's dbt build (s) | ratio to {short_days} days | nights (s) | models' own execution (s) "
        "| its ratio | first build (s) | its models (s) | nights pulled in (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run_ in (short, long):
        lines.append(
            f"| {run_.days} days | {run_.build_median:.1f} | {run_.build_median / short.build_median:.2f} "
            f"| {', '.join(f'{s:.1f}' for s in run_.build_seconds)} | {run_.model_total:.1f} "
            f"| {run_.model_total / short.model_total:.2f} | {run_.first_build_seconds:.1f} "
            f"| {run_.first_model_total:.1f} | {run_.load_seconds:.0f} |"
        )
    lines += [
        "",
        f"Ratio {ratio:.2f}: {verdict} the goal. A build is mostly dbt's fixed cost per node (parsing, "
        "compiling, a connection and a transaction for each of the project's models, seeds, data tests and "
        "unit tests); the models' own execution seconds (run_results.json) are the part that grows with the "
        "history.",
        "",
        f"| table | rows at {short_days} days | rows at {long_days} days | ratio |",
        "|---|---|---|---|",
    ]
    for table in COUNTED_TABLES:
        a, b = short.rows[table], long.rows[table]
        lines.append(f"| `{table}` | {a:,} | {b:,} | {b / a if a else float('nan'):.2f} |")
    lines += [
        "",
        f"The slowest models at {long_days} days (execution seconds of the last build):",
        "",
        f"| model | {short_days} days | {long_days} days | ratio |",
        "|---|---|---|---|",
    ]
    for model in slowest:
        a, b = short.model_seconds.get(model, 0.0), long.model_seconds[model]
        lines.append(f"| `{model}` | {a:.2f} | {b:.2f} | {b / a if a else float('nan'):.2f} |")
    lines += [
        "",
        "The incremental models (execution seconds): a night against their first build, which computed the "
        "whole history.",
        "",
        f"| model | first build, {short_days} days | night, {short_days} days | first build, {long_days} days "
        f"| night, {long_days} days | night ratio {long_days} / {short_days} days |",
        "|---|---|---|---|---|---|",
    ]
    for model in INCREMENTAL_MODELS:
        a, b = short.model_seconds.get(model, 0.0), long.model_seconds.get(model, 0.0)
        lines.append(
            f"| `{model}` | {short.first_model_seconds.get(model, 0.0):.2f} | {a:.2f} "
            f"| {long.first_model_seconds.get(model, 0.0):.2f} | {b:.2f} | {b / a if a else float('nan'):.2f} |"
        )
    return "\n".join(lines)
