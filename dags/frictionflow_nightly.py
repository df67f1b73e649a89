"""
### frictionflow nightly

One night of the customer-context and friction warehouse, for the business date of the data interval
(Europe/London):

1. **prepare**: schemas, raw tables from the contracts, pseudonymisation, BI role (idempotent);
2. **extract_load**: one task per source entity (sources.yml), each in its source's pool with its own
   retries (exponential backoff) and timeout; a file source with a completion marker (web's last hour,
   ERP's manifest, MDM's snapshot, marketing's export) waits for it with a deferrable sensor up to its
   deadline, then fails clearly; logistics parts and the contact-centre API have no marker to wait for;
3. **reconcile**: every batch's ledger must balance (received = loaded + quarantined + duplicates);
   **erase_personal_data**, once every pull has finished (even a failed one): every erasure request
   received so far is applied to the raw layer and the quarantine, idempotently (`meta.erasure_log`);
   **compliance_report** beside the gate: marketing sends that breached a withdrawn consent, counted
   into `meta.consent_breaches` (reported, not blocking);
4. **raw_gate**: Great Expectations on the night's raw rows;
5. **dbt**: one task per model (astronomer-cosmos, `dbt build` per node, from the compiled manifest); the
   large facts are incremental (only what the night's data touches); trigger with `full_refresh` to
   rebuild them from their whole history;
6. **published_gate**: Great Expectations on the audited marts; a failure stops here and the last
   good version stays published;
7. **publish**: atomic swap of the audited marts into `published`.

Re-running a night, or backfilling a range, leaves the same warehouse as running it once.
"""

from datetime import timedelta

import pendulum
from airflow.providers.standard.sensors.filesystem import FileSensor
from airflow.sdk import Param, dag, task, task_group
from airflow.timetables.interval import CronDataIntervalTimetable

from frictionflow.airflow_local import DAG_ID
from frictionflow.alerts import NightFailedAlert
from frictionflow.dbt_tasks import dbt_task_group
from frictionflow.sources import source_configs

BUSINESS_DATE = "{{ data_interval_start.in_timezone('Europe/London').strftime('%Y-%m-%d') }}"


@dag(
    dag_id=DAG_ID,
    doc_md=__doc__,
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="Europe/London"),
    start_date=pendulum.datetime(2026, 1, 1, tz="Europe/London"),
    catchup=False,
    max_active_runs=1,  # nights build on each other's watermarks: one at a time, in order
    params={
        "full_refresh": Param(
            False,
            type="boolean",
            description="Rebuild the incremental dbt models from their whole history (after a change to a "
            "journey rule, a dbt variable or a model's columns). The identity key history is never rebuilt.",
        )
    },
    tags=["frictionflow", "nightly", "warehouse"],
    default_args={
        "owner": "data-engineering",
        # Fires once a task has failed for good: webhook / email to the on-call engineer.
        "on_failure_callback": NightFailedAlert(),
        "retries": 2,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=10),
        "execution_timeout": timedelta(hours=1),
    },
)
def frictionflow_nightly():
    @task
    def prepare_warehouse():
        from frictionflow import tasks

        tasks.prepare_warehouse()

    @task_group
    def extract_load():
        for source in source_configs().values():
            wait = source.options.get("wait_for_delivery")
            sensor = None
            if wait:
                sensor = FileSensor(
                    task_id=f"wait_for_{source.system}",
                    fs_conn_id=source.connection,
                    filepath=wait["last_file"].replace("{business_date}", BUSINESS_DATE),
                    deferrable=True,
                    poke_interval=wait["poke_seconds"],
                    timeout=timedelta(hours=wait["deadline_hours"]).total_seconds(),
                    retries=0,  # the deadline is the deadline: fail clearly rather than wait again
                )
            for entity in source.entities:
                pulled = task(
                    task_id=f"pull_{source.system}__{entity}",
                    pool=source.pool,
                    retries=source.retries,
                    execution_timeout=timedelta(minutes=source.timeout_minutes),
                )(_pull)(source.system, entity)
                if sensor is not None:
                    sensor >> pulled

    @task(retries=0)
    def reconcile(data_interval_start=None):
        from frictionflow import tasks

        return tasks.reconcile(data_interval_start)

    # After every pull, failed ones included (what did load must still be erased), and before anything reads raw.
    @task(trigger_rule="all_done")
    def erase_personal_data(run_id=None, data_interval_start=None):
        from frictionflow import tasks

        return tasks.erase_personal_data(run_id, data_interval_start)

    @task(retries=0)
    def compliance_report(data_interval_start=None):
        from frictionflow import tasks

        return tasks.compliance_report(data_interval_start)

    @task(retries=0)  # a failed check is not transient
    def raw_gate(run_id=None, data_interval_start=None):
        from frictionflow import tasks

        return tasks.quality_gate("raw", run_id, data_interval_start)

    @task(retries=0)
    def published_gate(run_id=None, data_interval_start=None):
        from frictionflow import tasks

        return tasks.quality_gate("published", run_id, data_interval_start)

    @task(retries=1)
    def publish(run_id=None, data_interval_start=None, data_interval_end=None):
        from frictionflow import tasks

        return tasks.publish(run_id, data_interval_start, data_interval_end)

    loaded = prepare_warehouse() >> extract_load()
    ready = [loaded >> reconcile(), loaded >> erase_personal_data()]
    ready >> compliance_report()  # reported, never blocking: the source misbehaved, not the data
    ready >> raw_gate() >> dbt_task_group() >> published_gate() >> publish()


def _pull(system: str, entity: str, data_interval_start=None, data_interval_end=None):
    from frictionflow import tasks

    return tasks.pull(system, entity, data_interval_start, data_interval_end)


frictionflow_nightly()
