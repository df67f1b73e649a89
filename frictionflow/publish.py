"""Publish the audited marts: copy `audit` into a fresh schema, then swap it in atomically.

The copy runs first, outside the swap, so the swap transaction is short: renaming schemas inside one
transaction means a BI query sees the whole old version or the whole new one, never a mix. The audit
schema stays as dbt left it (incremental models keep their state; a failed gate leaves it inspectable).
"""

from __future__ import annotations

import json
from datetime import datetime

import psycopg
from psycopg import sql

from frictionflow.warehouse.bootstrap import BI_ROLE, PUBLISHED_SCHEMA

AUDIT_SCHEMA = "audit"
NEXT_SCHEMA = "published_next"
PREVIOUS_SCHEMA = "published_previous"


def audit_tables(conn: psycopg.Connection) -> list[str]:
    rows = conn.execute(
        "select table_name from information_schema.tables where table_schema = %s and table_type = 'BASE TABLE' "
        "order by table_name",
        (AUDIT_SCHEMA,),
    ).fetchall()
    return [r[0] for r in rows]


def publish(warehouse_dsn: str, run_id: str, interval_start: datetime, interval_end: datetime) -> dict[str, int]:
    """Make tonight's audited marts the published version; returns rows per published table."""
    with psycopg.connect(warehouse_dsn) as conn:
        tables = audit_tables(conn)
        if not tables:
            raise RuntimeError(f"nothing to publish: schema {AUDIT_SCHEMA} has no tables")
        counts = _build_next(conn, tables)
        _swap(conn, run_id, interval_start, interval_end, counts)
    return counts


def _build_next(conn: psycopg.Connection, tables: list[str]) -> dict[str, int]:
    counts = {}
    with conn.transaction():
        conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(NEXT_SCHEMA)))
        conn.execute(sql.SQL("create schema {}").format(sql.Identifier(NEXT_SCHEMA)))
        for table in tables:
            source = sql.Identifier(AUDIT_SCHEMA, table)
            target = sql.Identifier(NEXT_SCHEMA, table)
            conn.execute(sql.SQL("create table {} (like {} including all)").format(target, source))
            counts[table] = conn.execute(sql.SQL("insert into {} select * from {}").format(target, source)).rowcount
            conn.execute(sql.SQL("analyze {}").format(target))
        bi = sql.Identifier(BI_ROLE)
        conn.execute(sql.SQL("grant usage on schema {} to {}").format(sql.Identifier(NEXT_SCHEMA), bi))
        conn.execute(sql.SQL("grant select on all tables in schema {} to {}").format(sql.Identifier(NEXT_SCHEMA), bi))
    return counts


def _swap(
    conn: psycopg.Connection, run_id: str, interval_start: datetime, interval_end: datetime, counts: dict[str, int]
) -> None:
    with conn.transaction():
        conn.execute("set local lock_timeout = '120s'")
        has_published = conn.execute("select 1 from pg_namespace where nspname = %s", (PUBLISHED_SCHEMA,)).fetchone()
        conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(PREVIOUS_SCHEMA)))
        if has_published:
            conn.execute(
                sql.SQL("alter schema {} rename to {}").format(
                    sql.Identifier(PUBLISHED_SCHEMA), sql.Identifier(PREVIOUS_SCHEMA)
                )
            )
        conn.execute(
            sql.SQL("alter schema {} rename to {}").format(
                sql.Identifier(NEXT_SCHEMA), sql.Identifier(PUBLISHED_SCHEMA)
            )
        )
        conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(PREVIOUS_SCHEMA)))
        conn.execute(
            "insert into meta.publish_log (run_id, data_interval_start, data_interval_end, row_counts) "
            "values (%s, %s, %s, %s)",
            (run_id, interval_start, interval_end, json.dumps(counts)),
        )
