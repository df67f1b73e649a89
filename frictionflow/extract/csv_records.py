"""Delivered CSV files (ERP file sets, the marketing export), streamed record by record.

- RFC 4180: the `csv` module parses quoted commas, doubled quotes and quoted newlines; a record spanning
  several lines is ONE record, so record numbers (header excluded) are what manifests count, and a
  quarantined record is named by its record number (the reason adds the line where that helps).
- A UTF-8 byte-order mark is stripped (`utf-8-sig`): the first column is `customer_no`, not
  "\\ufeffcustomer_no"; files without one read the same.
- Streaming: the file is read in buffered chunks; its sha256, record count and an amount sum are
  computed on the way, so checking a file against its manifest reads it once and never holds it whole.
- An empty field is a null (CSV has no other way to say it); the contract then decides whether null is
  allowed. A record with the wrong number of fields is quarantined; text that is not CSV at all (a stray
  quote) or not UTF-8 fails the delivery, naming the file and line.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from frictionflow.load import Delivered
from frictionflow.nightly import DeliveryError


@dataclass
class CsvTotals:
    """Control totals of one file, filled in while its records stream past (complete once exhausted)."""

    records: int = 0
    sha256: str | None = None
    amount_sum: Decimal = field(default_factory=Decimal)
    unparsable_amounts: int = 0


class _HashingReader(io.RawIOBase):
    """Raw bytes of the file, hashed as they are read."""

    def __init__(self, raw: io.BufferedIOBase) -> None:
        self._raw = raw
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self._raw.readinto(buffer)
        if n:
            self.digest.update(memoryview(buffer)[:n])
        return n


def read_csv(
    path: Path,
    location: str,
    required_columns: Sequence[str],
    totals: CsvTotals | None = None,
    amount_column: str | None = None,
) -> Iterator[Delivered]:
    """Every record of the file as a `Delivered`; `totals` holds the file's control totals once exhausted."""
    totals = totals if totals is not None else CsvTotals()
    with path.open("rb", buffering=0) as raw:
        hashing = _HashingReader(raw)
        text = io.TextIOWrapper(io.BufferedReader(hashing, 1 << 16), encoding="utf-8-sig", newline="")
        reader = csv.reader(text, strict=True)
        try:
            header = next(reader, None)
            if header is None:
                raise DeliveryError(f"{location}: empty file, not even a header line")
            _check_header(location, header, required_columns)
            amount_at = header.index(amount_column) if amount_column else None
            width = len(header)
            for number, row in enumerate(reader, start=1):
                totals.records = number
                if len(row) != width:
                    yield Delivered(
                        location,
                        number,
                        raw_text=_as_csv(row),
                        parse_error=f"{len(row)} fields where the header has {width} (ends on line {reader.line_num})",
                    )
                    continue
                if amount_at is not None:
                    try:
                        totals.amount_sum += Decimal(row[amount_at])
                    except InvalidOperation:
                        totals.unparsable_amounts += 1
                yield Delivered(
                    location, number, payload={k: (v if v != "" else None) for k, v in zip(header, row, strict=True)}
                )
        except csv.Error as exc:
            raise DeliveryError(f"{location}: not valid CSV on line {reader.line_num}: {exc}") from None
        except UnicodeDecodeError as exc:
            raise DeliveryError(f"{location}: not valid UTF-8 after record {totals.records}: {exc.reason}") from None
        totals.sha256 = hashing.digest.hexdigest()


def scan_csv(path: Path, location: str, required_columns: Sequence[str], amount_column: str | None) -> CsvTotals:
    """The file's control totals, in one streaming pass."""
    totals = CsvTotals()
    for _ in read_csv(path, location, required_columns, totals, amount_column):
        pass
    return totals


def _check_header(location: str, header: list[str], required: Sequence[str]) -> None:
    missing = [c for c in required if c not in header]
    doubled = sorted({c for c in header if header.count(c) > 1})
    if missing or doubled:
        problems = []
        if missing:
            problems.append(f"lacks the contract's columns {missing}")
        if doubled:
            problems.append(f"names {doubled} twice")
        raise DeliveryError(f"{location}: the header {'; '.join(problems)} (header: {header})")


def _as_csv(row: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(row)
    return out.getvalue()
