"""The master data hub: a nightly full snapshot of every active golden customer record (gzip JSON Lines).

MDM masters the CRM contact ids and ERP customer numbers of each person (`source_keys`). It is good but
not perfect, and every imperfection is planned here once per config, from the population alone (no day
plan), so a snapshot depends only on its date:
- unmerged duplicates: a person with two golden records, linkable by a normalised email or phone;
- merges: two records of one person merged on a day; the retired one stays 30 days with merged_into and
  no source keys, then disappears; the survivor takes its keys;
- splits: a key wrongly linked to another person's record moves to its own person's record;
- erasures: a person erased in the CRM disappears from the next snapshot.

Each golden record is a chain of versions [start, end); a snapshot holds the version current at its
cutoff (London midnight ending the date). Lines are rendered once per version and reused every night.
"""

from __future__ import annotations

import gzip
import json
import os
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from . import vocab
from .config import SandboxConfig, stream_seed
from .keys import erp_customers
from .population import NEVER, Population
from .timeutil import MS_DAY, MS_HOUR, iso_utc_z, local_hour_starts_ms, local_midnight_ms, offsets_seconds
from .web_analytics import QUIRK_COLUMNS

SYSTEM_DIR = "mdm"
FILE_NAME = "golden_customers.jsonl.gz"
MERGED_VISIBLE_DAYS = 30  # a retired record carries merged_into in this many snapshots, then it is gone
MERGES_FROM_DAYS_BEFORE = 20  # merges start before go-live, so some retired records vanish inside the window
BIRTH_YEAR_UNKNOWN = 0.25  # share of golden records without a birth year
CRM, ERP = 0, 1
SYSTEMS = ("crm", "erp")
_EPOCH = date(1970, 1, 1)
_FAR = 10**9  # an epoch-day number for "never"


def snapshot_path(day: date) -> str:
    return f"{SYSTEM_DIR}/{day.isoformat()}/{FILE_NAME}"


def golden_ids(numbers: np.ndarray) -> list[str]:
    """G-000123456: golden record numbers scrambled over 10^9 (a permutation: never a collision)."""
    return [f"G-{((n + 1) * 2_654_435_761 + 123_456_789) % 10**9:09d}" for n in np.asarray(numbers).tolist()]


def london_days(ms: np.ndarray) -> np.ndarray:
    """Epoch-day number of the London date of each moment; NEVER maps to a far future day."""
    ms = np.asarray(ms, np.int64)
    out = np.full(len(ms), _FAR, np.int64)
    real = ms < NEVER // 2
    if real.any():
        offsets = offsets_seconds(("Europe/London",), np.zeros(int(real.sum()), np.int8), ms[real]) * 1000
        out[real] = (ms[real] + offsets) // MS_DAY
    return out


def _day(number: int) -> date:
    return _EPOCH + timedelta(days=int(number))


def _daynum(day: date) -> int:
    return (day - _EPOCH).days


@lru_cache(maxsize=65536)
def _json(value: str | None) -> str:
    return "null" if value is None else json.dumps(value, ensure_ascii=False)


def _mdm_email(canonical: str, capitalised: bool) -> str:
    """MDM's own typing: the local part as a data steward capitalised it (sometimes), domain lower-case."""
    if not capitalised:
        return canonical
    local, domain = canonical.split("@")
    return ".".join(p.capitalize() for p in local.split(".")) + "@" + domain


def _mdm_phone(pop: Population, person: int) -> str:
    """MDM's own typing: +CC-AREA-SUBSCRIBER (dashes, no spaces); E.164 once the dashes are removed."""
    cc = vocab.DIAL_CODES[pop.country[person]]
    area, sub = pop.phone_area[person], pop.phone_sub[person]
    return f"+{cc}-{area}-{sub}" if area else f"+{cc}-{sub}"


