"""A small, hand-made raw layer for developing and testing the dbt project without the pipeline.

`load_fixture(dsn)` creates schemas `raw` and `restricted`, the raw tables exactly as the pipeline
creates them (from the source contracts), a pseudonymisation key and function, and inserts a few
customers' worth of CRM versions and web/app events that exercise every quirk the models handle:

CRM (nightly pulls by system_modstamp, 15-minute lookback)
  * Alice's contact: two versions, the second re-delivered by the lookback; email in mixed case with
    spaces, phone '+44 20 7946 0018' then '(020) 7946-0018'.
  * Carol's contact soft-deleted; more phone spellings ('+44 (0)20 ...', '0044 ...', 'n/a').
  * Case K1 (Alice, high): pending_customer -> reopened -> closed, 25 h: reopened + over standard (24 h).
  * Case K2 (Bob, low): open, one field edit that does not change the status.
  * Case K3 (guest, medium): resolved in 4 h, its version delivered twice (lookback).
  * Case K4 (Erin): soft-deleted: not a journey.
  * Case K5 (Alice, urgent, 8 h): resolved in 3 h -> open (reopen_count 1, reopened status never seen)
    -> resolved 41 h after creation.
  * Case K6 (Dan, medium): escalated and still open past its 72 h standard at the extraction horizon.
  * Case K7 (Dan, low): closed unanswered by the CRM's nightly job (no resolution): abandoned.
Web/app (hourly files, at least once, late, skewed clocks, bots)
  * J1 Alice buying, completed: a late (37 h) app event, then anonymous web events attributed through
    the session's login, a dead-end search, a failed then successful payment, order SO-100045
    delivered twice.
  * J2 Alice buying abandoned after checkout_started (checkout_abandoned).
  * Bob: account access (2 failed logins, a password reset, login) then two buying journeys split by a
    40-minute gap (one event 10 days behind and one 6 h ahead on the device clock: both corrected),
    and a journey still open at the data horizon.
  * Erin: a clean buying journey (no friction).
  * An anonymous Android device: 2 dead-end searches and an error (one abandoned buying journey), then
    2 failed logins and a give-up (abandoned account access).
  * An error_shown outside any journey, non-journey events, and bots (Googlebot, Baiduspider,
    HeadlessChrome) that search into a dead end and abandon a checkout.

Run as a script: `python tests/dbt/fixture_raw.py postgresql://postgres@127.0.0.1:5432/dbt_dev`.
"""

# The fixture tables below are kept one record per line, so that each reads as a row: long lines allowed.
# ruff: noqa: E501

from __future__ import annotations

import json
import sys
import uuid
from datetime import UTC, datetime, timedelta

import psycopg

from frictionflow.contracts import load_contract, to_copy_value

FIXTURE_PSEUDONYMISATION_KEY = "fixture-pseudonymisation-key"

ALICE = "003Kd00000AlIcE001"
BOB = "003Kd00000BoB00002"
CAROL = "003Kd00000CaRoL003"
DAN = "003Kd00000DaN00004"
ERIN = "003Kd00000ErIn0005"

# Data horizon: CRM extracted up to the end of 2026-11-12; web files loaded up to hour 23 of 2026-11-12.
HORIZON = datetime(2026, 11, 13, tzinfo=UTC)

RESTRICTED_SQL = """
create schema if not exists raw;
create schema if not exists restricted;
create table if not exists restricted.pseudonymisation_key (
    id boolean primary key default true check (id),
    key text not null
);
create or replace function restricted.pseudonymise(value text) returns text language sql stable
as $$ select encode(sha256(convert_to((select key from restricted.pseudonymisation_key) || '|' || value, 'UTF8')), 'hex') $$;
"""


def ts(text: str) -> datetime:
    """'2026-11-10 18:00' or '2026-11-10 18:00:05' (UTC) as an aware datetime."""
    fmt = "%Y-%m-%d %H:%M:%S" if text.count(":") == 2 else "%Y-%m-%d %H:%M"
    return datetime.strptime(text, fmt).replace(tzinfo=UTC)


