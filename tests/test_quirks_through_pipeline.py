"""Every quirk the source contracts list, produced by the sandbox and met by the pipeline's extraction.

A small sandbox world (rare quirks turned up, opt-in failures turned on, the October clock change inside
the window) is delivered night by night, and every night every source entity is pulled through the DAG's
own task code (`frictionflow.tasks.pull`, Airflow connections as `AIRFLOW_CONN_*`). A pull that fails, as
the contract says it must (a file set that fails its manifest, a truncated snapshot, a set not there
yet), is re-run the next morning once the source has fixed it, as an engineer would clear the task.
The ground truth's quirks.csv then says, record by record, what the pipeline must show.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import psycopg
import pytest

from tests.pipeline_world import night_interval, pipeline_world, pull_night

FIRST, LAST = date(2026, 10, 23), date(2026, 10, 30)  # 25 Oct: the clocks go back in London
RATES = {
    "erp_redelivery": 0.3,
    "erp_late_delivery": 0.25,
    "erp_manifest_mismatch": 0.3,
    "erp_missing_manifest": 0.3,
    "erp_multiline_name": 0.2,
    "events_before_shipment": 0.3,
    "mdm_truncated_snapshot": 0.2,
    "malformed_web_line": 0.002,
    "mdm_merge": 0.05,
    "mdm_split": 0.05,
    "cce_server_error": 0.1,
    "cce_rate_limit": 0.1,
    "cce_empty_page": 0.2,
    "cce_late_csat": 0.5,
    "marketing_consent_breach": 0.5,
}


@pytest.fixture(scope="module")
def pipeline(settings, tmp_path_factory):
    from frictionflow import tasks
    from frictionflow.sandbox import SandboxConfig

    config = SandboxConfig(seed=9, customers=800, start_date=FIRST, end_date=LAST, quirk_rates=RATES)
    with pipeline_world(settings, tmp_path_factory.mktemp("quirks"), "quirks", config) as world:
        failed_nights: dict[date, dict[tuple[str, str], str]] = {}  # every failure, as the task reported it
        unresolved: dict[date, set[tuple[str, str]]] = {}  # still failing after the source's fix
        with world.connected():
            night = FIRST
            while night <= LAST:
                world.sandbox.deliver_through(night)
                # Earlier failed tasks, re-run this morning now that the sources fixed them (if they did).
                for earlier in list(unresolved):
                    unresolved[earlier] = set(pull_night(earlier, only=unresolved[earlier]))
                    if not unresolved[earlier]:
                        del unresolved[earlier]
                failures = pull_night(night)
                if failures:
                    failed_nights[night] = failures
                    unresolved[night] = set(failures)
                night += timedelta(days=1)
            for i in range((LAST - FIRST).days + 1):
                tasks.compliance_report(night_interval(FIRST + timedelta(days=i))[0])
        world.api.stop()
        yield {
            "dsn": world.dsn,
            "failures": failed_nights,
            "unresolved": unresolved,
            "truth": world.truth,
            "landing": world.work / "landing",
        }


def _quirks(pipeline) -> pd.DataFrame:
    return pd.read_csv(pipeline["truth"] / "quirks.csv", dtype=str, keep_default_na=False)


def _one(dsn: str, query: str, *params):
    with psycopg.connect(dsn) as conn:
        return conn.execute(query, params).fetchone()[0]


def _all(dsn: str, query: str, *params) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(query, params).fetchall()


def _raw_target(row) -> tuple[str, str] | None:
    """Where a record-level quirk's record lands: (raw table, SQL expression of its source key)."""
    from frictionflow.contracts import load_contract

    contract = load_contract(row.system)
    if row.system == "crm":
        entity = row.location.split(".", 1)[1].strip('"')
    elif len(contract.entities) == 1:
        entity = next(iter(contract.entities))
    else:
        file = row.location.rsplit("/", 1)[-1]
        entity = next((e for e in contract.entities if file.startswith(e)), None)
        if entity is None:
            return None
    spec = contract.entities[entity]
    key = " || '/' || ".join(f'"{c}"::text' for c in spec.primary_key) if "/" in row.source_key else None
    if key is None:
        key = f'"{spec.primary_key[0]}"'
    return spec.raw_table, key


