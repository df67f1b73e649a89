"""A small, hand-made raw layer for developing and testing the dbt project without the pipeline.

`load_fixture(dsn)` creates schemas `raw` and `restricted`, the raw tables exactly as the pipeline
creates them (from the source contracts), a pseudonymisation key and function, and inserts a few
customers' worth of CRM versions and web/app events that exercise every quirk the models handle:

CRM (nightly pulls by system_modstamp, 15-minute lookback)
  * Alice's contact: two versions, the second re-delivered by the lookback; email in mixed case with
    spaces, phone '+44 20 7946 0018' then '(020) 7946-0018'.
  * Carol's contact soft-deleted; more phone spellings ('+44 (0)20 ...', '0044 ...', 'n/a').
  * Case K1 (Alice, high): pending_customer -> reopened -> resolved after 37 business hours: reopened +
    over standard (24 business hours, 08:00-20:00 London every day: due 11 Nov 20:00).
  * Case K2 (Bob, low): open, one field edit that does not change the status.
  * Case K3 (guest, medium): resolved in 4 h, its version delivered twice (lookback).
  * Case K4 (Erin): soft-deleted: not a journey.
  * Case K5 (Alice, urgent, 8 h): created at 20:00 as the service closes, so due 10 Nov 16:00; resolved
    in 3 h -> open (reopen_count 1, reopened status never seen) -> resolved 41 h after creation.
  * Case K6 (Dan, medium): created Friday 6 Nov 18:00, escalated and still open past its standard (72
    business hours: due 12 Nov 18:00) at the extraction horizon.
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
ERP (a CSV file set per business date, delta by changed_at, London offsets)
  * Customers of Alice (changed on the 11th), Bob, Dan, Erin, Frank (Irish), and Robert: Bob's second account.
  * SO-100045 paid, shipped, delivered in three file sets; SO-099000 ordered in summer (+01:00), returned;
    SO-100047 a guest store order; a line of SO-100031 cancelled for a stock-out the next day; a declined
    then captured payment.
MDM (full snapshots of the 11th and 12th)
  * Dan's two golden records merged on the 12th (the retired one lists no key, merged_into the survivor);
    Frank's ERP key wrongly on Erin's record moves to his own (a split); Bob's unmerged second record.
Logistics (Parquet parts by upload date)
  * Scans out of order and 48 h late, one scan in two parts, SH-0003's scan before its shipment row;
    a stock-out repeated with ended_at set, one still open.
Contact centre (API pages by updated_at)
  * A call whose CSAT arrives the next day (last version wins), phones typed '+44 07700 ...' and with an
    extension, a chatbot dead end, a call abandoned in the queue, an email returned on two pages.
Marketing (daily CSV)
  * A send to Alice after her marketing_email consent was withdrawn, a machine open, human opens and clicks,
    a soft bounce, an unsubscribe delivered twice.

Run as a script: `python tests/dbt/fixture_raw.py postgresql://postgres@127.0.0.1:5432/dbt_dev`.
"""

# The fixture tables below are kept one record per line, so that each reads as a row: long lines allowed.
# ruff: noqa: E501

from __future__ import annotations

import json
import secrets
import sys
import uuid
from datetime import UTC, datetime, timedelta

import psycopg

from frictionflow.contracts import all_systems, load_contract, to_copy_value

FIXTURE_PSEUDONYMISATION_KEY = secrets.token_urlsafe(16)  # per run: the tests hash with the same value

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
    (N1, K6, DAN, "phone", "delivery", "medium", "new", "SO-100031", "2026-11-06 18:00", None, None, None, 0, "2026-11-09 18:00", False),
    (N3, K6, DAN, "phone", "delivery", "medium", "escalated", "SO-100031", "2026-11-06 18:00", "2026-11-10 09:00", None, None, 0, "2026-11-11 18:00", False),
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


