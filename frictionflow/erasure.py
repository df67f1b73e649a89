"""Right to erasure: every personal attribute of an erased customer leaves the raw layer, every night.

crm.yml: within the next nightly run after an erasure request, every personal attribute of the contact, and
of every identity resolved to the same customer, must be removed from the warehouse (raw layer included) and
from every published table; aggregate counts may stay. The nightly task `erase_personal_data` runs after the
pulls and before the raw gate and dbt, so dbt rebuilds staging and the marts from scrubbed rows. It is
idempotent and re-applies every request received so far, every night: rows of an erased customer delivered
again (a lookback, a re-delivered file set, an updated contact-centre interaction) or late are scrubbed too.

1. **Requests**: every erasure request the CRM has delivered (`raw.crm__erasure_request`, any version: a
   request soft-deleted later is still honoured, an erasure cannot be taken back).
2. **Identifiers of the person**, kept in `restricted.erased_identifiers` so that they outlive the rows they
   were found in: keys (CRM contact id, ERP customer number, MDM golden id, web anonymous id) as they are,
   since keys are not personal attributes in the contracts and stay on the rows for the aggregates; emails
   (lower-cased, trimmed) and phone numbers (their last 9 digits) only as keyed hashes
   (`restricted.pseudonymise`), never in clear. Found, until nothing new turns up, from: the request's
   contact; the identity map of the previous night (`intermediate.int_identity__customer_map`, when it
   exists: not on a first night); MDM golden records listing a known CRM contact in the latest snapshot that
   lists it, records merged into a known one and the survivor it was merged into (see MDM_LINKS); the emails
   and phones on every raw row of a known key; the devices (anonymous ids) that logged in as a known contact.
3. **Scrub**: in every raw table with a column marked `pii: true` in its contract, every row carrying a known
   key, email or phone gets each pii column set to null, or, where the contract says not null, to a marker
   (text `erased:<request_id>`, arrays `[]`, objects `{}`), and `_unexpected_fields` (fields outside the
   contract: unknown content) to null. Updates only: row counts, keys, batches and the load ledger stay.
4. **Quarantine**: `meta.quarantine` rows whose raw text carries a known key, email or phone lose `raw_record`
   (set to null) and the quoted values in `reason` (the contract check quotes the offending value).
5. **Log**: `meta.erasure_log`, one row per request, table and night: rows scrubbed, and the run that did it.

Rows matched by an email or phone alone are scrubbed but add no keys: a shared household phone must not
erase the other person's whole record. Staging, intermediate and marts are dbt tables rebuilt each night
from raw, so they follow; `dim_customer_context` also drops erased customers. The sandbox CRM is the
company's system, not the warehouse's: untouched.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg import sql

from frictionflow.contracts import Entity, all_systems, load_contract

log = logging.getLogger(__name__)

IDENTIFIERS_TABLE = "restricted.erased_identifiers"
LOG_TABLE = "meta.erasure_log"
MARKER_PREFIX = "erased:"
KEY_TYPES = ("crm_contact_id", "erp_customer_no", "mdm_golden_id", "anonymous_id")
# The previous night's identity resolution (dbt, intermediate schema): source identifier -> customer.
IDENTITY_MAP = ("intermediate", "int_identity__customer_map")
# Its incremental memory of identifiers across nights (emails and phones included).
IDENTITY_HISTORY = ("intermediate", "int_identity__customer_key_history")
MAX_ROUNDS = 10


@dataclass(frozen=True)
class RowIdentifier:
    """A value on a raw row that identifies its person: a key, an email or a phone (a jsonb array if `array`)."""

    kind: str  # one of KEY_TYPES, "email" or "phone"
    expression: str  # SQL on the raw row, aliased `t`
    array: bool = False


# Where each raw table with personal data carries its person's identifiers.
ROW_IDENTIFIERS: dict[str, tuple[RowIdentifier, ...]] = {
    "crm__contact": (
        RowIdentifier("crm_contact_id", "t.contact_id"),
        RowIdentifier("email", "t.email"),
        RowIdentifier("phone", "t.phone"),
    ),
    "erp__customers": (
        RowIdentifier("erp_customer_no", "t.customer_no"),
        RowIdentifier("email", "t.email"),
        RowIdentifier("phone", "t.phone"),
    ),
    "mdm__golden_customer": (
        RowIdentifier("mdm_golden_id", "t.golden_id"),
        RowIdentifier("email", "t.primary_email"),
        RowIdentifier("email", "t.emails", array=True),
        RowIdentifier("phone", "t.primary_phone"),
        RowIdentifier("phone", "t.phones", array=True),
    ),
    "contact_center__interaction": (
        RowIdentifier("crm_contact_id", "t.customer ->> 'crm_contact_id'"),
        RowIdentifier("email", "t.customer ->> 'email'"),
        RowIdentifier("phone", "t.customer ->> 'phone'"),
    ),
    "marketing__email_events": (RowIdentifier("email", "t.email"),),
    "web_analytics__event": (
        RowIdentifier("crm_contact_id", "t.user_id"),
        RowIdentifier("anonymous_id", "t.anonymous_id"),
    ),
}


def normalised_email_sql(value: str) -> str:
    """Same as the dbt macro normalise_email: lower-cased, trimmed, blank -> null."""
    return f"nullif(lower(regexp_replace({value}, '^\\s+|\\s+$', '', 'g')), '')"


def phone_key_sql(value: str) -> str:
    """A phone number's last 9 digits, after an extension is dropped: the subscriber number however it was
    typed ('+44 (0)20 7946 0018', '020 7946-0018', '0044 ...', '+44-20-...'); null under 9 digits.

    Deliberately not the dbt macro normalise_phone_e164: this key has to match every spelling of a number
    that ever reached the warehouse, and must not change when the macro learns a new spelling.
    """
    digits = (
        f"regexp_replace(regexp_replace({value}, '\\s*(extension|extn|ext|x|#)[.:]?\\s*[0-9]{{1,6}}\\s*$', '', 'i'),"
        " '[^0-9]', '', 'g')"
    )
    return f"(case when length({digits}) >= 9 then right({digits}, 9) end)"


def identifier_sql(kind: str, value: str) -> tuple[str, str]:
    """(identifier_type, SQL of the stored identifier) for a raw value: keys as they are, contact details hashed."""
    if kind == "email":
        return "email_hash", f"restricted.pseudonymise('email:' || {normalised_email_sql(value)})"
    if kind == "phone":
        return "phone_hash", f"restricted.pseudonymise('phone:' || {phone_key_sql(value)})"
    return kind, value


def _identifiers_lateral(identifiers: tuple[RowIdentifier, ...]) -> str:
    """A lateral subquery giving (identifier_type, identifier) for every identifier on the row `t`."""
    parts = []
    for ident in identifiers:
        if ident.array:
            kind, expression = identifier_sql(ident.kind, "x.value")
            elements = f"jsonb_array_elements_text({ident.expression}) as x (value)"
            parts.append(f"select '{kind}', {expression} from {elements}")
        else:
            kind, expression = identifier_sql(ident.kind, ident.expression)
            parts.append(f"select '{kind}', {expression}")
    return "(" + " union all ".join(parts) + ")"


def pii_entities() -> list[Entity]:
    """Every contract entity with a column marked `pii: true`."""
    entities = [
        entity
        for system in all_systems()
        for entity in load_contract(system).entities.values()
        if any(c.pii for c in entity.columns)
    ]
    unknown = [e.raw_table for e in entities if e.raw_table not in ROW_IDENTIFIERS]
    if unknown:
        raise ValueError(f"contracts with pii columns but no way to recognise their person: {unknown}")
    return entities


def _scrubbed_value(column) -> sql.Composable:
    if column.nullable:
        return sql.SQL("null")
    if column.type == "string":
        return sql.SQL("{} || hits.request_id").format(sql.Literal(MARKER_PREFIX))
    if column.type.startswith("array"):
        return sql.SQL("'[]'::jsonb")
    if column.type == "object":
        return sql.SQL("'{}'::jsonb")
    raise ValueError(f"no erasure marker for a non-nullable pii column of type {column.type}: {column.name}")


def _is_scrubbed(column) -> sql.Composable:
    c = sql.Identifier("t", column.name)
    if column.nullable:
        return sql.SQL("{} is null").format(c)
    if column.type == "string":
        return sql.SQL("starts_with({}, {})").format(c, sql.Literal(MARKER_PREFIX))
    if column.type.startswith("array"):
        return sql.SQL("{} = '[]'::jsonb").format(c)
    return sql.SQL("{} = '{{}}'::jsonb").format(c)


def _not_yet_scrubbed(entity: Entity) -> sql.Composable:
    pii = [c for c in entity.columns if c.pii]
    return sql.SQL("not ({} and t._unexpected_fields is null)").format(
        sql.SQL(" and ").join(_is_scrubbed(c) for c in pii)
    )


def scrub_statement(entity: Entity) -> sql.Composable:
    """Scrub the table's unscrubbed rows that carry a known identifier; returns (request_id, rows) per request."""
    pii = [c for c in entity.columns if c.pii]
    assignments = sql.SQL(", ").join(
        [sql.SQL("{} = {}").format(sql.Identifier(c.name), _scrubbed_value(c)) for c in pii]
        + [sql.SQL("_unexpected_fields = null")]
    )
    return sql.SQL(
        """with identified as (
               select t.ctid as row_id, v.identifier_type, v.identifier
               from {table} as t
               cross join lateral {lateral} as v (identifier_type, identifier)
               where {unscrubbed}
           ),
           hits as (
               select identified.row_id, min(known.request_id) as request_id
               from identified
               inner join {identifiers} as known
                   on identified.identifier_type = known.identifier_type
                   and identified.identifier = known.identifier
               group by identified.row_id
           ),
           scrubbed as (
               update {table} as t set {assignments}
               from hits where t.ctid = hits.row_id
               returning hits.request_id
           )
           select request_id, count(*) from scrubbed group by request_id"""
    ).format(
        table=sql.SQL(entity.qualified_raw_table),
        lateral=sql.SQL(_identifiers_lateral(ROW_IDENTIFIERS[entity.raw_table])),
        unscrubbed=_not_yet_scrubbed(entity),
        identifiers=sql.SQL(IDENTIFIERS_TABLE),
        assignments=assignments,
    )