def _unloadable(pipeline, row) -> bool:
    """A record of a delivery that was still failing at the end (its fix never came inside the window)."""
    for night, entities in pipeline["unresolved"].items():
        if any(row.system == system for system, _ in entities) and night.isoformat() in row.location:
            return True
    return False


def test_the_window_covered_every_quirk_of_every_contract(pipeline):
    seen = set(_quirks(pipeline).quirk)
    expected = {
        "late_commit", "soft_delete", "duplicate_contact", "messy_email", "free_format_phone",
        "duplicate_event", "offline_late", "clock_skew", "bot_traffic", "unknown_property_key",
        "malformed_web_line", "erp_dst_repeated_hour", "erp_late_delivery", "erp_redelivery",
        "erp_multiline_name", "erp_name_punctuation", "erp_manifest_mismatch", "erp_missing_manifest",
        "mdm_merge", "mdm_split", "mdm_unmerged_duplicate", "mdm_truncated_snapshot",
        "scan_late", "scan_duplicate", "events_before_shipment",
        "cce_free_format_contact", "cce_late_csat", "cce_empty_page", "cce_rate_limit", "cce_server_error",
        "consent_breach", "marketing_machine_open",
    }  # fmt: skip
    assert expected <= seen, f"quirks the sandbox did not produce in the window: {sorted(expected - seen)}"


def test_every_quirky_record_is_loaded_or_quarantined_never_lost(pipeline):
    dsn = pipeline["dsn"]
    quirks = _quirks(pipeline)
    missing = []
    checked = 0
    for row in quirks.itertuples():
        target = _raw_target(row)
        if target is None or not row.source_key or row.quirk in ("bot_traffic", "mdm_split", "stockout"):
            continue
        if row.quirk == "malformed_web_line":
            continue  # has no parseable key: checked through the quarantine below
        if _unloadable(pipeline, row):
            continue
        table, key = target
        found = _one(dsn, f'select count(*) from raw."{table}" where {key} = %s', row.source_key)
        if not found:
            found = _one(dsn, "select count(*) from meta.quarantine where raw_record like %s", f"%{row.source_key}%")
        checked += 1
        if not found:
            missing.append((row.quirk, row.location, row.source_key))
    assert checked > 1000
    assert not missing, f"{len(missing)} quirky records neither loaded nor quarantined, e.g. {missing[:5]}"


def test_nothing_is_lost_every_batch_balances(pipeline):
    rows = _all(
        pipeline["dsn"], "select batch_id, received, loaded, quarantined, duplicates_removed from meta.load_ledger"
    )
    assert rows and all(r[1] == r[2] + r[3] + r[4] for r in rows)
    loaded = {r[0].split(".")[0] for r in rows if r[2] > 0}
    assert loaded == {"crm", "erp", "mdm", "logistics", "contact_center", "web_analytics", "marketing"}


def test_malformed_lines_are_quarantined_with_file_line_and_reason(pipeline):
    rows = _all(
        pipeline["dsn"],
        "select source_location, record_number, reason from meta.quarantine where source_system = 'web_analytics'",
    )
    expected = (_quirks(pipeline).quirk == "malformed_web_line").sum()
    assert expected > 0 and len(rows) == expected
    assert all(loc.startswith("web_analytics/") and n >= 1 and reason for loc, n, reason in rows)


def test_duplicates_are_counted_once_loaded_once(pipeline):
    dsn = pipeline["dsn"]
    for table, key in (("web_analytics__event", "event_id"), ("logistics__shipment_events", "event_id")):
        assert _one(dsn, f'select count(*) - count(distinct "{key}") from raw."{table}"') == 0
    dup_web = _one(dsn, "select sum(duplicates_removed) from meta.load_ledger where source_system = 'web_analytics'")
    dup_scans = _one(dsn, "select sum(duplicates_removed) from meta.load_ledger where entity = 'shipment_events'")
    quirks = _quirks(pipeline)
    assert dup_web >= 1 and dup_scans >= (quirks.quirk == "scan_duplicate").sum() * 0.5


