"""Identity resolution against the sandbox's ground truth, through the real pipeline.

A small sandbox world with the default quirk rates (unmerged MDM duplicates, merges, splits, duplicate
CRM contacts, agent-typed contact-centre identities, re-cased marketing addresses) is delivered night by
night and every source entity is pulled by the DAG's own task code. dbt builds the identity models after
the first part of the window and again after the last night (the key history's incremental path), then a
third time for the same night (idempotence). Pairwise precision and recall of "same customer" are scored by
frictionflow.identity_score against identities.csv, beside the MDM-only baseline.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import psycopg
import pytest

from frictionflow.settings import dbt_profile_env
from tests.pipeline_world import pipeline_world, pull_night

FIRST, MIDDLE, LAST = date(2026, 11, 3), date(2026, 11, 9), date(2026, 11, 12)
DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"
UPSTREAM = ["+int_identity__customer_map", "+customer_key_changes"]
IDENTITY = ["path:models/intermediate/identity", "customer_key_changes"]


def _dbt_build(dsn: str, target: Path) -> None:
    from dbt.cli.main import dbtRunner

    with dbt_profile_env(dsn):
        args = ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
        args += ["--target-path", str(target), "--log-path", str(target / "logs"), "--quiet"]
        # The identity models and what they read, then the identity models' data and unit tests.
        for command in (["run", "--select", *UPSTREAM], ["test", "--select", *IDENTITY]):
            result = dbtRunner().invoke([*command, *args])
            failures = [
                f"{r.node.unique_id}: {r.status} {r.message}"
                for r in (result.result or [])
                if str(r.status) not in ("success", "pass")
            ]
            assert result.success, f"dbt {command[0]} failed: {result.exception or failures}"


def _rows(dsn: str, query: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(query).fetchall()


HISTORY = "select * from intermediate.int_identity__customer_key_history order by identifier_version_id"


@pytest.fixture(scope="module")
def resolved(settings, tmp_path_factory):
    from frictionflow.sandbox import SandboxConfig

    config = SandboxConfig(seed=4, customers=600, start_date=FIRST, end_date=LAST)
    with pipeline_world(settings, tmp_path_factory.mktemp("identity"), "identity", config) as world:
        target = world.work / "dbt_target"
        runs = {}
        with world.connected():
            night = FIRST
            while night <= LAST:
                world.sandbox.deliver_through(night)
                pull_night(night)  # a delivery the contract lets fail (a late ERP set) loads the next night
                if night == MIDDLE:
                    _dbt_build(world.dsn, target)
                night += timedelta(days=1)
        world.api.stop()
        _dbt_build(world.dsn, target)
        runs["history"] = _rows(world.dsn, HISTORY)
        _dbt_build(world.dsn, target)  # the same night again
        runs["history_rerun"] = _rows(world.dsn, HISTORY)
        yield {"dsn": world.dsn, "truth": world.truth, **runs}


def test_precision_and_recall_against_the_ground_truth(resolved):
    from frictionflow.identity_score import missed_pairs, score

    report = score(resolved["dsn"], resolved["truth"])
    print(report.summary())  # shown with -s
    print(missed_pairs(resolved["dsn"], resolved["truth"]).head(20).to_string())
    assert report.resolved.precision >= 0.995, report.summary()
    assert report.resolved.recall >= 0.97, report.summary()
    assert report.resolved.recall >= report.mdm_only.recall, report.summary()
    assert report.resolved_all.precision >= 0.995, report.summary()
    assert report.resolved_all.recall >= report.mdm_only_all.recall, report.summary()


def test_rerunning_a_night_gives_the_same_history(resolved):
    assert resolved["history"] == resolved["history_rerun"]


def test_keys_survive_the_nights_and_changes_are_audited(resolved):
    dsn = resolved["dsn"]
    (nights,) = _rows(
        dsn, "select count(distinct valid_from_date) from intermediate.int_identity__customer_key_history"
    )[0]
    assert nights == 2  # the middle night and the last one
    # Most identifiers kept the key the middle night gave them.
    (kept, total) = _rows(
        dsn,
        """select count(*) filter (where valid_from_date < (select max(valid_from_date)
                  from intermediate.int_identity__customer_key_history)), count(*)
           from intermediate.int_identity__customer_key_history where is_current""",
    )[0]
    assert kept / total > 0.5, (kept, total)
    changes = _rows(dsn, "select change_type, count(*) from audit.customer_key_changes group by 1")
    assert all(change in ("merge", "split", "removed") for change, _ in changes)
    (interval_ok,) = _rows(
        dsn,
        """select bool_and(changes.data_interval_start = night.data_interval_start_at)
           from audit.customer_key_changes as changes
           inner join intermediate.int_identity__night as night on changes.business_date = night.business_date""",
    )[0]
    assert interval_ok in (True, None)
