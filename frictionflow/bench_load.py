"""`make bench-load`: the raw loader against a raw `COPY FROM STDIN` and pandas `to_sql`, same rows, same run.

For each delivery kind it writes a deterministic, realistic delivered file (contract shapes from
`contracts/*.yml`, with the duplicates and contract violations real deliveries carry) and times, in
rotation and in one throwaway database:

- loader: the project's path end to end: the project's reader for that delivery kind (file -> `Delivered`
  or `DeliveredColumns`) -> `load_batch` (validation, quarantine, dedupe, ledger, commit), into an empty
  raw table (a first load of the entity);
- raw COPY (text and binary): only a `COPY FROM STDIN` of the rows the loader ended up loading, taken
  with `COPY TO STDOUT` from its result and held in memory as bytes, into an identical empty table
  (same columns, types and indexes), and the commit; no reading, parsing, checking or deduplication;
- pandas: `read_json`/`read_csv`/`read_parquet` of the file, then `DataFrame.to_sql` (SQLAlchemy engine,
  default method, pandas creates the table); no checks, no dedupe;
- reader: iterating the project's reader alone, for where the loader's time goes.

Rows per second are delivered rows over seconds for every path, so ratios are ratios of times. Each is
the median of `repeats` runs; the machine is shared and noisy, so the ratios from one run matter more
than absolute figures. Peak memory: the loader runs alone in a fresh subprocess at the base size and
at `scale` times it; the child reports its own peak RSS (VmHWM), the server's memory not included.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import platform
import random
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
from psycopg import sql

from frictionflow.contracts import Entity, load_contract
from frictionflow.load import Batch, load_batch
from frictionflow.settings import PROJECT_ROOT, Settings

RESULTS_FILE = PROJECT_ROOT / "docs" / "benchmarks.md"
SECTION = "## Raw loader: rows per second against raw COPY and pandas `to_sql`"
INTERVAL_START = datetime(2026, 11, 22, tzinfo=UTC)
DUPLICATE_SHARE = 0.005  # at-least-once deliveries: a record delivered twice
VIOLATION_SHARE = 0.001  # records that break the contract (a value outside an enumeration)


@dataclass(frozen=True)
class Kind:
    name: str
    label: str
    system: str
    entity: str
    suffix: str
    write: Callable[[Path, int, int], None]  # (path, rows, seed)
    records: Callable[[Path, str, Entity], Iterable]  # the project's reader
    pandas_read: Callable[[Path], object]
    dedupe_key: tuple[str, ...]

    @property
    def contract_entity(self) -> Entity:
        return load_contract(self.system).entities[self.entity]


# ---------------------------------------------------------------------------------------------- files
def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _copies(rng: random.Random) -> int:
    return 2 if rng.random() < DUPLICATE_SHARE else 1


def write_web_events(path: Path, rows: int, seed: int) -> None:
    """An hourly web analytics drop: gzip JSON Lines as the collector writes them (sandbox shapes)."""
    rng = random.Random(seed)
    names = ["page_view"] * 8 + ["search", "product_view", "add_to_cart", "checkout_started", "login", "error_shown"]
    agents = [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
        "FrictionShop/7.4.1 (Android 15; Pixel 8)",
    ]
    start = int(INTERVAL_START.timestamp() * 1000)
    written = 0
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=6) as out:
        while written < rows:
            anonymous, session = _uuid(rng), _uuid(rng)
            platform_name = rng.choice(["web", "web", "ios", "android"])
            user = json.dumps(f"C{rng.randrange(10**10):010d}") if rng.random() < 0.4 else "null"
            agent, ip = json.dumps(rng.choice(agents)), f'"198.51.100.{rng.randrange(256)}"'
            for _ in range(rng.randint(3, 15)):
                received = start + written * 400 + rng.randrange(400)
                device = received - rng.randrange(5000)
                name = rng.choice(names)
                props = (
                    f'{{"query":"boots size {rng.randrange(3, 13)}","results_count":{rng.randrange(0, 40)}}}'
                    if name == "search"
                    else f'{{"sku":"SKU-{rng.randrange(10**5):05d}"}}'
                    if name in ("product_view", "add_to_cart")
                    else "{}"
                )
                shown = "windows_phone" if rng.random() < VIOLATION_SHARE else platform_name
                line = (
                    f'{{"event_id":"{_uuid(rng)}","event_name":"{name}","device_ts":"{_iso_ms(device)}+00:00",'
                    f'"received_at":"{_iso_ms(received)}Z","anonymous_id":"{anonymous}","user_id":{user},'
                    f'"session_id":"{session}","platform":"{shown}","page":"/p/{rng.randrange(5000)}",'
                    f'"referrer":null,"user_agent":{agent},"ip_address":{ip},"properties":{props}}}\n'
                )
                out.write(line * _copies(rng))
                written += 1
                if written == rows:
                    break


def _iso_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def write_sales_orders(path: Path, rows: int, seed: int) -> None:
    """ERP `sales_orders.csv`: UTF-8 with a byte-order mark, every field quoted, London times with offsets."""
    rng = random.Random(seed)
    entity = load_contract("erp").entities["sales_orders"]
    channels = ["web", "web", "app", "store", "phone", "marketplace"]
    statuses = ["created", "paid", "shipped", "delivered", "cancelled", "returned"]
    base = datetime(2026, 6, 1, tzinfo=UTC)
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out, quoting=csv.QUOTE_ALL)
        writer.writerow(entity.column_names)
        for n in range(rows):
            channel = "fax" if rng.random() < VIOLATION_SHARE else rng.choice(channels)
            ordered = base + timedelta(seconds=n * 30 + rng.randrange(30))
            changed = ordered + timedelta(minutes=rng.randrange(1, 600))
            row = [
                f"SO-2026-{n:08d}",
                "" if rng.random() < 0.15 else f"C{rng.randrange(10**10):010d}",
                _london(ordered),
                channel,
                f"ST-{rng.randrange(1, 80):03d}" if channel == "store" else "",
                rng.choice(statuses),
                "GBP" if rng.random() < 0.9 else "EUR",
                f"{rng.randrange(500, 250_000) / 100:.2f}",
                _london(changed),
            ]
            for _ in range(_copies(rng)):
                writer.writerow(row)


def _london(ts: datetime) -> str:
    """Europe/London with its offset (BST from the last Sunday of March to the last Sunday of October)."""
    summer = date(ts.year, 3, 25) <= ts.date() < date(ts.year, 10, 25)
    local = ts + timedelta(hours=1 if summer else 0)
    return local.strftime("%Y-%m-%dT%H:%M:%S") + ("+01:00" if summer else "+00:00")


def write_shipment_events(path: Path, rows: int, seed: int) -> None:
    """A logistics `shipment_events-NNN.parquet` part: snappy, row groups of 64k rows."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    entity = load_contract("logistics").entities["shipment_events"]
    statuses = np.array(["label_created", "picked", "dispatched", "in_transit", "out_for_delivery", "delivered"])
    reasons = np.array(["no_one_home", "address_issue", "weather", "capacity", "damaged"])
    depots = np.array([f"DEPOT-{i:02d}" for i in range(40)])
    rng = np.random.default_rng(seed)
    schema = pa.schema(
        [
            ("event_id", pa.string()),
            ("shipment_id", pa.string()),
            ("event_ts", pa.timestamp("us", "UTC")),
            ("status", pa.string()),
            ("location", pa.string()),
            ("reason", pa.string()),
        ]
    )
    assert schema.names == entity.column_names
    group = 65_536
    start = int(INTERVAL_START.timestamp() * 1_000_000)
    with pq.ParquetWriter(path, schema, compression="snappy") as out:
        for first in range(0, rows, group):
            n = min(group, rows - first)
            index = np.arange(first, first + n)
            status = statuses[rng.integers(0, len(statuses), n)].astype(object)
            failed = rng.random(n) < 0.03
            status[failed] = "delivery_failed"
            status[rng.random(n) < VIOLATION_SHARE] = "teleported"
            reason = np.where(failed, reasons[rng.integers(0, len(reasons), n)], None)
            location = np.where(rng.random(n) < 0.1, None, depots[rng.integers(0, len(depots), n)])
            columns = {
                "event_id": [f"EV-{seed:04d}-{i:010d}" for i in index.tolist()],
                "shipment_id": [f"SH-{i // 6:09d}" for i in index.tolist()],
                "event_ts": pa.array(start + index * 50_000 + rng.integers(0, 50_000, n), pa.int64()).cast(
                    pa.timestamp("us", "UTC")
                ),
                "status": status.tolist(),
                "location": location.tolist(),
                "reason": reason.tolist(),
            }
            table = pa.table(columns, schema=schema)
            repeat = np.flatnonzero(rng.random(n) < DUPLICATE_SHARE)
            if len(repeat):  # the same event delivered twice, as it happens across parts
                table = pa.concat_tables([table, table.take(repeat)])
            out.write_table(table, row_group_size=group)