def test_late_crm_commits_are_caught_by_the_lookback(pipeline):
    late = _quirks(pipeline).query("quirk == 'late_commit'")
    assert len(late) > 0
    for row in late.itertuples():
        table, key = _raw_target(row)
        assert _one(pipeline["dsn"], f'select count(*) from raw."{table}" where {key} = %s', row.source_key), row


def test_erp_file_sets_late_mismatched_or_cut_short_fail_then_load_when_fixed(pipeline):
    dsn, failures = pipeline["dsn"], pipeline["failures"]
    erp_failures = [msg for night in failures.values() for (system, _), msg in night.items() if system == "erp"]
    assert erp_failures, "the raised rates should have made some ERP nights fail"
    text = "\n".join(erp_failures)
    assert "manifest" in text
    mismatch = [m for m in erp_failures if "rows" in m or "sha256" in m or "amount_sum" in m]
    assert mismatch, text[:2000]
    assert all("erp/" in m for m in mismatch), "a failed check names the file"
    incidents = _one(dsn, "select count(*) from meta.delivery_incidents where source_system = 'erp'")
    assert incidents >= len(mismatch) // 5
    # After the fixes, every business date of the window is loaded for every ERP entity; a set whose fix
    # never came (the window's last night) has nothing loaded at all.
    broken = {night for night, entities in pipeline["unresolved"].items() if any(s == "erp" for s, _ in entities)}
    for entity in ("customers", "sales_orders", "order_lines", "payments", "returns"):
        loaded = {r[0] for r in _all(dsn, "select batch_id from meta.load_ledger where entity = %s", entity)}
        days = {FIRST + timedelta(days=i) for i in range((LAST - FIRST).days + 1)}
        for day in days:
            batch = f"erp.{entity}.{day.isoformat()}"
            assert (batch not in loaded) if day in broken else (batch in loaded), (batch, broken)


def test_erp_redelivery_replaces_the_earlier_revision(pipeline):
    dsn = pipeline["dsn"]
    redelivered = _all(
        dsn,
        "select business_date, revision, batch_id from meta.deliveries "
        "where source_system = 'erp' and cause like 'redelivery%%'",
    )
    assert redelivered, "no re-delivered ERP set was reloaded"
    for business_date, revision, batch in redelivered:
        manifest = json.loads((pipeline["landing"] / f"erp/{business_date.isoformat()}/_manifest.json").read_text())
        assert manifest["revision"] == revision >= 2
        entity = batch.split(".")[1]
        rows = _one(dsn, f'select count(*) from raw."erp__{entity}" where _batch_id = %s', batch)
        assert rows == manifest["files"][f"{entity}.csv"]["rows"], "the earlier revision's rows must be gone"


def test_erp_text_and_clock_change_quirks_survive_loading(pipeline):
    dsn = pipeline["dsn"]
    quirks = _quirks(pipeline)
    multiline = quirks.query("quirk == 'erp_multiline_name'").source_key.tolist()
    assert multiline
    names = _all(dsn, "select name from raw.erp__customers where customer_no = any(%s)", multiline)
    assert names and all("\n" in n for (n,) in names)
    # The repeated hour when the clocks go back: loaded at the instant its offset says, in the repeated hour.
    repeated = quirks.query("quirk == 'erp_dst_repeated_hour'")
    assert len(repeated) > 0
    offsets = set()
    for row in repeated.itertuples():
        table, key = _raw_target(row)
        for column in row.detail.rsplit(": ", 1)[-1].split(", "):  # the columns whose local time repeats
            hours = (
                f"extract(hour from {column} at time zone 'Europe/London'), "
                f"extract(hour from {column} at time zone 'UTC')"
            )
            local, utc = _all(dsn, f'select {hours} from raw."{table}" where {key} = %s', row.source_key)[0]
            assert local == 1, (row, column, local)
            offsets.add(local - utc)
    assert offsets <= {0, 1}


