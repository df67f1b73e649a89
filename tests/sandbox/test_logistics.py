"""Logistics: Parquet parts by upload date, with late and duplicate scans, early events and stock-outs."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pyarrow.parquet as pq
import pytest

from frictionflow.contracts import load_contract
from frictionflow.sandbox import SandboxConfig, logistics
from frictionflow.sandbox.timeutil import utc_midnight_ms
from frictionflow.sandbox.world import World

from .conftest import CONFIG

LONDON = ZoneInfo("Europe/London")
RATES = {
    "scan_late": 0.1,
    "scan_duplicate": 0.05,
    "events_before_shipment": 0.1,
    "stockout": 0.001,
    "failed_delivery": 0.15,
}
SMALL = SandboxConfig(
    seed=13, customers=800, start_date=date(2026, 11, 1), end_date=date(2026, 11, 14), quirk_rates=RATES
)
H72 = pd.Timedelta(hours=72)


def _dates(config: SandboxConfig) -> list[date]:
    return [config.start_date + timedelta(days=i) for i in range((config.end_date - config.start_date).days + 1)]


def deliver(config: SandboxConfig, landing: Path) -> World:
    """What Sandbox.deliver_through does for logistics, night by night (rows released as they are written)."""
    world = World(config)
    for day in _dates(config):
        days = [ld for p in world.plan_days_through(day) for ld in world.logistics_days(p)]
        logistics.write_upload_day(world.population, days, world.logistics_stock, day, landing)
        for p in world.plan_days_through(day):
            world.release_logistics(p, utc_midnight_ms(day + timedelta(days=1)))
    return world


def read(landing: Path, entity: str) -> pd.DataFrame:
    """Every row of an entity with its part (path relative to landing) and the part's order of arrival."""
    frames = []
    for path in sorted((landing / "logistics").glob(f"*/{entity}-*.parquet")):
        frame = pq.read_table(path).to_pandas()
        part = str(path.relative_to(landing))
        frames.append(frame.assign(part=part, arrival=path.parent.name + path.stem[-3:]))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    landing = tmp_path_factory.mktemp("logistics")
    world = deliver(SMALL, landing)
    days = [ld for p in world.plan_days_through(SMALL.end_date) for ld in world.logistics_days(p)]
    go_live, cutoff = utc_midnight_ms(SMALL.start_date), utc_midnight_ms(SMALL.end_date + timedelta(days=1))
    quirks = logistics.quirk_frame(world.population, days, world.logistics_stock, go_live, cutoff)
    shipments = logistics.shipments_frame(world.population, days, go_live, cutoff)
    tables = {entity: read(landing, entity) for entity in logistics.ENTITIES}
    return world, landing, tables, quirks, shipments


def test_parts_are_complete_snappy_and_contract_valid(small):
    _, landing, tables, _, _ = small
    contract = load_contract("logistics")
    for day in _dates(SMALL):
        folder = landing / "logistics" / day.isoformat()
        assert sorted(p.name for p in folder.iterdir()) == sorted(logistics.part_names())
    for entity, frame in tables.items():
        spec = contract.entities[entity]
        assert len(frame) > 50, entity
        paths = sorted((landing / "logistics").glob(f"*/{entity}-*.parquet"))
        for path in paths:
            parquet = pq.ParquetFile(path)
            assert parquet.schema_arrow.names == spec.column_names
            if parquet.metadata.num_rows:
                assert parquet.metadata.row_group(0).column(0).compression == "SNAPPY"
                for record in parquet.read().to_pylist():
                    spec.validate(record)
    assert not list(landing.rglob("*.tmp"))


def test_parts_are_named_for_their_upload_date_not_the_event_date(small):
    _, _, tables, _, _ = small
    events = tables["shipment_events"]
    upload_day = events["part"].str.split("/").str[1]
    event_day = events["event_ts"].dt.strftime("%Y-%m-%d")
    assert (upload_day >= event_day).all()
    assert (upload_day > event_day).any(), "scans uploaded after midnight land in the next date's parts"