@dataclass
class MasterData:
    """Every golden record and every version it will ever have, plus the planned quirks."""

    golden_id: np.ndarray  # per golden record (object)
    golden_person: np.ndarray  # true person
    golden_start: np.ndarray
    golden_end: np.ndarray  # exclusive; NEVER while active
    v_golden: np.ndarray  # per version, sorted by (golden_id, start)
    v_start: np.ndarray
    v_end: np.ndarray
    v_line: list[str]
    v_keys: list[str]  # ground truth: "crm:003...;erp:C..."
    v_wrong: list[str]  # ground truth: "erp:C...=P00000012" (key=true person) for wrong links
    v_merged_into: list[str | None]
    duplicates: pd.DataFrame  # person, base, second, linked_by, merged_at (NEVER when never merged)
    splits: pd.DataFrame  # key, owner, wrong_golden, right_golden, wrong_since, corrected_at
    config: SandboxConfig

    def lines_at(self, cutoff_ms: int) -> list[str]:
        """The snapshot as of cutoff_ms: each golden record's version current just before it."""
        active = np.flatnonzero((self.v_start < cutoff_ms) & (cutoff_ms <= self.v_end))
        lines = self.v_line
        return [lines[i] for i in active.tolist()]

    def truncated(self, day: date) -> float | None:
        """The share of records a truncated snapshot keeps, or None when the file is complete."""
        rate = self.config.rate("mdm_truncated_snapshot")
        rng = np.random.default_rng(stream_seed(self.config.seed, "mdm-truncated", day.isoformat()))
        u, keep = rng.random(2)
        return 0.5 + 0.45 * float(keep) if u < rate else None


