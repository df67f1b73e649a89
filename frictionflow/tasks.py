"""Task bodies of the nightly DAG: resolve Airflow connections, then call the package's plain functions.

Imported inside tasks only (never at DAG parse time), so parsing stays fast and I/O-free.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from frictionflow import nightly
from frictionflow.airflow_local import LANDING_CONN_ID, WAREHOUSE_CONN_ID
from frictionflow.settings import load_settings, pseudonymisation_key
from frictionflow.sources import source_configs

log = logging.getLogger(__name__)


def connection_dsn(conn_id: str) -> str:
    from airflow.sdk import Connection

    conn = Connection.get(conn_id)
    auth = quote(conn.login or "", safe="")
    if conn.password:
        auth += ":" + quote(conn.password, safe="")
    return f"postgresql://{auth}@{conn.host}:{conn.port or 5432}/{conn.schema}"


def landing_dir() -> Path:
    from airflow.sdk import Connection

    return Path(Connection.get(LANDING_CONN_ID).extra_dejson["path"])


def prepare_warehouse() -> None:
    from frictionflow.warehouse.bootstrap import bootstrap_warehouse

    bootstrap_warehouse(connection_dsn(WAREHOUSE_CONN_ID), pseudonymisation_key(load_settings()))


def pull(system: str, entity: str, interval_start: datetime, interval_end: datetime) -> dict:
    source = source_configs()[system]
    loaded_at = datetime.now(UTC)
    if source.extractor == "sql_incremental":
        entry = nightly.pull_sql_incremental(
            connection_dsn(WAREHOUSE_CONN_ID),
            connection_dsn(source.connection),
            source,
            entity,
            interval_start,
            interval_end,
            loaded_at,
        )
    elif source.extractor == "hourly_files":
        entry, missing = nightly.pull_hourly_files(
            connection_dsn(WAREHOUSE_CONN_ID), landing_dir(), source, entity, interval_start, interval_end, loaded_at
        )
        if missing:
            log.warning("%s: %d hourly file(s) missing, recorded as incidents: %s", system, len(missing), missing)
    else:
        raise ValueError(f"{system}: unknown extractor {source.extractor!r} in sources.yml")
    log.info("ledger %s", json.dumps(asdict(entry)))
    if entry.quarantined:
        log.warning(
            "%s: %d record(s) quarantined; see meta.quarantine where batch_id = %r",
            system,
            entry.quarantined,
            entry.batch_id,
        )
    return asdict(entry)


def reconcile(interval_start: datetime) -> list[dict]:
    expected = [
        nightly.batch_id(cfg, entity, interval_start) for cfg in source_configs().values() for entity in cfg.entities
    ]
    ledger = nightly.reconcile(connection_dsn(WAREHOUSE_CONN_ID), interval_start, expected)
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

    counts = publish_audit(connection_dsn(WAREHOUSE_CONN_ID), run_id, interval_start, interval_end)
    log.info("published %s", counts)
    return counts