def _contact_details_statement(entity: Entity) -> sql.SQL | None:
    """The emails and phones on every row of a known key become identifiers of the key's person."""
    idents = ROW_IDENTIFIERS[entity.raw_table]
    keys = tuple(i for i in idents if i.kind in KEY_TYPES)
    details = tuple(i for i in idents if i.kind not in KEY_TYPES)
    if not keys or not details:
        return None
    return sql.SQL(
        """insert into {identifiers} (request_id, identifier_type, identifier, found_in, data_interval_start)
           select distinct known.request_id, v.identifier_type, v.identifier, {found_in}, %(night)s
           from {table} as t
           cross join lateral {keys} as k (identifier_type, identifier)
           inner join {identifiers} as known
               on k.identifier_type = known.identifier_type and k.identifier = known.identifier
           cross join lateral {details} as v (identifier_type, identifier)
           where v.identifier is not null
           on conflict do nothing"""
    ).format(
        identifiers=sql.SQL(IDENTIFIERS_TABLE),
        found_in=sql.Literal(f"raw.{entity.raw_table}"),
        table=sql.SQL(entity.qualified_raw_table),
        keys=sql.SQL(_identifiers_lateral(keys)),
        details=sql.SQL(_identifiers_lateral(details)),
    )


INSERT_IDENTIFIERS = (
    f"insert into {IDENTIFIERS_TABLE} (request_id, identifier_type, identifier, found_in, data_interval_start)"
)

