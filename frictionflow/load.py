"""Stream delivered records into the raw layer: validated, COPY-loaded, deduplicated, reconciled.

One batch (a source entity for one data interval) loads in one transaction that first removes what an
earlier run of the same batch wrote, so re-running a night replaces rather than appends. Records that
break their contract go to `meta.quarantine` with the reason; exact re-deliveries (same key, same
version) are counted as duplicates; the ledger row must balance or the load fails.

Records arrive one by one (`Delivered`) or, from columnar readers, as blocks of Arrow columns
(`DeliveredColumns`) that are checked with vectorised kernels; a block's rows those kernels cannot
certify take the per-record path, so both kinds are held to the same contract with the same reasons.
Valid rows go to PostgreSQL with COPY (binary for records, CSV written by Arrow for blocks). A batch
replaced whole is copied straight into its raw table and its duplicates deleted there afterwards; a
batch of versions goes through a scratch table first (see `Batch.replace`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql
from psycopg.types.json import set_json_dumps

from frictionflow.contracts import LOAD_METADATA_COLUMNS, ContractViolation, Entity, compact_json, to_copy_value

if TYPE_CHECKING:
    import pyarrow as pa

QUARANTINE_FLUSH_ROWS = 5_000
# PostgreSQL types of the binary COPY, by contract type (decimals are numeric whatever their precision).
_COPY_TYPES = {
    "text": "text",
    "bigint": "int8",
    "boolean": "bool",
    "date": "date",
    "timestamptz": "timestamptz",
    "jsonb": "jsonb",
    "text not null": "text",
    "bigint not null": "int8",
    "timestamptz not null": "timestamptz",
}


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


@dataclass(frozen=True)
class DeliveredColumns:
    """Records delivered as Arrow columns (a Parquet row group, a block of a CSV file), numbered in order.

    `columns` holds the fields as the source delivered them (text for CSV, typed for Parquet); its
    rows are records `first_record_number`, `first_record_number + 1`, ... of `location`.
    """

    location: str
    first_record_number: int
    columns: pa.Table | pa.RecordBatch


class LedgerImbalance(RuntimeError):
    pass


def load_batch(conn: psycopg.Connection, batch: Batch, records: Iterable[Delivered | DeliveredColumns]) -> LedgerEntry:
    """Replace the batch's rows in the raw layer with `records`. Commits on success only."""
    entity = batch.entity
    raw_table = sql.SQL(entity.qualified_raw_table)
    _ensure_dedupe_index(conn, batch)
    with conn.transaction():
        if batch.replace == "batch":
            conn.execute(sql.SQL("delete from {} where _batch_id = %s").format(raw_table), (batch.batch_id,))
            target = raw_table  # straight in; duplicates are deleted in place afterwards
        else:
            conn.execute(
                sql.SQL("create temp table incoming (like {} including defaults) on commit drop").format(raw_table)
            )
            target = sql.SQL("incoming")
        conn.execute("delete from meta.quarantine where batch_id = %s", (batch.batch_id,))
        conn.execute("delete from meta.load_ledger where batch_id = %s", (batch.batch_id,))
        received, quarantined, locations, copied = _copy_valid_rows(conn, batch, records, target)
        if batch.replace == "batch":
            loaded = copied - _delete_duplicates_in_place(conn, batch)
        else:
            loaded = _insert_new_versions(conn, batch)
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


def _raw_columns(entity: Entity) -> list[str]:
    return entity.column_names + list(LOAD_METADATA_COLUMNS)


