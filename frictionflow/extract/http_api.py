"""REST API sources (the contact centre), pulled incrementally by `updated_at`, streamed page by page.

The API (contracts/contact_center.yml) pages with an opaque cursor valid 15 minutes, allows 10 requests a
second per token (429 with Retry-After above it), fails transiently (500/502/503) and sometimes returns an
empty page with a non-null cursor. The client keeps under the rate limit itself, honours Retry-After,
retries server and connection errors with exponential backoff and jitter (bounded, then a clear error
naming the URL, the page and the status), follows cursors until `next_cursor` is null, and, when a cursor
expires, starts again from the last (updated_at, interaction_id) it yielded. Records are never held
beyond the current page.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
import psycopg
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from frictionflow.load import Delivered, LedgerEntry
from frictionflow.sources import SourceConfig

INTERACTIONS_PATH = "/v1/interactions"
REQUESTS_PER_SECOND = 10.0
RETRYABLE_STATUS = (429, 500, 502, 503, 504)

log = logging.getLogger(__name__)


class HttpApiError(RuntimeError):
    """The API refused the request, or kept failing after every retry: the message says where and how."""


@dataclass
class FetchStats:
    """What a pull went through (for logs and tests)."""

    requests: int = 0
    pages: int = 0
    records: int = 0
    empty_pages: int = 0
    rate_limited: int = 0  # 429s answered (each one waited for its Retry-After)
    server_errors: int = 0  # 5xx answered
    connection_errors: int = 0
    cursor_restarts: int = 0  # cursors that expired: restarted from the last record yielded
    skipped_after_restart: int = 0  # records already yielded, served again after a restart


class _Transient(Exception):
    def __init__(self, status: int, retry_after: float | None, text: str) -> None:
        super().__init__(f"HTTP {status}")
        self.status, self.retry_after, self.text = status, retry_after, text


class _CursorExpired(Exception):
    pass


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
        except (TypeError, ValueError):
            return None


class _RateLimiter:
    """At most `per_second` requests a second: requests are spaced 1/per_second apart."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second
        self.next_at = 0.0

    def wait(self) -> None:
        now = time.monotonic()
        if now < self.next_at:
            time.sleep(self.next_at - now)
            now = self.next_at
        self.next_at = now + self.interval


def _timestamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError(f"{moment!r} has no time zone")
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _order_key(record: dict, time_field: str, id_field: str) -> tuple[datetime, str] | None:
    try:
        moment = datetime.fromisoformat(str(record[time_field]).replace("Z", "+00:00"))
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC), str(record[id_field]))
    except (KeyError, TypeError, ValueError):
        return None  # a broken record: the loader quarantines it; it cannot serve as a resume point


class _Pager:
    def __init__(self, base_url: str, path: str, token: str, client: httpx.Client, stats: FetchStats, **retry) -> None:
        self.url = base_url.rstrip("/") + path
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self.client, self.stats = client, stats
        self.limiter = _RateLimiter(retry["requests_per_second"])
        self.max_attempts = retry["max_attempts"]
        self.backoff = wait_exponential_jitter(
            initial=retry["backoff_initial"], max=retry["backoff_max"], jitter=retry["backoff_initial"]
        )

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _Transient) and error.status == 429 and error.retry_after is not None:
            return error.retry_after
        return self.backoff(state)

    def _count(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _Transient):
            if error.status == 429:
                self.stats.rate_limited += 1
            else:
                self.stats.server_errors += 1
        else:
            self.stats.connection_errors += 1
        log.info("GET %s: %s; retry %d of %d", self.url, error, state.attempt_number, self.max_attempts - 1)

    def _once(self, params: dict, page: int) -> dict:
        self.limiter.wait()
        self.stats.requests += 1
        response = self.client.get(self.url, params=params, headers=self.headers)
        if response.status_code in RETRYABLE_STATUS:
            raise _Transient(response.status_code, _retry_after(response.headers.get("Retry-After")), response.text)
        if response.status_code != 200:
            try:
                body = response.json()
            except ValueError:
                body = {"message": response.text[:300]}
            if response.status_code == 400 and body.get("error") == "cursor_expired":
                raise _CursorExpired(body.get("message", "cursor expired"))
            raise HttpApiError(
                f"GET {self.describe(params)} (page {page}): HTTP {response.status_code}: {body.get('message') or body}"
            )
        try:
            body = response.json()
        except ValueError as exc:
            raise HttpApiError(f"GET {self.describe(params)} (page {page}): the body is not JSON: {exc}") from None
        if not isinstance(body, dict) or not isinstance(body.get("data"), list) or "next_cursor" not in body:
            raise HttpApiError(f"GET {self.describe(params)} (page {page}): expected {{data: [...], next_cursor}}")
        return body

    def get(self, params: dict, page: int) -> dict:
        retrying = Retrying(
            retry=retry_if_exception_type((_Transient, httpx.TransportError)),
            wait=self._wait,
            stop=stop_after_attempt(self.max_attempts),
            before_sleep=self._count,
            reraise=True,
        )
        try:
            return retrying(self._once, params, page)
        except _Transient as exc:
            raise HttpApiError(
                f"GET {self.describe(params)} (page {page}): still HTTP {exc.status} after {self.max_attempts} "
                f"attempts: {exc.text[:300]}"
            ) from None
        except httpx.TransportError as exc:
            raise HttpApiError(
                f"GET {self.describe(params)} (page {page}): {type(exc).__name__} after {self.max_attempts} "
                f"attempts: {exc}"
            ) from None

    def describe(self, params: dict) -> str:
        shown = {k: (v[:12] + "..." if k == "cursor" else v) for k, v in params.items()}
        return str(httpx.URL(self.url, params=shown))


