"""Bad data for every expectation: copy a good table, break it the way one check is meant to catch, validate.

Each expectation of each committed suite becomes a one-expectation suite over its own broken copy (schema
`mutations`), and all of them run in one GX checkpoint. An expectation type without an injection here fails
the test that uses this module, so a new check cannot land without proof that it catches something.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

MUTATIONS_SCHEMA = "mutations"


def _first_row(table: sql.Composable) -> sql.Composable:
    return sql.SQL("ctid = (select min(ctid) from {})").format(table)


def _column_type(conn: psycopg.Connection, table: str, column: str) -> str:
    return conn.execute(
        "select data_type from information_schema.columns where table_schema = %s and table_name = %s "
        "and column_name = %s",
        (MUTATIONS_SCHEMA, table, column),
    ).fetchone()[0]


def _first_column(conn: psycopg.Connection, table: str) -> str:
    return conn.execute(
        "select column_name from information_schema.columns where table_schema = %s and table_name = %s "
        "order by ordinal_position limit 1",
        (MUTATIONS_SCHEMA, table),
    ).fetchone()[0]


def break_table(
    conn: psycopg.Connection, table: str, expectation: dict[str, Any], custom: dict[str, str]
) -> list[sql.Composable]:
    """Statements that make `mutations.<table>` violate `expectation` (custom SQL keyed by meta.why)."""
    t = sql.Identifier(MUTATIONS_SCHEMA, table)
    kind, kw = expectation["type"], expectation["kwargs"]
    column = sql.Identifier(kw["column"]) if "column" in kw else None
    first = _first_row(t)
    if kind == "expect_column_values_to_not_be_null":
        return [sql.SQL("update {} set {} = null where {}").format(t, column, first)]
    if kind == "expect_column_values_to_be_in_set":
        return [sql.SQL("update {} set {} = 'not-in-the-contract' where {}").format(t, column, first)]
    if kind == "expect_column_values_to_match_regex":
        return [sql.SQL("update {} set {} = '?? does not match ??' where {}").format(t, column, first)]
    if kind in ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"):
        return [sql.SQL("insert into {} select * from {} where {}").format(t, t, first)]
    if kind == "expect_column_values_to_be_between":
        if kw.get("max_value") is not None:
            value = sql.SQL("{} + 1").format(sql.Literal(kw["max_value"]))
        else:
            value = sql.SQL("{} - 1").format(sql.Literal(kw["min_value"]))
        return [sql.SQL("update {} set {} = {} where {}").format(t, column, value, first)]
    if kind == "expect_column_pair_values_a_to_be_greater_than_b":
        a, b = sql.Identifier(kw["column_A"]), sql.Identifier(kw["column_B"])
        step = "interval '1 day'" if "time" in _column_type(conn, table, kw["column_B"]) else "1"
        return [sql.SQL("update {} set {} = {} - " + step + " where {}").format(t, a, b, first)]
    if kind == "expect_table_row_count_to_be_between":
        return [sql.SQL("delete from {}").format(t)]
    if kind == "unexpected_rows_expectation":
        meta = expectation.get("meta") or {}
        why = meta.get("why", "")
        for prefix, statement in custom.items():
            if why.startswith(prefix):
                named = {"column": sql.Identifier(meta["column"])} if "column" in meta else {}
                if "{first_column}" in statement:
                    first_column = _first_column(conn, table)
                    named["first_column"] = sql.Identifier(first_column)
                    other = "varchar" if _column_type(conn, table, first_column) == "text" else "text"
                    named["other_type"] = sql.SQL(other)
                return [sql.SQL(statement).format(t=t, **named)]
        raise KeyError(f"no injection for unexpected_rows_expectation {why!r}: add one to the test")
    raise KeyError(f"no injection for {kind}: add one to tests/gate_mutations.py")


def kind_of(expectation: dict[str, Any]) -> str:
    """The kind of bad data a check catches: its type, and for custom SQL the first word of its `why`."""
    why = (expectation.get("meta") or {}).get("why", "")
    return expectation["type"] + (
        ":" + why.split(":")[0] if expectation["type"] == "unexpected_rows_expectation" else ""
    )


def mutated_specs(
    dsn: str, specs: list[dict[str, Any]], custom: dict[str, str], interval_start: datetime, per_kind: bool = False
) -> list[dict[str, Any]]:
    """One broken copy and one single-expectation suite per expectation of `specs`.

    per_kind: only the first expectation of each kind per suite (the same check on another column of a
    generated suite proves nothing new, and each GX validation costs about half a second).
    """
    mutated = []
    with psycopg.connect(dsn) as conn:
        conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(MUTATIONS_SCHEMA)))
        conn.execute(sql.SQL("create schema {}").format(sql.Identifier(MUTATIONS_SCHEMA)))
        for s, spec in enumerate(specs):
            asset = spec["meta"]["asset"]
            source = sql.Identifier(asset["schema"], asset["table"])
            where = sql.SQL("")
            if asset.get("scope") == "night":
                where = sql.SQL(" where _data_interval_start = {}").format(sql.Literal(interval_start))
            kinds = set()
            for i, expectation in enumerate(spec["expectations"]):
                if per_kind and kind_of(expectation) in kinds:
                    continue
                kinds.add(kind_of(expectation))
                table = f"{asset['table']}__{s}_{i}"
                target = sql.Identifier(MUTATIONS_SCHEMA, table)
                conn.execute(sql.SQL("create table {} as select * from {}{}").format(target, source, where))
                for statement in break_table(conn, table, expectation, custom):
                    conn.execute(statement)
                mutated.append(
                    {
                        "name": f"{spec['name']}#{i}",
                        "meta": {"asset": {**asset, "schema": MUTATIONS_SCHEMA, "table": table}},
                        "expectations": [expectation],
                    }
                )
    return mutated