class _RawCopy:
    """The one COPY into the target open at a time: binary rows from records, CSV text from column blocks.

    Switching between the two, or pausing to flush the quarantine, ends the current COPY; the next
    write starts a new one.
    """

    def __init__(self, cur: psycopg.Cursor, batch: Batch, target: sql.Composable):
        self.cur = cur
        columns = _raw_columns(batch.entity)
        column_list = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
        self.statements = {
            fmt: sql.SQL("copy {} ({}) from stdin (format {})").format(target, column_list, sql.SQL(fmt))
            for fmt in ("binary", "csv")
        }
        ddl = [c.pg_type for c in batch.entity.columns] + list(LOAD_METADATA_COLUMNS.values())
        self.types = [_COPY_TYPES.get(t, "numeric" if t.startswith("numeric") else t) for t in ddl]
        set_json_dumps(compact_json, context=cur)  # jsonb as to_copy_value writes it
        self._context = self._copy = None
        self._format = ""
        self.rows = 0

    def _open(self, fmt: str):
        if self._format != fmt:
            self.close()
            self._context = self.cur.copy(self.statements[fmt])
            self._copy = self._context.__enter__()
            if fmt == "binary":
                self._copy.set_types(self.types)
            self._format = fmt
        return self._copy

    def write_row(self, row: tuple) -> None:
        copy = self._copy if self._format == "binary" else self._open("binary")
        copy.write_row(row)
        self.rows += 1

    def write_csv(self, data: bytes, rows: int) -> None:
        self._open("csv").write(data)
        self.rows += rows

    def close(self, exc: BaseException | None = None) -> None:
        if self._context is not None:
            context, self._context, self._copy, self._format = self._context, None, None, ""
            context.__exit__(type(exc) if exc else None, exc, exc.__traceback__ if exc else None)


def _copy_valid_rows(
    conn: psycopg.Connection,
    batch: Batch,
    records: Iterable[Delivered | DeliveredColumns],
    target: sql.Composable,
) -> tuple[int, int, int, int]:
    """COPY valid records into the target as they stream in; quarantine the rest in bounded chunks.

    Returns (received, quarantined, distinct source locations, rows copied).
    """
    received = quarantined = 0
    locations: set[str] = set()
    pending_quarantine: list[tuple] = []
    entity = batch.entity
    typed_row, unexpected_fields = entity.typed_row, entity.unexpected_fields
    metadata_tail = (batch.loaded_at, batch.interval_start, batch.interval_end)
    with conn.cursor() as cur:
        raw = _RawCopy(cur, batch, target)
        try:
            for item in records:
                if type(item) is DeliveredColumns:
                    rest = _copy_certified_rows(raw, batch, item)
                    received += item.columns.num_rows - len(rest)
                    locations.add(item.location)
                else:
                    rest = (item,)
                for record in rest:
                    received += 1
                    locations.add(record.location)
                    payload = record.payload
                    if type(payload) is dict:
                        try:
                            row = typed_row(payload)
                        except ContractViolation as exc:
                            reason = f"contract violation: {exc}"
                        else:
                            extras = unexpected_fields(payload)
                            raw.write_row(
                                (*row, batch.batch_id, record.location, record.record_number, *metadata_tail, extras)
                            )
                            continue
                    else:
                        reason = _typed_row(entity, record)
                    quarantined += 1
                    pending_quarantine.append(_quarantine_row(batch, record, reason))
                    if len(pending_quarantine) >= QUARANTINE_FLUSH_ROWS:
                        raw.close()  # one COPY at a time: pause the rows, flush the quarantine, resume
                        _flush_quarantine(cur, pending_quarantine)
            raw.close()
        except BaseException as exc:
            raw.close(exc)
            raise
        _flush_quarantine(cur, pending_quarantine)
    return received, quarantined, len(locations), raw.rows


def _copy_certified_rows(raw: _RawCopy, batch: Batch, block: DeliveredColumns) -> list[Delivered]:
    """COPY the block's certified rows as CSV; the others come back as records for the per-record path."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    from frictionflow.contracts.columnar import certify

    table = block.columns
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    ok, typed = certify(batch.entity, table)
    n, certified = table.num_rows, int(ok.sum())
    if certified:
        numbers = block.first_record_number + ok.nonzero()[0]
        mask = pa.array(ok)

        def constant(value: Any) -> pa.Array:
            return pa.array([value], pa.string()).take(pa.array(np.zeros(certified, dtype=np.int32)))

        def utc_text(ts: datetime) -> str:
            return ts.astimezone(UTC).isoformat()

        out = [_csv_ready(typed[c.name].filter(mask)) for c in batch.entity.columns] + [
            constant(batch.batch_id),
            constant(block.location),
            pa.array(numbers, pa.int64()),
            constant(utc_text(batch.loaded_at)),
            constant(utc_text(batch.interval_start)),
            constant(utc_text(batch.interval_end)),
            pa.nulls(certified, pa.string()),
        ]
        sink = pa.BufferOutputStream()
        pa_csv.write_csv(
            pa.Table.from_arrays(out, names=_raw_columns(batch.entity)),
            sink,
            pa_csv.WriteOptions(include_header=False, quoting_style="needed"),
        )
        raw.write_csv(sink.getvalue(), certified)
    if certified == n:
        return []
    rest = (~ok).nonzero()[0]
    payloads = table.take(pa.array(rest)).to_pylist()
    return [
        Delivered(block.location, block.first_record_number + int(i), payload=payload)
        for i, payload in zip(rest.tolist(), payloads, strict=True)
    ]


def _csv_ready(values: pa.Array) -> pa.Array:
    """Arrow writes zoned timestamps about fifteen times slower than naive ones: write the UTC wall time
    (what a zoned timestamp stores) with its `Z`."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_timestamp(values.type) and values.type.tz is not None:
        wall = values.cast(pa.timestamp(values.type.unit)).cast(pa.string())
        return pc.binary_join_element_wise(wall, pa.scalar("Z"), "")
    return values


