"""Right to erasure on real sandbox data: after an erasure request and the nightly erasure step, no personal data
of that person is left in any raw table or quarantined record, whichever system it came through (identifiers
linked only through MDM, the contact centre, marketing or web devices included), while row counts, the load
ledger and the aggregates stay as they were; running it again changes nothing; a row of the person delivered
later is scrubbed by the next night.

A small sandbox company is delivered night by night and pulled through the DAG's own task code
(`frictionflow.tasks.pull`), without Airflow and without dbt: there is no identity map yet, as on a first
night, so the erasure finds the person's identifiers itself. The ground truth (persons.csv, identities.csv)
says which identifiers are the erased person's, in every system.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import psycopg
import pytest

from frictionflow.contracts import all_systems, load_contract
from frictionflow.erasure import MARKER_PREFIX, erase_personal_data, pii_entities
from tests.nightly_helpers import fingerprint
from tests.pipeline_world import night_interval, pipeline_world, pull_night

FIRST, LAST = date(2026, 11, 2), date(2026, 11, 5)
LONDON = ZoneInfo("Europe/London")
# Keys on the rows of each raw table with personal data, by the ground truth's identifier type.
ROW_KEYS = {
    "crm__contact": {"contact_id": "crm_contact_id"},
    "erp__customers": {"customer_no": "erp_customer_no"},
    "mdm__golden_customer": {"golden_id": "golden_id"},
    "contact_center__interaction": {"customer ->> 'crm_contact_id'": "crm_contact_id"},
    "web_analytics__event": {"user_id": "crm_contact_id", "anonymous_id": "anonymous_id"},
    "marketing__email_events": {},
}


@pytest.fixture(scope="module")
def warehouse(settings, tmp_path_factory):
    from frictionflow.sandbox import SandboxConfig

    # Enough customers for a few erasure requests inside four nights; duplicates and merges turned up so
    # that some identifiers are linked only through MDM.
    config = SandboxConfig(
        seed=8,
        customers=400,
        start_date=FIRST,
        end_date=LAST,
        quirk_rates={"duplicate_contact": 0.2, "mdm_unmerged_duplicate": 0.1, "mdm_merge": 0.1},
    )
    with pipeline_world(settings, tmp_path_factory.mktemp("erasure"), "erasure", config) as world:
        with world.connected():
            night = FIRST
            while night <= LAST:
                world.sandbox.deliver_through(night)
                pull_night(night)
                night += timedelta(days=1)
        world.api.stop()
        persons = pd.read_csv(world.truth / "persons.csv", dtype=str, keep_default_na=False)
        identities = pd.read_csv(world.truth / "identities.csv", dtype=str, keep_default_na=False)
        yield {"dsn": world.dsn, "persons": persons, "identities": identities}


def _rows(dsn: str, query: str, *params) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(query, params).fetchall()


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


class Person:
    """Every identifier of the erased people in every system, from the sandbox's ground truth."""

    def __init__(self, persons: pd.DataFrame, identities: pd.DataFrame, requests: set[str]):
        erased = persons[persons.erasure_request_id.isin(requests)]
        self.person_ids = set(erased.person_id)
        mine = identities[identities.person_id.isin(self.person_ids)]
        self.keys: dict[str, set[str]] = {
            kind: set(mine[mine.identifier_type == kind].value)
            for kind in ("crm_contact_id", "erp_customer_no", "golden_id", "anonymous_id")
        }
        self.emails = {v.strip().lower() for v in mine[mine.identifier_type == "email"].value if v.strip()}
        # Phones compared on their last 9 digits: the subscriber number, however it was typed.
        self.phones = {_digits(v)[-9:] for v in mine[mine.identifier_type == "phone"].value if len(_digits(v)) >= 9}
        self.delivered_emails = [v for v in mine[mine.identifier_type == "email"].value if v.strip()]

    def carried_in(self, text: str) -> list[str]:
        """The person's identifiers found in a piece of text (a value, a quarantined record)."""
        found = [k for values in self.keys.values() for k in values if k and k in text]
        lowered = text.lower()
        found += [e for e in self.emails if e in lowered]
        digits = _digits(text)
        found += [p for p in self.phones if p in digits]
        return found