# --- ERP, MDM, logistics, contact centre, marketing --------------------------------------------------
# One batch per source entity and business date, as the pipeline names them (nightly.day_batch_id);
# November in London is UTC, so a business date's data interval is that UTC day.
def day_batch(system: str, entity: str, day: str, location: str, loaded: str | None = None) -> dict:
    start = ts(f"{day} 00:00")
    return {
        "_batch_id": f"{system}.{entity}.{day}",
        "_source_location": location,
        "_data_interval_start": start,
        "_data_interval_end": start + timedelta(days=1),
        "_loaded_at": ts(loaded) if loaded else start + timedelta(days=1, hours=1, minutes=30),
    }


def tstz(text: str | None) -> datetime | None:
    """An ISO-8601 timestamp with its offset ('2026-07-01T09:00:00+01:00'), or a UTC one as `ts` takes it."""
    if text is None:
        return None
    return datetime.fromisoformat(text) if "T" in text else ts(text)


C_ALICE, C_BOB, C_DAN, C_FRANK, C_ERIN, C_ROBERT = (f"C000000000{i}" for i in range(1, 7))
E1, E2, E3 = "2026-11-10", "2026-11-11", "2026-11-12"

# fmt: off
# ERP file sets (delta by changed_at: a changed record reappears in the set of the day it changed). A re-delivered
# revision would already have replaced its date's rows in raw. Timestamps as the files write them: London offset.
ERP_CUSTOMERS = [
    # business date, customer_no, name, email, phone, billing_country, created_at, changed_at
    (E1, C_ALICE, "Smith, Alice", "Alice.Smith@Example.com", "020 7946 0018", "GB", "2026-10-01T09:00:00+01:00", "2026-11-10T10:00:00+00:00"),
    (E2, C_ALICE, "Smith, Alice", " alice.smith@example.com ", "+44 (0)20 7946 0018", "GB", "2026-10-01T09:00:00+01:00", "2026-11-11T09:30:00+00:00"),
    (E1, C_BOB, "Bob Jones", "BOB@example.org", "0044 20 7946 0019", "gb", "2026-11-10T08:00:00+00:00", "2026-11-10T08:00:00+00:00"),
    (E1, C_DAN, 'Dan "DB" Brown', None, "07700 900123", "GB", "2026-09-15T12:00:00+01:00", "2026-11-10T07:00:00+00:00"),
    (E1, C_FRANK, "Frank Moore", "frank@example.net", None, "IE", "2026-06-20T15:00:00+01:00", "2026-11-10T12:00:00+00:00"),
    (E1, C_ERIN, "Erin Green", "erin@example.co.uk ", "+44 7700 900555", "GB", "2026-11-10T14:04:00+00:00", "2026-11-10T14:04:00+00:00"),
    (E3, C_ROBERT, "Robert Jones", " bob@example.org", "02079460019", "GB", "2026-11-12T09:00:00+00:00", "2026-11-12T09:00:00+00:00"),
]

ERP_SALES_ORDERS = [
    # business date, order_no, customer_no, order_ts, channel, store_id, status, currency, total, changed_at
    (E1, "SO-099000", C_FRANK, "2026-07-01T09:00:00+01:00", "web", None, "returned", "EUR", "79.00", "2026-11-10T12:00:00+00:00"),
    (E1, "SO-100031", C_DAN, "2026-11-05T10:00:00+00:00", "phone", None, "shipped", "GBP", "89.00", "2026-11-10T07:00:00+00:00"),
    (E1, "SO-100044", C_ERIN, "2026-11-10T14:04:00+00:00", "web", None, "paid", "GBP", "12.00", "2026-11-10T14:04:30+00:00"),
    (E1, "SO-100045", C_ALICE, "2026-11-10T18:14:00+00:00", "web", None, "paid", "GBP", "59.90", "2026-11-10T18:14:30+00:00"),
    (E2, "SO-100045", C_ALICE, "2026-11-10T18:14:00+00:00", "web", None, "shipped", "GBP", "59.90", "2026-11-11T17:00:00+00:00"),
    (E3, "SO-100045", C_ALICE, "2026-11-10T18:14:00+00:00", "web", None, "delivered", "GBP", "59.90", "2026-11-12T15:40:00+00:00"),
    (E2, "SO-100046", C_BOB, "2026-11-11T13:00:00+00:00", "web", None, "paid", "GBP", "34.50", "2026-11-11T13:00:30+00:00"),
    (E3, "SO-100047", None, "2026-11-12T11:00:00+00:00", "store", "ST-007", "delivered", "gbp", "12.00", "2026-11-12T11:00:00+00:00"),
]

