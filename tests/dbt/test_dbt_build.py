"""`dbt build` of the whole project (seeds, models, data tests, unit tests) on the hand-made raw fixture.

A fresh database is created on the server of WAREHOUSE_DSN (else postgresql://postgres@127.0.0.1:5432),
loaded with tests/dbt/fixture_raw.py, built with dbt in-process, checked against values worked out by hand
from the fixture, and dropped.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import psycopg

from tests.dbt import fixture_raw as fx

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
MARTS = (
    "fct_journeys",
    "fct_friction_events",
    "fct_friction_daily",
    "fct_friction_shift",
    "fct_contact_point_events",
    "fct_contact_point_transition_shift",
    "fct_journey_steps",
    "fct_journey_stuck_risk",
    "fct_stuck_risk_backtest",
    "dim_customer_context",
    "customer_key_changes",
)


def _pseudonym(value: str) -> str:
    return hashlib.sha256(f"{fx.FIXTURE_PSEUDONYMISATION_KEY}|{value}".encode()).hexdigest()


def _rows(dsn: str, query: str, *params) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(query, params).fetchall()


def _customer_key(dsn: str, identifier_type: str, value: str) -> str:
    """The published customer_key of the customer identity resolution gave this identifier."""
    ((key,),) = _rows(
        dsn,
        "select customer_key from intermediate.int_identity__customer_map where identifier_type = %s"
        " and identifier_value = %s",
        identifier_type,
        value,
    )
    return _pseudonym(key)


def test_build_writes_the_manifest(built):
    assert (built["target"] / "manifest.json").exists()


def test_journeys_by_type_and_state(built):
    counts = dict(
        ((journey_type, state), n)
        for journey_type, state, n in _rows(
            built["dsn"], "select journey_type, state, count(*) from audit.fct_journeys group by 1, 2"
        )
    )
    assert counts == {
        ("buying", "completed"): 3,  # Alice SO-100045, Bob SO-100046, Erin SO-100044
        ("buying", "abandoned"): 3,  # Alice's checkout, Bob's browse before the 40-minute gap, the Android dead ends
        ("buying", "open"): 1,  # Bob at 23:45, less than 30 minutes before the horizon
        ("account_access", "completed"): 1,  # Bob: 2 failed logins, a reset, a login
        ("account_access", "abandoned"): 1,  # the Android device gave up
        ("issue_resolution", "completed"): 3,  # K1, K3 (guest), K5; K4 is soft-deleted
        ("issue_resolution", "open"): 2,  # K2, K6
        ("issue_resolution", "abandoned"): 1,  # K7, closed unanswered
        ("delivery", "completed"): 1,  # SH-0001, delivered on the 12th
        ("delivery", "open"): 2,  # SH-0002 after two failed attempts, SH-0003 with only its label
    }


def test_abandoned_checkout(built):
    rows = _rows(
        built["dsn"],
        """
        select j.state, j.customer_key, j.step_count, j.duration_minutes, f.occurred_at, f.channel, f.contact_point
        from audit.fct_friction_events as f
        inner join audit.fct_journeys as j on f.journey_id = j.journey_id
        where f.friction_type = 'checkout_abandoned'
        """,
    )
    assert len(rows) == 1, rows  # the HeadlessChrome monitor's abandoned checkout is not counted
    state, customer_key, steps, minutes, occurred_at, channel, contact_point = rows[0]
    assert (state, customer_key, steps, minutes) == (
        "abandoned",
        _customer_key(built["dsn"], "crm_contact_id", fx.ALICE),
        3,
        4,
    )
    assert (occurred_at, channel, contact_point) == (fx.ts("2026-11-11 20:03:59"), "web", "/checkout")


def test_cross_channel_journey_attributed_through_login(built):
    ((state, key, steps, channels, switches, frictions, minutes),) = _rows(
        built["dsn"],
        """
        select state, customer_key, step_count, channel_count, channel_switch_count, friction_event_count,
               duration_minutes
        from audit.fct_journeys
        where journey_type = 'buying' and order_no = 'SO-100045'
        """,
    )
    # The late app event starts it; the anonymous web events before the login are Alice's.
    assert (state, key, steps, channels, switches, frictions, minutes) == (
        "completed",
        _customer_key(built["dsn"], "crm_contact_id", fx.ALICE),
        10,
        2,
        1,
        2,
        23,
    )


def test_inactivity_splits_bob_and_skewed_clocks_are_corrected(built):
    rows = _rows(
        built["dsn"],
        """
        select state, started_at, ended_at, step_count, order_no
        from audit.fct_journeys
        where journey_type = 'buying' and customer_key = %s
        order by started_at
        """,
        _customer_key(built["dsn"], "crm_contact_id", fx.BOB),
    )
    assert rows == [
        ("abandoned", fx.ts("2026-11-11 11:59:59"), fx.ts("2026-11-11 12:10"), 2, None),
        ("completed", fx.ts("2026-11-11 12:49:59"), fx.ts("2026-11-11 12:59:59"), 5, "SO-100046"),
        ("open", fx.ts("2026-11-12 23:44:59"), None, 1, None),
    ]


def test_case_frictions(built):
    rows = _rows(
        built["dsn"],
        """
        select case_id, friction_type, occurred_at, severity, channel
        from audit.fct_friction_events
        where journey_type = 'issue_resolution'
        order by case_id, occurred_at
        """,
    )
    assert rows == [
        (fx.K1, "case_reopened", fx.ts("2026-11-11 15:00"), "high", "web"),
        (fx.K1, "resolution_beyond_standard", fx.ts("2026-11-11 20:00"), "high", "web"),
        (fx.K5, "case_reopened", fx.ts("2026-11-10 11:00"), "high", "chat"),  # reopen never seen as a status
        (fx.K5, "resolution_beyond_standard", fx.ts("2026-11-10 16:00"), "high", "chat"),
        (fx.K6, "resolution_beyond_standard", fx.ts("2026-11-12 18:00"), "medium", "phone"),  # still open
    ]


def test_friction_counts_by_type(built):
    counts = dict(_rows(built["dsn"], "select friction_type, count(*) from audit.fct_friction_events group by 1"))
    assert counts == {
        "dead_end_search": 3,  # Alice once (delivered twice), the Android device twice; not Googlebot
        "checkout_failed": 1,
        "checkout_abandoned": 1,
        "login_failed": 4,
        "error_shown": 2,  # one inside the Android journey, one outside any journey; not HeadlessChrome
        "resolution_beyond_standard": 3,
        "case_reopened": 2,
        "payment_failed": 1,  # PAY-0001 declined
        "late_delivery": 1,  # SH-0002
        "failed_delivery": 2,  # SH-0002's two attempts, one scan 48 h late
        "stockout": 3,  # KET-200 at WH1 once (its ended version is the same stock-out), MUG-010, TOA-310
        "queue_abandoned": 1,
        "bot_dead_end": 1,
        "repeat_contact": 1,
    }
    # Outside any journey: the error outside a journey, the failed payment, the stock-outs and the contact
    # centre's frictions without a case.
    ((orphans,),) = _rows(built["dsn"], "select count(*) from audit.fct_friction_events where journey_id is null")
    assert orphans == 8


def test_fulfilment_and_contact_centre_frictions(built):
    rows = _rows(
        built["dsn"],
        """
        select friction_type, occurred_at, channel, contact_point, customer_type, order_no, severity
        from audit.fct_friction_events
        where friction_type in (
            'payment_failed', 'late_delivery', 'failed_delivery', 'queue_abandoned', 'bot_dead_end', 'repeat_contact'
        )
        order by occurred_at, friction_type
        """,
    )
    royal_mail, billing_calls, card = "logistics/royal_mail/express", "contact_center/voice/billing", "erp/payment/card"
    assert rows == [
        # SH-0002, promised the 9th: its first attempt fails, and the promised day ends undelivered
        ("failed_delivery", fx.ts("2026-11-09 13:00"), "delivery", royal_mail, "erp_customer", "SO-100031", "high"),
        ("late_delivery", fx.ts("2026-11-10 00:00"), "delivery", royal_mail, "erp_customer", "SO-100031", "medium"),
        ("failed_delivery", fx.ts("2026-11-10 12:00"), "delivery", royal_mail, "erp_customer", "SO-100031", "high"),
        ("payment_failed", fx.ts("2026-11-10 18:10:30"), "web", card, "erp_customer", "SO-100045", "high"),
        # Bob: the chatbot has no answer about his bill, he calls the billing queue and gives up waiting
        ("bot_dead_end", fx.ts("2026-11-11 09:09"), "chat", "contact_center/chat/billing", "email", None, "medium"),
        ("repeat_contact", fx.ts("2026-11-11 10:00"), "phone", billing_calls, "phone", None, "medium"),
        ("queue_abandoned", fx.ts("2026-11-11 10:05"), "phone", billing_calls, "phone", None, "medium"),
    ]
    # Bob's chat (by email) and call (by phone) are one customer to identity resolution.
    keys = _rows(
        built["dsn"],
        "select distinct customer_key from audit.fct_friction_events where friction_type in"
        " ('bot_dead_end', 'repeat_contact', 'queue_abandoned')",
    )
    assert keys == [(_customer_key(built["dsn"], "crm_contact_id", fx.BOB),)]


def test_friction_daily(built):
    rows = _rows(
        built["dsn"],
        """
        select friction_date::text, friction_type, channel, friction_events, affected_customers, journeys,
               journeys_with_friction, friction_rate
        from audit.fct_friction_daily
        """,
    )
    assert rows and all(Decimal(0) <= row[-1] <= Decimal(1) for row in rows)
    by_key = {row[:3]: row[3:] for row in rows}
    assert by_key[("2026-11-10", "dead_end_search", "web")] == (1, 1, 2, 1, Decimal("0.5"))
    assert by_key[("2026-11-11", "checkout_abandoned", "web")] == (1, 1, 3, 1, Decimal("0.333333"))
    assert by_key[("2026-11-12", "dead_end_search", "app")] == (2, 1, 1, 1, Decimal("1"))
    assert by_key[("2026-11-12", "error_shown", "web")] == (1, 1, 1, 0, Decimal("0"))  # error outside a journey
    assert by_key[("2026-11-10", "error_shown", "web")] == (0, 0, 2, 0, Decimal("0"))
    assert not any(date == "2026-11-13" for date, *_ in by_key)  # the horizon is exclusive


def test_bots_do_not_reach_the_marts(built):
    bots = [fx.D_GOOGLEBOT, fx.D_BAIDU, fx.D_HEADLESS]
    # Bots never reach identity resolution, so no customer_key stands for them ...
    held = _rows(
        built["dsn"],
        "select identifier_value from intermediate.int_identity__identifiers where identifier_value = any(%s)",
        bots,
    )
    assert held == []
    # ... and no journey or friction is a bot's: every one is a human's, or a guest's.
    for table in ("fct_journeys", "fct_friction_events"):
        ((n,),) = _rows(
            built["dsn"],
            f"""
            select count(*) from audit.{table}
            where customer_key is null and customer_type not in ('guest', 'unidentified', 'none')
            """,
        )
        assert n == 0, table


def test_no_pii_in_audit(built):
    columns = _rows(
        built["dsn"],
        "select table_name, column_name from information_schema.columns where table_schema = 'audit'",
    )
    assert {table for table, _ in columns} == set(MARTS)
    personal = re.compile(r"(^|_)(email|phone|name|ip|ip_address)(_|$)")  # not shipment_id
    assert [c for c in columns if personal.search(c[1])] == []
    # No raw identifier or personal value anywhere in the published data, whatever the column is called.
    secrets = {fx.ALICE, fx.BOB, fx.CAROL, fx.DAN, fx.ERIN, *fx.DEVICES, "alice.smith@example.com", "+442079460018"}
    for table in MARTS:
        cells = _rows(built["dsn"], f"select t::text from audit.{table} as t")
        leaked = [cell for (cell,) in cells if any(secret.lower() in cell.lower() for secret in secrets)]
        assert leaked == [], table


def test_journey_steps_from_every_system(built):
    rows = _rows(
        built["dsn"],
        """
        select j.journey_type, j.step_count, count(*), max(s.step_number),
               sum(case when s.is_channel_switch then 1 else 0 end),
               string_agg(distinct s.source_system, ',' order by s.source_system)
        from audit.fct_journey_steps as s
        inner join audit.fct_journeys as j on s.journey_id = j.journey_id
        where (j.journey_type = 'buying' and j.order_no = 'SO-100045') or j.case_id = %s
        group by j.journey_id, j.journey_type, j.step_count
        order by j.journey_type
        """,
        fx.K1,
    )
    (buying, case) = rows
    # Alice's cross-channel purchase: the journey's 10 web/app steps, one switch from app to web.
    assert buying == ("buying", 10, 10, 10, 1, "web_analytics")
    # Her delivery case: its status changes and, from the contact centre, her call about it.
    journey_type, transitions, steps, last_step, _, systems = case
    assert (journey_type, systems) == ("issue_resolution", "contact_center,crm")
    assert steps == last_step == transitions + 1


def test_business_calendar_matches_the_policy_the_sandbox_follows(built):
    """Every day of int_business_calendar_hours opens and closes when the seeds' reader (which the sandbox
    company's agents follow) says, clock changes and bank holidays included, and no other day is open."""
    from frictionflow.service_calendar import load_calendar

    rows = _rows(
        built["dsn"],
        "select calendar, local_date, extract(epoch from opens_at) * 1000, extract(epoch from closes_at) * 1000"
        " from intermediate.int_business_calendar_hours",
    )
    calendar = load_calendar("customer_service")
    sql_days = {day: (int(opens), int(closes)) for name, day, opens, closes in rows if name == "customer_service"}
    first, last = calendar.covers
    python_days = {}
    day = first
    while day <= last:
        if (interval := calendar.open_interval(day)) is not None:
            python_days[day] = interval
        day = date.fromordinal(day.toordinal() + 1)
    assert len(sql_days) == len(python_days) == (last - first).days + 1
    assert sql_days == python_days


