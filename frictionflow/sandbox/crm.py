"""The CRM as PostgreSQL: schema crm (contact, "case", consent, erasure_request) and role crm_reader.

Every row's full version history comes from the population and the day plans. Delivering through a day
upserts, for each row changed since the previous delivery, its state as of the cutoff (London midnight
ending that day). A version commits at its system_modstamp, or, for a late-committing transaction,
some minutes after midnight, so the cutoff does not see it but the next delivery does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from frictionflow.contracts import load_contract

from . import vocab
from .journeys import DayPlan
from .population import CONSENT_CHANNELS, CONSENT_PURPOSES, PHONE_FORMATS, Population
from .timeutil import pg_timestamps

SCHEMA = "crm"
READER_ROLE = "crm_reader"
CONTROL_SCHEMA = "sandbox_control"  # the company's own bookkeeping: not granted to the reader
ENTITIES = ("contact", "case", "consent", "erasure_request")
KEYS = {"contact": "contact_id", "case": "case_id", "consent": "consent_id", "erasure_request": "request_id"}
TIMESTAMP_COLUMNS = {
    "created_at", "system_modstamp", "first_response_at", "resolved_at", "closed_at", "captured_at", "requested_at"
}  # fmt: skip


class SandboxError(RuntimeError):
    """The sandbox cannot do what was asked (e.g. deliver a day earlier than already delivered)."""


def qualified(entity: str) -> sql.Composed:
    return sql.SQL("{}.{}").format(sql.Identifier(SCHEMA), sql.Identifier(entity))


# ---------------------------------------------------------------------------- versions
def version_frames(population: Population, plans: list[DayPlan]) -> dict[str, pd.DataFrame]:
    """Every version of every CRM row, contract columns plus `_commit` (ms) and `_late`; times in ms."""
    pop = population
    cv = pop.contact_versions.columns
    contact = cv["contact"]
    contacts = pd.DataFrame(
        {
            "contact_id": np.array(pop.contact_id, object)[contact],
            "first_name": cv["first_name"],
            "last_name": cv["last_name"],
            "email": cv["email"],
            "phone": cv["phone"],
            "country_code": np.array(vocab.COUNTRIES, object)[pop.country[pop.contact_person[contact]]],
            "created_at": pop.contact_created_ms[contact],
            "system_modstamp": cv["modstamp"],
            "is_deleted": cv["is_deleted"],
            "_commit": cv["commit"],
            "_late": cv["late"],
            "_change": cv["change"],
        }
    )
    kv = pop.consent_versions.columns
    consents = pd.DataFrame(
        {
            "consent_id": np.array(pop.consent_id, object)[kv["consent"]],
            "contact_id": np.array(pop.contact_id, object)[kv["contact"]],
            "purpose": np.array(CONSENT_PURPOSES, object)[kv["purpose"]],
            "status": np.array(["granted", "withdrawn"], object)[kv["status"]],
            "captured_at": kv["captured"],
            "channel": np.array(CONSENT_CHANNELS, object)[kv["channel"]],
            "system_modstamp": kv["modstamp"],
            "is_deleted": False,
            "_commit": kv["commit"],
            "_late": kv["late"],
        }
    )
    ev = pop.erasure_versions.columns
    erasures = pd.DataFrame(
        {
            "request_id": np.array(pop.erasure_request_id, object)[ev["request"]],
            "contact_id": np.array(pop.contact_id, object)[pop.erasure_contact[ev["request"]]],
            "requested_at": ev["requested"],
            "system_modstamp": ev["modstamp"],
            "is_deleted": False,
            "_commit": ev["commit"],
            "_late": ev["late"],
        }
    )
    return {"contact": contacts, "case": _case_versions(pop, plans), "consent": consents, "erasure_request": erasures}


def _case_versions(pop: Population, plans: list[DayPlan]) -> pd.DataFrame:
    frames = []
    contact_ids = np.array([*pop.contact_id, None], object)  # index -1 -> None (guest case)
    for plan in plans:
        cases, versions = plan.cases, plan.case_versions
        if not cases["case_id"]:
            continue
        idx = versions["case"]
        contact = np.asarray(cases["contact"], np.int64)[idx]
        frames.append(
            pd.DataFrame(
                {
                    "case_id": np.array(cases["case_id"], object)[idx],
                    "contact_id": contact_ids[contact],
                    "origin": np.array(cases["origin"], object)[idx],
                    "category": np.array(cases["category"], object)[idx],
                    "priority": np.array(cases["priority"], object)[idx],
                    "status": versions["status"],
                    "order_ref": np.array(cases["order_ref"], object)[idx],
                    "created_at": np.asarray(cases["created"], np.int64)[idx],
                    "first_response_at": versions["first_response"],
                    "resolved_at": versions["resolved"],
                    "closed_at": versions["closed"],
                    "reopen_count": versions["reopen_count"],
                    "system_modstamp": versions["modstamp"],
                    "is_deleted": versions["is_deleted"],
                    "_commit": versions["commit"],
                    "_late": versions["late"],
                }
            )
        )
    if not frames:
        columns = [c.name for c in load_contract("crm").entities["case"].columns] + ["_commit", "_late"]
        return pd.DataFrame({c: [] for c in columns})
    return pd.concat(frames, ignore_index=True)


def snapshot(versions: pd.DataFrame, key: str, cutoff_ms: int, since_ms: int | None) -> pd.DataFrame:
    """Each row's latest committed version at cutoff_ms; only rows with a commit after since_ms if given."""
    committed = versions[versions["_commit"] <= cutoff_ms]
    if since_ms is not None:
        changed = committed.loc[committed["_commit"] > since_ms, key].unique()
        committed = committed[committed[key].isin(changed)]
    ordered = committed.sort_values([key, "_commit", "system_modstamp"], kind="stable")
    return ordered.drop_duplicates(key, keep="last").reset_index(drop=True)