def _pii_leaks(dsn: str, person: Person) -> list[str]:
    """Every pii value of every contract still carrying the person's email or phone, and every row of the
    person's keys whose pii columns are not all erased."""
    leaks = []
    with psycopg.connect(dsn) as conn:
        for entity in pii_entities():
            pii = [c for c in entity.columns if c.pii]
            columns = ", ".join(f'"{c.name}"::text' for c in pii)
            keys = ROW_KEYS[entity.raw_table]
            key_columns = "".join(f", ({k})::text" for k in keys)
            for row in conn.execute(f"select {columns}{key_columns} from {entity.qualified_raw_table}"):
                values, row_keys = row[: len(pii)], row[len(pii) :]
                owned = any(value in person.keys[kind] for value, kind in zip(row_keys, keys.values(), strict=True))
                for column, value in zip(pii, values, strict=True):
                    if value is None or value in ("[]", "{}") or value.startswith(MARKER_PREFIX):
                        continue
                    if owned:
                        leaks.append(f"raw.{entity.raw_table}.{column.name} of the person's row: {value[:60]}")
                    elif found := person.carried_in(value):
                        leaks.append(f"raw.{entity.raw_table}.{column.name} carries {found}: {value[:60]}")
        for raw_record, reason in conn.execute("select raw_record, reason from meta.quarantine"):
            if found := person.carried_in(f"{raw_record or ''} {reason}"):
                leaks.append(f"meta.quarantine. carries {found}: {(raw_record or reason)[:60]}")
    return leaks


def _aggregates(dsn: str) -> dict[str, tuple]:
    """Row counts and what the marts count and sum, per raw table: unchanged by an erasure."""
    measures = {
        "erp__sales_orders": "count(distinct customer_no), sum(total_amount)",
        "crm__contact": "count(distinct contact_id), count(*) filter (where is_deleted)",
        "web_analytics__event": "count(distinct user_id), count(distinct anonymous_id)",
        "marketing__email_events": "count(distinct campaign_id), count(*) filter (where event_type = 'sent')",
        "contact_center__interaction": "count(distinct interaction_id), sum(wait_seconds)",
        "mdm__golden_customer": "count(distinct golden_id), count(*) filter (where segment = 'small_business')",
    }
    queries = {f"raw.{table}": f"select {measure} from raw.{table}" for table, measure in measures.items()}
    counts = {
        f"raw.{e.raw_table}": (e.qualified_raw_table,)
        for system in all_systems()
        for e in load_contract(system).entities.values()
    }
    with psycopg.connect(dsn) as conn:
        result = {t: conn.execute(f"select count(*) from {q[0]}").fetchone() for t, q in counts.items()}
        result |= {f"{t} aggregates": conn.execute(q).fetchone() for t, q in queries.items()}
        result["meta.quarantine"] = conn.execute("select count(*) from meta.quarantine").fetchone()
    return result


