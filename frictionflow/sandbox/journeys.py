"""What people do on one business day: journeys across web, apps and the CRM.

A DayPlan holds every journey that starts on a London day, with everything it leads to later
(sessions and events, orders, CRM cases and each of their versions, follow-up journeys days later).
Nothing a day's plan produces happens before that day starts, so the world as of any moment is
the union of the plans of the days up to it. Each day draws from its own seeded stream: deterministic,
independent of which days were delivered before.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from . import vocab
from .cases import SLA_HOURS, CaseLife, plan_case, plan_deleted_duplicate, within_working_hours
from .config import TURBULENCE_EFFECTS, stream_seed
from .ids import order_no, salesforce_ids
from .population import Population, late_commits
from .timeutil import (
    MS_DAY,
    MS_HOUR,
    MS_MINUTE,
    WEEKDAY_FACTOR,
    local_midnight_ms,
    sample_times_on_day,
)

BUYING_PER_CUSTOMER_DAY = 0.05
BUYING_PER_PROSPECT_DAY = 0.03
ACCOUNT_ACCESS_PER_CUSTOMER_DAY = 0.004
SPONTANEOUS_ISSUE_PER_CUSTOMER_DAY = 0.0015
MONITOR_INTERVAL_MS = 5 * MS_MINUTE

HUMAN, MONITOR, CRAWLER = 0, 1, 2
WEB, IOS, ANDROID = 0, 1, 2


@dataclass
class DayPlan:
    day: date
    turbulent: bool
    journeys: dict[str, list] = field(default_factory=dict)
    sessions: dict[str, list] = field(default_factory=dict)
    events: dict[str, list] | None = field(default_factory=dict)  # None once released after delivery
    orders: dict[str, list] = field(default_factory=dict)
    cases: dict[str, list] = field(default_factory=dict)
    case_versions: dict[str, object] = field(default_factory=dict)


def _columns(*names: str) -> dict[str, list]:
    return {name: [] for name in names}


class _Session:
    """One visit on one device: appends events with increasing times; knows who is logged in."""

    __slots__ = ("b", "idx", "t", "user", "app", "frictions")

    def __init__(self, builder: DayBuilder, idx: int, t: int, user: str | None, app: bool, frictions: list) -> None:
        self.b, self.idx, self.t, self.user, self.app, self.frictions = builder, idx, t, user, app, frictions

    def step(self, name: str, page: str | None, props: str = "{}", friction: str | None = None, gap: int = -1) -> None:
        self.t += self.b.gap() if gap < 0 else gap
        ev = self.b.events
        ev["session"].append(self.idx)
        ev["t"].append(self.t)
        ev["name"].append(name)
        ev["page"].append(page)
        ev["props"].append(props)
        ev["user"].append(self.user)
        ev["friction"].append(friction)
        if friction:
            self.frictions.append(friction)

    def page(self, key: str, suffix: str = "") -> str:
        web_path, screen = vocab.WEB_PAGES[key]
        return screen if self.app else web_path + suffix

    def view(self, key: str, suffix: str = "", error_multiplier: float = 1.0) -> bool:
        """A page or screen view; returns True when an error message followed it."""
        page = self.page(key, suffix)
        self.step("screen_view" if self.app else "page_view", page)
        b = self.b
        if b.rnd.random() < b.cfg.rate("error_shown") * error_multiplier:
            codes = vocab.PAYMENT_ERROR_CODES if key == "payment" else vocab.ERROR_CODES
            code = codes[b.rnd.randrange(len(codes))]
            self.step("error_shown", page, f'{{"error_code":"{code}"}}', "error_shown", gap=b.rnd.randint(300, 4000))
            return True
        return False


class DayBuilder:
    """Scripts the journeys of one day into columnar tables (a DayPlan)."""

    def __init__(self, population: Population, day: date) -> None:
        cfg = population.config
        self.pop, self.cfg, self.day = population, cfg, day
        self.rng = np.random.default_rng(stream_seed(cfg.seed, "journeys", day.isoformat()))
        self.rnd = random.Random(stream_seed(cfg.seed, "journeys-script", day.isoformat()))
        self.turbulent = cfg.is_turbulent_day(day)
        self.day_start = local_midnight_ms(day)
        self.day_end = local_midnight_ms(day + timedelta(days=1))
        self.plan = DayPlan(day, self.turbulent)
        self.journeys = self.plan.journeys = _columns(
            "journey_id", "person", "type", "start", "end", "outcome", "reason", "parent", "order_no", "case_id",
            "contact", "platforms", "frictions", "turbulent",
        )  # fmt: skip
        self.sessions = self.plan.sessions = _columns("journey", "device", "platform", "kind", "ua", "ip", "referrer")
        self.events = self.plan.events = _columns("session", "t", "name", "page", "props", "user", "friction")
        self.orders = self.plan.orders = _columns(
            "order_no", "person", "contact", "journey", "ordered_at", "platform", "total", "lines"
        )
        self.cases = self.plan.cases = _columns(
            "case_id", "person", "contact", "journey", "origin", "category", "priority", "order_ref", "created",
            "first_response", "resolved", "closed", "reopen_count", "resolved_late", "standard_due", "deleted",
            "duplicate_of",
        )  # fmt: skip
        self._case_version_rows: list[tuple] = []
        self._followups: list[tuple] = []
        self._order_seq = 0
        self._case_seq = 0
        self._day_number = (day - date(2000, 1, 1)).days
        mult = TURBULENCE_EFFECTS if self.turbulent else {}
        self.fail_multiplier = mult.get("checkout_failed_multiplier", 1.0)
        self.payment_error_multiplier = mult.get("payment_error_shown_multiplier", 1.0)
        self.billing_multiplier = mult.get("billing_case_multiplier", 1.0)
        self.slow_resolution = mult.get("case_resolution_time_multiplier", 1.0)
        self.slow_response = mult.get("first_response_time_multiplier", 1.0)

    # ------------------------------------------------------------ plumbing
    def gap(self) -> int:
        """Seconds between two steps of a visit (median about 16 s, long tail)."""
        return int(min(self.rnd.lognormvariate(2.8, 0.8), 900) * 1000)

    def new_journey(self, kind: str, person: int, start: int, parent: int) -> int:
        j = len(self.journeys["journey_id"])
        self.journeys["journey_id"].append(f"J-{self.day:%Y%m%d}-{j + 1:06d}")
        for name, value in (
            ("person", person), ("type", kind), ("start", start), ("end", start), ("outcome", "completed"),
            ("reason", None), ("parent", parent), ("order_no", None), ("case_id", None), ("contact", -1),
            ("platforms", set()), ("frictions", []), ("turbulent", self.turbulent),
        ):  # fmt: skip
            self.journeys[name].append(value)
        return j

    def finish(self, j: int, end: int, outcome: str = "completed", reason: str | None = None) -> None:
        self.journeys["end"][j] = max(end, self.journeys["end"][j])
        self.journeys["outcome"][j] = outcome
        self.journeys["reason"][j] = reason

    def pick_device(self, person: int, t: int, prefer_app: float) -> int:
        devices = [d for d in self.pop.devices_of(person) if self.pop.device_first_seen_ms[d] <= t]
        apps = [d for d in devices if self.pop.device_platform[d] != WEB]
        webs = [d for d in devices if self.pop.device_platform[d] == WEB]
        if apps and (not webs or self.rnd.random() < prefer_app):
            return apps[self.rnd.randrange(len(apps))]
        return webs[self.rnd.randrange(len(webs))]

    def session(self, j: int, device: int, t: int, logged_out: bool = False) -> _Session:
        pop = self.pop
        platform = int(pop.device_platform[device])
        app = platform != WEB
        person = int(pop.device_person[device])
        user = None
        if app and not logged_out and pop.is_signed_up(person, t):
            c = pop.contact_for(device, t)
            user = pop.contact_id[c] if c >= 0 else None
        idx = len(self.sessions["journey"])
        self.sessions["journey"].append(j)
        self.sessions["device"].append(device)
        self.sessions["platform"].append(platform)
        self.sessions["kind"].append(HUMAN)
        self.sessions["ua"].append(None)
        self.sessions["ip"].append(None)
        ref = None
        if not app and self.rnd.random() < 0.6:
            ref = vocab.EXTERNAL_REFERRERS[self.rnd.randrange(len(vocab.EXTERNAL_REFERRERS))]
        self.sessions["referrer"].append(ref)
        self.journeys["platforms"][j].add(vocab.PLATFORMS[platform])
        return _Session(self, idx, t, user, app, self.journeys["frictions"][j])

    def login(self, s: _Session, device: int, failure_rate: float) -> bool:
        """Log in (first attempt may fail); sets the session's user. False when the person gives up."""
        c = self.pop.contact_for(device, s.t)
        if c < 0:
            return False
        s.view("login")
        if self.rnd.random() < failure_rate:
            reason = vocab.LOGIN_FAILURE_REASONS[self.rnd.randrange(len(vocab.LOGIN_FAILURE_REASONS))]
            s.step("login_failed", s.page("login"), f'{{"reason":"{reason}"}}', "login_failed")
            if self.rnd.random() < 0.3:
                return False
        s.user = self.pop.contact_id[c]
        s.step("login", s.page("login"))
        return True

    # ------------------------------------------------------------ journeys
    def browse(self, s: _Session, cart: list[int], add_probability: float) -> bool:
        """Search and look at products; False when the visitor gives up after a search that found nothing."""
        rnd = self.rnd
        for _ in range(1 + (rnd.random() < 0.35)):
            if rnd.random() < self.cfg.rate("dead_end_search"):
                term = vocab.DEAD_END_TERMS[rnd.randrange(len(vocab.DEAD_END_TERMS))]
                props = f'{{"query":"{term}","results_count":0}}'
                s.step("search", s.page("search", "?q=" + term.replace(" ", "+")), props, "dead_end_search")
                if rnd.random() < 0.45:
                    return False
                continue
            term = vocab.SEARCH_TERMS[rnd.randrange(len(vocab.SEARCH_TERMS))]
            props = f'{{"query":"{term}","results_count":{rnd.randint(1, 240)}}}'
            s.step("search", s.page("search", "?q=" + term.replace(" ", "+")), props)
            for _ in range(rnd.randint(1, 4)):
                sku = self.pop.popular_sku(rnd.random())
                code = self.pop.sku[sku]
                s.step("product_view", s.page("product", code), f'{{"sku":"{code}"}}')
                if rnd.random() < add_probability:
                    cart.append(sku)
                    s.step("add_to_cart", s.page("product", code), f'{{"sku":"{code}"}}')
                    add_probability /= 3
        return True

    def buying(self, person: int, t0: int, parent: int = -1) -> None:
        pop, rnd = self.pop, self.rnd
        j = self.new_journey("buying", person, t0, parent)
        customer = bool(pop.is_customer[person]) and pop.is_signed_up(person, t0)
        cart: list[int] = []
        t, abandon = t0, None
        n_research = rnd.choices((0, 1, 2), (0.35, 0.45, 0.2))[0]
        for r in range(n_research):
            device = self.pick_device(person, t, prefer_app=0.6)
            s = self.session(j, device, t)
            s.view("home")
            if not self.browse(s, cart, 0.45 if r == n_research - 1 else 0.15):
                abandon = "dead_end_search"
                break
            t = s.t + int(rnd.lognormvariate(np.log(3 * MS_HOUR), 1.0))
            t = min(t, t0 + 2 * MS_DAY)
        if abandon is None and n_research and rnd.random() > (0.62 if customer else 0.3):
            abandon = "cart_abandoned" if cart else "browse_abandoned"
        end = t
        if abandon is None:
            device = self.pick_device(person, t, prefer_app=0.35)
            s = self.session(j, device, t)
            s.view("cart" if cart else "home")
            if not cart and not self.browse(s, cart, 1.0):
                abandon = "dead_end_search"
            if abandon is None and not cart:
                sku = pop.popular_sku(rnd.random())
                s.step("add_to_cart", s.page("product", pop.sku[sku]), f'{{"sku":"{pop.sku[sku]}"}}')
                cart.append(sku)
            guest = not customer or rnd.random() < 0.08
            if abandon is None and s.user is None and not guest:
                if not self.login(s, device, self.cfg.rate("login_failed")):
                    abandon = "login_failed"
                    if rnd.random() < 0.5:
                        self._followups.append(("account_access", person, s.t + rnd.randint(2, 90) * MS_MINUTE, j))
            if abandon is None:
                abandon = self.checkout(s, j, person, device, cart)
            end = s.t
        self.journeys["contact"][j] = pop.contact_for(self.pop.dev_start[person], t0) if customer else -1
        self.finish(j, end, "completed" if abandon is None else "abandoned", abandon)
        if abandon == "checkout_failed" and rnd.random() < 0.12 * self.billing_multiplier:
            when = end + rnd.randint(10, 24 * 60) * MS_MINUTE
            self._followups.append(("issue_resolution", person, when, j, "billing", None, -2))

    def checkout(self, s: _Session, j: int, person: int, device: int, cart: list[int]) -> str | None:
        rnd = self.rnd
        s.view("cart")
        s.step("checkout_started", s.page("checkout"))
        if rnd.random() < 0.12:
            return "cart_abandoned"
        fail = self.cfg.rate("checkout_failed") * self.fail_multiplier
        for attempt in range(3):
            if s.view("payment", error_multiplier=self.payment_error_multiplier) and rnd.random() < 0.5:
                return "error"
            s.step("payment_submitted", s.page("payment"))
            if rnd.random() < fail:
                reasons = vocab.CHECKOUT_FAILURE_REASONS
                if self.turbulent and rnd.random() < 0.75:
                    reasons = vocab.TURBULENT_FAILURE_REASONS
                reason = reasons[rnd.randrange(len(reasons))]
                s.step("checkout_failed", s.page("payment"), f'{{"reason":"{reason}"}}', "checkout_failed")
                if attempt < 2 and rnd.random() < 0.55:
                    continue
                return "checkout_failed"
            number = self.place_order(s, j, person, device, cart)
            total = self.orders["total"][-1]
            s.step("order_completed", s.page("confirmation"), f'{{"order_no":"{number}","total":{total:.2f}}}')
            s.view("confirmation")
            return None
        return "checkout_failed"

    def place_order(self, s: _Session, j: int, person: int, device: int, cart: list[int]) -> str:
        rnd, pop = self.rnd, self.pop
        self._order_seq += 1
        number = order_no(self.day.year, self.day.timetuple().tm_yday, self._order_seq)
        lines = []
        for sku in dict.fromkeys(cart):
            qty = 1 + (rnd.random() < 0.2)
            lines.append((pop.sku[sku], qty, float(pop.sku_price[sku])))
        total = round(sum(q * p for _, q, p in lines), 2)
        contact = -1
        if s.user is not None:
            contact = pop.contact_for(device, s.t)
        o = self.orders
        for name, value in (
            ("order_no", number), ("person", person), ("contact", contact), ("journey", j), ("ordered_at", s.t),
            ("platform", vocab.PLATFORMS[pop.device_platform[device]]), ("total", total), ("lines", lines),
        ):  # fmt: skip
            o[name].append(value)
        self.journeys["order_no"][j] = number
        t = s.t
        if rnd.random() < 0.3:
            self._followups.append(("delivery", person, t + rnd.randint(20, 96) * MS_HOUR, j, number, contact))
        if rnd.random() < 0.06:
            self._followups.append(("returns", person, t + rnd.randint(96, 240) * MS_HOUR, j, number, contact))
        if rnd.random() < 0.04:
            category = rnd.choice(("product", "delivery", "billing", "returns"))
            self._followups.append(
                ("issue_resolution", person, t + rnd.randint(24, 168) * MS_HOUR, j, category, number, contact)
            )
        return number

    def account_access(self, person: int, t0: int, parent: int = -1) -> None:
        rnd = self.rnd
        j = self.new_journey("account_access", person, t0, parent)
        device = self.pick_device(person, t0, prefer_app=0.4)
        s = self.session(j, device, t0, logged_out=True)
        s.view("login")
        for _ in range(rnd.choices((1, 2, 3), (0.5, 0.35, 0.15))[0]):
            reason = vocab.LOGIN_FAILURE_REASONS[rnd.randrange(len(vocab.LOGIN_FAILURE_REASONS))]
            s.step("login_failed", s.page("login"), f'{{"reason":"{reason}"}}', "login_failed")
        s.step("password_reset", s.page("password_reset"))
        c = self.pop.contact_for(device, s.t)
        self.journeys["contact"][j] = c
        if rnd.random() < 0.75 and c >= 0:
            s.t += rnd.randint(60, 900) * 1000  # waiting for the reset email
            s.user = self.pop.contact_id[c]
            s.step("login", s.page("login"))
            s.view("account")
            self.finish(j, s.t)
            return
        if rnd.random() < 0.5:
            s.step("error_shown", s.page("password_reset"), '{"error_code":"RESET_LINK_EXPIRED"}', "error_shown")
        self.finish(j, s.t, "abandoned", "password_reset_failed")
        if rnd.random() < 0.4:
            self._followups.append(("issue_resolution", person, s.t + rnd.randint(30, 1440) * MS_MINUTE, j, "account"))

    def delivery(self, person: int, t0: int, parent: int, number: str, contact: int) -> None:
        rnd = self.rnd
        j = self.new_journey("delivery", person, t0, parent)
        self.journeys["order_no"][j] = number
        self.journeys["contact"][j] = contact
        t = t0
        visits = rnd.choices((1, 2, 3), (0.6, 0.3, 0.1))[0]
        escalate = rnd.random() < 0.18
        for v in range(visits):
            device = self.pick_device(person, t, prefer_app=0.5)
            s = self.session(j, device, t)
            if s.user is None and contact >= 0 and not self.login(s, device, self.cfg.rate("login_failed")):
                self.finish(j, s.t, "abandoned", "login_failed")
                return
            s.view("orders")
            s.step("order_tracking_viewed", s.page("order_detail", number), f'{{"order_no":"{number}"}}')
            if v == visits - 1 and escalate:
                self.finish(j, s.t, "abandoned", "escalated_to_case")
                self.issue_resolution(person, s.t, j, "delivery", number, contact, session=s)
                return
            t = s.t + rnd.randint(6, 30) * MS_HOUR
        self.finish(j, s.t)

    def returns(self, person: int, t0: int, parent: int, number: str, contact: int) -> None:
        rnd = self.rnd
        j = self.new_journey("returns", person, t0, parent)
        self.journeys["order_no"][j] = number
        self.journeys["contact"][j] = contact
        device = self.pick_device(person, t0, prefer_app=0.3)
        s = self.session(j, device, t0)
        if s.user is None and contact >= 0 and not self.login(s, device, self.cfg.rate("login_failed")):
            self.finish(j, s.t, "abandoned", "login_failed")
            return
        s.view("orders")
        if s.view("order_detail", number, error_multiplier=5.0):
            self.finish(j, s.t, "abandoned", "error")
            if rnd.random() < 0.6:
                self.issue_resolution(person, s.t + rnd.randint(5, 600) * MS_MINUTE, j, "returns", number, contact)
            return
        s.step("return_started", s.page("returns"), f'{{"order_no":"{number}"}}')
        s.view("confirmation")
        self.finish(j, s.t)

    def issue_resolution(
        self,
        person: int,
        t0: int,
        parent: int,
        category: str,
        number: str | None = None,
        contact: int = -2,
        session: _Session | None = None,
    ) -> None:
        """A customer asks for help: on the web (contact form), in chat, by phone, email, in store or social."""
        pop, rnd = self.pop, self.rnd
        j = self.new_journey("issue_resolution", person, t0, parent)
        self.journeys["order_no"][j] = number
        if contact == -2:  # not about a known order: whichever contact the person is known under
            contact = -1
            if pop.is_customer[person] and pop.is_signed_up(person, t0):
                dup = pop.duplicate_contact[person]
                use_dup = dup >= 0 and rnd.random() < 0.4 and pop.contact_visible_ms(dup) <= t0
                use_dup = use_dup and pop.contact_deleted_ms[dup] > t0
                contact = int(dup if use_dup else pop.primary_contact[person])
        self.journeys["contact"][j] = contact
        origin = rnd.choices(("web", "chat", "phone", "email", "store", "social"), (35, 20, 25, 15, 3, 2))[0]
        duplicate = False
        if origin in ("web", "chat"):
            s = session
            if s is None:
                device = self.pick_device(person, t0, prefer_app=0.3)
                s = self.session(j, device, t0)
                if s.user is None and contact >= 0 and not self.login(s, device, self.cfg.rate("login_failed")):
                    origin = "phone"  # gives up on the site and calls instead
            if origin != "phone":
                s.view("help")
                articles = vocab.HELP_ARTICLES[category]
                for _ in range(rnd.randint(1, 2)):
                    article = articles[rnd.randrange(len(articles))]
                    s.step("help_article_view", s.page("help_article", str(article)), f'{{"article_id":"{article}"}}')
                if origin == "web":
                    s.view("contact")
                    s.step("contact_form_submitted", s.page("contact"), f'{{"topic":"{category}"}}')
                    duplicate = rnd.random() < self.cfg.rate("case_soft_delete")
                    if duplicate:  # double submission: the copy becomes a second case, deleted later
                        s.step("contact_form_submitted", s.page("contact"), f'{{"topic":"{category}"}}', gap=2500)
                else:
                    s.step("chat_started", s.page("chat"), f'{{"topic":"{category}"}}')
                created = s.t + rnd.randint(1, 20) * 1000
            else:
                created = within_working_hours(s.t + rnd.randint(5, 120) * MS_MINUTE)
        elif origin in ("phone", "store"):
            created = within_working_hours(t0 + rnd.randint(1, 60) * MS_MINUTE)
        else:
            created = t0 + rnd.randint(1, 30) * MS_MINUTE
        priority = rnd.choices(("low", "medium", "high", "urgent"), (25, 50, 20, 5))[0]
        if category == "billing" and self.turbulent and priority in ("low", "medium") and rnd.random() < 0.4:
            priority = "high"
        case_id, life = self.open_case(j, person, contact, created, category, origin, number, priority)
        if duplicate:
            self.open_case(j, person, contact, created + 2500, category, origin, number, priority, duplicate_of=case_id)
        self.journeys["case_id"][j] = case_id
        self.journeys["platforms"][j].add("crm:" + origin)
        self.finish(j, life.end_ms, life.outcome, None if life.outcome == "completed" else "case_closed_unresolved")

    def open_case(
        self,
        j: int,
        person: int,
        contact: int,
        created: int,
        category: str,
        origin: str,
        number: str | None,
        priority: str,
        duplicate_of: str | None = None,
    ) -> tuple[str, CaseLife]:
        self._case_seq += 1
        case_id = salesforce_ids("500", [self._day_number * 100_000 + self._case_seq])[0]
        if duplicate_of:
            life = plan_deleted_duplicate(self.rnd, created)
        else:
            life = plan_case(self.rnd, created, priority, self.slow_response, self.slow_resolution)
        for version in life.versions:
            self._case_version_rows.append((len(self.cases["case_id"]), *version))
        for name, value in (
            ("case_id", case_id), ("person", person), ("contact", contact), ("journey", j), ("origin", origin),
            ("category", category), ("priority", priority), ("order_ref", number), ("created", life.versions[0][0]),
            ("first_response", life.first_response_ms), ("resolved", life.resolved_ms), ("closed", life.closed_ms),
            ("reopen_count", life.reopen_count), ("resolved_late", life.resolved_late),
            ("standard_due", life.standard_due_ms),
            ("deleted", duplicate_of is not None), ("duplicate_of", duplicate_of),
        ):  # fmt: skip
            self.cases[name].append(value)
        return case_id, life

    def sign_up(self, person: int) -> None:
        """A newcomer browses anonymously (maybe on two devices), then registers: the CRM contact is born."""
        pop, rnd = self.pop, self.rnd
        t0 = int(pop.signup_journey_start_ms[person])
        signup = int(pop.signup_ms[person])
        j = self.new_journey("sign_up", person, t0, -1)
        device = self.pick_device(person, t0, prefer_app=0.3)
        s = self.session(j, device, t0)
        s.view("home")
        self.browse(s, [], 0.3)
        if signup - s.t > 4 * MS_HOUR and rnd.random() < 0.5:
            s = self.session(j, self.pick_device(person, s.t, 0.5), (s.t + signup) // 2)
            s.view("home")
            self.browse(s, [], 0.3)
        device = self.pick_device(person, signup, prefer_app=0.25)
        s = self.session(j, device, max(signup - 150_000, s.t + MS_MINUTE), logged_out=True)
        s.view("register")
        s.t = max(s.t, signup)
        s.user = pop.contact_id[pop.primary_contact[person]]
        s.step("login", s.page("login"), gap=1000)
        s.view("account")
        self.journeys["contact"][j] = int(pop.primary_contact[person])
        self.finish(j, s.t)
        if rnd.random() < 0.45:
            self._followups.append(("buying", person, s.t + rnd.randint(2, 30) * MS_MINUTE, j))

    def bots(self, human_sessions: int) -> None:
        """Uptime monitors every 5 minutes (HeadlessChrome) and crawlers; none of it is customer behaviour."""
        rate = self.cfg.rate("bot_traffic")
        if rate <= 0:
            return
        rnd = self.rnd
        for monitor, pages in enumerate((("/",), ("/", "/checkout"))):
            t = self.day_start + monitor * 97_000
            while t < self.day_end:
                s = self._bot_session(MONITOR, vocab.MONITOR_USER_AGENT, f"35.190.{monitor}.{10 + monitor}")
                s.t = t
                for k, page in enumerate(pages):
                    s.step("page_view", page, gap=0 if k == 0 else 1200 + rnd.randint(0, 800))
                t += MONITOR_INTERVAL_MS
        n_crawls = int(round(human_sessions * rate))
        starts = sample_times_on_day(self.rng, self.day, n_crawls) if n_crawls else []
        for start in np.sort(np.asarray(starts)).tolist() if n_crawls else []:
            ua = vocab.CRAWLER_USER_AGENTS[rnd.randrange(len(vocab.CRAWLER_USER_AGENTS))]
            s = self._bot_session(CRAWLER, ua, f"66.249.{rnd.randint(64, 95)}.{rnd.randint(1, 254)}")
            s.t = int(start)
            for k in range(rnd.randint(5, 40)):
                code = self.pop.sku[rnd.randrange(len(self.pop.sku))]
                s.step("page_view", "/p/" + code, gap=0 if k == 0 else rnd.randint(800, 6000))

    def _bot_session(self, kind: int, ua: str, ip: str) -> _Session:
        idx = len(self.sessions["journey"])
        for name, value in (
            ("journey", -1), ("device", -1), ("platform", WEB), ("kind", kind), ("ua", ua), ("ip", ip),
            ("referrer", None),
        ):  # fmt: skip
            self.sessions[name].append(value)
        return _Session(self, idx, 0, None, False, [])

    # ------------------------------------------------------------ the day
    def build(self) -> DayPlan:
        pop, rng = self.pop, self.rng
        factor = WEEKDAY_FACTOR[self.day.weekday()]
        eligible = pop.n_customers
        starts: list[tuple[int, int, str]] = []
        for kind, rate, customers in (
            ("buying", BUYING_PER_CUSTOMER_DAY, True),
            ("buying", BUYING_PER_PROSPECT_DAY, False),
            ("account_access", ACCOUNT_ACCESS_PER_CUSTOMER_DAY, True),
            ("issue_resolution", SPONTANEOUS_ISSUE_PER_CUSTOMER_DAY, True),
        ):
            size = eligible if customers else pop.n_persons - pop.n_customers
            k = int(rng.poisson(size * rate * factor))
            persons = pop.sample_persons(rng, k, customers)
            times = sample_times_on_day(rng, self.day, k)
            rng.shuffle(times)
            starts += [(int(t), int(p), kind) for t, p in zip(times.tolist(), persons.tolist(), strict=True)]
        newcomers = np.flatnonzero(
            (pop.signup_journey_start_ms >= self.day_start) & (pop.signup_journey_start_ms < self.day_end)
        )
        starts += [(int(pop.signup_journey_start_ms[p]), int(p), "sign_up") for p in newcomers.tolist()]
        starts.sort()
        for t, p, kind in starts:
            if pop.erased_ms[p] <= t:
                continue  # erased customers are gone
            if kind == "sign_up":
                self.sign_up(p)
            elif kind == "buying":
                if pop.is_customer[p] and not pop.is_signed_up(p, t):
                    continue
                self.buying(p, t)
            elif pop.is_signed_up(p, t):
                if kind == "account_access":
                    self.account_access(p, t)
                else:
                    category = self.rnd.choices(
                        ("billing", "account", "technical", "product", "other"),
                        (30 * self.billing_multiplier, 20, 15, 20, 15),
                    )[0]
                    self.issue_resolution(p, t, -1, category)
        self._run_followups()
        self.bots(len(self.sessions["journey"]))
        self._finish_cases()
        return self.plan

    def _run_followups(self) -> None:
        pos = 0
        while pos < len(self._followups):  # follow-ups can spawn follow-ups; the queue only grows
            kind, person, t, parent, *args = self._followups[pos]
            pos += 1
            if self.pop.erased_ms[person] <= t:
                continue
            if kind == "buying":
                self.buying(person, t, parent)
            elif kind == "account_access":
                self.account_access(person, t, parent)
            elif kind == "delivery":
                self.delivery(person, t, parent, *args)
            elif kind == "returns":
                self.returns(person, t, parent, *args)
            else:
                self.issue_resolution(person, t, parent, *args)

    def _finish_cases(self) -> None:
        rows = self._case_version_rows
        cols = list(zip(*rows, strict=True)) if rows else [[] for _ in range(8)]
        case = np.array(cols[0], np.int64)
        modstamp = np.array(cols[1], np.int64)
        late_rng = np.random.default_rng(stream_seed(self.cfg.seed, "case-commits", self.day.isoformat()))
        commit, late = late_commits(case, modstamp, late_rng, self.cfg.rate("late_commit"), self.day_start)
        self.plan.case_versions = {
            "case": case,
            "modstamp": modstamp,
            "commit": commit,
            "late": late,
            "status": list(cols[2]),
            "first_response": np.array(cols[3], np.int64),
            "resolved": np.array(cols[4], np.int64),
            "closed": np.array(cols[5], np.int64),
            "reopen_count": np.array(cols[6], np.int64),
            "is_deleted": np.array(cols[7], bool),
        }
        self.plan.cases["sla_hours"] = [SLA_HOURS[p] for p in self.cases["priority"]]
        # Compact per-journey collections into text: a day can hold 100,000 journeys at scale.
        self.journeys["platforms"] = [";".join(sorted(p)) for p in self.journeys["platforms"]]
        self.journeys["frictions"] = [";".join(f) for f in self.journeys["frictions"]]


def plan_day(population: Population, day: date) -> DayPlan:
    return DayBuilder(population, day).build()