def event_uuid(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"frictionflow-fixture/{name}"))


# --- CRM: nightly batches ------------------------------------------------------------------------------
# Batch crm-YYYYMMDD covers modstamps of the previous day, plus a 15-minute lookback.
def crm_batch(night: str) -> dict:
    end = ts(f"{night} 00:00")
    return {
        "_batch_id": f"crm-{night.replace('-', '')}",
        "_data_interval_start": end - timedelta(days=1),
        "_data_interval_end": end,
        "_loaded_at": end + timedelta(hours=1, minutes=5),
    }


N1, N2, N3, N4 = "2026-11-10", "2026-11-11", "2026-11-12", "2026-11-13"

# fmt: off
CONTACTS = [
    # night, contact_id, first, last, email, phone, country, created, modstamp, deleted
    (N1, ALICE, "Alice", "Smith", " Alice.Smith@Example.COM ", "+44 20 7946 0018", "GB", "2026-10-01 09:00", "2026-11-01 10:00", False),
    (N1, ALICE, "Alice", "Smith", "ALICE.SMITH@EXAMPLE.COM  ", "(020) 7946-0018", "GB", "2026-10-01 09:00", "2026-11-09 23:50", False),
    (N2, ALICE, "Alice", "Smith", "ALICE.SMITH@EXAMPLE.COM  ", "(020) 7946-0018", "GB", "2026-10-01 09:00", "2026-11-09 23:50", False),  # lookback
    (N1, BOB, "Bob", "Jones", "bob@example.org", "02079460019", "GB", "2026-10-05 12:00", "2026-11-05 12:00", False),
    (N1, CAROL, "Carol", "White", None, "+44 (0)20 7946 0020", "GB", "2026-10-02 08:00", "2026-11-02 08:00", False),
    (N2, CAROL, "Carol", "White", None, "+44 (0)20 7946 0020", "GB", "2026-10-02 08:00", "2026-11-10 08:00", True),
    (N1, DAN, None, "Brown", "  ", "0044 7700 900123", "gb", "2026-10-07 10:00", "2026-11-07 10:00", False),
    (N1, ERIN, "Erin", "Green", "Erin@Example.co.uk", "n/a", "GB", "2026-10-08 10:00", "2026-11-08 10:00", False),
]

K1, K2, K3, K4, K5, K6, K7 = (f"500Kd00000CaSe000{i}" for i in range(1, 8))

