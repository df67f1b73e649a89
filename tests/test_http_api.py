"""The contact-centre API as a real process on loopback, and the pipeline's client for it.

A small world is delivered into the API's store; the server misbehaves on purpose (transient 5xx, early
429s, empty pages, short-lived cursors) and the client must still pull exactly what the store holds.
"""

from __future__ import annotations

import secrets
import socket
import time
from datetime import UTC, date, datetime, timedelta

import httpx
import psycopg
import pytest

from frictionflow import nightly
from frictionflow.extract.http_api import FetchStats, HttpApiError, fetch_interactions, pull_http_api
from frictionflow.sandbox import SandboxConfig
from frictionflow.sandbox import contact_center as cc
from frictionflow.sandbox.contact_center_api import ApiServerError, start_api_server, stop_api_server
from frictionflow.sandbox.timeutil import local_midnight_ms
from frictionflow.sandbox.world import World
from frictionflow.sources import SourceConfig

CONFIG = SandboxConfig(seed=5, customers=2500, start_date=date(2026, 11, 1), end_date=date(2026, 11, 8))
FIRST_DELIVERED = date(2026, 11, 6)
TOKEN = secrets.token_urlsafe(24)
CURSOR_TTL = 2.0
FAULTS = {"cce_server_error": 0.25, "cce_rate_limit": 0.15, "cce_empty_page": 0.25}
FAST = {"backoff_initial": 0.05, "backoff_max": 0.5}
SOURCE = SourceConfig(
    system="contact_center",
    extractor="http_api",
    connection="contact_center_api",
    pool="contact_center_api",
    pool_slots=1,
    entities=("interaction",),
    retries=3,
    timeout_minutes=30,
    options={"watermark_column": "updated_at", "version_columns": ["updated_at"], "lookback_minutes": 15},
)


def _cutoff(day: date) -> int:
    return local_midnight_ms(day + timedelta(days=1))


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


@pytest.fixture(scope="module")
def world() -> World:
    return World(CONFIG)


@pytest.fixture(scope="module")
def store(world, tmp_path_factory) -> cc.InteractionStore:
    store = cc.InteractionStore(tmp_path_factory.mktemp("cce") / "contact_center_api")
    for n in range((FIRST_DELIVERED - CONFIG.start_date).days + 1):
        day = CONFIG.start_date + timedelta(days=n)
        cc.deliver(world, store, day, _cutoff(day))
    return store


@pytest.fixture(scope="module")
def server(store, tmp_path_factory):
    log = tmp_path_factory.mktemp("cce_log") / "api.log"
    with start_api_server(
        store.directory, TOKEN, log_file=log, cursor_ttl_seconds=CURSOR_TTL, fault_rates=FAULTS, fault_seed=11
    ) as running:
        yield running


def _get(server, **params) -> httpx.Response:
    return httpx.get(server.base_url + "/v1/interactions", params=params, headers={"Authorization": f"Bearer {TOKEN}"})


def _patient_get(server, **params) -> httpx.Response:
    """A request retried through the injected faults (this test looks at pages; the client test at retries)."""
    for _ in range(20):
        response = _get(server, **params)
        if response.status_code not in (429, 500, 502, 503):
            return response
        time.sleep(0.1)
    raise AssertionError(f"still failing: {response.status_code}")


def test_401_without_or_with_a_wrong_token(server):
    url = server.base_url + "/v1/interactions"
    missing = httpx.get(url)
    wrong = httpx.get(url, headers={"Authorization": "Bearer not-the-token"})
    for response in (missing, wrong):
        assert response.status_code == 401
        assert response.json()["error"] == "unauthorized" and response.headers["WWW-Authenticate"] == "Bearer"
    assert "missing" in missing.json()["message"] and "wrong" in wrong.json()["message"]


@pytest.mark.parametrize(
    "params, says",
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"updated_since": "yesterday"}, "ISO-8601"),
        ({"updated_since": "2026-11-01T00:00:00"}, "UTC offset"),
        ({"updated_since": "2026-11-02T00:00:00Z", "updated_until": "2026-11-01T00:00:00Z"}, "after"),
        ({"cursor": "bm90LWEtY3Vyc29y"}, "cursor"),
    ],
)
def test_400_for_bad_parameters_with_a_json_body(server, params, says):
    response = _get(server, **params)
    assert response.status_code == 400
    assert says in response.json()["message"] and response.json()["error"] in ("bad_request", "invalid_cursor")


