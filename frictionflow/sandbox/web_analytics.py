"""The web and app analytics collector: hourly gzip JSON Lines files, at-least-once, late, skewed.

`expand_day` turns a DayPlan's events into what the collector receives (vectorised per day): event ids,
collector time, device clock, duplicates, unknown property keys, malformed lines. `WebDelivery` writes
the files for each received date (UTC) atomically and reports every quirk it delivered.
"""

from __future__ import annotations

import gzip
import json
import os
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from . import vocab
from .config import stream_seed
from .ids import uuid4s
from .journeys import CRAWLER, HUMAN, DayPlan
from .population import Population
from .timeutil import MS_DAY, MS_HOUR, MS_MINUTE, iso_utc_z, iso_with_offset, utc_midnight_ms

SYSTEM_DIR = "web_analytics"
MAX_OFFLINE_MS = 72 * MS_HOUR
FRICTION_EVENTS = ("dead_end_search", "checkout_failed", "login_failed", "error_shown")
QUIRK_COLUMNS = ["quirk", "system", "location", "occurred_at", "source_key", "person_id", "journey_id", "detail"]


@dataclass
class WebDay:
    """What the collector received from one day's plan: one row per delivered copy of an event."""

    plan: DayPlan
    event_id: list[str]  # per plan event
    session_id: list[str]  # per plan session
    anonymous_id: list[str]  # per plan session
    device_ms: np.ndarray  # per plan event: true time + device clock skew
    offset_s: np.ndarray  # per plan event: the device's UTC offset
    referrer: list[str | None]  # per plan event
    unknown_key: np.ndarray  # per plan event: index into UNKNOWN_PROPERTY_KEYS or -1
    malformed: np.ndarray  # per plan event: 0 fine, 1 unparsable line, 2 bad enum value
    offline_delay_ms: np.ndarray  # per plan session, 0 when online
    row_event: np.ndarray  # per row: the plan event it delivers
    row_received_ms: np.ndarray  # per row
    row_is_copy: np.ndarray  # per row: the second delivery of an event

    @property
    def n_events(self) -> int:
        return len(self.event_id)


