"""`make bench-identity`: identity resolution over N synthetic identifier rows, timed model by model.

The rows are synthesised straight into `intermediate.int_identity__identifiers` of a throwaway database
(not through the sandbox and the pipeline: the point is the resolution's SQL at scale). Each synthetic
person has a CRM contact (id, email, phone), an ERP customer (number, email, phone), a golden record
(golden_id, both keys, the email), a device that logged in, a device that never did and a contact-centre
interaction (email, phone): 15 identifier rows, 10 distinct identifiers in 2 components. Every 1,000th
person has a second, unmerged golden record holding its ERP key (a duplicate the graph must merge), and
every 500th gave the shop's own phone number to the ERP (a shared identifier the guard must exclude).

Then the project's own identity models run with dbt on it (`int_identity__shared_identifiers`,
`int_identity__edges`, `int_identity__components` with the connected-components function, and the key
history: a first night, then a second night on the same graph, the incremental path). The run checks the
component count, and reports seconds per model and rows per second into its section of docs/benchmarks.md.
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import psycopg

from frictionflow.bench_load import write_section
from frictionflow.settings import DBT_PROJECT_DIR, PROJECT_ROOT, Settings, dbt_profile_env

SECTION = "## Identity resolution in PostgreSQL: {rows} identifier rows"  # one section per size measured
RESULTS_FILE = PROJECT_ROOT / "docs" / "benchmarks.md"
ROWS_PER_PERSON = 15
RESOLUTION_MODELS = ("int_identity__shared_identifiers", "int_identity__edges", "int_identity__components")
HISTORY_MODEL = "int_identity__customer_key_history"

SYNTHESISE = """
create table intermediate.int_identity__identifiers as
select
    md5(rows.source_system || '|' || rows.source_record_key) as record_id,
    md5(rows.identifier_type || '|' || rows.identifier_value) as identifier_id,
    rows.source_system,
    rows.source_record_key,
    rows.identifier_type,
    rows.identifier_value,
    timestamptz '2024-01-01 00:00:00+00' + make_interval(secs => p.i) as first_seen_at,
    timestamptz '2026-11-01 00:00:00+00' as last_seen_at
from generate_series(1, %(persons)s) as p (i)
cross join lateral (
    select
        'p' || p.i || '@example.com' as email,
        '+447' || lpad(cast(p.i as text), 9, '0') as phone,
        case when p.i %% 500 = 0 then '+441130000000' else '+447' || lpad(cast(p.i as text), 9, '0') end
            as erp_phone,
        case when p.i %% 1000 = 0 then 'GD' || p.i end as duplicate_golden
) as person
cross join lateral (
    values
    ('crm', 'C' || p.i, 'crm_contact_id', 'C' || p.i),
    ('crm', 'C' || p.i, 'email', person.email),
    ('crm', 'C' || p.i, 'phone', person.phone),
    ('erp', 'E' || p.i, 'erp_customer_no', 'E' || p.i),
    ('erp', 'E' || p.i, 'email', person.email),
    ('erp', 'E' || p.i, 'phone', person.erp_phone),
    ('mdm', 'G' || p.i, 'golden_id', 'G' || p.i),
    ('mdm', 'G' || p.i, 'crm_contact_id', 'C' || p.i),
    ('mdm', coalesce(person.duplicate_golden, 'G' || p.i), 'erp_customer_no', 'E' || p.i),
    ('mdm', coalesce(person.duplicate_golden, 'G' || p.i), 'golden_id', coalesce(person.duplicate_golden, 'G' || p.i)),
    ('web_analytics', 'A' || p.i, 'anonymous_id', 'A' || p.i),
    ('web_analytics', 'A' || p.i, 'crm_contact_id', 'C' || p.i),
    ('web_analytics', 'B' || p.i, 'anonymous_id', 'B' || p.i),
    ('contact_center', 'I' || p.i, 'email', person.email),
    ('contact_center', 'I' || p.i, 'phone', person.phone)
) as rows (source_system, source_record_key, identifier_type, identifier_value)
"""

NIGHT = """
create table intermediate.int_identity__night as
select
    cast(%(horizon)s as timestamptz) as data_horizon_at,
    cast(%(business_date)s as date) as business_date,
    cast(%(start)s as timestamptz) as data_interval_start_at
