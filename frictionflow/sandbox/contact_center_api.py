"""The sandbox contact centre's REST API, as contracts/contact_center.yml describes it.

    FRICTIONFLOW_CCE_TOKEN=... python -m frictionflow.sandbox.contact_center_api \\
        --host 127.0.0.1 --port 54380 --token-env FRICTIONFLOW_CCE_TOKEN --store .local/contact_center_api

`GET /v1/interactions?updated_since=&updated_until=&limit=1..500&cursor=` returns
`{"data": [...], "next_cursor": "..." | null}`: the latest version of each interaction whose `updated_at`
lies in [updated_since, updated_until) (both optional, ISO-8601 with an offset), ordered by
(updated_at, interaction_id). Bearer token (401 without it), 10 requests a second per token (429 with
Retry-After), opaque cursors valid 15 minutes (400 `cursor_expired` after), 400 with a JSON body for bad
parameters. Like the real system it sometimes answers 500/502/503 (a retry succeeds), throttles early
(429) and returns an empty page with a non-null next_cursor. Those faults are decided from a seed, the
page asked for and how often it was asked, so a test run is repeatable; their rates come from the
sandbox config (`cce_server_error`, `cce_rate_limit`, `cce_empty_page`, stored with the data) or flags.

`start_api_server` runs it as a background process and waits until it answers (tests, `python -m
frictionflow run`, Airflow standalone); `stop_api_server` stops one started with a pid file.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import logging
import math
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from .contact_center import API_SETTINGS, LATEST_CONDITION, STORE_FILE

TOKEN_ENV = "FRICTIONFLOW_CCE_TOKEN"
PATH = "/v1/interactions"
STORE_HEADER = "X-Sandbox-Store"
MAX_LIMIT = 500
DEFAULT_LIMIT = 100
CURSOR_TTL_SECONDS = 15 * 60
REQUESTS_PER_SECOND = 10
MAX_CONSECUTIVE_FAULTS = 3  # transient means transient: the fourth try of a page always gets through
SERVER_ERRORS = (500, 502, 503)

log = logging.getLogger("frictionflow.contact_center_api")


class ApiServerError(RuntimeError):
    """The API process could not be started (port taken, missing token, crashed at start-up)."""


# ---------------------------------------------------------------------------- the application
@dataclass
class ApiOptions:
    store_dir: Path
    token: str
    cursor_ttl_seconds: float = CURSOR_TTL_SECONDS
    requests_per_second: float = REQUESTS_PER_SECOND
    # None: use the rates (and the seed) the sandbox delivery stored beside the data.
    fault_rates: dict[str, float] = field(default_factory=dict)
    fault_seed: int | None = None


class _BadRequest(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status, headers=headers)


def _parse_time(name: str, text: str | None) -> int | None:
    """ISO-8601 with an offset -> epoch milliseconds, rounded up (so [since, until) keeps its meaning)."""
    if text is None or text == "":
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise _BadRequest("bad_request", f"{name}={text!r} is not an ISO-8601 timestamp") from None
    if moment.tzinfo is None:
        raise _BadRequest("bad_request", f"{name}={text!r} has no UTC offset; use e.g. 2026-11-21T00:00:00Z")
    micros = (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    return -(-micros // 1000)


def _iso(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Cursors:
    """Opaque, signed, expiring cursors: the query window, the last row served, when it was issued."""

    def __init__(self, secret: bytes, ttl_seconds: float) -> None:
        self.secret, self.ttl = secret, ttl_seconds

    def issue(self, lo: int | None, hi: int | None, after: tuple[int, str] | None, empty_served: bool) -> str:
        body = {"lo": lo, "hi": hi, "after": list(after) if after else None, "e": int(empty_served)}
        body["iat"] = round(time.time(), 3)
        raw = json.dumps(body, separators=(",", ":")).encode()
        sig = hmac.new(self.secret, raw, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(raw + sig).decode().rstrip("=")

    def read(self, text: str) -> dict:
        try:
            blob = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            raw, sig = blob[:-16], blob[-16:]
            valid = hmac.compare_digest(sig, hmac.new(self.secret, raw, hashlib.sha256).digest()[:16])
            body = json.loads(raw) if valid else None
        except (ValueError, json.JSONDecodeError):
            body = None
        if not isinstance(body, dict):
            raise _BadRequest("invalid_cursor", "cursor is not one this API issued; start again without a cursor")
        age = time.time() - float(body["iat"])
        if age > self.ttl:
            raise _BadRequest(
                "cursor_expired",
                f"cursor expired: issued {age:.0f} s ago, cursors are valid for {self.ttl:.0f} s; start again "
                f"from updated_since = the updated_at of the last record you received",
            )
        return body


class _TokenBucket:
    """REQUESTS_PER_SECOND per token, with bursts up to the same number."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.buckets: dict[str, tuple[float, float]] = {}  # token digest -> (tokens, last refill)

    def take(self, who: str) -> float:
        """0 when the request may go ahead, else the seconds until it may."""
        now = time.monotonic()
        tokens, last = self.buckets.get(who, (self.rate, now))
        tokens = min(self.rate, tokens + (now - last) * self.rate)
        if tokens < 1.0:
            self.buckets[who] = (tokens, now)
            return (1.0 - tokens) / self.rate
        self.buckets[who] = (tokens - 1.0, now)
        return 0.0