def test_late_scans_arrive_out_of_order_within_72_hours(small):
    _, _, tables, quirks, _ = small
    events = tables["shipment_events"]
    window_start = pd.to_datetime(events["arrival"].str[:10], utc=True) + pd.to_timedelta(
        (events["arrival"].str[-3:].astype(int) - 1) * logistics.PART_HOURS, unit="h"
    )
    # Uploaded after it happened and at most 72 hours later: the part's window starts within that span.
    assert (window_start <= events["event_ts"] + H72).all()
    assert (window_start + pd.Timedelta(hours=logistics.PART_HOURS) > events["event_ts"]).all()
    late = quirks[quirks["quirk"] == "scan_late"]
    assert len(late) > 20
    hours = late["detail"].str.extract(r"uploaded ([\d.]+) h")[0].astype(float)
    assert hours.between(4, 72).all()
    first = events.sort_values("arrival", kind="stable").drop_duplicates("event_id")  # a late scan can repeat
    located = first.set_index("event_id").loc[late["source_key"], "part"]
    assert list(located) == list(late["location"])
    # Out of order: some shipment has a later scan in an earlier part than an earlier scan.
    firsts = events.drop_duplicates("event_id").sort_values(["shipment_id", "event_ts"])
    overtaken = firsts.groupby("shipment_id")["arrival"].apply(lambda a: (a.cummax() > a).any())
    assert overtaken.sum() > 5


def test_duplicate_scans_arrive_in_two_parts(small):
    _, _, tables, quirks, _ = small
    events = tables["shipment_events"]
    twice = events[events.duplicated("event_id", keep=False)]
    assert len(twice) > 20
    assert (twice.groupby("event_id")["part"].nunique() == 2).all()
    columns = ["event_id", "shipment_id", "event_ts", "status"]
    assert (twice.groupby("event_id")[columns[1:]].nunique() == 1).all().all(), "a copy is the same event"
    dups = quirks[quirks["quirk"] == "scan_duplicate"]
    last = twice.sort_values("arrival").drop_duplicates("event_id", keep="last")
    # A copy whose first upload fell before go-live (warm-up) arrives once in the delivered parts.
    first_delivered = dups["detail"].str.extract(r"logistics/([\d-]+)/")[0] >= SMALL.start_date.isoformat()
    assert set(dups.loc[first_delivered, "source_key"]) == set(last["event_id"])
    assert set(dups["location"]) <= set(events["part"])


def test_events_can_arrive_before_their_shipment(small):
    _, _, tables, quirks, shipments = small
    events, ships = tables["shipment_events"], tables["shipments"]
    first_event = events.groupby("shipment_id")["arrival"].min()
    row = ships.set_index("shipment_id")["arrival"]
    early = quirks[quirks["quirk"] == "events_before_shipment"]
    assert len(early) > 10
    for shipment, detail, location in zip(early["source_key"], early["detail"], early["location"], strict=True):
        first_part = detail.rsplit(" ", 1)[-1]

        def arrival(part: str) -> str:
            return part.split("/")[1] + part[-11:-8]

        assert arrival(first_part) < row[shipment] == arrival(location)
        if first_part.split("/")[1] >= SMALL.start_date.isoformat():  # not in the warm-up: delivered too
            assert first_event[shipment] < row[shipment]
    assert ships["shipment_id"].is_unique, "a shipment row is uploaded once"
    flagged = set(shipments.loc[shipments["events_before_shipment"], "shipment_id"])
    assert set(early["source_key"]) <= flagged


def test_stockouts_are_repeated_with_ended_at_in_a_later_part(small):
    _, _, tables, quirks, _ = small
    stock = tables["stockouts"]
    key = ["sku", "location_id", "started_at"]
    opened = stock[stock["ended_at"].isna()]
    closed = stock[stock["ended_at"].notna()]
    assert len(opened) > 20 and len(closed) > 20
    assert not stock.duplicated([*key, "ended_at"]).any()
    both = opened.merge(closed, on=key, suffixes=("_open", "_closed"))
    assert len(both) > 10
    assert (both["arrival_open"] < both["arrival_closed"]).all()
    assert (both["ended_at_closed"] > both["started_at"]).all()
    assert set(stock["location_id"]) <= set(logistics.LOCATIONS)
    assert (quirks["quirk"] == "stockout").sum() >= len(opened)


