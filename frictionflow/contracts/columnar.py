"""The contract checks on whole Arrow columns: the vectorised counterpart of `Column.fast_coerce`.

A columnar reader (Parquet row groups, CSV blocks read by pyarrow) hands the loader Arrow columns.
`certify` marks the rows whose every value is certainly valid and converts those values with Arrow
compute kernels. It is deliberately narrower than `Column.coerce`: a row it cannot certify is not
rejected here but sent through the per-record path, which accepts it or quarantines it with the same
reason as any other record. So the two paths can only differ in speed, never in what they accept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from frictionflow.contracts import _DECIMAL, Column, Entity

if TYPE_CHECKING:
    import pyarrow as pa

_YEAR_TO_SECOND = r"[1-9]\d{3}-\d{2}-\d{2}[T ]([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?"
# ISO-8601 shapes that Python's datetime.fromisoformat and Arrow's cast both read, and read the same way.
_TIMESTAMP_TZ = "^" + _YEAR_TO_SECOND + r"(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$"
_TIMESTAMP_UTC = "^" + _YEAR_TO_SECOND + r"(Z|[+-]00:00)$"
_DATE = r"^[1-9]\d{3}-\d{2}-\d{2}$"
_INTEGER = r"^-?\d{1,18}$"
_BOOLEAN_TEXT = {"true": True, "t": True, "1": True, "false": False, "f": False, "0": False}
_UTC_ZONES = {"UTC", "utc", "Etc/UTC", "+00:00", "Z"}


def certify(entity: Entity, table: pa.Table) -> tuple[np.ndarray, dict[str, pa.Array]]:
    """(mask of certified rows, the entity's columns typed for the raw table).

    Only the certified rows' typed values are meaningful. A table whose columns are not exactly the
    contract's (a column missing, a field the contract does not name) certifies nothing: each of its
    records then goes through the per-record path, which keeps unexpected fields and names missing ones.
    """
    n = table.num_rows
    if set(table.column_names) != set(entity.column_names):
        return np.zeros(n, dtype=bool), {}
    ok = np.ones(n, dtype=bool)
    typed = {}
    for column in entity.columns:
        values = table.column(column.name).combine_chunks()
        column_ok, typed[column.name] = _certify_column(column, values)
        ok &= column_ok
    return ok, typed


def _certify_column(column: Column, values: pa.Array) -> tuple[np.ndarray, pa.Array]:
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    t, kind = column.type, values.type
    is_text = pa.types.is_string(kind) or pa.types.is_large_string(kind)
    if is_text:
        values = values.cast(pa.string())
    if t == "string":
        if not is_text:
            return _nulls_only(column, values), pa.nulls(len(values), pa.string())
        present = _mask(pc.is_valid(values))
        if column.values is not None:
            allowed = pa.array([v for v in column.values if isinstance(v, str)], pa.string())
            present &= _mask(pc.is_in(values, value_set=allowed))
        return present | (_mask(pc.is_null(values)) & column.nullable), values
    if column.values is not None:
        return _nulls_only(column, values), pa.nulls(len(values))  # like fast_coerce: the generic path decides
    if not is_text:
        return _certify_typed(column, values)
    # Text for a typed column (CSV): an empty field is a missing value, as in Column.coerce.
    missing = _mask(pc.or_kleene(pc.is_null(values), pc.equal(values, "")).fill_null(True))
    if t in ("timestamp_tz", "timestamp_utc"):
        pattern, target = (_TIMESTAMP_UTC if t == "timestamp_utc" else _TIMESTAMP_TZ), pa.timestamp("us", "UTC")
    elif t == "date":
        pattern, target = _DATE, pa.date32()
    elif t == "integer":
        pattern, target = _INTEGER, pa.int64()
    elif t == "boolean":
        lowered = pc.utf8_lower(values)
        known = _mask(pc.is_in(lowered, value_set=pa.array(list(_BOOLEAN_TEXT))))
        truth = pc.is_in(lowered, value_set=pa.array([k for k, v in _BOOLEAN_TEXT.items() if v]))
        return known | (missing & column.nullable), pc.if_else(pa.array(known), truth, None)
    elif m := _DECIMAL.fullmatch(t):
        precision, scale = int(m[1]), int(m[2])
        # Strictly fewer integer digits than the precision allows (as fast_coerce: no rounding carry).
        if precision - scale < 2:
            return missing & column.nullable, pa.nulls(len(values), pa.decimal128(precision, scale))
        fraction = rf"(\.\d{{1,{scale}}})?" if scale else ""
        pattern, target = rf"^-?\d{{1,{precision - scale - 1}}}{fraction}$", pa.decimal128(precision, scale)
    else:
        return missing & column.nullable, pa.nulls(len(values))  # objects and arrays: per record
    matched = _mask(pc.match_substring_regex(values, pattern))
    try:
        converted = pc.cast(pc.if_else(pa.array(matched), values, None), target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        # A well-shaped but impossible value (30 February): let the per-record path name it.
        return missing & column.nullable, pa.nulls(len(values), target)
    return matched | (missing & column.nullable), converted


def _certify_typed(column: Column, values: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Already-typed Arrow values (Parquet): certified when Python would see a value of the right type."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t, kind = column.type, values.type
    present = _mask(pc.is_valid(values))
    accept = False
    if t in ("timestamp_tz", "timestamp_utc") and pa.types.is_timestamp(kind) and kind.tz is not None:
        accept = t == "timestamp_tz" or kind.tz in _UTC_ZONES
        if accept and kind.unit == "ns":
            try:
                values = pc.cast(values, pa.timestamp("us", kind.tz))  # safe cast: fails on lost nanoseconds
            except pa.ArrowInvalid:
                accept = False
    elif t == "date":
        accept = pa.types.is_date32(kind) or pa.types.is_date64(kind)
    elif t == "integer":
        accept = pa.types.is_integer(kind) and kind != pa.uint64()
    elif t == "boolean":
        accept = pa.types.is_boolean(kind)
    elif (m := _DECIMAL.fullmatch(t)) and pa.types.is_decimal(kind):
        precision, scale = int(m[1]), int(m[2])
        accept = kind.scale >= 0 and kind.scale <= scale and kind.precision - kind.scale < precision - scale
    if not accept:
        return _nulls_only(column, values), pa.nulls(len(values))
    return present | (~present & column.nullable), values


def _nulls_only(column: Column, values: pa.Array) -> np.ndarray:
    """Only a null in a nullable column is certain; every other value goes to the per-record path."""
    import pyarrow.compute as pc

    if not column.nullable:
        return np.zeros(len(values), dtype=bool)
    return _mask(pc.is_null(values))


def _mask(values: pa.Array) -> np.ndarray:
    return values.fill_null(False).to_numpy(zero_copy_only=False).astype(bool, copy=False)
