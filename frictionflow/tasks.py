"""Task bodies of the nightly DAG: resolve Airflow connections, then call the package's plain functions.

Imported inside tasks only (never at DAG parse time), so parsing stays fast and I/O-free.
"""

from __future__ import annotations

import importlib
import json
import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from frictionflow import nightly
from frictionflow.airflow_local import LANDING_CONN_ID, WAREHOUSE_CONN_ID
from frictionflow.load import LedgerEntry
from frictionflow.settings import load_settings, pseudonymisation_key
from frictionflow.sources import SourceConfig, source_configs

log = logging.getLogger(__name__)


def connection_dsn(conn_id: str) -> str:
    from airflow.sdk import Connection

    conn = Connection.get(conn_id)
    auth = quote(conn.login or "", safe="")
    if conn.password:
        auth += ":" + quote(conn.password, safe="")
    return f"postgresql://{auth}@{conn.host}:{conn.port or 5432}/{conn.schema}"


def landing_dir(conn_id: str = LANDING_CONN_ID) -> Path:
    from airflow.sdk import Connection

    return Path(Connection.get(conn_id).extra_dejson["path"])


def http_endpoint(conn_id: str) -> tuple[str, str]:
    """Base URL and bearer token of an http connection (token in the password field)."""
    from airflow.sdk import Connection

    conn = Connection.get(conn_id)
    host = (conn.host or "").rstrip("/")
    if "://" in host:
        base = host
    else:
        base = f"{conn.schema or 'http'}://{host}" + (f":{conn.port}" if conn.port else "")
    return base + conn.extra_dejson.get("base_path", ""), conn.password or ""


def prepare_warehouse() -> None:
    from frictionflow.warehouse.bootstrap import bootstrap_warehouse

    bootstrap_warehouse(connection_dsn(WAREHOUSE_CONN_ID), pseudonymisation_key(load_settings()))


# One adapter per delivery kind (sources.yml `extractor`): resolve the source's connections, call the plain
# pull function, return the ledger entries of every batch loaded (more than one when ERP reloads a date).
# Extractor modules are imported inside the adapters: a night imports only what its sources use.
Pull = Callable[[SourceConfig, str, datetime, datetime, datetime], list[LedgerEntry]]


def _pull_sql_incremental(source: SourceConfig, entity: str, start: datetime, end: datetime, at: datetime):
    warehouse, crm = connection_dsn(WAREHOUSE_CONN_ID), connection_dsn(source.connection)
    return [nightly.pull_sql_incremental(warehouse, crm, source, entity, start, end, at)]


def _landing_pull(function: str, leftovers: str) -> Pull:
    """An adapter for a file source: the pull function (imported on first use) gets the landing folder.

    A pull returns a LedgerEntry, a list of them (ERP reloads), or (entry, left-overs) where the
    left-overs are files it could not load tonight (missing hours, parts still .tmp): logged as `leftovers`.
    """

    def adapter(source: SourceConfig, entity: str, start: datetime, end: datetime, at: datetime) -> list[LedgerEntry]:
        module, name = function.rsplit(".", 1)
        pull_function = getattr(importlib.import_module(module), name)
        result = pull_function(
            connection_dsn(WAREHOUSE_CONN_ID), landing_dir(source.connection), source, entity, start, end, at
        )
        if isinstance(result, tuple):
            result, left = result
            if left:
                log.warning("%s: %d %s: %s", source.system, len(left), leftovers, left)
        return result if isinstance(result, list) else [result]

    return adapter


def _pull_http_api(source: SourceConfig, entity: str, start: datetime, end: datetime, at: datetime):
    # frictionflow/extract/http_api.py is written by another engineer against this agreed signature:
    # pull_http_api(warehouse_dsn, base_url, token, source, entity_name, interval_start, interval_end, loaded_at)
    from frictionflow.extract.http_api import pull_http_api

    base_url, token = http_endpoint(source.connection)
    return [pull_http_api(connection_dsn(WAREHOUSE_CONN_ID), base_url, token, source, entity, start, end, at)]


