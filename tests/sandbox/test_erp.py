"""The ERP file sets: contract-valid, complete by their manifest, consistent with the web, quirks included."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from frictionflow.contracts import load_contract
from frictionflow.sandbox import SandboxConfig, erp
from frictionflow.sandbox.stock import stockouts
from frictionflow.sandbox.world import World

from .conftest import CONFIG

LONDON = ZoneInfo("Europe/London")
# Every ERP quirk at a high rate, over the October clock change (01:00-02:00 on 2026-10-25 happens twice).
QUIRKY = SandboxConfig(
    seed=1,  # a seed whose 10 dates hold every kind of delivery (late, partial, truncated, mismatch)
    customers=1500,
    start_date=date(2026, 10, 22),
    end_date=date(2026, 10, 31),
    quirk_rates={
        "erp_late_delivery": 0.3,
        "erp_redelivery": 0.3,
        "erp_missing_manifest": 0.2,
        "erp_manifest_mismatch": 0.2,
        "erp_stockout": 0.15,
        "erp_multiline_name": 0.05,
    },
)


def read_set(folder: Path) -> dict[str, list[dict]]:
    """The rows of each file of a set, as the contract types them (an empty field is null)."""
    contract = load_contract("erp")
    out = {}
    for name in erp.FILES:
        text = (folder / name).read_bytes().decode("utf-8-sig")
        entity = contract.entities[erp.ENTITY[name]]
        out[name] = [entity.validate({k: v or None for k, v in r.items()}) for r in csv.DictReader(io.StringIO(text))]
    return out


def manifest_problems(folder: Path) -> list[str]:
    """What disagrees between a set's files and its manifest (empty: a complete, consistent set)."""
    manifest = json.loads((folder / erp.MANIFEST).read_text())
    problems = []
    for name, entry in manifest["files"].items():
        data = (folder / name).read_bytes()
        rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            problems.append(f"{name} sha256")
        if len(rows) != entry["rows"]:
            problems.append(f"{name} rows")
        if name in erp.AMOUNT_COLUMNS:
            total = sum(Decimal(r[erp.AMOUNT_COLUMNS[name]]) for r in rows)
            if total != Decimal(entry["amount_sum"]):
                problems.append(f"{name} amount_sum")
    return problems


def truth(root: Path, name: str) -> list[dict]:
    with open(root / name, newline="") as fh:
        return list(csv.DictReader(fh))