ERP_ORDER_LINES = [
    # business date, order_no, line_no, sku, quantity, unit_price, line_status, changed_at
    (E1, "SO-100031", 1, "TOA-310", 1, "45.00", "ok", "2026-11-10T07:00:00+00:00"),
    (E1, "SO-100031", 2, "KET-200", 1, "44.00", "ok", "2026-11-10T07:00:00+00:00"),
    (E2, "SO-100031", 2, "KET-200", 1, "44.00", "cancelled_stockout", "2026-11-11T09:00:00+00:00"),
    (E1, "SO-100044", 1, "MUG-010", 1, "12.00", "ok", "2026-11-10T14:04:30+00:00"),
    (E1, "SO-100045", 1, "KET-200", 1, "59.90", "ok", "2026-11-10T18:14:30+00:00"),
    (E2, "SO-100046", 1, "TOA-300", 1, "34.50", "ok", "2026-11-11T13:00:30+00:00"),
    (E3, "SO-100047", 1, "MUG-010", 2, "6.00", "ok", "2026-11-12T11:00:00+00:00"),
]

ERP_PAYMENTS = [
    # business date, payment_id, order_no, attempt_ts, method, amount, status, decline_code, changed_at
    (E1, "PAY-0001", "SO-100045", "2026-11-10T18:10:30+00:00", "card", "59.90", "declined", "do_not_honor", "2026-11-10T18:10:31+00:00"),
    (E1, "PAY-0002", "SO-100045", "2026-11-10T18:13:30+00:00", "card", "59.90", "authorized", None, "2026-11-10T18:13:31+00:00"),
    (E2, "PAY-0002", "SO-100045", "2026-11-10T18:13:30+00:00", "card", "59.90", "captured", None, "2026-11-11T17:00:00+00:00"),
    (E1, "PAY-0003", "SO-100044", "2026-11-10T14:03:30+00:00", "paypal", "12.00", "captured", None, "2026-11-10T14:04:00+00:00"),
    (E2, "PAY-0004", "SO-100046", "2026-11-11T12:59:30+00:00", "bnpl", "34.50", "authorized", None, "2026-11-11T13:00:00+00:00"),
    (E3, "PAY-0005", "SO-100047", "2026-11-12T11:00:00+00:00", "gift_card", "12.00", "captured", None, "2026-11-12T11:00:00+00:00"),
]

ERP_RETURNS = [
    # business date, return_id, order_no, requested_at, reason, status, changed_at
    (E1, "RET-0001", "SO-099000", "2026-11-10T11:00:00+00:00", "damaged", "requested", "2026-11-10T11:00:00+00:00"),
    (E3, "RET-0001", "SO-099000", "2026-11-10T11:00:00+00:00", "damaged", "refunded", "2026-11-12T10:00:00+00:00"),
]

