"""Helpers for tests that run whole nights: run the DAG, fingerprint the warehouse."""

from __future__ import annotations

import subprocess
from datetime import date, timedelta

import psycopg

from frictionflow.airflow_local import DAG_ID, airflow

# Wall-clock load time (raw `_loaded_at`, renamed `loaded_at` in staging) and the incremental models'
# watermarks (`last_loaded_at`, `attributed_at`): differ by design between runs.
VOLATILE_COLUMNS = {"_loaded_at", "loaded_at", "last_loaded_at", "attributed_at"}


def run_night(env: dict[str, str], night: date) -> subprocess.CompletedProcess:
    """`airflow dags test` for business date `night` (its data interval ends the next midnight)."""
    return airflow(
        ["dags", "test", DAG_ID, (night + timedelta(days=1)).isoformat()],
        env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def explain(result: subprocess.CompletedProcess) -> str:
    """Why a night failed: the failed tasks' errors first (the tail of `dags test` is mostly the list of
    tasks left unrunnable downstream), then the tails."""
    lines = result.stdout.splitlines()
    marks = [i for i, line in enumerate(lines) if "[error" in line or "Traceback" in line or "failed" in line.lower()]
    shown = sorted({j for i in marks[:40] for j in range(i, min(i + 12, len(lines)))})
    errors = "\n".join(lines[j][:1500] for j in shown)[-20000:]
    return (
        f"exit {result.returncode}\n--- errors and tracebacks ---\n{errors}"
        f"\n--- stdout (tail) ---\n{result.stdout[-3000:]}\n--- stderr (tail) ---\n{result.stderr[-3000:]}"
    )


def fingerprint(dsn: str, schemas: tuple[str, ...]) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent content hash of every table in `schemas`."""
    prints = {}
    with psycopg.connect(dsn) as conn:
        tables = conn.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema = any(%s) and table_type = 'BASE TABLE' order by 1, 2",
            (list(schemas),),
        ).fetchall()
        for schema, table in tables:
            columns = [
                r[0]
                for r in conn.execute(
                    "select column_name from information_schema.columns where table_schema = %s and table_name = %s "
                    "order by ordinal_position",
                    (schema, table),
                ).fetchall()
                if r[0] not in VOLATILE_COLUMNS
            ]
            col_list = ", ".join(f'"{c}"' for c in columns)
            prints[f"{schema}.{table}"] = conn.execute(
                f"select count(*), coalesce(md5(string_agg(r, chr(10) order by r)), '') "
                f'from (select ({col_list})::text as r from "{schema}"."{table}") t'
            ).fetchone()
    return prints