@pytest.fixture(scope="module")
def erased(warehouse):
    """The first erasure on the loaded warehouse: quarantined records of the person added first (the
    sandbox does not quarantine theirs by default); what it did, and the state before it."""
    dsn = warehouse["dsn"]
    requests = {r[0] for r in _rows(dsn, "select request_id from raw.crm__erasure_request")}
    assert requests, "the sandbox delivered no erasure request inside the window"
    person = Person(warehouse["persons"], warehouse["identities"], requests)
    # A device is known to be the person's once it logged in as them; the ground truth also knows cookies
    # that never did, which nothing in the warehouse can tie to anyone.
    person.keys["anonymous_id"] = {
        r[0]
        for r in _rows(
            dsn,
            "select distinct anonymous_id from raw.web_analytics__event where user_id = any(%s)",
            list(person.keys["crm_contact_id"]),
        )
    }
    assert person.keys["crm_contact_id"], "the erased people's contacts are in the ground truth"
    # The identifiers that only reach the person through another system: a test that cannot fail is no test.
    linked = warehouse["identities"][warehouse["identities"].person_id.isin(person.person_ids)]
    assert {"erp", "mdm", "contact_center", "marketing"} & set(linked.system), set(linked.system)
    contact = sorted(person.keys["crm_contact_id"])[0]
    email = sorted(person.delivered_emails)[0] if person.delivered_emails else None
    phone_rows = warehouse["identities"][
        warehouse["identities"].person_id.isin(person.person_ids) & (warehouse["identities"].identifier_type == "phone")
    ]
    phone = phone_rows.value.iloc[0] if len(phone_rows) else None
    night = night_interval(LAST)[0]
    with psycopg.connect(dsn) as conn:
        quarantine = (
            "insert into meta.quarantine (source_system, entity, batch_id, source_location, record_number, reason, "
            "raw_record, data_interval_start) values (%s, %s, 'test', 'test', %s, %s, %s, %s)"
        )
        records = [
            ("web_analytics", "event", 1, "platform: 'fridge' is not one of", f'{{"user_id": "{contact}"}}'),
            ("web_analytics", "event", 5, "unparsable record", '{"user_id": "003SOMEONEELSE0001"'),
        ]
        if email:
            records.append(("marketing", "email_events", 2, "wrong number of fields", f"E1,x,{email.upper()},sent"))
            records.append(("marketing", "email_events", 3, f"email: {email!r} is odd", None))
        if phone:
            records.append(("contact_center", "interaction", 4, "csat: 9", json.dumps({"customer": {"phone": phone}})))
        for record in records:
            conn.execute(quarantine, (*record, night))
        # The person as other systems typed them, linked by nothing but a phone number or an email: an ERP
        # account opened in a store (phone typed nationally) and a call the agent did not link to the contact.
        if phone:
            national = "0" + _digits(phone)[-10:]
            conn.execute(
                """insert into raw.erp__customers
                   select 'C9999999999', 'SOMEONE, Else', %s, %s, billing_country, created_at, changed_at,
                       'erp.customers.test', _source_location, _record_number, _loaded_at, _data_interval_start,
                       _data_interval_end, '{"loyalty_card": "L-1"}'
                   from raw.erp__customers limit 1""",
                (email.upper() if email else None, f"{national[:5]} {national[5:]}"),
            )
            conn.execute(
                """insert into raw.contact_center__interaction
                   select 'TEST-INTERACTION', channel, direction, %s, queue, started_at, answered_at, ended_at,
                       wait_seconds, handle_seconds, transfers, bot_handled, bot_outcome, disposition, case_id,
                       order_ref, csat, updated_at, 'contact_center.interaction.test', _source_location,
                       _record_number, _loaded_at, _data_interval_start, _data_interval_end, _unexpected_fields
                   from raw.contact_center__interaction limit 1""",
                (json.dumps({"phone": f"({national[:5]}) {national[5:]}", "email": None, "crm_contact_id": None}),),
            )
    before = _aggregates(dsn)
    ledger = fingerprint(dsn, ("meta",))["meta.load_ledger"]
    leaks_before = _pii_leaks(dsn, person)
    scrubbed = erase_personal_data(dsn, "night-1", night)
    return {"dsn": dsn, "person": person, "requests": requests, "before": before, "ledger": ledger,
            "leaks_before": leaks_before, "scrubbed": scrubbed, "night": night}  # fmt: skip


def test_no_personal_data_of_the_person_remains_anywhere_in_raw(erased):
    assert len(erased["leaks_before"]) > 10, "the person's data was there before the erasure"
    tables = {leak.split(".")[1] for leak in erased["leaks_before"]}
    assert {
        "crm__contact",
        "mdm__golden_customer",
        "marketing__email_events",
        "erp__customers",
        "contact_center__interaction",
        "quarantine",
    } <= tables, tables
    assert _pii_leaks(erased["dsn"], erased["person"]) == []


def test_row_counts_ledger_and_aggregates_are_unchanged(erased):
    dsn = erased["dsn"]
    assert _aggregates(dsn) == erased["before"]
    assert fingerprint(dsn, ("meta",))["meta.load_ledger"] == erased["ledger"]


def test_only_the_persons_rows_are_scrubbed_and_the_log_says_how_many(erased):
    dsn, person = erased["dsn"], erased["person"]
    with psycopg.connect(dsn) as conn:
        erased_rows = "select {} from raw.{} where starts_with({}, 'erased:')"
        scrubbed_contacts = {r[0] for r in conn.execute(erased_rows.format("contact_id", "crm__contact", "last_name"))}
        scrubbed_customers = {r[0] for r in conn.execute(erased_rows.format("customer_no", "erp__customers", "name"))}
        scrubbed_golden = {
            r[0] for r in conn.execute(erased_rows.format("golden_id", "mdm__golden_customer", "full_name"))
        }
        logged = {
            (r, t): n for r, t, n in conn.execute("select request_id, table_name, rows_scrubbed from meta.erasure_log")
        }
        kept = conn.execute(
            "select raw_record from meta.quarantine where record_number = 5 and batch_id = 'test'"
        ).fetchone()[0]
    assert scrubbed_contacts and scrubbed_contacts <= person.keys["crm_contact_id"]
    assert "C9999999999" in scrubbed_customers, "matched by the phone number alone"
    assert scrubbed_customers <= person.keys["erp_customer_no"] | {"C9999999999"}
    assert scrubbed_golden and scrubbed_golden <= person.keys["golden_id"]
    assert kept is not None, "someone else's quarantined record stays"
    expected = {(r, t): n for r, tables in erased["scrubbed"].items() for t, n in tables.items()}
    assert {k: n for k, n in logged.items() if n} == expected
    assert {r for r, _ in logged} == erased["requests"], "every request is logged, even with nothing to scrub"
    assert sum(n for (_, t), n in logged.items() if t == "meta.quarantine") >= 2


