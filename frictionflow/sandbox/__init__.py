"""The sandbox company: a deterministic simulated enterprise that delivers data as the source contracts say.

    from frictionflow.sandbox import Sandbox, SandboxConfig
    sb = Sandbox(SandboxConfig(seed=42), crm_admin_dsn=..., landing_dir=..., ground_truth_dir=...)
    sb.deliver_through(date(2026, 11, 22))

Systems implemented: crm (PostgreSQL), web_analytics (hourly gzip JSON Lines), contact_center (a
SQLite store served by a REST API, contact_center_api.py), mdm, logistics, erp (nightly CSV file sets with a
manifest) and marketing (a daily CSV export). Each system is one module rendering the shared World
(population + day plans) in its own format. See README.md.
"""

from __future__ import annotations

import csv
import gzip
import json
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from frictionflow.contracts import ContractViolation, load_contract

from . import contact_center, crm, erp, ground_truth, logistics, marketing, mdm, web_analytics
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
    cce_versions: int = 0  # contact-centre interaction versions written by this call
    cce_interactions: int = 0  # interactions the contact-centre API holds afterwards
    mdm_dates: list[date] = field(default_factory=list)  # snapshot dates written by this call
    mdm_records: int = 0  # golden records in those snapshots
    logistics_dates: list[date] = field(default_factory=list)  # upload dates written by this call
    logistics_parts: int = 0
    logistics_rows: dict[str, int] = field(default_factory=dict)  # rows per entity in those parts
    erp_dates: list[date] = field(default_factory=list)  # business dates whose file set was (re)written
    erp_rows: dict[str, int] = field(default_factory=dict)  # rows per file in those sets
    marketing_dates: list[date] = field(default_factory=list)  # London days whose export was written
    marketing_rows: int = 0
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
        if self.cce_interactions:
            lines.append(
                f"  contact_center: {self.cce_versions} versions written, {self.cce_interactions} interactions"
            )
        if self.mdm_dates:
            lines.append(
                f"  mdm: {len(self.mdm_dates)} snapshots, {self.mdm_records} golden records for "
                f"{self.mdm_dates[0]}..{self.mdm_dates[-1]}"
            )
        if self.logistics_dates:
            rows = ", ".join(f"{n} {entity}" for entity, n in self.logistics_rows.items())
            lines.append(
                f"  logistics: {self.logistics_parts} parts ({rows}) for "
                f"{self.logistics_dates[0]}..{self.logistics_dates[-1]}"
            )
        if self.erp_dates:
            rows = ", ".join(f"{n} {name.removesuffix('.csv')}" for name, n in self.erp_rows.items())
            dates = (
                ", ".join(d.isoformat() for d in self.erp_dates)
                if len(self.erp_dates) <= 3
                else (f"{self.erp_dates[0]}..{self.erp_dates[-1]}")
            )
            lines.append(f"  erp: {len(self.erp_dates)} file sets ({rows}) for {dates}")
        if self.marketing_dates:
            lines.append(
                f"  marketing: {len(self.marketing_dates)} files, {self.marketing_rows} email events for "
                f"{self.marketing_dates[0]}..{self.marketing_dates[-1]}"
            )
        for name, rows in self.ground_truth.items():
            lines.append(f"  ground truth {name}: {rows} rows")
        return "\n".join(lines)


