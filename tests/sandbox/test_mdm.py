"""MDM: nightly full snapshots of golden records, with duplicates, merges, splits and erasures planned."""

from __future__ import annotations

import gzip
import json
import re
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from frictionflow.contracts import load_contract
from frictionflow.sandbox import SandboxConfig, mdm
from frictionflow.sandbox.keys import erp_customer_no, erp_customer_nos, erp_customers
from frictionflow.sandbox.population import NEVER
from frictionflow.sandbox.world import World

from .conftest import CONFIG

# Quirk rates raised so that a small world shows every case, retired records vanishing included.
RATES = {"mdm_merge": 0.1, "mdm_unmerged_duplicate": 0.05, "mdm_split": 0.04}
SMALL = SandboxConfig(
    seed=11, customers=800, start_date=date(2026, 11, 1), end_date=date(2026, 11, 14), quirk_rates=RATES
)


def _dates(config: SandboxConfig) -> list[date]:
    return [config.start_date + timedelta(days=i) for i in range((config.end_date - config.start_date).days + 1)]


def _read(path: Path) -> tuple[list[dict], dict | None]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    if rows and "_trailer" in rows[-1]:
        return rows[:-1], rows[-1]["_trailer"]
    return rows, None


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """The small world's snapshots, written in reverse date order (order must not matter), plus ground truth."""
    landing = tmp_path_factory.mktemp("mdm")
    world = World(SMALL)
    for day in reversed(_dates(SMALL)):
        mdm.write_snapshot(world.mdm, day, landing)
    snapshots = {day: _read(landing / mdm.snapshot_path(day)) for day in _dates(SMALL)}
    pop = world.population
    truth = mdm.golden_records_frame(pop, world.mdm, SMALL.start_date, SMALL.end_date)
    quirks = mdm.quirk_frame(pop, world.mdm, SMALL.start_date, SMALL.end_date)
    return world, landing, snapshots, truth, quirks


def _by_id(snapshot: tuple[list[dict], dict | None]) -> dict[str, dict]:
    return {r["golden_id"]: r for r in snapshot[0]}


def _owner(truth: pd.DataFrame, golden_id: str) -> str:
    return truth.loc[truth["golden_id"] == golden_id, "person_id"].iloc[0]


def test_every_record_validates_and_the_trailer_counts_them(small):
    _, landing, snapshots, _, _ = small
    entity = load_contract("mdm").entities["golden_customer"]
    for day, (rows, trailer) in snapshots.items():
        assert trailer == {"records": len(rows)}, day
        ids = [r["golden_id"] for r in rows]
        assert ids == sorted(set(ids)), "one line per golden record, in golden_id order"
        for row in rows:
            entity.validate(row)
            assert list(row) == entity.column_names
            assert re.fullmatch(r"G-\d{9}", row["golden_id"])
            assert row["primary_email"] == (row["emails"][0] if row["emails"] else None)
            assert row["primary_phone"] == (row["phones"][0] if row["phones"] else None)
    assert not list(landing.rglob("*.tmp"))


def test_unmerged_duplicates_are_linkable_and_in_the_ground_truth(small):
    _, _, snapshots, truth, quirks = small
    dups = quirks[quirks["quirk"] == "mdm_unmerged_duplicate"]
    assert len(dups) >= 5
    last = _by_id(snapshots[SMALL.end_date])
    for row in dups.itertuples():
        base_id = re.search(r"same person as (G-\d{9})", row.detail).group(1)
        a, b = last[row.source_key], last[base_id]
        assert _owner(truth, row.source_key) == _owner(truth, base_id) == row.person_id

        def emails(r):
            return {e.strip().lower() for e in r["emails"]}

        def phones(r):
            return {re.sub(r"[^\d+]", "", p) for p in r["phones"]}

        assert emails(a) & emails(b) or phones(a) & phones(b), (a, b)
        assert a["merged_into"] is None and b["merged_into"] is None


