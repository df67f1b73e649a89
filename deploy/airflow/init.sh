#!/usr/bin/env bash
# airflow-init: one-shot setup before the other Airflow services start. Idempotent: runs on every
# `docker compose up`. Connections are not created here: they come from AIRFLOW_CONN_* variables.
set -euo pipefail

echo "== Airflow $(airflow version)"
airflow db migrate

# Pools: one per source, sized by what the source allows (frictionflow/sources.yml), plus the
# contact-centre API's (10 slots) until that source is listed there.
python - <<'PY' > /tmp/pools.tsv
from frictionflow.airflow_local import pools

wanted = {"contact_center_api": (10, "contact_center extraction (rate-limited REST API)"), **pools()}
for name, (slots, description) in wanted.items():
    print(f"{name}\t{slots}\t{description}")
PY
while IFS=$'\t' read -r name slots description; do
    airflow pools set "$name" "$slots" "$description"
done < /tmp/pools.tsv

# The shared data volume: file drops, reports, the sandbox's ground truth.
mkdir -p "${FRICTIONFLOW_HOME}/landing" "${FRICTIONFLOW_HOME}/reports" "${FRICTIONFLOW_HOME}/ground_truth"

# Fail now, not at 02:00, when a connection the pipeline uses is missing or malformed.
python - <<'PY'
from airflow.models.connection import Connection
from frictionflow.airflow_local import ALERTS_CONN_ID, LANDING_CONN_ID, WAREHOUSE_CONN_ID
from frictionflow.sources import source_configs

conn_ids = {WAREHOUSE_CONN_ID, LANDING_CONN_ID, ALERTS_CONN_ID} | {s.connection for s in source_configs().values()}
for conn_id in sorted(conn_ids):
    conn = Connection.get_connection_from_secrets(conn_id)  # raises AirflowNotFoundException
    print(f"connection {conn_id}: {conn.conn_type} {conn.host or conn.extra_dejson.get('path', '')}")
PY
echo "== airflow-init done"
