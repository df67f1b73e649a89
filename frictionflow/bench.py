"""`make bench`: the dbt stage's cost inside the DAG against a plain `dbt build` of the same models.

Runs after `make run` (the warehouse holds a loaded night). Both figures come from this run on this
machine: the Cosmos task group's wall time for the latest successful DAG run (from Airflow's metadata)
and the median of plain `dbt build` invocations over the same warehouse. The ratio is what matters;
absolute seconds on a shared 2-core machine do not.
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from frictionflow.airflow_local import DAG_ID, airflow_environment
from frictionflow.settings import DBT_PROJECT_DIR, PROJECT_ROOT, Settings

RESULTS_FILE = PROJECT_ROOT / "docs" / "benchmarks.md"


def dag_dbt_stage_seconds(settings: Settings) -> tuple[float, float, int, str]:
    """(wall seconds of the dbt task group, summed task seconds, task count, run id) for the latest good run."""
    db = settings.airflow_home / "airflow.db"
    with sqlite3.connect(db) as conn:
        run = conn.execute(
            "select run_id from dag_run where dag_id = ? and state = 'success' order by end_date desc limit 1",
            (DAG_ID,),
        ).fetchone()
        if not run:
            raise SystemExit("no successful nightly run in Airflow's metadata: run `make run` first")
        rows = conn.execute(
            "select start_date, end_date from task_instance where dag_id = ? and run_id = ? and task_id like 'dbt.%'",
            (DAG_ID, run[0]),
        ).fetchall()
    spans = [(datetime.fromisoformat(s), datetime.fromisoformat(e)) for s, e in rows]
    wall = (max(e for _, e in spans) - min(s for s, _ in spans)).total_seconds()
    busy = sum((e - s).total_seconds() for s, e in spans)
    return wall, busy, len(spans), run[0]


def gate_share(settings: Settings) -> tuple[dict[str, float], float, float, str]:
    """Seconds of each gate task, the whole run's wall time and its summed task time, for the latest good run."""
    db = settings.airflow_home / "airflow.db"
    with sqlite3.connect(db) as conn:
        run = conn.execute(
            "select run_id from dag_run where dag_id = ? and state = 'success' order by end_date desc limit 1",
            (DAG_ID,),
        ).fetchone()
        if not run:
            raise SystemExit("no successful nightly run in Airflow's metadata: run `make run` first")
        rows = conn.execute(
            "select task_id, start_date, end_date from task_instance where dag_id = ? and run_id = ? "
            "and start_date is not null and end_date is not null",
            (DAG_ID, run[0]),
        ).fetchall()
    spans = {t: (datetime.fromisoformat(s), datetime.fromisoformat(e)) for t, s, e in rows}
    seconds = {t: (e - s).total_seconds() for t, (s, e) in spans.items()}
    gates = {t: seconds[t] for t in ("raw_gate", "published_gate") if t in seconds}
    # From the first task's start to the last task's end (`dags test` stamps the run's own start oddly).
    wall = (max(e for _, e in spans.values()) - min(s for s, _ in spans.values())).total_seconds()
    return gates, wall, sum(seconds.values()), run[0]


def plain_dbt_build_seconds(settings: Settings, repeats: int) -> list[float]:
    env = {**os.environ, **airflow_environment(settings)}
    dbt = str(Path(sys.executable).parent / "dbt")
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(
            [dbt, "build", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR), "--quiet"],
            env=env,
            check=True,
        )
        times.append(time.perf_counter() - started)
    return times


def run(settings: Settings, repeats: int = 3) -> str:
    wall, busy, tasks, run_id = dag_dbt_stage_seconds(settings)
    plain = plain_dbt_build_seconds(settings, repeats)
    median = statistics.median(plain)
    report = "\n".join(
        [
            "## dbt stage: Cosmos tasks in the DAG vs a plain `dbt build`",
            "",
            f"Measured {datetime.now():%Y-%m-%d} on this machine ({os.cpu_count()} cores), "
            "same warehouse, same models.",
            "",
            "| what | seconds | ratio to plain dbt build |",
            "|---|---|---|",
            f"| plain `dbt build` (median of {repeats}: {', '.join(f'{t:.1f}' for t in plain)}) "
            f"| {median:.1f} | 1.00 |",
            f"| dbt task group in `airflow dags test` ({tasks} tasks, wall) | {wall:.1f} | {wall / median:.2f} |",
            f"| same, summed task time | {busy:.1f} | {busy / median:.2f} |",
            "",
            f"DAG run: `{run_id}`. `dags test` runs tasks one after another; under the scheduler with",
            "LocalExecutor, independent models run in parallel (parallelism = 2 x cores).",
            "",
            *gate_report(settings),
            "",
            *identity_accuracy_report(settings),
            "",
            *friction_accuracy_report(settings),
            "",
            *stuck_risk_report(settings),
            "",
            *journey_link_report(settings),
        ]
    )
    return report


