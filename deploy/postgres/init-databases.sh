#!/usr/bin/env bash
# Creates FrictionFlow's roles and databases on a new PostgreSQL data directory.
#
# Run by the postgres image's entrypoint from /docker-entrypoint-initdb.d, once, on an EMPTY data
# volume only (a volume that already holds a cluster is left alone: see docs/deployment.md).
# Passwords come from the container's environment; psql's :'var' quoting keeps them out of the SQL.
#
#   airflow          owns database `airflow` (Airflow metadata and the Celery result backend)
#   frictionflow     the pipeline: owns the warehouse `frictionflow` and the sandbox CRM `frictionflow_crm`
#   frictionflow_bi  read-only BI: may connect to the warehouse, nothing else; the pipeline grants it
#                    SELECT on schema `published` when it publishes
#   crm_reader       the CRM's read-only role for the pipeline, as the CRM contract describes it
set -euo pipefail

: "${AIRFLOW_DB_PASSWORD:?}" "${FRICTIONFLOW_DB_PASSWORD:?}" "${FRICTIONFLOW_BI_PASSWORD:?}" "${CRM_READER_PASSWORD:?}"
WAREHOUSE_DB="${FRICTIONFLOW_WAREHOUSE_DB:-frictionflow}"
CRM_DB="${WAREHOUSE_DB}_crm"   # frictionflow.settings names the sandbox CRM after the warehouse

psql_admin() {
    psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" "$@"
}

psql_admin --dbname "${POSTGRES_DB:-postgres}" \
    -v airflow_pw="$AIRFLOW_DB_PASSWORD" \
    -v pipeline_pw="$FRICTIONFLOW_DB_PASSWORD" \
    -v bi_pw="$FRICTIONFLOW_BI_PASSWORD" \
    -v crm_pw="$CRM_READER_PASSWORD" \
    -v crm_conn_limit="${CRM_READER_CONNECTION_LIMIT:-2}" \
    -v warehouse_db="$WAREHOUSE_DB" \
    -v crm_db="$CRM_DB" <<'SQL'
create role airflow login password :'airflow_pw';
create role frictionflow login password :'pipeline_pw';
create role frictionflow_bi login password :'bi_pw';
-- The CRM contract: a read-only role, at most 2 concurrent connections from the pipeline.
create role crm_reader login password :'crm_pw' connection limit :crm_conn_limit;
alter role frictionflow_bi set default_transaction_read_only = on;
alter role crm_reader set default_transaction_read_only = on;

create database airflow owner airflow encoding 'UTF8';
create database :"warehouse_db" owner frictionflow encoding 'UTF8';
create database :"crm_db" owner frictionflow encoding 'UTF8';

-- Every role connects only where it is let in.
revoke all on database airflow from public;
revoke all on database :"warehouse_db" from public;
revoke all on database :"crm_db" from public;
grant connect on database :"warehouse_db" to frictionflow_bi;
grant connect on database :"crm_db" to crm_reader;
SQL

# Inside the warehouse: BI sees nothing until the pipeline grants it schema `published`.
psql_admin --dbname "$WAREHOUSE_DB" <<'SQL'
revoke all on schema public from public;
alter schema public owner to frictionflow;
SQL

# Inside the sandbox CRM: schema `crm` belongs to the pipeline's side (the sandbox writes it as the
# owner); crm_reader may read every table it creates, now or later (the default privilege is for the
# whole database, so it outlives a sandbox that drops and recreates the schema; USAGE on a recreated
# schema is the sandbox's to grant).
psql_admin --dbname "$CRM_DB" <<'SQL'
revoke all on schema public from public;
alter schema public owner to frictionflow;
create schema if not exists crm authorization frictionflow;
grant usage on schema crm to crm_reader;
alter default privileges for role frictionflow grant select on tables to crm_reader;
SQL

echo "frictionflow init: roles airflow, frictionflow, frictionflow_bi, crm_reader;" \
     "databases airflow, $WAREHOUSE_DB, $CRM_DB"