REQUESTED_CONTACTS = f"""
{INSERT_IDENTIFIERS}
select distinct request_id, 'crm_contact_id', contact_id, 'raw.crm__erasure_request', %(night)s
from raw.crm__erasure_request
on conflict do nothing
"""

# MDM's own links: for each known CRM contact, the golden records of the latest snapshot that lists it (an
# erased person leaves the next snapshot), the records merged into a known golden record and the survivor a
# known one was merged into; then every source key of those records' latest versions. ERP keys do not lead
# to golden records: MDM links an ERP key to the wrong person until it corrects it (a split), and following
# that link would erase someone else (identity resolution, from the second night, knows contradicted links).
MDM_KEY_TYPE = "case k.value ->> 'system' when 'crm' then 'crm_contact_id' when 'erp' then 'erp_customer_no' end"
MDM_LINKS = f"""
with source_keys as (
    select g.golden_id, g._batch_id, {MDM_KEY_TYPE} as identifier_type, k.value ->> 'key' as identifier
    from raw.mdm__golden_customer as g
    cross join lateral jsonb_array_elements(g.source_keys) as k (value)
),
listing as (
    select known.request_id, source_keys.golden_id,
        rank() over (
            partition by known.request_id, known.identifier_type, known.identifier order by source_keys._batch_id desc
        ) as recency
    from source_keys
    inner join {IDENTIFIERS_TABLE} as known
        on source_keys.identifier_type = known.identifier_type and source_keys.identifier = known.identifier
    where known.identifier_type = 'crm_contact_id'
),
golden as (
    select request_id, golden_id from listing where recency = 1
    union
    select known.request_id, g.golden_id
    from raw.mdm__golden_customer as g
    inner join {IDENTIFIERS_TABLE} as known
        on known.identifier_type = 'mdm_golden_id' and g.merged_into = known.identifier
    union
    select known.request_id, g.merged_into
    from raw.mdm__golden_customer as g
    inner join {IDENTIFIERS_TABLE} as known
        on known.identifier_type = 'mdm_golden_id' and g.golden_id = known.identifier
    where g.merged_into is not null
    union
    select request_id, identifier from {IDENTIFIERS_TABLE} where identifier_type = 'mdm_golden_id'
),
latest as (
    select distinct on (golden.request_id, golden.golden_id) golden.request_id, g.golden_id, g.source_keys
    from golden
    inner join raw.mdm__golden_customer as g on golden.golden_id = g.golden_id
    order by golden.request_id, golden.golden_id, g._batch_id desc
)
{INSERT_IDENTIFIERS}
select distinct request_id, 'mdm_golden_id', golden_id, 'raw.mdm__golden_customer', %(night)s::timestamptz from latest
union
select distinct latest.request_id, {MDM_KEY_TYPE}, k.value ->> 'key', 'raw.mdm__golden_customer', %(night)s::timestamptz
from latest
cross join lateral jsonb_array_elements(latest.source_keys) as k (value)
where k.value ->> 'system' in ('crm', 'erp') and k.value ->> 'key' is not null
on conflict do nothing
"""

