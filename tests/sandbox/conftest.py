"""Two sandboxes of the same config: one delivered night by night, one in one go, each in its own database."""

from __future__ import annotations

import gzip
import json
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from frictionflow.sandbox import Sandbox, SandboxConfig
from frictionflow.settings import load_settings

# The session's server (embedded, or WAREHOUSE_DSN's): decided by tests/conftest.py before this import.
SERVER = load_settings().database_dsn("")
READER = SERVER.replace(urlsplit(SERVER).netloc, "crm_reader@" + urlsplit(SERVER).netloc.rsplit("@", 1)[-1], 1)

CONFIG = SandboxConfig(seed=7, customers=1200, start_date=date(2026, 11, 1), end_date=date(2026, 11, 14))
TABLES = {"contact": "contact_id", "case": "case_id", "consent": "consent_id", "erasure_request": "request_id"}


@pytest.fixture(scope="session")
def databases(settings):
    """Unique database names for this test session; every one is dropped afterwards."""
    prefix = f"ffsb_{uuid.uuid4().hex[:10]}"
    created: list[str] = []

    def new(name: str) -> str:
        db = f"{prefix}_{name}"
        created.append(db)
        return db

    yield new
    with psycopg.connect(SERVER + "postgres", autocommit=True) as conn:
        for db in created:
            conn.execute(f'drop database if exists "{db}" with (force)')


def crm_rows(db: str, table: str, as_reader: bool = True) -> list[tuple]:
    key = TABLES[table]
    with psycopg.connect((READER if as_reader else SERVER) + db) as conn:
        return conn.execute(f'select * from crm."{table}" order by {key}').fetchall()


def crm_dicts(db: str, table: str) -> list[dict]:
    key = TABLES[table]
    with psycopg.connect(READER + db) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        return cur.execute(f'select * from crm."{table}" order by {key}').fetchall()


def web_lines(landing: Path) -> list[tuple[str, str]]:
    """(relative file path, line) for every delivered web line, in file order."""
    out = []
    for path in sorted((landing / "web_analytics").glob("*/*.jsonl.gz")):
        rel = str(path.relative_to(landing))
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            out += [(rel, line.rstrip("\n")) for line in fh]
    return out


@dataclass
class Delivered:
    sandbox: Sandbox
    db: str
    landing: Path
    truth: Path
    # night -> table -> {key: (system_modstamp, row)} as the pipeline would have seen it that morning
    nights: dict[date, dict[str, dict[str, tuple]]] = field(default_factory=dict)
    later_dirs_seen: list[str] = field(default_factory=list)
    reports: list = field(default_factory=list)

    def events(self) -> list[dict]:
        return [json.loads(line) for _, line in web_lines(self.landing)]


@pytest.fixture(scope="session")
def nightly(databases, tmp_path_factory) -> Delivered:
    """Delivered one night at a time, recording what the CRM looked like each morning."""
    root = tmp_path_factory.mktemp("nightly")
    db = databases("nightly_crm")
    sandbox = Sandbox(CONFIG, crm_admin_dsn=SERVER + db, landing_dir=root / "landing", ground_truth_dir=root / "truth")
    delivered = Delivered(sandbox, db, root / "landing", root / "truth")
    day = CONFIG.start_date
    while day <= CONFIG.end_date:
        delivered.reports.append(sandbox.deliver_through(day))
        web_root = delivered.landing / "web_analytics"
        delivered.later_dirs_seen += [p.name for p in web_root.iterdir() if p.name > day.isoformat()]
        delivered.nights[day] = {
            table: {row[0]: row for row in crm_rows(db, table)} for table in ("contact", "case", "consent")
        }
        day += timedelta(days=1)
    return delivered


@pytest.fixture(scope="session")
def oneshot(databases, tmp_path_factory) -> Delivered:
    """The same config delivered through the last day in one call."""
    root = tmp_path_factory.mktemp("oneshot")
    db = databases("oneshot_crm")
    sandbox = Sandbox(CONFIG, crm_admin_dsn=SERVER + db, landing_dir=root / "landing", ground_truth_dir=root / "truth")
    delivered = Delivered(sandbox, db, root / "landing", root / "truth")
    delivered.reports.append(sandbox.deliver_through(CONFIG.end_date))
    return delivered