# ---------------------------------------------------------------------------------------------- readers
def _jsonl_records(path: Path, location: str, entity: Entity) -> Iterable:
    from frictionflow.extract.hourly_files import read_jsonl_gz

    return read_jsonl_gz(path, location)


def _csv_records(path: Path, location: str, entity: Entity) -> Iterable:
    from frictionflow.extract.csv_records import CsvTotals, read_csv

    return read_csv(path, location, entity.column_names, CsvTotals(), amount_column="total_amount")


def _csv_columns(path: Path, location: str, entity: Entity) -> Iterable:
    from frictionflow.extract.columnar import read_csv_columns
    from frictionflow.extract.csv_records import CsvTotals

    return read_csv_columns(path, location, entity.column_names, CsvTotals(), amount_column="total_amount")


def _parquet_records(path: Path, location: str, entity: Entity) -> Iterable:
    from frictionflow.extract.parquet_parts import read_parquet

    return read_parquet(path, location, batch_rows=10_000)


def _parquet_columns(path: Path, location: str, entity: Entity) -> Iterable:
    from frictionflow.extract.columnar import read_parquet_columns

    return read_parquet_columns(path, location, batch_rows=10_000)


def _pandas_jsonl(path: Path):
    import pandas as pd

    frame = pd.read_json(path, lines=True, compression="gzip")
    frame["properties"] = frame["properties"].map(json.dumps)  # a dict column does not go through to_sql
    return frame