# MDM: full snapshots for 2026-11-11 and 2026-11-12. Dan has two golden records merged on the 12th (the retired one
# lists no key and points at the survivor); Frank's ERP key, wrongly on Erin's record, moves to his own (a split);
# Bob's second ERP account is still on its own record (an unmerged duplicate, linkable by email and phone).
G_ALICE, G_BOB, G_DAN, G_DAN_2, G_ERIN, G_FRANK, G_ROBERT = (f"G-00000000{i}" for i in range(1, 8))
MDM_SNAPSHOTS = {
    E2: [
        # golden_id, full_name, primary_email, emails, primary_phone, phones, birth_year, country, segment, source_keys, merged_into, updated_at
        (G_ALICE, "Alice Smith", "Alice.Smith@example.com", ["Alice.Smith@example.com", "alice@work.example"], "+442079460018", ["+442079460018"], 1985, "GB", "consumer", [("crm", ALICE), ("erp", C_ALICE)], None, "2026-11-01 10:00"),
        (G_BOB, "Bob Jones", "bob@example.org", ["bob@example.org"], "+442079460019", ["+442079460019"], None, "GB", "consumer", [("crm", BOB), ("erp", C_BOB)], None, "2026-11-10 09:00"),
        (G_DAN, "Dan Brown", None, [], "+447700900123", ["+447700900123"], 1979, "GB", "small_business", [("crm", DAN)], None, "2026-11-07 10:00"),
        (G_DAN_2, "Daniel Brown", None, [], "+447700900123", ["+447700900123"], 1979, "GB", "small_business", [("erp", C_DAN)], None, "2026-11-10 08:00"),
        (G_ERIN, "Erin Green", "erin@example.co.uk", ["erin@example.co.uk"], None, [], 1992, "GB", "consumer", [("crm", ERIN), ("erp", C_ERIN), ("erp", C_FRANK)], None, "2026-11-10 15:00"),
    ],
    E3: [
        (G_ALICE, "Alice Smith", "Alice.Smith@example.com", ["Alice.Smith@example.com", "alice@work.example"], "+442079460018", ["+442079460018"], 1985, "GB", "consumer", [("crm", ALICE), ("erp", C_ALICE)], None, "2026-11-01 10:00"),
        (G_BOB, "Bob Jones", "bob@example.org", ["bob@example.org"], "+442079460019", ["+442079460019"], None, "GB", "consumer", [("crm", BOB), ("erp", C_BOB)], None, "2026-11-10 09:00"),
        (G_DAN, "Dan Brown", None, [], "+447700900123", ["+447700900123"], 1979, "GB", "small_business", [("crm", DAN), ("erp", C_DAN)], None, "2026-11-12 08:00"),
        (G_DAN_2, "Daniel Brown", None, [], "+447700900123", ["+447700900123"], 1979, "GB", "small_business", [], G_DAN, "2026-11-12 08:00"),
        (G_ERIN, "Erin Green", "erin@example.co.uk", ["erin@example.co.uk"], None, [], 1992, "GB", "consumer", [("crm", ERIN), ("erp", C_ERIN)], None, "2026-11-12 09:00"),
        (G_FRANK, "Frank Moore", "frank@example.net", ["frank@example.net"], None, [], None, "IE", "consumer", [("erp", C_FRANK)], None, "2026-11-12 09:00"),
        (G_ROBERT, "Robert Jones", "Bob@Example.org", ["Bob@Example.org"], "+44 20 7946 0019", ["+44 20 7946 0019"], None, "GB", "consumer", [("erp", C_ROBERT)], None, "2026-11-12 09:30"),
    ],
}

# Logistics: Parquet parts by upload date (UTC), loaded by the night of that date. Scans out of order and late, one
# scan in two parts, SH-0003's scans before its shipment row.
LOGISTICS_SHIPMENTS = [
    # upload date, part, shipment_id, order_no, warehouse, carrier, service_level, promised, created_at
    ("2026-11-08", 1, "SH-0002", "SO-100031", "WH1", "royal_mail", "express", "2026-11-09", "2026-11-08 12:00"),
    ("2026-11-11", 1, "SH-0001", "SO-100045", "WH1", "dpd", "standard", "2026-11-13", "2026-11-11 07:30"),
    ("2026-11-12", 2, "SH-0003", "SO-100046", "WH2", "evri", "click_and_collect", "2026-11-14", "2026-11-11 15:00"),
]