CASES = [
    # night, case_id, contact, origin, category, priority, status, order_ref, created, first_response,
    # resolved, closed, reopen_count, modstamp, deleted
    (N2, K1, ALICE, "web", "delivery", "high", "pending_customer", "SO-100045", "2026-11-10 08:00", "2026-11-10 09:00", None, None, 0, "2026-11-10 12:00", False),
    (N3, K1, ALICE, "web", "delivery", "high", "reopened", "SO-100045", "2026-11-10 08:00", "2026-11-10 09:00", None, None, 1, "2026-11-11 15:00", False),
    (N4, K1, ALICE, "web", "delivery", "high", "closed", "SO-100045", "2026-11-10 08:00", "2026-11-10 09:00", "2026-11-12 09:00", "2026-11-12 10:00", 1, "2026-11-12 10:00", False),
    (N3, K2, BOB, "email", "billing", "low", "open", None, "2026-11-11 09:00", "2026-11-11 10:00", None, None, 0, "2026-11-11 10:00", False),
    (N4, K2, BOB, "email", "billing", "low", "open", None, "2026-11-11 09:00", "2026-11-11 10:00", None, None, 0, "2026-11-12 14:00", False),
    (N2, K3, None, "phone", "returns", "medium", "resolved", None, "2026-11-10 10:00", "2026-11-10 10:30", "2026-11-10 14:00", None, 0, "2026-11-10 23:50", False),
    (N3, K3, None, "phone", "returns", "medium", "resolved", None, "2026-11-10 10:00", "2026-11-10 10:30", "2026-11-10 14:00", None, 0, "2026-11-10 23:50", False),  # lookback
    (N2, K4, ERIN, "web", "other", "low", "new", None, "2026-11-10 11:00", None, None, None, 0, "2026-11-10 11:00", False),
    (N3, K4, ERIN, "web", "other", "low", "new", None, "2026-11-10 11:00", None, None, None, 0, "2026-11-11 09:00", True),
    (N1, K5, ALICE, "chat", "technical", "urgent", "resolved", None, "2026-11-09 20:00", "2026-11-09 20:05", "2026-11-09 23:00", None, 0, "2026-11-09 23:00", False),
    (N2, K5, ALICE, "chat", "technical", "urgent", "open", None, "2026-11-09 20:00", "2026-11-09 20:05", None, None, 1, "2026-11-10 11:00", False),
    (N3, K5, ALICE, "chat", "technical", "urgent", "resolved", None, "2026-11-09 20:00", "2026-11-09 20:05", "2026-11-11 13:00", None, 1, "2026-11-11 13:00", False),
    (N1, K6, DAN, "phone", "delivery", "medium", "new", "SO-100031", "2026-11-09 18:00", None, None, None, 0, "2026-11-09 18:00", False),
    (N3, K6, DAN, "phone", "delivery", "medium", "escalated", "SO-100031", "2026-11-09 18:00", "2026-11-10 09:00", None, None, 0, "2026-11-11 18:00", False),
    (N1, K7, DAN, "email", "billing", "low", "pending_customer", None, "2026-11-03 09:00", "2026-11-03 10:00", None, None, 0, "2026-11-03 10:05", False),
    (N2, K7, DAN, "email", "billing", "low", "closed", None, "2026-11-03 09:00", "2026-11-03 10:00", None, "2026-11-10 23:52", 0, "2026-11-10 23:52", False),
    (N3, K7, DAN, "email", "billing", "low", "closed", None, "2026-11-03 09:00", "2026-11-03 10:00", None, "2026-11-10 23:52", 0, "2026-11-10 23:52", False),  # lookback
]

CONSENTS = [
    # night, consent_id, contact, purpose, status, captured, channel, modstamp, deleted
    (N1, "CNS-0001", ALICE, "marketing_email", "granted", "2026-10-01 09:05", "web", "2026-10-01 09:05", False),
    (N2, "CNS-0001", ALICE, "marketing_email", "withdrawn", "2026-11-10 07:30", "email", "2026-11-10 07:30", False),
    (N1, "CNS-0002", BOB, "analytics", "granted", "2026-10-05 12:01", "app", "2026-10-05 12:01", False),
]

ERASURE_REQUESTS = [
    # night, request_id, contact, requested, modstamp, deleted
    (N2, "ERQ-0001", CAROL, "2026-11-10 09:00", "2026-11-10 09:00", False),
]

# fmt: on

# --- Web/app events ------------------------------------------------------------------------------------
UA_WEB = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
UA_IOS = "FrictionFlowShop/4.2 (iPhone; iOS 18.1)"
UA_ANDROID = "FrictionFlowShop/4.2 (Android 15; Pixel 8)"
UA_GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
UA_BAIDU = "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)"
UA_HEADLESS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36"
)

D_ALICE_WEB, D_ALICE_IOS = event_uuid("device/alice-web"), event_uuid("device/alice-ios")
D_BOB_WEB, D_ERIN_WEB = event_uuid("device/bob-web"), event_uuid("device/erin-web")
D_ANON_ANDROID = event_uuid("device/anonymous-android")
D_GOOGLEBOT, D_BAIDU, D_HEADLESS = (
    event_uuid("device/googlebot"),
    event_uuid("device/baidu"),
    event_uuid("device/headless"),
)

