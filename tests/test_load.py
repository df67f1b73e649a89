"""The raw loader: contract validation, quarantine, duplicates, ledger, idempotent re-runs."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from frictionflow import nightly
from frictionflow.contracts import load_contract
from frictionflow.load import Batch, Delivered, load_batch
from frictionflow.sources import source_configs

START = datetime(2026, 11, 22, tzinfo=nightly.COMPANY_TZ)
END = START + timedelta(days=1)


def web_event(i: int, **overrides) -> dict:
    event = {
        "event_id": f"00000000-0000-0000-0000-{i:012d}",
        "event_name": "page_view",
        "device_ts": "2026-11-22T10:00:00+00:00",
        "received_at": "2026-11-22T10:00:01Z",
        "anonymous_id": "anon-1",
        "user_id": None,
        "session_id": "s-1",
        "platform": "web",
        "page": "/",
        "referrer": None,
        "user_agent": "Mozilla/5.0",
        "ip_address": "192.0.2.1",
        "properties": {"brand_new_key": {"kept": True}},
    }
    event.update(overrides)
    return event


def write_hour(landing, hour: int, lines: list[str]) -> None:
    path = landing / f"web_analytics/2026-11-22/{hour:02d}.jsonl.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in lines))


def test_bad_records_are_quarantined_with_location_and_reason(fresh_database, tmp_path):
    write_hour(
        tmp_path,
        3,
        [
            json.dumps(web_event(1)),
            "{this is not json",
            json.dumps(web_event(2, platform="smart_fridge")),
            json.dumps(web_event(3, received_at="2026-11-22T10:00:01+01:00")),
            json.dumps(web_event(4, event_id=None)),
            json.dumps(web_event(5, consent_flags={"ads": False})),
        ],
    )
    source = source_configs()["web_analytics"]
    entry, missing = nightly.pull_hourly_files(fresh_database, tmp_path, source, "event", START, END, datetime.now(UTC))
    assert (entry.received, entry.loaded, entry.quarantined, entry.duplicates_removed) == (6, 2, 4, 0)
    assert len(missing) == 23
    with psycopg.connect(fresh_database) as conn:
        reasons = dict(
            conn.execute(
                "select record_number, source_location || ': ' || reason from meta.quarantine order by 1"
            ).fetchall()
        )
        incidents = conn.execute("select count(*) from meta.delivery_incidents").fetchone()[0]
        kept = conn.execute("select properties from raw.web_analytics__event order by event_id").fetchone()[0]
        extras = conn.execute(
            "select _unexpected_fields from raw.web_analytics__event where _unexpected_fields is not null"
        ).fetchall()
    assert "web_analytics/2026-11-22/03.jsonl.gz: unparsable record: invalid JSON" in reasons[2]
    assert "platform: 'smart_fridge' is not one of" in reasons[3]
    assert "received_at" in reasons[4] and "non-UTC offset" in reasons[4]
    assert "event_id: missing value" in reasons[5]
    assert incidents == 23, "every missing hour is recorded as an incident"
    assert kept == {"brand_new_key": {"kept": True}}, "unknown property keys are kept"
    assert extras == [({"consent_flags": {"ads": False}},)], "fields outside the contract are kept, not dropped"


def test_duplicates_across_files_are_counted_and_rerun_is_idempotent(fresh_database, tmp_path):
    write_hour(tmp_path, 0, [json.dumps(web_event(i)) for i in range(3)])
    write_hour(tmp_path, 1, [json.dumps(web_event(2)), json.dumps(web_event(3))])
    source = source_configs()["web_analytics"]
    entries = [
        nightly.pull_hourly_files(fresh_database, tmp_path, source, "event", START, END, datetime.now(UTC))[0]
        for _ in range(2)
    ]
    assert entries[0] == entries[1]
    assert (entries[0].received, entries[0].loaded, entries[0].duplicates_removed) == (5, 4, 1)
    with psycopg.connect(fresh_database) as conn:
        assert conn.execute("select count(*) from raw.web_analytics__event").fetchone()[0] == 4
        assert conn.execute("select count(*) from meta.load_ledger").fetchone()[0] == 1


def test_no_file_at_all_fails_clearly(fresh_database, tmp_path):
    source = source_configs()["web_analytics"]
    with pytest.raises(nightly.DeliveryError, match="no hourly file delivered for 2026-11-22"):
        nightly.pull_hourly_files(fresh_database, tmp_path, source, "event", START, END, datetime.now(UTC))


def test_quarantine_streams_in_bounded_chunks(fresh_database, monkeypatch):
    """More bad records than one quarantine chunk: all counted, all kept, none lost."""
    import frictionflow.load as load

    monkeypatch.setattr(load, "QUARANTINE_FLUSH_ROWS", 7)
    entity = load_contract("web_analytics").entities["event"]
    records = [
        Delivered("x.jsonl.gz", n, payload=web_event(n, platform="bad" if n % 3 else "web")) for n in range(1, 101)
    ]
    batch = Batch("t.batch", entity, START, END, datetime.now(UTC), ("event_id",))
    with psycopg.connect(fresh_database) as conn:
        entry = load_batch(conn, batch, records)
        conn.commit()
        quarantined = conn.execute("select count(*) from meta.quarantine").fetchone()[0]
    assert entry.loaded == 33 and entry.quarantined == 67 == quarantined


def test_ledger_rejects_imbalance(fresh_database):
    with psycopg.connect(fresh_database) as conn, pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(
            "insert into meta.load_ledger (batch_id, source_system, entity, data_interval_start, data_interval_end, "
            "source_locations, received, loaded, quarantined, duplicates_removed) "
            "values ('x', 's', 'e', now(), now(), 1, 10, 5, 1, 1)"
        )


# ---------------------------------------------------------------------------------------------- fast paths
def _outcome(fn, value):
    try:
        typed = fn(value)
    except Exception as exc:  # the exception itself is the outcome compared
        return ("error", type(exc).__name__, str(exc))
    return ("ok", type(typed).__name__, typed)


def test_compiled_coercers_agree_with_the_generic_one():
    """The fast path per column accepts exactly what Column.coerce accepts, typed the same, same reasons."""
    from datetime import date
    from decimal import Decimal

    aware = datetime(2026, 11, 22, 10, tzinfo=UTC)
    values = [
        None,
        "",
        " ",
        "x",
        "web",
        "page_view",
        "smart_fridge",
        0,
        1,
        -7,
        2**70,
        True,
        False,
        1.0,
        1.5,
        float("nan"),
        Decimal("1.50"),
        Decimal("12.345"),
        Decimal("NaN"),
        Decimal("1E+3"),
        "12.30",
        "12.345",
        "9999999999.99",
        "999999999.99",
        "-0.5",
        "1e3",
        "1_000",
        " 7 ",
        "true",
        "F",
        "2026-11-22",
        "2026-02-30",
        "2026-11-22T10:00:00Z",
        "2026-11-22T10:00:00+01:00",
        "2026-11-22T10:00:00",
        "2026-11-22T10:00:00-00:00",
        "2026-11-22 10:00:00.5+00:00",
        "2026-11-22T10:00:00z",
        aware,
        aware.replace(tzinfo=None),
        aware.astimezone(nightly.COMPANY_TZ),
        date(2026, 11, 22),
        {"a": 1},
        [1],
    ]
    for system in ("crm", "erp", "logistics", "marketing", "mdm", "web_analytics", "contact_center"):
        for entity in load_contract(system).entities.values():
            for column in entity.columns:
                for value in values:
                    assert _outcome(column.fast_coerce, value) == _outcome(column.coerce, value), (
                        column,
                        value,
                    )


def _logistics_table():
    import pyarrow as pa

    rows = [
        ("e1", "s1", datetime(2026, 11, 22, 1, tzinfo=UTC), "picked", "DEPOT-01", None),
        ("e2", "s1", datetime(2026, 11, 22, 2, tzinfo=UTC), "teleported", None, None),  # not in the enumeration
        ("e3", "s2", None, "delivered", None, None),  # non-nullable timestamp missing
        ("e1", "s1", datetime(2026, 11, 22, 1, tzinfo=UTC), "picked", "DEPOT-01", None),  # a second copy
        ("e4", "s2", datetime(2026, 11, 22, 3, tzinfo=UTC), "delivery_failed", "DEPOT-02", "weather"),
        ("e5", None, datetime(2026, 11, 22, 4, tzinfo=UTC), "delivery_failed", None, "aliens"),  # two problems
    ]
    names = ["event_id", "shipment_id", "event_ts", "status", "location", "reason"]
    return pa.table(
        {n: [r[i] for r in rows] for i, n in enumerate(names)},
        schema=pa.schema([(n, pa.timestamp("us", "UTC") if n == "event_ts" else pa.string()) for n in names]),
    )


def _erp_text_table():
    """ERP sales orders as a CSV reader sees them: text, empty fields null."""
    import pyarrow as pa

    good = ["SO-1", "C1", "2026-11-21T14:03:11+00:00", "web", None, "paid", "GBP", "10.50", "2026-11-21T15:00:00Z"]
    variants = [
        good,
        [*good[:7], "1e3", good[8]],  # a valid decimal the vectorised check does not certify: per record
        [*good[:7], "12.345", good[8]],  # too many decimals
        [*good[:2], "2026-02-30T10:00:00+00:00", *good[3:]],  # well shaped, impossible
        [*good[:2], "2026-11-21T14:03:11", *good[3:]],  # no offset
        ["SO-2", None, *good[2:7], "99999.99", good[8]],
        [None, *good[1:]],
    ]
    names = load_contract("erp").entities["sales_orders"].column_names
    return pa.table({n: pa.array([v[i] for v in variants], pa.string()) for i, n in enumerate(names)})


@pytest.mark.parametrize(
    "system,entity_name,table",
    [("logistics", "shipment_events", _logistics_table), ("erp", "sales_orders", _erp_text_table)],
)
def test_columnar_blocks_load_exactly_like_records(fresh_database, system, entity_name, table):
    """Vectorised checks change the speed, not the result: same rows, same quarantine reasons, same ledger."""
    from frictionflow.load import DeliveredColumns

    entity = load_contract(system).entities[entity_name]
    data = table()
    as_records = [Delivered("part-1", n, payload=row) for n, row in enumerate(data.to_pylist(), start=11)]
    as_blocks = [DeliveredColumns("part-1", 11, data.slice(0, 3)), DeliveredColumns("part-1", 14, data.slice(3))]
    results = []
    for records in (as_records, as_blocks):
        batch = Batch("t.columnar", entity, START, END, datetime(2026, 11, 23, tzinfo=UTC), entity.primary_key)
        with psycopg.connect(fresh_database) as conn:
            entry = load_batch(conn, batch, records)
            conn.commit()
            cols = ", ".join(f'"{c}"' for c in entity.column_names)
            rows = conn.execute(
                f"select {cols}, _source_location, _record_number, _unexpected_fields "
                f"from {entity.qualified_raw_table} order by _record_number"
            ).fetchall()
            quarantine = conn.execute(
                "select record_number, reason from meta.quarantine order by record_number"
            ).fetchall()
        results.append((entry, rows, quarantine))
    assert results[0] == results[1]
    entry, rows, quarantine = results[0]
    assert entry.received == data.num_rows and entry.balanced and entry.quarantined >= 2 and rows


def test_duplicates_of_other_batches_are_removed_and_rerun_is_stable(fresh_database):
    """A batch copied straight into the raw table still drops versions another batch already holds."""
    entity = load_contract("web_analytics").entities["event"]

    def load(batch_id: str, ids: list[int]):
        batch = Batch(batch_id, entity, START, END, datetime.now(UTC), ("event_id",))
        records = [Delivered("f", n, payload=web_event(i)) for n, i in enumerate(ids, start=1)]
        with psycopg.connect(fresh_database) as conn:
            entry = load_batch(conn, batch, records)
            conn.commit()
        return entry

    first = load("t.a", [1, 2, 3])
    second = [load("t.b", [3, 4, 4, 5]) for _ in range(2)]
    assert (first.loaded, first.duplicates_removed) == (3, 0)
    assert second[0] == second[1]
    assert (second[0].received, second[0].loaded, second[0].duplicates_removed) == (4, 2, 2)
    with psycopg.connect(fresh_database) as conn:
        held = conn.execute(
            "select _batch_id, count(*), min(_record_number) from raw.web_analytics__event group by 1 order by 1"
        ).fetchall()
    assert held == [("t.a", 3, 1), ("t.b", 2, 2)], "event 4 keeps its first copy (record 2)"


@pytest.mark.parametrize("replace", ["batch", "versions"])
def test_an_open_record_delivered_again_by_a_later_batch_loads_once(fresh_database, replace):
    """A stock-out still open (ended_at null, part of the version key) repeated in a later part is a duplicate,
    not a new version; the same row with ended_at set is a new version."""
    entity = load_contract("logistics").entities["stockouts"]
    key = ("sku", "location_id", "started_at", "ended_at")

    def stockout(ended_at):
        return {"sku": "SKU-1", "location_id": "DC-1", "started_at": "2026-11-22T08:00:00Z", "ended_at": ended_at}

    def load(batch_id, payloads):
        batch = Batch(batch_id, entity, START, END, datetime.now(UTC), key, replace=replace)
        records = [Delivered("part", n, payload=p) for n, p in enumerate(payloads, start=1)]
        with psycopg.connect(fresh_database) as conn:
            entry = load_batch(conn, batch, records)
            conn.commit()
        return entry

    first = load("t.1", [stockout(None)])
    again = load("t.2", [stockout(None), stockout("2026-11-22T15:00:00Z")])
    assert (first.loaded, again.loaded, again.duplicates_removed) == (1, 1, 1)
    with psycopg.connect(fresh_database) as conn:
        held = conn.execute("select _batch_id, ended_at is null from raw.logistics__stockouts order by 1").fetchall()
    assert held == [("t.1", True), ("t.2", False)]


def test_bench_load_runs_end_to_end_and_writes_its_section(settings, tmp_path):
    from frictionflow.cli import main

    results = tmp_path / "benchmarks.md"
    results.write_text("# Benchmarks\n\n## dbt stage: kept\n\nfigures\n")
    assert (
        main(["bench-load", "--rows", "300", "--scale", "2", "--repeats", "1", "--write", "--output", str(results)])
        == 0
    )
    text = results.read_text()
    assert "## dbt stage: kept\n\nfigures" in text
    assert "## Raw loader: rows per second against raw COPY and pandas `to_sql`" in text
    for kind in ("web_jsonl", "erp_csv", "erp_csv_columns", "logistics_parquet", "logistics_parquet_columns"):
        assert kind in text
    assert (
        main(
            [
                "bench-load",
                "--rows",
                "200",
                "--scale",
                "2",
                "--repeats",
                "1",
                "--kind",
                "erp_csv",
                "--write",
                "--output",
                str(results),
            ]
        )
        == 0
    )
    again = results.read_text()
    assert again.count("## Raw loader") == 1 and "## dbt stage: kept" in again, "its own section is replaced"


def _as_records(items) -> list:
    from frictionflow.load import DeliveredColumns

    out = []
    for item in items:
        if isinstance(item, DeliveredColumns):
            rows = item.columns.to_pylist()
            out += [Delivered(item.location, item.first_record_number + i, payload=r) for i, r in enumerate(rows)]
        else:
            out.append(item)
    return out


@pytest.mark.parametrize("broken", [False, True])
def test_columnar_csv_reader_reads_what_the_record_reader_reads(tmp_path, broken):
    """Same records, numbers, nulls and control totals; a record of the wrong width hands over to read_csv."""
    from frictionflow.extract.columnar import read_csv_columns
    from frictionflow.extract.csv_records import CsvTotals, read_csv

    lines = ['"order_no","name","total_amount"']
    for n in range(1, 400):
        name = {0: "", 1: '"Smith, ""Jo"""', 2: '"two\nlines"', 3: "NA"}.get(n % 7, f"n{n}")
        lines.append(f'"SO-{n}",{name},{"" if n % 11 == 0 else f"{n}.50"}')
    if broken:
        lines.insert(300, '"SO-x","too","many","fields"')
    path = tmp_path / "sales_orders.csv"
    path.write_bytes(b"\xef\xbb\xbf" + ("\n".join(lines) + "\n").encode())
    columns = ["order_no", "name", "total_amount"]
    expected, got = CsvTotals(), CsvTotals()
    records = list(read_csv(path, "f.csv", columns, expected, "total_amount"))
    blocks = list(read_csv_columns(path, "f.csv", columns, got, "total_amount", block_bytes=2048))
    assert len(blocks) > 2, "several blocks"
    assert _as_records(blocks) == records
    assert got == expected
    assert any(r.parse_error for r in records) == broken


def test_benchmark_sections_are_replaced_in_place_and_others_kept(tmp_path):
    """`make bench` writes several sections at once: each replaces its old copy where it stood, none doubles."""
    from frictionflow.bench_load import write_section

    path = tmp_path / "benchmarks.md"
    path.write_text("# Benchmarks\n\n## dbt\nold dbt\n\n## gate\nold gate\n\n## loader\nloader figures\n")
    write_section("## dbt\nnew dbt\n\n## gate\nnew gate\n\n## identity\nnew identity", path)
    text = path.read_text()
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings == ["## dbt", "## gate", "## identity", "## loader"]
    assert "old" not in text and "loader figures" in text