def test_pages_in_order_through_empty_pages_to_the_end(server, store):
    records, empty_with_cursor, cursor = [], 0, None
    while True:
        response = _patient_get(server, limit=15, **({"cursor": cursor} if cursor else {}))
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"data", "next_cursor"}
        if not body["data"] and body["next_cursor"] is not None:
            empty_with_cursor += 1
        records += body["data"]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    keys = [(_ms(r["updated_at"]), r["interaction_id"]) for r in records]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert empty_with_cursor >= 1
    assert records == store.latest()


def test_above_ten_requests_a_second_429_with_retry_after(server):
    time.sleep(1.1)  # a full bucket
    statuses = []
    with httpx.Client() as client:
        for _ in range(25):
            response = client.get(
                server.base_url + "/v1/interactions",
                params={"limit": 1, "updated_since": "2030-01-01T00:00:00Z"},  # an empty window: cheap
                headers={"Authorization": f"Bearer {TOKEN}"},
            )
            statuses.append(response.status_code)
            if response.status_code == 429 and response.json()["error"] == "rate_limited":
                assert int(response.headers["Retry-After"]) >= 1
    assert statuses.count(429) >= 10
    time.sleep(1.1)


def test_client_pulls_exactly_the_store_through_faults(server, store):
    stats = FetchStats()
    pulled = [d for d in fetch_interactions(server.base_url, TOKEN, None, None, limit=10, stats=stats, **FAST)]
    assert [d.payload for d in pulled] == store.latest()
    assert stats.server_errors >= 1 and stats.rate_limited >= 1 and stats.empty_pages >= 1
    assert pulled[0].location == "page 1 cursor -" and pulled[0].record_number == 1
    assert all(d.location.startswith("page ") for d in pulled)
    # a window: [since, until) on updated_at
    since, until = datetime(2026, 11, 4, tzinfo=UTC), datetime(2026, 11, 5, 12, tzinfo=UTC)
    window = [d.payload for d in fetch_interactions(server.base_url, TOKEN, since, until, limit=500, **FAST)]
    lo, hi = since.timestamp() * 1000, until.timestamp() * 1000
    assert window and window == [r for r in store.latest() if lo <= _ms(r["updated_at"]) < hi]


def test_an_expired_cursor_is_recovered_from_the_last_record(server, store):
    stats = FetchStats()
    pulled = []
    for n, item in enumerate(fetch_interactions(server.base_url, TOKEN, None, None, limit=20, stats=stats, **FAST)):
        pulled.append(item.payload)
        if n == 25:  # on the second page: its cursor to the third expires while we dawdle
            time.sleep(CURSOR_TTL + 0.5)
    assert stats.cursor_restarts >= 1
    assert pulled == store.latest()


def test_retries_are_bounded_and_the_error_says_where(server):
    def always(status: int):
        return httpx.MockTransport(lambda request: httpx.Response(status, json={"error": "x", "message": "down"}))

    calls = []
    transport = httpx.MockTransport(lambda request: calls.append(request) or httpx.Response(503, text="down"))
    with pytest.raises(
        HttpApiError, match=r"http://cce\.test/v1/interactions\?limit=500.*page 1.*HTTP 503.*3 attempts"
    ):
        list(fetch_interactions("http://cce.test", TOKEN, None, None, client=httpx.Client(transport=transport),
                                max_attempts=3, **FAST))  # fmt: skip
    assert len(calls) == 3
    with pytest.raises(HttpApiError, match="HTTP 401"):  # not retried: a wrong token stays wrong
        list(fetch_interactions(server.base_url, "wrong-token", None, None, **FAST))
    with pytest.raises(HttpApiError, match="ConnectError"):
        port = _unused_port()
        list(fetch_interactions(f"http://127.0.0.1:{port}", TOKEN, None, None, max_attempts=2, **FAST))
    with pytest.raises(HttpApiError, match="HTTP 404"):
        list(fetch_interactions("http://cce.test", TOKEN, None, None, client=httpx.Client(transport=always(404))))


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_server_start_fails_clearly(store, tmp_path, monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ApiServerError, match=f"127.0.0.1:{port}.*already in use"):
            start_api_server(store.directory, TOKEN, port=port)
    monkeypatch.delenv("FRICTIONFLOW_CCE_TOKEN", raising=False)
    with pytest.raises(ApiServerError, match="FRICTIONFLOW_CCE_TOKEN is not set"):
        start_api_server(store.directory)
    # started with a pid file (a detached service), stopped by it
    pid_file = tmp_path / "cce.pid"
    running = start_api_server(store.directory, TOKEN, pid_file=pid_file)
    assert int(pid_file.read_text()) == running.pid
    assert stop_api_server(pid_file) and not pid_file.exists()
    running.process.wait(5)
    assert not stop_api_server(pid_file)


