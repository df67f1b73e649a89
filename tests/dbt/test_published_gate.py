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
    "consent honoured": "update {t} set orders_30d = 1 where ctid = (select min(ctid) from {t} "
    "where not has_consented_to_personalisation)",
    # A customer who asked for erasure still has a context (the fixture's Carol did ask).
    "erasure honoured": "insert into {t} (customer_key, has_consented_to_mail_marketing, "
    "has_consented_to_sms_marketing, has_consented_to_analytics, has_consented_to_personalisation, open_case_count) "
    "select restricted.pseudonymise(m.customer_key), false, false, false, false, 0 "
    "from intermediate.int_identity__customer_map m inner join staging.stg_crm__erasure_requests e "
    "on m.identifier_type = 'crm_contact_id' and m.identifier_value = e.contact_id",
    "a removal has no surviving key": "update {t} set customer_key = previous_customer_key where "
    "ctid = (select min(ctid) from {t} where change_type = 'removed')",
    "every journey of a known customer": "update {t} set customer_key = null "
    "where ctid = (select min(ctid) from {t} where customer_type = 'contact')",
    "a friction whose source names": "update {t} set customer_key = null "
    "where ctid = (select min(ctid) from {t} where customer_type = 'erp_customer')",
    # A friction in a channel the daily metric never counted.
    "every friction type and channel": "update {t} set channel = 'marketplace' where " + FIRST_ROW,
    "a shift is called worse": "update {t} set shift_direction = 'worse' "
    "where ctid = (select min(ctid) from {t} where shift_direction = 'no_change')",
    "bounded by the events": "update {t} set current_frictions = current_frictions + 1000000 where " + FIRST_ROW,
    "shares add up": "update {t} set current_transitions = current_transitions + 1 "
    "where ctid = (select min(ctid) from {t} where current_transitions < current_leaving)",
    # A delivery linked to its order's buying journey forgets how it was linked.
    "a follow-up names how it was linked": "update {t} set linked_by = null "
    "where ctid = (select min(ctid) from {t} where parent_journey_id is not null)",
    "only open journeys are scored": "update {t} set journey_id = 'no-such-journey' where " + FIRST_ROW,
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


# The fixture is one night: no key has moved yet. Three key changes of a later night (one of each kind), so
# every check on customer_key_changes has rows to break.
KEY_CHANGES = """
insert into audit.customer_key_changes (customer_key_change_id, business_date, data_interval_start, change_type,
    previous_customer_key, customer_key, identifier_count, cause)
select md5(kind), date '2026-11-12', timestamptz '2026-11-12 00:00:00+00', kind,
    restricted.pseudonymise('old-' || kind),
    case when kind <> 'removed' then restricted.pseudonymise('new-' || kind) end,
    1, 'a test night'
from unnest(array['merge', 'split', 'removed']) as kind
"""


@pytest.fixture(scope="module")
def marts(built):
    with psycopg.connect(built["dsn"]) as conn:
        conn.execute(META_DDL)
        if conn.execute("select count(*) from audit.customer_key_changes").fetchone()[0] < 3:
            conn.execute(KEY_CHANGES)
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
    # Every check needs a row to break; a volume check (tonight under half the median) needs three.
    assert min(counts.values()) >= 1, f"a mart of the fixture is empty: {counts}"
    watched = {
        s["meta"]["asset"]["table"]
        for s in specs
        if any((e.get("meta") or {}).get("why", "").startswith("volume") for e in s["expectations"])
    }
    small = {table: n for table, n in counts.items() if table in watched and n < 3}
    assert not small, f"the fixture's marts are too small for the volume check: {small}"
    mutated = mutated_specs(marts, specs, CUSTOM_INJECTIONS, NIGHT)
    gate = _gate(marts, mutated, tmp_path, "mutations")
    outcome = {o.suite: o for o in gate.outcomes}
    missed = [m["name"] + " " + json.dumps(m["expectations"][0]) for m in mutated if outcome[m["name"]].success]
    assert not missed, "checks that let their bad data through:\n" + "\n".join(missed)
    assert {kind_of(e) for s in specs for e in s["expectations"]} <= {kind_of(m["expectations"][0]) for m in mutated}
    with pytest.raises(GateFailed):
        enforce(gate)