LOGISTICS_SHIPMENT_EVENTS = [
    # upload date, part, event_id, shipment_id, event_ts, status, location, reason
    ("2026-11-09", 1, "SE-0201", "SH-0002", "2026-11-08 18:00", "dispatched", "WH1", None),
    ("2026-11-09", 1, "SE-0202", "SH-0002", "2026-11-09 08:00", "out_for_delivery", "Leeds DC", None),
    ("2026-11-09", 2, "SE-0203", "SH-0002", "2026-11-09 13:00", "delivery_failed", "Leeds", "no_one_home"),
    ("2026-11-12", 1, "SE-0205", "SH-0002", "2026-11-10 12:00", "delivery_failed", "Leeds", "address_issue"),  # 48 h late
    ("2026-11-12", 1, "SE-0204", "SH-0002", "2026-11-10 08:00", "out_for_delivery", "Leeds DC", None),
    ("2026-11-11", 1, "SE-0101", "SH-0001", "2026-11-11 07:30", "label_created", "WH1", None),
    ("2026-11-11", 2, "SE-0103", "SH-0001", "2026-11-11 17:00", "dispatched", "WH1", None),
    ("2026-11-12", 1, "SE-0102", "SH-0001", "2026-11-11 09:00", "picked", "WH1", None),  # arrives after 'dispatched'
    ("2026-11-12", 1, "SE-0104", "SH-0001", "2026-11-12 08:00", "out_for_delivery", "London SE", None),
    ("2026-11-12", 3, "SE-0104", "SH-0001", "2026-11-12 08:00", "out_for_delivery", "London SE", None),  # twice
    ("2026-11-12", 3, "SE-0105", "SH-0001", "2026-11-12 15:40", "delivered", "London SE", None),
    ("2026-11-11", 2, "SE-0301", "SH-0003", "2026-11-11 15:00", "label_created", "WH2", None),  # before SH-0003
]

LOGISTICS_STOCKOUTS = [
    # upload date, part, sku, location_id, started_at, ended_at
    ("2026-11-10", 1, "KET-200", "WH1", "2026-11-10 06:00", None),
    ("2026-11-11", 1, "KET-200", "WH1", "2026-11-10 06:00", "2026-11-11 18:30"),  # the same stock-out, ended
    ("2026-11-12", 1, "MUG-010", "ST-007", "2026-11-12 09:00", None),
    ("2026-11-12", 2, "TOA-310", "WH1", "2026-11-12 10:00", "2026-11-12 16:00"),
]

# Contact centre: nightly pulls by updated_at; an interaction comes back on every update (the last wins).
CCE_INTERACTIONS = [
    # night (business date), interaction_id, channel, direction, customer {phone, email, crm_contact_id}, queue,
    # started, answered, ended, wait s, handle s, transfers, bot_handled, bot_outcome, disposition, case_id,
    # order_ref, csat, updated_at
    (E1, "CCI-0001", "voice", "inbound", {"phone": "020 7946 0018", "email": None, "crm_contact_id": ALICE}, "delivery", "2026-11-10 08:00", "2026-11-10 08:03", "2026-11-10 08:15", 180, 720, 0, False, None, "follow_up", K1, "SO-100045", None, "2026-11-10 08:16"),
    (E2, "CCI-0001", "voice", "inbound", {"phone": "020 7946 0018", "email": None, "crm_contact_id": ALICE}, "delivery", "2026-11-10 08:00", "2026-11-10 08:03", "2026-11-10 08:15", 180, 720, 0, False, None, "follow_up", K1, "SO-100045", 2, "2026-11-11 10:00"),
    (E2, "CCI-0002", "voice", "inbound", {"phone": "+44 07700 900123", "email": None, "crm_contact_id": None}, "delivery", "2026-11-11 17:00", "2026-11-11 17:10", "2026-11-11 17:25", 600, 900, 1, False, None, "escalated", K6, "SO-100031", None, "2026-11-11 17:26"),
    (E2, "CCI-0003", "chat", "inbound", {"phone": None, "email": " BOB@example.org", "crm_contact_id": None}, "billing", "2026-11-11 09:05", "2026-11-11 09:05", "2026-11-11 09:09", 0, 240, 0, True, "no_match", None, None, None, None, "2026-11-11 09:09"),
    (E2, "CCI-0004", "voice", "inbound", {"phone": "(020) 7946-0019 ext 12", "email": None, "crm_contact_id": None}, "billing", "2026-11-11 10:00", None, "2026-11-11 10:05", 300, None, 0, False, None, "abandoned", None, None, None, "2026-11-11 10:05"),
    (E3, "CCI-0005", "email", "inbound", {"phone": None, "email": "Erin@Example.co.uk", "crm_contact_id": ERIN}, "general", "2026-11-12 07:00", "2026-11-12 09:00", "2026-11-12 09:10", 7200, 600, 0, False, None, "resolved", None, None, None, "2026-11-12 09:10"),
    (E3, "CCI-0005", "email", "inbound", {"phone": None, "email": "Erin@Example.co.uk", "crm_contact_id": ERIN}, "general", "2026-11-12 07:00", "2026-11-12 09:00", "2026-11-12 09:10", 7200, 600, 0, False, None, "resolved", None, None, None, "2026-11-12 09:10"),  # on two pages
]

