"""The dbt stage of the nightly DAG: one Airflow task per dbt model, through astronomer-cosmos.

The project is rendered from the manifest `make` compiles (`dbt parse`), so DAG parsing never runs
dbt. Each task runs `dbt build` on its node (model and its tests), in-process (dbtRunner). The profile
comes from the `warehouse` Airflow connection; no dbt packages are installed at run time (none are
needed and the dbt hub is not reachable from every deployment).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior
from cosmos.profiles import PostgresUserPasswordProfileMapping

from frictionflow.airflow_local import WAREHOUSE_CONN_ID
from frictionflow.settings import DBT_MANIFEST as MANIFEST
from frictionflow.settings import DBT_PROJECT_DIR


def _dbt_executable() -> str:
    beside_python = Path(sys.executable).parent / "dbt"
    return str(beside_python) if beside_python.exists() else (shutil.which("dbt") or "dbt")


def dbt_task_group(group_id: str = "dbt") -> DbtTaskGroup:
    return DbtTaskGroup(
        group_id=group_id,
        project_config=ProjectConfig(
            dbt_project_path=DBT_PROJECT_DIR,
            manifest_path=MANIFEST,
            install_dbt_deps=False,
        ),
        profile_config=ProfileConfig(
            profile_name="frictionflow",
            target_name="nightly",
            profile_mapping=PostgresUserPasswordProfileMapping(
                conn_id=WAREHOUSE_CONN_ID, profile_args={"schema": "analytics", "threads": 2}
            ),
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            test_behavior=TestBehavior.BUILD,
            emit_datasets=False,
            # A test with several parents (relationships, singular tests) becomes its own task after all
            # of them; attached to one parent it would run before the others exist.
            should_detach_multiple_parents_tests=True,
        ),
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.LOCAL,
            invocation_mode=InvocationMode.DBT_RUNNER,
            dbt_executable_path=_dbt_executable(),
        ),
        # The DAG's `full_refresh` parameter (a trigger option in the UI) reaches every dbt build.
        operator_args={"install_deps": False, "retries": 0, "full_refresh": "{{ params.full_refresh }}"},
        default_args={"retries": 0},
    )
