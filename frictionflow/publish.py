"""Publish the audited marts into `published` in one transaction: readers see the whole old or the whole new version.

The swap is plain DML (delete, then insert from `audit`) inside a single transaction, not a schema or
table rename: DDL is not MVCC-safe in PostgreSQL, so a reader whose snapshot predates a renamed-in
table sees it empty (a REPEATABLE READ dashboard reading two tables would see one filled, one empty;
tests/test_publish.py shows it). With DML, every reader, single statement or multi-statement
transaction, sees exactly one version, and readers never wait for the publisher (no table locks beyond
ROW EXCLUSIVE). Only a table whose structure changed (an analyst added a column) is replaced by DDL in
the same transaction; readers then wait for that one table for the instant of the commit.

Before the swap, every published metric that declares `meta.restatement` in its dbt model is compared
with the live version: a number that changes for a period already published is written to
`meta.restatements` with its old and new value and the cause (late data, a re-delivery, an identity
merge), so a dashboard's consumer can learn why last week's figure moved. The audit schema stays as dbt
left it (incremental models keep their state; a failed gate leaves it inspectable).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from frictionflow.warehouse.bootstrap import BI_ROLE, PUBLISHED_SCHEMA

AUDIT_SCHEMA = "audit"


@dataclass(frozen=True)
class RestatementSpec:
    """A published metric table whose numbers, once published for a period, are watched for changes."""

    table: str
    period: str  # the date column a number belongs to
    dimensions: tuple[str, ...]
    measures: tuple[str, ...]


def restatement_specs(manifest_path: Path) -> list[RestatementSpec]:
    """Metric tables that declare `config.meta.restatement` in their dbt model (analysts add them there)."""
    if not manifest_path.exists():
        return []
    manifest = json.loads(manifest_path.read_text())
    specs = []
    for node in manifest.get("nodes", {}).values():
        meta = (node.get("config") or {}).get("meta") or node.get("meta") or {}
        spec = meta.get("restatement")
        if node.get("resource_type") == "model" and spec:
            specs.append(
                RestatementSpec(
                    table=node.get("alias") or node["name"],
                    period=spec["period"],
                    dimensions=tuple(spec.get("dimensions", ())),
                    measures=tuple(spec["measures"]),
                )
            )
    return sorted(specs, key=lambda s: s.table)


def audit_tables(conn: psycopg.Connection) -> list[str]:
    rows = conn.execute(
        "select table_name from information_schema.tables where table_schema = %s and table_type = 'BASE TABLE' "
        "order by table_name",
        (AUDIT_SCHEMA,),
    ).fetchall()
    return [r[0] for r in rows]


def publish(
    warehouse_dsn: str,
    run_id: str,
    interval_start: datetime,
    interval_end: datetime,
    restatements: list[RestatementSpec] | None = None,
) -> dict[str, int]:
    """Make tonight's audited marts the published version; returns rows per published table."""
    with psycopg.connect(warehouse_dsn, autocommit=True) as conn:  # the swap is the one explicit transaction
        tables = audit_tables(conn)
        if not tables:
            raise RuntimeError(f"nothing to publish: schema {AUDIT_SCHEMA} has no tables")
        with conn.transaction():
            conn.execute("set local lock_timeout = '120s'")
            # One publisher at a time (a re-run racing a backfill would interleave versions).
            conn.execute("select pg_advisory_xact_lock(hashtext('frictionflow.publish'))")
            conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(PUBLISHED_SCHEMA)))
            version = conn.execute(
                "insert into meta.publish_log (run_id, data_interval_start, data_interval_end, row_counts) "
                "values (%s, %s, %s, '{}') returning version",
                (run_id, interval_start, interval_end),
            ).fetchone()[0]
            _record_restatements(conn, version, run_id, interval_start, restatements or [])
            counts = {table: _replace_table(conn, table) for table in tables}
            for gone in set(_tables(conn, PUBLISHED_SCHEMA)) - set(tables):
                conn.execute(sql.SQL("drop table {}").format(sql.Identifier(PUBLISHED_SCHEMA, gone)))
            bi = sql.Identifier(BI_ROLE)
            conn.execute(sql.SQL("grant usage on schema {} to {}").format(sql.Identifier(PUBLISHED_SCHEMA), bi))
            conn.execute(
                sql.SQL("grant select on all tables in schema {} to {}").format(sql.Identifier(PUBLISHED_SCHEMA), bi)
            )
            conn.execute(
                "update meta.publish_log set row_counts = %s where version = %s", (json.dumps(counts), version)
            )
        for table in tables:  # outside the swap: statistics for the planner, dead rows of the old version
            conn.execute(sql.SQL("vacuum (analyze) {}").format(sql.Identifier(PUBLISHED_SCHEMA, table)))
    return counts


def _replace_table(conn: psycopg.Connection, table: str) -> int:
    source = sql.Identifier(AUDIT_SCHEMA, table)
    target = sql.Identifier(PUBLISHED_SCHEMA, table)
    if _columns(conn, PUBLISHED_SCHEMA, table) == _columns(conn, AUDIT_SCHEMA, table):
        conn.execute(sql.SQL("delete from {}").format(target))
    else:  # new table, or its structure changed: DDL, in the same transaction
        conn.execute(sql.SQL("drop table if exists {}").format(target))
        conn.execute(sql.SQL("create table {} (like {} including all)").format(target, source))
    return conn.execute(sql.SQL("insert into {} select * from {}").format(target, source)).rowcount