class Sandbox:
    """The simulated company's source systems, delivered as they would look the morning after a day."""

    def __init__(
        self,
        config: SandboxConfig,
        crm_admin_dsn: str,
        landing_dir: Path,
        ground_truth_dir: Path,
        contact_center_dir: Path | None = None,
    ) -> None:
        """contact_center_dir: the contact-centre API's store (default: `contact_center_api/` beside landing_dir)."""
        self.config = config
        self.world = World(config)
        self.crm = CrmDatabase(crm_admin_dsn)
        self.landing_dir = Path(landing_dir)
        self.ground_truth_dir = Path(ground_truth_dir)
        self.contact_center = contact_center.InteractionStore(
            Path(contact_center_dir) if contact_center_dir else contact_center.default_store_dir(self.landing_dir)
        )
        self._erp: erp.ErpFiles | None = None
        self._marketing: marketing.MarketingExports | None = None

    @property
    def erp(self) -> erp.ErpFiles:
        if self._erp is None:
            self._erp = erp.ErpFiles(self.world.population, self.landing_dir)
        return self._erp

    @property
    def marketing(self) -> marketing.MarketingExports:
        if self._marketing is None:
            self._marketing = marketing.MarketingExports(self.world.population, self.landing_dir)
        return self._marketing

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
        cce_state = self.contact_center.state()
        if cce_state is not None and cce_state.fingerprint != cfg.fingerprint():
            raise SandboxError(f"contact-centre store {self.contact_center.path} was filled by another sandbox config")
        if cce_state is not None and cce_state.delivered_through > day:
            raise SandboxError(f"contact centre already delivered through {cce_state.delivered_through}; not {day}")
        mdm_done = set(mdm.delivered_dates(self.landing_dir))
        logistics_done = set(logistics.delivered_dates(self.landing_dir))
        erp_done, marketing_done = erp.delivered_dates(self.landing_dir), marketing.delivered_dates(self.landing_dir)
        for system, done in (
            ("mdm", mdm_done),
            ("logistics", logistics_done),
            ("erp", erp_done),
            ("marketing", marketing_done),
        ):
            if any(d > day for d in done):
                raise SandboxError(f"{system} files already exist for dates after {day}; cannot go back")
        report = DeliveryReport(day)
        wanted = [cfg.start_date + timedelta(days=i) for i in range((day - cfg.start_date).days + 1)]
        missing = [d for d in wanted if d not in web_done]
        mdm_missing = [d for d in wanted if d not in mdm_done]
        logistics_missing = [d for d in wanted if d not in logistics_done]
        cce_current = cce_state is not None and cce_state.delivered_through == day
        if (
            state is not None
            and state.delivered_through == day
            and not missing
            and not mdm_missing
            and not logistics_missing
            and cce_current
            and not erp.pending(cfg, self.landing_dir, day)
            and not marketing.pending(cfg, self.landing_dir, day)
            and self._ground_truth_current(day)
        ):
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
        # ERP orders read the plans' payment attempts and the shipments' scans: build them before both are released.
        erp_days = [self.world.erp(p) for p in plan_days]
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

        try:
            report.cce_versions, report.cce_interactions = contact_center.deliver(
                self.world, self.contact_center, day, crm_cutoff
            )
        except contact_center.DeliveryRefused as exc:
            raise SandboxError(str(exc)) from None

        # MDM: one full snapshot per business date, from the population alone.
        for d in mdm_missing:
            report.mdm_records += mdm.write_snapshot(self.world.mdm, d, self.landing_dir)
            report.mdm_dates.append(d)
            _spot_check_mdm(self.landing_dir, d, strict=cfg.rate("mdm_truncated_snapshot") == 0)
        # Logistics: every part of each UTC upload date; rows come from the shipments of all earlier orders.
        report.logistics_rows = dict.fromkeys(logistics.ENTITIES, 0)
        for d in logistics_missing:
            days = [ld for p in self.world.plan_days_through(d) for ld in self.world.logistics_days(p)]
            parts, rows = logistics.write_upload_day(pop, days, self.world.logistics_stock, d, self.landing_dir)
            report.logistics_parts += parts
            report.logistics_rows = {k: report.logistics_rows[k] + rows[k] for k in rows}
            report.logistics_dates.append(d)
            _spot_check_logistics(self.landing_dir, d)
            for p in self.world.plan_days_through(d):
                self.world.release_logistics(p, self.web_cutoff_ms(d))
        logistics_days = [ld for p in plan_days for ld in self.world.logistics_days(p)]
        # ERP: each business date's file set as it stands after this night (late, replaced or cut short).
        report.erp_dates, report.erp_rows = self.erp.deliver(erp_days, day)
        for d in report.erp_dates:
            _spot_check_erp(self.landing_dir, d)
        # Marketing: one export per London day, never rewritten.
        report.marketing_dates, report.marketing_rows = self.marketing.deliver(day)
        for d in report.marketing_dates:
            _spot_check_marketing(self.landing_dir, d)

        go_live = utc_midnight_ms(cfg.start_date)
        web_quirks = pd.concat([self.world.web_quirks(d) for d in plan_days], ignore_index=True)
        delivered = (web_quirks["received_ms"] >= go_live) & (web_quirks["received_ms"] < web_cutoff)
        quirks = pd.concat(
            [
                pd.DataFrame(crm.quirk_records(pop, frames, crm_cutoff), columns=web_analytics.QUIRK_COLUMNS),
                web_quirks.loc[delivered, web_analytics.QUIRK_COLUMNS],
                contact_center.quirk_frame(self.world, day, crm_cutoff),
                mdm.quirk_frame(pop, self.world.mdm, cfg.start_date, day),
                logistics.quirk_frame(pop, logistics_days, self.world.logistics_stock, go_live, web_cutoff),
                self.erp.quirk_frame(erp_days, day),
                self.marketing.quirk_frame(day),
            ],
            ignore_index=True,
        )
        for d in plan_days:
            self.world.release_web(d, web_cutoff)
        report.ground_truth = ground_truth.write(
            self.ground_truth_dir,
            cfg,
            pop,
            plans,
            frames["contact"],
            quirks,
            day.isoformat(),
            crm_cutoff,
            web_cutoff,
            extra_identities=[
                contact_center.identity_frame(self.world, day, crm_cutoff),
                mdm.identities_frame(self.world.mdm, cfg.start_date, day),
                self.erp.identity_frame(erp_days, day),
                self.marketing.identity_frame(day),
            ],
            extra_files={
                "interactions.csv": contact_center.interactions_frame(self.world, day, crm_cutoff),
                "golden_records.csv": mdm.golden_records_frame(pop, self.world.mdm, cfg.start_date, day),
                "shipments.csv": logistics.shipments_frame(pop, logistics_days, go_live, web_cutoff),
                "erp_orders.csv": self.erp.orders_frame(erp_days, crm_cutoff),
                "payments.csv": self.erp.payments_frame(erp_days, crm_cutoff),
                "erp_file_sets.csv": self.erp.file_sets_frame(day),
                "campaigns.csv": self.marketing.campaigns_frame(day),
                "consent_breaches.csv": self.marketing.breaches_frame(day),
            },
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


def _spot_check_mdm(landing_dir: Path, day: date, strict: bool) -> None:
    """The first records of the snapshot validate, and its trailer counts its records (unless truncation is on)."""
    entity = load_contract("mdm").entities["golden_customer"]
    records, last = 0, None
    with gzip.open(landing_dir / mdm.snapshot_path(day), "rt", encoding="utf-8") as fh:
        for line in fh:
            if records < SPOT_CHECK_LINES and not line.startswith('{"_trailer"'):
                entity.validate(json.loads(line))
            records += 1
            last = line
    trailer = json.loads(last).get("_trailer") if last else None
    if strict and (trailer is None or trailer["records"] != records - 1):
        raise ContractViolation(f"{mdm.snapshot_path(day)}: trailer {trailer} for {records - 1} records")


def _spot_check_logistics(landing_dir: Path, day: date) -> None:
    """Every part of the upload date has the contract's columns; its first rows validate."""
    import pyarrow.parquet as pq

    contract = load_contract("logistics")
    folder = landing_dir / logistics.SYSTEM_DIR / day.isoformat()
    for name in logistics.part_names():
        entity = contract.entities[name.rsplit("-", 1)[0]]
        table = pq.read_table(folder / name)
        if table.column_names != entity.column_names:
            raise ContractViolation(f"{name}: columns {table.column_names}, contract {entity.column_names}")
        for record in table.slice(0, SPOT_CHECK_LINES // 10).to_pylist():
            entity.validate(record)


def _csv_records(path: Path, encoding: str, limit: int) -> tuple[list[dict], list[str] | None]:
    """The first records of a CSV file and its header; an empty field is null (CSV cannot tell them apart)."""
    with open(path, newline="", encoding=encoding) as fh:
        reader = csv.DictReader(fh)
        out = []
        for record in reader:
            out.append({k: (v if v != "" else None) for k, v in record.items()})
            if len(out) >= limit:
                break
        return out, reader.fieldnames


def _spot_check_erp(landing_dir: Path, day: date) -> None:
    """A complete set (one with a manifest) starts with the BOM and the contract's header; its first rows validate."""
    contract = load_contract("erp")
    folder = erp.folder(landing_dir, day)
    if not (folder / erp.MANIFEST).exists():
        return  # an incomplete set (opt-in quirk): the pipeline must not load it, so nothing to hold it to
    for name in erp.FILES:
        entity = contract.entities[erp.ENTITY[name]]
        if not (folder / name).read_bytes().startswith(b"\xef\xbb\xbf"):
            raise ContractViolation(f"{folder / name}: no byte-order mark")
        records, header = _csv_records(folder / name, "utf-8-sig", SPOT_CHECK_LINES // 3)
        if header != entity.column_names:
            raise ContractViolation(f"{folder / name}: header {header}, contract {entity.column_names}")
        for record in records:
            entity.validate(record)


def _spot_check_marketing(landing_dir: Path, day: date) -> None:
    entity = load_contract("marketing").entities["email_events"]
    records, header = _csv_records(marketing.folder(landing_dir, day) / marketing.FILE_NAME, "utf-8", SPOT_CHECK_LINES)
    if header != entity.column_names:
        raise ContractViolation(f"marketing {day}: header {header}, contract {entity.column_names}")
    for record in records:
        entity.validate(record)
