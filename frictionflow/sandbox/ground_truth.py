"""What the sandbox meant, written beside the deliveries for scoring (the pipeline never reads it).

Written as of a delivery: entities that exist by its cutoff, with their planned outcome even when that
lies after it. Format and columns: README.md in this package.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from . import logistics, vocab
from .cases import SLA_HOURS
from .config import TURBULENCE_DESCRIPTION, TURBULENCE_EFFECTS, WARMUP_DAYS, SandboxConfig
from .journeys import DayPlan
from .population import NEVER, NO_TIME, Population
from .timeutil import iso_utc_z, local_midnight_ms
from .web_analytics import QUIRK_COLUMNS


def _iso(values: np.ndarray | list) -> list[str | None]:
    arr = np.asarray(values, np.int64)
    valid = (arr != NO_TIME) & (arr != NEVER)
    text = iso_utc_z(np.where(valid, arr, 0))
    return [t if ok else None for t, ok in zip(text, valid.tolist(), strict=True)]


def _write_csv(frame: pd.DataFrame, path: Path) -> int:
    tmp = path.with_name(f".{path.name}.tmp")
    frame.to_csv(tmp, index=False, lineterminator="\n")
    os.replace(tmp, path)
    return len(frame)


def _write_json(data: dict, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


def persons_and_identities(
    pop: Population, contacts: pd.DataFrame, crm_cutoff: int, web_cutoff: int, extra: list[pd.DataFrame] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`extra`: other systems' identifiers, columns person (index), system, identifier_type, value,
    normalised_value, source_key, first_seen (ms)."""
    committed = contacts[contacts["_commit"] <= crm_cutoff]
    contact_index = pd.Series(np.arange(pop.n_contacts), index=pop.contact_id)
    person_of = np.asarray(pop.contact_person)[contact_index[committed["contact_id"]].to_numpy()]
    committed = committed.assign(person=person_of)
    parts = []
    first = committed.groupby("contact_id", sort=True).agg(person=("person", "first"), first_seen=("_commit", "min"))
    parts.append(
        pd.DataFrame(
            {
                "person": first["person"].to_numpy(),
                "system": "crm",
                "identifier_type": "crm_contact_id",
                "value": first.index.to_numpy(),
                "normalised_value": first.index.to_numpy(),
                "source_key": first.index.to_numpy(),
                "first_seen": first["first_seen"].to_numpy(),
            }
        )
    )
    canonical_phone = np.array([pop.canonical_phone(p) for p in range(pop.n_persons)], object)
    for column in ("email", "phone"):
        seen = committed.dropna(subset=[column]).drop_duplicates(["contact_id", column])
        values = seen[column].to_numpy(object)
        if column == "email":
            normal = np.array([v.strip().lower() for v in values], object)
        else:
            normal = canonical_phone[seen["person"].to_numpy(np.int64)]
        parts.append(
            pd.DataFrame(
                {
                    "person": seen["person"].to_numpy(),
                    "system": "crm",
                    "identifier_type": column,
                    "value": values,
                    "normalised_value": normal,
                    "source_key": seen["contact_id"].to_numpy(),
                    "first_seen": seen["system_modstamp"].to_numpy(),
                }
            )
        )
    devices = np.flatnonzero(pop.device_first_seen_ms < web_cutoff)
    anon = np.array(pop.anonymous_id, object)[devices]
    parts.append(
        pd.DataFrame(
            {
                "person": pop.device_person[devices],
                "system": "web_analytics",
                "identifier_type": "anonymous_id",
                "value": anon,
                "normalised_value": anon,
                "source_key": None,
                "first_seen": np.where(
                    pop.device_first_seen_ms[devices] > 0, pop.device_first_seen_ms[devices], NO_TIME
                ),
            }
        )
    )
    parts += [frame for frame in extra or [] if len(frame)]
    identities = pd.concat(parts, ignore_index=True)
    identities.insert(0, "person_id", np.array(pop.person_id, object)[identities["person"].to_numpy(np.int64)])
    identities["first_seen_at"] = _iso(identities["first_seen"].to_numpy(np.int64))
    identities = identities.sort_values(["person_id", "system", "identifier_type", "value"], kind="stable")

    def joined(kind: str) -> list[str]:
        rows = identities[identities["identifier_type"] == kind]
        lists: list[list[str]] = [[] for _ in range(pop.n_persons)]
        for person, value in zip(rows["person"].tolist(), rows["normalised_value"].tolist(), strict=True):
            if value not in lists[person]:
                lists[person].append(value)
        return [";".join(values) for values in lists]

    n = pop.n_persons
    erased = np.where(pop.erased_ms <= crm_cutoff, pop.erased_ms, NO_TIME)
    request_of = dict(zip(pop.erasure_person.tolist(), pop.erasure_request_id, strict=True))
    signed = np.where(pop.signup_ms <= crm_cutoff, pop.signup_ms, NO_TIME)
    persons = pd.DataFrame(
        {
            "person_id": pop.person_id,
            "kind": np.where(pop.is_customer, "customer", "prospect"),
            "first_name": pop.first_name,
            "last_name": pop.last_name,
            "country_code": np.array(vocab.COUNTRIES, object)[pop.country],
            "segment": np.where(pop.small_business, "small_business", "consumer"),
            "birth_year": pop.birth_year,
            "new_customer": pop.is_new_customer,
            "signed_up_at": _iso(signed),
            "erased_at": _iso(erased),
            "erasure_request_id": [request_of.get(p) if erased[p] != NO_TIME else None for p in range(n)],
            "crm_contact_ids": joined("crm_contact_id"),
            "emails": joined("email"),
            "phones": joined("phone"),
            "anonymous_ids": joined("anonymous_id"),
        }
    )
    return persons, identities.drop(columns=["person", "first_seen"])