def build(pop: Population) -> MasterData:
    cfg = pop.config
    rng = np.random.default_rng(stream_seed(cfg.seed, "mdm"))
    erp = erp_customers(pop)
    n = pop.n_persons

    # ---- source keys: when MDM learns each one, with the contact details it brings
    first_commit = np.asarray(pop._contact_first_commit, np.int64)
    k_person = np.concatenate([pop.contact_person, erp.person]).astype(np.int64)
    k_system = np.concatenate([np.full(pop.n_contacts, CRM, np.int8), np.full(len(erp.person), ERP, np.int8)])
    k_key = np.array([*pop.contact_id, *erp.customer_no], object)
    # A contact's first delivered version is its last touch before the window: MDM learnt it at creation.
    contact_ms = np.where(pop.contact_created_ms < pop.world_start_ms, pop.contact_created_ms, first_commit)
    k_ms = np.concatenate([contact_ms, erp.created_ms]).astype(np.int64)
    k_email = np.array([*pop.canonical_email, *erp.email], object)
    k_phone = np.concatenate([pop.contact_phone_format >= 0, pop.has_phone[erp.person]])
    k_capital = rng.random(len(k_key)) < cfg.rate("messy_email")
    erp_key_of = np.full(n, -1, np.int64)
    erp_key_of[erp.person] = pop.n_contacts + np.arange(len(erp.person))

    # ---- which persons MDM gets wrong
    existing = pop.is_customer & ~pop.is_new_customer & (pop.erased_ms == NEVER)
    primary = np.maximum(pop.primary_contact, 0)
    dup = pop.duplicate_contact
    dup_historic = (dup >= 0) & (contact_ms[np.maximum(dup, 0)] < pop.world_start_ms)
    second_key = np.where(dup_historic, dup, erp_key_of)  # the key the second golden record holds
    second_key_safe = np.maximum(second_key, 0)
    base_email = k_email[primary]
    same_email = np.array(
        [a is not None and a == b for a, b in zip(k_email[second_key_safe], base_email, strict=True)], bool
    )
    same_phone = k_phone[second_key_safe] & k_phone[primary]
    eligible = existing & (second_key >= 0) & (same_email | same_phone)
    u = rng.random(n)
    merge_rate, unmerged_rate = cfg.rate("mdm_merge"), cfg.rate("mdm_unmerged_duplicate")
    merged = eligible & (u < merge_rate)
    unmerged = eligible & (u >= merge_rate) & (u < merge_rate + unmerged_rate)
    twins = np.flatnonzero(merged | unmerged)
    merge_days = [
        cfg.start_date + timedelta(days=i)
        for i in range(-MERGES_FROM_DAYS_BEFORE, (cfg.end_date - cfg.start_date).days + 1)
    ]
    merged_at = np.full(n, NEVER, np.int64)
    merged_at[merged] = _working_hours(rng, merge_days, int(merged.sum()))

    # Splits: an ERP key of its owner wrongly linked to a host's record (same surname when possible).
    erp_only_person = np.zeros(n, bool)
    erp_only_person[erp.person[erp.erp_only]] = True
    split_pool = (existing | erp_only_person) & (pop.erased_ms == NEVER) & ~(merged | unmerged)
    split_pool &= (erp_key_of >= 0) & (k_ms[np.maximum(erp_key_of, 0)] < pop.world_start_ms)
    owners = np.flatnonzero(split_pool & (rng.random(n) < cfg.rate("mdm_split")))
    hosts_pool = np.flatnonzero(existing & ~(merged | unmerged) & ~np.isin(np.arange(n), owners))
    hosts = _same_surname(rng, pop, owners, hosts_pool)
    owners, hosts = owners[hosts >= 0], hosts[hosts >= 0]
    window = [d for d in cfg.days() if d >= cfg.start_date]
    corrected_at = _working_hours(rng, window, len(owners))
    twin_keys = second_key[twins]
    split_keys = erp_key_of[owners]

    # ---- golden records: a base record per person (from their first key, not counting a key another
    # record holds), a second record per twin; an ERP-only owner's record is born when the split corrects.
    own = np.ones(len(k_key), bool)
    own[twin_keys] = False
    own[split_keys] = False
    base_start = np.full(n, NEVER, np.int64)
    np.minimum.at(base_start, k_person[own], k_ms[own])
    base_start[owners] = np.minimum(base_start[owners], corrected_at)
    bases = np.flatnonzero(base_start < NEVER)
    rec_person = np.concatenate([bases, twins])
    rec_start = np.concatenate([base_start[bases], k_ms[twin_keys]])
    rec_twin = np.concatenate([np.zeros(len(bases), bool), np.ones(len(twins), bool)])
    order = np.lexsort((rec_twin, rec_person, rec_start))  # numbered in order of creation
    rec_person, rec_start, rec_twin = rec_person[order], rec_start[order], rec_twin[order]
    n_rec = len(rec_person)
    rec_id = np.array(golden_ids(np.arange(n_rec)), object)
    base_of = np.full(n, -1, np.int64)
    twin_of = np.full(n, -1, np.int64)
    base_of[rec_person[~rec_twin]] = np.flatnonzero(~rec_twin)
    twin_of[rec_person[rec_twin]] = np.flatnonzero(rec_twin)
    rec_end = pop.erased_ms[rec_person].astype(np.int64)  # erased in the CRM: gone from MDM
    retired = np.flatnonzero(rec_twin & merged[rec_person])
    gone = _midnights(london_days(merged_at[rec_person[retired]]) + MERGED_VISIBLE_DAYS)
    rec_end[retired] = np.minimum(rec_end[retired], gone)
    merged_into = np.full(n_rec, -1, np.int64)
    merged_into[retired] = base_of[rec_person[retired]]
    rec_merged_at = np.full(n_rec, NEVER, np.int64)
    rec_merged_at[retired] = merged_at[rec_person[retired]]

    # ---- links: a key on a record from start; listed until key_end, its email and phone until detail_end
    rec_of = base_of[k_person]
    key_end = rec_end[np.maximum(rec_of, 0)]
    detail_end = key_end.copy()
    wrong = np.zeros(len(k_key), bool)
    # Twins: the second key sits on the twin record until the merge, then on the base record. The retired
    # record keeps its name, emails and phones (and merged_into) but lists no key.
    twin_rec = twin_of[twins]
    rec_of[twin_keys] = twin_rec
    key_end[twin_keys] = np.minimum(merged_at[twins], rec_end[twin_rec])
    detail_end[twin_keys] = rec_end[twin_rec]
    moved = merged_at[twins] < NEVER
    move_key, move_rec, move_at = twin_keys[moved], base_of[twins[moved]], merged_at[twins[moved]]
    # Splits: the owner's ERP key sits on the host's record until corrected, then on the owner's record.
    host_rec = base_of[hosts]
    owner_rec = base_of[owners]
    rec_of[split_keys] = host_rec
    key_end[split_keys] = np.minimum(corrected_at, rec_end[host_rec])
    detail_end[split_keys] = key_end[split_keys]
    wrong[split_keys] = True
    links = pd.DataFrame(
        {
            "rec": np.concatenate([rec_of, move_rec, owner_rec]),
            "key": np.concatenate([np.arange(len(k_key)), move_key, split_keys]),
            "start": np.concatenate([k_ms, move_at, corrected_at]),
            "key_end": np.concatenate([key_end, rec_end[move_rec], rec_end[owner_rec]]),
            "detail_end": np.concatenate([detail_end, rec_end[move_rec], rec_end[owner_rec]]),
            "wrong": np.concatenate([wrong, np.zeros(len(move_key) + len(split_keys), bool)]),
        }
    )
    links = links[(links["rec"] >= 0) & (links["start"] < links["detail_end"])].reset_index(drop=True)
    life_start, life_end = rec_start, rec_end

    # ---- versions: every moment a record's content changes
    points = pd.DataFrame(
        {
            "rec": np.concatenate([np.arange(n_rec), links["rec"], links["rec"], links["rec"], np.arange(n_rec)]),
            "t": np.concatenate([life_start, links["start"], links["key_end"], links["detail_end"], rec_merged_at]),
        }
    )
    r = points["rec"].to_numpy()
    t = points["t"].to_numpy()
    keep = (t >= life_start[r]) & (t < life_end[r])
    points = points[keep].drop_duplicates().sort_values(["rec", "t"], kind="stable")
    v_rec = points["rec"].to_numpy()
    v_start = points["t"].to_numpy()
    v_end = np.empty(len(v_rec), np.int64)
    if len(v_rec):
        v_end[:-1] = np.where(v_rec[1:] == v_rec[:-1], v_start[1:], life_end[v_rec[:-1]])
        v_end[-1] = life_end[v_rec[-1]]

    # Attach the links current at each version start.
    joined = pd.DataFrame({"v": np.arange(len(v_rec)), "rec": v_rec, "vs": v_start}).merge(links, on="rec")
    joined = joined[(joined["start"] <= joined["vs"]) & (joined["vs"] < joined["detail_end"])]
    # Correct links first: a wrong link must not supply the primary email or phone.
    joined = joined.sort_values(["v", "wrong", "start", "key"], kind="stable")
    jv = joined["v"].to_numpy()
    jk = joined["key"].to_numpy()
    j_has_key = (joined["vs"] < joined["key_end"]).to_numpy()
    jw = joined["wrong"].to_numpy()
    bounds = np.searchsorted(jv, np.arange(len(v_rec) + 1))

    person_ids = np.array(pop.person_id, object)
    names = [f"{f} {la}" for f, la in zip(pop.first_name, pop.last_name, strict=True)]
    no_birth = rng.random(n_rec) < BIRTH_YEAR_UNKNOWN
    updated = iso_utc_z(v_start)
    lines, v_keys, v_wrong, v_merged = [], [], [], []
    phone_cache: dict[int, str] = {}
    for v in range(len(v_rec)):
        rec = int(v_rec[v])
        p = int(rec_person[rec])
        keys_json, keys_text, wrong_text, emails, seen = [], [], [], [], set()
        phone = None
        for i in range(bounds[v], bounds[v + 1]):
            k = int(jk[i])
            email = k_email[k]
            if email is not None and email not in seen:
                seen.add(email)
                emails.append(_mdm_email(email, bool(k_capital[k])))
            if k_phone[k] and phone is None:
                owner = int(k_person[k])
                phone = phone_cache.get(owner) or phone_cache.setdefault(owner, _mdm_phone(pop, owner))
            if j_has_key[i]:
                system = SYSTEMS[k_system[k]]
                keys_json.append(f'{{"system":"{system}","key":"{k_key[k]}"}}')
                keys_text.append(f"{system}:{k_key[k]}")
                if jw[i]:
                    wrong_text.append(f"{system}:{k_key[k]}={person_ids[k_person[k]]}")
        into = rec_id[merged_into[rec]] if merged_into[rec] >= 0 and v_start[v] >= rec_merged_at[rec] else None
        emails_json = ",".join(_json(e) for e in emails)
        birth = "null" if no_birth[rec] else str(int(pop.birth_year[p]))
        segment = "small_business" if pop.small_business[p] else "consumer"
        lines.append(
            f'{{"golden_id":"{rec_id[rec]}","full_name":{_json(names[p])},'
            f'"primary_email":{_json(emails[0] if emails else None)},"emails":[{emails_json}],'
            f'"primary_phone":{_json(phone)},"phones":[{_json(phone) if phone else ""}],'
            f'"birth_year":{birth},"country_code":"{vocab.COUNTRIES[pop.country[p]]}","segment":"{segment}",'
            f'"source_keys":[{",".join(keys_json)}],"merged_into":{_json(into)},"updated_at":"{updated[v]}"}}\n'
        )
        v_keys.append(";".join(keys_text))
        v_wrong.append(";".join(wrong_text))
        v_merged.append(into)

    # Snapshots list records in golden_id order.
    rank = np.argsort(np.argsort(rec_id, kind="stable"), kind="stable")
    order = np.lexsort((v_start, rank[v_rec]))
    duplicates = pd.DataFrame(
        {
            "person": twins,
            "base": base_of[twins],
            "second": twin_rec,
            "second_start": k_ms[twin_keys],
            "second_key": [f"{SYSTEMS[k_system[k]]}:{k_key[k]}" for k in twin_keys.tolist()],
            "linked_by": np.where(
                same_email[twins] & same_phone[twins], "email and phone", np.where(same_email[twins], "email", "phone")
            ),
            "merged_at": merged_at[twins],
        }
    )
    splits = pd.DataFrame(
        {
            "key": [f"erp:{k}" for k in k_key[split_keys]],
            "owner": owners,
            "host": hosts,
            "wrong_golden": host_rec,
            "right_golden": owner_rec,
            "wrong_since": np.maximum(k_ms[split_keys], rec_start[host_rec]),
            "corrected_at": corrected_at,
        }
    )
    return MasterData(
        golden_id=rec_id,
        golden_person=rec_person,
        golden_start=rec_start,
        golden_end=rec_end,
        v_golden=v_rec[order],
        v_start=v_start[order],
        v_end=v_end[order],
        v_line=[lines[i] for i in order.tolist()],
        v_keys=[v_keys[i] for i in order.tolist()],
        v_wrong=[v_wrong[i] for i in order.tolist()],
        v_merged_into=[v_merged[i] for i in order.tolist()],
        duplicates=duplicates,
        splits=splits,
        config=cfg,
    )


