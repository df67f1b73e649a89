"""`make airflow` for real: standalone Airflow (API server + UI, scheduler, DAG processor, triggerer),
a nightly run triggered through the REST API as the UI does, every task (dbt models included) succeeding."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from urllib.parse import quote

import httpx
import pytest

from frictionflow.airflow_local import DAG_ID

pytestmark = pytest.mark.slow

NIGHT = date(2026, 11, 12)
DEADLINE_S = 600


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def services(settings, tmp_path_factory):
    """A separate warehouse database, landing folder and Airflow home on the session's server."""
    from frictionflow.cli import prepare
    from frictionflow.sandbox import Sandbox, SandboxConfig
    from frictionflow.sandbox_service import stop_sandbox_api
    from frictionflow.settings import load_settings
    from frictionflow.warehouse.bootstrap import drop_database

    root = tmp_path_factory.mktemp("airflow_services")
    port = _free_port()
    overrides = {
        "FRICTIONFLOW_AIRFLOW_HOME": str(root / "airflow"),
        "FRICTIONFLOW_LANDING_DIR": str(root / "landing"),
        "FRICTIONFLOW_GROUND_TRUTH_DIR": str(root / "ground_truth"),
        "FRICTIONFLOW_AIRFLOW_PORT": str(port),
        # Unpausing must not make the scheduler run nights of its own: only the triggered run runs.
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
    }
    if settings.embedded:
        overrides["FRICTIONFLOW_WAREHOUSE_DB"] = "ff_services"
    else:
        overrides["WAREHOUSE_DSN"] = settings.database_dsn(settings.warehouse_db + "_services")
    saved = {k: os.environ.get(k) for k in overrides}
    os.environ.update(overrides)
    ui_settings = load_settings()
    env = prepare(ui_settings)
    Sandbox(
        SandboxConfig(seed=11, customers=200, start_date=NIGHT - timedelta(days=6), end_date=NIGHT),
        crm_admin_dsn=ui_settings.crm_admin_dsn,
        landing_dir=ui_settings.landing_dir,
        ground_truth_dir=ui_settings.ground_truth_dir,
    ).deliver_through(NIGHT)
    log = open(root / "standalone.log", "w")
    proc = subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "airflow"), "standalone"],
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its children do not all exit on SIGTERM of the parent: stop the group
    )
    try:
        yield {"base": f"http://127.0.0.1:{port}", "env": env, "log": root / "standalone.log"}
    finally:
        _stop_group(proc)
        log.close()
        stop_sandbox_api(ui_settings)  # it serves this module's landing folder, not the next module's
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
        for db in (ui_settings.warehouse_db, ui_settings.warehouse_db + "_crm"):
            drop_database(settings.maintenance_dsn, db)


def _stop_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass


def _wait(condition, what: str, log_path, timeout: float = 180):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = condition()
            if last:
                return last
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(2)
    raise AssertionError(f"timed out waiting for {what} (last: {last})\n{log_path.read_text()[-4000:]}")


def test_trigger_from_the_api_and_every_task_succeeds(services):
    base, env, log_path = services["base"], services["env"], services["log"]
    client = httpx.Client(base_url=base, timeout=30)
    _wait(lambda: client.get("/api/v2/monitor/health").status_code == 200, "the API server", log_path)
    passwords = json.loads(open(env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]).read())
    token = client.post("/auth/token", json={"username": "admin", "password": passwords["admin"]}).json()
    client.headers["Authorization"] = f"Bearer {token['access_token']}"
    _wait(lambda: client.get(f"/api/v2/dags/{DAG_ID}").status_code == 200, "the DAG to be parsed", log_path)
    assert client.patch(f"/api/v2/dags/{DAG_ID}", json={"is_paused": False}).status_code == 200

    start = datetime(NIGHT.year, NIGHT.month, NIGHT.day, tzinfo=UTC)  # London is on UTC in November
    response = client.post(
        f"/api/v2/dags/{DAG_ID}/dagRuns",
        json={
            "logical_date": (start + timedelta(days=1)).isoformat(),
            "data_interval_start": start.isoformat(),
            "data_interval_end": (start + timedelta(days=1)).isoformat(),
            "note": "triggered by the services test, as from the UI",
        },
    )
    assert response.status_code == 200, response.text
    run_id = quote(response.json()["dag_run_id"], safe="")  # run ids carry '+' and ':'

    def finished():
        state = client.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}").json()["state"]
        return state if state in ("success", "failed") else None

    state = _wait(finished, "the DAG run", log_path, timeout=DEADLINE_S)
    instances, total = [], None
    while total is None or len(instances) < total:  # the API pages by 100 at most; the DAG has more tasks
        page = client.get(
            f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances",
            params={"limit": 100, "offset": len(instances), "order_by": "id"},  # a stable order across pages
        ).json()
        total = page["total_entries"]
        if not page.get("task_instances"):
            break
        instances += page["task_instances"]
    states = {ti["task_id"]: ti["state"] for ti in instances}
    assert state == "success", {t: s for t, s in states.items() if s != "success"}
    assert states and all(s == "success" for s in states.values()), instances
    assert total == len(states) == len(instances)
    assert any(t.startswith("dbt.") for t in states), "dbt models are tasks of their own"
    assert {"raw_gate", "published_gate", "publish"} <= set(states)

    # The gate's Data Docs are in the UI, and only for logged-in users.
    docs = client.get("/frictionflow/data-docs/index.html")
    assert docs.status_code == 200 and "<html" in docs.text.lower()
    anonymous = httpx.get(f"{base}/frictionflow/data-docs/index.html", timeout=30)
    assert anonymous.status_code in (401, 403)
    escape = client.get("/frictionflow/data-docs/..%2F..%2F..%2Fpseudonymisation.key")
    assert escape.status_code == 404