def expand_day(population: Population, plan: DayPlan) -> WebDay:
    cfg = population.config
    rng = np.random.default_rng(stream_seed(cfg.seed, "web", plan.day.isoformat()))
    ev, ss = plan.events, plan.sessions
    n, n_sessions = len(ev["t"]), len(ss["journey"])
    t = np.asarray(ev["t"], np.int64)
    session = np.asarray(ev["session"], np.int64)
    device_of_session = np.asarray(ss["device"], np.int64)
    kind = np.asarray(ss["kind"], np.int8)
    platform = np.asarray(ss["platform"], np.int8)
    human_session = kind == HUMAN

    event_id = uuid4s(rng, n)
    session_id = uuid4s(rng, n_sessions)
    bot_anonymous = uuid4s(rng, n_sessions)  # bots keep no cookies: a new id every visit
    anonymous_id = [
        population.anonymous_id[d] if d >= 0 else a
        for d, a in zip(device_of_session.tolist(), bot_anonymous, strict=True)
    ]

    device = device_of_session[session]
    human = device >= 0
    skew = np.where(human, population.device_skew_ms[np.maximum(device, 0)], 0)
    device_ms = t + skew
    offset_s = np.zeros(n, np.int64)
    if human.any():
        offset_s[human] = population.tz_offsets(device[human], device_ms[human])

    # Online: a fraction of a second to the collector. Offline app sessions: all at once, hours or days later.
    latency = np.clip(rng.lognormal(np.log(400), 0.9, n), 30, 20_000).astype(np.int64)
    received = t + latency
    start = np.full(n_sessions, np.iinfo(np.int64).max, np.int64)
    end = np.zeros(n_sessions, np.int64)
    np.minimum.at(start, session, t)
    np.maximum.at(end, session, t)
    offline = human_session & (platform != 0) & (rng.random(n_sessions) < cfg.rate("offline_late"))
    delay = np.clip(rng.lognormal(np.log(5 * MS_HOUR), 1.2, n_sessions), 20 * MS_MINUTE, None).astype(np.int64)
    delay = np.minimum(delay, MAX_OFFLINE_MS - (end - start) - MS_MINUTE)
    offline_delay = np.where(offline & (delay > 20 * MS_MINUTE), delay, 0)
    buffered = offline_delay[session] > 0
    # A plan appends each session's events together, so a session's events are contiguous.
    assert n == 0 or bool(np.all(np.diff(session) >= 0)), "events must be grouped by session"
    rank = np.arange(n) - np.searchsorted(session, session, side="left")
    received = np.where(buffered, end[session] + offline_delay[session] + rank * 7, received)

    # At least once: some events reach the collector again one to six hours later (another hour's file).
    copies = np.flatnonzero(rng.random(n) < cfg.rate("duplicate_event"))
    copy_received = received[copies] + rng.integers(MS_HOUR, 6 * MS_HOUR, len(copies))
    row_event = np.concatenate([np.arange(n), copies])
    row_received = np.concatenate([received, copy_received])
    row_is_copy = np.concatenate([np.zeros(n, bool), np.ones(len(copies), bool)])

    unknown = np.where(
        rng.random(n) < cfg.rate("unknown_property_key"), rng.integers(0, len(vocab.UNKNOWN_PROPERTY_KEYS), n), -1
    )
    malformed = np.where(rng.random(n) < cfg.rate("malformed_web_line"), rng.integers(1, 3, n), 0).astype(np.int8)

    referrer = _referrers(ev["page"], session.tolist(), ss["referrer"], platform.tolist(), kind.tolist())
    return WebDay(
        plan, event_id, session_id, anonymous_id, device_ms, offset_s, referrer, unknown, malformed,
        offline_delay, row_event, row_received, row_is_copy,
    )  # fmt: skip


def _referrers(pages: list, sessions: list[int], first: list, platform: list[int], kind: list[int]) -> list:
    """Web pages refer to the previous page of the visit; the first to where the visitor came from."""
    out: list[str | None] = []
    previous_session, previous_page = -1, None
    for page, s in zip(pages, sessions, strict=True):
        if platform[s] != 0 or kind[s] != HUMAN:
            out.append(None)
        elif s != previous_session:
            out.append(first[s])
        else:
            out.append(vocab.SITE + previous_page)
        previous_session, previous_page = s, page
    return out


@lru_cache(maxsize=65536)
def _json(value: str | None) -> str:
    return "null" if value is None else json.dumps(value, ensure_ascii=False)


