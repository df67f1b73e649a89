"""Raw-layer GX suites generated from the source contracts, so every raw entity is checked as contracted.

One suite per contract entity, `expectations/suites/raw.<system>__<entity>.contract.json`, on the night's
rows: keys present and unique per delivered version, every non-nullable column filled, every enum within
its values, column types as contracted, freshness and volume against recent nights
(`expectations/contract_checks.yml`). Business rules the contracts cannot express (formats, orderings)
live in hand-written suites beside them (`raw.<system>__<entity>.json`).

The generated files are committed, reviewed like code, and kept in sync by a test.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from frictionflow.contracts import Column, Entity, all_systems, load_contract
from frictionflow.settings import EXPECTATIONS_DIR

SUITES_DIR = EXPECTATIONS_DIR / "suites"
CHECKS_FILE = EXPECTATIONS_DIR / "contract_checks.yml"

# PostgreSQL's name (pg_typeof) for each contract type, as the raw tables declare it.
_PG_TYPEOF = {
    "string": "text",
    "integer": "bigint",
    "boolean": "boolean",
    "date": "date",
    "timestamp_tz": "timestamp with time zone",
    "timestamp_utc": "timestamp with time zone",
    "object": "jsonb",
}


def _pg_typeof(column: Column) -> str:
    if column.type.startswith("array"):
        return "jsonb"
    if column.type.startswith("decimal"):
        return "numeric"
    return _PG_TYPEOF[column.type]


def _dedupe_key(entity: Entity) -> list[str]:
    from frictionflow.sources import source_configs

    source = source_configs().get(entity.system)
    if source is None or entity.name not in source.entities:
        return list(entity.primary_key)
    return list(source.dedupe_key(entity.name))


def contract_suite(entity: Entity, checks: dict[str, Any]) -> dict[str, Any]:
    expectations: list[dict[str, Any]] = []
    key = _dedupe_key(entity)
    expectations.append(_types(entity))
    for column in entity.columns:
        if not column.nullable:
            expectations.append({"type": "expect_column_values_to_not_be_null", "kwargs": {"column": column.name}})
        if column.values is not None:
            values = [v for v in column.values if v is not None]
            expectations.append(
                {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": column.name, "value_set": values}}
            )
    if len(key) == 1:
        expectations.append({"type": "expect_column_values_to_be_unique", "kwargs": {"column": key[0]}})
    else:
        expectations.append({"type": "expect_compound_columns_to_be_unique", "kwargs": {"column_list": key}})
    freshness = checks.get("freshness", {}).get(entity.system, {}).get(entity.name)
    if freshness:
        expectations.append(_freshness(freshness["column"], int(freshness["max_age_hours"])))
    expectations.append(_volume(entity, checks["volume"]))
    return {
        "name": f"raw.{entity.raw_table}.contract",
        "meta": {
            "asset": {"schema": "raw", "table": entity.raw_table, "scope": "night"},
            "notes": f"Generated from contracts/{entity.system}.yml and expectations/contract_checks.yml: "
            "do not edit; run `python -m frictionflow suites --write`.",
        },
        "expectations": expectations,
    }


def _types(entity: Entity) -> dict[str, Any]:
    """Every column typed as contracted (checked on the rows themselves, so it works on any query asset)."""
    typeofs = ", ".join(f'pg_typeof("{c.name}")::text as "{c.name}"' for c in entity.columns)
    wrong = " or ".join(f"\"{c.name}\" <> '{_pg_typeof(c)}'" for c in entity.columns)
    return {
        "type": "unexpected_rows_expectation",
        "kwargs": {"unexpected_rows_query": f"select * from (select {typeofs} from {{batch}} limit 1) t where {wrong}"},
        "meta": {"why": "types: every column has its contracted type"},
    }


def _freshness(column: str, max_age_hours: int) -> dict[str, Any]:
    query = (
        f'select max("{column}") as newest from {{batch}} '
        f"having max(\"{column}\") < '{{interval_start}}'::timestamptz - interval '{max_age_hours} hours'"
    )
    return {
        "type": "unexpected_rows_expectation",
        "kwargs": {"unexpected_rows_query": query},
        "meta": {
            "why": f"freshness: the night's newest {column} is at most {max_age_hours} h older than the night",
            "column": column,
        },
    }


def _volume(entity: Entity, volume: dict[str, Any]) -> dict[str, Any]:
    query = (
        "select tonight.n, history.median_loaded from (select count(*) as n from {batch}) tonight, "
        "(select percentile_cont(0.5) within group (order by loaded) as median_loaded, count(*) as nights "
        " from (select loaded from meta.load_ledger "
        f"  where source_system = '{entity.system}' and entity = '{entity.name}' "
        "   and data_interval_start < '{interval_start}'::timestamptz "
        f"  order by data_interval_start desc limit {int(volume['nights'])}) recent) history "
        f"where history.nights >= {int(volume['min_history'])} "
        f"and history.median_loaded >= {int(volume['min_median'])} "
        f"and (tonight.n < {float(volume['min_ratio'])} * history.median_loaded "
        f"or tonight.n > {float(volume['max_ratio'])} * history.median_loaded)"
    )
    return {
        "type": "unexpected_rows_expectation",
        "kwargs": {"unexpected_rows_query": query},
        "meta": {
            "why": f"volume: tonight's rows within {volume['min_ratio']}x..{volume['max_ratio']}x "
            f"the median of the last {volume['nights']} nights"
        },
    }


def generated_suites() -> dict[Path, str]:
    """File path -> JSON text of every generated suite (one per contract entity)."""
    checks = yaml.safe_load(CHECKS_FILE.read_text())
    suites = {}
    for system in all_systems():
        for entity in load_contract(system).entities.values():
            suite = contract_suite(entity, checks)
            suites[SUITES_DIR / f"{suite['name']}.json"] = json.dumps(suite, indent=2) + "\n"
    return suites


def write_suites() -> list[Path]:
    written = []
    for path, text in generated_suites().items():
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            written.append(path)
    return written
