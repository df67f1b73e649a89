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
from urllib.parse import parse_qsl, unquote, urlsplit

from frictionflow.settings import DBT_PROJECT_DIR, PROJECT_ROOT, Settings, contact_center_token
from frictionflow.sources import source_configs

DAG_ID = "frictionflow_nightly"
WAREHOUSE_CONN_ID = "warehouse"
LANDING_CONN_ID = "landing"
CONTACT_CENTER_CONN_ID = "contact_center_api"
# Alert channels (frictionflow.alerts): each is used when its connection exists.
ALERT_WEBHOOK_CONN_ID = "frictionflow_alerts_webhook"
ALERT_SMTP_CONN_ID = "frictionflow_alerts_smtp"


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


def http_connection(url: str, token: str) -> dict:
    """An Airflow http connection (JSON form): scheme, host, port, base path; the bearer token as password."""
    parts = urlsplit(url)
    conn = {"conn_type": "http", "schema": parts.scheme or "http", "host": parts.hostname or "127.0.0.1"}
    if parts.port:
        conn["port"] = parts.port
    conn["password"] = token
    if parts.path.strip("/"):
        conn["extra"] = {"base_path": parts.path.rstrip("/")}
    return conn


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
        # URL from FRICTIONFLOW_CCE_URL, token from FRICTIONFLOW_CCE_TOKEN (or generated into the local home).
        f"AIRFLOW_CONN_{CONTACT_CENTER_CONN_ID.upper()}": json.dumps(
            http_connection(settings.contact_center_url, contact_center_token(settings))
        ),
        **_dbt_environment(settings, filler),
        **_alert_connections(),
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


def _alert_connections() -> dict[str, str]:
    """Alert channels from the environment: FRICTIONFLOW_ALERT_WEBHOOK_URL, FRICTIONFLOW_ALERT_SMTP_URL.

    The SMTP URL names the on-call addresses in its query: smtp://host:25?to=oncall@example.com&from=etl@example.com
    """
    connections = {}
    webhook = os.environ.get("FRICTIONFLOW_ALERT_WEBHOOK_URL")
    if webhook:
        connections[f"AIRFLOW_CONN_{ALERT_WEBHOOK_CONN_ID.upper()}"] = json.dumps(
            {"conn_type": "http", "host": webhook}
        )
    smtp = os.environ.get("FRICTIONFLOW_ALERT_SMTP_URL")
    if smtp:
        parts = urlsplit(smtp)
        query = parse_qsl(parts.query)
        to = [v for k, v in query if k == "to"]
        sender = next((v for k, v in query if k == "from"), "frictionflow@localhost")
        connections[f"AIRFLOW_CONN_{ALERT_SMTP_CONN_ID.upper()}"] = json.dumps(
            {
                "conn_type": "smtp",
                "host": parts.hostname,
                "port": parts.port or 25,
                "login": unquote(parts.username or ""),
                "password": unquote(parts.password or ""),
                "extra": {"to": to, "from_email": sender, "disable_ssl": parts.scheme != "smtps", "disable_tls": True},
            }
        )
    return connections


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
    """Migrate the metadata database and create (or resize) every source's pool; idempotent."""
    env = airflow_environment(settings)
    settings.airflow_home.mkdir(parents=True, exist_ok=True)
    airflow(["db", "migrate"], env, check=True, capture_output=True)
    # One `pools import` for all of them: every `airflow` command costs seconds of start-up.
    pools_file = settings.airflow_home / "pools.json"
    pools_file.write_text(
        json.dumps({name: {"slots": slots, "description": text} for name, (slots, text) in pools().items()}, indent=2)
    )
    airflow(["pools", "import", str(pools_file)], env, check=True, capture_output=True)
    return env
