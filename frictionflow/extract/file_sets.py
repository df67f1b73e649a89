"""ERP file sets: `erp/<YYYY-MM-DD>/<entity>.csv` plus `_manifest.json`, written last.

How the contract's rules are kept:
- No manifest: the set is incomplete and nothing of it is loaded (the DAG's sensor waits for the
  manifest up to a deadline; this module refuses a set without one).
- Before ANY file is loaded, the whole set is checked against the manifest: every listed (and every
  contracted) file present, its record count (RFC 4180 records, header excluded), sha256, and the amount
  sum of sales_orders.csv and payments.csv. Any mismatch fails the task with one line per problem naming
  the file and the check, records each problem in `meta.delivery_incidents`, and loads nothing of the set.
  Each ERP task (one per entity) checks the whole set itself: a set is a few files of tens of thousands of
  rows, and no task may load from a set that another file of it disqualifies.
- While a file loads, its sha256 and record count are computed again: a file replaced between the check
  and the load (a re-delivery in progress) rolls the load back instead of loading a mix.
- Re-deliveries: a corrected set for a past date carries a higher manifest revision. Each night looks
  `redelivery_lookback_days` back and reloads every date loaded before at a lower revision, into the same
  batch id (`erp.<entity>.<date>`, replace="batch"), so the earlier revision's rows are replaced. Each
  load is a row in `meta.deliveries` (revision, manifest sha256, cause "nightly" or "redelivery revision
  N", the night that loaded it): a restatement can be traced. A reload is stamped with the data interval
  of the night that loaded it, so tonight's reconcile and raw gate cover it; the business date it restates
  is in the batch id.
- Re-running a night reloads its own date (replacing its batch) and skips past dates already at their
  manifest's revision: the warehouse ends up the same.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import psycopg

from frictionflow.extract.csv_records import CsvTotals, read_csv, scan_csv
from frictionflow.extract.delivery_state import LoadedFile, loaded_revisions, record_incident, record_loaded_file
from frictionflow.load import Batch, LedgerEntry, load_batch
from frictionflow.nightly import DeliveryError, business_date, day_batch_id
from frictionflow.sources import SourceConfig

INCIDENT = "file_set_rejected"


@dataclass(frozen=True)
class Manifest:
    folder: str  # e.g. "erp/2026-11-21/", relative to the landing folder
    business_date: date
    revision: int
    files: dict[str, dict[str, Any]]
    sha256: str  # of the manifest file itself: identifies the revision that was loaded


class FileSetRejected(DeliveryError):
    """A set that failed its control checks; `problems` are (entity or file, message) pairs."""

    def __init__(self, folder: str, problems: list[tuple[str, str]]) -> None:
        self.folder = folder
        self.problems = problems
        lines = "\n".join(f"  {message}" for _, message in problems)
        super().__init__(f"{folder}: file set rejected, nothing of it loaded:\n{lines}")


def folder_of(source: SourceConfig, day: date) -> str:
    return source.options["path"].format(business_date=day.isoformat())


def file_name(source: SourceConfig, entity: str) -> str:
    return source.options.get("file", "{entity}.csv").format(entity=entity)


def read_manifest(landing_dir: Path, source: SourceConfig, day: date) -> Manifest | None:
    """The date's manifest, None when there is none yet (the set is incomplete)."""
    folder = folder_of(source, day)
    location = folder + source.options.get("manifest", "_manifest.json")
    path = landing_dir / location
    if not path.is_file():
        return None
    raw = path.read_bytes()
    try:
        body = json.loads(raw)
        return Manifest(
            folder=folder,
            business_date=date.fromisoformat(body["business_date"]),
            revision=int(body["revision"]),
            files={str(name): dict(spec) for name, spec in body["files"].items()},
            sha256=hashlib.sha256(raw).hexdigest(),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise FileSetRejected(folder, [("_manifest", f"{location}: not a valid manifest ({exc!r})")]) from None


def verify_file_set(landing_dir: Path, source: SourceConfig, day: date) -> Manifest:
    """The set's manifest once every check passed; FileSetRejected listing every failed check otherwise."""
    folder = folder_of(source, day)
    manifest = read_manifest(landing_dir, source, day)
    if manifest is None:
        missing = folder + source.options.get("manifest", "_manifest.json")
        raise FileSetRejected(folder, [("_manifest", f"{missing} not delivered: the set is incomplete")])
    problems: list[tuple[str, str]] = []
    if manifest.business_date != day:
        problems.append(("_manifest", f"{folder}: business_date {manifest.business_date} in manifest, folder is {day}"))
    by_file = {file_name(source, e): e for e in source.entities}
    for name, entity in by_file.items():
        if name not in manifest.files:
            problems.append((entity, f"{folder}{name}: not listed in the manifest"))
    for name, expected in sorted(manifest.files.items()):
        entity = by_file.get(name, name)
        location = folder + name
        path = landing_dir / location
        if not path.is_file():
            problems.append((entity, f"{location}: listed in the manifest, not delivered"))
            continue
        columns = source.entity(entity).column_names if entity in source.entities else ()
        amount_column = source.options.get("amount_sum_columns", {}).get(entity)
        try:
            totals = scan_csv(path, location, columns, amount_column)
        except DeliveryError as exc:
            problems.append((entity, str(exc)))
            continue
        problems += [(entity, f"{location}: {m}") for m in compare_totals(expected, totals, amount_column)]
    if problems:
        raise FileSetRejected(folder, problems)
    return manifest


def compare_totals(expected: dict[str, Any], totals: CsvTotals, amount_column: str | None) -> list[str]:
    """What disagrees between a manifest entry and a file's totals: "<check> <manifest> in manifest, <file> in file"."""
    found = []
    if _as_int(expected.get("rows")) != totals.records:
        found.append(f"rows {expected.get('rows')} in manifest, {totals.records} in file")
    if str(expected.get("sha256", "")).lower() != totals.sha256:
        found.append(f"sha256 {expected.get('sha256')} in manifest, {totals.sha256} in file")
    if amount_column:
        if "amount_sum" not in expected:
            found.append(f"amount_sum of {amount_column} missing from the manifest")
        elif _as_decimal(expected["amount_sum"]) != totals.amount_sum or totals.unparsable_amounts:
            unparsable = f" (+ {totals.unparsable_amounts} unparsable)" if totals.unparsable_amounts else ""
            found.append(f"amount_sum {expected['amount_sum']} in manifest, {totals.amount_sum}{unparsable} in file")
    return found


def pull_file_set(
    warehouse_dsn: str,
    landing_dir: Path,
    source: SourceConfig,
    entity_name: str,
    interval_start: datetime,
    interval_end: datetime,
    loaded_at: datetime,
) -> list[LedgerEntry]:
    """Load the entity's file of tonight's set, then of every re-delivered set in the lookback window.

    Sets are checked and loaded independently: a rejected re-delivery does not hold back tonight's set,
    but the task still fails afterwards, naming every rejected file and check.
    """
    night = business_date(interval_start)
    lookback = int(source.options.get("redelivery_lookback_days", 14))
    with psycopg.connect(warehouse_dsn) as conn:
        loaded = loaded_revisions(conn, source.system, entity_name, night - timedelta(days=lookback), night)
    due: list[date] = [night]
    rejected: list[FileSetRejected] = []
    for day in sorted(d for d in loaded if d != night):
        try:
            manifest = read_manifest(landing_dir, source, day)
        except FileSetRejected as exc:
            rejected.append(exc)
            continue
        if manifest is not None and manifest.revision > loaded[day]:
            due.append(day)

    entries = []
    for day in due:
        try:
            manifest = verify_file_set(landing_dir, source, day)
        except FileSetRejected as exc:
            rejected.append(exc)
            continue
        earlier = loaded.get(day)
        cause = (
            "nightly" if earlier is None or earlier >= manifest.revision else f"redelivery revision {manifest.revision}"
        )
        entries.append(
            _load_file(
                warehouse_dsn,
                landing_dir,
                source,
                entity_name,
                manifest,
                interval_start,
                interval_end,
                loaded_at,
                cause,
            )
        )
    if rejected:
        with psycopg.connect(warehouse_dsn) as conn:
            for exc in rejected:
                for entity, message in sorted(exc.problems):
                    record_incident(conn, source.system, entity, interval_start, INCIDENT, message)
        raise DeliveryError("\n".join(str(exc) for exc in rejected))
    return entries


def _load_file(
    warehouse_dsn: str,
    landing_dir: Path,
    source: SourceConfig,
    entity_name: str,
    manifest: Manifest,
    interval_start: datetime,
    interval_end: datetime,
    loaded_at: datetime,
    cause: str,
) -> LedgerEntry:
    entity = source.entity(entity_name)
    name = file_name(source, entity_name)
    location = manifest.folder + name
    amount_column = source.options.get("amount_sum_columns", {}).get(entity_name)
    bid = day_batch_id(source, entity_name, manifest.business_date)

    def records():
        totals = CsvTotals()
        yield from read_csv(landing_dir / location, location, entity.column_names, totals, amount_column)
        changed = compare_totals(manifest.files[name], totals, amount_column)
        if changed:  # raised inside load_batch: its transaction rolls back
            raise DeliveryError(f"{location} changed after its checks ({'; '.join(changed)}): nothing loaded")

    batch = Batch(
        batch_id=bid,
        entity=entity,
        interval_start=interval_start,
        interval_end=interval_end,
        loaded_at=loaded_at,
        dedupe_key=source.dedupe_key(entity_name),
        replace="batch",
    )
    loaded = LoadedFile(
        source.system, entity_name, manifest.business_date, location, manifest.revision, manifest.sha256, bid, cause
    )
    with psycopg.connect(warehouse_dsn) as conn, conn.transaction():
        entry = load_batch(conn, batch, records())
        record_loaded_file(conn, loaded, interval_start, loaded_at)
    return entry


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _as_decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None
