"""The steps of one night, as plain functions of DSNs, paths and the data interval.

DAG tasks resolve Airflow connections and call these; tests call them directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg

from frictionflow.extract.delivery_state import batches_loaded_by
from frictionflow.extract.hourly_files import expected_files, read_jsonl_gz
from frictionflow.extract.sql_incremental import changed_rows
from frictionflow.load import Batch, LedgerEntry, load_batch
from frictionflow.sources import SourceConfig, source_configs

COMPANY_TZ = ZoneInfo("Europe/London")


class DeliveryError(RuntimeError):
    """A delivery the pipeline must not load (incomplete, failed its control checks)."""


def business_date(interval_start: datetime) -> date:
    """The business date a night covers: the data interval's start in the company's time zone."""
    return interval_start.astimezone(COMPANY_TZ).date()


def batch_id(source: SourceConfig, entity: str, interval_start: datetime) -> str:
    return day_batch_id(source, entity, business_date(interval_start))


def day_batch_id(source: SourceConfig, entity: str, day: date) -> str:
    """One batch per source entity and business date (a re-delivered date reloads into the same batch)."""
    return f"{source.system}.{entity}.{day.isoformat()}"


def pull_sql_incremental(
    warehouse_dsn: str,
    source_dsn: str,
    source: SourceConfig,
    entity_name: str,
    interval_start: datetime,
    interval_end: datetime,
    loaded_at: datetime,
) -> LedgerEntry:
    """Pull rows changed since the previous night's upper bound (minus the lookback) up to the interval end.

    The first night with no earlier watermark pulls everything before the interval end. Bounds derive
    from the state of earlier nights only, so re-running a night pulls the same window.
    """
    entity = source.entity(entity_name)
    watermark_column = source.options["watermark_column"]
    lookback = timedelta(minutes=int(source.options.get("lookback_minutes", 0)))
    with psycopg.connect(warehouse_dsn) as conn:
        lower = incremental_lower_bound(conn, source, entity_name, interval_start, lookback)
        rows = changed_rows(source_dsn, source.options["schema"], entity, watermark_column, lower, interval_end)
        return load_versions_and_advance_watermark(
            conn, source, entity_name, interval_start, interval_end, loaded_at, lower, rows, watermark_column
        )


def incremental_lower_bound(
    conn: psycopg.Connection, source: SourceConfig, entity_name: str, interval_start: datetime, lookback: timedelta
) -> datetime | None:
    """Where an incremental pull starts: the previous night's upper bound minus the lookback (None: the first
    night, everything). Derived from earlier nights only, so a re-run of a night pulls the same window."""
    previous = conn.execute(
        """select upper_bound from meta.watermarks
           where source_system = %s and entity = %s and data_interval_end <= %s
           order by data_interval_end desc limit 1""",
        (source.system, entity_name, interval_start),
    ).fetchone()
    return previous[0] - lookback if previous else None


def load_versions_and_advance_watermark(
    conn: psycopg.Connection,
    source: SourceConfig,
    entity_name: str,
    interval_start: datetime,
    interval_end: datetime,
    loaded_at: datetime,
    lower: datetime | None,
    records: Iterable,
    watermark_column: str,
) -> LedgerEntry:
    """Load an incremental pull (a re-run replaces the versions it delivers again) and record its window."""
    entity = source.entity(entity_name)
    bid = batch_id(source, entity_name, interval_start)
    batch = Batch(
        batch_id=bid,
        entity=entity,
        interval_start=interval_start,
        interval_end=interval_end,
        loaded_at=loaded_at,
        dedupe_key=source.dedupe_key(entity_name),
        replace="versions",
    )
    entry = load_batch(conn, batch, records)
    max_seen = conn.execute(
        f'select max("{watermark_column}") from {entity.qualified_raw_table} where _batch_id = %s', (bid,)
    ).fetchone()[0]
    conn.execute(
        """insert into meta.watermarks (source_system, entity, data_interval_start, data_interval_end,
               lower_bound, upper_bound, max_watermark, batch_id)
           values (%s, %s, %s, %s, %s, %s, %s, %s)
           on conflict (source_system, entity, data_interval_start) do update set
               lower_bound = excluded.lower_bound, upper_bound = excluded.upper_bound,
               max_watermark = excluded.max_watermark, batch_id = excluded.batch_id""",
        (source.system, entity_name, interval_start, interval_end, lower, interval_end, max_seen, bid),
    )
    conn.commit()
    return entry


def pull_hourly_files(
    warehouse_dsn: str,
    landing_dir: Path,
    source: SourceConfig,
    entity_name: str,
    interval_start: datetime,
    interval_end: datetime,
    loaded_at: datetime,
) -> tuple[LedgerEntry, list[str]]:
    """Load the business date's hourly files; a missing hour is recorded as an incident, not waited for."""
    day = business_date(interval_start)
    files = expected_files(landing_dir, source.options["path"], day)
    present = [f for f in files if f.exists()]
    missing = [str(f.relative_to(landing_dir)) for f in files if not f.exists()]
    if not present:
        raise DeliveryError(f"{source.system}: no hourly file delivered for {day} under {landing_dir}")

    def records():
        for path in present:
            yield from read_jsonl_gz(path, str(path.relative_to(landing_dir)))

    batch = Batch(
        batch_id=batch_id(source, entity_name, interval_start),
        entity=source.entity(entity_name),
        interval_start=interval_start,
        interval_end=interval_end,
        loaded_at=loaded_at,
        dedupe_key=source.dedupe_key(entity_name),
    )
    with psycopg.connect(warehouse_dsn) as conn:
        entry = load_batch(conn, batch, records())
        record_incidents(conn, source.system, entity_name, interval_start, "missing_hourly_file", missing)
        conn.commit()
    return entry, missing


