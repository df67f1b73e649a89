"""Columnar readers: a delivered file as blocks of Arrow columns (`DeliveredColumns`) for the loader's
vectorised path, instead of one `Delivered` per row.

The loader checks a block with Arrow kernels and sends only the rows it cannot certify through the
per-record path, so the contract, the quarantine reasons and the record numbers are the same as with
the per-record readers; only the Python work per row goes away.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from decimal import Decimal, InvalidOperation
from itertools import islice
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from frictionflow.extract.csv_records import CsvTotals, _check_header, _HashingReader, read_csv
from frictionflow.load import Delivered, DeliveredColumns
from frictionflow.nightly import DeliveryError

CSV_BLOCK_BYTES = 1 << 20  # Arrow reads a few blocks ahead: peak memory is a small multiple of this


def read_parquet_columns(path: Path, location: str, batch_rows: int) -> Iterator[DeliveredColumns]:
    """Every record batch of the part, numbered like `parquet_parts.read_parquet` numbers its rows."""
    number = 0
    try:
        # pre_buffer (pyarrow's default) reads every column chunk of the part up front: memory would grow
        # with the part, not with a batch.
        part = pq.ParquetFile(path, pre_buffer=False)
        for record_batch in part.iter_batches(batch_size=batch_rows, use_threads=False):
            yield DeliveredColumns(location, number + 1, record_batch)
            number += record_batch.num_rows
    except (pa.ArrowException, OSError) as exc:
        raise DeliveryError(f"{location}: unreadable Parquet part after {number} rows ({exc})") from None


def read_csv_columns(
    path: Path,
    location: str,
    required_columns: Sequence[str],
    totals: CsvTotals | None = None,
    amount_column: str | None = None,
    block_bytes: int = CSV_BLOCK_BYTES,
) -> Iterator[DeliveredColumns | Delivered]:
    """`csv_records.read_csv` in blocks of Arrow columns: same records, numbers, nulls and control totals.

    Every field is read as text and an empty field is null, as `read_csv` does. A record with the wrong
    number of fields cannot be numbered in a block, so at the first one the rest of the file, from the
    first record not yet handed over, is read by `read_csv` itself (which quarantines it as usual and
    recomputes the totals over the whole file). One difference remains: Arrow's CSV parser accepts a
    stray quote inside an unquoted field, where `csv.reader(strict=True)` fails the delivery.
    """
    totals = totals if totals is not None else CsvTotals()
    try:
        with path.open("rb") as probe:  # the header: its names type every column as text
            names = pa_csv.open_csv(
                probe,
                read_options=pa_csv.ReadOptions(use_threads=False, block_size=1 << 16),
                parse_options=pa_csv.ParseOptions(newlines_in_values=True, invalid_row_handler=lambda _: "skip"),
            ).schema.names
    except pa.ArrowInvalid as exc:
        if "Empty CSV file" in str(exc):
            raise DeliveryError(f"{location}: empty file, not even a header line") from None
        raise DeliveryError(f"{location}: not valid CSV ({exc})") from None
    _check_header(location, names, required_columns)
    wrong_width: list = []

    def on_invalid(row) -> str:
        wrong_width.append(row)
        return "skip"

    number = 0
    with path.open("rb", buffering=0) as raw:
        hashing = _HashingReader(raw)
        try:
            reader = pa_csv.open_csv(
                io.BufferedReader(hashing, 1 << 16),
                read_options=pa_csv.ReadOptions(use_threads=False, block_size=block_bytes),
                parse_options=pa_csv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid),
                convert_options=pa_csv.ConvertOptions(
                    column_types=dict.fromkeys(names, pa.string()),
                    strings_can_be_null=True,
                    quoted_strings_can_be_null=True,
                    null_values=[""],
                ),
            )
            for block in reader:
                if wrong_width:
                    break
                totals.records = number + block.num_rows
                if amount_column:
                    _add_amounts(totals, block.column(amount_column).to_pylist())
                yield DeliveredColumns(location, number + 1, block)
                number += block.num_rows
        except pa.ArrowInvalid as exc:
            raise DeliveryError(f"{location}: not valid CSV after record {number} ({exc})") from None
        if not wrong_width:
            while hashing.read(1 << 20):  # hash whatever the parser did not need to read
                pass
            totals.sha256 = hashing.digest.hexdigest()
            return
    totals.records, totals.amount_sum, totals.unparsable_amounts, totals.sha256 = 0, Decimal(), 0, None
    yield from islice(read_csv(path, location, required_columns, totals, amount_column), number, None)


def _add_amounts(totals: CsvTotals, amounts: list[str | None]) -> None:
    for amount in amounts:
        try:
            totals.amount_sum += Decimal(amount if amount is not None else "")
        except InvalidOperation:
            totals.unparsable_amounts += 1