# Marketing: daily CSV export of email events. Alice withdrew marketing_email consent at 07:30 on the 10th: the send
# at 09:00 is a compliance breach and stays.
MARKETING_EMAIL_EVENTS = [
    # business date, event_id, campaign_id, campaign_name, message_id, email, event_type, event_ts, link_url, bounce_type, is_machine_open
    (E1, "ME-0001", "CMP-01", "Winter kettles", "MSG-A", " Alice.Smith@Example.COM", "sent", "2026-11-10 09:00", None, None, False),
    (E1, "ME-0002", "CMP-01", "Winter kettles", "MSG-A", " Alice.Smith@Example.COM", "delivered", "2026-11-10 09:00:05", None, None, False),
    (E1, "ME-0003", "CMP-01", "Winter kettles", "MSG-A", " Alice.Smith@Example.COM", "opened", "2026-11-10 09:00:30", None, None, True),
    (E1, "ME-0004", "CMP-01", "Winter kettles", "MSG-B", "bob@example.org", "sent", "2026-11-10 09:00", None, None, False),
    (E1, "ME-0005", "CMP-01", "Winter kettles", "MSG-B", "bob@example.org", "delivered", "2026-11-10 09:00:04", None, None, False),
    (E1, "ME-0006", "CMP-01", "Winter kettles", "MSG-B", "bob@example.org", "opened", "2026-11-10 12:00", None, None, False),
    (E1, "ME-0007", "CMP-01", "Winter kettles", "MSG-B", "bob@example.org", "clicked", "2026-11-10 12:01", "https://shop.example/p/KET-200?utm_campaign=CMP-01", None, False),
    (E1, "ME-0008", "CMP-01", "Winter kettles", "MSG-C", "Erin@Example.co.uk", "sent", "2026-11-10 09:00", None, None, False),
    (E1, "ME-0009", "CMP-01", "Winter kettles", "MSG-C", "Erin@Example.co.uk", "bounced", "2026-11-10 09:00:06", None, "soft", False),
    (E2, "ME-0010", "CMP-01", "Winter kettles", "MSG-B", "bob@example.org", "unsubscribed", "2026-11-11 08:00", None, None, False),
    (E3, "ME-0010", "CMP-01", "Winter kettles", "MSG-B", "bob@example.org", "unsubscribed", "2026-11-11 08:00", None, None, False),  # again
]
# fmt: on


def _numbered(rows: list[dict]) -> list[dict]:
    """_record_number: position in the delivery (the file, part or page the row came from)."""
    seen: dict[str, int] = {}
    for row in rows:
        seen[row["_source_location"]] = seen.get(row["_source_location"], 0) + 1
        row["_record_number"] = seen[row["_source_location"]]
    return rows


def _erp_rows(entity: str, columns: list[str], rows: list[tuple]) -> list[dict]:
    out = []
    for day, *values in rows:
        record = dict(zip(columns, values, strict=True))
        for key, value in record.items():
            if key.endswith(("_at", "_ts")):
                record[key] = tstz(value)
        out.append({**record, **day_batch("erp", entity, day, f"erp/{day}/{entity}.csv")})
    return _numbered(out)