def test_case_standard_due_times_count_business_hours(built):
    from frictionflow.service_calendar import standard_due_ms

    rows = _rows(
        built["dsn"],
        "select case_id, priority, extract(epoch from created_at) * 1000, extract(epoch from standard_due_at) * 1000"
        " from intermediate.int_case_standard_times",
    )
    assert rows
    for case_id, priority, created, due in rows:
        assert int(due) == standard_due_ms(int(created), priority), case_id


def test_every_model_seed_and_column_is_documented(built):
    """dbt docs cover the whole warehouse dbt builds: every model and seed, and every column they really
    have (from the database, so a column added in SQL but not in YAML is caught)."""
    import json

    manifest = json.loads((built["target"] / "manifest.json").read_text())
    undocumented = []
    for node in manifest["nodes"].values():
        if node["resource_type"] not in ("model", "seed"):
            continue
        name = node["name"]
        if not node["description"].strip():
            undocumented.append(f"{name}: no description")
        documented = {c for c, spec in node["columns"].items() if spec["description"].strip()}
        actual = _rows(
            built["dsn"],
            "select column_name from information_schema.columns where table_schema = %s and table_name = %s",
            node["schema"],
            node["alias"],
        )
        assert actual, f"{name}: not built in {node['schema']}"
        undocumented += [f"{name}.{column}" for (column,) in actual if column not in documented]
    assert not undocumented, "undocumented in dbt: " + ", ".join(undocumented)


def test_follow_up_journeys_are_linked_to_what_they_follow(built):
    """Both fixture shipments of web orders follow the buying journey that placed them; Alice's case K1 names
    SO-100045 but was logged before she ordered it, and Dan's K6 before its order's shipment (a phone order,
    no buying journey): neither follows anything."""
    rows = _rows(
        built["dsn"],
        """
        select child.journey_type, child.shipment_id, child.case_id, parent.journey_type, parent.order_no,
               child.linked_by
        from audit.fct_journeys child
        inner join audit.fct_journeys parent on child.parent_journey_id = parent.journey_id
        order by child.shipment_id
        """,
    )
    assert rows == [
        ("delivery", "SH-0001", None, "buying", "SO-100045", "order_no"),
        ("delivery", "SH-0003", None, "buying", "SO-100046", "order_no"),
    ]