def _working_hours(rng: np.random.Generator, days: list[date], k: int) -> np.ndarray:
    """k moments on the given London days, between 09:00 and 17:00 (a data steward's or a batch's day)."""
    nine = np.array([local_hour_starts_ms(d)[9] for d in days], np.int64)
    return (nine[rng.integers(0, len(days), k)] + rng.integers(0, 8 * MS_HOUR, k)) // 1000 * 1000


def _midnights(daynums: np.ndarray) -> np.ndarray:
    """London midnight starting each epoch-day number."""
    return np.array([local_midnight_ms(_day(d)) for d in np.asarray(daynums).tolist()], np.int64)


def _same_surname(rng: np.random.Generator, pop: Population, owners: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """For each owner, a host from the pool with the same surname if there is one (MDM matched on name)."""
    hosts = np.full(len(owners), -1, np.int64)
    if not len(pool):
        return hosts
    surname = pd.Series(np.arange(len(pool)), index=pop.last_name[pool]).groupby(level=0).agg(list).to_dict()
    u = rng.random(len(owners))
    for i, p in enumerate(owners.tolist()):
        candidates = surname.get(pop.last_name[p]) or range(len(pool))
        hosts[i] = pool[candidates[int(u[i] * len(candidates))]]
    return hosts


# ---------------------------------------------------------------------------- delivery
def delivered_dates(landing_dir: Path) -> list[date]:
    """Snapshot dates whose file is in place (written under a .tmp name, then renamed)."""
    root = landing_dir / SYSTEM_DIR
    if not root.exists():
        return []
    out = []
    for folder in sorted(root.iterdir()):
        try:
            day = date.fromisoformat(folder.name)
        except ValueError:
            continue
        if (folder / FILE_NAME).exists():
            out.append(day)
    return out


def write_snapshot(master: MasterData, day: date, landing_dir: Path) -> int:
    """Write mdm/<day>/golden_customers.jsonl.gz as of London midnight ending `day`; returns its records."""
    lines = master.lines_at(local_midnight_ms(day + timedelta(days=1)))
    keep = master.truncated(day)
    if keep is not None:
        lines = lines[: int(len(lines) * keep)]
    folder = landing_dir / SYSTEM_DIR / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FILE_NAME
    tmp = path.with_name(path.name + ".tmp")
    # filename="" and mtime=0: the gzip header names no file and no time, so the bytes are reproducible.
    with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=1, mtime=0) as gz:
        for i in range(0, len(lines), 50_000):
            gz.write("".join(lines[i : i + 50_000]).encode())
        if keep is None:
            gz.write(json.dumps({"_trailer": {"records": len(lines)}}).encode() + b"\n")
    os.replace(tmp, path)
    return len(lines)


