"""The CRM pull: watermark with lookback, quoted reserved table name, history kept across nights."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from frictionflow import nightly
from frictionflow.sources import source_configs
from frictionflow.warehouse.bootstrap import drop_database, ensure_database

NIGHT1 = datetime(2026, 11, 21, tzinfo=nightly.COMPANY_TZ)
NIGHT2 = NIGHT1 + timedelta(days=1)
NIGHT3 = NIGHT2 + timedelta(days=1)


@pytest.fixture
def crm_source(settings):
    """A tiny CRM with the contract's `case` table (a reserved word)."""
    name = "ff_unit_crm_src"
    drop_database(settings.maintenance_dsn, name)
    ensure_database(settings.maintenance_dsn, name)
    dsn = settings.database_dsn(name)
    with psycopg.connect(dsn) as conn:
        conn.execute(
            """create schema crm;
               create table crm."case" (case_id text primary key, contact_id text, origin text, category text,
                   priority text, status text, order_ref text, created_at timestamptz, first_response_at timestamptz,
                   resolved_at timestamptz, closed_at timestamptz, reopen_count bigint, system_modstamp timestamptz,
                   is_deleted boolean)"""
        )
    yield dsn
    drop_database(settings.maintenance_dsn, name)


def upsert_case(dsn: str, case_id: str, status: str, modstamp: datetime) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute(
            """insert into crm."case"
               values (%s, 'C1', 'web', 'delivery', 'high', %s, null, %s, null, null, null, 0, %s, false)
               on conflict (case_id) do update
               set status = excluded.status, system_modstamp = excluded.system_modstamp""",
            (case_id, status, datetime(2026, 11, 1, tzinfo=UTC), modstamp),
        )


def pull(warehouse: str, crm: str, start: datetime):
    source = source_configs()["crm"]
    return nightly.pull_sql_incremental(
        warehouse, crm, source, "case", start, start + timedelta(days=1), datetime.now(UTC)
    )


def test_history_lookback_and_idempotent_reruns(fresh_database, crm_source):
    upsert_case(crm_source, "K1", "new", NIGHT1 + timedelta(hours=9))
    first = pull(fresh_database, crm_source, NIGHT1)
    assert first.loaded == 1

    # Night 2: K1 moves on; K2 commits late with a modstamp 5 minutes before night 2 started.
    upsert_case(crm_source, "K1", "open", NIGHT2 + timedelta(hours=10))
    upsert_case(crm_source, "K2", "new", NIGHT2 - timedelta(minutes=5))
    second = pull(fresh_database, crm_source, NIGHT2)
    assert second.loaded == 2, "the 15-minute lookback catches the late-committing row"

    # Night 3 re-delivers nothing new inside the lookback except what night 2 already holds.
    upsert_case(crm_source, "K1", "resolved", NIGHT3 + timedelta(hours=1))
    third = pull(fresh_database, crm_source, NIGHT3)
    assert third.loaded == 1

    with psycopg.connect(fresh_database) as conn:
        history = conn.execute(
            "select status from raw.crm__case where case_id = 'K1' order by system_modstamp"
        ).fetchall()
        assert [h[0] for h in history] == ["new", "open", "resolved"], "every version is kept"
        before = conn.execute("select count(*), max(system_modstamp) from raw.crm__case").fetchone()

    # Re-running night 2 after night 3: the source no longer has K1's 'open' version, and it stays.
    rerun = pull(fresh_database, crm_source, NIGHT2)
    assert rerun.received == 1 and rerun.loaded == 1  # K2 again; K1 'open' is gone from the source
    with psycopg.connect(fresh_database) as conn:
        assert conn.execute("select count(*), max(system_modstamp) from raw.crm__case").fetchone() == before
        wm = conn.execute(
            "select lower_bound, upper_bound from meta.watermarks where data_interval_start = %s", (NIGHT2,)
        ).fetchone()
    assert wm == (NIGHT2 - timedelta(minutes=15), NIGHT3)