DEVICES = {
    # anonymous_id: (platform, user agent, ip)
    D_ALICE_WEB: ("web", UA_WEB, "203.0.113.10"),
    D_ALICE_IOS: ("ios", UA_IOS, "198.51.100.7"),
    D_BOB_WEB: ("web", UA_WEB, "203.0.113.22"),
    D_ERIN_WEB: ("web", UA_WEB, "203.0.113.41"),
    D_ANON_ANDROID: ("android", UA_ANDROID, "198.51.100.99"),
    D_GOOGLEBOT: ("web", UA_GOOGLEBOT, "66.249.66.1"),
    D_BAIDU: ("web", UA_BAIDU, "180.76.15.5"),
    D_HEADLESS: ("web", UA_HEADLESS, "192.0.2.200"),
}

# fmt: off
# name, event_name, device, user, session, received_at, device clock offset (minutes; None = 1 s before
# received), page, properties
EVENTS = [
    # J1: Alice buys a kettle; starts on her phone (offline: delivered 37 h late), continues on the web.
    ("j1-app-view", "product_view", D_ALICE_IOS, ALICE, "s-alice-ios-1", "2026-11-12 07:00", -(37 * 60 + 10), "ProductDetail", {"sku": "KET-200"}),
    ("j1-search-dead", "search", D_ALICE_WEB, None, "s-alice-web-1", "2026-11-10 18:00", None, "/search?q=kettel", {"query": "kettel", "results_count": 0}),
    ("j1-search-ok", "search", D_ALICE_WEB, None, "s-alice-web-1", "2026-11-10 18:01", None, "/search?q=kettle", {"query": "kettle", "results_count": 12}),
    ("j1-view", "product_view", D_ALICE_WEB, None, "s-alice-web-1", "2026-11-10 18:03", None, "/p/KET-200?ref=search", {"sku": "KET-200"}),
    ("j1-cart", "add_to_cart", D_ALICE_WEB, None, "s-alice-web-1", "2026-11-10 18:04", 1.5, "/p/KET-200", {"sku": "KET-200", "qty": 1}),
    ("j1-login", "login", D_ALICE_WEB, ALICE, "s-alice-web-1", "2026-11-10 18:06", None, "/login", {}),
    ("j1-checkout", "checkout_started", D_ALICE_WEB, ALICE, "s-alice-web-1", "2026-11-10 18:08", None, "/checkout", {}),
    ("j1-pay-1", "payment_submitted", D_ALICE_WEB, ALICE, "s-alice-web-1", "2026-11-10 18:10", None, "/checkout/payment", {}),
    ("j1-pay-failed", "checkout_failed", D_ALICE_WEB, ALICE, "s-alice-web-1", "2026-11-10 18:11", None, "/checkout/payment", {"reason": "card_declined"}),
    ("j1-pay-2", "payment_submitted", D_ALICE_WEB, ALICE, "s-alice-web-1", "2026-11-10 18:13", None, "/checkout/payment", {}),
    ("j1-order", "order_completed", D_ALICE_WEB, ALICE, "s-alice-web-1", "2026-11-10 18:14", None, "/checkout/done", {"order_no": "SO-100045", "total": 59.9, "voucher": "WINTER"}),
    # J2: Alice starts a checkout and leaves.
    ("j2-view", "product_view", D_ALICE_WEB, ALICE, "s-alice-web-2", "2026-11-11 20:00", None, "/p/MUG-010", {"sku": "MUG-010"}),
    ("j2-cart", "add_to_cart", D_ALICE_WEB, ALICE, "s-alice-web-2", "2026-11-11 20:02", None, "/p/MUG-010", {"sku": "MUG-010"}),
    ("j2-checkout", "checkout_started", D_ALICE_WEB, ALICE, "s-alice-web-2", "2026-11-11 20:04", None, "/checkout", {}),
    # Alice later: an error outside any journey, and events that are no journey of this slice.
    ("alice-orders", "page_view", D_ALICE_WEB, ALICE, "s-alice-web-3", "2026-11-12 10:00", None, "/account/orders", {}),
    ("alice-error", "error_shown", D_ALICE_WEB, ALICE, "s-alice-web-3", "2026-11-12 10:01", None, "/account/orders/SO-100045", {"error_code": "E404"}),
    ("alice-tracking", "order_tracking_viewed", D_ALICE_WEB, ALICE, "s-alice-web-3", "2026-11-12 10:02", None, "/account/orders/SO-100045/tracking", {"order_no": "SO-100045"}),
    ("alice-help", "help_article_view", D_ALICE_WEB, ALICE, "s-alice-web-3", "2026-11-12 10:05", None, "/help/late-delivery", {"article_id": "HA-77"}),
    # Bob: trouble logging in, then a journey split by inactivity, with skewed device clocks.
    ("bob-login-failed-1", "login_failed", D_BOB_WEB, None, "s-bob-web-1", "2026-11-11 11:50", None, "/login", {"reason": "wrong_password"}),
    ("bob-login-failed-2", "login_failed", D_BOB_WEB, None, "s-bob-web-1", "2026-11-11 11:51", None, "/login", {"reason": "wrong_password"}),
    ("bob-reset", "password_reset", D_BOB_WEB, None, "s-bob-web-1", "2026-11-11 11:52", None, "/login/reset", {}),
    ("bob-login", "login", D_BOB_WEB, BOB, "s-bob-web-1", "2026-11-11 11:58", None, "/login", {}),
    ("j3a-view-1", "product_view", D_BOB_WEB, BOB, "s-bob-web-1", "2026-11-11 12:00", None, "/p/TOA-300", {"sku": "TOA-300"}),
    ("j3a-view-2", "product_view", D_BOB_WEB, BOB, "s-bob-web-1", "2026-11-11 12:10", -10 * 24 * 60, "/p/TOA-310", {"sku": "TOA-310"}),
    ("j3b-view", "product_view", D_BOB_WEB, BOB, "s-bob-web-1", "2026-11-11 12:50", None, "/p/TOA-300", {"sku": "TOA-300"}),
    ("j3b-cart", "add_to_cart", D_BOB_WEB, BOB, "s-bob-web-1", "2026-11-11 12:55", 6 * 60, "/p/TOA-300", {"sku": "TOA-300"}),
    ("j3b-checkout", "checkout_started", D_BOB_WEB, BOB, "s-bob-web-1", "2026-11-11 12:57", None, "/checkout", {}),
    ("j3b-pay", "payment_submitted", D_BOB_WEB, BOB, "s-bob-web-1", "2026-11-11 12:59", None, "/checkout/payment", {}),
    ("j3b-order", "order_completed", D_BOB_WEB, BOB, "s-bob-web-1", "2026-11-11 13:00", None, "/checkout/done", {"order_no": "SO-100046", "total": 34.5}),
    # Bob just before the horizon: still open.
    ("bob-open-view", "product_view", D_BOB_WEB, BOB, "s-bob-web-2", "2026-11-12 23:45", None, "/p/KET-200", {"sku": "KET-200"}),
    # Erin: a clean purchase.
    ("erin-view", "product_view", D_ERIN_WEB, ERIN, "s-erin-web-1", "2026-11-10 14:00", None, "/p/MUG-010", {"sku": "MUG-010"}),
    ("erin-cart", "add_to_cart", D_ERIN_WEB, ERIN, "s-erin-web-1", "2026-11-10 14:01", None, "/p/MUG-010", {"sku": "MUG-010"}),
    ("erin-checkout", "checkout_started", D_ERIN_WEB, ERIN, "s-erin-web-1", "2026-11-10 14:02", None, "/checkout", {}),
    ("erin-pay", "payment_submitted", D_ERIN_WEB, ERIN, "s-erin-web-1", "2026-11-10 14:03", None, "/checkout/payment", {}),
    ("erin-order", "order_completed", D_ERIN_WEB, ERIN, "s-erin-web-1", "2026-11-10 14:04", None, "/checkout/done", {"order_no": "SO-100044", "total": 12.0}),
    # An Android device that never logs in: dead ends, an error, then failed logins and a give-up.
    ("anon-search-1", "search", D_ANON_ANDROID, None, "s-anon-1", "2026-11-12 08:00", None, "SearchResults", {"query": "descaler", "results_count": 0}),
    ("anon-search-2", "search", D_ANON_ANDROID, None, "s-anon-1", "2026-11-12 08:02", None, "SearchResults", {"query": "kettle descaler", "results_count": "0"}),
    ("anon-error", "error_shown", D_ANON_ANDROID, None, "s-anon-1", "2026-11-12 08:03", None, "SearchResults", {"error_code": "E500"}),
    ("anon-login-failed-1", "login_failed", D_ANON_ANDROID, None, "s-anon-2", "2026-11-12 09:00", None, "Login", {"reason": "unknown_account"}),
    ("anon-login-failed-2", "login_failed", D_ANON_ANDROID, None, "s-anon-2", "2026-11-12 09:01", None, "Login", {"reason": "unknown_account"}),
    # Bots and monitors: not customers.
    ("bot-google-search", "search", D_GOOGLEBOT, None, "s-bot-1", "2026-11-12 03:00", None, "/search?q=zzz", {"query": "zzz", "results_count": 0}),
    ("bot-google-view", "product_view", D_GOOGLEBOT, None, "s-bot-1", "2026-11-12 03:01", None, "/p/KET-200", {"sku": "KET-200"}),
    ("bot-baidu-page", "page_view", D_BAIDU, None, "s-bot-2", "2026-11-12 04:00", None, "/", {}),
    ("bot-headless-view", "product_view", D_HEADLESS, None, "s-bot-3", "2026-11-12 05:00", None, "/p/MUG-010", {"sku": "MUG-010"}),
    ("bot-headless-cart", "add_to_cart", D_HEADLESS, None, "s-bot-3", "2026-11-12 05:01", None, "/p/MUG-010", {"sku": "MUG-010"}),
    ("bot-headless-checkout", "checkout_started", D_HEADLESS, None, "s-bot-3", "2026-11-12 05:02", None, "/checkout", {}),
    ("bot-headless-error", "error_shown", D_HEADLESS, None, "s-bot-3", "2026-11-12 05:03", None, "/checkout", {"error_code": "E500"}),
]
# fmt: on