def _night(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=nightly.COMPANY_TZ)
    return start, start + timedelta(days=1)


def _pull(warehouse: str, server, day: date):
    start, end = _night(day)
    return pull_http_api(warehouse, server.base_url, TOKEN, SOURCE, "interaction", start, end, datetime.now(UTC))


def test_pull_http_api_into_the_warehouse(fresh_database, server, store, world):
    first = _pull(fresh_database, server, FIRST_DELIVERED - timedelta(days=1))  # no watermark yet: everything
    before_first_end = [r for r in store.latest() if _ms(r["updated_at"]) < _cutoff(FIRST_DELIVERED - timedelta(1))]
    assert first.balanced and first.received == first.loaded == len(before_first_end) and first.quarantined == 0
    second = _pull(fresh_database, server, FIRST_DELIVERED)
    assert second.balanced and second.loaded > 0
    # The company's next day arrives; the night after pulls it (interactions updated again are new versions).
    next_day = FIRST_DELIVERED + timedelta(days=1)
    cc.deliver(world, store, next_day, _cutoff(next_day))
    third = _pull(fresh_database, server, next_day)
    assert third.balanced and third.loaded > 0
    with psycopg.connect(fresh_database) as conn:
        latest = conn.execute(
            """select distinct on (interaction_id) interaction_id, updated_at, disposition, csat,
                      customer ->> 'phone', case_id
               from raw.contact_center__interaction order by interaction_id, updated_at desc"""
        ).fetchall()
        versions = conn.execute("select count(*) from raw.contact_center__interaction").fetchone()[0]
        ledger_before = conn.execute("select * from meta.load_ledger order by batch_id").fetchall()
        watermark = conn.execute(
            "select lower_bound, upper_bound from meta.watermarks where data_interval_start = %s",
            (_night(next_day)[0],),
        ).fetchone()
    served = {r["interaction_id"]: r for r in store.latest()}
    assert {row[0] for row in latest} == set(served)
    for interaction_id, updated_at, disposition, csat, phone, case_id in latest:
        record = served[interaction_id]
        assert updated_at.timestamp() * 1000 == _ms(record["updated_at"])
        assert (disposition, csat, phone, case_id) == (
            record["disposition"], record["csat"], record["customer"]["phone"], record["case_id"]
        )  # fmt: skip
    assert versions > len(latest)  # earlier versions of interactions updated on a later night are kept
    assert watermark == (_night(next_day)[0] - timedelta(minutes=15), _night(next_day)[1])

    rerun = _pull(fresh_database, server, next_day)  # idempotent: the same window, the same rows
    assert (rerun.received, rerun.loaded, rerun.duplicates_removed) == (
        third.received, third.loaded, third.duplicates_removed
    )  # fmt: skip
    with psycopg.connect(fresh_database) as conn:
        assert conn.execute("select count(*) from raw.contact_center__interaction").fetchone()[0] == versions
        ledger_after = conn.execute("select * from meta.load_ledger order by batch_id").fetchall()
    assert [row[:10] for row in ledger_after] == [row[:10] for row in ledger_before]


def test_an_api_left_serving_another_landing_folder_is_replaced(settings, tmp_path):
    """`prepare` reuses a running sandbox API only when it serves this landing folder's store: one left by
    a run with another landing folder would hand the pipeline another company's interactions."""
    from dataclasses import replace

    from frictionflow.sandbox.contact_center import default_store_dir
    from frictionflow.sandbox.contact_center_api import PATH, STORE_HEADER, free_port
    from frictionflow.sandbox_service import ensure_sandbox_api, stop_sandbox_api

    url = f"http://127.0.0.1:{free_port()}"
    first = replace(settings, home=tmp_path / "home", landing_dir=tmp_path / "a", contact_center_url=url)
    second = replace(first, landing_dir=tmp_path / "b")
    try:
        ensure_sandbox_api(first)
        served_first = httpx.get(url + PATH).headers[STORE_HEADER]
        ensure_sandbox_api(second)
        served_second = httpx.get(url + PATH).headers[STORE_HEADER]
        ensure_sandbox_api(second)  # already right: left running as it is
        assert httpx.get(url + PATH).headers[STORE_HEADER] == served_second
    finally:
        stop_sandbox_api(second)
    assert served_first == str(default_store_dir(first.landing_dir).resolve())
    assert served_second == str(default_store_dir(second.landing_dir).resolve())
