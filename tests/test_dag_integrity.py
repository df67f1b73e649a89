"""DAG integrity: imports cleanly, Airflow 3 conventions, no cycles, fast to parse, no I/O at parse time."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest

from frictionflow.settings import PROJECT_ROOT

DAG_FILES = sorted((PROJECT_ROOT / "dags").glob("*.py"))


@pytest.fixture(scope="module")
def dagbag(settings):
    from airflow.dag_processing.dagbag import DagBag

    from frictionflow.airflow_local import airflow_environment

    os.environ.update({k: v for k, v in airflow_environment(settings).items() if k.startswith("AIRFLOW_CONN_")})
    return DagBag(dag_folder=str(PROJECT_ROOT / "dags"))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}, dagbag.import_errors
    assert "frictionflow_nightly" in dagbag.dag_ids


def test_every_dag_has_tags_owner_and_retries(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        assert dag.default_args.get("retries", 0) >= 1, f"{dag_id} has no retries"
        assert dag.default_args.get("owner"), f"{dag_id} has no owner"
        assert dag.doc_md, f"{dag_id} has no documentation"


def test_no_cycles_and_gate_before_publish(dagbag):

    dag = dagbag.dags["frictionflow_nightly"]
    dag.check_cycle()  # raises AirflowDagCycleException on a cycle
    publish = dag.get_task("publish")
    upstream = {t.task_id for t in publish.get_flat_relatives(upstream=True)}
    assert "published_gate" in upstream and "raw_gate" in upstream
    # Every dbt model is a task of its own, and all of them run before the gate.
    dbt_tasks = [t for t in dag.tasks if t.task_id.startswith("dbt.")]
    assert len(dbt_tasks) >= 5, [t.task_id for t in dag.tasks]
    assert all(t.task_id in upstream for t in dbt_tasks)


def test_erasure_runs_after_every_pull_and_before_anything_reads_raw(dagbag):
    """The erasure scrubs what every pull loaded, even when one failed (all_done); the gate, the compliance
    report and every dbt model only ever read raw after it."""
    dag = dagbag.dags["frictionflow_nightly"]
    erase = dag.get_task("erase_personal_data")
    assert erase.trigger_rule == "all_done"
    upstream = {t.task_id for t in erase.get_flat_relatives(upstream=True)}
    pulls = {t.task_id for t in dag.tasks if t.task_id.startswith("extract_load.pull_")}
    assert pulls and pulls <= upstream
    downstream = {t.task_id for t in erase.get_flat_relatives(upstream=False)}
    dbt_tasks = {t.task_id for t in dag.tasks if t.task_id.startswith("dbt.")}
    assert {"raw_gate", "compliance_report", "published_gate", "publish"} | dbt_tasks <= downstream


def test_sources_use_their_pools(dagbag):
    from frictionflow.sources import source_configs

    dag = dagbag.dags["frictionflow_nightly"]
    for cfg in source_configs().values():
        for entity in cfg.entities:
            task = dag.get_task(f"extract_load.pull_{cfg.system}__{entity}")
            assert task.pool == cfg.pool
            assert task.retries == cfg.retries


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_parse_time_under_two_seconds(dag_file, settings):
    """Parse each DAG file in a fresh interpreter where Airflow itself is already imported, as in the
    DAG processor; everything the file imports beyond that (Cosmos, the package) counts."""
    code = (
        f"import airflow.sdk, time, runpy; t = time.perf_counter(); runpy.run_path({str(dag_file)!r}); "
        "print(time.perf_counter() - t)"
    )
    best = min(
        float(
            subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()[-1]
        )
        for _ in range(2)
    )
    assert best < 2.0, f"{dag_file.name} took {best:.2f} s to parse"


def test_parsing_does_no_database_io(settings, monkeypatch):
    """Parsing must not connect anywhere: break every connection and parse again."""
    import psycopg

    def refuse(*args, **kwargs):
        raise AssertionError("DAG parsing opened a database connection")

    monkeypatch.setattr(psycopg, "connect", refuse)
    from airflow.dag_processing.dagbag import DagBag

    started = time.perf_counter()
    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags"))
    assert bag.import_errors == {}
    assert time.perf_counter() - started < 10


def test_pulls_have_timeouts_and_backoff(dagbag):
    from frictionflow.sources import source_configs

    dag = dagbag.dags["frictionflow_nightly"]
    for cfg in source_configs().values():
        for entity in cfg.entities:
            task = dag.get_task(f"extract_load.pull_{cfg.system}__{entity}")
            assert task.execution_timeout == timedelta(minutes=cfg.timeout_minutes)
            assert task.retry_exponential_backoff, f"{task.task_id} retries without backoff"


def test_file_sources_wait_for_their_delivery_until_a_deadline(dagbag):
    """A deferrable sensor per file source with a completion marker, its deadline the sensor's timeout;
    every pull of the source waits for it. Logistics parts and the API have no marker: no sensor."""
    from airflow.providers.standard.sensors.filesystem import FileSensor

    from frictionflow.sources import source_configs

    dag = dagbag.dags["frictionflow_nightly"]
    waiting = {cfg.system for cfg in source_configs().values() if "wait_for_delivery" in cfg.options}
    assert waiting == {"web_analytics", "erp", "mdm", "marketing"}
    sensors = {t.task_id for t in dag.tasks if isinstance(t, FileSensor)}
    assert sensors == {f"extract_load.wait_for_{system}" for system in waiting}
    for system in waiting:
        cfg = source_configs()[system]
        wait = cfg.options["wait_for_delivery"]
        sensor = dag.get_task(f"extract_load.wait_for_{system}")
        assert sensor.deferrable, f"{system}: a waiting sensor must not hold a worker slot"
        assert sensor.timeout == wait["deadline_hours"] * 3600
        assert sensor.retries == 0
        assert sensor.fs_conn_id == cfg.connection
        before, _, after = wait["last_file"].partition("{business_date}")
        assert sensor.filepath.startswith(before) and sensor.filepath.endswith(after)
        assert "data_interval_start.in_timezone('Europe/London')" in sensor.filepath, "the London business date"
        for entity in cfg.entities:
            assert sensor.task_id in dag.get_task(f"extract_load.pull_{system}__{entity}").upstream_task_ids
    assert source_configs()["erp"].options["wait_for_delivery"]["last_file"].endswith("/_manifest.json")


def test_every_source_has_a_pool_and_an_extractor():
    from frictionflow import tasks
    from frictionflow.airflow_local import pools
    from frictionflow.sources import source_configs

    configured = pools()
    for cfg in source_configs().values():
        assert configured[cfg.pool][0] == cfg.pool_slots
        assert cfg.extractor in tasks.PULLS, f"{cfg.system}: no pull for extractor {cfg.extractor!r}"
    assert len({cfg.pool for cfg in source_configs().values()}) == len(source_configs()), "one pool per source"
    assert configured["contact_center_api"][0] == 10


def test_contact_center_connection_comes_from_the_environment(settings, monkeypatch):
    import json

    from airflow.sdk import Connection

    from frictionflow import tasks
    from frictionflow.airflow_local import airflow_environment
    from frictionflow.settings import load_settings

    monkeypatch.setenv("FRICTIONFLOW_CCE_URL", "https://cce.example.test:8443/api/")
    monkeypatch.setenv("FRICTIONFLOW_CCE_TOKEN", "token-from-env")
    conn = json.loads(airflow_environment(load_settings())["AIRFLOW_CONN_CONTACT_CENTER_API"])
    assert (conn["schema"], conn["host"], conn["port"], conn["password"]) == (
        "https", "cce.example.test", 8443, "token-from-env"
    )  # fmt: skip
    monkeypatch.setattr(
        Connection,
        "get",
        classmethod(
            lambda cls, conn_id: Connection(conn_id=conn_id, **{**conn, "extra": json.dumps(conn.get("extra", {}))})
        ),
    )
    assert tasks.http_endpoint("contact_center_api") == ("https://cce.example.test:8443/api", "token-from-env")

    # Without a token in the environment, one is generated once into the local home and kept.
    monkeypatch.delenv("FRICTIONFLOW_CCE_TOKEN")
    monkeypatch.delenv("FRICTIONFLOW_CCE_URL")
    tokens = [
        json.loads(airflow_environment(load_settings())["AIRFLOW_CONN_CONTACT_CENTER_API"])["password"] for _ in "ab"
    ]
    assert tokens[0] == tokens[1] and len(tokens[0]) >= 32
    assert (settings.home / "contact_center.token").read_text().strip() == tokens[0]


def test_full_refresh_is_a_trigger_option_that_reaches_every_dbt_build(dagbag):
    from jinja2 import Template

    dag = dagbag.dags["frictionflow_nightly"]
    assert dag.params["full_refresh"] is False
    builds = [t for t in dag.tasks if type(t).__name__ in ("DbtBuildLocalOperator", "DbtSeedLocalOperator")]
    assert len(builds) > 40, "one dbt build task per model and seed"
    for build in builds:
        assert "full_refresh" in build.template_fields, build.task_id
        configured = build.full_refresh
        for triggered_with in (False, True):
            # What Airflow renders into the templated field when the night is triggered with the option.
            build.full_refresh = Template(configured).render(params={"full_refresh": triggered_with})
            assert ("--full-refresh" in build.add_cmd_flags()) is triggered_with, build.task_id
        build.full_refresh = configured
