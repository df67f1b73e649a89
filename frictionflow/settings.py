"""Where things live, read from the environment once.

With no configuration the project runs against an embedded PostgreSQL server in `.local/`.
`WAREHOUSE_DSN` (a libpq URL) points everything at an external server instead; the sandbox's
source databases then live on that same server, named after the warehouse database.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
# Compiled by `dbt parse` (make): Cosmos renders the DAG from it; publish reads metric metadata from it.
DBT_MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
CONTRACTS_DIR = Path(__file__).resolve().parent / "contracts"

EMBEDDED_DEFAULT_PORT = 54329
# The sandbox contact-centre API's local address when FRICTIONFLOW_CCE_URL does not name the real one.
CONTACT_CENTER_DEFAULT_PORT = 54380
DEFAULT_WAREHOUSE_DB = "frictionflow"


@dataclass(frozen=True)
class Settings:
    home: Path
    warehouse_dsn: str
    embedded: bool
    landing_dir: Path
    ground_truth_dir: Path
    reports_dir: Path
    airflow_home: Path
    # Base URL of the contact-centre API (FRICTIONFLOW_CCE_URL); its token: contact_center_token().
    contact_center_url: str = f"http://127.0.0.1:{CONTACT_CENTER_DEFAULT_PORT}"

    @property
    def pgdata_dir(self) -> Path:
        return self.home / "pgdata"

    @property
    def warehouse_db(self) -> str:
        return urlsplit(self.warehouse_dsn).path.lstrip("/") or DEFAULT_WAREHOUSE_DB

    def database_dsn(self, database: str) -> str:
        """The same server and credentials as the warehouse, another database."""
        parts = urlsplit(self.warehouse_dsn)
        return urlunsplit(parts._replace(path="/" + database))

    @property
    def crm_source_dsn(self) -> str:
        """The sandbox CRM: its own database on the warehouse's server, read through a read-only role."""
        parts = urlsplit(self.database_dsn(self.warehouse_db + "_crm"))
        host = parts.netloc.rsplit("@", 1)[-1]
        return urlunsplit(parts._replace(netloc=f"crm_reader@{host}"))

    @property
    def crm_admin_dsn(self) -> str:
        """The sandbox's own write access to its CRM database (the company's side, not the pipeline's)."""
        return self.database_dsn(self.warehouse_db + "_crm")

    @property
    def maintenance_dsn(self) -> str:
        return self.database_dsn("postgres")


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    home = Path(env.get("FRICTIONFLOW_HOME", PROJECT_ROOT / ".local")).resolve()
    external = env.get("WAREHOUSE_DSN", "").strip()
    if external:
        dsn, embedded = external, False
    else:
        port = int(env.get("FRICTIONFLOW_EMBEDDED_PORT", EMBEDDED_DEFAULT_PORT))
        db = env.get("FRICTIONFLOW_WAREHOUSE_DB", DEFAULT_WAREHOUSE_DB)
        dsn, embedded = f"postgresql://postgres@127.0.0.1:{port}/{db}", True
    return Settings(
        home=home,
        warehouse_dsn=dsn,
        embedded=embedded,
        landing_dir=Path(env.get("FRICTIONFLOW_LANDING_DIR", home / "landing")).resolve(),
        ground_truth_dir=Path(env.get("FRICTIONFLOW_GROUND_TRUTH_DIR", home / "ground_truth")).resolve(),
        reports_dir=Path(env.get("FRICTIONFLOW_REPORTS_DIR", home / "reports")).resolve(),
        airflow_home=Path(env.get("FRICTIONFLOW_AIRFLOW_HOME", home / "airflow")).resolve(),
        contact_center_url=env.get("FRICTIONFLOW_CCE_URL", "").strip()
        or f"http://127.0.0.1:{CONTACT_CENTER_DEFAULT_PORT}",
    )


def pseudonymisation_key(settings: Settings) -> str:
    """The secret behind every published pseudonym.

    Taken from FRICTIONFLOW_PSEUDONYMISATION_KEY; a local install without one gets a random key,
    kept in the git-ignored `.local/` so that pseudonyms stay stable across nights.
    """
    from_env = os.environ.get("FRICTIONFLOW_PSEUDONYMISATION_KEY", "").strip()
    if from_env:
        return from_env
    key_file = settings.home / "pseudonymisation.key"
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def contact_center_token(settings: Settings) -> str:
    """The bearer token for the contact-centre API.

    Taken from FRICTIONFLOW_CCE_TOKEN; a local install without one gets a random token, kept in the
    git-ignored `.local/` and shared by the pipeline's connection and the sandbox API that checks it.
    """
    from_env = os.environ.get("FRICTIONFLOW_CCE_TOKEN", "").strip()
    if from_env:
        return from_env
    token_file = settings.home / "contact_center.token"
    if not token_file.exists():
        token_file.parent.mkdir(parents=True, exist_ok=True)
        token_file.write_text(secrets.token_urlsafe(32))
        token_file.chmod(0o600)
    return token_file.read_text().strip()


@contextmanager
def dbt_profile_env(dsn: str) -> Iterator[None]:
    """dbt_project/profiles.yml's FRICTIONFLOW_DBT_* variables pointed at `dsn` for an in-process dbtRunner
    (benchmarks, tests); the previous values come back afterwards."""
    parts = urlsplit(dsn)
    env = {
        "FRICTIONFLOW_DBT_HOST": parts.hostname or "127.0.0.1",
        "FRICTIONFLOW_DBT_PORT": str(parts.port or 5432),
        "FRICTIONFLOW_DBT_USER": parts.username or "postgres",
        "FRICTIONFLOW_DBT_PASSWORD": parts.password or "",
        "FRICTIONFLOW_DBT_DBNAME": parts.path.lstrip("/"),
    }
    with environment(env):
        yield


def run_dbt(dsn: str, target: Path, *command: str) -> None:
    """`dbt <command>` on the project against `dsn` in a subprocess (its own process, as a night's task has),
    artifacts and logs in `target`; raises with dbt's output when it fails."""
    dbt = str(Path(sys.executable).parent / "dbt")
    args = [dbt, *command, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    args += ["--target-path", str(target), "--log-path", str(target / "logs"), "--quiet"]
    with dbt_profile_env(dsn):
        env = dict(os.environ)
    result = subprocess.run(args, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"dbt {' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """`values` set in os.environ for the block; the previous values (or their absence) come back after."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
