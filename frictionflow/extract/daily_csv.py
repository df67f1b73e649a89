"""Daily CSV exports (marketing's `marketing/<YYYY-MM-DD>/email_events.csv`), streamed.

A file with only the header is an empty day: a valid delivery of 0 rows, with its ledger row. A file
without even a header, or whose header lacks a contracted column, is a failed delivery. The DAG's
sensor waits for the file up to its deadline; here a missing file fails clearly. Re-running the night
replaces its batch.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import psycopg

from frictionflow.extract.csv_records import read_csv
from frictionflow.load import Batch, LedgerEntry, load_batch
from frictionflow.nightly import DeliveryError, batch_id, business_date
from frictionflow.sources import SourceConfig


def pull_daily_csv(
    warehouse_dsn: str,
    landing_dir: Path,
    source: SourceConfig,
    entity_name: str,
    interval_start: datetime,
    interval_end: datetime,
    loaded_at: datetime,
) -> LedgerEntry:
    entity = source.entity(entity_name)
    location = source.options["path"].format(business_date=business_date(interval_start).isoformat())
    path = landing_dir / location
    if not path.is_file():
        raise DeliveryError(f"{location}: not delivered")
    batch = Batch(
        batch_id=batch_id(source, entity_name, interval_start),
        entity=entity,
        interval_start=interval_start,
        interval_end=interval_end,
        loaded_at=loaded_at,
        dedupe_key=source.dedupe_key(entity_name),
        replace="batch",
    )
    with psycopg.connect(warehouse_dsn) as conn, conn.transaction():
        return load_batch(conn, batch, read_csv(path, location, entity.column_names))
