"""The email service provider (ESP): campaign sends and engagement, `marketing/<YYYY-MM-DD>/email_events.csv`.

A file holds every event whose event_ts falls on that London day (only the header on a quiet day), as
the ESP exports it by 03:00 the next morning; files are never rewritten (append-only events).

Campaigns go out a few times a week to the ESP's list: CRM contacts with an email and a granted
marketing_email consent, minus the ESP's own suppressions (unsubscribes, spam reports, hard bounces).
The list learns of CRM withdrawals through a suppression sync that misses some (marketing_consent_breach):
those addresses keep receiving campaigns, a compliance breach the ground truth lists with its consent_id.
The ESP holds each address as it was first synced from the CRM (trimmed), some cased differently
(marketing_email_recased). Privacy proxies open a share of the delivered mail (marketing_machine_open).
"""

from __future__ import annotations

import csv
import io
import os
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from . import vocab
from .config import SandboxConfig, stream_seed
from .population import CONSENT_PURPOSES, NEVER, Population
from .timeutil import MS_DAY, MS_HOUR, MS_MINUTE, at_london_time, local_midnight_ms, offsets_seconds
from .web_analytics import QUIRK_COLUMNS

SYSTEM_DIR = "marketing"
FILE_NAME = "email_events.csv"
EVENT_TYPES = ("sent", "delivered", "bounced", "opened", "clicked", "unsubscribed", "spam_report")
SENT, DELIVERED, BOUNCED, OPENED, CLICKED, UNSUBSCRIBED, SPAM_REPORT = range(len(EVENT_TYPES))
BOUNCE_TYPES = ("hard", "soft")
COLUMNS = [
    "event_id", "campaign_id", "campaign_name", "message_id", "email", "event_type", "event_ts", "link_url",
    "bounce_type", "is_machine_open",
]  # fmt: skip
MARKETING_EMAIL = CONSENT_PURPOSES.index("marketing_email")

# (weekday, London hour, share of the list, name, landing paths); weekday None: any day, at random.
CAMPAIGN_KINDS = (
    (1, 8, 1.0, "Newsletter {d:%d %b}", ("/c/new-in", "/c/bestsellers", "/help/articles/501")),
    (3, 12, 0.6, "New in this week", ("/c/new-in", "/c/coats", "/c/knitwear")),
    (5, 9, 0.7, "Weekend offers: coats, boots & more", ("/c/sale", "/c/coats", "/c/boots")),
    (None, 18, 0.4, 'Flash sale, 24 hours only: "{term}"', ("/c/sale", "/search?q={q}", "/c/gifts")),
)
FLASH_SALE_PER_DAY = 0.12
SEND_WINDOW_MS = 40 * MS_MINUTE  # the ESP throttles: a campaign goes out over 40 minutes
INVALID_ADDRESS_SHARE = 0.004  # addresses that hard-bounce (then suppressed)
SOFT_BOUNCE_SHARE = 0.015
OPEN_SHARE = 0.22  # people opening a delivered message
SECOND_OPEN_SHARE = 0.25
CLICK_SHARE = 0.2  # of the people who open
UNSUBSCRIBE_SHARE = 0.004
SPAM_REPORT_SHARE = 0.0007
MAX_OPEN_DELAY_MS = 72 * MS_HOUR
EVENT_HORIZON_DAYS = 6  # no event comes later than this after its campaign's send day