# Re-deliveries (at least once): (event name, received_at of the second delivery).
REDELIVERED = [
    ("j1-order", "2026-11-10 18:14"),  # same collector time, a second file
    ("j1-search-dead", "2026-11-10 19:02"),  # received again an hour later
    ("bot-headless-checkout", "2026-11-12 05:02"),
]


def _web_rows() -> list[dict]:
    rows = []
    for name, event_name, device, user, session, received, offset, page, properties in EVENTS:
        platform, agent, ip = DEVICES[device]
        received_at = ts(received)
        device_ts = received_at - timedelta(seconds=1) if offset is None else received_at + timedelta(minutes=offset)
        rows.append(
            {
                "event_id": event_uuid(name),
                "event_name": event_name,
                "device_ts": device_ts,
                "received_at": received_at,
                "anonymous_id": device,
                "user_id": user,
                "session_id": session,
                "platform": platform,
                "page": page,
                "referrer": None,
                "user_agent": agent,
                "ip_address": ip,
                "properties": properties,
            }
        )
    by_name = {name: row for (name, *_), row in zip(EVENTS, rows, strict=True)}
    for name, received in REDELIVERED:
        rows.append({**by_name[name], "received_at": ts(received), "_redelivery": True})
    return rows


def _web_metadata(row: dict, record_number: int) -> dict:
    hour = row["received_at"].replace(minute=0, second=0, microsecond=0)
    # A re-delivery arrives in the next hour's file.
    file_hour = hour + timedelta(hours=1) if row.pop("_redelivery", False) else hour
    return {
        "_batch_id": f"web-{file_hour:%Y%m%dT%H}",
        "_source_location": f"web_analytics/{file_hour:%Y-%m-%d}/{file_hour:%H}.jsonl.gz",
        "_record_number": record_number,
        "_loaded_at": file_hour + timedelta(hours=1, minutes=10),
        "_data_interval_start": file_hour,
        "_data_interval_end": file_hour + timedelta(hours=1),
    }