def _typed_row(entity: Entity, item: Delivered) -> tuple | str:
    if item.payload is None:
        return f"unparsable record: {item.parse_error}"
    if not isinstance(item.payload, dict):
        return f"not a record: expected an object, got {type(item.payload).__name__}"
    try:
        typed = entity.typed_row(item.payload)
    except ContractViolation as exc:
        return f"contract violation: {exc}"
    return tuple(to_copy_value(value) for value in typed)


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


def _same_version(batch: Batch, left: str, right: str) -> sql.Composable:
    """Two rows hold the same record version. A null in a nullable key column (a stock-out that has not
    ended) matches a null, else a re-delivered open record would load twice; `=` stays on the columns that
    cannot be null, so the probe still uses the version index."""
    nullable = {c.name for c in batch.entity.columns if c.nullable}
    return sql.SQL(" and ").join(
        sql.SQL("{l}.{c} is not distinct from {r}.{c}" if c in nullable else "{l}.{c} = {r}.{c}").format(
            l=sql.Identifier(left), r=sql.Identifier(right), c=sql.Identifier(c)
        )
        for c in batch.dedupe_key
    )


def _delete_duplicates_in_place(conn: psycopg.Connection, batch: Batch) -> int:
    """Keep the first copy of each record version in the batch; drop versions other batches already hold.

    Same result as `_insert_new_versions` for a batch replaced whole, without a second write of its rows.
    """
    raw = sql.SQL(batch.entity.qualified_raw_table)
    key = sql.SQL(", ").join(sql.Identifier(c) for c in batch.dedupe_key)
    removed = conn.execute(
        sql.SQL(
            """delete from {raw} r using (
                   select ctid from (
                       select ctid, row_number() over (
                           partition by {key} order by _source_location, _record_number
                       ) as copy_number
                       from {raw} where _batch_id = %s
                   ) c where copy_number > 1
               ) later_copies
               where r.ctid = later_copies.ctid"""
        ).format(raw=raw, key=key),
        (batch.batch_id,),
    ).rowcount
    others = conn.execute(
        sql.SQL("select exists (select 1 from {} where _batch_id <> %s)").format(raw), (batch.batch_id,)
    ).fetchone()[0]
    if others:  # no other batch in the table (a first load): nothing to probe
        same_key = _same_version(batch, "o", "r")
        removed += conn.execute(
            sql.SQL(
                """delete from {raw} r where r._batch_id = %s
                   and exists (select 1 from {raw} o where {same_key} and o._batch_id <> %s)"""
            ).format(raw=raw, same_key=same_key),
            (batch.batch_id, batch.batch_id),
        ).rowcount
    return removed


def _insert_new_versions(conn: psycopg.Connection, batch: Batch) -> int:
    """Keep the first copy of each record version; drop versions the raw layer already holds."""
    column_list = sql.SQL(", ").join(sql.Identifier(c) for c in _raw_columns(batch.entity))
    if batch.replace == "versions":
        same_version = _same_version(batch, "r", "i")
        conn.execute(
            sql.SQL("delete from {raw} r using incoming i where r._batch_id = %s and {same}").format(
                raw=sql.SQL(batch.entity.qualified_raw_table), same=same_version
            ),
            (batch.batch_id,),
        )
    key = sql.SQL(", ").join(sql.Identifier(c) for c in batch.dedupe_key)
    same_key = _same_version(batch, "r", "i")
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
