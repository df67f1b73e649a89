"""Stream delivered records into the raw layer: validated, COPY-loaded, deduplicated, reconciled.

One batch (a source entity for one data interval) loads in one transaction that first removes what an
earlier run of the same batch wrote, so re-running a night replaces rather than appends. Records that
break their contract go to `meta.quarantine` with the reason; exact re-deliveries (same key, same
version) are counted as duplicates; the ledger row must balance or the load fails.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from frictionflow.contracts import LOAD_METADATA_COLUMNS, ContractViolation, Entity, to_copy_value

QUARANTINE_FLUSH_ROWS = 5_000


@dataclass(frozen=True)
class Delivered:
    """One record as a source delivered it: parsed, or the raw text and why it could not be parsed."""

    location: str
    record_number: int
    payload: dict[str, Any] | None = None
    raw_text: str | None = None
    parse_error: str | None = None


@dataclass(frozen=True)
class Batch:
    batch_id: str
    entity: Entity
    interval_start: datetime
    interval_end: datetime
    loaded_at: datetime
    # Columns that identify one version of a record: a second copy of it is a duplicate, not a change.
    dedupe_key: tuple[str, ...]
    # "batch": the delivery is immutable or re-delivered whole (files), so a re-run replaces the batch.
    # "versions": a current-state source (SQL) cannot re-deliver versions that changed since, so a re-run
    # replaces only the versions it delivers again and keeps the history it can no longer see.
    replace: str = "batch"


@dataclass(frozen=True)
class LedgerEntry:
    batch_id: str
    source_system: str
    entity: str
    source_locations: int
    received: int
    loaded: int
    quarantined: int
    duplicates_removed: int

    @property
    def balanced(self) -> bool:
        return self.received == self.loaded + self.quarantined + self.duplicates_removed


class LedgerImbalance(RuntimeError):
    pass


def load_batch(conn: psycopg.Connection, batch: Batch, records: Iterable[Delivered]) -> LedgerEntry:
    """Replace the batch's rows in the raw layer with `records`. Commits on success only."""
    entity = batch.entity
    raw_table = sql.SQL(entity.qualified_raw_table)
    columns = entity.column_names + list(LOAD_METADATA_COLUMNS)
    column_list = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    _ensure_dedupe_index(conn, batch)
    with conn.transaction():
        if batch.replace == "batch":
            conn.execute(sql.SQL("delete from {} where _batch_id = %s").format(raw_table), (batch.batch_id,))
        conn.execute("delete from meta.quarantine where batch_id = %s", (batch.batch_id,))
        conn.execute("delete from meta.load_ledger where batch_id = %s", (batch.batch_id,))
        conn.execute(
            sql.SQL("create temp table incoming (like {} including defaults) on commit drop").format(raw_table)
        )
        received, quarantined, locations = _copy_valid_rows(conn, batch, records, column_list)
        loaded = _insert_new_versions(conn, batch, column_list)
        entry = LedgerEntry(
            batch_id=batch.batch_id,
            source_system=entity.system,
            entity=entity.name,
            source_locations=locations,
            received=received,
            loaded=loaded,
            quarantined=quarantined,
            duplicates_removed=received - quarantined - loaded,
        )
        if not entry.balanced or entry.duplicates_removed < 0:
            raise LedgerImbalance(f"{batch.batch_id}: ledger does not balance: {entry}")
        conn.execute(
            """insert into meta.load_ledger (batch_id, source_system, entity, data_interval_start,
                   data_interval_end, source_locations, received, loaded, quarantined, duplicates_removed)
               values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
            (
                batch.batch_id,
                entity.system,
                entity.name,
                batch.interval_start,
                batch.interval_end,
                locations,
                received,
                loaded,
                quarantined,
                entry.duplicates_removed,
            ),
        )
    return entry


def _ensure_dedupe_index(conn: psycopg.Connection, batch: Batch) -> None:
    """The duplicate check probes the raw table by record version: keep that probe an index lookup."""
    name = f"{batch.entity.raw_table}__version"
    with conn.transaction():
        conn.execute(
            sql.SQL("create index if not exists {} on {} ({})").format(
                sql.Identifier(name),
                sql.SQL(batch.entity.qualified_raw_table),
                sql.SQL(", ").join(sql.Identifier(c) for c in batch.dedupe_key),
            )
        )


def _copy_valid_rows(
    conn: psycopg.Connection, batch: Batch, records: Iterable[Delivered], column_list: sql.Composable
) -> tuple[int, int, int]:
    """COPY valid records into the temp table as they stream in; quarantine the rest in bounded chunks."""
    received = quarantined = 0
    locations: set[str] = set()
    pending_quarantine: list[tuple] = []
    stream = iter(records)
    copy_stmt = sql.SQL("copy incoming ({}) from stdin").format(column_list)
    metadata_tail = (batch.loaded_at, batch.interval_start, batch.interval_end)
    exhausted = False
    with conn.cursor() as cur:
        while not exhausted:
            with cur.copy(copy_stmt) as copy:
                for item in stream:
                    received += 1
                    locations.add(item.location)
                    row_or_reason = _typed_row(batch.entity, item)
                    if isinstance(row_or_reason, str):
                        quarantined += 1
                        pending_quarantine.append(_quarantine_row(batch, item, row_or_reason))
                        if len(pending_quarantine) >= QUARANTINE_FLUSH_ROWS:
                            break  # leave the COPY to flush the quarantine, then resume the stream
                        continue
                    extras = batch.entity.unexpected_fields(item.payload)
                    copy.write_row(
                        (
                            *row_or_reason,
                            batch.batch_id,
                            item.location,
                            item.record_number,
                            *metadata_tail,
                            to_copy_value(extras) if extras else None,
                        )
                    )
                else:
                    exhausted = True
            _flush_quarantine(cur, pending_quarantine)
    return received, quarantined, len(locations)


def _typed_row(entity: Entity, item: Delivered) -> tuple | str:
    if item.payload is None:
        return f"unparsable record: {item.parse_error}"
    if not isinstance(item.payload, dict):
        return f"not a record: expected an object, got {type(item.payload).__name__}"
    try:
        typed = entity.validate(item.payload)
    except ContractViolation as exc:
        return f"contract violation: {exc}"
    return tuple(to_copy_value(typed[name]) for name in entity.column_names)


def _quarantine_row(batch: Batch, item: Delivered, reason: str) -> tuple:
    raw = item.raw_text
    if raw is None and item.payload is not None:
        raw = json.dumps(item.payload, default=str, ensure_ascii=False)
    return (
        batch.entity.system,
        batch.entity.name,
        batch.batch_id,
        item.location,
        item.record_number,
        reason,
        raw,
        batch.interval_start,
    )


def _flush_quarantine(cur: psycopg.Cursor, rows: list[tuple]) -> None:
    if not rows:
        return
    with cur.copy(
        "copy meta.quarantine (source_system, entity, batch_id, source_location, record_number, reason, "
        "raw_record, data_interval_start) from stdin"
    ) as copy:
        for row in rows:
            copy.write_row(row)
    rows.clear()


def _insert_new_versions(conn: psycopg.Connection, batch: Batch, column_list: sql.Composable) -> int:
    """Keep the first copy of each record version; drop versions the raw layer already holds."""
    if batch.replace == "versions":
        same_version = sql.SQL(" and ").join(
            sql.SQL("r.{c} = i.{c}").format(c=sql.Identifier(c)) for c in batch.dedupe_key
        )
        conn.execute(
            sql.SQL("delete from {raw} r using incoming i where r._batch_id = %s and {same}").format(
                raw=sql.SQL(batch.entity.qualified_raw_table), same=same_version
            ),
            (batch.batch_id,),
        )
    key = sql.SQL(", ").join(sql.Identifier(c) for c in batch.dedupe_key)
    same_key = sql.SQL(" and ").join(sql.SQL("r.{c} = i.{c}").format(c=sql.Identifier(c)) for c in batch.dedupe_key)
    inserted = conn.execute(
        sql.SQL(
            """insert into {raw} ({cols})
               select {cols} from (
                   select distinct on ({key}) * from incoming i order by {key}, _source_location, _record_number
               ) i
               where not exists (select 1 from {raw} r where {same_key})"""
        ).format(raw=sql.SQL(batch.entity.qualified_raw_table), cols=column_list, key=key, same_key=same_key)
    )
    return inserted.rowcount
