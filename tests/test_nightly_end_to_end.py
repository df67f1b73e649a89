"""Whole nights through the real stack: sandbox → Airflow (`dags test`) → raw → dbt → GX → published.

The tests in this module build on each other in order (one warehouse, nights in sequence):
a first night publishes; re-running it changes nothing; a broken delivery the next night is stopped by
the gate and the published version stays as it was.
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from tests.alert_receivers import WebhookReceiver
from tests.nightly_helpers import explain, fingerprint, run_night

pytestmark = pytest.mark.slow

NIGHT = date(2026, 11, 20)


@pytest.fixture(scope="module")
def alerts():
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def airflow_env(settings, alerts):
    from frictionflow.cli import prepare

    previous = os.environ.get("FRICTIONFLOW_ALERT_WEBHOOK_URL")
    os.environ["FRICTIONFLOW_ALERT_WEBHOOK_URL"] = alerts.url  # read when the Airflow environment is built
    try:
        return prepare(settings)
    finally:
        if previous is None:
            del os.environ["FRICTIONFLOW_ALERT_WEBHOOK_URL"]
        else:
            os.environ["FRICTIONFLOW_ALERT_WEBHOOK_URL"] = previous


@pytest.fixture(scope="module")
def sandbox(settings):
    from frictionflow.sandbox import Sandbox, SandboxConfig

    config = SandboxConfig(
        seed=7, customers=400, start_date=NIGHT - timedelta(days=13), end_date=NIGHT + timedelta(days=2)
    )
    return Sandbox(
        config,
        crm_admin_dsn=settings.crm_admin_dsn,
        landing_dir=settings.landing_dir,
        ground_truth_dir=settings.ground_truth_dir,
    )


@pytest.fixture(scope="module")
def first_night(settings, airflow_env, sandbox):
    sandbox.deliver_through(NIGHT)
    result = run_night(airflow_env, NIGHT)
    assert result.returncode == 0, explain(result)
    return result


def test_first_night_loads_gates_and_publishes(settings, first_night):
    with psycopg.connect(settings.warehouse_dsn) as conn:
        ledger = conn.execute(
            "select batch_id, received, loaded, quarantined, duplicates_removed from meta.load_ledger"
        ).fetchall()
        tables = conn.execute(
            "select table_name from information_schema.tables where table_schema = 'published'"
        ).fetchall()
        published = {
            t: conn.execute(sql.SQL("select count(*) from {}").format(sql.Identifier("published", t))).fetchone()[0]
            for (t,) in tables
        }
        failed_checks = conn.execute("select count(*) from meta.gate_results where not success").fetchone()[0]
        checks = conn.execute("select count(*) from meta.gate_results").fetchone()[0]
        versions = conn.execute("select count(*) from meta.publish_log").fetchone()[0]
    batches = {row[0] for row in ledger}
    assert {f"crm.{e}.{NIGHT}" for e in ("contact", "case", "consent", "erasure_request")} <= batches
    assert f"web_analytics.event.{NIGHT}" in batches
    assert all(r[1] == r[2] + r[3] + r[4] for r in ledger)
    web = next(r for r in ledger if r[0].startswith("web_analytics"))
    assert web[4] > 0, "the sandbox's at-least-once web delivery produced duplicates that were counted"
    assert {"fct_journeys", "fct_friction_daily", "dim_customer_context", "customer_key_changes"} <= set(published)
    # A first night moves no customer key: the audit of key changes is the one table that starts empty.
    assert all(count > 0 for table, count in published.items() if table != "customer_key_changes"), published
    assert checks > 10 and failed_checks == 0
    assert versions == 1


def test_published_tables_hold_no_pii_and_bi_reads_only_published(settings, first_night):
    from frictionflow.warehouse.bootstrap import BI_ROLE

    with psycopg.connect(settings.warehouse_dsn) as conn:
        columns = [
            r[0]
            for r in conn.execute(
                "select column_name from information_schema.columns where table_schema = 'published'"
            ).fetchall()
        ]
        key = conn.execute(
            "select customer_key from published.fct_journeys where customer_key is not null limit 1"
        ).fetchone()[0]
        contact_ids = {r[0] for r in conn.execute("select contact_id from raw.crm__contact").fetchall()}
    assert not [c for c in columns if any(p in c for p in ("email", "phone", "name", "ip_address", "contact_id"))]
    assert len(key) == 64 and key not in contact_ids

    parts = urlsplit(settings.warehouse_dsn)
    bi_dsn = urlunsplit(parts._replace(netloc=f"{BI_ROLE}@{parts.hostname}:{parts.port}"))
    with psycopg.connect(bi_dsn, autocommit=True) as bi:
        assert bi.execute("select count(*) from published.fct_journeys").fetchone()[0] > 0
        for forbidden in (
            "raw.crm__contact",
            "meta.load_ledger",
            "audit.fct_journeys",
            "restricted.pseudonymisation_key",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                bi.execute(f"select * from {forbidden} limit 1")
        staging = bi.execute(
            "select table_name from information_schema.tables where table_schema = 'staging' limit 1"
        ).fetchone()
        assert staging is None, "the BI role cannot even see staging's tables"


def test_rerunning_the_night_leaves_the_warehouse_identical(settings, airflow_env, first_night):
    schemas = ("raw", "staging", "intermediate", "audit", "published")
    before = fingerprint(settings.warehouse_dsn, schemas)
    ledger_before = fingerprint(settings.warehouse_dsn, ("meta",))["meta.load_ledger"]
    result = run_night(airflow_env, NIGHT)
    assert result.returncode == 0, explain(result)
    after = fingerprint(settings.warehouse_dsn, schemas)
    assert after == before
    with psycopg.connect(settings.warehouse_dsn) as conn:
        assert conn.execute("select count(*) from meta.publish_log").fetchone()[0] == 2
        counts = conn.execute("select count(*) from meta.load_ledger").fetchone()[0]
    assert counts == ledger_before[0]


def test_broken_delivery_is_blocked_and_the_last_good_version_stays(
    settings, airflow_env, sandbox, first_night, alerts
):
    published_before = fingerprint(settings.warehouse_dsn, ("published",))
    night = NIGHT + timedelta(days=1)
    sandbox.deliver_through(night)
    # A contact whose country is not an ISO code: the contract only says "string", so it loads; the gate
    # knows better.
    with psycopg.connect(settings.crm_admin_dsn) as crm:
        crm.execute(
            """insert into crm.contact (contact_id, first_name, last_name, email, phone, country_code, created_at,
                   system_modstamp, is_deleted)
               values ('003BROKEN000000001', 'Bad', 'Data', null, null, 'United Kingdom',
                       %(ts)s, %(ts)s, false)""",
            {"ts": f"{night.isoformat()}T12:00:00Z"},
        )
    result = run_night(airflow_env, night)
    assert result.returncode != 0, "the gate must fail the run"
    output = result.stdout + result.stderr
    assert "GateFailed" in output and "country_code" in output
    assert fingerprint(settings.warehouse_dsn, ("published",)) == published_before
    with psycopg.connect(settings.warehouse_dsn) as conn:
        assert conn.execute("select count(*) from meta.publish_log").fetchone()[0] == 2
        failed = conn.execute(
            "select suite, expectation_type, column_name from meta.gate_results where not success"
        ).fetchall()
        # The failing rows stay inspectable in the raw layer.
        assert (
            conn.execute("select count(*) from raw.crm__contact where contact_id = '003BROKEN000000001'").fetchone()[0]
            == 1
        )
    assert ("raw.crm__contact", "expect_column_values_to_match_regex", "country_code") in failed
    # The on-call engineer heard about it: one alert, for the gate, naming the failed check.
    gate_alerts = [a for a in alerts.received if a["task_id"] == "raw_gate"]
    assert len(gate_alerts) == 1, alerts.received
    assert gate_alerts[0]["business_date"] == night.isoformat() and "country_code" in gate_alerts[0]["error"]
