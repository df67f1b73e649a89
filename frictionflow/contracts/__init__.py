"""Source contracts: the YAML files beside this module, as agreed with the source teams.

They drive the raw layer (one table per entity, typed as contracted, plus load metadata) and the
validation of every delivered record: a record that breaks its contract is quarantined with the
reason, never dropped and never loaded half-typed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import yaml

CONTRACTS_DIR = Path(__file__).resolve().parent
RAW_SCHEMA = "raw"

# Load metadata on every raw row: which batch, which file/page/query, which line, when, which interval.
LOAD_METADATA_COLUMNS: dict[str, str] = {
    "_batch_id": "text not null",
    "_source_location": "text not null",
    "_record_number": "bigint not null",
    "_loaded_at": "timestamptz not null",
    "_data_interval_start": "timestamptz not null",
    "_data_interval_end": "timestamptz not null",
    # Fields a record carried that its contract does not name: kept, never dropped silently.
    "_unexpected_fields": "jsonb",
}

_DECIMAL = re.compile(r"decimal\((\d+),\s*(\d+)\)")


class ContractViolation(ValueError):
    """A record that breaks its contract; the message names the column and what was wrong."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool
    values: tuple | None
    pii: bool

    @property
    def pg_type(self) -> str:
        if self.type == "string":
            return "text"
        if self.type == "integer":
            return "bigint"
        if self.type == "boolean":
            return "boolean"
        if self.type == "date":
            return "date"
        if self.type in ("timestamp_tz", "timestamp_utc"):
            return "timestamptz"
        if self.type == "object" or self.type.startswith("array"):
            return "jsonb"
        if m := _DECIMAL.fullmatch(self.type):
            return f"numeric({m[1]},{m[2]})"
        raise ValueError(f"unknown contract type {self.type!r} for column {self.name}")

    def coerce(self, value: Any) -> Any:
        """The value as the contract types it, or ContractViolation saying why not."""
        if value is None or (value == "" and self.type != "string"):
            if self.nullable:
                return None
            raise ContractViolation(f"{self.name}: missing value for a non-nullable column")
        try:
            typed = self._coerce(value)
        except (ValueError, TypeError, InvalidOperation) as exc:
            raise ContractViolation(f"{self.name}: {value!r} is not a valid {self.type} ({exc})") from None
        if self.values is not None and typed not in self.values:
            raise ContractViolation(f"{self.name}: {typed!r} is not one of {sorted(v for v in self.values if v)}")
        return typed

    def _coerce(self, value: Any) -> Any:
        t = self.type
        if t == "string":
            if not isinstance(value, str):
                raise TypeError(f"expected text, got {type(value).__name__}")
            return value
        if t == "integer":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise TypeError("not an integer")
            return int(value)
        if t == "boolean":
            if isinstance(value, bool):
                return value
            lowered = str(value).strip().lower()
            if lowered in ("true", "t", "1"):
                return True
            if lowered in ("false", "f", "0"):
                return False
            raise ValueError("not a boolean")
        if t == "date":
            return value if isinstance(value, date) and not isinstance(value, datetime) else date.fromisoformat(value)
        if t in ("timestamp_tz", "timestamp_utc"):
            ts = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            if ts.tzinfo is None:
                raise ValueError("timestamp without a UTC offset")
            if t == "timestamp_utc" and ts.utcoffset().total_seconds() != 0:
                raise ValueError("timestamp_utc with a non-UTC offset")
            return ts
        if t == "object":
            if not isinstance(value, dict):
                raise TypeError("expected a JSON object")
            return value
        if t.startswith("array"):
            if not isinstance(value, list):
                raise TypeError("expected a JSON array")
            return value
        if m := _DECIMAL.fullmatch(t):
            number = value if isinstance(value, Decimal) else Decimal(str(value))
            if not number.is_finite():
                raise ValueError("not a finite number")
            precision, scale = int(m[1]), int(m[2])
            if (
                number != number.quantize(Decimal(1).scaleb(-scale))
                or len(number.quantize(Decimal(1)).as_tuple().digits) > precision - scale
            ):
                raise ValueError(f"does not fit decimal({precision},{scale})")
            return number
        raise ValueError(f"unknown contract type {t}")

    @cached_property
    def fast_coerce(self) -> Callable[[Any], Any]:
        """`coerce` compiled once for this column: a fast path for values already in the expected shape.

        Anything off the fast path goes to `coerce`, the one place that decides and explains: the fast path
        only accepts values `coerce` accepts, and returns what `coerce` would.
        """
        slow, nullable, t = self.coerce, self.nullable, self.type
        if t == "string":
            allowed = frozenset(v for v in self.values if isinstance(v, str)) if self.values is not None else None
            if allowed is None:

                def coerce(value: Any) -> Any:
                    return value if type(value) is str else _null_or(value, nullable, slow)

            else:

                def coerce(value: Any) -> Any:
                    return value if type(value) is str and value in allowed else _null_or(value, nullable, slow)

            return coerce
        if self.values is not None:
            return slow  # enumerations of non-text types are rare: the generic path is fast enough
        if t in ("timestamp_tz", "timestamp_utc"):
            utc_only = t == "timestamp_utc"
            parse = datetime.fromisoformat

            def coerce(value: Any) -> Any:
                if type(value) is str:
                    try:
                        ts = parse(value.replace("Z", "+00:00"))
                    except ValueError:
                        return slow(value)
                elif type(value) is datetime:
                    ts = value
                else:
                    return _null_or(value, nullable, slow)
                offset = ts.utcoffset()
                if offset is None or (utc_only and offset):
                    return slow(value)
                return ts

            return coerce
        exact = {"integer": int, "boolean": bool, "date": date, "object": dict}.get(t)
        if exact is None and t.startswith("array"):
            exact = list
        if exact is not None:

            def coerce(value: Any) -> Any:
                return value if type(value) is exact else _null_or(value, nullable, slow)

            return coerce
        if m := _DECIMAL.fullmatch(t):
            scale, integer_digits = int(m[2]), int(m[1]) - int(m[2])

            def coerce(value: Any) -> Any:
                if type(value) is str:
                    try:
                        number = Decimal(value)
                    except InvalidOperation:
                        return slow(value)
                elif type(value) is Decimal:
                    number = value
                else:
                    return _null_or(value, nullable, slow)
                _, digits, exponent = number.as_tuple()
                # Strictly fewer integer digits than allowed: rounding to an integer cannot carry past the limit.
                if type(exponent) is int and exponent >= -scale and len(digits) + exponent < integer_digits:
                    return number
                return slow(value)

            return coerce
        return slow


