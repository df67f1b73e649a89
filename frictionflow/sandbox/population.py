"""The people of the simulated company and everything about them that does not depend on a day.

Built once per config, vectorised (it has to reach a million customers): persons, their CRM contacts
(with every version they will ever have), consents, erasure requests, devices (anonymous ids) and the
product catalogue. Day-by-day behaviour (journeys) lives in journeys.py and only reads from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd

from . import vocab
from .config import SandboxConfig, stream_seed
from .ids import salesforce_ids, uuid4s
from .timeutil import (
    MS_DAY,
    MS_HOUR,
    MS_MINUTE,
    in_last_minutes_of_london_day,
    local_midnight_ms,
    offsets_seconds,
    sample_times_on_days,
)

NEVER = np.iinfo(np.int64).max  # "never happens" for a moment column
NO_TIME = -1  # NULL for a moment column that is delivered

PROSPECT_RATIO = 0.5  # anonymous-only visitors per customer (they browse, some buy as guests, none sign up)
NEW_CUSTOMER_SHARE = 0.05  # customers who sign up during the simulated window
ERASURE_RATE_PER_DAY = 0.00006
CONTACT_UPDATE_RATE_PER_DAY = 0.004
CONSENT_PURPOSES = ("marketing_email", "marketing_sms", "analytics", "personalisation")
CONSENT_GRANT_P = (0.62, 0.25, 0.70, 0.50)
CONSENT_WITHDRAW_PER_DAY = (0.0015, 0.0010, 0.0005, 0.0007)
CONSENT_CHANNELS = ("web", "app", "store", "phone", "email")
PHONE_FORMATS = ("intl_spaced", "national_parens", "digits", "intl_compact", "national_spaced", "double_zero")
LATE_COMMIT_WINDOW_MINUTES = 15
N_SKUS = 4000


@dataclass
class VersionTable:
    """Every version a CRM row will ever have: column name -> array or list, sorted by (key, modstamp)."""

    key: str
    columns: dict[str, object]

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.columns)


class Population:
    """Everything static about the simulated people. Arrays are indexed by person, contact or device."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.rng = np.random.default_rng(stream_seed(config.seed, "population"))
        self.world_start_ms = local_midnight_ms(config.world_start)
        self.go_live_ms = local_midnight_ms(config.start_date)
        self.world_end_ms = local_midnight_ms(config.end_date + timedelta(days=1))
        self._build_catalogue()
        self._build_persons()
        self._build_contacts()
        self._build_devices()
        self._build_consents()
        self._build_erasures()

    # ---------------------------------------------------------------- catalogue
    def _build_catalogue(self) -> None:
        rng = self.rng
        self.sku = [f"SKU-{100000 + i}" for i in range(N_SKUS)]
        pounds = np.clip(np.round(rng.lognormal(3.3, 0.8, N_SKUS)), 3, 400)
        self.sku_price = np.round(pounds - 0.01 * rng.choice([1, 5, 50], N_SKUS, p=[0.6, 0.2, 0.2]), 2)
        popularity = 1.0 / np.arange(1, N_SKUS + 1) ** 0.9  # a long tail of products, a few best sellers
        popularity = popularity[rng.permutation(N_SKUS)]
        self.sku_popularity = np.cumsum(popularity / popularity.sum())

    def popular_sku(self, u: float) -> int:
        return int(min(np.searchsorted(self.sku_popularity, u), N_SKUS - 1))

    # ---------------------------------------------------------------- persons
    def _build_persons(self) -> None:
        cfg, rng = self.config, self.rng
        self.n_customers = cfg.customers
        self.n_persons = cfg.customers + int(round(cfg.customers * PROSPECT_RATIO))
        n = self.n_persons
        self.is_customer = np.arange(n) < self.n_customers
        self.person_id = [f"P{i + 1:08d}" for i in range(n)]
        self.first_name = np.array(vocab.FIRST_NAMES, object)[rng.integers(0, len(vocab.FIRST_NAMES), n)]
        self.last_name = np.array(vocab.LAST_NAMES, object)[rng.integers(0, len(vocab.LAST_NAMES), n)]
        self.country = rng.choice(len(vocab.COUNTRIES), n, p=vocab.COUNTRY_WEIGHTS).astype(np.int8)
        self.small_business = rng.random(n) < 0.06
        self.birth_year = rng.integers(1944, 2008, n)
        self.activity = rng.lognormal(0.0, 0.75, n)
        self.activity[~self.is_customer] *= 0.6

        # Customers: most are long-standing; some sign up inside the window (after browsing anonymously).
        days = self.config.days()
        is_new = self.is_customer & (rng.random(n) < NEW_CUSTOMER_SHARE)
        self.signup_ms = np.full(n, NEVER, np.int64)
        self.signup_journey_start_ms = np.full(n, NEVER, np.int64)
        old = self.is_customer & ~is_new
        span = 4 * 365 * MS_DAY
        self.signup_ms[old] = (self.world_start_ms - MS_HOUR - rng.integers(0, span, int(old.sum()))) // 1000 * 1000
        new_idx = np.flatnonzero(is_new)
        day_idx = rng.integers(0, len(days), len(new_idx))
        first_visit = sample_times_on_days(rng, days, day_idx)
        lead = np.clip(rng.lognormal(np.log(8 * MS_HOUR), 1.2, len(new_idx)), 10 * MS_MINUTE, 3 * MS_DAY)
        signup = np.minimum(first_visit + lead.astype(np.int64), self.world_end_ms + 3 * MS_DAY)
        self.signup_journey_start_ms[new_idx] = first_visit
        self.signup_ms[new_idx] = signup // 1000 * 1000
        self.is_new_customer = is_new

        # A few existing customers ask for erasure inside the delivered window.
        self.erased_ms = np.full(n, NEVER, np.int64)
        window_days = [d for d in days if d >= cfg.start_date]
        p_erase = ERASURE_RATE_PER_DAY * len(window_days)
        erase = old & (rng.random(n) < p_erase)
        if not erase.any() and old.sum() >= 50:
            erase[int(rng.choice(np.flatnonzero(old)))] = True  # "a few" means at least one
        erase_idx = np.flatnonzero(erase)
        times = sample_times_on_days(rng, window_days, rng.integers(0, len(window_days), len(erase_idx)))
        self.erased_ms[erase_idx] = times // 1000 * 1000

        # Canonical phone numbers (the ground truth; the CRM holds them typed in free formats).
        self.phone_area, self.phone_sub = self._phone_numbers(n)
        self.has_phone = rng.random(n) < 0.85

        self._cum_customer = np.cumsum(self.activity[: self.n_customers])
        self._cum_prospect = np.cumsum(self.activity[self.n_customers :])

    def _phone_numbers(self, n: int) -> tuple[list[str], list[str]]:
        rng = self.rng
        mobile = rng.random(n) < 0.72
        subs = rng.integers(0, 10**9, n)
        areas, rests = [], []
        for country, is_mobile, sub in zip(self.country.tolist(), mobile.tolist(), subs.tolist(), strict=True):
            if country == 0 and is_mobile:
                areas.append(f"7{sub % 900 + 100}")
                rests.append(f"{sub // 1000 % 1000000:06d}")
            elif country == 0:
                area = ("20", "161", "121", "113", "131")[sub % 5]
                areas.append(area)
                rests.append(f"{sub // 10:08d}"[: 10 - len(area)])
            else:
                areas.append(("", "87", "6", "151", "6", "6")[country])
                rests.append(f"{sub:09d}"[:8])
        return areas, rests

    # ---------------------------------------------------------------- contacts
    def _build_contacts(self) -> None:
        cfg, rng = self.config, self.rng
        nc = self.n_customers
        existing = ~self.is_new_customer[:nc]
        dup_person = np.flatnonzero(existing & (rng.random(nc) < cfg.rate("duplicate_contact")))
        self.primary_contact = np.full(self.n_persons, -1, np.int64)
        self.primary_contact[:nc] = np.arange(nc)
        self.duplicate_contact = np.full(self.n_persons, -1, np.int64)
        self.duplicate_contact[dup_person] = nc + np.arange(len(dup_person))
        n_contacts = nc + len(dup_person)
        self.n_contacts = n_contacts
        self.contact_person = np.concatenate([np.arange(nc), dup_person])
        self.contact_is_duplicate = np.arange(n_contacts) >= nc
        self.contact_id = salesforce_ids("003", np.arange(1, n_contacts + 1))

        created = np.empty(n_contacts, np.int64)
        created[:nc] = self.signup_ms[:nc]
        in_window = rng.random(len(dup_person)) < 0.3
        start = np.maximum(created[dup_person], self.world_start_ms - 3 * 365 * MS_DAY)
        historical = start + (rng.random(len(dup_person)) * (self.world_start_ms - MS_HOUR - start)).astype(np.int64)
        days = cfg.days()
        fresh = sample_times_on_days(rng, days, rng.integers(0, len(days), len(dup_person)))
        created[nc:] = np.where(in_window, fresh, historical) // 1000 * 1000
        self.contact_created_ms = created

        person = self.contact_person
        self.canonical_email = self._emails(person, self.contact_is_duplicate)
        self.canonical_email[rng.random(n_contacts) < 0.03] = None  # contacts created in store without an email
        phone_fmt = np.where(
            rng.random(n_contacts) < cfg.rate("free_format_phone"), rng.integers(1, len(PHONE_FORMATS), n_contacts), 0
        )
        has_phone = self.has_phone[person] & (rng.random(n_contacts) < 0.95)
        first_name = self.first_name[person].copy()
        first_name[rng.random(n_contacts) < 0.02] = None
        self._contact_versions(created, first_name, phone_fmt, has_phone)

    def _emails(self, person: np.ndarray, alternate: np.ndarray) -> np.ndarray:
        rng = self.rng
        first = [f.lower() for f in self.first_name[person]]
        last = [ln.lower().replace("'", "") for ln in self.last_name[person]]
        style = rng.integers(0, 6, len(person))
        style[alternate] = (style[alternate] + 1 + rng.integers(0, 5, int(alternate.sum()))) % 6
        digits = rng.integers(1, 99, len(person))
        domain_idx = rng.integers(0, len(vocab.PERSONAL_DOMAINS), len(person))
        work = alternate & (rng.random(len(person)) < 0.5) | self.small_business[person]
        out = []
        for i, (f, la) in enumerate(zip(first, last, strict=True)):
            s, d = style[i], digits[i]
            local = (f"{f}.{la}", f"{f}{la}", f"{f[0]}.{la}", f"{f}.{la}{d}", f"{f}_{la}{d}", f"{la}{f}{d}")[s]
            domain = (
                vocab.WORK_DOMAINS[d % len(vocab.WORK_DOMAINS)] if work[i] else vocab.PERSONAL_DOMAINS[domain_idx[i]]
            )
            out.append(f"{local}@{domain}")
        emails = pd.Series(out)
        clash = emails.duplicated(keep="first").to_numpy()
        for i in np.flatnonzero(clash):  # same name, same style: add a number, as people do
            local, domain = out[i].split("@")
            out[i] = f"{local}.{i}@{domain}"
        return np.array(out, object)

    def typed_email(self, email: str | None, u: float) -> str | None:
        """How a person or an agent typed the address: usually as is, sometimes with odd case or spaces."""
        if email is None or u >= self.config.rate("messy_email"):
            return email
        variant = int(u * 1_000_003) % 4
        if variant == 0:
            local, domain = email.split("@")
            return ".".join(p.capitalize() for p in local.split(".")) + "@" + domain.capitalize()
        if variant == 1:
            return email.upper()
        if variant == 2:
            return f" {email} "
        return email.capitalize() + " "

    def typed_phone(self, person: int, fmt: int) -> str:
        cc = vocab.DIAL_CODES[self.country[person]]
        area, sub = self.phone_area[person], self.phone_sub[person]
        grouped = f"{sub[:4]} {sub[4:]}" if len(sub) == 8 else (f"{sub[:3]} {sub[3:]}" if len(sub) == 7 else sub)
        name = PHONE_FORMATS[fmt]
        if name == "intl_spaced":
            return f"+{cc} {area} {grouped}"
        if name == "national_parens":
            return f"(0{area}) {sub[:-4]}-{sub[-4:]}"
        if name == "digits":
            return f"0{area}{sub}"
        if name == "intl_compact":
            return f"+{cc}{area}{sub}"
        if name == "national_spaced":
            return f"0{area} {grouped}"
        return f"00{cc} {area} {grouped}"

    def canonical_phone(self, person: int) -> str:
        return f"+{vocab.DIAL_CODES[self.country[person]]}{self.phone_area[person]}{self.phone_sub[person]}"

    def _contact_versions(
        self, created: np.ndarray, first_name: np.ndarray, phone_fmt: np.ndarray, has_phone: np.ndarray
    ) -> None:
        """Contact rows over time: created (or last touched before the window), in-window edits, soft deletes."""
        cfg, rng = self.config, self.rng
        n = self.n_contacts
        person = self.contact_person
        u_email = rng.random(n)
        email = [self.typed_email(e, u) for e, u in zip(self.canonical_email, u_email.tolist(), strict=True)]
        phone = [
            self.typed_phone(p, f) if h else None
            for p, f, h in zip(person.tolist(), phone_fmt.tolist(), has_phone.tolist(), strict=True)
        ]
        self.contact_phone_format = np.where(has_phone, phone_fmt, -1)
        self.contact_email_messy = np.array(
            [e is not None and e != c for e, c in zip(email, self.canonical_email, strict=True)]
        )
        touched = created.copy()
        old = created < self.world_start_ms
        touch = old & (rng.random(n) < 0.6)
        gap = self.world_start_ms - MS_HOUR - created[touch]
        touched[touch] = created[touch] + (rng.random(int(touch.sum())) * gap).astype(np.int64) // 1000 * 1000

        # Soft deletes: a data steward merges some duplicate contacts inside the window.
        self.contact_deleted_ms = np.full(n, NEVER, np.int64)
        dups = np.flatnonzero(self.contact_is_duplicate)
        chosen = dups[rng.random(len(dups)) < cfg.rate("contact_soft_delete")]
        days = [d for d in cfg.days() if d >= cfg.start_date]
        when = sample_times_on_days(rng, days, rng.integers(0, len(days), len(chosen))) // 1000 * 1000
        when = np.maximum(when, created[chosen] + 2 * MS_DAY)
        keep = when < self.world_end_ms
        self.contact_deleted_ms[chosen[keep]] = when[keep]

        # In-window edits: a phone retyped or changed, an email retyped or changed, a surname changed.
        all_days = cfg.days()
        n_updates = int(rng.poisson(n * len(all_days) * CONTACT_UPDATE_RATE_PER_DAY))
        upd_contact = rng.integers(0, n, n_updates)
        upd_time = sample_times_on_days(rng, all_days, rng.integers(0, len(all_days), n_updates)) // 1000 * 1000
        upd_kind = rng.choice(3, n_updates, p=[0.5, 0.3, 0.2])
        upd_u = rng.random((n_updates, 3))
        ok = (upd_time > touched[upd_contact] + MS_HOUR) & (upd_time < self.contact_deleted_ms[upd_contact])
        order = np.lexsort((upd_time[ok], upd_contact[ok]))
        upd = np.flatnonzero(ok)[order]

        cols: dict[str, list] = {k: [] for k in ("contact", "modstamp", "first_name", "last_name", "email", "phone")}
        cols["is_deleted"], cols["change"] = [], []
        state_email, state_phone = list(email), list(phone)
        state_first, state_last = list(first_name), list(self.last_name[person])

        def emit(c: int, t: int, change: str, deleted: bool = False) -> None:
            cols["contact"].append(c)
            cols["modstamp"].append(t)
            cols["first_name"].append(state_first[c])
            cols["last_name"].append(state_last[c])
            cols["email"].append(state_email[c])
            cols["phone"].append(state_phone[c])
            cols["is_deleted"].append(deleted)
            cols["change"].append(change)

        extra_emails: dict[int, list[str]] = {}
        upd_list = upd.tolist()
        pos = 0
        for c in range(n):
            emit(c, int(touched[c]), "created" if touched[c] == created[c] else "updated_before_window")
            last_t = int(touched[c])
            while pos < len(upd_list) and upd_contact[upd_list[pos]] == c:
                k = upd_list[pos]
                pos += 1
                t = max(int(upd_time[k]), last_t + 1000)
                kind, u = int(upd_kind[k]), upd_u[k]
                p = int(person[c])
                if kind == 0:
                    state_phone[c] = self.typed_phone(p, int(u[1] * len(PHONE_FORMATS)) % len(PHONE_FORMATS))
                    change = "phone_retyped"
                elif kind == 1 and self.canonical_email[c] is not None:
                    if u[1] < 0.2:
                        local, domain = self.canonical_email[c].split("@")
                        new = f"{local}.{int(u[2] * 90) + 10}@{vocab.PERSONAL_DOMAINS[int(u[0] * 11) % 11]}"
                        extra_emails.setdefault(c, []).append(new)
                        state_email[c] = new
                        change = "email_changed"
                    else:
                        state_email[c] = self.typed_email(self.canonical_email[c], u[2] * cfg.rate("messy_email"))
                        change = "email_retyped"
                else:
                    if state_first[c] is None:
                        state_first[c] = self.first_name[p]
                        change = "first_name_added"
                    else:
                        state_last[c] = f"{state_last[c]}-{vocab.LAST_NAMES[int(u[1] * len(vocab.LAST_NAMES))]}"
                        change = "last_name_changed"
                emit(c, t, change)
                last_t = t
            if self.contact_deleted_ms[c] != NEVER:
                emit(c, max(int(self.contact_deleted_ms[c]), last_t + 1000), "soft_deleted", deleted=True)
        self.contact_extra_emails = extra_emails
        contact = np.array(cols["contact"], np.int64)
        modstamp = np.array(cols["modstamp"], np.int64)
        commit, late = late_commits(contact, modstamp, rng, cfg.rate("late_commit"), self.world_start_ms)
        self.contact_versions = VersionTable(
            "contact",
            {
                "contact": contact,
                "modstamp": modstamp,
                "commit": commit,
                "late": late,
                "first_name": cols["first_name"],
                "last_name": cols["last_name"],
                "email": cols["email"],
                "phone": cols["phone"],
                "is_deleted": np.array(cols["is_deleted"]),
                "change": cols["change"],
            },
        )

    def contact_visible_ms(self, c: int) -> int:
        """When contact c's first version is committed (it exists for the outside world from then on)."""
        return int(self._contact_first_commit[c])

    # ---------------------------------------------------------------- devices
    def _build_devices(self) -> None:
        cfg, rng = self.config, self.rng
        n = self.n_persons
        cust = self.is_customer
        n_web = np.where(cust, rng.choice([1, 2, 3], n, p=[0.55, 0.35, 0.10]), 1)
        has_app = rng.random(n) < np.where(cust, 0.5, 0.1)
        counts = n_web + has_app
        self.dev_start = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        self.dev_count = counts.astype(np.int64)
        person = np.repeat(np.arange(n), counts)
        nd = len(person)
        self.n_devices = nd
        rank = np.arange(nd) - self.dev_start[person]
        is_app = rank >= n_web[person]
        ios = rng.random(nd) < 0.55
        self.device_person = person
        self.device_platform = np.where(is_app, np.where(ios, 1, 2), 0).astype(np.int8)
        ua_web = rng.integers(0, len(vocab.WEB_USER_AGENTS), nd)
        ua_app = rng.integers(0, 3, nd)
        self.device_ua = [
            vocab.WEB_USER_AGENTS[w] if p == 0 else (vocab.IOS_USER_AGENTS if p == 1 else vocab.ANDROID_USER_AGENTS)[a]
            for p, w, a in zip(self.device_platform.tolist(), ua_web.tolist(), ua_app.tolist(), strict=True)
        ]
        self.anonymous_id = uuid4s(rng, nd)
        # Cookie churn: some browsers of existing customers first appear inside the window, anonymous.
        self.device_first_seen_ms = np.zeros(nd, np.int64)
        churn = (~is_app) & (rank > 0) & cust[person] & (rng.random(nd) < 0.35)
        span = self.world_end_ms - self.world_start_ms
        self.device_first_seen_ms[churn] = self.world_start_ms + (rng.random(int(churn.sum())) * span).astype(np.int64)
        # Skewed clocks: hours either way, or a day or two in the future.
        self.device_skew_ms = np.zeros(nd, np.int64)
        skewed = rng.random(nd) < cfg.rate("clock_skew")
        k = int(skewed.sum())
        hours = rng.uniform(1, 14, k) * np.where(rng.random(k) < 0.5, -1, 1)
        hours = np.where(rng.random(k) < 0.15, rng.uniform(24, 60, k), hours)
        self.device_skew_ms[skewed] = (hours * MS_HOUR).astype(np.int64)
        first_octet = np.array([81, 86, 90, 2, 31, 77, 92, 109, 151, 176, 188, 212])[rng.integers(0, 12, nd)]
        rest = rng.integers(0, 256, (nd, 2))
        last = rng.integers(1, 255, nd)
        self.device_ip = [
            f"{a}.{b}.{c}.{d}"
            for a, b, c, d in zip(
                first_octet.tolist(), rest[:, 0].tolist(), rest[:, 1].tolist(), last.tolist(), strict=True
            )
        ]
        self.device_tz = self.country[person]
        # The duplicate contact is the one a person uses on one of their devices (a second account).
        self.device_contact = np.where(cust[person], self.primary_contact[person], -1)
        has_dup = self.duplicate_contact[person] >= 0
        dup_device = has_dup & (rank == counts[person] - 1) & (counts[person] > 1)
        self.device_contact[dup_device] = self.duplicate_contact[person[dup_device]]
        first_commit = pd.Series(self.contact_versions.columns["commit"]).groupby(
            self.contact_versions.columns["contact"]
        )
        self._contact_first_commit = first_commit.min().to_numpy()

    def devices_of(self, person: int) -> range:
        start = int(self.dev_start[person])
        return range(start, start + int(self.dev_count[person]))

    def contact_for(self, device: int, t: int) -> int:
        """The CRM contact a device logs in as at time t (falls back to the person's primary contact)."""
        c = int(self.device_contact[device])
        if c < 0:
            return -1
        if self.contact_is_duplicate[c] and (self._contact_first_commit[c] > t or self.contact_deleted_ms[c] <= t):
            return int(self.primary_contact[self.contact_person[c]])
        return c

    def is_signed_up(self, person: int, t: int) -> bool:
        return bool(self.signup_ms[person] <= t)

    def sample_persons(self, rng: np.random.Generator, k: int, customers: bool) -> np.ndarray:
        """k persons drawn by activity (customers or prospects); eligibility is checked by the caller."""
        cum = self._cum_customer if customers else self._cum_prospect
        if len(cum) == 0 or k == 0:
            return np.zeros(0, np.int64)
        idx = np.searchsorted(cum, rng.random(k) * cum[-1], side="right")
        idx = np.minimum(idx, len(cum) - 1)
        return idx if customers else idx + self.n_customers

    # ---------------------------------------------------------------- consents
    def _build_consents(self) -> None:
        cfg, rng = self.config, self.rng
        n = self.n_contacts
        created = self.contact_created_ms
        contact = np.repeat(np.arange(n), len(CONSENT_PURPOSES))
        purpose = np.tile(np.arange(len(CONSENT_PURPOSES)), n)
        granted = rng.random(len(contact)) < np.array(CONSENT_GRANT_P)[purpose]
        contact, purpose = contact[granted], purpose[granted]
        m = len(contact)
        c_created = created[contact]
        historical = c_created < self.world_start_ms
        new_channel = np.where(self.contact_is_duplicate[contact], 3, np.where(rng.random(m) < 0.8, 0, 1))
        channel = np.where(historical, rng.choice(5, m, p=[0.45, 0.2, 0.2, 0.1, 0.05]), new_channel)
        delay = np.where(historical, rng.integers(0, 2 * MS_DAY, m), rng.integers(5_000, 60_000, m))
        captured = np.minimum(c_created + delay, np.where(historical, self.world_start_ms - MS_HOUR, NEVER))
        captured = captured // 1000 * 1000
        # Withdrawn before the window, or inside it (a new version of the same consent_id).
        pre_withdrawn = historical & (rng.random(m) < 0.08)
        pre_time = captured + (rng.random(m) * np.maximum(self.world_start_ms - MS_HOUR - captured, 0)).astype(np.int64)
        window = (self.world_end_ms - self.world_start_ms) / MS_DAY
        p_withdraw = np.array(CONSENT_WITHDRAW_PER_DAY)[purpose] * window
        withdraw = ~pre_withdrawn & (rng.random(m) < p_withdraw)
        lo = np.maximum(captured + MS_HOUR, self.world_start_ms)
        w_time = (lo + rng.random(m) * np.maximum(self.world_end_ms - lo, 0)).astype(np.int64) // 1000 * 1000
        withdraw &= w_time < self.world_end_ms
        w_channel = np.where(purpose == 0, 4, rng.choice([0, 1, 3], m))

        self.consent_id = salesforce_ids("a0C", np.arange(1, m + 1))
        self.consent_contact = contact
        rows_key = [np.arange(m), np.flatnonzero(withdraw)]
        first_status = np.where(pre_withdrawn, 1, 0)
        first_captured = np.where(pre_withdrawn, pre_time // 1000 * 1000, captured)
        first_channel = np.where(pre_withdrawn, w_channel, channel)
        wi = rows_key[1]
        consent = np.concatenate([rows_key[0], wi])
        modstamp = np.concatenate([first_captured, w_time[wi]])
        status = np.concatenate([first_status, np.ones(len(wi), np.int8)])
        captured_all = np.concatenate([first_captured, w_time[wi]])
        channel_all = np.concatenate([first_channel, w_channel[wi]])
        order = np.lexsort((modstamp, consent))
        consent, modstamp = consent[order], modstamp[order]
        commit, late = late_commits(consent, modstamp, rng, cfg.rate("late_commit"), self.world_start_ms)
        self.consent_versions = VersionTable(
            "consent",
            {
                "consent": consent,
                "modstamp": modstamp,
                "commit": commit,
                "late": late,
                "contact": contact[consent],
                "purpose": purpose[consent],
                "status": status[order],
                "captured": captured_all[order],
                "channel": channel_all[order],
            },
        )

    # ---------------------------------------------------------------- erasure requests
    def _build_erasures(self) -> None:
        persons = np.flatnonzero(self.erased_ms != NEVER)
        self.erasure_person = persons
        self.erasure_contact = self.primary_contact[persons]
        self.erasure_request_id = salesforce_ids("a0E", np.arange(1, len(persons) + 1))
        requested = self.erased_ms[persons]
        modstamp = requested + self.rng.integers(0, 3, len(persons)) * 1000
        commit, late = late_commits(
            np.arange(len(persons)), modstamp, self.rng, self.config.rate("late_commit"), self.world_start_ms
        )
        self.erasure_versions = VersionTable(
            "erasure_request",
            {
                "request": np.arange(len(persons)),
                "modstamp": modstamp,
                "commit": commit,
                "late": late,
                "requested": requested,
            },
        )

    def tz_offsets(self, device: np.ndarray, ms: np.ndarray) -> np.ndarray:
        return offsets_seconds(vocab.TIMEZONES, self.device_tz[device], ms)


def late_commits(
    keys: np.ndarray, modstamp: np.ndarray, rng: np.random.Generator, rate: float, since_ms: int
) -> tuple[np.ndarray, np.ndarray]:
    """When each version becomes visible: at its modstamp, or, for some stamped in a day's last 15 minutes,
    after midnight (a long transaction committing late). Input sorted by (key, modstamp).

    A late version never overtakes the row's next version: if that one is stamped before the late commit,
    the version commits on time.
    """
    commit = modstamp.copy()
    if len(keys) == 0:
        return commit, np.zeros(0, bool)
    candidate = (modstamp >= since_ms) & in_last_minutes_of_london_day(modstamp, LATE_COMMIT_WINDOW_MINUTES)
    draw = rng.random(len(keys))
    delay = rng.integers(20 * 60_000, 35 * 60_000, len(keys))  # commits 5 to 35 minutes after midnight
    late = candidate & (draw < rate)
    late_commit = modstamp + delay
    # Move the commit past the next midnight: the stamp is within 15 minutes of it, so +20..35 min crosses it.
    next_same = np.zeros(len(keys), bool)
    next_same[:-1] = keys[1:] == keys[:-1]
    next_stamp = np.full(len(keys), NEVER, np.int64)
    next_stamp[:-1] = np.where(next_same[:-1], modstamp[1:], NEVER)
    late &= late_commit < next_stamp
    commit[late] = late_commit[late]
    return commit, late