def record_incidents(
    conn: psycopg.Connection, system: str, entity: str, interval_start: datetime, incident: str, details: list[str]
) -> None:
    conn.execute(
        "delete from meta.delivery_incidents where source_system = %s and entity = %s "
        "and data_interval_start = %s and incident = %s",
        (system, entity, interval_start, incident),
    )
    for detail in details:
        conn.execute(
            "insert into meta.delivery_incidents (source_system, entity, data_interval_start, incident, detail) "
            "values (%s, %s, %s, %s, %s)",
            (system, entity, interval_start, incident, detail),
        )


def expected_batches(warehouse_dsn: str, interval_start: datetime) -> list[str]:
    """Every entity of every source for the night, plus the batches the night reloaded for earlier dates
    (ERP re-deliveries), as recorded in meta.deliveries."""
    tonight = [batch_id(cfg, entity, interval_start) for cfg in source_configs().values() for entity in cfg.entities]
    with psycopg.connect(warehouse_dsn) as conn:
        extra = [b for b in batches_loaded_by(conn, interval_start) if b not in tonight]
    return tonight + extra


def reconcile(warehouse_dsn: str, interval_start: datetime, expected_batches: list[str]) -> list[dict]:
    """The night's ledger: every expected batch present and balanced, or an error saying which is not.

    The night's ledger rows are those of its data interval and those of every expected batch (a batch a
    later re-run of an earlier night restamped is still found by its id).
    """
    with psycopg.connect(warehouse_dsn) as conn:
        rows = conn.execute(
            """select batch_id, source_system, entity, source_locations, received, loaded, quarantined,
                      duplicates_removed
               from meta.load_ledger where data_interval_start = %s or batch_id = any(%s) order by batch_id""",
            (interval_start, list(expected_batches)),
        ).fetchall()
    ledger = [
        asdict(
            LedgerEntry(
                batch_id=r[0],
                source_system=r[1],
                entity=r[2],
                source_locations=r[3],
                received=r[4],
                loaded=r[5],
                quarantined=r[6],
                duplicates_removed=r[7],
            )
        )
        for r in rows
    ]
    problems = [
        f"{b}: no ledger row (the load did not finish)"
        for b in expected_batches
        if b not in {r["batch_id"] for r in ledger}
    ]
    problems += [
        f"{r['batch_id']}: received {r['received']} != loaded {r['loaded']} + quarantined {r['quarantined']} "
        f"+ duplicates {r['duplicates_removed']}"
        for r in ledger
        if r["received"] != r["loaded"] + r["quarantined"] + r["duplicates_removed"]
    ]
    if problems:
        raise RuntimeError("reconciliation failed:\n" + "\n".join(problems))
    return ledger