def _mdm_rows() -> list[dict]:
    out = []
    for day, records in MDM_SNAPSHOTS.items():
        for golden_id, name, email, emails, phone, phones, birth, country, segment, keys, merged, updated in records:
            out.append(
                {
                    "golden_id": golden_id,
                    "full_name": name,
                    "primary_email": email,
                    "emails": emails,
                    "primary_phone": phone,
                    "phones": phones,
                    "birth_year": birth,
                    "country_code": country,
                    "segment": segment,
                    "source_keys": [{"system": system, "key": key} for system, key in keys],
                    "merged_into": merged,
                    "updated_at": ts(updated),
                    **day_batch("mdm", "golden_customer", day, f"mdm/{day}/golden_customers.jsonl.gz"),
                }
            )
    return _numbered(out)


def _logistics_rows(entity: str, columns: list[str], rows: list[tuple]) -> list[dict]:
    out = []
    for day, part, *values in rows:
        record = dict(zip(columns, values, strict=True))
        for key, value in record.items():
            if key.endswith(("_at", "_ts")) and value is not None:
                record[key] = ts(value)
            elif key.endswith("_date"):
                record[key] = datetime.fromisoformat(value).date()
        location = f"logistics/{day}/{entity}-{part:03d}.parquet"
        out.append({**record, **day_batch("logistics", entity, day, location, f"{day} 23:30")})
    return _numbered(out)


def _cce_rows(columns: list[str]) -> list[dict]:
    out = []
    for page, (day, *values) in enumerate(CCE_INTERACTIONS, start=1):
        record = dict(zip(columns, values, strict=True))
        for key in ("started_at", "answered_at", "ended_at", "updated_at"):
            record[key] = tstz(record[key])
        location = f"GET /v1/interactions?updated_since={day}T00:00:00Z page {page}"
        out.append({**record, **day_batch("contact_center", "interaction", day, location)})
    return _numbered(out)


def _marketing_rows(columns: list[str]) -> list[dict]:
    out = []
    for day, *values in MARKETING_EMAIL_EVENTS:
        record = dict(zip(columns, values, strict=True))
        record["event_ts"] = ts(record["event_ts"])
        out.append({**record, **day_batch("marketing", "email_events", day, f"marketing/{day}/email_events.csv")})
    return _numbered(out)


def customer_context_rows() -> dict[str, list[dict]]:
    """Raw table name -> rows for ERP, MDM, logistics, contact centre and marketing."""
    erp = load_contract("erp").entities
    logistics = load_contract("logistics").entities
    cce = load_contract("contact_center").entities["interaction"]
    marketing = load_contract("marketing").entities["email_events"]
    erp_tables = {
        "customers": ERP_CUSTOMERS,
        "sales_orders": ERP_SALES_ORDERS,
        "order_lines": ERP_ORDER_LINES,
        "payments": ERP_PAYMENTS,
        "returns": ERP_RETURNS,
    }
    logistics_tables = {
        "shipments": LOGISTICS_SHIPMENTS,
        "shipment_events": LOGISTICS_SHIPMENT_EVENTS,
        "stockouts": LOGISTICS_STOCKOUTS,
    }
    return {
        **{erp[name].raw_table: _erp_rows(name, erp[name].column_names, rows) for name, rows in erp_tables.items()},
        load_contract("mdm").entities["golden_customer"].raw_table: _mdm_rows(),
        **{
            logistics[name].raw_table: _logistics_rows(name, logistics[name].column_names, rows)
            for name, rows in logistics_tables.items()
        },
        cce.raw_table: _cce_rows(cce.column_names),
        marketing.raw_table: _marketing_rows(marketing.column_names),
    }


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
        **customer_context_rows(),
    }


def load_fixture(dsn: str, pseudonymisation_key: str = FIXTURE_PSEUDONYMISATION_KEY) -> dict[str, int]:
    """Create raw + restricted in the database at `dsn` and (re)load the fixture; returns rows per table."""
    entities = [entity for system in all_systems() for entity in load_contract(system).entities.values()]
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