def quirk_records(population: Population, frames: dict[str, pd.DataFrame], cutoff_ms: int) -> list[dict]:
    """CRM quirks as of the cutoff: duplicates, late commits, soft deletes, typed emails and phones."""
    pop = population
    out: list[dict] = [
        {
            "quirk": "quoted_case_table",
            "system": "crm",
            "location": 'crm."case"',
            "occurred_at": None,
            "source_key": None,
            "person_id": None,
            "journey_id": None,
            "detail": "case is a reserved word: the table must be quoted",
        }
    ]
    contacts = frames["contact"]
    visible = set(contacts.loc[contacts["_commit"] <= cutoff_ms, "contact_id"])
    for c in np.flatnonzero(pop.contact_is_duplicate).tolist():
        cid = pop.contact_id[c]
        if cid in visible:
            person = int(pop.contact_person[c])
            primary = pop.contact_id[pop.primary_contact[person]]
            out.append(
                _crm(
                    "duplicate_contact",
                    "crm.contact",
                    pop.contact_created_ms[c],
                    cid,
                    pop.person_id[person],
                    f"same person as {primary}",
                )
            )
    for c in np.flatnonzero(pop.contact_email_messy).tolist():
        cid = pop.contact_id[c]
        if cid in visible:
            person = pop.person_id[pop.contact_person[c]]
            out.append(
                _crm(
                    "messy_email",
                    "crm.contact",
                    pop.contact_created_ms[c],
                    cid,
                    person,
                    "email typed with odd case or spaces",
                )
            )
    for c in np.flatnonzero(pop.contact_phone_format > 0).tolist():
        cid = pop.contact_id[c]
        if cid in visible:
            person = pop.person_id[pop.contact_person[c]]
            fmt = PHONE_FORMATS[pop.contact_phone_format[c]]
            out.append(_crm("free_format_phone", "crm.contact", pop.contact_created_ms[c], cid, person, fmt))
    for entity, frame in frames.items():
        key = KEYS[entity]
        table = 'crm."case"' if entity == "case" else f"crm.{entity}"
        late = frame[frame["_late"] & (frame["system_modstamp"] <= cutoff_ms)]
        for row in late.to_dict("records"):
            pending = row["_commit"] > cutoff_ms
            detail = f"committed {(row['_commit'] - row['system_modstamp']) // 1000} s after its system_modstamp"
            detail += "; not visible yet (next delivery)" if pending else ""
            out.append(_crm("late_commit", table, row["system_modstamp"], row[key], None, detail))
        deleted = frame[frame["is_deleted"] & (frame["_commit"] <= cutoff_ms)]
        for row in deleted.to_dict("records"):
            out.append(_crm("soft_delete", table, row["system_modstamp"], row[key], None, "is_deleted = true"))
    return out