# ---------------------------------------------------------------------------- ground truth
def _snapshot_range(start_ms: np.ndarray, end_ms: np.ndarray, first: date, last: date) -> tuple[np.ndarray, np.ndarray]:
    """Epoch-day numbers of the first and last snapshot dates (within first..last) that show a version.

    A snapshot dated D shows what is current at London midnight ending D: start < cutoff <= end.
    """
    lo = np.maximum(london_days(start_ms), _daynum(first))
    hi = np.minimum(london_days(end_ms) - 1, _daynum(last))
    # A version ending exactly at a midnight is still in that midnight's snapshot.
    return lo, hi


def golden_records_frame(pop: Population, master: MasterData, start: date, through: date) -> pd.DataFrame:
    """One row per version of a golden record shown in a delivered snapshot (truncated files aside)."""
    lo, hi = _snapshot_range(master.v_start, master.v_end, start, through)
    shown = np.flatnonzero(lo <= hi)
    person_ids = np.array(pop.person_id, object)
    return pd.DataFrame(
        {
            "golden_id": master.golden_id[master.v_golden[shown]],
            "person_id": person_ids[master.golden_person[master.v_golden[shown]]],
            "first_snapshot": [_day(d).isoformat() for d in lo[shown].tolist()],
            "last_snapshot": [_day(d).isoformat() for d in hi[shown].tolist()],
            "updated_at": iso_utc_z(master.v_start[shown]),
            "status": ["merged" if master.v_merged_into[i] else "active" for i in shown.tolist()],
            "merged_into": [master.v_merged_into[i] for i in shown.tolist()],
            "source_keys": [master.v_keys[i] for i in shown.tolist()],
            "wrongly_linked_keys": [master.v_wrong[i] for i in shown.tolist()],
        }
    )


