"""Staging models of ERP, MDM, logistics, contact centre and marketing on the hand-made raw fixture.

Every expected value is worked out by hand from tests/dbt/fixture_raw.py (the "customer context" rows);
the session fixture `built` loads it and runs `dbt build` once.
"""

# Expected rows are kept one per line, so that each reads as a row: long lines allowed.
# ruff: noqa: E501

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import psycopg

from tests.dbt import fixture_raw as fx


def _rows(dsn: str, query: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(query).fetchall()


# fmt: off

# --- ERP -----------------------------------------------------------------------------------------------
def test_erp_customers_latest_version_normalised(built):
    rows = _rows(
        built["dsn"],
        "select customer_no, customer_name, email, phone_e164, billing_country_code, created_at, changed_at, batch_id "
        "from staging.stg_erp__customers order by customer_no",
    )
    assert rows == [
        # the version of the 11th wins; the summer offset (+01:00) is applied to created_at
        (fx.C_ALICE, "Smith, Alice", "alice.smith@example.com", "+442079460018", "GB",
         fx.ts("2026-10-01 08:00"), fx.ts("2026-11-11 09:30"), "erp.customers.2026-11-11"),
        (fx.C_BOB, "Bob Jones", "bob@example.org", "+442079460019", "GB",
         fx.ts("2026-11-10 08:00"), fx.ts("2026-11-10 08:00"), "erp.customers.2026-11-10"),
        (fx.C_DAN, 'Dan "DB" Brown', None, "+447700900123", "GB",
         fx.ts("2026-09-15 11:00"), fx.ts("2026-11-10 07:00"), "erp.customers.2026-11-10"),
        (fx.C_FRANK, "Frank Moore", "frank@example.net", None, "IE",
         fx.ts("2026-06-20 14:00"), fx.ts("2026-11-10 12:00"), "erp.customers.2026-11-10"),
        (fx.C_ERIN, "Erin Green", "erin@example.co.uk", "+447700900555", "GB",
         fx.ts("2026-11-10 14:04"), fx.ts("2026-11-10 14:04"), "erp.customers.2026-11-10"),
        (fx.C_ROBERT, "Robert Jones", "bob@example.org", "+442079460019", "GB",
         fx.ts("2026-11-12 09:00"), fx.ts("2026-11-12 09:00"), "erp.customers.2026-11-12"),
    ]


def test_erp_sales_orders_latest_version(built):
    rows = _rows(
        built["dsn"],
        "select order_no, customer_no, ordered_at, order_date, channel, store_id, order_status, currency_code, "
        "total_amount, is_guest_checkout from staging.stg_erp__sales_orders order by order_no",
    )
    assert rows == [
        # ordered in summer: 09:00 London (+01:00) is 08:00 UTC
        ("SO-099000", fx.C_FRANK, fx.ts("2026-07-01 08:00"), date(2026, 7, 1), "web", None, "returned", "EUR", Decimal("79.00"), False),
        ("SO-100031", fx.C_DAN, fx.ts("2026-11-05 10:00"), date(2026, 11, 5), "phone", None, "shipped", "GBP", Decimal("89.00"), False),
        ("SO-100044", fx.C_ERIN, fx.ts("2026-11-10 14:04"), date(2026, 11, 10), "web", None, "paid", "GBP", Decimal("12.00"), False),
        # paid, shipped, delivered: three file sets, the last version wins
        ("SO-100045", fx.C_ALICE, fx.ts("2026-11-10 18:14"), date(2026, 11, 10), "web", None, "delivered", "GBP", Decimal("59.90"), False),
        ("SO-100046", fx.C_BOB, fx.ts("2026-11-11 13:00"), date(2026, 11, 11), "web", None, "paid", "GBP", Decimal("34.50"), False),
        ("SO-100047", None, fx.ts("2026-11-12 11:00"), date(2026, 11, 12), "store", "ST-007", "delivered", "GBP", Decimal("12.00"), True),
    ]


def test_erp_order_lines_payments_returns(built):
    lines = _rows(
        built["dsn"],
        "select order_no, line_number, sku, quantity, line_amount, line_status, is_cancelled_for_stockout "
        "from staging.stg_erp__order_lines order by order_no, line_number",
    )
    assert lines == [
        ("SO-100031", 1, "TOA-310", 1, Decimal("45.00"), "ok", False),
        ("SO-100031", 2, "KET-200", 1, Decimal("44.00"), "cancelled_stockout", True),  # changed the next day
        ("SO-100044", 1, "MUG-010", 1, Decimal("12.00"), "ok", False),
        ("SO-100045", 1, "KET-200", 1, Decimal("59.90"), "ok", False),
        ("SO-100046", 1, "TOA-300", 1, Decimal("34.50"), "ok", False),
        ("SO-100047", 1, "MUG-010", 2, Decimal("12.00"), "ok", False),
    ]
    payments = _rows(
        built["dsn"],
        "select payment_id, order_no, payment_method, payment_status, decline_code, is_failed, batch_id "
        "from staging.stg_erp__payments order by payment_id",
    )
    assert payments == [
        ("PAY-0001", "SO-100045", "card", "declined", "do_not_honor", True, "erp.payments.2026-11-10"),
        ("PAY-0002", "SO-100045", "card", "captured", None, False, "erp.payments.2026-11-11"),  # authorized, then captured
        ("PAY-0003", "SO-100044", "paypal", "captured", None, False, "erp.payments.2026-11-10"),
        ("PAY-0004", "SO-100046", "bnpl", "authorized", None, False, "erp.payments.2026-11-11"),
        ("PAY-0005", "SO-100047", "gift_card", "captured", None, False, "erp.payments.2026-11-12"),
    ]
    returns = _rows(
        built["dsn"],
        "select return_id, order_no, requested_at, return_reason, return_status from staging.stg_erp__returns",
    )
    assert returns == [("RET-0001", "SO-099000", fx.ts("2026-11-10 11:00"), "damaged", "refunded")]


# --- MDM -----------------------------------------------------------------------------------------------
def test_mdm_golden_customers_are_the_latest_snapshot(built):
    rows = _rows(
        built["dsn"],
        "select golden_id, full_name, primary_email, primary_phone_e164, segment, merged_into, is_retired, snapshot_date "
        "from staging.stg_mdm__golden_customers order by golden_id",
    )
    latest = date(2026, 11, 12)
    assert rows == [
        (fx.G_ALICE, "Alice Smith", "alice.smith@example.com", "+442079460018", "consumer", None, False, latest),
        (fx.G_BOB, "Bob Jones", "bob@example.org", "+442079460019", "consumer", None, False, latest),
        (fx.G_DAN, "Dan Brown", None, "+447700900123", "small_business", None, False, latest),
        (fx.G_DAN_2, "Daniel Brown", None, "+447700900123", "small_business", fx.G_DAN, True, latest),  # merged
        (fx.G_ERIN, "Erin Green", "erin@example.co.uk", None, "consumer", None, False, latest),
        (fx.G_FRANK, "Frank Moore", "frank@example.net", None, "consumer", None, False, latest),  # new: the split
        (fx.G_ROBERT, "Robert Jones", "bob@example.org", "+442079460019", "consumer", None, False, latest),
    ]


def test_mdm_source_keys_per_snapshot_show_keys_moving(built):
    rows = _rows(
        built["dsn"],
        "select snapshot_date, golden_id, source_system, source_key, is_latest_snapshot "
        "from staging.stg_mdm__golden_customer_source_keys order by 1, 2, 3, 4",
    )
    d11, d12 = date(2026, 11, 11), date(2026, 11, 12)
    assert rows == [
        (d11, fx.G_ALICE, "crm", fx.ALICE, False),
        (d11, fx.G_ALICE, "erp", fx.C_ALICE, False),
        (d11, fx.G_BOB, "crm", fx.BOB, False),
        (d11, fx.G_BOB, "erp", fx.C_BOB, False),
        (d11, fx.G_DAN, "crm", fx.DAN, False),
        (d11, fx.G_DAN_2, "erp", fx.C_DAN, False),
        (d11, fx.G_ERIN, "crm", fx.ERIN, False),
        (d11, fx.G_ERIN, "erp", fx.C_FRANK, False),  # a wrong link...
        (d11, fx.G_ERIN, "erp", fx.C_ERIN, False),
        (d12, fx.G_ALICE, "crm", fx.ALICE, True),
        (d12, fx.G_ALICE, "erp", fx.C_ALICE, True),
        (d12, fx.G_BOB, "crm", fx.BOB, True),
        (d12, fx.G_BOB, "erp", fx.C_BOB, True),
        (d12, fx.G_DAN, "crm", fx.DAN, True),
        (d12, fx.G_DAN, "erp", fx.C_DAN, True),  # followed the survivor of the merge; the retired record has none
        (d12, fx.G_ERIN, "crm", fx.ERIN, True),
        (d12, fx.G_ERIN, "erp", fx.C_ERIN, True),
        (d12, fx.G_FRANK, "erp", fx.C_FRANK, True),  # ...corrected: the key moved to its own record
        (d12, fx.G_ROBERT, "erp", fx.C_ROBERT, True),
    ]


def test_mdm_identifiers_normalised_one_row_each(built):
    rows = _rows(
        built["dsn"],
        "select golden_id, identifier_type, identifier_value, email, phone_e164, is_primary, is_retired "
        "from staging.stg_mdm__golden_customer_identifiers order by 1, 2, 3",
    )
    assert rows == [
        (fx.G_ALICE, "email", "alice.smith@example.com", "alice.smith@example.com", None, True, False),
        (fx.G_ALICE, "email", "alice@work.example", "alice@work.example", None, False, False),
        (fx.G_ALICE, "phone", "+442079460018", None, "+442079460018", True, False),
        (fx.G_BOB, "email", "bob@example.org", "bob@example.org", None, True, False),
        (fx.G_BOB, "phone", "+442079460019", None, "+442079460019", True, False),
        (fx.G_DAN, "phone", "+447700900123", None, "+447700900123", True, False),
        (fx.G_DAN_2, "phone", "+447700900123", None, "+447700900123", True, True),
        (fx.G_ERIN, "email", "erin@example.co.uk", "erin@example.co.uk", None, True, False),
        (fx.G_FRANK, "email", "frank@example.net", "frank@example.net", None, True, False),
        # Bob's unmerged second record: 'Bob@Example.org' and '+44 20 7946 0019' match his first one
        (fx.G_ROBERT, "email", "bob@example.org", "bob@example.org", None, True, False),
        (fx.G_ROBERT, "phone", "+442079460019", None, "+442079460019", True, False),
    ]


# --- Logistics -----------------------------------------------------------------------------------------
def test_logistics_shipments(built):
    rows = _rows(
        built["dsn"],
        "select shipment_id, order_no, carrier, service_level, promised_delivery_date, batch_id "
        "from staging.stg_logistics__shipments order by shipment_id",
    )
    assert rows == [
        ("SH-0001", "SO-100045", "dpd", "standard", date(2026, 11, 13), "logistics.shipments.2026-11-11"),
        ("SH-0002", "SO-100031", "royal_mail", "express", date(2026, 11, 9), "logistics.shipments.2026-11-08"),
        # its scan arrived a day earlier (logistics.shipment_events.2026-11-11)
        ("SH-0003", "SO-100046", "evri", "click_and_collect", date(2026, 11, 14), "logistics.shipments.2026-11-12"),
    ]


def test_logistics_shipment_events_deduplicated_in_event_order(built):
    rows = _rows(
        built["dsn"],
        "select shipment_id, event_number, shipment_event_id, shipment_status, exception_reason, is_exception "
        "from staging.stg_logistics__shipment_events order by shipment_id, event_number",
    )
    assert rows == [
        ("SH-0001", 1, "SE-0101", "label_created", None, False),
        ("SH-0001", 2, "SE-0102", "picked", None, False),  # arrived after 'dispatched'
        ("SH-0001", 3, "SE-0103", "dispatched", None, False),
        ("SH-0001", 4, "SE-0104", "out_for_delivery", None, False),  # delivered in two parts, counted once
        ("SH-0001", 5, "SE-0105", "delivered", None, False),
        ("SH-0002", 1, "SE-0201", "dispatched", None, False),
        ("SH-0002", 2, "SE-0202", "out_for_delivery", None, False),
        ("SH-0002", 3, "SE-0203", "delivery_failed", "no_one_home", True),
        ("SH-0002", 4, "SE-0204", "out_for_delivery", None, False),
        ("SH-0002", 5, "SE-0205", "delivery_failed", "address_issue", True),  # 48 h late, listed before SE-0204
        ("SH-0003", 1, "SE-0301", "label_created", None, False),
    ]


def test_logistics_stockouts_one_row_with_latest_end(built):
    rows = _rows(
        built["dsn"],
        "select sku, location_id, started_at, ended_at, is_ongoing, duration_minutes, batch_id "
        "from staging.stg_logistics__stockouts order by started_at",
    )
    assert rows == [
        # open on the 10th, repeated ended on the 11th
        ("KET-200", "WH1", fx.ts("2026-11-10 06:00"), fx.ts("2026-11-11 18:30"), False, 2190, "logistics.stockouts.2026-11-11"),
        ("MUG-010", "ST-007", fx.ts("2026-11-12 09:00"), None, True, None, "logistics.stockouts.2026-11-12"),
        ("TOA-310", "WH1", fx.ts("2026-11-12 10:00"), fx.ts("2026-11-12 16:00"), False, 360, "logistics.stockouts.2026-11-12"),
    ]


# --- Contact centre ------------------------------------------------------------------------------------
def test_contact_center_interactions_last_version_and_customer(built):
    rows = _rows(
        built["dsn"],
        "select interaction_id, customer_email, customer_phone_e164, crm_contact_id, is_answered, is_bot_handled, "
        "bot_outcome, disposition, case_id, order_no, csat_score, batch_id "
        "from staging.stg_contact_center__interactions order by interaction_id",
    )
    assert rows == [
        # CSAT arrived the next day: the second version wins
        ("CCI-0001", None, "+442079460018", fx.ALICE, True, False, None, "follow_up", fx.K1, "SO-100045", 2, "contact_center.interaction.2026-11-11"),
        # '+44 07700 900123': the agent kept the trunk 0
        ("CCI-0002", None, "+447700900123", None, True, False, None, "escalated", fx.K6, "SO-100031", None, "contact_center.interaction.2026-11-11"),
        ("CCI-0003", "bob@example.org", None, None, True, True, "no_match", None, None, None, None, "contact_center.interaction.2026-11-11"),
        # '(020) 7946-0019 ext 12': the extension is not part of the number
        ("CCI-0004", None, "+442079460019", None, False, False, None, "abandoned", None, None, None, "contact_center.interaction.2026-11-11"),
        # returned on two pages: one row
        ("CCI-0005", "erin@example.co.uk", None, fx.ERIN, True, False, None, "resolved", None, None, None, "contact_center.interaction.2026-11-12"),
    ]


# --- Marketing -----------------------------------------------------------------------------------------
def test_marketing_email_events(built):
    rows = _rows(
        built["dsn"],
        "select email_event_id, email, event_type, is_machine_open, is_customer_interaction "
        "from staging.stg_marketing__email_events order by email_event_id",
    )
    assert rows == [
        # sent after Alice withdrew marketing_email consent: kept (a breach to report, never dropped)
        ("ME-0001", "alice.smith@example.com", "sent", False, False),
        ("ME-0002", "alice.smith@example.com", "delivered", False, False),
        ("ME-0003", "alice.smith@example.com", "opened", True, False),  # a privacy proxy, not Alice
        ("ME-0004", "bob@example.org", "sent", False, False),
        ("ME-0005", "bob@example.org", "delivered", False, False),
        ("ME-0006", "bob@example.org", "opened", False, True),
        ("ME-0007", "bob@example.org", "clicked", False, True),
        ("ME-0008", "erin@example.co.uk", "sent", False, False),
        ("ME-0009", "erin@example.co.uk", "bounced", False, False),
        ("ME-0010", "bob@example.org", "unsubscribed", False, True),  # delivered twice, counted once
    ]


def test_new_staging_models_are_tagged_pii_where_personal(built):
    """Every personal column of the new staging models carries the pii tag (the marts test relies on it)."""
    manifest = json.loads((built["target"] / "manifest.json").read_text())
    expected = {
        "stg_erp__customers": {"customer_name", "email", "phone_e164"},
        "stg_mdm__golden_customers": {"full_name", "primary_email", "primary_phone_e164", "birth_year"},
        "stg_mdm__golden_customer_identifiers": {"identifier_value", "email", "phone_e164"},
        "stg_contact_center__interactions": {"customer_email", "customer_phone_e164"},
        "stg_marketing__email_events": {"email"},
    }
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model" and node["name"] in expected:
            tagged = {name for name, column in node["columns"].items() if "pii" in column.get("tags", [])}
            assert tagged == expected[node["name"]], node["name"]
# fmt: on
