"""The contact centre (CCE): voice, chat with the chatbot, email, social and callbacks, behind a REST API.

Interactions derive from the world (population + day plans): the CRM cases opened by phone, chat, email or
social get their conversations (the first contact, customers chasing slow cases, agents asking for
information and customers replying, cases reopened); delivery journeys produce "where is my order" calls
and chats; failed checkouts produce billing calls (many more in the turbulent period). Queues follow load
by weekday and hour; callers give up in the queue, accept a callback, retry; the bot sometimes has no
answer (a dead end), and the customer calls instead.

A record changes after the fact: it is written when the contact ends (emails and social messages when
they arrive), the agent's wrap-up adds the disposition minutes later, and a CSAT survey answer up to 48
hours later. Each change is a version with a later `updated_at`. `deliver` writes the versions known by
a cutoff to a SQLite store that the API server (contact_center_api.py) reads; ground truth frames say
what every interaction really was.
"""

from __future__ import annotations

import json
import math
import random
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from frictionflow.contracts import load_contract

from . import vocab
from .config import TURBULENCE_EFFECTS, stream_seed
from .journeys import DayPlan
from .population import PHONE_FORMATS, Population
from .timeutil import (
    HOUR_WEIGHTS,
    LONDON,
    MS_HOUR,
    MS_MINUTE,
    WEEKDAY_FACTOR,
    at_london_time,
    iso_seconds_z,
    iso_utc_z,
    london_date,
    within_working_hours,
)

if TYPE_CHECKING:
    from .world import World

SYSTEM = "contact_center"
LOCATION = "contact_center GET /v1/interactions"
STORE_FILE = "interactions.sqlite3"
SPOT_CHECK_RECORDS = 2000

CHANNELS = ("voice", "chat", "email", "social", "callback")
VOICE, CHAT, EMAIL, SOCIAL, CALLBACK = range(5)
DIRECTIONS = ("inbound", "outbound")
INBOUND, OUTBOUND = 0, 1
QUEUES = ("billing", "delivery", "sales", "tech_support", "returns", "general")
BILLING, DELIVERY, SALES, TECH, RETURNS, GENERAL = range(6)
BOT_OUTCOMES = ("contained", "escalated", "no_match")
CONTAINED, ESCALATED_BY_BOT, NO_MATCH = range(3)
DISPOSITIONS = ("resolved", "unresolved", "escalated", "follow_up", "abandoned", "callback_scheduled")
RESOLVED, UNRESOLVED, ESCALATED, FOLLOW_UP, ABANDONED, CALLBACK_SCHEDULED = range(6)
REASONS = (
    "case_contact", "case_chase", "case_request", "case_reply", "case_reopen", "where_is_my_order", "failed_payment"
)  # fmt: skip
CASE_CONTACT, CASE_CHASE, CASE_REQUEST, CASE_REPLY, CASE_REOPEN, WISMO, FAILED_PAYMENT = range(7)
# Version stages: an email or social message is visible when it arrives (OPEN); every contact gets a record
# when it ends (END); an agent's wrap-up follows (WRAP); a survey answer comes last (CSAT).
OPEN, END, WRAP, CSAT = range(4)
NEVER_STAGE = 9

CATEGORY_QUEUE = {
    "billing": BILLING, "delivery": DELIVERY, "returns": RETURNS, "technical": TECH, "account": TECH,
    "product": SALES, "other": GENERAL,
}  # fmt: skip
CASE_CHANNELS = {"phone": VOICE, "chat": CHAT, "email": EMAIL, "social": SOCIAL}

# Behaviour (not quirks): shares and times that shape the contact centre.
WISMO_PER_DELIVERY_JOURNEY = 0.15  # "where is my order" contacts per delivery-tracking journey
FAILED_PAYMENT_CONTACT = 0.05  # billing contacts per failed checkout (x cce_billing_contact_multiplier)
CASE_CHASE = 0.35  # share of cases still unresolved after a day whose customer chases them
CSAT_RESPONSE = 0.25  # share of answered contacts whose customer answers the survey
WITHHELD_NUMBER = 0.04  # callers whose number telephony cannot capture
AGENT_TYPED_EMAIL = 0.12  # answered calls where the agent types the caller's email at wrap-up
CALLBACK_OFFER_WAIT_S = 300  # callers expected to wait longer are offered a callback ...
CALLBACK_ACCEPT = 0.4  # ... and this share accepts it
CALLBACK_ANSWERED = 0.85
RETRY_AFTER_ABANDON = 0.5
MEDIAN_WAIT_S = {VOICE: 70.0, CHAT: 35.0}
WAIT_SIGMA = 0.9
MEDIAN_PATIENCE_S = {VOICE: 240.0, CHAT: 150.0}
PATIENCE_SIGMA = 0.7
MAX_WAIT_S = 45 * 60
MEDIAN_TALK_S = {VOICE: 330.0, CHAT: 540.0, EMAIL: 300.0, SOCIAL: 200.0, CALLBACK: 300.0}
AGENT_HOURS = (8, 20)  # London; the chatbot answers around the clock
LATE_CSAT_MS = (24 * MS_HOUR, 48 * MS_HOUR)
CLEAN_PHONE = PHONE_FORMATS.index("intl_compact")  # E.164, as telephony captures it
FREE_PHONE_FORMATS = tuple(i for i in range(len(PHONE_FORMATS)) if i != CLEAN_PHONE)

DISPOSITION_WEIGHTS = {
    CASE_CONTACT: {FOLLOW_UP: 70, ESCALATED: 15, RESOLVED: 10, UNRESOLVED: 5},
    CASE_CHASE: {FOLLOW_UP: 55, ESCALATED: 30, UNRESOLVED: 15},
    CASE_REQUEST: {FOLLOW_UP: 100},
    CASE_REPLY: {FOLLOW_UP: 60, RESOLVED: 40},
    CASE_REOPEN: {FOLLOW_UP: 50, ESCALATED: 40, UNRESOLVED: 10},
    WISMO: {RESOLVED: 80, FOLLOW_UP: 12, ESCALATED: 8},
    FAILED_PAYMENT: {RESOLVED: 65, UNRESOLVED: 20, FOLLOW_UP: 15},
}
TURBULENT_FAILED_PAYMENT = {RESOLVED: 30, UNRESOLVED: 45, FOLLOW_UP: 15, ESCALATED: 10}
CSAT_WEIGHTS = {
    RESOLVED: (2, 4, 10, 34, 50),
    FOLLOW_UP: (8, 14, 30, 30, 18),
    ESCALATED: (8, 14, 30, 30, 18),
    UNRESOLVED: (35, 25, 20, 12, 8),
}

