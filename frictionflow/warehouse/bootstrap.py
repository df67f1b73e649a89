"""Create (idempotently) everything the pipeline expects in the warehouse before a night runs.

Schemas, raw tables from the contracts, the pipeline's own bookkeeping tables, the pseudonymisation
function and the read-only BI role. Safe to run at the start of every night.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from frictionflow.contracts import RAW_SCHEMA, all_systems, load_contract

BI_ROLE = "frictionflow_bi"
# dbt's target schemas (dbt_project.yml). Created here, before the dbt tasks: parallel tasks each running
# `create schema if not exists` race in PostgreSQL (duplicate key on pg_namespace) on a fresh warehouse.
DBT_SCHEMAS = ("analytics", "staging", "intermediate", "audit")
PUBLISHED_SCHEMA = "published"

META_DDL = """
create schema if not exists meta;
create table if not exists meta.load_ledger (
    batch_id text not null,
    source_system text not null,
    entity text not null,
    data_interval_start timestamptz not null,
    data_interval_end timestamptz not null,
    source_locations bigint not null,
    received bigint not null,
    loaded bigint not null,
    quarantined bigint not null,
    duplicates_removed bigint not null,
    loaded_at timestamptz not null default clock_timestamp(),
    primary key (batch_id),
    constraint ledger_balances check (received = loaded + quarantined + duplicates_removed)
);
create table if not exists meta.quarantine (
    source_system text not null,
    entity text not null,
    batch_id text not null,
    source_location text not null,
    record_number bigint not null,
    reason text not null,
    raw_record text,
    quarantined_at timestamptz not null default clock_timestamp(),
    data_interval_start timestamptz not null
);
create index if not exists quarantine_batch on meta.quarantine (batch_id);
create table if not exists meta.watermarks (
    source_system text not null,
    entity text not null,
    data_interval_start timestamptz not null,
    data_interval_end timestamptz not null,
    lower_bound timestamptz,
    upper_bound timestamptz not null,
    max_watermark timestamptz,
    batch_id text not null,
    primary key (source_system, entity, data_interval_start)
);
create table if not exists meta.delivery_incidents (
    source_system text not null,
    entity text not null,
    data_interval_start timestamptz not null,
    incident text not null,
    detail text not null,
    recorded_at timestamptz not null default clock_timestamp(),
    primary key (source_system, entity, data_interval_start, incident, detail)
);
-- Which delivered file each night loaded, at which revision and why: the delivery state of the file sources
-- (ERP revisions, logistics parts), so a re-delivery is reloaded once and a part is never loaded twice.
create table if not exists meta.deliveries (
    source_system text not null,
    entity text not null,
    business_date date not null,
    location text not null,
    revision integer not null default 0,
    sha256 text,
    batch_id text not null,
    cause text not null,
    data_interval_start timestamptz not null,
    loaded_at timestamptz not null,
    primary key (source_system, entity, location, revision)
);
create index if not exists deliveries_night on meta.deliveries (data_interval_start);
create table if not exists meta.gate_results (
    run_id text not null,
    data_interval_start timestamptz not null,
    suite text not null,
    data_asset text not null,
    expectation_type text not null,
    column_name text,
    kwargs jsonb not null,
    success boolean not null,
    observed jsonb,
    validated_at timestamptz not null default clock_timestamp()
);
create index if not exists gate_results_run on meta.gate_results (run_id);
create table if not exists meta.publish_log (
    version bigint generated always as identity primary key,
    run_id text not null,
    data_interval_start timestamptz not null,
    data_interval_end timestamptz not null,
    row_counts jsonb not null,
    published_at timestamptz not null default clock_timestamp()
);
-- Marketing sends to addresses whose marketing_email consent was withdrawn (frictionflow.compliance).
create table if not exists meta.consent_breaches (
    event_id text not null,
    campaign_id text not null,
    sent_at timestamptz not null,
    consent_id text not null,
    contact_id text not null,
    withdrawn_at timestamptz not null,
    batch_id text not null,
    data_interval_start timestamptz not null,
    primary key (event_id)
);
-- A published number that changed for a period already published: what, old, new and why.
create table if not exists meta.restatements (
    version bigint not null references meta.publish_log (version),
    run_id text not null,
    data_interval_start timestamptz not null,
    metric text not null,
    measure text not null,
    period date not null,
    dimensions jsonb not null,
    old_value numeric,
    new_value numeric,
    cause text not null check (cause in ('late_data', 'redelivery', 'identity_merge')),
    cause_detail text not null,
    recorded_at timestamptz not null default clock_timestamp()
);
create index if not exists restatements_period on meta.restatements (metric, period);
-- What each night's erasure did (frictionflow.erasure): rows scrubbed per request and table, and the run.
create table if not exists meta.erasure_log (
    request_id text not null,
    table_name text not null,
    data_interval_start timestamptz not null,
    rows_scrubbed bigint not null,
    run_id text not null,
    primary key (request_id, table_name, data_interval_start)
);
"""

RESTRICTED_DDL = """
create schema if not exists restricted;
create table if not exists restricted.pseudonymisation_key (
    id boolean primary key default true check (id),
    key text not null
);
-- Keyed SHA-256: the key lives in this restricted table, never in model SQL or logs.
create or replace function restricted.pseudonymise(value text) returns text
language sql stable parallel safe
as $$
    select encode(sha256(convert_to((select key from restricted.pseudonymisation_key) || '|' || value, 'UTF8')), 'hex')
