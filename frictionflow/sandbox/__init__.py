"""The sandbox company: a deterministic simulated enterprise that delivers data as the source contracts say.

    from frictionflow.sandbox import Sandbox, SandboxConfig
    sb = Sandbox(SandboxConfig(seed=42), crm_admin_dsn=..., landing_dir=..., ground_truth_dir=...)
    sb.deliver_through(date(2026, 11, 22))

Systems implemented: crm (PostgreSQL) and web_analytics (hourly gzip JSON Lines). Each system is one
module rendering the shared World (population + day plans) in its own format. See README.md.
"""

from __future__ import annotations

import gzip
import json
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from frictionflow.contracts import ContractViolation, load_contract

from . import crm, ground_truth, web_analytics
from .config import DEFAULT_QUIRK_RATES, SandboxConfig
from .crm import CrmDatabase, SandboxError
from .timeutil import local_midnight_ms, utc_midnight_ms
from .world import World

__all__ = ["Sandbox", "SandboxConfig", "SandboxError", "DeliveryReport", "DEFAULT_QUIRK_RATES"]

# Records validated against the contract on each delivery: per CRM table, and per received web date.
SPOT_CHECK_ROWS = 2000
SPOT_CHECK_LINES = 300


@dataclass
class DeliveryReport:
    through: date
    crm_rows: dict[str, int] = field(default_factory=dict)  # rows upserted per table by this call
    crm_totals: dict[str, int] = field(default_factory=dict)  # rows in each table afterwards
    web_dates: list[date] = field(default_factory=list)  # received dates written by this call
    web_files: int = 0
    web_events: int = 0
    ground_truth: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    already_delivered: bool = False

    def summary(self) -> str:
        lines = [f"delivered through {self.through} in {self.seconds:.1f} s"]
        if self.already_delivered:
            lines.append("  nothing new: already delivered")
        for table, rows in self.crm_rows.items():
            lines.append(f"  crm.{table}: {rows} rows upserted, {self.crm_totals.get(table, '?')} in table")
        if self.web_dates:
            lines.append(
                f"  web_analytics: {self.web_files} files, {self.web_events} lines for "
                f"{self.web_dates[0]}..{self.web_dates[-1]} ({len(self.web_dates)} dates)"
            )
        for name, rows in self.ground_truth.items():
            lines.append(f"  ground truth {name}: {rows} rows")
        return "\n".join(lines)