def _pandas_csv(path: Path):
    import pandas as pd

    return pd.read_csv(path, encoding="utf-8-sig")


def _pandas_parquet(path: Path):
    import pandas as pd

    return pd.read_parquet(path)


KINDS = {
    k.name: k
    for k in (
        Kind(
            "web_jsonl",
            "web events, hourly gzip JSON Lines (`hourly_files.read_jsonl_gz`)",
            "web_analytics",
            "event",
            ".jsonl.gz",
            write_web_events,
            _jsonl_records,
            _pandas_jsonl,
            ("event_id",),
        ),
        Kind(
            "erp_csv",
            "ERP sales_orders, CSV with BOM, all fields quoted (`csv_records.read_csv`)",
            "erp",
            "sales_orders",
            ".csv",
            write_sales_orders,
            _csv_records,
            _pandas_csv,
            ("order_no", "changed_at"),
        ),
        Kind(
            "erp_csv_columns",
            "same CSV file, columnar (`columnar.read_csv_columns`, vectorised checks)",
            "erp",
            "sales_orders",
            ".csv",
            write_sales_orders,
            _csv_columns,
            _pandas_csv,
            ("order_no", "changed_at"),
        ),
        Kind(
            "logistics_parquet",
            "logistics shipment_events, Parquet per record (`parquet_parts.read_parquet`)",
            "logistics",
            "shipment_events",
            ".parquet",
            write_shipment_events,
            _parquet_records,
            _pandas_parquet,
            ("event_id",),
        ),
        Kind(
            "logistics_parquet_columns",
            "same Parquet part, columnar (`columnar.read_parquet_columns`, vectorised checks)",
            "logistics",
            "shipment_events",
            ".parquet",
            write_shipment_events,
            _parquet_columns,
            _pandas_parquet,
            ("event_id",),
        ),
    )
}


# ---------------------------------------------------------------------------------------------- timing
@dataclass
class Result:
    kind: Kind
    rows: int
    received: int
    loaded: int
    quarantined: int
    duplicates: int
    seconds: dict[str, list[float]]
    peak_rss_mb: tuple[float, float] | None = None
    scaled_rows_per_s: float | None = None

    def median(self, path: str) -> float:
        return statistics.median(self.seconds[path])

    def rate(self, path: str) -> float:
        return self.received / self.median(path)


