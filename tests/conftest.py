"""Shared fixtures: an isolated warehouse server per test session, real Airflow metadata in a temp folder.

Without WAREHOUSE_DSN the session starts its own embedded PostgreSQL (its own folder and port, so a
user's `make run` warehouse is never touched). With WAREHOUSE_DSN the same tests run against that
server, in databases named for this session, dropped afterwards.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from frictionflow.settings import Settings, load_settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_SAVED_ENV: dict[str, str | None] = {}
_SESSION_ENV: dict[str, str] = {}


def _configure_session() -> None:
    """Decide this session's server, home and secrets before any other test module is imported
    (this root conftest is imported first; sub-folder conftests read settings at import)."""
    _SESSION_ENV.update(_session_environment(Path(tempfile.mkdtemp(prefix="frictionflow_test_"))))
    _SAVED_ENV.update({k: os.environ.get(k) for k in _SESSION_ENV})
    os.environ.update(_SESSION_ENV)


def pytest_unconfigure(config):
    if _SESSION_ENV:
        from frictionflow.sandbox_service import stop_sandbox_api

        stop_sandbox_api(load_settings())
        shutil.rmtree(_SESSION_ENV["FRICTIONFLOW_HOME"], ignore_errors=True)
    for k, v in _SAVED_ENV.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def session_env() -> dict[str, str]:
    """Environment of this test session (also exported to subprocesses such as `airflow dags test`)."""
    return dict(_SESSION_ENV)


def _session_environment(home: Path) -> dict[str, str]:
    env = {
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "FRICTIONFLOW_HOME": str(home),
        "FRICTIONFLOW_PSEUDONYMISATION_KEY": "test-key-" + uuid.uuid4().hex,
        # The sandbox contact-centre API of this session (started by `prepare`, stopped at the end).
        "FRICTIONFLOW_CCE_URL": f"http://127.0.0.1:{_free_port()}",
        "FRICTIONFLOW_CCE_TOKEN": "test-token-" + uuid.uuid4().hex,
    }
    external = os.environ.get("WAREHOUSE_DSN", "").strip()
    if external:
        parts = urlsplit(external)
        env["WAREHOUSE_DSN"] = urlunsplit(parts._replace(path=f"/ff_test_{uuid.uuid4().hex[:8]}"))
    else:
        env["FRICTIONFLOW_EMBEDDED_PORT"] = str(_free_port())
        env["FRICTIONFLOW_WAREHOUSE_DB"] = "ff_test"
    return env


_configure_session()


@pytest.fixture(scope="session")
def settings(session_env) -> Settings:
    from frictionflow.warehouse import embedded
    from frictionflow.warehouse.bootstrap import drop_database

    s = load_settings()
    embedded.start(s)
    yield s
    if s.embedded:
        embedded.stop(s)
    else:
        for db in (s.warehouse_db, s.warehouse_db + "_crm"):
            drop_database(s.maintenance_dsn, db)


@pytest.fixture
def fresh_database(settings):
    """A new empty database on the session's server, bootstrapped; dropped after the test."""
    from frictionflow.warehouse.bootstrap import bootstrap_warehouse, drop_database, ensure_database

    name = f"ff_unit_{uuid.uuid4().hex[:8]}"
    ensure_database(settings.maintenance_dsn, name)
    dsn = settings.database_dsn(name)
    bootstrap_warehouse(dsn, secrets.token_urlsafe(16))
    yield dsn
    drop_database(settings.maintenance_dsn, name)


@pytest.fixture(scope="session")
def project_root() -> Path:
    return Path(__file__).resolve().parents[1]
