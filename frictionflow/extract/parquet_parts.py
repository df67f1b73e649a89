"""Logistics Parquet parts: `logistics/<UTC upload date>/<entity>-<NNN>.parquet`, written through the day.

Which parts a night loads. The folder date is the UTC upload date, the night's business date is
London's, and parts have no end marker, so folders are not matched to nights. Instead night D loads
every complete part in folders D-`part_lookback_days` .. D that no other night has loaded, and records
each in `meta.deliveries`. A part landing in a folder after its night ran (London midnight is 23:00 UTC
in summer; uploads continue until UTC midnight) is picked up by the next night; a part is loaded by
exactly one night. A re-run of night D reloads the parts night D loaded (its batch is replaced) plus any
part nobody has loaded yet; parts later nights loaded stay theirs. Folders dated after D are left to
later nights, so a late re-run does not take tomorrow's parts.

Quirks: a `*.tmp` part is still being written: it is not read, and it is recorded as an incident
(`incomplete_part`) until a night finds it complete. Parts are read with pyarrow in record batches
(`record_batch_rows`), so memory is bounded by a batch, not a part. Duplicate event_ids across parts
are counted as duplicates by the loader (dedupe key in sources.yml); scans arriving up to 72 hours late
and events arriving before their shipment are loaded as delivered: ordering and attribution are dbt's
job (by event_ts, joining shipments whenever they arrive). A stock-out repeated with ended_at set is a
new version (ended_at is part of its dedupe key).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq

from frictionflow.extract.columnar import read_parquet_columns
from frictionflow.extract.delivery_state import LoadedFile, loaded_parts, record_loaded_file
from frictionflow.load import Batch, Delivered, LedgerEntry, load_batch
from frictionflow.nightly import DeliveryError, batch_id, business_date, record_incidents
from frictionflow.sources import SourceConfig

PART = re.compile(r"(?P<entity>[a-z_]+)-(?P<number>\d+)\.parquet")
INCIDENT = "incomplete_part"


def folder_parts(landing_dir: Path, folder: str, entity: str) -> tuple[list[str], list[str]]:
    """Complete and incomplete (`.tmp`) parts of the entity in one folder, as landing-relative paths."""
    complete, incomplete = [], []
    directory = landing_dir / folder
    if not directory.is_dir():
        return complete, incomplete
    for path in sorted(directory.iterdir()):
        name = path.name
        if name.endswith(".tmp"):
            m = PART.fullmatch(name.removesuffix(".tmp"))
            if m and m["entity"] == entity:
                incomplete.append(folder + name)
        elif (m := PART.fullmatch(name)) and m["entity"] == entity and path.is_file():
            complete.append(folder + name)
    return complete, incomplete


def read_parquet(path: Path, location: str, batch_rows: int) -> Iterator[Delivered]:
    """Every row of the part, one record batch in memory at a time."""
    number = 0
    try:
        part = pq.ParquetFile(path, pre_buffer=False)  # pre-buffering reads the whole part: memory grows with it
        for record_batch in part.iter_batches(batch_size=batch_rows, use_threads=False):
            for row in record_batch.to_pylist():
                number += 1
                yield Delivered(location, number, payload=row)
    except (pa.ArrowException, OSError) as exc:
        raise DeliveryError(f"{location}: unreadable Parquet part after {number} rows ({exc})") from None


def pull_parquet_parts(
    warehouse_dsn: str,
    landing_dir: Path,
    source: SourceConfig,
    entity_name: str,
    interval_start: datetime,
    interval_end: datetime,
    loaded_at: datetime,
) -> tuple[LedgerEntry, list[str]]:
    """Load the night's parts (see the module docstring); returns the ledger entry and the `.tmp` parts seen."""
    night = business_date(interval_start)
    first = night - timedelta(days=int(source.options.get("part_lookback_days", 7)))
    bid = batch_id(source, entity_name, interval_start)
    batch_rows = int(source.options.get("record_batch_rows", 10_000))
    folders = {
        d: source.options["path"].format(upload_date=d.isoformat())
        for d in (first + timedelta(days=n) for n in range((night - first).days + 1))
    }
    complete: dict[str, date] = {}
    incomplete: list[str] = []
    for day, folder in folders.items():
        done, pending = folder_parts(landing_dir, folder, entity_name)
        complete.update(dict.fromkeys(done, day))
        incomplete += pending

    batch = Batch(
        batch_id=bid,
        entity=source.entity(entity_name),
        interval_start=interval_start,
        interval_end=interval_end,
        loaded_at=loaded_at,
        dedupe_key=source.dedupe_key(entity_name),
        replace="batch",
    )
    with psycopg.connect(warehouse_dsn) as conn, conn.transaction():
        taken = loaded_parts(conn, source.system, entity_name, first, night)
        gone = sorted(loc for loc, b in taken.items() if b == bid and loc not in complete)
        if gone:
            raise DeliveryError(
                f"{source.system}: part(s) this night loaded before are no longer delivered, a re-run would "
                f"lose their rows: {gone}"
            )
        mine = [loc for loc in complete if taken.get(loc, bid) == bid]

        def records():  # column blocks: the loader checks them with Arrow kernels (see extract/columnar.py)
            for location in mine:
                yield from read_parquet_columns(landing_dir / location, location, batch_rows)

        entry = load_batch(conn, batch, records())
        for location in mine:
            loaded = LoadedFile(source.system, entity_name, complete[location], location, 0, None, bid, "part")
            record_loaded_file(conn, loaded, interval_start, loaded_at)
        record_incidents(conn, source.system, entity_name, interval_start, INCIDENT, incomplete)
    return entry, incomplete