@dataclass
class Campaign:
    campaign_id: str
    name: str
    day: date
    send_ms: int
    links: tuple[str, ...]
    recipients: np.ndarray  # contact indexes
    sent_ms: np.ndarray  # per recipient
    breach: np.ndarray  # per recipient: the CRM had withdrawn the marketing_email consent before the send
    events: dict[str, np.ndarray] | None = None  # msg, type, ts, link, bounce, machine, seq; ordered by ts
    # Kept when the events are released (the ground truth needs only these):
    counts: np.ndarray | None = None  # events per type
    machine: dict[str, np.ndarray] | None = None  # msg, ts, seq of the machine opens
    first_ts: np.ndarray | None = None  # per message: its first event from go-live on (NEVER: none)
    first_seq: np.ndarray | None = None  # ...and that event's number within the message

    def event_ids(self, msg: np.ndarray, seq: np.ndarray) -> list[str]:
        head = self.campaign_id.lower()
        return [
            f"ev-{head}-{m:07d}-{s:02d}"
            for m, s in zip(np.asarray(msg).tolist(), np.asarray(seq).tolist(), strict=True)
        ]

    def message_ids(self, msg: np.ndarray) -> list[str]:
        head = f"<{self.campaign_id.lower()}.{{:07d}}@mail.frictionshop.co.uk>"
        return [head.format(m) for m in np.asarray(msg, np.int64).tolist()]


class EspList:
    """Who the ESP holds, with which address, and who it must not mail (per contact, vectorised)."""

    def __init__(self, pop: Population) -> None:
        cfg = pop.config
        rng = np.random.default_rng(stream_seed(cfg.seed, "esp-list"))
        n = pop.n_contacts
        cv = pop.contact_versions.columns
        first = np.flatnonzero(np.r_[True, cv["contact"][1:] != cv["contact"][:-1]])  # first version per contact
        crm_email = [cv["email"][i] for i in first.tolist()]
        recased = rng.random(n) < cfg.rate("marketing_email_recased")
        self.address: list[str | None] = []
        for e, r in zip(crm_email, recased.tolist(), strict=True):
            if e is None:
                self.address.append(None)
                continue
            e = e.strip()  # the ESP trims what it imports
            self.address.append((e.lower() if e != e.lower() else e.title()) if r else e)
        self.crm_email = crm_email
        self.recased = recased & np.array([a is not None for a in self.address], bool)
        self.invalid = rng.random(n) < INVALID_ADDRESS_SHARE
        self.visible_ms = np.array([pop.contact_visible_ms(c) for c in range(n)], np.int64)
        self.gone_ms = np.minimum(pop.contact_deleted_ms, pop.erased_ms[pop.contact_person])
        # marketing_email consent per contact: when it was first recorded and when it was withdrawn.
        kv = pop.consent_versions.columns
        mine = np.flatnonzero(kv["purpose"] == MARKETING_EMAIL)
        self.consent = np.full(n, -1, np.int64)
        self.consent_since = np.full(n, NEVER, np.int64)
        self.withdrawn_ms = np.full(n, NEVER, np.int64)
        contact, consent = kv["contact"][mine], kv["consent"][mine]
        status, modstamp = kv["status"][mine], kv["modstamp"][mine]
        self.consent[contact] = consent
        np.minimum.at(self.consent_since, contact, modstamp)
        withdrawn = status == 1
        np.minimum.at(self.withdrawn_ms, contact[withdrawn], modstamp[withdrawn])
        # Consents recorded withdrawn from the start were granted before the window: on the list since then.
        self.consent_since[self.withdrawn_ms == self.consent_since] = 0
        missed = rng.random(len(pop.consent_id)) < cfg.rate("marketing_consent_breach")
        self.sync_missed = np.zeros(n, bool)
        has = self.consent >= 0
        self.sync_missed[has] = missed[self.consent[has]]
        self.has_address = np.array([a is not None for a in self.address], bool)
        self.suppressed_ms = np.full(n, NEVER, np.int64)  # the ESP's own: unsubscribed, spam report, hard bounce

    def audience(self, t: int) -> np.ndarray:
        on_list = (self.consent_since <= t) & ((self.withdrawn_ms > t) | self.sync_missed)
        alive = (self.visible_ms <= t) & (self.gone_ms > t) & (self.suppressed_ms > t)
        return np.flatnonzero(on_list & alive & self.has_address)


