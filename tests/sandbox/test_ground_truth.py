"""The ground truth agrees with what was delivered, so the warehouse can be scored against it."""

from __future__ import annotations

import csv
import json
from datetime import date

import pytest

from .conftest import crm_dicts


def _read(truth, name: str) -> list[dict]:
    with open(truth / name, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def truth(oneshot):
    names = ("persons", "identities", "journeys", "orders", "cases", "case_versions", "quirks")
    return {name: _read(oneshot.truth, f"{name}.csv") for name in names}


def test_files_and_manifest(oneshot, truth):
    manifest = json.loads((oneshot.truth / "manifest.json").read_text())
    assert manifest["delivered_through"] == "2026-11-14"
    assert manifest["fingerprint"] == oneshot.sandbox.config.fingerprint()
    for name, rows in truth.items():
        assert rows, name
        assert manifest["files"][f"{name}.csv"] == len(rows)
    turbulence = json.loads((oneshot.truth / "turbulence.json").read_text())
    assert turbulence["start_date"] == "2026-11-05" and turbulence["end_date"] == "2026-11-14"
    assert "payment" in turbulence["description"]


def test_every_persons_contact_ids_exist_in_crm(oneshot, truth):
    contact_ids = {c["contact_id"] for c in crm_dicts(oneshot.db, "contact")}
    listed = [c for p in truth["persons"] for c in p["crm_contact_ids"].split(";") if c]
    assert listed and set(listed) <= contact_ids
    assert len(set(listed)) == len(listed) == len(contact_ids)  # each contact belongs to exactly one person


def test_identities_cover_every_delivered_user_and_device(oneshot, truth):
    events = oneshot.events()
    contact_ids = {i["value"] for i in truth["identities"] if i["identifier_type"] == "crm_contact_id"}
    anonymous = {i["value"] for i in truth["identities"] if i["identifier_type"] == "anonymous_id"}
    bots = {q["detail"].split("anonymous_id ")[1].split(";")[0] for q in truth["quirks"] if q["quirk"] == "bot_traffic"}
    for e in events:
        assert e["user_id"] is None or e["user_id"] in contact_ids
        assert e["anonymous_id"] in anonymous or e["anonymous_id"] in bots


def test_orders_and_cases_match_the_sources(oneshot, truth):
    events = oneshot.events()
    orders = {o["order_no"] for o in truth["orders"]}
    delivered = {e["properties"]["order_no"] for e in events if e["event_name"] == "order_completed"}
    assert delivered and delivered <= orders
    crm_cases = {c["case_id"]: c for c in crm_dicts(oneshot.db, "case")}
    visible = {c["case_id"] for c in truth["cases"] if c["visible_in_crm"] == "True"}
    assert visible == set(crm_cases)
    for c in truth["cases"]:
        if c["order_ref"]:
            assert c["order_ref"] in orders
    journeys = {j["journey_id"]: j for j in truth["journeys"]}
    for c in truth["cases"]:
        assert journeys[c["journey_id"]]["journey_type"] == "issue_resolution"


def test_journeys_are_behaviour_with_outcomes(truth):
    journeys = truth["journeys"]
    types = {j["journey_type"] for j in journeys}
    assert {"buying", "issue_resolution", "account_access", "delivery", "sign_up"} <= types
    assert {j["outcome"] for j in journeys} == {"completed", "abandoned"}
    reasons = {j["abandon_reason"] for j in journeys if j["outcome"] == "abandoned"}
    assert {"dead_end_search", "checkout_failed", "cart_abandoned"} <= reasons
    assert any(j["parent_journey_id"] for j in journeys)  # follow-ups: delivery after buying, case after failure
    for j in journeys:
        assert j["start_at"] <= j["end_at"]


def test_case_versions_match_what_the_crm_shows(oneshot, truth):
    latest: dict[str, dict] = {}
    for v in truth["case_versions"]:
        if v["visible_by_cutoff"] == "True":
            latest[v["case_id"]] = v
    for case in crm_dicts(oneshot.db, "case"):
        version = latest[case["case_id"]]
        assert version["status"] == case["status"]
        assert version["system_modstamp"][:19] == case["system_modstamp"].strftime("%Y-%m-%dT%H:%M:%S")


def test_erasures_are_recorded(oneshot, truth):
    requests = {r["request_id"]: r for r in crm_dicts(oneshot.db, "erasure_request")}
    erased = [p for p in truth["persons"] if p["erased_at"]]
    assert erased and {p["erasure_request_id"] for p in erased} == set(requests)
    for p in erased:
        assert requests[p["erasure_request_id"]]["contact_id"] in p["crm_contact_ids"].split(";")


def test_ground_truth_is_as_of_the_delivered_day(nightly):
    manifest = json.loads((nightly.truth / "manifest.json").read_text())
    assert date.fromisoformat(manifest["delivered_through"]) == max(nightly.nights)
