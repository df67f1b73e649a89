"""The contact centre: contract-valid interactions that change after the fact, quirks at their rates, all in the
ground truth, deterministic, delivered forward only to the store the API serves."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from frictionflow.contracts import load_contract
from frictionflow.sandbox import Sandbox, SandboxConfig, SandboxError
from frictionflow.sandbox import contact_center as cc
from frictionflow.sandbox.timeutil import local_midnight_ms
from frictionflow.sandbox.world import World

from .conftest import SERVER

LONDON = ZoneInfo("Europe/London")
CONFIG = SandboxConfig(seed=21, customers=8000, start_date=date(2026, 11, 1), end_date=date(2026, 11, 14))
END_MS = local_midnight_ms(CONFIG.end_date + timedelta(days=1))


def _ts(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00"))


def _cutoff(day: date) -> int:
    return local_midnight_ms(day + timedelta(days=1))


def all_versions(world: World, until_ms: int = 2**62) -> dict[str, list[dict]]:
    """interaction_id -> every version (payload) stamped before until_ms, in updated_at order."""
    out: dict[str, list[dict]] = defaultdict(list)
    for day in world.config.days():
        cday = world.contact_center(day)
        idx, stage = cc.versions_between(cday, None, until_ms)
        for _, _, payload in sorted(cc.render(world.population, cday, idx, stage), key=lambda r: r[1]):
            record = json.loads(payload)
            out[record["interaction_id"]].append(record)
    return out


@pytest.fixture(scope="module")
def world() -> World:
    return World(CONFIG)


@pytest.fixture(scope="module")
def versions(world) -> dict[str, list[dict]]:
    return all_versions(world)


@pytest.fixture(scope="module")
def truth(world):
    """Ground truth frames as of the last day (interactions, identities, quirks)."""
    day = CONFIG.end_date
    return (
        cc.interactions_frame(world, day, _cutoff(day)),
        cc.identity_frame(world, day, _cutoff(day)),
        cc.quirk_frame(world, day, _cutoff(day)),
    )


def test_every_version_is_contract_valid_and_the_vocabulary_is_used(versions):
    entity = load_contract("contact_center").entities["interaction"]
    seen = defaultdict(set)
    for history in versions.values():
        for record in history:
            entity.validate(record)
            assert list(record) == entity.column_names  # the contract's columns, in its order
            assert set(record["customer"]) == {"phone", "email", "crm_contact_id"}
            for name in ("channel", "direction", "queue", "bot_outcome", "disposition"):
                seen[name].add(record[name])
    assert len(versions) > 1000
    assert seen["channel"] == {"voice", "chat", "email", "social", "callback"}
    assert seen["direction"] == {"inbound", "outbound"}
    assert seen["queue"] == {"billing", "delivery", "sales", "tech_support", "returns", "general"}
    assert seen["bot_outcome"] == {"contained", "escalated", "no_match", None}
    assert seen["disposition"] == {
        "resolved", "unresolved", "escalated", "follow_up", "abandoned", "callback_scheduled", None
    }  # fmt: skip


def test_records_change_after_the_fact(versions):
    """Each change is a version with a later updated_at: wrap-up minutes later, CSAT up to 48 hours later."""
    wrap_delays, csat_delays, open_then_answered = [], [], 0
    for history in versions.values():
        stamps = [_ts(r["updated_at"]) for r in history]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
        first, last = history[0], history[-1]
        assert all(r["started_at"] == first["started_at"] for r in history)
        if first["ended_at"] is None:  # an email or social message, visible as it arrives
            assert first["channel"] in ("email", "social") and first["answered_at"] is None
            assert first["disposition"] is None and last["ended_at"] is not None
            open_then_answered += 1
        ended = _ts(last["ended_at"])
        for before, after in zip(history, history[1:], strict=False):
            if before["disposition"] is None and after["disposition"] is not None:  # the wrap-up
                wrap_delays.append((_ts(after["updated_at"]) - ended).total_seconds())
                assert before["handle_seconds"] is None and after["handle_seconds"] is not None
        if last["csat"] is not None:
            assert all(r["csat"] is None for r in history[:-1])
            csat_delays.append((_ts(last["updated_at"]) - ended).total_seconds())
    assert open_then_answered > 100
    assert len(wrap_delays) > 500 and 20 <= min(wrap_delays) and max(wrap_delays) <= 9 * 60
    assert len(csat_delays) > 100 and min(csat_delays) >= 120 and max(csat_delays) <= 48 * 3600 + 600
    assert max(csat_delays) > 24 * 3600  # some CSAT arrives a day or more later, on a later night


def test_times_waits_and_abandonment_are_consistent(versions):
    abandoned = answered_voice = 0
    for history in versions.values():
        r = history[-1]
        started, answered, ended = _ts(r["started_at"]), _ts(r["answered_at"]), _ts(r["ended_at"])
        if answered is not None:
            assert started <= answered <= ended
        if r["disposition"] == "abandoned":
            abandoned += 1
            assert answered is None and r["handle_seconds"] is None
            assert r["wait_seconds"] > 0 and ended is not None
        if r["channel"] == "voice" and r["direction"] == "inbound" and answered is not None:
            answered_voice += 1
            assert r["wait_seconds"] == int((answered - started).total_seconds())
            assert 8 <= answered.astimezone(LONDON).hour < 21  # agents' shifts (a call can run on a little)
        if r["bot_outcome"] == "no_match":
            assert r["bot_handled"] and r["disposition"] == "unresolved"
        if r["channel"] == "callback":
            assert r["direction"] == "outbound"
    assert abandoned > 50 and answered_voice > 500


def test_interactions_link_to_the_world(world, truth):
    interactions, identities, _ = truth
    plans = {d: world.plan(d) for d in CONFIG.days()}
    cases = {
        cid: (plan.cases["origin"][k], plan) for plan in plans.values() for k, cid in enumerate(plan.cases["case_id"])
    }
    orders = {o for plan in plans.values() for o in plan.orders["order_no"]}
    journeys = {j for plan in plans.values() for j in plan.journeys["journey_id"]}
    pop = world.population
    contacts_of = defaultdict(set)
    for c, p in enumerate(pop.contact_person.tolist()):
        contacts_of[pop.person_id[p]].add(pop.contact_id[c])
    with_case = interactions.dropna(subset=["case_id"])
    assert len(with_case) > 500
    assert {cases[c][0] for c in with_case["case_id"]} == {"phone", "chat", "email", "social"}
    wismo = interactions[interactions["reason"] == "where_is_my_order"]
    assert len(wismo) > 50 and set(wismo["order_ref"]) <= orders and set(wismo["queue"]) == {"delivery"}
    assert set(interactions["journey_id"].dropna()) <= journeys
    linked = interactions.dropna(subset=["delivered_crm_contact_id"])
    assert len(linked) > 100
    for person, contact in zip(linked["person_id"], linked["delivered_crm_contact_id"], strict=True):
        assert contact in contacts_of[person]
    repeats = interactions.dropna(subset=["repeat_of"])
    assert len(repeats) > 100 and set(repeats["repeat_of"]) <= set(interactions["interaction_id"])
    assert set(interactions.dropna(subset=["callback_of"])["channel"]) == {"callback"}
    # identities: every delivered phone and email, normalised to the person's own
    phones = identities[identities["identifier_type"] == "phone"]
    assert len(phones) > 300
    for person, normal in zip(phones["person"].tolist(), phones["normalised_value"], strict=True):
        assert normal == pop.canonical_phone(person)
    assert set(identities["system"]) == {"contact_center"}
    assert {"phone", "email", "crm_contact_id"} == set(identities["identifier_type"])


def test_turbulent_period_more_billing_longer_waits(truth):
    interactions, _, _ = truth
    frame = interactions.assign(day=[_ts(s).astimezone(LONDON).date() for s in interactions["started_at"]])
    frame = frame[frame["day"] >= CONFIG.start_date]
    calm = frame[frame["day"] < CONFIG.turbulent_from]
    rough = frame[frame["day"] >= CONFIG.turbulent_from]
    per_day = {name: len(part) / part["day"].nunique() for name, part in (("calm", calm), ("rough", rough))}

    def billing_per_day(part):
        return (part["queue"] == "billing").sum() / part["day"].nunique()

    def voice_wait(part):
        voice = part[(part["channel"] == "voice") & ~part["abandoned"]]
        return voice["wait_seconds"].mean()

    assert billing_per_day(rough) > 2.5 * billing_per_day(calm)
    assert voice_wait(rough) > 1.25 * voice_wait(calm)
    assert rough["abandoned"].mean() > calm["abandoned"].mean()
    assert per_day["rough"] > per_day["calm"]
    no_match = frame[frame["reason"] == "failed_payment"].groupby(frame["day"] >= CONFIG.turbulent_from)["dead_end"]
    assert no_match.sum()[True] > no_match.sum()[False]


def test_quirks_at_their_rates_and_in_the_ground_truth(world, truth):
    interactions, _, quirks = truth
    pop = world.population
    counts = quirks["quirk"].value_counts()
    # linked contact: a share of the agent-handled contacts of people the CRM knows
    eligible = interactions[
        interactions["crm_contact_id"].notna()
        & interactions["answered_at"].notna()
        & ~interactions["bot_handled"]
        & (interactions["versions_delivered"] >= 2)
    ]
    linked = eligible["delivered_crm_contact_id"].notna().mean()
    assert abs(linked - CONFIG.rate("cce_agent_linked_contact")) < 0.06
    assert counts["cce_agent_linked_contact"] == interactions["delivered_crm_contact_id"].notna().sum()
    # free-format phones: not E.164
    phones = interactions["delivered_phone"].dropna()
    canonical = {pop.canonical_phone(p) for p in range(pop.n_persons)}
    free = ~phones.isin(canonical)
    assert abs(free.mean() - CONFIG.rate("cce_free_format_contact")) < 0.05
    emails = interactions["delivered_email"].dropna()
    messy = emails != emails.str.strip().str.lower()
    assert counts["cce_free_format_contact"] == free.sum() + messy.sum()
    # late CSAT: a share of the survey answers
    answered = interactions[interactions["csat_at"].notna()]
    answered = answered[[_ts(t).timestamp() * 1000 < END_MS for t in answered["csat_at"]]]  # delivered by then
    assert abs(answered["late_csat"].mean() - CONFIG.rate("cce_late_csat")) < 0.07
    assert counts["cce_late_csat"] == answered["late_csat"].sum()
    # bot dead ends: present, and only ever a conversation the bot handled alone (no agent answered)
    dead_ends = interactions[interactions["dead_end"]]
    assert counts["cce_bot_no_match"] == len(dead_ends) >= 10
    assert dead_ends["bot_handled"].all()
    assert dead_ends["disposition"].nunique() == 1
    assert counts["cce_abandoned"] == interactions["abandoned"].sum()
    for api_quirk in ("cce_empty_page", "cce_rate_limit", "cce_server_error"):
        assert counts[api_quirk] == 1  # a description: occurrences happen per request, in the server
    listed = set(quirks["source_key"].dropna())
    assert listed <= set(interactions["interaction_id"])


def test_quirk_rates_are_configurable():
    base = {"seed": 5, "customers": 2000, "start_date": date(2026, 11, 8), "end_date": date(2026, 11, 12)}
    off = World(SandboxConfig(**base, quirk_rates={n: 0.0 for n in cc.API_SETTINGS} | {
        "cce_agent_linked_contact": 0.0, "cce_free_format_contact": 0.0, "cce_late_csat": 0.0, "cce_bot_no_match": 0.0,
    }))  # fmt: skip
    day = base["end_date"]
    quirks = cc.quirk_frame(off, day, _cutoff(day))
    assert set(quirks["quirk"]) <= {"cce_abandoned"}
    on = World(SandboxConfig(**base, quirk_rates={"cce_agent_linked_contact": 1.0, "cce_free_format_contact": 1.0}))
    frame = cc.interactions_frame(on, day, _cutoff(day))
    eligible = frame[
        frame["crm_contact_id"].notna() & frame["answered_at"].notna() & ~frame["bot_handled"]
        & (frame["versions_delivered"] >= 2) & (frame["direction"] == "inbound")
    ]  # fmt: skip
    assert len(eligible) > 20 and eligible["delivered_crm_contact_id"].notna().all()
    canonical = {on.population.canonical_phone(p) for p in range(on.population.n_persons)}
    assert not frame["delivered_phone"].dropna().isin(canonical).any()


def test_deterministic_and_seed_dependent(world):
    """Each day draws from its own seeded stream: a new world renders the same bytes; another seed does not."""
    again = World(CONFIG)
    for day in (CONFIG.start_date, CONFIG.turbulent_from, CONFIG.end_date):
        mine, theirs = world.contact_center(day), again.contact_center(day)
        assert cc.render(world.population, mine, *cc.versions_between(mine, None, 2**62)) == cc.render(
            again.population, theirs, *cc.versions_between(theirs, None, 2**62)
        )
    other = World(SandboxConfig(seed=22, customers=8000, start_date=CONFIG.start_date, end_date=CONFIG.end_date))
    day = CONFIG.start_date
    mine, theirs = world.contact_center(day), other.contact_center(day)
    assert cc.render(world.population, mine, *cc.versions_between(mine, None, END_MS)) != cc.render(
        other.population, theirs, *cc.versions_between(theirs, None, END_MS)
    )
    ids = [i for d in range(9000, 9005) for i in cc.interaction_ids(CONFIG.seed, d, range(1, 20_000))]
    assert len(set(ids)) == len(ids)  # unique by construction


def test_store_is_idempotent_forward_only_and_cadence_free(world, tmp_path):
    nightly, oneshot = cc.InteractionStore(tmp_path / "nightly"), cc.InteractionStore(tmp_path / "oneshot")
    day = CONFIG.start_date
    while day <= CONFIG.end_date:
        written, total = cc.deliver(world, nightly, day, _cutoff(day))
        assert written > 0 and total == len(nightly.latest())
        day += timedelta(days=1)
    written, _ = cc.deliver(world, oneshot, CONFIG.end_date, END_MS)
    assert nightly.latest() == oneshot.latest()
    assert nightly.count_versions() == oneshot.count_versions() == written
    assert cc.deliver(world, oneshot, CONFIG.end_date, END_MS)[0] == 0  # the same day again: nothing new
    with pytest.raises(cc.DeliveryRefused, match="not back to"):
        cc.deliver(world, oneshot, CONFIG.end_date - timedelta(days=1), END_MS - 86_400_000)
    with pytest.raises(cc.DeliveryRefused, match="another sandbox config"):
        cc.deliver(World(SandboxConfig(seed=99, customers=100)), oneshot, CONFIG.end_date, END_MS)
    # what the API serves is the latest version of every interaction delivered, nothing later than the cutoff
    expected = {i: h[-1] for i, h in all_versions(world, END_MS).items()}
    latest = oneshot.latest()
    assert {r["interaction_id"]: r for r in latest} == expected
    assert all(_ts(r["updated_at"]).timestamp() * 1000 < END_MS for r in latest)


def test_sandbox_delivers_the_store_beside_landing_and_the_ground_truth(databases, tmp_path):
    cfg = SandboxConfig(seed=4, customers=600, start_date=date(2026, 11, 18), end_date=date(2026, 11, 20))
    sandbox = Sandbox(
        cfg, crm_admin_dsn=SERVER + databases("cce_crm"), landing_dir=tmp_path / "landing",
        ground_truth_dir=tmp_path / "truth",
    )  # fmt: skip
    assert sandbox.contact_center.directory == tmp_path / "contact_center_api"
    sandbox.deliver_through(cfg.end_date - timedelta(days=1))
    report = sandbox.deliver_through(cfg.end_date)
    assert report.cce_versions > 0 and "contact_center" in report.summary()
    assert not (tmp_path / "landing" / "contact_center").exists()
    served = {r["interaction_id"]: r for r in sandbox.contact_center.latest()}
    with open(tmp_path / "truth" / "interactions.csv", newline="") as fh:
        truth = {r["interaction_id"]: r for r in csv.DictReader(fh)}
    assert served and set(served) == set(truth) == {i for i in truth if truth[i]["versions_delivered"] != "0"}
    for interaction_id, record in served.items():
        assert _ts(truth[interaction_id]["latest_updated_at"]) == _ts(record["updated_at"])
        assert (truth[interaction_id]["delivered_phone"] or None) == record["customer"]["phone"]
    manifest = json.loads((tmp_path / "truth" / "manifest.json").read_text())
    assert manifest["files"]["interactions.csv"] == len(truth)
    assert "cce_agent_linked_contact" in manifest["quirk_counts"]
    with open(tmp_path / "truth" / "identities.csv", newline="") as fh:
        systems = {r["system"] for r in csv.DictReader(fh)}
    assert "contact_center" in systems
    turbulence = json.loads((tmp_path / "truth" / "turbulence.json").read_text())
    assert turbulence["disrupts"]["contact_center"] and "cce_wait_time_multiplier" in turbulence["effects"]
    assert sandbox.deliver_through(cfg.end_date).already_delivered
    with pytest.raises(SandboxError):
        sandbox.deliver_through(cfg.start_date)
    assert len(served) == report.cce_interactions