def web_events(landing: Path) -> list[dict]:
    out = []
    for path in sorted((landing / "web_analytics").glob("*/*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            out += [json.loads(line) for line in fh]
    return out


def snapshot(landing: Path) -> dict[str, dict[str, bytes]]:
    root = landing / erp.SYSTEM_DIR
    return (
        {f.name: {p.name: p.read_bytes() for p in f.iterdir()} for f in sorted(root.iterdir())} if root.exists() else {}
    )


@dataclass
class Quirky:
    landing: Path
    nights: dict[date, dict[str, dict[str, bytes]]]  # the ERP folders each morning
    oneshot_landing: Path
    quirks: list[dict]  # as quirks.csv lists them after the last night
    file_sets: list[dict]  # as erp_file_sets.csv


@pytest.fixture(scope="module")
def quirky(tmp_path_factory) -> Quirky:
    """The ERP alone (no other system: the full sandbox is the nightly / oneshot fixtures), night by night."""
    root = tmp_path_factory.mktemp("erp_quirky")
    world = World(QUIRKY)
    files = erp.ErpFiles(world.population, root / "landing")
    nights = {}
    day = QUIRKY.start_date
    while day <= QUIRKY.end_date:
        files.deliver([world.erp(p) for p in world.plan_days_through(day)], day)
        nights[day] = snapshot(root / "landing")
        day += timedelta(days=1)
    days = [world.erp(p) for p in world.plan_days_through(QUIRKY.end_date)]
    erp.ErpFiles(world.population, root / "once").deliver(days, QUIRKY.end_date)
    quirks = files.quirk_frame(days, QUIRKY.end_date).astype(object)
    sets = files.file_sets_frame(QUIRKY.end_date).astype(str)
    return Quirky(root / "landing", nights, root / "once", quirks.to_dict("records"), sets.to_dict("records"))


@pytest.fixture(scope="module")
def sets(oneshot) -> dict[str, dict[str, list[dict]]]:
    return {f.name: read_set(f) for f in sorted((oneshot.landing / erp.SYSTEM_DIR).iterdir())}


# ---------------------------------------------------------------------------- format and completeness
def test_every_file_set_is_complete_and_honours_the_contract(oneshot, sets):
    folders = sorted((oneshot.landing / erp.SYSTEM_DIR).iterdir())
    assert [f.name for f in folders] == [(CONFIG.start_date + timedelta(days=i)).isoformat() for i in range(14)]
    for folder in folders:
        assert sorted(p.name for p in folder.iterdir()) == sorted([*erp.FILES, erp.MANIFEST])
        manifest = json.loads((folder / erp.MANIFEST).read_text())
        assert manifest["business_date"] == folder.name and manifest["revision"] >= 1
        assert datetime.fromisoformat(manifest["generated_at"]).date() > date.fromisoformat(folder.name)
        assert set(manifest["files"]) == set(erp.FILES)
        assert manifest_problems(folder) == []
        for name in erp.FILES:
            data = (folder / name).read_bytes()
            assert data.startswith("\ufeff".encode() + ",".join(erp.COLUMNS[name]).encode() + b"\r\n")
    assert sum(len(s["sales_orders.csv"]) for s in sets.values()) > 1000


def test_rfc4180_quoting_of_names_with_commas_quotes_and_line_breaks(oneshot, sets):
    names = [r["name"] for s in sets.values() for r in s["customers.csv"]]
    assert any(", " in n for n in names) and any('"' in n for n in names) and any("\n" in n for n in names)
    raw = b"".join((f / "customers.csv").read_bytes() for f in (oneshot.landing / erp.SYSTEM_DIR).iterdir())
    assert b'"' in raw and b'""' in raw  # quoted fields, quotes doubled inside them


def test_each_row_is_the_latest_version_changed_on_its_business_date(sets):
    for day, files in sets.items():
        for name, rows in files.items():
            keys = [tuple(r[k] for k in load_contract("erp").entities[erp.ENTITY[name]].primary_key) for r in rows]
            assert len(keys) == len(set(keys)), (day, name)
            for r in rows:
                assert r["changed_at"].astimezone(LONDON).date().isoformat() == day


def test_a_changed_order_reappears_with_its_new_status(sets):
    rank = {"created": 0, "paid": 1, "partially_shipped": 2, "shipped": 3, "delivered": 4, "returned": 5}
    history = defaultdict(list)
    for day in sorted(sets):
        for r in sets[day]["sales_orders.csv"]:
            history[r["order_no"]].append(r["status"])
    assert sum(len(h) >= 3 for h in history.values()) > 100  # created/paid, shipped, delivered on other days
    for statuses in history.values():
        if "cancelled" in statuses:
            assert statuses[-1] == "cancelled"
            continue
        ranks = [rank[s] for s in statuses]
        assert ranks == sorted(ranks), statuses


# ---------------------------------------------------------------------------- the world, seen by the ERP
def test_every_web_order_is_an_erp_order_and_guests_have_no_customer_no(oneshot, sets):
    orders = {r["order_no"]: r for s in sets.values() for r in s["sales_orders.csv"]}
    customers = {r["customer_no"] for s in sets.values() for r in s["customers.csv"]}
    web = {e["properties"]["order_no"] for e in web_events(oneshot.landing) if e["event_name"] == "order_completed"}
    assert web and web <= set(orders)
    go_live = datetime(CONFIG.start_date.year, CONFIG.start_date.month, CONFIG.start_date.day, tzinfo=LONDON)
    checked = 0
    for o in truth(oneshot.truth, "orders.csv"):
        if o["order_no"] not in orders or datetime.fromisoformat(o["ordered_at"]) < go_live:
            continue
        erp_order = orders[o["order_no"]]
        assert (erp_order["customer_no"] is None) == (o["guest"] == "True")
        assert erp_order["channel"] == ("web" if o["platform"] == "web" else "app")
        assert erp_order["total_amount"] == Decimal(o["total"])
        if erp_order["customer_no"]:
            assert erp_order["customer_no"] in customers  # the customer row comes with the order
        checked += 1
    assert checked > 500
    channels = Counter(o["channel"] for o in orders.values())
    assert all(channels[c] > 0 for c in ("web", "app", "store", "phone", "marketplace"))
    assert any(o["store_id"] for o in orders.values() if o["channel"] == "store")


def test_web_checkout_failures_are_erp_payment_rows(oneshot, sets):
    """Each checkout_failed of a journey is one declined/error payment row of its ERP order."""
    # Journeys whose every event is in the delivered web files: after go-live, over days before the end.
    inside = {
        j["journey_id"]
        for j in truth(oneshot.truth, "journeys.csv")
        if j["start_at"] >= f"{CONFIG.start_date}T01" and j["end_at"] < f"{CONFIG.end_date - timedelta(days=3)}"
    }
    quirks = truth(oneshot.truth, "quirks.csv")
    web = Counter(
        (q["journey_id"], json.loads(q["detail"])["reason"])
        for q in quirks
        if q["quirk"] == "checkout_failed" and q["journey_id"] in inside
    )
    payments = truth(oneshot.truth, "payments.csv")
    mirrored = Counter(
        (p["journey_id"], p["web_reason"]) for p in payments if p["web_reason"] and p["journey_id"] in inside
    )
    assert len({j for j, _ in web}) > 50
    assert mirrored == web
    delivered = {r["payment_id"]: r for s in sets.values() for r in s["payments.csv"]}
    expected = {
        "processor_unavailable": ("error", "processor_unavailable"),
        "payment_timeout": ("error", None),
        "3ds_failed": ("declined", "3ds_failed"),
        "insufficient_funds": ("declined", "insufficient_funds"),
        "address_validation": ("declined", "do_not_honor"),
    }
    seen = 0
    for p in payments:
        if p["web_reason"] and p["payment_id"] in delivered:
            row = delivered[p["payment_id"]]
            if p["web_reason"] == "card_declined":
                assert (row["status"], row["decline_code"]) in {
                    ("declined", "do_not_honor"),
                    ("declined", "expired_card"),
                }
            else:
                assert (row["status"], row["decline_code"]) == expected[p["web_reason"]]
            seen += 1
    assert seen > 50


def test_the_turbulent_period_shows_as_processor_errors(sets):
    turbulent_from = CONFIG.turbulent_from.isoformat()
    per_day = defaultdict(lambda: [0, 0])  # date -> [processor_unavailable errors, attempts]
    for day, files in sets.items():
        for r in files["payments.csv"]:
            if r["status"] != "refunded":
                per_day[day][1] += 1
                per_day[day][0] += r["decline_code"] == "processor_unavailable"
    before = sum(v[0] for d, v in per_day.items() if d < turbulent_from) / sum(
        v[1] for d, v in per_day.items() if d < turbulent_from
    )
    during = sum(v[0] for d, v in per_day.items() if d >= turbulent_from) / sum(
        v[1] for d, v in per_day.items() if d >= turbulent_from
    )
    assert before == 0 and during > 0.02


def test_failed_checkouts_leave_cancelled_unpaid_orders(oneshot):
    orders = [o for o in truth(oneshot.truth, "erp_orders.csv") if o["origin"] == "failed_checkout"]
    assert len(orders) > 20
    for o in orders:
        assert o["cancelled_at"] and not o["paid_at"] and o["journey_id"]


def test_returns_come_from_the_returns_journeys(oneshot, sets):
    orders = {o["order_no"]: o for o in truth(oneshot.truth, "erp_orders.csv")}
    started = {e["properties"]["order_no"] for e in web_events(oneshot.landing) if e["event_name"] == "return_started"}
    delivered = {n for n in started if orders[n]["delivered_at"]}  # a lost or sent-back parcel has nothing to return
    assert len(delivered) > 10 and len(delivered) >= 0.9 * len(started)
    assert all(orders[n]["return_id"] for n in delivered)
    returned = {r["order_no"] for s in sets.values() for r in s["returns.csv"]}
    assert returned & delivered
    statuses = Counter(r["status"] for s in sets.values() for r in s["returns.csv"])
    assert statuses["requested"] and statuses["received"] and statuses["refunded"]


def test_backordered_lines_are_the_shared_stockouts(oneshot, sets):
    pop = oneshot.sandbox.world.population
    stock = stockouts(pop)
    orders = {o["order_no"]: o for o in truth(oneshot.truth, "erp_orders.csv")}
    lines = [r for s in sets.values() for r in s["order_lines.csv"] if r["line_status"] == "backordered"]
    assert lines
    for r in lines:
        sku = int(r["sku"][4:]) - 100000
        paid = datetime.fromisoformat(orders[r["order_no"]]["paid_at"].replace("Z", "+00:00"))
        moment = int(paid.timestamp() * 1000) - 1000  # paid_at is the status change, a second after the payment
        assert stock.restocked_at(np.array([sku]), np.array([moment]))[0] > moment


def test_erp_customers_are_typed_differently_from_the_crm(oneshot):
    identities = truth(oneshot.truth, "identities.csv")
    erp_ids = [i for i in identities if i["system"] == "erp"]
    assert {i["identifier_type"] for i in erp_ids} == {"erp_customer_no", "email", "phone"}
    crm_email = {(i["person_id"], i["normalised_value"]): i["value"] for i in identities if i["system"] == "crm"}
    same_address = [
        i for i in erp_ids if i["identifier_type"] == "email" and (i["person_id"], i["normalised_value"]) in crm_email
    ]
    assert len(same_address) > 100
    assert any(crm_email[(i["person_id"], i["normalised_value"])] != i["value"] for i in same_address)
    crm_phones = {i["value"] for i in identities if i["system"] == "crm" and i["identifier_type"] == "phone"}
    erp_phones = [i["value"] for i in erp_ids if i["identifier_type"] == "phone"]
    assert erp_phones and sum(p not in crm_phones for p in erp_phones) > len(erp_phones) / 2
    # The same people under different keys: every ERP customer_no belongs to a person the ground truth knows.
    persons = {p["person_id"] for p in truth(oneshot.truth, "persons.csv")}
    assert {i["person_id"] for i in erp_ids} <= persons


# ---------------------------------------------------------------------------- quirks and their rates
def test_quirk_rates_and_records(oneshot):
    quirks = truth(oneshot.truth, "quirks.csv")
    counts = Counter(q["quirk"] for q in quirks if q["system"] == "erp")
    for quirk in ("erp_name_punctuation", "erp_multiline_name", "erp_stockout_line", "payment_failed"):
        assert counts[quirk] > 0, quirk
    for q in quirks:
        if q["system"] == "erp":
            assert q["location"].startswith("erp/") and q["source_key"]
    # Per-customer rates: the share of ERP customers typed that way.
    typing = erp.customer_typing(oneshot.sandbox.world.population)
    n = len(typing.person)
    assert abs(np.isin(typing.name_form, erp.PUNCTUATED_FORMS).sum() / n - 0.20) < 0.04
    assert 0.002 < (typing.second_line >= 0).sum() / n < 0.03
    lines = truth(oneshot.truth, "erp_orders.csv")
    backordered = sum(int(o["backordered_lines"]) for o in lines) / sum(int(o["lines"]) for o in lines)
    assert 0.005 < backordered < 0.06  # erp_stockout 0.02: a few popular SKUs make it lumpy


def test_delivery_quirks_happen_at_their_rates():
    cfg = SandboxConfig(
        start_date=date(2026, 1, 1),
        end_date=date(2026, 12, 31),
        quirk_rates={"erp_missing_manifest": 0.1, "erp_manifest_mismatch": 0.1},
    )
    plans = [erp.schedule(cfg, cfg.start_date + timedelta(days=i)) for i in range(364)]
    share = Counter()
    for pubs in plans:
        share["late"] += pubs[0].late
        share["partial"] += pubs[0].content == "partial"
        share["truncated"] += pubs[0].content == "truncated"
        share["mismatch"] += pubs[0].content == "mismatch"
    assert abs(share["late"] / 364 - 0.10) < 0.04
    assert abs(share["partial"] / 364 - 0.07) < 0.04
    assert abs(share["truncated"] / 364 - 0.10) < 0.04
    assert abs(share["mismatch"] / 364 - 0.10) < 0.04
    defaults = [erp.schedule(SandboxConfig(), SandboxConfig().start_date + timedelta(days=i)) for i in range(30)]
    assert all(p.content != "truncated" and p.content != "mismatch" for pubs in defaults for p in pubs)  # opt-in


def test_dst_offsets_disambiguate_the_repeated_hour(quirky):
    folder = quirky.landing / erp.SYSTEM_DIR / "2026-10-25"
    stamps = []
    for name in erp.FILES:
        text = (folder / name).read_bytes().decode("utf-8-sig")
        for r in csv.DictReader(io.StringIO(text)):
            stamps += [r[c] for c in ("order_ts", "attempt_ts", "requested_at", "changed_at", "created_at") if r.get(c)]
    repeated = [s for s in stamps if s.startswith("2026-10-25T01:")]
    assert {s[-6:] for s in repeated} == {"+01:00", "+00:00"}  # the same wall-clock hour twice, told apart
    for s in stamps:
        moment = datetime.fromisoformat(s)
        assert moment.utcoffset() == moment.astimezone(LONDON).utcoffset(), s  # the offset London had then
    quirks = quirky.quirks
    assert any(q["quirk"] == "erp_dst_repeated_hour" and "2026-10-25" in q["location"] for q in quirks)


def test_london_offsets_around_both_clock_changes():
    at = [datetime(2026, 10, 25, h, 30, tzinfo=UTC) for h in (0, 1, 2)] + [datetime(2026, 3, 29, 0, 59, tzinfo=UTC)]
    ms = np.array([int(t.timestamp() * 1000) for t in at], np.int64)
    assert erp.london_iso(ms) == [
        "2026-10-25T01:30:00+01:00",
        "2026-10-25T01:30:00+00:00",  # the repeated hour: only the offset tells them apart
        "2026-10-25T02:30:00+00:00",
        "2026-03-29T00:59:00+00:00",  # a minute later it is 02:00+01:00: 01:xx never exists that day
    ]
    assert erp.repeated_hour(ms).tolist() == [True, True, False, False]


def _state(night: dict[str, dict[str, bytes]], day: str) -> str:
    files = night.get(day)
    if files is None:
        return "absent"
    if erp.MANIFEST not in files:
        return "no manifest"
    return f"revision {json.loads(files[erp.MANIFEST])['revision']}"


def test_late_sets_are_absent_at_the_night_run_and_there_the_next(quirky):
    sets = quirky.file_sets
    late = {s["business_date"] for s in sets if s["late"] == "True"}
    assert late
    for d in late:
        day = date.fromisoformat(d)
        assert _state(quirky.nights[day], d) == "absent"
        assert _state(quirky.nights[day + timedelta(days=1)], d) != "absent"
    on_time = {s["business_date"] for s in sets} - late
    for d in on_time:
        assert _state(quirky.nights[date.fromisoformat(d)], d) != "absent"
    recorded = {q["source_key"] for q in quirky.quirks if q["quirk"] == "erp_late_delivery"}
    assert recorded == late


def test_a_redelivery_raises_the_revision_and_replaces_the_files(quirky):
    sets = quirky.file_sets
    redelivered = {s["business_date"] for s in sets if s["content"] == "partial"}
    assert redelivered
    quirks = [q for q in quirky.quirks if q["quirk"] == "erp_redelivery"]
    for d in redelivered:
        states = [(night, _state(files, d)) for night, files in sorted(quirky.nights.items())]
        seen = [s for _, s in states if s != "absent"]
        assert seen[0] == "revision 1" and seen[-1] == "revision 2"
        first = next(n for n, s in states if s == "revision 1")
        last = next(n for n, s in states if s == "revision 2")
        old, new = quirky.nights[first][d], quirky.nights[last][d]
        assert old[erp.MANIFEST] != new[erp.MANIFEST]
        missing = {
            q["source_key"]
            for q in quirks
            if q["location"].startswith(f"erp/{d}/") and "_manifest" not in q["location"]
        }
        old_keys = {line.split(b",")[0] for name in erp.FILES for line in old[name].splitlines()}
        new_keys = {line.split(b",")[0] for name in erp.FILES for line in new[name].splitlines()}
        assert old_keys <= new_keys
        if missing:  # the rows revision 1 missed are in revision 2
            assert any(k.encode() in new_keys and k.encode() not in old_keys for k in missing if "/" not in k)
    folder = quirky.landing / erp.SYSTEM_DIR
    for d in redelivered:
        assert manifest_problems(folder / d) == []


def test_a_set_without_manifest_is_completed_the_next_night(quirky):
    sets = quirky.file_sets
    truncated = [s for s in sets if s["content"] == "truncated"]
    assert truncated
    for s in truncated:
        d, night = s["business_date"], date.fromisoformat(s["first_night_run"])
        assert _state(quirky.nights[night], d) == "no manifest"
        if night < QUIRKY.end_date:
            assert _state(quirky.nights[night + timedelta(days=1)], d) == "revision 1"
            assert manifest_problems(quirky.landing / erp.SYSTEM_DIR / d) == []
    recorded = {q["source_key"] for q in quirky.quirks if q["quirk"] == "erp_missing_manifest"}
    assert recorded == {s["business_date"] for s in truncated}


def test_a_mismatching_manifest_is_replaced_by_a_correct_revision(quirky, tmp_path):
    sets = quirky.file_sets
    mismatched = [s for s in sets if s["content"] == "mismatch"]
    assert mismatched
    for s in mismatched:
        d, night = s["business_date"], date.fromisoformat(s["first_night_run"])
        folder = tmp_path / d
        folder.mkdir()
        for name, data in quirky.nights[night][d].items():
            (folder / name).write_bytes(data)
        assert len(manifest_problems(folder)) == 1
        if night < QUIRKY.end_date:
            assert _state(quirky.nights[night + timedelta(days=1)], d) == "revision 2"
    recorded = {q["source_key"] for q in quirky.quirks if q["quirk"] == "erp_manifest_mismatch"}
    assert recorded == {s["business_date"] for s in mismatched}


def test_quirky_deliveries_are_byte_identical_whatever_the_cadence(quirky):
    assert snapshot(quirky.landing) == snapshot(quirky.oneshot_landing)


def test_a_replaced_set_drops_its_old_manifest_first_and_writes_the_new_one_last(tmp_path, monkeypatch):
    pub = erp.Publication(date(2026, 11, 3), date(2026, 11, 3), 0, 2, "full")
    folder = erp.folder(tmp_path, pub.business_date)
    folder.mkdir(parents=True)
    (folder / erp.MANIFEST).write_text("{}")
    events = []
    real_replace, real_unlink = erp.os.replace, Path.unlink
    monkeypatch.setattr(erp.os, "replace", lambda a, b: (events.append(("write", Path(b).name)), real_replace(a, b)))
    monkeypatch.setattr(Path, "unlink", lambda p, **kw: (events.append(("drop", p.name)), real_unlink(p, **kw)))
    rendered = erp.Rendered({name: b"x" for name in erp.FILES}, b"{}", {}, {})
    erp.write_publication(tmp_path, pub, rendered)
    assert events[0] == ("drop", erp.MANIFEST) and events[-1] == ("write", erp.MANIFEST)
    assert [e for e in events[1:-1]] == [("write", name) for name in erp.FILES]


def test_generated_at_is_after_the_business_date_ends():
    for d in (date(2026, 10, 24), date(2026, 10, 25), date(2026, 11, 3)):
        for pub in erp.schedule(QUIRKY, d) if d <= QUIRKY.end_date else erp.schedule(SandboxConfig(), d):
            end = datetime(d.year, d.month, d.day, tzinfo=LONDON) + timedelta(days=1)
            assert datetime.fromtimestamp(pub.generated_ms / 1000, UTC) >= end