def journeys_frame(pop: Population, plans: list[DayPlan], cutoff: int) -> pd.DataFrame:
    frames = []
    contact_ids = np.array([*pop.contact_id, None], object)
    for plan in plans:
        j = plan.journeys
        if not j["journey_id"]:
            continue
        start = np.asarray(j["start"], np.int64)
        keep = np.flatnonzero(start < cutoff)
        parent = np.asarray(j["parent"], np.int64)
        ids = np.array(j["journey_id"], object)
        frame = pd.DataFrame(
            {
                "journey_id": ids,
                "person_id": np.array(pop.person_id, object)[np.asarray(j["person"], np.int64)],
                "journey_type": j["type"],
                "start_at": _iso(start),
                "end_at": _iso(j["end"]),
                "outcome": j["outcome"],
                "abandon_reason": j["reason"],
                "parent_journey_id": np.where(parent >= 0, ids[np.maximum(parent, 0)], None),
                "channels": j["platforms"],
                "crm_contact_id": contact_ids[np.asarray(j["contact"], np.int64)],
                "order_no": j["order_no"],
                "case_id": j["case_id"],
                "frictions": j["frictions"],
                "turbulent": j["turbulent"],
                "ends_after_cutoff": np.asarray(j["end"], np.int64) >= cutoff,
            }
        )
        frames.append(frame.iloc[keep])
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def orders_frame(pop: Population, plans: list[DayPlan], cutoff: int) -> pd.DataFrame:
    contact_ids = np.array([*pop.contact_id, None], object)
    frames = []
    for plan in plans:
        o = plan.orders
        if not o["order_no"]:
            continue
        at = np.asarray(o["ordered_at"], np.int64)
        contact = np.asarray(o["contact"], np.int64)
        frame = pd.DataFrame(
            {
                "order_no": o["order_no"],
                "person_id": np.array(pop.person_id, object)[np.asarray(o["person"], np.int64)],
                "crm_contact_id": contact_ids[contact],
                "guest": contact < 0,
                "journey_id": np.array(plan.journeys["journey_id"], object)[np.asarray(o["journey"], np.int64)],
                "ordered_at": _iso(at),
                "platform": o["platform"],
                "total": [f"{t:.2f}" for t in o["total"]],
                "lines": [
                    json.dumps([{"sku": s, "quantity": q, "unit_price": f"{p:.2f}"} for s, q, p in lines])
                    for lines in o["lines"]
                ],
            }
        )
        frames.append(frame[at < cutoff])
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def cases_frames(pop: Population, plans: list[DayPlan], cutoff: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    contact_ids = np.array([*pop.contact_id, None], object)
    cases, versions = [], []
    for plan in plans:
        c, v = plan.cases, plan.case_versions
        if not c["case_id"]:
            continue
        created = np.asarray(c["created"], np.int64)
        ids = np.array(c["case_id"], object)
        first_commit = pd.Series(v["commit"]).groupby(v["case"]).min().reindex(range(len(ids))).to_numpy()
        frame = pd.DataFrame(
            {
                "case_id": ids,
                "person_id": np.array(pop.person_id, object)[np.asarray(c["person"], np.int64)],
                "crm_contact_id": contact_ids[np.asarray(c["contact"], np.int64)],
                "journey_id": np.array(plan.journeys["journey_id"], object)[np.asarray(c["journey"], np.int64)],
                "origin": c["origin"],
                "category": c["category"],
                "priority": c["priority"],
                "order_ref": c["order_ref"],
                "created_at": _iso(created),
                "first_response_at": _iso(c["first_response"]),
                "resolved_at": _iso(c["resolved"]),
                "closed_at": _iso(c["closed"]),
                "reopen_count": c["reopen_count"],
                "sla_hours": c["sla_hours"],
                "standard_due_at": _iso(c["standard_due"]),
                "resolved_late": c["resolved_late"],
                "soft_deleted": c["deleted"],
                "duplicate_of": c["duplicate_of"],
                "visible_in_crm": first_commit <= cutoff,
                "turbulent": plan.turbulent,
            }
        )
        cases.append(frame[created <= cutoff])
        stamp = np.asarray(v["modstamp"], np.int64)
        case_idx = np.asarray(v["case"], np.int64)
        version_no = pd.Series(case_idx).groupby(case_idx).cumcount().to_numpy() + 1
        vf = pd.DataFrame(
            {
                "case_id": ids[case_idx],
                "version": version_no,
                "status": v["status"],
                "reopen_count": v["reopen_count"],
                "is_deleted": v["is_deleted"],
                "system_modstamp": _iso(stamp),
                "committed_at": _iso(v["commit"]),
                "late_commit": v["late"],
                "visible_by_cutoff": np.asarray(v["commit"], np.int64) <= cutoff,
            }
        )
        versions.append(vf[stamp <= cutoff])
    if not cases:
        return pd.DataFrame(), pd.DataFrame()
    return pd.concat(cases, ignore_index=True), pd.concat(versions, ignore_index=True)


def turbulence(config: SandboxConfig) -> dict:
    if config.turbulent_from is None:
        return {"start_date": None, "end_date": None, "description": "no turbulent period configured"}
    result = {
        "start_date": config.turbulent_from.isoformat(),
        "end_date": config.end_date.isoformat(),
        "description": TURBULENCE_DESCRIPTION,
        "disrupts": {
            "web_analytics": [
                "checkout_failed (reasons processor_unavailable, payment_timeout)",
                "error_shown on payment",
            ],
            "crm": [
                "more billing cases",
                "more high-priority billing cases",
                "slower first response",
                "slower resolution",
            ],
            "contact_center": [
                "more billing contacts after failed checkouts (queue billing)",
                "the chatbot has no answer for payment problems more often (bot_outcome no_match)",
                "understaffed queues: longer waits everywhere, longest in billing",
                "more callers giving up in the queue or accepting a callback",
            ],
            "erp": [
                "every web checkout_failed is a declined or errored payment row (processor_unavailable: status error)",
                "more cancelled unpaid orders (failed checkouts)",
                "phone and till payments fail more often too (same processor)",
            ],
        },
        "effects": TURBULENCE_EFFECTS,
    }
    logistics.add_turbulence(config, result)  # a carrier failing in the same window, when configured
    return result


def write(
    directory: Path,
    config: SandboxConfig,
    pop: Population,
    plans: list[DayPlan],
    contacts: pd.DataFrame,
    quirks: pd.DataFrame,
    delivered_through: str,
    crm_cutoff: int,
    web_cutoff: int,
    extra_identities: list[pd.DataFrame] | None = None,
    extra_files: dict[str, pd.DataFrame] | None = None,
) -> dict[str, int]:
    """`extra_identities`: see persons_and_identities; `extra_files`: more CSV files (name -> frame)."""
    directory.mkdir(parents=True, exist_ok=True)
    cutoff = max(crm_cutoff, web_cutoff)
    persons, identities = persons_and_identities(pop, contacts, crm_cutoff, web_cutoff, extra_identities)
    cases, versions = cases_frames(pop, plans, crm_cutoff)
    frame = quirks[QUIRK_COLUMNS].copy()
    frame["occurred_at"] = _iso(frame["occurred_at"].fillna(NO_TIME).astype(np.int64))
    frame = frame.sort_values(["system", "quirk", "occurred_at", "source_key"], kind="stable", na_position="first")
    counts = {
        "persons.csv": _write_csv(persons, directory / "persons.csv"),
        "identities.csv": _write_csv(identities, directory / "identities.csv"),
        "journeys.csv": _write_csv(journeys_frame(pop, plans, cutoff), directory / "journeys.csv"),
        "orders.csv": _write_csv(orders_frame(pop, plans, cutoff), directory / "orders.csv"),
        "cases.csv": _write_csv(cases, directory / "cases.csv"),
        "case_versions.csv": _write_csv(versions, directory / "case_versions.csv"),
        "quirks.csv": _write_csv(frame, directory / "quirks.csv"),
    }
    for name, extra in (extra_files or {}).items():
        counts[name] = _write_csv(extra, directory / name)
    _write_json(turbulence(config), directory / "turbulence.json")
    manifest = {
        "config": config.as_dict(),
        "fingerprint": config.fingerprint(),
        "delivered_through": delivered_through,
        "crm_cutoff": _iso([crm_cutoff])[0],
        "web_cutoff": _iso([web_cutoff])[0],
        "world_start": config.world_start.isoformat(),
        "warmup_days": WARMUP_DAYS,
        "go_live": _iso([local_midnight_ms(config.start_date)])[0],
        "sla_hours": SLA_HOURS,
        "files": counts,
        "quirk_counts": {k: int(v) for k, v in frame.groupby("quirk").size().items()},
    }
    _write_json(manifest, directory / "manifest.json")
    return counts
