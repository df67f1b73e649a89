"""The short summary a night ends with: what arrived, what the gate said, what was published."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import psycopg

from frictionflow.nightly import COMPANY_TZ
from frictionflow.settings import Settings


def interval_start_of(night: date) -> datetime:
    return datetime(night.year, night.month, night.day, tzinfo=COMPANY_TZ)


def night_summary(settings: Settings, night: date, *, dag_succeeded: bool | None, log_file: Path | None) -> str:
    start = interval_start_of(night)
    lines = [f"\n=== frictionflow night {night} ==="]
    if dag_succeeded is not None:
        lines.append(f"DAG run: {'SUCCESS' if dag_succeeded else 'FAILED'}")
    with psycopg.connect(settings.warehouse_dsn) as conn:
        ledger = conn.execute(
            """select source_system, entity, received, loaded, quarantined, duplicates_removed
               from meta.load_ledger where data_interval_start = %s order by 1, 2""",
            (start,),
        ).fetchall()
        lines.append("\nRows per source (received = loaded + quarantined + duplicates removed):")
        for system, entity, received, loaded, quarantined, dups in ledger:
            lines.append(f"  {system + '.' + entity:32} {received:>9,} = {loaded:>9,} + {quarantined:>6,} + {dups:>6,}")
        if not ledger:
            lines.append("  (nothing loaded for this night)")
        incidents = conn.execute(
            "select source_system, incident, count(*) from meta.delivery_incidents where data_interval_start = %s "
            "group by 1, 2 order by 1, 2",
            (start,),
        ).fetchall()
        for system, incident, count in incidents:
            lines.append(f"  incident: {system} {incident} x{count}")
        breaches = conn.execute(
            "select count(*) from meta.consent_breaches where data_interval_start = %s", (start,)
        ).fetchone()[0]
        if breaches:
            lines.append(f"  compliance: {breaches} marketing email(s) sent despite a withdrawn consent")
        gate = conn.execute(
            """select split_part(suite, '.', 1) as layer,
                      count(*) filter (where success), count(*) filter (where not success)
               from meta.gate_results where data_interval_start = %s
                 and run_id = (select run_id from meta.gate_results where data_interval_start = %s
                               order by validated_at desc limit 1)
               group by 1 order by 1""",
            (start, start),
        ).fetchall()
        lines.append("\nQuality gate (Great Expectations):")
        for layer, passed, failed in gate:
            lines.append(f"  {layer:10} {passed} passed, {failed} failed")
        failures = conn.execute(
            """select suite, expectation_type, coalesce(column_name, ''), observed::text from meta.gate_results
               where data_interval_start = %s and not success
                 and run_id = (select run_id from meta.gate_results where data_interval_start = %s
                               order by validated_at desc limit 1)""",
            (start, start),
        ).fetchall()
        for suite, expectation, column, observed in failures:
            lines.append(f"  FAILED {suite}: {expectation} {column} {observed[:160]}")
        published = conn.execute(
            "select version, run_id, row_counts, published_at from meta.publish_log "
            "where data_interval_start = %s order by version desc limit 1",
            (start,),
        ).fetchone()
        lines.append("\nPublished:")
        if published:
            version, run_id, counts, at = published
            lines.append(f"  version {version} ({run_id}) at {at:%Y-%m-%d %H:%M:%S %Z}")
            width = max([28, *(len(table) for table in counts)])
            for table, rows in sorted(counts.items()):
                lines.append(f"  published.{table:{width}} {rows:>9,} rows")
        else:
            lines.append("  nothing published for this night; the last good version stays live")
    lines.append("\nWhere to look next:")
    lines.append("  make airflow             the Airflow UI (trigger and watch the nightly DAG)")
    lines.append(f"  Data Docs                {settings.home / 'gx/gx/uncommitted/data_docs/local_site/index.html'}")
    lines.append("  meta.quarantine, meta.load_ledger, meta.gate_results, meta.publish_log in the warehouse")
    if log_file:
        lines.append(f"  full Airflow log         {log_file}")
    return "\n".join(lines)