def _crm_rows(entity: str, columns: list[str], rows: list[tuple]) -> list[dict]:
    out = []
    for record_number, (night, *values) in enumerate(rows, start=1):
        record = dict(zip(columns, values, strict=True))
        for key, value in record.items():
            if isinstance(value, str) and (key.endswith("_at") or key == "system_modstamp") and value[:2] == "20":
                record[key] = ts(value)
        meta = crm_batch(night)
        record.update(meta)
        record["_source_location"] = (
            f"crm.{entity} where system_modstamp >= {meta['_data_interval_start'] - timedelta(minutes=15):%Y-%m-%dT%H:%M}Z"
        )
        record["_record_number"] = record_number
        out.append(record)
    return out


def fixture_rows() -> dict[str, list[dict]]:
    """Raw table name -> rows (contract columns plus load metadata)."""
    crm = load_contract("crm").entities
    web = load_contract("web_analytics").entities["event"]
    web_rows = _web_rows()
    return {
        crm["contact"].raw_table: _crm_rows("contact", crm["contact"].column_names, CONTACTS),
        crm["case"].raw_table: _crm_rows("case", crm["case"].column_names, CASES),
        crm["consent"].raw_table: _crm_rows("consent", crm["consent"].column_names, CONSENTS),
        crm["erasure_request"].raw_table: _crm_rows(
            "erasure_request", crm["erasure_request"].column_names, ERASURE_REQUESTS
        ),
        web.raw_table: [{**row, **_web_metadata(row, n)} for n, row in enumerate(web_rows, start=1)],
    }