def test_merges_move_keys_and_keep_merged_into_for_30_days(small):
    _, _, snapshots, truth, quirks = small
    merges = quirks[quirks["quirk"] == "mdm_merge"]
    assert len(merges) >= 10
    seen_inside, vanished = 0, 0
    for row in merges.itertuples():
        survivor = re.search(r"merged into (G-\d{9})", row.detail).group(1)
        moved = re.search(r"takes (\w+:\w+)", row.detail).group(1)
        until = date.fromisoformat(row.detail.rsplit(" ", 1)[-1])
        merged_day = until - timedelta(days=29)
        assert _owner(truth, row.source_key) == _owner(truth, survivor)
        for day, snapshot in snapshots.items():
            records = _by_id(snapshot)
            retired = records.get(row.source_key)
            keys = {f"{k['system']}:{k['key']}" for k in records[survivor]["source_keys"]}
            if merged_day <= day <= until:
                assert retired is not None and retired["merged_into"] == survivor, (row.source_key, day)
                assert retired["source_keys"] == [] and moved in keys
            elif day > until:
                assert retired is None, "a retired record disappears after 30 days"
                vanished += 1
            else:
                assert retired is not None and retired["merged_into"] is None
                assert moved in {f"{k['system']}:{k['key']}" for k in retired["source_keys"]}
                assert moved not in keys
                seen_inside += 1
    assert vanished and seen_inside, "some merges vanish inside the window, some happen inside it"
    merged_rows = truth[truth["status"] == "merged"]
    assert set(merges["source_key"]) <= set(merged_rows["golden_id"])


def test_splits_move_a_wrongly_linked_key_to_its_own_person(small):
    world, _, snapshots, truth, quirks = small
    splits = quirks[quirks["quirk"] == "mdm_split"]
    assert len(splits) >= 5
    for row in splits.itertuples():
        wrong, right = re.search(r"moved from (G-\d{9}).* to (G-\d{9})", row.detail).groups()
        corrected = date.fromisoformat(row.location.split("/")[1])
        assert _owner(truth, right) == row.person_id != _owner(truth, wrong)
        key = row.source_key
        for day, snapshot in snapshots.items():
            records = _by_id(snapshot)
            holder = [g for g, r in records.items() if key in {f"{k['system']}:{k['key']}" for k in r["source_keys"]}]
            assert holder == ([right] if day >= corrected else [wrong]), (key, day)
        wrongly = truth[truth["wrongly_linked_keys"].str.contains(key.split(":")[1])]
        # Corrected on the first delivered day: no delivered snapshot showed the wrong link.
        assert set(wrongly["golden_id"]) == ({wrong} if corrected > SMALL.start_date else set())
        assert (wrongly["wrongly_linked_keys"] == f"{key}={row.person_id}").all()
        assert (wrongly["last_snapshot"] < corrected.isoformat()).all()


def test_erased_persons_disappear(small):
    world, _, snapshots, truth, _ = small
    pop = world.population
    erased = [p for p in range(pop.n_persons) if pop.erased_ms[p] != NEVER]
    assert erased
    for p in erased:
        ids = set(truth.loc[truth["person_id"] == pop.person_id[p], "golden_id"])
        gone_from = mdm.london_days([pop.erased_ms[p]])[0]
        for day, snapshot in snapshots.items():
            present = ids & set(_by_id(snapshot))
            assert bool(present) == ((day - date(1970, 1, 1)).days < gone_from), (p, day)


def test_erp_keys_and_golden_records_cover_every_known_person(small):
    world, _, snapshots, truth, _ = small
    pop = world.population
    erp = erp_customers(pop)
    assert erp.erp_only.any() and (~erp.erp_only).any()
    rows, _ = snapshots[SMALL.start_date]
    keys = {k["key"] for r in rows for k in r["source_keys"]}
    active = [i for i, p in enumerate(erp.person.tolist()) if pop.erased_ms[p] == NEVER]
    assert {erp.customer_no[i] for i in active if erp.created_ms[i] < world.population.go_live_ms} <= keys
    assert set(truth["person_id"]) <= set(pop.person_id)