def test_scan_sequences_tell_a_consistent_story(small):
    _, _, tables, _, shipments = small
    events = tables["shipment_events"].drop_duplicates("event_id").sort_values(["shipment_id", "event_ts"])
    assert (events["reason"].notna() == (events["status"] == "delivery_failed")).all()
    # Shipments created after go-live: none of their scans was uploaded during the (undelivered) warm-up.
    ships = tables["shipments"]
    fresh = set(ships.loc[ships["created_at"] >= pd.Timestamp(SMALL.start_date, tz="UTC"), "shipment_id"])
    for shipment, scans in events.groupby("shipment_id"):
        statuses = list(scans["status"])
        if shipment in fresh:
            assert statuses[:3] == ["label_created", "picked", "dispatched"][: len(statuses)]
        terminal = {"delivered", "returned_to_sender", "lost"} & set(statuses)
        assert len(terminal) <= 1 and (not terminal or statuses[-1] in terminal)
    assert {"delivered", "delivery_failed", "returned_to_sender", "lost"} <= set(events["status"])
    assert set(shipments["outcome"]) >= {"delivered", "returned_to_sender", "lost"}


def test_late_deliveries_are_a_friction_of_tracked_orders(small):
    world, _, _, quirks, shipments = small
    delivered = shipments[shipments["delivered_at"].notna()]
    local_day = pd.to_datetime(delivered["delivered_at"], utc=True).dt.tz_convert(LONDON).dt.strftime("%Y-%m-%d")
    assert (delivered["late"] == (local_day > delivered["promised_delivery_date"])).all()
    tracked = shipments["delivery_journey_id"].notna()
    assert shipments.loc[tracked, "late"].mean() > 2 * shipments.loc[~tracked, "late"].mean()
    late = quirks[quirks["quirk"] == "late_delivery"]
    assert set(late["source_key"]) <= set(shipments.loc[shipments["late"], "shipment_id"])
    journeys = dict(zip(shipments["shipment_id"], shipments["delivery_journey_id"], strict=True))
    linked = late[[isinstance(journeys[s], str) for s in late["source_key"]]]
    assert len(linked) > 10 and (linked["journey_id"] == [journeys[s] for s in linked["source_key"]]).all()
    failed = quirks[quirks["quirk"] == "failed_delivery"]
    assert len(failed) > 10 and set(failed["source_key"]) <= set(shipments.loc[shipments["failed"], "shipment_id"])
    # One shipment per order: web and app orders from the day plans, phone and marketplace ones from the ERP.
    orders = {n for d in world.plan_days_through(SMALL.end_date) for n in world.plan(d).orders["order_no"]}
    web = shipments["order_source"] == "web"
    assert set(shipments.loc[web, "order_no"]) <= orders and shipments["order_no"].is_unique
    assert set(shipments["order_source"]) <= {"web", "erp"}


def test_the_failing_carrier_only_fails_in_the_turbulent_period(small):
    _, _, _, _, shipments = small
    disrupted = shipments[shipments["carrier_disruption"]]
    assert len(disrupted) > 5 and set(disrupted["carrier"]) == {"Evri"}
    created = pd.to_datetime(disrupted["created_at"], utc=True)
    assert (created.dt.date >= SMALL.turbulent_from - timedelta(days=3)).all()
    calm = SandboxConfig(**{**_fields(SMALL), "quirk_rates": {**RATES, "carrier_disruption": 0.0}})
    world = World(calm)
    assert not any(world.logistics(d).ship["disrupted"].any() for d in calm.days())


def _fields(config: SandboxConfig) -> dict:
    return {k: getattr(config, k) for k in ("seed", "customers", "start_date", "end_date")}


