"""Friction events found by the warehouse against the frictions the sandbox injected (its ground truth).

Each friction type is matched on the source record that shows it (a web event, an interaction, a payment,
a shipment, a stock-out, a case). Only records the warehouse received are scored: an injected friction
whose record was never loaded cannot be found by any rule and is counted in `not_received` instead (the
night's data interval ends before it, or its delivery was late). An occurrence the warehouse reports whose
record the truth does not list as that friction is a false positive.

Not scored here: checkout_abandoned (a journey-level judgement: the truth's journey ids are not the
warehouse's) and the stuck-risk and shift reports (scored by their own tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import psycopg

LONDON = "Europe/London"

WEB_FRICTIONS = ("dead_end_search", "checkout_failed", "login_failed", "error_shown")
# quirks.csv name -> the warehouse's friction_type
TRUTH_NAMES = {
    **{name: name for name in WEB_FRICTIONS},
    "payment_failed": "payment_failed",
    "late_delivery": "late_delivery",
    "failed_delivery": "failed_delivery",
    "stockout": "stockout",
    "cce_abandoned": "queue_abandoned",
    "cce_bot_no_match": "bot_dead_end",
}

# The warehouse's occurrences, keyed as the truth keys them (failed deliveries: shipment and scan time).
FOUND_SQL = """
select
    frictions.friction_type,
    case
        when frictions.friction_type = 'failed_delivery'
            then scans.shipment_id || '@' || to_char(scans.event_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
        when frictions.friction_type = 'stockout'
            then frictions.source_record_key || '@'
                || to_char(frictions.occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
        else frictions.source_record_key
    end as record_key
from intermediate.int_friction_events_identified as frictions
left join staging.stg_logistics__shipment_events as scans
    on frictions.friction_type = 'failed_delivery' and frictions.source_record_key = scans.shipment_event_id
"""

# Every record the warehouse received, per friction type, keyed the same way.
RECEIVED_SQL = """
select 'web' as kind, event_id as record_key from staging.stg_web_analytics__events
union all
select 'interaction', interaction_id from staging.stg_contact_center__interactions
union all
select 'payment', payment_id from staging.stg_erp__payments
union all
select 'shipment', shipment_id from staging.stg_logistics__shipments
union all
select 'scan', shipment_id || '@' || to_char(event_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
from staging.stg_logistics__shipment_events
union all
select 'stockout', sku || '@' || location_id || '@' || to_char(started_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
from staging.stg_logistics__stockouts
union all
select 'case', case_id from staging.stg_crm__cases where not is_deleted
"""

HORIZON_SQL = "select data_horizon_at from intermediate.int_identity__night"

RECORD_KIND = {
    **{name: "web" for name in WEB_FRICTIONS},
    "payment_failed": "payment",
    "late_delivery": "shipment",
    "failed_delivery": "scan",
    "stockout": "stockout",
    "queue_abandoned": "interaction",
    "bot_dead_end": "interaction",
    "repeat_contact": "interaction",
    "resolution_beyond_standard": "case",
}


@dataclass(frozen=True)
class FrictionScore:
    friction_type: str
    injected: int  # injected frictions whose record the warehouse received
    found: int  # the warehouse's occurrences of the type
    matched: int
    not_received: int  # injected, but the record never reached the warehouse

    @property
    def recall(self) -> float:
        return self.matched / self.injected if self.injected else 1.0

    @property
    def precision(self) -> float:
        return self.matched / self.found if self.found else 1.0


def _second(iso: pd.Series) -> pd.Series:
    """ISO-8601 UTC text (with or without milliseconds) to 'YYYY-MM-DDTHH:MM:SS', as FOUND_SQL renders it."""
    return pd.to_datetime(iso, utc=True, format="ISO8601").dt.strftime("%Y-%m-%dT%H:%M:%S")


def injected_frictions(truth: Path, horizon: pd.Timestamp) -> pd.DataFrame:
    """(friction_type, record_key) of every friction the sandbox injected that was visible by the horizon."""
    quirks = pd.read_csv(truth / "quirks.csv", dtype=str, keep_default_na=False)
    quirks = quirks[quirks["quirk"].isin(TRUTH_NAMES)]
    quirks = quirks[pd.to_datetime(quirks["occurred_at"], utc=True, format="ISO8601") < horizon]
    keys = quirks["source_key"].copy()
    failed = quirks["quirk"] == "failed_delivery"
    keys[failed] = quirks.loc[failed, "source_key"] + "@" + _second(quirks.loc[failed, "occurred_at"])
    stock = quirks["quirk"] == "stockout"
    parts = quirks.loc[stock, "source_key"].str.rsplit("@", n=1, expand=True)
    if len(parts):
        keys[stock] = parts[0] + "@" + _second(parts[1])
    frames = [pd.DataFrame({"friction_type": quirks["quirk"].map(TRUTH_NAMES), "record_key": keys})]

    # The truth calls a shipment late only if it is eventually delivered; one that will be lost or returned
    # after the horizon was, at the horizon, past its promised day and undelivered: late as the customer
    # sees it, and all the data can tell.
    shipments = pd.read_csv(truth / "shipments.csv", dtype=str, keep_default_na=False)
    promised_end = pd.to_datetime(shipments["promised_delivery_date"]) + pd.Timedelta(days=1)
    promised_end = promised_end.dt.tz_localize(LONDON, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
    pending_failure = (
        shipments["outcome"].isin(["lost", "returned_to_sender"])
        & (shipments["final_after_cutoff"] == "True")
        & (promised_end < horizon)
    )
    frames.append(
        pd.DataFrame({"friction_type": "late_delivery", "record_key": shipments.loc[pending_failure, "shipment_id"]})
    )

    interactions = pd.read_csv(truth / "interactions.csv", dtype=str, keep_default_na=False)
    repeats = interactions[(interactions["repeat_of"] != "") & (interactions["direction"] == "inbound")]
    repeats = repeats[pd.to_datetime(repeats["started_at"], utc=True, format="ISO8601") < horizon]
    frames.append(pd.DataFrame({"friction_type": "repeat_contact", "record_key": repeats["interaction_id"]}))

    # A case is late once its standard (in the business hours of the company's calendar) has passed without
    # a resolution: the truth knows its planned resolution, so only cases whose standard ended by the
    # horizon can be judged from the data.
    cases = pd.read_csv(truth / "cases.csv", dtype=str, keep_default_na=False)
    due = pd.to_datetime(cases["standard_due_at"].replace("", None), utc=True, format="ISO8601")
    # A case that will close unresolved after the horizon is, at the horizon, open beyond its standard.
    closed = pd.to_datetime(cases["closed_at"].replace("", None), utc=True, format="ISO8601")
    open_at_horizon = (cases["resolved_at"] == "") & ~(closed <= horizon)
    late = (cases["resolved_late"] == "True") | open_at_horizon
    late &= (cases["soft_deleted"] != "True") & (due <= horizon)
    frames.append(
        pd.DataFrame({"friction_type": "resolution_beyond_standard", "record_key": cases.loc[late, "case_id"]})
    )
    return pd.concat(frames, ignore_index=True).drop_duplicates()


def score(dsn: str, truth: Path) -> dict[str, FrictionScore]:
    with psycopg.connect(dsn) as conn:
        found = pd.DataFrame(conn.execute(FOUND_SQL).fetchall(), columns=["friction_type", "record_key"])
        received = pd.DataFrame(conn.execute(RECEIVED_SQL).fetchall(), columns=["kind", "record_key"])
        (horizon,) = conn.execute(HORIZON_SQL).fetchone()
    injected = injected_frictions(truth, pd.Timestamp(horizon))
    received_keys = {kind: set(group["record_key"]) for kind, group in received.groupby("kind")}
    report = {}
    for friction_type, kind in RECORD_KIND.items():
        truth_keys = set(injected.loc[injected["friction_type"] == friction_type, "record_key"])
        held = truth_keys & received_keys.get(kind, set())
        found_keys = set(found.loc[found["friction_type"] == friction_type, "record_key"])
        report[friction_type] = FrictionScore(
            friction_type,
            injected=len(held),
            found=len(found_keys),
            matched=len(held & found_keys),
            not_received=len(truth_keys - held),
        )
    return report


def misses(dsn: str, truth: Path, friction_type: str, limit: int = 10) -> dict[str, list[str]]:
    """Some record keys the warehouse missed and some it reported wrongly, for a failing test's message."""
    with psycopg.connect(dsn) as conn:
        found = {k for t, k in conn.execute(FOUND_SQL).fetchall() if t == friction_type}
        (horizon,) = conn.execute(HORIZON_SQL).fetchone()
    injected = injected_frictions(truth, pd.Timestamp(horizon))
    truth_keys = set(injected.loc[injected["friction_type"] == friction_type, "record_key"])
    return {"missed": sorted(truth_keys - found)[:limit], "wrong": sorted(found - truth_keys)[:limit]}


def format_report(report: dict[str, FrictionScore]) -> str:
    lines = ["| friction type | injected (received) | found | matched | recall | precision | not received |"]
    lines.append("|---|---|---|---|---|---|---|")
    for s in report.values():
        lines.append(
            f"| {s.friction_type} | {s.injected:,} | {s.found:,} | {s.matched:,} | {s.recall:.3f} | "
            f"{s.precision:.3f} | {s.not_received:,} |"
        )
    return "\n".join(lines)