def test_customer_numbers_are_unique_and_shaped_like_the_contract():
    numbers = erp_customer_nos(range(200_000))
    assert len(set(numbers)) == len(numbers)
    assert all(re.fullmatch(r"C\d{10}", n) for n in numbers[:1000])
    assert erp_customer_no(1233) == numbers[1233]


def test_same_config_same_bytes(small, tmp_path):
    _, landing, _, _, _ = small
    again = World(SMALL)
    for day in (SMALL.start_date, SMALL.end_date):
        mdm.write_snapshot(again.mdm, day, tmp_path)
        assert (tmp_path / mdm.snapshot_path(day)).read_bytes() == (landing / mdm.snapshot_path(day)).read_bytes()


def test_truncated_snapshots_are_opt_in_and_recorded(tmp_path):
    config = SandboxConfig(
        seed=5,
        customers=200,
        start_date=date(2026, 11, 1),
        end_date=date(2026, 11, 2),
        quirk_rates={"mdm_truncated_snapshot": 1.0},
    )
    world = World(config)
    mdm.write_snapshot(world.mdm, config.start_date, tmp_path)
    rows, trailer = _read(tmp_path / mdm.snapshot_path(config.start_date))
    full = world.mdm.lines_at(mdm.local_midnight_ms(config.start_date + timedelta(days=1)))
    assert trailer is None and 0 < len(rows) < len(full)
    quirks = mdm.quirk_frame(world.population, world.mdm, config.start_date, config.start_date)
    assert list(quirks.loc[quirks["quirk"] == "mdm_truncated_snapshot", "location"]) == [
        mdm.snapshot_path(config.start_date)
    ]
    assert SandboxConfig().rate("mdm_truncated_snapshot") == 0.0


# ------------------------------------------------------------------ through Sandbox.deliver_through
def test_delivered_snapshots_match_whatever_the_cadence(nightly, oneshot):
    dates = [d.isoformat() for d in _dates(CONFIG)]
    for delivered in (nightly, oneshot):
        assert sorted(p.name for p in (delivered.landing / "mdm").iterdir()) == dates
        assert not list((delivered.landing / "mdm").rglob("*.tmp"))
    written = [d for r in nightly.reports for d in r.mdm_dates]
    assert written == _dates(CONFIG), "each snapshot is written once, by the night that covers it"
    for day in _dates(CONFIG):
        path = mdm.snapshot_path(day)
        assert (nightly.landing / path).read_bytes() == (oneshot.landing / path).read_bytes()
        rows, trailer = _read(oneshot.landing / path)
        assert trailer == {"records": len(rows)}
    assert (nightly.truth / "golden_records.csv").read_bytes() == (oneshot.truth / "golden_records.csv").read_bytes()


def test_ground_truth_lists_golden_records_and_their_identities(oneshot):
    truth = pd.read_csv(oneshot.truth / "golden_records.csv", dtype=str, keep_default_na=False)
    identities = pd.read_csv(oneshot.truth / "identities.csv", dtype=str, keep_default_na=False)
    golden = identities[identities["identifier_type"] == "golden_id"]
    assert set(golden["value"]) == set(truth["golden_id"])
    assert (golden["system"] == "mdm").all()
    owner = dict(zip(truth["golden_id"], truth["person_id"], strict=True))
    assert all(owner[g] == p for g, p in zip(golden["value"], golden["person_id"], strict=True))
    rows, _ = _read(oneshot.landing / mdm.snapshot_path(CONFIG.end_date))
    last = truth[truth["last_snapshot"] == CONFIG.end_date.isoformat()]
    assert set(last["golden_id"]) == {r["golden_id"] for r in rows}
    quirks = pd.read_csv(oneshot.truth / "quirks.csv", dtype=str, keep_default_na=False)
    assert {"mdm_merge", "mdm_unmerged_duplicate", "mdm_split"} <= set(quirks.loc[quirks["system"] == "mdm", "quirk"])
    manifest = json.loads((oneshot.truth / "manifest.json").read_text())
    assert manifest["files"]["golden_records.csv"] == len(truth)
