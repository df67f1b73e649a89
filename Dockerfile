# FrictionFlow's one image: every Airflow service in docker-compose.yml runs it (api-server,
# scheduler, dag-processor, triggerer, Celery workers, flower, airflow-init).
#   docker compose build            (or: docker build -t frictionflow-airflow .)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DBT_SEND_ANONYMOUS_USAGE_STATS=False \
    AIRFLOW_HOME=/opt/airflow \
    FRICTIONFLOW_HOME=/data \
    PYTHONPATH=/opt/frictionflow

# tini reaps the subprocesses tasks start (dbt) and forwards signals (Celery's warm shutdown);
# curl serves the healthchecks.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini curl \
    && rm -rf /var/lib/apt/lists/*

# The non-root user every service runs as (uid 50000, as in Airflow's own image).
RUN groupadd --gid 50000 airflow \
    && useradd --uid 50000 --gid 50000 --home-dir /opt/airflow --create-home --shell /bin/bash airflow

WORKDIR /opt/frictionflow

# Dependencies first, so that a code change does not reinstall them. The celery provider and its
# dependencies are installed under requirements.txt's pins (-c), so they change none of them.
COPY requirements.txt ./
COPY deploy/airflow/requirements-celery.txt deploy/airflow/
RUN pip install -r requirements.txt \
    && pip install -r deploy/airflow/requirements-celery.txt -c requirements.txt \
    && pip check

COPY deploy/airflow/entrypoint.sh deploy/airflow/init.sh deploy/airflow/dbt-parse.sh /usr/local/bin/
# The code: frictionflow/, dags/, plugins/, dbt_project/, expectations/ (.dockerignore is an allow-list,
# so a folder git does not carry yet, such as an empty plugins/, is no error). The package is used from
# here through PYTHONPATH, not pip-installed: frictionflow.settings finds dbt_project/ and
# expectations/ beside it, as with `make`'s editable install.
COPY . ./
RUN mkdir -p dags plugins expectations && chmod 0755 /usr/local/bin/*.sh

# The manifest cosmos loads (dbt_project/target/manifest.json), built now so DAG parsing never runs dbt.
RUN dbt-parse.sh /opt/frictionflow/dbt_project

# Code stays root-owned and read-only to the services; they write only where they must: Airflow's
# home (logs), /data (the landing volume; a new named volume takes this ownership), dbt's target/,
# and the GX file context (it writes validation results under gx/uncommitted/).
RUN mkdir -p /opt/airflow/logs /data/landing /data/reports /data/ground_truth dbt_project/target \
    && chown -R airflow:airflow /opt/airflow /data dbt_project/target expectations

USER airflow
WORKDIR /opt/airflow
EXPOSE 8080 8793 5555
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/entrypoint.sh"]
CMD ["version"]