def _lines(population: Population, web: WebDay, rows: np.ndarray) -> list[str]:
    """Serialised JSON lines for the given rows (the contract's columns, in its order)."""
    plan = web.plan
    ev, ss = plan.events, plan.sessions
    events = web.row_event[rows]
    device_ts = iso_with_offset(web.device_ms[events], web.offset_s[events])
    received = iso_utc_z(web.row_received_ms[rows])
    visits: dict[int, tuple[str, str, str, str, str]] = {}  # per session: the fields every event repeats
    e_session, e_name, e_props, e_user, e_page = ev["session"], ev["name"], ev["props"], ev["user"], ev["page"]
    out = []
    for i, e in enumerate(events.tolist()):
        s = e_session[e]
        visit = visits.get(s)
        if visit is None:
            d = ss["device"][s]
            ua = ss["ua"][s] if d < 0 else population.device_ua[d]
            ip = ss["ip"][s] if d < 0 else population.device_ip[d]
            platform = vocab.PLATFORMS[ss["platform"][s]]
            visit = visits[s] = (web.anonymous_id[s], web.session_id[s], platform, _json(ua), _json(ip))
        anonymous_id, session_id, platform, ua, ip = visit
        name = e_name[e]
        props = e_props[e]
        key = web.unknown_key[e]
        if key >= 0:
            k, v = vocab.UNKNOWN_PROPERTY_KEYS[key]
            props = props[:-1] + ("," if props != "{}" else "") + f'"{k}":{v}}}'
        broken = web.malformed[e]
        if broken == 2:  # a value outside the contract's enum
            name, platform = ("pageview", platform) if e % 2 else (name, "windows_phone")
        line = (
            f'{{"event_id":"{web.event_id[e]}","event_name":"{name}","device_ts":"{device_ts[i]}",'
            f'"received_at":"{received[i]}","anonymous_id":"{anonymous_id}","user_id":{_json(e_user[e])},'
            f'"session_id":"{session_id}","platform":"{platform}","page":{_json(e_page[e])},'
            f'"referrer":{_json(web.referrer[e])},"user_agent":{ua},"ip_address":{ip},"properties":{props}}}'
        )
        if broken == 1:  # the collector cut the line short
            line = line[: len(line) // 2]
        out.append(line)
    return out


def hour_paths(received_ms: np.ndarray) -> list[str]:
    days = np.asarray(received_ms, np.int64).astype("datetime64[ms]").astype("datetime64[D]").astype(str).tolist()
    hours = (np.asarray(received_ms, np.int64) // MS_HOUR % 24).tolist()
    return [f"{SYSTEM_DIR}/{d}/{h:02d}.jsonl.gz" for d, h in zip(days, hours, strict=True)]


def rows_received_on(webs: list[WebDay], day: date) -> list[tuple[WebDay, np.ndarray]]:
    """Per plan day, its rows received on UTC `day`, in collector order."""
    lo = utc_midnight_ms(day)
    hi = lo + MS_DAY
    out = []
    for web in webs:
        rows = np.flatnonzero((web.row_received_ms >= lo) & (web.row_received_ms < hi))
        if len(rows):
            out.append((web, rows))
    return out


def write_received_day(population: Population, webs: list[WebDay], day: date, landing_dir: Path) -> tuple[int, int]:
    """Write the 24 hourly files of UTC `day` (empty hours too); returns (files, lines)."""
    parts = rows_received_on(webs, day)
    received = np.concatenate([w.row_received_ms[r] for w, r in parts]) if parts else np.zeros(0, np.int64)
    lines: list[str] = []
    for web, rows in parts:
        lines += _lines(population, web, rows)
    order = np.argsort(received, kind="stable")  # collector order; ties keep plan order (deterministic)
    hours = received[order] // MS_HOUR % 24
    folder = landing_dir / SYSTEM_DIR / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    bounds = np.searchsorted(hours, np.arange(25))
    for hour in range(24):
        chosen = order[bounds[hour] : bounds[hour + 1]].tolist()
        body = "".join(lines[i] + "\n" for i in chosen).encode()
        _write_atomically(folder / f"{hour:02d}.jsonl.gz", gzip.compress(body, compresslevel=1, mtime=0))
    return 24, len(lines)


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def delivered_dates(landing_dir: Path) -> list[date]:
    """Received dates whose 24 hourly files are all in place."""
    root = landing_dir / SYSTEM_DIR
    if not root.exists():
        return []
    out = []
    for folder in sorted(root.iterdir()):
        try:
            day = date.fromisoformat(folder.name)
        except ValueError:
            continue
        if all((folder / f"{h:02d}.jsonl.gz").exists() for h in range(24)):
            out.append(day)
    return out


def quirk_frame(population: Population, web: WebDay) -> pd.DataFrame:
    """Every web quirk and friction of one plan day's rows, with the row's `received_ms` (vectorised).

    Computed once per day and kept: the ground truth filters it by what has been delivered.
    """
    plan = web.plan
    ev, ss = plan.events, plan.sessions
    if not len(web.row_event):
        return pd.DataFrame(columns=[*QUIRK_COLUMNS, "received_ms"])
    t = np.asarray(ev["t"], np.int64)
    session = np.asarray(ev["session"], np.int64)
    s_journey = np.asarray(ss["journey"], np.int64)
    s_device = np.asarray(ss["device"], np.int64)
    s_kind = np.asarray(ss["kind"], np.int8)
    j_person = np.asarray(plan.journeys["person"], np.int64)
    journey_ids = np.array([*plan.journeys["journey_id"], None], object)  # index -1 -> None
    person_ids = np.array([*population.person_id, None], object)
    event_ids = np.array(web.event_id, object)

    e = web.row_event
    rows_s = session[e]
    rows_j = s_journey[rows_s]
    received = web.row_received_ms
    paths = np.array(hour_paths(received), object)
    copy = web.row_is_copy
    first_path = np.empty(web.n_events, object)
    first_path[e[~copy]] = paths[~copy]
    skew = np.where(s_device[rows_s] >= 0, population.device_skew_ms[np.maximum(s_device[rows_s], 0)], 0)
    friction = np.array(ev["friction"], object)[e]
    props = np.array(ev["props"], object)[e]
    lag_s = (received - t[e]) // 1000
    unknown = web.unknown_key[e]
    malformed = web.malformed[e]
    keys = np.array([k for k, _ in vocab.UNKNOWN_PROPERTY_KEYS], object)

    parts = []

    def add(quirk: str, mask: np.ndarray, detail: list | np.ndarray, source: np.ndarray | None = None) -> None:
        idx = np.flatnonzero(mask)
        if not len(idx):
            return
        n = len(idx)
        parts.append(
            {
                "quirk": np.full(n, quirk, object),
                "system": np.full(n, "web_analytics", object),
                "location": paths[idx],
                "occurred_at": t[e[idx]],
                "source_key": event_ids[e[idx]] if source is None else source[idx],
                "person_id": person_ids[np.where(rows_j[idx] >= 0, j_person[np.maximum(rows_j[idx], 0)], -1)],
                "journey_id": journey_ids[rows_j[idx]],
                "detail": np.asarray(detail, object) if isinstance(detail, list) else np.asarray(detail, object)[idx],
                "received_ms": received[idx],
            }
        )

    add("duplicate_event", copy, [f"first delivered in {p}" for p in first_path[e[copy]]])
    offline = ~copy & (web.offline_delay_ms[rows_s] > 0)
    add("offline_late", offline, [f"received {v} s after it happened" for v in lag_s[offline].tolist()])
    skewed = ~copy & (skew != 0)
    add("clock_skew", skewed, [f"device clock off by {v // 1000} s" for v in skew[skewed].tolist()])
    has_key = ~copy & (unknown >= 0)
    add("unknown_property_key", has_key, keys[np.maximum(unknown, 0)])
    broken = malformed > 0  # every delivered copy of a broken line is broken the same way
    add("malformed_web_line", broken, np.where(malformed == 1, "unparsable line", "value outside the contract's enum"))
    for name in FRICTION_EVENTS:
        add(name, ~copy & (friction == name), props)
    # Bots: one record per visit and hourly file it reached, keyed by session_id.
    bot_rows = np.flatnonzero(s_kind[rows_s] != HUMAN)
    if len(bot_rows):
        visit_file = rows_s[bot_rows] * 10_000_000 + (received[bot_rows] // MS_HOUR) % 10_000_000
        _, first = np.unique(visit_file, return_index=True)
        mask = np.zeros(len(e), bool)
        mask[bot_rows[first]] = True
        session_ids = np.array(web.session_id, object)[rows_s]
        anon = np.array(web.anonymous_id, object)[rows_s]
        uas = np.array(ss["ua"], object)[rows_s]
        kinds = np.where(s_kind[rows_s] == CRAWLER, "crawler", "monitor")
        detail = np.array([f"{k}; anonymous_id {a}; {u}" for k, a, u in zip(kinds, anon, uas, strict=True)], object)
        add("bot_traffic", mask, detail, source=session_ids)
    if not parts:
        return pd.DataFrame(columns=[*QUIRK_COLUMNS, "received_ms"])
    return pd.DataFrame({name: np.concatenate([part[name] for part in parts]) for name in parts[0]})