def _batch(kind: Kind) -> Batch:
    return Batch(
        batch_id=f"bench.{kind.name}",
        entity=kind.contract_entity,
        interval_start=INTERVAL_START,
        interval_end=INTERVAL_START + timedelta(days=1),
        loaded_at=INTERVAL_START + timedelta(days=1, hours=2),
        dedupe_key=kind.dedupe_key,
    )


def _reset(conn: psycopg.Connection, entity: Entity) -> None:
    conn.execute(sql.SQL("truncate {}, meta.quarantine, meta.load_ledger").format(sql.SQL(entity.qualified_raw_table)))
    conn.commit()


def _load(conn: psycopg.Connection, kind: Kind, path: Path):
    entry = load_batch(conn, _batch(kind), kind.records(path, path.name, kind.contract_entity))
    conn.commit()
    return entry


def _copy_out(conn: psycopg.Connection, table: str, fmt: str) -> bytes:
    out = io.BytesIO()
    with conn.cursor().copy(sql.SQL("copy {} to stdout (format {})").format(sql.SQL(table), sql.SQL(fmt))) as copy:
        for data in copy:
            out.write(data)
    return out.getvalue()


def _copy_in(conn: psycopg.Connection, table: str, fmt: str, data: bytes) -> None:
    view = memoryview(data)
    with conn.cursor().copy(sql.SQL("copy {} from stdin (format {})").format(sql.SQL(table), sql.SQL(fmt))) as copy:
        for at in range(0, len(view), 1 << 20):
            copy.write(view[at : at + (1 << 20)])
    conn.commit()


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def measure(dsn: str, kind: Kind, path: Path, rows: int, repeats: int) -> Result:
    import sqlalchemy

    entity = kind.contract_entity
    engine = sqlalchemy.create_engine("postgresql+psycopg://" + dsn.split("://", 1)[1])
    copy_table, pandas_table = f"bench.{kind.name}_copy", f"{kind.name}_pandas"
    with psycopg.connect(dsn) as conn:
        conn.execute("create schema if not exists bench")
        _reset(conn, entity)
        entry = _load(conn, kind, path)  # warm-up; its result is what the raw COPY baseline loads
        loaded = {fmt: _copy_out(conn, entity.qualified_raw_table, fmt) for fmt in ("text", "binary")}
        conn.execute(sql.SQL("drop table if exists {}").format(sql.SQL(copy_table)))
        conn.execute(
            sql.SQL("create table {} (like {} including all)").format(
                sql.SQL(copy_table), sql.SQL(entity.qualified_raw_table)
            )
        )
        conn.commit()

        def loader():
            _reset(conn, entity)
            return _timed(lambda: _load(conn, kind, path))

        def raw_copy(fmt: str) -> Callable[[], float]:
            def run():
                conn.execute(sql.SQL("truncate {}").format(sql.SQL(copy_table)))
                conn.commit()
                return _timed(lambda: _copy_in(conn, copy_table, fmt, loaded[fmt]))

            return run

        def to_sql():
            conn.execute(sql.SQL("drop table if exists bench.{}").format(sql.Identifier(pandas_table)))
            conn.commit()
            return _timed(lambda: kind.pandas_read(path).to_sql(pandas_table, engine, schema="bench", index=False))

        def reader():
            return _timed(lambda: sum(1 for _ in kind.records(path, path.name, entity)))

        paths = {
            "copy_text": raw_copy("text"),
            "copy_binary": raw_copy("binary"),
            "to_sql": to_sql,
            "loader": loader,
            "reader": reader,
        }
        seconds: dict[str, list[float]] = {name: [] for name in paths}
        order = list(paths)
        for r in range(repeats):
            for name in order[r % len(order) :] + order[: r % len(order)]:  # rotate: no path always first
                seconds[name].append(paths[name]())
        _reset(conn, entity)
        conn.execute(sql.SQL("drop table {}").format(sql.SQL(copy_table)))
        conn.execute(sql.SQL("drop table bench.{}").format(sql.Identifier(pandas_table)))
        conn.commit()
    engine.dispose()
    return Result(
        kind,
        rows=rows,
        received=entry.received,
        loaded=entry.loaded,
        quarantined=entry.quarantined,
        duplicates=entry.duplicates_removed,
        seconds=seconds,
    )