COLUMNS = (
    "person", "contact", "journey", "case", "order_ref", "reason", "channel", "direction", "queue", "entry_queue",
    "started", "answered", "ended", "wait_s", "handle_s", "transfers", "bot", "bot_outcome", "disposition",
    "system_disposition", "csat", "t_open", "t_end", "t_wrap", "t_csat", "phone_fmt", "email_src", "email_free",
    "email_u", "email_at_wrap", "linked", "case_at", "order_at", "repeat_of", "callback_of", "abandoned",
    "dead_end", "late_csat", "turbulent",
)  # fmt: skip
_DEFAULTS = {
    "contact": -1, "journey": -1, "case": -1, "order_ref": None, "direction": INBOUND, "entry_queue": -1,
    "answered": -1, "ended": -1, "wait_s": 0, "handle_s": -1, "transfers": 0, "bot": False, "bot_outcome": -1,
    "disposition": -1, "system_disposition": True, "csat": -1, "t_open": -1, "t_end": -1, "t_wrap": -1, "t_csat": -1,
    "phone_fmt": -1, "email_src": -1, "email_free": False, "email_u": 0.0, "email_at_wrap": False, "linked": False,
    "case_at": NEVER_STAGE, "order_at": NEVER_STAGE, "repeat_of": -1, "callback_of": -1, "abandoned": False,
    "dead_end": False, "late_csat": False, "turbulent": False,
}  # fmt: skip
EMAIL_PROSPECT = -2  # email_src for a person without a CRM contact: the address they give
# Kept for every day of the window (the ground truth needs them): small types where they fit.
_NARROW = {
    **dict.fromkeys(("reason", "channel", "direction", "queue", "entry_queue", "bot_outcome", "disposition"), np.int8),
    **dict.fromkeys(("csat", "phone_fmt", "case_at", "order_at", "transfers"), np.int8),
    **dict.fromkeys(("person", "contact", "journey", "case", "email_src", "repeat_of", "callback_of"), np.int32),
    "order_ref": object,
}


@dataclass
class ContactCenterDay:
    """The interactions that one day's plan leads to (whenever they happen), as numeric columns.

    Strings (ids, phones, emails, payloads) are rendered only when delivered, to keep memory small.
    """

    plan: DayPlan
    day_number: int
    columns: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.columns["started"])

    def version_times(self) -> np.ndarray:
        """(n, 4) updated_at (ms) per stage OPEN, END, WRAP, CSAT; -1 where the stage does not exist."""
        c = self.columns
        return np.stack([c["t_open"], c["t_end"], c["t_wrap"], c["t_csat"]], axis=1)


# ---------------------------------------------------------------------------- identifiers
_MASK = (1 << 64) - 1


def interaction_ids(seed: int, day_number: int, seqs: np.ndarray | list[int]) -> list[str]:
    """UUID-looking ids, unique by construction: an invertible 64-bit mix of (day, sequence) fills 16 hex digits."""
    offset = stream_seed(seed, "cce-ids") & _MASK
    out = []
    for seq in np.asarray(seqs, np.int64).tolist():
        n = day_number * 10_000_000 + seq
        hi = (n * 0x9E3779B97F4A7C15 + offset) & _MASK  # odd multiplier: a bijection on 64 bits
        lo = ((hi ^ (hi >> 31)) * 0xBF58476D1CE4E5B9) & _MASK
        h, low = f"{hi:016x}", f"{lo:016x}"
        out.append(f"{h[:8]}-{h[8:12]}-4{h[12:15]}-{'89ab'[lo & 3]}{h[15]}{low[:2]}-{low[2:14]}")
    return out


def _ids(pop: Population, name: str) -> np.ndarray:
    """pop.person_id / pop.contact_id as an object array with None appended (index -1), built once."""
    cache = pop.__dict__.setdefault("_cce_id_arrays", {})
    if name not in cache:
        cache[name] = np.array([*getattr(pop, name), None], object)
    return cache[name]


def prospect_email(pop: Population, person: int) -> str:
    """The address a person without a CRM contact gives (unique by construction: it carries their number)."""
    first = pop.first_name[person].lower()
    last = pop.last_name[person].lower().replace("'", "")
    domain = vocab.PERSONAL_DOMAINS[person % len(vocab.PERSONAL_DOMAINS)]
    return f"{first[0]}{last}{person}@{domain}"