# Devices that logged in as a known contact are that person's (a shared device loses its IP addresses too).
WEB_DEVICES = f"""
{INSERT_IDENTIFIERS}
select distinct known.request_id, 'anonymous_id', e.anonymous_id, 'raw.web_analytics__event', %(night)s
from raw.web_analytics__event as e
inner join {IDENTIFIERS_TABLE} as known on known.identifier_type = 'crm_contact_id' and e.user_id = known.identifier
on conflict do nothing
"""

# Quarantined records: raw text (JSON line, CSV record, API object). A record is the person's when it contains
# a known key, or an email or phone-like run of characters that normalises to a known one.
EMAIL_PATTERN = "[[:alnum:]._+-]+@[[:alnum:].-]+"
PHONE_PATTERN = r"[+(]?[0-9][0-9 ()./-]{6,}[0-9]"
# The contract checks quote the offending value in the reason ('...' or "..." as Python's repr does).
QUOTED_VALUES_ERASED = "regexp_replace(q.reason, '''[^'']*''|\"[^\"]*\"', '''[erased]''', 'g')"
QUARANTINE_HITS = f"""
with candidates as (
    select q.ctid as row_id, known.request_id
    from meta.quarantine as q
    inner join {IDENTIFIERS_TABLE} as known
        on known.identifier_type in ('crm_contact_id', 'erp_customer_no', 'mdm_golden_id', 'anonymous_id')
        and strpos(concat_ws(' ', q.raw_record, q.reason), known.identifier) > 0
    union all
    select q.ctid, known.request_id
    from meta.quarantine as q
    cross join lateral regexp_matches(concat_ws(' ', q.raw_record, q.reason), '{EMAIL_PATTERN}', 'g') as m (found)
    inner join {IDENTIFIERS_TABLE} as known
        on known.identifier_type = 'email_hash'
        and known.identifier = {identifier_sql("email", "m.found[1]")[1]}
    union all
    select q.ctid, known.request_id
    from meta.quarantine as q
    cross join lateral regexp_matches(concat_ws(' ', q.raw_record, q.reason), '{PHONE_PATTERN}', 'g') as m (found)
    inner join {IDENTIFIERS_TABLE} as known
        on known.identifier_type = 'phone_hash'
        and known.identifier = {identifier_sql("phone", "m.found[1]")[1]}
),
hits as (select row_id, min(request_id) as request_id from candidates group by row_id),
scrubbed as (
    update meta.quarantine as q
    set raw_record = null, reason = {QUOTED_VALUES_ERASED}
    from hits where q.ctid = hits.row_id and (q.raw_record is not null or q.reason <> {QUOTED_VALUES_ERASED})
    returning hits.request_id
)
select request_id, count(*) from scrubbed group by request_id
"""


