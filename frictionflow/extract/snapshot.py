"""MDM full snapshots: `mdm/<YYYY-MM-DD>/golden_customers.jsonl.gz`, ending in a trailer line.

The last line must be `{"_trailer": {"records": N}}` with N the records before it; without it (or with
another N, or a gzip stream cut short) the file is truncated: the task fails and nothing of it is
loaded. The file is streamed once: records flow into the load as they are read, one line held back to
tell the trailer from a record, and the trailer check at the end raises inside `load_batch`, whose
transaction then rolls everything back. Each snapshot is kept whole as its own batch (see sources.yml:
who is in a snapshot is the information; a golden record that is gone was deleted or merged).
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import psycopg

from frictionflow.extract.delivery_state import record_incident
from frictionflow.extract.hourly_files import read_jsonl_gz
from frictionflow.load import Batch, Delivered, LedgerEntry, load_batch
from frictionflow.nightly import DeliveryError, batch_id, business_date
from frictionflow.sources import SourceConfig

TRAILER = "_trailer"
INCIDENT = "truncated_snapshot"


def _is_trailer(item: Delivered) -> bool:
    return item.payload is not None and TRAILER in item.payload


def snapshot_records(path: Path, location: str) -> Iterator[Delivered]:
    """The snapshot's records; DeliveryError at the end if the trailer is missing or disagrees."""
    pending: Delivered | None = None
    count = 0
    try:
        for item in read_jsonl_gz(path, location):
            if pending is not None:
                if _is_trailer(pending):
                    raise DeliveryError(f"{location}: trailer on line {pending.record_number} is not the last line")
                count += 1
                yield pending
            pending = item
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DeliveryError(f"{location}: gzip stream cut short after {count} records ({exc}): truncated") from None
    if pending is None or not _is_trailer(pending):
        if pending is not None:
            count += 1
        raise DeliveryError(f"{location}: no trailer line after {count} records: truncated")
    trailer = pending.payload[TRAILER]
    declared = trailer.get("records") if isinstance(trailer, dict) else None
    if declared != count:
        raise DeliveryError(f"{location}: trailer says {declared} records, {count} read: truncated")


def pull_snapshot(
    warehouse_dsn: str,
    landing_dir: Path,
    source: SourceConfig,
    entity_name: str,
    interval_start: datetime,
    interval_end: datetime,
    loaded_at: datetime,
) -> LedgerEntry:
    location = source.options["path"].format(business_date=business_date(interval_start).isoformat())
    path = landing_dir / location
    if not path.is_file():
        raise DeliveryError(f"{location}: snapshot not delivered")
    batch = Batch(
        batch_id=batch_id(source, entity_name, interval_start),
        entity=source.entity(entity_name),
        interval_start=interval_start,
        interval_end=interval_end,
        loaded_at=loaded_at,
        dedupe_key=source.dedupe_key(entity_name),
        replace="batch",
    )
    try:
        with psycopg.connect(warehouse_dsn) as conn, conn.transaction():
            return load_batch(conn, batch, snapshot_records(path, location))
    except DeliveryError as exc:
        with psycopg.connect(warehouse_dsn) as conn:
            record_incident(conn, source.system, entity_name, interval_start, INCIDENT, str(exc))
        raise
