"""The dbt build on the hand-made raw fixture, shared by the dbt tests and the published-gate tests."""

from __future__ import annotations

import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from frictionflow.settings import dbt_profile_env
from tests.dbt import fixture_raw as fx

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"


@pytest.fixture(scope="session")
def built(tmp_path_factory, settings):
    """Database DSN after a successful `dbt build` on the fixture; the database is dropped afterwards."""
    from dbt.cli.main import dbtRunner

    server = settings.maintenance_dsn
    name = f"ff_dbt_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    database_dsn = urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
    target = tmp_path_factory.mktemp("dbt_target")
    try:
        with dbt_profile_env(database_dsn):
            fx.load_fixture(database_dsn)
            args = ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
            args += ["--target-path", str(target), "--log-path", str(target / "logs")]
            result = dbtRunner().invoke(["build", *args])
            failures = [
                f"{r.node.unique_id}: {r.status} {r.message}"
                for r in (result.result or [])
                if str(r.status) not in ("success", "pass")
            ]
            assert result.success, f"dbt build failed: {result.exception or failures}"
            yield {"dsn": database_dsn, "target": target}
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