def _null_or(value: Any, nullable: bool, slow: Callable[[Any], Any]) -> Any:
    if value is None and nullable:
        return None
    return slow(value)


@dataclass(frozen=True)
class Entity:
    system: str
    name: str
    primary_key: tuple[str, ...]
    columns: tuple[Column, ...]

    @property
    def raw_table(self) -> str:
        return f"{self.system}__{self.name}"

    @property
    def qualified_raw_table(self) -> str:
        return f'{RAW_SCHEMA}."{self.raw_table}"'

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @cached_property
    def _compiled(self) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
        return tuple((c.name, c.fast_coerce) for c in self.columns)

    @cached_property
    def _names(self) -> frozenset[str]:
        return frozenset(self.column_names)

    def validate(self, record: dict[str, Any]) -> dict[str, Any]:
        """Typed copy of the record, or ContractViolation naming every broken column."""
        try:
            return {name: coerce(record.get(name)) for name, coerce in self._compiled}
        except ContractViolation:
            pass  # a broken record: go round again column by column to name every problem
        problems, typed = [], {}
        for column in self.columns:
            try:
                typed[column.name] = column.coerce(record.get(column.name))
            except ContractViolation as exc:
                problems.append(str(exc))
        if problems:
            raise ContractViolation("; ".join(problems))
        return typed

    def typed_row(self, record: dict[str, Any]) -> tuple:
        """`validate` as a tuple in column order (the loader's hot path): same checks, same errors."""
        try:
            return self._row_function(record)
        except ContractViolation:
            typed = self.validate(record)  # raises with every problem named
            return tuple(typed[name] for name, _ in self._compiled)

    @cached_property
    def _row_function(self) -> Callable[[dict[str, Any]], tuple]:
        """One function per entity, generated once: a text column's type (and enumeration) check inline,
        every other column through its compiled coercer. Costs a few microseconds less per record than a
        loop over the columns, which matters at hundreds of thousands of records per batch."""
        scope: dict[str, Any] = {"ContractViolation": ContractViolation}
        lines = ["def typed_row(record):", "    get = record.get"]
        for i, column in enumerate(self.columns):
            scope[f"coerce_{i}"] = column.fast_coerce
            lines.append(f"    v{i} = get({column.name!r})")
            if column.type != "string":
                lines.append(f"    v{i} = coerce_{i}(v{i})")
            elif column.values is None:
                lines.append(f"    if type(v{i}) is not str: v{i} = coerce_{i}(v{i})")
            else:
                scope[f"allowed_{i}"] = frozenset(v for v in column.values if isinstance(v, str))
                lines.append(f"    if type(v{i}) is not str or v{i} not in allowed_{i}: v{i} = coerce_{i}(v{i})")
        lines.append("    return (" + "".join(f"v{i}, " for i in range(len(self.columns))) + ")")
        exec("\n".join(lines), scope)  # noqa: S102 - source built above from the contract's column names only
        return scope["typed_row"]

    def unexpected_fields(self, record: dict[str, Any]) -> dict[str, Any] | None:
        names = self._names
        if record.keys() <= names:
            return None
        extras = {k: v for k, v in record.items() if k not in names}
        return extras or None

    def add_missing_metadata_sql(self) -> list[str]:
        """Raw tables created by an earlier version gain metadata columns added since."""
        return [
            f"alter table {self.qualified_raw_table} add column if not exists {name} {ddl.replace(' not null', '')}"
            for name, ddl in LOAD_METADATA_COLUMNS.items()
        ]

    def create_raw_table_sql(self) -> str:
        cols = [f'"{c.name}" {c.pg_type}' for c in self.columns]
        cols += [f"{name} {ddl}" for name, ddl in LOAD_METADATA_COLUMNS.items()]
        return f"create table if not exists {self.qualified_raw_table} (\n    " + ",\n    ".join(cols) + "\n)"


