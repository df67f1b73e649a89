"""DAG integrity: imports cleanly, Airflow 3 conventions, no cycles, fast to parse, no I/O at parse time."""

from __future__ import annotations

import os
import subprocess
import sys
import time

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