def identities_frame(master: MasterData, start: date, through: date) -> pd.DataFrame:
    """identities.csv rows (ground_truth's extra format): each golden_id shown in a delivered snapshot,
    for its true person."""
    lo, hi = _snapshot_range(master.v_start, master.v_end, start, through)
    recs = np.unique(master.v_golden[lo <= hi])
    ids = master.golden_id[recs]
    return pd.DataFrame(
        {
            "person": master.golden_person[recs],
            "system": "mdm",
            "identifier_type": "golden_id",
            "value": ids,
            "normalised_value": ids,
            "source_key": ids,
            "first_seen": master.golden_start[recs],
        }
    )


def quirk_frame(pop: Population, master: MasterData, start: date, through: date) -> pd.DataFrame:
    """MDM quirks shown by the snapshots delivered from `start` through `through` (QUIRK_COLUMNS)."""
    cutoff = local_midnight_ms(through + timedelta(days=1))
    person_ids = np.array(pop.person_id, object)
    ids = master.golden_id
    rows: list[dict] = []

    def add(quirk: str, day: date, occurred: int, key: str, person: int, detail: str) -> None:
        rows.append(
            {
                "quirk": quirk,
                "system": "mdm",
                "location": snapshot_path(day),
                "occurred_at": int(occurred),
                "source_key": key,
                "person_id": person_ids[person],
                "journey_id": None,
                "detail": detail,
            }
        )

    dup = master.duplicates
    for row in dup.itertuples(index=False):
        first_day = max(_day(int(london_days([row.second_start])[0])), start)
        if row.merged_at < NEVER:
            merge_day = _day(int(london_days([row.merged_at])[0]))
            until = merge_day + timedelta(days=MERGED_VISIBLE_DAYS - 1)
            if row.merged_at > cutoff or until < start:
                continue
            add(
                "mdm_merge",
                max(merge_day, start),
                row.merged_at,
                ids[row.second],
                row.person,
                f"merged into {ids[row.base]}, which takes {row.second_key}; "
                f"merged_into shown through {until.isoformat()}",
            )
        elif first_day <= through:
            add(
                "mdm_unmerged_duplicate",
                first_day,
                row.second_start,
                ids[row.second],
                row.person,
                f"same person as {ids[row.base]} ({row.second_key} on the duplicate); linked by {row.linked_by}",
            )
    for row in master.splits.itertuples(index=False):
        if row.corrected_at > cutoff:
            continue  # still wrong: see wrongly_linked_keys in golden_records.csv
        corrected_day = _day(int(london_days([row.corrected_at])[0]))
        since = iso_utc_z([row.wrong_since])[0]
        add(
            "mdm_split",
            corrected_day,
            row.corrected_at,
            row.key,
            row.owner,
            f"moved from {ids[row.wrong_golden]} (person {person_ids[row.host]}, wrongly linked since {since}) "
            f"to {ids[row.right_golden]}",
        )
    day = start
    while day <= through:
        keep = master.truncated(day)
        if keep is not None:
            total = len(master.lines_at(local_midnight_ms(day + timedelta(days=1))))
            rows.append(
                {
                    "quirk": "mdm_truncated_snapshot",
                    "system": "mdm",
                    "location": snapshot_path(day),
                    "occurred_at": local_midnight_ms(day + timedelta(days=1)),
                    "source_key": None,
                    "person_id": None,
                    "journey_id": None,
                    "detail": f"{int(total * keep)} of {total} records, no trailer",
                }
            )
        day += timedelta(days=1)
    return pd.DataFrame(rows, columns=QUIRK_COLUMNS)
