"""File extractors (ERP file sets, MDM snapshots, logistics Parquet parts, marketing CSV) on hand-made deliveries
written exactly as the contracts describe, loaded into a real PostgreSQL."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from frictionflow import nightly
from frictionflow.extract.csv_records import read_csv
from frictionflow.extract.daily_csv import pull_daily_csv
from frictionflow.extract.file_sets import pull_file_set
from frictionflow.extract.parquet_parts import pull_parquet_parts
from frictionflow.extract.snapshot import pull_snapshot
from frictionflow.sources import source_configs
from tests.nightly_helpers import fingerprint

NIGHT = date(2026, 11, 21)
ERP = source_configs()["erp"]


def interval(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=nightly.COMPANY_TZ)
    return start, datetime.combine(day + timedelta(days=1), start.timetz())


def query(dsn: str, sql: str, *params) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, params).fetchall()


def count(dsn: str, table: str) -> int:
    return query(dsn, f"select count(*) from {table}")[0][0]


# ---------------------------------------------------------------------------------------------------- ERP
def erp_rows(day: date) -> dict[str, list[list[str]]]:
    ts = f"{day}T14:03:11+00:00"
    return {
        "customers": [
            ["C0000000001", 'Smith, "Jo"\nJr.', "jo@example.com", "", "GB", "2026-01-01T10:00:00+00:00", ts],
            ["C0000000002", "Ann Lee", "", "+44 20 7946 0018", "GB", "2026-02-01T10:00:00+00:00", ts],
        ],
        "sales_orders": [
            ["SO-2026-00000001", "C0000000001", ts, "web", "", "paid", "GBP", "100.10", ts],
            ["SO-2026-00000002", "", ts, "store", "S01", "created", "GBP", "20.05", ts],
        ],
        "order_lines": [["SO-2026-00000001", "1", "SKU-1", "2", "50.05", "ok", ts]],
        "payments": [
            ["P1", "SO-2026-00000001", ts, "card", "1523000.00", "captured", "", ts],
            ["P2", "SO-2026-00000002", ts, "paypal", "340.17", "declined", "do_not_honor", ts],
        ],
        "returns": [["R1", "SO-2026-00000001", ts, "damaged", "requested", ts]],
    }


def csv_bytes(header: list[str], rows: list[list[str]], bom: bool = True) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig" if bom else "utf-8")


def write_erp_set(
    landing: Path, day: date, rows: dict[str, list[list[str]]], revision: int = 1, manifest: bool = True
) -> dict:
    """The set as the ERP writes it: BOM-prefixed RFC 4180 CSVs, then the manifest, last."""
    folder = landing / f"erp/{day}"
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for entity, entity_rows in rows.items():
        header = ERP.entity(entity).column_names
        data = csv_bytes(header, entity_rows)
        (folder / f"{entity}.csv").write_bytes(data)
        files[f"{entity}.csv"] = {"rows": len(entity_rows), "sha256": hashlib.sha256(data).hexdigest()}
        amount = ERP.options["amount_sum_columns"].get(entity)
        if amount:
            at = header.index(amount)
            files[f"{entity}.csv"]["amount_sum"] = str(sum((Decimal(r[at]) for r in entity_rows), Decimal("0.00")))
    body = {"business_date": str(day), "revision": revision, "generated_at": f"{day}T01:12:09+00:00", "files": files}
    if manifest:
        (folder / "_manifest.json").write_text(json.dumps(body))
    return body


def pull_erp(dsn: str, landing: Path, entity: str, day: date = NIGHT):
    return pull_file_set(dsn, landing, ERP, entity, *interval(day), datetime.now(UTC))


def test_erp_bom_quoted_fields_and_dst_offsets(fresh_database, tmp_path):
    day = date(2026, 10, 25)  # UK clocks go back: 01:00-02:00 happens twice
    rows = erp_rows(day)
    rows["sales_orders"] += [
        ["SO-2026-00000003", "C0000000002", "2026-10-25T01:30:00+01:00", "app", "", "created", "GBP", "5.00",
         "2026-10-25T01:30:00+01:00"],
        ["SO-2026-00000003", "C0000000002", "2026-10-25T01:30:00+01:00", "app", "", "paid", "GBP", "5.00",
         "2026-10-25T01:30:00+00:00"],
    ]  # fmt: skip
    write_erp_set(tmp_path, day, rows)

    first = next(read_csv(tmp_path / f"erp/{day}/customers.csv", "customers.csv", ()))
    assert next(iter(first.payload)) == "customer_no", "the byte-order mark is stripped"

    entries = {e: pull_erp(fresh_database, tmp_path, e, day) for e in ERP.entities}
    assert all(len(v) == 1 and v[0].balanced and v[0].quarantined == 0 for v in entries.values()), entries
    assert entries["customers"][0].received == 2, "a quoted newline is inside one record"
    assert query(fresh_database, "select name, phone from raw.erp__customers order by customer_no") == [
        ('Smith, "Jo"\nJr.', None),
        ("Ann Lee", "+44 20 7946 0018"),
    ]
    versions = query(
        fresh_database,
        "select status, changed_at from raw.erp__sales_orders where order_no = 'SO-2026-00000003' order by 2",
    )
    assert versions == [
        ("created", datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
        ("paid", datetime(2026, 10, 25, 1, 30, tzinfo=UTC)),
    ], "the repeated local hour is two instants, told apart by the offset"
    assert query(fresh_database, "select customer_no from raw.erp__sales_orders where order_no = 'SO-2026-00000002'")[
        0
    ] == (None,), "an empty field is a null (guest checkout)"
    assert query(fresh_database, "select distinct revision, cause from meta.deliveries") == [(1, "nightly")]


def test_erp_set_without_manifest_is_not_loaded(fresh_database, tmp_path):
    write_erp_set(tmp_path, NIGHT, erp_rows(NIGHT), manifest=False)
    with pytest.raises(nightly.DeliveryError, match="_manifest.json not delivered: the set is incomplete"):
        pull_erp(fresh_database, tmp_path, "customers")
    assert count(fresh_database, "raw.erp__customers") == 0
    assert count(fresh_database, "meta.load_ledger") == 0
    assert query(fresh_database, "select incident from meta.delivery_incidents") == [("file_set_rejected",)]


def _amount(manifest: dict, name: str, value: str) -> None:
    manifest["files"][name]["amount_sum"] = value


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (
            lambda m, folder: _amount(m, "payments.csv", "1523345.17"),
            "erp/2026-11-21/payments.csv: amount_sum 1523345.17 in manifest, 1523340.17 in file",
        ),
        (
            lambda m, folder: _amount(m, "sales_orders.csv", "120.16"),
            "erp/2026-11-21/sales_orders.csv: amount_sum 120.16 in manifest, 120.15 in file",
        ),
        (
            lambda m, folder: m["files"]["order_lines.csv"].update(rows=2),
            "erp/2026-11-21/order_lines.csv: rows 2 in manifest, 1 in file",
        ),
        (
            lambda m, folder: m["files"]["returns.csv"].update(sha256="0" * 64),
            "erp/2026-11-21/returns.csv: sha256 " + "0" * 64 + " in manifest, ",
        ),
        (
            lambda m, folder: (folder / "customers.csv").unlink(),
            "erp/2026-11-21/customers.csv: listed in the manifest, not delivered",
        ),
    ],
    ids=["payments_amount_sum", "sales_orders_amount_sum", "rows", "sha256", "file_missing"],
)
def test_erp_failed_check_names_file_and_check_and_loads_nothing(fresh_database, tmp_path, spoil, message):
    manifest = write_erp_set(tmp_path, NIGHT, erp_rows(NIGHT))
    folder = tmp_path / f"erp/{NIGHT}"
    spoil(manifest, folder)
    (folder / "_manifest.json").write_text(json.dumps(manifest))
    for entity in ("customers", "payments"):  # a good file of a bad set is not loaded either
        with pytest.raises(nightly.DeliveryError) as failure:
            pull_erp(fresh_database, tmp_path, entity)
        assert message in str(failure.value)
    assert sum(count(fresh_database, f"raw.erp__{e}") for e in ERP.entities) == 0
    assert count(fresh_database, "meta.load_ledger") == 0
    assert count(fresh_database, "meta.deliveries") == 0
    details = [r[0] for r in query(fresh_database, "select detail from meta.delivery_incidents")]
    assert len(details) == 1 and message in details[0], "recorded once, however many tasks found it"


def test_erp_redelivery_replaces_the_earlier_revision_and_is_traced(fresh_database, tmp_path):
    night2 = NIGHT + timedelta(days=1)
    write_erp_set(tmp_path, NIGHT, erp_rows(NIGHT))
    assert [e.loaded for e in pull_erp(fresh_database, tmp_path, "payments")] == [2]

    # Next day: tonight's set, and a corrected set for the day before (P2 was wrong, P1 is gone).
    write_erp_set(tmp_path, night2, erp_rows(night2))
    corrected = erp_rows(NIGHT)
    corrected["payments"] = [["P2", "SO-2026-00000002", f"{NIGHT}T14:03:11+00:00", "paypal", "345.17", "captured",
                              "", f"{NIGHT}T14:03:11+00:00"]]  # fmt: skip
    write_erp_set(tmp_path, NIGHT, corrected, revision=2)

    entries = pull_erp(fresh_database, tmp_path, "payments", night2)
    assert [(e.batch_id, e.loaded) for e in entries] == [
        ("erp.payments.2026-11-22", 2),
        ("erp.payments.2026-11-21", 1),
    ]
    restated = query(
        fresh_database, "select payment_id, amount from raw.erp__payments where _batch_id = 'erp.payments.2026-11-21'"
    )
    assert restated == [("P2", Decimal("345.17"))], "revision 2 replaced revision 1's rows"
    trace = query(
        fresh_database,
        "select business_date, revision, cause, data_interval_start from meta.deliveries order by 4, 1, 2",
    )
    assert trace == [
        (NIGHT, 1, "nightly", interval(NIGHT)[0]),
        (NIGHT, 2, "redelivery revision 2", interval(night2)[0]),
        (night2, 1, "nightly", interval(night2)[0]),
    ]
    # Tonight's reconcile expects the reload too, and it balances.
    start2 = interval(night2)[0]
    assert "erp.payments.2026-11-21" in nightly.expected_batches(fresh_database, start2)
    ledger = nightly.reconcile(fresh_database, start2, ["erp.payments.2026-11-22", "erp.payments.2026-11-21"])
    assert {r["batch_id"] for r in ledger} == {"erp.payments.2026-11-22", "erp.payments.2026-11-21"}

    # Re-running the night changes nothing: the past date is already at revision 2.
    before = fingerprint(fresh_database, ("raw", "meta"))
    assert [e.batch_id for e in pull_erp(fresh_database, tmp_path, "payments", night2)] == ["erp.payments.2026-11-22"]
    assert fingerprint(fresh_database, ("raw", "meta")) == before


def test_erp_bad_redelivery_fails_the_task_but_not_tonights_set(fresh_database, tmp_path):
    night2 = NIGHT + timedelta(days=1)
    write_erp_set(tmp_path, NIGHT, erp_rows(NIGHT))
    pull_erp(fresh_database, tmp_path, "payments")
    write_erp_set(tmp_path, night2, erp_rows(night2))
    broken = write_erp_set(tmp_path, NIGHT, erp_rows(NIGHT), revision=2)
    _amount(broken, "payments.csv", "1.00")
    (tmp_path / f"erp/{NIGHT}/_manifest.json").write_text(json.dumps(broken))

    with pytest.raises(nightly.DeliveryError, match="erp/2026-11-21/payments.csv: amount_sum 1.00 in manifest"):
        pull_erp(fresh_database, tmp_path, "payments", night2)
    batches = query(fresh_database, "select _batch_id, count(*) from raw.erp__payments group by 1 order by 1")
    assert batches == [("erp.payments.2026-11-21", 2), ("erp.payments.2026-11-22", 2)], "revision 1 stays"
    assert query(fresh_database, "select max(revision) from meta.deliveries where business_date = %s", NIGHT) == [(1,)]


def test_erp_file_replaced_between_check_and_load_rolls_back(fresh_database, tmp_path, monkeypatch):
    import frictionflow.extract.file_sets as file_sets

    write_erp_set(tmp_path, NIGHT, erp_rows(NIGHT))
    checked = file_sets.verify_file_set

    def check_then_redeliver(*args):
        manifest = checked(*args)
        write_erp_set(tmp_path, NIGHT, {"payments": erp_rows(NIGHT)["payments"][:1]}, manifest=False)
        return manifest

    monkeypatch.setattr(file_sets, "verify_file_set", check_then_redeliver)
    with pytest.raises(nightly.DeliveryError, match="payments.csv changed after its checks .rows 2 in manifest, 1"):
        pull_erp(fresh_database, tmp_path, "payments")
    assert count(fresh_database, "raw.erp__payments") == 0
    assert count(fresh_database, "meta.deliveries") == 0


def test_erp_bad_records_are_quarantined_with_file_record_and_reason(fresh_database, tmp_path):
    rows = erp_rows(NIGHT)
    ts = f"{NIGHT}T09:00:00+00:00"
    rows["sales_orders"] += [
        ["SO-2026-00000009", "", ts, "fax", "", "paid", "GBP", "1.00", ts],
        ["SO-2026-00000010", "", "2026-11-21T09:00:00", "web", "", "paid", "GBP", "1.00", ts],
        ["SO-2026-00000011", "", ts, "web", "paid", "GBP", "1.00", ts],
    ]
    # The helper cannot sum the short record: write the set without it, then the file with it, then the manifest.
    manifest = write_erp_set(tmp_path, NIGHT, {**rows, "sales_orders": rows["sales_orders"][:4]})
    data = csv_bytes(ERP.entity("sales_orders").column_names, rows["sales_orders"])
    (tmp_path / f"erp/{NIGHT}/sales_orders.csv").write_bytes(data)
    manifest["files"]["sales_orders.csv"].update(rows=5, sha256=hashlib.sha256(data).hexdigest())
    (tmp_path / f"erp/{NIGHT}/_manifest.json").write_text(json.dumps(manifest))

    [entry] = pull_erp(fresh_database, tmp_path, "sales_orders")
    assert (entry.received, entry.loaded, entry.quarantined, entry.duplicates_removed) == (5, 2, 3, 0)
    quarantined = query(
        fresh_database, "select source_location, record_number, reason from meta.quarantine order by record_number"
    )
    assert [(q[0], q[1]) for q in quarantined] == [("erp/2026-11-21/sales_orders.csv", n) for n in (3, 4, 5)]
    assert "channel: 'fax' is not one of" in quarantined[0][2]
    assert "order_ts" in quarantined[1][2] and "without a UTC offset" in quarantined[1][2]
    assert "8 fields where the header has 9 (ends on line 6)" in quarantined[2][2]


# ---------------------------------------------------------------------------------------------------- MDM
MDM = source_configs()["mdm"]


def golden(i: int) -> dict:
    return {
        "golden_id": f"G-{i:09d}",
        "full_name": f"Person {i}",
        "primary_email": f"p{i}@example.com",
        "emails": [f"p{i}@example.com"],
        "primary_phone": None,
        "phones": [],
        "birth_year": 1980,
        "country_code": "GB",
        "segment": "consumer",
        "source_keys": [{"system": "crm", "key": f"003{i:015d}"}],
        "merged_into": None,
        "updated_at": "2026-11-20T08:00:00Z",
    }


def write_snapshot(landing: Path, day: date, lines: list[str], cut_bytes: int = 0) -> None:
    path = landing / f"mdm/{day}/golden_customers.jsonl.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = gzip.compress("".join(line + "\n" for line in lines).encode())
    path.write_bytes(data[: len(data) - cut_bytes])


def trailer(n) -> str:
    return json.dumps({"_trailer": {"records": n}})


def pull_mdm(dsn: str, landing: Path, day: date = NIGHT):
    return pull_snapshot(dsn, landing, MDM, "golden_customer", *interval(day), datetime.now(UTC))


def test_mdm_snapshot_is_kept_whole_per_date(fresh_database, tmp_path):
    records = [json.dumps(golden(i)) for i in (1, 2, 3)]
    write_snapshot(tmp_path, NIGHT, [*records, records[0], trailer(4)])
    entry = pull_mdm(fresh_database, tmp_path)
    assert (entry.received, entry.loaded, entry.duplicates_removed) == (4, 3, 1)
    # The next snapshot repeats the same golden records: each date keeps its whole snapshot.
    night2 = NIGHT + timedelta(days=1)
    write_snapshot(tmp_path, night2, [*records[:2], trailer(2)])
    assert pull_mdm(fresh_database, tmp_path, night2).loaded == 2
    assert count(fresh_database, "raw.mdm__golden_customer") == 5


@pytest.mark.parametrize(
    ("ending", "cut", "reason"),
    [
        ([], 0, "no trailer line after 3 records: truncated"),
        ([trailer(4)], 0, "trailer says 4 records, 3 read: truncated"),
        ([trailer(3)], 30, "truncated"),
    ],
    ids=["trailer_missing", "trailer_unequal", "gzip_cut_short"],
)
def test_mdm_truncated_snapshot_loads_nothing(fresh_database, tmp_path, ending, cut, reason):
    write_snapshot(tmp_path, NIGHT, [json.dumps(golden(i)) for i in (1, 2, 3)] + ending, cut_bytes=cut)
    with pytest.raises(nightly.DeliveryError, match=reason):
        pull_mdm(fresh_database, tmp_path)
    assert count(fresh_database, "raw.mdm__golden_customer") == 0
    assert count(fresh_database, "meta.load_ledger") == 0
    assert query(fresh_database, "select incident from meta.delivery_incidents") == [("truncated_snapshot",)]


# ---------------------------------------------------------------------------------------------- logistics
LOGISTICS = source_configs()["logistics"]
TS = pa.timestamp("us", tz="UTC")
SCHEMAS = {
    "shipments": pa.schema(
        [
            ("shipment_id", pa.string()),
            ("order_no", pa.string()),
            ("warehouse_id", pa.string()),
            ("carrier", pa.string()),
            ("service_level", pa.string()),
            ("promised_delivery_date", pa.date32()),
            ("created_at", TS),
        ]
    ),
    "shipment_events": pa.schema(
        [
            ("event_id", pa.string()),
            ("shipment_id", pa.string()),
            ("event_ts", TS),
            ("status", pa.string()),
            ("location", pa.string()),
            ("reason", pa.string()),
        ]
    ),
    "stockouts": pa.schema([("sku", pa.string()), ("location_id", pa.string()), ("started_at", TS), ("ended_at", TS)]),
}


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def scan(event_id: str, shipment_id: str, ts: datetime, status: str = "in_transit") -> dict:
    return {"event_id": event_id, "shipment_id": shipment_id, "event_ts": ts, "status": status, "location": "Leeds",
            "reason": None}  # fmt: skip


def write_part(landing: Path, upload_day: date, name: str, rows: list[dict]) -> None:
    path = landing / f"logistics/{upload_day}/{name}"
    path.parent.mkdir(parents=True, exist_ok=True)
    entity = name.split("-")[0]
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMAS[entity]), path, compression="snappy")


def pull_logistics(dsn: str, landing: Path, entity: str, day: date):
    return pull_parquet_parts(dsn, landing, LOGISTICS, entity, *interval(day), datetime.now(UTC))


def test_logistics_parts_tmp_duplicates_late_scans_and_nights(fresh_database, tmp_path, monkeypatch):
    import frictionflow.extract.parquet_parts as parquet_parts

    monkeypatch.setitem(LOGISTICS.options, "record_batch_rows", 1)  # many record batches per part
    night2 = NIGHT + timedelta(days=1)
    write_part(tmp_path, NIGHT, "shipments-001.parquet", [
        {"shipment_id": "S1", "order_no": "SO-1", "warehouse_id": "W1", "carrier": "DPD", "service_level": "standard",
         "promised_delivery_date": NIGHT + timedelta(days=2), "created_at": at(NIGHT, 8)},
    ])  # fmt: skip
    # S9's events arrive before S9 itself; E2 is a scan uploaded 70 hours after it happened.
    write_part(
        tmp_path,
        NIGHT,
        "shipment_events-001.parquet",
        [scan("E1", "S9", at(NIGHT, 9), "label_created"), scan("E2", "S1", at(NIGHT, 10) - timedelta(hours=70))],
    )
    write_part(tmp_path, NIGHT, "shipment_events-002.parquet", [scan("E2", "S1", at(NIGHT, 10) - timedelta(hours=70)),
                                                               scan("E3", "S1", at(NIGHT, 12))])  # fmt: skip
    write_part(tmp_path, NIGHT, "shipment_events-003.parquet", [scan("E4", "S1", at(NIGHT, 22))])
    tmp = tmp_path / f"logistics/{NIGHT}/shipment_events-003.parquet"
    tmp.rename(tmp.with_name(tmp.name + ".tmp"))  # still being written

    entry, incomplete = pull_logistics(fresh_database, tmp_path, "shipment_events", NIGHT)
    assert (entry.received, entry.loaded, entry.duplicates_removed) == (4, 3, 1), "E2 twice, in two parts"
    assert incomplete == [f"logistics/{NIGHT}/shipment_events-003.parquet.tmp"]
    assert query(fresh_database, "select incident, detail from meta.delivery_incidents") == [
        ("incomplete_part", f"logistics/{NIGHT}/shipment_events-003.parquet.tmp")
    ]
    assert pull_logistics(fresh_database, tmp_path, "shipments", NIGHT)[0].loaded == 1
    assert query(fresh_database, "select shipment_id from raw.logistics__shipment_events where event_id = 'E1'") == [
        ("S9",)
    ], "an event before its shipment is loaded as delivered"

    # After the night ran, the .tmp part completes in the same folder; the next folder repeats E3.
    tmp.with_name(tmp.name + ".tmp").rename(tmp)
    write_part(tmp_path, night2, "shipment_events-001.parquet", [scan("E3", "S1", at(NIGHT, 12)),
                                                                scan("E5", "S1", at(night2, 7))])  # fmt: skip
    entry2, incomplete2 = pull_logistics(fresh_database, tmp_path, "shipment_events", night2)
    assert (entry2.received, entry2.loaded, entry2.duplicates_removed) == (3, 2, 1)
    assert incomplete2 == []
    assert count(fresh_database, "raw.logistics__shipment_events") == 5
    parts = query(fresh_database, "select location, batch_id from meta.deliveries where entity = 'shipment_events'")
    assert sorted(parts) == [
        (f"logistics/{NIGHT}/shipment_events-001.parquet", "logistics.shipment_events.2026-11-21"),
        (f"logistics/{NIGHT}/shipment_events-002.parquet", "logistics.shipment_events.2026-11-21"),
        (f"logistics/{NIGHT}/shipment_events-003.parquet", "logistics.shipment_events.2026-11-22"),
        (f"logistics/{night2}/shipment_events-001.parquet", "logistics.shipment_events.2026-11-22"),
    ], "each part loaded by exactly one night"

    # Re-running either night reloads its own parts only: nothing twice, nothing lost.
    before = fingerprint(fresh_database, ("raw", "meta"))
    assert pull_logistics(fresh_database, tmp_path, "shipment_events", night2)[0] == entry2
    assert pull_logistics(fresh_database, tmp_path, "shipment_events", NIGHT)[0] == entry
    assert fingerprint(fresh_database, ("raw", "meta")) == {
        **before,
        "meta.delivery_incidents": (0, ""),  # night 1's .tmp incident is gone: the part is complete now
    }
    assert parquet_parts.PART.fullmatch("shipments-001.parquet")["entity"] == "shipments"


def test_stockout_repeated_with_end_is_a_new_version(fresh_database, tmp_path):
    open_row = {"sku": "SKU-1", "location_id": "W1", "started_at": at(NIGHT, 6), "ended_at": None}
    write_part(tmp_path, NIGHT, "stockouts-001.parquet", [open_row])
    write_part(tmp_path, NIGHT, "stockouts-002.parquet", [open_row, {**open_row, "ended_at": at(NIGHT, 18)}])
    entry, _ = pull_logistics(fresh_database, tmp_path, "stockouts", NIGHT)
    assert (entry.received, entry.loaded, entry.duplicates_removed) == (3, 2, 1)
    assert query(fresh_database, "select ended_at from raw.logistics__stockouts order by ended_at nulls first") == [
        (None,),
        (at(NIGHT, 18),),
    ]


# ---------------------------------------------------------------------------------------------- marketing
MARKETING = source_configs()["marketing"]


def email_event(i: int, **overrides) -> dict:
    event = {
        "event_id": f"EV{i}",
        "campaign_id": "CMP1",
        "campaign_name": "Black Friday, early access",
        "message_id": f"M{i}",
        "email": f"p{i}@example.com",
        "event_type": "opened",
        "event_ts": "2026-11-21T10:00:00Z",
        "link_url": "",
        "bounce_type": "",
        "is_machine_open": "false",
    }
    return {**event, **overrides}


def write_marketing(landing: Path, day: date, events: list[dict]) -> None:
    path = landing / f"marketing/{day}/email_events.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    header = MARKETING.entity("email_events").column_names
    path.write_bytes(csv_bytes(header, [[e[c] for c in header] for e in events], bom=False))


def pull_marketing(dsn: str, landing: Path, day: date = NIGHT):
    return pull_daily_csv(dsn, landing, MARKETING, "email_events", *interval(day), datetime.now(UTC))


def test_marketing_header_only_is_an_empty_day(fresh_database, tmp_path):
    write_marketing(tmp_path, NIGHT, [])
    entry = pull_marketing(fresh_database, tmp_path)
    assert (entry.received, entry.loaded, entry.quarantined) == (0, 0, 0)
    [row] = nightly.reconcile(fresh_database, interval(NIGHT)[0], ["marketing.email_events.2026-11-21"])
    assert row["received"] == 0, "an empty day is a delivery with a ledger row, not a missing one"


def test_marketing_events_quarantine_and_idempotent_rerun(fresh_database, tmp_path):
    write_marketing(
        tmp_path,
        NIGHT,
        [email_event(1), email_event(2, event_type="poked"), email_event(3, is_machine_open="true"), email_event(1)],
    )
    entries = [pull_marketing(fresh_database, tmp_path) for _ in range(2)]
    assert entries[0] == entries[1]
    assert (entries[0].received, entries[0].loaded, entries[0].quarantined, entries[0].duplicates_removed) == (
        4,
        2,
        1,
        1,
    )
    assert count(fresh_database, "raw.marketing__email_events") == 2
    [(location, number, reason)] = query(
        fresh_database, "select source_location, record_number, reason from meta.quarantine"
    )
    assert (location, number) == ("marketing/2026-11-21/email_events.csv", 2)
    assert "event_type: 'poked' is not one of" in reason
    assert query(fresh_database, "select campaign_name, link_url from raw.marketing__email_events limit 1") == [
        ("Black Friday, early access", None)
    ]
    nightly.reconcile(fresh_database, interval(NIGHT)[0], ["marketing.email_events.2026-11-21"])


def test_marketing_missing_or_headerless_file_fails_clearly(fresh_database, tmp_path):
    with pytest.raises(nightly.DeliveryError, match="marketing/2026-11-21/email_events.csv: not delivered"):
        pull_marketing(fresh_database, tmp_path)
    (tmp_path / f"marketing/{NIGHT}").mkdir(parents=True)
    (tmp_path / f"marketing/{NIGHT}/email_events.csv").write_bytes(b"")
    with pytest.raises(nightly.DeliveryError, match="empty file, not even a header"):
        pull_marketing(fresh_database, tmp_path)
    assert count(fresh_database, "meta.load_ledger") == 0