"""


def _dbt_run(dsn: str, models: tuple[str, ...], target: Path) -> dict[str, float]:
    """Run the models with dbt (in-process); seconds per model."""
    from dbt.cli.main import dbtRunner

    with dbt_profile_env(dsn):
        args = ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
        args += ["--target-path", str(target), "--log-path", str(target / "logs"), "--quiet", "--threads", "1"]
        result = dbtRunner().invoke(["run", "--select", *models, *args])
        if not result.success:
            raise RuntimeError(f"dbt run failed: {result.exception or [r.message for r in result.result or []]}")
        return {r.node.name: float(r.execution_time) for r in result.result}


def run(settings: Settings, rows: int = 1_000_000, log: Callable[[str], None] = print) -> str:
    """Synthesise `rows` identifier rows in a throwaway database, resolve them, return the report section."""
    from frictionflow.warehouse import embedded
    from frictionflow.warehouse.bootstrap import drop_database, ensure_database

    embedded.start(settings)
    persons = max(1, rows // ROWS_PER_PERSON)
    database = f"ff_bench_identity_{os.getpid()}"
    drop_database(settings.maintenance_dsn, database)
    ensure_database(settings.maintenance_dsn, database)
    dsn = settings.database_dsn(database)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            server = conn.execute("show server_version").fetchone()[0].split()[0]
            conn.execute("create schema intermediate")
            log(f"bench-identity: synthesising {persons * ROWS_PER_PERSON:,} identifier rows ({persons:,} persons) ...")
            started = time.perf_counter()
            conn.execute(SYNTHESISE, {"persons": persons})
            conn.execute("analyze intermediate.int_identity__identifiers")
            synthesis = time.perf_counter() - started
            (identifier_rows,) = conn.execute("select count(*) from intermediate.int_identity__identifiers").fetchone()
            conn.execute(
                NIGHT,
                {"horizon": "2026-11-02 00:00:00+00", "business_date": "2026-11-01", "start": "2026-11-01 00:00:00+00"},
            )
        with tempfile.TemporaryDirectory(prefix="ff_bench_identity_") as target:
            log("bench-identity: resolving (shared identifiers, edges, connected components) ...")
            seconds = _dbt_run(dsn, RESOLUTION_MODELS, Path(target))
            log("bench-identity: stable keys, first night ...")
            first_night = _dbt_run(dsn, (HISTORY_MODEL,), Path(target))[HISTORY_MODEL]
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("drop table intermediate.int_identity__night")
                conn.execute(
                    NIGHT,
                    {
                        "horizon": "2026-11-03 00:00:00+00",
                        "business_date": "2026-11-02",
                        "start": "2026-11-02 00:00:00+00",
                    },
                )
            log("bench-identity: stable keys, second night (incremental) ...")
            second_night = _dbt_run(dsn, (HISTORY_MODEL,), Path(target))[HISTORY_MODEL]
        with psycopg.connect(dsn) as conn:
            components, identifiers = conn.execute(
                "select count(distinct component_id), count(*) from intermediate.int_identity__components"
            ).fetchone()
            (excluded,) = conn.execute("select count(*) from intermediate.int_identity__shared_identifiers").fetchone()
            (keys,) = conn.execute(
                "select count(distinct customer_key) from intermediate.int_identity__customer_key_history "
                "where is_current"
            ).fetchone()
    finally:
        drop_database(settings.maintenance_dsn, database)
    expected = 2 * persons  # a person's records in one component, its never-logged-in device alone
    if components != expected or keys != expected:
        raise RuntimeError(f"bench-identity: {components:,} components, {keys:,} keys; expected {expected:,}")
    resolution = sum(seconds.values())
    log(f"bench-identity: {identifier_rows:,} rows resolved in {resolution:.1f} s")
    return report(
        identifier_rows, identifiers, components, excluded, synthesis, seconds, first_night, second_night, server
    )


def report(
    rows: int,
    identifiers: int,
    components: int,
    excluded: int,
    synthesis: float,
    seconds: dict[str, float],
    first_night: float,
    second_night: float,
    server: str,
) -> str:
    resolution = sum(seconds.values())
    lines = [
        SECTION.format(rows=f"{rows:,}"),
        "",
        f"Measured {datetime.now():%Y-%m-%d} by `python -m frictionflow bench-identity --rows {rows}` on this "
        f"machine ({os.cpu_count()} cores, Python {platform.python_version()}, PostgreSQL {server}, the project's "
        "embedded warehouse, a throwaway database): synthetic identifier rows written straight into "
        "`int_identity__identifiers`, then the project's identity models run by dbt, one thread. "
        f"{rows:,} identifier rows, {identifiers:,} distinct usable identifiers, {components:,} customers, "
        f"{excluded:,} shared identifier(s) excluded. Synthesis (not counted): {synthesis:.1f} s.",
        "",
        "| step | seconds | identifier rows/s |",
        "|---|---|---|",
    ]
    for name in RESOLUTION_MODELS:
        lines.append(f"| `{name}` | {seconds[name]:.1f} | {rows / seconds[name]:,.0f} |")
    lines += [
        f"| **resolution** (guards, edges, connected components) | **{resolution:.1f}** | "
        f"**{rows / resolution:,.0f}** |",
        f"| `{HISTORY_MODEL}`, first night (every key new) | {first_night:.1f} | {rows / first_night:,.0f} |",
        f"| `{HISTORY_MODEL}`, second night (incremental, keys kept) | {second_night:.1f} | "
        f"{rows / second_night:,.0f} |",
        "",
        "Anchor: an open-source resolver reported 10M rows in 175 s on DuckDB (about 57,000 rows/s). Connected "
        "components run inside PostgreSQL as label propagation with hooking and pointer jumping (a plpgsql "
        "function over temporary tables), not a recursive CTE.",
    ]
    return "\n".join(lines)


def write(text: str, path: Path = RESULTS_FILE) -> None:
    write_section(text, path)
