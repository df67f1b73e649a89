#!/usr/bin/env bash
# Entrypoint of the FrictionFlow Airflow image (run under tini).
#   IMAGE scheduler | api-server | celery worker | ...   runs `airflow <args>`
#   IMAGE bash ... | python ... | dbt ... | /abs/path     runs the command as given
set -euo pipefail

# The simple auth manager keeps its users' passwords in a JSON file; write the admin's from the
# environment so that the password in .env is the one that works (and rotating it is a restart).
write_ui_password() {
    [[ -n "${AIRFLOW_ADMIN_PASSWORD:-}" ]] || return 0
    case "${AIRFLOW__CORE__AUTH_MANAGER:-simple_auth_manager}" in
        *simple_auth_manager*) ;;
        *) return 0 ;;
    esac
    python - <<'PY'
import json, os
path = os.environ.get("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE") or os.path.join(
    os.environ["AIRFLOW_HOME"], "simple_auth_manager_passwords.json.generated")
os.makedirs(os.path.dirname(path), exist_ok=True)
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w") as f:
    json.dump({os.environ.get("AIRFLOW_ADMIN_USER", "admin"): os.environ["AIRFLOW_ADMIN_PASSWORD"]}, f)
PY
}

case "${1:-}" in
    api-server) write_ui_password ;;
esac

case "${1:-}" in
    "") exec airflow version ;;
    bash | sh | python | python3 | dbt | airflow | /*) exec "$@" ;;
    *) exec airflow "$@" ;;
esac
