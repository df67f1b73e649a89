"""The delivery state of file sources in `meta.deliveries`, and delivery incidents.

One row per delivered file a night loaded: which revision (ERP manifests), which batch, why ("nightly",
"redelivery revision 2", "part"), by which night. It is what lets a night reload a corrected ERP set once,
and load a logistics part exactly once. A row is written in the same transaction as the batch it
describes, so the state never claims a load that was rolled back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import psycopg


@dataclass(frozen=True)
class LoadedFile:
    source_system: str
    entity: str
    business_date: date  # the date in the delivery's path (logistics: the UTC upload date)
    location: str  # relative to the landing folder
    revision: int
    sha256: str | None
    batch_id: str
    cause: str


def record_loaded_file(
    conn: psycopg.Connection, loaded: LoadedFile, interval_start: datetime, loaded_at: datetime
) -> None:
    """Upsert; a re-run keeps the cause and night of the first load (the restatement stays traceable)."""
    conn.execute(
        """insert into meta.deliveries (source_system, entity, business_date, location, revision, sha256, batch_id,
               cause, data_interval_start, loaded_at)
           values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
           on conflict (source_system, entity, location, revision) do update set
               sha256 = excluded.sha256, batch_id = excluded.batch_id, loaded_at = excluded.loaded_at""",
        (
            loaded.source_system,
            loaded.entity,
            loaded.business_date,
            loaded.location,
            loaded.revision,
            loaded.sha256,
            loaded.batch_id,
            loaded.cause,
            interval_start,
            loaded_at,
        ),
    )


def loaded_revisions(conn: psycopg.Connection, system: str, entity: str, first: date, last: date) -> dict[date, int]:
    """Highest revision loaded per business date in [first, last]."""
    rows = conn.execute(
        """select business_date, max(revision) from meta.deliveries
           where source_system = %s and entity = %s and business_date between %s and %s group by 1""",
        (system, entity, first, last),
    ).fetchall()
    return dict(rows)


def loaded_parts(conn: psycopg.Connection, system: str, entity: str, first: date, last: date) -> dict[str, str]:
    """Location -> batch id of every file already loaded from folders dated [first, last]."""
    rows = conn.execute(
        """select location, batch_id from meta.deliveries
           where source_system = %s and entity = %s and business_date between %s and %s""",
        (system, entity, first, last),
    ).fetchall()
    return dict(rows)


def batches_loaded_by(conn: psycopg.Connection, interval_start: datetime) -> list[str]:
    """Batches a night loaded from file deliveries (its own and, for ERP, reloads of earlier dates)."""
    rows = conn.execute(
        "select distinct batch_id from meta.deliveries where data_interval_start = %s order by 1", (interval_start,)
    ).fetchall()
    return [r[0] for r in rows]


def record_incident(
    conn: psycopg.Connection, system: str, entity: str, interval_start: datetime, incident: str, detail: str
) -> None:
    """Add one incident; the same incident found again (a retry, a parallel task of the same set) is kept once."""
    conn.execute(
        "insert into meta.delivery_incidents (source_system, entity, data_interval_start, incident, detail) "
        "values (%s, %s, %s, %s, %s) on conflict do nothing",
        (system, entity, interval_start, incident, detail),
    )