def child_peak_rss(dsn: str, kind: Kind, path: Path) -> tuple[float, float, int]:
    """(peak RSS in MB, seconds, rows received) of one load in a fresh interpreter."""
    result = subprocess.run(
        [sys.executable, "-m", "frictionflow.bench_load", "--child", kind.name, str(path), dsn],
        check=True,
        capture_output=True,
        text=True,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    return report["peak_rss_mb"], report["seconds"], report["received"]


def _child(kind_name: str, path: str, dsn: str) -> None:
    kind = KINDS[kind_name]
    with psycopg.connect(dsn) as conn:
        _reset(conn, kind.contract_entity)
        started = time.perf_counter()
        entry = _load(conn, kind, Path(path))
        seconds = time.perf_counter() - started
        _reset(conn, kind.contract_entity)
    print(json.dumps({"peak_rss_mb": _peak_rss_mb(), "seconds": seconds, "received": entry.received}))


def _peak_rss_mb() -> float:
    """This process's peak resident set. Linux's ru_maxrss survives exec, so a child started from a large
    parent would report the parent's peak: read the high-water mark of its own memory map instead."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------------------------------------- the run
def run(
    settings: Settings,
    rows: int = 200_000,
    scale: int = 10,
    repeats: int = 3,
    kinds: list[str] | None = None,
    work_dir: Path | None = None,
    log: Callable[[str], None] = print,
) -> str:
    """Measure every kind in a throwaway database on the project's warehouse; returns the report section."""
    from frictionflow.warehouse import embedded
    from frictionflow.warehouse.bootstrap import bootstrap_warehouse, drop_database, ensure_database

    embedded.start(settings)
    database = f"ff_bench_load_{os.getpid()}"
    ensure_database(settings.maintenance_dsn, database)
    dsn = settings.database_dsn(database)
    results = []
    with tempfile.TemporaryDirectory(prefix="ff_bench_load_", dir=work_dir) as tmp:
        try:
            bootstrap_warehouse(dsn, secrets.token_urlsafe(16))
            files: dict[tuple[str, int], Path] = {}
            for name in kinds or list(KINDS):
                kind = KINDS[name]
                sized = {}
                for size in (rows, rows * scale):
                    key = (kind.write.__name__, size)
                    if key not in files:
                        files[key] = Path(tmp) / f"{kind.system}-{kind.entity}-{size}{kind.suffix}"
                        log(f"bench-load: writing {files[key].name} ...")
                        kind.write(files[key], size, 42)
                    sized[size] = files[key]
                log(f"bench-load: {name}: {repeats} rounds at {rows:,} rows ...")
                result = measure(dsn, kind, sized[rows], rows, repeats)
                log(f"bench-load: {name}: peak memory at {rows:,} and {rows * scale:,} rows ...")
                small, _, _ = child_peak_rss(dsn, kind, sized[rows])
                large, seconds, received = child_peak_rss(dsn, kind, sized[rows * scale])
                result.peak_rss_mb = (small, large)
                result.scaled_rows_per_s = received / seconds
                results.append(result)
                log(
                    f"bench-load: {name}: loader {result.rate('loader'):,.0f} rows/s = "
                    f"{result.median('copy_text') / result.median('loader'):.2f}x COPY text"
                )
        finally:
            drop_database(settings.maintenance_dsn, database)
    return report(results, rows, scale, repeats, _server_version(settings))


def _server_version(settings: Settings) -> str:
    with psycopg.connect(settings.maintenance_dsn) as conn:
        return conn.execute("show server_version").fetchone()[0].split()[0]


def report(results: list[Result], rows: int, scale: int, repeats: int, server: str) -> str:
    import pandas
    import pyarrow

    lines = [
        SECTION,
        "",
        f"Measured {datetime.now():%Y-%m-%d} by `make bench-load` on this machine: {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, PostgreSQL {server} (the project's warehouse, a throwaway "
        f"database), psycopg {psycopg.__version__}, pandas {pandas.__version__}, pyarrow {pyarrow.__version__}. "
        f"{rows:,} records per file (plus {DUPLICATE_SHARE:.1%} delivered twice, {VIOLATION_SHARE:.1%} breaking "
        f"the contract); median of {repeats} runs taken in rotation; rows/s are delivered records over seconds.",
        "",
        "| delivery | raw COPY text rows/s | raw COPY binary rows/s | `to_sql` rows/s | loader rows/s "
        "| loader / COPY text | loader / COPY binary | loader / `to_sql` | reader alone rows/s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        rates = " | ".join(f"{r.rate(p):,.0f}" for p in ("copy_text", "copy_binary", "to_sql", "loader"))
        ratios = " | ".join(f"{r.median(p) / r.median('loader'):.2f}" for p in ("copy_text", "copy_binary", "to_sql"))
        lines.append(f"| {r.kind.label} | {rates} | {ratios} | {r.rate('reader'):,.0f} |")
    lines += [
        "",
        f"Peak memory of a load task (the loader alone in a fresh process; {rows:,} vs {rows * scale:,} records):",
        "",
        f"| delivery | peak RSS at 1x (MB) | peak RSS at {scale}x (MB) | {scale}x / 1x | loader rows/s at {scale}x |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        small, large = r.peak_rss_mb or (0.0, 0.0)
        lines.append(
            f"| {r.kind.label} | {small:.0f} | {large:.0f} | {large / small:.2f} | {r.scaled_rows_per_s or 0:,.0f} |"
        )
    lines += [
        "",
        "Ledger of each 1x load (received = loaded + quarantined + duplicates): "
        + "; ".join(
            f"{r.kind.name} {r.received:,} = {r.loaded:,} + {r.quarantined:,} + {r.duplicates:,}" for r in results
        )
        + ".",
        "",
        "What each figure includes:",
        "- **loader**: the project's reader for the delivery kind and `load_batch` end to end: reading and "
        "parsing the file, contract validation, quarantine, COPY, duplicate removal, the ledger, the commit; "
        "into an empty raw table (a first load; with other batches in the table the duplicate probe adds an "
        "index lookup per row).",
        "- **raw COPY**: only `COPY FROM STDIN` of exactly the rows the loader loaded (taken from its result with "
        "`COPY TO STDOUT`, held in memory), into an empty table with the raw table's columns and indexes, plus "
        "the commit. The floor: no file reading, no parsing, no checks, no dedupe.",
        "- **`to_sql`**: pandas reads the file and `DataFrame.to_sql` inserts every row (SQLAlchemy engine on "
        "psycopg 3, default method, pandas creates the table; web events' `properties` serialised to JSON "
        "first); no validation, no quarantine, no dedupe, no ledger.",
        "- **reader alone**: iterating the project's reader over the file without loading anything.",
        "- **peak RSS**: the high-water mark (VmHWM) of a fresh child process that imports the project and runs "
        "one load; the PostgreSQL server's memory is not included.",
        "",
        "The nightly extractors use the per-record readers for JSON Lines (`hourly_files`) and CSV (`file_sets` "
        "via `csv_records`: Arrow's CSV parser accepts a stray quote the contract's RFC 4180 check rejects) and "
        "the columnar reader for Parquet (`parquet_parts`); the columnar rows read the same files with "
        "`extract/columnar.py` into "
        "`DeliveredColumns`, whose rows the loader checks with Arrow kernels (rows they cannot certify go through "
        "the per-record checks, so rows loaded and quarantine reasons are identical). With per-record readers "
        "the loader is bound by Python work per record (parsing in the reader, checking, COPY formatting); "
        "the columnar rows are bound by the server's COPY.",
    ]
    return "\n".join(lines)


def write_section(text: str, path: Path = RESULTS_FILE) -> None:
    """Replace the `## ` sections `text` holds in `path` (at the first one's place), or append them; other
    sections are kept."""
    headings = {line for line in text.splitlines() if line.startswith("## ")}
    current = path.read_text() if path.exists() else "# Benchmarks\n"
    blocks, block = [], []
    for line in current.splitlines():
        if line.startswith("## ") and block:
            blocks.append(block)
            block = []
        block.append(line)
    blocks.append(block)
    body = [b for b in blocks if b[0] not in headings]
    replaced = ["\n".join(b).rstrip() + "\n" for b in body]
    first = next((i for i, b in enumerate(blocks) if b[0] in headings), None)
    at = None if first is None else sum(1 for b in blocks[:first] if b[0] not in headings)
    new = text.rstrip() + "\n"
    if at is None:
        replaced.append(new)
    else:
        replaced.insert(at, new)
    path.write_text("\n".join(replaced))


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit("usage: python -m frictionflow bench-load (this module's own entry point is for its child runs)")