class Sandbox:
    """The simulated company's source systems, delivered as they would look the morning after a day."""

    def __init__(self, config: SandboxConfig, crm_admin_dsn: str, landing_dir: Path, ground_truth_dir: Path) -> None:
        self.config = config
        self.world = World(config)
        self.crm = CrmDatabase(crm_admin_dsn)
        self.landing_dir = Path(landing_dir)
        self.ground_truth_dir = Path(ground_truth_dir)

    def crm_cutoff_ms(self, day: date) -> int:
        """The CRM as of the end of London business day `day`."""
        return local_midnight_ms(day + timedelta(days=1))

    def web_cutoff_ms(self, day: date) -> int:
        """Web files are per received UTC date: everything received before the next UTC midnight."""
        return utc_midnight_ms(day + timedelta(days=1))

    def deliver_through(self, day: date) -> DeliveryReport:
        """Make every source look as it would the morning after `day`. Idempotent; never goes backwards."""
        started = time.perf_counter()
        cfg = self.config
        if not cfg.start_date <= day <= cfg.end_date:
            raise SandboxError(f"{day} is outside the simulated window {cfg.start_date}..{cfg.end_date}")
        self.crm.ensure()
        state = self.crm.state()
        if state is not None and state.fingerprint != cfg.fingerprint():
            raise SandboxError(
                f"CRM database {self.crm.dbname} was filled by another sandbox config; use a new database"
            )
        if state is not None and state.delivered_through > day:
            raise SandboxError(f"already delivered through {state.delivered_through}; cannot go back to {day}")
        web_done = set(web_analytics.delivered_dates(self.landing_dir))
        if any(d > day for d in web_done):
            raise SandboxError(f"web files already exist for dates after {day}; cannot go back")
        report = DeliveryReport(day)
        wanted = [cfg.start_date + timedelta(days=i) for i in range((day - cfg.start_date).days + 1)]
        missing = [d for d in wanted if d not in web_done]
        if state is not None and state.delivered_through == day and not missing and self._ground_truth_current(day):
            report.already_delivered = True
            report.seconds = time.perf_counter() - started
            return report

        pop = self.world.population
        plans = self.world.plans_through(day)
        crm_cutoff, web_cutoff = self.crm_cutoff_ms(day), self.web_cutoff_ms(day)
        frames = crm.version_frames(pop, plans)
        since = state.cutoff_ms if state is not None else None
        changed = {e: crm.snapshot(frames[e], crm.KEYS[e], crm_cutoff, since) for e in crm.ENTITIES}
        _spot_check_crm(changed)
        report.crm_rows = self.crm.upsert(changed, cfg.fingerprint(), day, crm_cutoff)
        report.crm_totals = {
            e: int((frames[e].loc[frames[e]["_commit"] <= crm_cutoff, crm.KEYS[e]]).nunique()) for e in crm.ENTITIES
        }

        plan_days = self.world.plan_days_through(day)
        for d in missing:
            # Only days with rows still to write are expanded; the others were released (bounded memory).
            start = utc_midnight_ms(d)
            webs = [
                self.world.web(p) for p in self.world.plan_days_through(d) if not self.world.web_done_before(p, start)
            ]
            files, lines = web_analytics.write_received_day(pop, webs, d, self.landing_dir)
            del webs
            report.web_files += files
            report.web_events += lines
            report.web_dates.append(d)
            _spot_check_web(self.landing_dir, d, strict=cfg.rate("malformed_web_line") == 0)
            for p in self.world.plan_days_through(d):
                self.world.release_web(p, self.web_cutoff_ms(d))

        go_live = utc_midnight_ms(cfg.start_date)
        web_quirks = pd.concat([self.world.web_quirks(d) for d in plan_days], ignore_index=True)
        delivered = (web_quirks["received_ms"] >= go_live) & (web_quirks["received_ms"] < web_cutoff)
        quirks = pd.concat(
            [
                pd.DataFrame(crm.quirk_records(pop, frames, crm_cutoff), columns=web_analytics.QUIRK_COLUMNS),
                web_quirks.loc[delivered, web_analytics.QUIRK_COLUMNS],
            ],
            ignore_index=True,
        )
        for d in plan_days:
            self.world.release_web(d, web_cutoff)
        report.ground_truth = ground_truth.write(
            self.ground_truth_dir, cfg, pop, plans, frames["contact"], quirks, day.isoformat(), crm_cutoff, web_cutoff
        )
        report.seconds = time.perf_counter() - started
        return report

    def _ground_truth_current(self, day: date) -> bool:
        manifest = self.ground_truth_dir / "manifest.json"
        if not manifest.exists():
            return False
        data = json.loads(manifest.read_text())
        return data.get("delivered_through") == day.isoformat() and data.get("fingerprint") == self.config.fingerprint()


def _spot_check_crm(changed: dict) -> None:
    """The sandbox must never deliver a contract-breaking CRM row: check a sample before writing."""
    contract = load_contract("crm")
    for entity, frame in changed.items():
        spec = contract.entities[entity]
        sample = crm._copy_columns(frame.head(SPOT_CHECK_ROWS), spec.column_names)
        for values in zip(*sample, strict=True):
            record = dict(zip(spec.column_names, values, strict=True))
            for name in crm.TIMESTAMP_COLUMNS & set(record):
                if record[name] is not None:
                    record[name] = record[name].replace(" ", "T")[:-3] + "+00:00"
            spec.validate(record)


def _spot_check_web(landing_dir: Path, day: date, strict: bool) -> None:
    entity = load_contract("web_analytics").entities["event"]
    folder = landing_dir / web_analytics.SYSTEM_DIR / day.isoformat()
    checked = 0
    for hour in range(24):
        with gzip.open(folder / f"{hour:02d}.jsonl.gz", "rt", encoding="utf-8") as fh:
            for line in fh:
                try:
                    entity.validate(json.loads(line))
                except (ContractViolation, json.JSONDecodeError):
                    if strict:
                        raise
                checked += 1
            if checked >= SPOT_CHECK_LINES:
                return
