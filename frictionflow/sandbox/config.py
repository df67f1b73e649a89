"""What the simulated company looks like: size, dates, seed, quirk rates and the turbulent period."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

# Days simulated before start_date so that the CRM holds in-flight cases and recent orders on day one.
WARMUP_DAYS = 7

# Each quirk's share, on by default at a realistic small rate. Every occurrence is in the ground truth.
DEFAULT_QUIRK_RATES: dict[str, float] = {
    # CRM
    "duplicate_contact": 0.03,  # share of existing customers who also have a second contact (other email)
    "contact_soft_delete": 0.30,  # share of those duplicate contacts a data steward soft-deletes in the window
    "case_soft_delete": 0.03,  # share of web cases submitted twice; the duplicate case is soft-deleted
    "late_commit": 0.30,  # share of row versions stamped in a day's last 15 minutes that commit after midnight
    "messy_email": 0.15,  # share of emails typed with odd case or surrounding spaces
    "free_format_phone": 0.60,  # share of phones typed in a national / punctuated / digits-only format
    # web and app analytics
    "duplicate_event": 0.005,  # share of events delivered a second time, in a later hour's file
    "offline_late": 0.03,  # share of app sessions buffered offline and received 20 minutes to 72 hours late
    "clock_skew": 0.03,  # share of devices whose clock is hours (or a day or two) off
    "bot_traffic": 0.05,  # crawler sessions per human session; monitors run every 5 minutes when > 0
    "unknown_property_key": 0.03,  # share of events with a property key the contract does not list
    "dead_end_search": 0.08,  # share of searches that return no results
    "checkout_failed": 0.05,  # share of payment attempts that fail (before turbulence)
    "login_failed": 0.04,  # share of ordinary logins that fail first
    "error_shown": 0.01,  # share of page and screen views followed by an error message
    "malformed_web_line": 0.0,  # opt-in: share of lines that are unparsable or carry a bad enum value
    # MDM (master data hub)
    "mdm_unmerged_duplicate": 0.01,  # share of existing customers with a second golden record, never merged
    "mdm_merge": 0.01,  # share of existing customers whose two golden records are merged on a day
    "mdm_split": 0.005,  # share of ERP customers whose key MDM links to another person's record, then corrects
    "mdm_truncated_snapshot": 0.0,  # opt-in: share of nightly snapshots cut short, without the trailer
    # logistics
    "late_delivery": 0.04,  # base share of shipments delivered after the promised date (tracked ones: x6)
    "failed_delivery": 0.04,  # base share of shipments whose first delivery attempt fails
    "stockout": 0.0003,  # per SKU, location and day: the chance a stock-out starts
    "scan_late": 0.03,  # share of carrier scans uploaded late (out of order), 4 to 72 hours after the scan
    "scan_duplicate": 0.01,  # share of scans uploaded a second time, in a later part
    "events_before_shipment": 0.02,  # share of shipments whose row is uploaded after their first events
    "carrier_disruption": 0.4,  # turbulent period: share of the failing carrier's shipments held up 1-3 days
    # contact centre (CCE): data
    "cce_agent_linked_contact": 0.35,  # share of agent-handled contacts of CRM customers where the agent links them
    "cce_free_format_contact": 0.40,  # share of phones / emails captured or typed in a free format (not E.164)
    "cce_late_csat": 0.20,  # share of CSAT answers arriving 24 to 48 hours after the contact (a later night)
    "cce_bot_no_match": 0.20,  # share of chatbot conversations where the bot has no answer (a dead end)
    # contact centre (CCE): the API, per page request (decided by the server from the seed; 0 turns it off)
    "cce_empty_page": 0.05,  # pages served empty with a non-null next_cursor
    "cce_rate_limit": 0.02,  # extra 429s (with Retry-After) below the 10 requests a second limit
    "cce_server_error": 0.02,  # transient 500 / 502 / 503 (a retry succeeds)
    # ERP (nightly CSV file sets)
    "erp_stockout": 0.02,  # expected share of ordered lines whose SKU is out of stock (stock.py, shared with logistics)
    "erp_late_delivery": 0.10,  # share of file sets arriving hours late: absent at the night run, there a night later
    "erp_redelivery": 0.07,  # share of file sets replaced 1-3 days later by a higher revision (rows were missing)
    "erp_missing_manifest": 0.0,  # opt-in: share of file sets first delivered cut short and without a manifest
    "erp_manifest_mismatch": 0.0,  # opt-in: share of file sets whose manifest disagrees with a file (fixed next day)
    "erp_name_punctuation": 0.20,  # share of ERP customer names typed "Last, First" or with a "quoted" nickname
    "erp_multiline_name": 0.01,  # share of ERP customer names with a line break (a company or c/o line)
    # marketing (email service provider)
    "marketing_machine_open": 0.25,  # share of delivered messages opened by a mail privacy proxy (is_machine_open)
    "marketing_consent_breach": 0.10,  # share of marketing_email withdrawals the ESP's suppression list misses
    "marketing_email_recased": 0.30,  # share of ESP addresses cased differently from the CRM's
}

# What the turbulent period (a payment processor degrading) does to the two systems implemented.
TURBULENCE_EFFECTS: dict[str, float] = {
    "checkout_failed_multiplier": 4.0,
    "payment_error_shown_multiplier": 5.0,
    "billing_case_multiplier": 2.5,
    "case_resolution_time_multiplier": 1.8,
    "first_response_time_multiplier": 1.5,
    # contact centre: failed checkouts lead to more billing contacts, the bot knows nothing of the outage,
    # agents are moved to the billing queue (every queue waits longer, billing longest)
    "cce_billing_contact_multiplier": 2.5,
    "cce_bot_no_match_multiplier": 2.5,
    "cce_wait_time_multiplier": 1.5,
    "cce_billing_wait_multiplier": 2.0,
}
TURBULENCE_DESCRIPTION = (
    "Payment processor degrading: more checkout_failed (processor_unavailable, payment_timeout) and "
    "payment errors on the web and in the apps, more billing cases in the CRM, slower first response and resolution."
)
DEFAULT_TURBULENT_DAYS = 10


class _Default:
    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT = _Default()


@dataclass(frozen=True)
class SandboxConfig:
    """The simulated company. Same config, same world: byte for byte.

    turbulent_from: not given -> the last 10 days of the window; None -> no turbulent period.
    quirk_rates: overrides merged over DEFAULT_QUIRK_RATES (unknown keys are an error).
    """

    seed: int = 42
    customers: int = 3000
    start_date: date = date(2026, 10, 24)
    end_date: date = date(2026, 11, 22)
    quirk_rates: dict[str, float] = field(default_factory=dict)
    turbulent_from: date | None | _Default = DEFAULT

    def __post_init__(self) -> None:
        unknown = set(self.quirk_rates) - set(DEFAULT_QUIRK_RATES)
        if unknown:
            raise ValueError(f"unknown quirk rates {sorted(unknown)}; known: {sorted(DEFAULT_QUIRK_RATES)}")
        rates = {**DEFAULT_QUIRK_RATES, **{k: float(v) for k, v in self.quirk_rates.items()}}
        for name, value in rates.items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"quirk rate {name}={value} is not within [0, 1]")
        object.__setattr__(self, "quirk_rates", rates)
        if self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        if self.customers < 1:
            raise ValueError("customers must be at least 1")
        if isinstance(self.turbulent_from, _Default):
            default_start = max(self.start_date, self.end_date - timedelta(days=DEFAULT_TURBULENT_DAYS - 1))
            object.__setattr__(self, "turbulent_from", default_start)

    def rate(self, quirk: str) -> float:
        return self.quirk_rates[quirk]

    @property
    def world_start(self) -> date:
        """First simulated day (warm-up included); nothing before start_date is delivered as web files."""
        return self.start_date - timedelta(days=WARMUP_DAYS)

    def days(self) -> list[date]:
        n = (self.end_date - self.world_start).days + 1
        return [self.world_start + timedelta(days=i) for i in range(n)]

    def is_turbulent_day(self, day: date) -> bool:
        return self.turbulent_from is not None and self.turbulent_from <= day <= self.end_date

    def as_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "customers": self.customers,
            "start_date": self.start_date.isoformat(),
            "end_date": self.end_date.isoformat(),
            "turbulent_from": self.turbulent_from.isoformat() if self.turbulent_from else None,
            "quirk_rates": dict(sorted(self.quirk_rates.items())),
        }

    def fingerprint(self) -> str:
        """Identifies the world a delivered source belongs to (stored beside the CRM data)."""
        return hashlib.sha256(json.dumps(self.as_dict(), sort_keys=True).encode()).hexdigest()[:16]


def stream_seed(seed: int, *parts: object) -> int:
    """A seed per component (and per day): components draw independently, so adding one changes no other."""
    text = "/".join([str(seed), *map(str, parts)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