def _columns(conn: psycopg.Connection, schema: str, table: str) -> list[tuple]:
    return conn.execute(
        "select column_name, data_type, numeric_precision, numeric_scale, is_nullable "
        "from information_schema.columns where table_schema = %s and table_name = %s order by ordinal_position",
        (schema, table),
    ).fetchall()


def _tables(conn: psycopg.Connection, schema: str) -> list[str]:
    rows = conn.execute(
        "select table_name from information_schema.tables where table_schema = %s and table_type = 'BASE TABLE'",
        (schema,),
    ).fetchall()
    return [r[0] for r in rows]


def _record_restatements(
    conn: psycopg.Connection, version: int, run_id: str, interval_start: datetime, specs: list[RestatementSpec]
) -> None:
    for spec in specs:
        if not _table_exists(conn, PUBLISHED_SCHEMA, spec.table) or not _table_exists(conn, AUDIT_SCHEMA, spec.table):
            continue
        for row in _changed_numbers(conn, spec):
            period, dims, measure, old, new = row
            cause, detail = _cause(conn, period, interval_start)
            conn.execute(
                """insert into meta.restatements (version, run_id, data_interval_start, metric, measure, period,
                       dimensions, old_value, new_value, cause, cause_detail)
                   values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
                (version, run_id, interval_start, spec.table, measure, period, json.dumps(dims), old, new, cause)
                + (detail,),
            )


def _changed_numbers(conn: psycopg.Connection, spec: RestatementSpec) -> list[tuple]:
    """(period, dimensions, measure, old, new) for every number of an already-published period that moved.

    Only periods the live version already covers count: a new day appearing is news, not a restatement.
    A row that disappears (or appears) within such a period restates its numbers from (or to) nothing.
    """
    keys = [spec.period, *spec.dimensions]
    # Joined on a jsonb array of the keys: null dimensions match each other and the join can hash.
    key_array = sql.SQL("jsonb_build_array({})").format(sql.SQL(", ").join(sql.Identifier(c) for c in keys))
    key_select = sql.SQL(", ").join(sql.SQL("coalesce(o.{c}, n.{c})").format(c=sql.Identifier(c)) for c in keys)
    measure_rows = sql.SQL(", ").join(
        sql.SQL("({name}, o.{c}::numeric, n.{c}::numeric)").format(name=sql.Literal(m), c=sql.Identifier(m))
        for m in spec.measures
    )
    query = sql.SQL(
        """select {keys}, m.measure, m.old_value, m.new_value
           from (select {key_array} as _key, * from {old}) o
           full join (select {key_array} as _key, * from {new}) n on o._key = n._key
           cross join lateral (values {measures}) as m (measure, old_value, new_value)
           where coalesce(o.{period}, n.{period}) <= (select max({period}) from {old})
             and m.old_value is distinct from m.new_value
           order by 1"""
    ).format(
        keys=key_select,
        key_array=key_array,
        old=sql.Identifier(PUBLISHED_SCHEMA, spec.table),
        new=sql.Identifier(AUDIT_SCHEMA, spec.table),
        measures=measure_rows,
        period=sql.Identifier(spec.period),
    )
    changed = []
    for row in conn.execute(query).fetchall():
        period, dims = row[0], dict(zip(spec.dimensions, row[1 : 1 + len(spec.dimensions)], strict=True))
        measure, old, new = row[-3:]
        changed.append((period, dims, measure, old, new))
    return changed


def _cause(conn: psycopg.Connection, period: date | datetime, interval_start: datetime) -> tuple[str, str]:
    """Why a published number moved, from what tonight's loads did (most specific cause first)."""
    period_date = period.date() if isinstance(period, datetime) else period
    # A file set of that business date re-delivered (a higher revision) and reloaded tonight.
    reloaded = conn.execute(
        """select string_agg(distinct batch_id || ' (' || cause || ')', ', ') from meta.deliveries
           where data_interval_start = %s and business_date = %s and cause like 'redelivery%%'""",
        (interval_start, period_date),
    ).fetchone()[0]
    if reloaded:
        return "redelivery", f"re-delivered data for {period_date} reloaded tonight: {reloaded}"
    merges = _identity_merges_tonight(conn, interval_start)
    if merges:
        return "identity_merge", f"{merges} customer merges or splits resolved tonight"
    return "late_data", f"data for {period_date} that arrived after it was first published"


def _identity_merges_tonight(conn: psycopg.Connection, interval_start: datetime) -> int:
    """Merges and splits recorded by identity resolution tonight (0 until that audit table exists)."""
    if not _table_exists(conn, "audit", "customer_key_changes"):
        return 0
    return conn.execute(
        "select count(*) from audit.customer_key_changes where data_interval_start = %s", (interval_start,)
    ).fetchone()[0]


def _table_exists(conn: psycopg.Connection, schema: str, table: str) -> bool:
    return bool(
        conn.execute(
            "select 1 from information_schema.tables where table_schema = %s and table_name = %s", (schema, table)
        ).fetchone()
    )


def published_version(conn: psycopg.Connection) -> dict[str, Any] | None:
    """The live version: the last publish log row (what stays live when a night fails)."""
    row = conn.execute(
        "select version, run_id, data_interval_start, published_at from meta.publish_log order by version desc limit 1"
    ).fetchone()
    if row is None:
        return None
    return {"version": row[0], "run_id": row[1], "data_interval_start": row[2], "published_at": row[3]}
