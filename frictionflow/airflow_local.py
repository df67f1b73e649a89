"""The local Airflow: its environment, connections and pools, all derived from settings.

Every source, the warehouse and the alert target reach the DAG as Airflow connections (here as
`AIRFLOW_CONN_*` environment variables; in production from a secrets backend). Nothing in a DAG or
task names a host, a path or a credential.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

from frictionflow.settings import DBT_PROJECT_DIR, PROJECT_ROOT, Settings
from frictionflow.sources import source_configs

DAG_ID = "frictionflow_nightly"
WAREHOUSE_CONN_ID = "warehouse"
LANDING_CONN_ID = "landing"
ALERTS_CONN_ID = "alerts"


def _local_secret(settings: Settings, name: str) -> str:
    path = settings.home / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(24))
        path.chmod(0o600)
    return path.read_text().strip()


def postgres_connection(dsn: str, fallback_password: str) -> dict:
    """An Airflow postgres connection (JSON form) for a libpq URL.

    Cosmos' profile mapping insists on a password; on a trust-auth server any value is accepted, so
    a DSN without one gets a generated local secret rather than a literal.
    """
    parts = urlsplit(dsn)
    return {
        "conn_type": "postgres",
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "login": unquote(parts.username or "postgres"),
        "password": unquote(parts.password) if parts.password else fallback_password,
        "schema": parts.path.lstrip("/"),
    }


def airflow_environment(settings: Settings) -> dict[str, str]:
    filler = _local_secret(settings, "connection.password")
    cores = os.cpu_count() or 2
    port = os.environ.get("FRICTIONFLOW_AIRFLOW_PORT", "8080")
    env = {
        "AIRFLOW_HOME": str(settings.airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        # Sized to the machine: the default 32 workers would thrash 2 cores.
        "AIRFLOW__CORE__PARALLELISM": str(max(2, cores * 2)),
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(max(2, cores * 2)),
        "AIRFLOW__SCHEDULER__PARSING_PROCESSES": "1",
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "60",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(settings.airflow_home / "passwords.json"),
        "AIRFLOW__API__PORT": port,
        # Task workers report to the API server: it must be the one this deployment listens on.
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://localhost:{port}/execution/",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "AIRFLOW__COSMOS__ENABLE_CACHE": "True",
        "AIRFLOW__COSMOS__CACHE_DIR": str(settings.home / "cosmos_cache"),
        # No usage telemetry leaves the machine (and no DNS lookups fail in closed networks).
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "DO_NOT_TRACK": "true",
        "SCARF_NO_ANALYTICS": "true",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "FRICTIONFLOW_HOME": str(settings.home),
        "FRICTIONFLOW_LANDING_DIR": str(settings.landing_dir),
        "FRICTIONFLOW_GROUND_TRUTH_DIR": str(settings.ground_truth_dir),
        "FRICTIONFLOW_REPORTS_DIR": str(settings.reports_dir),
        "FRICTIONFLOW_AIRFLOW_HOME": str(settings.airflow_home),
        # The sources, the warehouse and the alert target, as connections.
        f"AIRFLOW_CONN_{WAREHOUSE_CONN_ID.upper()}": json.dumps(postgres_connection(settings.warehouse_dsn, filler)),
        "AIRFLOW_CONN_CRM_SOURCE": json.dumps(postgres_connection(settings.crm_source_dsn, filler)),
        f"AIRFLOW_CONN_{LANDING_CONN_ID.upper()}": json.dumps(
            {"conn_type": "fs", "extra": {"path": str(settings.landing_dir)}}
        ),
        **_dbt_environment(settings, filler),
        # `airflow standalone` starts its components as `airflow ...` from PATH: make it this venv's.
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }
    passthrough = (
        "WAREHOUSE_DSN",
        "FRICTIONFLOW_WAREHOUSE_DB",
        "FRICTIONFLOW_EMBEDDED_PORT",
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE",
    )
    env.update({k: os.environ[k] for k in passthrough if os.environ.get(k)})
    return env


def _dbt_environment(settings: Settings, filler: str) -> dict[str, str]:
    """Plain `dbt` (outside Airflow) reads the same warehouse through dbt_project/profiles.yml."""
    conn = postgres_connection(settings.warehouse_dsn, filler)
    return {
        "FRICTIONFLOW_DBT_HOST": conn["host"],
        "FRICTIONFLOW_DBT_PORT": str(conn["port"]),
        "FRICTIONFLOW_DBT_USER": conn["login"],
        "FRICTIONFLOW_DBT_PASSWORD": conn["password"],
        "FRICTIONFLOW_DBT_DBNAME": conn["schema"],
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
    }


def pools() -> dict[str, tuple[int, str]]:
    """One pool per source, sized by what the source allows."""
    return {cfg.pool: (cfg.pool_slots, f"{cfg.system} extraction") for cfg in source_configs().values()}


def airflow(args: list[str], env: dict[str, str], **kwargs) -> subprocess.CompletedProcess:
    binary = Path(sys.executable).parent / "airflow"
    return subprocess.run([str(binary), *args], env={**os.environ, **env}, **kwargs)


def prepare_airflow(settings: Settings) -> dict[str, str]:
    """Migrate the metadata database and create the pools; idempotent."""
    env = airflow_environment(settings)
    settings.airflow_home.mkdir(parents=True, exist_ok=True)
    airflow(["db", "migrate"], env, check=True, capture_output=True)
    for name, (slots, description) in pools().items():
        airflow(["pools", "set", name, str(slots), description], env, check=True, capture_output=True)
    return env