def load_fixture(dsn: str, pseudonymisation_key: str = FIXTURE_PSEUDONYMISATION_KEY) -> dict[str, int]:
    """Create raw + restricted in the database at `dsn` and (re)load the fixture; returns rows per table."""
    entities = [*load_contract("crm").entities.values(), load_contract("web_analytics").entities["event"]]
    by_table = {entity.raw_table: entity for entity in entities}
    counts = {}
    with psycopg.connect(dsn, autocommit=False) as conn:
        conn.execute(RESTRICTED_SQL)
        conn.execute(
            "insert into restricted.pseudonymisation_key (id, key) values (true, %s) "
            "on conflict (id) do update set key = excluded.key",
            (pseudonymisation_key,),
        )
        for table, rows in fixture_rows().items():
            entity = by_table[table]
            conn.execute(entity.create_raw_table_sql())
            conn.execute(f"truncate {entity.qualified_raw_table}")
            columns = [
                *entity.column_names,
                "_batch_id",
                "_source_location",
                "_record_number",
                "_loaded_at",
                "_data_interval_start",
                "_data_interval_end",
            ]
            quoted = ", ".join(f'"{c}"' for c in columns)
            with conn.cursor().copy(f"copy {entity.qualified_raw_table} ({quoted}) from stdin") as copy:
                for row in rows:
                    copy.write_row([to_copy_value(row[c]) for c in columns])
            counts[table] = len(rows)
        conn.commit()
    return counts


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1:5432/dbt_dev"
    print(json.dumps(load_fixture(target), indent=2))
