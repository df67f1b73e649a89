"""A sandbox company pulled night by night through the DAG's own task code (`frictionflow.tasks.pull`, with
Airflow connections as `AIRFLOW_CONN_*`), without Airflow: for the tests and benchmarks that need real
deliveries in a warehouse of their own."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from frictionflow.settings import Settings, environment
from frictionflow.sources import source_configs

LONDON = ZoneInfo("Europe/London")


def night_interval(night: date) -> tuple[datetime, datetime]:
    """The night's data interval: the business date in London, in UTC."""
    start = datetime.combine(night, time(0), LONDON).astimezone(UTC)
    return start, datetime.combine(night + timedelta(days=1), time(0), LONDON).astimezone(UTC)


def pull_night(night: date, only: set[tuple[str, str]] | None = None) -> dict[tuple[str, str], str]:
    """Pull every source entity (or `only` these) for the night; returns the failures, as the task would
    report them: (system, entity) -> error text. A delivery the contract lets fail (a late ERP set, a
    truncated snapshot) is the caller's to re-run."""
    from frictionflow import tasks

    start, end = night_interval(night)
    failures = {}
    for source in source_configs().values():
        for entity in source.entities:
            if only is not None and (source.system, entity) not in only:
                continue
            try:
                tasks.pull(source.system, entity, start, end)
            except Exception as exc:  # what fails the Airflow task: kept for the caller
                failures[(source.system, entity)] = f"{type(exc).__name__}: {exc}"
    return failures


def _airflow_postgres(dsn: str) -> str:
    p = urlsplit(dsn)
    return json.dumps(
        {"conn_type": "postgres", "host": p.hostname, "port": p.port, "login": p.username or "postgres",
         "password": p.password or "", "schema": p.path.lstrip("/")}
    )  # fmt: skip


@dataclass
class CompanyWorld:
    dsn: str  # the world's own warehouse
    sandbox: object  # frictionflow.sandbox.Sandbox
    work: Path  # landing/, ground_truth/, the API's store and log
    connections: dict[str, str]  # AIRFLOW_CONN_* for the warehouse, the CRM, the landing folder, the API
    api: object  # the contact-centre API serving this world

    @property
    def truth(self) -> Path:
        return self.work / "ground_truth"

    @contextmanager
    def connected(self) -> Iterator[None]:
        """The task code finds this world's warehouse and sources through Airflow's environment variables."""
        with environment(self.connections):
            yield


@contextmanager
def company_world(settings: Settings, work: Path, name: str, config) -> Iterator[CompanyWorld]:
    """Databases `ff_<name>` (warehouse) and `ff_<name>_crm` on the settings' server, the sandbox delivered
    through its first day, its contact-centre API started; all dropped and stopped afterwards."""
    from frictionflow.sandbox import Sandbox
    from frictionflow.sandbox.contact_center_api import start_api_server
    from frictionflow.warehouse.bootstrap import bootstrap_warehouse, drop_database, ensure_database

    warehouse_db, crm_db = f"ff_{name}", f"ff_{name}_crm"
    for db in (warehouse_db, crm_db):
        drop_database(settings.maintenance_dsn, db)
    ensure_database(settings.maintenance_dsn, warehouse_db)
    dsn = settings.database_dsn(warehouse_db)
    bootstrap_warehouse(dsn, secrets.token_urlsafe(16))  # keys and tokens: never literals
    sandbox = Sandbox(
        config,
        crm_admin_dsn=settings.database_dsn(crm_db),
        landing_dir=work / "landing",
        ground_truth_dir=work / "ground_truth",
        contact_center_dir=work / "contact_center_api",
    )
    sandbox.deliver_through(config.start_date)
    crm_parts = urlsplit(settings.database_dsn(crm_db))
    crm_reader = urlunsplit(crm_parts._replace(netloc="crm_reader@" + crm_parts.netloc.rsplit("@", 1)[-1]))
    token = secrets.token_urlsafe(16)
    api = start_api_server(work / "contact_center_api", token, log_file=work / "api.log")
    api_parts = urlsplit(api.base_url)
    connections = {
        "AIRFLOW_CONN_WAREHOUSE": _airflow_postgres(dsn),
        "AIRFLOW_CONN_CRM_SOURCE": _airflow_postgres(crm_reader),
        "AIRFLOW_CONN_LANDING": json.dumps({"conn_type": "fs", "extra": {"path": str(work / "landing")}}),
        "AIRFLOW_CONN_CONTACT_CENTER_API": json.dumps(
            {"conn_type": "http", "host": api_parts.hostname, "port": api_parts.port, "password": token}
        ),
    }
    try:
        yield CompanyWorld(dsn, sandbox, work, connections, api)
    finally:
        api.stop()
        for db in (warehouse_db, crm_db):
            drop_database(settings.maintenance_dsn, db)