@dataclass(frozen=True)
class Contract:
    system: str
    delivery: dict
    change_tracking: dict
    entities: dict[str, Entity]
    quirks: tuple[str, ...]


@cache
def load_contract(system: str) -> Contract:
    spec = yaml.safe_load((CONTRACTS_DIR / f"{system}.yml").read_text())
    entities = {}
    for name, body in spec["entities"].items():
        columns = tuple(
            Column(
                name=col,
                type=str(meta["type"]),
                nullable=bool(meta.get("nullable", False)),
                values=tuple(meta["values"]) if "values" in meta else None,
                pii=bool(meta.get("pii", False)),
            )
            for col, meta in body["columns"].items()
        )
        entities[name] = Entity(system, name, tuple(body["primary_key"]), columns)
    return Contract(
        system=spec["system"],
        delivery=spec["delivery"],
        change_tracking=spec.get("change_tracking", {}),
        entities=entities,
        quirks=tuple(spec.get("quirks", [])),
    )


def all_systems() -> list[str]:
    return sorted(p.stem for p in CONTRACTS_DIR.glob("*.yml"))


# json.dumps with these arguments, without building an encoder on every call.
compact_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def to_copy_value(value: Any) -> Any:
    """Python value to what psycopg's COPY writer accepts for the column's PostgreSQL type."""
    if isinstance(value, (dict, list)):
        return compact_json(value)
    return value