def plan_campaign_days(cfg: SandboxConfig) -> list[tuple[date, int, int, str, tuple[str, ...]]]:
    """(day, kind, send ms, name, links) for every campaign of the world, in send order."""
    out = []
    for d in cfg.days():
        rng = np.random.default_rng(stream_seed(cfg.seed, "marketing-campaigns", d.isoformat()))
        minute, flash, term = rng.random(3).tolist()
        for kind, (weekday, hour, _, name, paths) in enumerate(CAMPAIGN_KINDS):
            if weekday is None and flash >= FLASH_SALE_PER_DAY or weekday is not None and weekday != d.weekday():
                continue
            word = vocab.SEARCH_TERMS[int(term * len(vocab.SEARCH_TERMS))]
            text = name.format(d=d, term=word)
            links = tuple(p.format(q=word.replace(" ", "+")) for p in paths)
            out.append((d, kind, at_london_time(d, hour) + int(minute * 30 * MS_MINUTE) // 1000 * 1000, text, links))
    return out


def _campaign(cfg: SandboxConfig, esp: EspList, number: int, spec: tuple) -> Campaign:
    d, kind, send, name, paths = spec
    campaign_id = f"CMP-{d:%Y%m%d}-{number}"
    rng = np.random.default_rng(stream_seed(cfg.seed, "marketing-send", campaign_id))
    audience = esp.audience(send)
    share = CAMPAIGN_KINDS[kind][2]
    recipients = audience[rng.random(len(audience)) < share] if share < 1 else audience
    sent = send + np.sort(rng.integers(0, SEND_WINDOW_MS, len(recipients))) // 1000 * 1000
    links = tuple(
        f"{vocab.SITE}{p}{'&' if '?' in p else '?'}utm_source=esp&utm_medium=email&utm_campaign={campaign_id.lower()}"
        for p in paths
    )
    campaign = Campaign(campaign_id, name, d, send, links, recipients, sent, esp.withdrawn_ms[recipients] <= sent)
    campaign.events = ev = engagement(cfg, esp, campaign)
    campaign.counts = np.bincount(ev["type"], minlength=len(EVENT_TYPES))
    campaign.machine = {k: ev[k][ev["machine"]] for k in ("msg", "ts", "seq")}
    live = np.flatnonzero(ev["ts"] >= local_midnight_ms(cfg.start_date))[::-1]  # latest first: the earliest wins
    campaign.first_ts = np.full(len(recipients), NEVER, np.int64)
    campaign.first_seq = np.zeros(len(recipients), np.int64)
    campaign.first_ts[ev["msg"][live]] = ev["ts"][live]
    campaign.first_seq[ev["msg"][live]] = ev["seq"][live]
    # What the ESP learns from it suppresses later sends.
    stop = (ev["type"] == UNSUBSCRIBED) | (ev["type"] == SPAM_REPORT) | ((ev["type"] == BOUNCED) & (ev["bounce"] == 0))
    np.minimum.at(esp.suppressed_ms, recipients[ev["msg"][stop]], ev["ts"][stop])
    return campaign


def engagement(cfg: SandboxConfig, esp: EspList, c: Campaign) -> dict[str, np.ndarray]:
    """Every event of a campaign's messages (deterministic from the campaign and its recipients)."""
    rng = np.random.default_rng(stream_seed(cfg.seed, "marketing-events", c.campaign_id))
    n = len(c.recipients)
    u = rng.random((n, 10))
    hard = esp.invalid[c.recipients]
    soft = ~hard & (u[:, 0] < SOFT_BOUNCE_SHARE)
    delivered = ~hard & ~soft
    answer = c.sent_ms + (1000 + u[:, 1] * 59_000).astype(np.int64)
    machine = delivered & (u[:, 2] < cfg.rate("marketing_machine_open"))
    opens = delivered & (u[:, 3] < OPEN_SHARE)
    open_delay = np.clip(rng.lognormal(np.log(2 * MS_HOUR), 1.3, n), 30_000, MAX_OPEN_DELAY_MS).astype(np.int64)
    first_open = answer + open_delay
    second = opens & (u[:, 4] < SECOND_OPEN_SHARE)
    second_open = first_open + (MS_MINUTE + u[:, 5] * 2 * MS_DAY).astype(np.int64)
    click = opens & (u[:, 6] < CLICK_SHARE)
    click_at = first_open + (5000 + u[:, 7] * 5 * MS_MINUTE).astype(np.int64)
    unsubscribe = delivered & (u[:, 8] < UNSUBSCRIBE_SHARE)
    spam = delivered & ~unsubscribe & (u[:, 9] < SPAM_REPORT_SHARE)
    leave_at = np.where(opens, first_open, answer + open_delay) + (10_000 + u[:, 9] * 100_000).astype(np.int64)
    all_msgs = np.arange(n)
    parts = [
        (all_msgs, SENT, c.sent_ms[all_msgs], -1, -1, False),
        (np.flatnonzero(delivered), DELIVERED, answer[delivered], -1, -1, False),
        (np.flatnonzero(hard), BOUNCED, answer[hard], -1, 0, False),
        (np.flatnonzero(soft), BOUNCED, answer[soft], -1, 1, False),
        (np.flatnonzero(machine), OPENED, answer[machine] + (5000 + u[machine, 2] * 2_000_000).astype(np.int64), -1,
         -1, True),
        (np.flatnonzero(opens), OPENED, first_open[opens], -1, -1, False),
        (np.flatnonzero(second), OPENED, second_open[second], -1, -1, False),
        (np.flatnonzero(click), CLICKED, click_at[click], (u[click, 7] * 1000).astype(np.int64) % len(c.links), -1,
         False),
        (np.flatnonzero(unsubscribe), UNSUBSCRIBED, leave_at[unsubscribe], -1, -1, False),
        (np.flatnonzero(spam), SPAM_REPORT, leave_at[spam], -1, -1, False),
    ]  # fmt: skip
    msg = np.concatenate([p[0] for p in parts]).astype(np.int64)
    kind = np.concatenate([np.full(len(p[0]), p[1], np.int8) for p in parts])
    ts = np.concatenate([p[2] for p in parts]).astype(np.int64) // 1000 * 1000
    link = np.concatenate([np.broadcast_to(np.asarray(p[3], np.int64), len(p[0])) for p in parts]).astype(np.int8)
    bounce = np.concatenate([np.full(len(p[0]), p[4], np.int8) for p in parts])
    is_machine = np.concatenate([np.full(len(p[0]), p[5], bool) for p in parts])
    order = np.lexsort((kind, msg, ts))
    msg, kind, ts, link, bounce, is_machine = (a[order] for a in (msg, kind, ts, link, bounce, is_machine))
    # A message's events count up from its send: event ids are unique by construction.
    by_msg = np.lexsort((ts, msg))
    seq = np.empty(len(msg), np.int64)
    starts = np.r_[0, np.flatnonzero(np.diff(msg[by_msg])) + 1]
    seq[by_msg] = np.arange(len(msg)) - np.repeat(starts, np.diff(np.r_[starts, len(msg)]))
    return {"msg": msg, "type": kind, "ts": ts, "link": link, "bounce": bounce, "machine": is_machine, "seq": seq}


def _iso_z(ms: np.ndarray) -> list[str]:
    text = np.datetime_as_string(np.asarray(ms, np.int64).astype("datetime64[ms]").astype("datetime64[s]"), unit="s")
    return [t + "Z" for t in text.tolist()]


def folder(landing_dir: Path, d: date) -> Path:
    return Path(landing_dir) / SYSTEM_DIR / d.isoformat()


def pending(cfg: SandboxConfig, landing_dir: Path, through: date) -> list[date]:
    """London days through `through` whose export is not written yet."""
    done = set(delivered_dates(landing_dir))
    return [d for d in cfg.days() if cfg.start_date <= d <= through and d not in done]


def delivered_dates(landing_dir: Path) -> list[date]:
    root = Path(landing_dir) / SYSTEM_DIR
    out = []
    for path in sorted(root.iterdir()) if root.exists() else []:
        try:
            day = date.fromisoformat(path.name)
        except ValueError:
            continue
        if (path / FILE_NAME).exists():
            out.append(day)
    return out


class MarketingExports:
    """The ESP over the simulated period: campaigns planned in send order, one export file per London day."""

    def __init__(self, population: Population, landing_dir: Path) -> None:
        self.pop = population
        self.cfg = population.config
        self.landing_dir = Path(landing_dir)
        self._esp: EspList | None = None
        self._specs = plan_campaign_days(self.cfg)
        self.campaigns: list[Campaign] = []

    @property
    def esp(self) -> EspList:
        if self._esp is None:
            self._esp = EspList(self.pop)
        return self._esp

    def campaigns_through(self, day: date) -> list[Campaign]:
        """Campaigns sent by the end of `day` (each depends on the suppressions of those before it)."""
        while len(self.campaigns) < len(self._specs) and self._specs[len(self.campaigns)][0] <= day:
            spec = self._specs[len(self.campaigns)]
            same_day = sum(1 for c in self.campaigns if c.day == spec[0])
            self.campaigns.append(_campaign(self.cfg, self.esp, same_day + 1, spec))
        return [c for c in self.campaigns if c.day <= day]

    def events(self, c: Campaign) -> dict[str, np.ndarray]:
        if c.events is None:
            c.events = engagement(self.cfg, self.esp, c)  # released earlier: the same events again
        return c.events

    def pending(self, through: date) -> list[date]:
        return pending(self.cfg, self.landing_dir, through)

    def day_rows(self, d: date) -> pd.DataFrame:
        """Every event of London day d, in event_ts order (then event id), with hidden `_` columns."""
        lo, hi = local_midnight_ms(d), local_midnight_ms(d + timedelta(days=1))
        frames = []
        for c in self.campaigns_through(d):
            if c.day < d - timedelta(days=EVENT_HORIZON_DAYS):
                continue
            ev = self.events(c)
            idx = np.flatnonzero((ev["ts"] >= lo) & (ev["ts"] < hi))
            if not len(idx):
                continue
            msg = ev["msg"][idx]
            contact = c.recipients[msg]
            message_ids = c.message_ids(msg)
            event_ids = c.event_ids(msg, ev["seq"][idx])
            kind = ev["type"][idx]
            frames.append(
                pd.DataFrame(
                    {
                        "event_id": event_ids,
                        "campaign_id": c.campaign_id,
                        "campaign_name": c.name,
                        "message_id": message_ids,
                        "email": [self.esp.address[k] for k in contact.tolist()],
                        "event_type": np.array(EVENT_TYPES, object)[kind],
                        "event_ts": _iso_z(ev["ts"][idx]),
                        "link_url": np.array([*c.links, None], object)[ev["link"][idx]],
                        "bounce_type": np.array([*BOUNCE_TYPES, None], object)[ev["bounce"][idx]],
                        "is_machine_open": np.where(ev["machine"][idx], "true", "false"),
                        "_ms": ev["ts"][idx],
                        "_contact": contact,
                        "_breach": (kind == SENT) & c.breach[msg],
                        "_machine": ev["machine"][idx],
                    }
                )
            )
        if not frames:
            return pd.DataFrame(columns=[*COLUMNS, "_ms", "_contact", "_breach", "_machine"])
        out = pd.concat(frames, ignore_index=True)
        return out.sort_values(["_ms", "event_id"], kind="stable").reset_index(drop=True)

    def deliver(self, through: date) -> tuple[list[date], int]:
        """Write the file of every London day through `through` not written yet; returns (dates, rows)."""
        ahead = [d for d in delivered_dates(self.landing_dir) if d > through]
        if ahead:
            raise ValueError(f"marketing files already exist for {ahead[0]} and later; cannot go back to {through}")
        written, rows = [], 0
        for d in self.pending(through):
            frame = self.day_rows(d)
            path = folder(self.landing_dir, d)
            path.mkdir(parents=True, exist_ok=True)
            buffer = io.StringIO()
            frame.to_csv(
                buffer, columns=COLUMNS, index=False, lineterminator="\n", quoting=csv.QUOTE_MINIMAL, na_rep=""
            )
            tmp = path / f".{FILE_NAME}.tmp"
            tmp.write_bytes(buffer.getvalue().encode("utf-8"))
            os.replace(tmp, path / FILE_NAME)
            written.append(d)
            rows += len(frame)
        self.release(through)
        return written, rows

    def release(self, through: date) -> None:
        """Forget the events of campaigns whose every event day is written (bounded memory at scale)."""
        for c in self.campaigns:
            if c.day + timedelta(days=EVENT_HORIZON_DAYS) < through:
                c.events = None

    # ------------------------------------------------------------ ground truth
    def _delivered_sends(self, through: date) -> list[tuple[Campaign, np.ndarray]]:
        """Per campaign, the recipients whose sent event is in a file delivered by `through`."""
        lo = local_midnight_ms(self.cfg.start_date)
        hi = local_midnight_ms(through + timedelta(days=1))
        return [(c, np.flatnonzero((c.sent_ms >= lo) & (c.sent_ms < hi))) for c in self.campaigns_through(through)]

    def quirk_frame(self, through: date) -> pd.DataFrame:
        """consent_breach per breaching send, marketing_machine_open per machine open, and
        marketing_email_recased once per address (its first delivered event); all in files delivered by `through`."""
        lo = local_midnight_ms(self.cfg.start_date)
        hi = local_midnight_ms(through + timedelta(days=1))
        esp, pop = self.esp, self.pop
        person_ids = np.array(pop.person_id, object)
        parts = []

        def add(quirk: str, c: Campaign, msg: np.ndarray, ts: np.ndarray, seq: np.ndarray, detail: list) -> None:
            contact = c.recipients[msg]
            parts.append(
                pd.DataFrame(
                    {
                        "quirk": quirk,
                        "system": SYSTEM_DIR,
                        "location": _locations(ts),
                        "occurred_at": ts,
                        "source_key": c.event_ids(msg, seq),
                        "person_id": person_ids[pop.contact_person[contact]],
                        "journey_id": None,
                        "detail": detail,
                    }
                )
            )

        first_ts = np.full(pop.n_contacts, NEVER, np.int64)  # recased addresses: their first delivered event
        first_key: dict[int, tuple[Campaign, int, int]] = {}
        for c in self.campaigns_through(through):
            sent = np.flatnonzero(c.breach & (c.sent_ms >= lo) & (c.sent_ms < hi))
            if len(sent):
                detail = [
                    f"consent {pop.consent_id[esp.consent[k]]} of contact {pop.contact_id[k]} withdrawn "
                    f"{_iso_z(esp.withdrawn_ms[[k]])[0]}"
                    for k in c.recipients[sent].tolist()
                ]
                add("consent_breach", c, sent, c.sent_ms[sent], np.zeros(len(sent), np.int64), detail)
            m = c.machine
            shown = (m["ts"] >= lo) & (m["ts"] < hi)
            if shown.any():
                n = int(shown.sum())
                add("marketing_machine_open", c, m["msg"][shown], m["ts"][shown], m["seq"][shown],
                    ["opened by a mail privacy proxy"] * n)  # fmt: skip
            seen = np.flatnonzero((c.first_ts < hi) & esp.recased[c.recipients])
            contact = c.recipients[seen]
            earlier = c.first_ts[seen] < first_ts[contact]
            for k, msg in zip(contact[earlier].tolist(), seen[earlier].tolist(), strict=True):
                first_key[k] = (c, msg, int(c.first_ts[msg]))
            first_ts[contact[earlier]] = c.first_ts[seen[earlier]]
        by_campaign: dict[str, list] = defaultdict(list)
        for k in sorted(first_key):
            c, msg, _ = first_key[k]
            by_campaign[c.campaign_id].append((c, msg, k))
        for items in by_campaign.values():
            c = items[0][0]
            msg = np.array([m for _, m, _ in items], np.int64)
            detail = [f"ESP holds {esp.address[k]!r}; CRM {esp.crm_email[k].strip()!r}" for _, _, k in items]
            add("marketing_email_recased", c, msg, c.first_ts[msg], c.first_seq[msg], detail)
        parts = [p for p in parts if len(p)]
        return pd.concat(parts, ignore_index=True)[QUIRK_COLUMNS] if parts else pd.DataFrame(columns=QUIRK_COLUMNS)

    def campaigns_frame(self, through: date) -> pd.DataFrame:
        """campaigns.csv: each campaign sent by `through`, its audience and planned engagement."""
        rows = []
        for c in self.campaigns_through(through):
            counts = c.counts
            rows.append(
                {
                    "campaign_id": c.campaign_id,
                    "campaign_name": c.name,
                    "send_at": _iso_z(np.array([c.send_ms]))[0],
                    "recipients": len(c.recipients),
                    "consent_breaches": int(c.breach.sum()),
                    "machine_opens": len(c.machine["msg"]),
                    **{f"{name}_events": int(counts[i]) for i, name in enumerate(EVENT_TYPES)},
                }
            )
        return pd.DataFrame(rows)

    def breaches_frame(self, through: date) -> pd.DataFrame:
        """consent_breaches.csv: every delivered send to an address whose marketing_email consent the CRM had
        withdrawn; the consent is in the CRM (crm.consent, status withdrawn) under consent_id."""
        pop, esp = self.pop, self.esp
        rows = []
        for c, idx in self._delivered_sends(through):
            msgs = idx[c.breach[idx]]
            for m in msgs.tolist():
                k = int(c.recipients[m])
                rows.append(
                    {
                        "event_id": f"ev-{c.campaign_id.lower()}-{m:07d}-00",
                        "campaign_id": c.campaign_id,
                        "message_id": c.message_ids(np.array([m]))[0],
                        "email": esp.address[k],
                        "sent_at": _iso_z(c.sent_ms[[m]])[0],
                        "consent_id": pop.consent_id[esp.consent[k]],
                        "crm_contact_id": pop.contact_id[k],
                        "person_id": pop.person_id[pop.contact_person[k]],
                        "withdrawn_at": _iso_z(esp.withdrawn_ms[[k]])[0],
                    }
                )
        columns = [
            "event_id", "campaign_id", "message_id", "email", "sent_at", "consent_id", "crm_contact_id", "person_id",
            "withdrawn_at",
        ]  # fmt: skip
        return pd.DataFrame(rows, columns=columns)

    def identity_frame(self, through: date) -> pd.DataFrame:
        """The address of every contact in a delivered file (first seen: its first event there)."""
        first = np.full(self.pop.n_contacts, NEVER, np.int64)
        hi = local_midnight_ms(through + timedelta(days=1))
        for c in self.campaigns_through(through):
            shown = c.first_ts < hi
            np.minimum.at(first, c.recipients[shown], c.first_ts[shown])
        contacts = np.flatnonzero(first < NEVER)
        values = np.array([self.esp.address[k] for k in contacts.tolist()], object)
        return pd.DataFrame(
            {
                "person": self.pop.contact_person[contacts],
                "system": SYSTEM_DIR,
                "identifier_type": "email",
                "value": values,
                "normalised_value": [v.strip().lower() for v in values],
                "source_key": values,  # the ESP knows a recipient by address only
                "first_seen": first[contacts],
            }
        )


def _locations(ms: np.ndarray) -> list[str]:
    """The file an event is in: its London day's export."""
    ms = np.asarray(ms, np.int64)
    offset = offsets_seconds(("Europe/London",), np.zeros(len(ms), np.int8), ms)
    days = ((ms + offset * 1000) // MS_DAY).astype("datetime64[D]").astype(str).tolist()
    return [f"{SYSTEM_DIR}/{d}/{FILE_NAME}" for d in days]