def erase_personal_data(warehouse_dsn: str, run_id: str, interval_start: datetime) -> dict[str, dict[str, int]]:
    """Apply every erasure request received so far; returns rows scrubbed tonight, per request and table."""
    night = {"night": interval_start}
    scrubbed: dict[str, dict[str, int]] = {}
    with psycopg.connect(warehouse_dsn) as conn, conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('frictionflow.erasure'))")
        requests = [r[0] for r in conn.execute("select distinct request_id from raw.crm__erasure_request")]
        if not requests:
            return {}
        entities = pii_entities()
        link_statements = [sql.SQL(REQUESTED_CONTACTS), sql.SQL(MDM_LINKS), sql.SQL(WEB_DEVICES)]
        link_statements += [s for e in entities if (s := _contact_details_statement(e)) is not None]
        identity_map = _identity_map_statement(conn)
        if identity_map is not None:
            link_statements.append(identity_map)
        for _ in range(MAX_ROUNDS):
            found = sum(conn.execute(statement, night).rowcount for statement in link_statements)
            if not found:
                break
        else:
            raise RuntimeError(f"erasure: identifiers still growing after {MAX_ROUNDS} rounds")
        for entity in entities:
            table = f"raw.{entity.raw_table}"
            for request_id, rows in conn.execute(scrub_statement(entity)).fetchall():
                scrubbed.setdefault(request_id, {})[table] = rows
        for request_id, rows in conn.execute(sql.SQL(QUARANTINE_HITS)).fetchall():
            scrubbed.setdefault(request_id, {})["meta.quarantine"] = rows
        history = ".".join(IDENTITY_HISTORY)
        for request_id, rows in _forget_identity_history(conn).items():
            scrubbed.setdefault(request_id, {})[history] = rows
        tables = [f"raw.{e.raw_table}" for e in entities] + ["meta.quarantine", history]
        for request_id in requests:
            for table in tables:
                _log(conn, request_id, table, scrubbed.get(request_id, {}).get(table, 0), run_id, interval_start)
    for request_id, tables_scrubbed in sorted(scrubbed.items()):
        log.info("erasure request %s: %s", request_id, tables_scrubbed)
    return scrubbed