def identity_accuracy_report(settings: Settings) -> list[str]:
    """Pairwise "same customer" precision and recall of the last night's identity map against the sandbox's
    ground truth, beside the MDM-only baseline (the golden id as the customer)."""
    from frictionflow.identity_score import score

    report = score(settings.warehouse_dsn, settings.ground_truth_dir)

    def row(what: str, ours, mdm) -> str:
        return (
            f"| {what} | {ours.precision:.4f} | {ours.recall:.4f} | {mdm.precision:.4f} | {mdm.recall:.4f} "
            f"| {ours.true_pairs:,} |"
        )

    return [
        "## Identity resolution: accuracy against the sandbox's ground truth",
        "",
        'Pairwise "same customer" over the identifiers the warehouse holds after the last `make run` night '
        "(default quirk rates). Goal: precision >= 0.995, recall >= 0.97 over the linkable identifiers; a web "
        "device that never logged in is tied to its person by nothing in any source, so it is scored only in "
        "the second row.",
        "",
        "| identifiers | precision | recall | MDM-only precision | MDM-only recall | true pairs |",
        "|---|---|---|---|---|---|",
        row("linkable", report.resolved, report.mdm_only),
        row("every identifier held", report.resolved_all, report.mdm_only_all),
        "",
        f"Truth identifiers {report.truth_identifiers:,}; held by the warehouse {report.observed_identifiers:,} "
        f"({report.coverage:.1%}); linkable {report.linkable_identifiers:,}.",
    ]


def friction_accuracy_report(settings: Settings) -> list[str]:
    """Friction events found by the last night's warehouse against those the sandbox injected."""
    from frictionflow.friction_score import format_report, score

    report = score(settings.warehouse_dsn, settings.ground_truth_dir)
    injected = sum(s.injected for s in report.values())
    found = sum(s.found for s in report.values())
    matched = sum(s.matched for s in report.values())
    return [
        "## Friction events: found against injected",
        "",
        "Every friction the sandbox injected whose source record reached the warehouse by the last `make run` "
        "night, matched on that record (frictionflow/friction_score.py). Goal: recall and precision >= 0.98. "
        "`not received`: injected, but its record lies outside what the night loaded (the web, ERP and "
        "logistics deliveries of earlier days), so no rule could find it.",
        "",
        format_report(report),
        f"| all types | {injected:,} | {found:,} | {matched:,} | {matched / injected:.3f} | {matched / found:.3f} | |",
    ]


def stuck_risk_report(settings: Settings) -> list[str]:
    """The last night's stuck-risk backtest (audit.fct_stuck_risk_backtest) beside its baseline."""
    import psycopg

    with psycopg.connect(settings.warehouse_dsn) as conn:
        rows = conn.execute(
            "select journey_type, cutoff_at, training_journeys, test_journeys, test_stuck, auc, baseline_auc,"
            " precision_top_decile, baseline_precision_top_decile from audit.fct_stuck_risk_backtest"
            " order by journey_type"
        ).fetchall()
    lines = [
        "## Stuck risk: backtest on held-out journeys",
        "",
        "The last `make run` night's `fct_stuck_risk_backtest`: the model learns from the cases and deliveries "
        "observed before the cutoff (horizon - 7 days) whose outcome was known before it and scores those "
        "observed after it; the baseline scores every journey at its type's stuck rate. A type with nothing "
        "trained or tested had no known outcome on one side of the cutoff in that night's history (`make run` "
        "loads one night of logistics parts).",
        "",
        "| journey type | cutoff | trained on | tested on | stuck | AUC | baseline AUC | precision top decile "
        "| baseline precision top decile |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for journey_type, cutoff, trained, tested, stuck, *measures in rows:
        auc, base_auc, top, base_top = ("-" if m is None else m for m in measures)
        lines.append(
            f"| {journey_type} | {cutoff:%Y-%m-%d} | {trained:,} | {tested:,} | {stuck:,} | {auc} | {base_auc} "
            f"| {top} | {base_top} |"
        )
    return lines


def gate_report(settings: Settings) -> list[str]:
    gates, wall, busy, run_id = gate_share(settings)
    total = sum(gates.values())
    lines = [
        "## Quality gate: its share of the nightly run",
        "",
        "Both GX gates (raw suites on the night's rows, published suites on the audit marts) against the",
        f"whole DAG run `{run_id}`. Goal: under 15% of the run.",
        "",
        "| what | seconds | share of the run's wall time | share of summed task time |",
        "|---|---|---|---|",
    ]
    lines += [f"| {task} | {sec:.1f} | {sec / wall:.1%} | {sec / busy:.1%} |" for task, sec in gates.items()]
    lines += [
        f"| both gates | {total:.1f} | {total / wall:.1%} | {total / busy:.1%} |",
        f"| whole run (wall) | {wall:.1f} | 100% | |",
    ]
    return lines


def journey_link_report(settings: Settings) -> list[str]:
    """The journeys the last night's cases follow (fct_journeys.parent_journey_id) against the ground truth."""
    from frictionflow.journey_link_score import format_report, score

    return [
        "## Follow-up journeys: the journey a case follows, against the ground truth",
        "",
        "Each case the last `make run` night holds, scored on the type of the journey it follows "
        "(frictionflow/journey_link_score.py): a delivery case its shipment, a product or returns case the "
        "purchase, a billing or account case about no order the journey its customer just gave up.",
        "",
        format_report(score(settings.warehouse_dsn, settings.ground_truth_dir)),
    ]