def _crm(quirk: str, table: str, when: int, key: str, person: str | None, detail: str) -> dict:
    return {
        "quirk": quirk,
        "system": "crm",
        "location": table,
        "occurred_at": int(when),
        "source_key": key,
        "person_id": person,
        "journey_id": None,
        "detail": detail,
    }


# ---------------------------------------------------------------------------- the database
@dataclass
class CrmState:
    fingerprint: str
    delivered_through: date
    cutoff_ms: int


class CrmDatabase:
    """The sandbox's write access to its CRM database (the company's side, not the pipeline's)."""

    def __init__(self, admin_dsn: str) -> None:
        self.admin_dsn = admin_dsn
        self.dbname = conninfo_to_dict(admin_dsn).get("dbname")
        if not self.dbname:
            raise ValueError("crm_admin_dsn must name a database")

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.admin_dsn)

    def ensure(self) -> None:
        """Database, schema, tables, indexes and the read-only role; idempotent, safe to repeat."""
        maintenance = make_conninfo(self.admin_dsn, dbname="postgres")
        with psycopg.connect(maintenance, autocommit=True) as conn:
            if not conn.execute("select 1 from pg_database where datname = %s", (self.dbname,)).fetchone():
                try:
                    conn.execute(sql.SQL("create database {}").format(sql.Identifier(self.dbname)))
                except psycopg.errors.DuplicateDatabase:
                    pass
            _ensure_reader_role(conn)
        contract = load_contract("crm")
        with self.connect() as conn:
            conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(SCHEMA)))
            for entity in ENTITIES:
                spec = contract.entities[entity]
                columns = [
                    sql.SQL("{} {}{}").format(
                        sql.Identifier(c.name), sql.SQL(c.pg_type), sql.SQL("" if c.nullable else " not null")
                    )
                    for c in spec.columns
                ]
                columns.append(
                    sql.SQL("primary key ({})").format(sql.SQL(", ").join(map(sql.Identifier, spec.primary_key)))
                )
                conn.execute(
                    sql.SQL("create table if not exists {} ({})").format(qualified(entity), sql.SQL(", ").join(columns))
                )
                conn.execute(
                    sql.SQL("create index if not exists {} on {} (system_modstamp)").format(
                        sql.Identifier(f"{entity}_system_modstamp_idx"), qualified(entity)
                    )
                )
            conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(CONTROL_SCHEMA)))
            conn.execute(
                sql.SQL(
                    "create table if not exists {}.delivery"
                    " (singleton boolean primary key default true check (singleton), fingerprint text not null,"
                    " delivered_through date not null, cutoff timestamptz not null)"
                ).format(sql.Identifier(CONTROL_SCHEMA))
            )
            db = sql.Identifier(self.dbname)
            reader = sql.Identifier(READER_ROLE)
            conn.execute(sql.SQL("revoke all on database {} from public").format(db))
            conn.execute(sql.SQL("grant connect on database {} to {}").format(db, reader))
            conn.execute(sql.SQL("revoke all on schema {} from public").format(sql.Identifier(CONTROL_SCHEMA)))
            conn.execute(sql.SQL("grant usage on schema {} to {}").format(sql.Identifier(SCHEMA), reader))
            conn.execute(
                sql.SQL("grant select on all tables in schema {} to {}").format(sql.Identifier(SCHEMA), reader)
            )

    def state(self) -> CrmState | None:
        with self.connect() as conn:
            row = conn.execute(
                sql.SQL("select fingerprint, delivered_through, extract(epoch from cutoff) from {}.delivery").format(
                    sql.Identifier(CONTROL_SCHEMA)
                )
            ).fetchone()
        if row is None:
            return None
        return CrmState(row[0], row[1], int(round(float(row[2]) * 1000)))

    def upsert(self, rows: dict[str, pd.DataFrame], fingerprint: str, through: date, cutoff_ms: int) -> dict[str, int]:
        """One transaction: COPY each table's changed rows into a temp table, upsert, record the delivery."""
        contract = load_contract("crm")
        counts = {}
        with self.connect() as conn, conn.cursor() as cur:
            for entity, frame in rows.items():
                spec = contract.entities[entity]
                names = spec.column_names
                temp = sql.Identifier(f"incoming_{entity}")
                cur.execute(
                    sql.SQL("create temp table {} (like {} including defaults) on commit drop").format(
                        temp, qualified(entity)
                    )
                )
                values = _copy_columns(frame, names)
                with cur.copy(
                    sql.SQL("copy {} ({}) from stdin").format(temp, sql.SQL(", ").join(map(sql.Identifier, names)))
                ) as copy:
                    for record in zip(*values, strict=True):
                        copy.write_row(record)
                key = KEYS[entity]
                updates = sql.SQL(", ").join(
                    sql.SQL("{} = excluded.{}").format(sql.Identifier(n), sql.Identifier(n)) for n in names if n != key
                )
                target_cols = sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(n)) for n in names)
                excluded_cols = sql.SQL(", ").join(sql.SQL("excluded.{}").format(sql.Identifier(n)) for n in names)
                cur.execute(
                    sql.SQL(
                        "insert into {target} as t ({cols}) select {cols} from {temp}"
                        " on conflict ({key}) do update set {updates}"
                        " where t.system_modstamp <= excluded.system_modstamp and ({tcols}) is distinct from ({ecols})"
                    ).format(
                        target=qualified(entity),
                        cols=sql.SQL(", ").join(map(sql.Identifier, names)),
                        temp=temp,
                        key=sql.Identifier(key),
                        updates=updates,
                        tcols=target_cols,
                        ecols=excluded_cols,
                    )
                )
                counts[entity] = len(frame)
            cur.execute(
                sql.SQL(
                    "insert into {}.delivery (fingerprint, delivered_through, cutoff)"
                    " values (%s, %s, to_timestamp(%s / 1000.0))"
                    " on conflict (singleton) do update set fingerprint = excluded.fingerprint,"
                    " delivered_through = excluded.delivered_through, cutoff = excluded.cutoff"
                ).format(sql.Identifier(CONTROL_SCHEMA)),
                (fingerprint, through, cutoff_ms),
            )
        return counts


