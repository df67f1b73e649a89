"""SQL sources pulled incrementally by a watermark column, streamed through a server-side cursor."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from frictionflow.contracts import Entity
from frictionflow.load import Delivered

FETCH_ROWS = 5_000


def changed_rows(
    source_dsn: str,
    schema: str,
    entity: Entity,
    watermark_column: str,
    lower: datetime | None,
    upper: datetime,
) -> Iterator[Delivered]:
    """Rows whose watermark lies in [lower, upper); lower None means the initial full pull.

    Table and column names are quoted: the CRM's case table is called `case`, a reserved word.
    """
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in entity.column_names)
    table = sql.Identifier(schema, entity.name)
    wm = sql.Identifier(watermark_column)
    order = sql.SQL(", ").join(sql.Identifier(c) for c in (watermark_column, *entity.primary_key))
    if lower is None:
        query = sql.SQL("select {} from {} where {} < %(upper)s order by {}").format(columns, table, wm, order)
    else:
        query = sql.SQL("select {} from {} where {} >= %(lower)s and {} < %(upper)s order by {}").format(
            columns, table, wm, wm, order
        )
    since = lower.isoformat() if lower else "-inf"
    location = f"{schema}.{entity.name} where {watermark_column} in [{since}, {upper.isoformat()})"
    with psycopg.connect(source_dsn, options="-c default_transaction_read_only=on") as conn:
        with conn.cursor(name=f"extract_{entity.name}", row_factory=dict_row) as cur:
            cur.itersize = FETCH_ROWS
            cur.execute(query, {"lower": lower, "upper": upper})
            for number, row in enumerate(cur, start=1):
                yield Delivered(location=location, record_number=number, payload=row)