class _Faults:
    """The real system's misbehaviour, deterministic per (seed, page asked for, how often it was asked)."""

    def __init__(self, options: ApiOptions, settings) -> None:
        self.options = options
        self.settings = settings
        self.attempts: dict[str, int] = {}
        self.faults: dict[str, int] = {}

    def rate(self, name: str) -> float:
        if name in self.options.fault_rates:
            return float(self.options.fault_rates[name])
        return float(self.settings().get(name, 0.0))

    def seed(self) -> int:
        if self.options.fault_seed is not None:
            return self.options.fault_seed
        return int(self.settings().get("fault_seed", 0))

    def draw(self, kind: str, key: str, attempt: int) -> float:
        digest = hashlib.sha256(f"{self.seed()}|{kind}|{key}|{attempt}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    def next_attempt(self, key: str) -> int:
        if len(self.attempts) > 100_000:  # a long-running server forgets old pages
            self.attempts.clear()
            self.faults.clear()
        attempt = self.attempts.get(key, 0)
        self.attempts[key] = attempt + 1
        return attempt

    def fault(self, key: str, attempt: int) -> tuple[int, str] | None:
        """(status, kind) of an injected failure for this attempt, or None."""
        if self.faults.get(key, 0) >= MAX_CONSECUTIVE_FAULTS:
            return None
        if self.draw("rate_limit", key, attempt) < self.rate("cce_rate_limit"):
            self.faults[key] = self.faults.get(key, 0) + 1
            return 429, "cce_rate_limit"
        u = self.draw("server_error", key, attempt)
        if u < self.rate("cce_server_error"):
            self.faults[key] = self.faults.get(key, 0) + 1
            return SERVER_ERRORS[int(self.draw("status", key, attempt) * len(SERVER_ERRORS))], "cce_server_error"
        self.faults.pop(key, None)
        return None

    def empty_page(self, key: str) -> bool:
        return self.draw("empty_page", key, 0) < self.rate("cce_empty_page")


class _Store:
    """Read access to the contact centre's SQLite store (written by the sandbox delivery)."""

    def __init__(self, directory: Path) -> None:
        self.path = Path(directory) / STORE_FILE
        self.conn: sqlite3.Connection | None = None
        self._settings: tuple[float, dict] = (0.0, {})

    def connection(self) -> sqlite3.Connection | None:
        if self.conn is None and self.path.exists():
            self.conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            self.conn.execute("pragma query_only = on")
        return self.conn

    def settings(self) -> dict:
        checked, values = self._settings
        if time.monotonic() - checked > 2.0:
            conn = self.connection()
            try:
                rows = conn.execute("select name, value from api_settings").fetchall() if conn else []
            except sqlite3.OperationalError:  # created but not filled yet
                rows = []
            values = {name: float(value) for name, value in rows if name in (*API_SETTINGS, "fault_seed")}
            self._settings = (time.monotonic(), values)
        return values

    def page(self, lo: int | None, hi: int | None, after: tuple[int, str] | None, limit: int) -> list[tuple]:
        conn = self.connection()
        if conn is None:
            return []
        where = [LATEST_CONDITION]
        args: list = []
        if lo is not None:
            where.append("v.updated_ms >= ?")
            args.append(lo)
        if hi is not None:
            where.append("v.updated_ms < ?")
            args.append(hi)
        if after is not None:
            where.append("(v.updated_ms, v.interaction_id) > (?, ?)")
            args += [after[0], after[1]]
        query = (
            "select v.updated_ms, v.interaction_id, v.payload from interaction_version v where "
            + " and ".join(where)
            + " order by v.updated_ms, v.interaction_id limit ?"
        )
        try:
            return conn.execute(query, [*args, limit]).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return []
            raise


def create_app(options: ApiOptions) -> FastAPI:
    """The FastAPI application (one process serves one store)."""
    if not options.token:
        raise ApiServerError("the API needs a non-empty bearer token")
    app = FastAPI(title="Contact centre (sandbox)", docs_url=None, redoc_url=None, openapi_url=None)
    store = _Store(options.store_dir)
    secret = hashlib.sha256(b"frictionflow-cce-cursor|" + options.token.encode()).digest()
    cursors = _Cursors(secret, options.cursor_ttl_seconds)
    bucket = _TokenBucket(options.requests_per_second)
    faults = _Faults(options, store.settings)
    expected = f"Bearer {options.token}".encode()

    served = str(Path(options.store_dir).resolve())

    @app.middleware("http")
    async def name_the_store(request: Request, call_next):
        # Which sandbox this process serves: the pipeline restarts an API left serving another one.
        response = await call_next(request)
        response.headers[STORE_HEADER] = served
        return response

    @app.exception_handler(404)
    async def not_found(_request, _exc):
        return JSONResponse({"error": "not_found", "message": f"no such endpoint; use GET {PATH}"}, status_code=404)

    @app.get(PATH)
    async def interactions(request: Request):  # parameters read by hand: errors are 400s with our JSON body
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            what = "missing" if not given else "wrong"
            return _error(401, "unauthorized", f"{what} bearer token", {"WWW-Authenticate": "Bearer"})
        query = request.query_params
        try:
            limit_text = query.get("limit", str(DEFAULT_LIMIT))
            if not limit_text.strip().isdigit() or not 1 <= int(limit_text) <= MAX_LIMIT:
                raise _BadRequest("bad_request", f"limit={limit_text!r}: must be an integer from 1 to {MAX_LIMIT}")
            limit = int(limit_text)
            lo = _parse_time("updated_since", query.get("updated_since"))
            hi = _parse_time("updated_until", query.get("updated_until"))
            if lo is not None and hi is not None and lo > hi:
                raise _BadRequest("bad_request", "updated_since is after updated_until")
            after, empty_served = None, False
            if query.get("cursor"):
                body = cursors.read(query["cursor"])
                for name, value, own in (("updated_since", lo, body["lo"]), ("updated_until", hi, body["hi"])):
                    if value is not None and value != own:
                        raise _BadRequest("bad_request", f"{name} differs from the query the cursor belongs to")
                lo, hi = body["lo"], body["hi"]
                after = (int(body["after"][0]), str(body["after"][1])) if body["after"] else None
                empty_served = bool(body["e"])
        except _BadRequest as exc:
            return _error(400, exc.code, exc.message)

        who = hashlib.sha256(given).hexdigest()
        wait = bucket.take(who)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            return _error(
                429, "rate_limited", f"more than {options.requests_per_second:g} requests a second; retry later",
                {"Retry-After": str(seconds)},
            )  # fmt: skip
        key = f"{lo}|{hi}|{after}|{int(empty_served)}"
        attempt = faults.next_attempt(key)
        injected = faults.fault(key, attempt)
        if injected is not None:
            status, kind = injected
            log.info("fault %s: %s for page after %s (attempt %d)", kind, status, after, attempt + 1)
            if status == 429:
                return _error(429, "rate_limited", "too many requests; retry later", {"Retry-After": "1"})
            return _error(status, "server_error", "temporary failure; retry with backoff")
        if not empty_served and faults.empty_page(key):
            log.info("fault cce_empty_page: empty page after %s", after)
            text = json.dumps({"data": [], "next_cursor": cursors.issue(lo, hi, after, empty_served=True)})
            return Response(text, media_type="application/json")
        rows = store.page(lo, hi, after, limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = None
        if more:
            next_cursor = cursors.issue(lo, hi, (rows[-1][0], rows[-1][1]), empty_served=False)
        body_text = '{"data":[' + ",".join(r[2] for r in rows) + '],"next_cursor":' + json.dumps(next_cursor) + "}"
        return Response(body_text, media_type="application/json")

    return app


# ---------------------------------------------------------------------------- running it
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m frictionflow.sandbox.contact_center_api", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token-env", default=TOKEN_ENV, help="environment variable holding the bearer token")
    parser.add_argument("--store", type=Path, required=True, help="the directory the sandbox delivers into")
    parser.add_argument("--cursor-ttl-seconds", type=float, default=CURSOR_TTL_SECONDS)
    parser.add_argument("--requests-per-second", type=float, default=REQUESTS_PER_SECOND)
    for name in API_SETTINGS:
        parser.add_argument(f"--{name.replace('_', '-')}", type=float, default=None, help="override the stored rate")
    parser.add_argument("--fault-seed", type=int, default=None, help="override the stored seed of the faults")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    token = os.environ.get(args.token_env, "").strip()
    if not token:
        print(
            f"contact-centre API: environment variable {args.token_env} (the bearer token) is not set", file=sys.stderr
        )
        return 2
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    rates = {name: getattr(args, name) for name in API_SETTINGS if getattr(args, name) is not None}
    options = ApiOptions(args.store, token, args.cursor_ttl_seconds, args.requests_per_second, rates, args.fault_seed)
    import uvicorn

    log.info("serving %s from %s on http://%s:%d", PATH, args.store, args.host, args.port)
    uvicorn.run(create_app(options), host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0


@dataclass
class ApiServer:
    """A running API process (stop() or use as a context manager)."""

    process: subprocess.Popen
    base_url: str
    log_file: Path | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)

    def __enter__(self) -> ApiServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def start_api_server(
    store_dir: Path,
    token: str | None = None,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    token_env: str = TOKEN_ENV,
    log_file: Path | None = None,
    pid_file: Path | None = None,
    cursor_ttl_seconds: float | None = None,
    fault_rates: dict[str, float] | None = None,
    fault_seed: int | None = None,
    startup_timeout: float = 30.0,
) -> ApiServer:
    """Start the API in the background and return once it answers HTTP. Fails clearly when the port is taken.

    token: put into the child's environment as `token_env` (None: the child inherits it from ours).
    port: None picks a free one. log_file: the process's output (default: discarded).
    """
    import httpx

    port = free_port(host) if port is None else port
    if not _port_is_free(host, port):
        raise ApiServerError(f"cannot start the contact-centre API on {host}:{port}: the port is already in use")
    env = dict(os.environ)
    if token is not None:
        env[token_env] = token
    if not env.get(token_env, "").strip():
        raise ApiServerError(f"cannot start the contact-centre API: environment variable {token_env} is not set")
    command = [sys.executable, "-m", "frictionflow.sandbox.contact_center_api", "--host", host, "--port", str(port)]
    command += ["--token-env", token_env, "--store", str(store_dir)]
    if cursor_ttl_seconds is not None:
        command += ["--cursor-ttl-seconds", str(cursor_ttl_seconds)]
    for name, rate in (fault_rates or {}).items():
        if name not in API_SETTINGS:
            raise ValueError(f"unknown API fault {name}; known: {API_SETTINGS}")
        command += [f"--{name.replace('_', '-')}", str(rate)]
    if fault_seed is not None:
        command += ["--fault-seed", str(fault_seed)]
    output = open(log_file, "ab") if log_file else subprocess.DEVNULL  # noqa: SIM115 (the child keeps it)
    try:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    finally:
        if log_file:
            output.close()
    server = ApiServer(process, f"http://{host}:{port}", Path(log_file) if log_file else None)
    deadline = time.monotonic() + startup_timeout
    while True:
        if process.poll() is not None:
            tail = Path(log_file).read_text(errors="replace")[-2000:] if log_file else "(no log file)"
            raise ApiServerError(f"the contact-centre API exited with code {process.returncode} at start-up:\n{tail}")
        try:
            # An unauthenticated request: it answers 401 once up, and touches neither rate limits nor faults.
            httpx.get(server.base_url + PATH, timeout=1.0)
            break
        except httpx.TransportError:
            if time.monotonic() > deadline:
                server.stop()
                raise ApiServerError(
                    f"the contact-centre API did not answer on {server.base_url} within {startup_timeout} s"
                ) from None
            time.sleep(0.1)
    if pid_file is not None:
        Path(pid_file).parent.mkdir(parents=True, exist_ok=True)
        Path(pid_file).write_text(f"{process.pid}\n")
    return server


def stop_api_server(pid_file: Path, timeout: float = 10.0) -> bool:
    """Stop the API started with this pid file; False when it was not running. Only ever signals our own process."""
    path = Path(pid_file)
    if not path.exists():
        return False
    pid = int(path.read_text().strip())
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:
        running = b"contact_center_api" in cmdline.read_bytes() if cmdline.exists() else _alive(pid)
    except OSError:
        running = False
    if running:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    path.unlink(missing_ok=True)
    return running


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a child that exited but was not reaped yet
        waited, _ = os.waitpid(pid, os.WNOHANG)
        return waited == 0
    except ChildProcessError:
        return Path(f"/proc/{pid}").exists()


if __name__ == "__main__":
    raise SystemExit(main())
