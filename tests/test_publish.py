"""Publication: atomic for concurrent readers, logged, and every restated number recorded with its cause."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest

from frictionflow.publish import RestatementSpec, publish, restatement_specs
from frictionflow.settings import DBT_MANIFEST

NIGHT = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)


def _stage_version(dsn: str, version: int) -> None:
    """Audit tables whose every row names the version, with row counts that differ per version."""
    with psycopg.connect(dsn) as conn:
        conn.execute("drop table if exists audit.orders_a, audit.orders_b")
        conn.execute("create table audit.orders_a (v int not null, n int not null)")
        conn.execute("create table audit.orders_b (v int not null, n int not null)")
        conn.execute("insert into audit.orders_a select %s, g from generate_series(1, 200 + %s) g", (version, version))
        conn.execute("insert into audit.orders_b select %s, g from generate_series(1, 300 + %s) g", (version, version))


def test_concurrent_readers_see_one_whole_version_never_a_mix(fresh_database):
    versions = 15
    _stage_version(fresh_database, 0)
    publish(fresh_database, "run-0", NIGHT, NIGHT + timedelta(days=1))
    stop = threading.Event()
    seen: list[tuple] = []
    errors: list[str] = []

    def reader(as_transaction: bool) -> None:
        with psycopg.connect(fresh_database, autocommit=not as_transaction) as conn:
            if as_transaction:
                conn.execute("set transaction isolation level repeatable read")
            while not stop.is_set():
                try:
                    if as_transaction:
                        # Two statements in one snapshot: both must see the same version.
                        a = conn.execute("select min(v), max(v), count(*) from published.orders_a").fetchone()
                        b = conn.execute("select min(v), max(v), count(*) from published.orders_b").fetchone()
                        conn.commit()
                        conn.execute("set transaction isolation level repeatable read")
                    else:
                        a, b = None, None
                        row = conn.execute(
                            "select (select min(v) from published.orders_a), (select max(v) from published.orders_a), "
                            "(select count(*) from published.orders_a), (select min(v) from published.orders_b), "
                            "(select max(v) from published.orders_b), (select count(*) from published.orders_b)"
                        ).fetchone()
                        a, b = row[:3], row[3:]
                    seen.append((*a, *b, as_transaction))
                except psycopg.Error as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")
                    if not as_transaction:
                        continue
                    conn.rollback()

    threads = [threading.Thread(target=reader, args=(i % 2 == 0,)) for i in range(4)]
    for t in threads:
        t.start()
    publish_seconds = []
    for version in range(1, versions + 1):
        _stage_version(fresh_database, version)
        started = time.perf_counter()
        publish(fresh_database, f"run-{version}", NIGHT, NIGHT + timedelta(days=1))
        publish_seconds.append(time.perf_counter() - started)
        time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join(timeout=30)

    assert not errors, errors[:5]
    assert len(seen) > versions * 4, f"readers made only {len(seen)} reads"
    mixed = [
        r
        for r in seen
        if not (r[0] is not None and r[0] == r[1] == r[3] == r[4] and r[2] == 200 + r[0] and r[5] == 300 + r[0])
    ]
    assert not mixed, f"{len(mixed)} reads saw a mix of versions, e.g. {mixed[:3]}"
    assert {r[0] for r in seen} >= {0, versions}, "readers should have seen the first and the last version"
    with psycopg.connect(fresh_database) as conn:
        assert conn.execute("select count(*) from meta.publish_log").fetchone()[0] == versions + 1
        counts = conn.execute("select row_counts from meta.publish_log order by version desc limit 1").fetchone()[0]
    assert counts == {"orders_a": 200 + versions, "orders_b": 300 + versions}


def _stage_metric(dsn: str, rows: list[tuple]) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute("drop table if exists audit.metric_daily")
        conn.execute(
            "create table audit.metric_daily (metric_date date, channel text, events bigint, rate numeric(9, 6))"
        )
        with conn.cursor().copy("copy audit.metric_daily from stdin") as copy:
            for row in rows:
                copy.write_row(row)


SPEC = RestatementSpec(table="metric_daily", period="metric_date", dimensions=("channel",), measures=("events", "rate"))


def _restatements(dsn: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "select version, metric, measure, period, dimensions ->> 'channel', old_value::float8, "
            "new_value::float8, cause from meta.restatements order by period, dimensions ->> 'channel', measure"
        ).fetchall()


def test_a_changed_published_number_is_recorded_with_old_new_and_cause(fresh_database):
    d1, d2, d3 = date(2026, 11, 18), date(2026, 11, 19), date(2026, 11, 20)
    night2, night3 = NIGHT - timedelta(days=1), NIGHT
    _stage_metric(fresh_database, [(d1, "web", 10, 0.1), (d2, "web", 5, 0.2), (d2, "app", 3, 0.3)])
    publish(fresh_database, "night-2", night2, night2 + timedelta(days=1), [SPEC])
    assert _restatements(fresh_database) == []

    # Tonight: a late event moves 19 Nov on the web, 19 Nov app disappears, 18 Nov gains a channel,
    # and 20 Nov is new (news, not a restatement).
    _stage_metric(
        fresh_database,
        [(d1, "web", 10, 0.1), (d1, "store", 1, 0.5), (d2, "web", 6, 0.25), (d3, "web", 7, 0.1)],
    )
    publish(fresh_database, "night-3", night3, night3 + timedelta(days=1), [SPEC])
    restated = _restatements(fresh_database)
    assert [(r[3], r[4], r[2], r[5], r[6]) for r in restated] == [
        (d1, "store", "events", None, 1),
        (d1, "store", "rate", None, pytest.approx(0.5)),
        (d2, "app", "events", 3, None),
        (d2, "app", "rate", pytest.approx(0.3), None),
        (d2, "web", "events", 5, 6),
        (d2, "web", "rate", pytest.approx(0.2), pytest.approx(0.25)),
    ]
    assert {r[7] for r in restated} == {"late_data"}
    assert {r[0] for r in restated} == {2}, "restatements belong to the version that published them"

    # Publishing the same numbers again restates nothing (a re-run of the night is not news).
    publish(fresh_database, "night-3-rerun", night3, night3 + timedelta(days=1), [SPEC])
    assert len(_restatements(fresh_database)) == len(restated)


def test_a_reloaded_past_batch_is_named_as_the_cause(fresh_database):
    d2 = date(2026, 11, 19)
    night2 = NIGHT - timedelta(days=1)
    _stage_metric(fresh_database, [(d2, "web", 5, 0.2)])
    publish(fresh_database, "night-2", night2, night2 + timedelta(days=1), [SPEC])
    with psycopg.connect(fresh_database) as conn:
        # Tonight, a corrected ERP file set for 19 Nov (revision 2) was reloaded.
        conn.execute(
            "insert into meta.deliveries (source_system, entity, business_date, location, revision, batch_id, cause, "
            "data_interval_start, loaded_at) values ('erp', 'sales_orders', %s, 'erp/2026-11-19/sales_orders.csv', "
            "2, 'erp.sales_orders.2026-11-19', 'redelivery revision 2', %s, now())",
            (d2, NIGHT),
        )
    _stage_metric(fresh_database, [(d2, "web", 4, 0.2)])
    publish(fresh_database, "night-3", NIGHT, NIGHT + timedelta(days=1), [SPEC])
    with psycopg.connect(fresh_database) as conn:
        cause, detail = conn.execute("select cause, cause_detail from meta.restatements").fetchone()
    assert cause == "redelivery"
    assert "erp.sales_orders.2026-11-19" in detail


def test_a_number_moved_by_tonights_identity_merges_is_named_as_such(fresh_database):
    d2 = date(2026, 11, 19)
    night2 = NIGHT - timedelta(days=1)
    _stage_metric(fresh_database, [(d2, "web", 5, 0.2)])
    publish(fresh_database, "night-2", night2, night2 + timedelta(days=1), [SPEC])
    with psycopg.connect(fresh_database) as conn:
        # Tonight identity resolution merged two customers (the audit dbt writes beside the marts).
        conn.execute(
            "create table audit.customer_key_changes as select %s::timestamptz as data_interval_start, "
            "'merge'::text as change_type",
            (NIGHT,),
        )
    _stage_metric(fresh_database, [(d2, "web", 4, 0.2)])
    publish(fresh_database, "night-3", NIGHT, NIGHT + timedelta(days=1), [SPEC])
    with psycopg.connect(fresh_database) as conn:
        cause, detail = conn.execute("select cause, cause_detail from meta.restatements").fetchone()
    assert cause == "identity_merge", detail


def test_published_friction_metric_declares_its_restatement_watch():
    specs = {s.table: s for s in restatement_specs(DBT_MANIFEST)}
    assert "fct_friction_daily" in specs, "dbt parse the project first (make test does)"
    daily = specs["fct_friction_daily"]
    assert daily.period == "friction_date"
    assert set(daily.measures) >= {"friction_events", "friction_rate"}
