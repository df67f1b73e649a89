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