def _copy_columns(frame: pd.DataFrame, names: list[str]) -> list[list]:
    """Column lists ready for COPY: timestamps as text (NULL for NO_TIME), numpy scalars as Python values."""
    out = []
    for name in names:
        column = frame[name]
        if name in TIMESTAMP_COLUMNS:
            out.append(pg_timestamps(column.to_numpy(np.int64)))
        elif name in ("is_deleted",):
            out.append([bool(v) for v in column.tolist()])
        else:
            out.append([None if v is None or (isinstance(v, float) and np.isnan(v)) else v for v in column.tolist()])
    return out


def _ensure_reader_role(conn: psycopg.Connection) -> None:
    """crm_reader: LOGIN, no password (trust auth here), read-only by default. Cluster-wide: created once."""
    exists = conn.execute("select rolconfig from pg_roles where rolname = %s", (READER_ROLE,)).fetchone()
    if exists is None:
        try:
            conn.execute(
                sql.SQL("create role {} login nosuperuser nocreatedb nocreaterole noinherit").format(
                    sql.Identifier(READER_ROLE)
                )
            )
        except (psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation):
            pass  # another session created it a moment ago
        exists = (None,)
    if not exists[0] or "default_transaction_read_only=on" not in exists[0]:
        try:
            conn.execute(
                sql.SQL("alter role {} set default_transaction_read_only = on").format(sql.Identifier(READER_ROLE))
            )
        except psycopg.errors.InternalError:
            pass  # "tuple concurrently updated": someone else just did the same