$$;
-- Identifiers of erased customers (frictionflow.erasure), kept so that rows delivered again or late are
-- scrubbed too: keys as they are, emails and phones only as pseudonymise('email:' / 'phone:' || normalised).
create table if not exists restricted.erased_identifiers (
    request_id text not null,
    identifier_type text not null check (identifier_type in (
        'crm_contact_id', 'erp_customer_no', 'mdm_golden_id', 'anonymous_id', 'email_hash', 'phone_hash'
    )),
    identifier text not null,
    found_in text not null,
    data_interval_start timestamptz not null,
    primary key (request_id, identifier_type, identifier)
);
create index if not exists erased_identifiers_identifier on restricted.erased_identifiers (identifier_type, identifier);
"""


def ensure_database(maintenance_dsn: str, database: str) -> None:
    with psycopg.connect(maintenance_dsn, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (database,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(database)))


def drop_database(maintenance_dsn: str, database: str) -> None:
    with psycopg.connect(maintenance_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(database)))


def bootstrap_warehouse(dsn: str, pseudonymisation_key: str) -> None:
    with psycopg.connect(dsn) as conn:
        # Serialise concurrent bootstraps (parallel tasks of one night all call this).
        conn.execute("select pg_advisory_xact_lock(hashtext('frictionflow.bootstrap'))")
        conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(RAW_SCHEMA)))
        for system in all_systems():
            for entity in load_contract(system).entities.values():
                conn.execute(entity.create_raw_table_sql())
                for statement in entity.add_missing_metadata_sql():
                    conn.execute(statement)
                conn.execute(
                    sql.SQL("create index if not exists {} on {} (_batch_id)").format(
                        sql.Identifier(f"{entity.raw_table}__batch"), sql.SQL(entity.qualified_raw_table)
                    )
                )
        for schema in DBT_SCHEMAS:
            conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
        conn.execute(META_DDL)
        conn.execute(RESTRICTED_DDL)
        conn.execute(
            "insert into restricted.pseudonymisation_key (id, key) values (true, %s) "
            "on conflict (id) do update set key = excluded.key "
            "where restricted.pseudonymisation_key.key <> excluded.key",
            (pseudonymisation_key,),
        )
        _ensure_bi_role(conn)


def _ensure_bi_role(conn: psycopg.Connection) -> None:
    """The BI role reads `published` and nothing else; grants on it are renewed at each publish."""
    if not conn.execute("select 1 from pg_roles where rolname = %s", (BI_ROLE,)).fetchone():
        conn.execute(sql.SQL("create role {} login").format(sql.Identifier(BI_ROLE)))
    database = conn.execute("select current_database()").fetchone()[0]
    conn.execute(
        sql.SQL("grant connect on database {} to {}").format(sql.Identifier(database), sql.Identifier(BI_ROLE))
    )
    conn.execute(sql.SQL("revoke all on schema public from {}").format(sql.Identifier(BI_ROLE)))
    # Personal data (raw, staging, intermediate, the restricted key and erasure list) is the pipeline's only:
    # nothing reaches it through PUBLIC, whatever roles are added later. Functions are executable by PUBLIC
    # by default: the pseudonymisation function is not (a role that could call it could test guesses).
    for schema in (RAW_SCHEMA, "meta", "restricted", *DBT_SCHEMAS):
        conn.execute(sql.SQL("revoke all on schema {} from public").format(sql.Identifier(schema)))
    conn.execute("revoke execute on all functions in schema restricted from public")