def test_running_it_again_changes_nothing(erased):
    dsn = erased["dsn"]
    schemas = ("raw", "meta", "restricted")
    before = fingerprint(dsn, schemas)
    assert erase_personal_data(dsn, "night-1-rerun", erased["night"]) == {}
    assert fingerprint(dsn, schemas) == before


def test_a_row_of_the_person_delivered_later_is_scrubbed_the_next_night(erased):
    """The person's email arrives again after their CRM contact was scrubbed: only its hash is left to match."""
    dsn, person = erased["dsn"], erased["person"]
    if not person.delivered_emails:
        pytest.skip("the erased person has no email in this sandbox")
    email = "  " + sorted(person.delivered_emails)[0].upper()
    with psycopg.connect(dsn) as conn:
        conn.execute(
            """insert into raw.marketing__email_events
               select 'late-' || event_id, campaign_id, campaign_name, message_id, %s, event_type, event_ts, link_url,
                   bounce_type, is_machine_open, 'marketing.email_events.late', _source_location, _record_number,
                   _loaded_at, _data_interval_start, _data_interval_end, _unexpected_fields
               from raw.marketing__email_events limit 1""",
            (email,),
        )
    assert _pii_leaks(dsn, person), "the late row carries the email"
    next_night = erased["night"] + timedelta(days=1)
    scrubbed = erase_personal_data(dsn, "night-2", next_night)
    assert sum(t.get("raw.marketing__email_events", 0) for t in scrubbed.values()) == 1
    assert _pii_leaks(dsn, person) == []


def test_identifiers_the_identity_map_linked_are_erased_and_forgotten_by_its_history(erased):
    """From the second night on, identity resolution's map says which identifiers are the same customer's;
    its incremental key history, which dbt does not rebuild, loses the person's emails and phones."""
    dsn, person = erased["dsn"], erased["person"]
    contact = sorted(person.keys["crm_contact_id"])[0]
    linked = "Only.Linked@Identity.Example"
    with psycopg.connect(dsn) as conn:
        conn.execute("create schema if not exists intermediate")
        conn.execute(
            """create table intermediate.int_identity__customer_map as
               select * from (values ('crm_contact_id', %s, 'K1', false), ('email', %s, 'K1', false),
                   ('email', 'someone@else.example', 'K2', false)) as m (identifier_type, identifier_value,
                   customer_key, is_size_capped)""",
            (contact, linked.lower()),
        )
        conn.execute(
            """create table intermediate.int_identity__customer_key_history as
               select identifier_type, identifier_value, customer_key from intermediate.int_identity__customer_map"""
        )
        conn.execute(
            """insert into raw.marketing__email_events
               select 'linked-' || event_id, campaign_id, campaign_name, message_id, %s, event_type, event_ts,
                   link_url, bounce_type, is_machine_open, 'marketing.email_events.linked', _source_location,
                   _record_number, _loaded_at, _data_interval_start, _data_interval_end, _unexpected_fields
               from raw.marketing__email_events limit 1""",
            (linked,),
        )
    scrubbed = erase_personal_data(dsn, "night-3", erased["night"] + timedelta(days=2))
    assert sum(t.get("raw.marketing__email_events", 0) for t in scrubbed.values()) == 1
    assert sum(t.get("intermediate.int_identity__customer_key_history", 0) for t in scrubbed.values()) == 1
    remaining = _rows(dsn, "select identifier_value from intermediate.int_identity__customer_key_history")
    assert sorted(r[0] for r in remaining) == sorted([contact, "someone@else.example"])
    assert _rows(dsn, "select count(*) from raw.marketing__email_events where email = %s", linked) == [(0,)]
