"""The raw gate: a suite for every raw entity, in sync with the contracts, and every check catches its bad data.

A synthetic good night (contract-valid rows for every entity, loaded by the real loader) passes every raw
suite; then each expectation runs against a copy broken the way that expectation is meant to catch, and
must fail. A failed gate raises, and the DAG only publishes after both gates (tests/test_dag_integrity.py).
"""

from __future__ import annotations

import json
import secrets
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest

from frictionflow.contracts import all_systems, load_contract
from frictionflow.load import Batch, Delivered, load_batch
from frictionflow.quality.gate import GateFailed, enforce, run_gate, suite_specs, validate_suites
from frictionflow.quality.suites import generated_suites
from tests.gate_mutations import kind_of, mutated_specs

NIGHT = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
ROWS_PER_ENTITY = 60

# Values the hand-written suites expect beyond the contract (formats the contract cannot express).
FORMATTED = {
    "contact_id": lambda n: f"003{n:015d}",
    "country_code": lambda n: "GB",
    "billing_country": lambda n: "GB",
}

# Bad data for the checks written as SQL, keyed by the start of their `meta.why`.
CUSTOM_INJECTIONS = {
    # A column delivered as another type: the first column becomes varchar (or text, if it was not text).
    "types": "alter table {t} alter column {first_column} type {other_type} using {first_column}::text",
    "freshness": "update {t} set {column} = {column} - interval '30 days'",
    # Tonight's batch is a third of what recent nights delivered: history is written by the test below.
    "volume": "delete from {t} where ctid in (select ctid from {t} offset 1)",
}


def _value(column, n: int):
    if column.name in FORMATTED:
        return FORMATTED[column.name](n)
    if column.values is not None:
        values = [v for v in column.values if v is not None]
        return values[n % len(values)]
    t = column.type
    if t == "string":
        return f"{column.name}-{n:06d}"
    if t == "integer":
        return n
    if t == "boolean":
        return n % 2 == 0
    if t == "date":
        return NIGHT.date().isoformat()
    if t.startswith("timestamp"):
        return (NIGHT + timedelta(hours=12)).isoformat().replace("+00:00", "Z")
    if t == "object":
        return {"n": n}
    if t.startswith("array"):
        return []
    return str(Decimal(n) / 4)


def _good_night(dsn: str) -> None:
    for system in all_systems():
        for entity in load_contract(system).entities.values():
            records = (
                Delivered(
                    location="synthetic",
                    record_number=n,
                    payload={c.name: _value(c, n) for c in entity.columns},
                )
                for n in range(ROWS_PER_ENTITY)
            )
            batch = Batch(
                batch_id=f"{system}.{entity.name}.2026-11-20",
                entity=entity,
                interval_start=NIGHT,
                interval_end=NIGHT + timedelta(days=1),
                loaded_at=NIGHT + timedelta(days=1, hours=2),
                dedupe_key=entity.primary_key,
            )
            with psycopg.connect(dsn) as conn:
                entry = load_batch(conn, batch, records)
            assert entry.loaded == ROWS_PER_ENTITY, entry


def _recent_history(dsn: str) -> None:
    """Seven earlier nights of 180 rows per entity: tonight's 60 (and a broken copy's 1) stand out."""
    with psycopg.connect(dsn) as conn:
        for system in all_systems():
            for entity in load_contract(system).entities.values():
                for back in range(1, 8):
                    start = NIGHT - timedelta(days=back)
                    conn.execute(
                        "insert into meta.load_ledger (batch_id, source_system, entity, data_interval_start, "
                        "data_interval_end, source_locations, received, loaded, quarantined, duplicates_removed) "
                        "values (%s, %s, %s, %s, %s, 1, 180, 180, 0, 0)",
                        (
                            f"{system}.{entity.name}.history-{back}",
                            system,
                            entity.name,
                            start,
                            start + timedelta(days=1),
                        ),
                    )


def test_committed_contract_suites_match_the_contracts():
    stale = [str(p) for p, text in generated_suites().items() if not p.exists() or p.read_text() != text]
    assert not stale, f"regenerate with `python -m frictionflow suites --write`: {stale}"


def test_every_raw_entity_has_a_suite():
    checked = {spec["meta"]["asset"]["table"] for spec in suite_specs("raw")}
    entities = {e.raw_table for s in all_systems() for e in load_contract(s).entities.values()}
    assert entities <= checked, f"raw entities without a suite: {sorted(entities - checked)}"


@pytest.fixture(scope="module")
def good_night(tmp_path_factory, settings):
    from frictionflow.warehouse.bootstrap import bootstrap_warehouse, drop_database, ensure_database

    name = "ff_raw_gate"
    drop_database(settings.maintenance_dsn, name)
    ensure_database(settings.maintenance_dsn, name)
    dsn = settings.database_dsn(name)
    bootstrap_warehouse(dsn, secrets.token_urlsafe(16))
    _good_night(dsn)
    yield dsn, tmp_path_factory.mktemp("gx")
    drop_database(settings.maintenance_dsn, name)


def test_a_good_night_passes_every_raw_suite(good_night):
    dsn, gx_root = good_night
    gate = run_gate(dsn, "raw", run_id="good-night", interval_start=NIGHT, gx_root=gx_root)
    assert gate.success, gate.summary()
    assert enforce(gate).startswith("quality gate [raw]")
    with psycopg.connect(dsn) as conn:
        stored = conn.execute("select count(*) from meta.gate_results where run_id = 'good-night'").fetchone()[0]
    assert stored == len(gate.outcomes) > 0


def test_every_raw_check_catches_the_bad_data_it_is_for(good_night):
    dsn, gx_root = good_night
    _recent_history(dsn)
    specs = suite_specs("raw")
    # Every kind of check in every suite (generated suites repeat each kind over many columns).
    mutated = mutated_specs(dsn, specs, CUSTOM_INJECTIONS, NIGHT, per_kind=True)
    started = time.perf_counter()
    gate = validate_suites(
        dsn, "raw", mutated, run_id="mutations", interval_start=NIGHT, gx_root=gx_root / "mutations", data_docs=False
    )
    print(f"{len(mutated)} broken copies validated in {time.perf_counter() - started:.1f} s")
    outcome = {o.suite: o for o in gate.outcomes}
    missed = [m["name"] + " " + json.dumps(m["expectations"][0]) for m in mutated if outcome[m["name"]].success]
    assert not missed, "checks that let their bad data through:\n" + "\n".join(missed)
    assert len(outcome) == sum(len({kind_of(e) for e in s["expectations"]}) for s in specs)
    with pytest.raises(GateFailed, match="failed"):
        enforce(gate)