def fetch_records(
    base_url: str,
    token: str,
    path: str,
    updated_since: datetime | None,
    updated_until: datetime | None,
    limit: int = 500,
    *,
    time_field: str = "updated_at",
    id_field: str = "interaction_id",
    max_attempts: int = 8,
    backoff_initial: float = 0.5,
    backoff_max: float = 30.0,
    requests_per_second: float = REQUESTS_PER_SECOND,
    timeout: float = 30.0,
    max_cursor_restarts: int = 20,
    client: httpx.Client | None = None,
    stats: FetchStats | None = None,
) -> Iterator[Delivered]:
    """Every record with updated_since <= updated_at < updated_until (None: unbounded), in API order.

    Each record is yielded as `Delivered(location="page N cursor <digest>", record_number=<n on the page>)`.
    """
    stats = stats if stats is not None else FetchStats()
    own_client = client is None
    client = client or httpx.Client(timeout=timeout)
    pager = _Pager(
        base_url, path, token, client, stats, requests_per_second=requests_per_second, max_attempts=max_attempts,
        backoff_initial=backoff_initial, backoff_max=backoff_max,
    )  # fmt: skip
    window = {"limit": str(limit)}
    if updated_until is not None:
        window["updated_until"] = _timestamp(updated_until)
    since = updated_since
    cursor: str | None = None
    last: tuple[datetime, str] | None = None  # the last record yielded: where a restart resumes
    resume_after: tuple[datetime, str] | None = None
    page = 0
    restarts_in_a_row = 0
    try:
        while True:
            page += 1
            params = dict(window)
            if cursor is not None:
                params["cursor"] = cursor
            elif since is not None:
                params["updated_since"] = _timestamp(since)
            try:
                body = pager.get(params, page)
            except _CursorExpired as exc:
                restarts_in_a_row += 1
                stats.cursor_restarts += 1
                if restarts_in_a_row > max_cursor_restarts:
                    raise HttpApiError(
                        f"GET {pager.describe(params)} (page {page}): cursor expired {restarts_in_a_row} times in a "
                        f"row: {exc}"
                    ) from None
                log.warning("GET %s: %s; restarting after %s", pager.url, exc, last)
                cursor = None
                if last is not None:
                    since, resume_after = last[0], last
                page -= 1
                continue
            restarts_in_a_row = 0
            stats.pages += 1
            data = body["data"]
            if not data:
                stats.empty_pages += 1
            location = f"page {page} cursor {hashlib.sha256(cursor.encode()).hexdigest()[:12] if cursor else '-'}"
            for number, record in enumerate(data, start=1):
                if not isinstance(record, dict):
                    yield Delivered(location, number, raw_text=repr(record), parse_error="not a JSON object")
                    continue
                key = _order_key(record, time_field, id_field)
                if resume_after is not None and key is not None and key <= resume_after:
                    stats.skipped_after_restart += 1  # yielded before the cursor expired
                    continue
                stats.records += 1
                yield Delivered(location, number, payload=record)
                if key is not None:
                    last = key
            cursor = body["next_cursor"]
            if cursor is None:
                return
    finally:
        if own_client:
            client.close()


def fetch_interactions(
    base_url: str,
    token: str,
    updated_since: datetime | None,
    updated_until: datetime | None,
    limit: int = 500,
    **options,
) -> Iterator[Delivered]:
    """The contact centre's interactions updated in [updated_since, updated_until); options: see fetch_records."""
    return fetch_records(base_url, token, INTERACTIONS_PATH, updated_since, updated_until, limit, **options)


def pull_http_api(
    warehouse_dsn: str,
    base_url: str,
    token: str,
    source: SourceConfig,
    entity_name: str,
    interval_start: datetime,
    interval_end: datetime,
    loaded_at: datetime,
) -> LedgerEntry:
    """Pull what changed since the previous night's upper bound (minus the lookback) up to the interval end.

    Like pull_sql_incremental: the first night pulls everything before the interval end; bounds derive from
    earlier nights only, so a re-run of a night pulls the same window. An interaction delivered again with a
    later updated_at is a new version (dedupe key: primary key + updated_at); a re-run replaces the versions
    it delivers again and keeps the history the API no longer shows. Source options: `watermark_column`
    (updated_at), `lookback_minutes` (0), `page_size` (500), `path` (/v1/interactions).
    """
    # imported here: nightly imports this module to wire it
    from frictionflow.nightly import batch_id, incremental_lower_bound, load_versions_and_advance_watermark

    entity = source.entity(entity_name)
    options = source.options
    watermark_column = options.get("watermark_column", "updated_at")
    lookback = timedelta(minutes=int(options.get("lookback_minutes", 0)))
    bid = batch_id(source, entity_name, interval_start)
    stats = FetchStats()
    with psycopg.connect(warehouse_dsn) as conn:
        lower = incremental_lower_bound(conn, source, entity_name, interval_start, lookback)
        records = fetch_records(
            base_url,
            token,
            options.get("path", INTERACTIONS_PATH),
            lower,
            interval_end,
            int(options.get("page_size", 500)),
            time_field=watermark_column,
            id_field=entity.primary_key[0],
            stats=stats,
        )
        entry = load_versions_and_advance_watermark(
            conn, source, entity_name, interval_start, interval_end, loaded_at, lower, records, watermark_column
        )
    log.info("%s: %s", bid, stats)
    return entry