def test_same_config_same_bytes_whatever_the_cadence(small, tmp_path):
    _, landing, _, _, _ = small
    world = World(SMALL)
    # All order days at once, nothing released, dates in reverse: the cadence must not matter.
    days = [ld for p in world.plan_days_through(SMALL.end_date) for ld in world.logistics_days(p)]
    for day in reversed(_dates(SMALL)):
        logistics.write_upload_day(world.population, days, world.logistics_stock, day, tmp_path)
    for path in sorted((landing / "logistics").rglob("*.parquet")):
        assert (tmp_path / path.relative_to(landing)).read_bytes() == path.read_bytes(), path


# ------------------------------------------------------------------ through Sandbox.deliver_through
def test_delivered_parts_are_written_once_and_match_whatever_the_cadence(nightly, oneshot):
    dates = [d.isoformat() for d in _dates(CONFIG)]
    written = [d for r in nightly.reports for d in r.logistics_dates]
    assert written == _dates(CONFIG), "each upload date's parts are written once, never rewritten"
    for delivered in (nightly, oneshot):
        assert sorted(p.name for p in (delivered.landing / "logistics").iterdir()) == dates
        assert not list((delivered.landing / "logistics").rglob("*.tmp"))
    for path in sorted((oneshot.landing / "logistics").rglob("*.parquet")):
        assert (nightly.landing / path.relative_to(oneshot.landing)).read_bytes() == path.read_bytes()
    assert (nightly.truth / "shipments.csv").read_bytes() == (oneshot.truth / "shipments.csv").read_bytes()
    assert sum(oneshot.reports[0].logistics_rows.values()) > 0


def test_ground_truth_lists_shipments_frictions_and_the_carrier_disruption(oneshot):
    shipments = pd.read_csv(oneshot.truth / "shipments.csv", dtype=str, keep_default_na=False)
    orders = pd.read_csv(oneshot.truth / "orders.csv", dtype=str, keep_default_na=False)
    web = shipments["order_source"] == "web"
    assert set(shipments.loc[web, "order_no"]) <= set(orders["order_no"])
    if (oneshot.truth / "erp_orders.csv").exists():  # phone and marketplace orders ship too
        erp_orders = pd.read_csv(oneshot.truth / "erp_orders.csv", dtype=str, keep_default_na=False)
        assert set(shipments.loc[~web, "order_no"]) <= set(erp_orders["order_no"])
    cutoff = datetime.combine(CONFIG.end_date + timedelta(days=1), datetime.min.time(), UTC)
    assert (pd.to_datetime(shipments["created_at"], utc=True) < cutoff).all()
    quirks = pd.read_csv(oneshot.truth / "quirks.csv", dtype=str, keep_default_na=False)
    found = set(quirks.loc[quirks["system"] == "logistics", "quirk"])
    assert {"late_delivery", "failed_delivery", "stockout", "scan_late", "scan_duplicate"} <= found
    turbulence = json.loads((oneshot.truth / "turbulence.json").read_text())
    assert any("Evri" in line for line in turbulence["disrupts"]["logistics"])
    assert turbulence["effects"]["carrier_disruption_share"] == CONFIG.rate("carrier_disruption")


def test_orders_wait_for_the_shared_stockouts_of_their_warehouse(small):
    world, _, tables, quirks, shipments = small
    stock = world.logistics_stock
    if stock.shared is None:
        pytest.skip("no ERP stock-out windows (stock.py) configured")
    waited = shipments[shipments["waited_for_stock"]]
    assert len(waited) > 0
    warehouses = set(logistics.WAREHOUSES)
    rows = tables["stockouts"]
    assert set(rows["location_id"]) & warehouses and set(rows["location_id"]) - warehouses
    # The label is printed only after the SKU is back: these shipments are dispatched late and often late.
    events = tables["shipment_events"].drop_duplicates("event_id")
    labels = events[events["status"] == "label_created"].set_index("shipment_id")["event_ts"]
    seen = [s for s in waited["shipment_id"] if s in labels.index]
    created = pd.to_datetime(waited.set_index("shipment_id").loc[seen, "created_at"], utc=True)
    assert (labels.loc[seen] - created > pd.Timedelta(minutes=30)).all()
    counted = quirks.loc[quirks["quirk"] == "stockout", "detail"].str.extract(r"(\d+) shipments waited")[0]
    assert counted.dropna().astype(int).sum() > 0
