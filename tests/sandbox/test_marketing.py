"""The ESP's daily email_events.csv: contract-valid, consent breaches traceable to the CRM, quirks at their rates."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from frictionflow.contracts import load_contract
from frictionflow.sandbox import SandboxConfig, marketing
from frictionflow.sandbox.population import Population

from .conftest import CONFIG, crm_dicts

LONDON = ZoneInfo("Europe/London")


def read_day(landing: Path, day: str) -> list[dict]:
    with open(landing / marketing.SYSTEM_DIR / day / marketing.FILE_NAME, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def truth(root: Path, name: str) -> list[dict]:
    with open(root / name, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def events(oneshot) -> dict[str, list[dict]]:
    days = sorted(p.name for p in (oneshot.landing / marketing.SYSTEM_DIR).iterdir())
    return {d: read_day(oneshot.landing, d) for d in days}


@pytest.fixture(scope="module")
def quirks(oneshot) -> list[dict]:
    return [q for q in truth(oneshot.truth, "quirks.csv") if q["system"] == "marketing"]


def test_one_contract_valid_file_per_london_day(oneshot, events):
    assert list(events) == [(CONFIG.start_date + timedelta(days=i)).isoformat() for i in range(14)]
    entity = load_contract("marketing").entities["email_events"]
    for day, rows in events.items():
        raw = (oneshot.landing / marketing.SYSTEM_DIR / day / marketing.FILE_NAME).read_bytes()
        assert raw.startswith(",".join(entity.column_names).encode() + b"\n")  # UTF-8, no byte-order mark
        for r in rows:
            typed = entity.validate({k: v or None for k, v in r.items()})
            assert typed["event_ts"].astimezone(LONDON).date().isoformat() == day
    types = Counter(r["event_type"] for rows in events.values() for r in rows)
    assert set(types) == set(marketing.EVENT_TYPES)
    assert sum(len(rows) for rows in events.values()) > 5000
    ids = [r["event_id"] for rows in events.values() for r in rows]
    assert len(ids) == len(set(ids))


def test_events_follow_their_message(events):
    by_message = defaultdict(list)
    for rows in events.values():
        for r in rows:
            by_message[r["message_id"]].append(r)
    for message in by_message.values():
        kinds = [r["event_type"] for r in message]
        assert not ("delivered" in kinds and "bounced" in kinds)
        if "sent" in kinds:
            sent = next(r["event_ts"] for r in message if r["event_type"] == "sent")
            assert all(r["event_ts"] >= sent for r in message)
        assert len({r["email"] for r in message}) == 1 and len({r["campaign_id"] for r in message}) == 1
        for r in message:
            assert bool(r["link_url"]) == (r["event_type"] == "clicked")
            assert bool(r["bounce_type"]) == (r["event_type"] == "bounced")
            if r["event_type"] == "clicked":
                assert f"utm_campaign={r['campaign_id'].lower()}" in r["link_url"]
            if r["is_machine_open"] == "true":
                assert r["event_type"] == "opened"
    campaigns = {r["campaign_id"] for rows in events.values() for r in rows if r["event_type"] == "sent"}
    assert 6 <= len(campaigns) <= 12  # a few a week: Tuesday, Thursday, Saturday, and the odd flash sale
    assert any("," in r["campaign_name"] for rows in events.values() for r in rows)


def test_an_empty_day_is_a_header_only_file(tmp_path):
    cfg = SandboxConfig(seed=1, customers=6, start_date=date(2026, 11, 1), end_date=date(2026, 11, 8))
    exports = marketing.MarketingExports(Population(cfg), tmp_path)
    written, rows = exports.deliver(cfg.end_date)
    assert written == [cfg.start_date + timedelta(days=i) for i in range(8)] and rows > 0
    sizes = {d.isoformat(): len(read_day(tmp_path, d.isoformat())) for d in written}
    assert sizes["2026-11-01"] == 0 and any(sizes.values())
    header = ",".join(marketing.COLUMNS) + "\n"
    assert (tmp_path / marketing.SYSTEM_DIR / "2026-11-01" / marketing.FILE_NAME).read_text() == header
    assert exports.deliver(cfg.end_date) == ([], 0)  # append-only: a written day is never written again


def test_consent_breaches_are_withdrawn_consents_in_the_crm(oneshot, events, quirks):
    breaches = truth(oneshot.truth, "consent_breaches.csv")
    assert breaches
    consents = {c["consent_id"]: c for c in crm_dicts(oneshot.db, "consent")}
    sent = {r["event_id"]: r for rows in events.values() for r in rows if r["event_type"] == "sent"}
    for b in breaches:
        consent = consents[b["consent_id"]]
        assert consent["purpose"] == "marketing_email" and consent["status"] == "withdrawn"
        assert consent["contact_id"] == b["crm_contact_id"]
        sent_at = datetime.fromisoformat(b["sent_at"])
        assert consent["captured_at"] <= sent_at  # withdrawn before the send
        assert sent[b["event_id"]]["email"] == b["email"] and sent[b["event_id"]]["campaign_id"] == b["campaign_id"]
    recorded = {q["source_key"] for q in quirks if q["quirk"] == "consent_breach"}
    assert recorded == {b["event_id"] for b in breaches}
    # Every send to a withdrawn address is a listed breach, and nothing else is.
    esp = oneshot.sandbox.marketing.esp
    for c in oneshot.sandbox.marketing.campaigns:
        withdrawn = esp.withdrawn_ms[c.recipients] <= c.sent_ms
        assert (withdrawn == c.breach).all()
        assert esp.sync_missed[c.recipients[c.breach]].all()


def test_quirk_rates(oneshot, events, quirks):
    rows = [r for day in events.values() for r in day]
    delivered = sum(r["event_type"] == "delivered" for r in rows)
    machine = sum(r["is_machine_open"] == "true" for r in rows)
    assert abs(machine / delivered - 0.25) < 0.03
    counts = Counter(q["quirk"] for q in quirks)
    assert counts["marketing_machine_open"] == machine
    esp = oneshot.sandbox.marketing.esp
    withdrawn = esp.withdrawn_ms < np.iinfo(np.int64).max
    assert 0.03 < esp.sync_missed[withdrawn].mean() < 0.2  # marketing_consent_breach 0.1
    addresses = {r["email"] for r in rows}
    recased = [q for q in quirks if q["quirk"] == "marketing_email_recased"]
    assert abs(len(recased) / len(addresses) - 0.30) < 0.05
    for q in recased:
        held, crm = q["detail"].split("; CRM ")
        assert held.removeprefix("ESP holds ").lower() == crm.lower()  # the same address, cased differently
    for q in quirks:
        assert q["location"].startswith("marketing/") and q["location"].endswith("/email_events.csv")


def test_identities_hold_the_esp_addresses(oneshot, events):
    identities = truth(oneshot.truth, "identities.csv")
    esp = {i["value"]: i for i in identities if i["system"] == "marketing"}
    addresses = {r["email"] for rows in events.values() for r in rows}
    assert addresses <= set(esp)
    crm = {(i["person_id"], i["normalised_value"]) for i in identities if i["system"] == "crm"}
    assert sum((i["person_id"], i["normalised_value"]) in crm for i in esp.values()) > 0.9 * len(esp)
    campaigns = truth(oneshot.truth, "campaigns.csv")
    assert campaigns and all(int(c["recipients"]) > 0 for c in campaigns)