def _log(conn: psycopg.Connection, request_id: str, table: str, rows: int, run_id: str, night: datetime) -> None:
    """One row per request, table and night; running it again that night adds what it scrubbed: nothing, or the
    rows a re-run of the night reloaded (scrubbed to the same values: the raw layer ends up the same)."""
    conn.execute(
        f"""insert into {LOG_TABLE} (request_id, table_name, data_interval_start, rows_scrubbed, run_id)
            values (%s, %s, %s, %s, %s)
            on conflict (request_id, table_name, data_interval_start) do update
            set rows_scrubbed = {LOG_TABLE}.rows_scrubbed + excluded.rows_scrubbed,
                run_id = case when excluded.rows_scrubbed > 0 then excluded.run_id else {LOG_TABLE}.run_id end""",
        (request_id, table, night, rows, run_id),
    )


def _relation_columns(conn: psycopg.Connection, schema: str, table: str) -> set[str]:
    rows = conn.execute(
        "select column_name from information_schema.columns where table_schema = %s and table_name = %s",
        (schema, table),
    ).fetchall()
    return {r[0] for r in rows}


# The identity models' identifier types, as this module stores them.
_MAPPED_TYPE = (
    "case m.identifier_type when 'golden_id' then 'mdm_golden_id' when 'email' then 'email_hash'"
    " when 'phone' then 'phone_hash' else m.identifier_type end"
)
_MAPPED_IDENTIFIER = (
    f"case m.identifier_type when 'email' then {identifier_sql('email', 'm.identifier_value')[1]}"
    f" when 'phone' then {identifier_sql('phone', 'm.identifier_value')[1]} else m.identifier_value end"
)
_MAPPED_TYPES = "('crm_contact_id', 'erp_customer_no', 'golden_id', 'anonymous_id', 'email', 'phone')"


def _identity_map_statement(conn: psycopg.Connection) -> sql.Composable | None:
    """Every identifier the previous night's identity resolution gave the customer of a known one (None on a
    first night, before dbt built the map). A customer from an over-size component is not trusted."""
    columns = _relation_columns(conn, *IDENTITY_MAP)
    if not {"identifier_type", "identifier_value", "customer_key"} <= columns:
        return None
    trusted = "not m.is_size_capped" if "is_size_capped" in columns else "true"
    return sql.SQL(
        f"""with mapped as (
               select m.customer_key, {_MAPPED_TYPE} as identifier_type, {_MAPPED_IDENTIFIER} as identifier
               from {IDENTITY_MAP[0]}.{IDENTITY_MAP[1]} as m
               where m.identifier_type in {_MAPPED_TYPES} and {trusted}
           ),
           customers as (
               select distinct known.request_id, mapped.customer_key
               from mapped
               inner join {IDENTIFIERS_TABLE} as known
                   on mapped.identifier_type = known.identifier_type and mapped.identifier = known.identifier
           )
           {INSERT_IDENTIFIERS}
           select distinct customers.request_id, mapped.identifier_type, mapped.identifier,
               '{IDENTITY_MAP[0]}.{IDENTITY_MAP[1]}', %(night)s
           from customers
           inner join mapped on customers.customer_key = mapped.customer_key
           where mapped.identifier is not null
           on conflict do nothing"""
    )


def _forget_identity_history(conn: psycopg.Connection) -> dict[str, int]:
    """The identity key history is an incremental dbt model: it keeps the emails and phones it has seen across
    nights, so rebuilding from scrubbed raw does not clear them. Their versions go; keys stay."""
    columns = _relation_columns(conn, *IDENTITY_HISTORY)
    if not {"identifier_type", "identifier_value"} <= columns:
        return {}
    history = ".".join(IDENTITY_HISTORY)
    rows = conn.execute(
        sql.SQL(
            f"""with hits as (
                   select m.ctid as row_id, min(known.request_id) as request_id
                   from {history} as m
                   inner join {IDENTIFIERS_TABLE} as known
                       on known.identifier_type = {_MAPPED_TYPE} and known.identifier = {_MAPPED_IDENTIFIER}
                   where m.identifier_type in ('email', 'phone')
                   group by m.ctid
               ),
               forgotten as (
                   delete from {history} as m using hits where m.ctid = hits.row_id returning hits.request_id
               )
               select request_id, count(*) from forgotten group by request_id"""
        )
    ).fetchall()
    return dict(rows)