def test_mdm_truncated_snapshot_is_refused_and_merges_are_loaded(pipeline):
    dsn, failures = pipeline["dsn"], pipeline["failures"]
    mdm = [msg for night in failures.values() for (system, _), msg in night.items() if system == "mdm"]
    truncated = _quirks(pipeline).query("quirk == 'mdm_truncated_snapshot'")
    assert len(mdm) >= len(truncated) > 0
    assert all("trailer" in m for m in mdm), mdm
    merged = _one(dsn, "select count(*) from raw.mdm__golden_customer where merged_into is not null")
    assert merged > 0


def test_logistics_late_scans_and_events_before_their_shipment_are_kept(pipeline):
    dsn = pipeline["dsn"]
    quirks = _quirks(pipeline)
    early = quirks.query("quirk == 'events_before_shipment'").source_key.tolist()
    assert early
    rows = _all(
        dsn,
        "select s.shipment_id, min(s._data_interval_start), min(e._data_interval_start) "
        "from raw.logistics__shipments s join raw.logistics__shipment_events e using (shipment_id) "
        "where s.shipment_id = any(%s) group by 1",
        early,
    )
    assert rows and any(events < shipment for _, shipment, events in rows)
    late = quirks.query("quirk == 'scan_late'").source_key.tolist()
    lag = _one(
        dsn,
        "select max(_data_interval_start - event_ts) from raw.logistics__shipment_events where event_id = any(%s)",
        late,
    )
    assert lag > timedelta(hours=12)


def test_contact_centre_versions_and_api_faults(pipeline):
    dsn = pipeline["dsn"]
    quirks = _quirks(pipeline)
    csat = quirks.query("quirk == 'cce_late_csat'").source_key.tolist()
    assert csat
    # Interactions of the window (the first night sees only the latest version of older ones): the CSAT,
    # a night later, is a new version beside the earlier one, which had none.
    versions = _all(
        dsn,
        "select interaction_id, count(*), count(csat), bool_or(csat is null) from raw.contact_center__interaction "
        "where interaction_id = any(%s) group by 1 having min(started_at) >= %s",
        csat,
        night_interval(FIRST)[0],
    )
    assert versions
    assert all(n >= 2 and had_none for _, n, rated, had_none in versions if rated), versions
    cce_failures = [
        m for night in pipeline["failures"].values() for (system, _), m in night.items() if system == "contact_center"
    ]
    assert not cce_failures, "429s, 5xx and empty pages are absorbed by the client"


def test_marketing_consent_breaches_and_machine_opens_are_kept_for_reporting(pipeline):
    dsn = pipeline["dsn"]
    quirks = _quirks(pipeline)
    breaches = quirks.query("quirk == 'consent_breach'").source_key.tolist()
    assert breaches
    assert _one(dsn, "select count(*) from raw.marketing__email_events where event_id = any(%s)", breaches) == len(
        set(breaches)
    )
    assert _one(dsn, "select count(*) from raw.marketing__email_events where is_machine_open") > 0


def test_consent_breaches_are_counted_exactly(pipeline):
    truth = pd.read_csv(pipeline["truth"] / "consent_breaches.csv", dtype=str)
    found = _all(pipeline["dsn"], "select event_id, consent_id from meta.consent_breaches")
    assert len(truth) > 0
    assert sorted(found) == sorted(zip(truth.event_id, truth.consent_id, strict=True))


def test_unknown_fields_are_kept_not_dropped(pipeline):
    # Property keys the contract does not list stay inside the event's properties, as delivered.
    key = _quirks(pipeline).query("quirk == 'unknown_property_key'").iloc[0]
    props = _one(
        pipeline["dsn"], "select properties::text from raw.web_analytics__event where event_id = %s", key.source_key
    )
    assert key.detail in props


def test_the_sandbox_wrote_what_the_pipeline_never_reads(pipeline):
    landing = Path(pipeline["landing"])
    assert not any(p.name.endswith(".csv") and "ground_truth" in str(p) for p in landing.rglob("*"))