# ---------------------------------------------------------------------------- simulation
class _DayBuilder:
    """Scripts the contact-centre side of one day's plan into columns (one row per interaction)."""

    def __init__(self, pop: Population, plan: DayPlan) -> None:
        cfg = pop.config
        self.pop, self.cfg, self.plan = pop, cfg, plan
        self.rnd = random.Random(stream_seed(cfg.seed, "contact_center", plan.day.isoformat()))
        self.rows: dict[str, list] = {name: [] for name in COLUMNS}
        self.linked_rate = cfg.rate("cce_agent_linked_contact")
        self.free_rate = cfg.rate("cce_free_format_contact")
        self.late_csat_rate = cfg.rate("cce_late_csat")
        self.no_match_rate = cfg.rate("cce_bot_no_match")
        self._turbulent_days: dict[date, bool] = {}

    # ------------------------------------------------------------ plumbing
    def add(self, **values) -> int:
        i = len(self.rows["started"])
        for name in COLUMNS:
            self.rows[name].append(values[name] if name in values else _DEFAULTS[name])
        return i

    def set(self, i: int, **values) -> None:
        for name, value in values.items():
            self.rows[name][i] = value

    def turbulent_at(self, ms: int) -> bool:
        day = datetime.fromtimestamp(ms / 1000, LONDON).date()
        if day not in self._turbulent_days:
            self._turbulent_days[day] = self.cfg.is_turbulent_day(day)
        return self._turbulent_days[day]

    @staticmethod
    def in_agent_hours(ms: int) -> bool:
        return AGENT_HOURS[0] <= datetime.fromtimestamp(ms / 1000, LONDON).hour < AGENT_HOURS[1]

    def seconds(self, lo: float, hi: float) -> int:
        return int(self.rnd.uniform(lo, hi)) * 1000

    def jitter(self) -> int:
        """The system writes a change a fraction of a second after it happens (updated_at has milliseconds)."""
        return self.rnd.randint(40, 950)

    def median_wait_s(self, ms: int, channel: int, queue: int) -> float:
        """Queue wait grows with the hour's load and the weekday; the turbulent period adds understaffing."""
        moment = datetime.fromtimestamp(ms / 1000, LONDON)
        weekend = moment.weekday() >= 5
        weights = HOUR_WEIGHTS[weekend]
        load = weights[moment.hour] / weights[AGENT_HOURS[0] : AGENT_HOURS[1]].mean()
        median = MEDIAN_WAIT_S[channel] * load**0.8 * WEEKDAY_FACTOR[moment.weekday()]
        if self.turbulent_at(ms):
            median *= TURBULENCE_EFFECTS["cce_wait_time_multiplier"]
            if queue == BILLING:
                median *= TURBULENCE_EFFECTS["cce_billing_wait_multiplier"]
        return median

    def wait_s(self, ms: int, channel: int, queue: int) -> int:
        median = self.median_wait_s(ms, channel, queue)
        return int(min(median * self.rnd.lognormvariate(0.0, WAIT_SIGMA), MAX_WAIT_S))

    def patience_s(self, channel: int) -> int:
        return max(5, int(MEDIAN_PATIENCE_S[channel] * self.rnd.lognormvariate(0.0, PATIENCE_SIGMA)))

    def abandon_probability(self, ms: int, channel: int, queue: int) -> float:
        """P(patience < wait) for the two log-normal distributions at this moment."""
        z = math.log(self.median_wait_s(ms, channel, queue) / MEDIAN_PATIENCE_S[channel])
        return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0 * (WAIT_SIGMA**2 + PATIENCE_SIGMA**2))))

    def talk_ms(self, channel: int, reason: int, turbulent: bool) -> int:
        median = MEDIAN_TALK_S[channel] * (1.3 if turbulent and reason == FAILED_PAYMENT else 1.0)
        return max(20, int(median * self.rnd.lognormvariate(0.0, 0.6))) * 1000

    def pick(self, weights: dict[int, int]) -> int:
        return self.rnd.choices(list(weights), list(weights.values()))[0]

    # ------------------------------------------------------------ who is calling, as the CCE captures it
    def identity(self, person: int, contact: int, channel: int) -> dict:
        """Phone captured by telephony or typed, email from the message or typed; free formats at a rate."""
        rnd = self.rnd
        out: dict = {"phone_fmt": -1, "email_src": -1}
        if channel in (VOICE, CALLBACK) and (channel == CALLBACK or rnd.random() >= WITHHELD_NUMBER):
            out["phone_fmt"] = rnd.choice(FREE_PHONE_FORMATS) if rnd.random() < self.free_rate else CLEAN_PHONE
        wants_email = {VOICE: False, CALLBACK: False, CHAT: rnd.random() < 0.6, EMAIL: True}
        if wants_email.get(channel, rnd.random() < 0.25):
            out["email_src"] = self.email_source(person, contact)
        if out["email_src"] != -1:
            out["email_free"] = rnd.random() < self.free_rate
            out["email_u"] = rnd.random()
        return out

    def email_source(self, person: int, contact: int) -> int:
        """The CRM contact whose address the person gives, or EMAIL_PROSPECT (an address the CRM does not hold)."""
        pop = self.pop
        if contact < 0 and pop.is_customer[person]:
            contact = int(pop.primary_contact[person])
        if contact >= 0 and pop.canonical_email[contact] is not None:
            return contact
        return EMAIL_PROSPECT

    def linkable(self, contact: int, ms: int) -> bool:
        pop = self.pop
        return contact >= 0 and pop.contact_visible_ms(contact) <= ms and pop.contact_deleted_ms[contact] > ms

    # ------------------------------------------------------------ shapes of an interaction
    def agent_handled(self, i: int, channel: int, answered: int, extra_talk_ms: int = 0) -> None:
        """An agent took it: talk, transfers, wrap-up minutes later (disposition, links), maybe a survey."""
        rnd, r = self.rnd, self.rows
        reason, contact = r["reason"][i], r["contact"][i]
        turbulent = self.turbulent_at(answered)
        transfers = r["transfers"][i]
        if channel in (VOICE, CHAT, CALLBACK) and rnd.random() < 0.06:
            transfers += 1 + (rnd.random() < 0.15)
        talk = self.talk_ms(channel, reason, turbulent) + extra_talk_ms
        talk += sum(self.seconds(30, 180) for _ in range(transfers))
        ended = answered + talk
        wrap_s = int(rnd.uniform(20, 480))
        weights = DISPOSITION_WEIGHTS[reason]
        if reason == FAILED_PAYMENT and turbulent:
            weights = TURBULENT_FAILED_PAYMENT
        disposition = self.pick(weights)
        t_end = ended + self.jitter()
        t_wrap = ended + wrap_s * 1000 + self.jitter()
        if channel in (VOICE, CALLBACK) and r["email_src"][i] == -1 and rnd.random() < AGENT_TYPED_EMAIL:
            source = self.email_source(r["person"][i], contact)
            self.set(i, email_src=source, email_free=rnd.random() < self.free_rate, email_u=rnd.random())
            self.set(i, email_at_wrap=True)
        linked = self.linkable(contact, t_wrap) and rnd.random() < self.linked_rate
        self.set(
            i, answered=answered, ended=ended, wait_s=(answered - r["started"][i]) // 1000,
            handle_s=talk // 1000 + wrap_s, transfers=transfers, disposition=disposition, system_disposition=False,
            t_end=t_end, t_wrap=t_wrap, linked=linked,
        )  # fmt: skip
        if r["case"][i] >= 0 and r["case_at"][i] == NEVER_STAGE and rnd.random() < 0.9:
            self.set(i, case_at=WRAP)
        if r["order_ref"][i] is not None and r["order_at"][i] == NEVER_STAGE:
            self.set(i, order_at=WRAP)
        self.survey(i, t_wrap, disposition, long_wait=r["wait_s"][i] > 600)

    def survey(self, i: int, after: int, disposition: int, long_wait: bool = False) -> None:
        rnd = self.rnd
        if rnd.random() >= CSAT_RESPONSE:
            return
        score = rnd.choices((1, 2, 3, 4, 5), CSAT_WEIGHTS[disposition])[0]
        if long_wait and score > 1 and rnd.random() < 0.5:
            score -= 1
        late = rnd.random() < self.late_csat_rate
        if late:
            delay = rnd.randint(*LATE_CSAT_MS)
        else:
            delay = int(min(max(rnd.lognormvariate(math.log(40 * MS_MINUTE), 1.0), 2 * MS_MINUTE), 20 * MS_HOUR))
        self.set(i, csat=score, t_csat=after + delay, late_csat=late)

    def base(self, person: int, contact: int, reason: int, queue: int, channel: int, **extra) -> dict:
        values = {"person": person, "contact": contact, "reason": reason, "queue": queue, "channel": channel}
        values.update(self.identity(person, contact, channel))
        values.update(extra)
        return values

    def abandoned(self, values: dict, started: int, patience_s: int) -> int:
        ended = started + patience_s * 1000
        return self.add(
            **values, started=started, ended=ended, wait_s=patience_s, disposition=ABANDONED, abandoned=True,
            t_end=ended + self.jitter(), turbulent=self.turbulent_at(started),
        )  # fmt: skip

    def voice_call(self, t: int, values: dict, retries: int, repeat_of: int = -1) -> int:
        """Inbound call attempts from t: given up in the queue, a callback accepted, or answered by an agent."""
        rnd = self.rnd
        queue = values["queue"]
        misrouted = queue in (BILLING, DELIVERY) and rnd.random() < (0.15 if queue == BILLING else 0.08)
        for attempt in range(retries + 1):
            t = within_working_hours(t) // 1000 * 1000
            values = {**values, **self.identity(values["person"], values["contact"], VOICE)}
            if misrouted:  # the caller picked the wrong option: an agent of the general queue transfers them
                values["entry_queue"] = GENERAL
            wait, patience = self.wait_s(t, VOICE, queue), self.patience_s(VOICE)
            offer_at = int(rnd.uniform(60, 120))
            if wait > CALLBACK_OFFER_WAIT_S and patience > offer_at and rnd.random() < CALLBACK_ACCEPT:
                ended = t + offer_at * 1000
                i = self.add(
                    **values, started=t, ended=ended, wait_s=offer_at, disposition=CALLBACK_SCHEDULED,
                    t_end=ended + self.jitter(), repeat_of=repeat_of, turbulent=self.turbulent_at(t),
                )  # fmt: skip
                return self.callback(i, ended + (wait - offer_at) * 1000 + self.seconds(300, 2700))
            if patience < wait:
                i = self.abandoned({**values, "repeat_of": repeat_of}, t, patience)
                repeat_of = i
                if attempt == retries or rnd.random() >= RETRY_AFTER_ABANDON:
                    return i
                t += (patience + int(rnd.uniform(180, 3600))) * 1000
                continue
            i = self.add(
                **values, started=t, repeat_of=repeat_of, transfers=int(misrouted), turbulent=self.turbulent_at(t)
            )
            self.agent_handled(i, VOICE, t + wait * 1000)
            return i
        raise AssertionError("unreachable")

    def callback(self, inbound: int, t: int) -> int:
        """The contact centre calls back (outbound); most customers pick up."""
        r = self.rows
        t = within_working_hours(t) // 1000 * 1000
        person, contact = r["person"][inbound], r["contact"][inbound]
        values = {name: r[name][inbound] for name in ("person", "contact", "journey", "case", "order_ref", "reason")}
        values.update(self.identity(person, contact, CALLBACK))
        i = self.add(
            **values, channel=CALLBACK, direction=OUTBOUND, queue=r["queue"][inbound], started=t,
            repeat_of=inbound, callback_of=inbound, turbulent=self.turbulent_at(t),
        )  # fmt: skip
        if self.rnd.random() < CALLBACK_ANSWERED:
            self.agent_handled(i, CALLBACK, t + self.seconds(5, 25))
        else:
            ended = t + self.seconds(25, 40)
            self.set(i, ended=ended, disposition=UNRESOLVED, t_end=ended + self.jitter())
        return i

    def chat(self, t: int, values: dict, no_match_rate: float, repeat_of: int = -1, escalate: bool = False) -> int:
        """The chatbot answers first: it helps (contained), has no answer (no_match), or hands over to an agent."""
        rnd = self.rnd
        answered = t + self.seconds(1, 3)
        i = self.add(**values, started=t, bot=True, repeat_of=repeat_of, turbulent=self.turbulent_at(t))
        if not escalate and rnd.random() < no_match_rate:
            ended = answered + self.seconds(30, 200)
            self.set(
                i, answered=answered, ended=ended, handle_s=(ended - answered) // 1000, bot_outcome=NO_MATCH,
                disposition=UNRESOLVED, dead_end=True, t_end=ended + self.jitter(),
            )  # fmt: skip
            return i
        if not escalate and rnd.random() < 0.75:
            ended = answered + self.seconds(40, 240)
            order_at = END if values.get("order_ref") is not None else NEVER_STAGE
            self.set(
                i, answered=answered, ended=ended, handle_s=(ended - answered) // 1000, bot_outcome=CONTAINED,
                disposition=RESOLVED, order_at=order_at, t_end=ended + self.jitter(),
            )  # fmt: skip
            self.survey(i, ended, RESOLVED)
            return i
        handover = answered + self.seconds(20, 90)
        self.set(i, bot_outcome=ESCALATED_BY_BOT)
        if values.get("case", -1) >= 0:
            self.set(i, case_at=END)  # the bot opened the CRM case when it handed over
        if not self.in_agent_hours(handover):  # no agent on shift: the bot takes a message for the morning
            ended = handover + self.seconds(10, 60)
            self.set(
                i, answered=answered, ended=ended, handle_s=(ended - answered) // 1000, disposition=FOLLOW_UP,
                t_end=ended + self.jitter(),
            )  # fmt: skip
            return i
        wait, patience = self.wait_s(handover, CHAT, values["queue"]), self.patience_s(CHAT)
        if patience < wait:
            ended = handover + patience * 1000
            self.set(
                i, ended=ended, wait_s=patience, disposition=ABANDONED, abandoned=True, t_end=ended + self.jitter()
            )
            return i
        self.agent_handled(i, CHAT, handover + wait * 1000)
        self.set(i, wait_s=wait)  # time in the agent queue; the bot's minutes before do not count
        return i

    def message(self, channel: int, received: int, answered: int, values: dict, repeat_of: int = -1) -> int:
        """An email or social message: visible when it arrives, answered by an agent later (hours, maybe days)."""
        i = self.add(
            **values, started=received, t_open=received + self.jitter(), repeat_of=repeat_of,
            turbulent=self.turbulent_at(received),
        )  # fmt: skip
        self.agent_handled(i, channel, max(answered, received + 60_000))
        return i

    # ------------------------------------------------------------ where interactions come from
    def cases(self) -> None:
        plan, rnd = self.plan, self.rnd
        c, v = plan.cases, plan.case_versions
        if not c["case_id"]:
            return
        version_case = np.asarray(v["case"], np.int64)
        bounds = np.searchsorted(version_case, np.arange(len(c["case_id"]) + 1))
        stamps = np.asarray(v["modstamp"], np.int64).tolist()
        statuses = v["status"]
        j_start = plan.journeys["start"]
        for k, origin in enumerate(c["origin"]):
            if origin not in CASE_CHANNELS or c["deleted"][k]:
                continue
            channel = CASE_CHANNELS[origin]
            person, contact, journey = c["person"][k], c["contact"][k], c["journey"][k]
            queue = CATEGORY_QUEUE[c["category"][k]]
            created, first_response = c["created"][k], c["first_response"][k]
            common = {"journey": journey, "case": k, "order_ref": c["order_ref"][k]}

            def values(ch: int, reason: int, person=person, contact=contact, queue=queue, common=common) -> dict:
                return self.base(person, contact, reason, queue, ch, **common)

            if channel == VOICE:
                first = self.case_call(k, values(VOICE, CASE_CONTACT), created, j_start[journey])
            elif channel == CHAT:
                first = self.chat(created - self.seconds(5, 40), values(CHAT, CASE_CONTACT), 0.0, escalate=True)
            else:
                vals = values(channel, CASE_CONTACT)
                vals["case_at"] = OPEN  # the message opened the case
                first = self.message(channel, created - self.seconds(2, 20), first_response, vals)
            # Later contacts on the same case, from its status history.
            history = list(zip(stamps[bounds[k] : bounds[k + 1]], statuses[bounds[k] : bounds[k + 1]], strict=True))
            follow = EMAIL if channel in (VOICE, CHAT, EMAIL) else SOCIAL
            for n, (stamp, status) in enumerate(history):
                if status == "pending_customer":
                    self.agent_request(stamp, values(follow, CASE_REQUEST), follow, first)
                    if n + 1 < len(history) and history[n + 1][1] == "open":
                        reply = history[n + 1][0] - self.seconds(5, 120)
                        answered = within_working_hours(reply + int(rnd.lognormvariate(math.log(2 * MS_HOUR), 0.8)))
                        vals = values(follow, CASE_REPLY)
                        vals["case_at"] = OPEN  # a reply in the case's thread
                        self.message(follow, max(reply, stamp + 60_000), answered, vals, repeat_of=first)
                elif status == "reopened":
                    self.case_again(stamp, channel, values, CASE_REOPEN, first)
            resolved = c["resolved"][k] if c["resolved"][k] > 0 else c["closed"][k]
            if resolved - created > 24 * MS_HOUR and rnd.random() < CASE_CHASE:
                latest = min(resolved, created + 5 * 24 * MS_HOUR)
                when = created + int(rnd.uniform(24 * MS_HOUR, max(latest - created, 24 * MS_HOUR + 1)))
                chase = VOICE if channel in (VOICE, CHAT) else channel
                if chase != VOICE or within_working_hours(when) < resolved:
                    self.case_again(when, chase, values, CASE_CHASE, first)

    def case_call(self, k: int, values: dict, created: int, journey_start: int) -> int:
        """The call during which the agent opens the case; earlier attempts may have been given up in the queue."""
        rnd = self.rnd
        shift_start = at_london_time(london_date(created), AGENT_HOURS[0])
        # The agent answers shortly before creating the case (within shifts, after the customer decided to call).
        answered = max(created - self.seconds(20, 150), shift_start, journey_start // 1000 * 1000)
        wait = self.wait_s(answered, VOICE, values["queue"])
        started = max(answered - wait * 1000, journey_start) // 1000 * 1000
        wait = (answered - started) // 1000
        attempts: list[tuple[int, int]] = []
        p_abandon = self.abandon_probability(started, VOICE, values["queue"])
        earliest = started
        while len(attempts) < 2 and rnd.random() < p_abandon:
            patience = max(5, int(self.wait_s(earliest, VOICE, values["queue"]) * rnd.uniform(0.15, 0.9)))
            start = earliest - (patience + int(rnd.uniform(60, 1200))) * 1000
            if start < journey_start or not self.in_agent_hours(start):
                break
            attempts.append((start, patience))
            earliest = start
        repeat_of = -1
        for start, patience in reversed(attempts):
            repeat_of = self.abandoned(
                {**values, **self.identity(values["person"], values["contact"], VOICE), "repeat_of": repeat_of},
                start,
                patience,
            )
        i = self.add(**values, started=started, repeat_of=repeat_of, turbulent=self.turbulent_at(started))
        # The agent opens the case while talking: the call lasts at least until then.
        self.agent_handled(i, VOICE, answered, extra_talk_ms=max(0, created - answered))
        return i

    def case_again(self, when: int, channel: int, values, reason: int, first: int) -> None:
        if channel == VOICE:
            self.voice_call(when, values(VOICE, reason), retries=1, repeat_of=first)
        elif channel == CHAT:
            vals = values(CHAT, reason)
            self.chat(when, vals, 0.0, repeat_of=first, escalate=True)
        else:
            vals = values(channel, reason)
            vals["case_at"] = OPEN
            answered = within_working_hours(when + int(self.rnd.lognormvariate(math.log(3 * MS_HOUR), 0.8)))
            self.message(channel, when, answered, vals, repeat_of=first)

    def agent_request(self, stamp: int, values: dict, channel: int, first: int) -> None:
        """The agent writes to the customer for information (outbound; the case waits for the reply)."""
        sent = stamp - self.seconds(5, 60)
        compose = self.seconds(60, 400)
        values["email_free"] = False  # sent from the CRM: the address as the CRM holds it, not retyped
        self.add(
            **values, direction=OUTBOUND, started=sent, answered=sent, ended=sent, handle_s=compose // 1000,
            disposition=FOLLOW_UP, case_at=END, t_end=sent + self.jitter(), repeat_of=first,
            turbulent=self.turbulent_at(sent),
        )  # fmt: skip

    def journeys(self) -> None:
        """Delivery tracking that ends in a "where is my order" contact; failed checkouts that end in a billing one."""
        plan, rnd = self.plan, self.rnd
        j = plan.journeys
        for n, kind in enumerate(j["type"]):
            reason = j["reason"][n]
            if kind == "delivery" and reason != "escalated_to_case" and rnd.random() < WISMO_PER_DELIVERY_JOURNEY:
                t = j["end"][n] + self.seconds(300, 3 * 3600)
                self.contact_about(n, t, WISMO, DELIVERY, j["order_no"][n], self.no_match_rate)
            elif kind == "buying" and reason == "checkout_failed":
                turbulent = j["turbulent"][n]
                p = FAILED_PAYMENT_CONTACT
                no_match = self.no_match_rate
                if turbulent:  # nobody told the bot about the processor outage
                    p *= TURBULENCE_EFFECTS["cce_billing_contact_multiplier"]
                    no_match = min(1.0, no_match * TURBULENCE_EFFECTS["cce_bot_no_match_multiplier"])
                if rnd.random() < p:
                    t = j["end"][n] + self.seconds(120, 2 * 3600)
                    self.contact_about(n, t, FAILED_PAYMENT, BILLING, None, no_match)

    def contact_about(self, n: int, t: int, reason: int, queue: int, order_ref: str | None, no_match: float) -> None:
        j = self.plan.journeys
        person, contact = j["person"][n], j["contact"][n]
        common = {"journey": n, "order_ref": order_ref}
        if self.rnd.random() < (0.6 if reason == WISMO else 0.7):
            self.voice_call(t, self.base(person, contact, reason, queue, VOICE, **common), retries=2)
            return
        i = self.chat(t, self.base(person, contact, reason, queue, CHAT, **common), no_match)
        if self.rows["dead_end"][i] and self.rnd.random() < 0.55:  # the bot could not help: call instead
            later = self.rows["ended"][i] + self.seconds(120, 3600)
            self.voice_call(later, self.base(person, contact, reason, queue, VOICE, **common), 1, repeat_of=i)

    def build(self, day_number: int) -> ContactCenterDay:
        self.cases()
        self.journeys()
        r = self.rows
        columns: dict[str, np.ndarray] = {}
        for name in COLUMNS:
            sample = _DEFAULTS.get(name, 0)
            if name in _NARROW:
                dtype = _NARROW[name]
            elif isinstance(sample, bool):
                dtype = bool
            else:
                dtype = np.float64 if isinstance(sample, float) else np.int64
            columns[name] = np.asarray(r[name], dtype)
        columns["seq"] = np.arange(len(r["started"]), dtype=np.int64) + 1
        assert (columns["t_end"] > 0).all(), "every interaction is written when it ends"
        return ContactCenterDay(self.plan, day_number, columns)


def build_day(population: Population, plan: DayPlan) -> ContactCenterDay:
    """The interactions one day's plan leads to. Deterministic: seeded by (seed, day)."""
    day_number = (plan.day - date(2000, 1, 1)).days
    return _DayBuilder(population, plan).build(day_number)


# ---------------------------------------------------------------------------- rendering
def _stage_of(c: dict[str, np.ndarray], idx: np.ndarray, stage: np.ndarray) -> dict[str, np.ndarray]:
    """What a version at `stage` shows for each interaction in idx (masks of the fields already known)."""
    system = c["system_disposition"][idx]
    final = np.where(system, stage >= END, stage >= WRAP)
    return {
        "open": stage == OPEN,
        "final": final,
        "email": (c["email_src"][idx] != -1) & (~c["email_at_wrap"][idx] | (stage >= WRAP)),
        "linked": c["linked"][idx] & (stage >= WRAP),
        "case": c["case_at"][idx] <= stage,
        "order": c["order_at"][idx] <= stage,
        "csat": stage >= CSAT,
    }


def phones(pop: Population, c: dict[str, np.ndarray], idx: np.ndarray) -> list[str | None]:
    return [
        pop.typed_phone(p, f) if f >= 0 else None
        for p, f in zip(c["person"][idx].tolist(), c["phone_fmt"][idx].tolist(), strict=True)
    ]


def emails(pop: Population, c: dict[str, np.ndarray], idx: np.ndarray, typed: bool = True) -> list[str | None]:
    """The address as delivered (typed=True) or as it really is."""
    out: list[str | None] = []
    messy = pop.config.rate("messy_email")
    for person, src, free, u in zip(
        c["person"][idx].tolist(),
        c["email_src"][idx].tolist(),
        c["email_free"][idx].tolist(),
        c["email_u"][idx].tolist(),
        strict=True,
    ):
        if src == -1:
            out.append(None)
            continue
        email = prospect_email(pop, person) if src == EMAIL_PROSPECT else pop.canonical_email[src]
        out.append(pop.typed_email(email, u * messy) if typed and free else email)
    return out


def render(pop: Population, cday: ContactCenterDay, idx: np.ndarray, stage: np.ndarray) -> list[tuple[str, int, str]]:
    """(interaction_id, updated_ms, JSON payload) for the given versions, the contract's columns in its order."""
    if not len(idx):
        return []
    c = cday.columns
    plan = cday.plan
    known = _stage_of(c, idx, stage)
    times = cday.version_times()[idx, stage]
    ids = interaction_ids(pop.config.seed, cday.day_number, c["seq"][idx])
    updated = iso_utc_z(times)
    started = iso_seconds_z(c["started"][idx])
    answered = iso_seconds_z(np.where(known["open"], -1, c["answered"][idx]))
    ended = iso_seconds_z(np.where(known["open"], -1, c["ended"][idx]))
    phone = phones(pop, c, idx)
    email = emails(pop, c, idx)
    contact_ids = _ids(pop, "contact_id")[np.where(known["linked"], c["contact"][idx], -1)]
    case_ids = np.array([*plan.cases["case_id"], None], object)[np.where(known["case"], c["case"][idx], -1)]
    order_refs = np.where(known["order"], c["order_ref"][idx], None)
    bot_outcome = np.array([*BOT_OUTCOMES, None], object)[c["bot_outcome"][idx]]
    disposition = np.array([*DISPOSITIONS, None], object)[np.where(known["final"], c["disposition"][idx], -1)]
    handle = np.where(known["final"], c["handle_s"][idx], -1).tolist()
    csat = np.where(known["csat"], c["csat"][idx], -1).tolist()
    wait = np.where(known["open"], 0, c["wait_s"][idx]).tolist()
    channel, direction, queue = c["channel"][idx].tolist(), c["direction"][idx].tolist(), c["queue"][idx].tolist()
    transfers, bot = c["transfers"][idx].tolist(), c["bot"][idx].tolist()
    out = []
    dumps = json.dumps
    for n in range(len(idx)):
        customer = dumps({"phone": phone[n], "email": email[n] if known["email"][n] else None,
                          "crm_contact_id": contact_ids[n]})  # fmt: skip
        payload = (
            f'{{"interaction_id":"{ids[n]}","channel":"{CHANNELS[channel[n]]}",'
            f'"direction":"{DIRECTIONS[direction[n]]}","customer":{customer},"queue":"{QUEUES[queue[n]]}",'
            f'"started_at":"{started[n]}","answered_at":{dumps(answered[n])},"ended_at":{dumps(ended[n])},'
            f'"wait_seconds":{wait[n]},"handle_seconds":{"null" if handle[n] < 0 else handle[n]},'
            f'"transfers":{transfers[n]},"bot_handled":{"true" if bot[n] else "false"},'
            f'"bot_outcome":{dumps(bot_outcome[n])},"disposition":{dumps(disposition[n])},'
            f'"case_id":{dumps(case_ids[n])},"order_ref":{dumps(order_refs[n])},'
            f'"csat":{"null" if csat[n] < 0 else csat[n]},"updated_at":"{updated[n]}"}}'
        )
        out.append((ids[n], int(times[n]), payload))
    return out


def versions_between(cday: ContactCenterDay, lo_ms: int | None, hi_ms: int) -> tuple[np.ndarray, np.ndarray]:
    """(interaction index, stage) of the versions with lo_ms <= updated_at < hi_ms (lo None: from the start)."""
    times = cday.version_times()
    mask = (times >= (0 if lo_ms is None else lo_ms)) & (times < hi_ms)
    idx, stage = np.nonzero(mask)
    return idx.astype(np.int64), stage.astype(np.int64)


def latest_stage(cday: ContactCenterDay, cutoff_ms: int) -> np.ndarray:
    """Per interaction, the last stage delivered before the cutoff (-1: nothing delivered yet)."""
    times = cday.version_times()
    delivered = (times >= 0) & (times < cutoff_ms)
    return np.where(delivered.any(axis=1), 3 - np.argmax(delivered[:, ::-1], axis=1), -1)


# ---------------------------------------------------------------------------- the store the API reads
@dataclass
class StoreState:
    fingerprint: str
    delivered_through: date
    cutoff_ms: int


STORE_SCHEMA = """
create table if not exists interaction_version (
    interaction_id text not null,
    updated_ms integer not null,
    payload text not null,
    primary key (interaction_id, updated_ms)
) without rowid;
create index if not exists interaction_version_by_update on interaction_version (updated_ms, interaction_id);
create table if not exists delivery (
    singleton integer primary key check (singleton = 1),
    fingerprint text not null,
    delivered_through text not null,
    cutoff_ms integer not null
);
create table if not exists api_settings (name text primary key, value text not null);
"""
# The latest version of each interaction (the API serves only these): no later version of the same id.
LATEST_CONDITION = (
    "not exists (select 1 from interaction_version w"
    " where w.interaction_id = v.interaction_id and w.updated_ms > v.updated_ms)"
)
API_SETTINGS = ("cce_empty_page", "cce_rate_limit", "cce_server_error")


class InteractionStore:
    """The contact centre's own database (SQLite, WAL): every delivered version of every interaction."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.path = self.directory / STORE_FILE

    def connect(self) -> sqlite3.Connection:
        self.directory.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        conn.execute("pragma journal_mode = wal")
        conn.executescript(STORE_SCHEMA)
        return conn

    def state(self) -> StoreState | None:
        if not self.path.exists():
            return None
        conn = self.connect()
        try:
            row = conn.execute("select fingerprint, delivered_through, cutoff_ms from delivery").fetchone()
        finally:
            conn.close()
        return None if row is None else StoreState(row[0], date.fromisoformat(row[1]), int(row[2]))

    def latest(self) -> list[dict]:
        """Every interaction's latest delivered version, ordered as the API orders them."""
        if not self.path.exists():
            return []
        conn = self.connect()
        try:
            query = f"select payload from interaction_version v where {LATEST_CONDITION}"
            rows = conn.execute(query + " order by updated_ms, interaction_id").fetchall()
        finally:
            conn.close()
        return [json.loads(r[0]) for r in rows]

    def count_versions(self) -> int:
        if not self.path.exists():
            return 0
        conn = self.connect()
        try:
            return int(conn.execute("select count(*) from interaction_version").fetchone()[0])
        finally:
            conn.close()


def default_store_dir(landing_dir: Path) -> Path:
    """Beside the landing folder, not inside it: the contact centre is an API, not a file drop."""
    return Path(landing_dir).resolve().parent / "contact_center_api"


class DeliveryRefused(RuntimeError):
    """The store holds another world, or a later day than asked (the sandbox turns this into SandboxError)."""


def deliver(world: World, store: InteractionStore, day: date, cutoff_ms: int) -> tuple[int, int]:
    """Write every version stamped before cutoff_ms that the store does not hold yet; (written, interactions).

    Idempotent and forward only: a second call for the same day writes nothing; an earlier day is refused.
    """
    cfg = world.config
    state = store.state()
    if state is not None and state.fingerprint != cfg.fingerprint():
        raise DeliveryRefused(f"contact-centre store {store.path} was filled by another sandbox config; use a new one")
    if state is not None and state.delivered_through > day:
        raise DeliveryRefused(f"contact centre already delivered through {state.delivered_through}; not back to {day}")
    since = state.cutoff_ms if state is not None else None
    written = 0
    if state is None or state.delivered_through < day:
        entity = load_contract(SYSTEM).entities["interaction"]
        checked = 0
        conn = store.connect()
        try:
            conn.execute("begin immediate")
            for d in (d for d in cfg.days() if d <= day):
                cday = world.contact_center(d)
                idx, stage = versions_between(cday, since, cutoff_ms)
                rows = render(world.population, cday, idx, stage)
                for _, _, payload in rows[: max(0, SPOT_CHECK_RECORDS - checked)]:
                    entity.validate(json.loads(payload))  # never deliver a contract-breaking record
                checked += len(rows)
                before = conn.total_changes
                conn.executemany("insert or ignore into interaction_version values (?, ?, ?)", rows)
                written += conn.total_changes - before
            conn.execute(
                "insert or replace into delivery values (1, ?, ?, ?)", (cfg.fingerprint(), day.isoformat(), cutoff_ms)
            )
            settings = {"fault_seed": str(stream_seed(cfg.seed, "cce-api"))}
            settings.update({name: repr(cfg.rate(name)) for name in API_SETTINGS})
            conn.executemany("insert or replace into api_settings values (?, ?)", sorted(settings.items()))
            conn.execute("commit")
        except BaseException:
            conn.execute("rollback")
            raise
        finally:
            conn.close()
    total = sum(int((latest_stage(world.contact_center(d), cutoff_ms) >= 0).sum()) for d in cfg.days() if d <= day)
    return written, total


# ---------------------------------------------------------------------------- ground truth
def _iso_or_none(ms: np.ndarray) -> list[str | None]:
    return iso_seconds_z(np.where(np.asarray(ms) >= 0, ms, -1))


def _delivered(world: World, day: date, cutoff_ms: int) -> Iterator[tuple[ContactCenterDay, np.ndarray, np.ndarray]]:
    """Per plan day: its interactions with a version delivered by the cutoff, and their latest stage."""
    for d in world.config.days():
        if d > day:
            break
        cday = world.contact_center(d)
        last = latest_stage(cday, cutoff_ms)
        idx = np.flatnonzero(last >= 0)
        if len(idx):
            yield cday, idx, last[idx]


def interactions_frame(world: World, day: date, cutoff_ms: int) -> pd.DataFrame:
    """interactions.csv: every interaction delivered by the cutoff, what it really was and what was delivered."""
    pop = world.population
    frames = []
    for cday, idx, last in _delivered(world, day, cutoff_ms):
        c, plan = cday.columns, cday.plan
        known = _stage_of(c, idx, last)
        ids = np.array(interaction_ids(pop.config.seed, cday.day_number, c["seq"]), object)
        times = cday.version_times()[idx]
        journey_ids = np.array([*plan.journeys["journey_id"], None], object)
        case_ids = np.array([*plan.cases["case_id"], None], object)
        contact_ids = _ids(pop, "contact_id")
        contact = c["contact"][idx]
        true_contact = np.where(contact >= 0, contact, -1)
        email = np.array(emails(pop, c, idx), object)
        frames.append(
            pd.DataFrame(
                {
                    "interaction_id": ids[idx],
                    "person_id": _ids(pop, "person_id")[c["person"][idx]],
                    "journey_id": journey_ids[c["journey"][idx]],
                    "case_id": case_ids[c["case"][idx]],
                    "order_ref": c["order_ref"][idx],
                    "reason": np.array(REASONS, object)[c["reason"][idx]],
                    "channel": np.array(CHANNELS, object)[c["channel"][idx]],
                    "direction": np.array(DIRECTIONS, object)[c["direction"][idx]],
                    "queue": np.array(QUEUES, object)[c["queue"][idx]],
                    "entry_queue": np.array([*QUEUES, None], object)[c["entry_queue"][idx]],
                    "started_at": _iso_or_none(c["started"][idx]),
                    "answered_at": _iso_or_none(c["answered"][idx]),
                    "ended_at": _iso_or_none(c["ended"][idx]),
                    "wait_seconds": c["wait_s"][idx],
                    "abandoned": c["abandoned"][idx],
                    "dead_end": c["dead_end"][idx],
                    "bot_handled": c["bot"][idx],
                    "transfers": c["transfers"][idx],
                    "disposition": np.array([*DISPOSITIONS, None], object)[c["disposition"][idx]],
                    "csat": np.where(c["csat"][idx] >= 0, c["csat"][idx].astype(object), None),
                    "csat_at": _iso_or_none(c["t_csat"][idx]),
                    "late_csat": c["late_csat"][idx],
                    "repeat_of": np.array([*ids, None], object)[c["repeat_of"][idx]],
                    "callback_of": np.array([*ids, None], object)[c["callback_of"][idx]],
                    "crm_contact_id": contact_ids[true_contact],
                    "delivered_phone": phones(pop, c, idx),
                    "delivered_email": np.where(known["email"], email, None),
                    "delivered_crm_contact_id": contact_ids[np.where(known["linked"], contact, -1)],
                    "versions_delivered": ((times >= 0) & (times < cutoff_ms)).sum(axis=1),
                    "versions_planned": (times >= 0).sum(axis=1),
                    "latest_updated_at": iso_utc_z(times[np.arange(len(idx)), last]),
                    "turbulent": c["turbulent"][idx],
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=["interaction_id"])
    return pd.concat(frames, ignore_index=True)


def identity_frame(world: World, day: date, cutoff_ms: int) -> pd.DataFrame:
    """identities.csv rows: each phone, email and linked crm_contact_id the CCE delivered, first time seen.

    Columns as ground_truth expects: person, system, identifier_type, value, normalised_value, source_key,
    first_seen (ms).
    """
    pop = world.population
    parts = []
    for cday, idx, last in _delivered(world, day, cutoff_ms):
        c = cday.columns
        known = _stage_of(c, idx, last)
        ids = np.array(interaction_ids(pop.config.seed, cday.day_number, c["seq"][idx]), object)
        times = cday.version_times()[idx]
        first = np.where(times[:, OPEN] >= 0, times[:, OPEN], times[:, END])
        person = c["person"][idx]
        phone = np.array(phones(pop, c, idx), object)
        has = phone != None  # noqa: E711 (element-wise)
        canonical = np.array([pop.canonical_phone(p) for p in person[has].tolist()], object)
        parts.append(_identities(person[has], "phone", phone[has], canonical, ids[has], first[has]))
        email = np.array(emails(pop, c, idx), object)
        has = known["email"]
        email_seen = np.where(c["email_at_wrap"][idx], times[:, WRAP], first)
        normal = np.array([e.strip().lower() for e in email[has]], object)
        parts.append(_identities(person[has], "email", email[has], normal, ids[has], email_seen[has]))
        has = known["linked"]
        linked = _ids(pop, "contact_id")[c["contact"][idx][has]]
        parts.append(_identities(person[has], "crm_contact_id", linked, linked, ids[has], times[:, WRAP][has]))
    if not parts:
        return pd.DataFrame(columns=["person", "system", "identifier_type", "value", "normalised_value"])
    frame = pd.concat(parts, ignore_index=True).sort_values(["first_seen", "source_key"], kind="stable")
    return frame.drop_duplicates(["person", "identifier_type", "value"], keep="first").reset_index(drop=True)


def _identities(person, kind, values, normal, keys, first_seen) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "person": np.asarray(person, np.int64),
            "system": SYSTEM,
            "identifier_type": kind,
            "value": values,
            "normalised_value": normal,
            "source_key": keys,
            "first_seen": np.asarray(first_seen, np.int64),
        }
    )


def quirk_frame(world: World, day: date, cutoff_ms: int) -> pd.DataFrame:
    """Every CCE quirk and friction delivered by the cutoff (quirks.csv rows; occurred_at in ms)."""
    pop = world.population
    cfg = world.config
    parts = []
    for cday, idx, last in _delivered(world, day, cutoff_ms):
        c = cday.columns
        known = _stage_of(c, idx, last)
        ids = np.array(interaction_ids(cfg.seed, cday.day_number, c["seq"][idx]), object)
        persons = _ids(pop, "person_id")[c["person"][idx]]
        journeys = np.array([*cday.plan.journeys["journey_id"], None], object)[c["journey"][idx]]
        times = cday.version_times()[idx]
        first = np.where(times[:, OPEN] >= 0, times[:, OPEN], times[:, END])

        def add(quirk: str, mask: np.ndarray, when: np.ndarray, detail, ids=ids, persons=persons, journeys=journeys):
            if mask.any():
                n = int(mask.sum())
                parts.append(
                    pd.DataFrame(
                        {
                            "quirk": quirk,
                            "system": SYSTEM,
                            "location": LOCATION,
                            "occurred_at": np.asarray(when, np.int64)[mask],
                            "source_key": ids[mask],
                            "person_id": persons[mask],
                            "journey_id": journeys[mask],
                            "detail": np.asarray(detail, object)[mask] if not isinstance(detail, str) else [detail] * n,
                        }
                    )
                )

        contacts = _ids(pop, "contact_id")[c["contact"][idx]]
        add("cce_agent_linked_contact", known["linked"], times[:, WRAP], [f"crm_contact_id {x}" for x in contacts])
        fmt = c["phone_fmt"][idx]
        free_phone = (fmt >= 0) & (fmt != CLEAN_PHONE)
        names = np.array([*PHONE_FORMATS, ""], object)[fmt]
        add("cce_free_format_contact", free_phone, first, [f"phone typed as {n}" for n in names])
        typed, clean = emails(pop, c, idx), emails(pop, c, idx, typed=False)
        free_email = known["email"] & np.array([t != k for t, k in zip(typed, clean, strict=True)], bool)
        email_seen = np.where(c["email_at_wrap"][idx], times[:, WRAP], first)
        add("cce_free_format_contact", free_email, email_seen, "email typed with odd case or spaces")
        late = c["late_csat"][idx] & (last >= CSAT)
        add("cce_late_csat", late, times[:, CSAT], "CSAT arrived 24 to 48 hours after the interaction")
        add("cce_bot_no_match", c["dead_end"][idx], times[:, END], "the chatbot had no answer (a dead end)")
        queue = np.array(QUEUES, object)[c["queue"][idx]]
        add("cce_abandoned", c["abandoned"][idx], times[:, END], [f"gave up in the {q} queue" for q in queue])
    api = {
        "cce_empty_page": "pages served empty with a non-null next_cursor",
        "cce_rate_limit": "requests answered 429 with Retry-After below the 10 requests a second limit",
        "cce_server_error": "requests answered 500, 502 or 503 (transient: a retry succeeds)",
    }
    for quirk, what in api.items():
        if cfg.rate(quirk) > 0:
            detail = f"API: share {cfg.rate(quirk)} of {what}; decided per request by the server from the seed"
            parts.append(
                pd.DataFrame(
                    {
                        "quirk": [quirk],
                        "system": SYSTEM,
                        "location": LOCATION,
                        "occurred_at": [None],
                        "source_key": [None],
                        "person_id": [None],
                        "journey_id": [None],
                        "detail": [detail],
                    },
                )
            )
    if not parts:
        return pd.DataFrame(
            columns=["quirk", "system", "location", "occurred_at", "source_key", "person_id", "journey_id", "detail"]
        )
    return pd.concat(parts, ignore_index=True)
