"""The warehouse bootstrap prepares everything parallel tasks would otherwise race to create."""

from __future__ import annotations

import psycopg
import yaml

from frictionflow.settings import DBT_PROJECT_DIR
from frictionflow.warehouse.bootstrap import DBT_SCHEMAS


def _configured_schemas(node) -> set[str]:
    if isinstance(node, dict):
        found = {node["+schema"]} if "+schema" in node else set()
        return found.union(*(_configured_schemas(v) for v in node.values()))
    return set()


def test_every_dbt_schema_is_created_before_dbt_runs(fresh_database):
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    configured = _configured_schemas(project) | {"analytics"}  # analytics: the profile's default schema
    assert configured <= set(DBT_SCHEMAS), f"add {configured - set(DBT_SCHEMAS)} to DBT_SCHEMAS"
    with psycopg.connect(fresh_database) as conn:
        present = {r[0] for r in conn.execute("select nspname from pg_namespace").fetchall()}
    assert set(DBT_SCHEMAS) | {"raw", "meta", "restricted"} <= present
