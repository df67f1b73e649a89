"""Incremental nights equal one full refresh over the same data.

A small sandbox company is delivered and pulled night by night through the DAG's own task code; dbt builds
the whole project (models, seeds, data tests) after each night, the large facts incrementally. The nights
carry what the contracts promise: web events up to 3 days late and delivered twice, carrier scans up to 72
hours late and in two parts. On top, one night is pulled again (its batches re-delivered and replaced), and
raw rows disappear (a re-run night whose file set lacked them): a device's login, which re-attributes the
device's other events, and a carrier scan. Then the incremental models, and every model downstream of them,
are rebuilt from scratch and must hold exactly the same rows (bookkeeping columns aside: load and
recomputation times).
"""

from __future__ import annotations

from datetime import date, timedelta

import psycopg
import pytest

from frictionflow.bench_history import INCREMENTAL_MODELS
from frictionflow.settings import run_dbt
from tests.pipeline_world import pipeline_world, pull_night

FIRST, LAST = date(2026, 11, 3), date(2026, 11, 10)
# The incremental models and the tables downstream of them whose rows must not depend on how they were built.
COMPARED = (
    "staging.stg_web_analytics__events",
    "staging.stg_logistics__shipment_events",
    "intermediate.int_web_events_attributed",
    "intermediate.int_web_journey_steps",
    "intermediate.int_journeys_assembled",
    "audit.fct_contact_point_events",
    "audit.fct_journeys",
    "audit.fct_journey_steps",
    "audit.fct_friction_events",
    "audit.fct_friction_daily",
)
BOOKKEEPING = {"last_loaded_at", "attributed_at"}


def _snapshot(dsn: str) -> dict[str, set[str]]:
    """Each compared table's rows as text, bookkeeping columns left out."""
    tables = {}
    with psycopg.connect(dsn) as conn:
        for table in COMPARED:
            schema, name = table.split(".")
            columns = [
                r[0]
                for r in conn.execute(
                    "select column_name from information_schema.columns where table_schema = %s "
                    "and table_name = %s order by column_name",
                    (schema, name),
                )
                if r[0] not in BOOKKEEPING
            ]
            row = ", ".join(f'"{c}"' for c in columns)
            rows = [r[0] for r in conn.execute(f"select row({row})::text from {table}")]
            assert len(rows) == len(set(rows)), f"{table}: duplicate rows"
            tables[table] = set(rows)
    return tables


def _scalar(dsn: str, query: str, params=()):
    with psycopg.connect(dsn) as conn:
        return conn.execute(query, params).fetchone()[0]


def _lose_raw_rows(dsn: str) -> dict[str, str]:
    """Delete a login of a device with other events, and one carrier scan of a shipment with others."""
    with psycopg.connect(dsn) as conn:
        login, device = conn.execute(
            """select e.event_id, e.anonymous_id from raw.web_analytics__event as e
               where e.event_name = 'login' and e.user_id is not null
                 and (select count(*) from raw.web_analytics__event as o where o.anonymous_id = e.anonymous_id) > 5
               order by e.event_id limit 1"""
        ).fetchone()
        scan, shipment = conn.execute(
            """select s.event_id, s.shipment_id from raw.logistics__shipment_events as s
               where (select count(*) from raw.logistics__shipment_events as o where o.shipment_id = s.shipment_id) > 2
               order by s.event_id limit 1"""
        ).fetchone()
        conn.execute("delete from raw.web_analytics__event where event_id = %s", (login,))
        conn.execute("delete from raw.logistics__shipment_events where event_id = %s", (scan,))
    return {"login": login, "device": device, "scan": scan, "shipment": shipment}


@pytest.fixture(scope="module")
def nights(settings, tmp_path_factory):
    from frictionflow.sandbox import SandboxConfig

    config = SandboxConfig(seed=8, customers=300, start_date=FIRST, end_date=LAST)
    with pipeline_world(settings, tmp_path_factory.mktemp("incremental"), "incremental", config) as world:
        target = world.work / "dbt_target"
        facts = {}
        with world.connected():
            night = FIRST
            while night <= LAST:
                world.sandbox.deliver_through(night)
                pull_night(night)  # a delivery the contract lets fail (a late ERP set) loads the next night
                if night == LAST - timedelta(days=2):
                    pull_night(night - timedelta(days=1))  # the night before, re-delivered and reloaded
                if night == LAST:
                    facts["lost"] = _lose_raw_rows(world.dsn)
                if night >= FIRST + timedelta(days=2):  # the first build has two nights of history
                    run_dbt(world.dsn, target, "build", "--exclude", "test_type:unit")  # with the data tests
                    facts.setdefault("incremental_runs", 0)
                    facts["incremental_runs"] += 1
                night += timedelta(days=1)
        world.api.stop()
        dsn = world.dsn
        facts["devices"] = _scalar(
            dsn, "select count(distinct anonymous_id) from intermediate.int_web_events_attributed"
        )
        facts["recomputed_devices"] = _scalar(
            dsn,
            """select count(distinct anonymous_id) from intermediate.int_web_events_attributed
               where attributed_at = (select max(attributed_at) from intermediate.int_web_events_attributed)""",
        )
        facts["late_web_events"] = _scalar(
            dsn,
            """select count(*) from raw.web_analytics__event
               where _data_interval_start > device_ts and received_at > device_ts + interval '20 minutes'""",
        )
        facts["late_scans"] = _scalar(
            dsn,
            "select count(*) from raw.logistics__shipment_events where _loaded_at > event_ts + interval '48 hours'",
        )
        facts["incremental"] = _snapshot(dsn)
        run_dbt(dsn, target, "run", "--full-refresh", "--select", *INCREMENTAL_MODELS)
        run_dbt(dsn, target, "run", "--select", *[f"{m}+" for m in INCREMENTAL_MODELS])
        facts["full_refresh"] = _snapshot(dsn)
        facts["dsn"] = dsn
        yield facts


def test_the_nights_carry_late_duplicated_and_lost_data(nights):
    assert nights["incremental_runs"] == 6
    assert nights["late_web_events"] > 0
    assert nights["late_scans"] > 0
    assert nights["lost"]["login"] and nights["lost"]["scan"]


def test_a_night_recomputes_only_the_devices_it_touches(nights):
    assert 0 < nights["recomputed_devices"] < nights["devices"] / 2, nights


@pytest.mark.parametrize("table", COMPARED)
def test_incremental_nights_equal_one_full_refresh(nights, table):
    incremental, full = nights["incremental"][table], nights["full_refresh"][table]
    only_incremental, only_full = sorted(incremental - full), sorted(full - incremental)
    assert not only_incremental and not only_full, (
        f"{table}: {len(only_incremental)} rows only after the incremental nights, e.g. {only_incremental[:3]}; "
        f"{len(only_full)} only after the full refresh, e.g. {only_full[:3]}"
    )
    assert full, f"{table} is empty: the comparison would prove nothing"


def test_lost_rows_are_gone_everywhere(nights):
    lost = nights["lost"]
    for table, column, value in (
        ("staging.stg_web_analytics__events", "event_id", lost["login"]),
        ("intermediate.int_web_events_attributed", "event_id", lost["login"]),
        ("intermediate.int_web_journey_steps", "event_id", lost["login"]),
        ("staging.stg_logistics__shipment_events", "shipment_event_id", lost["scan"]),
    ):
        assert _scalar(nights["dsn"], f"select count(*) from {table} where {column} = %s", (value,)) == 0, table