PULLS: dict[str, Pull] = {
    "sql_incremental": _pull_sql_incremental,
    "hourly_files": _landing_pull(
        "frictionflow.nightly.pull_hourly_files", "hourly file(s) missing, recorded as incidents"
    ),
    "file_set": _landing_pull("frictionflow.extract.file_sets.pull_file_set", ""),
    "snapshot": _landing_pull("frictionflow.extract.snapshot.pull_snapshot", ""),
    "parquet_parts": _landing_pull(
        "frictionflow.extract.parquet_parts.pull_parquet_parts", "part(s) still .tmp, left for a later night"
    ),
    "daily_csv": _landing_pull("frictionflow.extract.daily_csv.pull_daily_csv", ""),
    "http_api": _pull_http_api,
}


def pull(system: str, entity: str, interval_start: datetime, interval_end: datetime) -> list[dict]:
    source = source_configs()[system]
    if source.extractor not in PULLS:
        raise ValueError(f"{system}: unknown extractor {source.extractor!r} in sources.yml (known: {sorted(PULLS)})")
    entries = PULLS[source.extractor](source, entity, interval_start, interval_end, datetime.now(UTC))
    for entry in entries:
        log.info("ledger %s", json.dumps(asdict(entry)))
        if entry.quarantined:
            log.warning(
                "%s: %d record(s) quarantined; see meta.quarantine where batch_id = %r",
                system,
                entry.quarantined,
                entry.batch_id,
            )
    return [asdict(entry) for entry in entries]


def reconcile(interval_start: datetime) -> list[dict]:
    warehouse = connection_dsn(WAREHOUSE_CONN_ID)
    ledger = nightly.reconcile(warehouse, interval_start, nightly.expected_batches(warehouse, interval_start))
    for row in ledger:
        log.info(
            "%-40s received %8d = loaded %8d + quarantined %6d + duplicates %6d",
            row["batch_id"],
            row["received"],
            row["loaded"],
            row["quarantined"],
            row["duplicates_removed"],
        )
    return ledger


def compliance_report(interval_start: datetime) -> int:
    from frictionflow.compliance import record_consent_breaches

    breaches = record_consent_breaches(connection_dsn(WAREHOUSE_CONN_ID), interval_start)
    if breaches:
        log.warning(
            "marketing: %d email(s) sent to addresses whose marketing_email consent was withdrawn; "
            "see meta.consent_breaches where data_interval_start = '%s'",
            breaches,
            interval_start.isoformat(),
        )
    return breaches


def erase_personal_data(run_id: str, interval_start: datetime) -> dict[str, dict[str, int]]:
    from frictionflow.erasure import erase_personal_data as erase

    scrubbed = erase(connection_dsn(WAREHOUSE_CONN_ID), run_id, interval_start)
    rows = sum(n for tables in scrubbed.values() for n in tables.values())
    log.info("erasure: %d row(s) scrubbed for %d request(s); see meta.erasure_log", rows, len(scrubbed))
    return scrubbed


def quality_gate(layer: str, run_id: str, interval_start: datetime) -> str:
    from frictionflow.quality.gate import enforce, run_gate

    settings = load_settings()
    gate = run_gate(
        connection_dsn(WAREHOUSE_CONN_ID),
        layer,
        run_id=run_id,
        interval_start=interval_start,
        gx_root=settings.home / "gx",
        # Published suites check tonight's audit tables: the gate stands between audit and published.
        schema_overrides={"published": "audit"},
    )
    log.info("%s", gate.summary())
    if gate.data_docs_index:
        log.info("Data Docs: %s", gate.data_docs_index)
    return enforce(gate)


def publish(run_id: str, interval_start: datetime, interval_end: datetime) -> dict[str, int]:
    from frictionflow.publish import publish as publish_audit
    from frictionflow.publish import restatement_specs
    from frictionflow.settings import DBT_MANIFEST

    counts = publish_audit(
        connection_dsn(WAREHOUSE_CONN_ID), run_id, interval_start, interval_end, restatement_specs(DBT_MANIFEST)
    )
    log.info("published %s", counts)
    return counts
