"""The published gate on real marts (dbt build of the hand-made fixture): good marts pass; every kind of
check in every published suite catches the bad data it is for, so a mart broken that way never publishes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import psycopg
import pytest

from frictionflow.quality.gate import GateFailed, enforce, suite_specs, validate_suites
from frictionflow.warehouse.bootstrap import META_DDL
from tests.gate_mutations import kind_of, mutated_specs

NIGHT = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
FIRST_ROW = "ctid = (select min(ctid) from {t})"

# Bad data for the checks written as SQL, keyed by the start of their `meta.why`.
CUSTOM_INJECTIONS = {
    "journey friction counts reconcile": "update {t} set friction_event_count = friction_event_count + 1 where "
    + FIRST_ROW,
    "referential integrity": "update {t} set journey_id = 'no-such-journey' "
    "where ctid = (select min(ctid) from {t} where journey_id is not null)",
    "daily totals reconcile": "update {t} set friction_events = friction_events + 1 where " + FIRST_ROW,
    # The mart shrank to one row overnight (history: the last publication, written by the test).
    "volume": "delete from {t} where ctid <> (select min(ctid) from {t})",
}


def _gate(dsn: str, specs: list[dict], gx_root, run_id: str):
    return validate_suites(
        dsn,
        "published",
        specs,
        run_id=run_id,
        interval_start=NIGHT,
        gx_root=gx_root,
        schema_overrides={"published": "audit"},  # as in the DAG: the gate checks tonight's audit tables
        data_docs=False,
    )


@pytest.fixture(scope="module")
def marts(built):
    with psycopg.connect(built["dsn"]) as conn:
        conn.execute(META_DDL)
    return built["dsn"]


def test_good_marts_pass_every_published_suite(marts, tmp_path):
    gate = _gate(marts, suite_specs("published"), tmp_path, "good")
    assert gate.success, gate.summary()


def test_every_published_check_catches_the_bad_data_it_is_for(marts, tmp_path):
    specs = [
        {**s, "meta": {**s["meta"], "asset": {**s["meta"]["asset"], "schema": "audit"}}}
        for s in suite_specs("published")
    ]
    with psycopg.connect(marts) as conn:
        counts = {
            s["meta"]["asset"]["table"]: conn.execute(
                f'select count(*) from audit."{s["meta"]["asset"]["table"]}"'
            ).fetchone()[0]
            for s in specs
        }
        conn.execute(
            "insert into meta.publish_log (run_id, data_interval_start, data_interval_end, row_counts) "
            "values ('previous-night', %s, %s, %s)",
            (NIGHT, NIGHT, json.dumps(counts)),
        )
    assert min(counts.values()) >= 3, f"the fixture's marts are too small for the volume check: {counts}"
    mutated = mutated_specs(marts, specs, CUSTOM_INJECTIONS, NIGHT)
    gate = _gate(marts, mutated, tmp_path, "mutations")
    outcome = {o.suite: o for o in gate.outcomes}
    missed = [m["name"] + " " + json.dumps(m["expectations"][0]) for m in mutated if outcome[m["name"]].success]
    assert not missed, "checks that let their bad data through:\n" + "\n".join(missed)
    assert {kind_of(e) for s in specs for e in s["expectations"]} <= {kind_of(m["expectations"][0]) for m in mutated}
    with pytest.raises(GateFailed):
        enforce(gate)
